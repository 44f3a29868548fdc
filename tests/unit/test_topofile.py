"""Topology files (pycoz_cli.core.net.topofile): what a file builds, and the one-line
``FILE:LINE: KEY: reason`` error for each kind of mistake."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import textwrap

import pytest

from pycoz_cli.core.net import topofile
from pycoz_cli.core.net.topofile import load, loads, parse_duration, parse_percent, parse_rate
from pycoz_cli.core.net.topology import READY_USAGE, resolve
from pycoz_cli.errors import SpecError

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples" / "topologies").glob("*.toml"))
DOC = REPO / "docs" / "topology-format.md"


def src(text: str) -> str:
    """Dedent a source; its first line is the one after the opening quotes."""
    return textwrap.dedent(text.removeprefix("\n"))


def error(text: str, filename: str = "lab.toml") -> str:
    with pytest.raises(SpecError) as info:
        loads(src(text), filename)
    message = str(info.value)
    assert "\n" not in message
    assert info.value.exit_code == 2
    return message


# --- a full file ---------------------------------------------------------------------

FULL = """
# A client and a server through a router.
name = "lab"

[hosts.client]
routes = ["default via 198.18.0.2", "default via 2001:db8::2", "blackhole 2001:db8:1::/64"]
sysctls = { "net.ipv4.tcp_ecn" = "1" }
commands = [["python3", "-m", "http.server", "8000"], "echo 'hi' > /tmp/x"]

[routers.r1]
routes = ["unreachable 198.18.99.0/24", "prohibit 2001:db8:99::/64"]
[routers.r1.sysctls]
net.ipv6.conf.all.forwarding = 0
net.core.somaxconn = 512

[switches.s1]

[hosts.server]
routes = [
  "default via 198.18.1.1",
  "unicast 2001:db8:3::/64 via 2001:db8:2::1",
]

[hosts.h3]

[[links]]
a = "client:wan0"
b = "r1"
a_addresses = ["198.18.0.1/24", "2001:db8::1/64"]
b_addresses = ["198.18.0.2/24", "2001:db8::2/64"]
mtu = 1400
delay = "50ms"
jitter = "5ms"
loss = "1%"
[links.b_to_a]
rate = "10mbit"
delay = "0ms"
corrupt = "0.1%"

[[links]]
a = "r1"
b = "s1"
a_addresses = ["198.18.1.1/24"]

[[links]]
a = "server"
b = "s1"
a_addresses = ["198.18.1.2/24", "2001:db8:2::2/64"]
a_to_b = { rate = "1.5gbit" }

