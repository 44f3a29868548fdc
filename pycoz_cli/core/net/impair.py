"""Link impairments where the kernel has no netem: a user-space relay that behaves like it.

Where the kernel has the netem qdisc, pycoz puts it on the sending interface and
nothing here runs.  Kernels built without it (this project's CI kernel is one)
get the same effects from a *relay* process per topology, in a hidden namespace
R of its own.

**A detour, made only when a link is impaired.**  Links are plain veth pairs,
so a link never impaired costs nothing.  When one is (at build, or live with
``net set``), pycoz adds beside each end X:ethN an auxiliary veth X:pczJ ⇄ R:aJ
(R:bJ for the other end), gives it ethN's MAC address, and steers with tc
(clsact, a match-all u32 filter and mirred): what ethN sends goes out through
pczJ instead, and what arrives on pczJ is handed to ethN's ingress, as if it
had come over the wire.  The nodes' interfaces, addresses, routes and sockets
never change.  Only an impaired direction is steered; clearing it steers the
traffic straight again.

**Ready before traffic.**  The relay is told of a link over its control socket
and answers once its packet sockets are bound; only then is traffic steered
into the detour, so the first packet is relayed.

**The relay** moves frames between aJ and bJ through AF_PACKET sockets watched
by one epoll (no descriptor ceiling), holding them back, dropping, duplicating,
reordering, corrupting or pacing them with netem's semantics (tc-netem(8)):
the correlated random numbers of netem's ``get_crandom``, its order of
decisions (duplicate, loss, corrupt, queue limit, delay with rate, reorder),
and its bounded queue (``limit``, 1000 packets per direction by default; more
are dropped).  Its sockets use PACKET_VNET_HDR, so TCP's 64 KB segments (GSO)
cross the relay whole, as they cross a veth with netem on it: the Python work
is per segment, not per 1500-byte frame.  Where a frame must be corrupted, the
sending side's detour has its offloads turned off, so that the frame carries
real checksums for the receiver to catch.

The relay's settings change at run time through its control socket (``net set``);
it takes them only from root or its own user holding CAP_NET_ADMIN.
"""

from __future__ import annotations

import errno
import heapq
import json
import os
import random
import select
import signal
import socket
import struct
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_VNET_HDR = 15
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
#: struct virtio_net_hdr: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset.
VNET_HDR = struct.Struct("=BBHHHH")
VIRTIO_NET_HDR_GSO_NONE = 0
SIOCETHTOOL = 0x8946
# ETHTOOL_S* commands: TX checksum, scatter-gather, TSO, GSO, GRO.
_OFFLOADS = (0x17, 0x19, 0x1F, 0x24, 0x2C)
#: tc handles: the clsact qdisc's ingress and egress hooks.
CLSACT_INGRESS = 0xFFFFFFF2
CLSACT_EGRESS = 0xFFFFFFF3
#: netem's default queue length (packets per direction), as tc-netem(8) says.
DEFAULT_LIMIT = 1000


def aux_name(j: int) -> str:
    """The auxiliary interface of relayed link ``j`` in each node it joins."""
    return f"pcz{j}"


def set_offloads(ifname: str, on: bool) -> None:
    """ethtool -K IFNAME tx/sg/tso/gso/gro on|off (current netns)."""
    import fcntl

    from pycoz_cli.core.libc import ffi

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for cmd in _OFFLOADS:
            value = ffi.new("uint32_t[2]", [cmd, int(on)])
            ifreq = struct.pack("16sQ16x", ifname.encode(), int(ffi.cast("uintptr_t", value)))
            try:
                fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifreq)
            except OSError as err:
                if err.errno not in (95, 22):  # EOPNOTSUPP/EINVAL: nothing to turn off
                    raise OSError(err.errno, "cannot change offloads on", ifname) from None


def disable_offloads(ifname: str) -> None:
    """ethtool -K IFNAME tx off sg off tso off gso off gro off (current netns)."""
    set_offloads(ifname, False)


def control_name(key: str) -> bytes:
    """Abstract socket name of a topology's relay (host network namespace)."""
    return b"\0pycoz-impair-" + key.encode()


