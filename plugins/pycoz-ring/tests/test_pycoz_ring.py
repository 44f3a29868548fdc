"""pycoz-ring, installed (pip install -e plugins/pycoz-ring), driven through pycoz.

The topologies are built for real (root): pings cross the routers of the ring
and the tree between namespaces these tests make.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

PYCOZ = str(pathlib.Path(sys.executable).parent / "pycoz")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="builds network namespaces: needs root")


def pycoz(*args, timeout=120):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYCOZ_")}
    return subprocess.run(
        [PYCOZ, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def test_installed_and_listed():
    r = pycoz("plugins", "--json")
    assert r.returncode == 0, r.stderr
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert "ring" in rows, "pycoz-ring is not installed: pip install -e plugins/pycoz-ring"
    ring = rows["ring"]
    assert (ring["distribution"], ring["version"]) == ("pycoz-ring", "0.1.0")
    assert ring["hooks"] == ["register_commands", "register_topologies"]
    assert ring["topologies"] == ["ring", "tree"] and ring["commands"] == ["reach"]
    assert "reach  Build TOPOLOGY, ping every host from" in pycoz("--help").stdout
    topologies = pycoz("net", "topologies").stdout
    assert "ring:hosts=4" in topologies and "tree:depth=2,fanout=2" in topologies


def test_ring_routes_the_shorter_way_round():
    shown = json.loads(pycoz("net", "show", "ring:hosts=5", "--json").stdout)
    h1 = next(n for n in shown["nodes"] if n["name"] == "h1")
    # h1 reaches h3's subnet (link 2) forward through h2, and link 3 backward through h5.
    assert "198.18.2.0/24 via 198.18.0.2" in h1["routes"]
    assert "198.18.3.0/24 via 198.18.4.1" in h1["routes"]
    assert "2001:db8:0:2::/64 via 2001:db8::2" in h1["routes"]


@needs_root
def test_ping_across_the_ring_by_name():
    r = pycoz("net", "run", "ring:hosts=4", "--host", "h1", "--", "ping", "-c1", "-W2", "h3")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 received" in r.stdout


@needs_root
def test_ping_between_the_far_leaves_of_a_tree_over_ipv6():
    shown = json.loads(pycoz("net", "show", "tree:depth=3,fanout=2", "--json").stdout)
    h8 = next(n for n in shown["nodes"] if n["name"] == "h8")
    v6 = next(a for a in h8["interfaces"][0]["addresses"] if ":" in a).split("/")[0]
    r = pycoz(
        "net", "run", "tree:depth=3,fanout=2", "--host", "h1", "--", "ping", "-c1", "-W2", v6
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 received" in r.stdout


@needs_root
def test_reach_says_every_host_reaches_every_other():
    r = pycoz("reach", "ring:hosts=4")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "12 of 12 pairs reach each other"
    r = pycoz("reach", "-6", "--json", "tree:depth=2,fanout=2")
    assert r.returncode == 0, r.stderr
    matrix = json.loads(r.stdout)
    assert sorted(matrix) == ["h1", "h2", "h3", "h4", "r0", "r1", "r2"]
    assert all(all(row.values()) and len(row) == 6 for row in matrix.values())


@needs_root
def test_reach_reports_who_does_not():
    # r1 refuses IPv6 to server with ICMPv6 (by=reset would answer the ping itself).
    r = pycoz("reach", "-6", "--json", "v6rejected:by=prohibit")
    assert r.returncode == 1, r.stderr
    matrix = json.loads(r.stdout)
    assert matrix["client"] == {"r1": True, "server": False}
    assert matrix["r1"] == {"client": True, "server": False}  # r1 refuses its own too


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("ring:hosts=2", "ring: hosts=2: use 3 to 250\n"),
        ("tree:depth=0", "tree: depth=0: use 1 to 6\n"),
        ("tree:depth=6,fanout=3", "tree: depth=6,fanout=3: 1092 links, more than 250\n"),
        ("ring:size=3", "topology ring: unknown parameter 'size' (parameters: hosts)\n"),
    ],
)
def test_bad_parameters_are_one_line(spec, message):
    r = pycoz("net", "show", spec)
    assert r.returncode == 2
    assert r.stderr == f"pycoz net show: {message}"
