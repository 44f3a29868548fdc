"""Decoders for the smaller syscall families, as strace 6.1 prints them.

epoll (strace's epoll.c), inotify, xattrs, CPU affinity, sendfile and
copy_file_range, pending and awaited signals, getrusage, memfd_create, flock,
mount, the id calls (-1 stays -1), and the file ioctls strace names.  Each
decoder follows :mod:`decode`'s conventions (``f(ctx) -> list[Arg]``, output
pointers shown as addresses until the call succeeded); :mod:`decode` adds them
to its table when it is imported, so nothing here is imported on its own.
"""

from __future__ import annotations

import struct
import time

from pycoz_cli.core.trace.decode import (
    _PURE,
    _SIGNALS,
    RAW,
    VERBOSE,
    Arg,
    _atflags,
    _buf,
    _by_name,
    _clock_t,
    _clockarg,
    _dirfd,
    _fd,
    _flags,
    _flags_or_unknown,
    _flagsarg,
    _hex,
    _int,
    _intptr_in,
    _intptr_out,
    _itimerval_at,
    _long,
    _mode_text,
    _name,
    _path,
    _ptr,
    _rusage,
    _s32,
    _siginfo_in,
    _sigset_at,
    _str,
    _styled,
    _styled_text,
    _timespec_at,
    _uint,
    _ulong,
    _xlat,
    _xstyle,
    decode_sockaddr,
    quote,
    set_bits,
    signame,
)

# --- epoll -------------------------------------------------------------------------

_EPOLL_EVENTS = (
    (1, "EPOLLIN"), (2, "EPOLLPRI"), (4, "EPOLLOUT"), (8, "EPOLLERR"), (0x10, "EPOLLHUP"),
    (0x20, "EPOLLNVAL"), (0x40, "EPOLLRDNORM"), (0x80, "EPOLLRDBAND"), (0x100, "EPOLLWRNORM"),
    (0x200, "EPOLLWRBAND"), (0x400, "EPOLLMSG"), (0x2000, "EPOLLRDHUP"),
    (1 << 28, "EPOLLEXCLUSIVE"), (1 << 29, "EPOLLWAKEUP"), (1 << 30, "EPOLLONESHOT"),
    (1 << 31, "EPOLLET"),
)  # fmt: skip
_EPOLL_CTL = {1: "EPOLL_CTL_ADD", 2: "EPOLL_CTL_DEL", 3: "EPOLL_CTL_MOD"}
_EPOLL_EVENT = struct.Struct("<IQ")  # struct epoll_event is packed on x86_64: 12 bytes


def _epoll_event(events: int, data: int) -> tuple[str, dict]:
    etext, names = _flags(events, _EPOLL_EVENTS)
    u32 = data & 0xFFFFFFFF
    return (
        f"{{events={etext}, data={{u32={u32}, u64={data}}}}}",
        {"events": names, "data": data},
    )


def _epoll_ctl(c):
    op = _s32(c.args[1])
    otext, oval = _xlat(op, _EPOLL_CTL, "EPOLL_CTL_???")
    ev = c.args[3]
    if op == 2 or not ev:  # EPOLL_CTL_DEL ignores the event: its address
        event = _ptr(c, 3)
    else:
        try:
            text, value = _epoll_event(*_EPOLL_EVENT.unpack(c.mem.read(ev, 12)))
        except OSError:
            event = Arg(f"{ev:#x}", ev)
        else:
            event = Arg(text, value)
    return [_fd(c, 0), Arg(otext, oval), _fd(c, 2), event]


def _epoll_events_out(c, i) -> Arg:
    """The events epoll_wait filled: ``retval`` of them."""
    v = c.args[i]
    done = c.out(v)
    if done:
        return done
    n = min(c.retval, c.strsize)
    try:
        raw = c.mem.read(v, 12 * n) if n else b""
    except OSError:
        return Arg(f"{v:#x}", v)
    texts, values = [], []
    for k in range(n):
        text, value = _epoll_event(*_EPOLL_EVENT.unpack_from(raw, 12 * k))
        texts.append(text)
        values.append(value)
    more = ", ..." if c.retval > n else ""
    return Arg(f"[{', '.join(texts)}{more}]", values)


def _epoll_wait(c):
    return [_fd(c, 0), _epoll_events_out(c, 1), _int(c, 2), _int(c, 3)]


def _epoll_pwait(c):
    return [*_epoll_wait(c), _sigset_at(c, c.args[4], c.args[5]), _ulong(c, 5)]


def _epoll_pwait2(c):
    return [_fd(c, 0), _epoll_events_out(c, 1), _int(c, 2), _timespec_at(c, c.args[3]),
            _sigset_at(c, c.args[4], c.args[5]), _ulong(c, 5)]  # fmt: skip


# --- inotify -----------------------------------------------------------------------

_IN_FLAGS = (
    (1, "IN_ACCESS"), (2, "IN_MODIFY"), (4, "IN_ATTRIB"), (8, "IN_CLOSE_WRITE"),
    (0x10, "IN_CLOSE_NOWRITE"), (0x20, "IN_OPEN"), (0x40, "IN_MOVED_FROM"),
    (0x80, "IN_MOVED_TO"), (0x100, "IN_CREATE"), (0x200, "IN_DELETE"),
    (0x400, "IN_DELETE_SELF"), (0x800, "IN_MOVE_SELF"), (0x2000, "IN_UNMOUNT"),
    (0x4000, "IN_Q_OVERFLOW"), (0x8000, "IN_IGNORED"), (0x1000000, "IN_ONLYDIR"),
    (0x2000000, "IN_DONT_FOLLOW"), (0x4000000, "IN_EXCL_UNLINK"),
    (0x10000000, "IN_MASK_CREATE"), (0x20000000, "IN_MASK_ADD"), (0x40000000, "IN_ISDIR"),
    (0x80000000, "IN_ONESHOT"),
)  # fmt: skip
_IN_INIT = ((0o4000, "IN_NONBLOCK"), (0o2000000, "IN_CLOEXEC"))

# --- xattrs ------------------------------------------------------------------------

_XATTR_FLAGS = ((1, "XATTR_CREATE"), (2, "XATTR_REPLACE"))


def _xattr_value_in(c, i):
    return _buf(c, c.args[i], c.args[i + 1])


def _xattr_value_out(c, i):
    """getxattr's value, listxattr's list: ``retval`` bytes (NULL when only sized)."""
    v = c.args[i]
    if not v:
        return Arg("NULL", None)
    return c.out(v) or _buf(c, v, c.retval)


def _setxattr(c):
    return [_path(c, 0), _str(c, 1), _xattr_value_in(c, 2), _ulong(c, 3),
            _flagsarg(_XATTR_FLAGS)(c, 4)]  # fmt: skip


def _fsetxattr(c):
    return [_fd(c, 0), *_setxattr(c)[1:]]


def _getxattr(c):
    return [_path(c, 0), _str(c, 1), _xattr_value_out(c, 2), _ulong(c, 3)]


def _fgetxattr(c):
    return [_fd(c, 0), *_getxattr(c)[1:]]


