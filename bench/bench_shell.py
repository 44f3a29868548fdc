"""Benchmark ``pycoz shell`` side by side with ``pycoz net run``, as ratios.

    .venv/bin/python bench/bench_shell.py [--runs N] [--warmup N]   (as root)

1. ``pycoz shell --net pair -c true`` against ``pycoz net run pair -- true``,
   interleaved round-robin (the order rotates each round), start to exit: the
   shell's overhead over the plain run.  Goal: at most 1.2.
2. An interactive round trip on a pseudo-terminal, for information: from start
   until the prompt (with its ``[pycoz h1]`` label) is drawn, then ``exit`` typed
   until pycoz has exited; against ``pycoz net run pair -- bash -i`` driven the
   same way (its prompt has no label: the bench waits for bash's own).

Nothing here asserts a time: the numbers are for people (bench/README.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import pty
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import child_env, stats

PYCOZ = str(Path(sys.prefix) / "bin" / "pycoz")
GOAL = 1.2


def timed_run(argv, env) -> float:
    start = time.perf_counter()
    code = subprocess.run(argv, stdin=subprocess.DEVNULL, env=env, check=False).returncode
    took = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"bench: {' '.join(argv)} exited with {code}")
    return took


def interactive_round_trip(argv, env, prompt: bytes) -> float:
    """Start ``argv`` on a new pty; wait for ``prompt``; type exit; wait for the end."""
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execve(argv[0], argv, env)
    seen = b""
    typed = False
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 20)
            if not ready:
                raise SystemExit(f"bench: no prompt from {' '.join(argv)}: {seen[-200:]!r}")
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                break
            seen += data
            if not typed and prompt in seen:
                os.write(fd, b"exit\r")
                typed = True
        os.waitpid(pid, 0)
    finally:
        os.close(fd)
    return time.perf_counter() - start


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="timed rounds (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first (default 3)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root")
    print(f"# bench_shell: {platform.node()} {platform.release()}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="pycoz-bench-") as scratch:
        env = child_env(scratch)
        home = Path(scratch) / "home"
        home.mkdir()
        (home / ".bashrc").write_text("PS1='\\u@\\h$ '\n")
        env.update(HOME=str(home), SHELL="/bin/bash", TERM="xterm")
        batch = {
            "shell -c": [PYCOZ, "shell", "--net", "pair", "-c", "true"],
            "net run": [PYCOZ, "net", "run", "pair", "--", "true"],
        }
        session = {
            "shell (interactive)": (
                [PYCOZ, "shell", "--net", "pair", "--host", "h1", "-q"],
                b"[pycoz h1] root@h1$ ",
            ),
            "net run bash -i": (
                [PYCOZ, "net", "run", "pair", "--host", "h1", "--", "/bin/bash", "-i"],
                b"root@h1$ ",
            ),
        }
        times: dict[str, list[float]] = {name: [] for name in [*batch, *session]}
        for _ in range(args.warmup):
            for argv in batch.values():
                timed_run(argv, env)
        order = list(times)
        for round_ in range(args.runs):
            shift = round_ % len(order)
            for name in order[shift:] + order[:shift]:
                if name in batch:
                    times[name].append(timed_run(batch[name], env))
                else:
                    argv, prompt = session[name]
                    times[name].append(interactive_round_trip(argv, env, prompt))
    print(f"\n{'candidate':<22} {'median':>10} {'p10':>10} {'p90':>10}   ({args.runs} rounds)")
    medians = {}
    for name, values in times.items():
        med, p10, p90 = stats(values)
        medians[name] = med
        print(f"{name:<22} {ms(med):>10} {ms(p10):>10} {ms(p90):>10}")
    ratio = medians["shell -c"] / medians["net run"]
    verdict = "met" if ratio <= GOAL else "missed"
    print(f"\nshell -c / net run: {ratio:.2f} (goal <= {GOAL}: {verdict})")
    inter = medians["shell (interactive)"] / medians["net run bash -i"]
    print(f"interactive round trip / net run bash -i: {inter:.2f} (for information)")


if __name__ == "__main__":
    main()
