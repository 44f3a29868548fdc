"""The pytest plugin (pycoz_cli.pytest_plugin), tested as pytest plugins are: with
pytester running real inner test sessions that build real networks.

What an inner session made is found afterwards by a marker of this test's own in
the environment of every process it started (the inner test sets it first), and
by the network-namespace fds an in-process session leaves open.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

pytest_plugins = ["pytester"]

#: Inner tests find a real Python this way (pyenv shims fork wrappers).
PY = os.path.realpath(sys.executable)


def marked_processes(mark: str) -> list[str]:
    """Live processes whose environment carries ``P14MARK=<mark>``."""
    needle = f"P14MARK={mark}".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                if f.read().rpartition(")")[2].split()[0] == "Z":
                    continue
            with open(f"/proc/{name}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    with open(f"/proc/{name}/cmdline", "rb") as c:
                        cmdline = c.read().replace(b"\0", b" ").decode()
                    found.append(f"{name} {cmdline}")
        except OSError:
            continue
    return found


def netns_fds() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("net:["):
                count += 1
        except OSError:
            continue
    return count


@pytest.fixture
def mark(monkeypatch):
    return uuid.uuid4().hex


def inner(source: str, mark: str) -> str:
    """An inner test module: PY, MARK and a ``marked`` fixture that sets the
    marker in the environment every pycoz process inherits."""
    head = f"""
        import os, signal, subprocess, sys, time
        import pytest
        PY = {PY!r}
        MARK = {mark!r}
        SERVER = ("import socket, sys\\n"
                  "s = socket.socket(socket.AF_INET6)\\n"
                  "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\\n"
                  "s.bind(('::', 7000)); s.listen(8); print('ready', flush=True)\\n"
                  "while True:\\n"
                  "    c, _ = s.accept(); c.sendall(c.recv(100).upper()); c.close()\\n")
        CLIENT = ("import socket, sys\\n"
                  "c = socket.create_connection((sys.argv[1], 7000), timeout=5)\\n"
                  "c.sendall(b'hello'); print(c.recv(100).decode())\\n")

        @pytest.fixture(autouse=True)
        def marked(monkeypatch):
            monkeypatch.setenv("P14MARK", MARK)
    """
    return textwrap.dedent(head) + textwrap.dedent(source)


def test_outcomes_each_leave_nothing_behind(pytester, mark):
    """Passing, failing, erroring and timing-out tests, each with a network,
    a server left running and a relay (impaired link): nothing remains."""
    pytester.makepyfile(
        inner(
            """
            def start(net):
                server = net["h2"].spawn([PY, "-c", SERVER], stdout=subprocess.PIPE, text=True)
                assert server.stdout.readline() == "ready\\n"
                return server

            def test_passes(pycoz_network):
                net = pycoz_network("pair", impair={"h1-h2": {"delay": "1ms"}})
                start(net)
                out = net["h1"].run([PY, "-c", CLIENT, "h2"], capture_output=True, text=True)
                assert out.stdout == "HELLO\\n"

            def test_fails(pycoz_network):
                net = pycoz_network("pair", impair={"h1-h2": {"delay": "1ms"}})
                start(net)
                net["h1"].spawn(["sleep", "600"])
                assert False, "on purpose"

            @pytest.fixture
            def broken(pycoz_network):
                start(pycoz_network("pair"))
                raise RuntimeError("fixture broke on purpose")

            def test_errors(broken):
                pass

            def test_times_out(pycoz_net):
                start(pycoz_net)
                pycoz_net["h1"].run(["sleep", "600"], timeout=0.3)
            """,
            mark,
        )
    )
    before = netns_fds()
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2, errors=1)
    result.stdout.fnmatch_lines(["*TimeoutExpired*"])
    assert marked_processes(mark) == []
    assert netns_fds() == before


@pytest.mark.parametrize("method", ["signal", "thread"])
def test_pytest_timeout_leaves_nothing_behind(pytester, mark, method):
    """pytest-timeout's signal method fails the test and tears down as usual; its
    thread method ends pytest at once (os._exit): then the kernel's lifetimes
    (parent-death signals, fds) end the containers, relay and namespaces."""
    pytester.makepyfile(
        inner(
            f"""
            @pytest.mark.timeout(1, method={method!r})
            def test_hangs(pycoz_network):
                net = pycoz_network("dualstack", impair={{"client-r1": {{"delay": "1ms"}}}})
                server = net["server"].spawn([PY, "-c", SERVER], stdout=subprocess.PIPE, text=True)
                assert server.stdout.readline() == "ready\\n"
                net["client"].run(["sleep", "600"])
            """,
            mark,
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.stdout.fnmatch_lines(["*Timeout*"])
    for _ in range(50):  # a parent-death signal is delivered as the parent exits
        if not marked_processes(mark):
            break
        time.sleep(0.1)
    assert marked_processes(mark) == []


def test_failure_report_has_topology_trace_and_commands(pytester, mark):
    pytester.makepyfile(
        inner(
            """
            def test_client(pycoz_network, pycoz_tracer):
                net = pycoz_network("dualstack", impair={"client-r1": {"delay": "5ms"}})
                server = pycoz_tracer(net["server"], "trace=bind,listen").spawn(
                    [PY, "-c", SERVER], stdout=subprocess.PIPE, text=True)
                assert server.stdout.readline() == "ready\\n"
                client = pycoz_tracer(net["client"], "trace=connect")
                out = client.run([PY, "-c", CLIENT, "server"], capture_output=True, text=True)
                assert out.stdout == "HELLO\\n"
                assert pycoz_tracer.calls("connect")[-1].errno == "EINPROGRESS"
                net["client"].run(["sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"],
                                  capture_output=True)
                assert False, "look at the report"
            """,
            mark,
        )
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- pycoz topology dualstack -*",
            "topology dualstack",
            "*client:eth0 -> r1:eth0: delay 5ms",
            "*- pycoz trace: server pid * (still running): *python* -c *",
            "*bind(3, {sa_family=AF_INET6, sin6_port=htons(7000)*, 28) = 0",
            "*listen(3, 8) = 0",
            "*- pycoz trace: client pid *: *python* -c *",
            "*connect(3, {sa_family=AF_INET6, sin6_port=htons(7000), *2001:db8:0:1::2*",
            "*- pycoz commands -*",
            "[[]server] $ *python* -c *  -> running",
            "[[]client] $ sh -c * -> exit 3",
            "  stdout:",
            "    to-stdout",
            "  stderr:",
            "    to-stderr",
        ]
    )
    assert marked_processes(mark) == []


def test_passing_test_report_has_no_sections(pytester, mark):
    pytester.makepyfile(
        inner(
            """
            def test_ok(pycoz_net):
                assert pycoz_net["h1"].run(["true"]).returncode == 0
            """,
            mark,
        )
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=1)
    assert "pycoz topology" not in result.stdout.str()


def test_marker_runs_each_topology_as_its_own_test(pytester, mark):
    pytester.makepyfile(
        inner(
            """
            @pytest.mark.pycoz_topologies("dualstack", "v6rejected", "v6dropped")
            def test_v6(pycoz_net):
                code = pycoz_net["client"].run(
                    [PY, "-c", "import socket; s = socket.socket(socket.AF_INET6); "
                     "s.settimeout(0.5); print(s.connect_ex(('2001:db8:0:1::2', 9)))"],
                    capture_output=True, text=True).stdout.strip()
                # refused by the server / reset by r1, at once / no answer (EAGAIN)
                expected = {"dualstack": {"111"}, "v6rejected": {"111"}, "v6dropped": {"11"}}
                assert code in expected[pycoz_net.name]

            @pytest.mark.parametrize("pycoz_net", ["pair", "star:hosts=3"], indirect=True)
            def test_indirect(pycoz_net):
                assert pycoz_net["h2"].run(["hostname"], capture_output=True).stdout == b"h2\\n"

            @pytest.mark.pycoz_topologies("pair", impair={"h1-h2": {"delay": "30ms"}})
            def test_marker_impairs(pycoz_net):
                assert "delay 30ms" in pycoz_net.describe()
            """,
            mark,
        )
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines_random(
        [
            "*test_v6[[]dualstack] PASSED*",
            "*test_v6[[]v6rejected] PASSED*",
            "*test_v6[[]v6dropped] PASSED*",
            "*test_indirect[[]pair] PASSED*",
            "*test_indirect[[]star:hosts=3] PASSED*",
        ]
    )


def test_session_networks_outlive_tests_and_show_in_their_reports(pytester, mark):
    pytester.makepyfile(
        inner(
            """
            @pytest.fixture(scope="session")
            def lab(pycoz_network_factory):
                net = pycoz_network_factory("star:hosts=3")
                server = net["h1"].spawn([PY, "-c", SERVER], stdout=subprocess.PIPE, text=True)
                assert server.stdout.readline() == "ready\\n"
                return net

            @pytest.fixture(scope="session", autouse=True)
            def session_marked():
                os.environ["P14MARK"] = MARK  # the session's server carries it too
                yield
                del os.environ["P14MARK"]

            def test_first(lab):
                out = lab["h2"].run([PY, "-c", CLIENT, "h1"], capture_output=True, text=True)
                assert out.stdout == "HELLO\\n"

            def test_second_fails(lab):
                lab["h3"].run(["echo", "from-h3"], capture_output=True)
                assert False

            def test_third_still_has_the_server(lab):
                out = lab["h3"].run([PY, "-c", CLIENT, "h1"], capture_output=True, text=True)
                assert out.stdout == "HELLO\\n"
            """,
            mark,
        )
    )
    before = netns_fds()
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*- pycoz commands -*", "[[]h3] $ echo from-h3  -> exit 0"])
    assert "[h2]" not in result.stdout.str()  # only the failing test's own commands
    assert marked_processes(mark) == []
    assert netns_fds() == before


def test_bad_topology_fails_at_setup_in_one_line(pytester, mark):
    pytester.makefile(".toml", broken="[hosts.a\n")
    pytester.makepyfile(
        inner(
            """
            @pytest.mark.pycoz_topologies("nosuch")
            def test_unknown(pycoz_net):
                pass

            @pytest.mark.pycoz_topologies("broken.toml")
            def test_unparsable(pycoz_net):
                pass

            def test_factory(pycoz_network):
                pycoz_network("star:hosts=0")
            """,
            mark,
        )
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=2, failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines_random(
        [
            "pycoz: unknown topology 'nosuch'; known: *",
            "pycoz: broken.toml:*",
            "pycoz: star: hosts=0: use 1 to 1023*",
            "ERROR *test_unknown*",
            "ERROR *test_unparsable*",
            "FAILED *test_factory*",
        ]
    )
    assert "Traceback" not in out and "pycoz_cli/" not in out


def test_misused_fixtures_say_what_to_write(pytester, mark):
    pytester.makepyfile(
        inner(
            """
            @pytest.mark.pycoz_topologies("pair")
            def test_marker_without_fixture():
                pass
            """,
            mark,
        ),
        test_more=inner(
            """
            def test_calls_the_built_network(pycoz_net):
                pycoz_net("dualstack")

            def test_runs_on_the_factory(pycoz_container):
                pycoz_container.run(["true"])

            @pytest.fixture(scope="module")
            def shared(pycoz_network):
                return pycoz_network("pair")

            def test_wrong_scope(shared):
                pass

            @pytest.fixture(scope="module")
            def shared_right(pycoz_network_factory):
                return pycoz_network_factory("pair")

            def test_right_scope(shared_right):
                assert shared_right["h1"].run(["true"]).returncode == 0
            """,
            mark,
        ),
    )
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "--continue-on-collection-errors"
    )
    result.stdout.fnmatch_lines_random(
        [
            "*test_marker_without_fixture: @pytest.mark.pycoz_topologies builds its topologies "
            "as the pycoz_net fixture: add pycoz_net to the test's arguments*",
            "*pycoz_net is the test's network, built already (pair); to build a network of "
            "your own, ask for the pycoz_network fixture: net = pycoz_network('pair')",
            "*pycoz_container is a factory: box = pycoz_container(hostname='box'); "
            "then box.run([[]...])",
            "pycoz: pycoz_network is function-scoped; in a fixture of wider scope use "
            "pycoz_network_factory (session-scoped)",
        ]
    )
    result.assert_outcomes(passed=1, failed=2, errors=2)
    assert marked_processes(mark) == []


def test_artifacts_keep_traces_per_test_id(pytester, mark, tmp_path):
    pytester.makepyfile(
        inner(
            """
            @pytest.mark.pycoz_topologies("dualstack", "v6rejected")
            def test_traced(pycoz_net, pycoz_tracer):
                client = pycoz_tracer(pycoz_net["client"], "trace=connect")
                client.run([PY, "-c", "import socket; socket.socket().connect_ex(('server', 9))"])
            """,
            mark,
        )
    )
    artifacts = tmp_path / "artifacts"
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", f"--pycoz-artifacts={artifacts}"
    )
    result.assert_outcomes(passed=2)
    dirs = sorted(p.name for p in artifacts.iterdir())
    assert dirs == [
        "test_artifacts_keep_traces_per_test_id.py_test_traced_dualstack",
        "test_artifacts_keep_traces_per_test_id.py_test_traced_v6rejected",
    ]
    for name in dirs:
        files = sorted(p.name for p in (artifacts / name).iterdir())
        assert files == [
            "000-client.jsonl",
            "000-client.strace",
            "commands.txt",
            f"topology-{name.rsplit('_', 1)[1]}.txt",
        ]
        assert "connect(" in (artifacts / name / "000-client.strace").read_text()
        assert '"syscall": "connect"' in (artifacts / name / "000-client.jsonl").read_text()


def test_plugin_is_off_with_p_no_pycoz(pytester):
    pytester.makepyfile("def test_x(pycoz_net):\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:pycoz")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'pycoz_net' not found*"])


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]


@pytest.fixture
def nobody_dir():
    """A directory user nobody can use (pytester's is under root's private
    /tmp/pytest-of-root); skips where nobody cannot run this environment's Python."""
    import shutil
    import tempfile

    probe = subprocess.run(
        [*NOBODY, sys.executable, "-c", "import pycoz_cli.pytest_plugin"],
        capture_output=True,
        text=True,
        cwd="/",
    )
    if probe.returncode != 0:  # e.g. the checkout is under root's private home
        pytest.skip(f"user nobody cannot run this environment's Python: {probe.stderr[-200:]}")
    here = tempfile.mkdtemp(prefix="pycoz-nobody-")
    os.chmod(here, 0o777)
    yield here
    shutil.rmtree(here)


