"""Link features (issue 13): static MAC addresses, VLAN sub-interfaces, VXLAN
tunnels between hosts and ECMP routes, from topology files, with real traffic."""

import json
import subprocess

import pytest

#: h1 reaches the subnet of h2 over r1 and r2 at once (ECMP, and h2 back likewise),
#: and has a VXLAN tunnel to h2 across the routers, which know no route to the
#: tunnel's subnet: what crosses it is encapsulated or lost.
DIAMOND = """
[hosts.h1]
routes = ["198.18.3.0/24 via 198.18.1.2 via 198.18.2.2 weight 2"]
# Flows spread over the nexthops by their ports, not by addresses only.
sysctls = { "net.ipv4.fib_multipath_hash_policy" = "1" }
[[hosts.h1.vxlans]]
name = "vx0"
id = 42
local = "198.18.1.1"
remote = "198.18.3.3"
addresses = ["198.18.20.1/24"]
mac = "02:00:00:00:20:01"

[routers.r1]
routes = ["198.18.2.0/24 via 198.18.3.2"]
[routers.r2]
routes = ["198.18.1.0/24 via 198.18.3.1"]
[switches.s1]
[hosts.h2]
routes = ["default via 198.18.3.1 via 198.18.3.2"]
[[hosts.h2.vxlans]]
name = "vx0"
id = 42
local = "198.18.3.3"
remote = "198.18.1.1"
addresses = ["198.18.20.2/24"]

[[links]]
a = "h1"
b = "r1"
a_addresses = ["198.18.1.1/24"]
b_addresses = ["198.18.1.2/24"]
a_mac = "02:00:00:00:01:01"
b_mac = "02:00:00:00:01:02"

[[links]]
a = "h1"
b = "r2"
a_addresses = ["198.18.2.1/24"]
b_addresses = ["198.18.2.2/24"]

[[links]]
a = "r1"
b = "s1"
a_addresses = ["198.18.3.1/24"]

[[links]]
a = "r2"
b = "s1"
a_addresses = ["198.18.3.2/24"]

[[links]]
a = "h2"
b = "s1"
a_addresses = ["198.18.3.3/24"]
"""

#: 64 UDP flows (each from its own port) to h2, then h1's links' transmit counters.
FLOWS = """
import json, socket, subprocess
for port in range(64):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"x", ("198.18.3.3", 9))
links = json.loads(subprocess.run(["ip", "-s", "-j", "link"], capture_output=True).stdout)
print(json.dumps({l["ifname"]: l["stats64"]["tx"]["packets"] for l in links}))
"""


@pytest.fixture
def diamond(tmp_path):
    path = tmp_path / "diamond.toml"
    path.write_text(DIAMOND)
    return str(path)


