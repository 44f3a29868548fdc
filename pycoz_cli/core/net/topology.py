"""Network topologies: the model, the built-ins, and building them in the kernel.

A ``Topology`` is plain data: nodes (hosts, routers, switches) with interfaces,
addresses, routes and sysctls, and links between interfaces with optional
impairments per direction.  ``Network`` makes one real: a network namespace per
node, a veth pair per link created with both ends directly inside their
namespaces (nothing ever appears in the host's namespace, so parallel runs never
collide), a bridge per switch, then addresses, routes and links up — all over
rtnetlink from this process (pyroute2's messages, ``core.net.netlink``),
pipelined per namespace.

Ephemeral networks are held by fds and vanish with pycoz; named ones are bound
on /run/netns/NAME-NODE (``ip netns`` sees them) and removed by ``teardown``.
"""

from __future__ import annotations

import copy
import errno
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
_IFNAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,14}")
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
    """An interface of a node: ``name`` (``eth0``), its ``addresses``
    (``ipaddress.IPv4Interface``/``IPv6Interface``, with prefix lengths), its
    ``mtu`` (None: the kernel's 1500), its ``mac`` (None: the kernel picks one)
    and ``kind``:

    - ``"veth"``, one end of a link (``Topology.connect``); ``peer`` is the
      (node, interface) at the other end;
    - ``"vlan"``, a VLAN sub-interface (``Node.add_vlan``) of the interface
      ``parent``, tagging with ``vlan_id``;
    - ``"vxlan"``, a VXLAN tunnel end (``Node.add_vxlan``): network identifier
      ``vni``, from the node's address ``local`` to ``remote``, UDP port ``port``.
    """

    __slots__ = (
        "addresses",
        "kind",
        "local",
        "mac",
        "mtu",
        "name",
        "parent",
        "peer",
        "port",
        "remote",
        "vlan_id",
        "vni",
    )

    def __init__(
        self,
        name: str,
        addresses: Iterable[str] = (),
        mtu: int | None = None,
        mac: str | None = None,
        kind: str = "veth",
    ) -> None:
        self.name = name
        self.addresses = [ipaddress.ip_interface(a) for a in addresses]
        self.mtu = mtu
        self.mac = _mac(mac) if mac else None
        self.kind = kind
        #: (node, interface) at the other end of the link.
        self.peer: tuple[str, str] | None = None
        self.parent: str | None = None
        self.vlan_id = 0
        self.vni = 0
        self.local: IPAddress | None = None
        self.remote: IPAddress | None = None
        self.port = VXLAN_PORT


#: VXLAN's UDP port (IANA's; Linux's own default, 8472, predates it).
VXLAN_PORT = 4789
_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")


def _mac(text: str) -> str:
    """``02:00:5E:00:00:01`` -> ``02:00:5e:00:00:01``; a ValueError unless it is a
    unicast Ethernet address (the first octet's lowest bit clear), not all zeros."""
    mac = str(text).lower().replace("-", ":")
    if not _MAC.fullmatch(mac):
        raise ValueError(f"{text!r} is not a MAC address (like 02:00:00:00:00:01)")
    if int(mac[:2], 16) & 1:
        raise ValueError(f"{text!r} is a multicast MAC address (its first octet is odd)")
    if mac == "00:00:00:00:00:00":
        raise ValueError(f"{text!r} is not a usable MAC address")
    return mac


def parse_mac(text: str) -> str:
    """A MAC address as the kernel shows it (lower case), or ValueError."""
    return _mac(text)


class Route:
    """A route of a node (``Node.add_route``): to ``dst`` (a network, or
    ``"default"``: ``0.0.0.0/0``, or ``::/0`` when ``via`` is IPv6) through the
    gateway ``via`` (None: on-link), or through several at once, an ECMP route,
    when ``via`` is a list of gateways or of (gateway, weight) pairs (``nexthops``;
    the kernel spreads flows over them by weight); ``kind`` is ``"unicast"``, or
    ``"unreachable"``/``"prohibit"``/``"blackhole"`` for a route that rejects
    (ICMP unreachable, prohibited) or silently drops its traffic, or ``"local"``
    for destinations the node answers itself, as its own addresses (a TCP
    connection to a port where nothing listens is reset).  ``str()`` is
    ``ip route``'s form: ``198.18.2.0/24 via 198.18.1.1``."""

    __slots__ = ("dst", "kind", "nexthops", "via")

    def __init__(self, dst: str, via: str | Iterable | None = None, kind: str = "unicast") -> None:
        #: ECMP: several gateways, each (address, weight); one for a plain route.
        self.nexthops: list[tuple[IPAddress, int]] = []
        if via is not None and not isinstance(via, str):
            for hop in via:
                gw, weight = (hop, 1) if isinstance(hop, str) else hop
                self.nexthops.append((ipaddress.ip_address(gw), int(weight)))
            via = str(self.nexthops[0][0]) if self.nexthops else None
            if len(self.nexthops) < 2:
                self.nexthops = []
        self.dst = (
            ipaddress.ip_network(_v6_default(dst, via))
            if dst == "default"
            else ipaddress.ip_network(dst, strict=False)
        )
        self.via = ipaddress.ip_address(via) if via else None
        self.kind = kind

    @property
    def gateways(self) -> list[IPAddress]:
        """Every gateway: the ECMP route's nexthops, or ``via``."""
        if self.nexthops:
            return [gw for gw, _ in self.nexthops]
        return [self.via] if self.via else []

    def __str__(self) -> str:
        text = "default" if self.dst.prefixlen == 0 else str(self.dst)
        if self.kind != "unicast":
            text = f"{self.kind} {text}"
        if self.nexthops:
            return text + "".join(
                f" via {gw}" + (f" weight {w}" if w != 1 else "") for gw, w in self.nexthops
            )
        return text + (f" via {self.via}" if self.via else "")


