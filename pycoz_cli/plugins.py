"""The plugin manager: built-ins and entry points of group ``pycoz``, loaded lazily.

Nothing here is imported for ``pycoz --help`` or for a built-in topology: the
manager is made only when something only a plugin can provide is asked for (an
unknown subcommand, topology or tracer), when plugins are listed, or when a
container or network starts while an installed plugin declares lifecycle hooks
(entry-point group ``pycoz.lifecycle``, so that they run).

Operator switches (as pytest's and llm's), applied in ``pycoz_cli.entrypoints``:

* ``PYCOZ_DISABLE_PLUGIN_AUTOLOAD=1`` — load no entry points;
* ``PYCOZ_LOAD_PLUGINS=a,b`` — load only these entry points (by name).

Failures are contained: a plugin that cannot be imported or registered, or that
implements a hook pycoz does not have (``check_pending``), is named in one
warning line and left out; a lifecycle hook that raises is named in one warning
line and the other plugins still run.  Two plugins claiming one name, or a
registration that breaks the contract, is an error naming them.
"""

from __future__ import annotations

import re
import sys

from pycoz_cli.entrypoints import PLUGINS as GROUP

DEFAULT_PLUGINS = ("pycoz_cli.topologies.builtin", "pycoz_cli.tracers.builtin")

_manager = None
#: plugin name -> (distribution or None, entry-point value) of loaded entry points.
_origins: dict = {}
#: plugin name -> why it was left out (shown by ``pycoz plugins``).
failures: dict[str, str] = {}


def warn(message: str) -> None:
    """One line on stderr, whatever the message (pluggy's span several)."""
    line = "; ".join(part.strip() for part in message.splitlines() if part.strip())
    sys.stderr.write(f"pycoz: warning: {line}\n")
    sys.stderr.flush()


def get_plugin_manager():
    """The process-wide manager, made on first use."""
    global _manager
    if _manager is not None:
        return _manager
    import importlib

    import pluggy

    from pycoz_cli import entrypoints, hookspecs

    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    pm.check_pending()
    for name, value, dist in entrypoints.plugins():
        if pm.get_plugin(name) is not None:
            continue
        where = f"plugin {name!r} ({entrypoints.normalize(dist.name)} {dist.version})"
        try:
            plugin = entrypoints.load(value)
        except Exception as err:
            _left_out(name, f"{where} failed to import {value}: {type(err).__name__}: {err}")
            continue
        try:
            pm.register(plugin, name=name)
        except pluggy.PluginValidationError as err:
            # e.g. an argument the hook does not have; pluggy's text names the hook.
            detail = str(err).partition("\n")[2] or str(err)
            _left_out(name, f"{where} left out: {detail}")
            continue
        except Exception as err:
            _left_out(name, f"{where} failed to register: {type(err).__name__}: {err}")
            continue
        try:
            pm.check_pending()
        except pluggy.PluginValidationError as err:
            pm.unregister(name=name)
            _left_out(name, f"{where} left out: {_unknown_hook(err)}")
            continue
        _origins[name] = (dist, value)
        undeclared = _lifecycle_hooks(pm, name) if name not in entrypoints.lifecycle() else []
        if undeclared:
            warn(
                f"{where} implements {', '.join(undeclared)} but does not declare it in "
                f"entry-point group {entrypoints.LIFECYCLE!r}: not called"
            )
    _manager = pm
    return pm


LIFECYCLE_HOOKS = ("pycoz_network_up", "pycoz_before_command", "pycoz_after_command")


def _lifecycle_hooks(pm, name: str) -> list[str]:
    plugin = pm.get_plugin(name)
    return [
        hook
        for hook in LIFECYCLE_HOOKS
        if any(impl.plugin is plugin for impl in getattr(pm.hook, hook).get_hookimpls())
    ]


def _left_out(name: str, message: str) -> None:
    failures[name] = message
    warn(message)


def _unknown_hook(err) -> str:
    # pluggy: "unknown hook 'x' in plugin <module ...>"; say it without the repr.
    match = re.search(r"unknown hook '([^']+)'", str(err))
    if match:
        return f"it implements {match.group(1)!r}, which is not a pycoz hook (misspelled?)"
    return str(err)


def origin(plugin_name: str):
    """(distribution or None, entry-point value) a loaded plugin came from."""
    return _origins.get(plugin_name, (None, None))


def describe(plugin_name: str) -> str:
    """``plugin 'ring' (pycoz-ring 0.1.0)``, or ``built-in plugin 'x'``."""
    dist, _ = origin(plugin_name)
    if dist is None:
        return f"built-in plugin {plugin_name!r}"
    from pycoz_cli.entrypoints import normalize

    return f"plugin {plugin_name!r} ({normalize(dist.name)} {dist.version})"


# --- lifecycle hooks -----------------------------------------------------------

_declared: set | None = None


def active() -> bool:
    """Whether lifecycle hooks have implementations to call: an installed plugin
    declares some (entry-point group ``pycoz.lifecycle``).  Cheap: one metadata
    scan per process, no import; with none declared, a container start loads no
    plugin at all."""
    global _declared
    if _declared is None:
        from pycoz_cli import entrypoints

        _declared = entrypoints.lifecycle()
    return bool(_declared)


def notify(hook: str, **kwargs) -> None:
    """Call lifecycle hook ``hook`` in every plugin that implements and declares it.

    A plugin whose implementation raises is named in one warning; the others
    still run (each implementation is called on its own, in pluggy's order).
    """
    if not active():
        return
    caller = getattr(get_plugin_manager().hook, hook)
    for impl in reversed(caller.get_hookimpls()):
        if impl.plugin_name not in _declared:
            continue
        try:
            impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        except Exception as err:
            warn(f"{describe(impl.plugin_name)}: {hook} failed: {type(err).__name__}: {err}")


