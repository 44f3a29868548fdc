"""`pycoz net show --format dot|svg`: the topology drawn by Graphviz."""

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

from pycoz_cli.core.net import draw, topofile

LAB = textwrap.dedent(
    r"""
    name = 'lab "one" \ two'
    [hosts.client]
    routes = ["default via 2001:db8::2"]
    uplink = true
    [routers.r1]
    [switches.s1]
    [hosts.server]
    root = { tmpfs = ["/srv"] }
    [[links]]
    a = "client:wan0"
    b = "r1"
    a_addresses = ["198.18.0.1/24", "2001:db8::1/64"]
    b_addresses = ["198.18.0.2/24", "2001:db8::2/64"]
    mtu = 1400
    delay = "20ms"
    [links.b_to_a]
    rate = "1mbit"
    [[links]]
    a = "r1"
    b = "s1"
    a_addresses = ["198.18.1.1/24"]
    [[links]]
    a = "server"
    b = "s1"
    a_addresses = ["198.18.1.2/24"]
    """
)

_STRING = r'"((?:[^"\\]|\\.)*)"'


def unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], text)


def parse(dot: str) -> dict:
    """The graph's name, nodes (name -> attributes) and edges ((a, b, attributes)),
    read back from DOT as pycoz writes it: one statement per line."""
    attr = re.compile(rf"(\w+)=(?:{_STRING}|(\w+))")
    lines = dot.splitlines()
    m = re.fullmatch(rf"graph {_STRING} {{", lines[0])
    assert m and lines[-1] == "}", dot
    graph = {"name": unquote(m[1]), "nodes": {}, "edges": []}
    for line in lines[1:-1]:
        edge = re.fullmatch(rf"  {_STRING} -- {_STRING} \[(.*)\];", line)
        node = re.fullmatch(rf"  {_STRING} \[(.*)\];", line)
        attrs = {}
        for a in attr.finditer((edge or node)[3 if edge else 2] if (edge or node) else ""):
            attrs[a[1]] = unquote(a[2]) if a[2] is not None else a[3]
        if edge:
            graph["edges"].append((unquote(edge[1]), unquote(edge[2]), attrs))
        elif node:
            graph["nodes"][unquote(node[1])] = attrs
    return graph


def test_dot_has_every_node_link_interface_address_and_impairment():
    topo = topofile.loads(LAB, "lab.toml")
    graph = parse(draw.to_dot(topo))
    assert graph["name"] == 'lab "one" \\ two'
    assert {n: a["shape"] for n, a in graph["nodes"].items()} == {
        "client": "box",
        "r1": "ellipse",
        "s1": "box3d",
        "server": "box",
    }
    assert graph["nodes"]["client"]["label"] == (
        "client (host)\nroute default via 2001:db8::2\nuplink0 10.0.2.100/24 (to the outside)"
    )
    assert graph["nodes"]["server"]["label"] == "server (host)\nown root: base /, tmpfs /srv"
    (wan, lan, port) = graph["edges"]
    assert wan == (
        "client",
        "r1",
        {
            "taillabel": "wan0\n198.18.0.1/24\n2001:db8::1/64\nmtu 1400",
            "headlabel": "eth0\n198.18.0.2/24\n2001:db8::2/64\nmtu 1400",
            "label": "client -> r1: delay 20ms\nr1 -> client: delay 20ms, rate 1mbit",
            "style": "dashed",
        },
    )
    assert lan == ("r1", "s1", {"taillabel": "eth1\n198.18.1.1/24", "headlabel": "r1"})
    assert port == ("server", "s1", {"taillabel": "eth0\n198.18.1.2/24", "headlabel": "server"})


needs_graphviz = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz is not installed (.ci/run installs it)"
)


@needs_graphviz
def test_graphviz_reads_the_dot_as_written():
    topo = topofile.loads(LAB, "lab.toml")
    done = subprocess.run(
        ["dot", "-Tjson"], input=draw.to_dot(topo), capture_output=True, text=True, check=True
    )
    assert done.stderr == ""
    laid = json.loads(done.stdout)
    assert laid["name"] == 'lab "one" \\\\ two'  # kept escaped, as the label's text
    assert [o["name"] for o in laid["objects"]] == ["client", "r1", "s1", "server"]
    names = [o["name"] for o in laid["objects"]]
    assert [(names[e["tail"]], names[e["head"]]) for e in laid["edges"]] == [
        ("client", "r1"),
        ("r1", "s1"),
        ("server", "s1"),
    ]
    assert (
        laid["edges"][0]["label"]
        == "client -> r1: delay 20ms\\nr1 -> client: delay 20ms, rate 1mbit"
    )


def pycoz(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "pycoz_cli", *args], capture_output=True, text=True, env=env
    )


@needs_graphviz
def test_show_draws_svg_with_graphviz(tmp_path):
    lab = tmp_path / "lab.toml"
    lab.write_text(LAB)
    r = pycoz("net", "show", str(lab), "--format", "svg")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("<?xml") and r.stdout.rstrip().endswith("</svg>")
    for text in ("client (host)", "wan0", "198.18.0.1/24", "rate 1mbit"):
        assert text in r.stdout
    r = pycoz("net", "show", "chain:routers=2", "--format", "dot")
    assert r.returncode == 0 and set(parse(r.stdout)["nodes"]) == {"h1", "r1", "r2", "h2"}


def test_svg_without_graphviz_is_one_line(tmp_path):
    bare = tmp_path / "bin"
    bare.mkdir()
    env = {**os.environ, "PATH": str(bare)}
    r = pycoz("net", "show", "pair", "--format", "svg", env=env)
    assert r.returncode == 125
    assert r.stdout == ""
    assert r.stderr == (
        "pycoz net show: --format svg: needs Graphviz's dot program, which is not installed "
        "(apt-get install graphviz); --format dot prints the graph for it\n"
    )