def _listxattr(c):
    # strace's print_xattr_list: a list asked for with size 0 (only its length
    # wanted) is shown as the address, unlike getxattr's value.
    names = _xattr_value_out(c, 1) if c.args[2] else _ptr(c, 1)
    return [_path(c, 0), names, _ulong(c, 2)]


def _flistxattr(c):
    return [_fd(c, 0), *_listxattr(c)[1:]]


# --- affinity ----------------------------------------------------------------------


def _cpuset_at(c, addr: int, size: int) -> Arg:
    if not addr:
        return Arg("NULL", None)
    size = min(max(size, 0), 1 << 16)
    try:
        raw = c.mem.read(addr, size) if size else b""
    except OSError:
        return Arg(f"{addr:#x}", addr)
    cpus = set_bits(raw)
    return Arg(f"[{' '.join(map(str, cpus))}]", cpus)


def _sched_setaffinity(c):
    return [_int(c, 0), _uint(c, 1), _cpuset_at(c, c.args[2], c.args[1] & 0xFFFFFFFF)]


def _sched_getaffinity(c):
    v = c.args[2]
    return [_int(c, 0), _uint(c, 1), c.out(v) or _cpuset_at(c, v, c.retval)]


# --- sendfile, copy_file_range -------------------------------------------------------


def _offset_at_entry(c, i) -> tuple[Arg, int | None]:
    """``[N]``, the offset as it was at entry (the kernel moves it), and N."""
    v = c.args[i]
    if not v:
        return Arg("NULL", None), None
    saved = c.entry.get(i) if c.entry else None
    if saved is None:
        try:
            saved = struct.unpack("<q", c.mem.read(v, 8))[0]
        except OSError:
            return Arg(f"{v:#x}", v), None
    if saved.__class__ is not int:
        return Arg(f"{v:#x}", v), None
    return Arg(f"[{saved}]", [saved]), saved


def _sendfile(c):
    off, before = _offset_at_entry(c, 2)
    if before is not None and c.ok:  # where the offset went: [0] => [5]
        try:
            (after,) = struct.unpack("<q", c.mem.read(c.args[2], 8))
        except OSError:
            after = None
        if after is not None:
            off = Arg(f"[{before}] => [{after}]", [before, after])
    return [_fd(c, 0), _fd(c, 1), off, _ulong(c, 3)]


def _copy_file_range(c):
    return [_fd(c, 0), _offset_at_entry(c, 1)[0], _fd(c, 2), _offset_at_entry(c, 3)[0],
            _ulong(c, 4), _uint(c, 5)]  # fmt: skip


#: What :func:`decode.capture_entry` saves: the offsets the kernel moves.
OFFSET_ARGS = {"sendfile": (2,), "copy_file_range": (1, 3)}


def capture_offsets(name: str, args, mem) -> dict | None:
    saved = {}
    for i in OFFSET_ARGS[name]:
        if args[i]:
            try:
                saved[i] = struct.unpack("<q", mem.read(args[i], 8))[0]
            except OSError:
                saved[i] = False  # unreadable: the address is shown
    return saved or None


# --- signals -------------------------------------------------------------------------


def _rt_sigpending(c):
    v = c.args[0]
    return [c.out(v) or _sigset_at(c, v, c.args[1]), _ulong(c, 1)]


def _rt_sigtimedwait(c):
    info = c.args[1]
    iarg = c.out(info) or _siginfo_in(c, info)
    return [_sigset_at(c, c.args[0], c.args[3]), iarg, _timespec_at(c, c.args[2]), _ulong(c, 3)]


def sigtimedwait_result(retval: int) -> str:
    """``10 (SIGUSR1)``: the signal taken, by name."""
    return f"{retval} ({signame(retval)})" if 0 < retval < len(_SIGNALS) else str(retval)


# --- getrusage, memfd, flock, ids ------------------------------------------------------

_RUSAGE_WHO = {0: "RUSAGE_SELF", -1: "RUSAGE_CHILDREN", 1: "RUSAGE_THREAD"}


def _getrusage(c):
    t, v = _xlat(_s32(c.args[0]), _RUSAGE_WHO)
    return [Arg(t, v), _rusage(c, 1)]


_MFD_FLAGS = ((1, "MFD_CLOEXEC"), (2, "MFD_ALLOW_SEALING"), (4, "MFD_HUGETLB"),
              (8, "MFD_NOEXEC_SEAL"), (0x10, "MFD_EXEC"))  # fmt: skip
_LOCK_FLAGS = ((1, "LOCK_SH"), (2, "LOCK_EX"), (4, "LOCK_NB"), (8, "LOCK_UN"),
               (32, "LOCK_MAND"), (64, "LOCK_READ"), (128, "LOCK_WRITE"))  # fmt: skip


def _memfd_flags(c, i):
    """memfd_create's flags: under -X verbose strace comments the names as -X
    abbrev prints them, a bare ``0x100 /* MFD_??? */`` included."""
    v = c.args[i] & 0xFFFFFFFF
    text, names = _by_name(_flags_or_unknown, v, _MFD_FLAGS, "MFD_???")
    if v and _xstyle() == VERBOSE:
        return Arg(f"{_hex(v)} /* {text} */", names)
    return Arg(*_flags_or_unknown(v, _MFD_FLAGS, "MFD_???"))


def _id(c, i):
    """A uid or gid: unsigned, except -1 ("leave as is"), which strace prints as -1."""
    v = c.args[i] & 0xFFFFFFFF
    if v == 0xFFFFFFFF:
        return Arg("-1", -1)
    return Arg(str(v), v)


_PURE.add(_id)


def _uint_out(c, i):
    """``[N]``: an unsigned int the call writes (getresuid, getcpu)."""
    v = c.args[i]
    done = c.out(v)
    if done:
        return done
    try:
        (n,) = struct.unpack("<I", c.mem.read(v, 4))
    except OSError:
        return Arg(f"{v:#x}", v)
    return Arg(f"[{n}]", [n])


# --- mount -----------------------------------------------------------------------------

_MS_FLAGS = (
    (1, "MS_RDONLY"), (2, "MS_NOSUID"), (4, "MS_NODEV"), (8, "MS_NOEXEC"),
    (0x10, "MS_SYNCHRONOUS"), (0x20, "MS_REMOUNT"), (0x40, "MS_MANDLOCK"),
    (0x80, "MS_DIRSYNC"), (0x100, "MS_NOSYMFOLLOW"), (0x400, "MS_NOATIME"),
    (0x800, "MS_NODIRATIME"), (0x1000, "MS_BIND"), (0x2000, "MS_MOVE"), (0x4000, "MS_REC"),
    (0x8000, "MS_SILENT"), (0x10000, "MS_POSIXACL"), (0x20000, "MS_UNBINDABLE"),
    (0x40000, "MS_PRIVATE"), (0x80000, "MS_SLAVE"), (0x100000, "MS_SHARED"),
    (0x200000, "MS_RELATIME"), (0x400000, "MS_KERNMOUNT"), (0x800000, "MS_I_VERSION"),
    (0x1000000, "MS_STRICTATIME"), (0x2000000, "MS_LAZYTIME"), (0x4000000, "MS_SUBMOUNT"),
    (0x8000000, "MS_NOREMOTELOCK"), (0x10000000, "MS_NOSEC"), (0x20000000, "MS_BORN"),
    (0x40000000, "MS_ACTIVE"), (0x80000000, "MS_NOUSER"),
)  # fmt: skip
_MS_MGC_VAL, _MS_MGC_MSK = 0xC0ED0000, 0xFFFF0000
_UMOUNT_FLAGS = ((1, "MNT_FORCE"), (2, "MNT_DETACH"), (4, "MNT_EXPIRE"),
                 (8, "UMOUNT_NOFOLLOW"))  # fmt: skip


