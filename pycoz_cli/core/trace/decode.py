"""Syscall decoding: raw registers and tracee memory -> strace's text and JSON values.

Each argument becomes an :class:`Arg` with ``.text`` (what strace 6.x prints for it,
byte for byte where this module knows the call) and ``.value`` (the same thing as
plain JSON data: an int, a string, a list of flag names, a dict for a struct or a
socket address).  Calls it does not know are printed as strace prints an unknown
call: integers in decimal, and that is the point where a difference may show.

Speed matters more than elegance here: this runs for every printed call inside a
Python ptrace loop.  So the tables are plain dicts and tuples built at import, a
call's decoders are looked up once by name, memory is read only for arguments that
are printed, and nothing is imported at module level that the loop does not need.

x86_64 only (structure layouts and signal numbers).  Deliberate differences from
strace, all because decoding happens once, at syscall exit:

* value-result arguments (``accept``'s ``[128 => 16]``) show the value after the
  call (``[16]``) unless the caller passes what :func:`capture_entry` read at entry;
* ``select``'s fd sets show what the kernel left in them, likewise;
* ``execve``/``execveat`` must be decoded at entry (``exiting=False``): after a
  successful exec the old memory is gone;
* ``rt_sigreturn``'s ``{mask=[...]}`` is the thread's blocked set after the call
  (/proc/TID/status), which is the frame's mask strace reads less SIGKILL and
  SIGSTOP (never in a frame the kernel builds).

Where strace 6.1 prints something odd, pycoz prints the same (``c_iflag=`` for a
termios word of 0, ``SNDCTL_TMR_START or TCSETS`` for a tty's TCSETS); the JSON
value then holds the plain meaning (``"TCSETS"``, ``[]``).
"""

from __future__ import annotations

import errno as _errno
import os
import struct

from pycoz_cli.core.trace._netlink_names import ADDRFAMS
from pycoz_cli.core.trace.arg import Arg, _s32, _s64, _strval

__all__ = [
    "Arg",
    "capture",
    "capture_entry",
    "decode_call",
    "escape",
    "fd_path",
    "format_result",
    "format_signal",
    "quote",
    "signame",
    "unpack_siginfo",
]


# --- strings ---------------------------------------------------------------------

# strace's string_quote(): C escapes for the usual five, \" and \\, printable ASCII
# as is, anything else octal in the shortest form -- unless the next byte is an
# octal digit, which would be read as part of the escape, then all three digits.
_ESC = {9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 34: '\\"', 92: "\\\\"}
_SHORT = tuple(
    _ESC.get(c) or (chr(c) if 32 <= c < 127 else "\\" + format(c, "o")) for c in range(256)
)
_LONG = tuple(_ESC.get(c) or (chr(c) if 32 <= c < 127 else f"\\{c:03o}") for c in range(256))
_HEX = tuple(f"\\x{c:02x}" for c in range(256))
_OCTDIGIT = frozenset(b"01234567")
# Bytes that force the whole string to hex under -x: not printable, not whitespace.
_NONTEXT = frozenset(c for c in range(256) if c > 126 or (c < 32 and not 9 <= c <= 13))
_PRINTABLE = frozenset(range(32, 127)) - {34, 92}


def escape(data: bytes, xflag: int = 0) -> str:
    """The inside of strace's quotes for ``data`` (``-x`` is xflag=1, ``-xx`` is 2)."""
    if xflag > 1 or (xflag and not _NONTEXT.isdisjoint(data)):
        return "".join([_HEX[c] for c in data])
    if _PRINTABLE.issuperset(data):  # the common case: nothing to escape
        return data.decode("ascii")
    if _OCTDIGIT.isdisjoint(data):  # no digit to misread after an escape: short forms
        return "".join([_SHORT[c] for c in data])
    out = []
    last = len(data) - 1
    for i, c in enumerate(data):
        if 32 <= c < 127 or c in _ESC:
            out.append(_SHORT[c])
        elif i < last and data[i + 1] in _OCTDIGIT:
            out.append(_LONG[c])
        else:
            out.append(_SHORT[c])
    return "".join(out)


def quote(data: bytes, truncated: bool = False, xflag: int = 0) -> str:
    """``"data"`` as strace prints a buffer, with ``...`` after it when cut short."""
    text = '"' + escape(data, xflag) + '"'
    return text + "..." if truncated else text


# --- numbers, flags, names --------------------------------------------------------


def _hex(v: int) -> str:
    return f"{v:#x}" if v else "0"


def _addr(v: int) -> str:
    return f"{v:#x}" if v else "NULL"


#: strace's -X (--const-print-style): how named constants show.
ABBREV, RAW, VERBOSE = 0, 1, 2  # (output.XSTYLES names them)
#: The style of the call being decoded: set by decode_call, format_result and
#: format_signal from their ``xstyle`` (one store per call; every helper below
#: reads it rather than every decoder passing it down).
_XSTYLE = ABBREV


def _num(v: int, fmt: str = "x") -> str:
    """strace's print_xlat_val: a constant's number, ``%#x`` (a negative int as its
    32-bit pattern), ``%d``/``%u`` or ``%#o``."""
    if fmt == "x":
        if v < 0:
            v &= 0xFFFFFFFF
        return f"{v:#x}" if v else "0"
    if fmt == "o":
        return f"0{v:o}" if v else "0"
    return str(v)


def _styled(v: int, text: str, fmt: str = "x") -> str:
    """``text`` (the names strace shows for the number ``v``) in the -X style:
    the names (abbrev), the number (raw), or ``number /* names */`` (verbose)."""
    style = _XSTYLE
    if not style:
        return text
    if style == RAW:
        return _num(v, fmt)
    return f"{_num(v, fmt)} /* {text} */"


def _xstyle() -> int:
    """The -X style of the call being decoded (for decoders in other modules)."""
    return _XSTYLE


def _styled_text(raw: str, text: str) -> str:
    """``_styled`` for a constant whose raw form is not a number (a struct)."""
    style = _XSTYLE
    if not style:
        return text
    return raw if style == RAW else f"{raw} /* {text} */"


def _flags(v: int, table: tuple, zero: str = "0", fmt: str = "x") -> tuple[str, list[str]]:
    """strace's printflags: names in table order, leftover bits as hex (``zero``:
    the name of 0, if it has one).  -X raw: the number; verbose: both."""
    if not v:
        names = [zero] if zero != "0" else []
        if _XSTYLE == VERBOSE and names:
            return f"0 /* {zero} */", names
        return ("0" if _XSTYLE else zero), names
    names = []
    left = v
    for bit, name in table:
        if left & bit == bit:
            names.append(name)
            left &= ~bit
            if not left:
                break
    if left:
        names.append(f"{left:#x}")
    style = _XSTYLE
    if not style:
        return "|".join(names), names
    if style == RAW or (len(names) == 1 and left):  # no name at all: the number alone
        return _num(v, fmt), names
    return f"{_num(v, fmt)} /* {'|'.join(names)} */", names


def _flags_or_unknown(v: int, table: tuple, unknown: str) -> tuple[str, list[str]]:
    """printflags with a default: bits no name covers alone are ``0x... /* CLONE_??? */``."""
    text, names = _flags(v, table)
    if v and len(names) == 1 and names[0][:2] == "0x" and _XSTYLE != RAW:
        return f"{text} /* {unknown} */", names
    return text, names


def _xlat(v: int, table: dict, unknown: str | None = None, fmt: str = "x") -> tuple[str, int | str]:
    """strace's printxval: a value's name (``unknown``: the comment for a value
    without one), in the -X style; ``fmt`` is how strace prints the number."""
    name = table.get(v)
    style = _XSTYLE
    if name is not None:
        if not style:
            return name, name
        if style == RAW:
            return _num(v, fmt), name
        return f"{_num(v, fmt)} /* {name} */", name
    if unknown is not None:
        if style == RAW:
            return _num(v, fmt), v
        return f"{_num(v, fmt)} /* {unknown} */", v
    return (_num(v, fmt) if style else str(v)), v


def _name(v: int, name: str | None, unknown: str | None = None, fmt: str = "x") -> str:
    """One constant's text from its name (None: it has none) in the -X style; the
    unknown case is ``v`` in ``fmt`` with ``/* unknown */`` as strace's default."""
    if name is not None:
        return _styled(v, name, fmt)
    if unknown is not None and _XSTYLE != RAW:
        return f"{_num(v, fmt)} /* {unknown} */"
    return _num(v, fmt)


# fmt: off
_SIGNALS = [
    "0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
    "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
    "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
    "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS", "SIGRTMIN",
]
# fmt: on
_SIGNALS += [f"SIGRT_{n}" for n in range(1, 33)]


def signame(sig: int) -> str:
    """strace's name for a signal number (``SIGRTMIN``, ``SIGRT_1``...)."""
    return _SIGNALS[sig] if 0 < sig < len(_SIGNALS) else str(sig)


def _sigtext(sig: int) -> str:
    """A signal number as strace's printsignal shows it in an argument: its name,
    in the -X style with the number in decimal; a number without a name as is."""
    if 0 < sig < len(_SIGNALS):
        return _styled(sig, _SIGNALS[sig], "d")
    return str(sig)


def _errname(err: int) -> str:
    return _ERRNAMES.get(err) or _errno.errorcode.get(err) or str(err)


_ERRNAMES = {
    _errno.EAGAIN: "EAGAIN",
    _errno.EDEADLK: "EDEADLK",
    _errno.ENOTSUP: "EOPNOTSUPP",
    512: "ERESTARTSYS",
    513: "ERESTARTNOINTR",
    514: "ERESTARTNOHAND",
    515: "ENOIOCTLCMD",
    516: "ERESTART_RESTARTBLOCK",
}
# The kernel-internal restart codes: a tracer sees them when a signal interrupts.
_RESTART_TEXT = {
    512: "To be restarted if SA_RESTART is set",
    513: "To be restarted",
    514: "To be restarted if no handler",
    516: "Interrupted by signal",
}

#: strace's table of address families (one for the syscalls, netlink and libcalls).
_AF = ADDRFAMS
_SOCK_TYPE = {
    1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 4: "SOCK_RDM", 5: "SOCK_SEQPACKET",
    6: "SOCK_DCCP", 10: "SOCK_PACKET",
}  # fmt: skip
_SOCK_FLAGS = ((0o2000000, "SOCK_CLOEXEC"), (0o4000, "SOCK_NONBLOCK"))
_IPPROTO = {
    0: "IPPROTO_IP", 1: "IPPROTO_ICMP", 2: "IPPROTO_IGMP", 4: "IPPROTO_IPIP", 6: "IPPROTO_TCP",
    17: "IPPROTO_UDP", 41: "IPPROTO_IPV6", 47: "IPPROTO_GRE", 58: "IPPROTO_ICMPV6",
    132: "IPPROTO_SCTP", 136: "IPPROTO_UDPLITE", 255: "IPPROTO_RAW", 262: "IPPROTO_MPTCP",
}  # fmt: skip
_NETLINK = {
    0: "NETLINK_ROUTE", 2: "NETLINK_USERSOCK", 4: "NETLINK_SOCK_DIAG", 6: "NETLINK_XFRM",
    7: "NETLINK_SELINUX", 9: "NETLINK_AUDIT", 12: "NETLINK_NETFILTER",
    15: "NETLINK_KOBJECT_UEVENT", 16: "NETLINK_GENERIC",
}  # fmt: skip
_SOL = {0: "SOL_IP", 1: "SOL_SOCKET", 6: "SOL_TCP", 17: "SOL_UDP", 41: "SOL_IPV6",
        58: "SOL_ICMPV6", 255: "SOL_RAW", 263: "SOL_PACKET", 270: "SOL_NETLINK"}  # fmt: skip
_SOCKOPT = {
    1: {
        1: "SO_DEBUG", 2: "SO_REUSEADDR", 3: "SO_TYPE", 4: "SO_ERROR", 5: "SO_DONTROUTE",
        6: "SO_BROADCAST", 7: "SO_SNDBUF", 8: "SO_RCVBUF", 9: "SO_KEEPALIVE",
        10: "SO_OOBINLINE", 11: "SO_NO_CHECK", 12: "SO_PRIORITY", 13: "SO_LINGER",
        14: "SO_BSDCOMPAT", 15: "SO_REUSEPORT", 16: "SO_PASSCRED", 17: "SO_PEERCRED",
        18: "SO_RCVLOWAT", 19: "SO_SNDLOWAT", 20: "SO_RCVTIMEO_OLD", 21: "SO_SNDTIMEO_OLD",
        25: "SO_BINDTODEVICE", 26: "SO_ATTACH_FILTER", 29: "SO_TIMESTAMP_OLD",
        30: "SO_ACCEPTCONN", 31: "SO_PEERSEC", 32: "SO_SNDBUFFORCE", 33: "SO_RCVBUFFORCE",
        34: "SO_PASSSEC", 36: "SO_MARK", 38: "SO_PROTOCOL", 39: "SO_DOMAIN",
        22: "SO_SECURITY_AUTHENTICATION", 23: "SO_SECURITY_ENCRYPTION_TRANSPORT",
        24: "SO_SECURITY_ENCRYPTION_NETWORK", 27: "SO_DETACH_FILTER", 28: "SO_PEERNAME",
        35: "SO_TIMESTAMPNS_OLD", 37: "SO_TIMESTAMPING_OLD", 40: "SO_RXQ_OVFL",
        41: "SO_WIFI_STATUS", 42: "SO_PEEK_OFF", 43: "SO_NOFCS", 44: "SO_LOCK_FILTER",
        45: "SO_SELECT_ERR_QUEUE", 46: "SO_BUSY_POLL", 47: "SO_MAX_PACING_RATE",
        48: "SO_BPF_EXTENSIONS", 49: "SO_INCOMING_CPU", 50: "SO_ATTACH_BPF",
        51: "SO_ATTACH_REUSEPORT_CBPF", 52: "SO_ATTACH_REUSEPORT_EBPF",
        53: "SO_CNX_ADVICE", 55: "SO_MEMINFO", 56: "SO_INCOMING_NAPI_ID", 57: "SO_COOKIE",
        59: "SO_PEERGROUPS", 60: "SO_ZEROCOPY", 61: "SO_TXTIME", 62: "SO_BINDTOIFINDEX",
        63: "SO_TIMESTAMP_NEW", 64: "SO_TIMESTAMPNS_NEW", 65: "SO_TIMESTAMPING_NEW",
        66: "SO_RCVTIMEO_NEW", 67: "SO_SNDTIMEO_NEW", 68: "SO_DETACH_REUSEPORT_BPF",
        69: "SO_PREFER_BUSY_POLL", 70: "SO_BUSY_POLL_BUDGET", 71: "SO_NETNS_COOKIE",
        72: "SO_BUF_LOCK", 73: "SO_RESERVE_MEM", 74: "SO_TXREHASH", 75: "SO_RCVMARK",
    },
    0: {
        1: "IP_TOS", 2: "IP_TTL", 3: "IP_HDRINCL", 4: "IP_OPTIONS", 8: "IP_PKTINFO",
        10: "IP_MTU_DISCOVER", 11: "IP_RECVERR", 12: "IP_RECVTTL", 13: "IP_RECVTOS",
        14: "IP_MTU", 15: "IP_FREEBIND", 19: "IP_TRANSPARENT", 24: "IP_BIND_ADDRESS_NO_PORT",
        5: "IP_ROUTER_ALERT", 6: "IP_RECVOPTS", 7: "IP_RETOPTS", 9: "IP_PKTOPTIONS",
        16: "IP_IPSEC_POLICY", 17: "IP_XFRM_POLICY", 18: "IP_PASSSEC",
        20: "IP_RECVORIGDSTADDR", 21: "IP_MINTTL", 22: "IP_NODEFRAG", 23: "IP_CHECKSUM",
        25: "IP_RECVFRAGSIZE", 26: "IP_RECVERR_RFC4884",
        32: "IP_MULTICAST_IF", 33: "IP_MULTICAST_TTL", 34: "IP_MULTICAST_LOOP",
        35: "IP_ADD_MEMBERSHIP", 36: "IP_DROP_MEMBERSHIP", 37: "IP_UNBLOCK_SOURCE",
        38: "IP_BLOCK_SOURCE", 39: "IP_ADD_SOURCE_MEMBERSHIP",
        40: "IP_DROP_SOURCE_MEMBERSHIP", 41: "IP_MSFILTER", 49: "IP_MULTICAST_ALL",
        50: "IP_UNICAST_IF", 51: "IP_LOCAL_PORT_RANGE", 52: "IP_PROTOCOL",
    },
    6: {
        1: "TCP_NODELAY", 2: "TCP_MAXSEG", 3: "TCP_CORK", 4: "TCP_KEEPIDLE",
        5: "TCP_KEEPINTVL", 6: "TCP_KEEPCNT", 7: "TCP_SYNCNT", 8: "TCP_LINGER2",
        9: "TCP_DEFER_ACCEPT", 10: "TCP_WINDOW_CLAMP", 11: "TCP_INFO", 12: "TCP_QUICKACK",
        13: "TCP_CONGESTION", 14: "TCP_MD5SIG", 16: "TCP_THIN_LINEAR_TIMEOUTS",
        17: "TCP_THIN_DUPACK", 18: "TCP_USER_TIMEOUT", 19: "TCP_REPAIR",
        20: "TCP_REPAIR_QUEUE", 21: "TCP_QUEUE_SEQ", 22: "TCP_REPAIR_OPTIONS",
        23: "TCP_FASTOPEN", 24: "TCP_TIMESTAMP", 25: "TCP_NOTSENT_LOWAT", 26: "TCP_CC_INFO",
        27: "TCP_SAVE_SYN", 28: "TCP_SAVED_SYN", 29: "TCP_REPAIR_WINDOW",
        30: "TCP_FASTOPEN_CONNECT", 31: "TCP_ULP", 32: "TCP_MD5SIG_EXT",
        33: "TCP_FASTOPEN_KEY", 34: "TCP_FASTOPEN_NO_COOKIE", 35: "TCP_ZEROCOPY_RECEIVE",
        36: "TCP_INQ", 37: "TCP_TX_DELAY",
    },
    255: {1: "ICMP_FILTER"},
    270: {
        1: "NETLINK_ADD_MEMBERSHIP", 2: "NETLINK_DROP_MEMBERSHIP", 3: "NETLINK_PKTINFO",
        4: "NETLINK_BROADCAST_ERROR", 5: "NETLINK_NO_ENOBUFS", 6: "NETLINK_RX_RING",
        7: "NETLINK_TX_RING", 8: "NETLINK_LISTEN_ALL_NSID", 9: "NETLINK_LIST_MEMBERSHIPS",
        10: "NETLINK_CAP_ACK", 11: "NETLINK_EXT_ACK", 12: "NETLINK_GET_STRICT_CHK",
    },
    41: {
        1: "IPV6_ADDRFORM", 2: "IPV6_2292PKTINFO", 3: "IPV6_2292HOPOPTS",
        4: "IPV6_2292DSTOPTS", 5: "IPV6_2292RTHDR", 6: "IPV6_2292PKTOPTIONS",
        7: "IPV6_CHECKSUM", 8: "IPV6_2292HOPLIMIT", 9: "IPV6_NEXTHOP", 10: "IPV6_AUTHHDR",
        11: "IPV6_FLOWINFO", 16: "IPV6_UNICAST_HOPS", 17: "IPV6_MULTICAST_IF",
        18: "IPV6_MULTICAST_HOPS", 19: "IPV6_MULTICAST_LOOP", 20: "IPV6_ADD_MEMBERSHIP",
        21: "IPV6_DROP_MEMBERSHIP", 22: "IPV6_ROUTER_ALERT", 23: "IPV6_MTU_DISCOVER",
        24: "IPV6_MTU", 25: "IPV6_RECVERR", 26: "IPV6_V6ONLY", 27: "IPV6_JOIN_ANYCAST",
        28: "IPV6_LEAVE_ANYCAST", 29: "IPV6_MULTICAST_ALL", 30: "IPV6_ROUTER_ALERT_ISOLATE",
        31: "IPV6_RECVERR_RFC4884", 32: "IPV6_FLOWLABEL_MGR", 33: "IPV6_FLOWINFO_SEND",
        34: "IPV6_IPSEC_POLICY", 35: "IPV6_XFRM_POLICY", 36: "IPV6_HDRINCL",
        49: "IPV6_RECVPKTINFO", 50: "IPV6_PKTINFO", 51: "IPV6_RECVHOPLIMIT",
        52: "IPV6_HOPLIMIT", 53: "IPV6_RECVHOPOPTS", 54: "IPV6_HOPOPTS",
        55: "IPV6_RTHDRDSTOPTS", 56: "IPV6_RECVRTHDR", 57: "IPV6_RTHDR",
        58: "IPV6_RECVDSTOPTS", 59: "IPV6_DSTOPTS", 60: "IPV6_RECVPATHMTU",
        61: "IPV6_PATHMTU", 62: "IPV6_DONTFRAG", 66: "IPV6_RECVTCLASS", 67: "IPV6_TCLASS",
        70: "IPV6_AUTOFLOWLABEL", 72: "IPV6_ADDR_PREFERENCES", 73: "IPV6_MINHOPCOUNT",
        74: "IPV6_RECVORIGDSTADDR", 75: "IPV6_TRANSPARENT", 76: "IPV6_UNICAST_IF",
        77: "IPV6_RECVFRAGSIZE", 78: "IPV6_FREEBIND",
    },
    58: {1: "ICMP6_FILTER"},
}  # fmt: skip
# fmt: off
_MSG_NAMES = (
    "OOB", "PEEK", "DONTROUTE", "CTRUNC", "PROBE", "TRUNC", "DONTWAIT", "EOR", "WAITALL",
    "FIN", "SYN", "CONFIRM", "RST", "ERRQUEUE", "NOSIGNAL", "MORE", "WAITFORONE",
    "SENDPAGE_NOTLAST", "BATCH", "NO_SHARED_FRAGS",
)
# fmt: on
_MSG_FLAGS = (
    *((1 << i, "MSG_" + n) for i, n in enumerate(_MSG_NAMES)),
    (0x4000000, "MSG_ZEROCOPY"),
    (0x20000000, "MSG_FASTOPEN"),
    (0x40000000, "MSG_CMSG_CLOEXEC"),
    (0x80000000, "MSG_CMSG_COMPAT"),
)
_SHUT = {0: "SHUT_RD", 1: "SHUT_WR", 2: "SHUT_RDWR"}

