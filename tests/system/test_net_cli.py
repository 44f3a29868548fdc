"""pycoz net from the command line: run, show, named topologies, robustness."""

import json
import os
import random
import signal
import subprocess
import time

import pytest

from tests.conftest import PYCOZ


def netns_names():
    return set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set()


def root_links():
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
    return {line.split(":")[1].strip() for line in out.stdout.splitlines()}


def test_run_pings_the_other_host_and_passes_status(pycoz):
    r = pycoz("net", "run", "pair", "--", "ping", "-c1", "-W2", "h2")
    assert r.returncode == 0, r.stderr
    assert "1 received" in r.stdout
    assert pycoz("net", "run", "pair", "--host", "h2", "--", "sh", "-c", "exit 9").returncode == 9


def test_run_without_dashdash_and_host_choice(pycoz):
    r = pycoz("net", "run", "--host", "h2", "pair", "hostname")
    assert (r.returncode, r.stdout) == (0, "h2\n")


@pytest.mark.parametrize(
    "args, words",
    [
        (["net", "run", "pair", "--host", "h9", "--", "true"], ["no host 'h9'", "h1, h2"]),
        (["net", "run", "stra", "--", "true"], ["unknown topology 'stra'", "star"]),
        (["net", "run", "star:hosts=abc", "--", "true"], ["hosts='abc'"]),
        (["net", "show", "chain:routrs=2"], ["unknown parameter 'routrs'"]),
        (["root", "--host", "h1", "--", "true"], ["needs --net or --join"]),
        (["net", "exec", "nosuchtopo", "h1", "--", "true"], ["no running topology"]),
        (["net", "up", "pair", "--name", "a/b"], ["no '/'"]),
        (["net", "up", "pair", "--name", "x" * 70], ["longer than"]),
    ],
)
def test_bad_input_is_one_line_exit_2(pycoz, args, words):
    r = pycoz(*args)
    assert r.returncode == 2, r
    assert r.stderr.count("\n") == 1, r.stderr
    for word in words:
        assert word in r.stderr


def test_show_json_describes_without_building(pycoz):
    # Builds nothing: traced, `net show` enters or makes no namespace at all
    # (`net run` shows both calls under the same trace).
    traced = pycoz(
        "trace",
        "-f",
        "-e",
        "trace=unshare,setns",
        "--",
        "pycoz",
        "net",
        "show",
        "pair",
        env={**os.environ, "PATH": os.path.dirname(PYCOZ) + ":" + os.environ["PATH"]},
    )
    assert traced.returncode == 0, traced.stderr
    assert "unshare(" not in traced.stderr and "setns(" not in traced.stderr
    assert "+++ exited with 0 +++" in traced.stderr
    r = pycoz("net", "show", "chain:routers=2", "--json")
    data = json.loads(r.stdout)
    assert [n["name"] for n in data["nodes"]] == ["h1", "r1", "r2", "h2"]
    assert "198.18.0.1/24" in data["nodes"][0]["interfaces"][0]["addresses"]


def test_topologies_lists_builtins_with_parameters(pycoz):
    rows = {row["name"]: row for row in json.loads(pycoz("net", "topologies", "--json").stdout)}
    assert {"isolated", "pair", "star", "chain", "dualstack", "v6rejected", "v6dropped"} <= set(
        rows
    )
    assert rows["star"]["parameters"]["hosts"]["type"] == "int"


