"""Named topologies: built by ``net up``, kept after pycoz exits, removed by ``down``.

As root, each node's namespace is bound on /run/netns/NAME-NODE (so ``ip netns
list`` and ``ip netns exec`` work), and /etc/netns/NAME-NODE/hosts holds the
topology's names (which ``ip netns exec`` binds over /etc/hosts).  What pycoz is
about to make is written to a state file *before* it makes it, so that ``down``
and ``prune`` remove exactly what pycoz made and nothing else — also after a
crash half-way through ``up``.

As an ordinary user (rootless mode, ``core.userns``) the namespaces belong to a
user namespace of pycoz's own, which only lives while a process is in it: a
holder process (``core.holder``) keeps them, later commands join it, and the
state is the user's own, under ``$XDG_RUNTIME_DIR/pycoz/net`` (``state_dir``):
``net list`` shows the user's topologies only, and two users' topologies of one
name never meet (their namespaces, relays and state are apart).
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import signal
import time

from pycoz_cli.core.process import running as _running
from pycoz_cli.core.process import start_time as _start_time
from pycoz_cli.errors import SetupError, SpecError

#: Root's named topologies (rootless ones: ``state_dir``).
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


def rootless() -> bool:
    """Named topologies are the user's own (rootless) unless pycoz runs as root.

    Root with ``--rootless`` still uses root's (``Joined`` refuses to join one
    from a user namespace)."""
    from pycoz_cli.core import userns

    return userns.outer_uid() != 0


def runtime_dir() -> str:
    """The user's runtime directory: ``$XDG_RUNTIME_DIR``, else ``/tmp/pycoz-UID``.

    ``$XDG_RUNTIME_DIR`` (``/run/user/UID``) is the user's own, private, and
    emptied at logout: the place for state that must not outlive the machine's
    uptime.  It is set by a login session (systemd-logind) only, not for a CI job,
    ``su`` or ``setpriv``; pycoz then uses ``/tmp/pycoz-UID`` as tmux uses
    ``/tmp/tmux-UID``: /tmp is there on every machine and is cleared at boot
    (namespaces do not survive a reboot either), and ``_private`` checks that the
    directory is the user's and closed to others, since anyone can make a name
    in /tmp before the user does.
    """
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(xdg) and _owned(xdg):
        return xdg
    # Unset, or not the user's (``sudo -u``/``setpriv`` keep the caller's): the
    # XDG spec says to fall back to a directory with the same properties.
    from pycoz_cli.core import userns

    return f"/tmp/pycoz-{userns.outer_uid()}"


def _owned(path: str) -> bool:
    try:
        return os.stat(path).st_uid == os.geteuid()
    except OSError:
        return False


def state_dir() -> str:
    """Where the named topologies of this user are recorded."""
    if not rootless():
        return STATE_DIR
    return f"{runtime_dir()}/pycoz/net"


def _private(create: bool) -> bool:
    """The rootless state directory, checked (and made, with ``create``): each
    step from the user's runtime directory down must be the user's, a real
    directory, with no access for others.  False if it does not exist yet."""
    import stat

    base = runtime_dir()
    steps = [f"{base}/pycoz", f"{base}/pycoz/net"]
    if base.startswith("/tmp/pycoz-"):
        steps.insert(0, base)  # /tmp/pycoz-UID is pycoz's to make and to check
    for path in steps:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            if not create:
                return False
            try:
                os.mkdir(path, 0o700)
            except FileExistsError:
                pass
            except OSError as err:
                raise OSError(err.errno, "cannot make the topology state directory", path) from None
            st = os.lstat(path)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
            raise SetupError(
                f"{path}: not a directory of this user closed to others (mode "
                f"{stat.filemode(st.st_mode)}, owner uid {st.st_uid}): pycoz keeps the "
                "user's named topologies there, so it refuses one that someone else "
                "may have made; remove it, or set XDG_RUNTIME_DIR"
            )
    return True


def state_path(name: str) -> str:
    if rootless():
        _private(create=False)  # never read a state another user could have planted
    return f"{state_dir()}/{name}.json"


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
        if rootless():
            _private(create=True)
        else:
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
    directory = state_dir()
    try:
        if rootless() and not _private(create=False):
            return
        entries = os.listdir(directory)
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.endswith(".tmp") and (name is None or entry.startswith(f"{name}.json.")):
            pid = entry.rsplit(".", 2)[-2]
            if pid.isdigit() and not _alive(int(pid), time.time()):
                try:
                    os.unlink(f"{directory}/{entry}")
                except FileNotFoundError:
                    pass
                except OSError as err:
                    what = "cannot remove a half-written topology state in"
                    raise OSError(err.errno, what, directory) from None


def load_state(name: str) -> dict:
    try:
        with open(state_path(name)) as f:
            return json.load(f)
    except FileNotFoundError:
        known = ", ".join(sorted(s["name"] for s in list_states())) or "none"
        if rootless() and os.path.exists(f"{STATE_DIR}/{name}.json"):
            # Root's of that name (its state is world-readable): say so rather than
            # "no such topology", and that it is root's to use.
            raise SetupError(
                f"topology {name!r} is root's (in /run/netns): named topologies of "
                f"other users, root's included, are theirs to use (yours: {known})"
            ) from None
        raise SpecError(f"no running topology named {name!r} (running: {known})") from None


def list_states() -> list[dict]:
    """The states of this user's named topologies (root's, as root)."""
    directory = state_dir()
    try:
        if rootless() and not _private(create=False):
            return []
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    states = []
    for entry in names:
        if entry.endswith(".json"):
            try:
                with open(f"{directory}/{entry}") as f:
                    states.append(json.load(f))
            except (OSError, ValueError):
                continue
    return states


def status(state: dict) -> str:
    """``up``, ``building`` (its pycoz is still at it) or ``broken``."""
    holder = state.get("holder")
    if holder is not None:  # rootless: the namespaces live while the holder does
        present = bool(holder.get("start")) and _running(holder["pid"], holder["start"])
        present = present and len(holder.get("fds", {})) == len(state["namespaces"])
    else:
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


def _not_from_userns(state: dict, what: str) -> None:
    """Root's topologies (in /run/netns) cannot be reached from a user namespace."""
    from pycoz_cli.core import userns

    if "holder" not in state and userns.active():
        raise SetupError(
            f"{what}: topology {state['name']!r} is root's (in /run/netns), and a user "
            "namespace (--rootless) has no power over it: run without --rootless"
        )


