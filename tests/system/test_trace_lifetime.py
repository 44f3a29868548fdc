"""The tracee's lifetime: it dies with pycoz, whenever pycoz is killed.

Host mode forks the program to trace; until the tracer has seized it with
PTRACE_O_EXITKILL, only the child's own parent-death signal ties it to pycoz.
These tests kill pycoz inside that window (as soon as its child appears, then
a little later each time) and look for anything left: the forked child, or the
command (a ``sleep`` with a duration unique to the test) running untraced.
bench/bench_trace_kills.py does the same with 2,000 kills.
"""

from __future__ import annotations

import random

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
