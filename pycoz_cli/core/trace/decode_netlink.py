"""Netlink messages inside sendto/recvfrom/sendmsg/recvmsg, as strace 6.1 prints them.

strace decodes a buffer as netlink when the descriptor is a NETLINK socket (its
``system.sockprotoname``), and the messages by the socket's family, which it
looks up by inode with sock_diag in its own network namespace: a socket of
another namespace gets the family-independent decoding (``nlmsg_type=0x12 /*
NLMSG_??? */`` and the payload in hex).  pycoz looks the inode up in its own
/proc/self/net/netlink, the same table, for the same answers.

Known: the netlink header, NLMSG_ERROR and NLMSG_DONE, and rtnetlink's link,
address and route messages (ifinfomsg, ifaddrmsg, rtmsg) with their common
attributes; other payloads and attributes show as strace shows what it does not
know, their bytes in hex.
"""

from __future__ import annotations

import os
import socket
import struct

from pycoz_cli.core.trace.decode import (
    _AF,
    Arg,
    _errname,
    _flags,
    _hex,
    _ifindex,
    _ipv4_text,
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
    100: "RTM_NEWCHAIN", 101: "RTM_DELCHAIN", 102: "RTM_GETCHAIN",
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
        if len(texts) == c.strsize:
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


def _payload(c, fam: int, typ: int, flags: int, data: bytes) -> str:
    if typ == 2:  # NLMSG_ERROR: struct nlmsgerr, the request it answers
        if len(data) < 4:
            return _hexstr(c, data)
        (err,) = struct.unpack_from("<i", data)
        etext = f"-{_errname(-err)}" if err < 0 else str(err)
        if len(data) < 20:
            return f"{{error={etext}}}"
        inner = data[4:]
        return f"{{error={etext}, msg={messages(c, inner, fam, len(inner))}}}"
    if typ == 3 and len(data) == 4:  # NLMSG_DONE: an int
        return str(struct.unpack_from("<i", data)[0])
    if fam == 0 and typ in _RTM:
        decoder = _RTM_PAYLOADS.get((typ - 16) // 4)
        if decoder is not None:
            return decoder(c, data)
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
          (0x4000, "RTM_F_OFFLOAD"), (0x8000, "RTM_F_TRAP"))  # fmt: skip
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
    return _const(v, _AF.get(v), "AF_???")


def _state(v: int) -> str:
    return _styled(v, _TCP_STATES[v]) if 0 < v < len(_TCP_STATES) else str(v)


def _index(v: int) -> str:
    return _ifindex(v & 0xFFFFFFFF) if v else "0"  # strace prints an index unsigned


# Attribute values: f(c, data, family) -> text (None: shown in hex).
def _a_str(c, data, fam):
    return quote(data.split(b"\0", 1)[0], False, c.xflag)


def _a_u8(c, data, fam):
    return str(data[0]) if len(data) == 1 else None


def _a_u32(c, data, fam):
    return str(struct.unpack("<I", data)[0]) if len(data) == 4 else None


def _a_s32(c, data, fam):
    return str(struct.unpack("<i", data)[0]) if len(data) == 4 else None


def _a_ifindex(c, data, fam):
    return _index(struct.unpack("<I", data)[0]) if len(data) == 4 else None


def _a_rtext(c, data, fam):
    return _flags(struct.unpack("<I", data)[0], _RTEXT)[0] if len(data) == 4 else None


def _a_ifa_flags(c, data, fam):
    return _flags(struct.unpack("<I", data)[0], _IFA_F)[0] if len(data) == 4 else None


def _a_table(c, data, fam):
    if len(data) != 4:
        return None
    v = struct.unpack("<I", data)[0]
    return _const(v, _TABLES.get(v))


def _a_addr(c, data, fam):
    if fam == 2 and len(data) == 4:
        return _rawbytes(data, _ipv4_text(data))
    if fam == 10 and len(data) == 16:
        return _rawbytes(data, f'inet_pton(AF_INET6, "{socket.inet_ntop(socket.AF_INET6, data)}")')
    return None


def _a_hwaddr(c, data, fam):
    return _rawbytes(data, ":".join(f"{b:02x}" for b in data)) if data else None


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


def _a_stats(c, data, fam):
    return _fields(_STATS, "I", 4, data, 24)


def _a_stats64(c, data, fam):
    return _fields(_STATS, "Q", 8, data, 24)


def _a_rta_cacheinfo(c, data, fam):
    if len(data) < 32:
        return None
    names = ("rta_clntref", "rta_lastuse", "rta_expires", "rta_error", "rta_used", "rta_id",
             "rta_ts", "rta_tsage")  # fmt: skip
    nums = struct.unpack_from("<IIiIIIII", data)
    return "{" + ", ".join(f"{k}={v}" for k, v in zip(names, nums, strict=True)) + "}"


def _a_cacheinfo(c, data, fam):
    return _fields(("ifa_prefered", "ifa_valid", "cstamp", "tstamp"), "I", 4, data, 4)


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
    10: _a_ifindex, 23: _a_stats64,
    13: _a_u32, 16: _a_u8, 17: _a_u8, 20: _a_str, 21: _a_u32, 27: _a_u32, 29: _a_rtext,
    30: _a_u32, 31: _a_u32, 32: _a_u32, 33: _a_u8, 35: _a_u32, 37: _a_s32, 38: _a_str,
    39: _a_u8, 40: _a_u32, 41: _a_u32, 47: _a_u32, 48: _a_u32, 50: _a_u32, 51: _a_u32,
    53: _a_str, 54: _a_hwaddr, 56: _a_str, 57: _a_str, 58: _a_u32, 59: _a_u32, 60: _a_u32,
    61: _a_u32,
}  # fmt: skip
_IFA_NAMES = ("IFA_UNSPEC", "IFA_ADDRESS", "IFA_LOCAL", "IFA_LABEL", "IFA_BROADCAST",
              "IFA_ANYCAST", "IFA_CACHEINFO", "IFA_MULTICAST", "IFA_FLAGS", "IFA_RT_PRIORITY",
              "IFA_TARGET_NETNSID", "IFA_PROTO")  # fmt: skip