def _request(key: str, message: dict) -> None:
    """Send one request to the relay of ``key``; raise unless it answers ok."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as sock:
        sock.settimeout(30)
        try:
            sock.connect(control_name(key))
        except OSError as err:
            raise OSError(err.errno, "the link relay is not running for", key) from None
        # The relay takes settings from root and its own user, with CAP_NET_ADMIN,
        # only (see _control);
        # asked first, so that a refusal is this one line, not a reset connection.
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        if os.getuid() not in (0, struct.unpack("3i", creds)[1]) or not _has_net_admin(os.getpid()):
            raise OSError(errno.EPERM, "cannot change the impairments of topology", key)
        try:
            sock.send(json.dumps(message).encode())
            reply = sock.recv(4096).decode()
        except OSError as err:
            # Not an OSError: Click takes any EPIPE for a closed stdout, and exits 1
            # without a word.
            from pycoz_cli.errors import SetupError

            failure = OSError(err.errno, "the link relay broke off the request for", key)
            raise SetupError.from_oserror(failure) from None
    if reply == "EPERM":
        raise OSError(1, "cannot change the impairments of topology", key)
    if reply != "ok":
        raise OSError(22, reply or "the link relay gave no answer", key)


def release(key: str) -> None:
    """Let the relay of ``key`` outlive the process it watches (the `net up`
    that made a named topology, once the relay is in the topology's state)."""
    _request(key, {"op": "release"})


def send_settings(key: str, link: int, direction: str, impair: dict) -> None:
    """Tell the relay of ``key`` to apply ``impair`` to one direction of a link."""
    _request(key, {"op": "set", "link": link, "dir": direction, "impair": impair})


# --- the detour: plumbing in the parent, over pyroute2 ---------------------------------


#: ifindex of detour J's interface in a node: far above the links' (10 + 2k).
AUX_INDEX = 1_000_000


class Detours:
    """Makes and steers the detours of one topology's relayed links.

    ``relay_ns`` is the relay's namespace (a ``NetNS``).  Netlink sockets are
    opened inside each namespace as needed and kept until ``close``: a batch
    of links (a topology built with hundreds of them) reuses them.  Requests
    name interfaces by index (the links' are known, the detours' chosen here),
    so nothing is looked up by name.
    """

    def __init__(self, key: str, relay_ns) -> None:
        self.key = key
        self.relay_ns = relay_ns
        self._ipr: dict = {}

    def ipr(self, ns):
        """pyroute2's IPRoute, its socket made inside ``ns``."""
        sock = self._ipr.get(ns.fd)
        if sock is None:
            from pyroute2 import IPRoute

            with ns.entered():
                sock = self._ipr[ns.fd] = IPRoute()
        return sock

    def close(self) -> None:
        for sock in self._ipr.values():
            sock.close()
        self._ipr.clear()

    def __enter__(self) -> Detours:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def plumb(self, j: int, a: tuple, b: tuple) -> None:
        """Make detour ``j`` for the link between ``a`` and ``b``, each
        ``(NetNS, ifname, ifindex)``: X:pczJ ⇄ R:aJ and Y:pczJ ⇄ R:bJ, up,
        what arrives on pczJ handed to the end's ingress; nothing steered yet."""
        from pyroute2.netlink.exceptions import NetlinkError

        aux = aux_name(j)
        relay = self.ipr(self.relay_ns)
        for (ns, ifname, index), peer in ((a, f"a{j}"), (b, f"b{j}")):
            ipr = self.ipr(ns)
            try:
                (link,) = ipr.link("get", index=index)
                mtu = link.get("mtu")
                ipr.link(
                    "add",
                    index=AUX_INDEX + j,
                    ifname=aux,
                    kind="veth",
                    address=link.get("address"),
                    mtu=mtu,
                    state="up",
                    peer={"ifname": peer, "net_ns_fd": self.relay_ns.fd, "mtu": mtu},
                )
                # No addresses of its own, so nothing of its own to say on the
                # link (it has no carrier until the relay's end is up).
                try:
                    ns.set_sysctls({f"net.ipv6.conf.{aux}.disable_ipv6": "1"})
                except OSError:
                    pass  # no IPv6 in this kernel
                ipr.tc("add", "clsact", index=AUX_INDEX + j)
                _redirect(ipr, AUX_INDEX + j, CLSACT_INGRESS, "ingress", index)
                relay.link("set", index=0, ifname=peer, state="up")
            except NetlinkError as err:
                what = f"cannot make the relay's detour {aux} beside"
                raise OSError(err.code, what, ifname) from None

    def steer(self, j: int, end: tuple, on: bool, corrupt: bool, was: bool | None) -> None:
        """Send what ``end`` (NetNS, ifname, ifindex) transmits through detour
        ``j``, or not (``on``).  ``corrupt``: the relay corrupts frames of this
        direction, which must then carry real checksums, not offloaded ones.
        ``was``: how it was steered (None: not; else its ``corrupt``)."""
        from pyroute2.netlink.exceptions import NetlinkError

        ns, ifname, index = end
        ipr = self.ipr(ns)
        if (on and corrupt) != bool(was):  # offloads off while corrupting
            with ns.entered():
                set_offloads(aux_name(j), not (on and corrupt))
        try:
            if was is not None and not on:
                ipr.tc("del", "clsact", index=index)
            elif was is None and on:
                try:
                    ipr.tc("add", "clsact", index=index)
                except NetlinkError as err:
                    if err.code != errno.EEXIST:  # someone's clsact: the filter joins it
                        raise
                _redirect(ipr, index, CLSACT_EGRESS, "egress", AUX_INDEX + j)
        except NetlinkError as err:
            what = "cannot steer traffic into the relay from" if on else "cannot stop steering"
            raise OSError(err.code, what, ifname) from None

    def add(self, links: list[tuple[int, dict, dict]]) -> None:
        """Tell the relay to serve detours: (j, settings a->b, settings b->a)
        each; returns once it does."""
        _request(
            self.key,
            {
                "op": "add",
                "links": [{"j": j, "a": a, "b": b} for j, a, b in links],
            },
        )


def _redirect(ipr, index: int, hook: int, direction: str, target: int) -> None:
    """tc filter add dev INDEX {ingress|egress} protocol all u32 match u32 0 0
    action mirred {direction} redirect dev TARGET (the clsact qdisc is there)."""
    ipr.tc(
        "add-filter",
        "u32",
        index=index,
        parent=hook,
        prio=1,
        protocol=ETH_P_ALL,
        keys=["0x0/0x0+0"],
        target=0x10001,  # a class id pyroute2 insists on; the action decides
        action=[
            {"kind": "mirred", "direction": direction, "action": "redirect", "ifindex": target}
        ],
    )


def relay_links(key: str, relay_ns, links: list[dict]) -> None:
    """Put ``links`` in the relay's way, ready before any traffic is steered.

    Each link is a dict: ``j`` (its detour), ``ends`` (two (NetNS, ifname,
    ifindex)), ``impair`` (two settings dicts, ``Impairment.to_dict``, for what
    each end sends), ``new`` (detour ``j`` is not made yet) and ``steered``
    (two: None, or the ``corrupt`` the end was steered with), which is updated.
    """
    with Detours(key, relay_ns) as detours:
        for link in links:
            if link["new"]:
                detours.plumb(link["j"], *link["ends"])
        detours.add([(link["j"], *link["impair"]) for link in links])
        for link in links:
            for i, (end, impair) in enumerate(zip(link["ends"], link["impair"], strict=True)):
                on, corrupt = bool(impair), bool(impair.get("corrupt"))
                detours.steer(link["j"], end, on, corrupt, link["steered"][i])
                link["steered"][i] = corrupt if on else None


# --- the relay process -------------------------------------------------------------------


class Relay:
    """What the relay process needs: its namespace and what ends it."""

    def __init__(self, key: str, netns_fd: int):
        self.key = key
        self.netns_fd = netns_fd
        #: The relay ends when this process does: a rootless topology's holder,
        #: or the `net up` that makes a named topology, until it ``release``s it
        #: (it has recorded the relay in the topology's state by then).
        self.watch_pid: int | None = None
        self.watch_fd: int | None = None

    def start(self, detach: bool) -> int:
        """Fork the relay; return its pid once it is listening."""
        ctl = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        ctl.bind(control_name(self.key))
        ctl.listen(64)
        ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
        parent = os.getpid()
        self.watch_fd = os.pidfd_open(self.watch_pid) if self.watch_pid else None
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the relay process
            code = 1
            try:
                os.close(ready_r)
                if detach:
                    os.setsid()
                    if os.fork():
                        os._exit(0)
                else:
                    from pycoz_cli.core import libc

                    libc.set_parent_death_signal(signal.SIGKILL)
                    if os.getppid() != parent:
                        os._exit(1)
                code = _serve(self, ctl, ready_w)
            except BaseException:
                pass
            finally:
                os._exit(code)
        ctl.close()
        os.close(ready_w)
        if self.watch_fd is not None:
            os.close(self.watch_fd)
        news = os.read(ready_r, 64)
        os.close(ready_r)
        if detach:
            os.waitpid(pid, 0)
        if not news.startswith(b"ok"):
            raise OSError(5, "the link relay failed to start", self.key)
        return int(news.split()[1])


class _Direction:
    """One direction of a relayed link: where its frames go, its settings, and
    the state netem keeps per qdisc (queue length, correlations, reorder gap)."""

    __slots__ = (
        "corrupt_last",
        "counter",
        "dup_last",
        "imp",
        "loss_last",
        "out",
        "paced",
        "queued",
        "reorder_last",
        "tail",
    )

    def __init__(self, out: socket.socket) -> None:
        self.out = out
        self.imp: dict = {}
        #: Whether frames wait in the queue (delay, jitter, rate, reorder).
        self.paced = False
        self.queued = 0
        #: The latest time a queued frame is due (netem's tfifo tail).
        self.tail = 0.0
        self.counter = 0
        self.loss_last = self.dup_last = self.reorder_last = self.corrupt_last = 0.0

    def configure(self, imp: dict) -> None:
        self.imp = {k: float(v) for k, v in imp.items()}
        # netem's init_crandom: each correlated generator starts anywhere.
        self.loss_last, self.dup_last = random.random(), random.random()
        self.reorder_last, self.corrupt_last = random.random(), random.random()
        self.paced = bool(
            self.imp.get("delay_ms") or self.imp.get("jitter_ms") or self.imp.get("rate_bps")
        )


def _crandom(rng: random.Random, last: float, rho: float) -> tuple[float, float]:
    """netem's get_crandom: a uniform number in [0, 1), correlated with the last
    one by ``rho`` (0..1).  Returns (value, new last)."""
    value = rng.random()
    if not rho:
        return value, last
    value = value * (1 - rho) + last * rho
    return value, value


def _serve(relay: Relay, ctl: socket.socket, ready_w: int) -> int:  # pragma: no cover
    """The relay loop: frames in, frames out, later, fewer, more, or changed."""
    import gc
    import resource

    from pycoz_cli.core import libc
    from pycoz_cli.core.process import daemon_fds

    gc.disable()
    keep = {ctl.fileno(), ready_w, relay.netns_fd}
    if relay.watch_fd is not None:
        keep.add(relay.watch_fd)
    daemon_fds(keep)
    libc.setns(relay.netns_fd, libc.CLONE_NEWNET, "relay namespace")
    os.close(relay.netns_fd)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())
    # Two packet sockets per link: epoll has no ceiling, the fd limit has one.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ep = select.epoll()
    ep.register(ctl.fileno(), select.EPOLLIN)
    if relay.watch_fd is not None:
        ep.register(relay.watch_fd, select.EPOLLIN)
    #: fd -> (socket, its _Direction: frames read here go through it).
    route: dict = {}
    #: j -> (_Direction a->b, _Direction b->a)
    links: dict = {}
    os.write(ready_w, f"ok {os.getpid()}".encode())
    os.close(ready_w)
    pending: list = []
    seq = 0
    rng = random.Random()
    monotonic = time.monotonic
    heappush, heappop = heapq.heappush, heapq.heappop

    def enqueue(d: _Direction, frame: bytes, now: float, dup_ok: bool) -> None:
        """netem_enqueue, for one frame of direction ``d``: the frame, then its
        copy if duplicated (netem hands the copy to the queue again after the
        original, duplication off: it is lost, corrupted and delayed on its own)."""
        copy = _netem(d, frame, now, dup_ok)
        if copy is not None:
            _netem(d, copy, now, False)

    def _netem(d: _Direction, frame: bytes, now: float, dup_ok: bool) -> bytes | None:
        """One frame through netem's decisions; returns it again if it is to be
        duplicated."""
        nonlocal seq
        imp = d.imp
        count = 1
        dup = imp.get("duplicate")
        if dup_ok and dup:
            value, d.dup_last = _crandom(rng, d.dup_last, imp.get("duplicate_corr", 0) / 100)
            if value * 100 < dup:
                count = 2
        loss = imp.get("loss")
        if loss:
            value, d.loss_last = _crandom(rng, d.loss_last, imp.get("loss_corr", 0) / 100)
            if value * 100 < loss:
                count -= 1
        if count == 0:
            return None
        copy = frame if count > 1 else None
        corrupt = imp.get("corrupt")
        if corrupt:
            value, d.corrupt_last = _crandom(rng, d.corrupt_last, imp.get("corrupt_corr", 0) / 100)
            if value * 100 < corrupt:
                frame = _flip_bit(frame, rng)
        if not d.paced and not imp.get("reorder"):
            try:
                d.out.send(frame)
            except OSError:
                pass
            return copy
        if d.queued >= imp.get("limit", DEFAULT_LIMIT):
            return None  # the queue is full: dropped, its copy too, as netem drops
        reorder = imp.get("reorder")
        gap = int(imp.get("gap", 1 if reorder else 0))
        if gap == 0 or d.counter < gap - 1 or not _reordered(d, rng, reorder, imp):
            delay = imp.get("delay_ms", 0.0) / 1000
            jitter = imp.get("jitter_ms", 0.0) / 1000
            if jitter:
                delay = max(0.0, delay + rng.uniform(-jitter, jitter))
            start = now
            rate = imp.get("rate_bps")
            if rate:
                if d.queued:
                    # The last frame queued is the reference: its wait counts
                    # against this one's delay.
                    delay = max(0.0, delay - (d.tail - now))
                    start = d.tail
                delay += _wire_bits(frame) / rate
            when = start + delay
            d.counter += 1
        else:
            when = now  # reordered: to the head of the queue
            d.counter = 0
        d.queued += 1
        if when > d.tail or d.queued == 1:
            d.tail = when
        seq += 1
        heappush(pending, (when, seq, d, frame))
        return copy

    while True:
        timeout = -1.0
        if pending:
            timeout = max(0.0, pending[0][0] - monotonic())
        for fd, _ev in ep.poll(timeout):
            entry = route.get(fd)
            if entry is None:
                if fd == ctl.fileno():
                    if _control(ctl, links, route, ep) == "release" and relay.watch_fd:
                        ep.unregister(relay.watch_fd)
                        os.close(relay.watch_fd)
                        relay.watch_fd = None
                    continue
                os._exit(0)  # the holder is gone: so is the topology
            sock, d = entry
            recv = sock.recv
            now = monotonic()
            for _ in range(64):
                try:
                    frame = recv(262144)
                except BlockingIOError:
                    break
                except OSError:
                    break
                if not d.imp:
                    try:
                        d.out.send(frame)
                    except OSError:
                        pass
                    continue
                enqueue(d, frame, now, True)
        if pending:
            now = monotonic()
            while pending and pending[0][0] <= now:
                _, _, d, frame = heappop(pending)
                d.queued -= 1
                try:
                    d.out.send(frame)
                except OSError:
                    pass


