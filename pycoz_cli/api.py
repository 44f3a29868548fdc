"""The Python API with subprocess's semantics: containers and topology hosts.

``run`` and ``Popen`` behave as ``subprocess.run`` and ``subprocess.Popen`` do —
same arguments, same ``CompletedProcess``, ``TimeoutExpired`` and
``CalledProcessError``, same pipes, ``communicate()``, text mode and encodings —
but the command runs in a throwaway container (``core.container.Container``):
its own root, pid namespace and, on a network, a host's network namespace::

    from pycoz_cli import Network, run

    run(["sh", "-c", "rm -rf /etc; ls /etc | wc -l"], capture_output=True, text=True)
    with Network("pair", impair={"h1-h2": {"delay": "20ms"}}) as net:
        server = net["h2"].spawn(["python3", "-m", "http.server", "80"])
        net["h1"].run(["curl", "-s", "http://h2/"], check=True, timeout=10)

``Popen`` *is* a ``subprocess.Popen``: it reuses subprocess's pipes and
``communicate()`` and replaces only the start of the child (the container's init
instead of a fork of this process) and the reading of its status (init reports
the command's own wait status).  A timeout kills init, and the kernel then kills
everything in its pid namespace: nothing the command started survives it.

Tracing (``trace=["trace=%network"]``: strace ``-e`` expressions) runs the tracer
as the container's init; its events come back as ``Trace`` objects of
``trace.session.Event`` (name, arguments, result, errno, pid, time).
"""

from __future__ import annotations

import copy
import errno as _errno
import functools
import os
import subprocess
import time
from collections.abc import Mapping, Sequence

from pycoz_cli.errors import CommandNotExecutable, CommandNotFound, SpecError

PIPE = subprocess.PIPE
STDOUT = subprocess.STDOUT
DEVNULL = subprocess.DEVNULL
CompletedProcess = subprocess.CompletedProcess
TimeoutExpired = subprocess.TimeoutExpired
CalledProcessError = subprocess.CalledProcessError

#: subprocess.Popen arguments that have no meaning for a command in a container:
#: its process group, session, user and signal dispositions are the container's.
_REFUSED = {
    "executable": "put the program in args[0]",
    "preexec_fn": "code cannot run in the container before exec",
    "user": "the command runs as root in its container",
    "group": "the command runs as root in its container",
    "extra_groups": "the command runs as root in its container",
    "umask": "set it in the command (sh -c 'umask 077; ...')",
    "start_new_session": "the container has a session of its own",
    "process_group": "the container has a process group of its own",
    "startupinfo": "Windows only",
    "creationflags": "Windows only",
}


class Trace:
    """The events of one traced command: a list of ``trace.session.Event``.

    ``calls("connect")`` are its connect calls (each with ``args``, ``result``,
    ``errno``, ``pid``, ``time``); ``lines()`` the strace-like text, per process
    with ``pid=``; ``path`` the JSON-lines file (kept while the object lives).
    """

    def __init__(self, events: list, path: str | None = None):
        self.events = events
        self.path = path

    def __iter__(self):
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def __getitem__(self, index):
        return self.events[index]

    def __repr__(self) -> str:
        return f"Trace({len(self.events)} events)"

    @property
    def pids(self) -> list[int]:
        """Every traced process, in the order they appeared."""
        return list(dict.fromkeys(ev.pid for ev in self.events if ev.pid))

    def calls(self, *names: str, pid: int | None = None) -> list:
        """The system calls named ``names`` (all when none), of ``pid`` if given."""
        return [
            ev
            for ev in self.events
            if ev.kind == "syscall"
            and (not names or ev.name in names)
            and (pid is None or ev.pid == pid)
        ]

    def lines(self, pid: int | None = None) -> list[str]:
        """strace's lines (``PID call(args) = result``, ``+++ exited with 0 +++``)."""
        out = []
        for ev in self.events:
            if pid is not None and ev.pid != pid:
                continue
            if ev.kind in ("syscall", "exit", "killed", "signal"):
                out.append(f"{ev.pid:<5} {ev.text}")
        return out

    @classmethod
    def from_json_lines(cls, text: str, path: str | None = None) -> Trace:
        import json

        from pycoz_cli.core.trace.output import from_json_safe
        from pycoz_cli.core.trace.session import Event

        events = []
        for line in text.splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a line cut short by a killed tracer
            kind = rec.get("type")
            if kind == "syscall":
                args_text = ", ".join(rec.get("args_text", ()))
                result = rec.get("result_text", "?") if rec.get("result") is not None else "?"
                events.append(
                    Event(
                        "syscall",
                        rec["pid"],
                        name=rec["syscall"],
                        args=from_json_safe(rec.get("args", [])),
                        result=rec.get("result"),
                        errno=rec.get("errno"),
                        text=f"{rec['syscall']}({args_text}) = {result}",
                        time=rec.get("time", 0.0),
                        duration=rec.get("duration"),
                        injected=rec.get("injected", False),
                        delayed=rec.get("delayed", False),
                    )
                )
                continue
            if kind == "exit":
                text = f"+++ exited with {rec.get('code')} +++"
            elif kind == "killed":
                core = " (core dumped)" if rec.get("core") else ""
                text = f"+++ killed by {rec.get('signal')}{core} +++"
            elif kind == "signal":
                text = f"--- {rec.get('signal')} ---"
            else:
                text = " ".join(f"{k}={v}" for k, v in rec.items() if k not in ("type", "pid"))
            events.append(Event(kind, rec.get("pid", 0), text=text, time=rec.get("time", 0.0)))
        return cls(events, path)


