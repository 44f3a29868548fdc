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


class Timed:
    """What the benches' candidates share (mixed into their dataclasses, which
    define ``times`` and ``failed``): whether one ran, and its median."""

    stats = staticmethod(stats)

    @property
    def ok(self) -> bool:
        return self.failed is None and bool(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


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


def child_env(cache_dir: str, as_is: bool = False) -> dict[str, str] | None:
    """Python children cache their bytecode, as an installed package would.

    With PYTHONDONTWRITEBYTECODE set (some CI and sandbox images set it), the
    editable pycoz_cli has no .pyc and is compiled from source on every start,
    while click, installed by pip, has its .pyc: that would charge pycoz for a
    cost no installed copy pays.  The cache goes to a temporary
    PYTHONPYCACHEPREFIX, so nothing is written into the source tree.
    ``as_is``: leave the environment unchanged (None).
    """
    if as_is:
        return None
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = cache_dir
    return env
