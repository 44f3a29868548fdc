"""A container spec: what the throwaway machine is made of, and how to run in it.

``Container`` is the one spec that ``pycoz root`` (and later ``net``, ``trace`` and
``shell``) fill in; ``spawn()`` starts a command in it and ``run()`` waits for its
status.  Everything checkable is checked here, in the caller, before any process
is forked, so bad input fails fast and leaves nothing behind.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Mapping, Sequence

from pycoz_cli.core import mounts
from pycoz_cli.core.process import ContainerProcess, SpawnPlan, spawn
from pycoz_cli.errors import SetupError, SpecError

_HOSTNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,63}")


class Bind:
    """A host path made visible at ``dst`` in the container."""

    __slots__ = ("dst", "readonly", "src")

    def __init__(self, src: str, dst: str | None = None, readonly: bool = False):
        self.src = src
        self.dst = dst or src
        self.readonly = readonly

    @classmethod
    def parse(cls, text: str, readonly: bool = False) -> Bind:
        """``SRC[:DST]`` as on the command line; DST defaults to SRC."""
        src, sep, dst = text.partition(":")
        if not src or (sep and not dst):
            option = "--ro-bind" if readonly else "--bind"
            raise SpecError(f"{option} {text!r}: expected SRC[:DST]")
        return cls(src, dst or src, readonly)

    def __eq__(self, other) -> bool:
        return isinstance(other, Bind) and (self.src, self.dst, self.readonly) == (
            other.src,
            other.dst,
            other.readonly,
        )

    def __hash__(self) -> int:
        return hash((self.src, self.dst, self.readonly))

    def __repr__(self) -> str:
        return f"Bind({self.src!r}, {self.dst!r}, readonly={self.readonly})"


class Container:
    """A throwaway root (and, later, a network placement) to run commands in.

    * ``base``: the lower layer (default "/"); ``upper``: keep changes there;
    * ``binds``: ``Bind`` objects (or "SRC[:DST]" strings, read-write);
    * ``tmpfs``: "DIR[:OPTIONS]" strings; ``hostname``; ``workdir``;
    * ``propagation``: "slave" (default) or "private";
    * ``env``: variables set on top of the inherited environment;
    * ``overlay=False``: the host's filesystem as it is (``ip netns exec``-like);
    * ``network`` (a built ``topology.Network``) and ``host``: run in that host's
      network namespace, with its name as hostname and a hosts file naming
      every host of the topology;
    * ``trace`` (a ``trace.session.Tracing``): trace every process of the
      container, with the tracer as its init;
    * ``privileged``, ``cap_add``, ``cap_drop``, ``seccomp_deny``: the fence
      (``core.fence``), on unless ``privileged=True``;
    * ``memory`` ("64M" or bytes), ``pids``, ``cpus``: resource limits for
      everything in the container (``core.cgroups``).

    Root, network placement and tracing combine freely: ``pycoz root``, ``net``,
    ``trace`` and ``shell`` all fill in this one spec.

    >>> Container(hostname="box").run(["hostname"])  # doctest: +SKIP
    0
    """

    _FIELDS = (
        "network",
        "host",
        "base",
        "upper",
        "binds",
        "tmpfs",
        "hostname",
        "workdir",
        "propagation",
        "env",
        "overlay",
        "trace",
        "fence",
        "limits",
        "rootless",
    )

    def __init__(
        self,
        base: str = "/",
        upper: str | None = None,
        binds: Sequence[Bind | str] = (),
        tmpfs: Sequence[str] = (),
        hostname: str | None = None,
        workdir: str | None = None,
        propagation: str = "slave",
        env: Mapping[str, str] | None = None,
        overlay: bool = True,
        network=None,
        host: str | None = None,
        trace=None,
        privileged: bool = False,
        cap_add: Sequence[str] = (),
        cap_drop: Sequence[str] = (),
        seccomp_deny: Sequence[str] = (),
        memory: str | int | None = None,
        pids: int | None = None,
        cpus: float | None = None,
        rootless: bool = False,
    ):
        self.base = base
        self.upper = upper
        self.binds = [b if isinstance(b, Bind) else Bind.parse(b) for b in binds]
        self.tmpfs = list(tmpfs)
        self.hostname = hostname
        self.workdir = workdir
        self.propagation = propagation
        self.env = dict(env or {})
        self.overlay = overlay
        #: A built ``topology.Network`` to place the command in, and which host.
        self.network = network
        self.host = host
        #: A ``trace.session.Tracing``: its tracer runs as the container's init.
        self.trace = trace
        from pycoz_cli.core.fence import Fence

        self.fence = Fence(privileged, cap_add, cap_drop, seccomp_deny)
        self._raw_limits = (memory, pids, cpus)
        #: Rootless mode (``core.userns``) even as root; it is used anyway when
        #: pycoz is not root.
        self.rootless = rootless

    @functools.cached_property
    def limits(self):
        """The resource limits (a ``cgroups.Limits``, or None), checked when first
        asked for: their module is imported only when a limit is given."""
        if all(v is None for v in self._raw_limits):
            return None
        from pycoz_cli.core.cgroups import Limits

        return Limits(*self._raw_limits)

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._FIELDS)
        return f"Container({args})"

    # --- checks, all before anything is made -------------------------------

    def validate(self) -> None:
        _need_dir(self.base, "--base")
        if mounts.is_under(os.path.realpath(self.base), "/proc"):
            raise SpecError(f"--base {self.base}: cannot be under /proc")
        if self.upper is not None:
            parent = os.path.dirname(os.path.abspath(self.upper)) or "/"
            if os.path.exists(self.upper) and not os.path.isdir(self.upper):
                raise SpecError(f"--upper {self.upper}: not a directory")
            if not os.path.isdir(parent):
                raise SpecError(f"--upper {self.upper}: parent directory {parent} does not exist")
        for b in self.binds:
            option = "--ro-bind" if b.readonly else "--bind"
            _bind_source(b.src, option, self.rootless)
            if mounts.is_under(os.path.realpath(b.src), "/proc"):
                raise SpecError(f"{option} source {b.src}: paths under /proc cannot be bound")
            _need_absolute(b.dst, f"{option} destination")
        for t in self.tmpfs:
            _need_absolute(t.partition(":")[0], "--tmpfs")
        if self.workdir is not None:
            _need_absolute(self.workdir, "--workdir")
        if self.hostname is not None and not _HOSTNAME.fullmatch(self.hostname):
            raise SpecError(f"--hostname {self.hostname!r}: use 1-64 letters, digits, '-' or '.'")
        if self.propagation not in ("slave", "private"):
            raise SpecError(f"--propagation {self.propagation!r}: use slave or private")
        for name in self.env:
            if not name or "=" in name:
                raise SpecError(f"--env {name!r}: not a variable name")
        if not self.overlay and (self.upper is not None or self.base != "/"):
            option = "--upper" if self.upper is not None else "--base"
            raise SpecError(
                f"{option}: needs a throwaway root (overlay=False keeps the host's files)"
            )
        self.fence.validate()
        _ = self.limits

    # --- running -----------------------------------------------------------

    def plan(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> SpawnPlan:
        """The spawn plan for ``argv``; validates first, and enters pycoz's user
        namespace (``core.userns``) in rootless mode."""
        self.validate()
        from pycoz_cli.core import userns

        rootless = userns.ensure(self.rootless)
        if rootless and self.limits:
            given = next(n for n in ("memory", "pids", "cpus") if getattr(self.limits, n))
            raise SetupError(
                f"--{given}: resource limits need a cgroup, which an ordinary user cannot "
                "make (rootless mode): run pycoz as root for --memory, --pids and --cpus"
            )
        full_env = dict(os.environ if env is None else env)
        full_env.update(self.env)
        argv = list(argv) or [default_shell(full_env, self.base)]
        if self.network is not None and not self.overlay:
            host = self.host = self.host or self.network.topology.first_host()
            netns = self.network.netns(host)
            keeper = getattr(self.network, "root_pid", lambda _: None)(host)
            if keeper is not None:
                return self._joined_plan(argv, full_env, keeper, netns.fd)
        root = mounts.RootPlan(
            base=os.path.realpath(self.base),
            upper=os.path.abspath(self.upper) if self.upper else None,
            binds=tuple(
                (os.path.abspath(b.src), os.path.normpath(b.dst), b.readonly) for b in self.binds
            ),
            tmpfs=tuple(_tmpfs(t) for t in self.tmpfs),
            propagation=self.propagation,
            overlay=self.overlay,
        )
        entries = mounts.read_mountinfo()
        root.any_shared = any(entry.shared for entry in entries)
        root.rootless = rootless
        if self.overlay and rootless:
            root.mounts = tuple(
                (e.mountpoint, e.fstype)
                for e in entries
                if e.mountpoint != root.base and mounts.is_under(e.mountpoint, root.base)
            )
        elif self.overlay:
            root.submounts = tuple(mounts.submounts(entries, root.base))
        from pycoz_cli.core import libc

        netns_fd = None
        hostname = self.hostname
        if self.network is not None:
            # The host used, for the lifecycle hooks too (None: the first host).
            host = self.host = self.host or self.network.topology.first_host()
            netns_fd = self.network.netns(host).fd
            hostname = hostname or host
            root.hosts_text = self.network.topology.hosts_file()
            root.own_netns = True
        elif self.host is not None:
            raise SpecError(f"--host {self.host}: needs a topology (--net)")
        root.fenced = not self.fence.privileged
        root.proc_fenced = root.fenced or (rootless and userns.maps_host_root())
        build = mounts.build_root if self.overlay else mounts.build_light
        # Partials, not lambdas: a plan is data that pickles (``core.spawner``).
        steps = [functools.partial(build, root)]
        if hostname:
            steps.append(functools.partial(libc.sethostname, hostname))
        own_netns, proc_fenced = root.own_netns, root.proc_fenced
        here = _cwd()
        plan = SpawnPlan(
            argv=argv,
            env=full_env,
            unshare=libc.CLONE_NEWNS | libc.CLONE_NEWPID | libc.CLONE_NEWUTS | libc.CLONE_NEWIPC,
            in_namespaces=steps,
            # The rootless root mounts /proc itself, before the old root goes.
            in_pid_namespace=[]
            if rootless and self.overlay
            else [functools.partial(mounts.mount_proc, own_netns, proc_fenced)],
            cwd=self.workdir,
            fallback_cwd=here if self.base == "/" else "/",
        )
        plan.netns_fd = netns_fd
        plan.fence = self.fence.plan(own_netns)
        return plan

    def _joined_plan(self, argv, env, keeper: int, netns_fd: int) -> SpawnPlan:
        """The plan for a command in a topology host that has a root of its own
        (``Node.root``): it joins the namespaces of that root's keeping init
        (``SpawnPlan.keep``) — its root, pid namespace, hostname, IPC — as
        ``nsenter`` would, instead of making new ones.  Its own init stays
        outside, so the command is given a parent-death signal: it ends with
        its init, as it would with a pid namespace of its own."""
        import signal

        from pycoz_cli.core import libc

        join = []
        try:
            for name, nstype in (
                ("ipc", libc.CLONE_NEWIPC),
                ("uts", libc.CLONE_NEWUTS),
                ("pid", libc.CLONE_NEWPID),
                ("mnt", libc.CLONE_NEWNS),
            ):
                fd = os.open(f"/proc/{keeper}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC)
                join.append((fd, nstype))
        except OSError as err:
            for fd, _ in join:
                os.close(fd)
            raise SetupError(
                f"host {self.host}: its root is gone (process {keeper}): {err.strerror}",
                err.errno,
            ) from None
        plan = SpawnPlan(
            argv=argv,
            env=env,
            pre_exec=(lambda: libc.set_parent_death_signal(signal.SIGKILL),),
            cwd=self.workdir,
            fallback_cwd=_cwd(),
        )
        plan.join = tuple(join)
        plan.netns_fd = netns_fd
        plan.fence = self.fence.plan(True)
        return plan

    def spawn(
        self,
        argv: Sequence[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        stdin: int | None = None,
        stdout: int | None = None,
        stderr: int | None = None,
        pass_fds: Iterable[int] = (),
        close_fds: bool = True,
        detach: bool = False,
        pre_exec=(),
        tracer=None,
        terminal: bool = False,
        keep: bool = False,
        helper: bool = False,
    ) -> ContainerProcess:
        """Start ``argv`` (default: the user's shell) in a fresh throwaway root.

        Returns once the command has exec'd.  ``env`` replaces the inherited
        environment (``self.env`` is applied on top).  ``stdin``/``stdout``/
        ``stderr`` take file descriptors.  Raises SpecError for bad input,
        SetupError if the container could not be made, CommandNotFound /
        CommandNotExecutable if the command could not be exec'd.

        ``terminal=True`` starts the command in a new session on a new
        pseudo-terminal of the container's own devpts, sized like pycoz's
        terminal; its master end is ``proc.terminal`` (the caller relays it and
        closes it; see ``core.terminal``).

        ``keep=True`` starts no command: the container's init alone keeps it
        (``SpawnPlan.keep``) until it is sent SIGTERM or killed.

        ``helper=True`` starts init through ``core.spawner`` when it can (the
        Python API: many containers from one long-lived process).
        """
        plan = self.plan(argv, env)
        plan.keep = keep
        plan.stdin, plan.stdout, plan.stderr = stdin, stdout, stderr
        plan.pass_fds = tuple(pass_fds)
        plan.close_fds = close_fds
        plan.detach = detach
        plan.pre_exec = tuple(pre_exec)
        plan.tracer = tracer
        plan.helper = helper
        if self.trace is not None and tracer is None:
            plan.pre_exec = (*plan.pre_exec, self.trace.prepare_tracee)
            plan.tracer = self.trace.run_as_init
        if not terminal:
            return self._spawn(plan)
        import socket

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        with ours, theirs:
            plan.terminal = theirs.fileno()
            plan.winsize = _terminal_size()
            proc = self._spawn(plan)
            proc.terminal = _receive_terminal(ours, proc)
        return proc

    def _spawn(self, plan: SpawnPlan) -> ContainerProcess:
        from pycoz_cli import plugins

        hooks = plugins.active()
        if hooks:
            plugins.notify("pycoz_before_command", container=self, argv=tuple(plan.argv))
        with _UpperDir(os.path.abspath(self.upper) if self.upper else None) as upper:
            if self.limits:
                from pycoz_cli.core.cgroups import Cgroup

                plan.cgroup = Cgroup(self.limits)
            try:
                proc = spawn(plan)
            except BaseException:
                if plan.cgroup is not None:
                    plan.cgroup.remove()
                raise
            finally:
                for fd, _ in plan.join:
                    os.close(fd)
            if plan.cgroup is not None:
                proc._on_exit.append(plan.cgroup.remove)
            upper.handover(proc)
        if hooks:
            proc._on_exit.append(
                lambda: plugins.notify(
                    "pycoz_after_command",
                    container=self,
                    argv=tuple(plan.argv),
                    returncode=proc.returncode,
                )
            )
        return proc

    def run(self, argv: Sequence[str] = (), **kwargs) -> int:
        """Run ``argv`` to completion; its exit code, or -N if signal N killed it."""
        with self.spawn(argv, **kwargs) as proc:
            return proc.wait()


class _UpperDir:
    """Create the --upper directory if needed, lock it, and clean up on failure.

    The lock (flock on the directory) stops two containers from sharing one upper
    layer, which overlayfs does not support; it is held until the command ends.
    """

    def __init__(self, path: str | None):
        self.path = path
        self.made: list[str] = []
        self.fd: int | None = None

    def __enter__(self) -> _UpperDir:
        if self.path is None:
            return self
        import fcntl

        self.made = [
            p
            for p in (self.path, *(f"{self.path}/{sub}" for sub in ("upper", "work", "mounts")))
            if not os.path.exists(p)
        ]
        if self.path in self.made:
            os.mkdir(self.path, 0o755)  # the rest is made by the container's init
        self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            self.fd = None
            raise SetupError(f"--upper {self.path}: in use by another pycoz container") from None
        return self

    def handover(self, proc: ContainerProcess) -> None:
        if self.fd is not None:
            proc._on_exit.append(lambda fd=self.fd: os.close(fd))
            self.fd = None

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.fd is not None:
            os.close(self.fd)
        if exc_type is not None and self.path is not None:
            import shutil

            for made in reversed(self.made):
                shutil.rmtree(made, ignore_errors=True)


def _cwd() -> str:
    """pycoz's working directory ("/" when it has none any more)."""
    try:
        return os.getcwd()
    except OSError:
        return "/"


def _terminal_size() -> bytes | None:
    """pycoz's terminal size as a packed struct winsize, if it has a terminal."""
    import fcntl
    import termios

    for fd in (0, 1, 2):
        try:
            return fcntl.ioctl(fd, termios.TIOCGWINSZ, bytes(8))
        except OSError:
            continue
    return None


def _receive_terminal(channel, proc: ContainerProcess) -> int:
    """The master end of the container's terminal, sent by its init."""
    import socket

    channel.setblocking(False)
    try:
        _, fds, _, _ = socket.recv_fds(channel, 1, 1)
    except BlockingIOError:
        fds = []
    if not fds:
        proc.kill()
        proc.wait()
        raise SetupError("the container's terminal: init did not send it")
    os.set_blocking(fds[0], True)
    return fds[0]


def default_shell(env: Mapping[str, str], base: str) -> str:
    """The user's $SHELL if the root has it, else bash, else sh."""
    for candidate in (env.get("SHELL"), "/bin/bash", "/bin/sh"):
        if candidate and os.access(os.path.join(base, candidate.lstrip("/")), os.X_OK):
            return candidate
    return "/bin/sh"


def _tmpfs(text: str) -> tuple[str, str]:
    path, _, options = text.partition(":")
    return os.path.normpath(path), options


def _bind_source(path: str, option: str, rootless: bool) -> None:
    """A bind's source exists, and in rootless mode the user can read it: a user
    namespace gives no power over what the user cannot reach (a bind would show
    it unreadable inside), so it is refused here, in one line."""
    from pycoz_cli.core import userns

    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise SpecError(f"{option} source {path}: no such file or directory") from None
    except PermissionError:
        raise SetupError(
            f"{option} source {path}: permission denied (a directory on its path is "
            "closed to this user)"
        ) from None
    if not (userns.active() or userns.wanted(rootless)):
        return
    import stat

    need = os.R_OK | (os.X_OK if stat.S_ISDIR(st.st_mode) else 0)
    if not os.access(path, need):
        raise SetupError(
            f"{option} source {path}: this user cannot read it, and rootless mode can "
            "bind only what the user can read: run pycoz as root to bind it"
        )


def _need_dir(path: str, what: str) -> None:
    if not os.path.exists(path):
        raise SpecError(f"{what} {path}: no such directory")
    if not os.path.isdir(path):
        raise SpecError(f"{what} {path}: not a directory")


def _need_absolute(path: str, what: str) -> None:
    if not path.startswith("/"):
        raise SpecError(f"{what} {path!r}: must be an absolute path")
