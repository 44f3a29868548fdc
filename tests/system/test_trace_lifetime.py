"""The tracee's lifetime: it dies with pycoz, whenever pycoz is killed.

Host mode forks the program to trace; until the tracer has seized it with
PTRACE_O_EXITKILL, only the child's own parent-death signal ties it to pycoz.
These tests kill pycoz inside that window (as soon as its child appears, then
a little later each time) and look for anything left: the forked child, or the
command (a ``sleep`` with a duration unique to the test) running untraced.
bench/bench_trace_kills.py does the same with 2,000 kills.
"""

from __future__ import annotations

import os
import random
import subprocess

from tests.system.helpers import kill_trace_during_startup, trace_leftovers


def test_killed_during_startup_leaves_no_tracee(pycoz_bin):
    tag = f"1000.{random.randrange(10**6):06d}"
    children = []
    # At the fork, then 0.3 ms later each time: the whole window up to the seize.
    for i in range(24):
        child = kill_trace_during_startup(pycoz_bin, tag, i * 0.0003)
        if child is not None:
            children.append(child)
    assert len(children) >= 20  # the window was hit
    assert trace_leftovers(children, tag) == []


SPINNERS = r"""
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>
static void *spin(void *arg) { for (;;) syscall(SYS_getppid); return arg; }
int main(void) {
    pthread_t t;
    for (int i = 0; i < 8; i++) pthread_create(&t, 0, spin, 0);
    usleep(3000);
    syscall(SYS_exit_group, 7);
}
"""


def test_threads_killed_by_exit_group_while_stopped_are_not_a_failure(tmp_path):
    """exit_group kills the other threads, some of them in a syscall stop that
    waitpid has just reported: the tracer finds them gone (ESRCH), which is
    their exit, not a failure of the tracer.  Through the API, in this process:
    many runs cost no pycoz start-up each."""
    from pycoz_cli.core.trace.session import events

    source = tmp_path / "spinners.c"
    source.write_text(SPINNERS)
    program = str(tmp_path / "spinners")
    subprocess.run(["gcc", "-O1", "-pthread", "-o", program, str(source)], check=True)
    for expressions in (["trace=getppid"], ["trace=none"]) * 60:
        status = [e.result for e in events([program], expressions) if e.kind == "status"]
        assert status and os.waitstatus_to_exitcode(status[0]) == 7
