"""Benchmark pycoz's networks side by side with their anchors, as ratios.

    .venv/bin/python bench/bench_net.py [--runs N] [--mn-runs N]   (as root)

One run measures every candidate and its anchors on the same machine, interleaved
round-robin (the order rotates each round), so machine noise hits them all alike;
it prints medians, p10/p90 and the ratios against the goals.  Nothing here
asserts a time: the numbers are for people (bench/README.md).

1. ``star:hosts=100`` built and torn down from the API, and by the CLI
   (``pycoz net run star:hosts=100 -- /bin/true``), against mininet
   (``mn --topo single,100 --switch lxbr,stp=0 --controller none --test none``).
   Goal: at most 0.1 of mininet's time, for both.  mininet takes seconds, so it
   gets few rounds (``--mn-runs``).
2. ``pair`` built and torn down from the API (in this process, which has imported
   pyroute2 already), with and without ``/bin/true`` run in h1, against
   bench/anchor_iproute2_pair.sh, the same with iproute2.  Goals: at most 0.5
   for the network alone, 0.25 with the command.
3. Scaling: ``star`` with 10, 100 and 500 hosts, built and torn down; the cost
   per host, and whether it stays flat (linear growth).
4. The start-up of ``pycoz net run pair -- /bin/true`` against what its libraries
   cost to import, ``python -c 'import click, pyroute2'`` (goal: at most 1.3),
   with the floors beneath: the interpreter alone, click alone, pyroute2 alone.

A namespace's last reference going away does not free it: the kernel queues it,
and a worker unregisters its devices later (under the rtnl lock, which any later
network set-up then waits for).  So after every timed run the bench waits until
the kernel has caught up (a marker namespace dropped after the run is seen gone,
see ``KernelSettle``), which keeps one run's clean-up out of the next one's time,
and prints that time too (``+ kernel clean-up``).

Traffic is only ever sent between namespaces this bench made.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import Timed

HERE = Path(__file__).resolve().parent
ANCHOR_PAIR = HERE / "anchor_iproute2_pair.sh"
PYTHON = sys.executable
PYCOZ = str(Path(sys.prefix) / "bin" / "pycoz")

MN_HOSTS = 100
MN = [
    "mn",
    "--topo",
    f"single,{MN_HOSTS}",
    "--switch",
    "lxbr,stp=0",
    "--controller",
    "none",
    "--test",
    "none",
]
#: Links mininet may leave in the root namespace for single,N with an lxbr switch:
#: the bridge s1 and its ports s1-ethK (the switch has no namespace of its own),
#: and hK-eth0, the hosts' ends, should one be left outside its host.
MN_LINK = re.compile(r"(s1|s1-eth\d+|h\d+-eth0)")
#: The sysctls mininet's fixLimits() raises on every start (mininet/util.py).
MN_SYSCTLS = (
    "fs.file-max",
    "net.core.wmem_max",
    "net.core.rmem_max",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
    "net.core.netdev_max_backlog",
    "net.ipv4.neigh.default.gc_thresh1",
    "net.ipv4.neigh.default.gc_thresh2",
    "net.ipv4.neigh.default.gc_thresh3",
    "net.ipv4.route.max_size",
    "kernel.pty.max",
)

SCALE_HOSTS = (10, 100, 500)
#: Per-host cost at 500 hosts over that at 10, still called "linear".
LINEAR_TOLERANCE = 1.25

# The hosts' addresses in pycoz's built-in topologies (topology.py).
PAIR_H2 = ("198.18.0.2", "2001:db8::2")


def star_addresses(i: int) -> tuple[str, str]:
    return f"198.18.{i // 256}.{i % 256}", f"2001:db8::{i:x}"


# --- measuring -----------------------------------------------------------------


@dataclass
class Candidate(Timed):
    kind: str  # "api", "mn", "sh", "cli": how it is started
    label: str
    run: Callable[[], None]
    rounds: int
    #: Untimed work after each run, before the kernel settles (counted in
    #: ``settled``): e.g. waiting for mininet's shells to exit.
    drain: Callable[[], None] | None = None
    #: Untimed checks after each run (not counted anywhere).
    check: Callable[[], None] | None = None
    times: list[float] = field(default_factory=list)
    #: Time until the kernel had cleaned up what the run dropped.
    settled: list[float] = field(default_factory=list)
    #: The exception that stopped this candidate (it is not run again).
    failed: BaseException | None = None

    @property
    def median_settled(self) -> float:
        return statistics.median(self.settled)


def slots(rounds: int, total: int) -> set[int]:
    """``rounds`` round numbers spread evenly over ``total`` rounds."""
    return {i * total // rounds for i in range(rounds)}


def measure(cands: list[Candidate], warmup: int, settle: KernelSettle) -> None:
    """Interleave the candidates; each runs in ``c.rounds`` of the rounds.

    A candidate that raises is recorded as failed (with its exception) and left
    out from then on; the others go on.
    """
    for c in cands:
        for _ in range(warmup):
            attempt(c, settle)
    total = max(c.rounds for c in cands)
    plan = [slots(c.rounds, total) for c in cands]
    n = len(cands)
    for r in range(total):
        for i in [*range(r % n, n), *range(r % n)]:
            c = cands[i]
            if r not in plan[i]:
                continue
            timed = attempt(c, settle)
            if timed is not None:
                c.times.append(timed[0])
                c.settled.append(timed[1])


def attempt(c: Candidate, settle: KernelSettle) -> tuple[float, float] | None:
    """Run ``c`` once: (time to return, time until the kernel caught up)."""
    if c.failed is not None:
        return None
    t0 = time.perf_counter()
    try:
        c.run()
    except Exception as err:  # reported in the table, with the exception
        c.failed = err
    t1 = time.perf_counter()
    if c.drain:
        c.drain()
    settle.wait()
    t2 = time.perf_counter()
    if c.check:
        c.check()
    return None if c.failed is not None else (t1 - t0, t2 - t0)


def untimed(n: int) -> str:
    return f"{n} untimed run{'s' if n != 1 else ''}"


def describe(err: BaseException) -> str:
    """The exception, and where it (or the error it was made from) was raised."""
    kind = type(err)
    text = str(err).strip() or repr(err)
    lines = [f"{kind.__module__}.{kind.__qualname__}: {text}"]
    chain: BaseException | None = err
    while chain is not None:  # also through ``raise ... from None``
        frames = traceback.extract_tb(chain.__traceback__)[-3:]
        where = " <- ".join(
            f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames)
        )
        lines.append(f"  {type(chain).__name__} raised at {where}")
        chain = chain.__cause__ or chain.__context__
    return "\n     ".join(lines)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def table(title: str, cands: list[Candidate]) -> None:
    print(title)
    print(
        f"     {'candidate':<44} {'runs':>4} {'median':>7} {'p10':>7} {'p90':>7}"
        f" | {'+ kernel clean-up':>17} {'p10':>7} {'p90':>7}   (ms)"
    )
    for c in cands:
        head = f"{c.kind:<4} {c.label:<44} {len(c.times):>4}"
        if c.times:
            m, p10, p90 = Candidate.stats(c.times)
            sm, s10, s90 = Candidate.stats(c.settled)
            head += (
                f" {ms(m):>7} {ms(p10):>7} {ms(p90):>7} | {ms(sm):>17} {ms(s10):>7} {ms(s90):>7}"
            )
        print(head)
        if c.failed is not None:
            print(f"     FAILED: {describe(c.failed)}")


def ratio_line(cand: Candidate, anchor: Candidate, goal: float | None) -> str:
    what = f"ratio {cand.label} / {anchor.label}\n      "
    if not (cand.ok and anchor.ok):
        failed = " and ".join(c.label for c in (cand, anchor) if not c.ok)
        return what + f"no ratio: {failed} failed (see above)"
    r = cand.median / anchor.median
    rs = cand.median_settled / anchor.median_settled
    if goal is None:
        verdict = "(reference, no goal)"
    else:
        verdict = f"(goal <= {goal}: {'met' if r <= goal else 'MISSED'})"
    return what + (
        f"{ms(cand.median)} ms / {ms(anchor.median)} ms = {r:.3f} {verdict};"
        f"  with kernel clean-up: {ms(cand.median_settled)} / {ms(anchor.median_settled)}"
        f" = {rs:.3f}"
    )


def command(argv: list[str], env: dict[str, str] | None = None) -> Callable[[], None]:
    """Run ``argv`` quietly; a failure raises with the end of its output."""

    def run() -> None:
        proc = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, check=False
        )
        if proc.returncode != 0:
            out = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
            raise RuntimeError(f"{' '.join(argv)} exited with {proc.returncode}: {out}")

    return run


# --- the kernel's deferred clean-up of namespaces --------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000
RTM_NEWLINK, RTM_DELLINK = 16, 17
NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
IFLA_IFNAME, IFLA_LINKINFO, IFLA_NET_NS_FD = 3, 18, 28
IFLA_INFO_KIND, IFLA_INFO_DATA, VETH_INFO_PEER = 1, 2, 1
RTNLGRP_LINK = 1
_NLMSG = struct.Struct("=IHHII")
_IFINFO = struct.Struct("=BxHiII")


def _attr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def _in_new_netns(work: Callable[[], object]) -> tuple[int, object]:
    """Run ``work`` in a new network namespace; (fd holding it, result)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.unshare(CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"unshare(CLONE_NEWNET): {os.strerror(err)}")
        try:
            fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            try:
                return fd, work()
            except BaseException:
                os.close(fd)
                raise
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns back: {os.strerror(err)}")
    finally:
        os.close(own)


