"""``pycoz plugins``: what is loaded, from which distribution, with which hooks."""

from __future__ import annotations

import json

import click

CONTEXT = {"help_option_names": ["-h", "--help"]}


@click.command(name="plugins", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """List plugins, their versions, hooks and what they provide.

    Built-in and installed plugins, each with its distribution and version, the
    hooks it implements, and the commands, topologies and tracers it provides.

    Installed plugins are entry points of group `pycoz`.
    PYCOZ_LOAD_PLUGINS=a,b loads only those; PYCOZ_DISABLE_PLUGIN_AUTOLOAD=1
    loads none. A plugin that could not be loaded is listed with the reason,
    and so is each registration refused (a name taken, a broken schema).
    PYCOZ_DEBUG=1 prints the traceback of a plugin's failure.

    \b
    Examples:
      pycoz plugins                              # what is installed, and from where
      pycoz plugins --json | jq '.[].hooks'      # the hooks each implements
      PYCOZ_LOAD_PLUGINS=ring pycoz plugins      # only the entry point named ring
    """
    from pycoz_cli import __version__
    from pycoz_cli import plugins as manager
    from pycoz_cli.entrypoints import normalize

    pm = manager.get_plugin_manager()
    commands = ctx.parent.command.load_plugins() if ctx.parent else {}
    provides: dict = {}
    for name, plugin in commands.items():
        provides.setdefault(plugin, {}).setdefault("commands", []).append(name)
    for name, (_, _, plugin) in manager.topology_registry().items():
        provides.setdefault(plugin, {}).setdefault("topologies", []).append(name)
    for name, (_, _, _, plugin) in manager.tracer_registry().items():
        provides.setdefault(plugin, {}).setdefault("tracers", []).append(name)
    rows = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        dist, value = manager.origin(name)
        rows.append(
            {
                "name": name,
                "distribution": normalize(dist.name) if dist else "pycoz",
                "version": dist.version if dist else __version__,
                "builtin": dist is None,
                "module": value or name,
                "hooks": sorted(caller.name for caller in pm.get_hookcallers(plugin) or ()),
                **{k: sorted(v) for k, v in sorted(provides.get(name, {}).items())},
                **({"refused": manager.refused[name]} if manager.refused.get(name) else {}),
            }
        )
    rows.sort(key=lambda row: (not row["builtin"], row["name"]))
    for name, reason in sorted(manager.failures.items()):
        rows.append({"name": name, "failed": reason})
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    for row in rows:
        if "failed" in row:
            click.echo(f"{row['name']}  not loaded: {row['failed']}")
            continue
        click.echo(f"{row['name']}  {row['distribution']} {row['version']}")
        click.echo(f"  hooks: {', '.join(row['hooks'])}")
        for kind in ("commands", "topologies", "tracers"):
            if row.get(kind):
                click.echo(f"  {kind}: {', '.join(row[kind])}")
        for reason in row.get("refused", ()):
            click.echo(f"  refused: {reason}")