# --- registries ------------------------------------------------------------------

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_PARAM_TYPES = (int, float, str)


def _registrations(hook: str, make_register):
    """Call a ``register_*`` hook in each plugin with its own ``register``.

    A plugin whose implementation raises (other than by breaking the contract,
    a SpecError) is named in one warning; the others are unaffected.
    """
    from pycoz_cli.errors import SpecError

    pm = get_plugin_manager()
    for impl in reversed(getattr(pm.hook, hook).get_hookimpls()):
        try:
            impl.function(**{impl.argnames[0]: make_register(impl.plugin_name)})
        except SpecError:
            raise
        except Exception as err:
            warn(f"{describe(impl.plugin_name)}: {hook} failed: {type(err).__name__}: {err}")


def topology_registry() -> dict:
    """name -> (factory, params, plugin name) from every plugin's register_topologies."""

    registry: dict = {}

    def make_register(plugin):
        def register(name, factory, params=None):
            where = _claim("topology", name, factory, plugin, registry)
            registry[name] = (factory, _check_params(where, factory, params), plugin)

        return register

    _registrations("register_topologies", make_register)
    return registry


def _claim(kind: str, name, factory, plugin: str, registry: dict) -> str:
    """Check a registration's name (free, well formed) and factory; where it is
    from, for later messages.  Each registry entry ends with the plugin's name."""
    from pycoz_cli.errors import SpecError

    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise SpecError(
            f"{describe(plugin)}: {kind} name {name!r}: use letters, digits, "
            "'-' or '_', starting with a letter"
        )
    if name in registry:
        raise SpecError(
            f"{kind} {name!r} is registered by both {describe(registry[name][-1])} "
            f"and {describe(plugin)}"
        )
    where = f"{describe(plugin)}: {kind} {name!r}"
    if not callable(factory):
        raise SpecError(f"{where}: factory {factory!r} is not callable")
    return where


def _check_params(where: str, factory, params) -> dict:
    """A topology's parameter schema: {name: (int|float|str, default, help)}."""
    from pycoz_cli.errors import SpecError

    if params is None:
        return {}
    if not isinstance(params, dict):
        raise SpecError(f"{where}: params must be a dict, not {type(params).__name__}")
    import inspect

    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        signature = None
    for key, spec in params.items():
        at = f"{where}: parameter {key!r}"
        if not isinstance(key, str) or not key.isidentifier():
            raise SpecError(f"{at}: not a keyword name")
        if not (isinstance(spec, tuple) and len(spec) == 3):
            raise SpecError(f"{at}: expected (type, default, help), got {spec!r}")
        kind, default, text = spec
        if kind not in _PARAM_TYPES:
            raise SpecError(f"{at}: type {kind!r} is not int, float or str")
        if not isinstance(default, kind) or isinstance(default, bool):
            raise SpecError(f"{at}: default {default!r} is not {kind.__name__}")
        if not isinstance(text, str):
            raise SpecError(f"{at}: help {text!r} is not a string")
        if signature is not None:
            try:
                signature.bind_partial(**{key: default})
            except TypeError:
                raise SpecError(f"{at}: the factory takes no such keyword") from None
    return dict(params)


def tracer_registry() -> dict:
    """name -> (factory, syscalls, description, plugin) from every register_tracers."""
    from pycoz_cli.errors import SpecError

    registry: dict = {}

    def make_register(plugin):
        def register(name, factory, syscalls=None, description=""):
            where = _claim("tracer", name, factory, plugin, registry)
            if syscalls is not None and (
                isinstance(syscalls, str) or not all(isinstance(s, str) for s in syscalls)
            ):
                raise SpecError(f"{where}: syscalls must be a tuple of names or None")
            registry[name] = (factory, syscalls, description, plugin)

        return register

    _registrations("register_tracers", make_register)
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


def register_commands(cli) -> dict:
    """Add every plugin's ``register_commands`` commands to the ``pycoz`` group.

    Each implementation gets a scratch group, so that what it adds is known to
    be its own; a name that is a built-in command (``cli.lazy``) or another
    plugin's is an error naming both.  Returns name -> plugin name.
    """
    import click

    from pycoz_cli.errors import SpecError

    added: dict = {}
    pm = get_plugin_manager()
    for impl in reversed(pm.hook.register_commands.get_hookimpls()):
        plugin = impl.plugin_name
        scratch = click.Group(name=cli.name)
        try:
            impl.function(**{impl.argnames[0]: scratch})
        except Exception as err:
            warn(f"{describe(plugin)}: register_commands failed: {type(err).__name__}: {err}")
            continue
        for name, command in scratch.commands.items():
            if name in cli.lazy:
                raise SpecError(
                    f"command {name!r} is both pycoz's own and registered by {describe(plugin)}"
                )
            if name in added:
                raise SpecError(
                    f"command {name!r} is registered by both {describe(added[name])} "
                    f"and {describe(plugin)}"
                )
            declared = cli.declared().get(name)
            known = cli.commands.get(name)
            if (declared is not None and declared[1] is not origin(plugin)[0]) or (
                known is not None and known is not command
            ):
                raise SpecError(
                    f"command {name!r} is declared by {cli.declared_by(name)} and "
                    f"registered by {describe(plugin)}"
                )
            added[name] = plugin
            cli.add_command(command, name)
    return added
