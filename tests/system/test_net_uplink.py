"""An opt-in uplink to the outside (slirp4netns: user-space NAT).

The "outside" here is a server this test starts on the machine's loopback:
slirp4netns maps 10.0.2.2 to the machine's 127.0.0.1, so no real address is ever
reached, and nothing on the machine (sysctls, firewall, routes) changes.
"""

import http.server
import json
import os
import signal
import subprocess
import textwrap
import threading
import time

import pytest

from pycoz_cli.core.net import named, topofile
from pycoz_cli.core.net.topology import Network

from .helpers import run_in

LAB = textwrap.dedent(
    """
    [hosts.h1]
    uplink = true
    [hosts.h2]
    [[links]]
    a = "h1"
    b = "h2"
    a_addresses = ["198.18.5.1/24"]
    b_addresses = ["198.18.5.2/24"]
    """
)


@pytest.fixture
def outside():
    """An HTTP server on the machine's 127.0.0.1 (a free port): its URL as seen
    through an uplink."""

    class Reply(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"outside\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Reply)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://10.0.2.2:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def lab(tmp_path):
    path = tmp_path / "lab.toml"
    path.write_text(LAB)
    return str(path)


def gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.02)
    return False


def test_a_host_with_an_uplink_reaches_the_outside_and_others_do_not(outside, tmp_path):
    topo = topofile.load(lab(tmp_path))
    with Network(topo) as net:
        net.start_commands()
        (slirp,) = net.uplinks
        code, out = run_in(net, "h1", f"curl -sS {outside}; ip -o -4 addr show uplink0; ip route")
        assert code == 0, out
        assert out.startswith("outside\n"), out
        assert "inet 10.0.2.100/24" in out and "default via 10.0.2.2 dev uplink0" in out, out
        code, out = run_in(net, "h2", f"curl -sS -m 2 {outside}")
        assert code == 7, out  # no uplink, no route: h2 stays inside
    assert gone(slirp.pid)


def test_slirp4netns_ends_when_pycoz_is_killed(pycoz_bin, outside, tmp_path):
    fetch_and_wait = f"curl -sS {outside} && sleep 60"
    run = subprocess.Popen(
        [pycoz_bin, "net", "run", lab(tmp_path), "--host", "h1", "--", "sh", "-c", fetch_and_wait],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert run.stdout.readline() == "outside\n"
        children = subprocess.run(
            ["pgrep", "-P", str(run.pid), "-x", "slirp4netns"], capture_output=True, text=True
        ).stdout.split()
        assert len(children) == 1, children
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
    assert gone(int(children[0]))


def test_a_named_topologys_uplink_lives_until_down(pycoz, outside, tmp_path, unique):
    try:
        r = pycoz("net", "up", lab(tmp_path), "--name", unique)
        assert r.returncode == 0, r.stderr
        with open(named.state_path(unique)) as f:
            (slirp,) = [c for c in json.load(f)["commands"] if c["index"] == "uplink"]
        r = pycoz("net", "exec", unique, "h1", "--", "curl", "-sS", outside)
        assert (r.returncode, r.stdout) == (0, "outside\n"), r.stderr
        # slirp4netns's sandbox unmounts what it can see: the topology's
        # namespaces, bound under /run/netns, must still be there.
        r = pycoz("net", "exec", unique, "h2", "--", "true")
        assert r.returncode == 0, r.stderr
        assert os.path.ismount(f"/run/netns/{unique}-h2")
    finally:
        down = pycoz("net", "down", unique)
    assert down.returncode == 0, down.stderr
    assert gone(slirp["pid"])


def test_without_slirp4netns_an_uplink_is_one_line(pycoz_bin, tmp_path):
    bare = tmp_path / "bin"
    bare.mkdir()
    r = subprocess.run(
        [pycoz_bin, "net", "run", lab(tmp_path), "--", "true"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": str(bare)},
    )
    assert r.returncode == 125
    assert r.stderr == (
        "pycoz net run: uplink: needs slirp4netns (user-space NAT, as rootless podman uses), "
        "which is not installed (apt-get install slirp4netns)\n"
    )
