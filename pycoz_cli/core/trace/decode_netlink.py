"""Netlink messages inside sendto/recvfrom/sendmsg/recvmsg, as strace 6.1 prints them.

strace decodes a buffer as netlink when the descriptor is a NETLINK socket (its
``system.sockprotoname``), and the messages by the socket's family, which it
looks up by inode with sock_diag in its own network namespace: a socket of
another namespace gets the family-independent decoding (``nlmsg_type=0x12 /*
NLMSG_??? */`` and the payload in hex).  pycoz looks the inode up in its own
/proc/self/net/netlink, the same table, for the same answers.

Known: the netlink header, NLMSG_ERROR and NLMSG_DONE, rtnetlink's link,
address and route messages (ifinfomsg, ifaddrmsg, rtmsg) and sock_diag's inet and
UNIX messages, with their attributes, nested ones included, each table as
strace's decoder tables are (strace's own oddities too: IFLA_ADDRESS is cut to
the length of the ARPHRD type numbered as the message's ifi_family).  Other
payloads and attributes show as strace shows what it does not know, their bytes
in hex.  Hand-written: no library decodes netlink into strace's text (pyroute2
parses messages into its own objects, with other names and no hex fallbacks).
"""

from __future__ import annotations

import os
import socket
import struct

from pycoz_cli.core.trace import _netlink_names as _nl
from pycoz_cli.core.trace.decode import (
    RAW,
    Arg,
    _errname,
    _flags,
    _flags_or_unknown,
    _hex,
    _ifindex,
    _ipv4_text,
    _makedev,
    _rawbytes,
    _styled,
    _xstyle,
    escape,
    quote,
)
from pycoz_cli.core.trace.decode import _name as _const
from pycoz_cli.core.trace.decode_misc import _ARPHRD, _IFF

_FAMILIES: dict = {}  # socket inode -> its netlink family, once found


def family(pid: int | None, fd: int) -> int | None:
    """The netlink family of ``fd`` (NETLINK_ROUTE is 0), -1 for a netlink socket
    strace could not place, None for a descriptor that is no netlink socket."""
    if pid is None or fd < 0:
        return None
    link = f"/proc/{pid}/fd/{fd}"
    try:
        if os.getxattr(link, "system.sockprotoname")[:7] != b"NETLINK":
            return None
        target = os.readlink(link)
    except OSError:
        return None
    inode = int(target[8:-1])
    found = _FAMILIES.get(inode)
    if found is None:
        found = _own_namespace_family(inode)
        if found >= 0:  # a miss is asked again: the socket may be bound later
            if len(_FAMILIES) > 4096:
                _FAMILIES.clear()
            _FAMILIES[inode] = found
    return found


def _own_namespace_family(inode: int) -> int:
    key = str(inode)
    try:
        with open("/proc/self/net/netlink") as f:
            next(f)
            for line in f:
                cols = line.split()
                if len(cols) > 9 and cols[9] == key:
                    return int(cols[1])
    except (OSError, StopIteration, ValueError):
        pass
    return -1


# --- the header ---------------------------------------------------------------------

_NLMSG = {1: "NLMSG_NOOP", 2: "NLMSG_ERROR", 3: "NLMSG_DONE", 4: "NLMSG_OVERRUN"}
_NLM_F = ((1, "NLM_F_REQUEST"), (2, "NLM_F_MULTI"), (4, "NLM_F_ACK"), (8, "NLM_F_ECHO"),
          (0x10, "NLM_F_DUMP_INTR"), (0x20, "NLM_F_DUMP_FILTERED"))  # fmt: skip
_NLM_F_GET = ((0x300, "NLM_F_DUMP"), (0x100, "NLM_F_ROOT"), (0x200, "NLM_F_MATCH"),
              (0x400, "NLM_F_ATOMIC"))  # fmt: skip
_NLM_F_NEW = ((0x100, "NLM_F_REPLACE"), (0x200, "NLM_F_EXCL"), (0x400, "NLM_F_CREATE"),
              (0x800, "NLM_F_APPEND"))  # fmt: skip
_NLM_F_DEL = ((0x100, "NLM_F_NONREC"), (0x200, "NLM_F_BULK"))
_NLM_F_ACK = ((0x100, "NLM_F_CAPPED"), (0x200, "NLM_F_ACK_TLVS"))

_RTM = {
    16: "RTM_NEWLINK", 17: "RTM_DELLINK", 18: "RTM_GETLINK", 19: "RTM_SETLINK",
    20: "RTM_NEWADDR", 21: "RTM_DELADDR", 22: "RTM_GETADDR", 24: "RTM_NEWROUTE",
    25: "RTM_DELROUTE", 26: "RTM_GETROUTE", 28: "RTM_NEWNEIGH", 29: "RTM_DELNEIGH",
    30: "RTM_GETNEIGH", 32: "RTM_NEWRULE", 33: "RTM_DELRULE", 34: "RTM_GETRULE",
    36: "RTM_NEWQDISC", 37: "RTM_DELQDISC", 38: "RTM_GETQDISC", 40: "RTM_NEWTCLASS",
    41: "RTM_DELTCLASS", 42: "RTM_GETTCLASS", 44: "RTM_NEWTFILTER", 45: "RTM_DELTFILTER",
    46: "RTM_GETTFILTER", 48: "RTM_NEWACTION", 49: "RTM_DELACTION", 50: "RTM_GETACTION",
    52: "RTM_NEWPREFIX", 58: "RTM_GETMULTICAST", 62: "RTM_GETANYCAST",
    64: "RTM_NEWNEIGHTBL", 66: "RTM_GETNEIGHTBL", 67: "RTM_SETNEIGHTBL",
    68: "RTM_NEWNDUSEROPT", 72: "RTM_NEWADDRLABEL", 73: "RTM_DELADDRLABEL",
    74: "RTM_GETADDRLABEL", 78: "RTM_GETDCB", 79: "RTM_SETDCB", 80: "RTM_NEWNETCONF",
    81: "RTM_DELNETCONF", 82: "RTM_GETNETCONF", 84: "RTM_NEWMDB", 85: "RTM_DELMDB",
    86: "RTM_GETMDB", 88: "RTM_NEWNSID", 89: "RTM_DELNSID", 90: "RTM_GETNSID",
    92: "RTM_NEWSTATS", 94: "RTM_GETSTATS", 96: "RTM_NEWCACHEREPORT",
    100: "RTM_NEWCHAIN", 101: "RTM_DELCHAIN", 102: "RTM_GETCHAIN", 112: "RTM_NEWVLAN",
    113: "RTM_DELVLAN", 114: "RTM_GETVLAN", 116: "RTM_NEWNEXTHOPBUCKET",
    117: "RTM_DELNEXTHOPBUCKET", 118: "RTM_GETNEXTHOPBUCKET",
    104: "RTM_NEWNEXTHOP", 105: "RTM_DELNEXTHOP", 106: "RTM_GETNEXTHOP",
    108: "RTM_NEWLINKPROP", 109: "RTM_DELLINKPROP", 110: "RTM_GETLINKPROP",
}  # fmt: skip
_SOCK_DIAG = {18: "TCPDIAG_GETSOCK", 19: "DCCPDIAG_GETSOCK", 20: "SOCK_DIAG_BY_FAMILY",
              21: "SOCK_DESTROY"}  # fmt: skip
_TYPES = {0: (_RTM, "RTM_???"), 4: (_SOCK_DIAG, "SOCK_DIAG_???")}


def _type_text(fam: int, typ: int) -> str:
    name = _NLMSG.get(typ)
    if name:
        return _styled(typ, name)
    if typ < 16:
        return _const(typ, None, "NLMSG_???")
    table, unknown = _TYPES.get(fam, (None, "NLMSG_???"))
    if table is not None:
        name = table.get(typ)
        if name:
            return _styled(typ, name)
    return _const(typ, None, unknown)


def _flags_text(fam: int, typ: int, flags: int) -> str:
    if typ == 2:
        extra = _NLM_F_ACK
    elif fam == 0 and typ >= 16 and typ in _RTM:
        extra = (_NLM_F_NEW, _NLM_F_DEL, _NLM_F_GET, ())[(typ - 16) % 4]
    elif fam == 4 and typ >= 16:
        extra = _NLM_F_GET
    else:
        extra = ()
    return _flags(flags, _NLM_F + extra)[0]


def _header(fam: int, raw: bytes, off: int) -> tuple[str, int, int, int]:
    ln, typ, flags, seq, pid = struct.unpack_from("<IHHIi", raw, off)
    text = (
        f"{{nlmsg_len={ln}, nlmsg_type={_type_text(fam, typ)}, "
        f"nlmsg_flags={_flags_text(fam, typ, flags)}, nlmsg_seq={seq}, nlmsg_pid={pid}}}"
    )
    return text, ln, typ, flags


def _hexstr(c, data: bytes) -> str:
    shown = data[: c.strsize]
    return '"' + escape(shown, 2) + '"' + ("..." if len(data) > len(shown) else "")


def messages(c, raw: bytes, fam: int, total: int) -> str:
    """The netlink messages in ``raw`` (``total`` bytes were sent or received)."""
    texts = []
    off = 0
    while off + 16 <= len(raw):
        if len(texts) == c.strsize and not c.verbose:
            texts.append("...")
            off = len(raw)
            break
        head, ln, typ, flags = _header(fam, raw, off)
        end = min(off + ln, len(raw)) if ln >= 16 else off + 16
        payload = raw[off + 16 : end]
        if payload:
            texts.append(f"[{head}, {_payload(c, fam, typ, flags, payload)}]")
        else:
            texts.append(head)
        if ln < 16:
            break
        off += (ln + 3) & ~3
    if off < len(raw) and off + 16 > len(raw) and texts:
        texts.append(_hexstr(c, raw[off:]))
    if len(texts) == 1:
        return texts[0]
    return f"[{', '.join(texts)}]"


