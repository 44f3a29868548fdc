"""Network namespace handles: unnamed (held by an fd) and named (ip-netns style).

A namespace is made without forking: ``unshare(CLONE_NEWNET)`` changes only the
calling *thread's* network namespace, so the thread steps in, opens a handle
(``/proc/thread-self/ns/net``) and a netlink socket there, sets the namespace's
sysctls, and steps back with ``setns``.  The fd then keeps the namespace alive;
when pycoz exits, however it exits, the fd closes and the kernel removes the
namespace with every veth end and bridge in it: ephemeral topologies need no
cleanup code at all (README, Architecture: cleanup is by construction).

The netlink socket (``rtnl``) comes from ``core.net.netlink``, which imports
pyroute2: it is imported only when a namespace is made or configured, never to
join a named one (``open_named``).

A named namespace is the same fd bind-mounted on ``/run/netns/NAME``, exactly what
``ip netns add`` makes, so ``ip netns list`` and ``ip netns exec`` work on it.
"""

from __future__ import annotations

import contextlib
import errno
import os

from pycoz_cli.core import libc

NETNS_RUN_DIR = "/run/netns"

#: Set in every new namespace before any link exists.  No duplicate-address
#: detection, so IPv6 addresses (link-local ones too) work the moment a link is up.
DEFAULT_SYSCTLS = {
    "net.ipv6.conf.all.accept_dad": "0",
    "net.ipv6.conf.default.accept_dad": "0",
}


#: Rootless mode's own network namespace, where the thread returns (see _own_netns).
_home: int | None = None


def _own_netns() -> int:
    """An fd of the namespace this thread returns to after making or entering one.

    In rootless mode (``core.userns``) the host's network namespace is not the
    user namespace's, so setns(2) back into it is refused: the thread first
    moves, for good, into an empty namespace of the user namespace's own, and
    returns there.  pycoz's containers are placed in the topology's hosts, so
    none of them misses the host's network.
    """
    global _home
    from pycoz_cli.core import userns

    if userns.active():
        if _home is None:
            try:
                libc.unshare(libc.CLONE_NEWNET)
            except OSError as err:
                raise OSError(
                    err.errno, "cannot create network namespace", "rootless home"
                ) from None
            _home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        return os.dup(_home)
    return os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)


def adopt_home(fd: int) -> None:
    """Make the namespace of ``fd`` this process's home (rootless mode): the
    thread moves there for good, as ``_own_netns`` does into a new one.  A
    rootless named topology's commands use its holder's (``core.holder``)."""
    global _home
    libc.setns(fd, libc.CLONE_NEWNET, "the topology holder's network namespace")
    if _home is not None:
        os.close(_home)
    _home = os.dup(fd)
    os.set_inheritable(_home, False)


