"""Named topologies: built by ``net up``, kept after pycoz exits, removed by ``down``.

Each node's namespace is bound on /run/netns/NAME-NODE (so ``ip netns list`` and
``ip netns exec`` work), and /etc/netns/NAME-NODE/hosts holds the topology's names
(which ``ip netns exec`` binds over /etc/hosts).  What pycoz is about to make is
written to a state file *before* it makes it, so that ``down`` and ``prune`` remove
exactly what pycoz made and nothing else — also after a crash half-way through
``up``.
"""

from __future__ import annotations

import errno
import json
import os
import re
import time

from pycoz_cli.errors import SetupError, SpecError

STATE_DIR = "/run/pycoz/net"
#: ip-netns's directory (``netns.NETNS_RUN_DIR``): spelled here so that reading the
#: state (``list_states``, tab completion) imports no cffi binding.
NETNS_RUN_DIR = "/run/netns"
ETC_NETNS = "/etc/netns"
#: Present while /etc/netns exists because pycoz made it.
_ETC_NETNS_MADE = f"{STATE_DIR}/.etc-netns-made"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: /run/netns/NAME-NODE must fit a sane length; ip netns allows 255, keep it short.
MAX_NS_NAME = 64


def state_path(name: str) -> str:
    return f"{STATE_DIR}/{name}.json"


def check_name(name: str, nodes=()) -> None:
    if not _NAME.fullmatch(name) or "/" in name:
        raise SpecError(f"--name {name!r}: use letters, digits, '.', '-' or '_' (no '/')")
    longest = max((len(n) for n in nodes), default=0)
    if len(name) + 1 + longest > MAX_NS_NAME:
        raise SpecError(
            f"--name {name!r}: namespace names {name}-NODE would be longer than "
            f"{MAX_NS_NAME} characters"
        )


def _write_state(state: dict, claim: bool = False) -> None:
    """Write the state file whole (temporary file, then rename or link).

    With ``claim`` the name must be free: link(2) fails if the file exists, so
    of two ``net up`` with one name exactly one wins, and no reader ever sees a
    half-written state.
    """
    final = state_path(state["name"])
    tmp = f"{final}.{os.getpid()}.tmp"
    try:
        os.makedirs(STATE_DIR, mode=0o755, exist_ok=True)
        with open(tmp, "w") as f:
            json.dump(state, f, indent=1)
    except OSError as err:
        # Named by the state file, not the temporary one it is written through.
        raise OSError(err.errno, "cannot write topology state", final) from None
    try:
        if claim:
            try:
                os.link(tmp, final)
            except FileExistsError:
                raise SpecError(
                    f"topology name {state['name']!r} is already taken "
                    f"(pycoz net down {state['name']})"
                ) from None
        else:
            os.replace(tmp, final)
            tmp = None
    finally:
        if tmp is not None:
            os.unlink(tmp)


def _remove_stale_temporaries(name: str | None = None) -> None:
    """State files half-written by a pycoz that was killed meanwhile (those of
    topology ``name`` only, if given)."""
    try:
        entries = os.listdir(STATE_DIR)
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.endswith(".tmp") and (name is None or entry.startswith(f"{name}.json.")):
            pid = entry.rsplit(".", 2)[-2]
            if pid.isdigit() and not _alive(int(pid), time.time()):
                try:
                    os.unlink(f"{STATE_DIR}/{entry}")
                except FileNotFoundError:
                    pass
                except OSError as err:
                    what = "cannot remove a half-written topology state in"
                    raise OSError(err.errno, what, STATE_DIR) from None


def load_state(name: str) -> dict:
    try:
        with open(state_path(name)) as f:
            return json.load(f)
    except FileNotFoundError:
        known = ", ".join(sorted(s["name"] for s in list_states())) or "none"
        raise SpecError(f"no running topology named {name!r} (running: {known})") from None


def list_states() -> list[dict]:
    try:
        names = sorted(os.listdir(STATE_DIR))
    except FileNotFoundError:
        return []
    states = []
    for entry in names:
        if entry.endswith(".json"):
            try:
                with open(f"{STATE_DIR}/{entry}") as f:
                    states.append(json.load(f))
            except (OSError, ValueError):
                continue
    return states