def _v6_default(dst: str, via: str | None) -> str:
    return "::/0" if via and ":" in via else "0.0.0.0/0"


#: How long a host command may take to be ready (``CommandSpec.timeout``), seconds.
READY_TIMEOUT = 10.0
#: What ``ready`` may say, for errors.
READY_USAGE = (
    '"tcp:PORT", "udp:PORT" (a port from 1 to 65535), "file:PATH" (an absolute path), '
    '"exit", "cmd:SHELL COMMAND" or a list of arguments (a command that succeeds)'
)


def parse_ready(value) -> tuple[str, object]:
    """A readiness check as a topology file writes it -> ``CommandSpec.ready``.

    ``"tcp:8000"`` -> ("tcp", 8000); ``"udp:53"`` -> ("udp", 53); ``"exit"`` ->
    ("exit", 0); ``"file:/run/ready"`` -> ("file", "/run/ready");
    ``"cmd:curl -sf http://localhost/"`` -> ("cmd", ["sh", "-c", "curl ..."]);
    ``["pg_isready"]`` -> ("cmd", ["pg_isready"]).  ValueError says what is wrong.
    """
    if isinstance(value, list):
        if not value or not all(isinstance(arg, str) for arg in value):
            raise ValueError(f"{value!r}: a check command is a non-empty list of strings")
        if any("\0" in arg for arg in value):
            raise ValueError("an argument holds a NUL character")
        return ("cmd", list(value))
    if isinstance(value, str):
        kind, colon, rest = value.partition(":")
        if value == "exit":
            return ("exit", 0)
        if colon and kind in ("tcp", "udp") and rest.isdigit() and 1 <= int(rest) <= 65535:
            return (kind, int(rest))
        if colon and kind == "file" and rest.startswith("/") and "\0" not in rest:
            return ("file", os.path.normpath(rest))
        if colon and kind == "cmd" and rest.strip() and "\0" not in rest:
            return ("cmd", ["sh", "-c", rest])
    raise ValueError(f"{value!r}: use {READY_USAGE}")


def describe_ready(ready: tuple[str, object]) -> str:
    """``ready = "tcp:8000"``: a check as the file writes it, for messages."""
    kind, what = ready
    if kind == "exit":
        return 'ready = "exit"'
    if kind == "cmd":
        text = what[2] if what[:2] == ["sh", "-c"] else " ".join(what)
        return f'ready = "cmd:{text}"'
    return f'ready = "{kind}:{what}"'


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """What pycoz waits for once a host command starts, and where it was declared.

    ``ready`` (``parse_ready``) is ``("tcp", PORT)`` or ``("udp", PORT)`` (a
    socket of the host listening on PORT), ``("file", PATH)`` (PATH exists in
    the host's filesystem), ``("cmd", ARGV)`` (ARGV, run in the host again and
    again, exits with status 0), ``("exit", 0)`` (the command itself ends with
    status 0), or None (nothing: the next command starts at once); ``timeout``
    is how long to wait, in seconds.  ``where`` names it in errors
    (``lab.toml:7: hosts.server.commands[0]``); None for ``Topology.command`` to
    name it by topology, node and index.
    """

    ready: tuple[str, object] | None = None
    timeout: float = READY_TIMEOUT
    where: str | None = None


@dataclass(frozen=True, slots=True)
class RootSpec:
    """A host's own root filesystem (``Node.root``): the options of ``pycoz root``.

    ``base``: the lower layer (default "/": a throwaway copy of the machine's
    root); ``upper``: a directory that keeps the changes (None: discarded when
    the topology goes); ``binds``, ``ro_binds``: ``"SRC[:DST]"`` paths of the
    machine made visible, read-write or read-only; ``tmpfs``: ``"DIR[:OPTIONS]"``.
    """

    base: str = "/"
    upper: str | None = None
    binds: tuple[str, ...] = ()
    ro_binds: tuple[str, ...] = ()
    tmpfs: tuple[str, ...] = ()

    def container_options(self) -> dict:
        """``Container`` keyword arguments for this root."""
        from pycoz_cli.core.container import Bind

        binds = [Bind.parse(b) for b in self.binds]
        binds += [Bind.parse(b, readonly=True) for b in self.ro_binds]
        return {"base": self.base, "upper": self.upper, "binds": binds, "tmpfs": list(self.tmpfs)}

    def to_dict(self) -> dict:
        return {k: v for k, v in zip(self.__slots__, self._values(), strict=True) if v}

    def describe(self) -> str:
        """``base /, tmpfs /srv``: the options given, as ``pycoz net show`` prints them."""
        return ", ".join(
            f"{key} {' '.join(value) if isinstance(value, list) else value}"
            for key, value in self.to_dict().items()
        )

    def _values(self) -> tuple:
        return (self.base, self.upper, list(self.binds), list(self.ro_binds), list(self.tmpfs))