class KernelSettle:
    """Wait until the kernel has cleaned up every namespace dropped so far.

    Dropped namespaces are cleaned up by one ordered worker, in batches, in the
    order they were dropped.  ``wait`` drops a marker namespace holding one end of
    a veth pair whose other end is in a probe namespace the bench keeps; the
    kernel deletes that other end when it unregisters the marker's devices, and
    the probe namespace's netlink socket hears it (RTM_DELLINK).  By then the
    devices of every namespace dropped before the marker are gone too.
    """

    MARK, PEER = "pczmark0", "pczmark1"

    def __init__(self) -> None:
        def monitor() -> socket.socket:
            s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.bind((0, 1 << (RTNLGRP_LINK - 1)))
            return s

        self.probe_fd, mon = _in_new_netns(monitor)
        self.mon: socket.socket = mon  # type: ignore[assignment]

    def close(self) -> None:
        self.mon.close()
        os.close(self.probe_fd)

    def wait(self, timeout: float = 180.0) -> float:
        def make_marker() -> None:
            with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0) as s:
                s.bind((0, 0))
                peer = (
                    _IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
                    + _attr(IFLA_IFNAME, self.PEER.encode() + b"\0")
                    + _attr(IFLA_NET_NS_FD, struct.pack("=I", self.probe_fd))
                )
                info = _attr(IFLA_INFO_KIND, b"veth\0") + _attr(
                    IFLA_INFO_DATA, _attr(VETH_INFO_PEER, peer)
                )
                body = (
                    _IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
                    + _attr(IFLA_IFNAME, self.MARK.encode() + b"\0")
                    + _attr(IFLA_LINKINFO, info)
                )
                flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
                s.send(_NLMSG.pack(_NLMSG.size + len(body), RTM_NEWLINK, flags, 1, 0) + body)
                reply = s.recv(65536)
                kind = _NLMSG.unpack_from(reply)[1]
                code = struct.unpack_from("=i", reply, _NLMSG.size)[0]
                if kind != NLMSG_ERROR or code != 0:
                    raise OSError(
                        -code, f"bench: cannot make the marker veth: {os.strerror(-code)}"
                    )

        t0 = time.perf_counter()
        marker_fd, _ = _in_new_netns(make_marker)
        os.close(marker_fd)  # the marker's last reference: it is queued for clean-up
        self.mon.settimeout(timeout)
        while True:
            try:
                data = self.mon.recv(1 << 16)
            except TimeoutError:
                raise SystemExit(
                    f"bench: the kernel did not clean up a dropped namespace in {timeout} s"
                ) from None
            if self._peer_deleted(data):
                return time.perf_counter() - t0

    def _peer_deleted(self, data: bytes) -> bool:
        at = 0
        while at + _NLMSG.size <= len(data):
            length, kind = _NLMSG.unpack_from(data, at)[:2]
            if length < _NLMSG.size:
                break
            if kind == RTM_DELLINK:
                pos = at + _NLMSG.size + _IFINFO.size
                end = at + length
                while pos + 4 <= end:
                    alen, akind = struct.unpack_from("=HH", data, pos)
                    if alen < 4:
                        break
                    if akind == IFLA_IFNAME:
                        name = data[pos + 4 : pos + alen].split(b"\0")[0].decode()
                        if name == self.PEER:
                            return True
                    pos += (alen + 3) & ~3
            at += (length + 3) & ~3
        return False


