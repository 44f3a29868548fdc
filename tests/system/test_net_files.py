"""Topology files from the command line: commands on hosts, failures half-way."""

import os
import subprocess
import textwrap

FETCH = (
    "python3 -c 'import time, urllib.request\n"
    "for _ in range(100):\n"
    "    try:\n"
    '        print(urllib.request.urlopen("http://server:8000/", timeout=2).status); break\n'
    "    except OSError: time.sleep(0.1)'"
)

LAB = textwrap.dedent(
    """
    [hosts.client]
    [hosts.server]
    commands = [["python3", "-m", "http.server", "--bind", "::", "--directory", "DIR", "8000"]]

    [[links]]
    a = "client"
    b = "server"
    a_addresses = ["198.18.7.1/24", "2001:db8:7::1/64"]
    b_addresses = ["198.18.7.2/24", "2001:db8:7::2/64"]
    """
)


def test_declared_command_serves_and_stops_with_the_run(pycoz, tmp_path):
    lab = tmp_path / "lab.toml"
    lab.write_text(LAB.replace("DIR", str(tmp_path)))
    r = pycoz("net", "run", str(lab), "--host", "client", "--", "sh", "-c", FETCH)
    assert (r.returncode, r.stdout.strip()) == (0, "200"), r.stderr
    gone = subprocess.run(
        ["pgrep", "-f", "http.server --bind :: --directory / 8000"], capture_output=True, text=True
    )
    assert gone.stdout == ""  # the server stopped with the run


def test_named_topology_commands_run_until_down(pycoz, tmp_path, unique):
    lab = tmp_path / "lab.toml"
    lab.write_text(LAB.replace("DIR", str(tmp_path)))
    name = f"f{unique}"
    try:
        assert pycoz("net", "up", str(lab), "--name", name).returncode == 0
        r = pycoz("net", "exec", name, "client", "--", "sh", "-c", FETCH)
        assert (r.returncode, r.stdout.strip()) == (0, "200"), r.stderr
        state = [s for s in os.listdir("/run/pycoz/net") if s.startswith(name)]
        assert any(s.endswith(".log") for s in state)
    finally:
        down = pycoz("net", "down", name)
    assert down.returncode == 0, down.stderr
    assert not [s for s in os.listdir("/run/pycoz/net") if s.startswith(name)]


def test_kernel_refusing_half_way_leaves_nothing(pycoz, tmp_path, unique):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        LAB.replace("[hosts.server]", '[hosts.server]\nsysctls = { "net.ipv4.no_such_knob" = "1" }')
    )
    r = pycoz("net", "run", str(bad), "--", "true")
    assert r.returncode == 125
    assert r.stderr.count("\n") == 1 and "net.ipv4.no_such_knob" in r.stderr
    name = f"b{unique}"
    r = pycoz("net", "up", str(bad), "--name", name)
    assert r.returncode == 125, r.stderr
    assert not [n for n in os.listdir("/run/netns") if n.startswith(name)]
    assert not [s for s in os.listdir("/run/pycoz/net") if s.startswith(name)]


def test_check_validates_a_file(pycoz, tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(LAB.replace("DIR", str(tmp_path)))
    r = pycoz("net", "check", str(good))
    assert r.returncode == 0 and "ok" in r.stdout
    broken = tmp_path / "broken.toml"
    broken.write_text(LAB.replace("DIR", str(tmp_path)).replace('a = "client"', 'a = "cliant"'))
    r = pycoz("net", "check", str(broken))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert "broken.toml:" in r.stderr and "cliant" in r.stderr