[[links]]
a = "h3"
b = "s1:uplink"
a_addresses = ["198.18.1.3/24"]
"""

FULL_DICT = {
    "name": "lab",
    "nodes": [
        {
            "name": "client",
            "kind": "host",
            "interfaces": [
                {
                    "name": "wan0",
                    "addresses": ["198.18.0.1/24", "2001:db8::1/64"],
                    "mtu": 1400,
                    "peer": "r1:eth0",
                }
            ],
            "routes": [
                "default via 198.18.0.2",
                "default via 2001:db8::2",
                "blackhole 2001:db8:1::/64",
            ],
            "sysctls": {"net.ipv4.tcp_ecn": "1"},
            "commands": [
                ["python3", "-m", "http.server", "8000"],
                ["sh", "-c", "echo 'hi' > /tmp/x"],
            ],
        },
        {
            "name": "r1",
            "kind": "router",
            "interfaces": [
                {
                    "name": "eth0",
                    "addresses": ["198.18.0.2/24", "2001:db8::2/64"],
                    "mtu": 1400,
                    "peer": "client:wan0",
                },
                {"name": "eth1", "addresses": ["198.18.1.1/24"], "peer": "s1:r1"},
            ],
            "routes": ["unreachable 198.18.99.0/24", "prohibit 2001:db8:99::/64"],
            "sysctls": {
                "net.ipv4.ip_forward": "1",
                "net.ipv6.conf.all.forwarding": "0",
                "net.core.somaxconn": "512",
            },
        },
        {
            "name": "s1",
            "kind": "switch",
            "interfaces": [
                {"name": "r1", "addresses": [], "peer": "r1:eth1"},
                {"name": "server", "addresses": [], "peer": "server:eth0"},
                {"name": "uplink", "addresses": [], "peer": "h3:eth0"},
            ],
            "routes": [],
        },
        {
            "name": "server",
            "kind": "host",
            "interfaces": [
                {
                    "name": "eth0",
                    "addresses": ["198.18.1.2/24", "2001:db8:2::2/64"],
                    "peer": "s1:server",
                }
            ],
            "routes": ["default via 198.18.1.1", "2001:db8:3::/64 via 2001:db8:2::1"],
        },
        {
            "name": "h3",
            "kind": "host",
            "interfaces": [{"name": "eth0", "addresses": ["198.18.1.3/24"], "peer": "s1:uplink"}],
            "routes": [],
        },
    ],
    "links": [
        {
            "a": "client:wan0",
            "b": "r1:eth0",
            "impair": {
                "client:wan0": {"delay_ms": 50.0, "jitter_ms": 5.0, "loss": 1.0},
                "r1:eth0": {"jitter_ms": 5.0, "loss": 1.0, "corrupt": 0.1, "rate_bps": 10**7},
            },
        },
        {"a": "r1:eth1", "b": "s1:r1"},
        {"a": "server:eth0", "b": "s1:server", "impair": {"server:eth0": {"rate_bps": 15 * 10**8}}},
        {"a": "h3:eth0", "b": "s1:uplink"},
    ],
}


def test_full_file_builds_the_expected_topology():
    topo = loads(src(FULL), "labs/lab.toml")
    assert topo.to_dict() == FULL_DICT
    # Keyed by the sending end: a_to_b is what a sends.
    link = topo.links[0]
    assert link.impair[("client", "wan0")].delay_ms == 50.0
    assert link.impair[("r1", "eth0")].delay_ms == 0.0
    assert topo.first_host() == "client"


def test_nodes_are_created_in_file_order_across_sections():
    topo = loads(src("[hosts.b]\n[switches.s]\n[routers.r]\n[hosts.a]\n"), "x.toml")
    assert list(topo.nodes) == ["b", "s", "r", "a"]
    assert [n.kind for n in topo.nodes.values()] == ["host", "switch", "router", "host"]


def test_name_defaults_to_the_file_stem():
    assert loads("[hosts.h1]\n", "some/dir/my-lab.toml").name == "my-lab"
    assert loads("[hosts.h1]\n").name == "<string>"


def test_minimal_isolated_host():
    assert loads("[hosts.h1]\n", "one.toml").to_dict() == {
        "name": "one",
        "nodes": [{"name": "h1", "kind": "host", "interfaces": [], "routes": []}],
        "links": [],
    }


def test_named_interfaces_are_reserved_before_automatic_ones():
    topo = loads(
        src(
            """
            [hosts.h1]
            [hosts.h2]
            [hosts.h3]
            [[links]]
            a = "h1"
            b = "h2"
            [[links]]
            a = "h1:eth0"
            b = "h3:eth0"
            [[links]]
            a = "h1"
            b = "h3"
            """
        )
    )
    assert list(topo.nodes["h1"].interfaces) == ["eth1", "eth0", "eth2"]
    assert list(topo.nodes["h3"].interfaces) == ["eth0", "eth1"]
    assert [lk.label for lk in topo.links] == [
        "h1:eth1-h2:eth0",
        "h1:eth0-h3:eth0",
        "h1:eth2-h3:eth1",
    ]


def test_switch_ports_are_named_after_their_peer_unless_taken():
    topo = loads(
        src(
            """
            [switches.s1]
            [hosts.h1]
            [hosts.br0]
            [[links]]
            a = "h1"
            b = "s1"
            [[links]]
            a = "h1"
            b = "s1"
            [[links]]
            a = "br0"
            b = "s1"
            """
        )
    )
    assert list(topo.nodes["s1"].interfaces) == ["h1", "eth0", "eth1"]


def test_direction_tables_override_the_link_key_by_key():
    topo = loads(
        src(
            """
            [hosts.a]
            [hosts.b]
            [[links]]
            a = "a"
            b = "b"
            delay = "10ms"
            loss = "2%"
            a_to_b = { loss = "0%", rate = "1mbit" }
            b_to_a = { delay = "0s", loss = "0%" }
            """
        )
    )
    link = topo.links[0]
    assert link.impair[("a", "eth0")].to_dict() == {"delay_ms": 10.0, "rate_bps": 10**6}
    assert ("b", "eth0") not in link.impair  # nothing left in that direction


def test_sysctls_in_quoted_and_nested_form_and_router_defaults():
    topo = loads(
        src(
            """
            [routers.r1.sysctls]
            "net.ipv4.tcp_ecn" = 1
            net.ipv4.ip_forward = "0"
            net.ipv6 = { conf.all.accept_ra = 2 }
            """
        )
    )
    assert topo.nodes["r1"].sysctls == {
        "net.ipv4.ip_forward": "0",
        "net.ipv6.conf.all.forwarding": "1",
        "net.ipv4.tcp_ecn": "1",
        "net.ipv6.conf.all.accept_ra": "2",
    }


def test_crlf_line_endings():
    text = src(FULL).replace("\n", "\r\n")
    assert loads(text, "lab.toml").to_dict() == FULL_DICT
    bad = text.replace('delay = "50ms"', 'delay = "50"')
    with pytest.raises(SpecError, match=r"^lab\.toml:31: links\[0\]\.delay: "):
        loads(bad, "lab.toml")


def test_links_as_an_inline_array():
    topo = loads(
        src(
            """
            links = [
              { a = "a", b = "b", a_addresses = ["198.18.0.1/24"] },
              { a = "a", b = "b", delay = "1ms" },
            ]
            [hosts.a]
            [hosts.b]
            """
        )
    )
    assert [lk.label for lk in topo.links] == ["a:eth0-b:eth0", "a:eth1-b:eth1"]


# --- units ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ms"),
    [("50ms", 50.0), ("1.5s", 1500.0), ("200us", 0.2), ("200µs", 0.2), ("250ns", 0.00025),
     ("0ms", 0.0), (".5ms", 0.5), (" 7 ms ", 7.0), ("3.s", 3000.0)],
)  # fmt: skip
def test_durations(text, ms):
    assert parse_duration(text) == pytest.approx(ms)


@pytest.mark.parametrize(
    ("text", "pct"), [("1%", 1.0), ("0.1%", 0.1), ("100%", 100.0), ("0%", 0.0), ("2.5 %", 2.5)]
)
def test_percentages(text, pct):
    assert parse_percent(text) == pytest.approx(pct)


@pytest.mark.parametrize(
    ("text", "bps"),
    [("10mbit", 10**7), ("500kbit", 500_000), ("1gbit", 10**9), ("1.5Gbit", 15 * 10**8),
     ("8bit", 8), ("0bit", 0), ("1tbit", 10**12), ("1kibit", 1024), ("2mibit", 2 * 1024**2),
     ("1GiBit", 1024**3), ("100 kbit", 100_000)],
)  # fmt: skip
def test_rates(text, bps):
    assert parse_rate(text) == bps


@pytest.mark.parametrize(
    ("parse", "value", "message"),
    [
        (parse_duration, "50 parsecs", "'50 parsecs' is not a duration (use 10ms, 1.5s, 200us)"),
        (parse_duration, "-5ms", "'-5ms' is not a duration (use 10ms, 1.5s, 200us)"),
        (parse_duration, 50, '50 has no unit (write "50ms")'),
        (parse_duration, True, "True is not a duration (use 10ms, 1.5s, 200us)"),
        (parse_duration, "1e9s", "'1e9s' is not a duration (use 10ms, 1.5s, 200us)"),
        (parse_duration, "10000000000s", "'10000000000s' is too long"),
        (parse_percent, "150%", "'150%' is more than 100%"),
        (parse_percent, "1", "'1' is not a percentage (use 1%, 0.1%)"),
        (parse_percent, 0.01, '0.01 has no unit (write "0.01%")'),
        (parse_rate, "fast", "'fast' is not a rate (use 10mbit, 500kbit, 1gbit)"),
        (parse_rate, "10mbit/s", "'10mbit/s' is not a rate (use 10mbit, 500kbit, 1gbit)"),
        (parse_rate, 1000, "1000 has no unit (use 10mbit, 500kbit, 1gbit)"),
        (parse_rate, "4bit", "'4bit' is below 8bit, the smallest rate netem applies"),
        (
            parse_rate,
            "10Mbps",
            "'10Mbps' is in bytes per second, which tc and people read differently: "
            "write bits ('80mbit')",
        ),
        (
            parse_rate,
            "1.5kibps",
            "'1.5kibps' is in bytes per second, which tc and people read differently: "
            "write bits ('12kibit')",
        ),
    ],
)
def test_unit_errors(parse, value, message):
    with pytest.raises(ValueError) as info:
        parse(value)
    assert str(info.value) == message


# --- errors: each kind, exactly --------------------------------------------------------

# Two hosts and a link, for the error cases to extend.  Lines: 1 [hosts.client],
# 2 [hosts.server], 3 [[links]], 4 a, 5 b, 6 a_addresses, 7 b_addresses.
PAIR = """
[hosts.client]
[hosts.server]
[[links]]
a = "client"
b = "server"
a_addresses = ["198.18.0.1/24", "2001:db8::1/64"]
b_addresses = ["198.18.0.2/24", "2001:db8::2/64"]
"""

ERRORS = [
    # TOML syntax, with tomllib's line and column
    (
        "syntax",
        "[hosts.client]\nfoo\n",
        "lab.toml:2: invalid TOML: expected '=' after a key in a key/value pair (column 4)",
    ),
    (
        "syntax-eof",
        'name = "lab\n',
        "lab.toml:1: invalid TOML: illegal character '\\n' (column 12)",
    ),
    (
        "syntax-end",
        "[hosts.h]\nx = [1,",
        "lab.toml:2: invalid TOML: invalid value (at the end)",
    ),
    (
        "table-twice",
        "[hosts.a]\n[hosts.b]\n\n[hosts.a]\n",
        "lab.toml:4: hosts.a: defined twice (first on line 1)",
    ),
    (
        "key-twice",
        "[hosts.a]\nroutes = []\nsysctls = {}\nroutes = []\n",
        "lab.toml:4: hosts.a.routes: defined twice (first on line 2)",
    ),
    # the top level
    (
        "top-typo",
        "[host.a]\n",
        "lab.toml:1: host: unknown key 'host' (did you mean 'hosts'?)",
    ),
    (
        "top-unknown",
        "colour = 'red'\n",
        "lab.toml:1: colour: unknown key 'colour' (the file takes name, hosts, routers, "
        "switches or links)",
    ),
    (
        "name-type",
        "name = 5\n[hosts.a]\n",
        "lab.toml:1: name: 5: the name is a string",
    ),
    (
        "name-empty",
        "name = ''\n[hosts.a]\n",
        "lab.toml:1: name: '': give a name on one line",
    ),
    (
        "hosts-array",
        "hosts = ['a']\n",
        "lab.toml:1: hosts: must be a table (one [hosts.NAME] table per host)",
    ),
    (
        "host-not-table",
        "[hosts]\nclient = 'yes'\n",
        "lab.toml:2: hosts.client: must be a table ([hosts.client])",
    ),
    (
        "no-nodes",
        "# nothing\n",
        "lab.toml:1: hosts: no nodes: declare at least one, like [hosts.h1]",
    ),
    (
        "links-table",
        "[hosts.a]\n[links]\na = 'a'\n",
        "lab.toml:2: links: write each link as its own [[links]] table",
    ),
    (
        "links-string",
        "links = 'a-b'\n[hosts.a]\n",
        "lab.toml:1: links: must be an array of tables: one [[links]] per link",
    ),
    (
        "link-not-table",
        "links = [1]\n[hosts.a]\n",
        "lab.toml:1: links[0]: must be a table: one [[links]] per link",
    ),
    # nodes
    (
        "node-twice",
        "[hosts.r1]\n\n[routers.r1]\n",
        "lab.toml:3: routers.r1: 'r1' is already a node (hosts.r1, line 1)",
    ),
    (
        "node-key-typo",
        "[hosts.a]\nroute = []\n",
        "lab.toml:2: hosts.a.route: unknown key 'route' (did you mean 'routes'?)",
    ),
    (
        "node-key-unknown",
        "[routers.a]\naddress = '1.2.3.4'\n",
        "lab.toml:2: routers.a.address: unknown key 'address' (a router takes routes, "
        "sysctls, commands, vlans, vxlans, root or uplink)",
    ),
    (
        "switch-routes",
        "[switches.s]\nroutes = []\n",
        "lab.toml:2: switches.s.routes: a switch takes no routes: it has no addresses of "
        "its own (give them to a host or router)",
    ),
    (
        "switch-commands",
        "[switches.s]\ncommands = ['ls']\n",
        "lab.toml:2: switches.s.commands: a switch takes no commands: it has no addresses "
        "of its own (give them to a host or router)",
    ),
    (
        "routes-string",
        "[hosts.a]\nroutes = 'default via 1.2.3.4'\n",
        "lab.toml:2: hosts.a.routes: must be an array (of route strings)",
    ),
    (
        "route-type",
        "[hosts.a]\nroutes = [\n  'default via 198.18.0.2',\n  5,\n]\n",
        "lab.toml:4: hosts.a.routes[1]: 5: a route is a string; write "
        "[unicast|blackhole|unreachable|prohibit|local] DST|default [via GATEWAY [weight N]]...",
    ),
    (
        "sysctl-not-net",
        "[hosts.a]\nsysctls = { 'kernel.pid_max' = '100' }\n",
        'lab.toml:2: hosts.a.sysctls."kernel.pid_max": not a network sysctl: only net.* '
        "sysctls belong to a network namespace (like net.ipv4.tcp_ecn)",
    ),
    (
        "sysctl-traversal",
        "[hosts.a.sysctls]\n'net/../../kernel/x' = 1\n",
        'lab.toml:2: hosts.a.sysctls."net/../../kernel/x": not a network sysctl: only '
        "net.* sysctls belong to a network namespace (like net.ipv4.tcp_ecn)",
    ),
    (
        "sysctl-bool",
        "[hosts.a.sysctls]\n\nnet.ipv4.tcp_ecn = true\n",
        "lab.toml:3: hosts.a.sysctls.net.ipv4.tcp_ecn: True: give a string or an integer",
    ),
    (
        "sysctl-newline",
        "[hosts.a.sysctls]\n'net.x' = \"1\\n2\"\n",
        "lab.toml:2: hosts.a.sysctls.\"net.x\": '1\\n2': give a value on one line",
    ),
    (
        "sysctls-array",
        "[hosts.a]\nsysctls = ['net.x=1']\n",
        'lab.toml:2: hosts.a.sysctls: must be a table ("net.NAME" = "VALUE" pairs)',
    ),
    (
        "command-empty",
        "[hosts.a]\ncommands = [[]]\n",
        "lab.toml:2: hosts.a.commands[0]: empty command",
    ),
    (
        "command-blank",
        "[hosts.a]\ncommands = ['  ']\n",
        "lab.toml:2: hosts.a.commands[0]: empty command",
    ),
    (
        "command-arg",
        "[hosts.a]\ncommands = [\n  ['sleep',\n   1],\n]\n",
        "lab.toml:4: hosts.a.commands[0][1]: 1: arguments are strings",
    ),
    (
        "command-type",
        "[hosts.a]\ncommands = [5]\n",
        "lab.toml:2: hosts.a.commands[0]: 5: a command is a list of arguments, a string "
        "for sh -c, or a table { run = ..., ready = ... }",
    ),
    (
        "command-table-run",
        "[hosts.a]\ncommands = [{ ready = 'exit' }]\n",
        "lab.toml:2: hosts.a.commands[0]: missing key 'run' (the command: a list of "
        "arguments, or a string for sh -c)",
    ),
    (
        "command-table-key",
        "[hosts.a]\ncommands = [{ run = 'x', redy = 'exit' }]\n",
        "lab.toml:2: hosts.a.commands[0].redy: unknown key 'redy' (did you mean 'ready'?)",
    ),
    (
        "command-ready",
        "[hosts.a]\ncommands = [{ run = 'x', ready = 'tcp:99999' }]\n",
        f"lab.toml:2: hosts.a.commands[0].ready: 'tcp:99999': use {READY_USAGE}",
    ),
    (
        "command-ready-relative-file",
        "[hosts.a]\ncommands = [{ run = 'x', ready = 'file:ready' }]\n",
        f"lab.toml:2: hosts.a.commands[0].ready: 'file:ready': use {READY_USAGE}",
    ),
    (
        "command-ready-empty-cmd",
        "[hosts.a]\ncommands = [{ run = 'x', ready = [] }]\n",
        "lab.toml:2: hosts.a.commands[0].ready: []: a check command is a non-empty list of strings",
    ),
    (
        "command-timeout",
        "[hosts.a]\ncommands = [{ run = 'x', ready = 'exit', timeout = 5 }]\n",
        'lab.toml:2: hosts.a.commands[0].timeout: 5 has no unit (write "5ms")',
    ),
    (
        "uplink-not-bool",
        "[hosts.a]\nuplink = 'yes'\n",
        "lab.toml:2: hosts.a.uplink: 'yes': give true (or false)",
    ),
    (
        "uplink-default-route",
        "[hosts.a]\nuplink = true\nroutes = ['default via 198.18.0.2']\n[hosts.b]\n"
        "[[links]]\na = 'a'\nb = 'b'\na_addresses = ['198.18.0.1/24']\n",
        "lab.toml:3: hosts.a.routes[0]: 'default via 198.18.0.2': a's uplink gives it its "
        "IPv4 default route (via 10.0.2.2)",
    ),
    (
        "uplink-address",
        "[hosts.a]\nuplink = true\n[hosts.b]\n"
        "[[links]]\na = 'a'\nb = 'b'\na_addresses = ['10.0.2.5/24']\n",
        "lab.toml:7: links[0].a_addresses[0]: 10.0.2.5 is in 10.0.2.0/24, the network of a's "
        "uplink",
    ),
    (
        "uplink-ifname",
        "[hosts.a]\nuplink = true\n[hosts.b]\n[[links]]\na = 'a:uplink0'\nb = 'b'\n",
        "lab.toml:5: links[0].a: interface name 'uplink0' is taken by the uplink",
    ),
    (
        "root-unknown-key",
        "[hosts.a]\nroot = { bsae = '/' }\n",
        "lab.toml:2: hosts.a.root.bsae: unknown key 'bsae' (did you mean 'base'?)",
    ),
    (
        "root-not-a-table",
        "[hosts.a]\nroot = '/'\n",
        "lab.toml:2: hosts.a.root: must be a table (base, upper, binds...)",
    ),
    (
        "root-base-missing",
        "[hosts.a]\nroot = { base = '/nonexistent-pycoz-base' }\n",
        "lab.toml:2: hosts.a.root.base: /nonexistent-pycoz-base: not a directory",
    ),
    (
        "root-bind-missing",
        "[hosts.a]\n[hosts.a.root]\nbinds = ['/nonexistent-pycoz-src:/x']\n",
        "lab.toml:3: hosts.a.root.binds[0]: /nonexistent-pycoz-src: no such file or directory",
    ),
    (
        "root-bind-relative-dst",
        "[hosts.a]\n[hosts.a.root]\nro_binds = ['/:x']\n",
        "lab.toml:3: hosts.a.root.ro_binds[0]: 'x': the destination is an absolute path",
    ),
    (
        "root-tmpfs-relative",
        "[hosts.a]\n[hosts.a.root]\ntmpfs = ['tmp']\n",
        "lab.toml:3: hosts.a.root.tmpfs[0]: 'tmp': give \"DIR[:OPTIONS]\" with an absolute DIR",
    ),
    (
        "root-upper-parent",
        "[hosts.a]\nroot = { upper = '/nonexistent-pycoz/upper' }\n",
        "lab.toml:2: hosts.a.root.upper: /nonexistent-pycoz/upper: /nonexistent-pycoz does "
        "not exist",
    ),
    (
        "command-timeout-alone",
        "[hosts.a]\ncommands = [{ run = 'x', timeout = '5s' }]\n",
        "lab.toml:2: hosts.a.commands[0].timeout: a timeout needs ready (what to wait for)",
    ),
    (
        "node-name",
        "[hosts.1st]\n",
        "lab.toml:1: hosts.1st: node name '1st': use 1-15 letters, digits, '-' or '_', "
        "starting with a letter",
    ),
    # routes
    (
        "route-no-gw",
        "[hosts.client]\nroutes = ['default']\n",
        "lab.toml:2: hosts.client.routes[0]: 'default': a unicast route needs a gateway "
        "('default via GATEWAY')",
    ),
    (
        "route-local-via",
        "[hosts.client]\nroutes = ['local 10.0.0.0/8 via 10.0.0.1']\n",
        "lab.toml:2: hosts.client.routes[0]: 'local 10.0.0.0/8 via 10.0.0.1': a "
        "local route takes no gateway",
    ),
    (
        "route-kind-gw",
        "[hosts.client]\nroutes = ['blackhole 10.0.0.0/8 via 10.0.0.1']\n",
        "lab.toml:2: hosts.client.routes[0]: 'blackhole 10.0.0.0/8 via 10.0.0.1': a "
        "blackhole route takes no gateway",
    ),
    (
        "route-host-bits",
        "[hosts.client]\nroutes = ['198.18.5.1/24 via 198.18.0.2']\n",
        "lab.toml:2: hosts.client.routes[0]: '198.18.5.1/24 via 198.18.0.2': 198.18.5.1/24 "
        "has host bits set (did you mean 198.18.5.0/24?)",
    ),
    (
        "route-family",
        "[hosts.client]\nroutes = ['2001:db8:5::/64 via 198.18.0.2']\n",
        "lab.toml:2: hosts.client.routes[0]: '2001:db8:5::/64 via 198.18.0.2': gateway "
        "198.18.0.2 is IPv4 but 2001:db8:5::/64 is IPv6",
    ),
    (
        "route-bad-dst",
        "[hosts.client]\nroutes = ['somewhere via 10.0.0.1']\n",
        "lab.toml:2: hosts.client.routes[0]: 'somewhere via 10.0.0.1': 'somewhere' is not a "
        "network (like 198.18.1.0/24, 2001:db8:1::/64 or default)",
    ),
    (
        "route-bad-gw",
        "[hosts.client]\nroutes = ['default via gw']\n",
        "lab.toml:2: hosts.client.routes[0]: 'default via gw': gateway 'gw' is not an IP address",
    ),
    (
        "route-extra",
        "[hosts.client]\nroutes = ['default via 10.0.0.1 dev eth0']\n",
        "lab.toml:2: hosts.client.routes[0]: 'default via 10.0.0.1 dev eth0': unexpected "
        "'dev eth0'; write [unicast|blackhole|unreachable|prohibit|local] DST|default [via "
        "GATEWAY [weight N]]...",
    ),
    (
        "route-only-via",
        "[hosts.client]\nroutes = ['via 10.0.0.1']\n",
        "lab.toml:2: hosts.client.routes[0]: 'via 10.0.0.1' is not a route: write "
        "[unicast|blackhole|unreachable|prohibit|local] DST|default [via GATEWAY [weight N]]...",
    ),
    (
        "route-only-kind",
        "[hosts.client]\nroutes = ['blackhole']\n",
        "lab.toml:2: hosts.client.routes[0]: 'blackhole' is not a route: write "
        "[unicast|blackhole|unreachable|prohibit|local] DST|default [via GATEWAY [weight N]]...",
    ),
    (
        "route-off-subnet",
        "[hosts.client]\nroutes = ['default via 198.18.9.1']\n"
        + PAIR.replace("[hosts.client]\n", ""),
        "lab.toml:2: hosts.client.routes[0]: 'default via 198.18.9.1': gateway 198.18.9.1 "
        "is not on a subnet of client (its subnets: 198.18.0.0/24)",
    ),
    (
        "route-no-v6",
        "[hosts.client]\nroutes = ['default via 2001:db8::9']\n",
        "lab.toml:2: hosts.client.routes[0]: 'default via 2001:db8::9': gateway "
        "2001:db8::9 is not on a subnet of client (no IPv6 addresses)",
    ),
    (
        "route-own-gw",
        "[hosts.client]\nroutes = ['default via 2001:db8::1']\n"
        + PAIR.replace("[hosts.client]\n", ""),
        "lab.toml:2: hosts.client.routes[0]: 'default via 2001:db8::1': gateway "
        "2001:db8::1 is client's own address",
    ),
    (
        "route-twice",
        "[hosts.client]\nroutes = [\n  'default via 198.18.0.2',\n  'blackhole 0.0.0.0/0',\n]\n"
        + PAIR.replace("[hosts.client]\n", ""),
        "lab.toml:4: hosts.client.routes[1]: 'blackhole default': client already has a "
        "route to 0.0.0.0/0 (hosts.client.routes[0])",
    ),
    (
        "route-connected",
        "[hosts.client]\nroutes = ['blackhole 198.18.0.0/24']\n"
        + PAIR.replace("[hosts.client]\n", ""),
        "lab.toml:2: hosts.client.routes[0]: 'blackhole 198.18.0.0/24': client reaches "
        "198.18.0.0/24 directly (on eth0)",
    ),
    # links
    (
        "link-missing-b",
        "[hosts.a]\n\n[[links]]\na = 'a'\n",
        'lab.toml:3: links[0]: missing key \'b\' (the node at this end: "NODE" or "NODE:IFNAME")',
    ),
    (
        "link-unknown-node",
        PAIR.replace('b = "server"', 'b = "sever"'),
        "lab.toml:5: links[0].b: unknown node 'sever' (did you mean 'server'?)",
    ),
    (
        "link-unknown-far",
        PAIR.replace('b = "server"', 'b = "db"'),
        "lab.toml:5: links[0].b: unknown node 'db' (nodes: client, server)",
    ),
    (
        "link-end-type",
        PAIR.replace('a = "client"', "a = ['client']"),
        'lab.toml:4: links[0].a: [\'client\']: give "NODE" or "NODE:IFNAME"',
    ),
    (
        "link-key-typo",
        PAIR + 'dealy = "5ms"\n',
        "lab.toml:8: links[0].dealy: unknown key 'dealy' (did you mean 'delay'?)",
    ),
    (
        "link-key-unknown",
        PAIR + 'colour = "red"\n',
        "lab.toml:8: links[0].colour: unknown key 'colour' (a link takes a, b, "
        "a_addresses, b_addresses, a_mac, b_mac, mtu, delay, jitter, loss, corrupt, rate, "
        "a_to_b or b_to_a)",
    ),
    (
        "link-self",
        "[hosts.a]\n[[links]]\na = 'a'\nb = 'a:eth1'\n",
        "lab.toml:4: links[0].b: a link joins two different nodes, not a to itself",
    ),
    (
        "ifname-long",
        PAIR.replace('a = "client"', 'a = "client:averyveryverylong0"'),
        "lab.toml:4: links[0].a: interface name 'averyveryverylong0': use 1-15 letters, "
        "digits, '-', '_' or '.', starting with a letter",
    ),
    (
        "ifname-empty",
        PAIR.replace('a = "client"', 'a = "client:"'),
        "lab.toml:4: links[0].a: interface name '': use 1-15 letters, digits, '-', '_' or "
        "'.', starting with a letter",
    ),
    (
        "ifname-lo",
        PAIR.replace('a = "client"', 'a = "client:lo"'),
        "lab.toml:4: links[0].a: interface name 'lo' is taken by the loopback interface",
    ),
    (
        "ifname-br0",
        "[switches.s]\n[hosts.a]\n[[links]]\na = 'a'\nb = 's:br0'\n",
        "lab.toml:5: links[0].b: interface name 'br0' is taken by the switch's bridge",
    ),
    (
        "ifname-twice",
        PAIR.replace('a = "client"', 'a = "client:e0"')
        + '[[links]]\na = "server"\nb = "client:e0"\n',
        "lab.toml:10: links[1].b: client already has an interface 'e0' (links[0].a)",
    ),
    (
        "addr-no-prefix",
        PAIR.replace('"198.18.0.2/24"', '"198.18.0.2"'),
        "lab.toml:7: links[0].b_addresses[0]: '198.18.0.2' has no prefix length (like "
        "198.18.0.2/24)",
    ),
    (
        "addr-no-prefix6",
        PAIR.replace('"2001:db8::2/64"', '"2001:db8::2"'),
        "lab.toml:7: links[0].b_addresses[1]: '2001:db8::2' has no prefix length (like "
        "2001:db8::2/64)",
    ),
    (
        "addr-bad",
        PAIR.replace('"198.18.0.2/24"', '"198.18.0.300/24"'),
        "lab.toml:7: links[0].b_addresses[0]: '198.18.0.300/24' is not an address with a "
        "prefix length (like 198.18.0.1/24 or 2001:db8::1/64)",
    ),
    (
        "addr-network",
        PAIR.replace('"198.18.0.2/24"', '"198.18.0.0/24"'),
        "lab.toml:7: links[0].b_addresses[0]: '198.18.0.0/24' is the network address of "
        "198.18.0.0/24",
    ),
    (
        "addr-broadcast",
        PAIR.replace('"198.18.0.2/24"', '"198.18.0.255/24"'),
        "lab.toml:7: links[0].b_addresses[0]: '198.18.0.255/24' is the broadcast address "
        "of 198.18.0.0/24",
    ),
    (
        "addr-multicast",
        PAIR.replace('"2001:db8::2/64"', '"ff02::1/64"'),
        "lab.toml:7: links[0].b_addresses[1]: 'ff02::1/64' is not a unicast address for an "
        "interface",
    ),
    (
        "addr-type",
        PAIR.replace('"198.18.0.2/24"', "198"),
        "lab.toml:7: links[0].b_addresses[0]: 198: give an address as a string, like 198.18.0.1/24",
    ),
    (
        "addr-string",
        PAIR.replace('["198.18.0.2/24", "2001:db8::2/64"]', '"198.18.0.2/24"'),
        'lab.toml:7: links[0].b_addresses: must be an array (like ["198.18.0.1/24", '
        '"2001:db8::1/64"])',
    ),
    (
        "addr-twice",
        PAIR.replace('"198.18.0.2/24"', '"198.18.0.1/24"'),
        "lab.toml:7: links[0].b_addresses[0]: 198.18.0.1 is already on client:eth0 "
        "(links[0].a_addresses[0])",
    ),
    (
        "addr-twice-prefix",
        PAIR + '[[links]]\na = "client"\nb = "server"\n'
        'a_addresses = [\n  "10.0.0.1/8",\n  "2001:db8::1/127",\n]\n',
        "lab.toml:13: links[1].a_addresses[1]: 2001:db8::1 is already on client:eth0 "
        "(links[0].a_addresses[1])",
    ),
    (
        "addr-switch",
        "[switches.s]\n[hosts.a]\n[[links]]\na = 'a'\nb = 's'\nb_addresses = ['198.18.0.1/24']\n",
        "lab.toml:6: links[0].b_addresses: s is a switch: its ports carry no addresses "
        "(give them to the hosts)",
    ),
    (
        "mtu-float",
        PAIR + "mtu = 1400.0\n",
        "lab.toml:8: links[0].mtu: 1400.0: give an integer from 68 to 65535",
    ),
    (
        "mtu-small",
        PAIR + "mtu = 67\n",
        "lab.toml:8: links[0].mtu: 67: give an integer from 68 to 65535",
    ),
    (
        "mtu-bool",
        PAIR + "mtu = true\n",
        "lab.toml:8: links[0].mtu: True: give an integer from 68 to 65535",
    ),
    (
        "mtu-v6",
        PAIR + "mtu = 1000\n",
        "lab.toml:8: links[0].mtu: 1000: IPv6 needs an MTU of at least 1280",
    ),
    # impairments
    (
        "delay",
        PAIR + 'delay = "50 parsecs"\n',
        "lab.toml:8: links[0].delay: '50 parsecs' is not a duration (use 10ms, 1.5s, 200us)",
    ),
    (
        "delay-bare",
        PAIR + "delay = 50\n",
        'lab.toml:8: links[0].delay: 50 has no unit (write "50ms")',
    ),
    (
        "jitter",
        PAIR + 'jitter = "5 ms later"\n',
        "lab.toml:8: links[0].jitter: '5 ms later' is not a duration (use 10ms, 1.5s, 200us)",
    ),
    (
        "loss-range",
        PAIR + 'loss = "150%"\n',
        "lab.toml:8: links[0].loss: '150%' is more than 100%",
    ),
    (
        "corrupt",
        PAIR + 'corrupt = "0.1"\n',
        "lab.toml:8: links[0].corrupt: '0.1' is not a percentage (use 1%, 0.1%)",
    ),
    (
        "rate-bytes",
        PAIR + 'rate = "10mbps"\n',
        "lab.toml:8: links[0].rate: '10mbps' is in bytes per second, which tc and people "
        "read differently: write bits ('80mbit')",
    ),
    (
        "rate",
        PAIR + 'rate = "10 megabits"\n',
        "lab.toml:8: links[0].rate: '10 megabits' is not a rate (use 10mbit, 500kbit, 1gbit)",
    ),
    (
        "direction-type",
        PAIR + 'a_to_b = "slow"\n',
        "lab.toml:8: links[0].a_to_b: must be a table (delay, jitter, loss, corrupt, rate)",
    ),
    (
        "direction-key",
        PAIR + "\n[links.b_to_a]\nrate = '1mbit'\nmtu = 1400\n",
        "lab.toml:11: links[0].b_to_a.mtu: unknown key 'mtu' (a direction takes delay, "
        "jitter, loss, corrupt or rate)",
    ),
    (
        "direction-value",
        PAIR + "[links.a_to_b]\nloss = '1%'\n[links.b_to_a]\nloss = 'some'\n",
        "lab.toml:11: links[0].b_to_a.loss: 'some' is not a percentage (use 1%, 0.1%)",
    ),
]


@pytest.mark.parametrize(("source", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_error_message(source, message):
    assert error(source) == message


def test_error_names_the_file_as_given():
    assert error("[hosts.a]\nroute = []\n", "labs/x.toml").startswith(
        "labs/x.toml:2: hosts.a.route: "
    )


# --- line numbers in harder places -------------------------------------------------------

TRICKY = '''
# [hosts.fake] in a comment
name = "tricky"  # [hosts.fake2]

[hosts.client]
commands = [
  ["sh", "-c", """
