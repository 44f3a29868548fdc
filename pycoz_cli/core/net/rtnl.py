"""A small rtnetlink client: links, addresses, routes, rules and qdiscs.

pycoz speaks NETLINK_ROUTE itself instead of going through pyroute2: the messages
it needs are few and fixed, and pyroute2 0.9 measured here at ~270 ms to import
and several milliseconds per request (its asyncio core), which would dominate
building a topology.  Each ``Rtnl`` is one netlink socket; a socket talks to the
network namespace it was *created* in, whichever namespace the caller is in later,
so ``netns.NetNS.rtnl()`` creates it inside the namespace and steps back out.

Requests are pipelined: ``send`` queues a message and ``flush`` writes them all
and reads every acknowledgement, raising the first error as
``OSError(errno, what, target)``.
"""

from __future__ import annotations

import os
import socket
import struct

NETLINK_ROUTE = 0

RTM_NEWLINK = 16
RTM_NEWADDR = 20
RTM_NEWROUTE = 24
RTM_NEWRULE = 32
RTM_NEWQDISC, RTM_DELQDISC = 36, 37

NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLMSG_ERROR = 2

IFF_UP = 0x1

IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_MTU = 4
IFLA_MASTER = 10
IFLA_LINKINFO = 18
IFLA_NET_NS_FD = 28
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
VETH_INFO_PEER = 1

IFA_ADDRESS = 1
IFA_LOCAL = 2
IFA_FLAGS = 8
IFA_F_NODAD = 0x02

RTA_DST = 1
RTA_OIF = 4
RTA_GATEWAY = 5
RT_TABLE_MAIN = 254
RTPROT_STATIC = 4
RT_SCOPE_UNIVERSE = 0
RTN_UNICAST, RTN_BLACKHOLE, RTN_UNREACHABLE, RTN_PROHIBIT = 1, 6, 7, 8
ROUTE_TYPES = {
    "unicast": RTN_UNICAST,
    "blackhole": RTN_BLACKHOLE,
    "unreachable": RTN_UNREACHABLE,
    "prohibit": RTN_PROHIBIT,
}

FRA_DST, FRA_SRC, FRA_PRIORITY = 1, 2, 6
FR_ACT_TO_TBL, FR_ACT_BLACKHOLE, FR_ACT_UNREACHABLE, FR_ACT_PROHIBIT = 1, 6, 7, 8

TCA_KIND, TCA_OPTIONS = 1, 2
TC_H_ROOT = 0xFFFFFFFF
TCA_NETEM_CORR = 1
TCA_NETEM_REORDER = 3
TCA_NETEM_CORRUPT = 4
TCA_NETEM_RATE64 = 8
TCA_NETEM_LATENCY64 = 10
TCA_NETEM_JITTER64 = 11
TCA_NETEM_RATE = 6

_HDR = struct.Struct("=IHHII")
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
#: Requests sent before their acknowledgements are read (36 bytes each).
WINDOW = 256


def attr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def attr_str(kind: int, text: str) -> bytes:
    return attr(kind, text.encode() + b"\0")


def attr_u32(kind: int, value: int) -> bytes:
    return attr(kind, struct.pack("=I", value))


def ifinfo(index: int = 0, flags: int = 0, change: int = 0) -> bytes:
    return struct.pack("=BxHiII", socket.AF_UNSPEC, 0, index, flags, change)


def _family(address: str) -> int:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def _packed(address: str) -> bytes:
    return socket.inet_pton(_family(address), address)


