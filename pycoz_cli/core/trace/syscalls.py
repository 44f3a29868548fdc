"""Syscall names, numbers and strace's classes for the architecture pycoz runs on.

``NAMES`` maps number to name, ``NUMBERS`` name to number, and ``CLASSES`` maps
strace's class names (``%file``, ``%network`` and its alias ``%net``, ``%desc``...) to
the names of their members, as strace defines them.  The tables are generated dict
literals (``_syscalls_build.py``), one module per architecture, and only the running
architecture's is imported: this module is on the tab-completion path and must stay
cheap.  It never imports python-ptrace.

Only the native 64-bit personality is covered: x86_64's x32 calls and the 32-bit
compat tables are not (pycoz traces 64-bit programs).
"""

from __future__ import annotations

import os
from importlib import import_module

#: ``os.uname().machine`` spellings -> the table's name.
_MACHINES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}

#: strace's class names in the order ``strace(1)`` documents them.
CLASS_NAMES = (
    "%file",
    "%process",
    "%network",
    "%net",
    "%signal",
    "%ipc",
    "%desc",
    "%memory",
    "%creds",
    "%stat",
    "%lstat",
    "%fstat",
    "%%stat",
    "%statfs",
    "%fstatfs",
    "%%statfs",
    "%pure",
    "%clock",
)


class Table:
    """One architecture's syscalls.  (A plain class: ``dataclasses`` costs ~8 ms to import.)"""

    __slots__ = ("arch", "classes", "names", "numbers")

    def __init__(
        self,
        arch: str,
        names: dict[int, str],
        numbers: dict[str, int],
        classes: dict[str, frozenset[str]],
    ):
        self.arch = arch
        self.names = names
        self.numbers = numbers
        self.classes = classes

    def __repr__(self) -> str:
        return f"<syscalls.Table {self.arch}: {len(self.names)} calls>"

    def name_of(self, number: int) -> str:
        """The call's name, or strace's ``syscall_0x1c8`` for a number it does not know."""
        name = self.names.get(number)
        return name if name is not None else f"syscall_{number:#x}"


def for_arch(machine: str) -> Table:
    """The table for ``machine`` (an ``os.uname().machine``); empty if unsupported."""
    arch = _MACHINES.get(machine)
    if arch is None:
        return Table(machine, {}, {}, {name: frozenset() for name in CLASS_NAMES})
    data = import_module(f"{__package__}._syscalls_{arch}")
    return Table(arch, data.NAMES, {n: nr for nr, n in data.NAMES.items()}, data.CLASSES)


TABLE = for_arch(os.uname().machine)
#: The running architecture, normalised (``x86_64``, ``aarch64``), or the raw machine
#: name when pycoz has no table for it (then the tables below are empty).
ARCH = TABLE.arch
#: ``{number: name}``.
NAMES: dict[int, str] = TABLE.names
#: ``{name: number}``.
NUMBERS: dict[str, int] = TABLE.numbers
#: ``{"%file": frozenset({"open", "openat", ...}), ...}``; ``%net`` is ``%network``.
CLASSES: dict[str, frozenset[str]] = TABLE.classes
name_of = TABLE.name_of


#: Calls decode.capture_entry saves something for (the sinks stop there at entry).
ENTRY_CAPTURED = ("accept", "accept4", "getsockname", "getpeername", "recvfrom", "recvmsg",
                  "recvmmsg", "getsockopt", "select", "pselect6", "ppoll", "sendfile",
                  "copy_file_range", "ioctl")  # fmt: skip
#: ... and, under -y, the calls that close or replace a descriptor: strace
#: decorates it as it was before the call.
FD_ENTRY_CAPTURED = ("close", "dup2", "dup3")
#: ... and, with -yy's sockets, the calls that bind their socket (a send on an
#: unbound datagram socket binds it), decorated as before the call.
SOCKET_ENTRY_CAPTURED = ("bind", "connect", "sendto", "sendmsg")
