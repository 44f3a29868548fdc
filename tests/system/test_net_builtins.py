"""Built-in topologies: the hosts they promise to connect reach each other."""

import os
import sys

import pytest

from pycoz_cli.core.container import Container
from pycoz_cli.core.net.topology import Network, resolve
from pycoz_cli.errors import SpecError

from .helpers import run_in


def ping_both(net, src, dst):
    script = f"ping -4 -c1 -W2 {dst} && ping -6 -c1 -W2 {dst}"
    code, out = run_in(net, src, script)
    assert code == 0, out


@pytest.mark.parametrize(
    "spec, pairs",
    [
        ("pair", [("h1", "h2"), ("h2", "h1")]),
        ("star:hosts=5", [("h1", "h5"), ("h3", "h2")]),
        ("chain:routers=3", [("h1", "h2"), ("h2", "h1"), ("r1", "r3")]),
        ("dualstack", [("client", "server")]),
    ],
)
def test_hosts_reach_each_other_over_v4_and_v6(spec, pairs):
    with Network(resolve(spec)) as net:
        for src, dst in pairs:
            ping_both(net, src, dst)


def test_isolated_has_loopback_only():
    with Network(resolve("isolated")) as net:
        _code, out = run_in(
            net, "h1", "ip -o link | wc -l; ping -c1 -W1 127.0.0.1 >/dev/null; echo $?"
        )
    assert out.split() == ["1", "0"]


def test_chain_routes_through_every_router():
    with Network(resolve("chain:routers=3")) as net:
        code, out = run_in(net, "h1", "ping -4 -c1 -W2 h2 | grep -o 'ttl=[0-9]*'")
    assert (code, out.strip()) == (0, "ttl=61")  # 64 minus three routers


def test_names_and_hostname_inside_a_host():
    with Network(resolve("pair")) as net:
        code, out = run_in(net, "h2", "hostname; getent hosts h1")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "h2"
    assert "h1" in lines[1]


CLIENT = r"""
import socket, sys, time
family = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
addr = socket.getaddrinfo("server", 8000, family, socket.SOCK_STREAM)[0][4]
s = socket.socket(family, socket.SOCK_STREAM)
s.settimeout(2)
t = time.monotonic()
try:
    s.connect(addr)
    print("connected")
except socket.timeout:
    print("timeout")
except OSError as e:
    print("error", e.errno)
print(round(time.monotonic() - t, 3))
"""


@pytest.mark.parametrize(
    "spec, v6_outcome",
    [("dualstack", "connected"), ("v6rejected", "error"), ("v6dropped", "timeout")],
)
def test_dual_stack_scenarios(spec, v6_outcome, tmp_path):
    client = tmp_path / "client.py"
    client.write_text(CLIENT)
    with Network(resolve(spec)) as net:
        devnull = os.open(os.devnull, os.O_WRONLY)
        server = Container(network=net, host="server", overlay=False).spawn(
            [
                "python3",
                "-c",
                "import socket,time\n"
                "s=socket.create_server(('::',8000),family=socket.AF_INET6,dualstack_ipv6=True)\n"
                "print('up',flush=True); time.sleep(30)",
            ],
            stdout=devnull,
        )
        os.close(devnull)
        try:
            for _ in range(50):
                _, out = run_in(net, "client", f"{sys.executable} {client} 4")
                if out.split()[0] == "connected":
                    break
            assert out.split()[0] == "connected", out
            _code, out = run_in(net, "client", f"{sys.executable} {client} 6")
            outcome, seconds = out.split()[0], float(out.split()[-1])
            assert outcome == v6_outcome, out
            if v6_outcome == "error":
                assert seconds < 1.0, out  # refused at once, not after a timeout
        finally:
            server.kill()
            server.wait()


def test_unknown_topology_and_bad_parameters():
    with pytest.raises(SpecError, match=r"unknown topology .stra.*did you mean .star."):
        resolve("stra")
    with pytest.raises(SpecError, match="unknown parameter 'host'"):
        resolve("star:host=3")
    with pytest.raises(SpecError, match="hosts='x' is not int"):
        resolve("star:hosts=x")