class Rtnl:
    """One NETLINK_ROUTE socket, bound to the namespace it was created in."""

    def __init__(self, label: str = ""):
        self.label = label
        self.sock = socket.socket(
            socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE
        )
        # Short acknowledgements: without NETLINK_CAP_ACK each one carries a copy
        # of its request.
        self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        self.sock.bind((0, 0))
        self.seq = 0
        self.pending: dict[int, tuple[str, str]] = {}
        self.out: list[bytes] = []

    def close(self) -> None:
        self.sock.close()

    # --- plumbing ------------------------------------------------------------

    def send(self, kind: int, flags: int, body: bytes, what: str, target: str) -> None:
        self.seq += 1
        self.out.append(
            (
                self.seq,
                _HDR.pack(
                    _HDR.size + len(body), kind, flags | NLM_F_REQUEST | NLM_F_ACK, self.seq, 0
                )
                + body,
            )
        )
        self.pending[self.seq] = (what, target)

    def flush(self) -> None:
        """Send every queued request and wait for all their acknowledgements.

        Requests go out in windows (several per datagram; the kernel walks them
        in order) and each window's acknowledgements are read before the next is
        sent: unread acknowledgements count against the socket's receive buffer,
        which the kernel caps at net.core.rmem_max (about 208 KiB by default), and
        an overflow loses them (ENOBUFS).
        """
        first_error = None
        out, self.out = self.out, []
        for start in range(0, len(out), WINDOW):
            window = out[start : start + WINDOW]
            self.sock.send(b"".join(message for _, message in window))
            error = self._read_acks({seq for seq, _ in window})
            first_error = first_error or error
        if first_error is not None:
            raise first_error

    def _read_acks(self, waiting: set[int]) -> OSError | None:
        first_error = None
        while waiting:
            buf = self.sock.recv(1 << 16)
            offset = 0
            while offset < len(buf):
                length, kind, _flags, seq, _pid = _HDR.unpack_from(buf, offset)
                if kind == NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", buf, offset + _HDR.size)
                    what, target = self.pending.pop(seq, ("netlink request failed", ""))
                    waiting.discard(seq)
                    if code and first_error is None:
                        first_error = OSError(-code, what, f"{target}{self._where()}")
                offset += (length + 3) & ~3
        return first_error

    def _where(self) -> str:
        return f" (in {self.label})" if self.label else ""

    # --- requests ------------------------------------------------------------

    def link_up(self, index: int, name: str, mtu: int | None = None) -> None:
        extra = attr_u32(IFLA_MTU, mtu) if mtu else b""
        self.send(RTM_NEWLINK, 0, ifinfo(index, IFF_UP, IFF_UP) + extra, "cannot set link up", name)

    def add_veth(
        self,
        name: str,
        peer: str,
        peer_netns_fd: int,
        index: int = 0,
        peer_index: int = 0,
        mtu: int | None = None,
    ) -> None:
        """A veth pair: ``name`` here, ``peer`` directly in the namespace of the fd.

        Explicit, different ifindexes for the two ends matter: the kernel only
        treats a carrier change as urgent when a link's ifindex differs from its
        peer's (iflink), and otherwise rate-limits it to one per second — which
        delays IPv6 neighbour discovery on fresh links by up to a second.
        """
        mtu_attr = attr_u32(IFLA_MTU, mtu) if mtu else b""
        peer_msg = ifinfo(peer_index) + attr_str(IFLA_IFNAME, peer)
        peer_msg += attr_u32(IFLA_NET_NS_FD, peer_netns_fd) + mtu_attr
        info = attr_str(IFLA_INFO_KIND, "veth") + attr(
            IFLA_INFO_DATA, attr(VETH_INFO_PEER, peer_msg)
        )
        body = ifinfo(index) + attr_str(IFLA_IFNAME, name) + mtu_attr + attr(IFLA_LINKINFO, info)
        self.send(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body, "cannot create veth", name)

    def add_bridge(self, name: str, index: int = 0) -> None:
        body = (
            ifinfo(index)
            + attr_str(IFLA_IFNAME, name)
            + attr(IFLA_LINKINFO, attr_str(IFLA_INFO_KIND, "bridge"))
        )
        self.send(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body, "cannot create bridge", name)

    def set_master(self, index: int, name: str, master: int) -> None:
        self.send(
            RTM_NEWLINK,
            0,
            ifinfo(index) + attr_u32(IFLA_MASTER, master),
            "cannot attach to bridge",
            name,
        )

    def add_address(self, index: int, name: str, address: str, prefixlen: int) -> None:
        family = _family(address)
        raw = _packed(address)
        body = struct.pack("=BBBBI", family, prefixlen, 0, RT_SCOPE_UNIVERSE, index)
        body += attr(IFA_LOCAL, raw) + attr(IFA_ADDRESS, raw)
        if family == socket.AF_INET6:
            # No duplicate-address detection: the address works at once, and in a
            # private topology nothing else can hold it.
            body += attr_u32(IFA_FLAGS, IFA_F_NODAD)
        self.send(
            RTM_NEWADDR,
            NLM_F_CREATE | NLM_F_EXCL,
            body,
            f"cannot add address {address}/{prefixlen} to",
            name,
        )

    def add_route(
        self,
        dst: str,
        prefixlen: int,
        gateway: str | None = None,
        kind: str = "unicast",
        family: int | None = None,
    ) -> None:
        family = family or _family(dst if dst else gateway or "0.0.0.0")
        rtype = ROUTE_TYPES[kind]
        scope = RT_SCOPE_UNIVERSE
        body = struct.pack(
            "=BBBBBBBBI", family, prefixlen, 0, 0, RT_TABLE_MAIN, RTPROT_STATIC, scope, rtype, 0
        )
        if prefixlen:
            body += attr(RTA_DST, _packed(dst))
        if gateway:
            body += attr(RTA_GATEWAY, _packed(gateway))
        label = f"{dst or 'default'}/{prefixlen}" + (f" via {gateway}" if gateway else "")
        self.send(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, body, f"cannot add {kind} route", label)

    def set_netem(
        self,
        index: int,
        name: str,
        *,
        delay_ns: int = 0,
        jitter_ns: int = 0,
        loss: float = 0.0,
        corrupt: float = 0.0,
        rate_bps: int = 0,
        limit: int = 1000,
        duplicate: float = 0.0,
        reorder: float = 0.0,
        gap: int = 0,
        loss_corr: float = 0.0,
        corrupt_corr: float = 0.0,
        duplicate_corr: float = 0.0,
        reorder_corr: float = 0.0,
        remove: bool = False,
    ) -> None:
        """Replace the root qdisc of a link with netem (or remove it); as tc,
        a reorder without a gap has gap 1."""
        tc = struct.pack("=BxxxiIII", socket.AF_UNSPEC, index, 0x10000, TC_H_ROOT, 0)
        if remove:
            self.send(RTM_DELQDISC, 0, tc, "cannot remove impairments from", name)
            return
        gap = gap or (1 if reorder else 0)
        qopt = struct.pack("=IIIIII", 0, limit, _u32_percent(loss), gap, _u32_percent(duplicate), 0)
        opts = qopt
        if loss_corr or duplicate_corr:
            corr = (0, _u32_percent(loss_corr), _u32_percent(duplicate_corr))
            opts += attr(TCA_NETEM_CORR, struct.pack("=III", *corr))
        if reorder:
            order = (_u32_percent(reorder), _u32_percent(reorder_corr))
            opts += attr(TCA_NETEM_REORDER, struct.pack("=II", *order))
        if delay_ns:
            opts += attr(TCA_NETEM_LATENCY64, struct.pack("=q", delay_ns))
        if jitter_ns:
            opts += attr(TCA_NETEM_JITTER64, struct.pack("=q", jitter_ns))
        if corrupt:
            corrupt_attr = struct.pack("=II", _u32_percent(corrupt), _u32_percent(corrupt_corr))
            opts += attr(TCA_NETEM_CORRUPT, corrupt_attr)
        if rate_bps:
            rate_bytes = rate_bps // 8
            opts += attr(TCA_NETEM_RATE, struct.pack("=IiIi", min(rate_bytes, 0xFFFFFFFF), 0, 0, 0))
            if rate_bytes > 0xFFFFFFFF:
                opts += attr(TCA_NETEM_RATE64, struct.pack("=Q", rate_bytes))
        body = tc + attr_str(TCA_KIND, "netem") + attr(TCA_OPTIONS, opts)
        self.send(
            RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, body, "cannot set impairments on", name
        )


def _u32_percent(pct: float) -> int:
    return min(0xFFFFFFFF, round(pct / 100 * 0xFFFFFFFF))


def write_sysctl(name: str, value: str) -> None:
    """Write a sysctl of the *current thread's* network namespace (net.*)."""
    path = "/proc/sys/" + name.replace(".", "/")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except OSError as err:
        raise OSError(err.errno, "cannot set sysctl", name) from None
    try:
        os.write(fd, str(value).encode())
    except OSError as err:
        raise OSError(err.errno, f"cannot set sysctl to {value!r}", name) from None
    finally:
        os.close(fd)
