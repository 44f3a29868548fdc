"""Helpers the bench scripts share (imported as ``benchlib``: the scripts run from
this directory, ``python bench/bench_*.py``)."""

from __future__ import annotations

import os
import statistics


def stats(values: list[float]) -> tuple[float, float, float]:
    """(median, p10, p90) of ``values``; a single value is all three."""
    if len(values) < 2:
        return values[0], values[0], values[0]
    q = statistics.quantiles(values, n=10, method="inclusive")
    return statistics.median(values), q[0], q[-1]


def processes() -> dict[int, tuple[int, str, str]]:
    """pid -> (ppid, state, comm) for every process on the machine."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        out[int(name)] = (int(ppid), state, comm)
    return out
