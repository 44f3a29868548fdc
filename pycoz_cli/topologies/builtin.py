"""The built-in topologies, registered through the same hook as any plugin's."""

from __future__ import annotations

from pycoz_cli.core.net.topology import BUILTINS
from pycoz_cli.hookspecs import hookimpl


@hookimpl
def register_topologies(register):
    for name, (factory, params) in BUILTINS.items():
        register(name, factory, params)
