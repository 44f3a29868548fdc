"""Helpers the bench scripts share (imported as ``benchlib``: the scripts run from
this directory, ``python bench/bench_*.py``)."""

from __future__ import annotations

import os
import statistics
import sys
import uuid

#: Set (to "PID-UUID") in the environment a bench re-executes itself with.
RUN_VARIABLE = "PYCOZ_BENCH_RUN"


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


def mark_this_run() -> str:
    """Start this bench again with a marker of its run in its environment, once.

    A process made by fork alone (a container's init) shows in /proc/PID/environ
    the environment its program was started with, not what Python set later: so
    the marker goes in by exec, and every process the bench starts or forks
    carries it, also once reparented.  Returns the marker.
    """
    mine = f"{os.getpid()}-"  # exec keeps the pid: a nested bench marks its own run
    if not os.environ.get(RUN_VARIABLE, "").startswith(mine):
        env = {**os.environ, RUN_VARIABLE: mine + uuid.uuid4().hex}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    return os.environ[RUN_VARIABLE]


def own_processes(marker: str) -> set[int]:
    """This bench's live processes: itself, its descendants, and any process
    whose environment carries ``marker`` (mark_this_run); nobody else's."""
    procs = processes()
    tagged = f"{RUN_VARIABLE}={marker}".encode()
    own = {os.getpid()}
    for pid, (_, state, _) in procs.items():
        if state == "Z":
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if tagged in f.read().split(b"\0"):
                    own.add(pid)
        except OSError:  # gone, or not ours to read
            pass
    grew = True
    while grew:  # descendants: add children of what is in, until nothing is added
        kids = {p for p, (ppid, state, _) in procs.items() if ppid in own and state != "Z"}
        grew = not kids <= own
        own |= kids
    return own


def own_mount_namespace() -> None:
    """Move this process into a mount namespace of its own, cut from the host's
    peer groups, so that mounts others make on the machine meanwhile never reach
    its table.  Mounts that were shared are made shared again, among themselves:
    a mount a container let propagate back would still show."""
    from pycoz_cli.core import libc
    from pycoz_cli.core.mounts import parse_mountinfo

    with open("/proc/self/mountinfo") as f:
        shared = [m.mountpoint for m in parse_mountinfo(f.read()) if m.shared]
    libc.unshare(libc.CLONE_NEWNS)
    libc.mount(None, "/", None, libc.MS_REC | libc.MS_PRIVATE)
    for mountpoint in shared:
        try:
            libc.mount(None, mountpoint, None, libc.MS_SHARED)
        except OSError:  # over-mounted, so not reachable by its path: stays private
            pass


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
