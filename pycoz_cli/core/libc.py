"""Typed wrappers over the libc calls pycoz needs: namespaces, mounts, prctl.

The declarations come pre-parsed from ``_libc_cffi`` (cffi out-of-line ABI mode), so
importing this module parses no C and needs no compiler.  Every wrapper raises
``OSError(errno, what, target)`` on failure: the errno is kept for callers that
branch on it, ``what`` says which operation failed and ``target`` names the object
(a path, a namespace), so the message shown to a user needs nothing added.
"""

from __future__ import annotations

import os

from pycoz_cli.core._libc_cffi import ffi

lib = ffi.dlopen(None)
# Resolve every symbol now, in the parent: the first attribute access does a
# dlsym and builds a function object, which forked children would otherwise
# each repeat (and pay for in copied pages) on their hot path.
for _name in dir(lib):  # every function declared in _libc_build.CDEF
    getattr(lib, _name)
del _name

# clone(2) / unshare(2) flags
CLONE_PARENT = 0x00008000
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# mount(2) flags
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20

# umount2(2) flags
MNT_DETACH = 2

# mount_setattr(2)
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x00000001

# prctl(2)
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

# Syscalls glibc has no wrapper for (pivot_root) or only recent ones (mount_setattr).
# Numbers from the kernel's syscall tables; mount_setattr is 442 on every arch.
_SYSCALLS = {
    "x86_64": {"pivot_root": 155, "mount_setattr": 442, "clone": 56},
    "aarch64": {"pivot_root": 41, "mount_setattr": 442, "clone": 220},
    "riscv64": {"pivot_root": 41, "mount_setattr": 442, "clone": 220},
    "ppc64le": {"pivot_root": 203, "mount_setattr": 442, "clone": 120},
    "s390x": {"pivot_root": 217, "mount_setattr": 442, "clone": 120},
}
_MACHINE = os.uname().machine
_NR = _SYSCALLS.get(_MACHINE, {})

NAMESPACE_FLAGS = {
    "mnt": CLONE_NEWNS,
    "uts": CLONE_NEWUTS,
    "ipc": CLONE_NEWIPC,
    "pid": CLONE_NEWPID,
    "net": CLONE_NEWNET,
    "user": CLONE_NEWUSER,
    "cgroup": CLONE_NEWCGROUP,
}


def _fail(what: str, target: str | None) -> OSError:
    return OSError(ffi.errno, what, target)


def _cstr(value: str | bytes | None):
    if value is None:
        return ffi.NULL
    if isinstance(value, str):
        return os.fsencode(value)
    return value


def flags_text(flags: int) -> str:
    """``CLONE_NEWNS|CLONE_NEWPID`` for a set of namespace flags, for messages."""
    names = [f"CLONE_NEW{n.upper()}" for n, f in NAMESPACE_FLAGS.items() if flags & f]
    return "|".join(names) or "0"


def unshare(flags: int) -> None:
    if lib.unshare(flags) != 0:
        raise _fail("unshare failed", flags_text(flags))


def setns(fd: int, nstype: int = 0, target: str | None = None) -> None:
    if lib.setns(fd, nstype) != 0:
        raise _fail("setns failed", target or f"fd {fd}")


def mount(
    source: str | None,
    target: str,
    fstype: str | None = None,
    flags: int = 0,
    data: str | None = None,
    *,
    what: str | None = None,
) -> None:
    """mount(2); ``what`` names the operation in the error ("mount overlay")."""
    if lib.mount(_cstr(source), _cstr(target), _cstr(fstype), flags, _cstr(data)) != 0:
        raise _fail(what or f"mount {fstype or source} failed", target)


def umount2(target: str, flags: int = 0) -> None:
    if lib.umount2(_cstr(target), flags) != 0:
        raise _fail("umount failed", target)


def pivot_root(new_root: str, put_old: str) -> None:
    nr = _NR.get("pivot_root")
    if nr is None:
        raise OSError(38, "pivot_root has no known syscall number", _MACHINE)
    # Owned buffers, bound to names, so they outlive the call: a cast of a
    # temporary from_buffer() pointer may be freed before the syscall runs.
    new_c, old_c = _cpath(new_root), _cpath(put_old)
    if lib.syscall(ffi.cast("long", nr), new_c, old_c) != 0:
        raise _fail("pivot_root failed", new_root)


def _cpath(path: str):
    return ffi.new("char[]", os.fsencode(path))


def make_readonly_recursive(target: str) -> None:
    """Make the mount at ``target`` and every mount below it read-only.

    A plain ``MS_REMOUNT|MS_BIND|MS_RDONLY`` only changes the top mount, leaving
    submounts of a recursive bind writable; mount_setattr(2) with AT_RECURSIVE
    changes the whole tree at once (Linux 5.12+).
    """
    nr = _NR.get("mount_setattr", 442)
    attr = ffi.new("struct mount_attr *")
    attr.attr_set = MOUNT_ATTR_RDONLY
    path = _cpath(target)
    rc = lib.syscall(
        ffi.cast("long", nr),
        ffi.cast("int", -100),  # AT_FDCWD
        path,
        ffi.cast("unsigned int", AT_RECURSIVE),
        attr,
        ffi.cast("size_t", ffi.sizeof("struct mount_attr")),
    )
    if rc != 0:
        raise _fail("make read-only failed", target)


def prctl(option: int, arg2: int = 0, what: str = "prctl failed") -> None:
    if lib.prctl(option, arg2, 0, 0, 0) != 0:
        raise _fail(what, None)


def set_parent_death_signal(sig: int) -> None:
    prctl(PR_SET_PDEATHSIG, sig, "prctl(PR_SET_PDEATHSIG) failed")


def sethostname(name: str) -> None:
    raw = name.encode()
    if lib.sethostname(raw, len(raw)) != 0:
        raise _fail("sethostname failed", name)


_SIGCHLD = 17


def clone_fork(flags: int) -> int:
    """clone(2) as fork(2) with extra ``flags``: 0 in the child, the child's pid
    in the parent, -errno on failure.  Only for a single-threaded caller (no
    pthread_atfork handlers run; see ``process._clone_into_pid_ns``)."""
    nr = _NR.get("clone")
    if nr is None:
        return -38  # ENOSYS
    zero = ffi.cast("unsigned long", 0)
    # The argument order after the flags differs between architectures, but
    # with no stack, no tids and no TLS every one is zero.
    rc = lib.syscall(
        ffi.cast("long", nr), ffi.cast("unsigned long", flags | _SIGCHLD), zero, zero, zero, zero
    )
    if rc < 0:
        return -ffi.errno
    return int(rc)