[[links]]
rate = 'x'
"""],
  [ "echo", "]", "[", "{", "#" ],   # brackets in strings
  \'\'\'
[hosts.fake]
delay = "not a key"\'\'\',
]
sysctls = { "net.a" = "1", "net.b" = { c = 2 } }

[routers."r1"]
routes = [  # comment with [brackets]
  'unicast 198.18.7.0/24 via 198.18.0.1', 'blackhole 10.0.0.0/8',
  '10.1.0.0/16 via 198.18.0.1',
]

[[links]]
a = "client"
b = "r1"
a_addresses = ['198.18.0.1/24']
b_addresses = [
  '198.18.0.2/24',
]
delay = "5ms"

[links.a_to_b]
rate = "1mbit"

[[links]]
a = "client"
b = "r1"

[links.b_to_a]
jitter = """2ms"""
delay = "5ms"
[[links]]
'a' = "client"
"b" = "r1"
'''


@pytest.mark.parametrize(
    ("old", "new", "line", "key"),
    [
        # each replaces one value of TRICKY with a bad one
        ('"5ms"\n\n[links.a_to_b]', '"5"\n\n[links.a_to_b]', 30, "links[0].delay"),
        ('rate = "1mbit"', 'rate = "1mbps"', 33, "links[0].a_to_b.rate"),
        ('jitter = """2ms"""', 'jitter = """2"""', 40, "links[1].b_to_a.jitter"),
        ("'198.18.0.2/24',\n]", "'198.18.0.1/24',\n]", 28, "links[0].b_addresses[0]"),
        ('"b" = "r1"', '"b" = "r2"', 44, "links[2].b"),
        (
            "'10.1.0.0/16 via 198.18.0.1'",
            "'10.1.0.0/16 via 198.18.9.1'",
            20,
            "routers.r1.routes[2]",
        ),
        ("'blackhole 10.0.0.0/8'", "'blackhole 10.0.0.1/8'", 19, "routers.r1.routes[1]"),
        ('[ "echo", "]"', '[ "echo", 5', 10, "hosts.client.commands[1][1]"),
        ("\n]\nsysctls", "\n  [],\n]\nsysctls", 14, "hosts.client.commands[3]"),
        ("c = 2", "c = true", 15, 'hosts.client.sysctls."net.b".c'),
        ('b = "r1"\n\n[links.b_to_a]', 'b = "r1"\nmtu = 5\n[links.b_to_a]', 38, "links[1].mtu"),
        ("[[links]]\n'a'", "[[links]]\ncolor = 1\n'a'", 43, "links[2].color"),
        ('name = "tricky"', "name = 'tricky'\nname = 2", 3, "name"),
    ],
)
def test_error_lines(old, new, line, key):
    good = src(TRICKY)
    assert loads(good, "t.toml").name == "tricky"
    assert good.count(old) == 1
    message = error(good.replace(old, new), "t.toml")
    assert message.startswith(f"t.toml:{line}: {key}: "), message


def test_scanner_records_every_key_and_element():
    lines = topofile._Scanner(src(TRICKY)).run().lines
    assert lines[("name",)] == 2
    assert lines[("hosts", "client", "commands", 0, 2)] == 6
    assert lines[("hosts", "client", "commands", 1)] == 10
    assert lines[("hosts", "client", "commands", 2)] == 11
    assert lines[("hosts", "client", "sysctls", "net.b", "c")] == 15
    assert lines[("routers", "r1")] == 17
    assert lines[("routers", "r1", "routes", 1)] == 19
    assert lines[("routers", "r1", "routes", 2)] == 20
    assert lines[("links",)] == 23
    assert lines[("links", 1, "b_to_a")] == 39
    assert lines[("links", 2, "a")] == 43
    assert ("hosts", "fake") not in lines
    assert ("hosts", "fake2") not in lines
    assert ("links", 3) not in lines


def test_scanner_reads_key_escapes():
    lines = topofile._Scanner('[hosts.h.sysctls]\n"net.\\u0061b" = 1\n').run().lines
    assert lines[("hosts", "h", "sysctls", "net.ab")] == 2


# --- files --------------------------------------------------------------------------------


def test_load_reads_a_file(tmp_path):
    path = tmp_path / "office.toml"
    path.write_text(src(FULL).replace('name = "lab"\n', ""))
    topo = load(path)
    assert topo.name == "office"
    assert topo.to_dict()["nodes"] == FULL_DICT["nodes"]


def test_resolve_takes_a_file_path(tmp_path):
    path = tmp_path / "lab.toml"
    path.write_text(src(FULL))
    assert resolve(str(path)).to_dict() == FULL_DICT


def test_load_errors_name_the_path(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(src(PAIR) + 'delay = "50 parsecs"\n')
    with pytest.raises(SpecError) as info:
        load(path)
    assert str(info.value) == (
        f"{path}:8: links[0].delay: '50 parsecs' is not a duration (use 10ms, 1.5s, 200us)"
    )


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(SpecError) as info:
        load(path)
    assert str(info.value) == (
        f"{path}: cannot read topology file: ENOENT (No such file or directory)"
    )
    with pytest.raises(SpecError) as info:
        load(tmp_path)
    assert str(info.value) == f"{tmp_path}: not a regular file (a directory)"


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"[hosts.a]\n# caf\xe9\n")
    with pytest.raises(SpecError) as info:
        load(path)
    assert str(info.value) == f"{path}:2: not UTF-8 text (byte 15)"


def pycoz_check(path, timeout: float = 20) -> subprocess.CompletedProcess:
    """``pycoz net check PATH`` with 1 GiB of address space: a reader without a
    limit fails here with a MemoryError or a timeout rather than eat the machine."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    return subprocess.run(
        [sys.executable, "-m", "pycoz_cli", "net", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit,
    )