def test_root_with_net_has_a_throwaway_root_in_the_host(pycoz, unique):
    r = pycoz(
        "root",
        "--net",
        "pair",
        "--host",
        "h2",
        "--",
        "sh",
        "-c",
        f"hostname; touch /etc/{unique}; ping -c1 -W2 h1 >/dev/null && echo reached",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["h2", "reached"]
    assert not os.path.exists(f"/etc/{unique}")


def test_named_topology_interoperates_with_ip_netns(pycoz, unique):
    name = f"n{unique}"
    r = pycoz("net", "up", "pair", "--name", name)
    try:
        assert r.returncode == 0, r.stderr
        assert {f"{name}-h1", f"{name}-h2"} <= netns_names()
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert f"{name}-h1" in listed
        ping = subprocess.run(
            ["ip", "netns", "exec", f"{name}-h1", "ping", "-c1", "-W2", "h2"],
            capture_output=True,
            text=True,
        )
        assert ping.returncode == 0, ping.stderr  # names work through /etc/netns too
        r = pycoz("net", "exec", name, "h2", "--", "hostname")
        assert (r.returncode, r.stdout) == (0, "h2\n")
        rows = json.loads(pycoz("net", "list", "--json").stdout)
        assert {"name": name, "status": "up"}.items() <= next(
            row for row in rows if row["name"] == name
        ).items()
        again = pycoz("net", "up", "pair", "--name", name)
        assert again.returncode == 2 and "already taken" in again.stderr
    finally:
        down = pycoz("net", "down", name)
    assert down.returncode == 0, down.stderr
    assert not {n for n in netns_names() if n.startswith(name)}
    assert not os.path.exists(f"/etc/netns/{name}-h1")


def test_prune_removes_a_broken_named_topology(pycoz, unique):
    name = f"p{unique}"
    assert pycoz("net", "up", "star:hosts=3", "--name", name).returncode == 0
    subprocess.run(["ip", "netns", "del", f"{name}-h2"], check=True)
    rows = {row["name"]: row for row in json.loads(pycoz("net", "list", "--json").stdout)}
    assert rows[name]["status"] == "broken"
    r = pycoz("net", "prune")
    assert name in r.stdout
    assert not {n for n in netns_names() if n.startswith(name)}


def test_twenty_runs_at_once(pycoz_bin):
    procs = [
        subprocess.Popen(
            [pycoz_bin, "net", "run", "pair", "--", "ping", "-c1", "-W3", "h2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(20)
    ]
    results = [(p.wait(timeout=60), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert all(code == 0 for code, _ in results), results


def test_sigkill_while_building_leaves_nothing(pycoz_bin, pycoz, unique):
    """Killed at random moments while building a star: nothing of it remains."""
    links_before = root_links()
    rng = random.Random(unique)
    for i in range(8):
        named = i % 2 == 1
        args = (
            ["net", "up", "star:hosts=20", "--name", f"k{unique}{i}"]
            if named
            else ["net", "run", "star:hosts=20", "--", "sleep", "5"]
        )
        p = subprocess.Popen(
            [pycoz_bin, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.0, 0.25))
        p.send_signal(signal.SIGKILL)
        p.wait()
    pycoz("net", "prune")  # named ones half-built (or complete) are pycoz's to remove
    for i in range(1, 8, 2):
        pycoz("net", "down", f"k{unique}{i}")  # complete ones are not broken: take them down
    assert root_links() == links_before
    assert not {n for n in netns_names() if n.startswith(f"k{unique}")}
    assert not [s for s in os.listdir("/run/pycoz/net") if s.startswith(f"k{unique}")]


def test_named_topology_survives_a_later_ip_netns_add(pycoz_bin, unique):
    """`ip netns add` binds /run/netns over itself when it is not a mount point; a
    topology named before must still be visible to `ip netns` and removable by
    `pycoz net down` (before: hidden under the bind, down failed with EBUSY).
    In a private mount namespace with a fresh /run, so the host's stays as it is."""
    from tests.system.helpers import sacrificial

    script = """
        mount -t tmpfs pycoz-test /run
        mkdir /run/netns
        "$1" net up pair --name "$2" >/dev/null
        ip netns add "$2-ip"
        ip netns exec "$2-h1" true && echo exec-ok
        "$1" net down "$2" >/dev/null && echo down-ok
        ip netns del "$2-ip"
        ls /run/netns | wc -l
    """
    r = sacrificial(script, pycoz_bin, unique)
    assert (r.returncode, r.stdout.split()) == (0, ["exec-ok", "down-ok", "0"]), r.stderr
