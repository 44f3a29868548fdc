"""Link impairments (delay, jitter, loss, corruption, rate) without netem.

Where the kernel has the netem qdisc, pycoz puts it on the sending interface and
nothing here runs.  Kernels built without it (this project's CI kernel is one)
get the same effects from a *relay*: an impaired link A—B is plumbed as
A:eth0 ⇄ R:aN and R:bN ⇄ B:eth0, where R is a hidden relay namespace, and one
process per topology moves every frame between aN and bN through AF_PACKET
sockets, holding it back, dropping, corrupting or pacing it as asked.  The
relay's settings change at run time through a control socket (``net set``).

Offloads are turned off on the four ends of a relayed link: frames must leave
A with real checksums and at most one MTU long, or B would drop what the relay
copies over.
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
PACKET_OUTGOING = 4
SIOCETHTOOL = 0x8946
# ETHTOOL_S* commands: TX checksum, scatter-gather, TSO, GSO, GRO.
_OFFLOADS_OFF = (0x17, 0x19, 0x1F, 0x24, 0x2C)


def disable_offloads(ifname: str) -> None:
    """ethtool -K IFNAME tx off sg off tso off gso off gro off (current netns)."""
    import fcntl

    from pycoz_cli.core.libc import ffi

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for cmd in _OFFLOADS_OFF:
            value = ffi.new("uint32_t[2]", [cmd, 0])
            ifreq = struct.pack("16sQ16x", ifname.encode(), int(ffi.cast("uintptr_t", value)))
            try:
                fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifreq)
            except OSError as err:
                if err.errno not in (95, 22):  # EOPNOTSUPP/EINVAL: nothing to turn off
                    raise OSError(err.errno, "cannot turn off offloads on", ifname) from None


def control_name(key: str) -> bytes:
    """Abstract socket name of a topology's relay (host network namespace)."""
    return b"\0pycoz-impair-" + key.encode()


def send_settings(key: str, link: int, direction: str, impair: dict) -> None:
    """Tell the relay of ``key`` to apply ``impair`` to one direction of a link."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as sock:
        sock.settimeout(5)
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
            sock.send(json.dumps({"link": link, "dir": direction, "impair": impair}).encode())
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
        raise OSError(22, reply, key)


class Relay:
    """What the relay process needs: its namespace, links and first settings."""

    def __init__(self, key: str, netns_fd: int, links: list[tuple[str, str]]):
        self.key = key
        self.netns_fd = netns_fd
        #: Per relayed link k: (name of the A-side end aK, of the B-side end bK).
        self.links = links
        #: (k, "a") -> impairment dict for frames from A to B; (k, "b") the reverse.
        self.settings: dict = {}
        #: The relay ends when this process does (a rootless topology's holder).
        self.watch_pid: int | None = None
        self.watch_fd: int | None = None

    def start(self, detach: bool) -> int:
        """Fork the relay; return its pid once it is listening."""
        ctl = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        ctl.bind(control_name(self.key))
        ctl.listen(8)
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


def _serve(relay: Relay, ctl: socket.socket, ready_w: int) -> int:  # pragma: no cover
    """The relay loop: frames in, frames out, later, fewer, or changed."""
    import gc

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
    route = {}  # packet socket -> (other socket, settings key)
    socks = []
    for k, (a, b) in enumerate(relay.links):
        sa = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        sb = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        sa.bind((a, 0))
        sb.bind((b, 0))
        for s in (sa, sb):
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
        route[sa] = (sb, (k, "a"))
        route[sb] = (sa, (k, "b"))
        socks += [sa, sb]
    os.write(ready_w, f"ok {os.getpid()}".encode())
    os.close(ready_w)
    settings = relay.settings
    pending: list = []
    next_free: dict = {}
    seq = 0
    rng = random.Random()
    watched = [ctl, *socks]
    if relay.watch_fd is not None:
        watched.append(relay.watch_fd)
    while True:
        timeout = max(0.0, pending[0][0] - time.monotonic()) if pending else None
        readable, _, _ = select.select(watched, [], [], timeout)
        for sock in readable:
            if isinstance(sock, int):  # the holder is gone: so is the topology
                os._exit(0)
            if sock is ctl:
                _control(ctl, settings, len(relay.links))
                continue
            out, key = route[sock]
            for _ in range(64):
                try:
                    frame, addr = sock.recvfrom(65536)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue
                imp = settings.get(key)
                when = time.monotonic()
                if imp:
                    if imp.get("loss") and rng.random() * 100 < imp["loss"]:
                        continue
                    if imp.get("corrupt") and rng.random() * 100 < imp["corrupt"]:
                        frame = _flip_bit(frame, rng)
                    delay = imp.get("delay_ms", 0.0)
                    jitter = imp.get("jitter_ms", 0.0)
                    if jitter:
                        delay = max(0.0, delay + rng.uniform(-jitter, jitter))
                    when += delay / 1000
                    rate = imp.get("rate_bps")
                    if rate:
                        when = max(when, next_free.get(key, 0.0))
                        next_free[key] = when + len(frame) * 8 / rate
                seq += 1
                heapq.heappush(pending, (when, seq, out, frame))
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            _, _, out, frame = heapq.heappop(pending)
            try:
                out.send(frame)
            except OSError:
                pass


def _flip_bit(frame: bytes, rng: random.Random) -> bytes:
    data = bytearray(frame)
    pos = rng.randrange(14, len(data)) if len(data) > 14 else 0
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


def _control(ctl: socket.socket, settings: dict, nlinks: int) -> None:  # pragma: no cover
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
            return
        conn.settimeout(2)
        try:
            request = json.loads(conn.recv(65536))
            link = int(request["link"])
            if not 0 <= link < nlinks:
                raise ValueError(f"no relayed link {link}")
            dirs = ("a", "b") if request["dir"] == "both" else (request["dir"],)
            for d in dirs:
                settings[(link, d)] = {k: float(v) for k, v in request["impair"].items()}
            conn.send(b"ok")
        except (ValueError, KeyError, TypeError) as err:
            conn.send(f"bad request: {err}".encode())
        except OSError:  # the client went away, or sent nothing in time
            pass