# --- the state that must come back -------------------------------------------------


def root_links() -> list[str]:
    """Link names in this (the root) network namespace, from ``ip -o link``."""
    out = subprocess.run(
        ["ip", "-o", "link", "show"], capture_output=True, text=True, check=True
    ).stdout
    return [line.split(":", 2)[1].strip().split("@")[0] for line in out.splitlines()]


def named_netns() -> list[str]:
    try:
        return sorted(os.listdir("/run/netns"))
    except FileNotFoundError:
        return []


def is_mount_point(path: str) -> bool:
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def processes() -> dict[int, tuple[int, str]]:
    """pid -> (ppid, cmdline) for every live process on the machine."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z":
            out[int(name)] = (int(fields[1]), cmd)
    return out


def mininet_shells() -> list[str]:
    """mininet's node shells (``bash ... mininet:h1``) still alive."""
    return [f"{pid} {cmd}" for pid, (_, cmd) in processes().items() if " mininet:" in cmd]


def read_sysctl(name: str) -> str:
    with open("/proc/sys/" + name.replace(".", "/")) as f:
        return f.read().strip()


def write_sysctl(name: str, value: str) -> None:
    with open("/proc/sys/" + name.replace(".", "/"), "w") as f:
        f.write(value)


@dataclass
class Snapshot:
    links: list[str]
    netns: list[str]
    mounts: list[str]
    children: list[str]
    fds: list[str]

    @classmethod
    def take(cls) -> Snapshot:
        me = os.getpid()
        with open("/proc/self/mountinfo") as f:
            mounts = f.read().splitlines()
        fds = []
        for name in sorted(os.listdir("/proc/self/fd"), key=int):
            try:
                fds.append(f"{name} -> {os.readlink(f'/proc/self/fd/{name}')}")
            except OSError:  # the directory fd listdir itself used
                pass
        return cls(
            root_links(),
            named_netns(),
            mounts,
            sorted(f"{pid} {cmd}" for pid, (ppid, cmd) in processes().items() if ppid == me),
            fds,
        )

    def diff(self, after: Snapshot) -> tuple[list[str], list[str]]:
        """What changed: (possibly this bench's doing, surely someone else's).

        Other work on the machine (a test suite naming its own namespaces, say)
        shows up in the machine-wide lists; the bench's names all start with
        ``pczb`` (the anchor) or ``pczmark`` (the clean-up marker), and its
        children and fds are its own.
        """
        ours, others = [], []
        for name in ("links", "netns", "mounts", "children", "fds"):
            b, a = getattr(self, name), getattr(after, name)
            changed = [f"+ {x}" for x in a if x not in b] + [f"- {x}" for x in b if x not in a]
            machine_wide = name in ("links", "netns", "mounts")
            for item in changed:
                foreign = machine_wide and not (
                    MN_LINK.fullmatch(item[2:]) or "pczb" in item or "pczmark" in item
                )
                (others if foreign else ours).append(f"{name}: {item}")
        return ours, others


