"""``pycoz ltrace -p``: attach to a running program, detach (Ctrl-C, SIGTERM,
SIGHUP) at any moment, and leave it as it was: no breakpoint, no changed
byte, its output still right; a stress loop of attach/detach at random moments
(bench/bench_ltrace.py --stress runs a long one)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time

import pytest

from tests.system.helpers import assert_one_line, wait_until
from tests.system.test_ltrace import GCC, SRC

pytestmark = [
    pytest.mark.skipif(GCC is None, reason="gcc is not installed"),
    pytest.mark.skipif(os.uname().machine != "x86_64", reason="x86_64 only"),
]


@pytest.fixture(scope="module")
def prog(tmp_path_factory):
    out = tmp_path_factory.mktemp("ltrace-attach")
    subprocess.run([GCC, "-shared", "-fPIC", "-o", out / "libcalc.so", SRC / "calc.c"], check=True)
    exe = out / "prog"
    subprocess.run(
        [GCC, "-O0", "-o", exe, SRC / "prog.c", f"-L{out}", "-lcalc", f"-Wl,-rpath,{out}",
         "-pthread"],
        check=True,
    )  # fmt: skip
    return exe


def text_of(pid: int) -> dict[str, bytes]:
    """Every executable mapping of ``pid`` (pycoz's scratch pages included:
    anonymous ones), as the program sees it now."""
    out = {}
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb") as mem:
        for line in maps:
            fields = line.split()
            if "x" not in fields[1] or (len(fields) >= 6 and fields[5].startswith("[")):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            mem.seek(start)
            name = fields[5] if len(fields) >= 6 else f"anonymous {fields[0]}"
            out[f"{name}@{fields[2]}"] = mem.read(end - start)
    return out


class Running:
    """The looping program, its output in a file we can read as it grows."""

    def __init__(self, exe, tmp_path, threads=4):
        self.log = tmp_path / "out.txt"
        self.file = open(self.log, "w")  # noqa: SIM115 - closed by close()
        self.proc = subprocess.Popen([exe, "loop", str(threads)], stdout=self.file)
        wait_until(lambda: self.log.read_text().count("ok") >= threads)

    def rounds(self) -> int:
        return self.log.read_text().count("\nok ")

    def check(self) -> None:
        assert self.proc.poll() is None, f"the program died: {self.proc.returncode}"
        text = self.log.read_text()
        assert "WRONG" not in text
        with open(f"/proc/{self.proc.pid}/status") as f:
            assert "TracerPid:\t0\n" in f.read()
        before = self.rounds()
        wait_until(lambda: self.rounds() >= before + 4)  # it runs on

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.file.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_detach_leaves_the_program_as_it_was(pycoz_bin, prog, tmp_path, sig):
    run = Running(prog, tmp_path)
    try:
        before = text_of(run.proc.pid)
        tracer = subprocess.Popen(
            [pycoz_bin, "ltrace", "-p", str(run.proc.pid), "-e", "atoi+calc"],
            stderr=subprocess.PIPE,
            text=True,
        )
        # Wait for calls to show (breakpoints are in), then detach.
        line = tracer.stderr.readline()
        while "->atoi(" not in line and "->calc(" not in line:
            line = tracer.stderr.readline()
            assert line, "no call was traced"
        tracer.send_signal(sig)
        rest = tracer.communicate(timeout=30)[1]
        assert tracer.returncode == -sig, rest  # dies of it after detaching, as strace
        assert f"Process {run.proc.pid} detached" in rest
        assert text_of(run.proc.pid) == before  # not one byte changed, no page added
        run.check()
    finally:
        run.close()


def test_attach_detach_at_random_moments(pycoz_bin, prog, tmp_path):
    """A small stress loop (bench/bench_ltrace.py --stress: a long one)."""
    run = Running(prog, tmp_path)
    rng = random.Random(1234)
    try:
        before = text_of(run.proc.pid)
        for _ in range(6):
            tracer = subprocess.Popen(
                [pycoz_bin, "ltrace", "-q", "-p", str(run.proc.pid), "-e", "atoi+calc"],
                stderr=subprocess.DEVNULL,
            )
            time.sleep(rng.uniform(0.0, 0.6))
            tracer.send_signal(signal.SIGINT)
            tracer.wait(timeout=30)
            # killed by it after detaching; or, hit before it attached: 130 or Click's abort (1)
            assert tracer.returncode in (-signal.SIGINT, 1, 130), tracer.returncode
            assert text_of(run.proc.pid) == before
            run.check()
    finally:
        run.close()


def test_killing_pycoz_kills_the_program_it_started(pycoz_bin, prog, tmp_path):
    log = tmp_path / "out.txt"
    with open(log, "w") as out:
        tracer = subprocess.Popen(
            [pycoz_bin, "ltrace", "-e", "atoi", "--", str(prog), "loop", "2"],
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: log.read_text().count("ok") >= 2)
        pids = [
            int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == tracer.pid
        ]
        assert pids
        tracer.kill()
        tracer.wait()
        wait_until(lambda: not any(os.path.exists(f"/proc/{p}/exe") for p in pids))


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rpartition(")")[2].split()[1])
    except (OSError, ValueError):
        return 0


def test_a_function_that_exists_nowhere_leaves_the_attached_program_untouched(
    pycoz, prog, tmp_path
):
    run = Running(prog, tmp_path)
    try:
        before = text_of(run.proc.pid)
        r = pycoz("ltrace", "-p", str(run.proc.pid), "-e", "no_such_fn")
        assert r.returncode == 2
        assert_one_line(r.stderr, "no function no_such_fn", "libc.so.6")
        assert text_of(run.proc.pid) == before
        run.check()
    finally:
        run.close()


@pytest.mark.parametrize("follow", [[], ["-f"]], ids=["no-f", "f"])
def test_attach_to_a_program_whose_children_share_its_memory(pycoz_bin, prog, tmp_path, follow):
    """A program that runs clone(CLONE_VM | SIGCHLD) children all the time,
    each calling calc from the same site as the parent: the child running at
    the attach shares the breakpoints, so it is traced too (silently without
    -f), else it would die of SIGTRAP at the first one. Detach leaves both
    as they were, and the rounds' sums stay right."""
    log = tmp_path / "out.txt"
    with open(log, "w") as out:
        proc = subprocess.Popen([prog, "clone-vm", "300", "loop"], stdout=out)
    try:
        wait_until(lambda: log.read_text().count("ok") >= 2)
        before = text_of(proc.pid)
        for _ in range(3):
            tracer = subprocess.Popen(
                [pycoz_bin, "ltrace", *follow, "-p", str(proc.pid), "-e", "calc"],
                stderr=subprocess.PIPE,
                text=True,
            )
            seen = line = tracer.stderr.readline()
            while "->calc(" not in line:
                line = tracer.stderr.readline()
                seen += line
                assert line, f"no call was traced: {seen}{log.read_text()[-60:]}"
            time.sleep(0.2)
            tracer.send_signal(signal.SIGINT)
            rest = tracer.communicate(timeout=30)[1]
            assert tracer.returncode == -signal.SIGINT, rest
            assert proc.poll() is None, f"the program died: {proc.returncode}"
            text = log.read_text()
            assert "WRONG" not in text, text[-200:]
            assert text_of(proc.pid) == before
            rounds = text.count("ok ")
            wait_until(lambda rounds=rounds: log.read_text().count("ok ") >= rounds + 3)
    finally:
        proc.kill()
        proc.wait()


