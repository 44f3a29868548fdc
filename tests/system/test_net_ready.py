"""Topologies that start ready: host commands declare what "ready" means (a port,
a file, a check command), and the user's command runs only once every host is."""

import subprocess
import sys
import textwrap
import time

import pytest

from pycoz_cli.core.net.topology import Topology

from .helpers import mentioning
from .test_net_files import leftovers

#: An HTTP server that needs DELAY seconds before it listens, and writes READY
#: (if given) only once it does: what a slow real server does.
SLOW_SERVER = textwrap.dedent(
    """
    import http.server, os, socket, sys, time
    delay, port, ready = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    time.sleep(delay)
    class Server(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6
        def server_bind(self):
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            super().server_bind()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    server = Server(("::", port), Quiet)
    if ready:
        open(ready[0], "w").close()
    server.serve_forever()
    """
)


def lab(tmp_path, ready: str, delay: float = 1.0, timeout: str = "10s", name="lab.toml"):
    """client and server on one link; the server starts listening on port 80
    after ``delay`` seconds, and is declared ready by ``ready`` (TOML)."""
    server = tmp_path / "server.py"
    server.write_text(SLOW_SERVER)
    (tmp_path / "index.html").write_text("hello\n")
    path = tmp_path / name
    check = f', ready = {ready}, timeout = "{timeout}"' if ready else ""
    ready_file = tmp_path / "ready"
    path.write_text(
        textwrap.dedent(
            f"""
            [hosts.client]
            [hosts.server]
            commands = [
              {{ run = ["{sys.executable}", "{server}", "{delay}", "80", "{ready_file}"]{check} }},
            ]
            [[links]]
            a = "client"
            b = "server"
            a_addresses = ["198.18.9.1/24", "2001:db8:9::1/64"]
            b_addresses = ["198.18.9.2/24", "2001:db8:9::2/64"]
            """
        )
    )
    return path


CURL = ["curl", "-sS", "--max-time", "5", "http://server/"]
READY_CHECKS = {
    "tcp": '"tcp:80"',
    "file": '"file:{tmp}/ready"',
    "cmd": '"cmd:curl -sf -o /dev/null http://localhost/"',
    "argv": '["curl", "-sf", "-o", "/dev/null", "http://[::1]/"]',
}


def test_a_slow_server_is_ready_before_the_client_runs_every_time(pycoz_bin, tmp_path):
    """A server that needs 1 s to listen: `net run lab.toml -- curl http://server/`
    passes 10 times out of 10, whichever check declares it ready (two at a time)."""
    kinds = [*READY_CHECKS] * 3
    runs = []
    for i, kind in enumerate(kinds[:10]):
        where = tmp_path / f"{i}"
        where.mkdir()
        path = lab(where, READY_CHECKS[kind].format(tmp=where))
        runs.append((kind, path))
    results = []
    for pair in (runs[i : i + 2] for i in range(0, len(runs), 2)):
        procs = [
            (
                kind,
                time.monotonic(),
                subprocess.Popen(
                    [pycoz_bin, "net", "run", str(path), "--host", "client", "--", *CURL],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
            for kind, path in pair
        ]
        for kind, started, proc in procs:
            out, err = proc.communicate(timeout=60)
            results.append((kind, proc.returncode, out, err, time.monotonic() - started))
    assert [(k, code, out, err) for k, code, out, err, _ in results] == [
        (k, 0, "hello\n", "") for k, *_ in results
    ]
    assert all(seconds >= 1.0 for *_, seconds in results), results  # it did wait


def test_without_a_readiness_check_the_client_races_the_server(pycoz, tmp_path):
    """The same file with no ready: the client runs at once and is refused."""
    path = lab(tmp_path, None)
    r = pycoz("net", "run", str(path), "--host", "client", "--", "curl", "-sS", "http://server/")
    assert r.returncode == 7, r  # curl: failed to connect
    assert "Connection refused" in r.stderr or "Couldn't connect" in r.stderr, r


@pytest.mark.parametrize(
    "kind, why",
    [
        ("tcp", "nothing listens on tcp port 80"),
        ("file", "no {tmp}/ready"),
        ("cmd", "the check has not succeeded"),
    ],
)
def test_a_check_that_times_out_names_host_and_check_and_exits_124(
    pycoz, tmp_path, unique, kind, why
):
    path = lab(tmp_path, READY_CHECKS[kind].format(tmp=tmp_path), delay=30, timeout="500ms")
    marker = str(path.parent / "server.py")
    check = READY_CHECKS[kind].format(tmp=tmp_path).strip('"')
    for args in (["run", str(path), "--", "true"], ["up", str(path), "--name", unique]):
        r = pycoz("net", *args, timeout=30)
        assert r.returncode == 124, r
        assert r.stderr == (
            f"pycoz net {args[0]}: {path}:5: hosts.server.commands[0]: not ready after 0.5s: "
            f'{why.format(tmp=tmp_path)} (ready = "{check}")\n'
        )
        assert mentioning(marker) == []  # the server was stopped
    assert leftovers(unique) == []


def test_a_check_command_that_cannot_run_is_named_and_exits_125(pycoz, tmp_path):
    path = lab(tmp_path, '["nosuchprogram"]')
    r = pycoz("net", "run", str(path), "--", "true", timeout=30)
    assert r.returncode == 125, r
    assert r.stderr == (
        f"pycoz net run: {path}:5: hosts.server.commands[0]: "
        'ready = "cmd:nosuchprogram": nosuchprogram: command not found in the container\n'
    )


def test_the_api_topology_declares_readiness(tmp_path):
    from pycoz_cli.api import Network
    from pycoz_cli.errors import NotReady, SpecError

    (tmp_path / "server.py").write_text(SLOW_SERVER)
    (tmp_path / "index.html").write_text("hello\n")
    topo = Topology("api-ready")
    topo.add_node("client")
    topo.add_node("server")
    topo.connect("client", "server", ["198.18.9.1/24"], ["198.18.9.2/24"])
    serve = [sys.executable, str(tmp_path / "server.py"), "1", "80", str(tmp_path / "ready")]
    topo.nodes["server"].add_command(serve, ready=f"file:{tmp_path}/ready", timeout=10)
    with Network(topo) as net:
        r = net["client"].run(["curl", "-sS", "http://server/"], capture_output=True, text=True)
    assert (r.returncode, r.stdout) == (0, "hello\n"), r.stderr

    topo.nodes["server"].commands.clear()
    topo.nodes["server"].command_specs.clear()
    topo.nodes["server"].add_command(["sleep", "30"], ready="udp:5353", timeout=0.3)
    with pytest.raises(NotReady, match=r"server.commands\[0\]: not ready after 0.3s"):
        Network(topo)
    with pytest.raises(SpecError, match=r"server.commands\[1\]: 'udp:x': use "):
        topo.nodes["server"].add_command(["true"], ready="udp:x")


@pytest.mark.parametrize("how", ["root --net", "net up"])
def test_root_net_and_up_also_wait_for_readiness(pycoz, tmp_path, unique, how):
    path = lab(tmp_path, READY_CHECKS["cmd"])
    if how == "root --net":
        r = pycoz("root", "--net", str(path), "--host", "client", "--", *CURL)
    else:
        try:
            assert pycoz("net", "up", str(path), "--name", unique).returncode == 0
            r = pycoz("net", "exec", unique, "client", "--", *CURL)
        finally:
            assert pycoz("net", "down", unique).returncode == 0
    assert (r.returncode, r.stdout) == (0, "hello\n"), r.stderr
