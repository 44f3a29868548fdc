"""The ``files`` tracer: which paths a program opened, read, wrote and failed to find.

It keeps, per traced process, a table of the file descriptors it opened (with
their paths), counts the bytes read and written through them, and remembers
every path a lookup (open, stat, access, readlink, exec) failed on.  Nothing is
printed while the program runs; ``finish`` prints one summary.  Paths are made
absolute with the process's working directory or the directory fd they are
relative to, as the tracee sees them (inside a container: its own /proc).
"""

from __future__ import annotations

import errno
import os

from pycoz_cli.plugin_api import SYSCALL_NAMES as NAMES
from pycoz_cli.plugin_api import Tracer

AT_FDCWD = -100
O_ACCMODE, O_WRONLY, O_RDWR, O_CREAT = 0o3, 0o1, 0o2, 0o100
O_CLOEXEC = 0o2000000
F_DUPFD, F_DUPFD_CLOEXEC = 0, 1030

#: syscall -> index of its path argument, and of its dirfd (None: relative to cwd).
LOOKUPS = {
    "open": (0, None),
    "creat": (0, None),
    "openat": (1, 0),
    "openat2": (1, 0),
    "stat": (0, None),
    "lstat": (0, None),
    "newfstatat": (1, 0),
    "statx": (1, 0),
    "access": (0, None),
    "faccessat": (1, 0),
    "faccessat2": (1, 0),
    "readlink": (0, None),
    "readlinkat": (1, 0),
    "execve": (0, None),
    "execveat": (1, 0),
}
OPENS = frozenset({"open", "creat", "openat", "openat2"})
READS = frozenset({"read", "pread64", "readv", "preadv", "preadv2"})
WRITES = frozenset({"write", "pwrite64", "writev", "pwritev", "pwritev2"})
#: Calls that move bytes from one descriptor to another in the kernel (cat uses
#: copy_file_range when its output is a file): name -> (source arg, target arg).
TRANSFERS = {"copy_file_range": (0, 2), "splice": (0, 2), "sendfile": (1, 0)}
MAP_ANONYMOUS = 0x20


def _s32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


class _Path:
    __slots__ = ("bytes_read", "bytes_written", "failed", "mapped", "opened", "read", "written")

    def __init__(self):
        self.opened = 0
        self.read = self.written = self.mapped = False
        self.bytes_read = self.bytes_written = 0
        #: errno name -> the calls that failed with it
        self.failed: dict[str, set[str]] = {}


