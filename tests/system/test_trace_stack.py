"""``pycoz trace -k``: stacks under each traced call, against ``strace -k``.

Debian's strace 6.1 is built with libunwind (``strace -V``: stack-trace=libunwind).
Each test runs a real program under both and compares the stack lines after
normalising what differs from run to run (pids, pointers in the call lines,
strace's "+++ exited" placed before an exit_group's stack).  Programs: a small C
program in two builds (-O1 and -O2 -fomit-frame-pointer, calls through a shared
library of its own), Debian's python3 (no frame pointers, ~20 frames through
libpython), ls (a stripped binary: frames without a symbol) and curl.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from pycoz_cli.core.trace import output, unwind

STRACE = shutil.which("strace")


def _strace_has_stack_traces() -> bool:
    if STRACE is None:
        return False
    version = subprocess.run([STRACE, "-V"], capture_output=True, text=True).stdout
    return "stack-trace=" in version


pytestmark = pytest.mark.skipif(
    not _strace_has_stack_traces(), reason="strace with -k (libunwind or libdw) is not installed"
)

PYCOZ = [sys.executable, "-m", "pycoz_cli"]

LIB = r"""
#include <unistd.h>
__attribute__((noinline)) long lib_write(const char *s, long n) {
    long r = write(1, s, n);
    __asm__ volatile("" ::: "memory");  /* no tail call: keep this frame */
    return r;
}
"""

PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
long lib_write(const char *s, long n);
static __attribute__((noinline)) void inner(int i) {
    lib_write("x\n", 2);
    if (i == 2) getenv("PYCOZ_NOTHING");
    __asm__ volatile("" ::: "memory");
}
__attribute__((noinline)) void outer(int i) { inner(i); __asm__ volatile("" ::: "memory"); }
int main(int argc, char **argv) {
    if (argc > 1) unlink(argv[0]);  /* "unlink": run as a deleted file */
    for (int i = 0; i < 3; i++) outer(i);
    printf("done\n");
    return 0;
}
"""


@pytest.fixture(scope="module", params=[["-O1"], ["-O2", "-fomit-frame-pointer"]],
                ids=["O1", "O2-no-frame-pointer"])  # fmt: skip