def one_line(r: subprocess.CompletedProcess, *words: str) -> None:
    assert r.returncode == 2, r
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    for word in words:
        assert word in r.stderr, r.stderr


def test_an_endless_file_is_refused_at_once():
    one_line(pycoz_check("/dev/zero"), "/dev/zero: not a regular file (a character device)")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    import os

    fifo = tmp_path / "lab.toml"
    os.mkfifo(fifo)
    one_line(pycoz_check(fifo, timeout=10), f"{fifo}: not a regular file (a FIFO)")


def test_a_file_over_the_limit_is_refused(tmp_path):
    big = tmp_path / "big.toml"
    with open(big, "wb") as f:
        f.truncate(topofile.MAX_FILE_SIZE + 1)  # sparse: no disk spent
    one_line(pycoz_check(big), f"{big}: larger than {topofile.MAX_FILE_SIZE // 2**20} MiB")
    at_limit = tmp_path / "ok.toml"
    line = b"[hosts.h1]\n"
    at_limit.write_bytes(line + b"#" * (topofile.MAX_FILE_SIZE - len(line) - 1) + b"\n")
    assert load(at_limit).hosts() == ["h1"]


@pytest.mark.parametrize(
    "text",
    ["a = " + "[" * 5000 + "]" * 5000, "a = " + "{b = " * 5000 + "}" * 5000],
    ids=["arrays", "inline-tables"],
)
def test_deep_nesting_is_one_line(tmp_path, text):
    deep = tmp_path / "deep.toml"
    deep.write_text(text + "\n")
    one_line(pycoz_check(deep), f"{deep}:1: invalid TOML: nested too deeply")


