"""The holder of a rootless named topology: the process its namespaces live in.

Root names a topology's network namespaces by binding them on /run/netns, and
they outlive pycoz.  An ordinary user cannot: its namespaces belong to a user
namespace that pycoz made (``core.userns``), and a user namespace lives only
while a process is in it (or a namespace it owns is held).  So, as rootless
podman keeps a pause process, ``pycoz net up`` forks a *holder*: a small
process in pycoz's user namespace and in its home network namespace (where the
link relay's control socket lives), which keeps one open fd per node's network
namespace and otherwise sleeps.  Its pid and start time are in the topology's
state before any namespace is made; later commands join it:

* ``setns`` into ``/proc/HOLDER/ns/user`` (the kernel lets the user namespace's
  owner in, with every capability there, if the caller is single-threaded),
* then into ``/proc/HOLDER/ns/net`` as the home network namespace (``net set``
  reaches the relay's socket there),
* and opens a node's namespace as ``/proc/HOLDER/fd/N`` (the same uid may, as
  ``nsenter --net=/proc/PID/fd/N`` does).

Lifetimes: until ``release`` the holder dies with the pycoz that made it
(PR_SET_PDEATHSIG: SIGKILL of ``net up`` half-way takes every namespace with
it, as kernel lifetimes do for ephemeral topologies); after it, it lives in a
session of its own until ``net down`` kills it, and the namespaces, links and
the user namespace end with it.
"""

from __future__ import annotations

import errno
import os
import signal
import socket


class Holder:
    """The parent's handle on a holder still being filled (``net up``)."""

    def __init__(self, pid: int, sock: socket.socket):
        self.pid = pid
        self._sock = sock

    @classmethod
    def start(cls) -> Holder:
        """Fork the holder; it dies with this process until ``release``."""
        from pycoz_cli.core import libc

        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the holder
            try:
                mine.close()
                libc.set_parent_death_signal(signal.SIGKILL)
                if os.getppid() != parent:
                    os._exit(1)
                _hold(theirs)
            finally:
                os._exit(1)
        theirs.close()
        return cls(pid, mine)

    def keep(self, fd: int) -> int:
        """Hand ``fd`` (a namespace) to the holder; returns its number there."""
        socket.send_fds(self._sock, [b"keep"], [fd])
        reply = self._sock.recv(64)
        if not reply.isdigit():
            raise OSError(
                errno.EIO, "the topology's holder process did not take a namespace", str(self.pid)
            )
        return int(reply)

    def release(self) -> None:
        """The topology is complete: the holder now outlives this process."""
        self._sock.send(b"release")
        if self._sock.recv(64) != b"ok":
            raise OSError(errno.EIO, "the topology's holder process did not detach", str(self.pid))
        self.close()

    def close(self) -> None:
        self._sock.close()


def _hold(sock: socket.socket) -> None:  # pragma: no cover - the holder
    import gc

    from pycoz_cli.core import libc
    from pycoz_cli.core.process import daemon_fds

    gc.disable()
    os.setsid()  # no terminal's signals (^C, hang-up) reach it
    os.chdir("/")
    daemon_fds({sock.fileno()})
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        msg, fds, _, _ = socket.recv_fds(sock, 64, 1)
        if msg == b"keep" and fds:
            sock.send(str(fds[0]).encode())
        elif msg == b"release":
            libc.prctl(libc.PR_SET_PDEATHSIG, 0, "prctl(PR_SET_PDEATHSIG) failed")
            sock.send(b"ok")
            sock.close()
            break
        else:  # pycoz went away (EOF) or said something else: nothing to hold
            os._exit(0)
    while True:
        signal.pause()