def join(name: str, what: str | None = None) -> dict:
    """Enter the namespaces of a rootless topology's holder (``core.holder``):
    its user namespace, then its network namespace as home (where the link
    relay listens).  Nothing to do for root's.  Returns the state."""
    state = load_state(name)
    holder = state.get("holder")
    if holder is None:
        _not_from_userns(state, what or f"topology {name}")
        return state
    if status(state) != "up":
        raise SpecError(f"topology {name!r} is {status(state)} (pycoz net prune)")
    from pycoz_cli.core import userns
    from pycoz_cli.core.net import netns

    pid = holder["pid"]
    what = f"topology {name} (holder process {pid})"
    try:
        userns.join(pid, what, holder["start"])
        fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise SpecError(f"topology {name!r} is broken (pycoz net prune)") from None
    try:
        if not _running(pid, holder["start"]):  # opened first: the fd is the holder's
            raise SpecError(f"topology {name!r} is broken (pycoz net prune)")
        netns.adopt_home(fd)
    finally:
        os.close(fd)
    return state


def _open_ns(state: dict, node: str):
    """A handle on a node's network namespace: /run/netns/NAME-NODE (root's), or
    the holder's fd for it (rootless; ``join`` first)."""
    from pycoz_cli.core.net.netns import NetNS

    ns_name = f"{state['name']}-{node}"
    holder = state.get("holder")
    if holder is None:
        return NetNS.open_named(ns_name)
    path = f"/proc/{holder['pid']}/fd/{holder['fds'][node]}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as err:
        raise OSError(err.errno, "cannot open network namespace", ns_name) from None
    if not _running(holder["pid"], holder["start"]):
        os.close(fd)
        raise OSError(errno.ESRCH, "the topology's holder process is gone:", ns_name)
    return NetNS(fd, ns_name)


