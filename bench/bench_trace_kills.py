"""SIGKILL ``pycoz trace`` (host mode) during its start-up, many times; count leftovers.

Issue 11, item 1: a tracer killed between its fork and the seize left the child
stopped forever, traced by pid 1, or running the command untraced.  Each round
starts ``pycoz trace -o /dev/null -- sleep TAG`` and kills it:

* ``random``: 30-120 ms after launch, as the issue's shell loop did;
* ``window``: 0-6 ms after pycoz's child appears (the fork-to-seize window).

Then it looks for what outlived pycoz (the forked child after 5 s, or a
``sleep TAG``) and kills it.  Goal: 0 leftovers.  The test suite runs a small
count of the ``window`` kind (tests/system/test_trace_lifetime.py).

    .venv/bin/python bench/bench_trace_kills.py --kills 2000 --jobs 4
    .venv/bin/python bench/bench_trace_kills.py --pycoz /path/to/other/pycoz
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.system.helpers import kill_trace_during_startup, trace_leftovers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=4, help="kills running at once")
    parser.add_argument("--pycoz", help="the pycoz to kill (default: this venv's)")
    args, _ = parser.parse_known_args()  # run_all.sh passes every script the same
    pycoz = args.pycoz or shutil.which("pycoz", path=str(Path(sys.executable).parent)) or "pycoz"
    tag = f"100.{random.randrange(10**6):06d}"

    def one(i: int):
        if i % 2:
            after = random.uniform(0.03, 0.12)
            return "random", kill_trace_during_startup(pycoz, tag, after, since_launch=True)
        return "window", kill_trace_during_startup(pycoz, tag, random.uniform(0, 0.006))

    started = time.monotonic()
    seen = {"random": 0, "window": 0}
    children = []
    with ThreadPoolExecutor(args.jobs) as pool:
        for kind, child in pool.map(one, range(args.kills)):
            seen[kind] += 1
            if child is not None:
                children.append(child)
    left = trace_leftovers(children, tag)
    print(f"pycoz trace killed {args.kills} times in {time.monotonic() - started:.0f} s:")
    print(f"  {seen['random']} at 30-120 ms after launch,", end=" ")
    print(f"{seen['window']} in the fork-seize window")
    print(f"  leftovers: {len(left)} (goal 0)")
    for line in left:
        print(f"    {line}")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
