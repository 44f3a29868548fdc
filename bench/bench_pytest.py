"""Benchmark the pytest plugin's fixtures against hand-written ones, as ratios.

    .venv/bin/python bench/bench_pytest.py [--tests N] [--runs N]   (as root)

Two generated suites of ``--tests`` tests (default 200), each test a ``pair``
network (two hosts, one veth, IPv4 and IPv6) and one command run in each host:

* **pycoz**: ``net = pycoz_network("pair")``, ``net["h1"].run(["true"], check=True)``
  and the same in h2;
* **iproute2**: what a test author writes without pycoz: a fixture making two
  named namespaces and a veth with ``ip netns``/``ip link``/``ip addr`` calls
  through subprocess (the steps of bench/anchor_iproute2_pair.sh), the commands
  with ``ip netns exec``, ``ip netns del`` at teardown.

Each suite is one ``pytest`` process, timed whole (pytest's own start-up is in
both; a suite of one empty test shows how much that is, and the ratio is also
printed without it).  Measured side by side in one run, interleaved
round-robin: pycoz ``-n 1`` against iproute2 ``-n 1`` (goal: at most 0.25 of
its time), and pycoz ``-n 2`` against pycoz ``-n 1`` (goal: at least 1.6 times
faster on 2 CPUs).

A third line is the **floor**: ``bench/floor_pair.c`` (built here with gcc)
asks the kernel for exactly what one such test needs when each command runs in
a container as pycoz's do (two network namespaces, a veth, addresses, and per
host new pid/mount/UTS/IPC namespaces with pycoz's mounts and an exec), in C
with no interpreter, in one process (``-n 2``: two processes, each half); to
it is added pytest's own cost per test (an ``empty`` suite of as many tests
that do nothing).  It shows where the 0.25 goal sits against what the kernel
itself takes.  Each run's busy CPUs (the whole machine's, from /proc/stat,
counting the kernel's workers that free namespaces, which no process is billed
for) bound what more workers can gain: a run that keeps C of N CPUs busy can
go at most N/C times faster.

After each run the bench waits until the kernel has freed the namespaces it
dropped (``bench_net.KernelSettle``), so that one run's clean-up is not billed
to the next.
Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from bench_net import KernelSettle
from benchlib import stats

PYTHON = sys.executable

PYCOZ_SUITE = """
import pytest

@pytest.mark.parametrize("n", range({tests}))
def test_pair(pycoz_network, n):
    net = pycoz_network("pair")
    net["h1"].run(["true"], check=True)
    net["h2"].run(["true"], check=True)
"""

IPROUTE2_SUITE = """
import itertools
import os
import subprocess

import pytest

_count = itertools.count()


def ip(*args):
    subprocess.run(["ip", *args], check=True)


@pytest.fixture
def pair():
    n = next(_count)
    a, b = f"pcb{{os.getpid()}}x{{n}}a", f"pcb{{os.getpid()}}x{{n}}b"
    ip("netns", "add", a)
    ip("netns", "add", b)
    try:
        ip("link", "add", "dev", "eth0", "netns", a, "type", "veth", "peer", "name", "eth0",
           "netns", b)
        ip("-n", a, "addr", "add", "198.18.0.1/24", "dev", "eth0")
        ip("-n", a, "addr", "add", "2001:db8::1/64", "dev", "eth0", "nodad")
        ip("-n", b, "addr", "add", "198.18.0.2/24", "dev", "eth0")
        ip("-n", b, "addr", "add", "2001:db8::2/64", "dev", "eth0", "nodad")
        for ns in (a, b):
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "link", "set", "eth0", "up")
        yield a, b
    finally:
        ip("netns", "del", a)
        ip("netns", "del", b)


@pytest.mark.parametrize("n", range({tests}))
def test_pair(pair, n):
    a, b = pair
    subprocess.run(["ip", "netns", "exec", a, "true"], check=True)
    subprocess.run(["ip", "netns", "exec", b, "true"], check=True)
"""


#: One test that does nothing: what pytest and xdist cost before the first test.
EMPTY_SUITE = """
def test_nothing():
    pass
"""

#: As many tests as the others, doing nothing: pytest's own cost per test.
NOTHING_SUITE = """
import pytest

@pytest.mark.parametrize("n", range({tests}))
def test_nothing(n):
    pass
