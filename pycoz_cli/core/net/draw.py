"""Drawing a topology: Graphviz's DOT language (``pycoz net show --format dot``),
and SVG through Graphviz's own ``dot`` program where it is installed.

DOT is plain text, written here directly: nodes with their kind (a host is a box,
a router an ellipse, a switch a box3d), routes and own root; one edge per link,
with the interface name and addresses at each end and the impairments of each
direction in its label.  Graphviz lays it out; pycoz draws nothing itself.
"""

from __future__ import annotations

import shutil
import subprocess

from pycoz_cli.core.net.topology import Topology
from pycoz_cli.errors import SetupError

_SHAPES = {"host": "box", "router": "ellipse", "switch": "box3d"}


def quote(text: str) -> str:
    """A DOT string: double-quoted, with quotes and backslashes escaped and
    newlines as ``\\n`` (a centred line break in a label)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def to_dot(topo: Topology) -> str:
    """The topology as a DOT graph (``graph``: links carry traffic both ways)."""
    lines = [
        f"graph {quote(topo.name)} {{",
        f"  label={quote('topology ' + topo.name)};",
        '  labelloc="t";',
        '  node [fontname="monospace", fontsize=10];',
        '  edge [fontname="monospace", fontsize=9];',
    ]
    for node in topo.nodes.values():
        label = [f"{node.name} ({node.kind})"]
        label += [f"route {route}" for route in node.routes]
        if node.root is not None:
            label.append(f"own root: {node.root.describe()}")
        if node.uplink:
            label.append("uplink0 10.0.2.100/24 (to the outside)")
        attrs = f"shape={_SHAPES.get(node.kind, 'box')}, label={quote(chr(10).join(label))}"
        lines.append(f"  {quote(node.name)} [{attrs}];")
    for link in topo.links:
        ends = []
        for node, ifname in (link.a, link.b):
            iface = topo.nodes[node].interfaces[ifname]
            text = "\n".join([ifname, *map(str, iface.addresses)])
            if iface.mtu:
                text += f"\nmtu {iface.mtu}"
            ends.append(text)
        impaired = []
        for sender, receiver in ((link.a, link.b), (link.b, link.a)):
            impair = link.impair.get(sender)
            if impair:
                impaired.append(f"{sender[0]} -> {receiver[0]}: {impair.describe()}")
        attrs = [f"taillabel={quote(ends[0])}", f"headlabel={quote(ends[1])}"]
        if impaired:
            attrs += [f"label={quote(chr(10).join(impaired))}", "style=dashed"]
        lines.append(f"  {quote(link.a[0])} -- {quote(link.b[0])} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_svg(topo: Topology) -> str:
    """The topology drawn as SVG by Graphviz's ``dot``; ``SetupError`` in one line
    when Graphviz is not installed or ``dot`` fails."""
    dot = shutil.which("dot")
    if dot is None:
        raise SetupError(
            "--format svg: needs Graphviz's dot program, which is not installed "
            "(apt-get install graphviz); --format dot prints the graph for it"
        )
    done = subprocess.run(
        [dot, "-Tsvg"], input=to_dot(topo), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[0]
        raise SetupError(f"--format svg: {dot} failed: {first}")
    return done.stdout
