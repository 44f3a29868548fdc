"""Spawning a command into new namespaces, with an init, and collecting its status.

Process chain (pids as seen on the host):

    caller ──fork──▶ init: pid 1 of a new pid namespace; builds the root
                       ──posix_spawn──▶ command (pid 2)

* The **caller** enters a new pid namespace *for its children only* with
  ``unshare(CLONE_NEWPID)`` — which changes nothing but the calling thread's
  pid_ns_for_children — forks, and at once ``setns`` back to its own pid namespace.
  The child is therefore pid 1 of the new namespace without a second fork of the
  (large) Python process: forks dominate start-up cost.
* **init** blocks every signal, unshares the other namespaces (mount, UTS, IPC),
  runs the in-namespace steps (build the root, set the hostname), mounts /proc,
  applies the fence (which, for root's ``--rootless`` keeping CAP_SYS_ADMIN, first
  moves init into a nested user namespace: ``core.fence.nest``),
  starts the command with posix_spawn (vfork + exec: cheap), and then reaps every
  orphan and forwards signals that were *sent* to it (by pycoz, ``kill``) to the
  command.  Signals from the terminal (Ctrl-C, Ctrl-\\, hang-up) already reach the
  command, which shares pycoz's process group, so they are not forwarded a second
  time (their ``si_code`` is SI_KERNEL).
* The Python API's containers are forked by a small helper process instead
  (``core.spawner``): the same init, made this process's child with
  clone(CLONE_PARENT), without forking the caller's large address space.
* The **command** starts with default signal dispositions and an empty mask.  When
  Python code must run between fork and exec (``pre_exec`` hooks, e.g. tracing),
  init forks instead of posix_spawn.

Lifetimes come from the kernel: init has PR_SET_PDEATHSIG=SIGKILL and then checks
that the caller is still there (the race of util-linux #1490 / bubblewrap #633:
getppid() is 0 in a pid namespace, so the check is a write to the caller's pipe,
which fails with EPIPE once the caller is gone); when init dies the kernel kills
everything else in the pid namespace; the mount namespace dies with its last
process.  SIGKILL of the caller therefore leaves nothing behind.  Note that the
parent-death signal follows the *thread* that spawned: spawn from a thread that
outlives the container.

Two close-on-exec pipes carry news back to the caller: the *setup* pipe carries
errors ("E": setup, "X": exec) and reaches EOF exactly when the command has exec'd
(init closes its end right after posix_spawn returns); the *result* pipe carries
the command's raw wait status, so that a death by signal is reported as such
rather than as init's exit code.
"""

from __future__ import annotations

import gc
import os
import signal
from collections.abc import Callable, Sequence

from pycoz_cli.errors import (
    CommandNotExecutable,
    CommandNotFound,
    ExitCode,
    SetupError,
    describe_errno,
    needs_root,
)

SI_KERNEL = 0x80

#: Signals init forwards to the command when they are sent to it.
FORWARDED = frozenset(
    {
        signal.SIGHUP,
        signal.SIGINT,
        signal.SIGQUIT,
        signal.SIGTERM,
        signal.SIGUSR1,
        signal.SIGUSR2,
        signal.SIGWINCH,
        signal.SIGALRM,
    }
)
_ALL_SIGNALS = frozenset(signal.valid_signals()) - {signal.SIGKILL, signal.SIGSTOP}