_O_ACCMODE = ("O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE")
_O_FLAGS = (
    (0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"), (0o4000, "O_NONBLOCK"), (0o4010000, "O_SYNC"),
    (0o10000, "O_DSYNC"), (0o40000, "O_DIRECT"), (0o100000, "O_LARGEFILE"),
    (0o400000, "O_NOFOLLOW"), (0o1000000, "O_NOATIME"), (0o2000000, "O_CLOEXEC"),
    (0o10000000, "O_PATH"), (0o20200000, "O_TMPFILE"), (0o20000000, "__O_TMPFILE"),
    (0o200000, "O_DIRECTORY"),
    (0o20000, "O_ASYNC"),
)  # fmt: skip
_AT_FDCWD = -100
_AT_FLAGS = ((0x100, "AT_SYMLINK_NOFOLLOW"), (0x200, "AT_REMOVEDIR"),
             (0x400, "AT_SYMLINK_FOLLOW"), (0x800, "AT_NO_AUTOMOUNT"),
             (0x1000, "AT_EMPTY_PATH"), (0x8000, "AT_RECURSIVE"))  # fmt: skip
_ACCESSAT_FLAGS = ((0x200, "AT_EACCESS"), (0x100, "AT_SYMLINK_NOFOLLOW"),
                   (0x1000, "AT_EMPTY_PATH"))  # fmt: skip
_STATX_SYNC = {0: "AT_STATX_SYNC_AS_STAT", 0x2000: "AT_STATX_FORCE_SYNC",
               0x4000: "AT_STATX_DONT_SYNC", 0x6000: "AT_STATX_SYNC_TYPE"}  # fmt: skip
_STATX_MASK = (
    (0xFFF, "STATX_ALL"), (0x7FF, "STATX_BASIC_STATS"), (1, "STATX_TYPE"), (2, "STATX_MODE"),
    (4, "STATX_NLINK"), (8, "STATX_UID"), (0x10, "STATX_GID"), (0x20, "STATX_ATIME"),
    (0x40, "STATX_MTIME"), (0x80, "STATX_CTIME"), (0x100, "STATX_INO"), (0x200, "STATX_SIZE"),
    (0x400, "STATX_BLOCKS"), (0x800, "STATX_BTIME"), (0x1000, "STATX_MNT_ID"),
    (0x2000, "STATX_DIOALIGN"), (0x4000, "STATX_MNT_ID_UNIQUE"),
)  # fmt: skip
_STATX_ATTRS = (
    (0x4, "STATX_ATTR_COMPRESSED"), (0x10, "STATX_ATTR_IMMUTABLE"), (0x20, "STATX_ATTR_APPEND"),
    (0x40, "STATX_ATTR_NODUMP"), (0x800, "STATX_ATTR_ENCRYPTED"), (0x1000, "STATX_ATTR_AUTOMOUNT"),
    (0x2000, "STATX_ATTR_MOUNT_ROOT"), (0x100000, "STATX_ATTR_VERITY"),
    (0x200000, "STATX_ATTR_DAX"),
)  # fmt: skip
_ACCESS = ((4, "R_OK"), (2, "W_OK"), (1, "X_OK"))
_RENAME = ((1, "RENAME_NOREPLACE"), (2, "RENAME_EXCHANGE"), (4, "RENAME_WHITEOUT"))
_S_IFMT = {0o140000: "S_IFSOCK", 0o120000: "S_IFLNK", 0o100000: "S_IFREG", 0o60000: "S_IFBLK",
           0o40000: "S_IFDIR", 0o20000: "S_IFCHR", 0o10000: "S_IFIFO"}  # fmt: skip
_S_ISXID = ((0o4000, "S_ISUID"), (0o2000, "S_ISGID"), (0o1000, "S_ISVTX"))

_PROT = ((1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC"), (8, "PROT_SEM"),
         (0x1000000, "PROT_GROWSDOWN"), (0x2000000, "PROT_GROWSUP"))  # fmt: skip
_MAP_TYPE = {1: "MAP_SHARED", 2: "MAP_PRIVATE", 3: "MAP_SHARED_VALIDATE", 0xF: "MAP_TYPE"}
_MAP_FLAGS = (
    (0x10, "MAP_FIXED"), (0x20, "MAP_ANONYMOUS"), (0x40, "MAP_32BIT"), (0x80, "MAP_ABOVE4G"),
    (0x4000, "MAP_NORESERVE"), (0x8000, "MAP_POPULATE"), (0x10000, "MAP_NONBLOCK"),
    (0x100, "MAP_GROWSDOWN"), (0x800, "MAP_DENYWRITE"), (0x1000, "MAP_EXECUTABLE"),
    (0x2000, "MAP_LOCKED"), (0x20000, "MAP_STACK"), (0x40000, "MAP_HUGETLB"),
    (0x80000, "MAP_SYNC"), (0x4000000, "MAP_UNINITIALIZED"), (0x100000, "MAP_FIXED_NOREPLACE"),
)  # fmt: skip
_MREMAP = ((1, "MREMAP_MAYMOVE"), (2, "MREMAP_FIXED"), (4, "MREMAP_DONTUNMAP"))
_MADV = {0: "MADV_NORMAL", 1: "MADV_RANDOM", 2: "MADV_SEQUENTIAL", 3: "MADV_WILLNEED",
         4: "MADV_DONTNEED", 8: "MADV_FREE", 9: "MADV_REMOVE", 10: "MADV_DONTFORK",
         11: "MADV_DOFORK", 12: "MADV_MERGEABLE", 13: "MADV_UNMERGEABLE",
         14: "MADV_HUGEPAGE", 15: "MADV_NOHUGEPAGE", 16: "MADV_DONTDUMP", 17: "MADV_DODUMP",
         18: "MADV_WIPEONFORK", 19: "MADV_KEEPONFORK", 20: "MADV_COLD", 21: "MADV_PAGEOUT",
         22: "MADV_POPULATE_READ", 23: "MADV_POPULATE_WRITE", 100: "MADV_HWPOISON"}  # fmt: skip

_CLONE_FLAGS = (
    (0x80, "CLONE_NEWTIME"), (0x100, "CLONE_VM"), (0x200, "CLONE_FS"), (0x400, "CLONE_FILES"),
    (0x800, "CLONE_SIGHAND"),
    (0x1000, "CLONE_PIDFD"), (0x2000, "CLONE_PTRACE"), (0x4000, "CLONE_VFORK"),
    (0x8000, "CLONE_PARENT"), (0x10000, "CLONE_THREAD"), (0x20000, "CLONE_NEWNS"),
    (0x40000, "CLONE_SYSVSEM"), (0x80000, "CLONE_SETTLS"), (0x100000, "CLONE_PARENT_SETTID"),
    (0x200000, "CLONE_CHILD_CLEARTID"), (0x400000, "CLONE_DETACHED"),
    (0x800000, "CLONE_UNTRACED"), (0x1000000, "CLONE_CHILD_SETTID"),
    (0x2000000, "CLONE_NEWCGROUP"), (0x4000000, "CLONE_NEWUTS"), (0x8000000, "CLONE_NEWIPC"),
    (0x10000000, "CLONE_NEWUSER"), (0x20000000, "CLONE_NEWPID"), (0x40000000, "CLONE_NEWNET"),
    (0x80000000, "CLONE_IO"), (0x100000000, "CLONE_CLEAR_SIGHAND"),
    (0x200000000, "CLONE_INTO_CGROUP"),
)  # fmt: skip
# What unshare(2) accepts, and setns(2)'s namespace types, as strace names them.
_UNSHARE_FLAGS = tuple(
    (bit, name) for bit, name in _CLONE_FLAGS
    if bit in (0x80, 0x100, 0x200, 0x400, 0x800, 0x10000, 0x20000, 0x40000)
    or name.startswith("CLONE_NEW")
)  # fmt: skip
_NS_TYPES = tuple((bit, name) for bit, name in _CLONE_FLAGS if name.startswith("CLONE_NEW"))
_WAIT_OPTS = ((1, "WNOHANG"), (2, "WSTOPPED"), (4, "WEXITED"), (8, "WCONTINUED"),
              (0x1000000, "WNOWAIT"), (0x20000000, "__WNOTHREAD"), (0x40000000, "__WALL"),
              (0x80000000, "__WCLONE"))  # fmt: skip
_WAIT4_OPTS = ((1, "WNOHANG"), (2, "WUNTRACED"), *_WAIT_OPTS[2:])
_SIG_HOW = {0: "SIG_BLOCK", 1: "SIG_UNBLOCK", 2: "SIG_SETMASK"}
_SA_FLAGS = ((0x04000000, "SA_RESTORER"), (0x08000000, "SA_ONSTACK"),
             (0x10000000, "SA_RESTART"), (0x20000000, "SA_INTERRUPT"),
             (0x40000000, "SA_NODEFER"), (0x80000000, "SA_RESETHAND"), (4, "SA_SIGINFO"),
             (1, "SA_NOCLDSTOP"), (2, "SA_NOCLDWAIT"), (0x400, "SA_UNSUPPORTED"),
             (0x800, "SA_EXPOSE_TAGBITS"))  # fmt: skip
_SA_HANDLER = {0: "SIG_DFL", 1: "SIG_IGN", 0xFFFFFFFFFFFFFFFF: "SIG_ERR"}

_FCNTL = {
    0: "F_DUPFD", 1: "F_GETFD", 2: "F_SETFD", 3: "F_GETFL", 4: "F_SETFL", 5: "F_GETLK",
    6: "F_SETLK", 7: "F_SETLKW", 8: "F_SETOWN", 9: "F_GETOWN", 10: "F_SETSIG",
    11: "F_GETSIG", 15: "F_SETOWN_EX", 16: "F_GETOWN_EX", 17: "F_GETOWNER_UIDS",
    36: "F_OFD_GETLK", 37: "F_OFD_SETLK", 38: "F_OFD_SETLKW", 1024: "F_SETLEASE",
    1025: "F_GETLEASE", 1026: "F_NOTIFY", 1030: "F_DUPFD_CLOEXEC", 1031: "F_SETPIPE_SZ",
    1032: "F_GETPIPE_SZ", 1033: "F_ADD_SEALS", 1034: "F_GET_SEALS",
}  # fmt: skip
# fcntl commands that take no third argument (strace prints two).
_FCNTL_NOARG = frozenset((1, 3, 9, 11, 16, 17, 1025, 1032, 1034))
_FCNTL_LOCK = frozenset((5, 6, 7, 36, 37, 38))
_FLOCK_TYPE = {0: "F_RDLCK", 1: "F_WRLCK", 2: "F_UNLCK"}
_SEALS = ((1, "F_SEAL_SEAL"), (2, "F_SEAL_SHRINK"), (4, "F_SEAL_GROW"), (8, "F_SEAL_WRITE"),
          (0x10, "F_SEAL_FUTURE_WRITE"))  # fmt: skip
_SEEK = {0: "SEEK_SET", 1: "SEEK_CUR", 2: "SEEK_END", 3: "SEEK_DATA", 4: "SEEK_HOLE"}
_IOCTL = {
    0x5401: "TCGETS", 0x5402: "TCSETS", 0x5403: "TCSETSW", 0x5404: "TCSETSF",
    0x5405: "TCGETA", 0x5406: "TCSETA", 0x5407: "TCSETAW", 0x5408: "TCSETAF",
    0x5409: "TCSBRK", 0x540A: "TCXONC", 0x540B: "TCFLSH",
    0x540C: "TIOCEXCL", 0x540D: "TIOCNXCL", 0x540E: "TIOCSCTTY", 0x540F: "TIOCGPGRP",
    0x5410: "TIOCSPGRP", 0x5411: "TIOCOUTQ", 0x5412: "TIOCSTI", 0x5413: "TIOCGWINSZ",
    0x5414: "TIOCSWINSZ", 0x5415: "TIOCMGET", 0x541B: "FIONREAD", 0x541C: "TIOCLINUX",
    0x541D: "TIOCCONS", 0x5420: "TIOCPKT", 0x5421: "FIONBIO", 0x5422: "TIOCNOTTY",
    0x5423: "TIOCSETD", 0x5424: "TIOCGETD", 0x5425: "TCSBRKP", 0x5427: "TIOCSBRK",
    0x5428: "TIOCCBRK", 0x5429: "TIOCGSID", 0x5450: "FIONCLEX", 0x5451: "FIOCLEX",
    0x5452: "FIOASYNC", 0x80045430: "TIOCGPTN", 0x40045431: "TIOCSPTLCK",
    0x80045432: "TIOCGDEV", 0x5441: "TIOCGPTPEER", 0x8912: "SIOCGIFCONF",
    0x8913: "SIOCGIFFLAGS", 0x8914: "SIOCSIFFLAGS", 0x8915: "SIOCGIFADDR",
    0x8921: "SIOCGIFMTU", 0x8927: "SIOCGIFHWADDR", 0x8933: "SIOCGIFINDEX",
    0x80086601: "FS_IOC_GETFLAGS", 0x40086602: "FS_IOC_SETFLAGS", 0x542E: "TIOCGRS485",
    0x4B3A: "KDSETMODE", 0x4B3B: "KDGETMODE", 0x80045200: "RNDGETENTCNT",
}  # fmt: skip
# strace 6.1 cannot tell these tty requests from OSS sound ones (_IO('T', 2..4))
# and prints both names; the JSON value keeps the tty name.
_IOCTL_TEXT = {
    0x5402: "SNDCTL_TMR_START or TCSETS",
    0x5403: "SNDCTL_TMR_STOP or TCSETSW",
    0x5404: "SNDCTL_TMR_CONTINUE or TCSETSF",
}
_IOCTL_INT_OUT = frozenset(
    (0x540F, 0x541B, 0x5411, 0x5429, 0x80045430, 0x5424, 0x80045432, 0x80045200)
)
_IOCTL_INT_IN = frozenset((0x5410, 0x5421, 0x40045431, 0x5452, 0x5423, 0x5420))
# Requests that take no argument at all (strace prints two).
_IOCTL_NOARG = frozenset((0x5450, 0x5451, 0x5422, 0x540C, 0x540D, 0x541D, 0x5427, 0x5428))
_IOCTL_TERMIOS_OUT = frozenset((0x5401, 0x5405))  # TCGETS, TCGETA
_IOCTL_TERMIOS_IN = frozenset((0x5402, 0x5403, 0x5404, 0x5406, 0x5407, 0x5408))
_TCFLSH = {0: "TCIFLUSH", 1: "TCOFLUSH", 2: "TCIOFLUSH"}
_TCXONC = {0: "TCOOFF", 1: "TCOON", 2: "TCIOFF", 3: "TCION"}
_KD_MODES = {0: "KD_TEXT", 1: "KD_GRAPHICS", 2: "KD_TEXT0", 3: "KD_TEXT1"}

# termios flags (asm-generic/termbits.h), in the order strace prints them.
_TC_IFLAGS = (
    (0o1, "IGNBRK"), (0o2, "BRKINT"), (0o4, "IGNPAR"), (0o10, "PARMRK"), (0o20, "INPCK"),
    (0o40, "ISTRIP"), (0o100, "INLCR"), (0o200, "IGNCR"), (0o400, "ICRNL"), (0o1000, "IUCLC"),
    (0o2000, "IXON"), (0o4000, "IXANY"), (0o10000, "IXOFF"), (0o20000, "IMAXBEL"),
    (0o40000, "IUTF8"),
)  # fmt: skip
# c_oflag's delay fields, each printed even when zero, then the flags.
_TC_ODELAYS = (
    (0o400, {0: "NL0", 0o400: "NL1"}),
    (0o3000, {0: "CR0", 0o1000: "CR1", 0o2000: "CR2", 0o3000: "CR3"}),
    (0o14000, {0: "TAB0", 0o4000: "TAB1", 0o10000: "TAB2", 0o14000: "XTABS"}),
    (0o20000, {0: "BS0", 0o20000: "BS1"}),
    (0o40000, {0: "VT0", 0o40000: "VT1"}),
    (0o100000, {0: "FF0", 0o100000: "FF1"}),
)
_TC_OFLAGS = (
    (0o1, "OPOST"), (0o2, "OLCUC"), (0o4, "ONLCR"), (0o10, "OCRNL"), (0o20, "ONOCR"),
    (0o40, "ONLRET"), (0o100, "OFILL"), (0o200, "OFDEL"),
)  # fmt: skip
_TC_CBAUD, _TC_CIBAUD, _TC_CSIZE = 0o10017, 0o2003600000, 0o60
_TC_BAUD = {
    0: "B0", 1: "B50", 2: "B75", 3: "B110", 4: "B134", 5: "B150", 6: "B200", 7: "B300",
    8: "B600", 9: "B1200", 10: "B1800", 11: "B2400", 12: "B4800", 13: "B9600",
    14: "B19200", 15: "B38400", 0o10000: "BOTHER", 0o10001: "B57600", 0o10002: "B115200",
    0o10003: "B230400", 0o10004: "B460800", 0o10005: "B500000", 0o10006: "B576000",
    0o10007: "B921600", 0o10010: "B1000000", 0o10011: "B1152000", 0o10012: "B1500000",
    0o10013: "B2000000", 0o10014: "B2500000", 0o10015: "B3000000", 0o10016: "B3500000",
    0o10017: "B4000000",
}  # fmt: skip
_TC_CSIZES = {0: "CS5", 0o20: "CS6", 0o40: "CS7", 0o60: "CS8"}
_TC_CFLAGS = (
    (0o100, "CSTOPB"), (0o200, "CREAD"), (0o400, "PARENB"), (0o1000, "PARODD"),
    (0o2000, "HUPCL"), (0o4000, "CLOCAL"), (0o10000000000, "CMSPAR"),
    (0o20000000000, "CRTSCTS"),
)  # fmt: skip
_TC_LFLAGS = (
    (0o1, "ISIG"), (0o2, "ICANON"), (0o4, "XCASE"), (0o10, "ECHO"), (0o20, "ECHOE"),
    (0o40, "ECHOK"), (0o100, "ECHONL"), (0o200, "NOFLSH"), (0o100000, "IEXTEN"),
    (0o1000, "ECHOCTL"), (0o2000, "ECHOPRT"), (0o4000, "ECHOKE"), (0o10000, "FLUSHO"),
    (0o40000, "PENDIN"), (0o400, "TOSTOP"), (0o200000, "EXTPROC"),
)  # fmt: skip
_CLOCKS = {0: "CLOCK_REALTIME", 1: "CLOCK_MONOTONIC", 2: "CLOCK_PROCESS_CPUTIME_ID",
           3: "CLOCK_THREAD_CPUTIME_ID", 4: "CLOCK_MONOTONIC_RAW", 5: "CLOCK_REALTIME_COARSE",
           6: "CLOCK_MONOTONIC_COARSE", 7: "CLOCK_BOOTTIME", 8: "CLOCK_REALTIME_ALARM",
           9: "CLOCK_BOOTTIME_ALARM", 11: "CLOCK_TAI"}  # fmt: skip
_POLL = ((1, "POLLIN"), (2, "POLLPRI"), (4, "POLLOUT"), (8, "POLLERR"), (0x10, "POLLHUP"),
         (0x20, "POLLNVAL"), (0x40, "POLLRDNORM"), (0x80, "POLLRDBAND"),
         (0x100, "POLLWRNORM"), (0x200, "POLLWRBAND"), (0x400, "POLLMSG"),
         (0x1000, "POLLREMOVE"), (0x2000, "POLLRDHUP"))  # fmt: skip
_GRND = ((1, "GRND_NONBLOCK"), (2, "GRND_RANDOM"), (4, "GRND_INSECURE"))
_FD_FLAGS = ((1, "FD_CLOEXEC"),)
_PIPE_FLAGS = ((0o2000000, "O_CLOEXEC"), (0o4000, "O_NONBLOCK"), (0o40000, "O_DIRECT"),
               (0o200000, "O_NOTIFICATION_PIPE"))  # fmt: skip
_DT = {0: "DT_UNKNOWN", 1: "DT_FIFO", 2: "DT_CHR", 4: "DT_DIR", 6: "DT_BLK", 8: "DT_REG",
       10: "DT_LNK", 12: "DT_SOCK", 14: "DT_WHT"}  # fmt: skip
_ARCH_PRCTL = {0x1001: "ARCH_SET_GS", 0x1002: "ARCH_SET_FS", 0x1003: "ARCH_GET_FS",
               0x1004: "ARCH_GET_GS", 0x1011: "ARCH_GET_CPUID", 0x1012: "ARCH_SET_CPUID",
               0x3001: "ARCH_CET_STATUS"}  # fmt: skip
_FUTEX_OPS = {0: "FUTEX_WAIT", 1: "FUTEX_WAKE", 2: "FUTEX_FD", 3: "FUTEX_REQUEUE",
              4: "FUTEX_CMP_REQUEUE", 5: "FUTEX_WAKE_OP", 6: "FUTEX_LOCK_PI",
              7: "FUTEX_UNLOCK_PI", 8: "FUTEX_TRYLOCK_PI", 9: "FUTEX_WAIT_BITSET",
              10: "FUTEX_WAKE_BITSET", 11: "FUTEX_WAIT_REQUEUE_PI",
              12: "FUTEX_CMP_REQUEUE_PI", 13: "FUTEX_LOCK_PI2"}  # fmt: skip
# fmt: off
_RLIMIT = (
    "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
    "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS",
    "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
)
# fmt: on


# --- the decoding context ----------------------------------------------------------


class _Ctx:
    """What one call's decoders share; one per decode_call, nothing per argument."""

    __slots__ = (
        "args",
        "entry",
        "exiting",
        "fd_path",
        "mem",
        "retval",
        "strsize",
        "verbose",
        "xflag",
    )

    def __init__(self, args, mem, strsize, fd_path, exiting, retval, entry, xflag, verbose=False):
        self.args = args
        self.mem = mem
        self.strsize = strsize
        self.fd_path = fd_path
        self.exiting = exiting
        self.retval = retval
        self.entry = entry
        self.xflag = xflag
        #: strace's -v (-e abbrev=none): structures in full, not ``...``.
        self.verbose = verbose

    @property
    def ok(self) -> bool:
        """Exiting with a successful result: output arguments hold data."""
        r = self.retval
        return self.exiting and r is not None and not -4096 < r < 0

    def out(self, v: int) -> Arg | None:
        """An output pointer that holds nothing to decode (yet): NULL or its address."""
        if not v:
            return Arg("NULL", None)
        if not self.ok:
            return Arg(f"{v:#x}", v)
        return None


# Each argument decoder is f(ctx, index) -> Arg.

#: Decoders that read nothing from the tracee (``_fd`` and ``_dirfd`` only
#: without -y, which reads /proc): see :func:`capture`.
_PURE: set = set()


def _int(c, i):
    v = _s32(c.args[i])
    return Arg(str(v), v)


def _uint(c, i):
    v = c.args[i] & 0xFFFFFFFF
    return Arg(str(v), v)


def _long(c, i):
    v = _s64(c.args[i])
    return Arg(str(v), v)


def _ulong(c, i):
    v = c.args[i]
    return Arg(str(v), v)


def _xlong(c, i):
    v = c.args[i]
    return Arg(_hex(v), v)


def _ptr(c, i):
    v = c.args[i]
    return Arg(_addr(v), v or None)


def _fdtext(c, fd: int) -> str:
    # fd_path gives what goes inside <...>, or (fd_text) the whole decoration.
    if c.fd_path is not None and fd >= 0:
        path = c.fd_path(fd)
        if path is not None:
            return f"{fd}{path}" if path[:1] == "<" else f"{fd}<{path}>"
    return str(fd)


def _fd(c, i):
    fd = _s32(c.args[i])
    return Arg(_fdtext(c, fd), fd)


def _fd_entry(c, i):
    """A descriptor the call closes or replaces (close, dup2's newfd): decorated
    as it was at entry, where :func:`capture_entry` looked it up."""
    fd = _s32(c.args[i])
    if c.entry and i in c.entry:
        deco = c.entry[i]
        return Arg(f"{fd}{deco}" if deco else str(fd), fd)
    return Arg(_fdtext(c, fd), fd)


def _dirfd(c, i):
    fd = _s32(c.args[i])
    if fd == _AT_FDCWD:
        name = _styled(fd, "AT_FDCWD", "d")
        if c.fd_path is not None:  # -y: the working directory, AT_FDCWD</home/me>
            cwd = c.fd_path(fd)
            if cwd is not None and cwd[:1] == "<":
                return Arg(f"{name}{cwd}", "AT_FDCWD")
        return Arg(name, "AT_FDCWD")
    return Arg(_fdtext(c, fd), fd)


def _read_cstr(c, addr: int, limit: int):
    """(bytes, complete) for a NUL-terminated string of at most ``limit`` bytes."""
    data = c.mem.read_cstring(addr, limit + 1)
    nul = data.find(b"\0")
    if nul >= 0:
        return data[:nul], True
    if len(data) > limit:
        return data[:limit], False
    return data, True


def _path_at(c, addr: int) -> Arg:
    # Paths are not cut at -s: strace prints up to PATH_MAX.
    if not addr:
        return Arg("NULL", None)
    try:
        data, complete = _read_cstr(c, addr, 4096)
    except OSError:
        return Arg(f"{addr:#x}", addr)
    return Arg(quote(data, not complete, c.xflag), _strval(data))


def _path(c, i):
    return _path_at(c, c.args[i])


def _str_at(c, addr: int) -> Arg:
    if not addr:
        return Arg("NULL", None)
    try:
        data, complete = _read_cstr(c, addr, c.strsize)
    except OSError:
        return Arg(f"{addr:#x}", addr)
    return Arg(quote(data, not complete, c.xflag), _strval(data))


def _str(c, i):
    return _str_at(c, c.args[i])


def _buf(c, addr: int, length: int, xflag=None) -> Arg:
    """strace's printstrn: ``length`` bytes at ``addr``, cut at -s with ``...``."""
    if not addr:
        return Arg("NULL", None)
    if length <= 0:
        return Arg('""', "")
    size = min(length, c.strsize)
    try:
        data = c.mem.read(addr, size)
    except OSError:
        return Arg(f"{addr:#x}", addr)
    return Arg(quote(data, length > size, c.xflag if xflag is None else xflag), _strval(data))


def _inbuf(c, i):
    """An input buffer whose length is the next argument (write, send, pwrite)."""
    return _buf(c, c.args[i], c.args[i + 1])


def _outbuf(c, i):
    """An output buffer filled with ``retval`` bytes (read, recv, readlink)."""
    v = c.args[i]
    return c.out(v) or _buf(c, v, c.retval)


def _outpath(c, i):
    """getcwd: a path of ``retval`` bytes, NUL included."""
    v = c.args[i]
    return c.out(v) or _path_at(c, v)


def _c_octal(v: int) -> str:
    """C's ``%#03o``, strace's format for modes and umask: 000, 022, 0644."""
    return (f"0{v:o}" if v else "0").zfill(3)


def _octal(c, i):
    v = c.args[i] & 0xFFFFFFFF
    return Arg(_c_octal(v), v)


def _oflags(c, i):
    v = c.args[i] & 0xFFFFFFFF
    acc = _O_ACCMODE[v & 3]
    rest = v & ~3
    if _XSTYLE:
        text, names = _open_flags(v, acc, rest)
        return Arg(_styled(v, text), names)
    if not rest:
        return Arg(acc, [acc])
    text, names = _flags(rest, _O_FLAGS)
    return Arg(f"{acc}|{text}", [acc, *names])


def _open_flags(v: int, acc: str, rest: int) -> tuple[str, list[str]]:
    """Open flags by name whatever the -X style (``_oflags`` styles the whole)."""
    text, names = _by_name(_flags, rest, _O_FLAGS) if rest else ("", [])
    return (f"{acc}|{text}" if text else acc), [acc, *names]


def _flagsarg(table, zero="0", mask=0xFFFFFFFF, unknown=None):
    """Flags from ``table``; ``unknown``: strace's comment when no bit has a name
    (``0x1 /* IN_??? */``)."""

    def dec(c, i):
        v = c.args[i] & mask
        if unknown is not None and v:
            return Arg(*_flags_or_unknown(v, table, unknown))
        text, names = _flags(v, table, zero)
        return Arg(text, names)

    _PURE.add(dec)
    return dec


def _enumarg(table, unsigned=False, unknown=None):
    """An int argument named from ``table``; ``unknown``: strace's comment for a
    value without a name (``0x7 /* SEEK_??? */``), else the number alone."""

    def dec(c, i):
        v = c.args[i] & 0xFFFFFFFF if unsigned else _s32(c.args[i])
        text, value = _xlat(v, table, unknown)
        return Arg(text, value)

    _PURE.add(dec)
    return dec


_CLOSE_RANGE = ((2, "CLOSE_RANGE_UNSHARE"), (4, "CLOSE_RANGE_CLOEXEC"))
_SYNC_FILE_RANGE = ((1, "SYNC_FILE_RANGE_WAIT_BEFORE"), (2, "SYNC_FILE_RANGE_WRITE"),
                    (4, "SYNC_FILE_RANGE_WAIT_AFTER"))  # fmt: skip
_SPLICE_F = ((1, "SPLICE_F_MOVE"), (2, "SPLICE_F_NONBLOCK"), (4, "SPLICE_F_MORE"),
             (8, "SPLICE_F_GIFT"))  # fmt: skip
_KCMP = {0: "KCMP_FILE", 1: "KCMP_VM", 2: "KCMP_FILES", 3: "KCMP_FS", 4: "KCMP_SIGHAND",
         5: "KCMP_IO", 6: "KCMP_SYSVSEM", 7: "KCMP_EPOLL_TFD"}  # fmt: skip
_atflags = _flagsarg(_AT_FLAGS, unknown="AT_???")
_accessmode = _flagsarg(_ACCESS, "F_OK", unknown="?_OK")


def _sig(c, i):
    v = _s32(c.args[i])
    return Arg(_sigtext(v), signame(v) if v > 0 else v)


# --- structures -------------------------------------------------------------------


def _mode_text(mode: int) -> tuple[str, str]:
    parts = []
    fmt = _S_IFMT.get(mode & 0o170000)
    if fmt:
        parts.append(fmt)
    for bit, name in _S_ISXID:
        if mode & bit:
            parts.append(name)
    parts.append(_c_octal(mode & 0o777))  # S_IFREG|000, S_IFREG|0644
    text = "|".join(parts)
    return _styled(mode, text, "o"), text


#: Sizes of the structures the decoders read whole (their captures read as much).
_STAT_SIZE, _STATFS_SIZE, _PIPEFDS_SIZE = 144, 120, 8


def _stat(c, i):
    v = c.args[i]
    done = c.out(v)
    if done:
        return done
    try:
        raw = c.mem.read(v, _STAT_SIZE)
    except OSError:
        return Arg(f"{v:#x}", v)
    dev, ino, nlink, mode, uid, gid, rdev, size = struct.unpack_from("<QQQIII4xQq", raw)
    mtext, mval = _mode_text(mode)
    fmt = mode & 0o170000
    value = {"st_dev": dev, "st_ino": ino, "st_mode": mval, "st_nlink": nlink,
             "st_uid": uid, "st_gid": gid, "st_size": size}  # fmt: skip
    if fmt in (0o20000, 0o60000):  # character and block devices show st_rdev
        value["st_rdev"] = rdev
        sized = f"st_rdev={_styled(rdev, _makedev(rdev))}"
    else:
        sized = f"st_size={size}"
    if c.verbose:
        return Arg(_stat_verbose(raw, dev, ino, mtext, nlink, uid, gid, sized), value)
    return Arg(f"{{st_mode={mtext}, {sized}, ...}}", value)


def _makedev(dev: int) -> str:
    """strace's ``makedev(0xfe, 0)`` for a device number (glibc's major/minor)."""
    major = ((dev >> 8) & 0xFFF) | ((dev >> 32) & ~0xFFF)
    minor = (dev & 0xFF) | ((dev >> 12) & ~0xFF)
    return f"makedev({major:#x}, {minor:#x})".replace("0x0,", "0,").replace("0x0)", "0)")


def _stat_verbose(raw, dev, ino, mtext, nlink, uid, gid, sized) -> str:
    """strace -v's struct stat: every field, each time with its comment."""
    blksize, blocks, *times = struct.unpack_from("<qq6q", raw, 56)
    out = [f"st_dev={_styled(dev, _makedev(dev))}", f"st_ino={ino}", f"st_mode={mtext}",
           f"st_nlink={nlink}", f"st_uid={uid}", f"st_gid={gid}", f"st_blksize={blksize}",
           f"st_blocks={blocks}", sized]  # fmt: skip
    for which, sec, nsec in zip("amc", times[::2], times[1::2], strict=True):
        out.append(f"st_{which}time={sec}{_misc.time_comment(sec, nsec)}")
        out.append(f"st_{which}time_nsec={nsec}")
    return "{" + ", ".join(out) + "}"


def _statx(c, i):
    v = c.args[i]
    done = c.out(v)
    if done:
        return done
    try:
        raw = c.mem.read(v, 64)
    except OSError:
        return Arg(f"{v:#x}", v)
    mask, _blksize, attrs, nlink, uid, gid, mode, ino, size = struct.unpack_from(
        "<IIQIIIH2xQQ", raw
    )
    mtext, mval = _mode_text(mode)
    masktext, masknames = _flags(mask, _STATX_MASK)
    atext, anames = _flags(attrs, _STATX_ATTRS)
    value = {"stx_mask": masknames, "stx_attributes": anames, "stx_mode": mval,
             "stx_nlink": nlink, "stx_uid": uid, "stx_gid": gid, "stx_ino": ino,
             "stx_size": size}  # fmt: skip
    if c.verbose:
        try:
            raw = c.mem.read(v, 152)
        except OSError:
            return Arg(f"{v:#x}", v)
        blocks, amask = struct.unpack_from("<QQ", raw, 48)
        out = [f"stx_mask={masktext}", f"stx_blksize={_blksize}", f"stx_attributes={atext}",
               f"stx_nlink={nlink}", f"stx_uid={uid}", f"stx_gid={gid}", f"stx_mode={mtext}",
               f"stx_ino={ino}", f"stx_size={size}", f"stx_blocks={blocks}",
               f"stx_attributes_mask={_flags(amask, _STATX_ATTRS)[0]}"]  # fmt: skip
        for k, which in enumerate(("atime", "btime", "ctime", "mtime")):
            if k == 1 and not mask & 0x800:  # STATX_BTIME: the birth time, if known
                continue
            sec, nsec = struct.unpack_from("<qI", raw, 64 + 16 * k)
            note = _misc.time_comment(sec, nsec) if sec or nsec else ""
            out.append(f"stx_{which}={{tv_sec={sec}, tv_nsec={nsec}}}{note}")
        devs = struct.unpack_from("<IIII", raw, 128)
        for name, number in zip(("rdev_major", "rdev_minor", "dev_major", "dev_minor"), devs,
                                strict=True):  # fmt: skip
            out.append(f"stx_{name}={number}")
        if mask & 0x1000:  # STATX_MNT_ID
            out.append(f"stx_mnt_id={_hex(struct.unpack_from('<Q', raw, 144)[0])}")
        return Arg("{" + ", ".join(out) + "}", value)
    return Arg(
        f"{{stx_mask={masktext}, stx_attributes={atext}, stx_mode={mtext}, stx_size={size}, ...}}",
        value,
    )


def _statx_flags(c, i):
    v = c.args[i] & 0xFFFFFFFF
    sync = _STATX_SYNC[v & 0x6000]
    rest = v & ~0x6000
    # strace prints the sync type and the other flags apart: -X raw prints
    # nothing for a sync type of 0 (AT_STATX_SYNC_AS_STAT), hence "|0x800".
    stext = _styled(v & 0x6000, sync) if v & 0x6000 or _XSTYLE != RAW else ""
    if not rest:
        return Arg(stext, [sync])
    text, names = _flags(rest, _AT_FLAGS)
    return Arg(f"{stext}|{text}", [sync, *names])


def _timespec_at(c, addr: int, usec: bool = False) -> Arg:
    if not addr:
        return Arg("NULL", None)
    try:
        sec, frac = struct.unpack("<qq", c.mem.read(addr, 16))
    except OSError:
        return Arg(f"{addr:#x}", addr)
    unit = "tv_usec" if usec else "tv_nsec"
    return Arg(f"{{tv_sec={sec}, {unit}={frac}}}", {"tv_sec": sec, unit: frac})


def _timespec(c, i):
    return _timespec_at(c, c.args[i])


def _timeval(c, i):
    return _timespec_at(c, c.args[i], usec=True)


def _out_timespec(c, i):
    # nanosleep's "rem": written only when the sleep was interrupted.
    v = c.args[i]
    if not v:
        return Arg("NULL", None)
    if c.exiting and c.retval is not None and c.retval < 0:
        return _timespec_at(c, v)
    return Arg(f"{v:#x}", v)


def _sigset_at(c, addr: int, size: int) -> Arg:
    if not addr:
        return Arg("NULL", None)
    if size <= 0 or size > 128:
        return Arg(f"{addr:#x}", addr)
    size = min(size, 8)
    try:
        mask = int.from_bytes(c.mem.read(addr, size), "little")
    except OSError:
        return Arg(f"{addr:#x}", addr)
    return _sigmask(mask, size * 8)


def set_bits(raw: bytes) -> list[int]:
    """The numbers of the bits set in a little-endian bit set (an fd_set, a CPU set):
    one pass over the bytes, not a shift of a big integer per bit."""
    return [8 * k + b for k, byte in enumerate(raw) if byte for b in range(8) if byte >> b & 1]


def _sigmask(mask: int, nbits: int) -> Arg:
    # strace shows the complement when two thirds or more of the bits are set.
    prefix = ""
    if mask.bit_count() >= nbits * 2 // 3:
        mask = ~mask & ((1 << nbits) - 1)
        prefix = "~"
    names: list = []
    texts: list = []
    style = _XSTYLE
    sig = 1
    while mask:
        if mask & 1:
            names.append(signame(sig)[3:] if sig < len(_SIGNALS) else str(sig))
            if style:  # -X: the numbers (raw), with the names as comments (verbose)
                texts.append(f"{sig} /* {names[-1]} */" if style == VERBOSE else str(sig))
        mask >>= 1
        sig += 1
    text = " ".join(texts if style else names)
    return Arg(f"{prefix}[{text}]", {"inverted": bool(prefix), "signals": names})


def _sockaddr_at(c, addr: int, length: int) -> Arg:
    if not addr:
        return Arg("NULL", None)
    if length <= 0:
        return Arg(f"{addr:#x}", addr)
    try:
        raw = c.mem.read(addr, min(length, 128))
    except OSError:
        return Arg(f"{addr:#x}", addr)
    return decode_sockaddr(raw, c.xflag)


def decode_sockaddr(raw: bytes, xflag: int = 0) -> Arg:
    """A socket address as strace prints it, from the bytes the program passed."""
    if len(raw) < 2:
        return Arg("{sa_family=???}", {})
    fam = raw[0] | raw[1] << 8
    famname = _AF.get(fam) or str(fam)
    value: dict = {"sa_family": famname}
    style = _XSTYLE
    famtext = _name(fam, _AF.get(fam)) if style else famname
    if fam == 2 and len(raw) >= 8:
        port = raw[2] << 8 | raw[3]
        ip = f"{raw[4]}.{raw[5]}.{raw[6]}.{raw[7]}"
        value.update(sin_port=port, sin_addr=ip)
        if style:  # -X raw/verbose: the bytes, and (verbose) their meaning
            return Arg(
                f"{{sa_family={famtext}, sin_port={_rawbytes(raw[2:4], f'htons({port})')}, "
                f"sin_addr={_rawbytes(raw[4:8], f'inet_addr({chr(34)}{ip}{chr(34)})')}}}",
                value,
            )
        return Arg(
            f'{{sa_family=AF_INET, sin_port=htons({port}), sin_addr=inet_addr("{ip}")}}', value
        )
    if fam == 10 and len(raw) >= 24:
        import socket

        port = raw[2] << 8 | raw[3]
        flow = int.from_bytes(raw[4:8], "big")
        ip = socket.inet_ntop(socket.AF_INET6, raw[8:24])
        scope = int.from_bytes(raw[24:28], "little") if len(raw) >= 28 else 0
        value.update(sin6_port=port, sin6_flowinfo=flow, sin6_addr=ip, sin6_scope_id=scope)
        if style:
            text = (
                f"{{sa_family={famtext}, sin6_port={_rawbytes(raw[2:4], f'htons({port})')}, "
                f"sin6_flowinfo={_rawbytes(raw[4:8], f'htonl({flow})')}, "
                f"sin6_addr={_rawbytes(raw[8:24], f'inet_pton(AF_INET6, {chr(34)}{ip}{chr(34)})')}"
            )
        else:
            text = (
                f"{{sa_family=AF_INET6, sin6_port=htons({port}), sin6_flowinfo=htonl({flow}), "
                f'inet_pton(AF_INET6, "{ip}", &sin6_addr)'
            )
        if len(raw) >= 28:
            text += f", sin6_scope_id={scope}"
        return Arg(text + "}", value)
    if fam == 1:
        path = raw[2:]
        if not path:
            return Arg(f"{{sa_family={famtext}}}", value)
        if path[0] == 0:  # abstract: the name is every byte after the NUL
            name = path[1:]
            value["sun_path"] = "@" + _strval(name)
            return Arg(f"{{sa_family={famtext}, sun_path=@{quote(name, False, xflag)}}}", value)
        nul = path.find(b"\0")
        if nul >= 0:
            path = path[:nul]
        value["sun_path"] = _strval(path)
        return Arg(f"{{sa_family={famtext}, sun_path={quote(path, False, xflag)}}}", value)
    if fam == 16 and len(raw) >= 12:
        pid, groups = struct.unpack_from("<iI", raw, 4)  # strace prints nl_pid signed
        value.update(nl_pid=pid, nl_groups=groups)
        pad = raw[2] | raw[3] << 8  # what the program left in the padding, when not 0
        padtext = f"nl_pad={pad:#x}, " if pad else ""
        return Arg(f"{{sa_family={famtext}, {padtext}nl_pid={pid}, nl_groups={groups:08x}}}", value)
    if fam == 17 and len(raw) >= 20:
        proto = raw[2] << 8 | raw[3]
        ifindex, hatype = struct.unpack_from("<iH", raw, 4)
        pkttype, halen = raw[10], raw[11]
        hwaddr = ":".join(f"{b:02x}" for b in raw[12 : 12 + min(halen, 8)])
        value.update(sll_protocol=proto, sll_ifindex=ifindex, sll_hatype=hatype,
                     sll_pkttype=pkttype, sll_halen=halen, sll_addr=hwaddr)  # fmt: skip
        hw = ", ".join(f"{b:#04x}" for b in raw[12 : 12 + min(halen, 8)])
        tail = f", sll_addr=[{hw}]}}" if halen else "}"
        ethertype = f"htons({_ETH_P.get(proto) or _num(proto)})"
        index = _ifindex(ifindex) if ifindex > 0 else str(ifindex)
        return Arg(
            f"{{sa_family={famtext}, sll_protocol={_rawbytes(raw[2:4], ethertype)}, "
            f"sll_ifindex={index}, sll_hatype={_xlat(hatype, _netlink._ARPHRD_ALL)[0]}, "
            f"sll_pkttype={_xlat(pkttype, _PACKET_TYPES)[0]}, sll_halen={halen}{tail}",
            value,
        )
    data = raw[2:]
    value["sa_data"] = _strval(data)
    return Arg(f"{{sa_family={famtext}, sa_data={quote(data, False, xflag)}}}", value)


#: Ethertypes (AF_PACKET's protocols) and packet types strace names.
_ETH_P = {0x0001: "ETH_P_802_3", 0x0003: "ETH_P_ALL", 0x0004: "ETH_P_802_2",
          0x0800: "ETH_P_IP", 0x0806: "ETH_P_ARP", 0x8035: "ETH_P_RARP",
          0x8100: "ETH_P_8021Q", 0x86DD: "ETH_P_IPV6", 0x8847: "ETH_P_MPLS_UC",
          0x88A8: "ETH_P_8021AD", 0x88CC: "ETH_P_LLDP", 0x888E: "ETH_P_PAE"}  # fmt: skip
_PACKET_TYPES = {0: "PACKET_HOST", 1: "PACKET_BROADCAST", 2: "PACKET_MULTICAST",
                 3: "PACKET_OTHERHOST", 4: "PACKET_OUTGOING", 5: "PACKET_LOOPBACK",
                 6: "PACKET_USER", 7: "PACKET_KERNEL"}  # fmt: skip


def _rawbytes(data: bytes, meaning: str) -> str:
    """An address's bytes as -X shows them: what they mean (abbrev), their bytes
    in hex (raw), both (verbose: ``"\\x00\\x50" /* htons(80) */``)."""
    if not _XSTYLE:
        return meaning
    return _styled_text('"' + "".join(_HEX[b] for b in data) + '"', meaning)


def _int_at(c, addr: int, fmt: str = "<i") -> int:
    return struct.unpack(fmt, c.mem.read(addr, 4))[0]


def _intptr_out(c, i):
    """``[N]`` for an int the call writes (FIONREAD, TIOCGPGRP...)."""
    v = c.args[i]
    done = c.out(v)
    if done:
        return done
    try:
        n = _int_at(c, v)
    except OSError:
        return Arg(f"{v:#x}", v)
    return Arg(f"[{n}]", [n])


def _intptr_in(c, i):
    v = c.args[i]
    if not v:
        return Arg("NULL", None)
    try:
        n = _int_at(c, v)
    except OSError:
        return Arg(f"{v:#x}", v)
    return Arg(f"[{n}]", [n])


# --- per-call decoders: f(ctx) -> list[Arg] ---------------------------------------


def _socket(c):
    fam = _s32(c.args[0])
    famtext, famval = _xlat(fam, _AF, "AF_???")
    typ = c.args[1] & 0xFFFFFFFF
    base = _SOCK_TYPE.get(typ & 0xF)
    names = [base or f"{typ & 0xF:#x} /* SOCK_??? */"]
    texts = [_name(typ & 0xF, base, "SOCK_???")]
    if typ & ~0xF:
        ftext, more = _flags_or_unknown(typ & ~0xF, _SOCK_FLAGS, "SOCK_???")
        names += more
        texts.append(ftext)
    ttext = "|".join(texts)
    proto = _s32(c.args[2])
    if fam in (2, 10):
        ptext, pval = _xlat(proto, _IPPROTO)
    elif fam == 16:
        ptext, pval = _xlat(proto, _NETLINK)
    elif fam == 17:  # the ethertype, in network order
        ethertype = (proto >> 8 | proto << 8) & 0xFFFF
        ptext, pval = f"htons({_name(ethertype, _ETH_P.get(ethertype))})", proto
    else:
        ptext, pval = str(proto), proto
    return [Arg(famtext, famval), Arg(ttext, names), Arg(ptext, pval)]


def _sockaddr_in(c):
    """connect, bind: fd, input sockaddr, its length."""
    ln = c.args[2] & 0xFFFFFFFF
    return [_fd_entry(c, 0), _sockaddr_at(c, c.args[1], ln), Arg(str(ln), ln)]


def _socklen_out(c, addr_i: int, len_i: int) -> list[Arg]:
    """An output sockaddr and its value-result length: ``{...}, [16]``."""
    addr, lenp = c.args[addr_i], c.args[len_i]
    before = c.entry.get(len_i) if c.entry else None
    if not lenp:
        return [_ptr(c, addr_i), Arg("NULL", None)]
    try:
        after = _int_at(c, lenp, "<I") if c.ok else None
    except OSError:
        return [_ptr(c, addr_i), Arg(f"{lenp:#x}", lenp)]
    if after is None:  # failed or not yet returned: the address, and the length in
        if before is None:
            try:
                before = _int_at(c, lenp, "<I")
            except OSError:
                return [_ptr(c, addr_i), Arg(f"{lenp:#x}", lenp)]
        return [_ptr(c, addr_i), Arg(f"[{before}]", [before])]
    if not addr:
        sa = Arg("NULL", None)
    else:
        sa = _sockaddr_at(c, addr, min(after, before) if before is not None else after)
    if before is not None and before != after:
        return [sa, Arg(f"[{before} => {after}]", [before, after])]
    return [sa, Arg(f"[{after}]", [after])]


def _accept(c):
    return [_fd(c, 0), *_socklen_out(c, 1, 2)]


def _accept4(c):
    text, names = _flags_or_unknown(c.args[3] & 0xFFFFFFFF, _SOCK_FLAGS, "SOCK_???")
    return [*_accept(c), Arg(text, names)]


def _listen(c):
    return [_fd(c, 0), _int(c, 1)]


def _shutdown(c):
    return [_fd(c, 0), _enumarg(_SHUT, unknown="SHUT_???")(c, 1)]


_msgflags = _flagsarg(_MSG_FLAGS)


def _netlink_of(c, i) -> int | None:
    """The netlink family of the socket in argument ``i`` (-1: a netlink socket of
    unknown family), None when it is not one (see decode_netlink)."""
    return _netlink.family(getattr(c.mem, "pid", None), _s32(c.args[i]))


def _sendto(c):
    ln = c.args[5] & 0xFFFFFFFF
    nl = _netlink_of(c, 0)
    buf = (nl is not None and _netlink.buffer(c, c.args[1], c.args[2], nl)) or _inbuf(c, 1)
    return [_fd_entry(c, 0), buf, _ulong(c, 2), _msgflags(c, 3),
            _sockaddr_at(c, c.args[4], ln), Arg(str(ln), ln)]  # fmt: skip


def _recvfrom(c):
    buf = None
    if c.ok:
        nl = _netlink_of(c, 0)
        if nl is not None:
            buf = _netlink.buffer(c, c.args[1], c.retval, nl)
    return [_fd(c, 0), buf or _outbuf(c, 1), _ulong(c, 2), _msgflags(c, 3),
            *_socklen_out(c, 4, 5)]  # fmt: skip


def _iov_at(c, addr: int, count: int, budget: int | None, nl: int | None = None) -> Arg:
    """An iovec array; ``budget`` is how many data bytes to show in all (None: no
    data); ``nl``: the data are netlink messages of that family."""
    if not addr:
        return Arg("NULL", None)
    if count <= 0:
        return Arg("[]", [])
    shown = min(count, c.strsize)
    try:
        raw = c.mem.read(addr, 16 * shown)
    except OSError:
        return Arg(f"{addr:#x}", addr)
    texts, values = [], []
    for k in range(shown):
        base, ln = struct.unpack_from("<QQ", raw, 16 * k)
        if budget is None:
            b = Arg(_addr(base), base)
        else:
            b = None
            if nl is not None:
                b = _netlink.buffer(c, base, min(ln, budget), nl)
            b = b or _buf(c, base, min(ln, budget))
            budget = max(0, budget - ln)
        texts.append(f"{{iov_base={b.text}, iov_len={ln}}}")
        values.append({"iov_base": b.value, "iov_len": ln})
    more = ", ..." if count > shown else ""
    return Arg(f"[{', '.join(texts)}{more}]", values)


def _iov_total(c, addr: int, count: int) -> int:
    try:
        raw = c.mem.read(addr, 16 * min(count, 1024))
    except OSError:
        return 0
    return sum(struct.unpack_from("<Q", raw, 16 * k + 8)[0] for k in range(len(raw) // 16))


def _writev(c):
    n = _s32(c.args[2])
    return [_fd(c, 0), _iov_at(c, c.args[1], n, _iov_total(c, c.args[1], n)), Arg(str(n), n)]


def _readv(c):
    n = _s32(c.args[2])
    budget = c.retval if c.ok else None
    return [_fd(c, 0), _iov_at(c, c.args[1], n, budget), Arg(str(n), n)]


def _pwritev(c):
    return [*_writev(c), _long(c, 3)]


def _preadv(c):
    return [*_readv(c), _long(c, 3)]


_RWF = (
    (1, "RWF_HIPRI"),
    (2, "RWF_DSYNC"),
    (4, "RWF_SYNC"),
    (8, "RWF_NOWAIT"),
    (0x10, "RWF_APPEND"),
)


def _rwf(c, i: int) -> Arg:
    text, names = _flags_or_unknown(c.args[i] & 0xFFFFFFFF, _RWF, "RWF_???")
    return Arg(text, names)


def _pwritev2(c):  # the offset is one argument on a 64-bit ABI, its high half unused
    return [*_pwritev(c), _rwf(c, 5)]


def _preadv2(c):
    return [*_preadv(c), _rwf(c, 5)]


# Control message types strace names: SOL_SOCKET's (SCM_*, SO_TIMESTAMP*) and SOL_IP's.
_SCM = {1: "SCM_RIGHTS", 2: "SCM_CREDENTIALS", 3: "SCM_SECURITY", 29: "SO_TIMESTAMP_OLD",
        35: "SO_TIMESTAMPNS_OLD", 37: "SO_TIMESTAMPING_OLD", 41: "SO_WIFI_STATUS",
        61: "SO_TXTIME", 63: "SO_TIMESTAMP_NEW", 64: "SO_TIMESTAMPNS_NEW",
        65: "SO_TIMESTAMPING_NEW"}  # fmt: skip
_IP_CMSG = {1: "IP_TOS", 2: "IP_TTL", 3: "IP_HDRINCL", 4: "IP_OPTIONS", 6: "IP_RECVOPTS",
            7: "IP_RETOPTS", 8: "IP_PKTINFO", 9: "IP_PKTOPTIONS", 10: "IP_MTU_DISCOVER",
            11: "IP_RECVERR", 12: "IP_RECVTTL", 13: "IP_RECVTOS", 14: "IP_MTU",
            15: "IP_FREEBIND", 19: "IP_TRANSPARENT", 20: "IP_ORIGDSTADDR", 21: "IP_MINTTL",
            22: "IP_NODEFRAG", 23: "IP_CHECKSUM", 24: "IP_BIND_ADDRESS_NO_PORT",
            25: "IP_RECVFRAGSIZE", 26: "IP_RECVERR_RFC4884", 52: "IP_PROTOCOL"}  # fmt: skip
_IFNAMES: dict = {}  # ifindex -> name, for IP_PKTINFO (strace asks its own netns too)
_OPTMEM: list = []  # net.core.optmem_max, read once: the most control data strace reads


def _optmem_max() -> int:
    if not _OPTMEM:
        try:
            with open("/proc/sys/net/core/optmem_max") as f:
                n = int(f.read())
        except (OSError, ValueError):
            n = 0
        _OPTMEM.append((n + 7) & ~7 if n > 0 else 8 * (2 * 1024 + 512))
    return _OPTMEM[0]


def _ifindex(idx: int) -> str:
    name = _IFNAMES.get(idx)
    if name is None:
        import socket

        try:
            name = _IFNAMES[idx] = f'if_nametoindex("{socket.if_indextoname(idx)}")'
        except (OSError, OverflowError):  # no such interface, or no index at all
            return str(idx)  # not cached: the interface may appear later
    return _styled(idx, name, "u")


def _ipv4_text(raw: bytes) -> str:
    return f'inet_addr("{raw[0]}.{raw[1]}.{raw[2]}.{raw[3]}")'


def _cmsg_data(c, level: int, typ: int, data: bytes):
    """(text, value) of a control message's data, or None where strace shows none."""
    n = len(data)
    if level == 1:
        if typ == 1 and n >= 4:  # SCM_RIGHTS: the descriptors passed
            fds = [fd for (fd,) in struct.iter_unpack("<i", data[: n & ~3])]
            shown = fds[: c.strsize]
            more = ", ..." if len(fds) > len(shown) else ""
            return f"[{', '.join(_fdtext(c, fd) for fd in shown)}{more}]", fds
        if typ == 2 and n >= 12:  # SCM_CREDENTIALS: struct ucred
            pid, uid, gid = struct.unpack_from("<iii", data)
            return f"{{pid={pid}, uid={uid}, gid={gid}}}", {"pid": pid, "uid": uid, "gid": gid}
        if typ == 3 and n:  # SCM_SECURITY: a security context
            return quote(data, False, c.xflag), _strval(data)
        if typ in (29, 63) and n >= 16:  # SO_TIMESTAMP: a timeval
            sec, usec = struct.unpack_from("<qq", data)
            return f"{{tv_sec={sec}, tv_usec={usec}}}", {"tv_sec": sec, "tv_usec": usec}
        if typ in (35, 64) and n >= 16:  # SO_TIMESTAMPNS: a timespec
            sec, nsec = struct.unpack_from("<qq", data)
            return f"{{tv_sec={sec}, tv_nsec={nsec}}}", {"tv_sec": sec, "tv_nsec": nsec}
        if typ in (37, 65) and n >= 48:  # SO_TIMESTAMPING: three timespecs
            ts = [struct.unpack_from("<qq", data, 16 * k) for k in range(3)]
            text = ", ".join(f"{{tv_sec={a}, tv_nsec={b}}}" for a, b in ts)
            return f"[{text}]", [{"tv_sec": a, "tv_nsec": b} for a, b in ts]
        return None
    if level == 0:
        if typ == 8 and n >= 12:  # IP_PKTINFO: struct in_pktinfo
            (idx,) = struct.unpack_from("<i", data)
            spec, dst = data[4:8], data[8:12]
            value = {"ipi_ifindex": idx, "ipi_spec_dst": ".".join(map(str, spec)),
                     "ipi_addr": ".".join(map(str, dst))}  # fmt: skip
            return (
                f"{{ipi_ifindex={_ifindex(idx)}, ipi_spec_dst={_rawbytes(spec, _ipv4_text(spec))}, "
                f"ipi_addr={_rawbytes(dst, _ipv4_text(dst))}}}",
                value,
            )
        if typ in (2, 23) and n >= 4:  # IP_TTL, IP_CHECKSUM: unsigned ints
            nums = [v for (v,) in struct.iter_unpack("<I", data[: n & ~3])]
            return f"[{', '.join(map(str, nums))}]", nums
        if typ in (1, 6, 7) and n:  # IP_TOS, IP_RECVOPTS, IP_RETOPTS: bytes in hex
            return f"[{', '.join(_hex(b) for b in data)}]", list(data)
        if typ == 11 and n >= 32:  # IP_RECVERR: struct sock_extended_err + offender
            err, origin, etype, code, _pad, info, edata = struct.unpack_from("<IBBBBII", data)
            sa = decode_sockaddr(data[16:32], c.xflag)
            value = {"ee_errno": err, "ee_origin": origin, "ee_type": etype, "ee_code": code,
                     "ee_info": info, "ee_data": edata, "offender": sa.value}  # fmt: skip
            return (
                f"{{ee_errno={err}, ee_origin={origin}, ee_type={etype}, ee_code={code}, "
                f"ee_info={info}, ee_data={edata}, offender={sa.text}}}",
                value,
            )
        if typ == 20 and n >= 16:  # IP_ORIGDSTADDR: a sockaddr_in
            sa = decode_sockaddr(data[:128], c.xflag)
            return sa.text, sa.value
        if typ == 52 and n >= 4:  # IP_PROTOCOL
            t, v = _xlat(struct.unpack_from("<i", data)[0], _IPPROTO, "IP_???")
            return f"[{t}]", [v]
    return None


def _cmsgs(c, addr: int, ctllen: int) -> Arg:
    """msg_control as strace prints it: the control messages, decoded."""
    size = min(ctllen, _optmem_max())
    if size < 16:
        return Arg(_addr(addr), addr or None)
    try:
        buf = c.mem.read(addr, size)
    except OSError:
        return Arg(_addr(addr), addr or None)
    if len(buf) < size:
        return Arg(_addr(addr), addr or None)
    texts, values = [], []
    off, left = 0, size
    while left >= 16:
        cmsg_len, level, typ = struct.unpack_from("<Qii", buf, off)
        ln = min(cmsg_len, left)
        ltext, lval = _xlat(level, _SOL, "SOL_???")
        value: dict = {"cmsg_len": cmsg_len, "cmsg_level": lval}
        if level == 1:
            ttext, value["cmsg_type"] = _xlat(typ, _SCM, "SCM_???")
        elif level == 0:
            ttext, value["cmsg_type"] = _xlat(typ, _IP_CMSG, "IP_???")
        else:
            ttext, value["cmsg_type"] = _hex(typ & 0xFFFFFFFF), typ
        text = f"{{cmsg_len={cmsg_len}, cmsg_level={ltext}, cmsg_type={ttext}"
        data = _cmsg_data(c, level, typ, buf[off + 16 : off + ln] if ln > 16 else b"")
        if data is not None:
            text += f", cmsg_data={data[0]}"
            value["cmsg_data"] = data[1]
        texts.append(text + "}")
        values.append(value)
        if ln < 16:
            left -= 16
            break
        step = (cmsg_len + 7) & ~7
        if step >= left:
            left = 0
            break
        off += step
        left -= step
    if left:  # bytes that do not make a header: where they start
        texts.append(f"... /* {addr + size - left:#x} */")
    elif size < ctllen:
        texts.append("...")
    return Arg(f"[{', '.join(texts)}]", values)


def _msghdr_raw(
    c, raw: bytes, data_size: int | None, user_namelen: int | None, nl: int | None = None
) -> Arg:
    """A struct msghdr from its 56 bytes; ``data_size`` bytes of iov data are shown
    (None: all of them, for a message being sent).  ``user_namelen`` is what the
    program offered at entry, for a received message's ``msg_namelen=110 => 16``."""
    name, namelen, iov, iovlen, ctl, ctllen, flags = struct.unpack("<Qi4xQQQQi4x", raw)
    shown_len = namelen
    if user_namelen is not None and namelen > user_namelen:
        shown_len = user_namelen
    sa = _sockaddr_at(c, name, shown_len) if name else Arg("NULL", None)
    budget = _iov_total(c, iov, iovlen) if data_size is None else data_size
    io = _iov_at(c, iov, iovlen, budget, nl)
    ftext, fnames = _flags(flags & 0xFFFFFFFF, _MSG_FLAGS)
    value = {"msg_name": sa.value, "msg_namelen": namelen, "msg_iov": io.value,
             "msg_iovlen": iovlen, "msg_controllen": ctllen, "msg_flags": fnames}  # fmt: skip
    lentext = str(namelen)
    if user_namelen is not None and user_namelen != namelen:
        lentext = f"{user_namelen} => {namelen}"
    ctext = ""
    if ctllen:
        cm = _cmsgs(c, ctl, ctllen)
        ctext = f"msg_control={cm.text}, "
        value["msg_control"] = cm.value
    return Arg(
        f"{{msg_name={sa.text}, msg_namelen={lentext}, msg_iov={io.text}, msg_iovlen={iovlen}, "
        f"{ctext}msg_controllen={ctllen}, msg_flags={ftext}}}",
        value,
    )


def _msghdr(c, addr: int, sending: bool) -> Arg:
    if not addr:
        return Arg("NULL", None)
    user = c.entry.get(1) if c.entry and not sending else None
    if not sending and not c.ok:
        if user is not None and c.exiting and c.retval is not None:
            return Arg(f"{{msg_namelen={user}}}", {"msg_namelen": user})
        return Arg(f"{addr:#x}", addr)
    try:
        raw = c.mem.read(addr, 56)
    except OSError:
        return Arg(f"{addr:#x}", addr)
    return _msghdr_raw(c, raw, None if sending else c.retval, user, _netlink_of(c, 0))


def _sendmsg(c):
    return [_fd_entry(c, 0), _msghdr(c, c.args[1], True), _msgflags(c, 2)]


def _recvmsg(c):
    return [_fd(c, 0), _msghdr(c, c.args[1], False), _msgflags(c, 2)]


def _mmsgvec(c, addr: int, count: int, with_len: int, received: bool) -> Arg:
    """An array of struct mmsghdr (64 bytes each): ``{msg_hdr={...}, msg_len=N}``."""
    if not addr:
        return Arg("NULL", None)
    shown = min(count, c.strsize, 1024)
    if shown <= 0:
        return Arg("[]", [])
    try:
        raw = c.mem.read(addr, 64 * shown)
    except OSError:
        return Arg(f"{addr:#x}", addr)
    users = c.entry.get(1) if c.entry and received else None
    texts, values = [], []
    for k in range(shown):
        (msg_len,) = struct.unpack_from("<I", raw, 64 * k + 56)
        user = users[k] if users is not None and k < len(users) else None
        hdr = _msghdr_raw(c, raw[64 * k : 64 * k + 56], msg_len if received else None, user)
        value = {"msg_hdr": hdr.value}
        if k < with_len:
            texts.append(f"{{msg_hdr={hdr.text}, msg_len={msg_len}}}")
            value["msg_len"] = msg_len
        else:
            texts.append(f"{{msg_hdr={hdr.text}}}")
        values.append(value)
    more = ", ..." if count > shown else ""
    return Arg(f"[{', '.join(texts)}{more}]", values)


def _sendmmsg(c):
    vlen = c.args[2] & 0xFFFFFFFF
    sent = c.retval if c.ok else 0
    return [_fd(c, 0), _mmsgvec(c, c.args[1], vlen, sent, False), Arg(str(vlen), vlen),
            _msgflags(c, 3)]  # fmt: skip


def _recvmmsg(c):
    vlen = c.args[2] & 0xFFFFFFFF
    vec = _mmsgvec(c, c.args[1], c.retval, c.retval, True) if c.ok else _ptr(c, 1)
    # The timeout as it was at entry: the kernel writes what is left of it.
    saved = c.entry.get(4) if c.entry else None
    if saved is not None:
        sec, nsec = struct.unpack("<qq", saved)
        timeout = Arg(f"{{tv_sec={sec}, tv_nsec={nsec}}}", {"tv_sec": sec, "tv_nsec": nsec})
    else:
        timeout = _timespec(c, 4)
    return [_fd(c, 0), vec, Arg(str(vlen), vlen), _msgflags(c, 3), timeout]


def _sockopt_name(c):
    level = _s32(c.args[1])
    ltext, lval = _xlat(level, _SOL, "SOL_??")
    name = _s32(c.args[2])
    if level not in _SOCKOPT:  # a level strace does not name the options of: %u
        return Arg(ltext, lval), Arg(str(name & 0xFFFFFFFF), name)
    ntext, nval = _xlat(name, _SOCKOPT[level], _SOCKOPT_UNKNOWN.get(level))
    return Arg(ltext, lval), Arg(ntext, nval)


#: strace's comment for an option it has no name for, by level.
_SOCKOPT_UNKNOWN = {
    0: "IP_???", 1: "SO_???", 6: "TCP_???", 17: "UDP_???", 41: "IPV6_???", 58: "ICMPV6_???",
    255: "ICMP_???", 263: "PACKET_???", 270: "NETLINK_???",
}  # fmt: skip


def _optval(c, addr: int, ln: int, level: int = -1, name: int = -1) -> Arg:
    """A socket option's value: ``[1]`` for an int, a struct strace knows, else the bytes."""
    if not addr:
        return Arg("NULL", None)
    if level == 1 and name in (13, 17) and ln >= (8 if name == 13 else 12):
        try:
            raw = c.mem.read(addr, 12 if name == 17 else 8)
        except OSError:
            return Arg(f"{addr:#x}", addr)
        if name == 13:  # SO_LINGER: struct linger
            on, secs = struct.unpack("<ii", raw)
            return Arg(f"{{l_onoff={on}, l_linger={secs}}}", {"l_onoff": on, "l_linger": secs})
        pid, uid, gid = struct.unpack("<iii", raw)  # SO_PEERCRED: struct ucred
        return Arg(f"{{pid={pid}, uid={uid}, gid={gid}}}", {"pid": pid, "uid": uid, "gid": gid})
    if ln == 4:
        try:
            n = _int_at(c, addr)
        except OSError:
            return Arg(f"{addr:#x}", addr)
        if level == 255 and name == 1:  # ICMP_FILTER: the ICMP types let through
            passed = ~n & 0xFFFFFFFF
            types = [t for t in range(32) if passed >> t & 1]
            names = [_ICMP_TYPES.get(t) or str(t) for t in types]
            texts = [_name(t, _ICMP_TYPES.get(t)) for t in types] if _XSTYLE else names
            return Arg(f"~[{' '.join(texts)}]", {"inverted": True, "types": names})
        return Arg(f"[{n}]", [n])
    return _buf(c, addr, ln)


_ICMP_TYPES = {0: "ICMP_ECHOREPLY", 3: "ICMP_DEST_UNREACH", 4: "ICMP_SOURCE_QUENCH",
               5: "ICMP_REDIRECT", 8: "ICMP_ECHO", 11: "ICMP_TIME_EXCEEDED",
               12: "ICMP_PARAMETERPROB", 13: "ICMP_TIMESTAMP", 14: "ICMP_TIMESTAMPREPLY",
               15: "ICMP_INFO_REQUEST", 16: "ICMP_INFO_REPLY", 17: "ICMP_ADDRESS",
               18: "ICMP_ADDRESSREPLY"}  # fmt: skip


def _setsockopt(c):
    level, name = _sockopt_name(c)
    ln = _s32(c.args[4])
    optval = _optval(c, c.args[3], ln, _s32(c.args[1]), _s32(c.args[2]))
    return [_fd(c, 0), level, name, optval, Arg(str(ln), ln)]


def _getsockopt(c):
    level, name = _sockopt_name(c)
    val, lenp = c.args[3], c.args[4]
    if not c.ok or not lenp:
        before = c.entry.get(4) if c.entry and lenp else None
        lenarg = Arg(f"[{before}]", before) if before is not None else _ptr(c, 4)
        return [_fd(c, 0), level, name, _ptr(c, 3), lenarg]
    try:
        ln = _int_at(c, lenp)
    except OSError:
        return [_fd(c, 0), level, name, _ptr(c, 3), Arg(f"{lenp:#x}", lenp)]
    before = c.entry.get(4) if c.entry else None
    lentext = f"[{before} => {ln}]" if before is not None and before != ln else f"[{ln}]"
    optval = _optval(c, val, ln, _s32(c.args[1]), _s32(c.args[2]))
    if c.args[1] & 0xFFFFFFFF == 1 and c.args[2] & 0xFFFFFFFF == 4 and ln == 4 and val:
        err = optval.value[0] if isinstance(optval.value, list) else 0
        if err > 0:  # SO_ERROR: the pending error by name, [ECONNREFUSED]
            optval = Arg(f"[{_styled(err, _errname(err), 'd')}]", [_errname(err)])
    return [_fd(c, 0), level, name, optval, Arg(lentext, [ln])]


def _socketpair(c):
    first = _socket(c)
    return [*first, _pipefds(c, 3)]


def _pipefds(c, i):
    v = c.args[i]
    done = c.out(v)
    if done:
        return done
    try:
        a, b = struct.unpack("<ii", c.mem.read(v, _PIPEFDS_SIZE))
    except OSError:
        return Arg(f"{v:#x}", v)
    return Arg(f"[{_fdtext(c, a)}, {_fdtext(c, b)}]", [a, b])


def _pipe2(c):
    text, names = _flags_or_unknown(c.args[1] & 0xFFFFFFFF, _PIPE_FLAGS, "O_???")
    return [_pipefds(c, 0), Arg(text, names)]


def _uses_mode(flags: int) -> bool:
    """O_CREAT or __O_TMPFILE: open's mode argument matters, and strace prints it."""
    return bool(flags & 0o20000100)


def _open(c):
    out = [_path(c, 0), _oflags(c, 1)]
    if _uses_mode(c.args[1]):
        out.append(_octal(c, 2))
    return out


def _openat(c):
    out = [_dirfd(c, 0), _path(c, 1), _oflags(c, 2)]
    if _uses_mode(c.args[2]):
        out.append(_octal(c, 3))
    return out


_RESOLVE = (
    (1, "RESOLVE_NO_XDEV"), (2, "RESOLVE_NO_MAGICLINKS"), (4, "RESOLVE_NO_SYMLINKS"),
    (8, "RESOLVE_BENEATH"), (0x10, "RESOLVE_IN_ROOT"), (0x20, "RESOLVE_CACHED"),
)  # fmt: skip


def _openat2(c):
    """struct open_how {u64 flags; u64 mode; u64 resolve;} as strace's
    print_open_how: mode only where it is used or set, then any non-zero bytes
    of a larger struct the program passed; a size below 24 leaves the address."""
    out = [_dirfd(c, 0), _path(c, 1)]
    addr, size = c.args[2], c.args[3]
    try:
        if size < 24:
            raise OSError
        raw = c.mem.read(addr, min(size, 4096))
    except OSError:
        out.append(Arg(_addr(addr), addr or None))
    else:
        flags, mode, resolve = struct.unpack_from("<QQQ", raw)
        fl = _oflags(_Ctx((flags,), None, 0, None, True, None, None, 0), 0)
        text = f"{{flags={fl.text}, "
        if mode or _uses_mode(flags):
            text += f"mode=0{mode:02o}, "
        rtext, rnames = _flags_or_unknown(resolve, _RESOLVE, "RESOLVE_???")
        text += f"resolve={rtext}"
        if raw[24:].strip(b"\0"):
            more = "".join([_HEX[b] for b in raw[24:]])
            text += f', /* bytes 24..{size - 1} */ "{more}"{"..." if size > len(raw) else ""}'
        out.append(Arg(text + "}", {"flags": fl.value, "mode": mode, "resolve": rnames}))
    out.append(_ulong(c, 3))
    return out


def _newfstatat(c):
    return [_dirfd(c, 0), _path(c, 1), _stat(c, 2), _atflags(c, 3)]


def _statx_call(c):
    mtext, mnames = _flags_or_unknown(c.args[3] & 0xFFFFFFFF, _STATX_MASK, "STATX_???")
    return [_dirfd(c, 0), _path(c, 1), _statx_flags(c, 2), Arg(mtext, mnames), _statx(c, 4)]


def _faccessat2(c):
    text, names = _flags_or_unknown(c.args[3] & 0xFFFFFFFF, _ACCESSAT_FLAGS, "AT_???")
    return [_dirfd(c, 0), _path(c, 1), _accessmode(c, 2), Arg(text, names)]


def _unlinkat(c):
    return [_dirfd(c, 0), _path(c, 1), _atflags(c, 2)]


def _renameat2(c):
    text, names = _flags_or_unknown(c.args[4] & 0xFFFFFFFF, _RENAME, "RENAME_??")
    return [_dirfd(c, 0), _path(c, 1), _dirfd(c, 2), _path(c, 3), Arg(text, names)]


def _linkat(c):
    return [_dirfd(c, 0), _path(c, 1), _dirfd(c, 2), _path(c, 3), _atflags(c, 4)]


def _fchmodat(c):
    return [_dirfd(c, 0), _path(c, 1), _octal(c, 2)]


def _vec_at(c, addr: int) -> list[int] | None:
    """A NULL-terminated pointer array (argv, envp), read in chunks.

    A chunk may run past the end of the mapping that holds the array; then the
    rest is read a pointer at a time, and only an unreadable pointer is an error.
    """
    ptrs: list[int] = []
    while len(ptrs) < 100000:
        at = addr + 8 * len(ptrs)
        try:
            chunk = c.mem.read(at, 256)
        except OSError:
            chunk = c.mem.read(at, 8)
        for (p,) in struct.iter_unpack("<Q", chunk):
            if not p:
                return ptrs
            ptrs.append(p)
    return None


def _argv(c, i):
    v = c.args[i]
    if not v:
        return Arg("NULL", None)
    try:
        ptrs = _vec_at(c, v)
    except OSError:
        return Arg(f"{v:#x}", v)
    if ptrs is None:
        return Arg(f"{v:#x}", v)
    return _strings(c, ptrs)


def _strings(c, ptrs) -> Arg:
    """An argv-like array of strings, at most -s of them (all with -v), as strace."""
    shown = ptrs if c.verbose else ptrs[: c.strsize]
    items = [_str_at(c, p) for p in shown]
    more = ", ..." if len(ptrs) > len(shown) else ""
    return Arg(f"[{', '.join(a.text for a in items)}{more}]", [a.value for a in items])


def _envp(c, i):
    v = c.args[i]
    if not v:
        return Arg("NULL", None)
    try:
        ptrs = _vec_at(c, v)
    except OSError:
        ptrs = None
    if ptrs is None:
        return Arg(f"{v:#x}", v)
    if c.verbose:  # strace -v: the environment as argv shows
        return _strings(c, ptrs)
    n = len(ptrs)
    return Arg(f"{v:#x} /* {n} var{'' if n == 1 else 's'} */", {"address": v, "count": n})


def _execve(c):
    return [_path(c, 0), _argv(c, 1), _envp(c, 2)]


def _execveat(c):
    text, names = _flags(c.args[4] & 0xFFFFFFFF, _AT_FLAGS)
    return [_dirfd(c, 0), _path(c, 1), _argv(c, 2), _envp(c, 3), Arg(text, names)]


def _mmap(c):
    v = c.args[3] & 0xFFFFFFFF
    names = [_MAP_TYPE.get(v & 0xF) or f"{v & 0xF:#x} /* MAP_??? */"]
    if v & ~0xF:
        bits = v & ~0xF & ~(0x3F << 26)
        _t, more = _by_name(_flags, bits, _MAP_FLAGS) if _XSTYLE else _flags(bits, _MAP_FLAGS)
        names += more
        if v & 0x40000 and v >> 26:  # MAP_HUGETLB with a page size: MAP_HUGE_2MB etc.
            shift = v >> 26
            size = f"{1 << (shift - 20)}MB" if shift < 30 else f"{1 << (shift - 30)}GB"
            names.append(f"MAP_HUGE_{size}")
    prot = _flagsarg(_PROT, "PROT_NONE")(c, 2)
    return [_ptr(c, 0), _ulong(c, 1), prot, Arg(_styled(v, "|".join(names)), names), _fd(c, 4),
            _xlong(c, 5)]  # fmt: skip


def _by_name(func, *args):
    """``func(*args)`` (a flags or enum formatter) as -X abbrev prints it: the
    names, for a decoder that styles the whole of a composite value itself."""
    global _XSTYLE
    style, _XSTYLE = _XSTYLE, ABBREV
    try:
        return func(*args)
    finally:
        _XSTYLE = style


def _mprotect(c):
    return [_ptr(c, 0), _ulong(c, 1), _flagsarg(_PROT, "PROT_NONE")(c, 2)]


def _mremap(c):
    out = [_ptr(c, 0), _ulong(c, 1), _ulong(c, 2), _flagsarg(_MREMAP)(c, 3)]
    if c.args[3] & 2:
        out.append(_ptr(c, 4))
    return out


def _clone(c):
    flags = c.args[0]
    sig = flags & 0xFF
    fl = flags & ~0xFF
    ftext, fnames = _flags(fl, _CLONE_FLAGS) if fl else ("", [])
    if sig:
        fnames = [*fnames, signame(sig)]
        ftext = f"{ftext}|{_sigtext(sig)}" if ftext else _sigtext(sig)
    elif not fl:
        ftext = "0"
    out = [Arg(f"child_stack={_addr(c.args[1])}", c.args[1] or None),
           Arg(f"flags={ftext}", fnames)]  # fmt: skip
    if flags & 0x100000:  # CLONE_PARENT_SETTID: the child's tid, at exit
        ptid = c.args[2]
        if c.ok and ptid:
            try:
                out.append(Arg(f"parent_tid=[{_int_at(c, ptid)}]", _int_at(c, ptid)))
            except OSError:
                out.append(Arg(f"parent_tid={ptid:#x}", ptid))
        else:
            out.append(Arg(f"parent_tid={_addr(ptid)}", ptid or None))
    if flags & 0x80000:
        out.append(Arg(f"tls={_addr(c.args[4])}", c.args[4]))
    if flags & 0x1200000:
        out.append(Arg(f"child_tidptr={_addr(c.args[3])}", c.args[3] or None))
    return out


def _clone3(c):
    v = c.args[0]
    size = c.args[1]
    try:
        raw = c.mem.read(v, min(size, 88))
    except OSError:
        return [Arg(_addr(v), v), _ulong(c, 1)]
    raw = raw.ljust(88, b"\0")
    flags, pidfd, ctid, ptid, esig, stack, ssize, tls, _settid, _settid_size, cgroup = (
        struct.unpack("<11Q", raw)
    )
    ftext, fnames = _flags(flags, _CLONE_FLAGS)
    parts = [f"flags={ftext}"]
    value: dict = {"flags": fnames}
    if flags & 0x1000:
        parts.append(f"pidfd={_addr(pidfd)}")
        value["pidfd"] = pidfd
    if flags & 0x1200000:
        parts.append(f"child_tid={_addr(ctid)}")
        value["child_tid"] = ctid
    if flags & 0x100000:
        parts.append(f"parent_tid={_addr(ptid)}")
        value["parent_tid"] = ptid
    sig = signame(esig) if esig else "0"
    parts += [f"exit_signal={_sigtext(esig)}", f"stack={_addr(stack)}",
              f"stack_size={_hex(ssize)}"]  # fmt: skip
    value.update(exit_signal=sig, stack=stack, stack_size=ssize)
    if flags & 0x80000:
        parts.append(f"tls={_addr(tls)}")
        value["tls"] = tls
    if flags & 0x200000000:
        parts.append(f"cgroup={cgroup}")
        value["cgroup"] = cgroup
    text = "{" + ", ".join(parts) + "}"
    if c.ok and flags & 0x101000:  # what the kernel wrote back, strace's "=> {...}"
        after = []
        try:
            if flags & 0x1000 and pidfd:
                after.append(f"pidfd=[{_int_at(c, pidfd)}]")
            if flags & 0x100000 and ptid:
                after.append(f"parent_tid=[{_int_at(c, ptid)}]")
        except OSError:
            after = []
        if after:
            text += " => {" + ", ".join(after) + "}"
    return [Arg(text, value), _ulong(c, 1)]


def _unshare(c):
    text, names = _flags_or_unknown(c.args[0], _UNSHARE_FLAGS, "CLONE_???")
    return [Arg(text, names)]


def _setns(c):
    text, names = _flags_or_unknown(c.args[1] & 0xFFFFFFFF, _NS_TYPES, "CLONE_NEW???")
    return [_fd(c, 0), Arg(text, names)]


def _wstatus(c, i):
    v = c.args[i]
    if not v:
        return Arg("NULL", None)
    if not c.ok or not c.retval:  # nothing reaped: strace prints the address
        return Arg(f"{v:#x}", v)
    try:
        s = _int_at(c, v)
    except OSError:
        return Arg(f"{v:#x}", v)
    text, value = _status_text(s)
    return Arg(f"[{{{text}}}]", value)


def _status_text(s: int) -> tuple[str, dict]:
    sig = s & 0x7F
    if sig == 0:
        code = (s >> 8) & 0xFF
        text = f"WIFEXITED(s) && WEXITSTATUS(s) == {code}"
        value: dict = {"exited": code}
    elif sig == 0x7F:
        stop = (s >> 8) & 0xFF
        text = f"WIFSTOPPED(s) && WSTOPSIG(s) == {signame(stop)}"
        value = {"stopped": signame(stop)}
        if s >> 16:
            text += f" && s >> 16 == {s >> 16}"
            value["event"] = s >> 16
    elif s == 0xFFFF:
        return "WIFCONTINUED(s)", {"continued": True}
    else:
        text = f"WIFSIGNALED(s) && WTERMSIG(s) == {signame(sig)}"
        value = {"signaled": signame(sig)}
        if s & 0x80:
            text += " && WCOREDUMP(s)"
            value["core"] = True
    return text, value


def _rusage(c, i):
    v = c.args[i]
    done = c.out(v)
    if done:
        return done
    try:
        us, uu, ss, su = struct.unpack("<qqqq", c.mem.read(v, 32))
    except OSError:
        return Arg(f"{v:#x}", v)
    return Arg(
        f"{{ru_utime={{tv_sec={us}, tv_usec={uu}}}, ru_stime={{tv_sec={ss}, tv_usec={su}}}, ...}}",
        {"ru_utime": [us, uu], "ru_stime": [ss, su]},
    )


def _wait4(c):
    pid = _s32(c.args[0])
    return [Arg(str(pid), pid), _wstatus(c, 1), _flagsarg(_WAIT4_OPTS)(c, 2), _rusage(c, 3)]


_IDTYPE = {0: "P_ALL", 1: "P_PID", 2: "P_PGID", 3: "P_PIDFD"}


def _waitid(c):
    t, v = _xlat(_s32(c.args[0]), _IDTYPE, "P_???")
    info = c.args[2]
    itext = c.out(info) or _siginfo_in(c, info)
    options = _flagsarg(_WAIT_OPTS, unknown="W???")(c, 3)
    return [Arg(t, v), _int(c, 1), itext, options, _rusage(c, 4)]


def _siginfo_in(c, addr: int) -> Arg:
    """A siginfo_t the program passes (rt_sigqueueinfo, pidfd_send_signal)."""
    if not addr:
        return Arg("NULL", None)
    try:
        si = unpack_siginfo(c.mem.read(addr, 128))
    except OSError:
        return Arg(f"{addr:#x}", addr)
    return Arg(_siginfo_text(si) if si["si_signo"] else "{}", si)


def _rt_sigqueueinfo(c):
    return [_int(c, 0), _sig(c, 1), _siginfo_in(c, c.args[2])]


def _rt_tgsigqueueinfo(c):
    return [_int(c, 0), _int(c, 1), _sig(c, 2), _siginfo_in(c, c.args[3])]


def _pidfd_send_signal(c):
    return [_fd(c, 0), _sig(c, 1), _siginfo_in(c, c.args[2]), _uint(c, 3)]


def _kill(c):
    return [_int(c, 0), _sig(c, 1)]


def _tgkill(c):
    return [_int(c, 0), _int(c, 1), _sig(c, 2)]


def _sigaction_at(c, addr: int, out: bool) -> Arg:
    if not addr:
        return Arg("NULL", None)
    if out and not c.ok:
        return Arg(f"{addr:#x}", addr)
    try:
        handler, flags, restorer, mask = struct.unpack("<QQQQ", c.mem.read(addr, 32))
    except OSError:
        return Arg(f"{addr:#x}", addr)
    hname = _SA_HANDLER.get(handler)
    htext = hname or f"{handler:#x}"
    mtext = _sigmask(mask, 64)
    ftext, fnames = _flags(flags, _SA_FLAGS)  # unsigned long: high bits show, as in strace
    shown = _name(handler, hname) if hname else htext
    text = f"{{sa_handler={shown}, sa_mask={mtext.text}, sa_flags={ftext}"
    value = {"sa_handler": htext, "sa_mask": mtext.value, "sa_flags": fnames}
    if flags & 0x04000000:
        text += f", sa_restorer={_addr(restorer)}"
        value["sa_restorer"] = restorer
    return Arg(text + "}", value)


_SS_FLAGS = ((1, "SS_ONSTACK"), (2, "SS_DISABLE"), (1 << 31, "SS_AUTODISARM"))


def _stack_at(c, addr: int, out: bool) -> Arg:
    """A stack_t: ``{ss_sp=0x..., ss_flags=SS_DISABLE, ss_size=8192}``."""
    if not addr:
        return Arg("NULL", None)
    if out and not c.ok:
        return Arg(f"{addr:#x}", addr)
    try:
        sp, flags, size = struct.unpack("<Qi4xQ", c.mem.read(addr, 24))
    except OSError:
        return Arg(f"{addr:#x}", addr)
    ftext, fnames = _flags(flags & 0xFFFFFFFF, _SS_FLAGS)
    value = {"ss_sp": sp or None, "ss_flags": fnames, "ss_size": size}
    return Arg(f"{{ss_sp={_addr(sp)}, ss_flags={ftext}, ss_size={size}}}", value)


def _sigaltstack(c):
    return [_stack_at(c, c.args[0], False), _stack_at(c, c.args[1], True)]


def _rt_sigaction(c):
    return [_sig(c, 0), _sigaction_at(c, c.args[1], False), _sigaction_at(c, c.args[2], True),
            _ulong(c, 3)]  # fmt: skip


def _rt_sigprocmask(c):
    size = c.args[3]
    how = _s32(c.args[0])
    htext, hval = _xlat(how, _SIG_HOW, "SIG_???")
    old = c.args[2]
    oldarg = c.out(old) or _sigset_at(c, old, size)
    return [Arg(htext, hval), _sigset_at(c, c.args[1], size), oldarg, _ulong(c, 3)]


def _sigset_arg(c, i, size_i):
    return _sigset_at(c, c.args[i], c.args[size_i])


def _rt_sigsuspend(c):
    return [_sigset_arg(c, 0, 1), _ulong(c, 1)]


def _rt_sigreturn(c):
    """``{mask=[...]}``: the blocked mask the signal frame restores.

    strace reads it from the frame at entry.  Decoding happens at exit, when the
    kernel has just made it the thread's blocked mask, so /proc/TID/status holds
    the same set (less SIGKILL and SIGSTOP, which the kernel never blocks and no
    frame it builds contains).  Without a pid to look at: no argument shown.
    """
    pid = getattr(c.mem, "pid", None)
    if pid is None or not c.exiting or c.retval is None:
        return []
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            status = f.read()
    except OSError:
        return []
    at = status.find(b"\nSigBlk:\t")
    if at < 0:
        return []
    mask = _sigmask(int(status[at + 9 : at + 25], 16), 64)
    return [Arg(f"{{mask={mask.text}}}", {"mask": mask.value})]


def _dup2(c):
    return [_fd(c, 0), _fd_entry(c, 1)]


_DUP3_FLAGS = ((0o2000000, "O_CLOEXEC"),)


def _dup3(c):
    text, names = _flags_or_unknown(c.args[2] & 0xFFFFFFFF, _DUP3_FLAGS, "O_???")
    return [_fd(c, 0), _fd_entry(c, 1), Arg(text, names)]


def _flock_at(c, addr: int) -> Arg:
    try:
        ltype, whence, start, ln, pid = struct.unpack("<hh4xqqi4x", c.mem.read(addr, 32))
    except OSError:
        return Arg(_addr(addr), addr)
    t, tval = _xlat(ltype, _FLOCK_TYPE)
    w, wval = _xlat(whence, _SEEK, "SEEK_???")
    value = {"l_type": tval, "l_whence": wval, "l_start": start, "l_len": ln}
    text = f"{{l_type={t}, l_whence={w}, l_start={start}, l_len={ln}"
    if c.ok and c.args[1] in (5, 36):
        text += f", l_pid={pid}"
        value["l_pid"] = pid
    return Arg(text + "}", value)


def _fcntl(c):
    cmd = _s32(c.args[1])
    ctext, cval = _xlat(cmd, _FCNTL, "F_???")
    out = [_fd(c, 0), Arg(ctext, cval)]
    if cmd in _FCNTL_NOARG:
        return out
    if cmd == 2:
        out.append(_flagsarg(_FD_FLAGS)(c, 2))
    elif cmd == 4:
        out.append(_oflags(c, 2))
    elif cmd in _FCNTL_LOCK:  # F_GETLK and F_OFD_GETLK fill it: an address if they failed
        lock = c.args[2]
        out.append((cmd in (5, 36) and c.out(lock)) or _flock_at(c, lock))
    elif cmd in (10, 11):
        out.append(_sig(c, 2))
    elif cmd == 1033:
        out.append(_flagsarg(_SEALS)(c, 2))
    elif cmd in (1024,):
        out.append(_enumarg(_FLOCK_TYPE)(c, 2))
    else:
        out.append(_long(c, 2))
    return out


def _tc_flags(v: int, table: tuple) -> tuple[str, list[str]]:
    # strace 6.1 prints nothing at all for a termios flag word of 0.
    if not v:
        return "", []
    return _flags(v, table)


def _termios_text(iflag: int, oflag: int, cflag: int, lflag: int) -> tuple[str, dict]:
    """strace's abbreviated termios: the four flag words by name, then ``...``."""
    itext, inames = _tc_flags(iflag, _TC_IFLAGS)
    onames, otexts = [], []
    for mask, names in _TC_ODELAYS:
        onames.append(names[oflag & mask])
        otexts.append(_styled(oflag & mask, onames[-1]))
        oflag &= ~mask
    otext, more = _tc_flags(oflag, _TC_OFLAGS)
    onames += more
    # The fields each end in "|" even when no flag follows (strace 6.1 does so).
    otext = "|".join(otexts) + "|" + otext
    cnames = [_TC_BAUD[cflag & _TC_CBAUD]]
    ctexts = [_styled(cflag & _TC_CBAUD, cnames[0])]
    if cflag & _TC_CIBAUD:
        cnames.append(_TC_BAUD[(cflag & _TC_CIBAUD) >> 16] + "<<IBSHIFT")
        ctexts.append(_styled(cflag & _TC_CIBAUD, cnames[-1]))
    cnames.append(_TC_CSIZES[cflag & _TC_CSIZE])
    ctexts.append(_styled(cflag & _TC_CSIZE, cnames[-1]))
    ctext, more = _tc_flags(cflag & ~(_TC_CBAUD | _TC_CIBAUD | _TC_CSIZE), _TC_CFLAGS)
    ctext = "|".join(ctexts) + "|" + ctext
    cnames += more
    ltext, lnames = _tc_flags(lflag, _TC_LFLAGS)
    text = f"{{c_iflag={itext}, c_oflag={otext}, c_cflag={ctext}, c_lflag={ltext}, ...}}"
    return text, {"c_iflag": inames, "c_oflag": onames, "c_cflag": cnames, "c_lflag": lnames}


_TC_CC = ("VINTR", "VQUIT", "VERASE", "VKILL", "VEOF", "VTIME", "VMIN", "VSWTC", "VSTART",
          "VSTOP", "VSUSP", "VEOL", "VREPRINT", "VDISCARD", "VWERASE", "VLNEXT",
          "VEOL2")  # fmt: skip
_LDISCS = {0: "N_TTY"}


def _termios_at(c, addr: int, termio: bool) -> Arg:
    # struct termios: four u32 words; the old struct termio: four u16 words.
    verbose = c.verbose and not termio
    try:
        raw = c.mem.read(addr, 8 if termio else (36 if verbose else 16))
    except OSError:
        return Arg(f"{addr:#x}", addr)
    text, value = _termios_text(*struct.unpack_from("<4H" if termio else "<4I", raw))
    if verbose:  # strace -v: then c_line and c_cc (the kernel's 19 characters)
        line = raw[16]
        cc = ", ".join(
            f"[{_TC_CC[k] if k < len(_TC_CC) else k}]={_hex(ch)}" for k, ch in enumerate(raw[17:36])
        )
        text = f"{text[:-6]}, c_line={_xlat(line, _LDISCS)[0]}, c_cc=[{cc}]}}"
        value.update(c_line=line, c_cc=list(raw[17:36]))
    return Arg(text, value)


def _ioctl(c):
    req = c.args[1] & 0xFFFFFFFF
    name = _IOCTL.get(req)
    rtext = _IOCTL_TEXT.get(req) or name or _misc.ioctl_code(req)
    out = [_fd(c, 0), Arg(_styled(req, rtext), name or req)]
    if req in _IOCTL_NOARG:
        return out
    arg = c.args[2]
    if req in _IOCTL_TERMIOS_OUT:
        out.append(c.out(arg) or _termios_at(c, arg, req == 0x5405))
    elif req in _IOCTL_TERMIOS_IN:
        out.append(_termios_at(c, arg, req >= 0x5406) if arg else Arg("NULL", None))
    elif req in _IOCTL_INT_OUT:
        out.append(_intptr_out(c, 2))
    elif req in _IOCTL_INT_IN:
        out.append(_intptr_in(c, 2))
    elif req in (0x5413, 0x5414) and (req == 0x5414 or c.ok) and arg:
        try:
            r, col, x, y = struct.unpack("<HHHH", c.mem.read(arg, 8))
        except OSError:
            out.append(_ptr(c, 2))
        else:
            out.append(
                Arg(
                    f"{{ws_row={r}, ws_col={col}, ws_xpixel={x}, ws_ypixel={y}}}",
                    {"ws_row": r, "ws_col": col, "ws_xpixel": x, "ws_ypixel": y},
                )
            )
    elif req == 0x540B:
        out.append(Arg(*_xlat(arg, _TCFLSH, "TC???")))
    elif req == 0x540A:
        out.append(Arg(*_xlat(arg, _TCXONC, "TC???")))
    elif req == 0x4B3A:  # KDSETMODE
        out.append(Arg(*_xlat(arg, _KD_MODES, "KD_???")))
    elif req in (0x540E, 0x5409, 0x5425):  # TIOCSCTTY, TCSBRK, TCSBRKP: an int
        out.append(_int(c, 2))
    elif req == 0x5412:  # TIOCSTI: one character
        out.append(_buf(c, arg, 1))
    else:
        decoder = _misc.IOCTL_ARGS.get(req)
        if decoder is not None:
            out.append(decoder(c, req))
        elif name is None or req in _misc.IOCTL_HEXARG:  # not decoded: strace's %#lx
            out.append(_xlong(c, 2))
        else:
            out.append(_ptr(c, 2))
    return out


def _lseek(c):
    return [_fd(c, 0), _long(c, 1), _enumarg(_SEEK, unknown="SEEK_???")(c, 2)]


def _getdents(c):
    v = c.args[1]
    if not v:
        buf = Arg("NULL", None)
    elif not c.ok:
        buf = Arg(f"{v:#x}", v)
    elif c.verbose:
        buf = _dirents(c, v, c.retval, 64)
    else:
        n = _dirent_count(c, v, c.retval)
        word = "entry" if n == 1 else "entries"
        buf = Arg(f"{v:#x} /* {n} {word} */", {"address": v, "entries": n})
    return [_fd(c, 0), buf, _uint(c, 2)]


def _getdents_old(c):
    """getdents (struct linux_dirent: d_type in the record's last byte)."""
    if c.verbose and c.args[1] and c.ok:
        return [_fd(c, 0), _dirents(c, c.args[1], c.retval, 32), _uint(c, 2)]
    return _getdents(c)


def _dirents(c, addr: int, size: int, bits: int) -> Arg:
    """strace -v's directory entries: every one, each field."""
    try:
        raw = c.mem.read(addr, size)
    except OSError:
        return Arg(f"{addr:#x}", addr)
    items, values, off = [], [], 0
    while off + 19 <= len(raw):
        ino, doff, reclen = struct.unpack_from("<QqH", raw, off)
        if not reclen or off + reclen > len(raw):
            break
        if bits == 64:
            dtype, name = raw[off + 18], raw[off + 19 : off + reclen]
        else:
            dtype, name = raw[off + reclen - 1], raw[off + 18 : off + reclen - 1]
        name = name.split(b"\0", 1)[0]
        tname = _DT.get(dtype, str(dtype))
        ttext = _styled(dtype, tname) if dtype in _DT else tname
        fields = f"d_ino={ino}, d_off={doff}, d_reclen={reclen}"
        if bits == 64:
            items.append(f"{{{fields}, d_type={ttext}, d_name={quote(name, False, c.xflag)}}}")
        else:
            items.append(f"{{{fields}, d_name={quote(name, False, c.xflag)}, d_type={ttext}}}")
        values.append({"d_ino": ino, "d_off": doff, "d_reclen": reclen, "d_type": tname,
                       "d_name": _strval(name)})  # fmt: skip
        off += reclen
    return Arg(f"[{', '.join(items)}]", values)


def _dirent_count(c, addr: int, size: int) -> int:
    try:
        raw = c.mem.read(addr, size)
    except OSError:
        return 0
    n = off = 0
    while off + 18 < len(raw):
        reclen = raw[off + 16] | raw[off + 17] << 8
        if not reclen:
            break
        n += 1
        off += reclen
    return n


def _pollfds(c, addr: int, n: int, revents: bool) -> Arg:
    if not addr:
        return Arg("NULL", None)
    shown = min(n, c.strsize)
    try:
        raw = c.mem.read(addr, 8 * shown)
    except OSError:
        return Arg(f"{addr:#x}", addr)
    texts, values = [], []
    for k in range(shown):
        fd, ev, rev = struct.unpack_from("<ihh", raw, 8 * k)
        if revents:
            if not rev:
                continue
            t, names = _flags(rev & 0xFFFF, _POLL)
            texts.append(f"{{fd={_fdtext(c, fd)}, revents={t}}}")
            values.append({"fd": fd, "revents": names})
        elif fd < 0:  # the kernel ignores the entry: strace shows no events
            texts.append(f"{{fd={fd}}}")
            values.append({"fd": fd})
        else:
            t, names = _flags(ev & 0xFFFF, _POLL)
            texts.append(f"{{fd={_fdtext(c, fd)}, events={t}}}")
            values.append({"fd": fd, "events": names})
    more = ", ..." if n > shown else ""
    return Arg(f"[{', '.join(texts)}{more}]", values)


def _poll(c):
    n = c.args[1] & 0xFFFFFFFF
    return [_pollfds(c, c.args[0], n, False), Arg(str(n), n), _int(c, 2)]


def _entry_time(c, i, usec: bool = False) -> Arg:
    """A timeout the kernel rewrites (select's, ppoll's): as it was at entry, where
    :func:`capture_entry` saved it; read now only when nothing was saved."""
    saved = c.entry.get(i) if c.entry else None
    if saved is None or not c.args[i]:
        return _timespec_at(c, c.args[i], usec)
    if saved.__class__ is not bytes:  # unreadable at entry: its address
        return Arg(f"{c.args[i]:#x}", c.args[i])
    sec, frac = struct.unpack("<qq", saved)
    unit = "tv_usec" if usec else "tv_nsec"
    return Arg(f"{{tv_sec={sec}, {unit}={frac}}}", {"tv_sec": sec, unit: frac})


def _ppoll(c):
    n = c.args[1] & 0xFFFFFFFF
    return [_pollfds(c, c.args[0], n, False), Arg(str(n), n), _entry_time(c, 2),
            _sigset_arg(c, 3, 4), _ulong(c, 4)]  # fmt: skip


def _fdset_at(c, addr: int, nfds: int, saved: bytes | None = None) -> Arg:
    if not addr:
        return Arg("NULL", None)
    nbytes = (min(max(nfds, 0), 1024 * 64) + 7) // 8
    try:
        raw = saved if saved is not None else c.mem.read(addr, nbytes)
    except OSError:
        return Arg(f"{addr:#x}", addr)
    fds = [fd for fd in set_bits(raw) if fd < nfds]
    return Arg(f"[{' '.join(_fdtext(c, fd) for fd in fds)}]", fds)


def _select_sets(c):
    nfds = _s32(c.args[0])
    saved = c.entry or {}
    sets = [_fdset_at(c, c.args[k], nfds, saved.get(k)) for k in (1, 2, 3)]
    return [Arg(str(nfds), nfds), *sets]


def _select(c):
    return [*_select_sets(c), _entry_time(c, 4, usec=True)]


def _pselect6(c):
    sm = c.args[5]
    if not sm:
        smarg = Arg("NULL", None)
    else:
        try:
            ptr, size = struct.unpack("<QQ", c.mem.read(sm, 16))
        except OSError:
            smarg = Arg(f"{sm:#x}", sm)
        else:
            s = _sigset_at(c, ptr, size)
            smarg = Arg(f"{{sigmask={s.text}, sigsetsize={size}}}", {"sigmask": s.value})
    return [*_select_sets(c), _entry_time(c, 4), smarg]


def _nanosleep(c):
    return [_timespec(c, 0), _out_timespec(c, 1)]


def _clockarg(c, i):
    """A clockid: named, ``0x63 /* CLOCK_??? */`` when unknown; a negative one
    (a CPU-time or fd clock, which strace decodes further) as the number."""
    v = _s32(c.args[i])
    return Arg(*_xlat(v, _CLOCKS, "CLOCK_???" if v >= 0 else None))


def _clock_nanosleep(c):
    flags = _s32(c.args[1])
    ftext = _styled(1, "TIMER_ABSTIME") if flags == 1 else str(flags)
    return [_clockarg(c, 0), Arg(ftext, "TIMER_ABSTIME" if flags == 1 else flags),
            _timespec(c, 2), _out_timespec(c, 3)]  # fmt: skip


def _clock_gettime(c):
    v = c.args[1]
    return [_clockarg(c, 0), c.out(v) or _timespec_at(c, v)]


def _exit(c):
    return [_int(c, 0)]


def _getrandom(c):
    v = c.args[0]
    buf = c.out(v) or _buf(c, v, c.retval, xflag=2)
    return [buf, _ulong(c, 1), _flagsarg(_GRND, unknown="GRND_???")(c, 2)]


def _arch_prctl(c):
    code = _s32(c.args[0])
    t, val = _xlat(code, _ARCH_PRCTL)
    return [Arg(t, val), _ptr(c, 1)]


def _resource(c, i) -> Arg:
    res = _s32(c.args[i])
    known = 0 <= res < len(_RLIMIT)
    rtext = _RLIMIT[res] if known else str(res)
    return Arg(_name(res, rtext if known else None, "RLIMIT_???"), rtext)


def _prlimit64(c):
    return [_int(c, 0), _resource(c, 1), _rlimit_at(c, c.args[2], False),
            _rlimit_at(c, c.args[3], True)]  # fmt: skip


def _getrlimit(c):
    return [_resource(c, 0), _rlimit_at(c, c.args[1], True)]


def _setrlimit(c):
    return [_resource(c, 0), _rlimit_at(c, c.args[1], False)]


def _rlimit_at(c, addr: int, out: bool) -> Arg:
    if not addr:
        return Arg("NULL", None)
    if out and not c.ok:
        return Arg(f"{addr:#x}", addr)
    try:
        cur, mx = struct.unpack("<QQ", c.mem.read(addr, 16))
    except OSError:
        return Arg(f"{addr:#x}", addr)

    def lim(v):
        if v == 0xFFFFFFFFFFFFFFFF:
            return _styled(v, "RLIM64_INFINITY", "u")
        return _styled(v, f"{v // 1024}*1024", "u") if v and v % 1024 == 0 else str(v)

    return Arg(f"{{rlim_cur={lim(cur)}, rlim_max={lim(mx)}}}", {"rlim_cur": cur, "rlim_max": mx})


def _futex(c):
    op = c.args[1] & 0xFFFFFFFF
    cmd = op & 0x7F
    name = (_FUTEX_OPS.get(cmd) or str(cmd)) + ("_PRIVATE" if op & 128 else "")
    if op & 256:
        name += "|FUTEX_CLOCK_REALTIME"
    out = [_ptr(c, 0), Arg(_styled(op, name), name), _int(c, 2)]
    if cmd in (0, 9):  # WAIT, WAIT_BITSET: a timeout (WAIT_BITSET: and a bitset)
        out.append(_timespec(c, 3))
        if cmd == 9:
            bits = c.args[5] & 0xFFFFFFFF
            any_bits = _styled(bits, "FUTEX_BITSET_MATCH_ANY")
            out.append(Arg(any_bits if bits == 0xFFFFFFFF else _hex(bits), bits))
    elif cmd in (3, 4):  # REQUEUE, CMP_REQUEUE
        out += [_uint(c, 3), _ptr(c, 4)]
        if cmd == 4:
            out.append(_int(c, 5))
    return out


def _uname(c):
    v = c.args[0]
    done = c.out(v)
    if done:
        return [done]
    try:
        raw = c.mem.read(v, 390 if c.verbose else 130)
    except OSError:
        return [Arg(f"{v:#x}", v)]
    if c.verbose:  # strace -v: all six fields
        fields = ("sysname", "nodename", "release", "version", "machine", "domainname")
        values = [raw[k : k + 65].split(b"\0", 1)[0] for k in range(0, 390, 65)]
        text = ", ".join(f"{f}={quote(v)}" for f, v in zip(fields, values, strict=True))
        return [Arg(f"{{{text}}}", {f: _strval(v) for f, v in zip(fields, values, strict=True)})]
    sysname, nodename = (raw[k : k + 65].split(b"\0", 1)[0] for k in (0, 65))
    return [
        Arg(
            f"{{sysname={quote(sysname)}, nodename={quote(nodename)}, ...}}",
            {"sysname": _strval(sysname), "nodename": _strval(nodename)},
        )
    ]


def _chdir_like(c):
    return [_path(c, 0)]


_FADV = {0: "POSIX_FADV_NORMAL", 1: "POSIX_FADV_RANDOM", 2: "POSIX_FADV_SEQUENTIAL",
         3: "POSIX_FADV_WILLNEED", 4: "POSIX_FADV_DONTNEED", 5: "POSIX_FADV_NOREUSE"}  # fmt: skip


def _fadvise64(c):
    t, v = _xlat(_s32(c.args[3]), _FADV, "POSIX_FADV_???")
    return [_fd(c, 0), _long(c, 1), _long(c, 2), Arg(t, v)]


_ITIMERS = {0: "ITIMER_REAL", 1: "ITIMER_VIRTUAL", 2: "ITIMER_PROF"}
_itimer_which = _enumarg(_ITIMERS, unknown="ITIMER_???")


def _itimerval_at(c, addr: int, unit: str = "tv_usec") -> Arg:
    """An itimerval (``unit`` tv_usec) or an itimerspec (tv_nsec)."""
    if not addr:
        return Arg("NULL", None)
    try:
        isec, ifrac, vsec, vfrac = struct.unpack("<4q", c.mem.read(addr, 32))
    except OSError:
        return Arg(f"{addr:#x}", addr)
    return Arg(
        f"{{it_interval={{tv_sec={isec}, {unit}={ifrac}}}, "
        f"it_value={{tv_sec={vsec}, {unit}={vfrac}}}}}",
        {"it_interval": {"tv_sec": isec, unit: ifrac},
         "it_value": {"tv_sec": vsec, unit: vfrac}},
    )  # fmt: skip


_SIGEV_NOTIFY = {0: "SIGEV_SIGNAL", 1: "SIGEV_NONE", 2: "SIGEV_THREAD", 4: "SIGEV_THREAD_ID"}


def _sigevent_at(c, addr: int) -> Arg:
    """A struct sigevent, with the fields strace 6.1 shows for its sigev_notify."""
    if not addr:
        return Arg("NULL", None)
    try:
        raw = c.mem.read(addr, 32)
    except OSError:
        return Arg(f"{addr:#x}", addr)
    sival, signo, notify = struct.unpack_from("<Qii", raw)
    parts, value = [], {}
    if sival:
        parts.append(f"sigev_value={{sival_int={_s32(sival)}, sival_ptr={sival:#x}}}")
        value["sigev_value"] = sival
    if notify in (0, 2, 4):  # a signal is sent: its name
        stext, sval = _sigtext(signo), signame(signo) if signo > 0 else str(signo)
    else:
        stext = sval = str(signo & 0xFFFFFFFF)
    nname = _SIGEV_NOTIFY.get(notify)
    ntext = _name(notify, nname, "SIGEV_???")
    parts += [f"sigev_signo={stext}", f"sigev_notify={ntext}"]
    value.update(sigev_signo=sval, sigev_notify=nname or f"{notify:#x} /* SIGEV_??? */")
    if notify == 4:
        (tid,) = struct.unpack_from("<i", raw, 16)
        parts.append(f"sigev_notify_thread_id={tid}")
        value["sigev_notify_thread_id"] = tid
    elif notify == 2:
        function, attributes = struct.unpack_from("<QQ", raw, 16)
        parts += [f"sigev_notify_function={_addr(function)}",
                  f"sigev_notify_attributes={_addr(attributes)}"]  # fmt: skip
        value.update(sigev_notify_function=function, sigev_notify_attributes=attributes)
    return Arg("{" + ", ".join(parts) + "}", value)


def _timer_create(c):
    out = c.args[2]
    tid = c.out(out)
    if tid is None:
        try:
            (n,) = struct.unpack("<i", c.mem.read(out, 4))
            tid = Arg(f"[{n}]", n)
        except OSError:
            tid = Arg(f"{out:#x}", out)
    return [_clockarg(c, 0), _sigevent_at(c, c.args[1]), tid]


def _timer_flags(c, i):
    flags = _s32(c.args[i])
    if flags == 1:
        return Arg(_styled(1, "TIMER_ABSTIME"), "TIMER_ABSTIME")
    return Arg(str(flags), flags)


def _timer_settime(c):
    old = c.args[3]
    return [_int(c, 0), _timer_flags(c, 1), _itimerval_at(c, c.args[2], "tv_nsec"),
            c.out(old) or _itimerval_at(c, old, "tv_nsec")]  # fmt: skip


def _timer_gettime(c):
    cur = c.args[1]
    return [_int(c, 0), c.out(cur) or _itimerval_at(c, cur, "tv_nsec")]


def _setitimer(c):
    old = c.args[2]
    return [_itimer_which(c, 0), _itimerval_at(c, c.args[1]),
            c.out(old) or _itimerval_at(c, old)]  # fmt: skip


def _getitimer(c):
    cur = c.args[1]
    return [_itimer_which(c, 0), c.out(cur) or _itimerval_at(c, cur)]


_SYSINFO_FIELDS = ("totalram", "freeram", "sharedram", "bufferram", "totalswap", "freeswap")


def _sysinfo(c):
    v = c.args[0]
    done = c.out(v)
    if done:
        return [done]
    try:
        raw = c.mem.read(v, 112)
    except OSError:
        return [Arg(f"{v:#x}", v)]
    uptime, l1, l2, l3, *mem = struct.unpack_from("<q9Q", raw)
    (procs,) = struct.unpack_from("<H", raw, 80)
    high, freehigh, unit = struct.unpack_from("<QQI", raw, 88)
    sizes = dict(zip(_SYSINFO_FIELDS, mem, strict=True))
    value = {"uptime": uptime, "loads": [l1, l2, l3], **sizes,
             "procs": procs, "totalhigh": high, "freehigh": freehigh, "mem_unit": unit}  # fmt: skip
    text = ", ".join(f"{k}={value[k]}" for k in _SYSINFO_FIELDS)
    return [
        Arg(
            f"{{uptime={uptime}, loads=[{l1}, {l2}, {l3}], {text}, procs={procs}, "
            f"totalhigh={high}, freehigh={freehigh}, mem_unit={unit}}}",
            value,
        )
    ]


# fmt: off
_CAPS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)
# fmt: on
_CAP_LO = tuple((1 << n, "1<<" + name) for n, name in enumerate(_CAPS[:32]))
_CAP_HI = tuple((1 << n, "1<<" + name) for n, name in enumerate(_CAPS[32:]))
_CAP_VERSIONS = {0x19980330: "_LINUX_CAPABILITY_VERSION_1",
                 0x20071026: "_LINUX_CAPABILITY_VERSION_2",
                 0x20080522: "_LINUX_CAPABILITY_VERSION_3"}  # fmt: skip


def _cap_name(v: int) -> tuple[str, int | str]:
    if 0 <= v < len(_CAPS):
        return _styled(v, _CAPS[v]), _CAPS[v]
    return _name(v, None, "CAP_???"), v


def _cap_header(c) -> tuple[Arg, int]:
    v = c.args[0]
    if not v:
        return Arg("NULL", None), 0
    try:
        version, pid = struct.unpack("<Ii", c.mem.read(v, 8))
    except OSError:
        return Arg(f"{v:#x}", v), 0
    vtext, vval = _xlat(version, _CAP_VERSIONS, "_LINUX_CAPABILITY_VERSION_???")
    return Arg(f"{{version={vtext}, pid={pid}}}", {"version": vval, "pid": pid}), version


def _cap_bits(lo: int, hi: int) -> tuple[str, list[str]]:
    """strace's print_cap_bits: the low and the high word each as flags of its
    own, joined by ``|`` (``0xfeffffff|0x1ff`` under -X raw)."""
    if not hi:
        return _flags_or_unknown(lo, _CAP_LO, "CAP_???")
    text, names = _flags_or_unknown(hi, _CAP_HI, "CAP_???")
    if lo:
        lo_text, lo_names = _flags_or_unknown(lo, _CAP_LO, "CAP_???")
        text, names = f"{lo_text}|{text}", lo_names + names
    return text, names


def _cap_data_at(c, addr: int, version: int) -> Arg:
    # Version 1 has one struct of 32-bit sets; 2 and 3 two (low and high words).
    two = version in (0x20071026, 0x20080522)
    try:
        raw = c.mem.read(addr, 24 if two else 12)
    except OSError:
        return Arg(f"{addr:#x}", addr)
    words = struct.unpack("<6I" if two else "<3I", raw)
    sets = words[:3] if not two else [words[k] | words[k + 3] << 32 for k in range(3)]
    texts, value = [], {}
    for label, bits in zip(("effective", "permitted", "inheritable"), sets, strict=True):
        t, names = _cap_bits(bits & 0xFFFFFFFF, bits >> 32)
        texts.append(f"{label}={t}")
        value[label] = [n[3:] if n.startswith("1<<") else n for n in names]
    return Arg("{" + ", ".join(texts) + "}", value)


def _capget(c):
    header, version = _cap_header(c)
    v = c.args[1]
    return [header, c.out(v) or _cap_data_at(c, v, version)]


def _capset(c):
    header, version = _cap_header(c)
    v = c.args[1]
    return [header, _cap_data_at(c, v, version) if v else Arg("NULL", None)]


_PR_OPTIONS = {
    1: "PR_SET_PDEATHSIG", 2: "PR_GET_PDEATHSIG", 3: "PR_GET_DUMPABLE", 4: "PR_SET_DUMPABLE",
    5: "PR_GET_UNALIGN", 6: "PR_SET_UNALIGN", 7: "PR_GET_KEEPCAPS", 8: "PR_SET_KEEPCAPS",
    9: "PR_GET_FPEMU", 10: "PR_SET_FPEMU", 11: "PR_GET_FPEXC", 12: "PR_SET_FPEXC",
    13: "PR_GET_TIMING", 14: "PR_SET_TIMING", 15: "PR_SET_NAME", 16: "PR_GET_NAME",
    19: "PR_GET_ENDIAN", 20: "PR_SET_ENDIAN", 21: "PR_GET_SECCOMP", 22: "PR_SET_SECCOMP",
    23: "PR_CAPBSET_READ", 24: "PR_CAPBSET_DROP", 25: "PR_GET_TSC", 26: "PR_SET_TSC",
    27: "PR_GET_SECUREBITS", 28: "PR_SET_SECUREBITS", 29: "PR_SET_TIMERSLACK",
    30: "PR_GET_TIMERSLACK", 31: "PR_TASK_PERF_EVENTS_DISABLE",
    32: "PR_TASK_PERF_EVENTS_ENABLE", 33: "PR_MCE_KILL", 34: "PR_MCE_KILL_GET",
    35: "PR_SET_MM", 36: "PR_SET_CHILD_SUBREAPER", 37: "PR_GET_CHILD_SUBREAPER",
    38: "PR_SET_NO_NEW_PRIVS", 39: "PR_GET_NO_NEW_PRIVS", 40: "PR_GET_TID_ADDRESS",
    41: "PR_SET_THP_DISABLE", 42: "PR_GET_THP_DISABLE", 43: "PR_MPX_ENABLE_MANAGEMENT",
    44: "PR_MPX_DISABLE_MANAGEMENT", 45: "PR_SET_FP_MODE", 46: "PR_GET_FP_MODE",
    47: "PR_CAP_AMBIENT", 50: "PR_SVE_SET_VL", 51: "PR_SVE_GET_VL",
    52: "PR_GET_SPECULATION_CTRL", 53: "PR_SET_SPECULATION_CTRL", 54: "PR_PAC_RESET_KEYS",
    55: "PR_SET_TAGGED_ADDR_CTRL", 56: "PR_GET_TAGGED_ADDR_CTRL", 57: "PR_SET_IO_FLUSHER",
    58: "PR_GET_IO_FLUSHER", 59: "PR_SET_SYSCALL_USER_DISPATCH",
    60: "PR_PAC_SET_ENABLED_KEYS", 61: "PR_PAC_GET_ENABLED_KEYS", 62: "PR_SCHED_CORE",
    0x53564D41: "PR_SET_VMA", 0x59616D61: "PR_SET_PTRACER",
}  # fmt: skip
_PR_DUMPABLE = {0: "SUID_DUMP_DISABLE", 1: "SUID_DUMP_USER", 2: "SUID_DUMP_ROOT"}
_PR_CAP_AMBIENT = {1: "PR_CAP_AMBIENT_IS_SET", 2: "PR_CAP_AMBIENT_RAISE",
                   3: "PR_CAP_AMBIENT_LOWER", 4: "PR_CAP_AMBIENT_CLEAR_ALL"}  # fmt: skip
_SECCOMP_MODES = {0: "SECCOMP_MODE_DISABLED", 1: "SECCOMP_MODE_STRICT", 2: "SECCOMP_MODE_FILTER"}
_PR_NO_ARGS = frozenset((3, 7, 13, 21, 30, 31, 32))  # GET_DUMPABLE, GET_KEEPCAPS...
_PR_UINT_ARG = frozenset((8, 10, 12, 14, 20, 36))  # SET_KEEPCAPS, SET_CHILD_SUBREAPER...
_PR_INT_OUT = frozenset((9, 11, 19, 37))  # GET_FPEMU, GET_FPEXC, GET_ENDIAN, GET_CHILD_SUBREAPER
_PR_UINT_THEN_HEX = frozenset((38, 41, 57))  # SET_NO_NEW_PRIVS, SET_THP_DISABLE, SET_IO_FLUSHER


def _prctl_hex(c, first: int) -> list[Arg]:
    return [Arg(_hex(c.args[k]), c.args[k]) for k in range(first, 5)]


def _prctl(c):
    option = c.args[0] & 0xFFFFFFFF
    otext, oval = _xlat(option, _PR_OPTIONS, "PR_???")
    out = [Arg(otext, oval)]
    arg2 = c.args[1]
    if option in _PR_NO_ARGS:
        return out
    if option in _PR_UINT_ARG:
        return [*out, Arg(str(arg2), arg2)]
    if option in _PR_UINT_THEN_HEX:
        return [*out, Arg(str(arg2), arg2), *_prctl_hex(c, 2)]
    if option in (23, 24):  # PR_CAPBSET_READ, PR_CAPBSET_DROP
        return [*out, Arg(*_cap_name(arg2))]
    if option == 4:
        return [*out, Arg(*_xlat(arg2, _PR_DUMPABLE, "SUID_DUMP_???"))]
    if option == 1:  # PR_SET_PDEATHSIG
        if arg2 > 128:
            return [*out, Arg(str(arg2), arg2)]
        name = signame(arg2) if arg2 else "0"
        return [*out, Arg(_sigtext(arg2), name if arg2 else 0)]
    if option == 2:  # PR_GET_PDEATHSIG: [SIGKILL]
        done = c.out(arg2)
        if done:
            return [*out, done]
        try:
            sig = _int_at(c, arg2)
        except OSError:
            return [*out, Arg(f"{arg2:#x}", arg2)]
        name = signame(sig) if sig > 0 else str(sig)
        return [*out, Arg(f"[{_sigtext(sig)}]", [name])]
    if option in _PR_INT_OUT:  # [N]
        return [*out, _intptr_out(c, 1)]
    if option in (15, 16):  # PR_SET_NAME, PR_GET_NAME: the comm, at most 16 bytes
        if option == 16 and not c.ok:
            return [*out, _ptr(c, 1)]
        if not arg2:
            return [*out, Arg("NULL", None)]
        try:
            data, complete = _read_cstr(c, arg2, 15 if option == 15 else 16)
        except OSError:
            return [*out, Arg(f"{arg2:#x}", arg2)]
        return [*out, Arg(quote(data, not complete, c.xflag), _strval(data))]
    if option == 47:  # PR_CAP_AMBIENT
        out.append(Arg(*_xlat(arg2, _PR_CAP_AMBIENT, "PR_CAP_AMBIENT_???")))
        if arg2 in (1, 2, 3):
            return [*out, Arg(*_cap_name(c.args[2])), *_prctl_hex(c, 3)]
        return [*out, *_prctl_hex(c, 2)]
    if option == 22:  # PR_SET_SECCOMP
        out.append(Arg(*_xlat(arg2, _SECCOMP_MODES, "SECCOMP_MODE_???")))
        if arg2 == 1:
            return out
        if arg2 == 2:
            return [*out, _sock_fprog(c, c.args[2])]
        return [*out, *_prctl_hex(c, 2)]
    if option == 29:  # PR_SET_TIMERSLACK
        return [*out, _long(c, 1)]
    if option == 0x59616D61:  # PR_SET_PTRACER
        if _s32(arg2) == -1:
            return [*out, Arg(_styled(arg2, "PR_SET_PTRACER_ANY"), "PR_SET_PTRACER_ANY")]
        return [*out, Arg(str(arg2), arg2)]
    if option == 0x53564D41 and arg2 == 0:  # PR_SET_VMA, PR_SET_VMA_ANON_NAME
        return [*out, Arg(_styled(0, "PR_SET_VMA_ANON_NAME"), "PR_SET_VMA_ANON_NAME"), _ptr(c, 2),
                _ulong(c, 3), _str(c, 4)]  # fmt: skip
    return [*out, *_prctl_hex(c, 1)]


def _sock_fprog(c, addr: int) -> Arg:
    """struct sock_fprog: strace's abbreviated ``{len=N, filter=0x...}``."""
    if not addr:
        return Arg("NULL", None)
    try:
        n, filt = struct.unpack("<H6xQ", c.mem.read(addr, 16))
    except OSError:
        return Arg(f"{addr:#x}", addr)
    return Arg(f"{{len={n}, filter={_addr(filt)}}}", {"len": n, "filter": filt or None})


_FS_MAGIC = {
    0xEF53: "EXT2_SUPER_MAGIC", 0x01021994: "TMPFS_MAGIC", 0x9FA0: "PROC_SUPER_MAGIC",
    0x62656572: "SYSFS_MAGIC", 0x1CD1: "DEVPTS_SUPER_MAGIC", 0x794C7630: "OVERLAYFS_SUPER_MAGIC",
    0x63677270: "CGROUP2_SUPER_MAGIC", 0x27E0EB: "CGROUP_SUPER_MAGIC",
    0x58465342: "XFS_SUPER_MAGIC", 0x9123683E: "BTRFS_SUPER_MAGIC", 0x6969: "NFS_SUPER_MAGIC",
    0x6E736673: "NSFS_MAGIC", 0x73717368: "SQUASHFS_MAGIC", 0x65735546: "FUSE_SUPER_MAGIC",
    0xCAFE4A11: "BPF_FS_MAGIC", 0x64626720: "DEBUGFS_MAGIC", 0x74726163: "TRACEFS_MAGIC",
    0x73636673: "SECURITYFS_MAGIC", 0xF97CFF8C: "SELINUX_MAGIC", 0x4D44: "MSDOS_SUPER_MAGIC",
    0x9660: "ISOFS_SUPER_MAGIC", 0x858458F6: "RAMFS_MAGIC", 0x01021997: "V9FS_MAGIC",
    0x42494E4D: "BINFMTFS_MAGIC", 0x50495045: "PIPEFS_MAGIC", 0x534F434B: "SOCKFS_MAGIC",
    0x958458F6: "HUGETLBFS_MAGIC", 0x19800202: "MQUEUE_MAGIC", 0xF2F52010: "F2FS_SUPER_MAGIC",
}  # fmt: skip
_ST_FLAGS = ((1, "ST_RDONLY"), (2, "ST_NOSUID"), (4, "ST_NODEV"), (8, "ST_NOEXEC"),
             (0x10, "ST_SYNCHRONOUS"), (0x20, "ST_VALID"), (0x40, "ST_MANDLOCK"),
             (0x80, "ST_WRITE"), (0x100, "ST_APPEND"), (0x200, "ST_IMMUTABLE"),
             (0x400, "ST_NOATIME"), (0x800, "ST_NODIRATIME"), (0x1000, "ST_RELATIME"),
             (0x2000, "ST_NOSYMFOLLOW"))  # fmt: skip
_STATFS_COUNTS = ("f_blocks", "f_bfree", "f_bavail", "f_files", "f_ffree")


def _statfs_buf(c, i):
    v = c.args[i]
    done = c.out(v)
    if done:
        return done
    try:
        raw = c.mem.read(v, _STATFS_SIZE)
    except OSError:
        return Arg(f"{v:#x}", v)
    ftype, bsize, *counts = struct.unpack_from("<qq5Q", raw)
    fsid = struct.unpack_from("<II", raw, 56)
    namelen, frsize, flags = struct.unpack_from("<qqq", raw, 64)
    tname = _FS_MAGIC.get(ftype)
    ttext = tname or _hex(ftype)
    ftext, fnames = _flags(flags, _ST_FLAGS, "0")
    value = {"f_type": ttext, "f_bsize": bsize, **dict(zip(_STATFS_COUNTS, counts, strict=True)),
             "f_fsid": list(fsid), "f_namelen": namelen, "f_frsize": frsize,
             "f_flags": fnames}  # fmt: skip
    sizes = ", ".join(f"{k}={n}" for k, n in zip(_STATFS_COUNTS, counts, strict=True))
    return Arg(
        f"{{f_type={_name(ftype, tname)}, f_bsize={bsize}, {sizes}, "
        f"f_fsid={{val=[{_hex(fsid[0])}, {_hex(fsid[1])}]}}, f_namelen={namelen}, "
        f"f_frsize={frsize}, f_flags={ftext}}}",
        value,
    )


def _getgroups(c):
    # The list is written only when size is not 0 (then retval says how many).
    size = _s32(c.args[0])
    v = c.args[1]
    done = c.out(v) if size or not v else None
    if done:
        return [Arg(str(size), size), done]
    n = min(c.retval, 1 << 16) if size else 0
    try:
        raw = c.mem.read(v, 4 * n) if n else b""
    except OSError:
        return [Arg(str(size), size), Arg(f"{v:#x}", v)]
    gids = [g for (g,) in struct.iter_unpack("<I", raw)]
    shown = gids[: c.strsize]
    more = ", ..." if len(gids) > len(shown) else ""
    return [Arg(str(size), size), Arg(f"[{', '.join(map(str, shown))}{more}]", gids)]


# --- the table ----------------------------------------------------------------------

# A tuple of argument decoders, or a function of the whole context.
_P, _D, _I, _U, _L, _UL, _X = _path, _dirfd, _int, _uint, _long, _ulong, _ptr
_SIGS: dict = {
    # files and descriptors
    "read": (_fd, _outbuf, _ulong),
    "write": (_fd, _inbuf, _ulong),
    "pread64": (_fd, _outbuf, _ulong, _long),
    "pwrite64": (_fd, _inbuf, _ulong, _long),
    "readv": _readv,
    "writev": _writev,
    "preadv": _preadv,
    "pwritev": _pwritev,
    "preadv2": _preadv2,
    "pwritev2": _pwritev2,
    "open": _open,
    "openat": _openat,
    "openat2": _openat2,
    "creat": (_P, _octal),
    "close": (_fd_entry,),
    "close_range": (_U, _U, _flagsarg(_CLOSE_RANGE, unknown="CLOSE_RANGE_???")),
    "sync_file_range": (
        _fd,
        _long,
        _long,
        _flagsarg(_SYNC_FILE_RANGE, unknown="SYNC_FILE_RANGE_???"),
    ),
    "splice": (_fd, _ptr, _fd, _ptr, _ulong, _flagsarg(_SPLICE_F, unknown="SPLICE_F_???")),
    "tee": (_fd, _fd, _ulong, _flagsarg(_SPLICE_F, unknown="SPLICE_F_???")),
    "kcmp": (_int, _int, _enumarg(_KCMP, unknown="KCMP_???"), _ulong, _ulong),
    "stat": (_P, _stat),
    "lstat": (_P, _stat),
    "fstat": (_fd, _stat),
    "newfstatat": _newfstatat,
    "statx": _statx_call,
    "access": (_P, _accessmode),
    "faccessat": (_D, _P, _accessmode),
    "faccessat2": _faccessat2,
    "execve": _execve,
    "execveat": _execveat,
    "dup": (_fd,),
    "dup2": _dup2,
    "dup3": _dup3,
    "pipe": (_pipefds,),
    "pipe2": _pipe2,
    "fcntl": _fcntl,
    "ioctl": _ioctl,
    "lseek": _lseek,
    "chdir": _chdir_like,
    "fchdir": (_fd,),
    "chroot": _chdir_like,
    "getcwd": (_outpath, _ulong),
    "mkdir": (_P, _octal),
    "mkdirat": (_D, _P, _octal),
    "rmdir": _chdir_like,
    "unlink": _chdir_like,
    "unlinkat": _unlinkat,
    "rename": (_P, _P),
    "renameat": (_D, _P, _D, _P),
    "renameat2": _renameat2,
    "link": (_P, _P),
    "linkat": _linkat,
    "symlink": (_P, _P),
    "symlinkat": (_P, _D, _P),
    "readlink": (_P, _outbuf, _ulong),
    "readlinkat": (_D, _P, _outbuf, _ulong),
    "chmod": (_P, _octal),
    "fchmod": (_fd, _octal),
    "fchmodat": _fchmodat,
    "truncate": (_P, _L),
    "ftruncate": (_fd, _L),
    "fsync": (_fd,),
    "fdatasync": (_fd,),
    "umask": (_octal,),
    "getdents64": _getdents,
    "getdents": _getdents_old,
    "statfs": (_P, _statfs_buf),
    "fstatfs": (_fd, _statfs_buf),
    "getgroups": _getgroups,
    # sockets
    "socket": _socket,
    "socketpair": _socketpair,
    "connect": _sockaddr_in,
    "bind": _sockaddr_in,
    "listen": _listen,
    "accept": _accept,
    "accept4": _accept4,
    "getsockname": _accept,
    "getpeername": _accept,
    "shutdown": _shutdown,
    "sendto": _sendto,
    "recvfrom": _recvfrom,
    "sendmsg": _sendmsg,
    "recvmsg": _recvmsg,
    "sendmmsg": _sendmmsg,
    "recvmmsg": _recvmmsg,
    "setsockopt": _setsockopt,
    "getsockopt": _getsockopt,
    # waiting
    "poll": _poll,
    "ppoll": _ppoll,
    "select": _select,
    "pselect6": _pselect6,
    "nanosleep": _nanosleep,
    "clock_nanosleep": _clock_nanosleep,
    "clock_gettime": _clock_gettime,
    "futex": _futex,
    # memory
    "mmap": _mmap,
    "mprotect": _mprotect,
    "munmap": (_X, _ulong),
    "brk": (_X,),
    "mremap": _mremap,
    "madvise": (_X, _ulong, _enumarg(_MADV, unknown="MADV_???")),
    # processes and signals
    "clone": _clone,
    "clone3": _clone3,
    "unshare": _unshare,
    "setns": _setns,
    "wait4": _wait4,
    "waitid": _waitid,
    "kill": _kill,
    "tkill": _kill,
    "tgkill": _tgkill,
    "rt_sigaction": _rt_sigaction,
    "sigaltstack": _sigaltstack,
    "timer_create": _timer_create,
    "timer_settime": _timer_settime,
    "timer_gettime": _timer_gettime,
    "timer_delete": (_int,),
    "timer_getoverrun": (_int,),
    "rt_sigprocmask": _rt_sigprocmask,
    "rt_sigsuspend": _rt_sigsuspend,
    "rt_sigreturn": _rt_sigreturn,
    "exit": _exit,
    "exit_group": _exit,
    "setpgid": (_I, _I),
    "getpgid": (_I,),
    "getsid": (_I,),
    "set_tid_address": (_X,),
    "set_robust_list": (_X, _ulong),
    "arch_prctl": _arch_prctl,
    "prlimit64": _prlimit64,
    "getrlimit": _getrlimit,
    "setrlimit": _setrlimit,
    "getrandom": _getrandom,
    "alarm": (_U,),
    "rseq": (_X, _xlong, _I, _xlong),
    "uname": _uname,
    "epoll_create1": (_flagsarg(((0o2000000, "EPOLL_CLOEXEC"),), unknown="EPOLL_???"),),
    "eventfd2": (
        _U,
        _flagsarg(((0o2000000, "EFD_CLOEXEC"), (0o4000, "EFD_NONBLOCK"), (1, "EFD_SEMAPHORE"))),
    ),
    "pidfd_open": (_I, _flagsarg(((0o4000, "PIDFD_NONBLOCK"),), unknown="PIDFD_???")),
    "pidfd_send_signal": _pidfd_send_signal,
    "rt_sigqueueinfo": _rt_sigqueueinfo,
    "rt_tgsigqueueinfo": _rt_tgsigqueueinfo,
    "pidfd_getfd": (_fd, _I, _U),
    "pause": (),
    "sched_yield": (),
    "fadvise64": _fadvise64,
    "setitimer": _setitimer,
    "getitimer": _getitimer,
    "sysinfo": _sysinfo,
    "capget": _capget,
    "capset": _capset,
    "prctl": _prctl,
}
# fmt: off
_NO_ARGS = (
    "getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getpgrp",
    "setsid", "fork", "vfork", "sync", "munlockall", "inotify_init", "restart_syscall",
)
# fmt: on
for _n in _NO_ARGS:
    _SIGS[_n] = ()


def decode_call(
    name: str,
    args: tuple[int, ...],
    mem,
    *,
    strsize: int = 32,
    fd_path=None,
    exiting: bool = True,
    retval: int | None = None,
    entry: dict | None = None,
    xflag: int = 0,
    verbose: bool = False,
    xstyle: int = ABBREV,
) -> list[Arg]:
    """Decode a syscall's arguments as strace prints them.

    ``args`` are the raw register values (six, or as many as the call takes);
    ``mem`` reads the tracee's memory (``read(addr, size)`` and
    ``read_cstring(addr, limit)``, either may raise OSError: the argument then
    shows as an address).  ``fd_path(fd) -> str | None`` adds strace's ``-y``
    decoration (bind a pid with :func:`fd_path`).  Output arguments are decoded
    when ``exiting`` and ``retval`` says the call succeeded; before that, or after a
    failure, they show as addresses, as strace shows them.  ``retval`` is the
    signed result (``-errno`` on failure).  ``entry`` is what
    :func:`capture_entry` saved at syscall entry, for value-result arguments.
    ``verbose``: strace's -v, structures unabbreviated (stat's every field,
    execve's environment, getdents' entries).  ``xstyle``: strace's -X, how
    named constants show (ABBREV: names, RAW: numbers, VERBOSE: both).
    """
    global _XSTYLE
    _XSTYLE = xstyle
    c = _Ctx(args, mem, strsize, fd_path, exiting, retval, entry, xflag, verbose)
    sig = _SIGS.get(name)
    if sig is None:
        sig = _SIGS[name] = _from_prototype(name)
        if sig is None:
            # A call nobody describes: strace's printargs, every argument in hex.
            return [Arg(_hex(v), v) for v in args]
    if callable(sig):
        return sig(c)
    return [f(c, i) for i, f in enumerate(sig)]


# --- capture now, decode later ---------------------------------------------------
#
# The tracer resumes a tracee as soon as it can: a sink that decodes a call after
# the resume lets the tracee run while the line is formatted.  But the tracee's
# memory must be read before, while it is stopped, or the program may have
# changed it.  ``capture`` reads, for the calls whose signature is made of the
# decoders below, exactly what those decoders will read, into a ``Snapshot``
# that ``decode_call`` then reads from as it would from the tracee.


class Snapshot:
    """Reads of a stopped tracee's memory, replayed later by the decoders."""

    __slots__ = ("_reads",)

    def __init__(self) -> None:
        self._reads: dict = {}

    def _keep(self, key, read, addr: int, size: int) -> None:
        try:
            self._reads[key] = read(addr, size)
        except OSError as err:
            self._reads[key] = err

    def take(self, mem, addr: int, size: int) -> None:
        self._keep((addr, size), mem.read, addr, size)

    def take_cstring(self, mem, addr: int, limit: int) -> None:
        self._keep((addr, -limit), mem.read_cstring, addr, limit)

    def _replay(self, key):
        got = self._reads.get(key)
        if got.__class__ is bytes:
            return got
        if got is None:  # not captured: a decoder read what its capture did not
            raise OSError(14, "not captured", key)
        raise got

    def read(self, addr: int, size: int) -> bytes:
        if size > 65536:
            size = 65536
        return self._replay((addr, size)) if size > 0 else b""

    def read_cstring(self, addr: int, limit: int) -> bytes:
        return self._replay((addr, -limit))


def _cap_buf(c, snap, addr, length):
    if addr and length > 0:
        snap.take(c.mem, addr, min(length, c.strsize, 65536))


def _cap_out(size):
    """An output structure of ``size`` bytes, filled when the call succeeded."""

    def cap(c, snap, i):
        v = c.args[i]
        if v and c.ok:
            snap.take(c.mem, v, size)

    return cap


def _cap_path(c, snap, i):
    if c.args[i]:
        snap.take_cstring(c.mem, c.args[i], 4097)


def _cap_outpath(c, snap, i):
    if c.args[i] and c.ok:
        snap.take_cstring(c.mem, c.args[i], 4097)


#: For each decoder that reads memory, what it reads (same addresses, same sizes).
_CAPTURES = {
    _path: _cap_path,
    _inbuf: lambda c, snap, i: _cap_buf(c, snap, c.args[i], c.args[i + 1]),
    _outbuf: lambda c, snap, i: c.ok and _cap_buf(c, snap, c.args[i], c.retval),
    _outpath: _cap_outpath,
    _stat: _cap_out(_STAT_SIZE),
    _statfs_buf: _cap_out(_STATFS_SIZE),
    _pipefds: _cap_out(_PIPEFDS_SIZE),
}
_PURE.update((_int, _uint, _long, _ulong, _xlong, _ptr, _fd, _fd_entry, _dirfd, _octal, _oflags))
#: Calls whose result text reads memory too (format_result), or that are decoded
#: at entry: never deferred.
_NOT_DEFERRED = frozenset(("poll", "ppoll", "select", "pselect6", "recvmmsg", "execve", "execveat"))
_PLANS: dict = {}


def _plan(name: str):
    """(argument index, capture) for ``name``'s arguments that read memory, or
    None when the call cannot be deferred (a decoder that is not described)."""
    sig = _SIGS.get(name)
    if name in _NOT_DEFERRED or sig is None or callable(sig):
        return None
    plan = []
    for i, f in enumerate(sig):
        if f in _CAPTURES:
            plan.append((i, _CAPTURES[f]))
        elif f not in _PURE:
            return None
    return tuple(plan)


def capture(name: str, args, mem, retval, *, strsize: int = 32) -> Snapshot | None:
    """Read now what ``decode_call(name, args, snapshot, ...)`` will read later.

    Returns the snapshot, or None when ``name`` is not one of the calls this can
    be done for (decode it now, from ``mem``).  Decoding from the snapshot gives
    the same text as decoding from ``mem`` would have at this moment, for the
    same ``strsize`` and ``retval`` and without ``fd_path`` (-y reads /proc).
    """
    plan = _PLANS.get(name, False)
    if plan is False:
        plan = _PLANS[name] = _plan(name)
    if plan is None:
        return None
    snap = Snapshot()
    if plan:
        c = _Ctx(args, mem, strsize, None, True, retval, None, 0)
        for i, cap in plan:
            cap(c, snap, i)
    return snap


# fmt: off
_PATH_NAMES = frozenset((
    "path", "pathname", "filename", "oldname", "newname", "dir_name", "dev_name",
    "specialfile", "library", "old_path", "new_path", "oldpath", "newpath",
))
# fmt: on
# fmt: off
_FD_NAMES = frozenset((
    "fd", "epfd", "dfd", "olddirfd", "newdirfd", "dirfd", "oldfd", "newfd", "fd_in", "fd_out",
))
# fmt: on


def _from_prototype(name: str):
    """Decoders for a call this module does not know, from python-ptrace's prototypes.

    Loaded on the first unknown call only (python-ptrace's table costs ~50 ms).
    """
    try:
        from ptrace.syscall.prototypes import SYSCALL_PROTOTYPES
    except ImportError:
        return None
    proto = SYSCALL_PROTOTYPES.get(name)
    if proto is None:
        return None
    decoders = []
    for ctype, argname in proto[1]:
        if argname in _FD_NAMES:
            decoders.append(_dirfd if "dir" in argname or argname == "dfd" else _fd)
        elif "*" in ctype:
            if "char" in ctype and argname in _PATH_NAMES:
                decoders.append(_path)
            elif ctype.startswith("const char"):
                decoders.append(_str)
            else:
                decoders.append(_ptr)
        elif "unsigned" in ctype or ctype in ("size_t", "uid_t", "gid_t", "u32", "u64"):
            decoders.append(_ulong if "long" in ctype or ctype == "size_t" else _uint)
        elif "long" in ctype or ctype in ("off_t", "loff_t", "ssize_t"):
            decoders.append(_long)
        else:
            decoders.append(_int)
    return tuple(decoders)


# What capture_entry saves something for (``ENTRY_CAPTURED``, and under -y
# ``FD_ENTRY_CAPTURED`` and ``SOCKET_ENTRY_CAPTURED``) is named in ``syscalls``,
# where the sinks read it without importing the decoders.

_FD_AT_ENTRY = {"close": 0, "dup2": 1, "dup3": 1, "bind": 0, "connect": 0, "sendto": 0,
                "sendmsg": 0}  # fmt: skip


def capture_entry(name: str, args: tuple[int, ...], mem, fd_path=None) -> dict | None:
    """Read, at syscall entry, what the call will overwrite and strace shows as input.

    Returns ``{arg index: value}`` for :func:`decode_call`'s ``entry``, or None
    when the call has nothing of the kind (the common case: no memory read).
    ``fd_path`` is -y's look-up, for the descriptors of ``FD_ENTRY_CAPTURED``.
    """
    if fd_path is not None and name in _FD_AT_ENTRY:
        i = _FD_AT_ENTRY[name]
        fd = _s32(args[i])
        deco = fd_path(fd) if fd >= 0 else None
        if deco is not None and deco[:1] != "<":
            deco = f"<{deco}>"
        return {i: deco or ""}
    try:
        if name in ("accept", "accept4", "getsockname", "getpeername"):
            return {2: _lenp(mem, args[2])} if args[2] else None
        if name == "recvfrom":
            return {5: _lenp(mem, args[5])} if args[5] else None
        if name == "getsockopt":
            return {4: _lenp(mem, args[4])} if args[4] else None
        if name == "recvmsg":  # msg_namelen, which the kernel rewrites
            return {1: _lenp(mem, args[1] + 8, "<i")} if args[1] else None
        if name == "recvmmsg":  # every msg_namelen, and the timeout (rewritten too)
            saved: dict = {}
            n = min(args[2] & 0xFFFFFFFF, 1024)
            if args[1] and n:
                raw = mem.read(args[1], 64 * n)
                saved[1] = [struct.unpack_from("<i", raw, 64 * k + 8)[0] for k in range(n)]
            if args[4]:
                saved[4] = mem.read(args[4], 16)
            return saved or None
        if name in ("select", "pselect6"):
            nbytes = (min(max(_s32(args[0]), 0), 65536) + 7) // 8
            saved = {k: mem.read(args[k], nbytes) for k in (1, 2, 3) if args[k]}
            if args[4]:  # the timeout, which the kernel rewrites with what is left
                saved[4] = _read_or_error(mem, args[4], 16)
            return saved
        if name == "ppoll":
            return {2: _read_or_error(mem, args[2], 16)} if args[2] else None
        if name in _misc.OFFSET_ARGS:
            return _misc.capture_offsets(name, args, mem)
        if name == "ioctl":  # SIOCGIFCONF's ifc_len is value-result
            if args[1] & 0xFFFFFFFF == 0x8912 and args[2]:
                return {2: _lenp(mem, args[2], "<i")}
            return None
    except OSError:
        return None
    return None


def _read_or_error(mem, addr: int, size: int) -> bytes | OSError:
    try:
        return mem.read(addr, size)
    except OSError as err:
        return err


def _lenp(mem, addr: int, fmt: str = "<I") -> int:
    return struct.unpack(fmt, mem.read(addr, 4))[0]


# --- results ---------------------------------------------------------------------

# Calls whose result is an address (strace's RVAL_HEX and friends).
_HEX_RESULT = frozenset(("mmap", "mmap2", "brk", "mremap", "shmat", "personality"))
_OCT_RESULT = frozenset(("umask",))
# Calls that return a file descriptor (decorated under -y).
# fmt: off
_FD_RESULT = frozenset((
    "open", "openat", "openat2", "creat", "dup", "dup2", "dup3", "socket", "accept", "accept4",
    "epoll_create", "epoll_create1", "eventfd", "eventfd2", "signalfd", "signalfd4",
    "timerfd_create", "inotify_init", "inotify_init1", "memfd_create", "pidfd_open",
    "pidfd_getfd", "fanotify_init", "perf_event_open", "userfaultfd", "open_tree", "fsopen",
    "fsmount", "fspick",
))
# fmt: on
# (epoll_wait's 0 is a plain 0 in strace 6.1.)
_TIMEOUT_RESULT = frozenset(("poll", "ppoll", "select", "pselect6"))


#: Calls whose successful result is more than the number (see format_result).
_ANNOTATED_RESULT = _HEX_RESULT | _OCT_RESULT | _TIMEOUT_RESULT | {
    "prctl", "recvmmsg", "fcntl", "rt_sigtimedwait", "sched_getscheduler", "membarrier",
    "ioprio_get",
}  # fmt: skip


def format_result(
    name: str,
    retval: int | None,
    *,
    args: tuple[int, ...] | None = None,
    mem=None,
    fd_path=None,
    xstyle: int = ABBREV,
) -> tuple[str, str | None]:
    """strace's text for a result, and the errno name when it is an error.

    ``retval`` is signed (``-2`` for ENOENT) or None for a call that never returned
    (``exit_group``, a killed tracee): ``"?"``.  With ``args`` (and ``mem``), the
    annotations strace adds are added too: ``0 (flags O_RDONLY)`` for fcntl's
    F_GETFL, ``1 ([{fd=3, revents=POLLIN}])`` for poll, ``0 (Timeout)``.
    ``xstyle``: strace's -X for the annotations' constants (error names stay).
    """
    global _XSTYLE
    _XSTYLE = xstyle
    if retval is None:
        return "?", None
    if retval >= 0 and fd_path is None and name not in _ANNOTATED_RESULT:
        return str(retval), None  # the common case
    if -4096 < retval < 0:
        err = -retval
        ename = _errname(err)
        restart = _RESTART_TEXT.get(err)
        if restart:
            return f"? {ename} ({restart})", ename
        return f"-1 {ename} ({os.strerror(err)})", ename
    if name in _misc.ANNOTATED:
        text = _misc.result_text(name, retval)
        if text is not None:
            return text, None
    if name in _HEX_RESULT:
        return _hex(retval & 0xFFFFFFFFFFFFFFFF), None
    if name in _OCT_RESULT:
        return _c_octal(retval), None
    if name in _TIMEOUT_RESULT:
        if retval == 0:
            return "0 (Timeout)", None
        if name in ("poll", "ppoll") and args is not None and mem is not None:
            c = _Ctx(args, mem, 32, fd_path, True, retval, None, 0)
            fds = _pollfds(c, args[0], args[1] & 0xFFFFFFFF, True)
            return f"{retval} ({fds.text}{_left(c, name, args)})", None
        if name in ("select", "pselect6") and args is not None and mem is not None:
            return _select_result(name, retval, args, mem, fd_path), None
    if name == "prctl" and args is not None and args[0] & 0xFFFFFFFF == 3:
        dumpable = _PR_DUMPABLE.get(retval)  # PR_GET_DUMPABLE: 1 (SUID_DUMP_USER)
        if dumpable:
            return f"{retval} ({dumpable})", None
    if name == "rt_sigtimedwait":
        return _misc.sigtimedwait_result(retval), None
    if name == "recvmmsg":
        if retval == 0:
            return "0 (Timeout)", None
        if args is not None and mem is not None and args[4]:
            left = _timespec_at(_Ctx(args, mem, 32, None, True, retval, None, 0), args[4])
            return f"{retval} (left {left.text})", None
    if name == "fcntl" and args is not None:
        cmd = _s32(args[1])
        if cmd == 1:
            fdflags = _flags(retval, _FD_FLAGS)[0]
            return (f"{_hex(retval)} (flags {fdflags})" if retval else "0"), None
        if cmd == 3:  # (by name under every -X, as strace)
            fl = _by_name(_oflags, _Ctx((retval,), None, 0, None, True, None, None, 0), 0)
            return f"{_hex(retval)} (flags {fl.text})", None
        if cmd == 1034:
            return (f"{_hex(retval)} (seals {_flags(retval, _SEALS)[0]})" if retval else "0"), None
    dupfd = name == "fcntl" and args is not None and args[1] & 0xFFFFFFFF in (0, 1030)
    if fd_path is not None and (name in _FD_RESULT or dupfd):  # F_DUPFD, F_DUPFD_CLOEXEC
        path = fd_path(retval)
        if path is not None:
            return (f"{retval}{path}" if path[:1] == "<" else f"{retval}<{path}>"), None
    return str(retval), None


def _select_result(name, retval, args, mem, fd_path) -> str:
    c = _Ctx(args, mem, 32, fd_path, True, retval, None, 0)
    nfds = _s32(args[0])
    parts = []
    for k, label in ((1, "in"), (2, "out"), (3, "except")):
        if args[k]:
            s = _fdset_at(c, args[k], nfds)
            if s.value:
                parts.append(f"{label} {s.text}")
    left = _left(c, name, args)
    if left:
        parts.append(left[2:])
    if parts:
        return f"{retval} ({', '.join(parts)})"
    return str(retval)


#: Where the timeout is, for the calls that write back what is left of it.
_TIMEOUT_ARG = {"select": 4, "pselect6": 4, "ppoll": 2}


def _left(c, name: str, args) -> str:
    """``, left {...}``: the timeout the kernel wrote back (none for poll)."""
    i = _TIMEOUT_ARG.get(name)
    if i is None or not args[i]:
        return ""
    left = _timespec_at(c, args[i], usec=name == "select")
    if left.value.__class__ is not dict:
        return ""
    return f", left {left.text}"


# --- signals ---------------------------------------------------------------------

_SI_CODES = {0: "SI_USER", 0x80: "SI_KERNEL", -1: "SI_QUEUE", -2: "SI_TIMER", -3: "SI_MESGQ",
             -4: "SI_ASYNCIO", -5: "SI_SIGIO", -6: "SI_TKILL", -7: "SI_DETHREAD",
             -60: "SI_ASYNCNL"}  # fmt: skip
_SIG_CODES = {
    17: ("CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED"),
    11: ("SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR", "SEGV_ACCADI",
         "SEGV_ADIDERR", "SEGV_ADIPERR", "SEGV_MTEAERR", "SEGV_MTESERR", "SEGV_CPERR"),
    7: ("BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR", "BUS_MCEERR_AO"),
    5: ("TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH", "TRAP_HWBKPT", "TRAP_UNK", "TRAP_PERF"),
    4: ("ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR", "ILL_ILLTRP", "ILL_PRVOPC", "ILL_PRVREG",
        "ILL_COPROC", "ILL_BADSTK", "ILL_BADIADDR"),
    8: ("FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV", "FPE_FLTOVF", "FPE_FLTUND", "FPE_FLTRES",
        "FPE_FLTINV", "FPE_FLTSUB", "FPE_FLTUNK", "FPE_CONDTRAP"),
    29: ("POLL_IN", "POLL_OUT", "POLL_MSG", "POLL_ERR", "POLL_PRI", "POLL_HUP"),
    31: ("SYS_SECCOMP", "SYS_USER_DISPATCH"),
}  # fmt: skip


#: The AUDIT_ARCH_* values strace names (a seccomp SIGSYS's si_arch).
_AUDIT_ARCHES = {0xC000003E: "AUDIT_ARCH_X86_64", 0x40000003: "AUDIT_ARCH_I386",
                 0xC00000B7: "AUDIT_ARCH_AARCH64", 0x40000028: "AUDIT_ARCH_ARM"}  # fmt: skip
_AUDIT_ARCH_NATIVE = {"aarch64": 0xC00000B7}.get(os.uname().machine, 0xC000003E)


def _syscall_names() -> dict:
    """The running architecture's ``{number: name}`` (si_syscall's names)."""
    from pycoz_cli.core.trace.syscalls import NAMES

    return NAMES


def _si_code_name(signo: int, code: int) -> str:
    name = _SI_CODES.get(code)
    if name:
        return name
    codes = _SIG_CODES.get(signo)
    if codes and 0 < code <= len(codes):
        return codes[code - 1]
    return str(code)


def _si_code_text(signo: int, code: int) -> str:
    if not _XSTYLE:
        return _si_code_name(signo, code)
    name = _si_code_name(signo, code)
    return _name(code, None if name == str(code) else name)


def unpack_siginfo(raw: bytes) -> dict:
    """A siginfo_t (128 bytes) by field name; ``format_signal`` picks the ones
    strace shows for its signal and code."""
    signo, err, code = struct.unpack_from("<iii", raw)
    a, b = struct.unpack_from("<iI", raw, 16)
    (addr,) = struct.unpack_from("<Q", raw, 16)
    si = {"si_signo": signo, "si_errno": err, "si_code": code, "si_pid": a, "si_uid": b,
          "si_addr": addr}  # fmt: skip
    if signo == 17:
        status, utime, stime = struct.unpack_from("<i4xqq", raw, 24)
        si.update(si_status=status, si_utime=utime, si_stime=stime)
    elif signo == 31 and code > 0:  # SIGSYS from seccomp or syscall user dispatch
        call, nr, arch = struct.unpack_from("<QiI", raw, 16)
        si.update(si_call_addr=call, si_syscall=nr, si_arch=arch)
    else:
        (ptr,) = struct.unpack_from("<Q", raw, 24)
        si.update(si_int=_s32(ptr), si_ptr=ptr, si_timerid=a, si_overrun=b)
        si.update(si_band=_s64(addr), si_fd=struct.unpack_from("<i", raw, 24)[0])
    return si


def _siginfo_text(si: dict) -> str:
    g = si.get
    signo = g("si_signo", 0)
    if not signo:
        return "{}"
    code = g("si_code", 0)
    parts = [f"si_signo={_sigtext(signo)}", f"si_code={_si_code_text(signo, code)}"]
    err = g("si_errno")
    if err:
        parts.append(
            f"si_errno={_name(err, _ERRNAMES.get(err) or _errno.errorcode.get(err), fmt='d')}"
        )
    source = [f"si_pid={g('si_pid', 0)}", f"si_uid={g('si_uid', 0)}"]
    sigval = [f"si_int={g('si_int', 0)}", f"si_ptr={_addr(g('si_ptr', 0) or 0)}"]
    if code <= 0:  # sent by a process (SI_FROMUSER)
        if code == -2:
            parts += [f"si_timerid={_hex(g('si_timerid', 0))}", f"si_overrun={g('si_overrun', 0)}"]
            parts += sigval
        elif code == -5:
            parts += [f"si_band={g('si_band', 0)}", f"si_fd={g('si_fd', 0)}"]
        else:
            parts += source
            if code not in (0, -6) and g("si_ptr"):
                parts += sigval
    elif signo == 17:
        parts += source
        status = g("si_status", 0)
        parts.append(f"si_status={status if code == 1 else _sigtext(status)}")
        parts += [
            f"si_utime={_clock_t(g('si_utime', 0))}",
            f"si_stime={_clock_t(g('si_stime', 0))}",
        ]
    elif signo in (4, 5, 7, 8, 11):
        parts.append(f"si_addr={_addr(g('si_addr', 0) or 0)}")
    elif signo == 29:
        if code in (1, 2, 3):
            parts += [f"si_band={g('si_band', 0)}", f"si_fd={g('si_fd', 0)}"]
    elif signo == 31:
        parts.append(f"si_call_addr={_addr(g('si_call_addr', 0) or 0)}")
        nr, arch = g("si_syscall", 0), g("si_arch", _AUDIT_ARCH_NATIVE)
        name = _syscall_names().get(nr) if arch == _AUDIT_ARCH_NATIVE else None
        parts.append(f"si_syscall={_name(nr, name and '__NR_' + name, fmt='d')}")
        parts.append(f"si_arch={_xlat(arch, _AUDIT_ARCHES, 'AUDIT_ARCH_???')[0]}")
    else:
        if g("si_pid") or g("si_uid"):
            parts += source
        if g("si_ptr"):
            parts += sigval
    return "{" + ", ".join(parts) + "}"


def _clock_t(ticks: int) -> str:
    # strace adds the time in seconds as a comment, at USER_HZ (100 on Linux).
    if not ticks:
        return "0"
    return f"{ticks} /* {ticks // 100}.{ticks % 100:02d} s */"


def format_signal(siginfo: dict, xstyle: int = ABBREV) -> str:
    """strace's line for a delivered signal: ``--- SIGCHLD {si_signo=SIGCHLD, ...} ---``.

    ``siginfo`` holds the siginfo_t fields by name (``si_signo``, ``si_code``,
    ``si_pid``, ``si_uid``, ``si_status``, ``si_utime``, ``si_stime``, ``si_addr``,
    ``si_errno``, ``si_int``, ``si_ptr``...); missing ones count as 0.
    ``xstyle``: strace's -X (ABBREV, RAW, VERBOSE) for the fields' constants.
    """
    global _XSTYLE
    _XSTYLE = xstyle
    return f"--- {signame(siginfo.get('si_signo', 0))} {_siginfo_text(siginfo)} ---"


# --- -y: what an fd is -----------------------------------------------------------

#: What ``-y`` shows (``-e decode-fds=path``); ``-yy`` is all of ``DECODE_FDS``.
PATHS = frozenset(("path",))
DECODE_FDS = frozenset(("path", "socket", "dev", "pidfd"))


def fd_path(pid: int, fd: int, *, sockets: bool = False) -> str | None:
    """What strace's ``-y`` shows inside ``fd<...>``: the path, ``pipe:[N]``, ``socket:[N]``.

    With ``sockets=True`` (strace's ``-yy``) a socket is described by its protocol
    and addresses: ``TCP:[198.18.0.1:40000->198.18.0.2:80]``, falling back to
    ``socket:[inode]`` when the socket is not found.
    """
    try:
        target = os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        return None
    if sockets and target.startswith("socket:["):
        return _describe_socket(pid, int(target[8:-1]), fd) or target
    if target.startswith("/"):
        return _quote_path(target)
    return target


def _quote_path(target: str) -> str:
    # strace quotes the path without the quotes, and escapes the brackets around it.
    return escape(os.fsencode(target)).replace("<", "\\74").replace(">", "\\76")


def fd_text(pid: int, fd: int, kinds: frozenset = PATHS) -> str | None:
    """strace's decoration after ``fd`` for ``-e decode-fds=KINDS``: ``</etc/passwd>``,
    ``</tmp/x>(deleted)``, ``</dev/null<char 1:3>>``, ``<TCP:[...]>``, ``<pid:42>``;
    ``AT_FDCWD`` (-100) is the working directory.  None: nothing to add.

    Only what ``kinds`` asks for is looked up: a path is one readlink; ``dev``
    adds a stat, ``socket`` a look-up of the socket (see ``_describe_socket``).
    """
    if fd == _AT_FDCWD:
        if "path" not in kinds:
            return None
        try:
            return f"<{_quote_path(os.readlink(f'/proc/{pid}/cwd'))}>"
        except OSError:
            return None
    if fd < 0:
        return None
    link = f"/proc/{pid}/fd/{fd}"
    try:
        target = os.readlink(link)
    except OSError:
        return None
    if target[0] == "/":
        device = _device(link) if "dev" in kinds else ""
        if device or "path" in kinds:  # decode-fds=dev alone: devices only
            deleted = target.endswith(" (deleted)")
            if deleted:
                target = target[:-10]
            text = _quote_path(target) + device
            return f"<{text}>(deleted)" if deleted else f"<{text}>"
        return None
    if target.startswith("socket:["):
        if "socket" in kinds:
            return f"<{_describe_socket(pid, int(target[8:-1]), fd) or target}>"
    elif target == "anon_inode:[pidfd]" and "pidfd" in kinds:
        owner = _pidfd_pid(pid, fd)
        if owner is not None:
            return f"<pid:{owner}>"
    return f"<{target}>" if "path" in kinds else None


def _device(link: str) -> str:
    try:
        st = os.stat(link)
    except OSError:
        return ""
    kind = st.st_mode & 0o170000
    if kind == 0o20000:
        return f"<char {os.major(st.st_rdev)}:{os.minor(st.st_rdev)}>"
    if kind == 0o60000:
        return f"<block {os.major(st.st_rdev)}:{os.minor(st.st_rdev)}>"
    return ""


def _pidfd_pid(pid: int, fd: int) -> int | None:
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}", "rb") as f:
            info = f.read()
    except OSError:
        return None
    at = info.find(b"\nPid:\t")
    if at < 0:
        return None
    return int(info[at + 6 : info.index(b"\n", at + 6)])


def _ipv4(hexaddr: str) -> str:
    return ".".join(str(b) for b in bytes.fromhex(hexaddr)[::-1])


def _ipv6(hexaddr: str) -> str:
    import socket

    raw = b"".join(bytes.fromhex(hexaddr[i : i + 8])[::-1] for i in range(0, 32, 8))
    return socket.inet_ntop(socket.AF_INET6, raw)


#: The /proc/PID/net table of each protocol strace describes from an address pair.
_INET_TABLES = {"TCP": ("tcp", False), "TCPv6": ("tcp6", True), "UDP": ("udp", False),
                "UDPv6": ("udp6", True), "UDPLITE": ("udplite", False),
                "UDPLITEv6": ("udplite6", True)}  # fmt: skip
_NETLINK_SHORT = {k: v[8:] for k, v in _NETLINK.items()}  # NETLINK_ROUTE -> ROUTE


def _describe_socket(pid: int, inode: int, fd: int | None = None) -> str | None:
    """``-yy``'s description of a socket, as strace 6.1 makes it.

    The protocol is the socket's ``system.sockprotoname`` attribute (as strace
    reads it); TCP and UDP addresses come from the tracee's own /proc/PID/net
    (its network namespace), netlink port ids likewise, a UNIX socket's peer from
    sock_diag (see ``_unix_diag``).  A socket no longer found (closed by its peer,
    reset) keeps the description last seen, as in strace's cache.  None: neither
    the protocol nor the socket is known.
    """
    proto = None
    if fd is not None:
        try:
            raw = os.getxattr(f"/proc/{pid}/fd/{fd}", "system.sockprotoname")
            proto = raw.rstrip(b"\0").decode()
        except OSError:
            proto = None
    details = None
    if proto is None or proto in _INET_TABLES:
        tables = _INET_TABLES.items() if proto is None else [(proto, _INET_TABLES[proto])]
        for name, (table, v6) in tables:
            found = _proc_net_row(pid, table, 9, inode)
            if found is not None:
                details = _inet_desc(name, v6, found[1], found[2], inode)
                break
    elif proto == "NETLINK":
        row = _proc_net_row(pid, "netlink", 9, inode)
        if row is not None and row[2] != "0":
            family = _NETLINK_SHORT.get(int(row[1])) or row[1]
            details = f"NETLINK:[{family}:{row[2]}]"
    elif proto.startswith("UNIX"):  # UNIX-STREAM, and UNIX for the other types
        details = _unix_desc(proto, inode)
    if details is not None:
        if len(_SOCKETS_SEEN) > 4096:
            _SOCKETS_SEEN.clear()
        _SOCKETS_SEEN[inode] = details
        return details
    details = _SOCKETS_SEEN.get(inode)
    if details is not None:
        return details
    return f"{proto}:[{inode}]" if proto else None


_SOCKETS_SEEN: dict = {}  # socket inode -> its description, as last found


def _proc_net_row(pid: int, table: str, column: int, inode: int) -> list | None:
    key = str(inode)
    try:
        with open(f"/proc/{pid}/net/{table}") as f:
            next(f)
            for line in f:
                cols = line.split()
                if len(cols) > column and cols[column] == key:
                    return cols
    except (OSError, StopIteration):
        return None
    return None


def _unix_desc(proto: str, inode: int) -> str:
    # The protocol's name is the kernel's: UNIX-STREAM, and UNIX for datagram and
    # seqpacket sockets.
    found = _unix_diag(inode)
    if found is None:
        return None
    _kind, peer, name = found
    if not peer and "->" in _SOCKETS_SEEN.get(inode, ""):  # its peer closed: inode 0
        return None
    text = f"{proto}:[{inode}"
    if peer:
        text += f"->{peer}"
    if name:
        if name[:1] == b"\0":  # abstract: every byte is the name
            text += ",@" + quote(name[1:])
        else:
            text += "," + quote(name.split(b"\0", 1)[0])
    return text + "]"


def _unix_diag(inode: int) -> tuple[int, int, bytes | None] | None:
    """(type, peer inode, bound name) of a UNIX socket, by inode, from sock_diag.

    Hand-written: one request and one answer on a NETLINK_SOCK_DIAG socket, where
    pyroute2 would cost 150 ms to import and dumps every socket to find one.
    """
    import socket

    # nlmsghdr + unix_diag_req{family, protocol, pad, states, ino, show, cookie[2]}
    req = struct.pack("<IHHII", 16 + 24, 20, 1, 1, 0)  # SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST
    req += struct.pack(
        "<BBHIIIII", socket.AF_UNIX, 0, 0, 0xFFFFFFFF, inode, 1 | 4, 0xFFFFFFFF, 0xFFFFFFFF
    )  # fmt: skip  (UDIAG_SHOW_NAME | _PEER)
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 4) as nl:
            nl.sendto(req, (0, 0))
            nl.settimeout(1)
            data = nl.recv(65536)
    except OSError:
        return None
    if len(data) < 32:
        return None
    length, mtype = struct.unpack_from("<IH", data)
    if mtype != 20:  # NLMSG_ERROR: not found
        return None
    kind = data[17]
    peer, name = 0, None
    off = 16 + 16  # unix_diag_msg{family, type, state, pad, ino, cookie[2]}
    while off + 4 <= min(length, len(data)):
        alen, atype = struct.unpack_from("<HH", data, off)
        if alen < 4:
            break
        if atype == 0:  # UNIX_DIAG_NAME
            name = data[off + 4 : off + alen]
        elif atype == 2:  # UNIX_DIAG_PEER
            (peer,) = struct.unpack_from("<I", data, off + 4)
        off += (alen + 3) & ~3
    return kind, peer, name


def _inet_desc(proto: str, v6: bool, local: str, remote: str, inode: int) -> str | None:
    def fmt(hexpair: str) -> tuple[str, int, bool]:
        addr, port = hexpair.split(":")
        zero = not int(addr, 16) and not int(port, 16)
        ip = _ipv6(addr) if v6 else _ipv4(addr)
        return (f"[{ip}]" if v6 else ip), int(port, 16), zero

    lip, lport, lzero = fmt(local)
    rip, rport, rzero = fmt(remote)
    if lzero:
        return None
    if rzero:
        return f"{proto}:[{lip}:{lport}]"
    return f"{proto}:[{lip}:{lport}->{rip}:{rport}]"


# The smaller families' decoders, in a module of their own (they use the helpers above).
from pycoz_cli.core.trace import decode_misc as _misc  # noqa: E402
from pycoz_cli.core.trace import decode_netlink as _netlink  # noqa: E402

_SIGS.update(_misc.SIGS)
_IOCTL.update(_misc.IOCTL_NAMES)
_IOCTL_TEXT.update(_misc.IOCTL_TEXT)
_IOCTL_NOARG |= _misc.IOCTL_NOARG
