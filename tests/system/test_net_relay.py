"""The relay behaves like netem, with real traffic (ping, iperf3) through it.

On a kernel with netem these check netem itself (where pycoz applies the knob in
the kernel); on this project's CI kernel, which has none, they check the relay.
"""

import itertools
import json
import os
import re
import shutil
import time

import pytest

from .helpers import mentioning

needs_iperf3 = pytest.mark.skipif(not shutil.which("iperf3"), reason="iperf3 not installed")


def rtts(ping_output: str) -> dict[int, float]:
    """icmp_seq -> round-trip time (ms); a duplicate reply keeps the first."""
    out: dict[int, float] = {}
    for seq, ms in re.findall(r"icmp_seq=(\d+) ttl=\d+ time=([0-9.]+) ms", ping_output):
        out.setdefault(int(seq), float(ms))
    return out


def in_host(net, host, argv, **kwargs):
    """Run argv on a host of an API network; (status, stdout)."""
    from pycoz_cli.core.container import Container

    r, w = os.pipe()
    try:
        code = Container(network=net, host=host, overlay=False).run(argv, stdout=w, **kwargs)
    finally:
        os.close(w)
    with os.fdopen(r) as f:
        return code, f.read()


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS:")).split()[1])


@needs_iperf3
def test_excess_traffic_is_dropped_and_the_queue_stays_bounded():
    """20 Mbit/s of UDP into rate=1mbit: netem's 1000-packet queue fills and the
    rest is dropped; once iperf3 is done, a ping sees only the configured delay
    (not minutes of backlog), and the relay did not grow with the excess."""
    from pycoz_cli.core.container import Container
    from pycoz_cli.core.net.topology import Network, impair_spec, resolve

    topo = resolve("pair")
    impair_spec(topo, "h1-h2:delay=20ms,rate=1mbit")
    with Network(topo) as net:
        devnull = os.open(os.devnull, os.O_WRONLY)
        server = Container(network=net, host="h2", overlay=False).spawn(
            ["iperf3", "-s", "-1"], stdout=devnull
        )
        os.close(devnull)
        try:
            time.sleep(0.5)
            before = rss_kb(net.relay_pid) if net.relay_pid else None
            code, out = in_host(
                net, "h1", ["iperf3", "-c", "198.18.0.2", "-u", "-b", "20M", "-t", "3", "--json"]
            )
            assert code == 0, out
            udp = json.loads(out)["end"]["sum"]
            # About 1000 queued plus 3 s at 1 Mbit/s cross (~25%); a queue that
            # only delays (the old relay's) loses nothing.
            assert udp["lost_percent"] > 60, udp
            if before is not None:
                # 1000 frames of 1.5 KB are held at most; the old relay kept all 5000.
                assert rss_kb(net.relay_pid) - before < 8000
            code, out = in_host(net, "h1", ["ping", "-c3", "-i0.2", "-W2", "198.18.0.2"])
            times = rtts(out)
            assert code == 0 and len(times) == 3, out
            assert all(40 <= t < 150 for t in times.values()), times
        finally:
            server.kill()
            server.wait()


RECEIVER = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 9000))
s.settimeout(2)
print("ready", flush=True)
n = 0
try:
    while True:
        s.recv(2000)
        n += 1
        s.settimeout(1)
except TimeoutError:
    pass
print(n)
"""

BURST = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(200):
    s.sendto(bytes(1000), ("198.18.0.2", 9000))
"""


def burst_received(impair: str) -> int:
    """How many of 200 datagrams sent back to back cross a link impaired so."""
    from pycoz_cli.core.container import Container
    from pycoz_cli.core.net.topology import Network, impair_spec, resolve

    topo = resolve("pair")
    impair_spec(topo, f"h1>h2:{impair}")
    with Network(topo) as net:
        r, w = os.pipe()
        receiver = Container(network=net, host="h2", overlay=False).spawn(
            ["python3", "-c", RECEIVER], stdout=w
        )
        os.close(w)
        with os.fdopen(r) as out:
            assert out.readline() == "ready\n"
            # Neighbours resolved first: the kernel holds only so much for a
            # neighbour it is still asking for.
            assert in_host(net, "h1", ["ping", "-c1", "198.18.0.2"])[0] == 0
            assert in_host(net, "h1", ["python3", "-c", BURST])[0] == 0
            count = int(out.readline())
        assert receiver.wait() == 0
        return count


def test_limit_is_a_key():
    """limit=5 at 1 Mbit/s: a burst of 200 datagrams overflows it (netem's limit),
    where the default 1000 holds the whole burst."""
    assert 4 <= burst_received("rate=1mbit,limit=5") <= 10
    assert burst_received("rate=20mbit") == 200