class _TraceFile:
    """Where a traced container's tracer (its init) writes JSON lines."""

    def __init__(self, expressions: Sequence[str], directory: str | None, label: str):
        import tempfile

        from pycoz_cli.core.trace import filters, session
        from pycoz_cli.core.trace.output import JsonLines

        options = session.options_from(filters.parse(list(expressions)), follow=True)
        fd, self.path = tempfile.mkstemp(prefix=f"pycoz-{label}-", suffix=".jsonl", dir=directory)
        self.keep = directory is not None
        # Line-buffered: a command that is still running (a hung server) has its
        # trace so far on disk, for a failing test's report (``trace_so_far``).
        self.file = os.fdopen(fd, "w", buffering=1)
        self.tracing = session.Tracing(options, JsonLines(self.file, durations=True))

    def close_in_command(self) -> None:  # pragma: no cover - in the command, before exec
        os.close(self.file.fileno())

    def peek(self) -> Trace:
        with open(self.path) as f:
            return Trace.from_json_lines(f.read())

    def collect(self) -> Trace:
        self.file.close()
        with open(self.path) as f:
            text = f.read()
        if not self.keep:
            os.unlink(self.path)
        return Trace.from_json_lines(text, self.path if self.keep else None)

    def discard(self) -> None:
        self.file.close()
        if not self.keep:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass


class Popen(subprocess.Popen):
    """``subprocess.Popen`` for a command in a pycoz container.

    Takes subprocess.Popen's arguments (``stdin``/``stdout``/``stderr`` as
    ``PIPE``, ``DEVNULL``, ``STDOUT``, a file or an fd; ``text``, ``encoding``,
    ``errors``, ``bufsize``, ``env``, ``cwd``, ``pass_fds``, ``shell``) plus
    ``container`` (a ``Container``; default a fresh throwaway root) and
    ``trace`` (strace ``-e`` expressions, or True for every call): after
    ``wait()``, ``self.trace`` is the command's ``Trace``.
    ``pid`` is the container's init: signals sent to it reach the command
    (SIGTERM, SIGINT, SIGHUP, SIGUSR1/2...), and ``kill()`` ends the whole
    container at once.
    """

    def __init__(
        self,
        args,
        *,
        container=None,
        trace: Sequence[str] | bool | None = None,
        trace_dir: str | None = None,
        host: str = "container",
        **kwargs,
    ):
        for name, why in _REFUSED.items():
            if name in kwargs and kwargs[name] not in (None, False, 0, -1):
                raise ValueError(f"pycoz Popen: {name}= is not supported: {why}")
            kwargs.pop(name, None)
        if container is None:
            from pycoz_cli.core.container import Container

            container = Container()
        self._pycoz_container = container
        self._pycoz_trace_exprs = _expressions(trace)
        self._pycoz_trace_dir = trace_dir
        self._pycoz_trace_file = None
        self._pycoz_process = None
        #: Where the command runs ("container", or a network host's name).
        self.host = host
        #: The command's ``Trace`` once it has ended (None if not traced).
        self.trace: Trace | None = None
        #: What ``communicate()`` returned (or had read when it timed out).
        self.output: tuple = (None, None)
        self.started = time.monotonic()
        super().__init__(args, **kwargs)

    def communicate(self, input=None, timeout=None):
        try:
            self.output = super().communicate(input, timeout)
        except TimeoutExpired as err:
            self.output = (err.stdout, err.stderr)
            raise
        return self.output

    def _execute_child(
        self,
        args,
        executable,
        preexec_fn,
        close_fds,
        pass_fds,
        cwd,
        env,
        startupinfo,
        creationflags,
        shell,
        p2cread,
        p2cwrite,
        c2pread,
        c2pwrite,
        errread,
        errwrite,
        *_rest,
    ):
        try:
            argv = _argv(args, shell)
            container = self._pycoz_container
            if cwd is not None:
                container = copy.copy(container)
                container.workdir = os.path.abspath(os.fsdecode(cwd))
            pre_exec = ()
            pass_fds = tuple(pass_fds)
            if self._pycoz_trace_exprs is not None:
                if container is self._pycoz_container:
                    container = copy.copy(container)
                traced = self._pycoz_trace_file = _TraceFile(
                    self._pycoz_trace_exprs, self._pycoz_trace_dir, self.host
                )
                container.trace = traced.tracing
                pass_fds += (traced.file.fileno(),)
                pre_exec = (traced.close_in_command,)
            if env is not None:
                env = {os.fsdecode(k): os.fsdecode(v) for k, v in env.items()}
            try:
                proc = container.spawn(
                    argv,
                    env=env,
                    stdin=None if p2cread == -1 else p2cread,
                    stdout=None if c2pwrite == -1 else c2pwrite,
                    stderr=None if errwrite == -1 else errwrite,
                    pass_fds=pass_fds,
                    close_fds=close_fds,
                    pre_exec=pre_exec,
                    helper=True,
                )
            except CommandNotFound:
                raise FileNotFoundError(
                    _errno.ENOENT, os.strerror(_errno.ENOENT), argv[0]
                ) from None
            except CommandNotExecutable:
                raise PermissionError(_errno.EACCES, os.strerror(_errno.EACCES), argv[0]) from None
        except BaseException:
            if self._pycoz_trace_file is not None:
                self._pycoz_trace_file.discard()
                self._pycoz_trace_file = None
            raise
        finally:
            self._close_pipe_fds(p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite)
        self._pycoz_process = proc
        self.pid = proc.pid
        self._child_created = True

    def _handle_exitstatus(self, sts, *_rest):
        # init's own status says only how init ended; the command's comes up
        # the result pipe (ContainerProcess._finish reads it, and releases what
        # was held for the command: cgroup, upper directory lock).
        proc = self._pycoz_process
        proc._finish(sts)
        self.returncode = proc.returncode
        if self._pycoz_trace_file is not None:
            traced, self._pycoz_trace_file = self._pycoz_trace_file, None
            try:
                self.trace = traced.collect()
            except OSError:
                self.trace = Trace([])

    def trace_so_far(self) -> Trace | None:
        """The trace, also of a command still running (what its tracer wrote so far)."""
        if self.trace is not None or self._pycoz_trace_file is None:
            return self.trace
        try:
            return self._pycoz_trace_file.peek()
        except OSError:
            return None

    def __repr__(self) -> str:
        return f"<pycoz Popen: host={self.host} returncode={self.returncode} args={self.args!r}>"


def _expressions(trace) -> list[str] | None:
    if trace is None or trace is False:
        return None
    if trace is True:
        return []
    if isinstance(trace, str):
        return [trace]
    return list(trace)


def _argv(args, shell: bool) -> list[str]:
    if isinstance(args, (str, bytes, os.PathLike)):
        args = [args]
    argv = [os.fsdecode(a) for a in args]
    if shell:
        argv = ["/bin/sh", "-c", *argv]
    if not argv:
        raise ValueError("pycoz Popen: empty argument list")
    return argv