def _reordered(d: _Direction, rng: random.Random, reorder, imp: dict) -> bool:
    """netem: one frame past the gap goes first with probability ``reorder``."""
    if not reorder:
        return False
    value, d.reorder_last = _crandom(rng, d.reorder_last, imp.get("reorder_corr", 0) / 100)
    return value * 100 < reorder


def _wire_bits(frame: bytes) -> int:
    """The bits a frame (a vnet header and an Ethernet frame, maybe a GSO
    segment of many) takes on the wire: each segment repeats the headers, as
    the kernel counts it (qdisc_pkt_len_init)."""
    length = len(frame) - VNET_HDR.size
    gso_type, hdr_len, gso_size = frame[1], frame[2] | frame[3] << 8, frame[4] | frame[5] << 8
    if gso_type != VIRTIO_NET_HDR_GSO_NONE and gso_size:
        hdr_len = hdr_len or 66
        segs = -(-(length - hdr_len) // gso_size)
        length += (segs - 1) * hdr_len
    return length * 8


def _flip_bit(frame: bytes, rng: random.Random) -> bytes:
    """Flip one bit of the frame's payload (past the vnet and Ethernet headers)."""
    data = bytearray(frame)
    start = VNET_HDR.size + 14
    pos = rng.randrange(start, len(data)) if len(data) > start else VNET_HDR.size
    data[pos] ^= 1 << rng.randrange(8)
    return bytes(data)


def _has_net_admin(pid: int) -> bool:  # pragma: no cover - in the relay
    """Whether process ``pid`` has CAP_NET_ADMIN (bit 12) in its effective set."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> 12 & 1)
    except OSError:
        pass
    return False


def _packet_socket(ifname: str) -> socket.socket:  # pragma: no cover - in the relay
    """A packet socket on ``ifname`` that passes GSO segments whole (vnet headers)
    and never sees what the relay itself sends."""
    # Protocol 0 at first: a socket made with ETH_P_ALL hears every interface
    # until bound, and binding it then waits for an RCU grace period
    # (synchronize_net, milliseconds each: seconds for hundreds of links).
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    try:
        sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    except OSError:
        pass
    for opt, size in ((33, 1 << 23), (socket.SO_RCVBUF, 1 << 23)):  # 33: SO_RCVBUFFORCE
        try:
            sock.setsockopt(socket.SOL_SOCKET, opt, size)
            break
        except OSError:
            continue
    sock.bind((ifname, ETH_P_ALL))
    sock.setblocking(False)
    return sock


def _control(ctl: socket.socket, links: dict, route: dict, ep) -> str | None:  # pragma: no cover
    """Serve one request; returns its ``op``."""
    conn, _ = ctl.accept()
    with conn:
        # The socket is abstract, in the host's network namespace: anyone there (any
        # user, any pycoz root container) can connect.  Only the relay's own user
        # may change what it does ...
        # Whoever it is never blocks the relay: a refused request is read only if
        # it is there already (unread, closing would reset the connection).
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        pid, uid, _ = struct.unpack("3i", creds)
        # ... and holds CAP_NET_ADMIN: a fenced container shares the host's network
        # namespace (and, as root's, uid 0) but not that power over networks.
        if uid not in (0, os.getuid()) or not _has_net_admin(pid):
            try:
                conn.recv(65536, socket.MSG_DONTWAIT)
                conn.send(b"EPERM", socket.MSG_DONTWAIT)
            except OSError:
                pass
            return None
        conn.settimeout(2)
        op = None
        try:
            request = json.loads(conn.recv(1 << 22))
            op = request.get("op")
            if op == "release":
                pass  # the caller stops watching its maker
            elif op == "add":
                for item in request["links"]:
                    j = int(item["j"])
                    if j not in links:
                        sa, sb = _packet_socket(f"a{j}"), _packet_socket(f"b{j}")
                        links[j] = (_Direction(sb), _Direction(sa))
                        route[sa.fileno()] = (sa, links[j][0])
                        route[sb.fileno()] = (sb, links[j][1])
                        ep.register(sa.fileno(), select.EPOLLIN)
                        ep.register(sb.fileno(), select.EPOLLIN)
                    links[j][0].configure(item["a"])
                    links[j][1].configure(item["b"])
            else:
                link = int(request["link"])
                if link not in links:
                    raise ValueError(f"no relayed link {link}")
                dirs = ("a", "b") if request["dir"] == "both" else (request["dir"],)
                for d in dirs:
                    links[link][0 if d == "a" else 1].configure(request["impair"])
            conn.send(b"ok")
            return op
        except (ValueError, KeyError, TypeError) as err:
            conn.send(f"bad request: {err}".encode())
        except OSError as err:
            try:
                conn.send(
                    f"the relay could not serve the link: {os.strerror(err.errno or 5)}".encode()
                )
            except OSError:
                pass