def _mount(c):
    flags = c.args[3]
    names, texts = [], []
    if flags & _MS_MGC_MSK == _MS_MGC_VAL:  # the old magic in the high word
        names.append("MS_MGC_VAL")
        texts.append(_styled(_MS_MGC_VAL, "MS_MGC_VAL"))
        flags &= ~_MS_MGC_MSK
    if flags or not names:
        text, more = _flags(flags, _MS_FLAGS)
        names += more
        texts.append(text)
    # A remount keeps its type (shown as an address), a bind, move or propagation
    # change means nothing by its type and data either.
    remount = c.args[3] & 0x20
    quiet = not remount and c.args[3] & (0x1000 | 0x2000 | 0x20000 | 0x40000 | 0x80000 | 0x100000)
    fstype = _ptr(c, 2) if remount or quiet else _str(c, 2)
    data = _ptr(c, 4) if quiet or not c.args[4] else _str(c, 4)
    return [_path(c, 0), _path(c, 1), fstype, Arg("|".join(texts), names), data]


# --- utimensat's times -------------------------------------------------------------------

_UTIME = {0x3FFFFFFF: "UTIME_NOW", 0x3FFFFFFE: "UTIME_OMIT"}


def time_comment(sec: int, nsec: int) -> str:
    """strace's ``/* 2023-11-14T22:13:20.123456789+0000 */`` for a time (local time)."""
    try:
        tm = time.localtime(sec)
    except (OverflowError, OSError, ValueError):
        return ""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", tm)
    if nsec:
        stamp += f".{nsec:09d}"
    return f" /* {stamp}{time.strftime('%z', tm)} */"


def _utimensat(c):
    v = c.args[2]
    if not v:
        times = Arg("NULL", None)
    else:
        try:
            a = struct.unpack("<qqqq", c.mem.read(v, 32))
        except OSError:
            times = Arg(f"{v:#x}", v)
        else:
            parts, values = [], []
            for sec, nsec in ((a[0], a[1]), (a[2], a[3])):
                special = _UTIME.get(nsec)
                if special:  # -X raw: the timespec; verbose: and the name, as a comment
                    parts.append(_styled_text(f"{{tv_sec={sec}, tv_nsec={nsec}}}", special))
                    values.append(special)
                else:
                    parts.append(f"{{tv_sec={sec}, tv_nsec={nsec}}}{time_comment(sec, nsec)}")
                    values.append({"tv_sec": sec, "tv_nsec": nsec})
            times = Arg(f"[{parts[0]}, {parts[1]}]", values)
    return [_dirfd(c, 0), _path(c, 1), times, _atflags(c, 3)]


# --- io_uring ------------------------------------------------------------------------------

_IORING_SETUP = (
    (1, "IORING_SETUP_IOPOLL"), (2, "IORING_SETUP_SQPOLL"), (4, "IORING_SETUP_SQ_AFF"),
    (8, "IORING_SETUP_CQSIZE"), (0x10, "IORING_SETUP_CLAMP"), (0x20, "IORING_SETUP_ATTACH_WQ"),
    (0x40, "IORING_SETUP_R_DISABLED"), (0x80, "IORING_SETUP_SUBMIT_ALL"),
    (0x100, "IORING_SETUP_COOP_TASKRUN"), (0x200, "IORING_SETUP_TASKRUN_FLAG"),
    (0x400, "IORING_SETUP_SQE128"), (0x800, "IORING_SETUP_CQE32"),
    (0x1000, "IORING_SETUP_SINGLE_ISSUER"), (0x2000, "IORING_SETUP_DEFER_TASKRUN"),
)  # fmt: skip
_IORING_FEAT = tuple(
    (1 << n, "IORING_FEAT_" + name)
    for n, name in enumerate((
        "SINGLE_MMAP", "NODROP", "SUBMIT_STABLE", "RW_CUR_POS", "CUR_PERSONALITY", "FAST_POLL",
        "POLL_32BITS", "SQPOLL_NONFIXED", "EXT_ARG", "NATIVE_WORKERS", "RSRC_TAGS", "CQE_SKIP",
        "LINKED_FILE",
    ))
)  # fmt: skip
_IORING_ENTER = ((1, "IORING_ENTER_GETEVENTS"), (2, "IORING_ENTER_SQ_WAKEUP"),
                 (4, "IORING_ENTER_SQ_WAIT"), (8, "IORING_ENTER_EXT_ARG"),
                 (0x10, "IORING_ENTER_REGISTERED_RING"))  # fmt: skip
_IORING_REGISTER = (
    "IORING_REGISTER_BUFFERS", "IORING_UNREGISTER_BUFFERS", "IORING_REGISTER_FILES",
    "IORING_UNREGISTER_FILES", "IORING_REGISTER_EVENTFD", "IORING_UNREGISTER_EVENTFD",
    "IORING_REGISTER_FILES_UPDATE", "IORING_REGISTER_EVENTFD_ASYNC", "IORING_REGISTER_PROBE",
    "IORING_REGISTER_PERSONALITY", "IORING_UNREGISTER_PERSONALITY",
    "IORING_REGISTER_RESTRICTIONS", "IORING_REGISTER_ENABLE_RINGS", "IORING_REGISTER_FILES2",
    "IORING_REGISTER_FILES_UPDATE2", "IORING_REGISTER_BUFFERS2",
    "IORING_REGISTER_BUFFERS_UPDATE", "IORING_REGISTER_IOWQ_AFF",
    "IORING_UNREGISTER_IOWQ_AFF", "IORING_REGISTER_IOWQ_MAX_WORKERS",
    "IORING_REGISTER_RING_FDS", "IORING_UNREGISTER_RING_FDS", "IORING_REGISTER_PBUF_RING",
    "IORING_UNREGISTER_PBUF_RING", "IORING_REGISTER_SYNC_CANCEL",
    "IORING_REGISTER_FILE_ALLOC_RANGE",
)  # fmt: skip
_IORING_OPS = tuple("IORING_OP_" + name for name in (
    "NOP", "READV", "WRITEV", "FSYNC", "READ_FIXED", "WRITE_FIXED", "POLL_ADD", "POLL_REMOVE",
    "SYNC_FILE_RANGE", "SENDMSG", "RECVMSG", "TIMEOUT", "TIMEOUT_REMOVE", "ACCEPT",
    "ASYNC_CANCEL", "LINK_TIMEOUT", "CONNECT", "FALLOCATE", "OPENAT", "CLOSE", "FILES_UPDATE",
    "STATX", "READ", "WRITE", "FADVISE", "MADVISE", "SEND", "RECV", "OPENAT2", "EPOLL_CTL",
    "SPLICE", "PROVIDE_BUFFERS", "REMOVE_BUFFERS", "TEE", "SHUTDOWN", "RENAMEAT", "UNLINKAT",
    "MKDIRAT", "SYMLINKAT", "LINKAT", "MSG_RING", "FSETXATTR", "SETXATTR", "FGETXATTR",
    "GETXATTR", "SOCKET", "URING_CMD",
))  # fmt: skip
_SQ_OFF = ("head", "tail", "ring_mask", "ring_entries", "flags", "dropped", "array")
_CQ_OFF = ("head", "tail", "ring_mask", "ring_entries", "overflow", "cqes", "flags")