def status(state: dict) -> str:
    """``up``, ``building`` (its pycoz is still at it) or ``broken``."""
    present = all(os.path.exists(f"{NETNS_RUN_DIR}/{ns}") for ns in state["namespaces"])
    relay = state.get("relay")
    if relay and _start_time(relay["pid"]) != relay.get("start"):
        present = False  # the relay carrying its impaired links is gone
    if state.get("complete") and present:
        return "up"
    if not state.get("complete") and _alive(state.get("pid", 0), state.get("started", 0)):
        return "building"
    return "broken"


def _alive(pid: int, started: float) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return time.time() - started < 3600


def need_root(what: str) -> None:
    """Named topologies live in /run/netns and /run/pycoz: root's, for now.

    Rootless mode (``core.userns``) has the ephemeral ones only; an ordinary
    user gets one line saying so rather than EACCES on a state file.
    """
    from pycoz_cli.core import userns

    if os.geteuid() != 0 or userns.active():
        raise SetupError(
            f"{what}: named topologies need root (they live in /run/netns); as an ordinary "
            "user, use an ephemeral one: pycoz net run TOPOLOGY, or --net TOPOLOGY"
        )


def up(topology, name: str, spec: str, impairs=()):
    """Build ``topology`` as named topology ``name``; returns the Network.

    ``spec`` and ``impairs`` (the ``--impair`` options) are what it was made from,
    recorded to say how to make it again."""
    need_root(f"net up {name}")
    from pycoz_cli.core.topology import Network

    nodes = list(topology.nodes)
    check_name(name, nodes)
    if os.path.exists(state_path(name)):
        raise SpecError(f"topology name {name!r} is already taken (pycoz net down {name})")
    namespaces = [f"{name}-{node}" for node in nodes]
    for ns in namespaces:
        if os.path.lexists(f"{NETNS_RUN_DIR}/{ns}"):
            raise SpecError(f"network namespace {ns!r} already exists (not made by pycoz)")
    state = {
        "name": name,
        "spec": spec,
        "impairs": list(impairs),
        "topology": topology.name,
        "nodes": nodes,
        "hosts": topology.hosts(),
        "first_host": topology.first_host(),
        "namespaces": namespaces,
        "etc_netns": [],
        "hosts_file": topology.hosts_file(),
        "addresses": {node: topology.interface_addresses(node) for node in topology.hosts()},
        "pid": os.getpid(),
        # What a container forked by this pycoz shows in /proc/PID/cmdline until it
        # execs: how ``down`` finds a host command's container started but not yet
        # recorded (pycoz killed in between).
        "cmdline": _cmdline(os.getpid()),
        "started": time.time(),
        "complete": False,
    }
    # /etc/netns/NAME-HOST directories that do not exist yet are pycoz's to make
    # (and to remove): recorded with the claim, before any is made.
    state["etc_netns"] = [
        f"{ETC_NETNS}/{name}-{node}"
        for node in topology.hosts()
        if not os.path.lexists(f"{ETC_NETNS}/{name}-{node}")
    ]
    # Claim the name atomically, recording what will be made before making it.
    _write_state(state, claim=True)
    net = Network(topology, name=name)
    try:
        net.build()
        for directory in state["etc_netns"]:
            _write_etc_netns(directory, state["hosts_file"])
        state["netem"] = net.netem
        state["links"] = [
            {
                "label": link.label,
                "a": list(link.a),
                "b": list(link.b),
                "ifindex": [net.ifindex[link.a], net.ifindex[link.b]],
                "relay": net.relayed.get(k),
                "impair": {f"{e[0]}:{e[1]}": i.to_dict() for e, i in link.impair.items()},
            }
            for k, link in enumerate(topology.links)
        ]
        if net.relay_pid:
            state["relay"] = {"pid": net.relay_pid, "start": _start_time(net.relay_pid)}
        _write_state(state)
        state["commands"] = []

        def record(entry: dict) -> None:
            # Called before each command's log and container are made, and again
            # once it runs: what ``down`` must stop is on disk before it exists.
            if entry["pid"] is None:
                state["commands"].append({k: v for k, v in entry.items() if k != "process"})
            else:
                state["commands"][-1].update(pid=entry["pid"], start=_start_time(entry["pid"]))
            _write_state(state)

        net.start_commands(detach=True, log_dir=STATE_DIR, record=record)
    except BaseException:
        down(name)
        raise
    state["complete"] = True
    _write_state(state)
    return net


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid``: tells a pid from a later reuse of it."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _cmdline(pid: int | str) -> str | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().decode(errors="surrogateescape")
    except OSError:
        return None