def test_check_errors_are_prefixed_with_the_file(monkeypatch):
    from pycoz_cli.core.net.topology import Topology

    def refuse(self):
        raise SpecError(f"topology {self.name}: something about the whole")

    monkeypatch.setattr(Topology, "check", refuse)
    assert error("[hosts.a]\n") == "lab.toml: something about the whole"


# --- host commands ---------------------------------------------------------------------


def test_commands_say_where_they_are_written_and_what_they_wait_for():
    topo = loads(
        src(
            """
            [hosts.a]
            commands = [
              { run = ["python3", "-m", "http.server", "8000"], ready = "tcp:8000" },
              "true",
              { run = "ip route", ready = "exit", timeout = "30s" },
              { run = "dnsmasq", ready = "udp:53" },
              { run = "nginx", ready = "file:/run/nginx.pid", timeout = "1.5s" },
              { run = "pg", ready = "cmd:pg_isready -q" },
              { run = "pg", ready = ["pg_isready", "-q"] },
            ]
            """
        ),
        "lab.toml",
    )
    node = topo.nodes["a"]
    assert node.commands == [
        ["python3", "-m", "http.server", "8000"],
        ["sh", "-c", "true"],
        ["sh", "-c", "ip route"],
        ["sh", "-c", "dnsmasq"],
        ["sh", "-c", "nginx"],
        ["sh", "-c", "pg"],
        ["sh", "-c", "pg"],
    ]
    assert [(c.where, c.ready, c.timeout) for c in map(topo.command, "a" * 7, range(7))] == [
        ("lab.toml:3: hosts.a.commands[0]", ("tcp", 8000), 10.0),
        ("lab.toml:4: hosts.a.commands[1]", None, 10.0),
        ("lab.toml:5: hosts.a.commands[2]", ("exit", 0), 30.0),
        ("lab.toml:6: hosts.a.commands[3]", ("udp", 53), 10.0),
        ("lab.toml:7: hosts.a.commands[4]", ("file", "/run/nginx.pid"), 1.5),
        ("lab.toml:8: hosts.a.commands[5]", ("cmd", ["sh", "-c", "pg_isready -q"]), 10.0),
        ("lab.toml:9: hosts.a.commands[6]", ("cmd", ["pg_isready", "-q"]), 10.0),
    ]
    assert topo.to_dict()["nodes"][0]["commands"] == node.commands