def _run(popen_factory, args, *, input=None, capture_output=False, timeout=None, check=False, **kw):
    """subprocess.run, over ``popen_factory`` (its body, argument for argument)."""
    if input is not None:
        if kw.get("stdin") is not None:
            raise ValueError("stdin and input arguments may not both be used.")
        kw["stdin"] = PIPE
    if capture_output:
        if kw.get("stdout") is not None or kw.get("stderr") is not None:
            raise ValueError("stdout and stderr arguments may not be used with capture_output.")
        kw["stdout"] = PIPE
        kw["stderr"] = PIPE
    with popen_factory(args, **kw) as process:
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except TimeoutExpired:
            process.kill()  # init: the kernel ends everything in its pid namespace
            process.wait()
            raise
        except BaseException:
            process.kill()
            raise
        retcode = process.poll()
        if check and retcode:
            raise CalledProcessError(retcode, process.args, output=stdout, stderr=stderr)
    result = CompletedProcess(process.args, retcode, stdout, stderr)
    result.trace = process.trace
    return result


class Host:
    """Where commands run: a throwaway container, or one host of a ``Network``.

    ``run`` and ``spawn`` take subprocess.run's and subprocess.Popen's
    arguments, plus ``trace=``.  Every command gets a container of its own made
    from the same spec (a fresh root; the same network namespace on a host).
    """

    def __init__(self, container, name: str = "container", *, trace_dir=None, on_spawn=None):
        self.container = container
        self.name = name
        #: Where traces are kept (a directory, or a function giving one; None:
        #: a temporary file, read and removed when the command ends).
        self._trace_dir = trace_dir
        #: Called with each ``Popen`` started here (the pytest plugin records them).
        self._on_spawn = on_spawn
        #: ``trace=`` for commands that give none (``pycoz_tracer``).
        self._default_trace = None

    def __repr__(self) -> str:
        return f"<pycoz Host {self.name}>"

    def spawn(self, args, **kwargs) -> Popen:
        """``subprocess.Popen(args, **kwargs)`` in this host."""
        if "trace" not in kwargs and self._default_trace is not None:
            kwargs["trace"] = self._default_trace
        if "trace_dir" not in kwargs:
            where = self._trace_dir
            kwargs["trace_dir"] = where() if callable(where) else where
        proc = Popen(args, container=self.container, host=self.name, **kwargs)
        if self._on_spawn is not None:
            self._on_spawn(proc)
        return proc

    Popen = spawn

    def run(self, args, **kwargs) -> CompletedProcess:
        """``subprocess.run(args, **kwargs)`` in this host; the result's
        ``trace`` is the command's ``Trace`` when ``trace=`` was given."""
        return _run(self.spawn, args, **kwargs)

    def check_output(self, args, **kwargs):
        """``subprocess.check_output`` in this host."""
        if "stdout" in kwargs:
            raise ValueError("stdout argument not allowed, it will be overridden.")
        return self.run(args, stdout=PIPE, check=True, **kwargs).stdout


@functools.cache
def _container_options() -> frozenset:
    """``Container``'s own options (its signature); ``env``, ``network``, ``host``
    and ``trace`` are set by the API itself."""
    import inspect

    from pycoz_cli.core.container import Container

    names = inspect.signature(Container.__init__).parameters
    return frozenset(names) - {"self", "env", "network", "host", "trace"}


def container(**options) -> Host:
    """A ``Host`` for a throwaway container made with ``Container``'s options:
    ``base``, ``upper``, ``binds``, ``tmpfs``, ``hostname``, ``workdir``,
    ``overlay``, the fence's ``privileged``, ``cap_add``, ``cap_drop``,
    ``seccomp_deny``, and the limits ``memory``, ``pids``, ``cpus``;
    ``container_env`` is set on top of each command's environment."""
    from pycoz_cli.core.container import Container

    env = options.pop("container_env", None)
    _check_options("container()", options)
    box = Container(env=env, **options)
    box.validate()
    return Host(box)