def _unrecorded_containers(state: dict) -> list[int]:
    """Containers of host commands that pycoz started but did not record (it was
    killed between the two): processes in the topology's namespaces that are
    forks of the pycoz that made it (same command line), not yet exec'd."""
    inodes = set()
    for ns in state.get("namespaces", []):
        try:
            inodes.add(os.stat(f"{NETNS_RUN_DIR}/{ns}").st_ino)
        except OSError:
            pass
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            inode = os.stat(f"/proc/{pid}/ns/net").st_ino
        except OSError:
            continue
        if inode in inodes and _cmdline(pid) == state["cmdline"]:
            found.append(int(pid))
    return found


def _stop_relay(state: dict) -> None:
    """Kill the relay and the hosts' commands that pycoz started (same pid *and*
    start time, so a reused pid is never hit), wait until they are gone, and
    remove their logs."""
    commands = state.get("commands", [])
    victims = []
    if state.get("cmdline") and any(c.get("pid") is None for c in commands):
        victims += [(pid, _start_time(pid)) for pid in _unrecorded_containers(state)]
    for proc in [state.get("relay") or {}, *commands]:
        if proc.get("start") and _start_time(proc["pid"]) == proc["start"]:
            victims.append((proc["pid"], proc["start"]))
    for pid, _ in victims:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        except OSError as err:
            raise OSError(
                err.errno, f"cannot stop process {pid} of topology", state["name"]
            ) from None
    # A container's init takes its whole pid namespace with it: once it is gone
    # (or a zombie), so are the command and everything it started.
    deadline = time.monotonic() + 5
    while any(_running(pid, start) for pid, start in victims) and time.monotonic() < deadline:
        time.sleep(0.005)
    for proc in commands:
        if proc.get("log"):
            try:
                os.unlink(proc["log"])
            except FileNotFoundError:
                pass