def test_commands_of_a_plugin_topology_are_named_by_topology_host_and_index():
    from pycoz_cli.core.net.topology import Topology

    topo = Topology("ring:hosts=3")
    node = topo.add_node("h1")
    node.add_command(["sleep", "9"])
    node.commands.append(["sleep", "8"])  # as a plugin may have done before add_command
    assert [topo.command("h1", i).where for i in range(2)] == [
        "topology ring:hosts=3: h1.commands[0]",
        "topology ring:hosts=3: h1.commands[1]",
    ]


# --- the kernel's limits ------------------------------------------------------------------


def wide_switch(ports: int) -> str:
    """A file with ``ports`` hosts on switch ``sw``: line 1 declares it, each link
    takes three lines after the hosts."""
    parts = ["[switches.sw]\n", *(f"[hosts.x{i}]\n" for i in range(ports))]
    parts += [f'[[links]]\na = "x{i}"\nb = "sw"\n' for i in range(ports)]
    return "".join(parts)


def test_a_switch_takes_as_many_ports_as_a_bridge():
    assert len(loads(wide_switch(1023)).nodes["sw"].interfaces) == 1023
    line = 1 + 1024 + 3 * 1023 + 3  # the b of the 1024th link
    assert error(wide_switch(1024)) == (
        f"lab.toml:{line}: links[1023].b: a 1024th port on switch sw: a switch is a "
        "Linux bridge, which takes at most 1023 ports"
    )