_NLMSGERR_NAMES = ("NLMSGERR_ATTR_UNUSED", "NLMSGERR_ATTR_MSG", "NLMSGERR_ATTR_OFFS",
                   "NLMSGERR_ATTR_COOKIE", "NLMSGERR_ATTR_POLICY", "NLMSGERR_ATTR_MISS_TYPE",
                   "NLMSGERR_ATTR_MISS_NEST")  # fmt: skip


def _nlmsgerr(c, fam: int, flags: int, data: bytes) -> str:
    """struct nlmsgerr: the error, the request it answers (its header alone when
    NLM_F_CAPPED), then what follows as extended-ACK attributes."""
    if len(data) < 20:
        return _hexstr(c, data)
    (err,) = struct.unpack_from("<i", data)
    etext = _styled(err, f"-{_errname(-err)}", "d") if err < 0 else str(err)
    rest = data[4:]
    inner_len = max(16, struct.unpack_from("<I", rest)[0])
    payload = min(len(rest), 16 if flags & 0x100 else inner_len)
    text = f"{{error={etext}, msg={messages(c, rest[:payload], fam, payload)}}}"
    if len(rest) > payload:
        tlvs = _attrs(c, rest[payload:], _NLMSGERR_NAMES, _NLMSGERR_VALUES, None,
                      "NLMSGERR_ATTR_???")  # fmt: skip
        text = f"[{text}, {tlvs}]"
    return text


def _payload(c, fam: int, typ: int, flags: int, data: bytes) -> str:
    if typ == 2:  # NLMSG_ERROR: struct nlmsgerr, the request it answers
        return _nlmsgerr(c, fam, flags, data)
    if typ == 3 and len(data) == 4:  # NLMSG_DONE: an int
        return str(struct.unpack_from("<i", data)[0])
    if fam == 0 and typ in _RTM:
        if not data:
            return _hexstr(c, data)
        decoder = _RTM_PAYLOADS.get(typ)
        if decoder is not None:
            return decoder(c, data)
        # strace's decode_family: what it has no decoder for, by its family
        rest = f", data={_hexstr(c, data[1:])}" if len(data) > 1 else ""
        return f"{{family={_family(data[0])}{rest}}}"
    if fam == 4 and typ == 20:  # SOCK_DIAG_BY_FAMILY
        text = _sock_diag(c, flags, data)
        if text is not None:
            return text
    return _hexstr(c, data)


# --- rtnetlink ------------------------------------------------------------------------

_ARPHRD_ALL = {0: "ARPHRD_NETROM", **_ARPHRD}
_SCOPE = {0: "RT_SCOPE_UNIVERSE", 200: "RT_SCOPE_SITE", 253: "RT_SCOPE_LINK",
          254: "RT_SCOPE_HOST", 255: "RT_SCOPE_NOWHERE"}  # fmt: skip
_TABLES = {0: "RT_TABLE_UNSPEC", 252: "RT_TABLE_COMPAT", 253: "RT_TABLE_DEFAULT",
           254: "RT_TABLE_MAIN", 255: "RT_TABLE_LOCAL"}  # fmt: skip
_PROTOS = {0: "RTPROT_UNSPEC", 1: "RTPROT_REDIRECT", 2: "RTPROT_KERNEL", 3: "RTPROT_BOOT",
           4: "RTPROT_STATIC", 8: "RTPROT_GATED", 9: "RTPROT_RA", 10: "RTPROT_MRT",
           11: "RTPROT_ZEBRA", 12: "RTPROT_BIRD", 13: "RTPROT_DNROUTED", 14: "RTPROT_XORP",
           15: "RTPROT_NTK", 16: "RTPROT_DHCP", 17: "RTPROT_MROUTED", 18: "RTPROT_KEEPALIVED",
           42: "RTPROT_BABEL", 99: "RTPROT_OPENR", 186: "RTPROT_BGP", 187: "RTPROT_ISIS",
           188: "RTPROT_OSPF", 189: "RTPROT_RIP", 192: "RTPROT_EIGRP"}  # fmt: skip
_RTN = ("RTN_UNSPEC", "RTN_UNICAST", "RTN_LOCAL", "RTN_BROADCAST", "RTN_ANYCAST",
        "RTN_MULTICAST", "RTN_BLACKHOLE", "RTN_UNREACHABLE", "RTN_PROHIBIT", "RTN_THROW",
        "RTN_NAT", "RTN_XRESOLVE")  # fmt: skip
_RTM_F = ((0x100, "RTM_F_NOTIFY"), (0x200, "RTM_F_CLONED"), (0x400, "RTM_F_EQUALIZE"),
          (0x800, "RTM_F_PREFIX"), (0x1000, "RTM_F_LOOKUP_TABLE"), (0x2000, "RTM_F_FIB_MATCH"),
          (0x4000, "RTM_F_OFFLOAD"), (0x8000, "RTM_F_TRAP"),
          (0x20000000, "RTM_F_OFFLOAD_FAILED"))  # fmt: skip
_IFA_F = ((1, "IFA_F_SECONDARY"), (2, "IFA_F_NODAD"), (4, "IFA_F_OPTIMISTIC"),
          (8, "IFA_F_DADFAILED"), (0x10, "IFA_F_HOMEADDRESS"), (0x20, "IFA_F_DEPRECATED"),
          (0x40, "IFA_F_TENTATIVE"), (0x80, "IFA_F_PERMANENT"), (0x100, "IFA_F_MANAGETEMPADDR"),
          (0x200, "IFA_F_NOPREFIXROUTE"), (0x400, "IFA_F_MCAUTOJOIN"),
          (0x800, "IFA_F_STABLE_PRIVACY"))  # fmt: skip
_RTEXT = ((1, "RTEXT_FILTER_VF"), (2, "RTEXT_FILTER_BRVLAN"), (4, "RTEXT_FILTER_BRVLAN_COMPRESSED"),
          (8, "RTEXT_FILTER_SKIP_STATS"), (0x10, "RTEXT_FILTER_MRP"),
          (0x20, "RTEXT_FILTER_CFM_CONFIG"), (0x40, "RTEXT_FILTER_CFM_STATUS"),
          (0x80, "RTEXT_FILTER_MST"))  # fmt: skip


def _name(table, v: int) -> str:
    name = table.get(v)
    return _styled(v, name) if name else str(v)


def _family(v: int) -> str:
    return _const(v, _nl.ADDRFAMS.get(v), "AF_???")


def _state(v: int) -> str:
    return _styled(v, _TCP_STATES[v]) if 0 < v < len(_TCP_STATES) else str(v)


def _index(v: int) -> str:
    return _ifindex(v & 0xFFFFFFFF) if v else "0"  # strace prints an index unsigned


# Attribute values: f(c, data, ctx) -> text (None: shown in hex).  ``ctx`` is what
# strace's decoders get as their opaque data: the message's family (ifi_family,
# rtm_family...), or for IFLA_LINKINFO's items the kinds seen so far.
def _a_str(c, data, ctx):
    """decode_nla_str: the first -s bytes, a NUL ending them left out; otherwise
    (no NUL at the end: cut short, or never terminated) followed by ``...``.  A
    NUL inside shows as ``\\0`` (an abstract UNIX name's first byte)."""
    shown = data[: c.strsize]
    if shown[-1:] == b"\0":
        return quote(shown[:-1], False, c.xflag)
    return quote(shown, True, c.xflag)


def _a_cstr(c, data) -> str:
    """printstr_ex's QUOTE_0_TERMINATED: up to the first NUL within -s bytes; ``...``
    when there is none there and the next byte is no NUL either."""
    n = min(len(data), c.strsize)
    end = data.find(b"\0", 0, n)
    if end >= 0:
        return quote(data[:end], False, c.xflag)
    return quote(data[:n], not (n < len(data) and data[n] == 0), c.xflag)


def _int(fmt: str, size: int, show=str):
    """strace's decode_nla_u8/u16/u32/u64/s32/x16/x32...: an attribute shorter than the
    integer is shown in hex, a longer one by its first bytes."""

    def decode(c, data, ctx):
        if len(data) < size:
            return None
        return show(struct.unpack_from(fmt, data)[0])

    return decode


def _hex0(v: int) -> str:
    return f"{v:#x}" if v else "0"


_a_u8, _a_u16, _a_u32, _a_u64 = _int("<B", 1), _int("<H", 2), _int("<I", 4), _int("<Q", 8)
_a_s32 = _int("<i", 4)
_a_x16, _a_x32 = _int("<H", 2, _hex0), _int("<I", 4, _hex0)
_a_ifindex = _int("<I", 4, lambda v: _index(v))


def _xval(table: dict, size: int, unknown: str | None):
    """decode_nla_xval: the first ``size`` bytes, named by ``table``."""

    def decode(c, data, ctx):
        if len(data) < size or len(data) > 8:
            return None
        v = int.from_bytes(data[:size], "little")
        return _const(v, table.get(v), unknown)

    return decode