# --- the candidates ----------------------------------------------------------------


def api_build(spec: str) -> Callable[[], None]:
    from pycoz_cli.core.net.topology import Network, resolve

    def run() -> None:
        with Network(resolve(spec)):
            pass

    return run


def api_pair_true() -> None:
    from pycoz_cli.core.container import Container
    from pycoz_cli.core.net.topology import Network, resolve

    with Network(resolve("pair")) as net:
        code = Container(network=net, host="h1", overlay=False).run(["/bin/true"])
    if code != 0:
        raise RuntimeError(f"Container(network=pair, host='h1').run(['/bin/true']) -> {code}")


class Mininet:
    """``mn`` runs, with its root-namespace links checked after each one."""

    def __init__(self) -> None:
        self.baseline = root_links()
        self.sysctls = {name: read_sysctl(name) for name in MN_SYSCTLS}
        self.completed: list[float] = []  # mininet's own "completed in" figures
        self.leaked: list[str] = []  # links seen after a run, deleted by name
        self.foreign: list[str] = []  # new links mininet would not have made

    def run(self) -> None:
        proc = subprocess.run(
            MN, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        out = proc.stdout + proc.stderr
        found = re.search(r"completed in ([0-9.]+) seconds", out)
        if proc.returncode != 0 or found is None:
            raise MininetFailed(proc.returncode, out)
        self.completed.append(float(found.group(1)))

    def drain(self, timeout: float = 60.0) -> None:
        """Wait for mininet's node shells to exit (they hold its namespaces)."""
        deadline = time.monotonic() + timeout
        while mininet_shells():
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: mininet's shells still alive: {mininet_shells()[:5]}")
            time.sleep(0.005)

    def check(self) -> None:
        """Links that appeared in the root namespace: delete mininet's, by name."""
        for name in root_links():
            if name in self.baseline:
                continue
            if MN_LINK.fullmatch(name):
                subprocess.run(["ip", "link", "del", "dev", name], check=False)
                self.leaked.append(name)
            elif name not in self.foreign:
                self.foreign.append(name)

    def restore_sysctls(self) -> list[str]:
        changed = []
        for name, value in self.sysctls.items():
            now = read_sysctl(name)
            if now.split() != value.split():
                write_sysctl(name, value)
                changed.append(f"{name} {now!r} -> back to {value!r}")
        return changed


class MininetFailed(Exception):
    def __init__(self, code: int, output: str):
        super().__init__(f"mn exited with {code}")
        self.code = code
        self.output = output


def mininet_usable() -> str | None:
    """Why mininet cannot be measured here, or None."""
    for tool in ("mn", "brctl"):
        if shutil.which(tool) is None:
            return f"`{tool}` not found (apt-get install mininet bridge-utils)"
    clash = [n for n in root_links() if MN_LINK.fullmatch(n)]
    if clash:
        return f"the root namespace already has links mininet would make: {clash}"
    return None


# --- sections ------------------------------------------------------------------------


def sanity(settle: KernelSettle) -> None:
    """The networks really carry traffic, IPv4 and IPv6, once, before timing."""
    from pycoz_cli.core.container import Container
    from pycoz_cli.core.net.topology import Network, resolve

    def pings(addrs: tuple[str, ...]) -> list[str]:
        # -W 3: on a veth that just came up, the first IPv6 neighbour solicitation
        # can go unanswered and be resent a second later (see bench/README.md).
        return ["/bin/sh", "-c", " && ".join(f"ping -q -c 1 -W 3 {a} >/dev/null" for a in addrs)]

    settle.wait()
    last = star_addresses(MN_HOSTS)
    with Network(resolve(f"star:hosts={MN_HOSTS}")) as net:
        code = Container(network=net, host="h1", overlay=False).run(pings(last))
    if code != 0:
        raise SystemExit(f"bench: sanity: h1 of star:hosts={MN_HOSTS} cannot ping {last}")
    settle.wait()
    with Network(resolve("pair")) as net:
        code = Container(network=net, host="h1", overlay=False).run(pings(PAIR_H2))
    if code != 0:
        raise SystemExit(f"bench: sanity: h1 of pair cannot ping {PAIR_H2}")
    settle.wait()
    code = subprocess.run([str(ANCHOR_PAIR), *pings(PAIR_H2)], stdin=subprocess.DEVNULL).returncode
    if code != 0:
        raise SystemExit(f"bench: sanity: {ANCHOR_PAIR.name}: A cannot ping {PAIR_H2}")
    settle.wait()
    print(
        f"sanity: star:hosts={MN_HOSTS} h1 -> h{MN_HOSTS}, pair h1 -> h2 and the iproute2 "
        "pair A -> B all ping over IPv4 and IPv6"
    )


def section_mininet(args: argparse.Namespace, settle: KernelSettle, env: dict[str, str]) -> None:
    spec = f"star:hosts={MN_HOSTS}"
    print(f"\n== 1. {spec}: build + teardown, pycoz API and CLI against mininet")
    why = mininet_usable()
    api = Candidate("api", f"Network(resolve('{spec}'))", api_build(spec), args.runs)
    cli_argv = [PYCOZ, "net", "run", spec, "--", "/bin/true"]
    cli = Candidate("cli", f"pycoz net run {spec} -- /bin/true", command(cli_argv, env), args.runs)
    if why is not None:
        print(f"mininet: not measured: {why}")
        measure([api, cli], args.warmup, settle)
        table("", [api, cli])
        return
    mn = Mininet()
    mn_cand = Candidate(
        "mn",
        f"mn --topo single,{MN_HOSTS} --switch lxbr,stp=0 ...",
        mn.run,
        args.mn_runs,
        drain=mn.drain,
        check=mn.check,
    )
    warmup = min(args.warmup, 1)
    try:
        measure([api, cli, mn_cand], warmup, settle)
    finally:
        changed = mn.restore_sysctls()
    table(
        f"{api.rounds} rounds of the API and the CLI, {mn_cand.rounds} of mininet, "
        f"interleaved ({untimed(warmup)} each first)",
        [api, cli, mn_cand],
    )
    if isinstance(mn_cand.failed, MininetFailed):
        print(
            f"mininet: `{' '.join(MN)}` failed; its output ends:\n"
            + "\n".join("    " + line for line in mn_cand.failed.output.strip().splitlines()[-15:])
        )
    print("\n" + ratio_line(api, mn_cand, 0.1))
    print(ratio_line(cli, mn_cand, 0.1))
    if api.ok and mn.completed:
        med = statistics.median(mn.completed)
        print(
            f'note: mininet\'s own "completed in" figure (from after its Python started and\n'
            f"      imported mininet): median {ms(med)} ms; pycoz / that = {api.median / med:.3f}."
            "  The mn\n      line above is the whole command, as a user runs it."
        )
    left = "nothing" if not mn.leaked else f"{len(mn.leaked)} links, deleted by name: {mn.leaked}"
    print(f"mininet's leftovers in the root namespace after its runs: {left}")
    if mn.foreign:
        print(f"note: links not made by mininet appeared meanwhile (left alone): {mn.foreign}")
    if changed:
        print(
            "note: mininet raises these sysctls on every start (fixLimits); restored:\n"
            + "\n".join("      " + c for c in changed)
        )


def section_pair(args: argparse.Namespace, settle: KernelSettle, env: dict[str, str]) -> None:
    from pycoz_cli.core.container import Container
    from pycoz_cli.core.net.topology import Network, resolve

    print("\n== 2. pair: build + /bin/true in h1 + teardown, pycoz API against iproute2")
    held = Network(resolve("pair")).build()
    try:

        def run_in_held() -> None:
            if Container(network=held, host="h1", overlay=False).run(["/bin/true"]) != 0:
                raise RuntimeError("Container(network=held, host='h1').run(['/bin/true']) failed")

        cands = [
            Candidate("api", "pair + Container(h1).run(['/bin/true'])", api_pair_true, args.runs),
            Candidate("api", "pair only: Network(resolve('pair'))", api_build("pair"), args.runs),
            Candidate("api", "Container(h1).run(['/bin/true']) only", run_in_held, args.runs),
            Candidate(
                "sh", "bench/anchor_iproute2_pair.sh", command([str(ANCHOR_PAIR)]), args.runs
            ),
            Candidate(
                "sh", "subprocess.run(['/bin/true'])", command(["/bin/true"], env), args.runs
            ),
        ]
        measure(cands, args.warmup, settle)
    finally:
        held.teardown()
    table(f"{args.runs} rounds, interleaved ({untimed(args.warmup)} each first)", cands)
    print()
    print(ratio_line(cands[0], cands[3], 0.25))
    print(ratio_line(cands[1], cands[3], 0.5))
    print(
        "note: the last two api lines split the first: the network alone, and the command\n"
        "      alone in a pair built once.  The script is started with subprocess.run, whose\n"
        "      own cost is the last line; the API runs in this process."
    )


def section_scaling(args: argparse.Namespace, settle: KernelSettle) -> None:
    print("\n== 3. scaling: star build + teardown from the API")
    rounds = {10: args.runs, 100: args.runs, 500: args.runs_500}
    cands = [
        Candidate("api", f"Network(resolve('star:hosts={n}'))", api_build(f"star:hosts={n}"), r)
        for n, r in rounds.items()
    ]
    measure(cands, args.warmup, settle)
    table(
        f"rounds (hosts: rounds): {rounds}, interleaved ({untimed(args.warmup)} each first)", cands
    )
    print(f"\n{'hosts':>5} {'per host':>10} {'+ kernel clean-up':>18}   (ms)")
    per = {}
    for n, c in zip(SCALE_HOSTS, cands, strict=True):
        if c.ok:
            per[n] = (c.median / n, c.median_settled / n)
            print(f"{n:>5} {ms(per[n][0]):>10} {ms(per[n][1]):>18}")
        else:
            print(f"{n:>5} {'FAILED':>10}")
    missing = [n for n in SCALE_HOSTS if n not in per]
    if missing:
        print(f"linearity: not computed, star:hosts={missing} failed (see above)")
        return
    for i, what in ((0, "returned"), (1, "with kernel clean-up")):
        r = per[500][i] / per[10][i]
        verdict = "linear or better" if r <= LINEAR_TOLERANCE else "grows faster than linear"
        print(
            f"per-host cost at 500 / at 10 ({what}): {r:.2f} -> {verdict}"
            f" (tolerance {LINEAR_TOLERANCE})"
        )
    m = {n: c.median for n, c in zip(SCALE_HOSTS, cands, strict=True)}
    print(
        f"marginal cost per host: 10 -> 100: {ms((m[100] - m[10]) / 90)} ms, "
        f"100 -> 500: {ms((m[500] - m[100]) / 400)} ms"
    )


def section_cli(args: argparse.Namespace, settle: KernelSettle, env: dict[str, str]) -> None:
    print("\n== 4. cli: pycoz net start-up")

    def works(argv: list[str]) -> bool:
        probe = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, check=False
        )
        if probe.returncode != 0:
            why = (probe.stderr.strip() or probe.stdout.strip()).splitlines()[-1:] or ["no output"]
            print(f"skipped: `{' '.join(argv[-3:])}` exited {probe.returncode}: {why[0]}")
        return probe.returncode == 0

    if not works([PYCOZ, "net", "--help"]):
        return

    def python(code: str) -> Candidate:
        return Candidate("py", f"python -c '{code}'", command([PYTHON, "-c", code], env), args.runs)

    click = python("import click")
    libraries = python("import click, pyroute2")
    cands = [
        Candidate("cli", "pycoz net --help", command([PYCOZ, "net", "--help"], env), args.runs),
        libraries,
        click,
        python("import pyroute2"),
        python("pass"),
        Candidate("cli", "pycoz --version", command([PYCOZ, "--version"], env), args.runs),
    ]
    run = [PYCOZ, "net", "run", "pair", "--", "/bin/true"]
    if works([*run[:3], "--help"]):
        cands.insert(
            0, Candidate("cli", "pycoz net run pair -- /bin/true", command(run, env), args.runs)
        )
        cands.append(
            Candidate("sh", "bench/anchor_iproute2_pair.sh", command([str(ANCHOR_PAIR)]), args.runs)
        )
    measure(cands, args.warmup, settle)
    table(f"{args.runs} rounds, interleaved ({untimed(args.warmup)} each first)", cands)
    print()
    for c in cands:
        if c.kind == "cli" and c.label != "pycoz --version":
            print(ratio_line(c, click, None))
    if cands[-1].kind == "sh":
        print(ratio_line(cands[0], libraries, 1.3))
        print(ratio_line(cands[0], cands[-1], None))
    print(
        "note: the floors: an interpreter that imports nothing, click alone, pyroute2\n"
        "      alone; pycoz net run imports both, then builds, runs and tears down."
    )