def in_userns_without_userns(argv, cwd) -> subprocess.CompletedProcess:
    """Run ``argv`` as nobody in a user namespace of the test's own (root and
    nobody mapped) whose user.max_user_namespaces is 0: an ordinary user on a
    machine that allows no user namespaces (the setting is per user namespace,
    so the machine's own is untouched)."""
    # sh was exec'd before its uid was mapped, so without capabilities: once
    # mapped, it execs again (as uid 0 of the namespace) to get them.
    inside = f'echo 0 > /proc/sys/user/max_user_namespaces && exec {" ".join(NOBODY)} "$@"'
    script = f"read go && exec sh -c '{inside}' sh \"$@\""
    proc = subprocess.Popen(
        ["unshare", "--user", "sh", "-c", script, "sh", *argv],
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    own = os.readlink("/proc/self/ns/user")
    deadline = time.monotonic() + 10
    while os.readlink(f"/proc/{proc.pid}/ns/user") == own and time.monotonic() < deadline:
        time.sleep(0.005)
    for name in ("uid_map", "gid_map"):
        with open(f"/proc/{proc.pid}/{name}", "w") as f:
            f.write("0 0 1\n65534 65534 1\n")
    out, err = proc.communicate("go\n", timeout=120)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


@pytest.mark.parametrize(("option", "outcome"), [((), "skipped"), (("--pycoz-require",), "error")])
def test_machine_that_cannot_run_it_skips_or_errors(nobody_dir, option, outcome):
    with open(f"{nobody_dir}/test_x.py", "w") as f:
        f.write("def test_x(pycoz_net):\n    pass\n")
    result = in_userns_without_userns(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", *option], nobody_dir
    )
    assert f"1 {outcome}" in result.stdout, result.stdout + result.stderr
    # pycoz's own line, naming the setting that stops it
    assert "pycoz: not root, and rootless mode: unshare(CLONE_NEWUSER) failed" in result.stdout
    assert "user.max_user_namespaces=0" in result.stdout


def test_an_ordinary_user_runs_it_rootless(nobody_dir, mark):
    """Not root, user namespaces allowed: the fixtures work (pycoz's rootless mode)."""
    with open(f"{nobody_dir}/test_x.py", "w") as f:
        f.write(
            inner(
                """
                def test_x(pycoz_net, pycoz_container):
                    r = pycoz_net["h1"].run(["ping", "-c1", "-W5", "h2"], capture_output=True)
                    assert r.returncode == 0, r.stderr
                    box = pycoz_container(hostname="box")
                    assert box.run(["hostname"], capture_output=True).stdout == b"box\\n"
                """,
                mark,
            )
        )
    result = subprocess.run(
        [*NOBODY, sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs"],
        cwd=nobody_dir,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": nobody_dir},
    )
    assert "1 passed" in result.stdout, result.stdout + result.stderr
    assert marked_processes(mark) == []


def test_ctrl_c_leaves_nothing_behind(pytester, mark):
    pytester.makepyfile(
        inner(
            """
            def test_interrupted(pycoz_network):
                net = pycoz_network("dualstack", impair={"client-r1": {"loss": "1%"}})
                server = net["server"].spawn([PY, "-c", SERVER], stdout=subprocess.PIPE, text=True)
                assert server.stdout.readline() == "ready\\n"
                net["client"].spawn(["sleep", "600"])
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(30)
            """,
            mark,
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.stdout.fnmatch_lines(["*KeyboardInterrupt*"])
    assert marked_processes(mark) == []


def test_xdist_hundred_tests_no_collision(pytester, mark):
    pytester.makepyfile(
        inner(
            """
            @pytest.mark.parametrize("n", range(100))
            def test_pair(pycoz_network, n):
                net = pycoz_network("pair")
                server = net["h2"].spawn([PY, "-c", SERVER], stdout=subprocess.PIPE, text=True)
                assert server.stdout.readline() == "ready\\n"
                out = net["h1"].run([PY, "-c", CLIENT, "h2"], capture_output=True, text=True,
                                    timeout=30)
                assert out.stdout == "HELLO\\n", out.stderr
            """,
            mark,
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "4", timeout=600)
    result.assert_outcomes(passed=100)
    assert marked_processes(mark) == []
