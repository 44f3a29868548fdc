"""An opt-in uplink to the outside for a topology host, by user-space NAT.

A host with ``uplink`` gets an interface ``uplink0`` served by slirp4netns (the
user-mode network stack rootless podman uses): 10.0.2.100/24, a default route via
10.0.2.2, a DNS forwarder at 10.0.2.3.  Its connections leave from the machine's
own network namespace as ordinary sockets of the slirp4netns process, so nothing
on the machine changes — no ip_forward sysctl, no firewall rule, no route — and
it works for an ordinary user too.  10.0.2.2 is also the machine's loopback:
``curl http://10.0.2.2:8000/`` in the host reaches a server on the machine's
127.0.0.1:8000.

slirp4netns is a program of its own (Debian's ``slirp4netns``); pycoz starts one
per uplink, sandboxed (``--enable-sandbox --enable-seccomp``: its own mount
namespace, capabilities dropped, a syscall filter) and waits until it says the
interface is up.  An ephemeral topology's slirp4netns ends when pycoz's end of
its exit pipe closes, however pycoz ends; a named topology's is recorded and
stopped by ``pycoz net down``.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile

from pycoz_cli.errors import SetupError

#: The interface slirp4netns makes in the host, and its network (slirp's defaults).
IFNAME = "uplink0"
NETWORK = "10.0.2.0/24"
ADDRESS = "10.0.2.100"
GATEWAY = "10.0.2.2"
#: As podman sets it: a large MTU makes user-space NAT several times faster.
MTU = 65520
#: How long slirp4netns may take to bring the interface up.
READY_TIMEOUT = 10.0


def program() -> str:
    """The slirp4netns program, or a one-line ``SetupError`` saying how to get it."""
    found = shutil.which("slirp4netns")
    if found is None:
        raise SetupError(
            "uplink: needs slirp4netns (user-space NAT, as rootless podman uses), "
            "which is not installed (apt-get install slirp4netns)"
        )
    return found


def start(netns_fd: int, host: str, detach: bool = False) -> subprocess.Popen:
    """Start slirp4netns for the network namespace held by ``netns_fd`` and wait
    until ``uplink0`` is configured.  Not ``detach``ed, it exits when this
    process's end of its exit pipe closes (``Popen.exit_w``, closed by ``stop``
    or at exit); ``detach``ed, it has a session of its own and outlives pycoz."""
    slirp = program()
    ready_r, ready_w = os.pipe()
    exit_r = exit_w = None
    argv = [
        slirp,
        "--configure",
        f"--mtu={MTU}",
        "--enable-sandbox",
        "--enable-seccomp",
        f"--ready-fd={ready_w}",
        "--netns-type=path",
    ]
    keep = [ready_w, netns_fd]
    if not detach:
        exit_r, exit_w = os.pipe()
        os.set_inheritable(exit_w, False)
        argv.append(f"--exit-fd={exit_r}")
        keep.append(exit_r)
    argv += [f"/proc/self/fd/{netns_fd}", IFNAME]
    # Its messages go to a file, read if it fails: a pipe closed later would
    # kill it (SIGPIPE) the next time it warns.
    with tempfile.TemporaryFile() as errors:
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL if detach else errors,
                pass_fds=keep,
                start_new_session=detach,
                preexec_fn=_private_mounts,
            )
        except OSError as err:
            for fd in (ready_r, ready_w, exit_r, exit_w):
                if fd is not None:
                    os.close(fd)
            raise SetupError(f"uplink of {host}: cannot start {slirp}: {err.strerror}") from None
        proc.exit_w = exit_w
        os.close(ready_w)
        if exit_r is not None:
            os.close(exit_r)
        try:
            ready, _, _ = select.select([ready_r], [], [], READY_TIMEOUT)
            said = os.read(ready_r, 1) if ready else b""
        finally:
            os.close(ready_r)
        if said != b"1":
            stop(proc)
            errors.seek(0)
            why = "; ".join(errors.read().decode(errors="replace").split("\n")[:4]).strip("; ")
            if not ready:
                why = f"not up after {READY_TIMEOUT:g}s"
            raise SetupError(f"uplink of {host}: slirp4netns failed: {why or 'it ended'}")
    return proc


def _private_mounts() -> None:  # pragma: no cover - in the child, before exec
    """slirp4netns's sandbox makes a mount namespace, makes only "/" private in it,
    then pivots and detaches the old root: every mount below "/" that is shared
    with the machine's namespace (/run/netns, where named topologies are bound)
    is unmounted on the machine too.  It runs in a private mount namespace of
    pycoz's making instead, where its unmounts reach nothing."""
    from pycoz_cli.core import libc

    libc.unshare(libc.CLONE_NEWNS)
    libc.mount(None, "/", None, libc.MS_REC | libc.MS_PRIVATE)


def stop(proc: subprocess.Popen) -> None:
    """Stop a slirp4netns started by ``start`` and reap it."""
    if getattr(proc, "exit_w", None) is not None:
        os.close(proc.exit_w)
        proc.exit_w = None
    if proc.poll() is None:
        proc.kill()
    proc.wait()