def child_env(cache_dir: str) -> dict[str, str]:
    """As bench_root.py: Python children cache bytecode in a temporary directory."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = cache_dir
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="timed rounds (default 20)")
    parser.add_argument(
        "--mn-runs", type=int, default=3, help="timed mininet runs (default 3; ~6 s each)"
    )
    parser.add_argument(
        "--runs-500", type=int, default=5, help="timed rounds of star:hosts=500 (default 5)"
    )
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs each (default 2)")
    parser.add_argument("--skip-mininet", action="store_true", help="leave mininet out")
    args = parser.parse_args()
    if min(args.runs, args.mn_runs, args.runs_500) < 1:
        parser.error("every round count must be at least 1")
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root (network namespaces need CAP_SYS_ADMIN)")
    if not os.access(PYCOZ, os.X_OK):
        raise SystemExit(f"bench: {PYCOZ} not found: run with the venv's python")

    import pycoz_cli

    mn_version = "not installed"
    if shutil.which("mn"):
        # mn prints its version on stderr.
        proc = subprocess.run(["mn", "--version"], capture_output=True, text=True, check=False)
        mn_version = (proc.stdout + proc.stderr).strip()
    ip_version = subprocess.run(["ip", "-V"], capture_output=True, text=True).stdout
    print(
        f"bench_net: pycoz {pycoz_cli.__version__}, Python {platform.python_version()}, "
        f"Linux {platform.release()}, {os.cpu_count()} CPUs\n"
        f"           mininet {mn_version.strip()}, {ip_version.strip()}\n"
        f"load average at start: {Path('/proc/loadavg').read_text().strip()}"
    )

    had_run_netns = os.path.isdir("/run/netns")
    run_netns_mounted = had_run_netns and is_mount_point("/run/netns")
    before = Snapshot.take()
    cache_dir = tempfile.mkdtemp(prefix="pycoz-bench-pycache-")
    settle = KernelSettle()
    try:
        idle = [settle.wait() for _ in range(5)]
        print(
            f"kernel clean-up marker alone (idle): median {ms(statistics.median(idle))} ms "
            "(included in every '+ kernel clean-up' figure)"
        )
        env = child_env(cache_dir)
        sanity(settle)
        if args.skip_mininet:
            print("\n== 1. skipped (--skip-mininet)")
        else:
            section_mininet(args, settle, env)
        section_pair(args, settle, env)
        section_scaling(args, settle)
        section_cli(args, settle, env)
    finally:
        settle.close()
        shutil.rmtree(cache_dir, ignore_errors=True)

    notes = []
    # `ip netns add` (the anchor) makes /run/netns a shared bind mount of itself, as
    # iproute2 always does; undo that if this bench is what made it and it is empty.
    if not run_netns_mounted and is_mount_point("/run/netns") and not named_netns():
        subprocess.run(["umount", "/run/netns"], check=False)
        if not had_run_netns:
            os.rmdir("/run/netns")
        notes.append("/run/netns: the anchor's `ip netns add` mounted it; unmounted again")
    after = Snapshot.take()
    ours, others = before.diff(after)
    print(
        f"\nload average at end: {Path('/proc/loadavg').read_text().strip()}\n"
        f"leftovers of the whole run (root-namespace links, /run/netns, mount table, "
        f"child processes, open fds): {'none' if not ours else 'SOME'}"
    )
    for line in ours + notes:
        print("  " + line)
    if others:
        print("changes made meanwhile by something else on the machine (not by this bench):")
        for line in others:
            print("  " + line)


if __name__ == "__main__":
    main()
