"""pytest plugin: throwaway networks, containers and traces as fixtures.

Registered under the ``pytest11`` entry point as ``pycoz`` (active wherever
pycoz is installed; ``-p no:pycoz`` turns it off).  Fixtures:

* ``pycoz_network``: a factory, ``net = pycoz_network("dualstack", impair=...)``
  (an ``api.Network``), torn down when the test ends;
* ``pycoz_network_factory``: the same, session-scoped (as ``tmp_path_factory``
  is to ``tmp_path``), for session- or module-scoped fixtures;
* ``pycoz_net``: the test's network: the topology of ``@pytest.mark.pycoz_topologies``
  (one test id per topology), of indirect parametrization, or ``pair``;
* ``pycoz_container``: a factory of throwaway containers (``api.Host``);
* ``pycoz_tracer``: traces the commands run on a host, and keeps their events;
* ``pycoz_dists``: throwaway plugin distributions (``pycoz_cli.testing.Dists``)
  in the test's temporary directory, for testing a pycoz plugin's failure cases.

Whatever a test made is torn down whether it passes, fails, errors, times out or
is interrupted: networks are held by file descriptors, containers die with their
init, and the test's teardown kills what still runs.  Nothing is named, so
``pytest -n auto`` never collides.  A failing test's report gets the topology,
the last lines of each traced process's trace, and the commands run with their
output; ``--pycoz-artifacts DIR`` keeps every test's traces (strace text and
JSON lines) in DIR/<test id>/.

This module imports only pytest at start-up: pycoz's core is loaded by the
first fixture that needs it.
"""

from __future__ import annotations

import os
import re

import pytest

TOPOLOGY_MARKER = "pycoz_topologies"
#: Lines of each traced process shown in a failure report.
TRACE_TAIL = 20
#: Processes per traced command shown in a failure report (the last ones).
TRACED_PROCESSES = 8
#: Characters of a command line shown in a report (one line, cut in the middle).
ARGV_WIDTH = 160
#: Characters of each command's output shown in a failure report.
OUTPUT_TAIL = 2000

_RECORD = pytest.StashKey["_Record"]()
_CURRENT: list = [None]  # the running test's _Record (commands on session networks)


def pytest_addoption(parser):
    group = parser.getgroup("pycoz", "pycoz: throwaway networks and containers")
    group.addoption(
        "--pycoz-artifacts",
        metavar="DIR",
        default=None,
        help="keep each test's traces (strace text and JSON lines), topology and "
        "commands in DIR/<test id>/",
    )
    group.addoption(
        "--pycoz-require",
        action="store_true",
        default=False,
        help="fail (instead of skip) the tests that need pycoz when this machine "
        "cannot run it (not root and no user namespaces, no overlayfs)",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        f"{TOPOLOGY_MARKER}(*topologies, impair=None): run the test once per topology "
        "(a separate test id each), with the network as the pycoz_net fixture",
    )


def pytest_generate_tests(metafunc):
    marker = metafunc.definition.get_closest_marker(TOPOLOGY_MARKER)
    if marker is None:
        return
    name = metafunc.definition.name
    if "pycoz_net" not in metafunc.fixturenames:
        pytest.fail(
            f"{name}: @pytest.mark.{TOPOLOGY_MARKER} builds its topologies as the pycoz_net "
            f"fixture: add pycoz_net to the test's arguments (def {name}(pycoz_net): ...)",
            pytrace=False,
        )
    topologies = list(marker.args)
    if not topologies or not all(isinstance(t, (str, os.PathLike)) for t in topologies):
        pytest.fail(
            f"{name}: @pytest.mark.{TOPOLOGY_MARKER} takes topology names or files: "
            f'@pytest.mark.{TOPOLOGY_MARKER}("dualstack", "v6rejected", "v6dropped")',
            pytrace=False,
        )
    ids = [os.path.basename(os.fspath(t)).removesuffix(".toml") for t in topologies]
    metafunc.parametrize("pycoz_net", topologies, indirect=True, ids=ids)


