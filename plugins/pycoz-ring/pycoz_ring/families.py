"""Ring and tree topologies, IPv4 and IPv6, with static routes on every node.

Each link is a subnet of its own: link k is 198.18.k.0/24 and 2001:db8:0:k::/64
(its first end .1/::1, its second .2/::2).  Every node forwards, so any host
reaches any other: around the ring by the shorter way, up and down the tree.
"""

from __future__ import annotations

import ipaddress

from pycoz_cli.plugin_api import Route, SpecError, Topology

V4 = ipaddress.ip_network("198.18.0.0/15")
V6 = ipaddress.ip_network("2001:db8::/32")
FORWARDING = {"net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "1"}
MAX_LINKS = 250


def _subnet(k: int) -> tuple[str, str]:
    v4 = ipaddress.ip_network(f"{V4.network_address + k * 256}/24")
    v6 = ipaddress.ip_network(f"{V6.network_address + (k << 64)}/64")
    return str(v4), str(v6)


def _end(k: int, end: int) -> tuple[str, str]:
    """The addresses (with prefix) of end 1 or 2 of link k."""
    v4, v6 = (ipaddress.ip_network(n) for n in _subnet(k))
    return f"{v4.network_address + end}/24", f"{v6.network_address + end}/64"


def _ip(addr: str) -> str:
    return addr.partition("/")[0]


def ring(hosts: int = 4) -> Topology:
    """Hosts h1..hN in a ring; link k joins h(k+1) (end 1) and h(k+2) (end 2)."""
    if not 3 <= hosts <= MAX_LINKS:
        raise SpecError(f"ring: hosts={hosts}: use 3 to {MAX_LINKS}")
    topo = Topology(f"ring:hosts={hosts}")
    names = [f"h{i}" for i in range(1, hosts + 1)]
    for name in names:
        topo.add_node(name).sysctls.update(FORWARDING)
    for k in range(hosts):
        topo.connect(names[k], names[(k + 1) % hosts], _end(k, 1), _end(k, 2))
    for i, name in enumerate(names):
        node = topo.nodes[name]
        for k in range(hosts):
            ahead = (k - i) % hosts  # links between us and link k, going forward
            behind = hosts - 1 - ahead  # ... going backward
            if ahead == 0 or behind == 0:
                continue  # our own link: connected
            # Forward: the next host's end of our forward link (link i, end 2);
            # backward: the previous host's end of link i-1 (end 1).
            via = _end(i, 2) if ahead <= behind else _end((i - 1) % hosts, 1)
            for dst, gw in zip(_subnet(k), via, strict=True):
                node.routes.append(Route(dst, _ip(gw)))
    return topo


def tree(depth: int = 2, fanout: int = 2) -> Topology:
    """Routers r0..rN (r0 the root) in a ``fanout``-ary tree ``depth`` levels deep;
    each router of the last level has ``fanout`` hosts h1..hM."""
    if not 1 <= depth <= 6:
        raise SpecError(f"tree: depth={depth}: use 1 to 6")
    if not 1 <= fanout <= 16:
        raise SpecError(f"tree: fanout={fanout}: use 1 to 16")
    links = sum(fanout**level for level in range(1, depth + 1))
    if links > MAX_LINKS:
        raise SpecError(
            f"tree: depth={depth},fanout={fanout}: {links} links, more than {MAX_LINKS}"
        )
    topo = Topology(f"tree:depth={depth},fanout={fanout}")
    parent: dict[str, tuple[str, int]] = {}  # node -> (its parent, the link between them)
    children: dict[str, list[str]] = {"r0": []}
    topo.add_node("r0", "router")
    level, routers, hosts = ["r0"], 1, 0
    for d in range(1, depth + 1):
        below = []
        for up in level:
            for _ in range(fanout):
                if d < depth:
                    name = f"r{routers}"
                    routers += 1
                    topo.add_node(name, "router")
                    children[name] = []
                else:
                    hosts += 1
                    name = f"h{hosts}"
                    topo.add_node(name)
                k = len(topo.links)
                topo.connect(up, name, _end(k, 1), _end(k, 2))
                parent[name] = (up, k)
                children[up].append(name)
                below.append(name)
        level = below
    # Hosts and routers send everything they do not know up to their parent;
    # routers send each subnet below a child to that child.
    for name, (_up, k) in parent.items():
        for gw in _end(k, 1):
            topo.nodes[name].routes.append(Route("default", _ip(gw)))
    for name in children:
        for child in children[name]:
            k = parent[child][1]
            for below in _subtree_links(child, children, parent):
                for dst, gw in zip(_subnet(below), _end(k, 2), strict=True):
                    topo.nodes[name].routes.append(Route(dst, _ip(gw)))
    return topo


def _subtree_links(node: str, children: dict, parent: dict) -> list[int]:
    """Links below ``node`` (not the one to its parent)."""
    out = []
    for child in children.get(node, ()):
        out.append(parent[child][1])
        out += _subtree_links(child, children, parent)
    return out
