"""Rates on the kernel's own qdiscs (issue 13): htb (or tbf) paces a link where the
kernel has no netem, so a link that only has a rate needs no relay, and the relay
gets only what the kernel cannot do.  iperf3 measures the rate."""

import json
import os
import re
import shutil

import pytest

from pycoz_cli.core.container import Container
from pycoz_cli.core.net.topology import (
    Impairment,
    Network,
    Qdiscs,
    impair_spec,
    resolve,
    split_impairment,
)

pytestmark = pytest.mark.skipif(shutil.which("iperf3") is None, reason="iperf3 not installed")


def run(net, host: str, argv: list[str]) -> str:
    r, w = os.pipe()
    code = Container(network=net, host=host, overlay=False).run(argv, stdout=w)
    os.close(w)
    with os.fdopen(r) as f:
        out = f.read()
    assert code == 0, out
    return out


def iperf(net, seconds: int = 3, reverse: bool = False) -> float:
    """Bits per second received over TCP from h1 to h2 (h2 to h1: ``reverse``)."""
    null = os.open(os.devnull, os.O_WRONLY)
    server = Container(network=net, host="h2", overlay=False).spawn(
        ["iperf3", "-s", "-1", "-B", "198.18.0.2"], stdout=null
    )
    os.close(null)
    try:
        # -O 1: the first second (slow start) is not counted.
        argv = ["iperf3", "-c", "198.18.0.2", "-t", str(seconds), "-O", "1", "-J"]
        for _ in range(50):  # until the server listens
            if run(net, "h2", ["sh", "-c", "ss -ltn | grep -c :5201 || true"]).strip() != "0":
                break
        report = json.loads(run(net, "h1", [*argv, *(["-R"] if reverse else [])]))
    finally:
        server.kill()
        server.wait()
    return report["end"]["sum_received"]["bits_per_second"]


#: What TCP can carry of a rate that counts whole frames: 1448 bytes of payload (an
#: MSS with timestamps) in each 1514-byte Ethernet frame; iperf3 counts the payload.
PAYLOAD_SHARE = 1448 / 1514


def off_by(got: float, mbit: float) -> float:
    """How far iperf3's figure is from what ``mbit`` carries, as a fraction."""
    expected = mbit * 1e6 * PAYLOAD_SHARE
    return abs(got - expected) / expected


def qdiscs_of(net, host: str) -> list[str]:
    shown = run(net, host, ["tc", "-j", "qdisc", "show", "dev", "eth0"])
    return [q["kind"] for q in json.loads(shown)]


@pytest.mark.parametrize("mbit", [5, 40])
def test_rate_only_link_is_paced_by_the_kernel_within_5_percent(mbit):
    topo = resolve("pair")
    impair_spec(topo, f"h1>h2:rate={mbit}mbit")
    with Network(topo) as net:
        assert net.relay_pid is None and not net.relayed  # no relay in the way
        assert qdiscs_of(net, "h1")[0] in ("netem", "htb", "tbf")
        got = iperf(net)
        assert off_by(got, mbit) <= 0.05, got
        # The other direction is not paced.
        assert iperf(net, seconds=1, reverse=True) > 5 * mbit * 1e6


def test_a_direction_with_more_than_a_rate_goes_to_the_relay_whole():
    """delay and rate on a kernel without netem: the relay holds frames back and
    paces them (its detour, tc's clsact, comes before the interface's root qdisc:
    an htb there would be bypassed); with netem, netem does both."""
    topo = resolve("pair")
    impair_spec(topo, "h1-h2:delay=20ms,rate=10mbit")
    with Network(topo) as net:
        kernel, relay = split_impairment(topo.links[0].impair[("h1", "eth0")], net.qdiscs)
        if net.qdiscs.netem:
            assert (kernel.delay_ms, kernel.rate_bps, bool(relay)) == (20, 10**7, False)
        else:
            assert not kernel
            assert (relay.delay_ms, relay.rate_bps) == (20, 10**7)
            assert net.relay_pid is not None
            assert qdiscs_of(net, "h1")[0] not in ("htb", "tbf")
        ping = run(net, "h1", ["ping", "-c3", "-i0.2", "198.18.0.2"])
        assert min(float(t) for t in re.findall(r"time=([0-9.]+)", ping)) >= 39.0
        got = iperf(net)
        # Through the relay (a user-space hop that holds frames back) TCP keeps
        # less in flight than on a plain veth: 10 %, the wider bound.
        assert off_by(got, 10) <= 0.10, got