def pytest_sessionfinish(session):
    # The API's spawn helper (core.spawner) is this process's child: ended with
    # the session, not left for the interpreter's exit.
    import sys

    spawner = sys.modules.get("pycoz_cli.core.spawner")
    if spawner is not None:
        spawner.stop()


# --- what a test made ----------------------------------------------------------------


class _Record:
    """What pycoz made or ran for one test (or the session), for teardown and report.

    ``owned`` processes and ``networks`` are ended at teardown; ``shown`` ones
    (commands run on a session network during the test) are only reported.
    """

    def __init__(self, nodeid: str, artifacts: str | None):
        self.nodeid = nodeid
        self.networks: list = []
        self.owned: list = []
        self.shown: list = []
        self.artifacts = artifacts
        self.finalized = False
        self._made_dir = False

    @property
    def trace_dir(self) -> str | None:
        if self.artifacts is None:
            return None
        if not self._made_dir:
            os.makedirs(self.artifacts, exist_ok=True)
            self._made_dir = True
        return self.artifacts

    @property
    def processes(self) -> list:
        return self.owned + [p for p in self.shown if p not in self.owned]

    def teardown(self) -> None:
        for proc in self.owned:
            if proc.returncode is None:
                proc.kill()  # the container's init: its whole pid namespace goes
                proc.wait()
                proc.killed_at_teardown = True
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:
                        pass
        for net in self.networks:
            net.close()

    # --- the report ------------------------------------------------------------------

    def sections(self) -> list[tuple[str, str]]:
        out = []
        for net in self.networks:
            out.append((f"pycoz topology {net.name}", net.describe()))
        for proc in self.processes:
            trace = proc.trace_so_far()
            if trace is None:
                continue
            # The processes that made traced calls (not every shell a wrapper forked).
            pids = [pid for pid in trace.pids if trace.calls(pid=pid)] or trace.pids[-1:]
            for pid in pids[-TRACED_PROCESSES:]:
                lines = trace.lines(pid)
                tail = lines[-TRACE_TAIL:]
                cut = f" (last {len(tail)} of {len(lines)} lines)" if len(lines) > len(tail) else ""
                running = " (still running)" if proc.returncode is None else ""
                title = f"pycoz trace: {proc.host} pid {pid}{cut}{running}: {_argv_text(proc.args)}"
                out.append((title, "\n".join(tail)))
        if self.processes:
            out.append(("pycoz commands", "\n".join(self.command_lines(OUTPUT_TAIL))))
        return out

    def command_lines(self, limit: int | None) -> list[str]:
        lines = []
        for proc in self.processes:
            if getattr(proc, "killed_at_teardown", False):
                status = "still running at teardown: killed"
            elif proc.returncode is None:
                status = "running"
            else:
                status = f"exit {proc.returncode}"
            lines.append(f"[{proc.host}] $ {_argv_text(proc.args)}  -> {status}")
            for label, data in zip(("stdout", "stderr"), proc.output, strict=True):
                if data:
                    text = data if isinstance(data, str) else data.decode(errors="replace")
                    if limit is not None and len(text) > limit:
                        text = "..." + text[-limit:]
                    lines.append(f"  {label}:")
                    lines.extend(f"    {line}" for line in text.rstrip("\n").splitlines())
        return lines

    def write_artifacts(self) -> None:
        directory = self.trace_dir
        for net in self.networks:
            _write(f"{directory}/topology-{net.name.replace(':', '_')}.txt", net.describe())
        _write(f"{directory}/commands.txt", "\n".join(self.command_lines(None)))
        for n, proc in enumerate(self.processes):
            trace = proc.trace
            if trace is None or trace.path is None:
                continue
            base = f"{directory}/{n:03d}-{proc.host}"
            os.replace(trace.path, f"{base}.jsonl")
            trace.path = f"{base}.jsonl"
            _write(f"{base}.strace", "\n".join(trace.lines()))


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text + ("\n" if text else ""))


