"""Benchmark ``pycoz trace`` side by side with strace, as ratios.

    .venv/bin/python bench/bench_trace.py [--rounds N] [--long-rounds N]   (as root)

The workload is the issue's ``dd if=/dev/zero of=/dev/null bs=1 count=100000``:
about 200,000 syscalls (a read and a write per byte).  One run measures every
candidate and its anchors on the same machine, interleaved round-robin (the order
rotates each round), so machine noise hits them all alike; it prints medians,
p10/p90 and the ratios against the goals.  Nothing here asserts a time: the
numbers are for people (bench/README.md).

1. Filtered: ``pycoz trace -f -e trace=%network -o /dev/null -- dd ...`` against
   the untraced ``dd``.  Goal: ratio <= 1.3.  For reference, ``strace -f
   --seccomp-bpf -e trace=%network -o /dev/null dd ...`` against the same.
2. Everything traced: ``pycoz trace -f -o FILE -- dd ...`` against ``strace -f -o
   FILE dd ...``.  Goal: ratio <= 2.0.  For reference, both with ``-o /dev/null``.
   These take seconds each, so they get few rounds (``--long-rounds``).
3. Start-up: ``pycoz trace -e trace=none -- /bin/true`` against ``strace -e
   trace=none /bin/true``, for reference; and ``python -c pass``, the least any
   Python program costs before it does anything.

Section 1 also runs the filtered candidates and dd on ten times the bytes: the
difference between the two lengths is what each of
the extra 1,800,000 calls costs, start-up set aside, and the ratio of those
differences is the prefilter's own price per call.

Sections 1 and 3 are timed together, in the same rounds; section 2 after them.
The trace files go to a temporary directory and are deleted after every run.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import Timed, child_env, processes

PYTHON = sys.executable
PYCOZ = str(Path(sys.prefix) / "bin" / "pycoz")

COUNT = 100_000
#: Where the trace of the "everything traced" candidates goes, in the scratch
#: directory; "/dev/null" is used as it is.
DEV_NULL = "/dev/null"

#: The goals of the issue.
GOAL_FILTERED = 1.3
GOAL_FULL = 2.0

#: A run still going after this long (seconds) is killed and reported as FAILED.
TIMEOUT = 300.0

#: A small program that makes one network call (and many others): the filtered
#: candidates must show that call and nothing else.
NET_PROBE = "import socket; socket.socket(socket.AF_UNIX).close()"

EDITABLE = "editable installs in site-packages: every Python start pays their finders"

#: Programs this bench starts; a new live one after the run is a leftover.
WATCHED_COMMS = {"dd", "strace", "pycoz", "true"}


# --- measuring -----------------------------------------------------------------


@dataclass
class Candidate(Timed):
    key: str
    kind: str  # "pycoz", "strace", "none" (untraced), "py"
    label: str
    argv: list[str]
    rounds: int
    #: A trace file the command writes: its lines and size are recorded after
    #: every run (untimed), then it is deleted.
    output: Path | None = None
    times: list[float] = field(default_factory=list)
    #: user + system CPU time of the command and its children (os.wait4).
    cpu: list[float] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    #: Why this candidate was stopped (it is not run again).
    failed: str | None = None


class RunFailed(Exception):
    pass


def run_once(argv: list[str], env: dict[str, str], scratch: Path) -> tuple[float, float, str]:
    """Run ``argv``: (wall time, CPU time of it and its children, its stdout+stderr).

    The output goes to a file, not a pipe, so that nothing has to read it while the
    command runs, and os.wait4 reaps the command for its rusage.
    """
    with open(scratch / "output-of-the-command", "w+b") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env)
        reaped = threading.Event()
        watchdog = threading.Timer(TIMEOUT, lambda: reaped.is_set() or proc.kill())
        watchdog.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        reaped.set()
        watchdog.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    if proc.returncode != 0:
        tail = text.strip().splitlines()[-8:] or ["no output"]
        how = (
            f"killed by signal {-proc.returncode}"
            + (f" (the bench's own, after {TIMEOUT:.0f} s)" if wall >= TIMEOUT else "")
            if proc.returncode < 0
            else f"exited with {proc.returncode}"
        )
        raise RunFailed(
            f"`{' '.join(argv)}` {how}; the end of its output:\n       " + "\n       ".join(tail)
        )
    return wall, usage.ru_utime + usage.ru_stime, text


def count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            n += chunk.count(b"\n")
    return n


def attempt(c: Candidate, env: dict[str, str], scratch: Path) -> tuple[float, float] | None:
    """Run ``c`` once; record a failure in ``c.failed``; count and delete its trace."""
    if c.failed is not None:
        return None
    try:
        wall, cpu, _ = run_once(c.argv, env, scratch)
        if c.output is not None:
            c.lines.append(count_lines(c.output))
            c.sizes.append(c.output.stat().st_size)
    except (RunFailed, OSError) as err:
        c.failed = str(err)
        return None
    finally:
        if c.output is not None and c.output.exists():
            c.output.unlink()
            # Write back the journal (and the discards of the freed blocks) now,
            # untimed, rather than during the next candidate's run.
            os.sync()
    return wall, cpu


def cpu_jiffies() -> tuple[int, int]:
    """(all CPU time, stolen CPU time) of the machine so far, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is in user already)
    return sum(fields[:8]), fields[7]