def up(topology, name: str, spec: str, impairs=()):
    """Build ``topology`` as named topology ``name``; returns the Network.

    ``spec`` and ``impairs`` (the ``--impair`` options) are what it was made from,
    recorded to say how to make it again."""
    from pycoz_cli.core import userns
    from pycoz_cli.core.net.topology import Network

    nodes = list(topology.nodes)
    check_name(name, nodes)
    own = rootless()
    if not own and userns.active():
        raise SetupError(
            f"net up {name}: root's named topologies live in /run/netns, out of reach "
            "of a user namespace (--rootless)"
        )
    if os.path.exists(state_path(name)):
        raise SpecError(f"topology name {name!r} is already taken (pycoz net down {name})")
    namespaces = [f"{name}-{node}" for node in nodes]
    for ns in namespaces:
        if not own and os.path.lexists(f"{NETNS_RUN_DIR}/{ns}"):
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
        if not own and not os.path.lexists(f"{ETC_NETNS}/{name}-{node}")
    ]
    # Claim the name atomically, recording what will be made before making it.
    _write_state(state, claim=True)
    net = Network(topology, name=name)
    holder = None
    try:
        if own:
            # The holder first, recorded before any namespace of the topology is
            # made: it dies with this pycoz until it is released, and takes them all.
            from pycoz_cli.core.net import netns
            from pycoz_cli.core.net.holder import Holder

            userns.ensure()
            os.close(netns._own_netns())  # the home namespace, the relay's socket's
            holder = net.holder = Holder.start()
            state["holder"] = {"pid": holder.pid, "start": _start_time(holder.pid), "fds": {}}
            _write_state(state)
        net.build()
        if holder is not None:
            state["holder"]["fds"] = dict(net.held)
        for directory in state["etc_netns"]:
            _write_etc_netns(directory, state["hosts_file"])
        state["netem"] = net.netem
        if net.qdiscs is not None:
            state["qdiscs"] = dataclasses.asdict(net.qdiscs)
        state["links"] = [
            {
                "label": link.label,
                "name": link.name,
                "a": list(link.a),
                "b": list(link.b),
                "ifindex": [net.ifindex[link.a], net.ifindex[link.b]],
                "relay": net.relayed.get(k),
                "steered": net.steered.get(k),
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

        net.start_commands(detach=True, log_dir=state_dir(), record=record)
        state["complete"] = True
        _write_state(state)
        if holder is not None:
            # Last: a pycoz killed before this takes the holder (and so the
            # namespaces and the relay) with it; the state then reads "broken".
            holder.release()
        elif net.relay_pid:
            # Likewise root's relay: until here it dies with this pycoz (it was
            # made before its pid could be recorded).
            from pycoz_cli.core.net.impair import release

            release(net.relay_key)
    except BaseException:
        if holder is not None:
            holder.close()
        down(name)
        raise
    return net


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
    holder = state.get("holder") or {}
    paths = [f"/proc/{holder['pid']}/fd/{n}" for n in holder.get("fds", {}).values()]
    if not holder:
        paths = [f"{NETNS_RUN_DIR}/{ns}" for ns in state.get("namespaces", [])]
    for path in paths:
        try:
            inodes.add(os.stat(path).st_ino)
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
    for proc in [state.get("relay") or {}, *commands, state.get("holder") or {}]:
        if proc.get("start") and _start_time(proc["pid"]) == proc["start"]:
            victims.append((proc["pid"], proc["start"]))
    for pid, _ in victims:
        try:
            os.kill(pid, signal.SIGKILL)
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


def set_impairment(name: str, label: str, impair, sender: str | None = None) -> list[str]:
    """Change the impairments of a link of a running named topology, live."""
    from pycoz_cli.core.net.topology import (
        Qdiscs,
        apply_qdisc,
        find_link,
        kernel_qdiscs,
        split_impairment,
    )

    state = join(name, f"net set {name}")
    if status(state) != "up":
        raise SpecError(f"topology {name!r} is {status(state)}")
    links = state.get("links", [])
    found = find_link(name, label, [(lk.get("name"), lk["a"], lk["b"]) for lk in links])
    link = links[found]
    ends = [("a", link["a"], link["ifindex"][0]), ("b", link["b"], link["ifindex"][1])]
    if sender is not None:
        ends = [e for e in ends if sender in (e[1][0], f"{e[1][0]}:{e[1][1]}")]
        if not ends:
            raise SpecError(f"--from {sender}: not an end of link {label}")
    qdiscs = Qdiscs(**state["qdiscs"]) if "qdiscs" in state else None
    changed = []
    for _side, (node, ifname), index in ends:
        ns = _open_ns(state, node)
        try:
            if qdiscs is None:
                qdiscs = kernel_qdiscs(ns.rtnl())
            # The kernel's share (``split_impairment``), or none: removes what was.
            apply_qdisc(
                ns.rtnl(), index, (node, ifname), split_impairment(impair, qdiscs)[0], qdiscs
            )
        finally:
            ns.close()
        changed.append(f"{node}:{ifname}")
    if not qdiscs.netem and (split_impairment(impair, qdiscs)[1] or link.get("relay") is not None):
        try:
            return _set_relayed(state, link, [e[:2] for e in ends], impair, qdiscs)
        finally:
            _write_state(state)
    for _side, (node, ifname), _index in ends:
        link["impair"][f"{node}:{ifname}"] = impair.to_dict()
    _write_state(state)
    return changed


def _set_relayed(state: dict, link: dict, sides: list, impair, qdiscs) -> list[str]:
    """Impair a link through the topology's relay (a kernel without netem),
    putting the relay in its way first if it is not yet (any link can).  The
    relay gets each end's share (``split_impairment``: not a rate alone, which
    htb/tbf does); the state records the whole impairment."""
    from pycoz_cli.core.net.impair import relay_links
    from pycoz_cli.core.net.netns import NetNS
    from pycoz_cli.core.net.topology import Impairment, split_impairment

    name = state["name"]
    relay = state.get("relay")
    if not relay:
        raise SpecError(f"topology {name!r} has no link relay (pycoz net down {name})")
    j = link.get("relay")
    new = j is None
    if new:
        used = [lk["relay"] for lk in state["links"] if lk.get("relay") is not None]
        j = max(used, default=-1) + 1
    settings = {}
    for side in ("a", "b"):
        node, ifname = link[side]
        settings[side] = dict(link["impair"].get(f"{node}:{ifname}") or {})
    changed = []
    for side, (node, ifname) in sides:
        settings[side] = impair.to_dict()
        changed.append(f"{node}:{ifname}")
    opened = []
    try:
        try:
            fd = os.open(f"/proc/{relay['pid']}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            fd = -1
        opened.append(NetNS(fd, f"{name} link relay"))
        # Checked once its namespace is held: the relay, not a later process
        # that took its pid.
        if fd < 0 or not _running(relay["pid"], relay["start"]):
            raise SpecError(f"topology {name!r}: its link relay is gone (pycoz net down {name})")
        for side in ("a", "b"):
            opened.append(_open_ns(state, link[side][0]))
        ends = [(ns, link[side][1], link["ifindex"][i]) for i, (ns, side) in
                enumerate(zip(opened[1:], ("a", "b"), strict=True))]  # fmt: skip
        impairs = [
            split_impairment(Impairment(**settings[side]), qdiscs)[1].to_dict()
            for side in ("a", "b")
        ]
        # Recorded however far it gets: what is made is found again.
        link["relay"] = j
        link["steered"] = link.get("steered") or [None, None]
        relay_links(name, opened[0], [{"j": j, "ends": ends, "impair": impairs, "new": new,
                                       "steered": link["steered"]}])  # fmt: skip
    finally:
        for ns in opened:
            ns.close()
    for side in ("a", "b"):
        node, ifname = link[side]
        link["impair"][f"{node}:{ifname}"] = settings[side]
    return changed


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
    """Remove exactly what the state of ``name`` says pycoz made.

    A rootless topology's namespaces end with its holder process (killed with
    the relay and the hosts' commands): nothing is bound anywhere."""
    _remove_stale_temporaries(name)
    state = load_state(name)
    holder = state.get("holder") or {}
    held = bool(holder.get("start")) and _running(holder["pid"], holder["start"])
    _stop_relay(state)
    removed = []
    if held:
        removed = list(state["namespaces"][: len(holder.get("fds", {}))])
    for ns in [] if "holder" in state else state.get("namespaces", []):
        try:
            from pycoz_cli.core.net.netns import remove_named

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

    def __init__(self, name: str, state: dict | None = None):
        """``state``: what ``join(name)`` returned, when the caller joined
        already (once: a second join would enter the holder's namespaces again)."""
        if state is None:
            state = join(name)
        elif "holder" not in state:
            # Root's: joined before --rootless entered a user namespace, which
            # has no power over it: refused now, in one line.
            _not_from_userns(state, f"topology {name}")
        self.state = state
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
                self._open[host] = _open_ns(self.state, host)
            except OSError as err:
                raise SetupError.from_oserror(err) from None
        return self._open[host]

    def root_pid(self, host: str) -> int | None:
        """The pid of the init keeping ``host``'s own root, if it has one."""
        for command in self.state.get("commands", []):
            if command.get("node") == host and command.get("index") == "root":
                if command.get("pid") and _running(command["pid"], command.get("start")):
                    return command["pid"]
                raise SetupError(
                    f"topology {self.name}: the root of host {host} is gone (pycoz net down "
                    f"{self.name})"
                )
        return None

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
