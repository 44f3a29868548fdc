"""The built-in tracers, registered through the same hook as any plugin's."""

from __future__ import annotations

from pycoz_cli.hookspecs import hookimpl
from pycoz_cli.tracers import registry


@hookimpl
def register_tracers(register):
    for name, (factory, syscalls, description) in registry.BUILTINS.items():
        register(name, factory, syscalls, description)
