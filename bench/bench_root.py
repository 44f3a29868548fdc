"""Benchmark ``pycoz root`` side by side with its anchors, as ratios.

    .venv/bin/python bench/bench_root.py [--runs N] [--thousand N]   (as root)

One run measures every candidate and its anchors on the same machine, interleaved
round-robin (the order rotates each round), so machine noise hits them all alike;
it prints medians, p10/p90 and the ratios against the goals.  Nothing here
asserts a time: the numbers are for people (bench/README.md).

1. cli  ``pycoz root -- /bin/true`` against ``python -c 'import click'`` (this venv's
        python: the floor of any Click CLI).  Goal: ratio <= 1.3.
2. api  ``Container().run(["/bin/true"])`` from this (already running) process
        against (a) bench/anchor_unshare.sh, the same container built with
        util-linux, and (b) bwrap.  Goal: at or below bwrap (ratio <= 1.0).
   fence: the same cli and api runs with ``--privileged`` (``privileged=True``):
        the fence must not cost start-up.  Goal: fenced / privileged <= 1.05.
3. 1000 containers in a row from the API: open fds, RSS, the mount table, child
        processes and namespaces before and after; they must return to the start.

Section 3 takes a while and is for people only; CI and the tests never run it.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import child_env, mark_this_run, own_mount_namespace, own_processes, processes

HERE = Path(__file__).resolve().parent
ANCHOR_UNSHARE = HERE / "anchor_unshare.sh"
PYTHON = sys.executable
PYCOZ = str(Path(sys.prefix) / "bin" / "pycoz")

BWRAP_ISSUE = ["bwrap", "--unshare-all", "--dev", "/dev", "--proc", "/proc", "/bin/true"]
BWRAP = ["bwrap", "--unshare-all", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
# The namespaces pycoz root makes (pid, mount, UTS, IPC), no network/user/cgroup.
BWRAP_SAME_NS = [
    "bwrap",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--ro-bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
]

#: RSS growth over the thousand runs still called "back where it started".
RSS_TOLERANCE_KIB = 2048

# Run inside each container once before timing: the root is an overlay, and /proc
# belongs to a fresh pid namespace (only a handful of pids in it).
CHECK_OVERLAY = 'grep -q "^[0-9]* [0-9]* [^ ]* [^ ]* / .* - overlay " /proc/self/mountinfo'
CHECK_FRESH_PROC = 'set -- /proc/[0-9]*; [ "$#" -le 4 ]'


# --- measuring -----------------------------------------------------------------


@dataclass
class Candidate:
    key: str
    label: str
    run: Callable[[], None]
    times: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def quantiles(self) -> tuple[float, float]:
        if len(self.times) < 2:
            return self.times[0], self.times[0]
        q = statistics.quantiles(self.times, n=10, method="inclusive")
        return q[0], q[-1]


def command(argv: list[str], env: dict[str, str] | None, quiet: bool = False) -> Callable[[], None]:
    """Run ``argv`` from this process (subprocess, as any Python caller would)."""
    stdout = subprocess.DEVNULL if quiet else None

    def run() -> None:
        code = subprocess.run(
            argv, stdin=subprocess.DEVNULL, stdout=stdout, env=env, check=False
        ).returncode
        if code != 0:
            raise SystemExit(f"bench: {' '.join(argv)} exited with {code}")

    return run


def api_run(privileged: bool = False) -> None:
    from pycoz_cli.core.container import Container

    code = Container(privileged=privileged).run(["/bin/true"])
    if code != 0:
        raise SystemExit(f"bench: Container().run(['/bin/true']) returned {code}")


def api_run_privileged() -> None:
    api_run(privileged=True)


def measure(candidates: list[Candidate], rounds: int, warmup: int) -> None:
    """Time every candidate ``rounds`` times, round-robin, rotating the order."""
    for c in candidates:
        for _ in range(warmup):
            c.run()
    n = len(candidates)
    for r in range(rounds):
        for c in candidates[r % n :] + candidates[: r % n]:
            t0 = time.perf_counter()
            c.run()
            c.times.append(time.perf_counter() - t0)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


# --- the state that must not drift -----------------------------------------------


def fd_targets() -> dict[int, str]:
    out = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            out[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:  # the directory fd listdir itself used
            pass
    return out


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def mount_lines() -> list[str]:
    """This process's mount table: the host's (the bench runs in its namespace)."""
    with open("/proc/self/mountinfo") as f:
        return f.read().splitlines()


def children() -> set[str]:
    me = os.getpid()
    return {
        f"{pid} {comm} ({state})" for pid, (ppid, state, comm) in processes().items() if ppid == me
    }


#: This run's marker (benchlib.mark_this_run), set by main().
RUN = ""


def namespaces(kind: str) -> set[str]:
    """Every ``kind`` namespace one of this bench's live processes is in (its
    descendants and what carries its marker, not other people's work).

    Zombies are left out: bwrap's sandbox init outlives bwrap and is reaped late by
    pid 1, which would show up here as namespaces coming and going.
    """
    out = set()
    for pid in own_processes(RUN):
        try:
            out.add(os.readlink(f"/proc/{pid}/ns/{kind}"))
        except OSError:  # gone meanwhile
            pass
    return out


@dataclass
class Snapshot:
    fds: dict[int, str]
    rss_kib: int
    mounts: list[str]
    children: set[str]
    mnt_ns: set[str]
    pid_ns: set[str]

    @classmethod
    def take(cls) -> Snapshot:
        gc.collect()
        return cls(
            fd_targets(),
            rss_kib(),
            mount_lines(),
            children(),
            namespaces("mnt"),
            namespaces("pid"),
        )


# --- sections ------------------------------------------------------------------


def sanity(have_bwrap: bool, env: dict[str, str] | None) -> None:
    """Every candidate really does what it is compared for, once, before timing."""
    from pycoz_cli.core.container import Container

    both = f"{CHECK_OVERLAY} && {CHECK_FRESH_PROC}"
    checks = [
        ("pycoz root (CLI)", [PYCOZ, "root", "--", "/bin/sh", "-c", both]),
        ("anchor_unshare.sh", [str(ANCHOR_UNSHARE), "/bin/sh", "-c", both]),
    ]
    if have_bwrap:
        checks.append(("bwrap (fresh /proc only)", [*BWRAP, "/bin/sh", "-c", CHECK_FRESH_PROC]))
    for name, argv in checks:
        code = subprocess.run(argv, stdin=subprocess.DEVNULL, env=env, check=False).returncode
        if code != 0:
            raise SystemExit(f"bench: sanity check failed for {name}: exit {code}")
    if Container().run(["/bin/sh", "-c", both]) != 0:
        raise SystemExit("bench: sanity check failed for Container().run")
    if have_bwrap:
        literal = subprocess.run(
            BWRAP_ISSUE, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        note = (literal.stderr.strip() or f"exit {literal.returncode}").splitlines()[-1]
        print(
            "note: the issue's literal bwrap anchor, "
            f"`{' '.join(BWRAP_ISSUE)}`,\n"
            f"      {'works' if literal.returncode == 0 else 'fails'} here "
            f"({note}):\n"
            "      with no bind of / the new root is an empty tmpfs with no /bin/true in it.\n"
            "      The anchor used is the same command with `--ro-bind / /` added."
        )


def timings(
    args: argparse.Namespace, have_bwrap: bool, env: dict[str, str] | None
) -> dict[str, Candidate]:
    cands = [
        Candidate(
            "cli", "pycoz root -- /bin/true", command([PYCOZ, "root", "--", "/bin/true"], env)
        ),
        Candidate(
            "click", "python -c 'import click'", command([PYTHON, "-c", "import click"], env)
        ),
        Candidate(
            "cli_priv",
            "pycoz root --privileged -- /bin/true",
            command([PYCOZ, "root", "--privileged", "--", "/bin/true"], env),
        ),
        Candidate("version", "pycoz --version", command([PYCOZ, "--version"], env, quiet=True)),
        Candidate("api", "Container().run(['/bin/true'])", api_run),
        Candidate("api_priv", "Container(privileged=True).run(...)", api_run_privileged),
        Candidate("unshare", "bench/anchor_unshare.sh", command([str(ANCHOR_UNSHARE)], env)),
        Candidate("true", "subprocess.run(['/bin/true'])", command(["/bin/true"], env)),
    ]
    if have_bwrap:
        cands += [
            Candidate(
                "bwrap",
                "bwrap --unshare-all --ro-bind / / ...",
                command([*BWRAP, "/bin/true"], env),
            ),
            Candidate(
                "bwrap_ns",
                "bwrap, pycoz's namespaces only",
                command([*BWRAP_SAME_NS, "/bin/true"], env),
            ),
        ]
    measure(cands, args.runs, args.warmup)
    by_key = {c.key: c for c in cands}

    print(
        f"\n== timings: {args.runs} rounds of {len(cands)} candidates, interleaved "
        f"round-robin (order rotated each round), {args.warmup} warm-up runs each"
    )
    print(f"     {'candidate':<44} {'median':>8} {'p10':>8} {'p90':>8}   (ms)")
    groups = {
        "cli": ("cli", "cli_priv", "click", "version"),
        "api": ("api", "api_priv", "unshare", "bwrap", "bwrap_ns", "true"),
    }
    for group, keys in groups.items():
        for key in keys:
            if key in by_key:
                c = by_key[key]
                p10, p90 = c.quantiles()
                print(f"{group:<4} {c.label:<44} {ms(c.median):>8} {ms(p10):>8} {ms(p90):>8}")
    return by_key


def ratio_line(kind: str, cand: Candidate, anchor: Candidate, goal: float | None) -> str:
    r = cand.median / anchor.median
    if goal is None:
        verdict = "(reference, no goal)"
    else:
        verdict = f"(goal <= {goal}: {'met' if r <= goal else 'MISSED'})"
    return (
        f"{kind:<4} {cand.label:<32} median {ms(cand.median):>6} ms"
        f" | anchor {anchor.label:<38} {ms(anchor.median):>6} ms"
        f" | ratio {r:5.2f} {verdict}"
    )


def ratios(c: dict[str, Candidate]) -> None:
    print("\n== ratios (medians of this run)")
    print(ratio_line("cli", c["cli"], c["click"], 1.3))
    print(ratio_line("cli", c["version"], c["click"], None))
    print(ratio_line("cli", c["cli"], c["cli_priv"], 1.05))
    print(ratio_line("api", c["api"], c["api_priv"], 1.05))
    print(ratio_line("api", c["api"], c["unshare"], None))
    if "bwrap" in c:
        print(ratio_line("api", c["api"], c["bwrap"], 1.0))
        print(ratio_line("api", c["api"], c["bwrap_ns"], None))
    print(ratio_line("api", c["api"], c["true"], None))
    print(
        "note: the api anchors are started with subprocess.run from this process, so their\n"
        "      times include that spawn (see the subprocess.run(['/bin/true']) line); the\n"
        "      api candidate forks this process itself.  The cli lines are all spawned alike."
    )


def thousand(n: int) -> None:
    print(f"\n== {n} containers in a row: Container().run(['/bin/true'])")
    for _ in range(5):  # imports, caches: the baseline is a process that has run some
        api_run()
    before = Snapshot.take()
    times = []
    t_start = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        api_run()
        times.append(time.perf_counter() - t0)
    total = time.perf_counter() - t_start
    after = Snapshot.take()

    k = min(100, n)
    print(
        f"time       total {total:.1f} s | median {ms(statistics.median(times))} ms"
        f" | first {k} median {ms(statistics.median(times[:k]))} ms"
        f" | last {k} median {ms(statistics.median(times[-k:]))} ms"
        f" | max {ms(max(times))} ms"
    )
    rows = [
        ("open fds", len(before.fds), len(after.fds), before.fds == after.fds),
        (
            "VmRSS kB",
            before.rss_kib,
            after.rss_kib,
            after.rss_kib - before.rss_kib <= RSS_TOLERANCE_KIB,
        ),
        ("mount table lines", len(before.mounts), len(after.mounts), before.mounts == after.mounts),
        (
            "child processes",
            len(before.children),
            len(after.children),
            before.children == after.children,
        ),
        ("mount namespaces", len(before.mnt_ns), len(after.mnt_ns), after.mnt_ns <= before.mnt_ns),
        ("pid namespaces", len(before.pid_ns), len(after.pid_ns), after.pid_ns <= before.pid_ns),
    ]
    print(f"{'':<18} {'before':>10} {'after':>10}   back where it started?")
    for name, b, a, ok in rows:
        extra = ""
        if name == "VmRSS kB":
            extra = f" (growth {a - b:+d} kB, tolerance {RSS_TOLERANCE_KIB} kB)"
        print(f"{name:<18} {b:>10} {a:>10}   {'yes' if ok else 'NO'}{extra}")
    print(f"child processes before: {sorted(before.children) or 'none'}")
    print(f"child processes after:  {sorted(after.children) or 'none'}")
    if before.fds != after.fds:
        new = {fd: t for fd, t in after.fds.items() if before.fds.get(fd) != t}
        gone = {fd: t for fd, t in before.fds.items() if after.fds.get(fd) != t}
        print(f"fds opened and not closed: {new}; fds gone: {gone}")
    if before.mounts != after.mounts:
        added = [m for m in after.mounts if m not in before.mounts]
        removed = [m for m in before.mounts if m not in after.mounts]
        print(f"mounts added: {added[:10]}{' ...' if len(added) > 10 else ''}")
        print(f"mounts removed: {removed[:10]}{' ...' if len(removed) > 10 else ''}")
    for kind, b, a in (("mnt", before.mnt_ns, after.mnt_ns), ("pid", before.pid_ns, after.pid_ns)):
        if a - b:
            print(f"{kind} namespaces new after the run: {sorted(a - b)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="timed rounds (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs each (default 3)")
    parser.add_argument(
        "--thousand",
        type=int,
        default=1000,
        metavar="N",
        help="containers in a row for the leak check (default 1000; 0 skips it)",
    )
    parser.add_argument(
        "--env-as-is",
        action="store_true",
        help="start the CLI commands with this environment unchanged (by default "
        "PYTHONDONTWRITEBYTECODE is dropped and bytecode goes to a temporary cache)",
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root (namespaces and mounts need CAP_SYS_ADMIN)")
    if not os.access(PYCOZ, os.X_OK):
        raise SystemExit(f"bench: {PYCOZ} not found: run with the venv's python")
    global RUN
    RUN = mark_this_run()
    # The leak checks compare this bench's mount table and processes, which other
    # people's work on the machine must not change.
    own_mount_namespace()
    have_bwrap = shutil.which("bwrap") is not None

    import pycoz_cli

    print(
        f"bench_root: pycoz {pycoz_cli.__version__}, Python {platform.python_version()}, "
        f"Linux {platform.release()}, {os.cpu_count()} CPUs"
    )
    if not have_bwrap:
        print("note: bwrap not found: its anchors are left out")

    cache_dir = tempfile.mkdtemp(prefix="pycoz-bench-pycache-")
    try:
        env = child_env(cache_dir, args.env_as_is)
        if env is None:
            dont = os.environ.get("PYTHONDONTWRITEBYTECODE")
            print(f"note: environment as is (PYTHONDONTWRITEBYTECODE={dont or 'unset'})")
        else:
            print(
                "note: Python children cache bytecode in a temporary PYTHONPYCACHEPREFIX"
                + (
                    " (PYTHONDONTWRITEBYTECODE was set here, and dropped for them)"
                    if "PYTHONDONTWRITEBYTECODE" in os.environ
                    else ""
                )
            )
        before = Snapshot.take()
        sanity(have_bwrap, env)
        cands = timings(args, have_bwrap, env)
        ratios(cands)
        after = Snapshot.take()
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    same = before.mounts == after.mounts and before.children == after.children
    print(
        f"\nleftovers of the timed section: mount table {len(before.mounts)} -> "
        f"{len(after.mounts)} lines, child processes {len(before.children)} -> "
        f"{len(after.children)}: {'none' if same else 'SOME'}"
    )
    if args.thousand > 0:
        thousand(args.thousand)


if __name__ == "__main__":
    main()
