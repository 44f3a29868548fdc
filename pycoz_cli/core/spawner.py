"""A small helper process that forks containers' inits for this one: spawn's fast path.

Why it exists (measured, bench/bench_pytest.py): fork(2) costs in proportion to
the forking process's memory — its page tables, then a copy-on-write fault for
every page either side writes while the child lives, and the unmapping when
the child exits.  A fork and exit of a 33 MB Python process (pycoz's core and
pytest imported) takes 1.5 ms; of a bare interpreter, 0.3 ms.  A pytest worker
is larger still, and every container start was paying it.

So the first spawn starts a fresh, small interpreter (``python -S``: only
pycoz's core imported), which stays for the life of this process.  Each spawn
sends it the ``SpawnPlan`` — pickled (a plan is data: partials of module
functions, ``RootPlan``, ``FencePlan``'s packed programs) with its file
descriptors beside it (SCM_RIGHTS) — and the helper makes the container's init
with ``clone(CLONE_PARENT | CLONE_NEWPID)``.  CLONE_PARENT makes the init *this*
process's child, not the helper's: ``waitpid``, the parent-death signal and the
check that the parent is still there (``process._container_stage``) work exactly
as after a fork here, and the init runs the same code behind the same fence.

Lifetimes: the helper has PR_SET_PDEATHSIG=SIGKILL, checks its parent after
setting it, and exits at EOF on its socket; ``stop()`` ends it (the pytest plugin
does at the end of a session).  A helper that went away is started again.

The Python API asks for it (``SpawnPlan.helper``): a helper pays off over
many containers, not for the CLI's one.  Only plans that need nothing of this
process after the fork take this path (no Python hook before exec, no tracer,
no terminal, no cgroup, no fds passed by number or left open with
``close_fds=False``, not detached), and only as
root: a rootless pycoz's user namespace and network home belong to its own
threads (``core.userns``).  ``PYCOZ_SPAWNER=0`` turns it off.
"""

from __future__ import annotations

import os
import threading

#: Largest request (a plan with its environment): far above any real one.
_MAX_REQUEST = 1 << 22

_lock = threading.Lock()
_helper: _Helper | None = None


class _Helper:
    def __init__(self):
        import socket
        import subprocess
        import sys

        import pycoz_cli

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # This process's path, and where pycoz_cli is (an editable install
        # finds it with an import hook that -S does not load).
        path = [os.path.dirname(os.path.dirname(pycoz_cli.__file__)), *sys.path]
        code = (
            f"import sys; sys.path[:] = {path!r}; "
            f"from pycoz_cli.core.spawner import serve; serve({theirs.fileno()}, {os.getpid()})"
        )
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-S", "-c", code],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                close_fds=True,
            )
        finally:
            theirs.close()
        self.sock = ours
        self.owner = os.getpid()
        # Ready once it says so: a helper that cannot start (no interpreter,
        # an import error) has started nothing, and spawn forks instead.
        if ours.recv(16) != b"R":
            self.close()
            raise OSError(0, "pycoz's spawn helper did not start", sys.executable)

    def close(self) -> None:
        self.sock.close()
        try:
            self.process.wait(timeout=5)
        except Exception:  # pragma: no cover - a helper that does not end at EOF
            self.process.kill()
            self.process.wait()


def eligible(plan) -> bool:
    """Whether ``plan`` can start through the helper (see the module's docstring)."""
    if not plan.helper or os.environ.get("PYCOZ_SPAWNER", "1") == "0":
        return False
    if (
        not plan.with_init
        or plan.pre_exec
        or plan.tracer is not None
        or plan.terminal is not None
        or plan.cgroup is not None
        or plan.detach
        or plan.pass_fds
        or plan.join  # fds of a running container's namespaces (a host's own root)
        or plan.keep
        or not plan.close_fds  # every inheritable fd of this process: not sendable
    ):
        return False
    from pycoz_cli.core import userns

    if userns.active():
        return False
    # The init's parent is the thread that started the helper: only the main
    # thread starts it (it outlives every container).
    return _helper is not None or threading.current_thread() is threading.main_thread()


