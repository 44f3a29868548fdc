"""Count the fence's attack attempts that get through, per sandbox, side by side.

    .venv/bin/python bench/bench_fence_attacks.py [--sandboxes a,b,...] [--all] [--verbose]

The attempts are the system tests' own (tests/system/fence_helpers.py): the
syscall probes (capabilities, seccomp, init's descriptors, the i386 ABI) and the
stateful attacks, each on a sacrificial object it makes first (a loop device on a
file of its own, a key in a session keyring of its own, a listener of its own, a
link name unique to it, a tmux server of its own for TIOCSTI), judged from the
host's side.  They run under:

- ``pycoz root`` (fenced, the default) and ``pycoz root --privileged`` (unfenced);
- bubblewrap as root: ``bwrap --unshare-all --share-net --ro-bind / / --dev /dev
  --proc /proc --tmpfs /tmp`` and the same without ``--share-net``;
- with ``--all``, pycoz's other fenced entry points too: ``shell -c``, ``net run``,
  ``root --net``, ``trace --root`` and the Python API (``Container().run``).

Each cell says THROUGH, blocked, ``-`` (the attempt does not apply: a host link
with a network namespace of its own, a bind mount where the sandbox takes none)
or ``no run`` (the sandbox did not run the attempt: an option it does not know).
The last lines count, per sandbox, the attempts that got through out of those
that ran, in two groups.  The attacks on host objects are harm seen from the
host.  The probes measure a power the fence is to take away (a capability, a
syscall, init's descriptors); in bwrap's user namespace some of them (unshare,
setns, fsopen) are powers over its own namespaces only, harmless to the host, so
compare that group with care.  A run takes about a minute; nothing is timed.  Options that
bench/run_all.sh passes to every script (--runs, --warmup, ...) are ignored.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.system.fence_helpers import (
    ATTEMPTS,
    PROBE_NAMES,
    bwrap_runners,
    pycoz_runners,
    run_probes,
)

PYCOZ = shutil.which("pycoz", path=os.path.dirname(sys.executable)) or "pycoz"
DEFAULT = ("root", "privileged", "bwrap-share-net", "bwrap")
EVERY = (
    "root",
    "shell",
    "net-run",
    "root-net",
    "trace-root",
    "api",
    "privileged",
    "bwrap-share-net",
    "bwrap",
)


def cell(outcome) -> str:
    if outcome is None:
        return "-"
    if not outcome.ran:
        return "no run"
    return "THROUGH" if outcome.through else "blocked"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sandboxes", help="comma-separated, of: " + ", ".join(EVERY))
    parser.add_argument("--all", action="store_true", help="every pycoz entry point too")
    parser.add_argument("--verbose", action="store_true", help="print each outcome's detail")
    args, _ = parser.parse_known_args()
    if os.geteuid() != 0:
        print("bench_fence_attacks.py needs root", file=sys.stderr)
        return 2
    names = args.sandboxes.split(",") if args.sandboxes else EVERY if args.all else DEFAULT
    runners = {**pycoz_runners(PYCOZ), **bwrap_runners()}
    if shutil.which("bwrap") is None:
        names = [n for n in names if not n.startswith("bwrap")]
    unknown = [n for n in names if n not in runners]
    if unknown:
        parser.error(f"unknown sandbox {unknown[0]!r}")

    bwrap = subprocess.run(["bwrap", "--version"], capture_output=True, text=True).stdout.strip()
    version = subprocess.run([PYCOZ, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"kernel {platform.release()}; {version}; {bwrap or 'no bwrap'}")
    for n in names:
        print(f"  {n:16} {' '.join(runners[n].argv(['CMD']))}")
    print()

    rows: dict[str, dict[str, object]] = {}
    for n in names:
        runner = runners[n]
        print(f"running under {n} ...", file=sys.stderr, flush=True)
        for probe, outcome in run_probes(runner).items():
            rows.setdefault(probe, {})[n] = outcome
        for attempt in ATTEMPTS:
            row = rows.setdefault(attempt.name, {})
            if not attempt.applies(runner):
                row[n] = None
                continue
            with tempfile.TemporaryDirectory(prefix="pycoz-fence-bench-") as tmp:
                try:
                    row[n] = attempt.run(runner, Path(tmp), "b" + uuid.uuid4().hex[:8])
                except Exception as e:  # one broken attempt must not end the bench
                    print(f"  {attempt.name} under {n}: {e!r}", file=sys.stderr)
                    row[n] = None

    width = max(len(r) for r in rows)
    cols = {n: max(len(n), 7) for n in names}
    print(f"{'attempt':{width}}  " + "  ".join(f"{n:>{cols[n]}}" for n in names))
    groups = {
        "syscall probes": list(PROBE_NAMES),
        "attacks on host objects": [a.name for a in ATTEMPTS],
    }
    for rownames in groups.values():
        for name in rownames:
            cells = {n: cell(rows[name].get(n)) for n in names}
            print(f"{name:{width}}  " + "  ".join(f"{cells[n]:>{cols[n]}}" for n in names))
    print()
    for group, rownames in groups.items():
        print(f"{group}: how many got through, of those that ran")
        for n in names:
            ran = [o for o in (rows[r].get(n) for r in rownames) if o is not None and o.ran]
            through = sum(o.through for o in ran)
            print(f"  {n:16} {through:3} of {len(ran):3}")
    if args.verbose:
        print()
        for name in rows:
            for n in names:
                outcome = rows[name].get(n)
                if outcome is not None:
                    print(f"{name} [{n}] {outcome}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