def program(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stack")
    (tmp / "lib.c").write_text(LIB)
    (tmp / "main.c").write_text(PROGRAM)
    flags = request.param
    subprocess.run(["gcc", *flags, "-shared", "-fPIC", "-o", tmp / "libpycozstack.so",
                    tmp / "lib.c"], check=True)  # fmt: skip
    subprocess.run(["gcc", *flags, "-o", tmp / "prog", tmp / "main.c", f"-L{tmp}",
                    "-lpycozstack", f"-Wl,-rpath,{tmp}"], check=True)  # fmt: skip
    return str(tmp / "prog")


_PID = re.compile(r"^(\[pid +\d+\] |\d+ +)")


def _normal(text: str) -> list[str]:
    lines = []
    for line in text.splitlines():
        line = _PID.sub("", line)
        if line.startswith("+++") or line.startswith("strace:") or line.startswith("pycoz"):
            continue  # strace prints "+++ exited" before an exit_group's stack
        if not line.startswith(" > "):
            line = re.sub(r"0x[0-9a-f]{6,}", "P", line)
            line = re.sub(r"si_pid=\d+", "si_pid=N", line)
            line = re.sub(r"\) +=", ") =", line)
        lines.append(line)
    return lines


def both(argv, expr, tmp_path):
    """(strace's, pycoz's) normalised lines for ``argv`` traced with ``-k -e expr``."""
    s_out, p_out = tmp_path / "strace.txt", tmp_path / "pycoz.txt"
    subprocess.run([STRACE, "-f", "-k", "-e", expr, "-o", s_out, *argv],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    subprocess.run([*PYCOZ, "trace", "-f", "-k", "-e", expr, "-o", p_out, "--", *argv],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    return _normal(s_out.read_text()), _normal(p_out.read_text())


def test_stacks_of_a_c_program_match_strace(program, tmp_path):
    theirs, ours = both([program], "trace=write,exit_group", tmp_path)
    assert ours == theirs
    stacks = "\n".join(ours)
    # Through the library, the program's static function and main, with names.
    for name in ("__write+", "libpycozstack.so(lib_write+", "prog(inner+", "prog(outer+",
                 "prog(main+", "(__libc_start_main+", "prog(_start+"):  # fmt: skip
        assert name in stacks
    assert ours.count('write(1, "x\\n", 2) = 2') == 3


@pytest.mark.parametrize(
    ("argv", "expr"),
    [
        (["/usr/bin/python3", "-S", "-c", "import os; os.write(1, b'hi')"], "trace=write"),
        (["ls", "/"], "trace=execve,openat,exit_group"),
        # -q: no .curlrc, so no getpwuid reading /etc/passwd, which other tests'
        # useradd may change between the two runs.
        (["curl", "-q", "-s", "file:///etc/hostname"], "trace=openat,read,exit_group"),
    ],
    ids=["python3", "ls", "curl"],
)
def test_stacks_of_debian_programs_match_strace(argv, expr, tmp_path):
    if shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} is not installed")
    theirs, ours = both(argv, expr, tmp_path)
    frames = [line for line in ours if line.startswith(" > ")]
    assert len(frames) > 10
    assert ours == theirs


SIGNALLED = r"""
#include <signal.h>
#include <unistd.h>
static void handler(int sig) { write(1, "in handler\n", 11); }
static __attribute__((noinline)) void work(void) {
    raise(SIGUSR1);
    __asm__ volatile("" ::: "memory");
}
int main(void) { signal(SIGUSR1, handler); work(); return 0; }
"""


def test_stacks_through_a_signal_handler_match_strace(tmp_path):
    """Through the signal frame (__restore_rt, whose CFI is an expression) to
    the interrupted code and on to main; and the stack where the signal found
    the program, under its line, as strace prints it."""
    (tmp_path / "sig.c").write_text(SIGNALLED)
    subprocess.run(["gcc", "-O1", "-o", tmp_path / "sig", tmp_path / "sig.c"], check=True)
    theirs, ours = both([str(tmp_path / "sig")], "trace=write", tmp_path)
    assert ours == theirs
    frames = "\n".join(ours)
    assert "sig(handler+" in frames and "sig(work+" in frames and "sig(main+" in frames
    argv = [*PYCOZ, "trace", "--json", "-k", "-e", "trace=write", "--", tmp_path / "sig"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True)
    records = [json.loads(line) for line in out.stderr.splitlines()]
    (signal,) = [r for r in records if r["type"] == "signal"]
    assert "work" in [f["symbol"] for f in signal["stack"]]


THREADS = r"""
#include <pthread.h>
#include <unistd.h>
static void *run(void *arg) { write(1, "t\n", 2); return 0; }
int main(void) {
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], 0, run, 0);
    for (int i = 0; i < 2; i++) pthread_join(t[i], 0);
    return 0;
}
"""


def test_stacks_of_threads_match_strace(tmp_path):
    """A thread's stack ends where clone3 started it (its CFI marks the end)."""
    (tmp_path / "th.c").write_text(THREADS)
    subprocess.run(["gcc", "-O1", "-pthread", "-o", tmp_path / "th", tmp_path / "th.c"],
                   check=True)  # fmt: skip
    # One file per thread (-ff): strace splits a call that another thread's
    # interrupts into "<unfinished ...>" and "resumed" lines, pycoz does not.
    files = {}
    for tool, argv in (("strace", [STRACE]), ("pycoz", [*PYCOZ, "trace"])):
        prefix = tmp_path / tool
        extra = [] if tool == "strace" else ["--"]
        subprocess.run([*argv, "-ff", "-k", "-e", "trace=write", "-o", prefix, *extra,
                        tmp_path / "th"], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        files[tool] = sorted("\n".join(_normal(f.read_text())) for f in tmp_path.glob(f"{tool}.*"))
    assert files["pycoz"] == files["strace"]
    assert sum("th(run+" in text for text in files["pycoz"]) == 2


def test_a_call_made_in_the_vdso(tmp_path):
    """clock_gettime(CLOCK_PROCESS_CPUTIME_ID) makes its syscall inside the
    vDSO, which has no file: its frame is read from memory.  The same frames as
    strace's as far as strace gets (libunwind loses the way after libc's
    clock_gettime here); pycoz names the vDSO's symbol and goes on to main."""
    (tmp_path / "vd.c").write_text(
        "#include <time.h>\n"
        "int main(void) { struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); }\n"
    )
    subprocess.run(["gcc", "-O1", "-o", tmp_path / "vd", tmp_path / "vd.c"], check=True)
    theirs, ours = both([str(tmp_path / "vd")], "trace=clock_gettime", tmp_path)

    def where(line):  # the file and offset of a frame, without its symbol
        return re.sub(r"\(.*\)", "", line)

    assert ours[1].startswith(" > [vdso](") and theirs[1].startswith(" > [vdso](")
    assert [where(line) for line in ours[1:3]] == [where(line) for line in theirs[1:3]]
    assert "vd(main+" in ours[3]


def test_json_records_carry_the_stack(program):
    out = subprocess.run([*PYCOZ, "trace", "--json", "-k", "-e", "trace=write", "--", program],
                         capture_output=True, text=True, check=True).stderr  # fmt: skip
    records = [json.loads(line) for line in out.splitlines()]
    writes = [r for r in records if r.get("syscall") == "write"]
    assert len(writes) == 4
    symbols = [f["symbol"] for f in writes[0]["stack"]]
    assert symbols[:5] == ["__write", "lib_write", "inner", "outer", "main"]
    first = writes[0]["stack"][1]
    assert first["path"].endswith("/libpycozstack.so") and first["file_offset"] > 0


def test_without_k_the_sink_is_unchanged():
    """No -k, no new cost per call: the sink's methods are the class's own."""
    import io

    sink = output.StraceText(io.StringIO())
    assert sink.syscall.__func__ is output.StraceText.syscall
    assert sink.decode_at_entry is output.DECODE_AT_ENTRY
    with_k = output.StraceText(io.StringIO(), stack_trace=True)
    assert with_k.syscall.__func__ is output.Common._syscall_with_stack
    # pyelftools only comes with the first stack.
    code = "import pycoz_cli.core.trace.unwind, sys; print('elftools' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True).stdout == "False\n"  # fmt: skip


def test_k_with_another_tracer_is_one_line():
    r = subprocess.run([*PYCOZ, "trace", "-k", "--tracer", "sockets", "--", "true"],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].endswith("-k and --tracer sockets: choose one "
                                                      "(-k is strace's)")  # fmt: skip


def test_a_deleted_program_is_read_through_map_files(program, tmp_path):
    """A program whose file is gone (as one in another mount namespace is, to
    us: its path names nothing here) is still symbolised: its frames are read
    through /proc/PID/map_files."""
    copy = tmp_path / "gone"
    shutil.copy(program, copy)
    out = tmp_path / "trace.txt"
    subprocess.run([*PYCOZ, "trace", "-k", "-e", "trace=write", "-o", out, "--", copy,
                    "unlink"], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    assert not copy.exists()
    stacks = out.read_text()
    assert "(deleted)" not in stacks
    assert f"{copy}(inner+" in stacks and f"{copy}(main+" in stacks


def test_format_frames():
    frames = [
        unwind.Frame(0x7F0000001234, "/lib/libc.so.6", "__write", 0x10, 0xF8350),
        unwind.Frame(0x55000000123, "/usr/bin/ls", None, 0, 0x61F1),
        unwind.Frame(0x1234, None, None, 0, 0x1234),
    ]
    assert unwind.format_frames(frames) == [
        " > /lib/libc.so.6(__write+0x10) [0xf8350]",
        " > /usr/bin/ls() [0x61f1]",
        " > unexpected_backtracing_error [0x1234]",
    ]
    assert unwind.format_frames(frames[1:2], at_entry=True) == [" > /usr/bin/ls(+0x0) [0x61f1]"]


def test_a_program_that_exists_only_inside_the_container(program, tmp_path):
    """--root: the program is copied into the throwaway root, where the host has
    no such file; its frames still carry its name and symbols (the tracee's
    path, the file read through /proc/PID/map_files)."""
    inside = f"/tmp/pycoz-k-{tmp_path.name}"
    out = tmp_path / "trace.txt"
    script = f"cp {program} {inside} && {inside}"
    subprocess.run([*PYCOZ, "trace", "--root", "-f", "-k", "-e", "trace=write", "-o", out, "--",
                    "/bin/sh", "-c", script], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    assert not os.path.exists(inside)
    stacks = out.read_text()
    assert f"{inside}(inner+" in stacks and f"{inside}(main+" in stacks