def test_many_impaired_links_pass_traffic_on_the_first_ping(pycoz, tmp_path):
    """600 relayed links: past select()'s 1024 fds; the command starts only once
    the relay serves them all, so its very first ping passes."""
    impairs = [x for i in range(1, 601) for x in ("--impair", f"h{i}-s1:delay=1ms")]
    r = pycoz(
        *("net", "run", "star:hosts=600", *impairs),
        *("--", "ping", "-c1", "-W3", "h600"),
        timeout=300,
    )
    assert r.returncode == 0, r.stderr + r.stdout
    (rtt,) = rtts(r.stdout).values()
    assert rtt >= 4.0  # 1 ms each way on two links, both directions


def test_the_first_packet_is_relayed(pycoz):
    r = pycoz(
        *("net", "run", "chain:routers=3"),
        *(
            x
            for link in ("h1-r1", "r1-r2", "r2-r3", "r3-h2")
            for x in ("--impair", f"{link}:delay=5ms")
        ),
        *("--", "ping", "-c1", "-W2", "h2"),
    )
    assert r.returncode == 0, r.stderr + r.stdout


def test_any_link_changes_live_and_unimpaired_links_have_no_detour(pycoz, unique):
    """No declaration: net set on any link of a named topology; a link never
    impaired (or cleared) is a plain veth pair, not steered into the relay."""
    name = f"d{unique}"
    assert pycoz("net", "up", "star:hosts=3", "--name", name).returncode == 0
    try:

        def ex(host, *argv):
            return pycoz("net", "exec", name, host, "--", *argv)

        assert max(rtts(ex("h1", "ping", "-c2", "-i0.2", "h3").stdout).values()) < 50
        assert "pcz" not in ex("h1", "ip", "-o", "link").stdout
        r = pycoz("net", "set", name, "h1-s1", "--delay", "100ms", "--from", "h1")
        assert r.returncode == 0, r.stderr
        assert r.stdout == f"{name}: h1:eth0: impairments delay 100ms\n"
        assert min(rtts(ex("h1", "ping", "-c2", "-i0.2", "h3").stdout).values()) >= 99.0
        assert "clsact" in ex("h1", "tc", "qdisc", "show", "dev", "eth0").stdout
        # The other direction and the other links were left alone.
        assert "clsact" not in ex("s1", "tc", "qdisc", "show", "dev", "h1").stdout
        assert max(rtts(ex("h2", "ping", "-c2", "-i0.2", "h3").stdout).values()) < 50
        assert pycoz("net", "set", name, "h1-s1").returncode == 0
        assert max(rtts(ex("h1", "ping", "-c2", "-i0.2", "h3").stdout).values()) < 50
        assert "clsact" not in ex("h1", "tc", "qdisc", "show", "dev", "eth0").stdout
    finally:
        assert pycoz("net", "down", name).returncode == 0


def test_the_api_impairs_a_link_never_declared():
    """Network.impair on a network built without impairments: the relay starts
    then, and clearing the impairment takes the link out of its way."""
    from pycoz_cli.api import Network

    def ping(net):
        out = net["h1"].run(["ping", "-c2", "-i0.2", "-W2", "h2"], capture_output=True, text=True)
        return list(rtts(out.stdout).values())

    with Network("pair") as net:
        assert max(ping(net)) < 50
        net.impair("h1-h2", delay="60ms", sender="h1")
        assert min(ping(net)) >= 59
        net.impair("h1-h2")
        assert max(ping(net)) < 50
        net.impair("h1-h2", delay="30ms")  # steered again, both ways
        assert min(ping(net)) >= 59


def test_a_link_impaired_at_up_changes_live(pycoz, unique):
    name = f"s{unique}"
    up = ("net", "up", "pair", "--name", name, "--impair", "h1>h2:delay=30ms")
    assert pycoz(*up).returncode == 0
    try:
        ping = ("net", "exec", name, "h1", "--", "ping", "-c2", "-i0.2", "-W2", "h2")
        assert 29 <= min(rtts(pycoz(*ping).stdout).values()) < 59
        r = pycoz("net", "set", name, "h1-h2", "--delay", "30ms")
        assert r.returncode == 0, r.stderr
        assert min(rtts(pycoz(*ping).stdout).values()) >= 59
        assert pycoz("net", "set", name, "h1-h2").returncode == 0
        assert max(rtts(pycoz(*ping).stdout).values()) < 29
    finally:
        assert pycoz("net", "down", name).returncode == 0