class NetNS:
    """A network namespace kept alive by an open fd."""

    __slots__ = ("_rtnl", "fd", "label", "path")

    def __init__(self, fd: int, label: str = "", path: str | None = None):
        self.fd = fd
        self.label = label
        #: /run/netns/NAME when the namespace is named.
        self.path = path
        self._rtnl = None

    @classmethod
    def create(cls, label: str = "", sysctls: dict[str, str] | None = None) -> NetNS:
        """A new, empty namespace (loopback only, down); ``label`` names it in errors."""
        from pycoz_cli.core.net.netlink import Requests

        own = _own_netns()
        try:
            try:
                libc.unshare(libc.CLONE_NEWNET)
            except OSError as err:
                raise OSError(err.errno, "cannot create network namespace", label) from None
            try:
                fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
                ns = cls(fd, label)
                try:
                    for name, value in {**DEFAULT_SYSCTLS, **(sysctls or {})}.items():
                        write_sysctl(name, value)
                    ns._rtnl = Requests(label)
                except BaseException:
                    os.close(fd)
                    raise
            finally:
                libc.setns(own, libc.CLONE_NEWNET, "own network namespace")
        finally:
            os.close(own)
        return ns

    @classmethod
    def open_named(cls, name: str) -> NetNS:
        path = f"{NETNS_RUN_DIR}/{name}"
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as err:
            raise OSError(err.errno, "cannot open network namespace", path) from None
        return cls(fd, name, path)

    def rtnl(self):
        """The netlink requests (``netlink.Requests``) of this namespace, on a
        socket made inside it."""
        if self._rtnl is None:
            from pycoz_cli.core.net.netlink import Requests

            with self.entered():
                self._rtnl = Requests(self.label)
        return self._rtnl

    @contextlib.contextmanager
    def entered(self):
        """Run the block with this thread inside the namespace (sysctls, sockets)."""
        own = _own_netns()
        try:
            try:
                libc.setns(self.fd, libc.CLONE_NEWNET)
            except OSError as err:
                what = "cannot enter network namespace"
                raise OSError(err.errno, what, self.path or self.label) from None
            try:
                yield self
            finally:
                libc.setns(own, libc.CLONE_NEWNET, "own network namespace")
        finally:
            os.close(own)

    def set_sysctls(self, sysctls: dict[str, str]) -> None:
        if sysctls:
            with self.entered():
                for name, value in sysctls.items():
                    write_sysctl(name, value)

    def bind_to(self, name: str) -> None:
        """Name the namespace: bind it on /run/netns/NAME, as ``ip netns add`` does."""
        ensure_netns_run_dir()
        path = f"{NETNS_RUN_DIR}/{name}"
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0)
        except FileExistsError:
            raise OSError(errno.EEXIST, "network namespace name already taken", path) from None
        os.close(fd)
        try:
            libc.mount(
                f"/proc/self/fd/{self.fd}",
                path,
                None,
                libc.MS_BIND,
                what="cannot bind network namespace on",
            )
        except OSError:
            os.unlink(path)
            raise
        self.path = path

    def close(self) -> None:
        if self._rtnl is not None:
            self._rtnl.close()
            self._rtnl = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


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


def remove_named(name: str) -> bool:
    """Unmount and delete /run/netns/NAME; False if it was not there."""
    path = f"{NETNS_RUN_DIR}/{name}"
    if not os.path.lexists(path):
        return False
    # Every mount on the path: a namespace bound twice (a recursive bind of
    # /run/netns over it copies it) is one mount per copy.
    for _ in range(16):
        try:
            libc.umount2(path, libc.MNT_DETACH)
        except OSError as err:
            if err.errno == errno.EINVAL:  # no mount left (or half-made); just unlink
                break
            raise OSError(err.errno, "cannot remove network namespace", path) from None
    try:
        os.unlink(path)
    except OSError as err:
        raise OSError(err.errno, "cannot remove network namespace", path) from None
    return True


def ensure_netns_run_dir() -> None:
    """/run/netns, where ``ip netns`` looks, made as iproute2 makes it.

    iproute2 turns the directory into a shared, recursive bind mount of itself the
    first time it names a namespace, unless it is a mount point already.  pycoz
    does the same before it binds a namespace there: were it to bind its
    namespaces on the plain directory, a later ``ip netns add`` would cover them
    with its bind, and ``pycoz net down`` would then unmount only the copy it can
    see, leaving the namespace mounted underneath and its file impossible to
    delete (EBUSY).  The one mount this adds is the one ``ip netns`` would add.
    """
    os.makedirs(NETNS_RUN_DIR, mode=0o755, exist_ok=True)
    try:
        libc.mount(None, NETNS_RUN_DIR, None, libc.MS_SHARED | libc.MS_REC)
        return
    except OSError as err:
        if err.errno != errno.EINVAL:  # not a mount point yet
            raise OSError(err.errno, "cannot make shared", NETNS_RUN_DIR) from None
    libc.mount(NETNS_RUN_DIR, NETNS_RUN_DIR, None, libc.MS_BIND | libc.MS_REC, what="cannot bind")
    libc.mount(None, NETNS_RUN_DIR, None, libc.MS_SHARED | libc.MS_REC, what="cannot make shared")
