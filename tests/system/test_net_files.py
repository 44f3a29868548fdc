"""Topology files from the command line: commands on hosts, failures half-way."""

import os
import random
import subprocess
import textwrap
import time

import pytest

from .helpers import mentioning

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


# --- host commands that cannot start (issue 11, items 8 and 10) --------------------------


def write_lab(tmp_path, commands: str, name: str = "lab.toml"):
    """A file whose host h1 has ``commands`` (TOML) on line 3."""
    path = tmp_path / name
    path.write_text(
        f"[hosts.h1]\n[hosts.h2]\ncommands = {commands}\n[[links]]\na = 'h1'\nb = 'h2'\n"
    )
    return path


def leftovers(name: str) -> list[str]:
    netns = [n for n in os.listdir("/run/netns") if n.startswith(f"{name}-")]
    state = [s for s in os.listdir("/run/pycoz/net") if s.startswith(f"{name}.")]
    return netns + state


@pytest.mark.parametrize(
    "commands, reason",
    [
        ('[["nosuchprogram"]]', "nosuchprogram: command not found in the container"),
        (
            '[{ run = "exit 3", ready = "exit" }]',
            'exited with status 3 (ready = "exit" waits for status 0)',
        ),
        (
            "[{ run = ['python3', '-c', 'import sys; sys.exit(4)'], ready = 'tcp:8000' }]",
            'exited with status 4 before it was ready (ready = "tcp:8000")',
        ),
    ],
    ids=["not-found", "exit-status", "exit-before-ready"],
)
def test_a_host_command_that_cannot_start_is_named_and_exits_125(
    pycoz, tmp_path, unique, commands, reason
):
    path = write_lab(tmp_path, commands)
    for args in (["run", str(path), "--", "ip", "link"], ["up", str(path), "--name", unique]):
        r = pycoz("net", *args, timeout=30)
        assert r.returncode == 125, r
        assert r.stderr == f"pycoz net {args[0]}: {path}:3: hosts.h2.commands[0]: {reason}\n"
    assert leftovers(unique) == []


def test_a_failed_up_stops_the_commands_it_started_and_removes_their_logs(pycoz, tmp_path, unique):
    marker = f"1000.{int(unique[-8:], 16)}"  # seconds for sleep, unique to this test
    path = write_lab(tmp_path, f'["sleep {marker}", ["sleep", "{marker}"], ["nosuchprogram"]]')
    r = pycoz("net", "up", str(path), "--name", unique)
    assert r.returncode == 125, r
    assert "hosts.h2.commands[2]: nosuchprogram" in r.stderr
    assert mentioning(marker) == []
    assert leftovers(unique) == []


def test_sigkill_during_up_leaves_no_host_command_behind(pycoz_bin, pycoz, tmp_path, unique):
    """Killed at random moments while starting host commands: `net down` finds
    every command started (the large count: bench/stress_net_up.py)."""
    rng = random.Random(unique)
    marker = f"1000.{int(unique[-8:], 16)}"
    path = write_lab(tmp_path, "[" + ", ".join([f'"sleep {marker}"'] * 8) + "]")
    names = [f"{unique}{i}" for i in range(6)]
    for name in names:
        p = subprocess.Popen(
            [pycoz_bin, "net", "up", str(path), "--name", name],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.02, 0.2))
        p.kill()
        p.wait()
    for name in names:
        pycoz("net", "down", name)  # half-built, broken or up: down removes each
    for _ in range(50):  # a killed container's init may still be on its way out
        if not mentioning(marker):
            break
        time.sleep(0.1)
    assert mentioning(marker) == []
    assert [x for name in names for x in leftovers(name)] == []


def test_a_command_not_waited_for_that_failed_by_the_end_of_start_is_reported(
    pycoz, tmp_path, unique
):
    # The second command holds the start for half a second: by then the first,
    # which nothing waits for, has failed.
    path = write_lab(tmp_path, '["exit 1", { run = "sleep 0.5", ready = "exit" }]')
    for args in (["run", str(path), "--", "true"], ["up", str(path), "--name", unique]):
        r = pycoz("net", *args, timeout=30)
        assert r.returncode == 125, r
        where = f"{path}:3: hosts.h2.commands[0]"
        assert r.stderr == f"pycoz net {args[0]}: {where}: exited with status 1 at start\n"
    assert leftovers(unique) == []