def _check_options(where: str, options) -> None:
    known = _container_options()
    unknown = set(options) - known
    if unknown:
        raise TypeError(
            f"{where}: unknown option {sorted(unknown)[0]!r} (options: {', '.join(sorted(known))})"
        )


def _split(kwargs: dict) -> tuple[dict, dict]:
    known = _container_options()
    spec = {k: kwargs.pop(k) for k in list(kwargs) if k in known}
    return spec, kwargs


def run(args, **kwargs) -> CompletedProcess:
    """``subprocess.run`` with the command in a throwaway container.

    Takes subprocess.run's arguments, ``trace=``, and the options of
    ``container()`` (``hostname=``, ``binds=``, ``privileged=``, ``memory=``...).
    """
    spec, kwargs = _split(kwargs)
    return container(**spec).run(args, **kwargs)


def spawn(args, **kwargs) -> Popen:
    """``subprocess.Popen`` with the command in a throwaway container."""
    spec, kwargs = _split(kwargs)
    return container(**spec).spawn(args, **kwargs)


# --- networks --------------------------------------------------------------------


def _topology(topology):
    from pycoz_cli.core.net.topology import Topology, resolve

    if isinstance(topology, Topology):
        return topology
    if isinstance(topology, os.PathLike):
        from pycoz_cli.core.net.topofile import load

        return load(os.fspath(topology))
    if not isinstance(topology, str):
        raise SpecError(
            f"topology {topology!r}: give a name (pair, star:hosts=5, dualstack), "
            "a file path, or a Topology"
        )
    return resolve(topology)


def _impairments(topo, impair) -> None:
    """``impair``: {"h1-h2": {"delay": "20ms"}} or {"h1>h2": "delay=20ms,loss=1%"},
    or an iterable of ``--impair`` specs ("h1-h2:delay=20ms")."""
    from pycoz_cli.core.net.topology import impair_spec

    if impair is None:
        return
    if isinstance(impair, str):
        impair = [impair]
    if isinstance(impair, Mapping):
        specs = []
        for link, values in impair.items():
            if isinstance(values, Mapping):
                values = ",".join(f"{k}={v}" for k, v in values.items())
            specs.append(f"{link}:{values or ''}")
        impair = specs
    for spec in impair:
        impair_spec(topo, spec)


