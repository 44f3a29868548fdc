"""The plugin module (entry point ``ring`` of group ``pycoz``).

Kept light: pycoz imports it whenever it loads plugins, so the topology code
and the command are imported only when used.
"""

from __future__ import annotations

from pycoz_cli.plugin_api import hookimpl


def ring(hosts: int = 4):
    """Hosts h1..hN in a ring, each linked to the next, routed both ways round."""
    from pycoz_ring.families import ring

    return ring(hosts)


def tree(depth: int = 2, fanout: int = 2):
    """Routers r0 (the root) to rN in a tree; hosts h1..hM are its leaves."""
    from pycoz_ring.families import tree

    return tree(depth, fanout)


@hookimpl
def register_topologies(register):
    register("ring", ring, {"hosts": (int, 4, "hosts on the ring (3 to 250)")})
    register(
        "tree",
        tree,
        {
            "depth": (int, 2, "levels of routers below the root's hosts (1 to 6)"),
            "fanout": (int, 2, "children of each router (1 to 16)"),
        },
    )


@hookimpl
def register_commands(cli):
    from pycoz_ring.cli import reach

    cli.add_command(reach)
