"""The ``sockets`` tracer: the life of every socket, and what each connection did.

It follows socket, bind, listen, connect, accept, shutdown, close and the
SO_ERROR check that completes a non-blocking connect, and ends with one line per
connection attempt and a summary per process — the story a dual-stack client
tells: "tried IPv6 first, fell back to IPv4 after 1.002 s".
"""

from __future__ import annotations

import socket
import struct

from pycoz_cli.core.trace import decode
from pycoz_cli.core.trace.syscalls import NAMES
from pycoz_cli.tracers.registry import SOCKET_SYSCALLS as SYSCALLS

_FAMILIES = {socket.AF_INET: "IPv4", socket.AF_INET6: "IPv6", socket.AF_UNIX: "unix"}
EINPROGRESS = 115


class _Socket:
    __slots__ = (
        "addr",
        "closed",
        "error",
        "family",
        "fd",
        "kind",
        "opened",
        "outcome",
        "pid",
        "role",
        "tried",
    )

    def __init__(self, pid, fd, family, when, kind=socket.SOCK_STREAM):
        self.pid, self.fd, self.family, self.opened = pid, fd, family, when
        self.kind = kind
        self.role = "socket"
        self.addr = None
        self.tried = None
        self.outcome = None
        self.error = None
        self.closed = None


class SocketsTracer:
    """Prints socket events as they happen; summarises connections at the end."""

    decode_at_entry = frozenset()

    def __init__(self, out, **_options):
        self.out = out
        self.open: dict = {}  # (pid, fd) -> _Socket
        self.done: list = []
        self.start = None

    def enter(self, pid, nr, args, memory) -> None:
        pass

    def _t(self, when) -> float:
        if self.start is None:
            self.start = when
        return when - self.start

    def syscall(self, pid, nr, args, retval, is_error, t_enter, t_exit, injected, memory):
        name = NAMES.get(nr)
        if name not in SYSCALLS or retval is None:
            return
        when = t_exit
        key = (pid, args[0])
        if name == "socket":
            if not is_error:
                kind = args[1] & 0xF
                self.open[(pid, retval)] = _Socket(pid, retval, args[0], when, kind)
                what = {socket.SOCK_STREAM: "stream", socket.SOCK_DGRAM: "datagram"}.get(
                    kind, f"type {kind}"
                )
                self._line(when, pid, f"socket {retval}: {_FAMILIES.get(args[0], args[0])} {what}")
            return
        sock = self.open.get(key)
        if name in ("accept", "accept4"):
            if not is_error and sock is not None:
                new = self.open[(pid, retval)] = _Socket(pid, retval, sock.family, when)
                new.role, new.outcome = "accepted", "connected"
                new.addr = _peer(memory, args[1], args[2])
                self._line(when, pid, f"accept on {args[0]}: {retval} from {new.addr}")
            return
        if sock is None:
            return
        if name == "bind":
            sock.addr = _peer(memory, args[1], args[2], length=args[2])
            self._line(when, pid, f"bind {sock.fd} {sock.addr}: {_result(retval, is_error)}")
        elif name == "listen":
            sock.role = "listening"
            self._line(when, pid, f"listen {sock.fd}: {_result(retval, is_error)}")
        elif name == "connect":
            sock.role = "client"
            sock.addr = _peer(memory, args[1], args[2], length=args[2])
            sock.tried = when
            if not is_error:
                sock.outcome = "connected"
            elif -retval == EINPROGRESS:
                sock.outcome = "in progress"
            else:
                sock.outcome, sock.error = "failed", _errname(retval)
            self._line(when, pid, f"connect {sock.fd} to {sock.addr}: {_result(retval, is_error)}")
        elif name == "getsockopt" and args[1] == socket.SOL_SOCKET and args[2] == socket.SO_ERROR:
            try:
                (err,) = struct.unpack("=i", memory.read(args[3], 4))
            except OSError:
                return
            if sock.outcome == "in progress":
                sock.outcome = "connected" if err == 0 else "failed"
                sock.error = None if err == 0 else _errname(-err)
                self._line(
                    when,
                    pid,
                    f"connect {sock.fd} to {sock.addr}: {sock.outcome}"
                    + (f" ({sock.error})" if sock.error else ""),
                )
        elif name == "shutdown":
            self._line(when, pid, f"shutdown {sock.fd}")
        elif name == "close":
            sock.closed = when
            del self.open[key]
            self.done.append(sock)
            self._line(
                when,
                pid,
                f"close {sock.fd} ({sock.role}, {_FAMILIES.get(sock.family, sock.family)})",
            )

    def process(self, kind, pid, **info):
        pass

    def _line(self, when, pid, text) -> None:
        self.out.write(f"{self._t(when):10.6f} [pid {pid}] {text}\n")

    def finish(self) -> None:
        sockets = self.done + list(self.open.values())
        # Connections: stream sockets over IP.  (A resolver "connects" datagram
        # sockets only to learn its source address; unix sockets are local.)
        clients = [
            s
            for s in sockets
            if s.role == "client"
            and s.tried is not None
            and s.kind == socket.SOCK_STREAM
            and s.family in (socket.AF_INET, socket.AF_INET6)
        ]
        clients.sort(key=lambda s: s.tried)
        if clients:
            self.out.write("connections:\n")
        for s in clients:
            outcome = s.outcome if s.outcome != "in progress" else "no answer"
            if s.error:
                outcome += f" ({s.error})"
            lasted = (s.closed or s.tried) - s.tried
            self.out.write(
                f"  {self._t(s.tried):10.6f} pid {s.pid} "
                f"{_FAMILIES.get(s.family, s.family)} {s.addr}: {outcome}, "
                f"closed after {lasted:.3f} s\n"
            )
        for line in summarise(clients):
            self.out.write(f"summary: {line}\n")
        self.out.flush()


def summarise(clients) -> list[str]:
    """Per process: the families tried in order, and how it ended."""
    lines = []
    for pid in sorted({s.pid for s in clients}):
        mine = [s for s in clients if s.pid == pid]
        first, won = mine[0], next((s for s in mine if s.outcome == "connected"), None)
        fam = _FAMILIES.get(first.family, str(first.family))
        if won is None:
            lines.append(f"pid {pid}: {len(mine)} connection attempt(s), none succeeded")
        elif won is first:
            lines.append(f"pid {pid}: connected over {fam} at the first attempt")
        else:
            wfam = _FAMILIES.get(won.family, str(won.family))
            why = first.error or ("no answer" if first.outcome != "failed" else "failed")
            lines.append(
                f"pid {pid}: tried {fam} first ({why}), fell back to {wfam} after "
                f"{won.tried - first.tried:.3f} s"
            )
    return lines


def _peer(memory, addr, length_or_ptr, length=None) -> str:
    try:
        if length is None:
            if not length_or_ptr:
                return "?"
            (length,) = struct.unpack("=I", memory.read(length_or_ptr, 4))
        raw = memory.read(addr, min(length, 128))
    except OSError:
        return "?"
    value = decode.decode_sockaddr(raw).value
    if "sin_addr" in value:
        return f"{value['sin_addr']}:{value['sin_port']}"
    if "sin6_addr" in value:
        return f"[{value['sin6_addr']}]:{value['sin6_port']}"
    return str(value.get("sun_path", value.get("sa_family", "?")))


def _errname(retval: int) -> str:
    return decode.format_result("connect", retval)[1] or str(-retval)


def _result(retval, is_error) -> str:
    return decode.format_result("connect", retval)[0] if is_error else str(retval)