def _running(pid: int, start: str | None) -> bool:
    """Whether ``pid`` is still the process that started at ``start``, not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[19] == start and fields[0] != "Z"


def set_impairment(name: str, label: str, impair, sender: str | None = None) -> list[str]:
    """Change the impairments of a link of a running named topology, live."""
    need_root(f"net set {name}")
    from pycoz_cli.core.topology import apply_netem

    state = load_state(name)
    if status(state) != "up":
        raise SpecError(f"topology {name!r} is {status(state)}")
    links = state.get("links", [])
    matches = [
        lk
        for lk in links
        if label == lk["label"]
        or label in (f"{lk['a'][0]}-{lk['b'][0]}", f"{lk['b'][0]}-{lk['a'][0]}")
    ]
    if len(matches) != 1:
        known = ", ".join(f"{lk['a'][0]}-{lk['b'][0]}" for lk in links) or "none"
        raise SpecError(f"topology {name}: no link {label!r} (links: {known})")
    link = matches[0]
    ends = [("a", link["a"], link["ifindex"][0]), ("b", link["b"], link["ifindex"][1])]
    if sender is not None:
        ends = [e for e in ends if e[1][0] == sender]
        if not ends:
            raise SpecError(f"--from {sender}: not an end of link {label}")
    changed = []
    for side, (node, ifname), index in ends:
        if link.get("relay") is not None:
            from pycoz_cli.core.impair import send_settings

            send_settings(name, link["relay"], side, impair.to_dict())
        elif state.get("netem") is False:
            raise _not_adjustable(state, label)
        else:
            from pycoz_cli.core.netns import NetNS

            ns = NetNS.open_named(f"{name}-{node}")
            try:
                apply_netem(ns.rtnl(), index, (node, ifname), impair)
            except OSError as err:
                if err.errno == errno.ENOENT:  # the kernel knows no qdisc "netem"
                    raise _not_adjustable(state, label) from None
                raise
            finally:
                ns.close()
        link["impair"][f"{node}:{ifname}"] = impair.to_dict()
        changed.append(f"{node}:{ifname}")
    _write_state(state)
    return changed


def _not_adjustable(state: dict, label: str) -> SpecError:
    """A link that only netem could change, on a kernel without netem: say how to
    make the topology again with that link declared (and the others as they were).

    pycoz does not re-plumb the link through the relay live: that would take the
    interface away from under the programs running on the host (its addresses,
    routes and neighbours vanish and come back), which is no longer the
    topology they were started in.
    """
    import shlex

    name = state["name"]
    again = ["pycoz", "net", "up", state["spec"], "--name", name]
    for option in [*state.get("impairs", []), label]:
        again += ["--impair", option]
    return SpecError(
        f"link {label} of {name} cannot change: this kernel has no netem, so only "
        f"links declared when the topology was made can (pycoz net down {name} && "
        f"{shlex.join(again)})"
    )


def _write_etc_netns(directory: str, hosts_text: str) -> None:
    """NAME-HOST/hosts, which ``ip netns exec`` binds over /etc/hosts."""
    if not os.path.isdir(ETC_NETNS):
        os.makedirs(ETC_NETNS, mode=0o755, exist_ok=True)
        # Remember that /etc/netns is pycoz's, to remove it once it is empty.
        os.makedirs(STATE_DIR, mode=0o755, exist_ok=True)
        with open(_ETC_NETNS_MADE, "w"):
            pass
    os.mkdir(directory, 0o755)
    with open(f"{directory}/hosts", "w") as f:
        f.write(hosts_text)


def down(name: str) -> list[str]:
    """Remove exactly what the state of ``name`` says pycoz made."""
    need_root(f"net down {name}")
    _remove_stale_temporaries(name)
    state = load_state(name)
    _stop_relay(state)
    removed = []
    for ns in state.get("namespaces", []):
        try:
            from pycoz_cli.core.netns import remove_named

            if remove_named(ns):
                removed.append(ns)
        except OSError as err:
            raise SetupError.from_oserror(err) from None
    for directory in state.get("etc_netns", []):
        for leaf in ("hosts",):
            try:
                os.unlink(f"{directory}/{leaf}")
            except FileNotFoundError:
                pass
        try:
            os.rmdir(directory)
        except OSError:
            pass
    if os.path.exists(_ETC_NETNS_MADE):
        try:
            os.rmdir(ETC_NETNS)  # only when empty: other topologies may still use it
            os.unlink(_ETC_NETNS_MADE)
        except OSError:
            pass
    try:
        os.unlink(state_path(name))
    except FileNotFoundError:
        pass
    return removed


def prune() -> list[str]:
    """Remove named topologies that are broken or were left half-built."""
    need_root("net prune")
    _remove_stale_temporaries()
    pruned = []
    for state in list_states():
        if status(state) == "broken":
            down(state["name"])
            pruned.append(state["name"])
    return pruned


class Joined:
    """A running named topology, opened to place a command in one of its hosts.

    Quacks like ``topology.Network`` as far as ``Container`` needs.
    """

    def __init__(self, name: str):
        need_root(f"topology {name}")
        self.state = load_state(name)
        if status(self.state) != "up":
            raise SpecError(f"topology {name!r} is {status(self.state)} (pycoz net prune)")
        self.name = name
        self.topology = _TopologyView(self.state)
        self._open: dict = {}

    def netns(self, host: str):
        if host not in self.state["nodes"]:
            raise SpecError(
                f"topology {self.name}: no host {host!r} (hosts: {', '.join(self.state['hosts'])})"
            )
        if host not in self._open:
            try:
                from pycoz_cli.core.netns import NetNS

                self._open[host] = NetNS.open_named(f"{self.name}-{host}")
            except OSError as err:
                raise SetupError.from_oserror(err) from None
        return self._open[host]

    def close(self) -> None:
        for ns in self._open.values():
            ns.close()
        self._open.clear()


class _TopologyView:
    def __init__(self, state: dict):
        self.state = state
        self.name = state["topology"]

    def hosts_file(self) -> str:
        return self.state["hosts_file"]

    def first_host(self) -> str:
        return self.state["first_host"]

    def hosts(self) -> list[str]:
        return list(self.state["hosts"])

    def interface_addresses(self, node: str) -> list[str]:
        return list(self.state.get("addresses", {}).get(node, ()))
