"""Benchmark ``pycoz trace -k`` against ``strace -k``: the price of a stack per call.

    .venv/bin/python bench/bench_trace_stack.py [--rounds N] [--calls N]   (as root)

The workload is a small C program (built here with gcc, -O2, no frame pointers)
that makes N ``getppid`` calls, each five function calls deep, through libc.  Each
candidate traces ``-f -e trace=getppid -o /dev/null`` with and without ``-k``;
every candidate runs at two lengths (N and 6N calls), interleaved round-robin so
machine noise hits them all alike.  The difference between the two lengths, over
the 5N extra calls, is what one traced call costs, start-up set aside.  Printed:
medians of the per-call cost (µs), p10/p90, and the ratios pycoz / strace.
Nothing here asserts a time: the figures are for people (bench/README.md).

A second section times pycoz's own work per stack, in this process, in CPU
time (best of five rounds of 1,000: less sensitive to a loaded machine than
wall time): reading the registers, reading /proc/PID/maps, and the whole
``Unwinder.stack`` of the same stop, caches warm.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import stats

PYCOZ = str(Path(sys.prefix) / "bin" / "pycoz")

PROGRAM = r"""
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
static __attribute__((noinline)) void f1(void) { getppid(); __asm__ volatile("" ::: "memory"); }
static __attribute__((noinline)) void f2(void) { f1(); __asm__ volatile("" ::: "memory"); }
static __attribute__((noinline)) void f3(void) { f2(); __asm__ volatile("" ::: "memory"); }
static __attribute__((noinline)) void f4(void) { f3(); __asm__ volatile("" ::: "memory"); }
int main(int argc, char **argv) {
    long n = atol(argv[1]);
    for (long i = 0; i < n; i++) f4();
    return 0;
}
"""


def build(tmp: Path) -> str:
    src = tmp / "calls.c"
    src.write_text(PROGRAM)
    out = tmp / "calls"
    subprocess.run(["gcc", "-O2", "-fomit-frame-pointer", "-o", out, src], check=True)
    return str(out)


def candidates(program: str) -> dict[str, list[str]]:
    expr = ["-f", "-e", "trace=getppid", "-o", "/dev/null"]
    return {
        "untraced": [program],
        "strace": [shutil.which("strace") or "strace", *expr, program],
        "strace -k": [shutil.which("strace") or "strace", "-k", *expr, program],
        "pycoz trace": [PYCOZ, "trace", *expr, "--", program],
        "pycoz trace -k": [PYCOZ, "trace", "-k", *expr, "--", program],
    }


def run(argv: list[str], calls: int) -> float:
    start = time.perf_counter()
    subprocess.run([*argv, str(calls)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def cpu_per_stack(program: str) -> dict[str, float]:
    """µs of CPU for the parts of one stack, at the workload's first getppid."""
    from pycoz_cli.core.trace import filters, output, session, unwind

    results: dict[str, float] = {}

    class Probe(output.StraceText):
        def syscall(self, pid, nr, args, retval, is_error, t0, t1, inj, mem, stack=None):
            if results:
                return None
            u = unwind.Unwinder()
            regs = unwind.registers(pid)
            results["frames"] = len(u.stack(pid, regs, mem))
            parts = {
                "registers": lambda: unwind.registers(pid),
                "maps": lambda: unwind._read_maps(pid),
                "stack": lambda: u.stack(pid, regs, mem),
            }
            for what, fn in parts.items():
                best = float("inf")
                for _ in range(5):
                    t = time.process_time()
                    for _ in range(1000):
                        fn()
                    best = min(best, (time.process_time() - t) / 1000 * 1e6)
                results[what] = best
            u.close()
            return None

    with open(os.devnull, "w") as null:
        parsed = filters.parse(["trace=getppid"])
        session.trace_command([program, "3"], session.options_from(parsed), Probe(null))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=1000, help="N (the long run makes 6N)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_trace_stack: run as root (strace and pycoz trace the workload)")
        return 1
    short, long = args.calls, 6 * args.calls
    with tempfile.TemporaryDirectory(prefix="pycoz-bench-stack-") as tmp:
        program = build(Path(tmp))
        cpu = cpu_per_stack(program)
        cands = candidates(program)
        per_call: dict[str, list[float]] = {name: [] for name in cands}
        names = list(cands)
        for r in range(args.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                t_short = run(cands[name], short)
                t_long = run(cands[name], long)
                per_call[name].append((t_long - t_short) / (long - short) * 1e6)
    print(f"per traced getppid call, 5 frames deep ({args.rounds} rounds, {long - short} calls)")
    print(f"{'candidate':<16} {'median µs':>10} {'p10':>8} {'p90':>8}")
    med = {}
    for name in names:
        m, lo, hi = stats(per_call[name])
        med[name] = m
        print(f"{name:<16} {m:10.1f} {lo:8.1f} {hi:8.1f}")
    base = med["untraced"]
    print()
    for ours, theirs in (("pycoz trace -k", "strace -k"), ("pycoz trace", "strace")):
        a, b = med[ours] - base, med[theirs] - base
        print(f"{ours} / {theirs} (untraced cost removed): {a:.1f} / {b:.1f} µs = {a / b:.2f}")
    a = med["pycoz trace -k"] - med["pycoz trace"]
    b = med["strace -k"] - med["strace"]
    print(f"price of -k alone: pycoz {a:.1f} µs, strace {b:.1f} µs, ratio {a / b:.2f}")
    print()
    print(f"pycoz's CPU per stack of {cpu['frames']} frames (best of 5 x 1000, this process):")
    for what in ("registers", "maps", "stack"):
        print(f"  {what:<10} {cpu[what]:6.1f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
