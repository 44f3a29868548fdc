"""Benchmark tab completion: a bash TAB on ``pycoz net run <TAB>``, as a ratio.

    .venv/bin/python bench/bench_complete.py [--runs N] [--warmup N] [--hyperfine]

Every TAB runs pycoz once, so a TAB costs a Python start-up plus what the
candidate needs.  One run measures every candidate and the anchor on the same
machine, interleaved round-robin (the order rotates each round), so machine noise
hits them all alike; it prints medians, p10/p90 and the ratios.  Nothing here
asserts a time: the numbers are for people (bench/README.md).

1. ``pycoz net run <TAB>`` in bash: ``bash --norc`` sources completions/pycoz.bash
   and calls its completion function with COMP_LINE/COMP_POINT set as readline
   sets them, so the whole script runs (pycoz answers with the topology names,
   built-ins and plugins'), against ``python -c 'import click'`` (this venv's
   python: the floor of any Click CLI).  Goal: ratio <= 1.5.
2. For reference, the same bash run for ``pycoz root --<TAB>`` (options only),
   ``pycoz trace -e trace=open<TAB>`` (the syscall table), and the answer alone
   (``_PYCOZ_COMPLETE=bash_complete pycoz``, no bash) for ``net run``.

``--hyperfine`` also times section 1 with hyperfine (not interleaved), as a
cross-check.  As in bench_root.py, PYTHONDONTWRITEBYTECODE is dropped and Python
children cache their bytecode in a temporary PYTHONPYCACHEPREFIX, as an
installed pycoz would have its .pyc files.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import stats

HERE = Path(__file__).resolve().parent
SCRIPT = HERE.parent / "completions" / "pycoz.bash"
PYTHON = sys.executable
BIN = str(Path(sys.prefix) / "bin")
GOAL = 1.5


def bash_tab(line: str) -> list[str]:
    """bash running the completion script for LINE, printing COMPREPLY one per line."""
    code = (
        f". {SCRIPT}\n"
        "COMP_LINE=$1; COMP_POINT=${#1}; _pycoz_completion pycoz 2>/dev/null\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    return ["bash", "--norc", "--noprofile", "-c", code, "bash", line]


CANDIDATES = {
    "tab_net_run": ("bash TAB: pycoz net run <TAB>", bash_tab("pycoz net run ")),
    "click": ("python -c 'import click'", [PYTHON, "-c", "import click"]),
    "tab_root": ("bash TAB: pycoz root --<TAB>", bash_tab("pycoz root --")),
    "tab_trace": (
        "bash TAB: pycoz trace -e trace=open<TAB>",
        bash_tab("pycoz trace -e trace=open"),
    ),
    "answer": ("answer only: pycoz net run <TAB>", [f"{BIN}/pycoz"]),
}
#: Extra environment of each candidate.
EXTRA_ENV = {"answer": {"COMP_LINE": "pycoz net run ", "_PYCOZ_COMPLETE": "bash_complete"}}


def environment(cache_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = cache_dir
    env["PATH"] = f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


def run_once(key: str, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(
        CANDIDATES[key][1],
        env={**env, **EXTRA_ENV.get(key, {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - start, out.stdout


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f}"


def ratio_line(times: dict[str, list[float]], key: str, anchor: str, goal=None) -> str:
    ratio = stats(times[key])[0] / stats(times[anchor])[0]
    verdict = "" if goal is None else f"  (goal <= {goal}: {'met' if ratio <= goal else 'MISSED'})"
    return f"{CANDIDATES[key][0]} / {CANDIDATES[anchor][0]}: {ratio:.2f}{verdict}"


def hyperfine(env: dict[str, str], runs: int, warmup: int) -> None:
    if shutil.which("hyperfine") is None:
        print("\n== hyperfine: not installed, skipped")
        return
    import shlex

    commands = [shlex.join(CANDIDATES[k][1]) for k in ("tab_net_run", "click")]
    with tempfile.NamedTemporaryFile(suffix=".json") as export:
        subprocess.run(
            [
                "hyperfine",
                "-N",
                "--style",
                "none",
                "-w",
                str(warmup),
                "-r",
                str(runs),
                "--export-json",
                export.name,
                *commands,
            ],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        with open(export.name) as f:
            results = json.load(f)["results"]
    tab, click = (r["median"] for r in results)
    print("\n== hyperfine (cross-check, not interleaved)")
    print(f"{CANDIDATES['tab_net_run'][0]:<42} median {ms(tab)} ms")
    print(f"{CANDIDATES['click'][0]:<42} median {ms(click)} ms")
    print(f"ratio {tab / click:.2f}  (goal <= {GOAL})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed rounds (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first (default 3)")
    parser.add_argument("--hyperfine", action="store_true", help="also time section 1 with it")
    args = parser.parse_args()

    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="pycoz-bench-pyc-") as cache_dir:
        env = environment(cache_dir)
        print("\n== sanity: what each TAB completes")
        for key in ("tab_net_run", "tab_root", "tab_trace"):
            _, out = run_once(key, env)
            words = out.split()
            print(f"{CANDIDATES[key][0]:<42} {len(words)} candidates: {' '.join(words[:6])} ...")
            if not words or (key == "tab_net_run" and "pair" not in words):
                sys.exit(f"bench: {CANDIDATES[key][0]} completed nothing useful: {out!r}")

        keys = list(CANDIDATES)
        times: dict[str, list[float]] = {k: [] for k in keys}
        for round_ in range(args.warmup + args.runs):
            shift = round_ % len(keys)
            for key in keys[shift:] + keys[:shift]:
                elapsed, _ = run_once(key, env)
                if round_ >= args.warmup:
                    times[key].append(elapsed)

        print(f"\n== timings, {args.runs} interleaved rounds (ms)")
        print(f"{'candidate':<42} {'median':>7} {'p10':>7} {'p90':>7}")
        for key in keys:
            median, p10, p90 = stats(times[key])
            print(f"{CANDIDATES[key][0]:<42} {ms(median)} {ms(p10)} {ms(p90)}")
        print("\n== 1. bash TAB on pycoz net run")
        print(ratio_line(times, "tab_net_run", "click", GOAL))
        print("\n== 2. for reference")
        for key in ("tab_root", "tab_trace", "answer"):
            print(ratio_line(times, key, "click"))
        if args.hyperfine:
            hyperfine(env, args.runs, args.warmup)


if __name__ == "__main__":
    main()