def test_duplicate(pycoz):
    r = pycoz(
        *("net", "run", "pair", "--impair", "h2>h1:duplicate=100%"),
        *("--", "ping", "-4", "-c6", "-i0.2", "h2"),
    )
    assert r.returncode == 0, r.stderr
    # ping ends at its sixth reply, maybe before that one's copy arrives.
    dups = {int(n) for n in re.findall(r"icmp_seq=(\d+) .*\(DUP!\)", r.stdout)}
    assert dups >= {1, 2, 3, 4, 5}, r.stdout


def test_reorder_with_gap_sends_every_gapth_packet_at_once(pycoz, unique):
    """netem: reorder 100% gap 5 delays four packets and sends the fifth at once."""
    name = f"o{unique}"
    assert pycoz("net", "up", "pair", "--name", name).returncode == 0
    try:
        # Neighbours resolved first, so that only pings cross the impaired link.
        ping = ["net", "exec", name, "h1", "--", "ping", "-4", "-c20", "-i0.05", "-W2", "h2"]
        assert pycoz(*ping[:-3], "-c1", "h2").returncode == 0
        # ... and kept so: netem counts every frame, and a neighbour probe or an
        # IPv6 report from h1 during the pings would shift the fifths (seen once).
        mac = pycoz("net", "exec", name, "h2", "--", "cat", "/sys/class/net/eth0/address")
        quiet = (
            f"ip neigh replace 198.18.0.2 lladdr {mac.stdout.strip()} dev eth0 nud permanent && "
            "sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1"
        )
        r = pycoz("net", "exec", name, "h1", "--", "sh", "-c", quiet)
        assert r.returncode == 0, r.stderr
        r = pycoz("net", "set", name, "h1-h2", "--from", "h1", "--delay", "100ms")
        assert r.returncode == 0, r.stderr
        r = pycoz(*("net", "set", name, "h1-h2", "--from", "h1", "--delay", "100ms"),
                  *("--reorder", "100%", "--gap", "5"))  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert r.stdout == f"{name}: h1:eth0: impairments delay 100ms, reorder 100%, gap 5\n"
        times = rtts(pycoz(*ping).stdout)
        assert len(times) == 20, times
        # Not delayed: every fifth frame h1 sends.  Pings are nearly all of them
        # (a neighbour probe now and then takes a place in the count).
        fast = [seq for seq, t in sorted(times.items()) if t < 90]
        gaps = [b - a for a, b in itertools.pairwise(fast)]
        assert len(fast) >= 3 and set(gaps) <= {4, 5} and gaps.count(4) <= 1, times
    finally:
        assert pycoz("net", "down", name).returncode == 0


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("reorder=10%", "reorder: needs a delay"),
        ("delay=5ms,gap=3", "gap: only means something with reorder"),
        ("rate=1mbit,limit=0", "limit: 0 is not a number of packets (a whole number from 1)"),
        ("duplicate=5", "duplicate: '5' is not a percentage"),
    ],
)
def test_bad_netem_knobs_are_one_line_as_tc_refuses_them(pycoz, spec, why):
    r = pycoz("net", "run", "pair", "--impair", f"h1-h2:{spec}", "--", "true")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert why in r.stderr, r.stderr


def _runs(pycoz, name: str, loss: str) -> tuple[int, int]:
    """(losses, lost/received changes) over 300 pings into loss=LOSS."""
    r = pycoz("net", "set", name, "h1-h2", "--from", "h1", *loss.split())
    assert r.returncode == 0, r.stderr
    r = pycoz("net", "exec", name, "h1", "--", "ping", "-4", "-c300", "-i0.005", "-W1", "h2")
    got = set(rtts(r.stdout))
    seen = [seq in got for seq in range(1, 301)]
    return seen.count(False), sum(a != b for a, b in itertools.pairwise(seen))


def test_loss_correlation_makes_losses_come_in_runs(pycoz, unique):
    """netem's correlated loss: losses at about the same rate, far fewer changes
    between lost and received (longer runs) than independent loss gives."""
    name = f"c{unique}"
    assert pycoz("net", "up", "pair", "--name", name).returncode == 0
    try:
        # Neighbours resolved first: a lost ARP request would stall the pings.
        ping = ("net", "exec", name, "h1", "--", "ping", "-4", "-c1", "h2")
        assert pycoz(*ping).returncode == 0
        lost, changes = _runs(pycoz, name, "--loss 50%")
        lost_c, changes_c = _runs(pycoz, name, "--loss 50% --loss-correlation 95%")
    finally:
        assert pycoz("net", "down", name).returncode == 0
    assert 90 < lost < 210 and 30 < lost_c < 270, (lost, lost_c)
    assert changes > 100 and changes_c < 60, (changes, changes_c)