def test_ecmp_route_has_both_nexthops_and_carries_traffic_over_both(pycoz, diamond):
    r = pycoz(
        "net", "run", diamond, "--", "sh", "-c",
        # Both gateways' neighbours resolved first: a flow's datagram that waits
        # for ARP is not yet counted as sent when the counters are read.
        "ip -j route show 198.18.3.0/24 && ping -c1 -W2 198.18.3.3 >/dev/null && "
        "ping -c1 -W2 198.18.1.2 >/dev/null && ping -c1 -W2 198.18.2.2 >/dev/null && "
        f"python3 -c '{FLOWS}'",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    route_json, counters_json = r.stdout.splitlines()
    (route,) = json.loads(route_json)
    hops = [(h["gateway"], h["dev"], h.get("weight", 1)) for h in route["nexthops"]]
    assert hops == [("198.18.1.2", "eth0", 1), ("198.18.2.2", "eth1", 2)]
    tx = json.loads(counters_json)
    assert tx["eth0"] >= 5 and tx["eth1"] >= 5, tx  # 64 flows: both ways taken


def test_vxlan_carries_traffic_between_hosts(pycoz, diamond):
    r = pycoz(
        "net", "run", diamond, "--", "sh", "-c",
        "ip -d -j link show vx0 && ping -c2 -W2 198.18.20.2 >/dev/null && "
        "ip -4 -j neigh show dev vx0",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    link_json, neigh_json = r.stdout.splitlines()
    (link,) = json.loads(link_json)
    data = link["linkinfo"]["info_data"]
    assert (link["linkinfo"]["info_kind"], data["id"], data["remote"], data["local"]) == (
        "vxlan",
        42,
        "198.18.3.3",
        "198.18.1.1",
    )
    assert data["port"] == 4789
    assert link["address"] == "02:00:00:00:20:01"
    # h2's end answered over the tunnel (the routers know no route to 198.18.20.0/24).
    assert [n["dst"] for n in json.loads(neigh_json)] == ["198.18.20.2"]


def test_static_macs_are_what_the_other_end_learns(pycoz, diamond):
    r = pycoz(
        "net", "run", diamond, "--host", "r1", "--", "sh", "-c",
        "ping -c1 -W2 198.18.1.1 >/dev/null && ip -j link show eth0 && "
        "ip -4 -j neigh show dev eth0",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    link_json, neigh_json = r.stdout.splitlines()
    assert json.loads(link_json)[0]["address"] == "02:00:00:00:01:02"
    (neigh,) = json.loads(neigh_json)
    assert (neigh["dst"], neigh["lladdr"]) == ("198.18.1.1", "02:00:00:00:01:01")


def kernel_has_vlans() -> bool:
    probe = subprocess.run(
        ["unshare", "-n", "sh", "-c",
         "ip link add dev v0 type veth peer name v1 && "
         "ip link add link v0 name v0.5 type vlan id 5"],
        capture_output=True,
    )  # fmt: skip
    return probe.returncode == 0


def vlan_tables(host: str, n: int, vlans: dict[int, str]) -> str:
    """``[[hosts.HOST.vlans]]`` tables: VLAN id -> the address of host ``n`` there."""
    return "".join(
        f'[[hosts.{host}.vlans]]\non = "eth0"\nid = {i}\naddresses = ["{net}.{n}/24"]\n'
        for i, net in vlans.items()
    )


#: VLAN 10 on both ends; h1's VLAN 20 and h2's VLAN 30 share a subnet, not a VLAN.
VLANS = (
    "[hosts.h1]\n"
    + vlan_tables("h1", 1, {10: "198.18.10", 20: "198.18.20"})
    + "[hosts.h2]\n"
    + vlan_tables("h2", 2, {10: "198.18.10", 30: "198.18.20"})
    + '[[links]]\na = "h1"\nb = "h2"\n'
    + 'a_addresses = ["198.18.0.1/24"]\nb_addresses = ["198.18.0.2/24"]\n'
)


@pytest.mark.skipif(not kernel_has_vlans(), reason="this kernel has no VLAN support (8021q)")
def test_vlan_traffic_reaches_the_same_vlan_only(pycoz, tmp_path):
    path = tmp_path / "vlans.toml"
    path.write_text(VLANS)
    r = pycoz(
        "net", "run", str(path), "--", "sh", "-c",
        "ping -c1 -W2 198.18.10.2 >/dev/null && echo vlan10-ok; "
        "ping -c1 -W1 198.18.20.2 >/dev/null || echo vlan20-apart; ip -d -j link show eth0.10",
    )  # fmt: skip
    lines = r.stdout.splitlines()
    assert lines[:2] == ["vlan10-ok", "vlan20-apart"], r.stdout + r.stderr
    (link,) = json.loads(lines[2])
    assert (link["linkinfo"]["info_kind"], link["linkinfo"]["info_data"]["id"]) == ("vlan", 10)


@pytest.mark.skipif(kernel_has_vlans(), reason="this kernel has VLAN support")
def test_vlan_on_a_kernel_without_vlans_is_one_line(pycoz, tmp_path):
    path = tmp_path / "vlans.toml"
    path.write_text(VLANS)
    r = pycoz("net", "run", str(path), "--", "true")
    assert r.returncode == 125
    assert r.stderr.count("\n") == 1, r.stderr
    assert "cannot create VLAN interface eth0.10 (in h1)" in r.stderr
    assert "this kernel has no VLAN support" in r.stderr


def test_the_api_reads_a_hosts_links_back_from_the_kernel(diamond):
    """Network.links(host): the kernel's view, through pyroute2's IPRoute."""
    from pycoz_cli import Network

    with Network(diamond) as net:
        links = {link["name"]: link for link in net.links("h1")}
    assert set(links) == {"lo", "eth0", "eth1", "vx0"}
    assert (links["eth0"]["kind"], links["eth0"]["mac"], links["eth0"]["up"]) == (
        "veth",
        "02:00:00:00:01:01",
        True,
    )
    assert (links["vx0"]["kind"], links["vx0"]["mac"]) == ("vxlan", "02:00:00:00:20:01")


def netlink_requests(strace_output: str) -> list[bytes]:
    """The messages sent, from ``strace -e trace=sendmsg -e write=all``'s dumps."""
    sent, current = [], None
    for line in strace_output.splitlines():
        if line.startswith(" | "):
            current.extend(bytes.fromhex(line[3:].split("  ", 1)[1][:48].replace(" ", "")))
        elif "sendmsg(" in line:
            current = bytearray()
            sent.append(current)
    return [bytes(message) for message in sent]


def test_vlan_request_is_the_one_ip_sends(pycoz, tmp_path):
    """What pycoz asks the kernel for a VLAN is what `ip link add ... type vlan`
    asks, whether or not this kernel has VLANs (the request is sent either way).
    Compared decoded: ip writes the kind "vlan" without its NUL, pyroute2 with it,
    and the kernel takes both."""
    from pycoz_cli.core.net.netlink import Requests

    trace = tmp_path / "ip.trace"
    pycoz(
        "net", "run", "pair", "--", "strace", "-qq", "-e", "trace=sendmsg", "-e", "write=all",
        "-o", str(trace), "ip", "link", "add", "link", "eth0", "name", "eth0.5", "type", "vlan",
        "id", "5",
    )  # fmt: skip
    (ip,) = [m for m in netlink_requests(trace.read_text()) if m[4:6] == b"\x10\x00"]
    requests = Requests()
    try:
        requests.add_vlan("eth0.5", 0, 10, 5)  # eth0 of pair's h1 is ifindex 10
        ((_, ours),) = requests.out
    finally:
        requests.close()
    assert [request_summary(m) for m in (ours, ip)] == [(16, 0x605, 0, "eth0.5", 10, "vlan", 5)] * 2


def request_summary(data: bytes) -> tuple:
    """An RTM_NEWLINK request, decoded by pyroute2: (type, flags, index, name,
    parent, kind, VLAN id)."""
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

    msg = ifinfmsg(data)
    msg.decode()
    info = msg.get_attr("IFLA_LINKINFO")
    return (
        msg["header"]["type"],
        msg["header"]["flags"],
        msg["index"],
        msg.get_attr("IFLA_IFNAME"),
        msg.get_attr("IFLA_LINK"),
        info.get_attr("IFLA_INFO_KIND"),
        info.get_attr("IFLA_INFO_DATA").get_attr("IFLA_VLAN_ID"),
    )