def slots(rounds: int, total: int) -> set[int]:
    """``rounds`` round numbers spread evenly over ``total`` rounds."""
    return {i * total // rounds for i in range(rounds)}


def measure(cands: list[Candidate], warmup: int, env: dict[str, str], scratch: Path) -> float:
    """Interleave the candidates; each runs in ``c.rounds`` of the rounds.

    Returns the share of the machine's CPU time the hypervisor stole meanwhile
    (in %): a high figure means the host was busy and the times are noisy.
    """
    for c in cands:
        for _ in range(warmup):
            attempt(c, env, scratch)
    # The warm-up's trace files say nothing about the timed runs.
    for c in cands:
        c.lines.clear()
        c.sizes.clear()
    all0, steal0 = cpu_jiffies()
    total = max(c.rounds for c in cands)
    plan = [slots(c.rounds, total) for c in cands]
    n = len(cands)
    for r in range(total):
        for i in [*range(r % n, n), *range(r % n)]:
            if r in plan[i]:
                timed = attempt(cands[i], env, scratch)
                if timed is not None:
                    cands[i].times.append(timed[0])
                    cands[i].cpu.append(timed[1])
    all1, steal1 = cpu_jiffies()
    return 100 * (steal1 - steal0) / max(1, all1 - all0)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def untimed(n: int) -> str:
    return f"{n} untimed run{'s' if n != 1 else ''}"


def table(title: str, cands: list[Candidate], steal: float) -> None:
    print(title)
    print(f"CPU time stolen by the hypervisor while timing: {steal:.1f}%")
    files = any(c.output is not None for c in cands)
    extra = f" {'trace lines':>12} {'trace MB':>9}" if files else ""
    print(
        f"{'':<7}{'candidate':<57} {'runs':>4} {'median':>8} {'p10':>8} {'p90':>8}"
        f" | {'cpu median':>10}{extra}   (ms)"
    )
    for c in cands:
        head = f"{c.kind:<6} {c.label:<57} {len(c.times):>4}"
        if c.times:
            m, p10, p90 = Candidate.stats(c.times)
            head += f" {ms(m):>8} {ms(p10):>8} {ms(p90):>8} | {ms(statistics.median(c.cpu)):>10}"
            if c.lines:
                head += (
                    f" {statistics.median(c.lines):>12.0f} {statistics.median(c.sizes) / 1e6:>9.2f}"
                )
        print(head)
        if c.failed is not None:
            print(f"       FAILED: {c.failed}")


def ratio_line(cand: Candidate, anchor: Candidate, goal: float | None) -> str:
    what = f"ratio {cand.label}\n    / {anchor.label}\n      "
    if not (cand.ok and anchor.ok):
        failed = " and ".join(c.label for c in (cand, anchor) if not c.ok)
        return what + f"no ratio: {failed} failed (see above)"
    r = cand.median / anchor.median
    if goal is None:
        verdict = "(reference, no goal)"
    else:
        verdict = f"(goal <= {goal}: {'met' if r <= goal else 'MISSED'})"
    return what + f"{ms(cand.median)} ms / {ms(anchor.median)} ms = {r:.2f} {verdict}"


# --- what must not be left behind --------------------------------------------------


@dataclass
class Snapshot:
    children: set[str]
    #: Live processes running a program this bench starts, anywhere on the machine.
    watched: set[str]
    fds: set[str]

    @classmethod
    def take(cls) -> Snapshot:
        procs = processes()
        me = os.getpid()
        fds = set()
        for name in os.listdir("/proc/self/fd"):
            try:
                fds.add(f"{name} -> {os.readlink(f'/proc/self/fd/{name}')}")
            except OSError:  # the directory fd listdir itself used
                pass
        return cls(
            {f"{p} {comm} ({st})" for p, (pp, st, comm) in procs.items() if pp == me},
            {f"{p} {comm} ({st})" for p, (_, st, comm) in procs.items() if comm in WATCHED_COMMS},
            fds,
        )


# --- sections ------------------------------------------------------------------


def dd_argv(count: int = COUNT) -> list[str]:
    dd = shutil.which("dd") or "dd"
    return [dd, "if=/dev/zero", "of=/dev/null", "bs=1", f"count={count}"]


def pycoz(*args: str) -> list[str]:
    return [PYCOZ, "trace", *args]


def sanity(env: dict[str, str], scratch: Path, cands: dict[str, Candidate]) -> None:
    """The filtered tracers really trace the network calls, and only those.

    A tracer whose filter let every call through unseen would be timed for nothing.
    A check that fails marks the candidate FAILED; it is not timed.
    """
    trace = scratch / "sanity.txt"
    probe = [PYTHON, "-S", "-c", NET_PROBE]
    tracers: dict[str, Callable[[list[str]], list[str]]] = {
        "pycoz_filtered": lambda cmd: [
            *pycoz("-f", "-e", "trace=%network", "-o", str(trace), "--"),
            *cmd,
        ],
        "strace_filtered": lambda cmd: [
            *["strace", "-f", "--seccomp-bpf", "-e", "trace=%network", "-o", str(trace)],
            *cmd,
        ],
    }
    print("\n== sanity: the filtered tracers see the network call and nothing else")
    for key, traced in tracers.items():
        c = cands[key]
        for what, argv in (("python socket()", probe), ("dd", dd_argv())):
            try:
                _, _, out = run_once(traced(argv), env, scratch)
                lines = trace.read_text(errors="replace").splitlines()
            except (RunFailed, OSError) as err:
                c.failed = f"sanity run on {what}: {err}"
                break
            finally:
                trace.unlink(missing_ok=True)
            # strace -f -o prefixes every line with the pid, padded to 5 columns.
            bodies = [ln.split(None, 1)[1] if ln[:1].isdigit() else ln for ln in lines]
            calls = [b for b in bodies if not b.startswith(("+++", "---"))]
            want = ["socket("] if what != "dd" else []
            got = [b.split("(", 1)[0] + "(" for b in calls]
            verdict = "ok" if got == want else "WRONG"
            print(f"{c.kind:<6} {what:<16} {len(lines)} lines, calls {got or 'none'}: {verdict}")
            if got != want:
                c.failed = (
                    f"sanity: on {what} the trace has calls {got}, expected {want}: {lines[:5]}"
                )
                break
            if what == "dd" and f"{COUNT}+0 records out" not in out:
                c.failed = f"sanity: dd did not copy {COUNT} bytes: {out.strip()!r}"
                break


def section_short(
    args: argparse.Namespace, env: dict[str, str], scratch: Path
) -> dict[str, Candidate]:
    dd = dd_argv()
    r = args.rounds
    cands = [
        Candidate(
            "pycoz_filtered",
            "pycoz",
            "pycoz trace -f -e trace=%network -o /dev/null -- dd",
            pycoz("-f", "-e", "trace=%network", "-o", DEV_NULL, "--", *dd),
            r,
        ),
        Candidate(
            "strace_filtered",
            "strace",
            "strace -f --seccomp-bpf -e trace=%network -o /dev/null dd",
            ["strace", "-f", "--seccomp-bpf", "-e", "trace=%network", "-o", DEV_NULL, *dd],
            r,
        ),
        Candidate("dd", "none", "dd (untraced)", dd, r),
        Candidate(
            "pycoz_start",
            "pycoz",
            "pycoz trace -e trace=none -- /bin/true",
            pycoz("-e", "trace=none", "--", "/bin/true"),
            r,
        ),
        Candidate(
            "strace_start",
            "strace",
            "strace -e trace=none /bin/true",
            ["strace", "-e", "trace=none", "/bin/true"],
            r,
        ),
        Candidate("click", "py", "python -c 'import click'", [PYTHON, "-c", "import click"], r),
        Candidate("python", "py", "python -c pass", [PYTHON, "-c", "pass"], r),
        Candidate(
            "pycoz_filtered_long",
            "pycoz",
            "pycoz trace -f -e trace=%network -o /dev/null -- dd (x10)",
            pycoz("-f", "-e", "trace=%network", "-o", DEV_NULL, "--", *dd_argv(10 * COUNT)),
            r,
        ),
        Candidate(
            "strace_filtered_long",
            "strace",
            "strace -f --seccomp-bpf -e trace=%network -o /dev/null dd (x10)",
            [
                *["strace", "-f", "--seccomp-bpf", "-e", "trace=%network", "-o", DEV_NULL],
                *dd_argv(10 * COUNT),
            ],
            r,
        ),
        Candidate("dd_long", "none", "dd (untraced, x10)", dd_argv(10 * COUNT), r),
    ]
    by_key = {c.key: c for c in cands}
    sanity(env, scratch, by_key)
    steal = measure(cands, args.warmup, env, scratch)
    table(
        f"\n== 1 and 3: {r} rounds of {len(cands)} candidates, interleaved round-robin "
        f"(order rotated each round), {untimed(args.warmup)} each first",
        cands,
        steal,
    )
    return by_key


def report_short(c: dict[str, Candidate]) -> None:
    print(f"\n== 1. filtered: -e trace=%network on dd, {COUNT} bytes one at a time")
    print(ratio_line(c["pycoz_filtered"], c["dd"], GOAL_FILTERED))
    print(ratio_line(c["strace_filtered"], c["dd"], None))
    print(ratio_line(c["pycoz_filtered"], c["strace_filtered"], None))
    if all(c[k].ok for k in ("pycoz_filtered", "dd", "pycoz_start", "strace_start")):
        over = c["pycoz_filtered"].median - c["dd"].median
        start = c["pycoz_start"].median - c["strace_start"].median
        print(
            f"note: pycoz's filtered run takes {ms(over)} ms more than dd alone; its start-up\n"
            f"      (section 3) takes {ms(start)} ms more than strace's, and the goal allows\n"
            f"      {ms((GOAL_FILTERED - 1) * c['dd'].median)} ms in all on this workload."
        )
    if all(c[k].ok for k in ("python", "dd")):
        floor = (c["python"].median + c["dd"].median) / c["dd"].median
        print(
            f"floor: `python -c pass` alone takes {ms(c['python'].median)} ms here, so no Python\n"
            f"      program that runs dd can score below {floor:.2f} on this workload."
        )
    longs = ("pycoz_filtered_long", "strace_filtered_long", "dd_long")
    if all(c[k].ok for k in (*longs, "pycoz_filtered", "strace_filtered", "dd")):
        extra = 18 * COUNT  # 2 calls a byte, 9 * COUNT more bytes
        per = {
            k: (c[k + "_long"].median - c[k].median) / extra * 1e9
            for k in ("pycoz_filtered", "strace_filtered", "dd")
        }
        print(
            f"per call, start-up set aside (the x10 run minus the x1 run, over {extra} calls):\n"
            f"      dd {per['dd']:.0f} ns, strace --seccomp-bpf {per['strace_filtered']:.0f} ns, "
            f"pycoz {per['pycoz_filtered']:.0f} ns\n"
            f"      ratio pycoz / untraced {per['pycoz_filtered'] / per['dd']:.2f} "
            f"(the goal's {GOAL_FILTERED}, per call), "
            f"strace / untraced {per['strace_filtered'] / per['dd']:.2f}"
        )

    print("\n== 3. start-up (reference)")
    print(ratio_line(c["pycoz_start"], c["strace_start"], None))
    print(ratio_line(c["pycoz_start"], c["click"], None))
    print(ratio_line(c["pycoz_start"], c["python"], None))


def section_full(args: argparse.Namespace, env: dict[str, str], scratch: Path) -> list[Candidate]:
    dd = dd_argv()
    r = args.long_rounds
    p_file, s_file = scratch / "pycoz.trace", scratch / "strace.trace"
    cands = [
        Candidate(
            "pycoz_file",
            "pycoz",
            "pycoz trace -f -o FILE -- dd",
            pycoz("-f", "-o", str(p_file), "--", *dd),
            r,
            output=p_file,
        ),
        Candidate(
            "strace_file",
            "strace",
            "strace -f -o FILE dd",
            ["strace", "-f", "-o", str(s_file), *dd],
            r,
            output=s_file,
        ),
        Candidate(
            "pycoz_null",
            "pycoz",
            "pycoz trace -f -o /dev/null -- dd",
            pycoz("-f", "-o", DEV_NULL, "--", *dd),
            r,
        ),
        Candidate(
            "strace_null",
            "strace",
            "strace -f -o /dev/null dd",
            ["strace", "-f", "-o", DEV_NULL, *dd],
            r,
        ),
    ]
    steal = measure(cands, args.long_warmup, env, scratch)
    table(
        f"\n== 2. everything traced: {r} rounds of {len(cands)} candidates, interleaved "
        f"round-robin, {untimed(args.long_warmup)} each first; FILE is in {scratch}",
        cands,
        steal,
    )
    return cands


def report_full(cands: list[Candidate], dd: Candidate) -> None:
    p_file, s_file, p_null, s_null = cands
    print()
    print(ratio_line(p_file, s_file, GOAL_FULL))
    print(ratio_line(p_null, s_null, None))
    print(ratio_line(p_file, p_null, None))
    print(ratio_line(s_file, s_null, None))
    if p_file.lines and s_file.lines:
        pl, sl = statistics.median(p_file.lines), statistics.median(s_file.lines)
        same = "the same" if pl == sl else "DIFFERENT"
        print(f"trace lines: pycoz {pl:.0f}, strace {sl:.0f}: {same} count")
        if dd.ok:
            calls = sl - 1  # one line per call, and the exit line
            print(
                "per traced call, over untraced dd (section 1's median): "
                + ", ".join(
                    f"{c.kind} -o {'FILE' if c.output else DEV_NULL}"
                    f" {(c.median - dd.median) / calls * 1e6:.1f} us"
                    for c in cands
                    if c.ok
                )
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rounds", type=int, default=20, help="timed rounds of sections 1 and 3 (default 20)"
    )
    parser.add_argument(
        "--long-rounds",
        type=int,
        default=3,
        help="timed rounds of section 2, everything traced (default 3; seconds each)",
    )
    parser.add_argument(
        "--warmup", type=int, default=2, help="untimed runs each in sections 1 and 3 (default 2)"
    )
    parser.add_argument(
        "--long-warmup",
        type=int,
        default=0,
        help="untimed runs each in section 2 (default 0: sections 1 and 3 ran the same "
        "programs already)",
    )
    parser.add_argument("--skip-full", action="store_true", help="leave section 2 out")
    parser.add_argument(
        "--venv",
        metavar="DIR",
        help="time the pycoz and python of another virtual environment (say, one with a "
        "regular, not editable, install of pycoz); default: this python's",
    )
    parser.add_argument(
        "--cpu",
        type=int,
        metavar="N",
        help="run the bench, and so every command, on CPU N only (default: on any CPU, "
        "as a user runs them)",
    )
    args = parser.parse_args()
    if min(args.rounds, args.long_rounds) < 1:
        parser.error("every round count must be at least 1")
    if min(args.warmup, args.long_warmup) < 0:
        parser.error("warm-up counts cannot be negative")
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root (as the tests and the other benches are)")
    global PYCOZ, PYTHON
    if args.venv is not None:
        PYCOZ = str(Path(args.venv) / "bin" / "pycoz")
        PYTHON = str(Path(args.venv) / "bin" / "python")
    if not os.access(PYCOZ, os.X_OK):
        raise SystemExit(f"bench: {PYCOZ} not found: run with the venv's python")
    if shutil.which("strace") is None:
        raise SystemExit("bench: strace not found: it is the anchor")

    if args.cpu is not None:
        try:
            os.sched_setaffinity(0, {args.cpu})
        except OSError as err:
            parser.error(f"--cpu {args.cpu}: {err}")

    import pycoz_cli

    strace_version = subprocess.run(["strace", "-V"], capture_output=True, text=True).stdout
    where = subprocess.run(
        [PYTHON, "-c", "import pycoz_cli, site; print(pycoz_cli.__file__); "
         "print(any('__editable__' in f for d in site.getsitepackages() "
         "for f in __import__('os').listdir(d)))"],
        capture_output=True, text=True, cwd="/",
    ).stdout.split()  # fmt: skip
    editable = len(where) == 2 and where[1] == "True"
    print(
        f"bench_trace: pycoz {pycoz_cli.__version__}, Python {platform.python_version()}, "
        f"Linux {platform.release()}, {os.cpu_count()} CPUs\n"
        f"             {strace_version.splitlines()[0].strip()}\n"
        f"timed: {PYCOZ} and {PYTHON}\n"
        f"       (pycoz_cli from {where[0] if where else '?'}; "
        f"{EDITABLE if editable else 'no editable install'})\n"
        f"workload: {' '.join(dd_argv())}\n"
        f"CPUs every command may run on: {sorted(os.sched_getaffinity(0))}"
        f"{' (--cpu)' if args.cpu is not None else ''}\n"
        f"load average at start: {Path('/proc/loadavg').read_text().strip()}"
    )

    before = Snapshot.take()
    scratch = Path(tempfile.mkdtemp(prefix="pycoz-bench-trace-"))
    try:
        env = child_env(str(scratch / "pycache"))
        short = section_short(args, env, scratch)
        report_short(short)
        if args.skip_full:
            print("\n== 2. skipped (--skip-full)")
        else:
            report_full(section_full(args, env, scratch), short["dd"])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    after = Snapshot.take()

    left = []
    if scratch.exists():
        left.append(f"{scratch} still exists")
    if after.children - before.children:
        left.append(f"child processes: {sorted(after.children - before.children)}")
    if after.watched - before.watched:
        left.append(
            f"new processes running {sorted(WATCHED_COMMS)}: "
            f"{sorted(after.watched - before.watched)}"
        )
    if after.fds - before.fds:
        left.append(f"open fds: {sorted(after.fds - before.fds)}")
    print(
        f"\nload average at end: {Path('/proc/loadavg').read_text().strip()}\n"
        "leftovers (the scratch directory, child processes, processes of the commands "
        f"run, open fds): {'none' if not left else 'SOME'}"
    )
    for line in left:
        print("  " + line)


if __name__ == "__main__":
    main()