class Network:
    """A topology built for the life of this object (or its ``with`` block).

    ``topology``: a built-in or plugin name (``"pair"``, ``"star:hosts=5"``,
    ``"dualstack"``), a topology file (a path), or a ``Topology``;
    ``impair``: impairments per link (see ``impair()``), declared so that they
    can also change live.  ``net["h1"]`` is a ``Host`` with the host's own
    filesystem (as ``pycoz net run``); ``net.host("h1", base=..., ...)`` takes
    a throwaway root and the fence's options as well.
    Nothing is named: namespaces are held by fds and vanish with this process,
    so any number of networks (and pytest-xdist workers) never collide.
    """

    def __init__(
        self,
        topology="pair",
        *,
        impair=None,
        trace_dir=None,
        on_spawn=None,
        **host_options,
    ):
        from pycoz_cli.core.net import topology as core

        topo = _topology(topology)
        _impairments(topo, impair)
        _check_options("Network()", host_options)
        self.topology = topo
        self._host_options = {"overlay": False, **host_options}
        self._trace_dir = trace_dir
        self._on_spawn = on_spawn
        self._hosts: dict = {}
        self._network = core.Network(topo).build()
        try:
            self._network.start_commands()
        except BaseException:
            self._network.teardown()
            raise

    @property
    def name(self) -> str:
        return self.topology.name

    @property
    def hosts(self) -> list[str]:
        return self.topology.hosts()

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Tear the network down (its namespaces, relay and declared commands)."""
        self._network.teardown()

    @property
    def closed(self) -> bool:
        return not self._network.namespaces

    def __getitem__(self, name: str) -> Host:
        host = self._hosts.get(name)
        if host is None:
            host = self._hosts[name] = self.host(name)
        return host

    def host(self, name: str, **options) -> Host:
        """Host ``name``; ``options`` as ``container()``'s (``overlay=True`` for
        a throwaway root, ``privileged=True``, ``memory="64M"``...)."""
        from pycoz_cli.core.container import Container

        if self.closed:
            raise SpecError(f"topology {self.name}: the network is closed")
        self._network.netns(name)  # an unknown host fails here, in one line
        _check_options("host()", options)
        spec = Container(network=self._network, host=name, **{**self._host_options, **options})
        spec.validate()
        return Host(spec, name, trace_dir=self._trace_dir, on_spawn=self._on_spawn)

    def address(self, host: str, version: int = 4) -> str:
        """The first IPv4 (or ``version=6``) address of ``host``."""
        self._network.netns(host)
        addrs = self.topology.nodes[host].addresses(version)
        if not addrs:
            raise SpecError(f"topology {self.name}: {host} has no IPv{version} address")
        return str(addrs[0])

    def links(self, host: str) -> list[dict]:
        """The interfaces of ``host`` as the kernel has them (through pyroute2):
        dicts of ``index``, ``name``, ``kind`` (``"veth"``, ``"vxlan"``...),
        ``mac``, ``mtu``, ``up``, ``master`` and ``parent`` (ifindexes)."""
        return self._network.links(host)

    def impair(self, link: str, *, sender: str | None = None, **values) -> None:
        """Change ``link``'s impairments live: ``delay``/``jitter`` ("50ms"),
        ``loss``/``corrupt``/``duplicate``/``reorder`` ("1%", and their
        ``*_correlation``), ``gap``, ``rate`` ("10mbit"), ``limit`` (packets);
        values not given are cleared (``impair("h1-h2")`` removes them all), in
        both directions or only for traffic ``sender`` sends.  Any link can
        change, declared or not."""
        from pycoz_cli.core.net.topology import parse_impairment

        settings = parse_impairment(
            {k: None if v is None else str(v) for k, v in values.items()}, "impair(): "
        )
        from pycoz_cli.core.net.topology import link_end

        found = self.topology.link(link.replace(">", "-"))
        ends = [found.a, found.b]
        if sender is not None:
            ends = [end for end in [link_end(found, sender)] if end]
            if not ends:
                raise SpecError(f"impair(): sender {sender!r} is not an end of link {link}")
        for end in ends:
            self._network.set_impairment(found, end, settings)

    def describe(self) -> str:
        """Hosts, interfaces with addresses, routes, links and their impairments."""
        return describe(self.topology)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "up"
        return f"<pycoz Network {self.name} ({state}): {', '.join(self.hosts)}>"


def describe(topo) -> str:
    """A topology as ``pycoz net show`` prints it."""
    lines = [f"topology {topo.name}"]
    for node in topo.nodes.values():
        lines.append(f"  {node.kind} {node.name}")
        for iface in node.interfaces.values():
            addrs = " ".join(map(str, iface.addresses)) or "-"
            peer = f"{iface.peer[0]}:{iface.peer[1]}" if iface.peer else None
            if iface.kind == "vlan":
                peer = f"vlan {iface.vlan_id} on {iface.parent}"
            elif iface.kind == "vxlan":
                peer = f"vxlan {iface.vni} {iface.local} -> {iface.remote}:{iface.port}"
            mtu = f"  mtu {iface.mtu}" if iface.mtu else ""
            mac = f"  mac {iface.mac}" if iface.mac else ""
            lines.append(f"    {iface.name:<8} {addrs}  -> {peer}{mtu}{mac}")
        lines.extend(f"    route {route}" for route in node.routes)
        if getattr(node, "root", None) is not None:
            lines.append(f"    own root: {node.root.describe()}")
        if getattr(node, "uplink", False):
            lines.append(
                "    uplink0  10.0.2.100/24 (slirp4netns: the outside, default via 10.0.2.2)"
            )
    for link in topo.links:
        a, b = (f"{node}:{ifname}" for node, ifname in (link.a, link.b))
        lines.append(f"  link {a} <-> {b}" + (f" ({link.name})" if link.name else ""))
        for sender, receiver in ((link.a, b), (link.b, a)):
            impair = link.impair.get(sender)
            if impair:
                lines.append(f"    {sender[0]}:{sender[1]} -> {receiver}: {impair.describe()}")
    return "\n".join(lines)