def _argv_text(args) -> str:
    import shlex

    if isinstance(args, (str, bytes, os.PathLike)):
        args = [args]
    text = " ".join(shlex.quote(os.fsdecode(a)) for a in args).replace("\n", "\\n")
    return text if len(text) <= ARGV_WIDTH else text[: ARGV_WIDTH - 3] + "..."


def _test_dir_name(nodeid: str) -> str:
    """A directory name for a test id, unique per test (so xdist workers never
    share one): the id's safe characters, and a digest of the id when it is too
    long to be a file name."""
    name = re.sub(r"[^A-Za-z0-9_.=+-]+", "_", nodeid).strip("_")
    if len(name) > 200:
        import hashlib

        name = f"{name[:180]}-{hashlib.sha1(nodeid.encode()).hexdigest()[:10]}"
    return name or "test"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    base = item.config.getoption("pycoz_artifacts")
    artifacts = None
    if base is not None:
        artifacts = os.path.join(os.path.abspath(base), _test_dir_name(item.nodeid))
    record = item.stash[_RECORD] = _Record(item.nodeid, artifacts)
    _CURRENT[0] = record
    try:
        return (yield)
    finally:
        _CURRENT[0] = None
        if artifacts is not None and (record.processes or record.networks):
            record.write_artifacts()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    record = item.stash.get(_RECORD, None)
    if report.failed and record is not None:
        try:
            report.sections.extend(record.sections())
        except Exception as err:  # pragma: no cover - the report must come out
            report.sections.append(("pycoz", f"could not describe what the test made: {err}"))
    if report.failed and call.when == "setup":
        _scope_hint(report)
    return report


_SCOPE_HINTS = {
    "pycoz_network": "pycoz_network_factory (session-scoped)",
    "pycoz_net": "pycoz_network_factory (session-scoped): net = pycoz_network_factory('pair')",
    "pycoz_container": "pycoz_cli.container(...) (a Host needs no fixture)",
    "pycoz_tracer": "the trace= argument of run()/spawn()",
}


def _scope_hint(report) -> None:
    text = str(report.longrepr)
    if "ScopeMismatch" not in text:
        return
    for name, instead in _SCOPE_HINTS.items():
        if f"function scoped fixture {name} " in text:
            hint = f"pycoz: {name} is function-scoped; in a fixture of wider scope use {instead}"
            report.sections.append(("pycoz", hint))
            if isinstance(report.longrepr, tuple):
                path, lineno, message = report.longrepr
                report.longrepr = (path, lineno, f"{message}\n{hint}")
            elif isinstance(report.longrepr, str):
                report.longrepr = f"{report.longrepr}\n{hint}"
            return


# --- can this machine run it? --------------------------------------------------------

_READY: dict = {}


def machine_problem(overlay: bool = False) -> str | None:
    """Why this machine cannot run pycoz (None: it can)."""
    key = "overlay" if overlay else "net"
    if key not in _READY:
        _READY[key] = _problem(overlay)
    return _READY[key]


def _problem(overlay: bool) -> str | None:
    if not os.path.exists("/proc/self/ns/net") or not os.path.exists("/proc/self/ns/pid"):
        return "this kernel has no network or pid namespaces"
    if not _has_cap_sys_admin():
        # Not root: pycoz's rootless mode, a user namespace of its own that this
        # process enters (as pycoz does on first use); its refusal is one line
        # naming the setting that stops it.
        from pycoz_cli.core import userns
        from pycoz_cli.errors import PycozError

        try:
            userns.ensure()
        except PycozError as err:
            return f"not root, and {err}"
    if overlay and not _has_overlayfs():
        return "this kernel has no overlayfs (modprobe overlay)"
    return None


def _has_cap_sys_admin() -> bool:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) & (1 << 21))
    except OSError:
        pass
    return os.geteuid() == 0


