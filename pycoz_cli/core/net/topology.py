"""Network topologies: the model, the built-ins, and building them in the kernel.

A ``Topology`` is plain data: nodes (hosts, routers, switches) with interfaces,
addresses, routes and sysctls, and links between interfaces with optional
impairments per direction.  ``Network`` makes one real: a network namespace per
node, a veth pair per link created with both ends directly inside their
namespaces (nothing ever appears in the host's namespace, so parallel runs never
collide), a bridge per switch, then addresses, routes and links up — all over
rtnetlink from this process, pipelined per namespace.

Ephemeral networks are held by fds and vanish with pycoz; named ones are bound
on /run/netns/NAME-NODE (``ip netns`` sees them) and removed by ``teardown``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import signal
import time
from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass, fields, replace

from pycoz_cli.errors import SetupError, SpecError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

V4_BASE = ipaddress.ip_network("198.18.0.0/15")
V6_BASE = ipaddress.ip_network("2001:db8::/32")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,14}")
IFNAMSIZ = 15
BRIDGE_INDEX = 2
#: Ports a Linux bridge takes (BR_MAX_PORTS - 1: port numbers are 10 bits and 0 is
#: reserved); one more fails with EXFULL.  A switch is one bridge: a tree of
#: bridges would build, but a broadcast to that many veth ends overruns the
#: per-CPU backlog (net.core.netdev_max_backlog, 1000, machine-wide) and is lost.
BRIDGE_MAX_PORTS = 1023
PORT_LIMIT_REASON = f"a switch is a Linux bridge, which takes at most {BRIDGE_MAX_PORTS} ports"


@dataclass(slots=True)
class Impairment:
    """netem-style impairments for one direction of a link (tc-netem(8)).

    ``delay_ms`` and ``jitter_ms`` (milliseconds; jitter: uniform ±), ``loss``,
    ``corrupt``, ``duplicate`` and ``reorder`` (percent), each of those four
    with a ``*_corr`` correlation (percent: how much a packet's chance follows
    the last one's, netem's CORRELATION), ``gap`` (reorder: every GAPth packet
    may go first; 1 when reorder is given alone), ``rate_bps`` (bits/s),
    ``limit`` (packets queued at most; 0: netem's default, 1000).
    """

    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    loss: float = 0.0
    corrupt: float = 0.0
    rate_bps: int = 0
    _: KW_ONLY
    duplicate: float = 0.0
    reorder: float = 0.0
    gap: int = 0
    limit: int = 0
    loss_corr: float = 0.0
    corrupt_corr: float = 0.0
    duplicate_corr: float = 0.0
    reorder_corr: float = 0.0

    def __bool__(self) -> bool:
        """Whether it changes anything (a limit or correlations alone do not)."""
        return bool(
            self.delay_ms
            or self.jitter_ms
            or self.loss
            or self.corrupt
            or self.rate_bps
            or self.duplicate
            or self.reorder
        )

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}

    def describe(self) -> str:
        """``delay 100ms, loss 1%``: the settings as a topology file writes them."""
        from pycoz_cli.core.net.topofile import format_duration, format_percent, format_rate

        shown = [
            ("delay", self.delay_ms, format_duration),
            ("jitter", self.jitter_ms, format_duration),
            ("loss", self.loss, format_percent),
            ("loss_correlation", self.loss_corr, format_percent),
            ("corrupt", self.corrupt, format_percent),
            ("corrupt_correlation", self.corrupt_corr, format_percent),
            ("duplicate", self.duplicate, format_percent),
            ("duplicate_correlation", self.duplicate_corr, format_percent),
            ("reorder", self.reorder, format_percent),
            ("reorder_correlation", self.reorder_corr, format_percent),
            ("gap", self.gap, str),
            ("rate", self.rate_bps, format_rate),
            ("limit", self.limit, str),
        ]
        return ", ".join(f"{key} {fmt(value)}" for key, value, fmt in shown if value) or "none"


class Interface:
    """One end of a link inside a node: ``name`` (``eth0``), its ``addresses``
    (``ipaddress.IPv4Interface``/``IPv6Interface``, with prefix lengths), its
    ``mtu`` (None: the kernel's 1500) and ``peer``, the (node, interface) at
    the other end.  Made by ``Topology.connect``."""

    __slots__ = ("addresses", "mtu", "name", "peer")

    def __init__(self, name: str, addresses: Iterable[str] = (), mtu: int | None = None) -> None:
        self.name = name
        self.addresses = [ipaddress.ip_interface(a) for a in addresses]
        self.mtu = mtu
        #: (node, interface) at the other end of the link.
        self.peer: tuple[str, str] | None = None


class Route:
    """A route of a node (``Node.add_route``): to ``dst`` (a network, or
    ``"default"``: ``0.0.0.0/0``, or ``::/0`` when ``via`` is IPv6) through the
    gateway ``via`` (None: on-link); ``kind`` is ``"unicast"``, or
    ``"unreachable"``/``"prohibit"``/``"blackhole"`` for a route that rejects
    (ICMP unreachable, prohibited) or silently drops its traffic.  ``str()`` is
    ``ip route``'s form: ``198.18.2.0/24 via 198.18.1.1``."""

    __slots__ = ("dst", "kind", "via")

    def __init__(self, dst: str, via: str | None = None, kind: str = "unicast") -> None:
        self.dst = (
            ipaddress.ip_network(_v6_default(dst, via))
            if dst == "default"
            else ipaddress.ip_network(dst, strict=False)
        )
        self.via = ipaddress.ip_address(via) if via else None
        self.kind = kind

    def __str__(self) -> str:
        text = "default" if self.dst.prefixlen == 0 else str(self.dst)
        if self.kind != "unicast":
            text = f"{self.kind} {text}"
        return text + (f" via {self.via}" if self.via else "")


def _v6_default(dst: str, via: str | None) -> str:
    return "::/0" if via and ":" in via else "0.0.0.0/0"


#: How long a host command may take to be ready (``CommandSpec.timeout``), seconds.
READY_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """What pycoz waits for once a host command starts, and where it was declared.

    ``ready`` is ``("tcp", PORT)`` or ``("udp", PORT)`` (a socket of the host
    listening on PORT), ``("exit", 0)`` (the command ends with status 0), or None
    (nothing: the next command starts at once).  ``where`` names it in errors
    (``lab.toml:7: hosts.server.commands[0]``); None for ``Topology.command`` to
    name it by topology, node and index.
    """

    ready: tuple[str, int] | None = None
    timeout: float = READY_TIMEOUT
    where: str | None = None


class Node:
    """A host, router or switch: one network namespace (``Topology.add_node``).

    ``interfaces`` maps interface names to ``Interface`` (made by
    ``Topology.connect``); ``routes`` is a list of ``Route``; ``sysctls`` maps
    names (``net.ipv4.ip_forward``) to values, set inside the node's namespace
    only; ``commands`` are argv lists started once the network is up.
    """

    __slots__ = ("command_specs", "commands", "interfaces", "kind", "name", "routes", "sysctls")

    def __init__(self, name: str, kind: str = "host") -> None:
        self.name = name
        self.kind = kind
        self.interfaces: dict[str, Interface] = {}
        self.routes: list[Route] = []
        self.sysctls: dict[str, str] = {}
        #: Commands started on the host once the network is up (argv lists).
        self.commands: list[list[str]] = []
        #: What ``add_command`` was told about each of them.
        self.command_specs: list[CommandSpec] = []

    def add_route(self, dst: str, via: str | None = None, kind: str = "unicast") -> Route:
        """Add a route to ``dst`` (a network, or ``"default"``) through ``via``
        (an address on one of the node's links; None: on-link); ``kind`` as
        ``Route``'s.  Returns it.  Hosts get no default route on their own:
        add one to reach beyond their links (see the built-in ``chain``).

        >>> topo.nodes["h1"].add_route("default", via="198.18.1.1")  # doctest: +SKIP
        """
        route = Route(dst, via, kind)
        self.routes.append(route)
        return route

    def add_command(self, argv: list[str], spec: CommandSpec | None = None) -> None:
        """Declare a command to start on this node once the network is up
        (after ``pycoz_network_up``), in the order declared; ``spec`` says
        what to wait for before the next one starts (``CommandSpec``)."""
        self.commands.append(list(argv))
        self.command_specs.append(spec or CommandSpec())

    def addresses(self, version: int | None = None) -> list[IPAddress]:
        """The node's addresses on all its interfaces (without prefix lengths),
        only IPv4 or IPv6 ones with ``version`` 4 or 6."""
        return [
            a.ip
            for i in self.interfaces.values()
            for a in i.addresses
            if version is None or a.version == version
        ]


class Link:
    """A veth pair between ``a`` and ``b``, each a (node, interface) pair; made
    by ``Topology.connect``.  ``impair`` maps a sending end to its
    ``Impairment`` (netem: delay, loss...).  ``name``, if given, names it
    (``--impair NAME``, ``net set LAB NAME``): two links between the same two
    nodes need it, or their ``NODE:IF-NODE:IF`` labels."""

    __slots__ = ("a", "adjustable", "b", "impair", "name")

    def __init__(self, a: tuple[str, str], b: tuple[str, str], name: str | None = None) -> None:
        self.a = a
        self.b = b
        self.name = name
        #: Keyed by the sending end: impair[a] applies to traffic from a to b.
        self.impair: dict[tuple[str, str], Impairment] = {}
        #: Declared with ``--impair LINK`` and no setting.  Kept for plugins
        #: that set it: any link changes at run time now (``net set``).
        self.adjustable = False

    @property
    def label(self) -> str:
        return f"{self.a[0]}:{self.a[1]}-{self.b[0]}:{self.b[1]}"


class Topology:
    """A network to build: nodes and the links between them (plain data).

    A topology factory (``register_topologies``) makes one and returns it;
    pycoz checks it (``check``) and builds it (``Network``): a network
    namespace per node, a veth pair per link, a bridge per switch, then
    addresses, routes, sysctls, and the nodes' commands.  Nothing is made
    while the model is built, so a factory is cheap and safe to call.

    >>> topo = Topology("two")
    >>> _ = topo.add_node("h1"), topo.add_node("h2")
    >>> _ = topo.connect("h1", "h2", ["198.18.0.1/24"], ["198.18.0.2/24"])
    >>> topo.hosts(), [str(a) for a in topo.nodes["h1"].addresses()]
    (['h1', 'h2'], ['198.18.0.1'])

    Use addresses from 198.18.0.0/15 and 2001:db8::/32 (set aside for test
    networks and documentation), as the built-ins do.
    """

    def __init__(self, name: str) -> None:
        """``name`` is shown by ``pycoz net show`` and errors: by convention
        the spec that made it (``mesh:nodes=3``)."""
        self.name = name
        self.nodes: dict[str, Node] = {}
        self.links: list[Link] = []

    # --- construction (used by built-ins and the file loader) ----------------

    def add_node(self, name: str, kind: str = "host") -> Node:
        """Add a node and return it.

        ``name``: 1-15 letters, digits, ``-`` or ``_``, starting with a letter,
        unique in the topology (it names the namespace and the hostname).
        ``kind``: ``"host"`` (runs commands: ``--host NAME``), ``"router"``
        (a host with IPv4 and IPv6 forwarding on) or ``"switch"`` (a bridge:
        the nodes linked to it share one segment; it has no addresses).
        A bad or repeated name raises ``SpecError``.
        """
        if not _NAME.fullmatch(name):
            raise SpecError(
                f"topology {self.name}: node name {name!r}: use 1-15 letters, "
                "digits, '-' or '_', starting with a letter"
            )
        if name in self.nodes:
            raise SpecError(f"topology {self.name}: node {name!r} defined twice")
        node = self.nodes[name] = Node(name, kind)
        if kind == "router":
            node.sysctls.update({"net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "1"})
        return node

    def connect(
        self,
        a: str,
        b: str,
        a_addrs: Iterable[str] = (),
        b_addrs: Iterable[str] = (),
        a_if: str | None = None,
        b_if: str | None = None,
        mtu: int | None = None,
        name: str | None = None,
    ) -> Link:
        """Link node ``a`` to node ``b`` (a veth pair) and return the ``Link``.

        ``a_addrs``, ``b_addrs``: the addresses of each end, with their prefix
        lengths (``["198.18.1.1/24", "2001:db8:1::1/64"]``); a switch end takes
        none.  ``a_if``, ``b_if``: the interface names (at most 15 characters;
        default ``eth0``, ``eth1``... in the order of links, and on a switch
        the name of the node plugged in).  ``mtu``: of both ends (None: 1500).
        ``name``: the link's own name (unique), to tell apart two links between
        the same nodes.  The kernel adds the on-link route of each address; add others with
        ``Node.add_route``.  An unknown node, or a repeated or too long
        interface name, raises ``SpecError``.
        """
        ends = []
        for node_name, addrs, ifname, other in ((a, a_addrs, a_if, b), (b, b_addrs, b_if, a)):
            node = self.nodes.get(node_name)
            if node is None:
                raise SpecError(f"topology {self.name}: link to unknown node {node_name!r}")
            ifname = ifname or self._ifname(node, other)
            if ifname in node.interfaces:
                raise SpecError(
                    f"topology {self.name}: {node_name} has two interfaces named {ifname!r}"
                )
            if len(ifname) > IFNAMSIZ:
                raise SpecError(
                    f"topology {self.name}: interface name {ifname!r} is longer "
                    f"than {IFNAMSIZ} characters"
                )
            node.interfaces[ifname] = Interface(ifname, addrs, mtu)
            ends.append((node_name, ifname))
        if name is not None and any(lk.name == name for lk in self.links):
            raise SpecError(f"topology {self.name}: two links named {name!r}")
        link = Link(ends[0], ends[1], name)
        self.nodes[a].interfaces[ends[0][1]].peer = ends[1]
        self.nodes[b].interfaces[ends[1][1]].peer = ends[0]
        self.links.append(link)
        return link

    def _ifname(self, node: Node, other: str) -> str:
        if (
            node.kind == "switch"
            and len(other) <= IFNAMSIZ
            and other not in node.interfaces
            and other != "br0"
        ):
            return other  # a switch port is named after what plugs into it
        n = 0
        while f"eth{n}" in node.interfaces:
            n += 1
        return f"eth{n}"

    # --- queries -------------------------------------------------------------

    def hosts(self) -> list[str]:
        """The names of the nodes a command can run in (hosts and routers), in
        the order they were added."""
        return [n.name for n in self.nodes.values() if n.kind != "switch"]

    def command(self, node: str, i: int) -> CommandSpec:
        """The spec of command ``i`` of ``node``, named for errors (commands that a
        plugin appended to ``Node.commands`` directly get the default spec)."""
        specs = self.nodes[node].command_specs
        spec = specs[i] if i < len(specs) else CommandSpec()
        if spec.where is None:
            spec = replace(spec, where=f"topology {self.name}: {node}.commands[{i}]")
        return spec

    def interface_addresses(self, node: str) -> list[str]:
        """The addresses of ``node`` with their prefix lengths, as text."""
        return [str(a) for i in self.nodes[node].interfaces.values() for a in i.addresses]

    def first_host(self) -> str:
        for node in self.nodes.values():
            if node.kind == "host":
                return node.name
        return next(iter(self.nodes))

    def link(self, label: str) -> Link:
        """A link by its ``name``, its ``NODE:IF-NODE:IF`` label (either way
        round), or ``NODE-NODE`` when only one link joins the two nodes."""
        return self.links[find_link(self.name, label, [(lk.name, lk.a, lk.b) for lk in self.links])]

    def hosts_file(self) -> str:
        """/etc/hosts for every node: each name resolves to its first addresses."""
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
        for node in self.nodes.values():
            if node.kind == "switch":
                continue
            for version in (4, 6):
                addrs = node.addresses(version)
                if addrs:
                    lines.append(f"{addrs[0]}\t{node.name}")
        return "\n".join(lines) + "\n"

    def check(self) -> None:
        """An address on two interfaces, or a switch with more ports than a bridge
        takes, is an error (topology files check routes too)."""
        seen: dict = {}
        for node in self.nodes.values():
            if node.kind == "switch" and len(node.interfaces) > BRIDGE_MAX_PORTS:
                raise SpecError(
                    f"topology {self.name}: switch {node.name} has {len(node.interfaces)} "
                    f"ports: {PORT_LIMIT_REASON}"
                )
            for iface in node.interfaces.values():
                for addr in iface.addresses:
                    where = f"{node.name}:{iface.name}"
                    if addr.ip in seen:
                        raise SpecError(
                            f"topology {self.name}: address {addr.ip} is on both "
                            f"{seen[addr.ip]} and {where}"
                        )
                    seen[addr.ip] = where

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "nodes": [
                {
                    "name": node.name,
                    "kind": node.kind,
                    "interfaces": [
                        {
                            "name": i.name,
                            "addresses": [str(a) for a in i.addresses],
                            **({"mtu": i.mtu} if i.mtu else {}),
                            "peer": f"{i.peer[0]}:{i.peer[1]}" if i.peer else None,
                        }
                        for i in node.interfaces.values()
                    ],
                    "routes": [str(r) for r in node.routes],
                    **({"sysctls": node.sysctls} if node.sysctls else {}),
                    **({"commands": node.commands} if node.commands else {}),
                }
                for node in self.nodes.values()
            ],
            "links": [
                {
                    **({"name": lk.name} if lk.name else {}),
                    "a": f"{lk.a[0]}:{lk.a[1]}",
                    "b": f"{lk.b[0]}:{lk.b[1]}",
                    **(
                        {
                            "impair": {
                                f"{k[0]}:{k[1]}": v.to_dict() for k, v in lk.impair.items() if v
                            }
                        }
                        if any(lk.impair.values())
                        else {}
                    ),
                }
                for lk in self.links
            ],
        }


# --- built-in topologies ---------------------------------------------------------


def _v4(net: int, host: int, prefix: int = 24) -> str:
    return f"{V4_BASE.network_address + net * 256 + host}/{prefix}"


def _v6(net: int, host: int) -> str:
    return f"{ipaddress.ip_address(int(V6_BASE.network_address) + (net << 64) + host)}/64"


def isolated() -> Topology:
    """One host ``h1``, loopback only."""
    topo = Topology("isolated")
    topo.add_node("h1")
    return topo


def pair() -> Topology:
    """``h1`` and ``h2`` on one link, IPv4 and IPv6."""
    topo = Topology("pair")
    topo.add_node("h1")
    topo.add_node("h2")
    topo.connect("h1", "h2", [_v4(0, 1), _v6(0, 1)], [_v4(0, 2), _v6(0, 2)])
    return topo


def star(hosts: int = 3) -> Topology:
    """Hosts ``h1..hN`` on one switch ``s1`` (a bridge), IPv4 and IPv6."""
    if not 1 <= hosts <= BRIDGE_MAX_PORTS:
        raise SpecError(f"star: hosts={hosts}: use 1 to {BRIDGE_MAX_PORTS} ({PORT_LIMIT_REASON})")
    topo = Topology(f"star:hosts={hosts}")
    topo.add_node("s1", "switch")
    for i in range(1, hosts + 1):
        topo.add_node(f"h{i}")
        v4 = f"{V4_BASE.network_address + i}/16"
        topo.connect(f"h{i}", "s1", [v4, _v6(0, i)])
    return topo


def chain(routers: int = 1) -> Topology:
    """``h1``, routers ``r1..rN``, ``h2`` in a line, routed end to end."""
    if not 1 <= routers <= 250:
        raise SpecError(f"chain: routers={routers}: use 1 to 250")
    topo = Topology(f"chain:routers={routers}")
    names = ["h1", *(f"r{i}" for i in range(1, routers + 1)), "h2"]
    for name in names:
        topo.add_node(name, "router" if name.startswith("r") else "host")
    for k in range(len(names) - 1):
        topo.connect(names[k], names[k + 1], [_v4(k, 1), _v6(k, 1)], [_v4(k, 2), _v6(k, 2)])
    last = len(names) - 2  # index of the last subnet
    topo.nodes["h1"].routes += [Route("default", _ip(_v4(0, 2))), Route("default", _ip(_v6(0, 2)))]
    topo.nodes["h2"].routes += [
        Route("default", _ip(_v4(last, 1))),
        Route("default", _ip(_v6(last, 1))),
    ]
    for i in range(1, routers + 1):
        # Router ri sits between subnet i-1 (left) and subnet i (right).
        node = topo.nodes[f"r{i}"]
        for k in range(last + 1):
            if k < i - 1:
                gw4, gw6 = _ip(_v4(i - 1, 1)), _ip(_v6(i - 1, 1))
            elif k > i:
                gw4, gw6 = _ip(_v4(i, 2)), _ip(_v6(i, 2))
            else:
                continue
            node.routes += [Route(_net(_v4(k, 0)), gw4), Route(_net(_v6(k, 0)), gw6)]
    return topo


def _dual(name: str, v6_route_kind: str | None) -> Topology:
    topo = Topology(name)
    for node, kind in (("client", "host"), ("r1", "router"), ("server", "host")):
        topo.add_node(node, kind)
    topo.connect("client", "r1", [_v4(0, 1), _v6(0, 1)], [_v4(0, 2), _v6(0, 2)])
    topo.connect("r1", "server", [_v4(1, 1), _v6(1, 1)], [_v4(1, 2), _v6(1, 2)])
    topo.nodes["client"].routes += [
        Route("default", _ip(_v4(0, 2))),
        Route("default", _ip(_v6(0, 2))),
    ]
    topo.nodes["server"].routes += [
        Route("default", _ip(_v4(1, 1))),
        Route("default", _ip(_v6(1, 1))),
    ]
    server_v6 = _ip(_v6(1, 2))
    if v6_route_kind == "unreachable":
        # On the client: its connect() to the server's IPv6 address fails at once
        # with ENETUNREACH, as on a host whose IPv6 has no way out.  (An ICMPv6
        # refusal from r1 would arrive while connect() still holds the socket on a
        # zero-latency veth, be taken as a soft error, and only count on the SYN's
        # retransmission a second later.)
        topo.nodes["client"].routes.append(Route(f"{server_v6}/128", kind="unreachable"))
    elif v6_route_kind == "blackhole":
        # On the path: r1 drops IPv6 to the server without a word; the client's
        # SYNs go unanswered and its connection times out.
        topo.nodes["r1"].routes.append(Route(f"{server_v6}/128", kind="blackhole"))
    return topo


def dualstack() -> Topology:
    """``client`` and ``server`` through router ``r1``, IPv4 and IPv6 both working."""
    return _dual("dualstack", None)


def v6rejected() -> Topology:
    """As dualstack, but IPv6 connections to ``server`` fail at once (ENETUNREACH)."""
    return _dual("v6rejected", "unreachable")


def v6dropped() -> Topology:
    """As dualstack, but IPv6 to ``server`` is silently dropped (connections time out)."""
    return _dual("v6dropped", "blackhole")


def _ip(iface: str) -> str:
    return str(ipaddress.ip_interface(iface).ip)


def _net(iface: str) -> str:
    return str(ipaddress.ip_interface(iface).network)


#: name -> (factory, {parameter: (type, default, help)})
BUILTINS = {
    "isolated": (isolated, {}),
    "pair": (pair, {}),
    "star": (star, {"hosts": (int, 3, "number of hosts on the switch, 1 to 1023")}),
    "chain": (chain, {"routers": (int, 1, "number of routers between h1 and h2")}),
    "dualstack": (dualstack, {}),
    "v6rejected": (v6rejected, {}),
    "v6dropped": (v6dropped, {}),
}


def find_link(topology: str, label: str, links: list) -> int:
    """The index of the link ``label`` designates among ``links``, each
    (name, (node, if), (node, if)): by name, by ``NODE:IF-NODE:IF`` (either
    way round), or by ``NODE-NODE`` when it is the only link between the two."""
    full = [
        i
        for i, (name, a, b) in enumerate(links)
        if label in (name, f"{a[0]}:{a[1]}-{b[0]}:{b[1]}", f"{b[0]}:{b[1]}-{a[0]}:{a[1]}")
    ]
    if len(full) == 1:
        return full[0]
    pairs = [
        i for i, (_n, a, b) in enumerate(links) if label in (f"{a[0]}-{b[0]}", f"{b[0]}-{a[0]}")
    ]
    if len(pairs) == 1:
        return pairs[0]
    if pairs:
        both = ", ".join(links[i][0] or f"{links[i][1][0]}:{links[i][1][1]}-"
                         f"{links[i][2][0]}:{links[i][2][1]}" for i in pairs)  # fmt: skip
        raise SpecError(
            f"topology {topology}: {label!r} is {len(pairs)} links ({both}): "
            "name one by its name or NODE:IF-NODE:IF"
        )
    known = ", ".join(n or f"{a[0]}-{b[0]}" for n, a, b in links) or "none"
    raise SpecError(f"topology {topology}: no link {label!r} (links: {known})")


def link_end(link: Link, who: str) -> tuple[str, str] | None:
    """The end of ``link`` that ``who`` (``NODE`` or ``NODE:IF``) names, if any."""
    for end in (link.a, link.b):
        if who in (end[0], f"{end[0]}:{end[1]}"):
            return end
    return None


def split_impair_spec(spec: str) -> tuple[str, str]:
    """``--impair`` text -> (link, settings): the settings start after the last
    ``:`` before the first ``=`` (a link's label may hold ``:`` itself)."""
    eq = spec.find("=")
    if eq < 0:
        return spec.removesuffix(":"), ""
    colon = spec.rfind(":", 0, eq)
    if colon < 0:
        return spec, ""
    return spec[:colon], spec[colon + 1 :]


def impair_spec(topo: Topology, spec: str) -> None:
    """Apply ``--impair LINK[:KEY=VALUE,...]`` to ``topo``.

    LINK is ``h1-h2`` (both directions), ``h1>h2`` (traffic from h1 to h2), a
    link's name, or ``NODE:IF-NODE:IF`` (``NODE:IF>NODE:IF``) where two links
    join the same nodes; KEYs are ``IMPAIRMENT_KEYS``.  With no KEY nothing
    changes (any link can be impaired later, ``net set``).
    """
    where, settings = split_impair_spec(spec)
    if "=" not in spec and ":" in where:
        try:
            topo.link(where)
        except SpecError:
            where, _, settings = spec.partition(":")  # settings without "=": said below
    one_way = ">" in where
    link = topo.link(where.replace(">", "-"))
    values = {}
    for item in filter(None, settings.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise SpecError(f"--impair {spec!r}: {item!r} is not KEY=VALUE")
        values[key] = value
    impair = parse_impairment(values, f"--impair {spec!r}: ")
    link.adjustable = True
    if one_way:
        sender = where.split(">")[0]
        ends = [link_end(link, sender) or link.b]
    else:
        ends = [link.a, link.b]
    for end in ends:
        link.impair[end] = impair


#: Impairment keys as users write them -> (the Impairment argument, its parser's name).
_IMPAIRMENT_ARGS = {
    "delay": ("delay_ms", "duration"),
    "jitter": ("jitter_ms", "duration"),
    "loss": ("loss", "percent"),
    "loss_correlation": ("loss_corr", "percent"),
    "corrupt": ("corrupt", "percent"),
    "corrupt_correlation": ("corrupt_corr", "percent"),
    "duplicate": ("duplicate", "percent"),
    "duplicate_correlation": ("duplicate_corr", "percent"),
    "reorder": ("reorder", "percent"),
    "reorder_correlation": ("reorder_corr", "percent"),
    "gap": ("gap", "count"),
    "rate": ("rate_bps", "rate"),
    "limit": ("limit", "count"),
}
IMPAIRMENT_KEYS = tuple(_IMPAIRMENT_ARGS)


def parse_count(value) -> int:
    """``"1000"`` or 1000 -> 1000: a whole number of packets, at least 1."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number of packets")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or not 1 <= value <= 2**31 - 1:
        raise ValueError(f"{value!r} is not a number of packets (a whole number from 1)")
    return value


def impairment_args(values: dict, error) -> dict:
    """``Impairment`` keyword arguments from user keys (``values``: key -> text or
    TOML value; None is skipped).  ``error(key, message, known)`` makes the
    exception raised for a bad value (or an unknown key: ``known`` False);
    netem's rules are checked as tc checks them."""
    from pycoz_cli.core.net import topofile

    parsers = {
        "duration": topofile.parse_duration,
        "percent": topofile.parse_percent,
        "rate": topofile.parse_rate,
        "count": parse_count,
    }
    out = {}
    for key, value in values.items():
        if key not in _IMPAIRMENT_ARGS:
            raise error(key, f"use {', '.join(IMPAIRMENT_KEYS)}", False)
        if value is None:
            continue
        arg, kind = _IMPAIRMENT_ARGS[key]
        try:
            out[arg] = parsers[kind](value)
        except ValueError as err:
            raise error(key, str(err), True) from None
    if out.get("reorder") and not out.get("delay_ms"):
        # As tc: netem reorders by sending some packets at once, ahead of the
        # delayed others; without a delay there is nothing to go ahead of.
        why = "needs a delay (netem reorders by not delaying some packets)"
        raise error("reorder", why, True)
    if out.get("gap") and not out.get("reorder"):
        raise error("gap", "only means something with reorder", True)
    return out


def parse_impairment(values: dict, where: str = "--") -> Impairment:
    """An ``Impairment`` from text values keyed as ``IMPAIRMENT_KEYS``."""

    def error(key, message, known):
        return SpecError(f"{where}{key if known else repr(key)}: {message}")

    return Impairment(**impairment_args(values, error))


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``star:hosts=50`` -> ("star", {"hosts": "50"})."""
    name, _, rest = spec.partition(":")
    params = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SpecError(f"topology {spec!r}: parameter {item!r} is not NAME=VALUE")
        params[key] = value
    return name, params


def resolve(spec: str, registry: dict | None = None) -> Topology:
    """A topology from a spec (``star:hosts=5``, a plugin's, or a TOML file path).

    Built-in names are looked up directly; anything else asks the plugin
    manager, which is only then made (and plugins only then imported).
    """
    if spec.endswith(".toml") or os.sep in spec:
        from pycoz_cli.core.net.topofile import load

        return load(spec)
    name, raw = parse_spec(spec)
    if registry is None:
        if name in BUILTINS:
            registry = BUILTINS
        else:
            from pycoz_cli.plugins import topology_factory, topology_registry

            registry = {
                n: (topology_factory(n, f, plugin), p)
                for n, (f, p, plugin) in topology_registry().items()
            }
    if name not in registry:
        import difflib

        close = difflib.get_close_matches(name, registry, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SpecError(f"unknown topology {name!r}{hint}; known: {', '.join(sorted(registry))}")
    factory, schema = registry[name]
    kwargs = {}
    for key, value in raw.items():
        if key not in schema:
            known = ", ".join(schema) or "none"
            raise SpecError(f"topology {name}: unknown parameter {key!r} (parameters: {known})")
        kind = schema[key][0]
        try:
            kwargs[key] = kind(value)
        except ValueError:
            raise SpecError(f"topology {name}: {key}={value!r} is not {kind.__name__}") from None
    topo = factory(**kwargs)
    topo.check()
    return topo


# --- building --------------------------------------------------------------------


class Network:
    """A topology made real.  ``Network(topo).build()``; ``teardown()`` (or exit)."""

    def __init__(self, topology: Topology, name: str | None = None):
        self.topology = topology
        #: Set for named networks: namespaces are /run/netns/NAME-NODE.
        self.name = name
        self.namespaces: dict = {}
        #: (node, interface) -> ifindex in that node's namespace.
        self.ifindex: dict = {}
        #: Whether impairments are applied with netem (else by the relay).
        self.netem: bool | None = None
        #: link position in topology.links -> its position among relayed links.
        self.relayed: dict[int, int] = {}
        #: link position -> how each end is steered into the relay (``impair.relay_links``).
        self.steered: dict[int, list] = {}
        self.relay_ns = None
        self.relay_pid: int | None = None
        self.relay_key = name or f"e{os.getpid()}-{id(self):x}"
        #: Commands started on hosts (``start_commands``): ContainerProcess objects.
        self.started: list = []
        #: A rootless named network's holder (``core.holder``): it keeps the
        #: namespaces instead of /run/netns; node -> the fd number there.
        self.holder = None
        self.held: dict[str, int] = {}

    def __enter__(self) -> Network:
        return self.build()

    def __exit__(self, *exc) -> None:
        self.teardown()

    def ns_name(self, node: str) -> str:
        return f"{self.name}-{node}"

    def netns(self, node: str):
        try:
            return self.namespaces[node]
        except KeyError:
            hosts = ", ".join(self.topology.hosts())
            raise SpecError(
                f"topology {self.topology.name}: no host {node!r} (hosts: {hosts})"
            ) from None

    def build(self) -> Network:
        from pycoz_cli.core import userns

        userns.ensure()  # not root: the namespaces belong to pycoz's user namespace
        try:
            self._build()
            from pycoz_cli import plugins

            plugins.notify("pycoz_network_up", network=self)
        except BaseException as err:
            if self.relay_pid is not None:
                try:
                    os.kill(self.relay_pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.teardown()
            if isinstance(err, OSError):
                raise SetupError.from_oserror(err) from None
            raise
        return self

    def _build(self) -> None:
        from pycoz_cli.core.net.netns import NetNS

        topo = self.topology
        for node in topo.nodes.values():
            label = self.ns_name(node.name) if self.name else node.name
            ns = NetNS.create(label, node.sysctls)
            self.namespaces[node.name] = ns
            if self.holder is not None:
                self.held[node.name] = self.holder.keep(ns.fd)
            elif self.name:
                ns.bind_to(self.ns_name(node.name))
        # Links: each veth is created from its first end's namespace with the
        # peer placed directly in the other's, with ifindexes chosen here (no
        # need to ask the kernel for them, and never equal between the ends).
        # Impaired or not, a link is a plain veth pair: without netem, the relay
        # is put in the way of impaired ones after (``core.net.impair``).
        for node in topo.nodes.values():
            if node.kind == "switch":
                self.namespaces[node.name].rtnl().add_bridge("br0", BRIDGE_INDEX)
        for k, link in enumerate(topo.links):
            (a, a_if), (b, b_if) = link.a, link.b
            ia, ib = 10 + 2 * k, 11 + 2 * k
            self.ifindex[link.a], self.ifindex[link.b] = ia, ib
            mtu = topo.nodes[a].interfaces[a_if].mtu
            ns_a, ns_b = self.namespaces[a], self.namespaces[b]
            ns_a.rtnl().add_veth(a_if, b_if, ns_b.fd, ia, ib, mtu)
        for ns in self.namespaces.values():
            ns.rtnl().flush()
        for node in topo.nodes.values():
            self._configure(node)
        for node in topo.nodes.values():
            rtnl = self.namespaces[node.name].rtnl()
            for route in node.routes:
                rtnl.add_route(
                    str(route.dst.network_address),
                    route.dst.prefixlen,
                    str(route.via) if route.via else None,
                    route.kind,
                    family=10 if route.dst.version == 6 else 2,
                )
        for ns in self.namespaces.values():
            ns.rtnl().flush()
        impaired = [link for link in topo.links if any(link.impair.values())]
        if (impaired or self.name) and self.namespaces:
            self.netem = netem_available(next(iter(self.namespaces.values())).rtnl())
        if self.netem:
            for link in impaired:
                for end, impair in link.impair.items():
                    if impair:
                        self.set_impairment(link, end, impair, flush=False)
            for ns in self.namespaces.values():
                ns.rtnl().flush()
        elif self.name or impaired:
            # A named topology's relay starts with it, idle, so that ``net set``
            # finds it for any link later.
            self._start_relay()
            self._relay(impaired)

    def _start_relay(self) -> None:
        from pycoz_cli.core.net.impair import Relay
        from pycoz_cli.core.net.netns import NetNS

        # The relay's ends say nothing of their own (IPv6 would talk on them).
        self.relay_ns = NetNS.create("link relay", {"net.ipv6.conf.default.disable_ipv6": "1"})
        self.relay_ns.rtnl().link_up(1, "lo")
        self.relay_ns.rtnl().flush()
        relay = Relay(self.relay_key, self.relay_ns.fd)
        # A rootless named topology's relay ends with its holder (``core.holder``).
        relay.watch_pid = self.holder.pid if self.holder is not None else None
        self.relay_pid = relay.start(detach=self.name is not None)

    def _relay(self, links: list[Link]) -> None:
        """Put ``links`` in the relay's way with their impairments as they are
        (the relay is serving them when this returns)."""
        from pycoz_cli.core.net.impair import relay_links

        if self.relay_pid is None:
            self._start_relay()
        todo = []
        for link in links:
            k = self.topology.links.index(link)
            new = k not in self.relayed
            if new:
                self.relayed[k] = len(self.relayed)
                self.steered[k] = [None, None]
            ends = [(self.namespaces[e[0]], e[1], self.ifindex[e]) for e in (link.a, link.b)]
            impair = [(link.impair.get(e) or Impairment()).to_dict() for e in (link.a, link.b)]
            todo.append(
                {"j": self.relayed[k], "ends": ends, "impair": impair, "new": new,
                 "steered": self.steered[k]}
            )  # fmt: skip
        if todo:
            relay_links(self.relay_key, self.relay_ns, todo)

    def _configure(self, node: Node) -> None:
        rtnl = self.namespaces[node.name].rtnl()
        rtnl.link_up(1, "lo")
        bridge = BRIDGE_INDEX if node.kind == "switch" else None
        if bridge:
            rtnl.link_up(bridge, "br0")
        for iface in node.interfaces.values():
            i = self.ifindex[(node.name, iface.name)]
            if bridge:
                rtnl.set_master(i, iface.name, bridge)
            for addr in iface.addresses:
                rtnl.add_address(i, iface.name, str(addr.ip), addr.network.prefixlen)
            rtnl.link_up(i, iface.name, iface.mtu)

    def set_impairment(
        self, link: Link, end: tuple[str, str], impair: Impairment, flush: bool = True
    ) -> None:
        """Impair traffic leaving ``end`` (node, interface) over ``link``.

        An all-zero ``Impairment`` removes the impairment.
        """
        if self.netem is None:
            self.netem = netem_available(next(iter(self.namespaces.values())).rtnl())
        if self.netem:
            apply_netem(self.namespaces[end[0]].rtnl(), self.ifindex[end], end, impair, flush)
            link.impair[end] = impair
            return
        before = link.impair.get(end)
        link.impair[end] = impair
        try:
            self._relay([link])
        except BaseException:
            link.impair[end] = before
            raise

    def start_commands(
        self, detach: bool = False, log_dir: str | None = None, record=None
    ) -> list[dict]:
        """Start every node's declared commands in order, each in its own container,
        each ready (``CommandSpec.ready``) before the next starts.

        Ephemeral networks stop them at teardown and send their output to pycoz's
        stderr (stdout stays the main command's own); named ones detach them and
        log to ``log_dir``.  ``record(entry)`` is called with each command's entry
        (node, index, argv, log, pid) before anything is made for it, and again
        once it runs, so that what is started is always found again.  Returns the
        entries.

        A command that cannot start, ends before it is ready, is not ready in time,
        or has already failed once all are started raises ``SetupError`` naming
        it (``lab.toml:7: hosts.server.commands[0]: ...``); what was started before
        is left for ``teardown`` (or ``named.down``) to stop.
        """
        from pycoz_cli.core.container import Container
        from pycoz_cli.errors import PycozError

        entries, unwatched = [], []
        devnull = os.open(os.devnull, os.O_RDONLY)
        try:
            for node in self.topology.nodes.values():
                for i, argv in enumerate(node.commands):
                    spec = self.topology.command(node.name, i)
                    entry = {"node": node.name, "index": i, "argv": argv, "pid": None}
                    entry["log"] = log_dir and f"{log_dir}/{self.name}.{node.name}.{i}.log"
                    if record is not None:
                        record(entry)
                    if entry["log"]:
                        out = os.open(entry["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                    else:
                        out = os.dup(2)
                    try:
                        proc = Container(network=self, host=node.name, overlay=False).spawn(
                            argv, stdin=devnull, stdout=out, stderr=out, detach=detach
                        )
                    except PycozError as err:
                        raise SetupError(f"{spec.where}: {err}") from None
                    finally:
                        os.close(out)
                    if not detach:
                        self.started.append(proc)
                    entry["pid"] = proc.pid
                    entry["process"] = proc
                    entries.append(entry)
                    if record is not None:
                        record(entry)
                    if spec.ready is None:
                        unwatched.append((proc, spec))
                    else:
                        _wait_ready(proc, spec)
        finally:
            os.close(devnull)
        # The others are not waited for; one that has failed already is reported.
        for proc, spec in unwatched:
            if proc.poll() not in (None, 0):
                raise SetupError(f"{spec.where}: {_ended(proc.returncode)} at start")
        return entries

    def teardown(self) -> None:
        from pycoz_cli.core.net.netns import remove_named

        for proc in self.started:
            proc.kill()
            proc.wait()
        self.started.clear()
        if self.relay_pid is not None and self.name is None:
            try:
                os.kill(self.relay_pid, signal.SIGKILL)
                os.waitpid(self.relay_pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.relay_pid = None
        if self.relay_ns is not None:
            self.relay_ns.close()
            self.relay_ns = None
        for node, ns in list(self.namespaces.items()):
            if self.name and self.holder is None:
                remove_named(self.ns_name(node))
            ns.close()
        self.namespaces.clear()


def _ended(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


def _wait_ready(proc, spec: CommandSpec) -> None:
    """Wait until a host command is ready: listening on its port (a socket of
    its network namespace, read from /proc/PID/net as ``ss -l`` does), or ended
    with status 0."""
    kind, port = spec.ready
    deadline = time.monotonic() + spec.timeout
    delay = 0.001
    while True:
        code = proc.poll()
        if kind == "exit":
            if code == 0:
                return
            if code is not None:
                raise SetupError(
                    f'{spec.where}: {_ended(code)} (ready = "exit" waits for status 0)'
                )
        else:
            if code is not None:
                raise SetupError(
                    f"{spec.where}: {_ended(code)} before it listened on {kind} port {port}"
                )
            if _listening(proc.pid, kind, port):
                return
        if time.monotonic() > deadline:
            what = "still running" if kind == "exit" else f"not listening on {kind} port {port}"
            raise SetupError(f"{spec.where}: {what} after {spec.timeout:g}s")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


#: /proc/net/{tcp,udp}[6] socket states that mean "open for others to reach":
#: TCP_LISTEN, and TCP_CLOSE (an unconnected UDP socket, bound).
_LISTENING = {"tcp": "0A", "udp": "07"}


def _listening(pid: int, kind: str, port: int) -> bool:
    """Whether the network namespace of ``pid`` has a ``kind`` socket on ``port``."""
    wanted = f":{port:04X}"
    for table in (kind, f"{kind}6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                next(f)  # the header
                for line in f:
                    fields = line.split()
                    if fields[1].endswith(wanted) and fields[3] == _LISTENING[kind]:
                        return True
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return False


_NETEM: bool | None = None


def netem_available(rtnl) -> bool:
    """Whether this kernel has the netem qdisc (probed once, on a loopback)."""
    global _NETEM
    if _NETEM is None:
        rtnl.set_netem(1, "lo", delay_ns=1000)
        try:
            rtnl.flush()
        except OSError as err:
            if err.errno != 2:  # ENOENT: unknown qdisc kind
                raise
            _NETEM = False
        else:
            rtnl.set_netem(1, "lo", remove=True)
            rtnl.flush()
            _NETEM = True
    return _NETEM


def apply_netem(rtnl, index: int, end: tuple[str, str], impair: Impairment, flush=True) -> None:
    label = f"{end[0]}:{end[1]}"
    if impair:
        rtnl.set_netem(
            index,
            label,
            delay_ns=int(impair.delay_ms * 1e6),
            jitter_ns=int(impair.jitter_ms * 1e6),
            loss=impair.loss,
            corrupt=impair.corrupt,
            rate_bps=impair.rate_bps,
            limit=impair.limit or 1000,
            duplicate=impair.duplicate,
            reorder=impair.reorder,
            gap=impair.gap,
            loss_corr=impair.loss_corr,
            corrupt_corr=impair.corrupt_corr,
            duplicate_corr=impair.duplicate_corr,
            reorder_corr=impair.reorder_corr,
        )
    else:
        rtnl.set_netem(index, label, remove=True)
    if flush:
        rtnl.flush()