def test_star_and_plugin_topologies_are_checked_for_the_port_limit():
    from pycoz_cli.core.net.topology import Topology

    assert len(resolve("star:hosts=1023").nodes["s1"].interfaces) == 1023
    with pytest.raises(SpecError) as info:
        resolve("star:hosts=1024")
    assert str(info.value) == (
        "star: hosts=1024: use 1 to 1023 (a switch is a Linux bridge, which takes at "
        "most 1023 ports)"
    )
    topo = Topology("wide")  # as a plugin's factory would make it
    topo.add_node("sw", "switch")
    for i in range(1024):
        topo.add_node(f"x{i}")
        topo.connect(f"x{i}", "sw")
    with pytest.raises(SpecError) as info:
        topo.check()
    assert str(info.value) == (
        "topology wide: switch sw has 1024 ports: a switch is a Linux bridge, which "
        "takes at most 1023 ports"
    )


@pytest.mark.parametrize("command", ["show", "check"])
def test_show_and_check_refuse_a_switch_too_wide_in_one_line(tmp_path, command):
    path = tmp_path / "wide.toml"
    path.write_text(wide_switch(1024))
    for target in [str(path)] if command == "check" else [str(path), "star:hosts=4000"]:
        r = subprocess.run(
            [sys.executable, "-m", "pycoz_cli", "net", command, target],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 2, r
        assert r.stderr.count("\n") == 1 and "at most 1023 ports" in r.stderr, r.stderr


# --- shown as written ----------------------------------------------------------------------


def test_show_prints_mtu_and_impairments_in_the_file_units(tmp_path):
    path = tmp_path / "lab.toml"
    path.write_text(src(FULL))
    r = subprocess.run(
        [sys.executable, "-m", "pycoz_cli", "net", "show", str(path)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "    wan0     198.18.0.1/24 2001:db8::1/64  -> r1:eth0  mtu 1400" in lines
    assert "    eth0     198.18.0.2/24 2001:db8::2/64  -> client:wan0  mtu 1400" in lines
    tail = lines[lines.index("  link client:wan0 <-> r1:eth0") :]
    assert tail == [
        "  link client:wan0 <-> r1:eth0",
        "    client:wan0 -> r1:eth0: delay 50ms, jitter 5ms, loss 1%",
        "    r1:eth0 -> client:wan0: jitter 5ms, loss 1%, corrupt 0.1%, rate 10mbit",
        "  link r1:eth1 <-> s1:r1",
        "  link server:eth0 <-> s1:server",
        "    server:eth0 -> s1:server: rate 1.5gbit",
        "  link h3:eth0 <-> s1:uplink",
    ]
    assert "_ms" not in r.stdout and "_bps" not in r.stdout


@pytest.mark.parametrize(
    "parse, text, shown",
    [
        (parse_duration, "100ms", "100ms"),
        (parse_duration, "1.5s", "1.5s"),
        (parse_duration, "200us", "200us"),
        (parse_duration, "0.25ms", "250us"),
        (parse_duration, "2s", "2s"),
        (parse_duration, "1500ns", "1.5us"),
        (parse_duration, "40ns", "40ns"),
        (parse_rate, "10mbit", "10mbit"),
        (parse_rate, "1.5gbit", "1.5gbit"),
        (parse_rate, "500kbit", "500kbit"),
        (parse_rate, "1mibit", "1mibit"),
        (parse_rate, "8bit", "8bit"),
        (parse_rate, "1234567bit", "1234567bit"),
        (parse_percent, "0.5%", "0.5%"),
    ],
)
def test_values_are_shown_as_written(parse, text, shown):
    fmt = {
        parse_duration: topofile.format_duration,
        parse_rate: topofile.format_rate,
        parse_percent: topofile.format_percent,
    }[parse]
    assert fmt(parse(text)) == shown
    assert parse(shown) == pytest.approx(parse(text))


def test_an_impairment_describes_itself_in_file_units():
    from pycoz_cli.core.net.topology import parse_impairment

    impair = parse_impairment({"delay": "100ms", "loss": "0.5%", "rate": "2mbit"})
    assert impair.describe() == "delay 100ms, loss 0.5%, rate 2mbit"
    assert parse_impairment({}).describe() == "none"


# --- the examples and the reference -------------------------------------------------------


def test_there_are_examples():
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_loads(path):
    topo = load(path)
    assert topo.name == path.stem
    assert loads(path.read_text(), path.name).to_dict() == topo.to_dict()
    assert topo.links and topo.first_host() in topo.nodes
    # Realistic: every host and router has an address.
    for node in topo.nodes.values():
        if node.kind != "switch":
            assert node.addresses(), node.name


def doc_blocks(lang: str) -> list[str]:
    """The reference's fenced code blocks marked ``lang`` ("" for unmarked ones)."""
    blocks, current, marked = [], None, None
    for line in DOC.read_text().splitlines(keepends=True):
        if line.startswith("```"):
            if current is None:
                current, marked = [], line[3:].strip()
            else:
                if marked == lang:
                    blocks.append("".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def test_reference_example_loads_as_described():
    (block,) = doc_blocks("toml")
    topo = loads(block, "lab.toml")
    data = topo.to_dict()
    assert data["name"] == "lab"
    assert [(n["name"], n["kind"]) for n in data["nodes"]] == [
        ("client", "host"),
        ("r1", "router"),
        ("server", "host"),
    ]
    assert data["nodes"][0]["interfaces"][0]["mtu"] == 1400
    assert data["links"][1]["impair"] == {
        "r1:eth1": {"delay_ms": 50.0, "jitter_ms": 5.0, "loss": 1.0, "rate_bps": 10**7},
        "server:eth0": {
            "delay_ms": 50.0,
            "jitter_ms": 5.0,
            "loss": 1.0,
            "corrupt": 0.1,
            "rate_bps": 10**6,
        },
    }


#: The mistakes behind the reference's ERRORS section, made in its EXAMPLE file.
DOC_MISTAKES = [
    ('sysctls = { "net.ipv4.tcp_ecn" = "1" }', 'sysctls { "net.ipv4.tcp_ecn" = "1" }'),
    ("[routers.r1]", "[hosts.client]"),
    ('delay = "50ms"', 'dealy = "50ms"'),
    ('b = "server"', 'b = "sever"'),
    ('b_addresses = ["198.18.1.2/24"', 'b_addresses = ["198.18.1.300/24"'),
    ('b_addresses = ["198.18.1.2/24"', 'b_addresses = ["198.18.0.1/24"'),
    ('"default via 198.18.0.2"', '"default via 198.18.5.1"'),
    ('"blackhole 2001:db8:1:ffff::/64"', '"blackhole 2001:db8:1:ffff::1/64"'),
    ('delay = "50ms"', 'delay = "50 parsecs"'),
    ('rate = "10mbit"', 'rate = "10mbps"'),
]


def test_reference_errors_are_what_the_loader_says():
    (example,) = doc_blocks("toml")
    (shown,) = [b for b in doc_blocks("") if "invalid TOML" in b]
    real = []
    for old, new in DOC_MISTAKES:
        assert example.count(old) == 1, old
        with pytest.raises(SpecError) as info:
            loads(example.replace(old, new), "lab.toml")
        real.append(str(info.value))
    assert shown.splitlines() == real
    assert f"\n{real[-2]}\n" in DOC.read_text()  # the one in DESCRIPTION


# --- cheap to import ----------------------------------------------------------------------


def test_import_is_cheap():
    code = (
        "import sys, json; import pycoz_cli.core.net.topofile; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    mods = set(json.loads(out.stdout))
    assert not mods & {"tomllib", "difflib", "pyroute2", "cffi", "_cffi_backend"}


# --- link features: MAC addresses, VLANs, VXLAN, ECMP routes (issue 13) -------------

LINKED = """
[hosts.h1]
{h1}
[hosts.h2]
{h2}
[[links]]
a = "h1"
b = "h2"
a_addresses = ["198.18.0.1/24"]
b_addresses = ["198.18.0.2/24"]
{link}
"""


def linked(h1: str = "", h2: str = "", link: str = "") -> str:
    return LINKED.format(h1=h1, h2=h2, link=link)


def test_link_features_load():
    topo = loads(
        src(
            linked(
                h1='vlans = [{ on = "eth0", id = 10, addresses = ["198.18.10.1/24"] }]\n'
                'vxlans = [{ name = "vx0", id = 7, local = "198.18.0.1", remote = "198.18.0.2",'
                ' addresses = ["198.18.20.1/24"], mac = "02:00:00:00:00:07" }]\n'
                'routes = ["198.18.5.0/24 via 198.18.0.2 weight 2 via 198.18.10.2"]',
                h2='vlans = [{ on = "eth0", id = 10, name = "tagged", '
                'addresses = ["198.18.10.2/24"] }]',
                link='a_mac = "02:00:00:00:00:01"\nb_mac = "02-00-00-00-00-0A"',
            )
        )
    )
    h1, h2 = topo.nodes["h1"], topo.nodes["h2"]
    assert (h1.interfaces["eth0"].mac, h2.interfaces["eth0"].mac) == (
        "02:00:00:00:00:01",
        "02:00:00:00:00:0a",
    )
    vlan = h1.interfaces["eth0.10"]
    assert (vlan.kind, vlan.parent, vlan.vlan_id) == ("vlan", "eth0", 10)
    assert h2.interfaces["tagged"].vlan_id == 10
    vx = h1.interfaces["vx0"]
    assert (vx.kind, vx.vni, str(vx.local), str(vx.remote), vx.port, vx.mac) == (
        "vxlan",
        7,
        "198.18.0.1",
        "198.18.0.2",
        4789,
        "02:00:00:00:00:07",
    )
    (route,) = h1.routes
    assert [(str(gw), w) for gw, w in route.nexthops] == [("198.18.0.2", 2), ("198.18.10.2", 1)]
    assert str(route) == "198.18.5.0/24 via 198.18.0.2 weight 2 via 198.18.10.2"


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (
            {"link": 'a_mac = "01:00:5e:00:00:01"'},
            "lab.toml:10: links[0].a_mac: '01:00:5e:00:00:01' is a multicast MAC address",
        ),
        (
            {"link": 'a_mac = "02:00:00:00:00:01"\nb_mac = "02:00:00:00:00:01"'},
            "lab.toml:11: links[0].b_mac: 02:00:00:00:00:01 is already given (links[0].a_mac)",
        ),
        ({"link": "a_mac = 5"}, "lab.toml:10: links[0].a_mac: 5: give a MAC address as a string"),
        (
            {"h1": 'vlans = [{ on = "eth0", id = 5000 }]'},
            "lab.toml:2: hosts.h1.vlans[0].id: 5000: a VLAN id is 1 to 4094",
        ),
        (
            {"h1": 'vlans = [{ on = "eth7", id = 5 }]'},
            "lab.toml:2: hosts.h1.vlans[0]: VLAN parent 'eth7' is not one of its links'",
        ),
        (
            {"h1": "vlans = [{ id = 5 }]"},
            "lab.toml:2: hosts.h1.vlans[0]: missing key 'on'",
        ),
        (
            {"h1": 'vlans = [{ on = "eth0", id = 5, tag = 1 }]'},
            "lab.toml:2: hosts.h1.vlans[0].tag: unknown key 'tag'",
        ),
        (
            {
                "h1": 'vxlans = [{ name = "vx0", id = 1, '
                'local = "198.18.0.2", remote = "198.18.0.1" }]'
            },
            "lab.toml:2: hosts.h1.vxlans[0].local: 198.18.0.2 is not h1's",
        ),
        (
            {
                "h1": 'vxlans = [{ name = "vx0", id = 1, '
                'local = "198.18.0.1", remote = "198.18.9.9" }]'
            },
            "lab.toml:2: hosts.h1.vxlans[0].remote: 198.18.9.9 is not an address of another node",
        ),
        (
            {
                "h1": 'vxlans = [{ name = "vx0", id = -1, '
                'local = "198.18.0.1", remote = "198.18.0.2" }]'
            },
            "lab.toml:2: hosts.h1.vxlans[0].id: -1: a VXLAN id is 0 to 16777215",
        ),
        (
            {"h1": 'routes = ["198.18.5.0/24 via 198.18.0.2 weight 0 via 198.18.0.3"]'},
            "lab.toml:2: hosts.h1.routes[0]: '198.18.5.0/24 via 198.18.0.2 weight 0 via "
            "198.18.0.3': weight '0': use 1 to 256",
        ),
        (
            {"h1": 'routes = ["198.18.5.0/24 via 198.18.0.2 weight 3"]'},
            "a weight is for a route with several gateways",
        ),
        (
            {"h1": 'routes = ["198.18.5.0/24 via 198.18.0.2 via 198.18.0.2"]'},
            "gateway 198.18.0.2 is given twice",
        ),
        (
            {"h1": 'routes = ["198.18.5.0/24 via 198.18.0.2 via 198.18.7.1"]'},
            "gateway 198.18.7.1 is not on a subnet of h1",
        ),
    ],
)
def test_link_feature_errors_name_file_line_and_key(parts, expected):
    assert expected in error(linked(**parts))
