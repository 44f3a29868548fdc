"""Benchmark ``pycoz ltrace`` side by side with ltrace 0.7.3, as ratios.

    .venv/bin/python bench/bench_ltrace.py [--rounds N] [--calls N]   (as root)
    .venv/bin/python bench/bench_ltrace.py --stress N   (attach/Ctrl-C N times)

The program is tests/system/ltrace_src/prog.c, built here (PLT calls, so that
ltrace sees them).  Every candidate and its anchor run in the same rounds,
interleaved, and the script prints medians and ratios; nothing asserts a time.

1. Per traced call (entry and return, printed): ``prog many N`` calls ``calc``
   N times.  (T(N) - T(0)) / N for ``pycoz ltrace -e calc`` and for ``ltrace -e
   calc``, output to a file.  Goal: ratio <= 0.8.
2. A traced function never called: ``prog others N`` calls atoi N times and never
   calc, timing its own loop (ns per call, printed); under ``pycoz ltrace -e
   calc`` against untraced.  Goal: ratio <= 1.05.
3. Start-up to the first traced call: ``pycoz ltrace -e calc -- prog calc`` (two
   calls) against ``python3 -c 'import click'``.  Goal: ratio <= 1.3.

--stress N: the looping 4-thread program, attached and detached (SIGINT) at
random moments N times; its results checked after every detach.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import child_env

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "tests" / "system" / "ltrace_src"
PYCOZ = str(Path(sys.executable).parent / "pycoz")


def build(out: Path) -> Path:
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-o", out / "libcalc.so", SRC / "calc.c"], check=True
    )
    exe = out / "prog"
    subprocess.run(
        ["gcc", "-O0", "-o", exe, SRC / "prog.c", f"-L{out}", "-lcalc", f"-Wl,-rpath,{out}",
         "-pthread"],
        check=True,
    )  # fmt: skip
    return exe


def timed(argv, out, env=None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=out, check=True, text=True, env=env)
    if proc.stdout.startswith("others "):  # the program's own figure: ns per call
        return float(proc.stdout.split()[2]) / 1e9
    return time.perf_counter() - start


def median_of(rounds, cases: dict, out, env=None) -> dict:
    times = {name: [] for name in cases}
    names = list(cases)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            with open(out, "w") as f:
                times[name].append(timed(cases[name], f, env))
    return {name: statistics.median(v) for name, v in times.items()}


def bench(rounds: int, calls: int) -> None:
    ltrace = shutil.which("ltrace")
    with tempfile.TemporaryDirectory() as tmp:
        exe = str(build(Path(tmp)))
        out = Path(tmp) / "trace.txt"
        cases = {
            "pycoz N": [PYCOZ, "ltrace", "-e", "calc", "--", exe, "many", str(calls)],
            "pycoz 0": [PYCOZ, "ltrace", "-e", "calc", "--", exe, "many", "0"],
            "others traced N": [
                PYCOZ,
                "ltrace",
                "-e",
                "calc",
                "--",
                exe,
                "others",
                str(calls * 1000),
            ],
            "others N": [exe, "others", str(calls * 1000)],
            "startup": [PYCOZ, "ltrace", "-e", "calc", "--", exe, "calc"],
            "import click": [sys.executable, "-c", "import click"],
        }
        if ltrace:
            cases["ltrace N"] = [ltrace, "-e", "calc", exe, "many", str(calls)]
            cases["ltrace 0"] = [ltrace, "-e", "calc", exe, "many", "0"]
        # Bytecode cached for pycoz as for click (benchlib.child_env).
        m = median_of(rounds, cases, out, child_env(str(Path(tmp) / "pycache")))
    print(f"rounds {rounds}, calls {calls}; medians (load from other work inflates them)")
    ours = (m["pycoz N"] - m["pycoz 0"]) / calls * 1e6
    print(f"1. per traced call: pycoz {ours:.1f} us", end="")
    if ltrace:
        theirs = (m["ltrace N"] - m["ltrace 0"]) / calls * 1e6
        print(f", ltrace {theirs:.1f} us, ratio {ours / theirs:.2f} (goal <= 0.8)")
    else:
        print(" (ltrace not installed)")
    traced = m["others traced N"] * 1e9
    plain = m["others N"] * 1e9
    print(
        f"2. other calls, traced function never called: {traced:.1f} ns vs untraced "
        f"{plain:.1f} ns per call, ratio {traced / plain:.2f} (goal <= 1.05)"
    )
    print(
        f"3. start-up to the first traced call: {m['startup'] * 1e3:.0f} ms vs import click "
        f"{m['import click'] * 1e3:.0f} ms, ratio {m['startup'] / m['import click']:.2f} "
        "(goal <= 1.3)"
    )


def stress(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        exe = build(Path(tmp))
        log = Path(tmp) / "out.txt"
        with open(log, "w") as f:
            prog = subprocess.Popen([exe, "loop", "4"], stdout=f)
        time.sleep(0.3)
        rng = random.Random()
        try:
            for i in range(count):
                tracer = subprocess.Popen(
                    [PYCOZ, "ltrace", "-q", "-p", str(prog.pid), "-e", "atoi+calc"],
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(rng.uniform(0, 0.6))
                tracer.send_signal(signal.SIGINT)
                tracer.wait(timeout=30)
                time.sleep(0.05)
                if prog.poll() is not None or "WRONG" in log.read_text():
                    print(f"FAILED after {i + 1} detaches: status {prog.returncode}")
                    sys.exit(1)
            print(f"stress: {count} attach/detach at random moments, the program ran on, right")
        finally:
            prog.kill()
            prog.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--stress", type=int, default=0)
    args = parser.parse_args()
    if os.uname().machine != "x86_64":
        sys.exit("x86_64 only")
    if args.stress:
        stress(args.stress)
    else:
        bench(args.rounds, args.calls)


if __name__ == "__main__":
    main()
