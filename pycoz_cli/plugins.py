"""The plugin manager: built-ins and entry points of group ``pycoz``, loaded lazily.

Nothing here is imported for ``pycoz --help`` or for a built-in topology: the
manager is made only when something only a plugin can provide is asked for (an
unknown topology name) or when plugins are listed.

Operator switches (as pytest's and llm's):

* ``PYCOZ_DISABLE_PLUGIN_AUTOLOAD=1`` — load no entry points;
* ``PYCOZ_LOAD_PLUGINS=a,b`` — load only these entry points (by name).
"""

from __future__ import annotations

import os
import sys

GROUP = "pycoz"
DEFAULT_PLUGINS = ("pycoz_cli.topologies.builtin", "pycoz_cli.tracers.builtin")

_manager = None


def warn(message: str) -> None:
    sys.stderr.write(f"pycoz: warning: {message}\n")


def get_plugin_manager():
    """The process-wide manager, made on first use."""
    global _manager
    if _manager is not None:
        return _manager
    import importlib

    import pluggy

    from pycoz_cli import hookspecs

    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    if not os.environ.get("PYCOZ_DISABLE_PLUGIN_AUTOLOAD"):
        _load_entry_points(pm)
    pm.check_pending()
    _manager = pm
    return pm


def _load_entry_points(pm) -> None:
    from importlib.metadata import entry_points

    wanted = os.environ.get("PYCOZ_LOAD_PLUGINS")
    allowed = {n.strip() for n in wanted.split(",") if n.strip()} if wanted else None
    for ep in entry_points(group=GROUP):
        if allowed is not None and ep.name not in allowed:
            continue
        if pm.get_plugin(ep.name) is not None:
            continue
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except Exception as err:
            warn(f"plugin {ep.name!r} ({ep.value}) failed to load: {type(err).__name__}: {err}")


def topology_registry() -> dict:
    """name -> (factory, params, plugin name) from every plugin's register_topologies."""
    from pycoz_cli.errors import SpecError

    pm = get_plugin_manager()
    registry: dict = {}
    for impl in pm.hook.register_topologies.get_hookimpls():
        plugin = impl.plugin_name

        def register(name, factory, params=None, _plugin=plugin):
            if name in registry:
                other = registry[name][2]
                raise SpecError(
                    f"topology {name!r} is registered by both plugin {other!r} and "
                    f"plugin {_plugin!r}"
                )
            registry[name] = (factory, dict(params or {}), _plugin)

        try:
            impl.function(register=register)
        except SpecError:
            raise
        except Exception as err:
            warn(f"plugin {plugin!r}: register_topologies failed: {type(err).__name__}: {err}")
    return registry


def tracer_registry() -> dict:
    """name -> (factory, syscalls, description, plugin) from every register_tracers."""
    from pycoz_cli.errors import SpecError

    pm = get_plugin_manager()
    registry: dict = {}
    for impl in pm.hook.register_tracers.get_hookimpls():
        plugin = impl.plugin_name

        def register(name, factory, syscalls=None, description="", _plugin=plugin):
            if name in registry:
                raise SpecError(
                    f"tracer {name!r} is registered by both plugin {registry[name][3]!r} "
                    f"and plugin {_plugin!r}"
                )
            registry[name] = (factory, syscalls, description, _plugin)

        try:
            impl.function(register=register)
        except SpecError:
            raise
        except Exception as err:
            warn(f"plugin {plugin!r}: register_tracers failed: {type(err).__name__}: {err}")
    return registry


def find_tracer(name: str):
    """(factory, syscalls) for a tracer name: built-ins directly, else plugins."""
    from pycoz_cli.errors import SpecError
    from pycoz_cli.tracers.registry import BUILTINS

    if name in BUILTINS:
        factory, syscalls, _ = BUILTINS[name]
        return factory, syscalls
    registry = tracer_registry()
    if name not in registry:
        import difflib

        close = difflib.get_close_matches(name, registry, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SpecError(
            f"--tracer {name!r}: unknown tracer{hint}; known: {', '.join(sorted(registry))}"
        )
    factory, syscalls, _, _ = registry[name]
    return factory, syscalls
