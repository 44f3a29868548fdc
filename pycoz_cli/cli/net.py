"""``pycoz net``: network topologies, ephemeral or named."""

from __future__ import annotations

import click

from pycoz_cli.cli import SuggestingGroup, complete
from pycoz_cli.cli.options import (
    TailCommand,
    build_topology,
    command_args,
    fence_from_options,
    fence_options,
    impair_option,
    run_in_container,
)

_impair_option = impair_option(with_net=False)

CONTEXT = {"help_option_names": ["-h", "--help"]}
RUN_CONTEXT = {"allow_interspersed_args": False, "help_option_names": ["-h", "--help"]}


@click.group(name="net", cls=SuggestingGroup, context_settings=CONTEXT)
def net() -> None:
    """Network topologies that build in milliseconds and vanish without a trace.

    A topology is hosts (network namespaces), links (veth pairs), switches
    (bridges), addresses (198.18.0.0/15 and 2001:db8::/32 by default) and routes.
    Every host resolves every other host's name. TOPOLOGY is a built-in, with
    parameters (star:hosts=50), or a TOML file.

    \b
    Examples:
      pycoz net run pair -- ping -c1 h2
      pycoz net run examples/topologies/web-lab.toml --host client -- curl -s http://server:8000/
      pycoz net up star:hosts=3 --name lab && ip netns exec lab-h1 ping -c1 h3
      pycoz net down lab
    """


@net.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def topologies(as_json: bool) -> None:
    """List the available topologies and their parameters."""
    from pycoz_cli.plugins import topology_registry

    rows = []
    for name, (factory, schema, plugin) in sorted(topology_registry().items()):
        rows.append(
            {
                "name": name,
                "plugin": plugin,
                "description": _summary(factory),
                "parameters": {
                    key: {"type": kind.__name__, "default": default, "help": text}
                    for key, (kind, default, text) in schema.items()
                },
            }
        )
    if as_json:
        import json

        click.echo(json.dumps(rows, indent=1))
        return
    for row in rows:
        params = ",".join(f"{k}={v['default']}" for k, v in row["parameters"].items())
        spec = f"{row['name']}:{params}" if params else row["name"]
        click.echo(f"{spec:<20} {row['description']}".rstrip())


@net.command(context_settings=CONTEXT)
@click.argument("topology", shell_complete=complete.topology)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "dot", "svg"]),
    default="text",
    show_default=True,
    help="text; json; dot (Graphviz's DOT language: nodes, links with interfaces and "
    "addresses, impairments); svg (drawn by Graphviz's dot, where it is installed).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (--format json).")
def show(topology: str, fmt: str, as_json: bool) -> None:
    """Show a topology's hosts, links, addresses and routes (builds nothing).

    \b
    Examples:
      pycoz net show examples/topologies/web-lab.toml
      pycoz net show chain:routers=2 --format dot | dot -Tpng > chain.png
      pycoz net show examples/topologies/web-lab.toml --format svg > web-lab.svg
    """
    from pycoz_cli.core.net.topology import resolve

    topo = resolve(topology)
    if as_json or fmt == "json":
        import json

        click.echo(json.dumps(topo.to_dict(), indent=1))
    elif fmt in ("dot", "svg"):
        from pycoz_cli.core.net import draw

        click.echo(draw.to_dot(topo) if fmt == "dot" else draw.to_svg(topo), nl=False)
    else:
        from pycoz_cli.api import describe

        click.echo(describe(topo))


@net.command(context_settings=CONTEXT)
@click.argument("file", type=click.Path(dir_okay=False))
def check(file: str) -> None:
    """Validate a topology file."""
    from pycoz_cli.core.net.topofile import load

    topo = load(file)
    click.echo(f"{file}: ok ({len(topo.nodes)} nodes, {len(topo.links)} links)")


def _placed_run(network, host: str | None, command, fence: dict) -> int:
    """COMMAND in HOST with the host's own filesystem (as ``ip netns exec``),
    behind the fence (``fence``: the fence options' values)."""
    from pycoz_cli.core.container import Container

    container = Container(network=network, host=host, overlay=False, **fence)
    return run_in_container(container, command)


@net.command(cls=TailCommand, context_settings=RUN_CONTEXT)
@click.argument("topology", shell_complete=complete.topology)
@click.option(
    "--host",
    metavar="HOST",
    shell_complete=complete.host,
    help="Host to run in (default: the first host).",
)
@_impair_option
@fence_options
@command_args
def run(topology: str, host: str | None, impair, command: tuple[str, ...], **fence) -> int:
    """Build TOPOLOGY, run COMMAND in HOST, tear everything down.

    COMMAND sees the host's filesystem as it is (as with `ip netns exec`), with
    the topology's names in /etc/hosts; for a throwaway root as well, use
    `pycoz root --net TOPOLOGY --host HOST`. Exits with COMMAND's status.
    """
    from pycoz_cli.core.net.topology import Network

    fence = fence_from_options(fence)
    with Network(build_topology(topology, impair)) as network:
        network.netns(host or network.topology.first_host())
        network.start_commands()
        return _placed_run(network, host, command, fence)


