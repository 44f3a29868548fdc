"""Job control under the tracer: a stopped program stays stopped, as under strace.

A stop signal reaches a traced program as a signal-delivery stop; when the
tracer passes it on, the program enters a group-stop, which the tracer must
leave in place (PTRACE_LISTEN) until a SIGCONT, instead of resuming it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from tests.system.helpers import read_line, tracer_of, wait_until

STRACE = shutil.which("strace")


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0]
    except OSError:
        return ""


def _stopped(pid: int) -> str:
    state = _state(pid)
    return state if state in ("T", "t") else ""


def stop_and_continue(prefix, sig: str):
    """Run ``sh -c 'echo $$; kill -SIG $$; echo resumed'`` under ``prefix``.

    Returns (its state once stopped, what it printed in the 0.5 s after, its
    state then, what it printed after SIGCONT, exit status, stderr).
    """
    p = subprocess.Popen(
        [*prefix, "sh", "-c", f"echo $$; kill -{sig} $$; echo resumed"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
        # A group of its own whose parent (this process) is in the session: not
        # orphaned, or the kernel would drop SIGTSTP (as under pytest-xdist).
        process_group=0,
    )
    try:
        pid = int(read_line(p.stdout))
        state = wait_until(lambda: _stopped(pid), timeout=10)
        early = read_line(p.stdout, timeout=0.5)
        later_state = _stopped(pid)
        os.kill(pid, signal.SIGCONT)
        after = read_line(p.stdout, timeout=20)
        _, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return state, early, later_state, after, p.returncode, err.decode()


def _signal_lines(stderr: str) -> list[str]:
    lines = [line for line in stderr.splitlines() if line.startswith(("---", "+++"))]
    return [re.sub(r"si_pid=\d+", "si_pid=N", line) for line in lines]


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
@pytest.mark.parametrize("sig", ["STOP", "TSTP"])
def test_a_stop_signal_stops_the_traced_program_as_strace(pycoz_bin, sig):
    bare = stop_and_continue([], sig)
    assert bare[0] == "T" and bare[1] == "" and bare[3] == "resumed\n"
    ours = stop_and_continue([pycoz_bin, "trace", "-e", "trace=none", "--"], sig)
    theirs = stop_and_continue([STRACE, "-e", "trace=none", "--"], sig)
    assert ours[:5] == theirs[:5], (ours, theirs)
    state, early, later_state, after, code, _ = ours
    assert state in ("T", "t") and later_state == state, ours  # stopped, and it stays so
    assert early == "" and after == "resumed\n" and code == 0, ours
    assert _signal_lines(ours[5]) == _signal_lines(theirs[5])
    assert f"--- stopped by SIG{sig} ---" in ours[5].splitlines()


def test_a_stop_signal_stops_an_attached_program(pycoz_bin):
    target = subprocess.Popen(
        ["sh", "-c", "echo $$; while :; do echo tick; sleep 0.05; done"],
        stdout=subprocess.PIPE,
        bufsize=0,
    )
    tracer = None
    try:
        pid = int(read_line(target.stdout))
        tracer = subprocess.Popen(
            [pycoz_bin, "trace", "-e", "trace=none", "-p", str(pid)],
            stderr=subprocess.PIPE,
            text=True,
        )
        assert wait_until(lambda: tracer_of(pid) == str(tracer.pid), timeout=30)
        os.kill(pid, signal.SIGSTOP)
        assert wait_until(lambda: _stopped(pid), timeout=10)
        while read_line(target.stdout, timeout=0.3):
            pass  # the ticks written before the stop
        assert read_line(target.stdout, timeout=0.5) == ""
        assert _stopped(pid)  # still
        os.kill(pid, signal.SIGCONT)
        assert read_line(target.stdout, timeout=10) == "tick\n"
        tracer.send_signal(signal.SIGINT)
        _, err = tracer.communicate(timeout=20)
        assert "--- stopped by SIGSTOP ---" in err.splitlines(), err
        assert read_line(target.stdout, timeout=10) == "tick\n"  # detached, running
    finally:
        if tracer is not None and tracer.poll() is None:
            tracer.kill()
            tracer.wait()
        target.kill()
        target.wait()


def ctrl_z_and_fg(prefix: list[str]) -> tuple[str, str, str]:
    """In an interactive bash on a terminal of its own, run ``PREFIX sh -c ...``,
    press Ctrl-Z, then ``fg``, then Ctrl-C.  Returns (its state once bash said
    Stopped, its state after fg, the exit status bash saw)."""
    import select

    leader, follower = os.openpty()
    env = {"PATH": os.environ["PATH"], "PS1": "$ ", "TERM": "dumb"}
    bash = subprocess.Popen(
        ["setsid", "--ctty", "bash", "--norc", "--noprofile", "-i"],
        stdin=follower, stdout=follower, stderr=follower, env=env,
    )  # fmt: skip
    os.close(follower)
    seen = b""

    def send(data: bytes) -> int:
        os.write(leader, data)
        return len(seen)  # what comes after this is the answer

    def until(pattern: bytes, start: int = 0):
        nonlocal seen
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if select.select([leader], [], [], 0.1)[0]:
                seen += os.read(leader, 4096)
            found = re.search(pattern, seen[start:])
            if found:
                return found
        raise AssertionError(f"{pattern!r} not seen in {seen[start:]!r}")

    try:
        command = " ".join([*prefix, "sh -c 'echo pid=$$; while :; do sleep 0.05; done'"])
        pid = int(until(rb"pid=(\d+)", send(command.encode() + b"\n")).group(1))
        time.sleep(0.2)
        until(rb"Stopped", send(b"\x1a"))
        stopped = wait_until(lambda: _stopped(pid), timeout=10)
        until(rb"fg\r?\n.*sh -c", send(b"fg\n"))
        # Running again: R or S (its loop sleeps), whichever the moment shows.
        running = wait_until(lambda: _state(pid) in ("S", "R") and "running", timeout=10)
        until(rb"\$ $", send(b"\x03"))
        status = until(rb"status=(\d+)", send(b"echo status=$?\n")).group(1).decode()
        os.write(leader, b"exit\n")
        bash.wait(timeout=20)
    finally:
        if bash.poll() is None:
            bash.kill()
            bash.wait()
        os.close(leader)
    return stopped, running, status


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
def test_ctrl_z_and_fg_on_a_terminal_as_strace(pycoz_bin):
    bare = ctrl_z_and_fg([])
    ours = ctrl_z_and_fg([pycoz_bin, "trace", "-e", "trace=none", "--"])
    theirs = ctrl_z_and_fg([STRACE, "-e", "trace=none"])
    assert bare == ("T", "running", "130")
    assert ours == theirs == ("t", "running", "130")
