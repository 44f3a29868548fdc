"""Benchmark the link relay (kernels without netem): TCP throughput over relayed hops.

    .venv/bin/python bench/bench_relay.py [--old PATH] [--runs N] [--seconds S]   (as root)

iperf3 TCP from h1 to h2 over 1, 2 and 4 links (``pair``, ``chain:routers=1``,
``chain:routers=3``), every link impaired, side by side in one run with:

- the anchor: the same topology unimpaired (plain veth pairs, the kernel alone);
- ``--old PATH``: the same measurement with the pycoz source tree at PATH (say a
  checkout of main before the relay's rework), run in a child process that
  imports pycoz_cli from there.

Impairments measured: ``declared`` (``--impair LINK`` with no setting: the old
relay carried such a link, the new one leaves it a plain veth), ``loss`` (a
loss of 0.0001%: relayed, forwarded at once) and ``delay`` (1 ms each way:
relayed, held in the queue).  The cost per hop is (1/throughput - 1/anchor)
divided by the hops: the relay's time per bit, minus the kernel's.

Figures are medians over ``--runs`` rounds, rotated so load hits all alike.
Traffic only flows between namespaces this bench makes.  Nothing here asserts
a figure: the numbers are for people (bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

TOPOLOGIES = {1: "pair", 2: "chain:routers=1", 4: "chain:routers=3"}
LINKS = {
    1: ["h1-h2"],
    2: ["h1-r1", "r1-h2"],
    4: ["h1-r1", "r1-r2", "r2-r3", "r3-h2"],
}
IMPAIRMENTS = {"none": None, "declared": "", "loss": "loss=0.0001%", "delay": "delay=1ms"}


def measure(hops: int, impairment: str, seconds: float) -> float:
    """iperf3 TCP throughput h1 -> h2 in Mbit/s (this process's pycoz)."""
    from pycoz_cli.core.container import Container
    from pycoz_cli.core.net.topology import Network, impair_spec, resolve

    topo = resolve(TOPOLOGIES[hops])
    setting = IMPAIRMENTS[impairment]
    if setting is not None:
        for link in LINKS[hops]:
            impair_spec(topo, f"{link}:{setting}" if setting else link)
    server_ip = str(topo.nodes["h2"].addresses(4)[0])
    with Network(topo) as net:
        devnull = os.open(os.devnull, os.O_WRONLY)
        server = Container(network=net, host="h2", overlay=False).spawn(
            ["iperf3", "-s", "-1"], stdout=devnull, stderr=devnull
        )
        os.close(devnull)
        try:
            time.sleep(0.3)
            r, w = os.pipe()
            client = Container(network=net, host="h1", overlay=False)
            code = client.run(["iperf3", "-c", server_ip, "-t", str(seconds), "--json"], stdout=w)
            os.close(w)
            with os.fdopen(r) as f:
                out = f.read()
            if code != 0:
                raise RuntimeError(f"iperf3 failed ({code}): {out[-300:]}")
            return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e6
        finally:
            server.kill()
            server.wait()


def in_child(path: str, hops: int, impairment: str, seconds: float) -> float:
    r = subprocess.run(
        [sys.executable, __file__, "--worker", str(hops), impairment, str(seconds), path],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip().splitlines()[-1] if r.stderr else "failed")
    return float(r.stdout)


def cost(mbit: float | None, anchor: float | None, hops: int) -> float | None:
    """µs per Mbit the relay adds on each hop, over the kernel's own time."""
    if not mbit or not anchor:
        return None
    return max(0.0, (1 / mbit - 1 / anchor) / hops) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", metavar="PATH", help="pycoz source tree to compare with")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args, _others = parser.parse_known_args()  # run_all.sh passes every bench its options
    if args.worker:
        hops, impairment, seconds, path = args.worker
        # That tree's pycoz_cli, not the one installed in editable mode (whose
        # import hook comes before sys.path).
        editable = "__editable___pycoz_0"
        sys.meta_path[:] = [f for f in sys.meta_path if not type(f).__module__.startswith(editable)]
        sys.path.insert(0, path)
        print(measure(int(hops), impairment, float(seconds)))
        return
    if not shutil.which("iperf3"):
        sys.exit("bench_relay: iperf3 is not installed")
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    trees = {"new": here, **({"old": os.path.abspath(args.old)} if args.old else {})}
    cases = [(hops, imp) for hops in TOPOLOGIES for imp in IMPAIRMENTS]
    results: dict = {}
    for run in range(args.runs):
        order = cases[run % len(cases) :] + cases[: run % len(cases)]
        for hops, imp in order:
            for tree, path in trees.items():
                if imp == "none" and tree == "old":
                    continue  # the anchor: the kernel alone, whichever pycoz built it
                try:
                    mbit = in_child(path, hops, imp, args.seconds)
                except (RuntimeError, subprocess.TimeoutExpired) as err:
                    print(f"  {tree} {hops} hop(s) {imp}: {err}", file=sys.stderr)
                    continue
                results.setdefault((tree, hops, imp), []).append(mbit)
    print(f"iperf3 TCP h1 -> h2, Mbit/s, median of {args.runs} ({args.seconds:g} s each)")
    print(f"{'hops':>4} {'impairment':<10} {'anchor':>8} {'old':>8} {'new':>8} "
          f"{'new/old':>8}  {'µs/Mbit/hop old':>16} {'new':>8} {'cost old/new':>12}")  # fmt: skip
    for hops in TOPOLOGIES:
        anchor = results.get(("new", hops, "none"))
        a = statistics.median(anchor) if anchor else None
        for imp in IMPAIRMENTS:
            if imp == "none":
                continue
            old = results.get(("old", hops, imp))
            new = results.get(("new", hops, imp))
            o = statistics.median(old) if old else None
            n = statistics.median(new) if new else None

            co, cn = cost(o, a, hops), cost(n, a, hops)
            cells = [
                f"{a:8.0f}" if a else f"{'-':>8}",
                f"{o:8.0f}" if o else f"{'-':>8}",
                f"{n:8.0f}" if n else f"{'-':>8}",
                f"{n / o:8.2f}" if n and o else f"{'-':>8}",
                f"{co:16.5f}" if co is not None else f"{'-':>16}",
                f"{cn:8.5f}" if cn is not None else f"{'-':>8}",
                f"{co / cn:12.1f}" if co and cn else f"{'-':>12}",
            ]
            print(f"{hops:>4} {imp:<10} " + " ".join(cells))


if __name__ == "__main__":
    main()