class Node:
    """A host, router or switch: one network namespace (``Topology.add_node``).

    ``interfaces`` maps interface names to ``Interface`` (made by
    ``Topology.connect``); ``routes`` is a list of ``Route``; ``sysctls`` maps
    names (``net.ipv4.ip_forward``) to values, set inside the node's namespace
    only; ``commands`` are argv lists started once the network is up; ``root``
    (a ``RootSpec``, or None: the machine's own files) is the host's own root
    filesystem, where its commands, ``pycoz net run --host`` and ``net exec``
    run, a throwaway one unless it has an ``upper``.
    """

    __slots__ = (
        "command_specs",
        "commands",
        "interfaces",
        "kind",
        "name",
        "root",
        "routes",
        "sysctls",
        "uplink",
    )

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
        #: The host's own root filesystem (None: the machine's files).
        self.root: RootSpec | None = None
        #: An uplink to the outside by user-space NAT (``core.net.uplink``):
        #: interface uplink0, 10.0.2.100/24, default route via 10.0.2.2.
        self.uplink = False

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

    def add_vlan(
        self,
        parent: str,
        vlan_id: int,
        addresses: Iterable[str] = (),
        name: str | None = None,
        mac: str | None = None,
    ) -> Interface:
        """Add a VLAN sub-interface of the interface ``parent`` (a link's end,
        made by ``Topology.connect`` before), tagging its frames with ``vlan_id``
        (1-4094), as ``ip link add link PARENT name NAME type vlan id ID``;
        ``name`` defaults to ``PARENT.ID``.  Returns it.  Frames of a VLAN reach
        only the same VLAN at the other end (a switch passes them on as they are).
        """
        if parent not in self.interfaces or self.interfaces[parent].kind != "veth":
            links = ", ".join(n for n, i in self.interfaces.items() if i.kind == "veth")
            raise SpecError(
                f"node {self.name}: VLAN parent {parent!r} is not one of its links' "
                f"interfaces ({links or 'none'})"
            )
        if isinstance(vlan_id, bool) or not isinstance(vlan_id, int) or not 1 <= vlan_id <= 4094:
            raise SpecError(f"node {self.name}: VLAN id {vlan_id!r}: use 1 to 4094")
        iface = self._add_interface(name or f"{parent}.{vlan_id}", addresses, mac, "vlan")
        iface.parent, iface.vlan_id = parent, vlan_id
        return iface

    def add_vxlan(
        self,
        name: str,
        vni: int,
        local: str,
        remote: str,
        addresses: Iterable[str] = (),
        port: int = VXLAN_PORT,
        mac: str | None = None,
    ) -> Interface:
        """Add a VXLAN tunnel end ``name``: Ethernet over UDP from this node's
        address ``local`` to ``remote`` (the other end's ``local``, on another
        node, reached over the topology's links and routes), network identifier
        ``vni`` (0-16777215), UDP ``port``.  Give both ends the same ``vni`` and
        port, and addresses on one subnet.  Returns it."""
        if isinstance(vni, bool) or not isinstance(vni, int) or not 0 <= vni <= 0xFFFFFF:
            raise SpecError(f"node {self.name}: VXLAN id {vni!r}: use 0 to 16777215")
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise SpecError(f"node {self.name}: VXLAN port {port!r}: use 1 to 65535")
        try:
            local_ip, remote_ip = ipaddress.ip_address(local), ipaddress.ip_address(remote)
        except ValueError as err:
            raise SpecError(f"node {self.name}: VXLAN {name}: {err}") from None
        if local_ip.version != remote_ip.version:
            raise SpecError(
                f"node {self.name}: VXLAN {name}: local {local_ip} and remote {remote_ip} "
                "are not of one IP version"
            )
        iface = self._add_interface(name, addresses, mac, "vxlan")
        iface.vni, iface.local, iface.remote, iface.port = vni, local_ip, remote_ip, port
        return iface

    def _add_interface(self, name: str, addresses, mac, kind: str) -> Interface:
        if not _IFNAME.fullmatch(name) or name == "lo":
            raise SpecError(
                f"node {self.name}: interface name {name!r}: use 1-{IFNAMSIZ} letters, "
                "digits, '-', '_' or '.', starting with a letter (not lo)"
            )
        if name in self.interfaces:
            raise SpecError(f"node {self.name}: two interfaces named {name!r}")
        try:
            iface = Interface(name, addresses, mac=mac, kind=kind)
        except ValueError as err:
            raise SpecError(f"node {self.name}: interface {name}: {err}") from None
        self.interfaces[name] = iface
        return iface

    def add_command(
        self,
        argv: list[str],
        spec: CommandSpec | None = None,
        *,
        ready: str | list[str] | None = None,
        timeout: float = READY_TIMEOUT,
    ) -> None:
        """Declare a command to start on this node once the network is up
        (after ``pycoz_network_up``), in the order declared, each ready before
        the next starts and before the user's command runs.  ``ready`` says
        what to wait for, as a topology file writes it (``"tcp:8000"``,
        ``"udp:53"``, ``"file:/run/ready"``, ``"exit"``, ``"cmd:SHELL COMMAND"``
        or a list of arguments), for at most ``timeout`` seconds; or give a
        ``CommandSpec`` as ``spec``.  A bad ``ready`` raises ``SpecError``.

        >>> topo.nodes["server"].add_command(  # doctest: +SKIP
        ...     ["python3", "-m", "http.server", "80"], ready="tcp:80", timeout=5)
        """
        if spec is None:
            parsed = None
            if ready is not None:
                try:
                    parsed = parse_ready(ready)
                except ValueError as err:
                    raise SpecError(f"{self.name}.commands[{len(self.commands)}]: {err}") from None
            spec = CommandSpec(parsed, float(timeout))
        self.commands.append(list(argv))
        self.command_specs.append(spec)

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
        a_mac: str | None = None,
        b_mac: str | None = None,
        name: str | None = None,
    ) -> Link:
        """Link node ``a`` to node ``b`` (a veth pair) and return the ``Link``.

        ``a_addrs``, ``b_addrs``: the addresses of each end, with their prefix
        lengths (``["198.18.1.1/24", "2001:db8:1::1/64"]``); a switch end takes
        none.  ``a_if``, ``b_if``: the interface names (at most 15 characters;
        default ``eth0``, ``eth1``... in the order of links, and on a switch
        the name of the node plugged in).  ``mtu``: of both ends (None: 1500).
        ``a_mac``, ``b_mac``: the ends' MAC addresses (``02:00:00:00:00:01``;
        None: the kernel picks random ones).  ``name``: the link's own name
        (unique), to tell apart two links between the same nodes.
        The kernel adds the on-link route of each address; add others with
        ``Node.add_route``.  An unknown node, or a repeated or too long
        interface name, raises ``SpecError``.
        """
        ends = []
        for node_name, addrs, ifname, other, mac in (
            (a, a_addrs, a_if, b, a_mac),
            (b, b_addrs, b_if, a, b_mac),
        ):
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
            try:
                node.interfaces[ifname] = Interface(ifname, addrs, mtu, mac)
            except ValueError as err:
                raise SpecError(f"topology {self.name}: {node_name}:{ifname}: {err}") from None
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
        macs: dict = {}
        for node in self.nodes.values():
            for iface in node.interfaces.values():
                where = f"{node.name}:{iface.name}"
                if iface.mac and iface.kind != "vlan":  # a VLAN may share its parent's
                    if iface.mac in macs:
                        raise SpecError(
                            f"topology {self.name}: MAC address {iface.mac} is on both "
                            f"{macs[iface.mac]} and {where}"
                        )
                    macs[iface.mac] = where
                if iface.kind == "vxlan" and iface.local not in node.addresses():
                    raise SpecError(
                        f"topology {self.name}: VXLAN {where}: local {iface.local} is not "
                        f"an address of {node.name}"
                    )
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
                            **({"mac": i.mac} if i.mac else {}),
                            **({"kind": i.kind} if i.kind != "veth" else {}),
                            **({"parent": i.parent, "vlan_id": i.vlan_id} if i.parent else {}),
                            **(
                                {
                                    "vni": i.vni,
                                    "local": str(i.local),
                                    "remote": str(i.remote),
                                    "port": i.port,
                                }
                                if i.kind == "vxlan"
                                else {}
                            ),
                            "peer": f"{i.peer[0]}:{i.peer[1]}" if i.peer else None,
                        }
                        for i in node.interfaces.values()
                    ],
                    "routes": [str(r) for r in node.routes],
                    **({"sysctls": node.sysctls} if node.sysctls else {}),
                    **({"commands": node.commands} if node.commands else {}),
                    **({"root": node.root.to_dict()} if node.root else {}),
                    **({"uplink": True} if node.uplink else {}),
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