def _has_overlayfs() -> bool:
    try:
        with open("/proc/filesystems") as f:
            if any(line.split()[-1] == "overlay" for line in f if line.strip()):
                return True
    except OSError:
        return False
    # Not loaded yet: the kernel loads the module on the first overlay mount,
    # which pycoz's first container makes; modules.builtin/modules.dep tell.
    release = os.uname().release
    for listing in ("modules.builtin", "modules.dep"):
        try:
            with open(f"/lib/modules/{release}/{listing}") as f:
                if any("/overlay.ko" in line for line in f):
                    return True
        except OSError:
            continue
    return False


def _require(config, overlay: bool = False) -> None:
    problem = machine_problem(overlay)
    if problem is None:
        return
    if config.getoption("pycoz_require"):
        pytest.fail(f"pycoz: {problem}", pytrace=False)
    pytest.skip(f"pycoz: {problem}")


# --- fixtures --------------------------------------------------------------------------


def _record(request) -> _Record:
    """The test's record, torn down with the test's pycoz fixtures."""
    item = request.node
    record = item.stash.get(_RECORD, None)
    if record is None:  # a test run without pytest_runtest_protocol (never by pytest)
        record = item.stash[_RECORD] = _Record(item.nodeid, None)
    if not record.finalized:
        record.finalized = True
        request.addfinalizer(record.teardown)
    return record


def _or_fail(make, *args, **kwargs):
    """``make(*args, **kwargs)``; a pycoz error fails the test with pycoz's one
    line, not a traceback (and outside the ``except`` block: no chain either)."""
    from pycoz_cli.errors import PycozError

    try:
        return make(*args, **kwargs)
    except PycozError as err:
        failure = err
    pytest.fail(f"pycoz: {failure}", pytrace=False)


_TEST_NETWORK: dict = {}


def _test_network_class():
    """api.Network, and a call on it that says which fixture builds networks
    (made once per api module: pytester's in-process runs re-import it)."""
    from pycoz_cli import api

    made = _TEST_NETWORK.get(api.Network)
    if made is None:

        class TestNetwork(api.Network):
            def __call__(self, *args, **kwargs):
                raise TypeError(
                    f"pycoz_net is the test's network, built already ({self.name}); "
                    "to build a network of your own, ask for the pycoz_network fixture: "
                    "net = pycoz_network('pair')"
                )

        made = _TEST_NETWORK[api.Network] = TestNetwork
    return made


def _current_trace_dir():
    record = _CURRENT[0]
    return record.trace_dir if record is not None else None


class NetworkFactory:
    """``pycoz_network(topology="pair", *, impair=None, **host_options)``: a
    built ``api.Network``, torn down at the end of the test (or, for
    ``pycoz_network_factory``, of the session)."""

    def __init__(self, config, owner: _Record, fixture: str):
        self._config = config
        #: The test's record (function scope), or the session's.
        self._owner = owner
        self._fixture = fixture

    def __call__(self, topology="pair", *, impair=None, **host_options):
        _require(self._config, overlay=bool(host_options.get("overlay")))
        owner = self._owner

        def spawned(proc):
            owner.owned.append(proc)
            current = _CURRENT[0]
            if current is not None and current is not owner:
                current.shown.append(proc)

        net = _or_fail(
            _test_network_class(),
            topology,
            impair=impair,
            trace_dir=_current_trace_dir,
            on_spawn=spawned,
            **host_options,
        )
        owner.networks.append(net)
        return net

    def __getattr__(self, name):
        if name in ("run", "spawn", "impair", "describe", "host"):
            raise AttributeError(
                f"{self._fixture} is a factory: build a network first, "
                f"net = {self._fixture}('pair'); then net['h1'].run([...])"
            )
        raise AttributeError(name)


class ContainerFactory:
    """``pycoz_container(**options)``: an ``api.Host`` for throwaway containers
    (``hostname``, ``binds``, ``base``, ``privileged``, ``memory``...); every
    command run on it is recorded for the test's report."""

    def __init__(self, config, record):
        self._config = config
        self._record = record

    def __call__(self, **options):
        from pycoz_cli import api

        _require(self._config, overlay=options.get("overlay", True))
        host = _or_fail(api.container, **options)
        host._trace_dir = _current_trace_dir
        host._on_spawn = self._record.owned.append
        return host

    def __getattr__(self, name):
        if name in ("run", "spawn", "check_output"):
            raise AttributeError(
                f"pycoz_container is a factory: box = pycoz_container(hostname='box'); "
                f"then box.{name}([...])"
            )
        raise AttributeError(name)