def _flagset(table: tuple, size: int, unknown: str):
    """decode_nla_flags: the first ``size`` bytes as flags of ``table``."""

    def decode(c, data, ctx):
        if len(data) < size or len(data) > 8:
            return None
        v = int.from_bytes(data[:size], "little")
        return _flags_or_unknown(v, table, unknown)[0]

    return decode


_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _a_clock_t(c, data, ctx):
    """decode_nla_clock_t: up to 8 bytes, with the seconds they are as a comment."""
    if len(data) > 8:
        return None
    v = int.from_bytes(data, "little")
    if v <= 0 or _CLK_TCK <= 0 or _xstyle() == RAW:
        return str(v)
    width = min(len(str(_CLK_TCK)) - 1, 9)
    frac = f"{(v % _CLK_TCK) / _CLK_TCK:.{width}f}"[1:]
    return f"{v} /* {v // _CLK_TCK}{frac} s */"


def _a_uid(c, data, ctx):
    if len(data) < 4:
        return None
    v = struct.unpack_from("<I", data)[0]
    return "-1" if v == 0xFFFFFFFF else str(v)


def _a_fd(c, data, ctx):
    return str(struct.unpack_from("<i", data)[0]) if len(data) >= 4 else None


def _indexed(table: dict, unknown: str, fmt: str):
    """print_array_ex with indices: ``[[NAME]=v, ...]``, -s elements at most."""
    size = struct.calcsize(fmt)

    def decode(c, data, ctx):
        n = len(data) // size
        if not n:
            return None
        nums = struct.unpack_from(f"<{n}{fmt}", data)
        texts = []
        for k, v in enumerate(nums):
            if k == c.strsize and not c.verbose:
                texts.append("...")
                break
            texts.append(f"[{_const(k, table.get(k), unknown, 'd')}]={v}")
        return "[" + ", ".join(texts) + "]"

    return decode


def _nested(names, values: dict, unknown: str, ctx_of=None):
    """An attribute holding attributes: decode_nlattr over another table.  ``ctx_of``
    makes the context the inner decoders get from the outer one."""

    def decode(c, data, ctx):
        return _attrs(c, data, names, values, ctx if ctx_of is None else ctx_of(ctx), unknown)

    return decode


def _a_rtext(c, data, fam):
    return _flags(struct.unpack("<I", data[:4])[0], _RTEXT)[0] if len(data) >= 4 else None


def _a_ifa_flags(c, data, fam):
    return _flags(struct.unpack("<I", data[:4])[0], _IFA_F)[0] if len(data) >= 4 else None


def _a_table(c, data, fam):
    if len(data) < 4:
        return None
    v = struct.unpack("<I", data[:4])[0]
    return _const(v, _TABLES.get(v))


def _a_addr(c, data, fam):
    if fam == 2 and len(data) >= 4:
        return _rawbytes(data, _ipv4_text(data))
    if fam == 10 and len(data) >= 16:
        text = f'inet_pton(AF_INET6, "{socket.inet_ntop(socket.AF_INET6, data[:16])}")'
        return _rawbytes(data, text)
    return None


def _a_in_addr(c, data, ctx):
    return _a_addr(c, data, 2)


def _a_in6_addr(c, data, ctx):
    return _a_addr(c, data, 10)


# strace's print_hwaddr cuts an address to its device type's length, and for
# IFLA_ADDRESS it passes the message's ifi_family as that type: AF_BRIDGE (7) is
# ARPHRD_ARCNET's one byte.  The lengths of the types a family number can be.
_HWADDR_SIZES = {0: 7, 1: 6, 3: 7, 6: 6, 7: 1, 15: 2, 24: 16, 27: 8, 32: 20}


def _a_hwaddr(c, data, fam):
    if len(data) > 32:  # MAX_ADDR_LEN
        return None
    shown = data[: _HWADDR_SIZES.get(fam, 255)] if isinstance(fam, int) else data
    return _rawbytes(data, ":".join(f"{b:02x}" for b in shown))


_STATS = ("rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors", "tx_errors",
          "rx_dropped", "tx_dropped", "multicast", "collisions", "rx_length_errors",
          "rx_over_errors", "rx_crc_errors", "rx_frame_errors", "rx_fifo_errors",
          "rx_missed_errors", "tx_aborted_errors", "tx_carrier_errors", "tx_fifo_errors",
          "tx_heartbeat_errors", "tx_window_errors", "rx_compressed", "tx_compressed",
          "rx_nohandler", "rx_otherhost_dropped")  # fmt: skip


