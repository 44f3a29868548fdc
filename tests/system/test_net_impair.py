"""Link impairments: delay shows in ping's round-trip time, loss blocks, set is live.

On kernels with netem the kernel applies them; without it (this project's CI kernel)
pycoz's relay does.  Either way a user sees the same thing, and so do these tests.
"""

import re
import subprocess


def rtts(ping_output: str) -> list[float]:
    return [float(x) for x in re.findall(r"time=([0-9.]+) ms", ping_output)]


def test_delay_shows_in_round_trip_time(pycoz):
    r = pycoz(
        "net", "run", "pair", "--impair", "h1-h2:delay=50ms", "--", "ping", "-c3", "-i0.2", "h2"
    )
    assert r.returncode == 0, r.stderr
    times = rtts(r.stdout)
    assert len(times) == 3
    assert min(times) >= 99.0, times  # 50 ms each way


def test_one_direction_only(pycoz):
    r = pycoz(
        "net", "run", "pair", "--impair", "h2>h1:delay=80ms", "--", "ping", "-c2", "-i0.2", "h2"
    )
    times = rtts(r.stdout)
    assert times and 79.0 <= min(times) < 150.0, times


def test_total_loss_blocks_the_link(pycoz):
    r = pycoz(
        "net",
        "run",
        "pair",
        "--impair",
        "h1-h2:loss=100%",
        "--",
        "ping",
        "-c2",
        "-i0.2",
        "-W1",
        "h2",
    )
    assert r.returncode != 0
    assert "100% packet loss" in r.stdout


SERVER = """
import socket
s = socket.create_server(("::", 8000), family=socket.AF_INET6, dualstack_ipv6=True)
print("listening", flush=True)
c, _ = s.accept()
data = b""
while chunk := c.recv(65536):
    data += chunk
c.sendall(data[::-1])
c.close()
"""

CLIENT = """
import socket
c = socket.create_connection(("server", 8000), timeout=20)
data = bytes(range(256)) * 400
c.sendall(data)
c.shutdown(socket.SHUT_WR)
got = b""
while chunk := c.recv(65536):
    got += chunk
print("intact" if got == data[::-1] else "damaged")
"""


def test_tcp_crosses_an_impaired_link_intact():
    """Frames the impairment holds back or paces still arrive whole (checksums)."""
    import os

    from pycoz_cli.core.container import Container
    from pycoz_cli.core.net.topology import Network, impair_spec, resolve

    topo = resolve("dualstack")
    impair_spec(topo, "r1-server:delay=5ms,rate=20mbit")
    with Network(topo) as net:
        r, w = os.pipe()
        server = Container(network=net, host="server", overlay=False).spawn(
            ["python3", "-c", SERVER], stdout=w
        )
        os.close(w)
        try:
            ready = b""
            while not ready.endswith(b"\n"):
                chunk = os.read(r, 100)
                assert chunk, "the server died"
                ready += chunk
            assert ready == b"listening\n"
            out_r, out_w = os.pipe()
            code = Container(network=net, host="client", overlay=False).run(
                ["python3", "-c", CLIENT], stdout=out_w
            )
            os.close(out_w)
            assert (code, os.read(out_r, 100)) == (0, b"intact\n")
            os.close(out_r)
        finally:
            os.close(r)
            server.kill()
            server.wait()


def test_net_set_changes_impairments_live(pycoz, unique):
    name = f"i{unique}"
    assert pycoz("net", "up", "pair", "--name", name, "--impair", "h1-h2").returncode == 0
    try:

        def ping():
            return pycoz("net", "exec", name, "h1", "--", "ping", "-c2", "-i0.2", "-W1", "h2")

        assert max(rtts(ping().stdout)) < 50
        r = pycoz("net", "set", name, "h1-h2", "--delay", "100ms", "--from", "h1")
        assert r.returncode == 0, r.stderr
        assert r.stdout == f"{name}: h1:eth0: impairments delay 100ms\n"
        assert min(rtts(ping().stdout)) >= 99.0
        assert pycoz("net", "set", name, "h1-h2", "--loss", "100%").returncode == 0
        assert "100% packet loss" in ping().stdout
        r = pycoz("net", "set", name, "h1-h2")  # clears everything
        assert r.stdout == f"{name}: h1:eth0 and h2:eth0: impairments none\n"
        assert max(rtts(ping().stdout)) < 50
        bad = pycoz("net", "set", name, "h1-h9", "--delay", "1ms")
        assert bad.returncode == 2 and "no link 'h1-h9'" in bad.stderr
        bad = pycoz("net", "set", name, "h1-h2", "--delay", "5 parsecs")
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    finally:
        assert pycoz("net", "down", name).returncode == 0


def test_bad_impair_spec_is_one_line(pycoz):
    r = pycoz("net", "run", "pair", "--impair", "h1-h2:delay=fast", "--", "true")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert "delay" in r.stderr


def test_the_relay_takes_settings_only_from_who_may_change_networks(pycoz, pycoz_bin, unique):
    """uid 0 is not enough: root's fenced containers share the host's network
    namespace, where the relay's socket is, as uid 0 without CAP_NET_ADMIN."""
    name = f"r{unique}"
    assert pycoz("net", "up", "pair", "--name", name, "--impair", "h1-h2").returncode == 0
    try:
        r = subprocess.run(
            [
                *("setpriv", "--bounding-set", "-net_admin", "--inh-caps", "-net_admin"),
                *(pycoz_bin, "net", "set", name, "h1-h2", "--delay", "300ms"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 125, r
        assert "EPERM" in r.stderr
        ping = pycoz("net", "exec", name, "h1", "--", "ping", "-c1", "-W5", "h2")
        assert ping.returncode == 0 and float(ping.stdout.split("time=")[1].split()[0]) < 200
    finally:
        assert pycoz("net", "down", name).returncode == 0