def _dual(name: str) -> Topology:
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
    return topo


def dualstack() -> Topology:
    """``client`` and ``server`` through router ``r1``, IPv4 and IPv6 both working."""
    return _dual("dualstack")


#: v6rejected's ways of refusing: ``by`` -> the kind of r1's route to the server.
V6_REJECTIONS = {"reset": "local", "unreachable": "unreachable", "prohibit": "prohibit"}


def v6rejected(by: str = "reset") -> Topology:
    """As dualstack, but r1 refuses IPv6 to ``server``: clients try it first and fall back.

    The client keeps its IPv6 route, so getaddrinfo sorts the server's IPv6
    address first and clients try it; the refusal comes from r1, beyond the
    client, as from a broken network.  ``by``: ``reset`` (r1 answers the
    server's IPv6 address itself and resets every TCP connection, as a firewall's
    tcp-reset: ECONNREFUSED at once), ``unreachable`` (ICMPv6 no route:
    ENETUNREACH) or ``prohibit`` (ICMPv6 administratively prohibited: EACCES).
    An ICMPv6 error that reaches the client while its connect() still holds the
    socket — always, on a link without delay — is taken by Linux as a soft
    error, so ICMPv6 fails the attempt only with the SYN's retransmission, 1 s
    later; a reset fails it at once.
    """
    if by not in V6_REJECTIONS:
        raise SpecError(f"v6rejected: by={by!r}: use {', '.join(V6_REJECTIONS)}")
    topo = _dual("v6rejected" if by == "reset" else f"v6rejected:by={by}")
    server_v6 = _ip(_v6(1, 2))
    topo.nodes["r1"].routes.append(Route(f"{server_v6}/128", kind=V6_REJECTIONS[by]))
    return topo