class FilesTracer(Tracer):
    """A sink for the ptrace loop (see ``pycoz_cli.plugin_api.Tracer``)."""

    def __init__(self, out, **options):
        super().__init__(out, **options)
        self.paths: dict[str, _Path] = {}  # in the order first seen
        self.fds: dict[int, dict[int, tuple[str, bool]]] = {}  # pid -> fd -> (path, cloexec)

    def _path(self, path: str) -> _Path:
        entry = self.paths.get(path)
        if entry is None:
            entry = self.paths[path] = _Path()
        return entry

    def syscall(self, pid, nr, args, retval, is_error, t_enter, t_exit, injected, memory):
        name = NAMES.get(nr)
        if retval is None or name is None:
            return
        fds = self.fds.setdefault(pid, {})
        if name in LOOKUPS:
            self._lookup(pid, name, args, retval, is_error, memory, fds)
        elif is_error:
            return
        elif name in READS or name in WRITES:
            known = fds.get(_s32(args[0]))
            if known is not None:
                entry = self._path(known[0])
                if name in READS:
                    entry.read, entry.bytes_read = True, entry.bytes_read + retval
                else:
                    entry.written, entry.bytes_written = True, entry.bytes_written + retval
        elif name in TRANSFERS:
            source, target = (fds.get(_s32(args[i])) for i in TRANSFERS[name])
            if source is not None:
                entry = self._path(source[0])
                entry.read, entry.bytes_read = True, entry.bytes_read + retval
            if target is not None:
                entry = self._path(target[0])
                entry.written, entry.bytes_written = True, entry.bytes_written + retval
        elif name == "mmap":
            known = None if args[3] & MAP_ANONYMOUS else fds.get(_s32(args[4]))
            if known is not None:
                self._path(known[0]).mapped = True
        elif name == "close":
            fds.pop(_s32(args[0]), None)
        elif name in ("dup", "dup2", "dup3") or (
            name == "fcntl" and args[1] in (F_DUPFD, F_DUPFD_CLOEXEC)
        ):
            known = fds.get(_s32(args[0]))
            cloexec = (name == "fcntl" and args[1] == F_DUPFD_CLOEXEC) or (
                name == "dup3" and bool(args[2] & O_CLOEXEC)
            )
            if known is not None:
                fds[retval] = (known[0], cloexec)
            else:
                fds.pop(retval, None)

    def _lookup(self, pid, name, args, retval, is_error, memory, fds) -> None:
        index, dirfd_index = LOOKUPS[name]
        try:
            raw = memory.read_cstring(args[index], 4096)
        except OSError:
            return
        raw = raw.split(b"\0", 1)[0]
        if not raw and name not in OPENS:
            return  # fstatat(fd, "", AT_EMPTY_PATH): about an fd, not a path
        dirfd = AT_FDCWD if dirfd_index is None else _s32(args[dirfd_index])
        path = self._absolute(pid, os.fsdecode(raw), dirfd, fds)
        if is_error:
            code = -retval
            self._path(path).failed.setdefault(errno.errorcode.get(code, str(code)), set()).add(
                name
            )
            return
        if name not in OPENS:
            return
        flags = (O_CREAT | O_WRONLY) if name == "creat" else args[index + 1]
        if name == "openat2":
            try:
                flags = int.from_bytes(memory.read(args[2], 8), "little")
            except OSError:
                flags = 0
        self._path(path).opened += 1
        fds[retval] = (path, bool(flags & O_CLOEXEC))

    def _absolute(self, pid: int, path: str, dirfd: int, fds) -> str:
        if path.startswith("/"):
            return os.path.normpath(path)
        if dirfd == AT_FDCWD:
            base = _readlink(f"/proc/{pid}/cwd")
        else:
            known = fds.get(dirfd)
            base = known[0] if known else _readlink(f"/proc/{pid}/fd/{dirfd}")
        return os.path.normpath(os.path.join(base, path)) if base else path

    def process(self, kind, pid, **info):
        if kind == "fork":
            # A child starts with a copy of its parent's descriptors.
            self.fds[info["child"]] = dict(self.fds.get(pid, {}))
        elif kind == "exec":
            fds = self.fds.get(pid, {})
            for fd in [fd for fd, (_, cloexec) in fds.items() if cloexec]:
                del fds[fd]
        elif kind in ("exit", "killed"):
            self.fds.pop(pid, None)

    def finish(self) -> None:
        write = self.out.write
        items = self.paths.items()
        # (heading, [(left column, the path and what follows it)]), in this order.
        sections = [
            ("read", [(_size(e.bytes_read), p) for p, e in items if e.read]),
            ("written", [(_size(e.bytes_written), p) for p, e in items if e.written]),
            (
                "mapped into memory (not read)",
                [("", p) for p, e in items if e.mapped and not e.read],
            ),
            (
                "opened, neither read nor written",
                [("", p) for p, e in items if e.opened and not (e.read or e.written or e.mapped)],
            ),
            (
                "not found",
                [
                    ("", f"{p} ({', '.join(sorted(e.failed['ENOENT']))})")
                    for p, e in items
                    if "ENOENT" in e.failed
                ],
            ),
            (
                "failed",
                [
                    (code, f"{p} ({', '.join(sorted(calls))})")
                    for p, e in items
                    for code, calls in e.failed.items()
                    if code != "ENOENT"
                ],
            ),
        ]
        for heading, rows in sections:
            if rows:
                write(f"{heading}:\n")
                for left, text in rows:
                    write(f"  {left:>9}  {text}\n")
        count = {heading: len(rows) for heading, rows in sections}
        total_opened = sum(1 for e in self.paths.values() if e.opened)
        write(
            f"files: {total_opened} opened, {count['read']} read, "
            f"{count['mapped into memory (not read)']} mapped, {count['written']} written, "
            f"{count['not found']} not found, {count['failed']} failed\n"
        )
        self.out.flush()


def _size(n: int) -> str:
    return f"{n} B" if n < 10240 else f"{n // 1024} KiB"


def _readlink(path: str) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None
