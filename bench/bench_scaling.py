"""Where two workers serialise: each phase of a pytest fixture's work, one worker
against two, as throughput ratios.

    .venv/bin/python bench/bench_scaling.py [--seconds S] [--runs N]   (as root)

``bench_pytest.py`` measures ``pytest -n 2`` against ``-n 1`` whole; this splits the
work of one test into its phases and runs each alone in 1 and then 2 processes
(started together, each looping for ``--seconds``), so that a phase that does not
scale shows as a speed-up near 1.0 and the others near 2.0 (on 2 idle CPUs):

* ``netns``: a network namespace made (unshare) and dropped (close): the kernel's
  namespace creation and its clean-up worker;
* ``pair``: ``api.Network("pair")`` built and closed: namespaces plus veth,
  addresses and links over rtnetlink (every such change takes the kernel's one
  RTNL lock);
* ``run``: ``net["h1"].run(["true"])`` in one network that stays up: a container
  start (fork, mounts, fence, exec) and its end;
* ``test``: a whole test's work (``pair`` with one command in each host).

A CPU-bound phase scales with idle CPUs; a phase serialised in the kernel (RTNL,
the namespace clean-up worker) does not, whatever pycoz does.  The load average
is printed before and after: figures taken on a busy machine say little.
Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time

from benchlib import stats


def _netns():
    from pycoz_cli.core.net.netns import NetNS

    NetNS.create("bench").close()


def _pair():
    from pycoz_cli import api

    api.Network("pair").close()


_SHARED: dict = {}


def _run():
    from pycoz_cli import api

    net = _SHARED.get("net")
    if net is None:
        net = _SHARED["net"] = api.Network("pair")
    net["h1"].run(["true"], check=True)


def _test():
    from pycoz_cli import api

    with api.Network("pair") as net:
        net["h1"].run(["true"], check=True)
        net["h2"].run(["true"], check=True)


PHASES = {"netns": _netns, "pair": _pair, "run": _run, "test": _test}


def _worker(phase: str, seconds: float, start, out) -> None:
    work = PHASES[phase]
    work()  # warm: imports, the spawn helper
    start.wait()
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        work()
        done += 1
    out.put(done / (time.perf_counter() - began))


def throughput(phase: str, workers: int, seconds: float) -> float:
    """Operations per second of ``workers`` processes together."""
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(phase, seconds, start, out)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    rates = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    return sum(rates)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement (3)")
    parser.add_argument("--runs", type=int, default=3, help="rounds (3)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_scaling: needs root (namespaces)", file=sys.stderr)
        return 2
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    rows = {}
    for phase in PHASES:
        one, two = [], []
        for _ in range(args.runs):
            one.append(throughput(phase, 1, args.seconds))
            two.append(throughput(phase, 2, args.seconds))
        rows[phase] = (stats(one)[0], stats(two)[0])
    for phase, (one, two) in rows.items():
        print(
            f"  {phase:<6} 1 worker {one:8.1f}/s   2 workers {two:8.1f}/s   "
            f"speed-up {two / one:.2f}x"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
