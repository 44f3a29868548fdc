"""What clients see in the dual-stack built-ins: time to connect, side by side.

    .venv/bin/python bench/bench_fallback.py [--runs N]   (as root)

For each of dualstack (the anchor: IPv6 connects at once), v6rejected (r1 resets
IPv6), v6rejected:by=unreachable and by=prohibit (ICMPv6 from r1) and v6dropped
(silence), a client in ``client`` connects to an HTTP server on ``server`` N
times with curl (happy eyeballs) and with Python's socket.create_connection
(sequential, timeout 2 s), and the bench prints the median time to connect, the
family that answered and the ratio to dualstack.  The figures are what
README.md's table of the built-ins says; nothing here asserts a time.

Traffic is only ever sent between namespaces this bench made.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile

from pycoz_cli.api import PIPE, STDOUT, Host
from pycoz_cli.core.container import Container
from pycoz_cli.core.net.topology import CommandSpec, Network, resolve

SCENARIOS = (
    "dualstack",
    "v6rejected",
    "v6rejected:by=unreachable",
    "v6rejected:by=prohibit",
    "v6dropped",
)
PYTHON = """
import socket, sys, time
for _ in range(int(sys.argv[1])):
    t = time.monotonic()
    s = socket.create_connection(("server", 8000), timeout=2)
    print(s.family.name, time.monotonic() - t)
    s.close()
"""
CURL = (
    "for i in $(seq {n}); do "
    "curl -s -o /dev/null -w '%{{remote_ip}} %{{time_connect}}\\n' http://server:8000/; done"
)


def run_in(net, argv) -> str:
    """``argv`` in the client, its stdout and stderr together (the API's run)."""
    client = Host(Container(network=net, host="client", overlay=False), "client")
    return client.run(argv, stdout=PIPE, stderr=STDOUT, text=True).stdout


def measure(spec: str, runs: int, here: str) -> dict:
    topo = resolve(spec)
    quiet = f"exec {sys.executable} -m http.server --bind :: -d {here} 8000 >/dev/null 2>&1"
    server = ["sh", "-c", quiet]
    topo.nodes["server"].add_command(server, CommandSpec(("tcp", 8000)))
    with Network(topo) as net:
        net.start_commands()
        py = [
            line.split()
            for line in run_in(net, [sys.executable, "-c", PYTHON, str(runs)]).splitlines()
        ]
        curl = [
            line.split() for line in run_in(net, ["sh", "-c", CURL.format(n=runs)]).splitlines()
        ]
    return {
        "python": (statistics.median(float(t) for _, t in py), {f for f, _ in py}),
        "curl": (
            statistics.median(float(t) for _, t in curl),
            {"AF_INET6" if ":" in ip else "AF_INET" for ip, _ in curl},
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as here:
        results = {spec: measure(spec, args.runs, here) for spec in SCENARIOS}
    anchor = results["dualstack"]
    print(f"{'topology':<28}{'client':<8}{'median connect':>16}{'family':>10}{'x dualstack':>13}")
    for spec, result in results.items():
        for client, (seconds, families) in result.items():
            ratio = seconds / anchor[client][0] if anchor[client][0] else float("nan")
            family = ",".join(sorted(families))
            print(f"{spec:<28}{client:<8}{seconds * 1000:>13.1f} ms{family:>10}{ratio:>13.0f}")


if __name__ == "__main__":
    main()