@net.command(context_settings=CONTEXT)
@click.argument("topology", shell_complete=complete.topology)
@click.option(
    "--name",
    required=True,
    metavar="NAME",
    help="Name: namespaces are NAME-HOST in /run/netns (root's; an ordinary user's are "
    "kept by a holder process, state in $XDG_RUNTIME_DIR/pycoz/net).",
)
@_impair_option
def up(topology: str, name: str, impair) -> None:
    """Build TOPOLOGY as a named topology that outlives this command.

    As root, its namespaces are in /run/netns (ip netns sees them). An ordinary
    user's live in pycoz's user namespace, kept by a holder process until
    `pycoz net down`; state is under $XDG_RUNTIME_DIR/pycoz/net (else
    /tmp/pycoz-UID/pycoz/net), and other users neither see nor reach them.
    """
    from pycoz_cli.core.net import named

    topo = build_topology(topology, impair)
    network = named.up(topo, name, topology, impair)
    for ns in network.namespaces.values():
        ns.close()
    if network.relay_ns is not None:
        network.relay_ns.close()
    click.echo(f"{name}: up ({', '.join(f'{name}-{h}' for h in topo.nodes)})")


@net.command(name="exec", cls=TailCommand, context_settings=RUN_CONTEXT)
@click.argument("name", shell_complete=complete.named)
@click.argument("host", shell_complete=complete.host)
@fence_options
@command_args
def exec_(name: str, host: str, command: tuple[str, ...], **fence) -> int:
    """Run COMMAND in HOST of the running named topology NAME."""
    from pycoz_cli.core.net import named

    # A user's topology: its user namespace, before --rootless makes one; once.
    state = named.join(name)
    fence = fence_from_options(fence)
    joined = named.Joined(name, state)
    try:
        joined.netns(host)
        return _placed_run(joined, host, command, fence)
    finally:
        joined.close()


@net.command(context_settings=CONTEXT)
@click.argument("name", shell_complete=complete.named)
def down(name: str) -> None:
    """Remove the named topology NAME: exactly what pycoz made for it."""
    from pycoz_cli.core.net import named

    removed = named.down(name)
    click.echo(f"{name}: down ({len(removed)} namespaces removed)")


@net.command(name="list", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(as_json: bool) -> None:
    """List named topologies and their state (up, building, broken): root's as
    root, the user's own otherwise."""
    from pycoz_cli.core.net import named

    rows = [
        {
            "name": s["name"],
            "topology": s["spec"],
            "status": named.status(s),
            "hosts": s["hosts"],
            "namespaces": s["namespaces"],
        }
        for s in named.list_states()
    ]
    if as_json:
        import json

        click.echo(json.dumps(rows, indent=1))
        return
    for row in rows:
        click.echo(
            f"{row['name']:<16} {row['status']:<9} {row['topology']:<20} {' '.join(row['hosts'])}"
        )


@net.command(context_settings=CONTEXT)
def prune() -> None:
    """Remove named topologies that are broken or half-built (made by pycoz only)."""
    from pycoz_cli.core.net import named

    pruned = named.prune()
    click.echo(f"pruned {len(pruned)}" + (f": {', '.join(pruned)}" if pruned else ""))


@net.command(name="set", context_settings=CONTEXT)
@click.argument("name", shell_complete=complete.named)
@click.argument("link", shell_complete=complete.link)
@click.option("--delay", metavar="DURATION", help="e.g. 50ms")
@click.option("--jitter", metavar="DURATION", help="e.g. 5ms")
@click.option("--loss", metavar="PERCENT", help="e.g. 1%")
@click.option("--corrupt", metavar="PERCENT", help="e.g. 0.1%")
@click.option("--rate", metavar="RATE", help="e.g. 10mbit")
@click.option(
    "--from",
    "sender",
    metavar="NODE",
    shell_complete=complete.link_end,
    help="Only traffic sent by NODE (default: both directions).",
)
def set_(name: str, link: str, sender: str | None, **values) -> None:
    """Change the impairments of LINK (h1-h2) in the running topology NAME.

    Unset values are cleared: `pycoz net set lab h1-h2` removes every impairment.
    On a kernel without netem, only a link declared when the topology was made
    (`net up --impair LINK`, or impaired in its file) can change.

    \b
    Example:
      pycoz net up star:hosts=3 --name lab --impair h1-s1
      pycoz net set lab h1-s1 --delay 100ms --from h1
    """
    from pycoz_cli.core.net import named
    from pycoz_cli.core.net.topology import parse_impairment

    impair = parse_impairment(values)
    changed = named.set_impairment(name, link, impair, sender)
    click.echo(f"{name}: {' and '.join(changed)}: impairments {impair.describe()}")


def _summary(factory) -> str:
    """The first line of a topology factory's docstring ('' without one)."""
    lines = (getattr(factory, "__doc__", None) or "").strip().splitlines()
    return lines[0].replace("``", "") if lines else ""