def _io_uring_setup(c):
    v = c.args[1]
    try:
        raw = c.mem.read(v, 120)
    except OSError:
        return [_uint(c, 0), Arg(_ptr_text(v), v)]
    sq, cq, flags, cpu, idle, feats, wq_fd = struct.unpack_from("<7I", raw)
    resv = struct.unpack_from("<3I", raw, 28)
    parts = [f"flags={_flags(flags, _IORING_SETUP)[0]}", f"sq_thread_cpu={cpu}",
             f"sq_thread_idle={idle}"]  # fmt: skip
    if flags & 0x20:  # IORING_SETUP_ATTACH_WQ
        parts.append(f"wq_fd={wq_fd}")
    if any(resv):
        parts.append(f"resv=[{', '.join(_hexnum(x) for x in resv)}]")
    if c.ok:
        sq_off = struct.unpack_from("<7I", raw, 40)
        cq_off = struct.unpack_from("<7I", raw, 80)
        parts += [
            f"sq_entries={sq}", f"cq_entries={cq}",
            f"features={_flags(feats, _IORING_FEAT)[0]}",
            "sq_off={" + ", ".join(f"{k}={n}" for k, n in zip(_SQ_OFF, sq_off, strict=True)) + "}",
            "cq_off={" + ", ".join(f"{k}={n}" for k, n in zip(_CQ_OFF, cq_off, strict=True)) + "}",
        ]  # fmt: skip
    return [_uint(c, 0), Arg("{" + ", ".join(parts) + "}", {"flags": flags, "features": feats})]


def _hexnum(v: int) -> str:
    return f"{v:#x}" if v else "0"


def _io_uring_enter(c):
    return [_fd(c, 0), _uint(c, 1), _uint(c, 2), _flagsarg(_IORING_ENTER)(c, 3),
            _sigset_at(c, c.args[4], c.args[5]), _ulong(c, 5)]  # fmt: skip


def _io_uring_register(c):
    op = c.args[1] & 0xFFFFFFFF
    if op < len(_IORING_REGISTER):
        oname = _IORING_REGISTER[op]
    else:
        oname = f"{op:#x} /* IORING_REGISTER_??? */"
    otext = _name(op, _IORING_REGISTER[op] if op < len(_IORING_REGISTER) else None,
                  "IORING_REGISTER_???")  # fmt: skip
    arg, n = c.args[2], c.args[3] & 0xFFFFFFFF
    if not arg:
        argument = Arg("NULL", None)
    elif op in (2, 4, 7, 13):  # the files, the eventfd: descriptors
        count = 1 if op in (4, 7) else min(n, c.strsize)
        try:
            fds = list(struct.unpack(f"<{count}i", c.mem.read(arg, 4 * count)))
        except OSError:
            argument = Arg(_ptr_text(arg), arg)
        else:
            more = ", ..." if op == 2 and n > count else ""
            argument = Arg(f"[{', '.join(map(str, fds))}{more}]", fds)
    elif op == 8:  # IORING_REGISTER_PROBE: what the kernel wrote
        argument = c.out(arg) or _probe(c, arg, n)
    else:
        argument = Arg(_ptr_text(arg), arg)
    return [_fd(c, 0), Arg(otext, oname), argument, _uint(c, 3)]


def _op_name(op: int) -> str:
    return _name(op, _IORING_OPS[op] if op < len(_IORING_OPS) else None, "IORING_OP_???", "u")


def _probe(c, addr: int, n: int) -> Arg:
    count = min(n, c.strsize, 256)
    try:
        raw = c.mem.read(addr, 16 + 8 * count)
    except OSError:
        return Arg(_ptr_text(addr), addr)
    last, ops_len = raw[0], raw[1]
    ops = []
    for k in range(min(count, ops_len)):
        op, _resv, flags = struct.unpack_from("<BBH", raw, 16 + 8 * k)
        ftext = _flags(flags, ((1, "IO_URING_OP_SUPPORTED"),))[0]
        ops.append(f"{{op={_op_name(op)}, flags={ftext}}}")
    more = ", ..." if ops_len > count else ""
    return Arg(
        f"{{last_op={_op_name(last)}, ops_len={ops_len}, ops=[{', '.join(ops)}{more}]}}",
        {"last_op": last, "ops_len": ops_len},
    )


# --- memory, scheduling, times, membarrier, mknod ----------------------------------------------

_MS_SYNC = ((1, "MS_ASYNC"), (2, "MS_INVALIDATE"), (4, "MS_SYNC"))
_MCL = ((1, "MCL_CURRENT"), (2, "MCL_FUTURE"), (4, "MCL_ONFAULT"))
_SCHED = ("SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE",
          "SCHED_DEADLINE")  # fmt: skip
_PRIO = {0: "PRIO_PROCESS", 1: "PRIO_PGRP", 2: "PRIO_USER"}
_MEMBARRIER = tuple(
    (1 << n, "MEMBARRIER_CMD_" + name)
    for n, name in enumerate((
        "GLOBAL", "GLOBAL_EXPEDITED", "REGISTER_GLOBAL_EXPEDITED", "PRIVATE_EXPEDITED",
        "REGISTER_PRIVATE_EXPEDITED", "PRIVATE_EXPEDITED_SYNC_CORE",
        "REGISTER_PRIVATE_EXPEDITED_SYNC_CORE", "PRIVATE_EXPEDITED_RSEQ",
        "REGISTER_PRIVATE_EXPEDITED_RSEQ",
    ))
)  # fmt: skip


def _policy_text(v: int) -> str:
    base = v & ~0x40000000
    text = _SCHED[base] if 0 <= base < len(_SCHED) else f"{base:#x} /* SCHED_??? */"
    return "SCHED_RESET_ON_FORK|" + text if v & 0x40000000 else text


def _policy(c, i):
    v = _s32(c.args[i])
    text = _policy_text(v & 0xFFFFFFFF) if v >= 0 else str(v)
    if v < 0:
        return Arg(text, text)
    if (v & ~0x40000000) >= len(_SCHED):  # no name: the number, commented once
        return Arg(_name(v, None, "SCHED_???"), text)
    return Arg(_styled(v, text), text)