def start(plan, new_pid_ns: bool, setup_w: int, result_w: int) -> int | None:
    """Start ``plan``'s init through the helper; its pid (this process's child).

    None when the helper could not be reached before anything was started (the
    caller forks instead); raises OSError when the helper refused the request.
    """
    import pickle
    import socket

    global _helper
    fds: list[int] = []

    def slot(fd):
        if fd is None or fd < 0:
            return fd
        fds.append(fd)
        return -2 - (len(fds) - 1)  # -2, -3, ...: never a real fd, nor -1 (none)

    saved = (plan.stdin, plan.stdout, plan.stderr, plan.netns_fd)
    fence = plan.fence
    landlock = fence.landlock_fd if fence is not None else -1
    try:
        # None: the command inherits this process's stdio, sent as such.
        plan.stdin, plan.stdout, plan.stderr = (
            slot(fd if fd is not None else _open_or_none(n))
            for n, fd in enumerate((plan.stdin, plan.stdout, plan.stderr))
        )
        plan.netns_fd = slot(plan.netns_fd)
        if fence is not None:
            fence.landlock_fd = slot(landlock)
        umask = os.umask(0o022)
        os.umask(umask)
        request = pickle.dumps(
            (plan, new_pid_ns, slot(setup_w), slot(result_w), umask), pickle.HIGHEST_PROTOCOL
        )
    except (pickle.PicklingError, TypeError, AttributeError):
        return None  # a plan with a closure (a caller's own step): fork instead
    finally:
        plan.stdin, plan.stdout, plan.stderr, plan.netns_fd = saved
        if fence is not None:
            fence.landlock_fd = landlock
    with _lock:
        if _helper is not None and _helper.owner != os.getpid():
            _helper = None  # inherited through a fork: that helper is not ours
        if _helper is None:
            try:
                _helper = _Helper()
            except OSError:
                return None
        try:
            socket.send_fds(_helper.sock, [request], fds)
        except OSError:
            _helper = None  # gone (killed): nothing was started; fork instead
            return None
        reply = _helper.sock.recv(256)
    if not reply:
        raise OSError(0, "pycoz's spawn helper ended during a start", None)
    kind, _, rest = reply.decode().partition(" ")
    if kind == "P":
        return int(rest)
    number, _, message = rest.partition(" ")
    raise OSError(int(number), message, "CLONE_PARENT")


def _open_or_none(fd: int) -> int | None:
    try:
        os.fstat(fd)
    except OSError:
        return None
    return fd


def stop() -> None:
    """End the helper (it is started again when needed)."""
    global _helper
    with _lock:
        helper, _helper = _helper, None
    if helper is not None and helper.owner == os.getpid():
        helper.close()


# --- the helper ------------------------------------------------------------------------


def serve(sock_fd: int, parent: int) -> None:  # pragma: no cover - in the helper
    """The helper's loop: one request, one init, one reply, until EOF."""
    import pickle
    import signal
    import socket

    from pycoz_cli.core import libc, process

    libc.set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(0)
    sock = socket.socket(fileno=sock_fd)
    sock.send(b"R")
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, _MAX_REQUEST, 16)
        except OSError:
            os._exit(0)
        if not message:
            os._exit(0)
        try:
            # Close-on-exec, as they are in the caller: the command must not keep
            # the setup pipe (its EOF tells that the command has exec'd), nor
            # any other (stdio is dup2'd onto 0, 1 and 2).
            for received in fds:
                os.set_inheritable(received, False)
            plan, new_pid_ns, setup_w, result_w, umask = pickle.loads(message)

            def fd(value, fds=fds):
                return fds[-2 - value] if value is not None and value < -1 else value

            plan.stdin, plan.stdout, plan.stderr = map(fd, (plan.stdin, plan.stdout, plan.stderr))
            plan.netns_fd = fd(plan.netns_fd)
            if plan.fence is not None:
                plan.fence.landlock_fd = fd(plan.fence.landlock_fd)
            setup_w, result_w = fd(setup_w), fd(result_w)
            flags = libc.CLONE_PARENT | (libc.CLONE_NEWPID if new_pid_ns else 0)
            pid = libc.clone_fork(flags)
            if pid == 0:
                sock.close()
                os.umask(umask)
                process._container_stage(plan, new_pid_ns, -1, setup_w, -1, result_w)
            reply = f"P {pid}" if pid > 0 else f"E {-pid} clone failed"
        except Exception as err:  # a request it cannot serve: said, not fatal
            reply = f"E {getattr(err, 'errno', 0) or 0} {type(err).__name__}: {err}"
        finally:
            for received in fds:
                os.close(received)
        sock.send(reply.encode())
