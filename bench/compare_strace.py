"""How much of ``pycoz trace``'s text is strace's, per command and per mode.

    .venv/bin/python bench/compare_strace.py [--only WORD] [--modes f,ff,T,y,file,network]
    .venv/bin/python bench/compare_strace.py --modes f,Xraw,Xverbose

For each command of ``bench_trace_corpus.py``'s corpus (the same setup, in a
network namespace of its own) and each mode (``-f``, ``-ff``, ``-f -T``,
``-f -y``, ``-f -e trace=%file``, ``-f -e trace=%network``), the command runs
three times: twice under strace, once under pycoz trace, each writing to a file
(``-o``).  The lines are normalised (what differs from run to run: pids numbered
in order of appearance, addresses, times, the padding before ``=``; strace's
``<unfinished ...>``/``resumed>`` halves joined) and compared process by process
(the n-th process to appear in one run with the n-th in the other) with
difflib: the share of identical lines, 2*matches/(len(a)+len(b)).

It prints, per command and mode, strace's agreement with itself (its run-to-run
noise: random bytes, timing) and pycoz's agreement with strace's first run, and
for each mode the overall figures and the commands where pycoz is more than one
point below strace's own agreement (issue 15's goal: none).
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

from bench_trace_corpus import PYCOZ, corpus_world

MODES = {
    "f": ["-f"],
    "ff": ["-ff"],
    "T": ["-f", "-T"],
    "y": ["-f", "-y"],
    "file": ["-f", "-e", "trace=%file"],
    "network": ["-f", "-e", "trace=%network"],
    # -X: named constants as numbers, or numbers with their names (not by default)
    "Xraw": ["-f", "-X", "raw"],
    "Xverbose": ["-f", "-X", "verbose"],
}
DEFAULT_MODES = ("f", "ff", "T", "y", "file", "network")

_POINTER = re.compile(r"\b0x[0-9a-f]{5,}\b")
_DURATION = re.compile(r" <\d+\.\d+>$")
_PAD = re.compile(r"\) +=")
_HEAD = re.compile(r"^(\d+) +(.*)$")
_UNFINISHED = " <unfinished ...>"
_RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")


def _per_process(lines: list[str], pid: int | None = None) -> dict[int, list[str]]:
    """Lines by pid (``PID line`` as strace writes -f into a file), each
    call's two halves joined."""
    out: dict[int, list[str]] = {}
    pending: dict[int, int] = {}
    for line in lines:
        if pid is None:
            m = _HEAD.match(line)
            if not m:
                continue
            who, text = int(m[1]), m[2]
        else:
            who, text = pid, line
        mine = out.setdefault(who, [])
        if text.endswith(_UNFINISHED):
            pending[who] = len(mine)
            mine.append(text[: -len(_UNFINISHED)])
            continue
        r = _RESUMED.match(text)
        if r and who in pending:
            k = pending.pop(who)
            tail = r[2]
            mine[k] = (mine[k].rstrip() if tail[:1] in ",)" else mine[k]) + tail
            continue
        mine.append(text)
    return out


def _normalised(processes: dict[int, list[str]]) -> list[list[str]]:
    """Processes in order of first appearance (pid order), their pids renamed."""
    order = sorted(processes)
    names = {str(pid): f"PID{i}" for i, pid in enumerate(order)}
    pids = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b") if names else None
    result = []
    for pid in order:
        lines = []
        for line in processes[pid]:
            line = _POINTER.sub("0xADDR", line)
            line = _DURATION.sub(" <T>", line)
            line = _PAD.sub(") =", line)
            if pids is not None:
                line = pids.sub(lambda m: names[m[0]], line)
            lines.append(line)
        result.append(lines)
    return result


def read_trace(out: Path, mode: str) -> list[list[str]]:
    if mode == "ff":
        processes = {}
        for path in out.parent.glob(out.name + ".*"):
            pid = int(path.suffix[1:])
            processes.update(_per_process(path.read_text(errors="replace").splitlines(), pid))
            path.unlink()
        return _normalised(processes)
    text = out.read_text(errors="replace")
    out.unlink()
    return _normalised(_per_process(text.splitlines()))


def agreement(a: list[list[str]], b: list[list[str]]) -> float:
    """Share of identical lines, process by process (percent)."""
    matched = total = 0
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else []
        y = b[i] if i < len(b) else []
        sm = difflib.SequenceMatcher(None, x, y, autojunk=False)
        matched += 2 * sum(block.size for block in sm.get_matching_blocks())
        total += len(x) + len(y)
    return 100.0 * matched / total if total else 100.0


def run(argv, env) -> None:
    subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        timeout=300,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", help="only commands whose name contains one of these (comma-separated)"
    )
    parser.add_argument(
        "--modes",
        default=",".join(DEFAULT_MODES),
        help=f"comma-separated modes, of {','.join(MODES)} (default: {','.join(DEFAULT_MODES)})",
    )
    args, _ = parser.parse_known_args()
    if os.geteuid() != 0:
        print("compare_strace: needs root (ping, ss -p, a network namespace)")
        return 1
    modes = [m for m in args.modes.split(",") if m]
    with corpus_world("pycoz-compare-", args.only) as (work, env, commands):
        return compare(commands, modes, work, env)


def compare(commands, modes, work: Path, env) -> int:
    out = work / "trace"
    summary = {}
    for mode in modes:
        options = MODES[mode]
        print(f"\n== {' '.join(options)} ==")
        print(f"{'command':<26} {'strace/strace':>13} {'pycoz/strace':>12} {'gap':>6}")
        rows = []
        for name, argv in commands:
            run(argv, env)  # once untraced: caches (bytecode, git's index) settle first
            traces = []
            for tracer in (["strace"], ["strace"], [PYCOZ, "trace"]):
                dash = ["--"] if tracer[0] == PYCOZ else []
                run([*tracer, *options, "-o", str(out), *dash, *argv], env)
                traces.append(read_trace(out, mode))
            own = agreement(traces[0], traces[1])
            ours = agreement(traces[0], traces[2])
            rows.append((name, own, ours))
            flag = "  <" if ours < own - 1 else ""
            print(f"{name:<26} {own:12.1f}% {ours:11.1f}% {ours - own:+6.1f}{flag}")
        behind = [r[0] for r in rows if r[2] < r[1] - 1]
        own_med = statistics.median(r[1] for r in rows)
        ours_med = statistics.median(r[2] for r in rows)
        print(
            f"median: strace {own_med:.1f}%, pycoz {ours_med:.1f}%; "
            f"{len(behind)} of {len(rows)} more than 1 point below strace's own"
            + (f": {', '.join(behind)}" if behind else "")
        )
        summary[mode] = (own_med, ours_med, len(behind), len(rows))
    print("\n== summary ==")
    for mode, (own_med, ours_med, behind, count) in summary.items():
        print(
            f"{' '.join(MODES[mode]):<24} strace {own_med:5.1f}%  pycoz {ours_med:5.1f}%  "
            f"behind: {behind}/{count}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
