"""What real clients see in the dual-stack built-ins: which family they try first,
the errno of a refused IPv6 attempt, and when they fall back to IPv4.

The server is Python's http.server on both families, started as a host command
that the topology waits for; the clients (curl, and Python's socket and urllib)
resolve ``server`` from the topology's /etc/hosts, never from a resolver.
"""

import contextlib
import json
import sys

import pytest

from pycoz_cli.core.net.topology import CommandSpec, Network, resolve

from .helpers import run_in

#: Run in the client: the order getaddrinfo gives, the first address tried alone
#: (outcome, seconds), then socket.create_connection and urllib as programs use them.
PROBE = r"""
import errno, json, socket, sys, time, urllib.request
timeout = float(sys.argv[1])
out = {}
infos = socket.getaddrinfo("server", 8000, type=socket.SOCK_STREAM)
out["order"] = [info[0].name for info in infos]
family, _, _, _, address = infos[0]
s = socket.socket(family, socket.SOCK_STREAM)
s.settimeout(timeout)
t = time.monotonic()
try:
    s.connect(address)
    out["first"] = "connected"
except TimeoutError:
    out["first"] = "timeout"
except OSError as err:
    out["first"] = errno.errorcode[err.errno]
out["first_s"] = time.monotonic() - t
s.close()
t = time.monotonic()
c = socket.create_connection(("server", 8000), timeout=timeout)
out["create_connection"] = c.family.name
out["create_connection_s"] = time.monotonic() - t
c.close()
t = time.monotonic()
with urllib.request.urlopen("http://server:8000/", timeout=timeout) as reply:
    reply.read()
    out["urllib"] = reply.status
out["urllib_s"] = time.monotonic() - t
print(json.dumps(out))
"""

CURL = "curl -sv -o /dev/null --max-time 10 -w 'connected %{remote_ip} %{time_connect}\\n' "


@contextlib.contextmanager
def with_server(spec, tmp_path):
    """The topology built, with an HTTP server on ``server``, ready (port 8000)."""
    topo = resolve(spec)
    (tmp_path / "index.html").write_text("hello\n")
    server = [sys.executable, "-m", "http.server", "--bind", "::", "-d", str(tmp_path), "8000"]
    topo.nodes["server"].add_command(server, CommandSpec(("tcp", 8000)))
    with Network(topo) as net:
        net.start_commands()
        yield net


def python_client(net, tmp_path, timeout):
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    code, out = run_in(net, "client", [sys.executable, str(probe), str(timeout)])
    assert code == 0, out
    return json.loads(out.splitlines()[-1])


def curl_client(net, url="http://server:8000/"):
    """curl -v's story: the addresses it tried in order, the failures, and where
    and after how long it connected."""
    code, out = run_in(net, "client", ["sh", "-c", CURL + url + " 2>&1"])
    assert code == 0, out
    tried = [
        line.split("Trying ")[1].rsplit(":", 1)[0] for line in out.splitlines() if "Trying" in line
    ]
    failed = [line.split("failed: ")[1] for line in out.splitlines() if "failed: " in line]
    _, ip, seconds = next(
        line for line in out.splitlines() if line.startswith("connected ")
    ).split()
    return tried, failed, ip, float(seconds), out


SERVER_V6 = "2001:db8:0:1::2"
SERVER_V4 = "198.18.1.2"


def test_dualstack_clients_use_ipv6(tmp_path):
    with with_server("dualstack", tmp_path) as net:
        py = python_client(net, tmp_path, 5)
        tried, failed, ip, _, out = curl_client(net)
    assert py["order"][0] == "AF_INET6", py
    assert (py["first"], py["create_connection"], py["urllib"]) == ("connected", "AF_INET6", 200)
    assert (tried, failed, ip) == ([f"[{SERVER_V6}]"], [], SERVER_V6), out


def test_v6rejected_clients_try_ipv6_first_and_fall_back_at_once(tmp_path):
    """r1 resets the IPv6 connection: ECONNREFUSED, and IPv4 at once (no timeout)."""
    with with_server("v6rejected", tmp_path) as net:
        py = python_client(net, tmp_path, 5)
        tried, failed, ip, seconds, out = curl_client(net)
    assert py["order"][0] == "AF_INET6", py  # the client has an IPv6 route: sorted first
    assert py["first"] == "ECONNREFUSED", py
    assert py["first_s"] < 0.5, py
    assert (py["create_connection"], py["urllib"]) == ("AF_INET", 200), py
    assert py["create_connection_s"] < 0.5 and py["urllib_s"] < 0.5, py
    assert tried == [f"[{SERVER_V6}]", SERVER_V4], out
    assert failed == ["Connection refused"], out
    # Before curl's happy-eyeballs delay (200 ms) would have started IPv4 anyway.
    assert ip == SERVER_V4 and seconds < 0.15, out


@pytest.mark.parametrize("by, errno_name", [("unreachable", "ENETUNREACH"), ("prohibit", "EACCES")])
def test_v6rejected_by_icmpv6_fails_with_the_syn_retransmission(by, errno_name, tmp_path):
    """ICMPv6 from r1 arrives while connect() holds the socket on a veth without
    delay: Linux keeps it as a soft error, and fails the attempt when the SYN's
    retransmission (1 s later) is refused again."""
    with with_server(f"v6rejected:by={by}", tmp_path) as net:
        py = python_client(net, tmp_path, 5)
    assert py["order"][0] == "AF_INET6", py
    assert py["first"] == errno_name, py
    assert 0.9 < py["first_s"] < 3, py
    assert (py["create_connection"], py["urllib"]) == ("AF_INET", 200), py


def test_v6dropped_clients_fall_back_when_their_deadline_passes(tmp_path):
    with with_server("v6dropped", tmp_path) as net:
        py = python_client(net, tmp_path, 1)
        tried, failed, ip, seconds, out = curl_client(net)
    assert py["order"][0] == "AF_INET6", py
    assert py["first"] == "timeout" and py["first_s"] >= 1.0, py
    # create_connection gives each address the whole timeout: IPv4 after 1 s.
    assert py["create_connection"] == "AF_INET" and py["create_connection_s"] >= 1.0, py
    assert py["urllib"] == 200 and py["urllib_s"] >= 1.0, py
    # curl races IPv4 after its happy-eyeballs delay, 200 ms; the IPv6 attempt never fails.
    assert tried == [f"[{SERVER_V6}]", SERVER_V4] and failed == [], out
    assert ip == SERVER_V4 and 0.19 <= seconds < 1.0, out


def test_v6rejected_refuses_a_bad_way():
    from pycoz_cli.errors import SpecError

    with pytest.raises(SpecError, match=r"v6rejected: by='icmp': use reset, unreachable, prohibit"):
        resolve("v6rejected:by=icmp")