def _prio_which(c, i):
    return Arg(*_xlat(_s32(c.args[i]), _PRIO, "PRIO_???"))


def _mincore(c):
    v, ln = c.args[2], c.args[1]
    pages = min((ln + 4095) // 4096, 1 << 16)
    vec = c.out(v)
    if vec is None:
        shown = min(pages, c.strsize)
        try:
            raw = c.mem.read(v, shown) if shown else b""
        except OSError:
            vec = Arg(f"{v:#x}", v)
        else:
            more = ", ..." if pages > shown else ""
            vec = Arg(f"[{', '.join(str(b & 1) for b in raw)}{more}]", [b & 1 for b in raw])
    return [_ptr(c, 0), _ulong(c, 1), vec]


def _times(c):
    v = c.args[0]
    done = c.out(v)
    if done:
        return [done]
    try:
        nums = struct.unpack("<4q", c.mem.read(v, 32))
    except OSError:
        return [Arg(f"{v:#x}", v)]
    names = ("tms_utime", "tms_stime", "tms_cutime", "tms_cstime")
    text = ", ".join(f"{k}={_clock_t(n)}" for k, n in zip(names, nums, strict=True))
    return [Arg("{" + text + "}", dict(zip(names, nums, strict=True)))]


def _membarrier(c):
    cmd = c.args[0] & 0xFFFFFFFF
    if cmd == 0:
        return [Arg(_styled(0, "MEMBARRIER_CMD_QUERY"), "MEMBARRIER_CMD_QUERY"), _uint(c, 1)]
    text, names = _flags_or_unknown(cmd, _MEMBARRIER, "MEMBARRIER_CMD_???")
    return [Arg(text, "|".join(names)), _uint(c, 1)]


def _mknod_args(c, mode_i: int) -> list:
    mode = c.args[mode_i] & 0xFFFFFFFF
    text, value = _mode_text(mode)
    out = [Arg(text, value)]
    if mode & 0o170000 in (0o20000, 0o60000):  # a device: its number
        dev = c.args[mode_i + 1]
        major = ((dev >> 8) & 0xFFF) | ((dev >> 32) & ~0xFFF)
        minor = (dev & 0xFF) | ((dev >> 12) & ~0xFF)
        out.append(Arg(_styled(dev, f"makedev({major:#x}, {minor:#x})"), dev))
    return out


def _mknod(c):
    return [_path(c, 0), *_mknod_args(c, 1)]


def _mknodat(c):
    return [_dirfd(c, 0), _path(c, 1), *_mknod_args(c, 2)]


# --- personality, ioprio ----------------------------------------------------------------

#: The persona types strace 6.1 names (its table holds whole values; only these
#: survive its PER_MASK), and the flags above them.
_PER_TYPES = {0: "PER_LINUX", 6: "PER_BSD", 8: "PER_LINUX32", 0xC: "PER_RISCOS",
              0xF: "PER_OSF4", 0x10: "PER_HPUX"}  # fmt: skip
_PER_FLAGS = (
    (0x20000, "UNAME26"), (0x40000, "ADDR_NO_RANDOMIZE"), (0x80000, "FDPIC_FUNCPTRS"),
    (0x100000, "MMAP_PAGE_ZERO"), (0x200000, "ADDR_COMPAT_LAYOUT"),
    (0x400000, "READ_IMPLIES_EXEC"), (0x800000, "ADDR_LIMIT_32BIT"), (0x1000000, "SHORT_INODE"),
    (0x2000000, "WHOLE_SECONDS"), (0x4000000, "STICKY_TIMEOUTS"), (0x8000000, "ADDR_LIMIT_3GB"),
)  # fmt: skip


def _persona_text(v: int) -> str:
    text = _xlat(v & 0xFF, _PER_TYPES, "PER_???")[0]
    if v & ~0xFF:
        text += "|" + _flags(v & ~0xFF, _PER_FLAGS)[0]
    return text


def _personality(c):
    v = c.args[0] & 0xFFFFFFFF
    if v == 0xFFFFFFFF:  # the query
        return [Arg("0xffffffff", v)]
    return [Arg(_persona_text(v), v)]


_IOPRIO_WHO = {1: "IOPRIO_WHO_PROCESS", 2: "IOPRIO_WHO_PGRP", 3: "IOPRIO_WHO_USER"}
_IOPRIO_CLASS = {0: "IOPRIO_CLASS_NONE", 1: "IOPRIO_CLASS_RT", 2: "IOPRIO_CLASS_BE",
                 3: "IOPRIO_CLASS_IDLE"}  # fmt: skip


def _ioprio_text(v: int) -> str:
    klass = _xlat(v >> 13, _IOPRIO_CLASS, "IOPRIO_CLASS_???")[0]
    return f"IOPRIO_PRIO_VALUE({klass}, {v & 0x1FFF})"


def _ioprio_which(c, i):
    return Arg(*_xlat(_s32(c.args[i]), _IOPRIO_WHO, "IOPRIO_WHO_???"))


def _ioprio_value(c, i):
    v = _s32(c.args[i])
    return Arg(_styled(v, _ioprio_text(v), "d"), v)


def result_text(name: str, retval: int) -> str | None:
    """The annotation strace adds to these calls' results, or None."""
    if name == "personality":
        return f"{_hex(retval)} ({_persona_text(retval & 0xFFFFFFFF)})"
    if name == "ioprio_get":  # (no annotation under -X raw)
        return None if _xstyle() == RAW else f"{retval} ({_ioprio_text(retval)})"
    if name == "sched_getscheduler":
        return f"{retval} ({_policy_text(retval)})"
    if name == "membarrier" and retval > 0:
        return f"{retval:#x} ({_flags(retval, _MEMBARRIER)[0]})"
    return None


ANNOTATED = frozenset(("sched_getscheduler", "membarrier", "personality", "ioprio_get"))


# --- System V IPC ------------------------------------------------------------------------

_IPC_FLAGS = ((0o1000, "IPC_CREAT"), (0o2000, "IPC_EXCL"), (0o4000, "IPC_NOWAIT"))
_SHM_FLAGS = ((0o1000, "IPC_CREAT"), (0o2000, "IPC_EXCL"), (0o4000, "SHM_HUGETLB"),
              (0o10000, "SHM_NORESERVE"))  # fmt: skip
_IPC_CMDS = {0: "IPC_RMID", 1: "IPC_SET", 2: "IPC_STAT", 3: "IPC_INFO"}
_SHM_CMDS = {**_IPC_CMDS, 11: "SHM_LOCK", 12: "SHM_UNLOCK", 13: "SHM_STAT", 14: "SHM_INFO",
             15: "SHM_STAT_ANY"}  # fmt: skip
_SEM_CMDS = {**_IPC_CMDS, 11: "GETPID", 12: "GETVAL", 13: "GETALL", 14: "GETNCNT",
             15: "GETZCNT", 16: "SETVAL", 17: "SETALL", 18: "SEM_STAT", 19: "SEM_INFO",
             20: "SEM_STAT_ANY"}  # fmt: skip
_MSG_CMDS = {**_IPC_CMDS, 11: "MSG_STAT", 12: "MSG_INFO", 13: "MSG_STAT_ANY"}


def _ipc_key(c, i):
    key = c.args[i] & 0xFFFFFFFF
    return Arg(_name(key, None if key else "IPC_PRIVATE"), key)


def _ipc_get_flags(table):
    """The flags of shmget, semget, msgget, then the mode: ``IPC_CREAT|0600``.
    (strace joins them with ``|`` only after a name, so a bare unknown bit runs
    into the mode: ``0x8000000`` for 0x8000 and mode 000.)"""

    def dec(c, i):
        v = c.args[i] & 0xFFFFFFFF
        mode = f"0{v & 0o777:02o}"
        if not v & ~0o777:
            return Arg(mode, v)
        text, names = _flags(v & ~0o777, table)
        named = _xstyle() == RAW or names[0][:2] != "0x"
        return Arg(f"{text}|{mode}" if named else text + mode, v)

    return dec


def _ipc_cmd(table, unknown):
    def dec(c, i):
        return Arg(*_xlat(_s32(c.args[i]), table, unknown))

    return dec


# --- fallocate ------------------------------------------------------------------------

_FALLOC_FL = (
    (1, "FALLOC_FL_KEEP_SIZE"), (2, "FALLOC_FL_PUNCH_HOLE"), (4, "FALLOC_FL_NO_HIDE_STALE"),
    (8, "FALLOC_FL_COLLAPSE_RANGE"), (0x10, "FALLOC_FL_ZERO_RANGE"),
    (0x20, "FALLOC_FL_INSERT_RANGE"), (0x40, "FALLOC_FL_UNSHARE_RANGE"),
)  # fmt: skip


def _fallocate_mode(c, i):
    return Arg(*_flags_or_unknown(c.args[i] & 0xFFFFFFFF, _FALLOC_FL, "FALLOC_FL_???"))


# --- timerfd, signalfd ------------------------------------------------------------------------

_TFD = ((0o2000000, "TFD_CLOEXEC"), (0o4000, "TFD_NONBLOCK"))
_TFD_TIMER = ((1, "TFD_TIMER_ABSTIME"), (2, "TFD_TIMER_CANCEL_ON_SET"))
_SFD = ((0o2000000, "SFD_CLOEXEC"), (0o4000, "SFD_NONBLOCK"))


_clock = _clockarg


def _itimerspec_in(c, i):
    return _itimerval_at(c, c.args[i], "tv_nsec")


def _itimerspec_out(c, i):
    return c.out(c.args[i]) or _itimerval_at(c, c.args[i], "tv_nsec")


def _sigmask_arg(c, i):
    return _sigset_at(c, c.args[i], c.args[i + 1])


# --- the table ---------------------------------------------------------------------------

SIGS = {
    "epoll_create": (_int,),
    "epoll_ctl": _epoll_ctl,
    "epoll_wait": _epoll_wait,
    "epoll_pwait": _epoll_pwait,
    "epoll_pwait2": _epoll_pwait2,
    "inotify_init1": (_flagsarg(_IN_INIT, unknown="IN_???"),),
    "inotify_add_watch": (_fd, _path, _flagsarg(_IN_FLAGS)),
    "inotify_rm_watch": (_fd, _int),
    "setxattr": _setxattr,
    "lsetxattr": _setxattr,
    "fsetxattr": _fsetxattr,
    "getxattr": _getxattr,
    "lgetxattr": _getxattr,
    "fgetxattr": _fgetxattr,
    "listxattr": _listxattr,
    "llistxattr": _listxattr,
    "flistxattr": _flistxattr,
    "removexattr": (_path, _str),
    "lremovexattr": (_path, _str),
    "fremovexattr": (_fd, _str),
    "sched_setaffinity": _sched_setaffinity,
    "sched_getaffinity": _sched_getaffinity,
    "sendfile": _sendfile,
    "copy_file_range": _copy_file_range,
    "rt_sigpending": _rt_sigpending,
    "rt_sigtimedwait": _rt_sigtimedwait,
    "getrusage": _getrusage,
    "memfd_create": (_str, _memfd_flags),
    "flock": (_fd, _flagsarg(_LOCK_FLAGS)),
    "setuid": (_id,),
    "setgid": (_id,),
    "setfsuid": (_id,),
    "setfsgid": (_id,),
    "setreuid": (_id, _id),
    "setregid": (_id, _id),
    "setresuid": (_id, _id, _id),
    "setresgid": (_id, _id, _id),
    "getresuid": (_uint_out, _uint_out, _uint_out),
    "getresgid": (_uint_out, _uint_out, _uint_out),
    "chown": (_path, _id, _id),
    "lchown": (_path, _id, _id),
    "fchown": (_fd, _id, _id),
    "fchownat": (_dirfd, _path, _id, _id, _atflags),
    "mount": _mount,
    "umount2": (_path, _flagsarg(_UMOUNT_FLAGS)),
    "utimensat": _utimensat,
    "syncfs": (_fd,),
    "shmget": (_ipc_key, _ulong, _ipc_get_flags(_SHM_FLAGS)),
    "semget": (_ipc_key, _int, _ipc_get_flags(_IPC_FLAGS)),
    "msgget": (_ipc_key, _ipc_get_flags(_IPC_FLAGS)),
    "shmctl": (_int, _ipc_cmd(_SHM_CMDS, "SHM_???"), _ptr),
    "semctl": (_int, _int, _ipc_cmd(_SEM_CMDS, "SEM_???"), _ptr),
    "msgctl": (_int, _ipc_cmd(_MSG_CMDS, "MSG_???"), _ptr),
    "fallocate": (_fd, _fallocate_mode, _long, _long),
    "mlock": (_ptr, _ulong),
    "munlock": (_ptr, _ulong),
    "mlock2": (_ptr, _ulong, _flagsarg(((1, "MLOCK_ONFAULT"),))),
    "mlockall": (_flagsarg(_MCL),),
    "msync": (_ptr, _ulong, _flagsarg(_MS_SYNC)),
    "mincore": _mincore,
    "sched_getscheduler": (_int,),
    "sched_setscheduler": (_int, _policy, _intptr_in),
    "sched_getparam": (_int, _uint_out),
    "sched_setparam": (_int, _intptr_in),
    "sched_get_priority_max": (_policy,),
    "sched_get_priority_min": (_policy,),
    "getpriority": (_prio_which, _int),
    "personality": _personality,
    "ioprio_get": (_ioprio_which, _int),
    "ioprio_set": (_ioprio_which, _int, _ioprio_value),
    "setpriority": (_prio_which, _int, _int),
    "getcpu": (_uint_out, _uint_out, _ptr),
    "times": _times,
    "membarrier": _membarrier,
    "mknod": _mknod,
    "mknodat": _mknodat,
    "timerfd_create": (_clock, _flagsarg(_TFD, unknown="TFD_???")),
    "timerfd_settime": (
        _fd,
        _flagsarg(_TFD_TIMER, unknown="TFD_???"),
        _itimerspec_in,
        _itimerspec_out,
    ),
    "timerfd_gettime": (_fd, _itimerspec_out),
    "signalfd4": (_fd, _sigmask_arg, _ulong, _flagsarg(_SFD, unknown="SFD_???")),
    "signalfd": (_fd, _sigmask_arg, _ulong),
    "io_uring_setup": _io_uring_setup,
    "io_uring_enter": _io_uring_enter,
    "io_uring_register": _io_uring_register,
    "ftruncate": (_fd, _long),
}


# --- file and socket ioctls ----------------------------------------------------------------

#: Requests strace names, whose argument is shown as an address.
IOCTL_NAMES = {
    0x80081272: "BLKGETSIZE64", 0x1260: "BLKGETSIZE", 0x1268: "BLKSSZGET", 0x125E: "BLKROGET",
    0x1261: "BLKFLSBUF", 0x125F: "BLKRRPART", 0x8905: "SIOCATMARK", 0x8906: "SIOCGSTAMP_OLD",
    0x8907: "SIOCGSTAMPNS_OLD", 0x8910: "SIOCGIFNAME", 0x8917: "SIOCGIFDSTADDR",
    0x8919: "SIOCGIFBRDADDR", 0x891B: "SIOCGIFNETMASK", 0x8922: "SIOCSIFMTU",
    0x8942: "SIOCGIFTXQLEN", 0x8916: "SIOCSIFADDR", 0x80087601: "FS_IOC_GETVERSION",
    0xC020660B: "FS_IOC_FIEMAP", 0xC0045877: "FIFREEZE", 0xC0045878: "FITHAW",
    0xC0185879: "FITRIM", 0x2: "FIGETBSZ", 0x1: "FIBMAP", 0x541E: "TIOCGSERIAL",
    0x89E0: "SIOCPROTOPRIVATE", 0x89F0: "SIOCDEVPRIVATE", 0x80045705: "WDIOC_KEEPALIVE",
}  # fmt: skip
#: Named requests strace 6.1 does not decode: the argument is a number (``%#lx``).
IOCTL_HEXARG = frozenset((
    0x80087601, 0x2, 0x1, 0x541E, 0x89E0, 0x89F0, 0x541C, 0x5441, 0x542E,
))  # fmt: skip
#: Named requests that strace prints without the argument.
IOCTL_NOARG = frozenset((0x1261, 0x125F, 0xC0045877, 0xC0045878, 0x80045705))
_HIDIOC = {
    (2, 4): "HIDIOCGRAWNAME", (2, 5): "HIDIOCGRAWPHYS", (2, 6): "HIDIOCSFEATURE",
    (2, 8): "HIDIOCGRAWUNIQ", (2, 0x12): "HIDIOCGPHYS", (3, 6): "HIDIOCSFEATURE",
    (3, 7): "HIDIOCGFEATURE",
}  # fmt: skip
_IOC_DIRS = ("_IOC_NONE", "_IOC_WRITE", "_IOC_READ", "_IOC_READ|_IOC_WRITE")


def ioctl_code(req: int) -> str:
    """strace's text for a request it has no name for: the few families it names
    by number (``MIXER_READ(3)``, ``JSIOCGNAME(64)``), else the fields of the
    number as ``_IOC(dir, type, nr, size)`` (ioctl_print_code)."""
    kind, nr, size, way = (req >> 8) & 0xFF, req & 0xFF, (req >> 16) & 0x3FFF, req >> 30
    if kind == 0x4D and way in (1, 2):  # 'M': OSS mixer
        return f"MIXER_{'WRITE' if way == 1 else 'READ'}({nr})"
    if kind == 0x48:  # 'H': hiddev, named by (direction, number)
        hid = _HIDIOC.get((way, nr))
        if hid:
            return f"{hid}({size})"
    if way == 2 and (kind, nr) == (0x55, 0x2C):
        return f"UI_GET_SYSNAME({size})"
    if way == 2 and (kind, nr) == (0x6A, 0x13):
        return f"JSIOCGNAME({size})"
    return f"_IOC({_IOC_DIRS[way]}, {_hex(kind)}, {_hex(nr)}, {_hex(size)})"


#: strace 6.1's two names for one number (btrfs had it first).
IOCTL_TEXT = {
    0x40049409: "BTRFS_IOC_CLONE or FICLONE",
    0x4020940D: "BTRFS_IOC_CLONE_RANGE or FICLONERANGE",
}
IOCTL_NAMES.update({0x40049409: "FICLONE", 0x4020940D: "FICLONERANGE"})

_IFF = (
    (1, "IFF_UP"), (2, "IFF_BROADCAST"), (4, "IFF_DEBUG"), (8, "IFF_LOOPBACK"),
    (0x10, "IFF_POINTOPOINT"), (0x20, "IFF_NOTRAILERS"), (0x40, "IFF_RUNNING"),
    (0x80, "IFF_NOARP"), (0x100, "IFF_PROMISC"), (0x200, "IFF_ALLMULTI"),
    (0x400, "IFF_MASTER"), (0x800, "IFF_SLAVE"), (0x1000, "IFF_MULTICAST"),
    (0x2000, "IFF_PORTSEL"), (0x4000, "IFF_AUTOMEDIA"), (0x8000, "IFF_DYNAMIC"),
    (0x10000, "IFF_LOWER_UP"), (0x20000, "IFF_DORMANT"), (0x40000, "IFF_ECHO"),
)  # fmt: skip
_ARPHRD = {1: "ARPHRD_ETHER", 768: "ARPHRD_TUNNEL", 769: "ARPHRD_TUNNEL6", 772: "ARPHRD_LOOPBACK",
           776: "ARPHRD_SIT", 778: "ARPHRD_IPGRE", 823: "ARPHRD_IP6GRE",
           65534: "ARPHRD_NONE", 65535: "ARPHRD_VOID"}  # fmt: skip
_FS_FLAGS = (
    (1, "FS_SECRM_FL"), (2, "FS_UNRM_FL"), (4, "FS_COMPR_FL"), (8, "FS_SYNC_FL"),
    (0x10, "FS_IMMUTABLE_FL"), (0x20, "FS_APPEND_FL"), (0x40, "FS_NODUMP_FL"),
    (0x80, "FS_NOATIME_FL"), (0x100, "FS_DIRTY_FL"), (0x200, "FS_COMPRBLK_FL"),
    (0x400, "FS_NOCOMP_FL"), (0x800, "FS_ENCRYPT_FL"), (0x1000, "FS_INDEX_FL"),
    (0x2000, "FS_IMAGIC_FL"), (0x4000, "FS_JOURNAL_DATA_FL"), (0x8000, "FS_NOTAIL_FL"),
    (0x10000, "FS_DIRSYNC_FL"), (0x20000, "FS_TOPDIR_FL"), (0x40000, "FS_HUGE_FILE_FL"),
    (0x80000, "FS_EXTENT_FL"), (0x100000, "FS_VERITY_FL"), (0x200000, "FS_EA_INODE_FL"),
    (0x400000, "FS_EOFBLOCKS_FL"), (0x800000, "FS_NOCOW_FL"), (0x2000000, "FS_DAX_FL"),
    (0x10000000, "FS_INLINE_DATA_FL"), (0x20000000, "FS_PROJINHERIT_FL"),
    (0x40000000, "FS_CASEFOLD_FL"),
)  # fmt: skip
_IFREQ = 40  # sizeof(struct ifreq)


def _ifr_name(raw: bytes) -> str:
    return quote(raw[:16].split(b"\0", 1)[0])


def _ifreq(c, req: int) -> Arg:
    """struct ifreq: the name the program passes, the field the kernel fills."""
    v = c.args[2]
    if not v:
        return Arg("NULL", None)
    try:
        raw = c.mem.read(v, _IFREQ)
    except OSError:
        return Arg(f"{v:#x}", v)
    if req == 0x8910:  # SIOCGIFNAME: the index in, the name out
        (idx,) = struct.unpack_from("<i", raw, 16)
        if c.ok:
            return Arg(f"{{ifr_ifindex={idx}, ifr_name={_ifr_name(raw)}}}", {"ifr_ifindex": idx})
        return Arg(f"{{ifr_ifindex={idx}}}", {"ifr_ifindex": idx})
    name = _ifr_name(raw)
    value: dict = {"ifr_name": name}
    setter = req in (0x8914, 0x8922, 0x8916)
    if not (c.ok or setter):
        return Arg(f"{{ifr_name={name}}}", value)
    if req == 0x8933:  # SIOCGIFINDEX
        field = f"ifr_ifindex={struct.unpack_from('<i', raw, 16)[0]}"
    elif req in (0x8913, 0x8914):  # SIOCGIFFLAGS, SIOCSIFFLAGS
        field = f"ifr_flags={_flags(struct.unpack_from('<H', raw, 16)[0], _IFF)[0]}"
    elif req in (0x8921, 0x8922):  # SIOCGIFMTU, SIOCSIFMTU
        field = f"ifr_mtu={struct.unpack_from('<i', raw, 16)[0]}"
    elif req == 0x8942:
        field = f"ifr_qlen={struct.unpack_from('<i', raw, 16)[0]}"
    elif req == 0x8927:  # SIOCGIFHWADDR
        (fam,) = struct.unpack_from("<H", raw, 16)
        hw = ":".join(f"{b:02x}" for b in raw[18:24])
        family = _name(fam, _ARPHRD[fam]) if fam in _ARPHRD else str(fam)
        field = f"ifr_hwaddr={{sa_family={family}, sa_data={hw}}}"
    else:  # the addresses: SIOCGIFADDR, NETMASK, BRDADDR, DSTADDR, SIOCSIFADDR
        label = {0x891B: "ifr_netmask", 0x8919: "ifr_broadaddr", 0x8917: "ifr_dstaddr"}
        field = f"{label.get(req, 'ifr_addr')}={decode_sockaddr(raw[16:32]).text}"
    value["field"] = field
    return Arg(f"{{ifr_name={name}, {field}}}", value)


def _ifconf(c, req: int) -> Arg:
    """SIOCGIFCONF: ``{ifc_len=320 /* 8 * sizeof(struct ifreq) */ => 80 ..., ifc_buf=[...]}``."""
    v = c.args[2]
    if not v:
        return Arg("NULL", None)
    try:
        ln, buf = struct.unpack("<i4xQ", c.mem.read(v, 16))
    except OSError:
        return Arg(f"{v:#x}", v)
    before = c.entry.get(2) if c.entry else None

    def size(n):
        if n and n % _IFREQ == 0:
            return f"{n} /* {n // _IFREQ} * sizeof(struct ifreq) */"
        return str(n)

    if not c.ok:
        return Arg(f"{{ifc_len={size(ln)}, ifc_buf={_ptr_text(buf)}}}", {"ifc_len": ln})
    lentext = size(ln) if before is None or before == ln else f"{size(before)} => {size(ln)}"
    if not buf:
        return Arg(f"{{ifc_len={lentext}, ifc_buf=NULL}}", {"ifc_len": ln})
    try:
        raw = c.mem.read(buf, min(ln, _IFREQ * 64)) if ln > 0 else b""
    except OSError:
        return Arg(f"{{ifc_len={lentext}, ifc_buf={buf:#x}}}", {"ifc_len": ln})
    items = []
    for k in range(len(raw) // _IFREQ):
        one = raw[k * _IFREQ : (k + 1) * _IFREQ]
        items.append(f"{{ifr_name={_ifr_name(one)}, ifr_addr={decode_sockaddr(one[16:32]).text}}}")
    return Arg(f"{{ifc_len={lentext}, ifc_buf=[{', '.join(items)}]}}", {"ifc_len": ln})


def _ptr_text(v: int) -> str:
    return f"{v:#x}" if v else "NULL"


def _fs_flags(c, req: int) -> Arg:
    """FS_IOC_GETFLAGS / SETFLAGS: ``[FS_EXTENT_FL]``."""
    v = c.args[2]
    if req == 0x80086601:
        done = c.out(v)
        if done:
            return done
    elif not v:
        return Arg("NULL", None)
    try:
        (flags,) = struct.unpack("<I", c.mem.read(v, 4))
    except OSError:
        return Arg(f"{v:#x}", v)
    text, names = _flags(flags, _FS_FLAGS)
    return Arg(f"[{text}]", names)


def _ficlone(c, req: int) -> Arg:
    # The source descriptor, which strace 6.1 prints as a plain number even under -y.
    return _int(c, 2)


def _ficlonerange(c, req: int) -> Arg:
    v = c.args[2]
    try:
        src, off, ln, dest = struct.unpack("<qQQQ", c.mem.read(v, 32))
    except OSError:
        return Arg(_ptr_text(v), v)
    return Arg(
        f"{{src_fd={src}, src_offset={off}, src_length={ln}, dest_offset={dest}}}",
        {"src_fd": src, "src_offset": off, "src_length": ln, "dest_offset": dest},
    )


def _ioctl_int(c, req: int) -> Arg:
    return _intptr_out(c, 2)


#: How the argument of these requests is shown: f(ctx, request) -> Arg.
IOCTL_ARGS = {
    0x8933: _ifreq, 0x8913: _ifreq, 0x8914: _ifreq, 0x8921: _ifreq, 0x8922: _ifreq,
    0x8910: _ifreq, 0x8915: _ifreq, 0x8927: _ifreq, 0x891B: _ifreq, 0x8919: _ifreq,
    0x8917: _ifreq, 0x8942: _ifreq, 0x8916: _ifreq, 0x8912: _ifconf,
    0x80086601: _fs_flags, 0x40086602: _fs_flags, 0x40049409: _ficlone,
    0x4020940D: _ficlonerange, 0x8905: _ioctl_int,
}  # fmt: skip
