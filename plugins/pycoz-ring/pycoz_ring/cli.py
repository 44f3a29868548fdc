"""``pycoz reach``: build a topology and find out which host reaches which."""

from __future__ import annotations

import json

import click


@click.command(name="reach", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("topology")
@click.option("-6", "--ipv6", is_flag=True, help="Ping IPv6 addresses (default: IPv4).")
@click.option(
    "-W",
    "--timeout",
    type=click.IntRange(1, 60),
    default=1,
    show_default=True,
    help="Seconds to wait for each answer.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {from: {to: true|false}}.")
def reach(topology: str, ipv6: bool, timeout: int, as_json: bool) -> int:
    """Build TOPOLOGY, ping every host from every other, print who reaches whom.

    TOPOLOGY is any topology pycoz knows (ring:hosts=5, tree:depth=2, a built-in,
    a TOML file). Each host pings the first address of every other host once,
    all at the same time; the topology is torn down at the end. Exits 0 when
    every host reaches every other, 1 otherwise.

    \b
    Examples:
      pycoz reach ring:hosts=6
      pycoz reach -6 tree:depth=2,fanout=3 --json
    """
    from pycoz_cli.plugin_api import Network, resolve_topology

    topo = resolve_topology(topology)
    version = 6 if ipv6 else 4
    hosts = topo.hosts()
    targets = {}
    for name in hosts:
        addrs = topo.nodes[name].addresses(version)
        if addrs:
            targets[name] = str(addrs[0])
    with Network(topo) as network:
        results = _ping_all(network, hosts, targets, timeout)
    matrix = {src: {dst: results[(src, dst)] for dst in targets if dst != src} for src in hosts}
    if as_json:
        click.echo(json.dumps(matrix, indent=1))
    else:
        _print_matrix(hosts, list(targets), matrix)
    return 0 if all(all(row.values()) for row in matrix.values()) else 1


#: Pings in flight at once (each is a process in a container).
PARALLEL = 64


def _ping_all(network, hosts, targets, timeout) -> dict:
    import os

    from pycoz_cli.plugin_api import Container

    pairs = [(src, dst) for src in hosts for dst in targets if dst != src]
    results = {}
    running: list = []
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        for src, dst in pairs:
            if len(running) >= PARALLEL:
                (pair, proc) = running.pop(0)
                results[pair] = proc.wait() == 0
            argv = ["ping", "-n", "-c1", f"-W{timeout}", targets[dst]]
            box = Container(network=network, host=src, overlay=False)
            proc = box.spawn(argv, stdin=devnull, stdout=devnull, stderr=devnull)
            running.append(((src, dst), proc))
        for pair, proc in running:
            results[pair] = proc.wait() == 0
        running.clear()
    finally:
        for _, proc in running:
            proc.kill()
            proc.wait()
        os.close(devnull)
    return results


def _print_matrix(hosts, targets, matrix) -> None:
    corner = "from\\to"
    width = max(map(len, [*hosts, *targets, corner]))
    click.echo(" ".join([f"{corner:<{width}}", *(f"{t:>{width}}" for t in targets)]))
    for src in hosts:
        cells = ["-" if dst == src else ("ok" if matrix[src][dst] else "FAIL") for dst in targets]
        click.echo(" ".join([f"{src:<{width}}", *(f"{c:>{width}}" for c in cells)]))
    failed = sum(not ok for row in matrix.values() for ok in row.values())
    total = sum(len(row) for row in matrix.values())
    click.echo(f"{total - failed} of {total} pairs reach each other")
