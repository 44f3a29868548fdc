"""Stress: `pycoz net up` killed (SIGKILL) while it starts a file's host commands,
then `pycoz net down`: no host command, log, state file or
namespace of those topologies may remain (issue 11, item 8).

    .venv/bin/python bench/stress_net_up.py [--count 500] [--commands 8] [--seed N]

Each round brings up a topology whose host h2 starts ``--commands`` sleeps and is
killed after a random 0-300 ms (building takes about as long, so kills land before,
during and after the commands start).  The suite runs the same loop six times
(tests/system/test_net_files.py); this is the large count.  Prints how many rounds
were cut before, during and after their commands started, and what was left.
Needs root.  Touches only its own names (``snu<pid>-N``) and processes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

STATE_DIR = "/run/pycoz/net"


def pycoz() -> str:
    here = os.path.dirname(os.path.abspath(sys.executable))
    found = shutil.which("pycoz", path=here) or shutil.which("pycoz")
    if not found:
        raise SystemExit("stress: no pycoz next to this Python or on PATH")
    return found


def with_marker(marker: str) -> list[int]:
    """Processes whose command line holds ``marker`` (pgrep, as a user would look)."""
    out = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    return [int(pid) for pid in out.stdout.split() if int(pid) != os.getpid()]


def phase(name: str) -> str:
    """Where a killed `net up` stopped, from its state file (before `prune`)."""
    try:
        with open(f"{STATE_DIR}/{name}.json") as f:
            state = json.load(f)
    except FileNotFoundError:
        return "before"
    except ValueError:
        return "during"
    commands = state.get("commands")
    if state.get("complete"):
        return "after"
    if not commands:
        return "before"
    return "during (one unrecorded)" if commands[-1].get("pid") is None else "during"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--commands", type=int, default=8)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("stress: needs root")
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    marker = f"1000.{os.getpid()}{rng.randrange(10**6)}"
    exe = pycoz()
    prefix = f"snu{os.getpid()}-"
    phases: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "stress.toml")
        with open(path, "w") as f:
            commands = ", ".join([f'"sleep {marker}"'] * args.commands)
            f.write(f"[hosts.h1]\n[hosts.h2]\ncommands = [{commands}]\n")
            f.write("[[links]]\na = 'h1'\nb = 'h2'\n")
        started = time.monotonic()
        for i in range(args.count):
            name = f"{prefix}{i}"
            p = subprocess.Popen(
                [exe, "net", "up", path, "--name", name],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(rng.uniform(0.0, 0.3))
            p.kill()
            p.wait()
            where = phase(name)
            phases[where] = phases.get(where, 0) + 1
            # `net down` takes a broken or half-built topology down too (`net prune`
            # would also remove other people's broken ones on a shared machine).
            subprocess.run([exe, "net", "down", name], capture_output=True)
        elapsed = time.monotonic() - started
    for _ in range(50):
        if not with_marker(marker):
            break
        time.sleep(0.1)
    left = with_marker(marker)
    netns = [n for n in os.listdir("/run/netns") if n.startswith(prefix)]
    state = [s for s in os.listdir(STATE_DIR) if s.startswith(prefix)]
    print(
        f"stress_net_up: {args.count} rounds of {args.commands} commands, seed {seed}, "
        f"{elapsed:.0f} s"
    )
    for where, n in sorted(phases.items()):
        print(f"  killed {where}: {n}")
    print(
        f"  left behind: {len(left)} host commands, {len(state)} state/log files, "
        f"{len(netns)} namespaces"
    )
    for pid in left:  # ours (the marker is this run's): do not leave them running
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    return 1 if left or netns or state else 0


if __name__ == "__main__":
    sys.exit(main())