def test_corrupted_frames_are_caught_by_checksums(pycoz):
    """corrupt=100% one way: every echo request is damaged, and h2's checksums
    (real ones: the detour has its offloads off) throw it away."""
    r = pycoz(
        *("net", "run", "pair", "--impair", "h1>h2:corrupt=100%"),
        *("--", "ping", "-c3", "-i0.2", "-W1", "-s1000", "h2"),
    )
    assert "100% packet loss" in r.stdout, r.stdout


@pytest.fixture
def two_links(tmp_path):
    """A topology file: h1 and h2 joined by two links, named wan1 and wan2."""
    path = tmp_path / "two.toml"
    links = [
        f'[[links]]\nname = "wan{i + 1}"\na = "h1"\nb = "h2"\n'
        f'a_addresses = ["198.18.{i}.1/24"]\nb_addresses = ["198.18.{i}.2/24"]\n'
        for i in range(2)
    ]
    path.write_text("[hosts.h1]\n[hosts.h2]\n" + "".join(links))
    return str(path)


@pytest.mark.parametrize("label", ["wan2", "h1:eth1-h2:eth1", "h2:eth1-h1:eth1"])
def test_two_links_between_the_same_nodes_are_impaired_apart(pycoz, two_links, label):
    ping = "ping -c2 -i0.2 -W2 198.18.0.2 && ping -c2 -i0.2 -W2 198.18.1.2"
    r = pycoz("net", "run", two_links, "--impair", f"{label}:delay=50ms", "--", "sh", "-c", ping)
    assert r.returncode == 0, r.stderr
    times = re.findall(r"from ([0-9.]+): icmp_seq=\d+ ttl=\d+ time=([0-9.]+) ms", r.stdout)
    fast = [float(t) for ip, t in times if ip == "198.18.0.2"]
    slow = [float(t) for ip, t in times if ip == "198.18.1.2"]
    assert len(fast) == len(slow) == 2 and max(fast) < 50 and min(slow) >= 99, times


def test_a_pair_of_nodes_with_two_links_is_ambiguous_in_one_line(pycoz, two_links):
    r = pycoz("net", "run", two_links, "--impair", "h1-h2:delay=5ms", "--", "true")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "'h1-h2' is 2 links (wan1, wan2): name one" in r.stderr
    shown = pycoz("net", "show", two_links).stdout
    assert "link h1:eth1 <-> h2:eth1 (wan2)" in shown, shown


def _in_host_pid_ns(pid: int) -> bool:
    """Whether ``pid`` has one pid only (it lives in this PID namespace)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(len(line.split()) == 2 for line in f if line.startswith("NSpid:"))
    except (OSError, StopIteration):
        return False


def test_a_named_topologys_relay_dies_with_a_net_up_killed_half_way(
    pycoz_bin, pycoz, tmp_path, unique
):
    """The relay of a named topology (started with it, idle, on kernels without
    netem) dies with the `net up` that made it until that one has recorded it
    and finished, as a rootless topology's holder does: a SIGKILL at any moment
    before leaves no relay that no state names."""
    import signal
    import subprocess

    name = f"r{unique}"
    lab = tmp_path / "lab.toml"
    # A host command never ready: `net up` waits (the relay made and running).
    lab.write_text(
        '[hosts.h1]\ncommands = [{ run = "sleep 60", ready = "file:/never", timeout = "60s" }]\n'
        "[hosts.h2]\n[[links]]\na = 'h1'\nb = 'h2'\n"
        "a_addresses = ['198.18.0.1/24']\nb_addresses = ['198.18.0.2/24']\n"
    )
    up = subprocess.Popen([pycoz_bin, "net", "up", str(lab), "--name", name])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(mentioning(name)) < 3:
            time.sleep(0.05)  # net up, its relay and h1's command
        # The relay, not h1's command's init (recorded before it is made: `down`
        # stops it). The init is in a PID namespace of its own, the relay in the
        # machine's; whether the init has its command as a child yet is a race.
        relays = [p for p in mentioning(name) if p != up.pid and _in_host_pid_ns(p)]
        if not relays:
            pytest.skip("no relay was started (this kernel has netem)")
    finally:
        up.send_signal(signal.SIGKILL)
        up.wait()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in relays):
            time.sleep(0.05)
        assert not [p for p in relays if os.path.exists(f"/proc/{p}")], "the relay outlived net up"
    finally:
        pycoz("net", "down", name)