def _stat_state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rpartition(")")[2].split()[0]


def _tracer_pid(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("TracerPid:"))


def test_detach_while_the_program_is_inside_a_fork(pycoz_bin, prog):
    """The detach lands while the program sits at its fork's event stop (pycoz
    held with SIGSTOP, so that it cannot take the event first). The scratch
    pages are unmapped through a thread that is not inside a syscall (this one
    first finishes its fork), so the fork returns the child's pid as it would
    have: when the munmap was injected into the fork in flight, the program
    got ENOSYS from fork and died."""
    proc = subprocess.Popen(
        [prog, "fork-on-input"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    tracer = None
    try:
        # Loaded and waiting in its read.
        wait_until(
            lambda: (
                _stat_state(proc.pid) == "S"
                and any("libcalc" in name for name in text_of(proc.pid))
            )
        )
        before = text_of(proc.pid)
        tracer = subprocess.Popen(
            [pycoz_bin, "ltrace", "-p", str(proc.pid), "-x", "lea_add"],
            stderr=subprocess.PIPE,
            text=True,
        )
        # Attached, its breakpoints in, and the program back in its read.
        wait_until(lambda: _tracer_pid(proc.pid) == tracer.pid and _stat_state(proc.pid) == "S")
        proc.stdin.write("c")
        proc.stdin.flush()
        result = proc.stdout.readline()
        assert result.startswith("calc "), result
        seen = line = tracer.stderr.readline()
        while "->lea_add(2, 3" not in line:
            line = tracer.stderr.readline()
            seen += line
            assert line, f"no call was traced: {seen}"
        # lea_add's entry was stepped over from a copy: the scratch page is there.
        assert any(name.startswith("anonymous") for name in text_of(proc.pid)), (
            "no scratch page: this test would not reach the unmapping"
        )
        os.kill(tracer.pid, signal.SIGSTOP)
        proc.stdin.write("f")
        proc.stdin.flush()
        wait_until(lambda: _stat_state(proc.pid) == "t")  # at its fork's event stop
        os.kill(tracer.pid, signal.SIGINT)
        os.kill(tracer.pid, signal.SIGCONT)
        rest = tracer.communicate(timeout=30)[1]
        assert tracer.returncode == -signal.SIGINT, rest
        assert proc.stdout.readline() == "forked 0\n", proc.stderr.read() if proc.poll() else ""
        assert text_of(proc.pid) == before
        proc.stdin.write("c")  # untraced now, and no int3 left to hit
        proc.stdin.flush()
        assert proc.stdout.readline() == result
    finally:
        if tracer is not None and tracer.poll() is None:
            os.kill(tracer.pid, signal.SIGCONT)
            tracer.kill()
            tracer.wait()
        proc.kill()
        proc.wait()