class Tracer:
    """``pycoz_tracer(host, *expressions)``: ``host`` (a network's host or a
    container) with every command traced (strace ``-e`` expressions; all calls
    when none).  ``pycoz_tracer.traces`` is every traced command's ``Trace``
    (of this test), ``events``/``calls(name)`` all their events together."""

    def __init__(self, record):
        self._record = record
        self._traced: list = []

    def __call__(self, host, *expressions: str):
        from pycoz_cli.api import Host

        if not hasattr(host, "container") or not hasattr(host, "spawn"):
            raise TypeError(
                "pycoz_tracer(host, *expressions) traces a host: pycoz_tracer(net['h1'], "
                f"'trace=%network') or pycoz_tracer(pycoz_container()); got {host!r}"
            )
        traced = Host(host.container, host.name, trace_dir=_current_trace_dir)
        inner = host._on_spawn

        def spawned(proc):
            self._traced.append(proc)
            if inner is not None:
                inner(proc)
            else:
                self._record.owned.append(proc)

        traced._on_spawn = spawned
        traced._default_trace = list(expressions)
        return traced

    @property
    def traces(self) -> list:
        return [p.trace for p in self._traced if p.trace is not None]

    @property
    def events(self) -> list:
        return [ev for trace in self.traces for ev in trace.events]

    def calls(self, *names: str) -> list:
        return [ev for trace in self.traces for ev in trace.calls(*names)]


@pytest.fixture(scope="session")
def pycoz_network_factory(request):
    """Session-scoped network factory (as ``tmp_path_factory``): networks built
    with it live until the session ends; commands run on them are shown in the
    report of the test that ran them."""
    session = _Record("session", None)
    yield NetworkFactory(request.config, session, "pycoz_network_factory")
    session.teardown()


@pytest.fixture
def pycoz_network(request):
    """Network factory: ``net = pycoz_network("dualstack", impair={"client-r1":
    {"delay": "50ms"}})``; every network is torn down when the test ends."""
    return NetworkFactory(request.config, _record(request), "pycoz_network")


@pytest.fixture
def pycoz_net(request, pycoz_network):
    """The test's network: the topology of ``@pytest.mark.pycoz_topologies``
    (one test id each) or of ``parametrize("pycoz_net", [...], indirect=True)``,
    else ``pair``; the marker's ``impair=`` applies to each."""
    topology = getattr(request, "param", "pair")
    marker = request.node.get_closest_marker(TOPOLOGY_MARKER)
    impair = marker.kwargs.get("impair") if marker is not None else None
    return pycoz_network(topology, impair=impair)


@pytest.fixture
def pycoz_container(request):
    """Container factory: ``box = pycoz_container(hostname="box")``, then
    ``box.run([...], capture_output=True)``: each command in a throwaway root."""
    return ContainerFactory(request.config, _record(request))


@pytest.fixture
def pycoz_tracer(request):
    """Traces commands: ``client = pycoz_tracer(net["client"], "trace=%network")``,
    ``client.run([...])``, then ``pycoz_tracer.calls("connect")``."""
    _require(request.config)
    return Tracer(_record(request))


@pytest.fixture
def pycoz_dists(tmp_path):
    """Throwaway plugin distributions: ``pycoz_dists.add(name, modules,
    entry_points)`` installs one (a dist-info on PYTHONPATH), ``pycoz_dists.run(
    "plugins")`` runs pycoz with them (``pycoz_cli.testing.Dists``)."""
    from pycoz_cli.testing import Dists

    root = tmp_path / "pycoz-dists"
    root.mkdir()
    return Dists(root)