def _fields(names: tuple, fmt: str, size: int, data: bytes, least: int) -> str | None:
    """A struct of same-size counters, as many fields as the kernel sent (at least ``least``)."""
    n = min(len(data) // size, len(names))
    if n < least:
        return None
    nums = struct.unpack_from(f"<{n}{fmt}", data)
    return "{" + ", ".join(f"{k}={v}" for k, v in zip(names, nums, strict=False)) + "}"


def _a_struct(names: tuple, fmt: str, shows: tuple = ()):
    """A struct of integers printed field by field (strace's MAYBE_PRINT_FIELD_LEN
    over a whole one): shorter than the struct, hex; ``shows``: the fields in hex."""
    size = struct.calcsize(fmt)

    def decode(c, data, ctx):
        if len(data) < size:
            return None
        nums = struct.unpack_from(fmt, data)
        texts = (f"{k}={_hex0(v) if k in shows else v}" for k, v in zip(names, nums, strict=True))
        return "{" + ", ".join(texts) + "}"

    return decode


def _a_stats(c, data, fam):
    # struct rtnl_link_stats: 23 counters, or 24 with rx_nohandler
    if len(data) != 23 * 4 and len(data) < 24 * 4:
        return None
    return _fields(_STATS[:24], "I", 4, data, 23)


def _a_stats64(c, data, fam):
    # struct rtnl_link_stats64: 23, 24 or all 25 counters, exactly those sizes
    if len(data) not in (23 * 8, 24 * 8) and len(data) < 25 * 8:
        return None
    return _fields(_STATS, "Q", 8, data, 23)


def _a_rta_cacheinfo(c, data, fam):
    if len(data) < 32:
        return None
    clntref, lastuse, expires, error, used, rid, ts, tsage = struct.unpack_from("<IIiIIIII", data)
    return (
        f"{{rta_clntref={clntref}, rta_lastuse={lastuse}, rta_expires={expires}, "
        f"rta_error={error}, rta_used={used}, rta_id={_hex0(rid)}, rta_ts={ts}, "
        f"rta_tsage={tsage}}}"
    )


def _a_cacheinfo(c, data, fam):
    return _fields(("ifa_prefered", "ifa_valid", "cstamp", "tstamp"), "I", 4, data, 4)


# --- IFLA_* nested: link info (kind-dependent), bridge ports, per-family, XDP -----------


def _a_bridge_id(c, data, ctx):
    if len(data) < 8:
        return None
    return f"{{prio=[{data[0]}, {data[1]}], addr={_a_hwaddr(c, data[2:8], ctx)}}}"


def _a_br_boolopt(c, data, ctx):
    if len(data) < 8:
        return None
    flags = _flagset(_nl.RTNL_IFLA_BR_BOOLOPT_FLAGS, 4, "1<<BR_BOOLOPT_???")
    return f"{{optval={flags(c, data[:4], ctx)}, optmask={flags(c, data[4:8], ctx)}}}"


_ETH_P = {0x8100: "ETH_P_8021Q", 0x88A8: "ETH_P_8021AD", 0x0800: "ETH_P_IP",
          0x86DD: "ETH_P_IPV6"}  # fmt: skip


def _a_ether_proto(c, data, ctx):
    if len(data) < 2:
        return None
    v = int.from_bytes(data[:2], "big")
    return f"htons({_const(v, _ETH_P.get(v), 'ETHER_P_???')})"


_BRPORT_VALUES = {
    1: _a_u8, 2: _a_u16, 3: _a_u32, 4: _a_u8, 5: _a_u8, 6: _a_u8, 7: _a_u8, 8: _a_u8, 9: _a_u8,
    10: _a_u8, 11: _a_u8, 12: _a_u8, 13: _a_bridge_id, 14: _a_bridge_id, 15: _a_u16, 16: _a_u16,
    17: _a_u16, 18: _a_u16, 19: _a_u8, 20: _a_u8, 21: _a_clock_t, 22: _a_clock_t,
    23: _a_clock_t, 25: _a_u8, 27: _a_u8, 28: _a_u8, 29: _a_u8, 30: _a_u8, 31: _a_x16,
    32: _a_u8, 33: _a_u8, 34: _a_ifindex, 35: _a_u8, 36: _a_u8, 37: _a_u32, 38: _a_u32,
    39: _a_u8,
}  # fmt: skip
_a_brport = _nested(_nl.RTNL_IFLA_BRPORT_ATTRS, _BRPORT_VALUES, "IFLA_BRPORT_???")
_QUERIER_VALUES = {1: _a_in_addr, 2: _a_ifindex, 3: _a_clock_t, 5: _a_in6_addr, 6: _a_ifindex,
                   7: _a_clock_t}  # fmt: skip
_BR_VALUES = {
    1: _a_clock_t, 2: _a_clock_t, 3: _a_clock_t, 4: _a_clock_t, 5: _a_u32, 6: _a_u16, 7: _a_u8,
    8: _a_ether_proto, 9: _a_x16, 10: _a_bridge_id, 11: _a_bridge_id, 12: _a_u16, 13: _a_u32,
    14: _a_u8, 15: _a_u8, 16: _a_clock_t, 17: _a_clock_t, 18: _a_clock_t, 19: _a_clock_t,
    20: _a_hwaddr, 22: _a_u8, 23: _a_u8, 24: _a_u8, 25: _a_u8, 26: _a_u32, 27: _a_u32,
    28: _a_u32, 29: _a_u32, 30: _a_clock_t, 31: _a_clock_t, 32: _a_clock_t, 33: _a_clock_t,
    34: _a_clock_t, 35: _a_clock_t, 36: _a_u8, 37: _a_u8, 38: _a_u8, 39: _a_u16, 41: _a_u8,
    42: _a_u8, 43: _a_u8, 44: _a_u8, 45: _a_u8, 46: _a_br_boolopt,
    47: _nested(_nl.RTNL_IFLA_BR_MCAST_QUERIER_ATTRS, _QUERIER_VALUES, "BRIDGE_QUERIER_???"),
}  # fmt: skip
_TUN_VALUES = {1: _a_uid, 2: _a_uid, 3: _xval(_nl.TUN_DEVICE_TYPES, 1, "IFF_???"), 4: _a_u8,
               5: _a_u8, 6: _a_u8, 7: _a_u8, 8: _a_u32, 9: _a_u32}  # fmt: skip
_INFO_DATA = {
    "bridge": _nested(_nl.RTNL_IFLA_INFO_DATA_BRIDGE_ATTRS, _BR_VALUES, "IFLA_BR_???"),
    "tun": _nested(_nl.RTNL_IFLA_INFO_DATA_TUN_ATTRS, _TUN_VALUES, "IFLA_TUN_???"),
}


def _a_info_kind(key: str):
    """IFLA_INFO_KIND / SLAVE_KIND: the string, remembered for the DATA after it
    (one shorter than strace's 16-byte buffer, as its update_ctx_str)."""

    def decode(c, data, ctx):
        ctx[key] = data.split(b"\0", 1)[0].decode("latin-1") if len(data) < 16 else ""
        return _a_cstr(c, data)

    return decode


def _a_info_data(c, data, ctx):
    decoder = _INFO_DATA.get(ctx.get("kind", ""))
    return decoder(c, data, ctx) if decoder is not None else None


def _a_info_xstats(c, data, ctx):
    if ctx.get("kind") != "can" or len(data) < 24:
        return None
    names = ("bus_error", "error_warning", "error_passive", "bus_off", "arbitration_lost",
             "restarts")  # fmt: skip
    return _fields(names, "I", 4, data, 6)


def _a_info_slave_data(c, data, ctx):
    return _a_brport(c, data, ctx) if ctx.get("slave_kind") == "bridge" else None


_a_linkinfo = _nested(
    _nl.RTNL_IFLA_INFO_ATTRS,
    {
        1: _a_info_kind("kind"),
        2: _a_info_data,
        3: _a_info_xstats,
        4: _a_info_kind("slave_kind"),
        5: _a_info_slave_data,
    },
    "IFLA_INFO_???",
    lambda fam: {},
)


def _a_inet6_cacheinfo(c, data, ctx):
    names = ("max_reasm_len", "tstamp", "reachable_time", "retrans_time")
    return _fields(names, "I", 4, data, 4)


_INET6_VALUES = {
    1: _flagset(_nl.INET6_IF_FLAGS, 4, "IF_???"),
    2: _indexed(_nl.INET6_DEVCONF_INDICES, "DEVCONF_???", "i"),
    3: _indexed(_nl.SNMP_IP_STATS, "IPSTATS_MIB_???", "Q"),
    5: _a_inet6_cacheinfo,
    6: _indexed(_nl.SNMP_ICMP6_STATS, "ICMP6_MIB_???", "Q"),
    7: _a_in6_addr,
    8: _xval(_nl.IN6_ADDR_GEN_MODE, 1, "IN6_ADDR_GEN_MODE_???"),
    9: _a_u32,
}
_a_inet6 = _nested(_nl.RTNL_IFLA_AF_SPEC_INET6_ATTRS, _INET6_VALUES, "IFLA_INET6_???")
_AF_SPEC_BY_FAMILY = {
    2: _nested(_nl.RTNL_IFLA_AF_SPEC_INET_ATTRS,
               {1: _indexed(_nl.INET_DEVCONF_INDICES, "IPV4_DEVCONF_???", "i")}, "IFLA_INET_???"),
    10: _a_inet6,
    45: _nested(_nl.RTNL_IFLA_AF_SPEC_MCTP_ATTRS, {1: _a_u32}, "IFLA_MCTP_???"),
}  # fmt: skip


def _a_af_spec_entry(c, data, ctx):
    """One family's attributes in IFLA_AF_SPEC (``ctx``: the family, its nla_type)."""
    decoder = _AF_SPEC_BY_FAMILY.get(ctx & 0xFF)
    return decoder(c, data, None) if decoder is not None else _hexstr(c, data)


def _a_bridge_vlan_info(c, data, ctx):
    if len(data) < 4:
        return None
    flags, vid = struct.unpack_from("<HH", data)
    text = f"{{flags={_flags(flags, _nl.NL_BRIDGE_VLAN_FLAGS)[0]}, vid={vid}}}"
    return text + (f", {_hexstr(c, data[4:])}" if len(data) > 4 else "")


_BRIDGE_SPEC_VALUES = {
    0: _flagset(_nl.RTNL_IFLA_BRIDGE_FLAGS, 2, "BRIDGE_FLAGS_???"),
    1: _xval(_nl.RTNL_IFLA_BRIDGE_MODES, 2, "BRIDGE_MODE_???"),
    2: _a_bridge_vlan_info,
    3: _nested(_nl.RTNL_IFLA_AF_SPEC_BRIDGE_VLAN_TUNNEL_INFO_ATTRS,
               {1: _a_u32, 2: _a_u16, 3: _flagset(_nl.NL_BRIDGE_VLAN_FLAGS, 2,
                                                  "BRIDGE_VLAN_INFO_???")},
               "IFLA_BRIDGE_VLAN_TUNNEL_???"),
}  # fmt: skip


def _a_af_spec(c, data, fam):
    """IFLA_AF_SPEC: for AF_BRIDGE the bridge's attributes, else one nested list per
    address family, each decoded by its family (strace's decode_ifla_af_spec)."""
    if fam == 7:
        return _attrs(c, data, _nl.RTNL_IFLA_AF_SPEC_BRIDGE_ATTRS, _BRIDGE_SPEC_VALUES, None,
                      "IFLA_BRIDGE_???")  # fmt: skip
    return _attrs(c, data, _nl.ADDRFAMS, None, None, "AF_???", each=_a_af_spec_entry)


def _a_protinfo(c, data, fam):
    if fam == 7:
        return _a_brport(c, data, None)
    if fam == 10:
        return _a_inet6(c, data, None)
    return _hexstr(c, data)


_XDP_VALUES = {1: _a_fd, 2: _xval(_nl.RTNL_IFLA_XDP_ATTACHED_MODE, 1, "XDP_ATTACHED_???"),
               3: _flagset(_nl.XDP_FLAGS, 4, "XDP_FLAGS_???"), 4: _a_u32, 5: _a_u32, 6: _a_u32,
               7: _a_u32, 8: _a_fd}  # fmt: skip


def _a_ifmap(c, data, ctx):
    if len(data) < 27:  # offsetofend(struct rtnl_link_ifmap, port)
        return None
    start, end, base, irq, dma, port = struct.unpack_from("<QQQHBB", data)
    return (
        f"{{mem_start={_hex0(start)}, mem_end={_hex0(end)}, base_addr={_hex0(base)}, "
        f"irq={irq}, dma={dma}, port={port}}}"
    )


def _a_prop(c, data, ctx):  # IFLA_PROP_LIST's items: only IFLA_ALT_IFNAME is decoded
    return _a_str(c, data, ctx) if ctx == 53 else None


_IFLA_NAMES = (
    "IFLA_UNSPEC", "IFLA_ADDRESS", "IFLA_BROADCAST", "IFLA_IFNAME", "IFLA_MTU", "IFLA_LINK",
    "IFLA_QDISC", "IFLA_STATS", "IFLA_COST", "IFLA_PRIORITY", "IFLA_MASTER", "IFLA_WIRELESS",
    "IFLA_PROTINFO", "IFLA_TXQLEN", "IFLA_MAP", "IFLA_WEIGHT", "IFLA_OPERSTATE",
    "IFLA_LINKMODE", "IFLA_LINKINFO", "IFLA_NET_NS_PID", "IFLA_IFALIAS", "IFLA_NUM_VF",
    "IFLA_VFINFO_LIST", "IFLA_STATS64", "IFLA_VF_PORTS", "IFLA_PORT_SELF", "IFLA_AF_SPEC",
    "IFLA_GROUP", "IFLA_NET_NS_FD", "IFLA_EXT_MASK", "IFLA_PROMISCUITY", "IFLA_NUM_TX_QUEUES",
    "IFLA_NUM_RX_QUEUES", "IFLA_CARRIER", "IFLA_PHYS_PORT_ID", "IFLA_CARRIER_CHANGES",
    "IFLA_PHYS_SWITCH_ID", "IFLA_LINK_NETNSID", "IFLA_PHYS_PORT_NAME", "IFLA_PROTO_DOWN",
    "IFLA_GSO_MAX_SEGS", "IFLA_GSO_MAX_SIZE", "IFLA_PAD", "IFLA_XDP", "IFLA_EVENT",
    "IFLA_NEW_NETNSID", "IFLA_TARGET_NETNSID", "IFLA_CARRIER_UP_COUNT",
    "IFLA_CARRIER_DOWN_COUNT", "IFLA_NEW_IFINDEX", "IFLA_MIN_MTU", "IFLA_MAX_MTU",
    "IFLA_PROP_LIST", "IFLA_ALT_IFNAME", "IFLA_PERM_ADDRESS", "IFLA_PROTO_DOWN_REASON",
    "IFLA_PARENT_DEV_NAME", "IFLA_PARENT_DEV_BUS_NAME", "IFLA_GRO_MAX_SIZE",
    "IFLA_TSO_MAX_SIZE", "IFLA_TSO_MAX_SEGS", "IFLA_ALLMULTI",
)  # fmt: skip
_IFLA_VALUES = {
    1: _a_hwaddr, 2: _a_hwaddr, 3: _a_str, 4: _a_u32, 5: _a_u32, 6: _a_str, 7: _a_stats,
    10: _a_u32, 12: _a_protinfo, 13: _a_u32, 14: _a_ifmap, 15: _a_u32, 16: _a_u8, 17: _a_u8,
    18: _a_linkinfo, 19: _a_u32, 20: _a_str, 21: _a_u32, 23: _a_stats64, 26: _a_af_spec,
    27: _a_u32, 28: _a_fd, 29: _a_rtext, 30: _a_u32, 31: _a_u32, 32: _a_u32, 33: _a_u8,
    35: _a_u32, 37: _a_s32, 38: _a_str, 39: _a_u8, 40: _a_u32, 41: _a_u32,
    43: _nested(_nl.RTNL_IFLA_XDP_ATTRS, _XDP_VALUES, "IFLA_XDP_???"),
    44: _xval(_nl.RTNL_IFLA_EVENTS, 4, "IFLA_EVENT_???"), 45: _a_s32, 46: _a_s32, 47: _a_u32,
    48: _a_u32, 49: _a_ifindex, 50: _a_u32, 51: _a_u32, 53: _a_str, 54: _a_hwaddr,
    55: _nested(_nl.RTNL_IFLA_PROTO_DOWN_REASON_ATTRS, {1: _a_x32, 2: _a_x32},
                "IFLA_PROTO_DOWN_REASON_???"),
    56: _a_str, 57: _a_str, 58: _a_u32, 59: _a_u32, 60: _a_u32, 61: _a_u32,
}  # fmt: skip


def _a_prop_list(c, data, ctx):
    return _attrs(c, data, _IFLA_NAMES, None, None, "IFLA_???", each=_a_prop)


_IFLA_VALUES[52] = _a_prop_list
_IFA_NAMES = ("IFA_UNSPEC", "IFA_ADDRESS", "IFA_LOCAL", "IFA_LABEL", "IFA_BROADCAST",
              "IFA_ANYCAST", "IFA_CACHEINFO", "IFA_MULTICAST", "IFA_FLAGS", "IFA_RT_PRIORITY",
              "IFA_TARGET_NETNSID", "IFA_PROTO")  # fmt: skip
_IFA_VALUES = {1: _a_addr, 2: _a_addr, 3: _a_str, 4: _a_addr, 5: _a_addr, 6: _a_cacheinfo,
               7: _a_addr, 8: _a_ifa_flags, 9: _a_u32, 10: _a_s32}  # fmt: skip
_RTA_NAMES = ("RTA_UNSPEC", "RTA_DST", "RTA_SRC", "RTA_IIF", "RTA_OIF", "RTA_GATEWAY",
              "RTA_PRIORITY", "RTA_PREFSRC", "RTA_METRICS", "RTA_MULTIPATH", "RTA_PROTOINFO",
              "RTA_FLOW", "RTA_CACHEINFO", "RTA_SESSION", "RTA_MP_ALGO", "RTA_TABLE",
              "RTA_MARK", "RTA_MFC_STATS", "RTA_VIA", "RTA_NEWDST", "RTA_PREF",
              "RTA_ENCAP_TYPE", "RTA_ENCAP", "RTA_EXPIRES", "RTA_PAD", "RTA_UID",
              "RTA_TTL_PROPAGATE", "RTA_IP_PROTO", "RTA_SPORT", "RTA_DPORT",
              "RTA_NH_ID")  # fmt: skip
_RTAX_VALUES = {k: _a_u32 for k in range(1, 16)}
_RTAX_VALUES[16] = _a_str


def _a_mfc_stats(c, data, ctx):
    return _fields(("mfcs_packets", "mfcs_bytes", "mfcs_wrong_if"), "Q", 8, data, 3)


def _a_via(c, data, ctx):
    if len(data) < 2:
        return None
    fam = struct.unpack_from("<H", data)[0]
    text = f"{{rtvia_family={_family(fam)}"
    if len(data) > 2:
        addr = data[2:]
        if fam == 2 and len(addr) >= 4:
            text += f", rtvia_addr={_ipv4_text(addr)}"
        elif fam == 10 and len(addr) >= 16:
            text += (f', inet_pton(AF_INET6, "{socket.inet_ntop(socket.AF_INET6, addr[:16])}", '
                     "&rtvia_addr)")  # fmt: skip
        else:
            text += f", rtvia_addr={_hexstr(c, addr)}"
    return text + "}"


def _a_multipath(c, data, fam):
    """RTA_MULTIPATH: struct rtnexthop items, each with its own route attributes."""
    if len(data) < 8:
        return None
    texts, off = [], 0
    while off + 8 <= len(data):
        ln, flags, hops, index = struct.unpack_from("<HBBi", data, off)
        size = min(len(data) - off, ln)
        head = (
            f"{{rtnh_len={ln}, rtnh_flags={_flags(flags, _nl.ROUTE_NEXTHOP_FLAGS)[0]}, "
            f"rtnh_hops={hops}, rtnh_ifindex={_index(index)}}}"
        )
        if size > 8:
            inner = _attrs(c, data[off + 8 : off + size], _RTA_NAMES, _RTA_VALUES, fam, "RTA_???")
            head = f"[{head}, {inner}]"
        texts.append(head)
        step = (size + 3) & ~3
        if step >= len(data) - off:
            break
        off += step
    if len(texts) == 1 and ln >= len(data):
        return texts[0]
    return "[" + ", ".join(texts) + "]"


_RTA_VALUES = {
    1: _a_addr, 2: _a_addr, 3: _a_ifindex, 4: _a_ifindex, 5: _a_addr, 6: _a_u32, 7: _a_addr,
    8: _nested(_nl.RTNL_RTA_METRICS_ATTRS, _RTAX_VALUES, "RTAX_???"), 9: _a_multipath,
    10: _a_u32, 11: _a_u32, 12: _a_rta_cacheinfo, 14: _a_u32, 15: _a_table, 16: _a_u32,
    17: _a_mfc_stats, 18: _a_via, 19: _a_addr, 20: _a_u8,
    21: _xval(_nl.LWTUNNEL_ENCAP_TYPES, 2, "LWTUNNEL_ENCAP_???"), 23: _a_u64, 25: _a_u32,
    26: _a_u8, 27: _a_u8,
    28: _a_u16, 29: _a_u16,
}  # fmt: skip


def _tname(names, kind: int, unknown: str) -> str:
    name = names.get(kind) if isinstance(names, dict) else (
        names[kind] if kind < len(names) else None)  # fmt: skip
    return _const(kind, name, unknown)


def _attrs(c, data: bytes, names, values, ctx, unknown: str, each=None) -> str:
    """A list of netlink attributes: ``[{nla_len=7, nla_type=IFLA_IFNAME}, "lo"]``.
    ``each``: one decoder for every attribute, given its nla_type as context (strace's
    decoder tables of size 0)."""
    if len(data) < 4:
        return _hexstr(c, data)
    texts = []
    off = 0
    while off + 4 <= len(data):
        if len(texts) == c.strsize and not c.verbose:  # strace's arrays stop at -s elements
            texts.append("...")
            break
        ln, typ = struct.unpack_from("<HH", data, off)
        kind = typ & 0x3FFF
        tname = _tname(names, kind, unknown)
        if typ & 0x4000:
            tname = _styled(0x4000, "NLA_F_NET_BYTEORDER") + "|" + tname
        if typ & 0x8000:
            tname = _styled(0x8000, "NLA_F_NESTED") + "|" + tname
        head = f"{{nla_len={ln}, nla_type={tname}}}"
        value = data[off + 4 : off + ln] if ln >= 4 else b""
        if value:
            if each is not None:
                text = each(c, value, typ)
            else:
                decoder = values.get(kind)
                text = decoder(c, value, ctx) if decoder is not None else None
            texts.append(f"[{head}, {text if text is not None else _hexstr(c, value)}]")
        else:
            texts.append(head)
        if ln < 4:
            break
        off += (ln + 3) & ~3
    else:
        if off < len(data):  # a tail too short for an attribute
            texts.append(_hexstr(c, data[off:]))
    if len(texts) == 1:
        return texts[0]
    return f"[{', '.join(texts)}]"


def _with_attrs(c, head: str, data: bytes, size: int, names, values, fam, unknown) -> str:
    rest = data[(size + 3) & ~3 :]
    if not rest:
        return head
    return f"{head}, {_attrs(c, rest, names, values, fam, unknown)}"


def _ifinfomsg(c, data: bytes) -> str:
    if len(data) < 16:
        return f"{{ifi_family={_family(data[0])}, ...}}"
    fam, typ, index, flags, change = struct.unpack_from("<BxHiII", data)
    head = (
        f"{{ifi_family={_family(fam)}, ifi_type={_name(_ARPHRD_ALL, typ)}, "
        f"ifi_index={_index(index)}, ifi_flags={_flags(flags, _IFF)[0]}, "
        f"ifi_change={_hex(change)}}}"
    )
    return _with_attrs(c, head, data, 16, _IFLA_NAMES, _IFLA_VALUES, fam, "IFLA_???")


def _ifaddrmsg(c, data: bytes) -> str:
    if len(data) < 8:
        return f"{{ifa_family={_family(data[0])}, ...}}"
    fam, plen, flags, scope, index = struct.unpack_from("<BBBBI", data)
    head = (
        f"{{ifa_family={_family(fam)}, ifa_prefixlen={plen}, ifa_flags={_flags(flags, _IFA_F)[0]}, "
        f"ifa_scope={_name(_SCOPE, scope)}, ifa_index={_index(index)}}}"
    )
    return _with_attrs(c, head, data, 8, _IFA_NAMES, _IFA_VALUES, fam, "IFA_???")


def _rtmsg(c, data: bytes) -> str:
    if len(data) < 12:
        return f"{{rtm_family={_family(data[0])}, ...}}"
    fam, dst, src, tos, table, proto, scope, typ, flags = struct.unpack_from("<8BI", data)
    head = (
        f"{{rtm_family={_family(fam)}, rtm_dst_len={dst}, rtm_src_len={src}, rtm_tos={tos}, "
        f"rtm_table={_const(table, _TABLES.get(table))}, rtm_protocol={_name(_PROTOS, proto)}, "
        f"rtm_scope={_name(_SCOPE, scope)}, "
        f"rtm_type={_styled(typ, _RTN[typ]) if typ < len(_RTN) else typ}, "
        f"rtm_flags={_flags_or_unknown(flags, _RTM_F, 'RTM_F_???')[0]}}}"
    )
    return _with_attrs(c, head, data, 12, _RTA_NAMES, _RTA_VALUES, fam, "RTA_???")


_NUD = ((0x01, "NUD_INCOMPLETE"), (0x02, "NUD_REACHABLE"), (0x04, "NUD_STALE"),
        (0x08, "NUD_DELAY"), (0x10, "NUD_PROBE"), (0x20, "NUD_FAILED"), (0x40, "NUD_NOARP"),
        (0x80, "NUD_PERMANENT"))  # fmt: skip
_NTF = ((0x01, "NTF_USE"), (0x02, "NTF_SELF"), (0x04, "NTF_MASTER"), (0x08, "NTF_PROXY"),
        (0x10, "NTF_EXT_LEARNED"), (0x20, "NTF_OFFLOADED"), (0x40, "NTF_STICKY"),
        (0x80, "NTF_ROUTER"))  # fmt: skip
_NDA_NAMES = ("NDA_UNSPEC", "NDA_DST", "NDA_LLADDR", "NDA_CACHEINFO", "NDA_PROBES", "NDA_VLAN",
              "NDA_PORT", "NDA_VNI", "NDA_IFINDEX", "NDA_MASTER", "NDA_LINK_NETNSID",
              "NDA_SRC_VNI", "NDA_PROTOCOL", "NDA_NH_ID", "NDA_FDB_EXT_ATTRS", "NDA_FLAGS_EXT",
              "NDA_NDM_STATE_MASK", "NDA_NDM_FLAGS_MASK")  # fmt: skip


def _a_nda_cacheinfo(c, data, ctx):
    names = ("ndm_confirmed", "ndm_used", "ndm_updated", "ndm_refcnt")
    return _fields(names, "I", 4, data, 4)


def _a_be16(c, data, ctx):
    return f"htons({int.from_bytes(data[:2], 'big')})" if len(data) >= 2 else None


def _a_ndm_states(c, data, ctx):
    if len(data) < 2 or len(data) > 8:
        return None
    return _flags_or_unknown(int.from_bytes(data[:2], "little"), _NUD, "NUD_???")[0]


def _a_lladdr(c, data, ctx):  # decode_nla_hwaddr_nofamily: no device type to cut it to
    return _a_hwaddr(c, data, None)


_NDA_VALUES = {
    1: _a_addr, 2: _a_lladdr, 3: _a_nda_cacheinfo, 4: _a_u32, 5: _a_u16, 6: _a_be16, 7: _a_u32,
    8: _a_ifindex, 9: _a_ifindex, 10: _a_u32, 11: _a_u32, 13: _a_u32,
    14: _nested({0: "NFEA_UNSPEC", 1: "NFEA_ACTIVITY_NOTIFY", 2: "NFEA_DONT_REFRESH"},
                {1: _flagset(((1, "FDB_NOTIFY_BIT"), (2, "FDB_NOTIFY_INACTIVE_BIT")), 1,
                             "FDB_NOTIFY_???")}, "NFEA_???"),
    15: _flagset(((1, "NTF_EXT_MANAGED"),), 4, "NTF_EXT_???"), 16: _a_ndm_states,
    17: _flagset(_NTF, 1, "NTF_???"),
}  # fmt: skip


def _ndmsg(c, data: bytes) -> str:
    if len(data) < 12:
        return f"{{ndm_family={_family(data[0])}, ...}}"
    fam, index, state, flags, typ = struct.unpack_from("<BxxxiHBB", data)
    state_text = (
        _flags_or_unknown(state, _NUD, "NUD_???")[0] if state else _flags(0, (), "NUD_NONE")[0]
    )
    head = (
        f"{{ndm_family={_family(fam)}, ndm_ifindex={_index(index)}, ndm_state={state_text}, "
        f"ndm_flags={_flags_or_unknown(flags, _NTF, 'NTF_???')[0]}, "
        f"ndm_type={_const(typ, _RTN[typ] if typ < len(_RTN) else None, 'RTN_???')}}}"
    )
    return _with_attrs(c, head, data, 12, _NDA_NAMES, _NDA_VALUES, fam, "NDA_???")


def _getneigh(c, data: bytes) -> str:  # strace's decode_rtm_getneigh
    return _ifinfomsg(c, data) if data[0] == 7 else _ndmsg(c, data)


_FR_ACT = ("FR_ACT_UNSPEC", "FR_ACT_TO_TBL", "FR_ACT_GOTO", "FR_ACT_NOP", "FR_ACT_RES3",
           "FR_ACT_RES4", "FR_ACT_BLACKHOLE", "FR_ACT_UNREACHABLE", "FR_ACT_PROHIBIT")  # fmt: skip
_FIB_RULE_F = ((1, "FIB_RULE_PERMANENT"), (2, "FIB_RULE_INVERT"), (4, "FIB_RULE_UNRESOLVED"),
               (8, "FIB_RULE_IIF_DETACHED"), (0x10, "FIB_RULE_OIF_DETACHED"),
               (0x10000, "FIB_RULE_FIND_SADDR"))  # fmt: skip
_FRA_NAMES = ("FRA_UNSPEC", "FRA_DST", "FRA_SRC", "FRA_IIFNAME", "FRA_GOTO", "FRA_UNUSED2",
              "FRA_PRIORITY", "FRA_UNUSED3", "FRA_UNUSED4", "FRA_UNUSED5", "FRA_FWMARK",
              "FRA_FLOW", "FRA_TUN_ID", "FRA_SUPPRESS_IFGROUP", "FRA_SUPPRESS_PREFIXLEN",
              "FRA_TABLE", "FRA_FWMASK", "FRA_OIFNAME", "FRA_PAD", "FRA_L3MDEV", "FRA_UID_RANGE",
              "FRA_PROTOCOL", "FRA_IP_PROTO", "FRA_SPORT_RANGE", "FRA_DPORT_RANGE")  # fmt: skip


def _a_range(fmt: str):
    size = struct.calcsize(fmt)

    def decode(c, data, ctx):
        if len(data) < size:
            return None
        start, end = struct.unpack_from(fmt, data)
        return f"{{start={start}, end={end}}}"

    return decode


def _a_be64(c, data, ctx):
    return f"htobe64({int.from_bytes(data[:8], 'big')})" if len(data) >= 8 else None


def _a_rt_proto(c, data, ctx):
    return _const(data[0], _PROTOS.get(data[0]), "RTPROT_???") if data else None


_FRA_VALUES = {
    1: _a_addr, 2: _a_addr, 3: _a_str, 4: _a_u32, 6: _a_u32, 10: _a_u32, 11: _a_u32,
    12: _a_be64, 13: _a_u32, 14: _a_u32, 15: _a_table, 16: _a_u32, 17: _a_str, 19: _a_u8,
    20: _a_range("<II"), 21: _a_rt_proto, 23: _a_range("<HH"), 24: _a_range("<HH"),
}  # fmt: skip


def _fib_rule_hdr(c, data: bytes) -> str:
    if len(data) < 12:
        return f"{{family={_family(data[0])}, ...}}"
    fam, dst, src, tos, table, _r1, _r2, action, flags = struct.unpack_from("<8BI", data)
    head = (
        f"{{family={_family(fam)}, dst_len={dst}, src_len={src}, tos={tos}, "
        f"table={_const(table, _TABLES.get(table), 'RT_TABLE_???')}, "
        f"action={_const(action, _FR_ACT[action] if action < 9 else None, 'FR_ACT_???')}, "
        f"flags={_flags_or_unknown(flags, _FIB_RULE_F, 'FIB_RULE_???')[0]}}}"
    )
    return _with_attrs(c, head, data, 12, _FRA_NAMES, _FRA_VALUES, fam, "FRA_???")


_NETCONFA_NAMES = ("NETCONFA_UNSPEC", "NETCONFA_IFINDEX", "NETCONFA_FORWARDING",
                   "NETCONFA_RP_FILTER", "NETCONFA_MC_FORWARDING", "NETCONFA_PROXY_NEIGH",
                   "NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN", "NETCONFA_INPUT",
                   "NETCONFA_BC_FORWARDING")  # fmt: skip
_NETCONFA_VALUES = {1: _a_ifindex, **{k: _a_s32 for k in range(2, 9)}}


def _netconfmsg(c, data: bytes) -> str:  # the family alone, then the attributes
    head = f"{{ncm_family={_family(data[0])}}}"
    return _with_attrs(c, head, data, 1, _NETCONFA_NAMES, _NETCONFA_VALUES, None, "NETCONFA_???")


def _a_cookie(c, data, ctx):
    shown = data if c.verbose else data[: c.strsize]
    return "[" + ", ".join(map(str, shown)) + (", ..." if len(shown) < len(data) else "") + "]"


_NLMSGERR_VALUES = {1: _a_str, 2: _a_u32, 3: _a_cookie}
_TCA_NAMES = ("TCA_UNSPEC", "TCA_KIND", "TCA_OPTIONS", "TCA_STATS", "TCA_XSTATS", "TCA_RATE",
              "TCA_FCNT", "TCA_STATS2", "TCA_STAB", "TCA_PAD", "TCA_DUMP_INVISIBLE", "TCA_CHAIN",
              "TCA_HW_OFFLOAD", "TCA_INGRESS_BLOCK", "TCA_EGRESS_BLOCK",
              "TCA_DUMP_FLAGS")  # fmt: skip
_TCA_STATS_NAMES = ("TCA_STATS_UNSPEC", "TCA_STATS_BASIC", "TCA_STATS_RATE_EST",
                    "TCA_STATS_QUEUE", "TCA_STATS_APP", "TCA_STATS_RATE_EST64", "TCA_STATS_PAD",
                    "TCA_STATS_BASIC_HW", "TCA_STATS_PKT64")  # fmt: skip


def _a_tc_stats(c, data, ctx):  # struct tc_stats, up to its backlog
    names = ("bytes", "packets", "drops", "overlimits", "bps", "pps", "qlen", "backlog")
    if len(data) < 36:
        return None
    return "{" + ", ".join(f"{k}={v}" for k, v in zip(names, struct.unpack_from("<QIIIIIII", data),
                                                        strict=True)) + "}"  # fmt: skip


def _a_estimator(c, data, ctx):
    if len(data) < 2:
        return None
    interval, ewma = struct.unpack_from("<bB", data)
    return f"{{interval={interval}, ewma_log={ewma}}}"


def _a_sizespec(c, data, ctx):
    if len(data) < 24:
        return None
    cell, size, align, over, layer, mpu, mtu, tsize = struct.unpack_from("<BBhiIIII", data)
    return (
        f"{{cell_log={cell}, size_log={size}, cell_align={align}, overhead={over}, "
        f"linklayer={layer}, mpu={mpu}, mtu={mtu}, tsize={tsize}}}"
    )


def _a_stab_data(c, data, ctx):
    n = len(data) // 2
    if not n:
        return None
    nums = struct.unpack_from(f"<{n}H", data)
    shown = nums if c.verbose else nums[: c.strsize]
    return "[" + ", ".join(map(str, shown)) + (", ..." if len(shown) < n else "") + "]"


_a_basic = _a_struct(("bytes", "packets"), "<QI")
_TCA_STATS_VALUES = {
    1: _a_basic, 2: _a_struct(("bps", "pps"), "<II"),
    3: _a_struct(("qlen", "backlog", "drops", "requeues", "overlimits"), "<5I"),
    5: _a_struct(("bps", "pps"), "<QQ"), 7: _a_basic, 8: _a_u64,
}  # fmt: skip
_TCA_VALUES = {
    1: _a_str, 3: _a_tc_stats, 5: _a_estimator, 6: _a_u32,
    7: _nested(_TCA_STATS_NAMES, _TCA_STATS_VALUES, "TCA_STATS_???"),
    8: _nested(("TCA_STAB_UNSPEC", "TCA_STAB_BASE", "TCA_STAB_DATA"),
               {1: _a_sizespec, 2: _a_stab_data}, "TCA_STAB_???"),
    11: _a_u32, 12: _a_u8, 13: _a_u32, 14: _a_u32, 15: _a_u32,
}  # fmt: skip


def _tcmsg(c, data: bytes) -> str:
    if len(data) < 20:
        return f"{{tcm_family={_family(data[0])}, ...}}"
    fam, index, handle, parent, info = struct.unpack_from("<BxxxiIII", data)
    head = (
        f"{{tcm_family={_family(fam)}, tcm_ifindex={_index(index)}, tcm_handle={handle}, "
        f"tcm_parent={parent}, tcm_info={info}}}"
    )
    return _with_attrs(c, head, data, 20, _TCA_NAMES, _TCA_VALUES, None, "TCA_???")


# rtnetlink's payloads by message type, as strace's route_decoders
_RTM_PAYLOADS = {
    16: _ifinfomsg, 17: _ifinfomsg, 18: _ifinfomsg, 19: _ifinfomsg, 20: _ifaddrmsg,
    21: _ifaddrmsg, 22: _ifaddrmsg, 24: _rtmsg, 25: _rtmsg, 26: _rtmsg, 28: _ndmsg, 29: _ndmsg,
    30: _getneigh, 32: _fib_rule_hdr, 33: _fib_rule_hdr, 34: _fib_rule_hdr, 58: _ifaddrmsg,
    62: _ifaddrmsg, 80: _netconfmsg, 81: _netconfmsg, 82: _netconfmsg,
    **{t: _tcmsg for t in (36, 37, 38, 40, 41, 42, 44, 45, 46, 100, 101, 102)},
}  # fmt: skip


# --- sock_diag --------------------------------------------------------------------------

_TCP_STATES = ("0", "TCP_ESTABLISHED", "TCP_SYN_SENT", "TCP_SYN_RECV", "TCP_FIN_WAIT1",
               "TCP_FIN_WAIT2", "TCP_TIME_WAIT", "TCP_CLOSE", "TCP_CLOSE_WAIT", "TCP_LAST_ACK",
               "TCP_LISTEN", "TCP_CLOSING", "TCP_NEW_SYN_RECV")  # fmt: skip
_TCP_STATE_BITS = tuple((1 << n, "1<<" + name) for n, name in enumerate(_TCP_STATES) if n)
_IPPROTOS = {6: "IPPROTO_TCP", 17: "IPPROTO_UDP", 136: "IPPROTO_UDPLITE", 132: "IPPROTO_SCTP",
             0: "IPPROTO_IP", 255: "IPPROTO_RAW", 1: "IPPROTO_ICMP", 58: "IPPROTO_ICMPV6",
             262: "IPPROTO_MPTCP"}  # fmt: skip
_INET_DIAG_NAMES = (
    "INET_DIAG_NONE", "INET_DIAG_MEMINFO", "INET_DIAG_INFO", "INET_DIAG_VEGASINFO",
    "INET_DIAG_CONG", "INET_DIAG_TOS", "INET_DIAG_TCLASS", "INET_DIAG_SKMEMINFO",
    "INET_DIAG_SHUTDOWN", "INET_DIAG_DCTCPINFO", "INET_DIAG_PROTOCOL", "INET_DIAG_SKV6ONLY",
    "INET_DIAG_LOCALS", "INET_DIAG_PEERS", "INET_DIAG_PAD", "INET_DIAG_MARK",
    "INET_DIAG_BBRINFO", "INET_DIAG_CLASS_ID", "INET_DIAG_MD5SIG", "INET_DIAG_ULP_INFO",
    "INET_DIAG_SK_BPF_STORAGES", "INET_DIAG_CGROUP_ID", "INET_DIAG_SOCKOPT",
)  # fmt: skip
_SOCKOPT_BITS = ("recverr", "is_icsk", "freebind", "hdrincl", "mc_loop", "transparent",
                 "mc_all", "nodefrag", "bind_address_no_port", "recverr_rfc4884",
                 "defer_connect")  # fmt: skip


def _a_diag_sockopt(c, data, fam):
    if len(data) != 2:
        return None
    bits = data[0] | data[1] << 8
    # abbreviated: the bits set; -v: every bit, and the unused rest as hex
    shown = [f"{name}={bits >> n & 1}" for n, name in enumerate(_SOCKOPT_BITS)
             if c.verbose or bits >> n & 1]  # fmt: skip
    unused = bits >> 11
    if c.verbose or unused:
        shown.append(f"unused={_hex0(unused)} /* bits 3..8 */")
    return "{" + ", ".join(shown) + "}"


def _a_meminfo(c, data, fam):
    return _fields(("idiag_rmem", "idiag_wmem", "idiag_fmem", "idiag_tmem"), "I", 4, data, 4)


def _a_ip_proto(c, data, ctx):  # decode_nla_ip_proto: up to 8 bytes, all of them
    if len(data) > 8:
        return None
    v = int.from_bytes(data, "little")
    return _const(v, _IPPROTOS.get(v), "IPPROTO_???")


_FRA_VALUES[22] = _a_ip_proto

_a_sk_meminfo = _indexed(_nl.NETLINK_SK_MEMINFO_INDICES, "SK_MEMINFO_???", "I")
_INET_DIAG_VALUES = {1: _a_meminfo, 4: _a_str, 5: _a_u8, 6: _a_u8, 7: _a_sk_meminfo, 8: _a_u8,
                     10: _a_ip_proto, 11: _a_u8, 15: _a_u32, 17: _a_u32, 21: _a_u64,
                     22: _a_diag_sockopt}  # fmt: skip


def _a_shutdown(c, data, ctx):  # the bits with their names as a comment (no UAPI names)
    if len(data) < 1 or len(data) > 8:
        return None
    v = data[0]
    if not v or _xstyle() == RAW:
        return _hex0(v)
    names = "|".join(n for b, n in ((1, "RCV_SHUTDOWN"), (2, "SEND_SHUTDOWN")) if v & b)
    names += f"|{v & ~3:#x}" if v & ~3 and names else ("" if names else f"{v:#x}")
    return f"{v:#x} /* {names} */" if not names.startswith("0x") else f"{v:#x} /* ???_SHUTDOWN */"


_INET_DIAG_VALUES.update({
    3: _a_struct(("tcpv_enabled", "tcpv_rttcnt", "tcpv_rtt", "tcpv_minrtt"), "<4I"),
    8: _a_shutdown,
    9: _a_struct(("dctcp_enabled", "dctcp_ce_state", "dctcp_alpha", "dctcp_ab_ecn",
                  "dctcp_ab_tot"), "<HHIII"),
    16: _a_struct(("bbr_bw_lo", "bbr_bw_hi", "bbr_min_rtt", "bbr_pacing_gain", "bbr_cwnd_gain"),
                  "<5I", ("bbr_bw_lo", "bbr_bw_hi")),
})  # fmt: skip


def _sockid(fam: int, raw: bytes, off: int) -> str:
    sport, dport = struct.unpack_from(">HH", raw, off)
    src, dst = raw[off + 4 : off + 20], raw[off + 20 : off + 36]
    ifindex, c1, c2 = struct.unpack_from("<III", raw, off + 36)
    if _xstyle():  # -X raw/verbose: the fields' bytes (verbose: and their meaning)
        if fam == 10:
            src_text = f'inet_pton(AF_INET6, "{socket.inet_ntop(socket.AF_INET6, src)}")'
            dst_text = f'inet_pton(AF_INET6, "{socket.inet_ntop(socket.AF_INET6, dst)}")'
        else:
            src_text, dst_text = _ipv4_text(src), _ipv4_text(dst)
        return (
            f"id={{idiag_sport={_rawbytes(raw[off : off + 2], f'htons({sport})')}, "
            f"idiag_dport={_rawbytes(raw[off + 2 : off + 4], f'htons({dport})')}, "
            f"idiag_src={_rawbytes(src, src_text)}, idiag_dst={_rawbytes(dst, dst_text)}, "
            f"idiag_if={_index(ifindex)}, idiag_cookie=[{c1}, {c2}]}}"
        )
    if fam == 10:
        addrs = (
            f'inet_pton(AF_INET6, "{socket.inet_ntop(socket.AF_INET6, src)}", &idiag_src), '
            f'inet_pton(AF_INET6, "{socket.inet_ntop(socket.AF_INET6, dst)}", &idiag_dst)'
        )
    else:
        addrs = f"idiag_src={_ipv4_text(src)}, idiag_dst={_ipv4_text(dst)}"
    return (
        f"id={{idiag_sport=htons({sport}), idiag_dport=htons({dport}), {addrs}, "
        f"idiag_if={_index(ifindex)}, idiag_cookie=[{c1}, {c2}]}}"
    )


def _inet_diag_req(c, data: bytes) -> str | None:
    if len(data) < 56:
        return None
    fam, proto, ext, states = data[0], data[1], data[2], struct.unpack_from("<I", data, 4)[0]
    ext_text = _flags_or_unknown(ext, _nl.INET_DIAG_EXTENDED_FLAGS, "1<<INET_DIAG_???-1")[0]
    return (
        f"{{sdiag_family={_family(fam)}, sdiag_protocol={_name(_IPPROTOS, proto)}, "
        f"idiag_ext={ext_text}, idiag_states={_flags(states, _TCP_STATE_BITS)[0]}, "
        f"{_sockid(fam, data, 8)}}}"
    )


def _inet_diag_msg(c, data: bytes) -> str | None:
    if len(data) < 72:
        return None
    fam, state, timer, retrans = data[:4]
    expires, rqueue, wqueue, uid, inode = struct.unpack_from("<5I", data, 52)
    head = (
        f"{{idiag_family={_family(fam)}, idiag_state="
        f"{_state(state)}, "
        f"idiag_timer={timer}, idiag_retrans={retrans}, {_sockid(fam, data, 4)}, "
        f"idiag_expires={expires}, idiag_rqueue={rqueue}, idiag_wqueue={wqueue}, "
        f"idiag_uid={uid}, idiag_inode={inode}}}"
    )
    return _with_attrs(c, head, data, 72, _INET_DIAG_NAMES, _INET_DIAG_VALUES, fam, "INET_DIAG_???")


_UDIAG_SHOW = ((1, "UDIAG_SHOW_NAME"), (2, "UDIAG_SHOW_VFS"), (4, "UDIAG_SHOW_PEER"),
               (8, "UDIAG_SHOW_ICONS"), (0x10, "UDIAG_SHOW_RQLEN"), (0x20, "UDIAG_SHOW_MEMINFO"),
               (0x40, "UDIAG_SHOW_UID"))  # fmt: skip
_SOCK_TYPES = {1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 5: "SOCK_SEQPACKET"}
_UNIX_DIAG_NAMES = ("UNIX_DIAG_NAME", "UNIX_DIAG_VFS", "UNIX_DIAG_PEER", "UNIX_DIAG_ICONS",
                    "UNIX_DIAG_RQLEN", "UNIX_DIAG_MEMINFO", "UNIX_DIAG_SHUTDOWN",
                    "UNIX_DIAG_UID")  # fmt: skip


def _a_rqlen(c, data, fam):
    return _fields(("udiag_rqueue", "udiag_wqueue"), "I", 4, data, 2)


def _a_unix_vfs(c, data, ctx):
    if len(data) < 8:
        return None
    ino, dev = struct.unpack_from("<II", data)  # struct unix_diag_vfs: the inode first
    return f"{{udiag_vfs_dev={_styled(dev, _makedev(dev))}, udiag_vfs_ino={ino}}}"


def _a_unix_icons(c, data, ctx):  # the inodes of the connections a listener holds
    n = len(data) // 4
    if not n:
        return None
    nums = struct.unpack_from(f"<{n}I", data)
    shown = nums if c.verbose else nums[: c.strsize]
    more = ", ..." if len(shown) < n else ""
    return "[" + ", ".join(map(str, shown)) + more + "]"


_UNIX_DIAG_VALUES = {0: _a_str, 1: _a_unix_vfs, 2: _a_u32, 3: _a_unix_icons, 4: _a_rqlen,
                     5: _a_sk_meminfo, 6: _a_u8, 7: _a_uid}  # fmt: skip


def _unix_diag_req(c, data: bytes) -> str | None:
    if len(data) < 24:
        return None
    proto, states, ino, show, c1, c2 = struct.unpack_from("<xBxxIIIII", data)
    return (
        f"{{sdiag_family={_family(1)}, sdiag_protocol={proto}, "
        f"udiag_states={_flags(states, _TCP_STATE_BITS)[0]}, udiag_ino={ino}, "
        f"udiag_show={_flags(show, _UDIAG_SHOW)[0]}, udiag_cookie=[{c1}, {c2}]}}"
    )


def _unix_diag_msg(c, data: bytes) -> str | None:
    if len(data) < 16:
        return None
    typ, state, ino, c1, c2 = struct.unpack_from("<xBBxIII", data)
    head = (
        f"{{udiag_family={_family(1)}, udiag_type={_name(_SOCK_TYPES, typ)}, "
        f"udiag_state={_state(state)}, "
        f"udiag_ino={ino}, udiag_cookie=[{c1}, {c2}]}}"
    )
    return _with_attrs(c, head, data, 16, _UNIX_DIAG_NAMES, _UNIX_DIAG_VALUES, 1, "UNIX_DIAG_???")


def _sock_diag(c, flags: int, data: bytes) -> str | None:
    if not data:
        return None
    if data[0] == 1:  # AF_UNIX
        return _unix_diag_req(c, data) if flags & 1 else _unix_diag_msg(c, data)
    if data[0] not in (2, 10):
        return None
    return _inet_diag_req(c, data) if flags & 1 else _inet_diag_msg(c, data)


def buffer(c, addr: int, length: int, fam: int) -> Arg | None:
    """``length`` bytes at ``addr`` as netlink messages, or None (not readable)."""
    if not addr or length <= 0:
        return None
    try:
        raw = c.mem.read(addr, min(length, 1 << 16))
    except OSError:
        return None
    if length < 16:  # too short for a header: strace's bytes in hex
        return Arg(_hexstr(c, raw), {"netlink": len(raw)})
    return Arg(messages(c, raw, fam, length), {"netlink": len(raw)})
