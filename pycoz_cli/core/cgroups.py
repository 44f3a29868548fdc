"""Resource limits for a container: memory, process count and CPU, in a cgroup of its own.

A fork bomb or a memory leak in a test must not take the machine down, so
``--memory``, ``--pids`` and ``--cpus`` put the container's init, and with it
everything the container starts, in a fresh cgroup with those limits.

Each controller is taken from cgroup v2 when the kernel gives it there (the unified
hierarchy lists it), else from its cgroup v1 hierarchy (hybrid machines, such as
this project's CI, bind memory, pids and cpu to v1).  The cgroup is made below
pycoz's own cgroup; in v2, below the nearest ancestor that delegates the
controller (a non-root cgroup with processes in it cannot).  It is named
``pycoz-PID-RANDOM`` after the pycoz process that owns it, and removed when the
container ends; one left by a pycoz that was killed is removed by the next one
that makes a cgroup beside it (once its owner is gone and it is empty: the
kernel refuses to remove a cgroup with processes in it).
"""

from __future__ import annotations

import errno as _errno
import os
import re
import time

from pycoz_cli.errors import SetupError, SpecError

_SIZE = re.compile(r"(\d+)([kmgt]?)(i?b)?", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_CFS_PERIOD = 100_000  # microseconds


def parse_memory(text: str) -> int:
    """``64M``, ``1g``, ``512MiB``, ``1048576`` -> bytes (units of 1024, as docker)."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise SpecError(f"--memory {text!r}: expected a size such as 64M or 1G")
    size = int(match[1]) * _UNITS[match[2].lower()]
    if size < 1 << 20:
        raise SpecError(f"--memory {text}: at least 1M is needed to start a command")
    return size


def parse_pids(value) -> int:
    return _number(value, int, 1, None, "--pids", "a whole number of at least 1")


def parse_cpus(value) -> float:
    most = os.cpu_count() or 1
    return _number(value, float, 0.01, most, "--cpus", f"a number of CPUs from 0.01 to {most}")


def _number(value, kind, least, most, option: str, expected: str):
    """``value`` as ``kind`` within [least, most] (most None: no bound), else one line."""
    try:
        number = kind(value)
    except (TypeError, ValueError):
        number = None
    # Written so that NaN, which compares false to everything, fails too.
    if number is None or not (least <= number and (most is None or number <= most)):
        raise SpecError(f"{option} {value!r}: expected {expected}")
    return number


class Limits:
    """``memory`` (bytes), ``pids`` and ``cpus`` (None: no limit); checked on creation."""

    __slots__ = ("cpus", "memory", "pids")

    def __init__(self, memory=None, pids=None, cpus=None):
        self.memory = None if memory is None else _as_memory(memory)
        self.pids = None if pids is None else parse_pids(pids)
        self.cpus = None if cpus is None else parse_cpus(cpus)

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.memory, self.pids, self.cpus))

    def __repr__(self) -> str:
        return f"Limits(memory={self.memory}, pids={self.pids}, cpus={self.cpus})"

    def files(self, version: int) -> dict[str, list[tuple[str, str]]]:
        """controller -> [(file, value)], written in this order."""
        out: dict[str, list[tuple[str, str]]] = {}
        if self.memory is not None:
            if version == 2:
                out["memory"] = [("memory.max", str(self.memory)), ("memory.swap.max", "0")]
            else:  # the memory+swap limit must not be below the memory limit
                out["memory"] = [
                    ("memory.limit_in_bytes", str(self.memory)),
                    ("memory.memsw.limit_in_bytes", str(self.memory)),
                ]
        if self.pids is not None:
            out["pids"] = [("pids.max", str(self.pids))]
        if self.cpus is not None:
            quota = max(1000, round(self.cpus * _CFS_PERIOD))
            if version == 2:
                out["cpu"] = [("cpu.max", f"{quota} {_CFS_PERIOD}")]
            else:
                out["cpu"] = [
                    ("cpu.cfs_period_us", str(_CFS_PERIOD)),
                    ("cpu.cfs_quota_us", str(quota)),
                ]
        return out


def _as_memory(value) -> int:
    return (
        value
        if isinstance(value, int) and not isinstance(value, bool)
        else parse_memory(str(value))
    )


_OPTION = {"memory": "--memory", "pids": "--pids", "cpu": "--cpus"}


class Hierarchies:
    """Where each controller lives for this process: v2 or a v1 mount, and our cgroup."""

    def __init__(self):
        self.v2_mount = None
        self.v1_mounts: dict[str, str] = {}
        # One read of the mount table: a v1 mount names its controllers in its
        # super options (its directory's name is not reliable), which
        # mounts.parse_mountinfo does not keep.
        with open("/proc/self/mountinfo") as f:
            for line in f:
                head, _, tail = line.partition(" - ")
                fields = tail.split()
                if not fields:
                    continue
                if fields[0] == "cgroup2" and self.v2_mount is None:
                    self.v2_mount = head.split()[4]
                elif fields[0] == "cgroup":
                    for option in fields[-1].split(","):
                        self.v1_mounts.setdefault(option, head.split()[4])
        self.own: dict[str, str] = {}
        with open("/proc/self/cgroup") as f:
            for line in f:
                number, controllers, path = line.rstrip("\n").split(":", 2)
                if number == "0" and not controllers:
                    self.own["unified"] = path
                for name in controllers.split(","):
                    if name:
                        self.own[name] = path

    def v2_controllers(self) -> set[str]:
        if self.v2_mount is None:
            return set()
        try:
            with open(f"{self.v2_mount}/cgroup.controllers") as f:
                return set(f.read().split())
        except OSError:
            return set()

    def place(self, controller: str) -> tuple[int, str]:
        """(version, parent directory) for a new cgroup with ``controller``."""
        if controller in self.v2_controllers():
            own = self.v2_mount + self.own.get("unified", "/").rstrip("/")
            # The deepest cgroup, from ours up, that delegates the controller.
            path = own
            while True:
                try:
                    with open(f"{path}/cgroup.subtree_control") as f:
                        if controller in f.read().split():
                            return 2, path
                except OSError:
                    pass
                if path == self.v2_mount or len(path) <= len(self.v2_mount):
                    break
                path = os.path.dirname(path)
            raise SetupError(
                f"{_OPTION[controller]}: cgroup v2 has the {controller} controller but no "
                f"cgroup above {own} delegates it (its cgroup.subtree_control)"
            )
        mount = self.v1_mounts.get(controller)
        if mount is None:
            raise SetupError(
                f"{_OPTION[controller]}: this kernel has no {controller} cgroup controller "
                "(neither cgroup v2 nor a v1 hierarchy is mounted)"
            )
        return 1, mount + self.own.get(controller, "/").rstrip("/")


class Cgroup:
    """The cgroups of one container (one per hierarchy used), with its limits.

    Made by the caller before forking; ``join()`` runs in init before it makes
    anything; ``remove()`` runs once init is gone.
    """

    def __init__(self, limits: Limits):
        self.paths: list[str] = []
        try:
            self._make(limits)
        except BaseException:
            self.remove()
            raise

    def _make(self, limits: Limits) -> None:
        found = Hierarchies()
        name = f"pycoz-{os.getpid()}-{os.urandom(4).hex()}"
        made: dict[str, str] = {}  # parent -> our cgroup in it
        version_of: dict[str, int] = {}
        wanted = limits.files(2)
        for controller in wanted:
            version, parent = found.place(controller)
            if parent not in made:
                _prune(parent)
                path = f"{parent}/{name}"
                try:
                    os.mkdir(path, 0o755)
                except OSError as err:
                    raise SetupError.from_oserror(
                        OSError(err.errno, "cannot create cgroup", path)
                    ) from None
                made[parent] = path
                self.paths.append(path)
            version_of[controller] = version
            for file, value in limits.files(version)[controller]:
                target = f"{made[parent]}/{file}"
                if file.endswith((".memsw.limit_in_bytes", ".swap.max")) and not os.path.exists(
                    target
                ):
                    continue  # no swap accounting: nothing to limit
                try:
                    with open(target, "w") as f:
                        f.write(value)
                except OSError as err:
                    raise SetupError(
                        f"{_OPTION[controller]}: cannot write {value} to {target}: "
                        f"{_errno.errorcode.get(err.errno or 0, err.errno)} ({err.strerror})"
                    ) from None

    def join(self) -> None:
        """Move the calling process into every cgroup (init, first thing)."""
        for path in self.paths:
            fd = os.open(f"{path}/cgroup.procs", os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, b"0")
            except OSError as err:
                raise OSError(err.errno, "cannot join cgroup", path) from None
            finally:
                os.close(fd)

    def remove(self, timeout: float = 2.0) -> None:
        """Remove the cgroups; the kernel may take a moment to let go of the
        processes that init's death killed (EBUSY until then)."""
        deadline = time.monotonic() + timeout
        for path in self.paths:
            while True:
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError as err:
                    if err.errno != _errno.EBUSY or time.monotonic() > deadline:
                        break
                    time.sleep(0.005)
        self.paths = []


def _prune(parent: str) -> None:
    """Remove empty cgroups of pycoz processes that are gone (killed ones)."""
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        if not name.startswith("pycoz-"):
            continue
        owner = name.split("-")[1]
        if owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
            try:
                os.rmdir(f"{parent}/{name}")
            except OSError:
                pass