def v6dropped() -> Topology:
    """As dualstack, but IPv6 to ``server`` is silently dropped (connections time out).

    r1 drops it without a word (a blackhole route); the client's SYNs go
    unanswered, so a client falls back only when its own deadline passes.
    """
    topo = _dual("v6dropped")
    topo.nodes["r1"].routes.append(Route(f"{_ip(_v6(1, 2))}/128", kind="blackhole"))
    return topo


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
    "v6rejected": (
        v6rejected,
        {
            "by": (
                str,
                "reset",
                "how r1 refuses IPv6 to server: reset (TCP reset), unreachable or "
                "prohibit (ICMPv6)",
            )
        },
    ),
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
    if not values:
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
        #: The kernel's qdiscs (``kernel_qdiscs``), once a link is impaired, and
        #: whether netem is one of them (else the relay does what htb/tbf cannot).
        self.qdiscs: Qdiscs | None = None
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
        #: node -> pid of the init that keeps the host's own root (``Node.root``).
        self.roots: dict[str, int] = {}
        #: The slirp4netns processes of hosts' uplinks (``core.net.uplink``).
        self.uplinks: list = []
        #: A rootless named network's holder (``core.holder``): it keeps the
        #: namespaces instead of /run/netns; node -> the fd number there.
        self.holder = None
        self.held: dict[str, int] = {}
        #: (node, interface) ends made up, and switch ports made ports of their
        #: bridge, when created.
        self._made_up: set = set()
        self._enslaved: set = set()

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

    def links(self, node: str) -> list[dict]:
        """The interfaces of ``node`` as the kernel has them (``netlink.links``)."""
        from pycoz_cli.core.net.netlink import links

        with self.netns(node).entered():
            return links()

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
                raise SetupError.from_oserror(err, getattr(err, "hint", None)) from None
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
        # Links: each veth is created from one end's namespace with the peer
        # placed directly in the other's, with ifindexes chosen here (no need to
        # ask the kernel for them, and never equal between the ends), that end up
        # at once, and a switch's port made a port of its bridge at once (the
        # switch's end creates the pair).  Impaired or not, a link is a plain
        # veth pair: without netem, the relay is put in the way of impaired ones
        # after (``core.net.impair``).
        for node in topo.nodes.values():
            if node.kind == "switch":
                self.namespaces[node.name].rtnl().add_bridge("br0", BRIDGE_INDEX, up=True)
        for k, link in enumerate(topo.links):
            (a, a_if), (b, b_if) = link.a, link.b
            ia, ib = 10 + 2 * k, 11 + 2 * k
            self.ifindex[link.a], self.ifindex[link.b] = ia, ib
            mtu = topo.nodes[a].interfaces[a_if].mtu
            ns_a, ns_b = self.namespaces[a], self.namespaces[b]
            if topo.nodes[b].kind == "switch" and topo.nodes[a].kind != "switch":
                (a, a_if, ia, ns_a), (b, b_if, ib, ns_b) = (b, b_if, ib, ns_b), (a, a_if, ia, ns_a)
            master = BRIDGE_INDEX if topo.nodes[a].kind == "switch" else None
            self._made_up.add((a, a_if))
            if master:
                self._enslaved.add((a, a_if))
            macs = topo.nodes[a].interfaces[a_if].mac, topo.nodes[b].interfaces[b_if].mac
            ns_a.rtnl().add_veth(a_if, b_if, ns_b.fd, ia, ib, mtu, *macs, up=True, master=master)
        # VLAN and VXLAN interfaces (made in _configure, once their parents exist).
        index = 10 + 2 * len(topo.links)
        for node in topo.nodes.values():
            for iface in node.interfaces.values():
                if iface.kind != "veth":
                    self.ifindex[(node.name, iface.name)] = index
                    index += 1
        if self.relay_ns is not None:
            self.relay_ns.rtnl().flush()
        for ns in self.namespaces.values():
            ns.rtnl().flush()
        for node in topo.nodes.values():
            self._configure(node)
        for node in topo.nodes.values():
            rtnl = self.namespaces[node.name].rtnl()
            for route in node.routes:
                nexthops = [(str(gw), weight) for gw, weight in route.nexthops]
                rtnl.add_route(
                    str(route.dst.network_address),
                    route.dst.prefixlen,
                    str(route.via) if route.via and not nexthops else None,
                    route.kind,
                    family=10 if route.dst.version == 6 else 2,
                    nexthops=nexthops or None,
                )
        for ns in self.namespaces.values():
            ns.rtnl().flush()
        impaired = [link for link in topo.links if any(link.impair.values())]
        if (impaired or self.name) and self.namespaces:
            self.qdiscs = kernel_qdiscs(next(iter(self.namespaces.values())).rtnl())
            self.netem = self.qdiscs.netem
        # The kernel's share first (netem, or htb/tbf for a rate alone), then the
        # relay's for what the kernel cannot do (``split_impairment``).
        for link in impaired:
            for end, impair in link.impair.items():
                kernel = split_impairment(impair, self.qdiscs)[0] if impair else None
                if kernel:
                    apply_qdisc(
                        self.namespaces[end[0]].rtnl(),
                        self.ifindex[end],
                        end,
                        kernel,
                        self.qdiscs,
                        flush=False,
                    )
        for ns in self.namespaces.values():
            ns.rtnl().flush()
        if self.netem is False:
            relayed = [link for link in impaired if self._relay_share(link)]
            if self.name or relayed:
                # A named topology's relay starts with it, idle, so that ``net set``
                # finds it for any link later.
                self._start_relay()
                self._relay(relayed)

    def _start_relay(self) -> None:
        from pycoz_cli.core.net.impair import Relay
        from pycoz_cli.core.net.netns import NetNS

        # The relay's ends say nothing of their own (IPv6 would talk on them).
        self.relay_ns = NetNS.create("link relay", {"net.ipv6.conf.default.disable_ipv6": "1"})
        self.relay_ns.rtnl().link_up(1, "lo")
        self.relay_ns.rtnl().flush()
        relay = Relay(self.relay_key, self.relay_ns.fd)
        # A rootless named topology's relay ends with its holder (``core.holder``);
        # root's with the `net up` making it, until ``named.up`` releases it.
        if self.holder is not None:
            relay.watch_pid = self.holder.pid
        elif self.name:
            relay.watch_pid = os.getpid()
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
            impair = [self._relay_share(link, e).to_dict() for e in (link.a, link.b)]
            todo.append(
                {"j": self.relayed[k], "ends": ends, "impair": impair, "new": new,
                 "steered": self.steered[k]}
            )  # fmt: skip
        if todo:
            relay_links(self.relay_key, self.relay_ns, todo)

    def _relay_share(self, link: Link, end: tuple[str, str] | None = None) -> Impairment:
        """The relay's part (``split_impairment``) of ``link``'s impairment at
        ``end``, or, without ``end``, whether any end has one (an Impairment
        that is true if so)."""
        if end is not None:
            impair = link.impair.get(end) or Impairment()
            return split_impairment(impair, self.qdiscs)[1] if impair else impair
        for e in (link.a, link.b):
            share = self._relay_share(link, e)
            if share:
                return share
        return Impairment()

    def _configure(self, node: Node) -> None:
        rtnl = self.namespaces[node.name].rtnl()
        rtnl.link_up(1, "lo")
        ifaces = sorted(node.interfaces.values(), key=lambda i: i.kind != "veth")
        for iface in ifaces:  # links' ends first: VLANs are made on them
            i = self.ifindex[(node.name, iface.name)]
            if iface.kind == "vlan":
                parent = self.ifindex[(node.name, iface.parent)]
                rtnl.add_vlan(iface.name, i, parent, iface.vlan_id, iface.mac, up=True)
            elif iface.kind == "vxlan":
                local, remote = str(iface.local), str(iface.remote)
                rtnl.add_vxlan(
                    iface.name, i, iface.vni, local, remote, iface.port, iface.mac, up=True
                )
            elif node.kind == "switch" and (node.name, iface.name) not in self._enslaved:
                rtnl.set_master(i, iface.name, BRIDGE_INDEX)
            for addr in iface.addresses:
                rtnl.add_address(i, iface.name, str(addr.ip), addr.network.prefixlen)
            if iface.kind == "veth" and (node.name, iface.name) not in self._made_up:
                rtnl.link_up(i, iface.name)

    def set_impairment(
        self, link: Link, end: tuple[str, str], impair: Impairment, flush: bool = True
    ) -> None:
        """Impair traffic leaving ``end`` (node, interface) over ``link``.

        An all-zero ``Impairment`` removes the impairment.
        """
        if self.qdiscs is None:
            self.qdiscs = kernel_qdiscs(next(iter(self.namespaces.values())).rtnl())
            self.netem = self.qdiscs.netem
        kernel, relay = split_impairment(impair, self.qdiscs)
        if kernel or flush:  # when building, a link has no qdisc to remove yet
            rtnl = self.namespaces[end[0]].rtnl()
            apply_qdisc(rtnl, self.ifindex[end], end, kernel, self.qdiscs, flush)
        before = link.impair.get(end)
        link.impair[end] = impair
        if self.netem or not (relay or self.topology.links.index(link) in self.relayed):
            return
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
        from pycoz_cli.errors import PycozError

        entries, unwatched = [], []
        devnull = os.open(os.devnull, os.O_RDWR)
        try:
            for node in self.topology.nodes.values():
                if node.uplink:
                    entries.append(self._start_uplink(node, detach, record))
            for node in self.topology.nodes.values():
                if node.root is not None:
                    entries.append(self._start_root(node, devnull, detach, record))
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
                        proc = self.host_container(node.name).spawn(
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
                        _wait_ready(proc, spec, self._checker(node.name, devnull))
        finally:
            os.close(devnull)
        # The others are not waited for; one that has failed already is reported.
        for proc, spec in unwatched:
            if proc.poll() not in (None, 0):
                raise SetupError(f"{spec.where}: {_ended(proc.returncode)} at start")
        return entries

    def _start_root(self, node: Node, devnull: int, detach: bool, record) -> dict:
        """Make the host's own root: a container whose init keeps it, which the
        host's commands then join (``Container``, ``SpawnPlan.keep``)."""
        from pycoz_cli.core import userns
        from pycoz_cli.core.container import Container
        from pycoz_cli.errors import PycozError

        if userns.active():
            # The keeping init is not dumpable (the fence), so only a caller with
            # CAP_SYS_PTRACE on the machine may open its /proc/PID/ns to join it.
            raise SetupError(
                f"topology {self.topology.name}: {node.name}.root: a host's own root needs "
                "pycoz to run as root (an ordinary user cannot join its keeping init, "
                "which is not dumpable)"
            )
        entry = {"node": node.name, "index": "root", "argv": [], "pid": None, "log": None}
        if record is not None:
            record(entry)
        options = node.root.container_options()
        container = Container(network=self, host=node.name, **options)
        try:
            proc = container.spawn(
                keep=True, stdin=devnull, stdout=devnull, stderr=devnull, detach=detach
            )
        except PycozError as err:
            raise SetupError(f"topology {self.topology.name}: {node.name}.root: {err}") from None
        if not detach:
            self.started.append(proc)
        self.roots[node.name] = proc.pid
        entry["pid"] = proc.pid
        entry["process"] = proc
        if record is not None:
            record(entry)
        return entry

    def _start_uplink(self, node: Node, detach: bool, record) -> dict:
        """Give ``node`` its uplink (``core.net.uplink``), recorded as its
        commands are, so that ``net down`` stops it."""
        from pycoz_cli.core.net import uplink

        entry = {"node": node.name, "index": "uplink", "argv": [], "pid": None, "log": None}
        if record is not None:
            record(entry)
        proc = uplink.start(self.namespaces[node.name].fd, node.name, detach)
        if not detach:
            self.uplinks.append(proc)
        entry["pid"] = proc.pid
        if record is not None:
            record(entry)
        return entry

    def root_pid(self, node: str) -> int | None:
        """The pid of the init keeping ``node``'s own root, if it has one."""
        return self.roots.get(node)

    def host_container(self, node: str, **options):
        """A ``Container`` for running in host ``node``, as its commands do."""
        from pycoz_cli.core.container import Container

        return Container(network=self, host=node, overlay=False, **options)

    def _checker(self, node: str, devnull: int):
        """``check(argv, seconds)``: run a readiness check in ``node``, its
        output discarded; its status (killed after ``seconds``: -9)."""

        def check(argv: list[str], seconds: float) -> int:
            proc = self.host_container(node).spawn(
                argv, stdin=devnull, stdout=devnull, stderr=devnull
            )
            with proc:
                end = time.monotonic() + seconds
                while proc.poll() is None:
                    if time.monotonic() > end:
                        proc.kill()
                        return proc.wait()
                    time.sleep(0.01)
                return proc.returncode

        return check

    def teardown(self) -> None:
        from pycoz_cli.core.net.netns import remove_named

        for proc in self.started:
            proc.kill()
            proc.wait()
        self.started.clear()
        self.roots.clear()
        if self.uplinks:
            from pycoz_cli.core.net import uplink

            for proc in self.uplinks:
                uplink.stop(proc)
            self.uplinks.clear()
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


def _wait_ready(proc, spec: CommandSpec, check_command) -> None:
    """Wait until a host command is ready (``CommandSpec.ready``): listening on
    its port (a socket of its network namespace, read from /proc/PID/net as
    ``ss -l`` does), a file existing in its root (seen through /proc/PID/root),
    a check command succeeding (``check_command(argv, seconds)`` runs it in the
    host and returns its status), or the command ended with status 0.

    A command that ends first raises ``SetupError``; one not ready in time
    raises ``NotReady``, naming the command and its check."""
    from pycoz_cli.errors import NotReady, PycozError

    kind, what = spec.ready
    deadline = time.monotonic() + spec.timeout
    delay = 0.001
    check = describe_ready(spec.ready)
    while True:
        code = proc.poll()
        if kind == "exit":
            if code == 0:
                return
            if code is not None:
                raise SetupError(f"{spec.where}: {_ended(code)} ({check} waits for status 0)")
        elif code is not None:
            raise SetupError(f"{spec.where}: {_ended(code)} before it was ready ({check})")
        elif kind in ("tcp", "udp"):
            if _listening(proc.pid, kind, what):
                return
        elif kind == "file":
            if os.path.lexists(f"/proc/{proc.pid}/root{what}"):
                return
        else:
            try:
                if check_command(what, max(0.1, deadline - time.monotonic())) == 0:
                    return
            except PycozError as err:
                raise SetupError(f"{spec.where}: {check}: {err}") from None
        if time.monotonic() > deadline:
            why = {
                "exit": "still running",
                "tcp": f"nothing listens on tcp port {what}",
                "udp": f"nothing listens on udp port {what}",
                "file": f"no {what}",
                "cmd": "the check has not succeeded",
            }[kind]
            raise NotReady(f"{spec.where}: not ready after {spec.timeout:g}s: {why} ({check})")
        time.sleep(delay)
        # A check command is a container each time: ask it less often.
        delay = min(delay * 2, 0.2 if kind == "cmd" else 0.05)


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


@dataclass(frozen=True, slots=True)
class Qdiscs:
    """Which of the queueing disciplines pycoz impairs links with this kernel has."""

    netem: bool = False
    htb: bool = False
    tbf: bool = False


#: Asked in this order, and no further than the first the kernel has: netem does
#: everything, htb and tbf rates only.
_PROBES = (
    ("netem", {"delay": 1}),
    ("htb", {}),
    ("tbf", {"rate": 125000, "burst": 1600, "latency": 1000}),
)
_QDISCS: Qdiscs | None = None


def kernel_qdiscs(rtnl) -> Qdiscs:
    """The qdiscs of this kernel (``Qdiscs``), probed once per process on the
    loopback of a namespace pycoz made, ``rtnl``'s (adding a qdisc of a kind the
    kernel lacks fails with ENOENT; one that works is removed again at once)."""
    global _QDISCS
    if _QDISCS is None:
        found = {}
        for kind, params in _PROBES:
            rtnl.set_qdisc(1, "lo", kind, **params)
            try:
                rtnl.flush()
            except OSError as err:
                if err.errno != errno.ENOENT:  # the kernel knows no qdisc of that kind
                    raise
                found[kind] = False
                continue
            rtnl.set_qdisc(1, "lo", None)
            rtnl.flush()
            found[kind] = True
            break
        _QDISCS = Qdiscs(**found)
    return _QDISCS


def netem_available(rtnl) -> bool:
    """Whether this kernel has the netem qdisc (``kernel_qdiscs``)."""
    return kernel_qdiscs(rtnl).netem


def split_impairment(impair: Impairment, qdiscs: Qdiscs) -> tuple[Impairment, Impairment]:
    """(what the kernel's qdiscs do, what the relay must do) of ``impair``.

    The one place that decides: netem, where the kernel has it, does everything;
    else htb or tbf does a rate alone (so a link that only has a rate needs no
    relay), and the relay (``core.net.impair``) a direction that asks for more,
    its rate included.
    """
    if qdiscs.netem:
        return impair, Impairment()
    if impair.rate_bps and (qdiscs.htb or qdiscs.tbf):
        rest = copy.copy(impair)
        rest.rate_bps, rest.limit = 0, 0
        if not rest:
            return impair, Impairment()
    # The relay takes the whole direction: its detour (tc's clsact, before the
    # interface's root qdisc) would bypass an htb or tbf there.
    return Impairment(), impair


#: netem's knobs (pyroute2's sched_netem parameters) -> the Impairment's attribute.
_NETEM_PERCENTS = {
    "loss": "loss",
    "loss_corr": "loss_corr",
    "prob_corrupt": "corrupt",
    "corr_corrupt": "corrupt_corr",
    "duplicate": "duplicate",
    "dup_corr": "duplicate_corr",
    "prob_reorder": "reorder",
    "corr_reorder": "reorder_corr",
}
#: tbf's queue, in bytes, per packet of the limit (an Ethernet frame).
_FRAME = 1514
#: netem's default limit (packets), which the rate's queue keeps too.
DEFAULT_LIMIT = 1000


def netem_parameters(impair: Impairment) -> dict:
    """pyroute2's sched_netem parameters for ``impair`` (times in microseconds,
    percentages as such, the rate in bytes per second)."""
    params = {"delay": round(impair.delay_ms * 1000), "jitter": round(impair.jitter_ms * 1000)}
    for knob, attribute in _NETEM_PERCENTS.items():
        value = getattr(impair, attribute, 0)
        if value:
            params[knob] = value
    if getattr(impair, "gap", 0):
        params["gap"] = impair.gap
    params["limit"] = getattr(impair, "limit", 0) or DEFAULT_LIMIT
    if impair.rate_bps:
        params["rate"] = impair.rate_bps // 8
    return params


def apply_qdisc(
    rtnl, index: int, end: tuple[str, str], share: Impairment, qdiscs: Qdiscs, flush=True
) -> None:
    """Put the kernel's ``share`` of an impairment (``split_impairment``) on the
    interface ``index`` of ``end`` (node, interface): netem, or htb (tbf where
    the kernel has no htb) for a rate; none when ``share`` is empty."""
    label = f"{end[0]}:{end[1]}"
    limit = getattr(share, "limit", 0) or DEFAULT_LIMIT
    if not share:
        rtnl.set_qdisc(index, label, None)
    elif qdiscs.netem:
        rtnl.set_qdisc(index, label, "netem", **netem_parameters(share))
    elif qdiscs.htb:
        # One class, 1:1, all traffic: mininet's TCIntf shape.  Its queue is a
        # pfifo of netem's default 1000 packets, or of ``limit``.
        rate = share.rate_bps // 8
        if flush:  # live: htb cannot be changed in place (EINVAL), only made again
            rtnl.set_qdisc(index, label, None)
        rtnl.set_qdisc(index, label, "htb", default=1)
        rtnl.set_class(index, label, "htb", 0x10001, 0x10000, rate=rate, ceil=rate)
        rtnl.set_leaf(index, label, 0x10001, limit)
    else:
        rate = min(share.rate_bps // 8, 0xFFFFFFFF)
        # The bucket: 1 ms of the rate, and at least two frames.
        burst = max(rate // 1000, 2 * _FRAME)
        rtnl.set_qdisc(index, label, "tbf", rate=rate, burst=burst, limit=limit * _FRAME)
    if flush:
        rtnl.flush()
