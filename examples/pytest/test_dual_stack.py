"""A TCP client against a server in each dual-stack scenario.

Each test runs once per topology (``dualstack``, ``v6rejected``, ``v6dropped``:
see ``pycoz net topologies``), each in a network of its own: the client on host
``client``, the server on host ``server``, router ``r1`` between them.  The
client is traced, so the assertions can say how each connect() ended.

    pytest examples/pytest -v
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = os.path.realpath(sys.executable)
PORT = 7000
#: The client's deadline for IPv6 before it tries IPv4 (``--fallback-ms``).
FALLBACK_MS = 250
#: What a busy CI machine may add to a deadline.
SLACK_MS = 1000

SCENARIOS = ("dualstack", "v6rejected", "v6dropped")


def start_server(net):
    server = net["server"].spawn(
        [PYTHON, f"{HERE}/server.py", str(PORT)], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout.readline() == "listening\n"
    return server


def run_client(host):
    result = host.run(
        [PYTHON, f"{HERE}/client.py", "server", str(PORT), f"--fallback-ms={FALLBACK_MS}"],
        capture_output=True,
        text=True,
        timeout=30,
        trace=["trace=socket,connect"],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout), tcp_connects(result.trace)


def tcp_connects(trace):
    """The TCP connect() calls, in order: (family, errno) for each.

    getaddrinfo() connects UDP sockets to sort addresses (RFC 6724); the
    socket() calls tell which descriptors are TCP."""
    tcp, out = {}, []
    for ev in trace.calls("socket", "connect"):
        if ev.name == "socket":
            tcp[(ev.pid, ev.result)] = "SOCK_STREAM" in ev.args[1]
        elif tcp.get((ev.pid, ev.args[0])) and ev.args[1]["sa_family"] in ("AF_INET", "AF_INET6"):
            out.append((ev.args[1]["sa_family"], ev.errno))
    return out


@pytest.mark.pycoz_topologies(*SCENARIOS)
def test_connects_and_falls_back_in_time(pycoz_net):
    start_server(pycoz_net)
    answer, connects = run_client(pycoz_net["client"])
    assert answer["reply"] == "pong"
    scenario = pycoz_net.name
    if scenario == "dualstack":
        # IPv6 works: it is used, at once, and nothing else is tried.
        assert answer["family"] == "IPv6"
        assert connects == [("AF_INET6", "EINPROGRESS")]
        assert answer["connect_ms"] < FALLBACK_MS
    elif scenario == "v6rejected":
        # r1 resets the IPv6 attempt (ECONNREFUSED, read after the non-blocking
        # connect): IPv4 follows without waiting for the deadline.
        assert answer["family"] == "IPv4"
        assert connects[0] == ("AF_INET6", "EINPROGRESS")
        assert connects[-1][0] == "AF_INET"
        assert answer["connect_ms"] < FALLBACK_MS
    else:
        # IPv6 is dropped silently: the client waits out its deadline, then IPv4.
        assert answer["family"] == "IPv4"
        assert connects[0] == ("AF_INET6", "EINPROGRESS")
        assert connects[-1][0] == "AF_INET"
        assert FALLBACK_MS <= answer["connect_ms"] < FALLBACK_MS + SLACK_MS


@pytest.mark.pycoz_topologies(*SCENARIOS, impair={"client-r1": {"delay": "40ms"}})
def test_under_delay(pycoz_net):
    """40 ms each way between client and router: one round trip is >= 80 ms."""
    start_server(pycoz_net)
    answer, _ = run_client(pycoz_net["client"])
    assert answer["reply"] == "pong"
    assert answer["connect_ms"] >= 80
    if pycoz_net.name == "v6dropped":
        assert answer["connect_ms"] >= FALLBACK_MS + 80


# {}: the link may be impaired later (declared adjustable: kernels without
# netem impair through pycoz's relay, which must be there from the start).
@pytest.mark.pycoz_topologies("dualstack", "v6dropped", impair={"client-r1": {}})
def test_under_loss_it_still_gets_through(pycoz_net):
    """10% loss both ways, set live once the server is up: TCP retransmits, and
    every one of five connections completes."""
    start_server(pycoz_net)
    pycoz_net.impair("client-r1", loss="10%")
    for _ in range(5):
        answer, _ = run_client(pycoz_net["client"])
        assert answer["reply"] == "pong"


def test_all_scenarios_side_by_side(pycoz_network):
    """The same client in three networks at once (each its own namespaces)."""
    nets = {name: pycoz_network(name) for name in SCENARIOS}
    for net in nets.values():
        start_server(net)
    families = {name: run_client(net["client"])[0]["family"] for name, net in nets.items()}
    assert families == {"dualstack": "IPv6", "v6rejected": "IPv4", "v6dropped": "IPv4"}