def test_split_is_decided_by_the_kernels_qdiscs():
    both = Impairment(delay_ms=5, loss=1, rate_bps=10**6)
    kernel, relay = split_impairment(both, Qdiscs(netem=True))
    assert kernel is both and not relay
    rate = Impairment(rate_bps=10**6, limit=50)
    for qdiscs in (Qdiscs(htb=True), Qdiscs(tbf=True)):
        kernel, relay = split_impairment(both, qdiscs)
        assert not kernel and relay is both  # the relay's detour bypasses htb/tbf
        kernel, relay = split_impairment(rate, qdiscs)
        assert kernel is rate and not relay  # a rate alone: no relay at all
    kernel, relay = split_impairment(both, Qdiscs())
    assert not kernel and relay is both


def test_net_set_changes_a_kernel_rate_live(pycoz, unique):
    name = f"q{unique}"
    up = pycoz("net", "up", "pair", "--name", name, "--impair", "h1>h2:rate=10mbit")
    assert up.returncode == 0, up.stderr
    try:

        def classes():
            out = pycoz("net", "exec", name, "h1", "--", "tc", "class", "show", "dev", "eth0")
            return out.stdout

        def qdisc():
            out = pycoz("net", "exec", name, "h1", "--", "tc", "qdisc", "show", "dev", "eth0")
            return out.stdout

        assert "htb" in qdisc() or "netem" in qdisc()
        r = pycoz("net", "set", name, "h1-h2", "--rate", "30mbit", "--from", "h1")
        assert r.returncode == 0, r.stderr
        assert "30Mbit" in classes() or "30Mbit" in qdisc()
        r = pycoz("net", "set", name, "h1-h2", "--from", "h1")  # no rate: the qdisc goes
        assert r.returncode == 0, r.stderr
        assert not re.search(r"htb|netem|tbf", qdisc())
    finally:
        assert pycoz("net", "down", name).returncode == 0


@pytest.mark.parametrize("mbit", [5, 40])
def test_tbf_paces_where_a_kernel_has_no_htb(mbit):
    """The fallback, on this kernel's real tbf: the network is told the kernel
    has tbf only, and a rate set live goes to tbf."""
    with Network(resolve("pair")) as net:
        net.qdiscs = Qdiscs(tbf=True)
        link = net.topology.links[0]
        net.set_impairment(link, link.a, Impairment(rate_bps=mbit * 10**6))
        assert qdiscs_of(net, "h1") == ["tbf"]
        got = iperf(net)
        assert off_by(got, mbit) <= 0.05, got


def test_net_set_moves_a_direction_between_htb_and_the_relay(pycoz, unique):
    """A rate alone is the kernel's (htb); adding a delay live hands the whole
    direction to the relay (its detour would bypass htb) and removes htb; back
    to a rate alone, the relay lets go and htb paces again."""
    name = f"q{unique}"
    up = pycoz("net", "up", "pair", "--name", name, "--impair", "h1>h2:rate=10mbit")
    assert up.returncode == 0, up.stderr
    try:

        def show(kind, *where):
            out = pycoz("net", "exec", name, "h1", "--", "tc", kind, "show", "dev", "eth0", *where)
            assert out.returncode == 0, out.stderr
            return out.stdout

        def rtt():
            out = pycoz("net", "exec", name, "h1", "--", "ping", "-c3", "-i0.2", "198.18.0.2")
            assert out.returncode == 0, out.stderr
            return min(float(t) for t in re.findall(r"time=([0-9.]+)", out.stdout))

        if "netem" in show("qdisc"):
            pytest.skip("this kernel has netem: no relay is involved")
        assert "htb" in show("qdisc") and rtt() < 10
        r = pycoz(
            "net", "set", name, "h1-h2", "--rate", "10mbit", "--delay", "30ms", "--from", "h1"
        )
        assert r.returncode == 0, r.stderr
        assert "htb" not in show("qdisc")
        assert "mirred" in show("filter", "egress")  # steered into the relay
        assert rtt() >= 30
        r = pycoz("net", "set", name, "h1-h2", "--rate", "10mbit", "--from", "h1")
        assert r.returncode == 0, r.stderr
        assert "htb" in show("qdisc") and "mirred" not in show("filter", "egress")
        assert rtt() < 10
    finally:
        assert pycoz("net", "down", name).returncode == 0