_IFA_VALUES = {1: _a_addr, 2: _a_addr, 3: _a_str, 4: _a_addr, 5: _a_addr, 6: _a_cacheinfo,
               7: _a_addr,
               8: _a_ifa_flags, 9: _a_u32, 10: _a_s32}  # fmt: skip
_RTA_NAMES = ("RTA_UNSPEC", "RTA_DST", "RTA_SRC", "RTA_IIF", "RTA_OIF", "RTA_GATEWAY",
              "RTA_PRIORITY", "RTA_PREFSRC", "RTA_METRICS", "RTA_MULTIPATH", "RTA_PROTOINFO",
              "RTA_FLOW", "RTA_CACHEINFO", "RTA_SESSION", "RTA_MP_ALGO", "RTA_TABLE",
              "RTA_MARK", "RTA_MFC_STATS", "RTA_VIA", "RTA_NEWDST", "RTA_PREF",
              "RTA_ENCAP_TYPE", "RTA_ENCAP", "RTA_EXPIRES", "RTA_PAD", "RTA_UID",
              "RTA_TTL_PROPAGATE", "RTA_IP_PROTO", "RTA_SPORT", "RTA_DPORT",
              "RTA_NH_ID")  # fmt: skip
_RTA_VALUES = {1: _a_addr, 2: _a_addr, 3: _a_ifindex, 4: _a_ifindex, 5: _a_addr, 6: _a_u32,
               7: _a_addr, 11: _a_u32, 12: _a_rta_cacheinfo, 15: _a_table, 16: _a_u32,
               20: _a_u8, 25: _a_u32,
               30: _a_u32}  # fmt: skip


def _attrs(c, data: bytes, names: tuple, values: dict, fam: int, unknown: str) -> str:
    """A list of netlink attributes: ``[{nla_len=7, nla_type=IFLA_IFNAME}, "lo"]``."""
    texts = []
    off = 0
    while off + 4 <= len(data):
        if len(texts) == c.strsize:  # strace's arrays stop at -s elements
            texts.append("...")
            break
        ln, typ = struct.unpack_from("<HH", data, off)
        kind = typ & 0x3FFF
        tname = _const(kind, names[kind] if kind < len(names) else None, unknown)
        if typ & 0x8000:
            tname = "NLA_F_NESTED|" + tname
        if typ & 0x4000:
            tname = "NLA_F_NET_BYTEORDER|" + tname
        head = f"{{nla_len={ln}, nla_type={tname}}}"
        value = data[off + 4 : off + ln] if ln >= 4 else b""
        if value:
            decoder = values.get(kind)
            text = decoder(c, value, fam) if decoder is not None else None
            texts.append(f"[{head}, {text if text is not None else _hexstr(c, value)}]")
        else:
            texts.append(head)
        if ln < 4:
            break
        off += (ln + 3) & ~3
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
        return f"{{ifi_family={_family(data[0])}}}" if data else '""'
    fam, typ, index, flags, change = struct.unpack_from("<BxHiII", data)
    head = (
        f"{{ifi_family={_family(fam)}, ifi_type={_name(_ARPHRD_ALL, typ)}, "
        f"ifi_index={_index(index)}, ifi_flags={_flags(flags, _IFF)[0]}, "
        f"ifi_change={_hex(change)}}}"
    )
    return _with_attrs(c, head, data, 16, _IFLA_NAMES, _IFLA_VALUES, fam, "IFLA_???")