"""

FLOOR_SOURCE = Path(__file__).resolve().parent / "floor_pair.c"


def write_suites(directory: Path, tests: int) -> dict[str, Path]:
    suites = {}
    for name, source in (
        ("pycoz", PYCOZ_SUITE),
        ("iproute2", IPROUTE2_SUITE),
        ("start-up", EMPTY_SUITE),
        ("empty", NOTHING_SUITE),
    ):
        folder = directory / name
        folder.mkdir()
        (folder / f"test_{name}.py").write_text(textwrap.dedent(source.format(tests=tests)))
        suites[name] = folder
    return suites


def build_floor(directory: Path) -> Path:
    exe = directory / "floor_pair"
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(FLOOR_SOURCE)], check=True)
    return exe


def run_floor(exe: Path, workers: int, tests: int) -> float:
    """``tests`` floor tests in ``workers`` processes at once; the wall time."""
    share = [tests // workers + (k < tests % workers) for k in range(workers)]
    started = time.perf_counter()
    procs = [subprocess.Popen([str(exe), str(n)]) for n in share]
    codes = [p.wait() for p in procs]
    elapsed = time.perf_counter() - started
    if any(codes):
        raise RuntimeError(f"floor_pair -n {workers} failed: {codes}")
    return elapsed


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy (not idle, not waiting for
    I/O) since boot, from /proc/stat: a run's delta counts the kernel's own
    workers too (freeing network namespaces), which no process is billed for."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run_suite(folder: Path, workers: int, tests: int) -> float:
    if folder.name == "floor":
        return run_floor(folder / "floor_pair", workers, tests)
    if folder.name == "start-up":
        tests = 1
    argv = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", str(workers)]
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=folder, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0 or f"{tests} passed" not in result.stdout:
        raise RuntimeError(f"{folder.name} -n {workers} failed:\n{result.stdout}{result.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=200, help="tests per suite (200)")
    parser.add_argument("--runs", type=int, default=3, help="rounds (3)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_pytest: needs root (namespaces)", file=sys.stderr)
        return 2
    candidates = [
        ("pycoz", 1),
        ("iproute2", 1),
        ("pycoz", 2),
        ("start-up", 1),
        ("floor", 1),
        ("floor", 2),
        ("empty", 1),
    ]
    times: dict = {c: [] for c in candidates}
    cpus: dict = {c: [] for c in candidates}
    directory = Path(tempfile.mkdtemp(prefix="pycoz-bench-pytest-"))
    settle = KernelSettle()
    settled = []
    try:
        suites = write_suites(directory, args.tests)
        suites["floor"] = directory / "floor"
        suites["floor"].mkdir()
        build_floor(suites["floor"])
        for rnd in range(args.runs):
            order = candidates[rnd % len(candidates) :] + candidates[: rnd % len(candidates)]
            for name, workers in order:
                before = busy_cpu_seconds()
                wall = run_suite(suites[name], workers, args.tests)
                settled.append(settle.wait())
                # The settle's own wait (the kernel freeing what the run left)
                # is the run's work too: counted as busy time, not as wall time.
                cpus[(name, workers)].append((busy_cpu_seconds() - before) / wall)
                times[(name, workers)].append(wall)
    finally:
        settle.close()
        shutil.rmtree(directory, ignore_errors=True)

    print(
        f"{args.tests} tests, each a pair network and one command in each host; "
        f"{args.runs} rounds ({os.cpu_count()} CPUs)"
    )
    for (name, workers), values in times.items():
        med, p10, p90 = stats(values)
        busy = stats(cpus[(name, workers)])[0]
        print(
            f"  {name:<9} -n {workers}: {med:7.2f} s  (p10 {p10:.2f}, p90 {p90:.2f}; "
            f"{med / args.tests * 1000:.1f} ms/test; {busy:.2f} CPUs busy)"
        )
    med = {c: stats(v)[0] for c, v in times.items()}
    ratio = med[("pycoz", 1)] / med[("iproute2", 1)]
    speedup = med[("pycoz", 1)] / med[("pycoz", 2)]
    print(
        f"  pycoz / iproute2 fixtures (-n 1): {ratio:.3f}  (goal <= 0.25: "
        f"{'met' if ratio <= 0.25 else 'NOT met'})"
    )
    print(
        f"  pycoz -n 2 speed-up over -n 1:    {speedup:.2f}x  (goal >= 1.6: "
        f"{'met' if speedup >= 1.6 else 'NOT met'})"
    )
    # A run that already keeps C CPUs busy (its processes, and the kernel's
    # workers freeing namespaces on the other CPU) can go at most N/C times
    # faster on N CPUs.
    busy = stats(cpus[("pycoz", 1)])[0]
    print(
        f"  -n 1 keeps {busy:.2f} CPUs busy (processes and kernel workers, /proc/stat): "
        f"at most {os.cpu_count() / busy:.2f}x from more workers on {os.cpu_count()} CPUs"
    )
    fixed = med[("start-up", 1)]
    net = (med[("pycoz", 1)] - fixed) / (med[("iproute2", 1)] - fixed)
    print(
        f"  the same without pytest's and xdist's start-up ({fixed:.2f} s, one empty test): "
        f"{net:.3f}"
    )
    # The floor: the kernel's work for a test plus pytest's own cost per test.
    per_test = (med[("empty", 1)] - fixed) / args.tests
    floor = med[("floor", 1)] / args.tests + per_test
    iproute2 = (med[("iproute2", 1)] - fixed) / args.tests
    kernel = med[("floor", 1)] / args.tests
    print(
        f"  floor per test: {floor * 1000:.2f} ms (kernel {kernel * 1000:.2f}"
        f" + pytest {per_test * 1000:.2f}) against iproute2's {iproute2 * 1000:.2f}: "
        f"{floor / iproute2:.3f} of it, without start-up (the goal asks 0.25)"
    )
    whole = fixed + floor * args.tests
    print(
        f"  floor as a suite (start-up + {args.tests} floor tests): {whole:.2f} s, "
        f"{whole / med[('iproute2', 1)]:.3f} of the iproute2 suite (the goal's own ratio)"
    )
    print(
        f"  floor -n 2 speed-up over -n 1 (two processes):  "
        f"{med[('floor', 1)] / med[('floor', 2)]:.2f}x"
    )
    print(f"  kernel clean-up after each run: median {stats(settled)[0]:.2f} s (not timed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