class SpawnPlan:
    """Everything the container's processes need; built by a higher layer.

    * ``in_namespaces``: run in init after unshare (build the root, hostname);
    * ``in_pid_namespace``: run in init after that (mount /proc);
    * ``pre_exec``: run in the command's process just before exec (tracing);
      when empty the command is started with posix_spawn;
    * ``cwd``: the working directory (an error if missing); ``fallback_cwd`` is
      tried when no ``cwd`` was asked for, else "/";
    * ``with_init``: False runs the command itself in the namespaces, no pid 1.
    """

    __slots__ = (
        "argv",
        "cgroup",
        "close_fds",
        "cwd",
        "detach",
        "env",
        "fallback_cwd",
        "fence",
        "helper",
        "ignored_signals",
        "in_namespaces",
        "in_pid_namespace",
        "join",
        "keep",
        "netns_fd",
        "pass_fds",
        "pre_exec",
        "stderr",
        "stdin",
        "stdout",
        "terminal",
        "tracer",
        "unshare",
        "winsize",
        "with_init",
    )

    def __init__(
        self,
        argv: Sequence[str],
        env: dict[str, str],
        unshare: int = 0,
        in_namespaces: Sequence[Callable[[], None]] = (),
        in_pid_namespace: Sequence[Callable[[], None]] = (),
        pre_exec: Sequence[Callable[[], None]] = (),
        cwd: str | None = None,
        fallback_cwd: str | None = None,
        stdin: int | None = None,
        stdout: int | None = None,
        stderr: int | None = None,
        pass_fds: Sequence[int] = (),
        close_fds: bool = True,
        with_init: bool = True,
    ):
        self.argv = argv
        self.env = env
        self.unshare = unshare
        self.in_namespaces = in_namespaces
        self.in_pid_namespace = in_pid_namespace
        self.pre_exec = pre_exec
        self.cwd = cwd
        self.fallback_cwd = fallback_cwd
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.pass_fds = pass_fds
        self.close_fds = close_fds
        self.with_init = with_init
        #: A network namespace to join (setns) right after unsharing the others.
        self.netns_fd: int | None = None
        #: Namespaces of a running container to join instead of making new ones,
        #: as ``nsenter`` does: (fd, CLONE_NEW*) pairs, each fd closed once
        #: joined.  A pid namespace joined holds init's children, not init.
        self.join: tuple[tuple[int, int], ...] = ()
        #: Start no command: init alone keeps the container (its root, pid
        #: namespace and the rest) until it is sent SIGTERM, SIGINT or SIGHUP
        #: (or killed), reaping what is left to it meanwhile; other processes
        #: join it (``join``).  A topology host's own root.
        self.keep = False
        #: Outlive the caller: no parent-death signal, a session of its own (the
        #: commands of a named topology, stopped by ``pycoz net down``).
        self.detach = False
        #: Run in init instead of its reaping loop, with the command's pid: the
        #: ptrace loop of ``pycoz trace`` inside a container (the command is
        #: forked, and its ``pre_exec`` makes it a tracee).  Returns its status.
        self.tracer = None
        #: A unix socket: init opens a pseudo-terminal in the container's own
        #: devpts, sends its master end over this socket, and starts the command
        #: in a new session with the terminal as its stdin, stdout, stderr and
        #: controlling terminal (``pycoz shell``).  ``winsize`` is its first size
        #: (a packed struct winsize, or None).
        self.terminal: int | None = None
        self.winsize: bytes | None = None
        #: A ``fence.FencePlan``: init applies it right before it starts the
        #: command (None: unfenced, as the relay's helpers are).
        self.fence = None
        #: A ``cgroups.Cgroup`` init joins first thing (resource limits).
        self.cgroup = None
        #: Start init through ``core.spawner`` when the plan allows: worth it
        #: for a long-lived caller that starts many containers (the Python API),
        #: not for one command (the helper's own start costs more than it saves).
        self.helper = False
        #: Signals ignored here, which exec would keep ignored: the command gets
        #: them back at their defaults (handled ones are reset by exec itself).
        self.ignored_signals = _ignored_signals()


def _ignored_signals() -> frozenset:
    # _signal.getsignal: signal.getsignal's enum conversion costs ten times more
    # (about 70 us for all signals, on every spawn).
    import _signal

    get, ignore = _signal.getsignal, _signal.SIG_IGN
    # None: a disposition set outside Python (inherited), which may be SIG_IGN.
    return frozenset(sig for sig in _ALL_SIGNALS if (h := get(sig)) is None or h == ignore)


def proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first, then
    ppid, ... ; the start time is ``[19]``), or None when ``pid`` is gone.

    The name is cut at the *last* ")": a command may have any characters in
    its name, ")" and spaces included.
    """
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid``: tells a pid from a later reuse of it."""
    fields = proc_stat(pid)
    return fields[19] if fields is not None and len(fields) > 19 else None


def running(pid: int, start: str | None) -> bool:
    """Whether ``pid`` is still the process that started at ``start``, not a zombie."""
    fields = proc_stat(pid)
    return fields is not None and len(fields) > 19 and fields[19] == start and fields[0] != "Z"


def _status_to_returncode(status: int) -> int:
    """subprocess convention: exit code, or -N when killed by signal N."""
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.waitstatus_to_exitcode(status)


def exit_code_for(returncode: int) -> int:
    """The shell convention the CLI exits with: 128+N for a death by signal N."""
    return ExitCode.SIGNAL_BASE - returncode if returncode < 0 else returncode


class ContainerProcess:
    """A running command in its namespaces; like ``subprocess.Popen``, trimmed."""

    def __init__(self, pid: int, result_fd: int | None):
        #: Host pid of our direct child: the container's init (pid 1 inside), or
        #: the command itself when there is no pid namespace.
        self.pid = pid
        self._result_fd = result_fd
        #: The master end of the command's pseudo-terminal (``spawn(terminal=True)``).
        self.terminal: int | None = None
        self.returncode: int | None = None
        #: Called once the command has ended (release locks held for it).
        self._on_exit: list = []

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self._finish(status)
        return self.returncode

    def wait(self) -> int:
        """Wait for the command; its exit code, or -N if signal N killed it."""
        if self.returncode is None:
            while True:
                try:
                    _, status = os.waitpid(self.pid, 0)
                    break
                except InterruptedError:  # pragma: no cover - PEP 475 retries
                    continue
            self._finish(status)
        return self.returncode

    def _finish(self, status: int) -> None:
        code = _status_to_returncode(status)
        if self._result_fd is not None:
            data = _read_all(self._result_fd)
            os.close(self._result_fd)
            self._result_fd = None
            # init writes one status; anything before it is not init's (the
            # command has no way to this pipe, but a status is never trusted blindly).
            fields = data.split()
            if fields and fields[-1].isdigit():
                code = _status_to_returncode(int(fields[-1]))
        self.returncode = code
        for callback in self._on_exit:
            callback()
        self._on_exit.clear()

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` to the command (through init, which forwards it)."""
        if self.returncode is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """Kill the whole container at once (init's death takes its pid namespace)."""
        if self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def __enter__(self) -> ContainerProcess:
        return self

    def __exit__(self, *exc) -> None:
        if self.returncode is None:
            self.kill()
            self.wait()


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _report(fd: int, kind: str, err: BaseException) -> None:
    """Send one error line up the setup pipe (errno, what, target)."""
    if isinstance(err, OSError):
        fields = [kind, str(err.errno or 0), err.strerror or str(err), _field(err.filename)]
    else:
        fields = [kind, "0", f"{type(err).__name__}: {err}", ""]
    line = "\t".join(f.replace("\t", " ").replace("\n", " ") for f in fields) + "\n"
    try:
        os.write(fd, line.encode(errors="surrogateescape"))
    except OSError:
        pass


def _field(value) -> str:
    return "" if value is None else os.fsdecode(value) if isinstance(value, bytes) else str(value)


def spawn(plan: SpawnPlan) -> ContainerProcess:
    """Start ``plan.argv`` in new namespaces; return once it has exec'd.

    Raises SetupError (nothing is left behind), CommandNotFound or
    CommandNotExecutable; by then every child has been reaped.
    """
    from pycoz_cli.core import libc, spawner

    new_pid_ns = bool(plan.unshare & libc.CLONE_NEWPID) and plan.with_init
    setup_r, setup_w = _high_pipe()
    result_r, result_w = _high_pipe()
    try:
        pid = None
        if spawner.eligible(plan):
            try:
                pid = spawner.start(plan, new_pid_ns, setup_w, result_w)
            except OSError as err:
                raise _error_from_report(
                    ("E", str(err.errno or 0), err.strerror or str(err), err.filename or ""), ""
                ) from None
        if pid is None:
            pid = _fork_into_pid_ns() if new_pid_ns else os.fork()
    except BaseException:
        for fd in (setup_r, setup_w, result_r, result_w):
            os.close(fd)
        raise
    if pid == 0:  # pragma: no cover - runs in the child
        _container_stage(plan, new_pid_ns, setup_r, setup_w, result_r, result_w)
    os.close(setup_w)
    os.close(result_w)
    try:
        news = _read_all(setup_r).decode(errors="surrogateescape")
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(result_r)
        raise
    finally:
        os.close(setup_r)
    error = None
    for line in news.splitlines():
        kind, _, rest = line.partition("\t")
        if kind in ("E", "X"):
            error = (kind, *rest.split("\t"))
            break
    proc = ContainerProcess(pid, result_r if plan.with_init else None)
    if not plan.with_init:
        os.close(result_r)
    if error is not None:
        proc.kill()
        proc.wait()
        raise _error_from_report(error, plan.argv[0])
    return proc


def _fork_into_pid_ns() -> int:
    """fork() a child that is pid 1 of a new pid namespace; the caller stays put.

    unshare(CLONE_NEWPID) only sets the calling thread's namespace for future
    children, so other threads are unaffected, and setns() to our own namespace
    undoes it right after the fork, even if the fork failed.
    """
    from pycoz_cli.core import libc, userns

    if userns.active():
        return _clone_into_pid_ns()
    own = os.open("/proc/thread-self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            libc.unshare(libc.CLONE_NEWPID)
        except OSError as err:
            raise _error_from_report(
                ("E", str(err.errno or 0), err.strerror or "unshare failed", "CLONE_NEWPID"), ""
            ) from None
        try:
            pid = os.fork()
        except BaseException:
            libc.setns(own, libc.CLONE_NEWPID, "own pid namespace")
            raise
        if pid != 0:
            libc.setns(own, libc.CLONE_NEWPID, "own pid namespace")
        return pid
    finally:
        os.close(own)


def _clone_into_pid_ns() -> int:
    """fork() into a new pid namespace with clone(2), for rootless mode.

    There the setns back of ``_fork_into_pid_ns`` is refused (the host's pid
    namespace is not the user namespace's), so the child is made with
    clone(CLONE_NEWPID|SIGCHLD) directly: a fork whose child is pid 1 of a new
    namespace, while the caller's namespace for later children is untouched.
    The caller is single-threaded in rootless mode (``core.userns``), which is
    what makes a fork without Python's own fork handlers safe: there are no
    other threads whose locks the child could inherit held.
    """
    from pycoz_cli.core import libc

    pid = libc.clone_fork(libc.CLONE_NEWPID)
    if pid < 0:
        raise _error_from_report(("E", str(-pid), "clone failed", "CLONE_NEWPID"), "") from None
    return pid


def _high_pipe() -> tuple[int, int]:
    """A close-on-exec pipe whose ends are never 0, 1 or 2.

    If pycoz runs with a standard stream closed, a new pipe could take its
    number and be handed to the command as its stdin/stdout.
    """
    ends = []
    for fd in os.pipe2(os.O_CLOEXEC):
        if fd < 3:
            import fcntl

            high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
            os.close(fd)
            fd = high
        ends.append(fd)
    return ends[0], ends[1]


def _error_from_report(error: tuple, command: str) -> Exception:
    kind, code, what, target = ([*list(error), "", "", ""])[:4]
    code = int(code or 0)
    if kind == "X":  # exec failed
        if code in (2, 20):  # ENOENT, ENOTDIR
            return CommandNotFound(f"{command}: command not found in the container")
        return CommandNotExecutable(f"{command}: cannot execute: {describe_errno(code)}")
    err = OSError(code, what, target or None)
    hint = None
    if code == 1 and what.startswith("unshare"):  # EPERM
        hint = needs_root("creating namespaces")
    elif code == 19 and "overlay" in what:  # ENODEV
        hint = "this kernel has no overlayfs (modprobe overlay)"
    if code == 0:
        return SetupError(f"{what}{' ' + target if target else ''}")
    return SetupError.from_oserror(err, hint)


# --- everything below runs in the children and never returns ------------------


def _container_stage(plan, new_pid_ns, setup_r, setup_w, result_r, result_w):  # pragma: no cover
    """The child: init (pid 1) when there is a pid namespace, else the command."""
    code = ExitCode.SETUP
    try:
        gc.disable()  # a collection would touch (and copy) every page we share
        signal.pthread_sigmask(signal.SIG_BLOCK, _ALL_SIGNALS)
        from pycoz_cli.core import libc

        if plan.detach:
            os.setsid()
        else:
            libc.set_parent_death_signal(signal.SIGKILL)
        for fd in (setup_r, result_r):  # -1: started by core.spawner, which has none
            if fd >= 0:
                os.close(fd)
        # The parent check after PR_SET_PDEATHSIG: with the caller gone, nobody
        # reads the setup pipe and this write fails with EPIPE (SIGPIPE is blocked).
        try:
            os.write(setup_w, b"S\n")
        except BrokenPipeError:
            os._exit(code)
        if plan.cgroup is not None:
            plan.cgroup.join()
        if plan.close_fds:
            keep = {setup_w, result_w, *_stdio(plan), *plan.pass_fds}
            if plan.fence is not None and plan.fence.landlock_fd >= 0:
                keep.add(plan.fence.landlock_fd)
            if plan.netns_fd is not None:
                keep.add(plan.netns_fd)
            keep.update(fd for fd, _ in plan.join)
            if plan.terminal is not None:
                keep.add(plan.terminal)
            _close_other_fds(keep)
        rest = plan.unshare & ~libc.CLONE_NEWPID if new_pid_ns else plan.unshare
        if rest:
            libc.unshare(rest)
        if plan.netns_fd is not None:
            libc.setns(plan.netns_fd, libc.CLONE_NEWNET, "the host's network namespace")
            if plan.netns_fd not in plan.pass_fds:
                os.close(plan.netns_fd)
        for fd, nstype in plan.join:
            libc.setns(fd, nstype, "the host's root")
            os.close(fd)
        for step in plan.in_namespaces:
            step()
        if not plan.with_init:
            os.close(result_w)
            if plan.fence is not None:
                plan.fence.apply()
            _exec_stage(plan, setup_w)
        for step in plan.in_pid_namespace:
            step()
        if plan.terminal is not None:
            plan.terminal = _open_terminal(plan.terminal, plan.winsize)
        if plan.fence is not None:
            # Last: init has made everything; from here it only starts the
            # command, waits, reaps and reports, none of which the fence denies.
            plan.fence.apply()
        if plan.keep:
            os.close(setup_w)
            _detach_stdio(plan)
            status = _reap_and_forward(None)
            os.write(result_w, f"{status}\n".encode())
            code = 0
            return
        if plan.pre_exec or (plan.fence is not None and plan.fence.user_program):
            pid = os.fork()
            if pid == 0:
                os.close(result_w)
                _exec_stage(plan, setup_w)
        else:
            pid = _posix_spawn(plan, setup_w)
        os.close(setup_w)
        _detach_stdio(plan)
        status = plan.tracer(pid) if plan.tracer is not None else _reap_and_forward(pid)
        os.write(result_w, f"{status}\n".encode())
        code = exit_code_for(_status_to_returncode(status))
    except BaseException as err:
        _report(setup_w, "E", err)
    finally:
        os._exit(code)


def _detach_stdio(plan) -> None:  # pragma: no cover
    """A detached init must not keep the caller's terminal or pipes open."""
    if plan.detach:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.close(devnull)


def _reap_and_forward(main: int | None) -> int:  # pragma: no cover
    """init's loop: reap every child, forward sent signals, return main's status.

    With no ``main`` (a keeping init, ``SpawnPlan.keep``), reap until a signal
    that init forwards is sent to it, then return 0."""
    waited = FORWARDED | {signal.SIGCHLD}
    while True:
        info = signal.sigwaitinfo(waited)
        if info.si_signo == signal.SIGCHLD:
            while True:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                if pid == main:
                    return status
        elif main is None:
            return 0
        elif info.si_code != SI_KERNEL:
            try:
                os.kill(main, info.si_signo)
            except ProcessLookupError:
                pass


def program_candidates(name: str, env) -> list[str]:
    """Where ``execvpe(name)`` looks: ``name`` itself when it has a slash, else
    each directory of ``env``'s PATH (or the default path)."""
    if "/" in name:
        return [name]
    return [os.path.join(directory, name) for directory in os.get_exec_path(env)]


def find_program(name: str, env) -> str | None:
    """The file ``execvpe(name)`` would run: the first executable regular file
    among ``program_candidates`` (None: there is none; execvpe says why)."""
    for path in program_candidates(name, env):
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _exec_stage(plan, setup_w):  # pragma: no cover
    try:
        for sig in _ALL_SIGNALS:
            if signal.getsignal(sig) != signal.SIG_DFL:
                try:
                    signal.signal(sig, signal.SIG_DFL)
                except (OSError, ValueError):
                    pass
        signal.pthread_sigmask(signal.SIG_SETMASK, ())
        _chdir(plan)
        for target, fd in ((0, plan.stdin), (1, plan.stdout), (2, plan.stderr)):
            if fd is not None and fd != target:
                os.dup2(fd, target)
        if plan.terminal is not None:
            os.setsid()
            fd = os.open(plan.terminal, os.O_RDWR)  # the session's controlling terminal
            for target in (0, 1, 2):
                os.dup2(fd, target)
            if fd > 2:
                os.close(fd)
        for fd in plan.pass_fds:
            os.set_inheritable(fd, True)
        # Found before the pre-exec steps: a traced command (they make it a
        # tracee) shows one execve, as under strace, not the PATH search's
        # misses; and a command that is not there is not traced at all.
        program = find_program(plan.argv[0], plan.env)
        if program is not None:
            for step in plan.pre_exec:
                step()
            if plan.fence is not None:
                plan.fence.apply_user()  # last: the steps above may need what it denies
    except BaseException as err:
        _report(setup_w, "E", err)
        os._exit(ExitCode.SETUP)
    try:
        if program is None:
            os.execvpe(plan.argv[0], list(plan.argv), plan.env)  # fails, and says why
        os.execve(program, list(plan.argv), plan.env)
    except OSError as err:
        _report(setup_w, "X", err)
        missing = err.errno in (2, 20)
        os._exit(ExitCode.NOT_FOUND if missing else ExitCode.NOT_EXECUTABLE)
    except BaseException as err:
        _report(setup_w, "E", err)
    os._exit(ExitCode.SETUP)


def _posix_spawn(plan, setup_w) -> int:  # pragma: no cover
    """Start the command from init with vfork+exec semantics (posix_spawn).

    Much cheaper than forking the Python process a third time; used whenever no
    Python code has to run between fork and exec.  posix_spawn returns only once
    the exec has succeeded or failed, so the setup pipe can close right after.
    """
    _chdir(plan)
    actions = [
        (os.POSIX_SPAWN_DUP2, fd, target)
        for target, fd in ((0, plan.stdin), (1, plan.stdout), (2, plan.stderr))
        if fd is not None and fd != target
    ]
    if plan.terminal is not None:
        # After setsid (glibc applies the attributes first), opening the terminal
        # makes it the new session's controlling terminal.
        actions = [(os.POSIX_SPAWN_OPEN, 0, plan.terminal, os.O_RDWR, 0)]
        actions += [(os.POSIX_SPAWN_DUP2, 0, 1), (os.POSIX_SPAWN_DUP2, 0, 2)]
    for fd in plan.pass_fds:
        os.set_inheritable(fd, True)
    try:
        return os.posix_spawnp(
            plan.argv[0],
            list(plan.argv),
            plan.env,
            file_actions=actions,
            setsid=plan.terminal is not None,
            setsigmask=(),
            setsigdef=plan.ignored_signals,
        )
    except OSError as err:
        _report(setup_w, "X", err)
        missing = err.errno in (2, 20)
        os._exit(ExitCode.NOT_FOUND if missing else ExitCode.NOT_EXECUTABLE)


def _open_terminal(sock: int, winsize: bytes | None) -> str:  # pragma: no cover
    """Open a pseudo-terminal in the container's devpts; send its master end up
    ``sock``; return the path of its terminal end for the command to open."""
    import socket

    master, slave = os.openpty()  # /dev/ptmx: the container's own devpts instance
    try:
        if winsize:
            import fcntl
            import termios

            fcntl.ioctl(slave, termios.TIOCSWINSZ, winsize)
        path = os.ttyname(slave)
        with socket.socket(fileno=sock) as channel:
            socket.send_fds(channel, [b"T"], [master])
    finally:
        os.close(master)
        os.close(slave)
    return path


def _chdir(plan) -> None:  # pragma: no cover
    if plan.cwd is not None:
        try:
            os.chdir(plan.cwd)
        except OSError as err:
            raise OSError(err.errno, "cannot change to working directory", plan.cwd) from None
        return
    try:
        os.chdir(plan.fallback_cwd or "/")
    except OSError:
        os.chdir("/")


def _stdio(plan) -> list[int]:
    return [fd for fd in (plan.stdin, plan.stdout, plan.stderr) if fd is not None]


def _close_other_fds(keep: set[int]) -> None:  # pragma: no cover
    low = 3
    for fd in sorted(k for k in keep if k >= 3):
        if fd > low:
            os.closerange(low, fd)
        low = max(low, fd + 1)
    os.closerange(low, 1 << 20)


def daemon_fds(keep: set[int]) -> None:  # pragma: no cover - in a detached process
    """Close every fd but ``keep`` and put /dev/null on 0, 1 and 2: what a
    process that outlives pycoz (the link relay, a topology's holder) keeps."""
    _close_other_fds(set(keep))
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    if devnull > 2:
        os.close(devnull)


#: Signals pycoz passes on to the command when they are sent to pycoz itself
#: (SIGWINCH reaches the command from the terminal directly).
PASSED_ON = FORWARDED - {signal.SIGWINCH}


class SignalsHeld:
    """Hold back the signals pycoz passes on, from before spawn until the end.

    Blocking them (rather than installing handlers) means none is lost between
    fork and the wait loop, and ``sigwaitinfo`` tells where each came from.
    """

    def __enter__(self) -> SignalsHeld:
        self._old = signal.pthread_sigmask(signal.SIG_BLOCK, PASSED_ON | {signal.SIGCHLD})
        return self

    def __exit__(self, *exc) -> None:
        signal.pthread_sigmask(signal.SIG_SETMASK, self._old)


def wait_passing_signals(proc: ContainerProcess) -> int:
    """Wait for ``proc`` inside ``SignalsHeld``, passing on signals sent to pycoz.

    A signal from the terminal (si_code SI_KERNEL: Ctrl-C, Ctrl-\\, hang-up) has
    already reached the command, which is in pycoz's process group, so it is not
    sent a second time; one sent by a process (``kill``, ``timeout``) is passed on.
    """
    waited = PASSED_ON | {signal.SIGCHLD}
    while True:
        returncode = proc.poll()
        if returncode is not None:
            return returncode
        info = signal.sigwaitinfo(waited)
        if info.si_signo != signal.SIGCHLD and info.si_code != SI_KERNEL:
            proc.send_signal(info.si_signo)