def _ifaddrmsg(c, data: bytes) -> str:
    if len(data) < 8:
        return f"{{ifa_family={_family(data[0])}}}" if data else '""'
    fam, plen, flags, scope, index = struct.unpack_from("<BBBBI", data)
    head = (
        f"{{ifa_family={_family(fam)}, ifa_prefixlen={plen}, ifa_flags={_flags(flags, _IFA_F)[0]}, "
        f"ifa_scope={_name(_SCOPE, scope)}, ifa_index={_index(index)}}}"
    )
    return _with_attrs(c, head, data, 8, _IFA_NAMES, _IFA_VALUES, fam, "IFA_???")


def _rtmsg(c, data: bytes) -> str:
    if len(data) < 12:
        return f"{{rtm_family={_family(data[0])}}}" if data else '""'
    fam, dst, src, tos, table, proto, scope, typ, flags = struct.unpack_from("<8BI", data)
    head = (
        f"{{rtm_family={_family(fam)}, rtm_dst_len={dst}, rtm_src_len={src}, rtm_tos={tos}, "
        f"rtm_table={_name(_TABLES, table)}, rtm_protocol={_name(_PROTOS, proto)}, "
        f"rtm_scope={_name(_SCOPE, scope)}, "
        f"rtm_type={_styled(typ, _RTN[typ]) if typ < len(_RTN) else typ}, "
        f"rtm_flags={_flags(flags, _RTM_F)[0]}}}"
    )
    return _with_attrs(c, head, data, 12, _RTA_NAMES, _RTA_VALUES, fam, "RTA_???")


_RTM_PAYLOADS = {0: _ifinfomsg, 1: _ifaddrmsg, 2: _rtmsg}


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


def _a_u64(c, data, fam):
    return str(struct.unpack("<Q", data)[0]) if len(data) == 8 else None


def _a_diag_sockopt(c, data, fam):
    if len(data) != 2:
        return None
    bits = data[0] | data[1] << 8
    shown = [f"{name}=1" for n, name in enumerate(_SOCKOPT_BITS) if bits >> n & 1]
    return "{" + ", ".join(shown) + "}"


def _a_meminfo(c, data, fam):
    return _fields(("idiag_rmem", "idiag_wmem", "idiag_fmem", "idiag_tmem"), "I", 4, data, 4)


_INET_DIAG_VALUES = {1: _a_meminfo, 4: _a_str, 5: _a_u8, 6: _a_u8, 8: _a_u8, 10: _a_u8,
                     11: _a_u8, 15: _a_u32, 17: _a_u32, 21: _a_u64,
                     22: _a_diag_sockopt}  # fmt: skip


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
    return (
        f"{{sdiag_family={_family(fam)}, sdiag_protocol={_name(_IPPROTOS, proto)}, "
        f"idiag_ext={ext}, idiag_states={_flags(states, _TCP_STATE_BITS)[0]}, "
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


def _a_unix_name(c, data, fam):
    # A path comes with its NUL; an abstract name has none, and strace marks the
    # string it read as unterminated.
    if data.endswith(b"\0"):
        return quote(data[:-1], False, c.xflag)
    return quote(data, True, c.xflag)


def _a_rqlen(c, data, fam):
    return _fields(("udiag_rqueue", "udiag_wqueue"), "I", 4, data, 2)


_UNIX_DIAG_VALUES = {0: _a_unix_name, 2: _a_u32, 4: _a_rqlen, 6: _a_u8, 7: _a_u32}


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
    if not addr or length < 16:
        return None
    try:
        raw = c.mem.read(addr, min(length, 1 << 16))
    except OSError:
        return None
    return Arg(messages(c, raw, fam, length), {"netlink": len(raw)})
