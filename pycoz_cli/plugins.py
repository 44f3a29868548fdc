"""The plugin manager: built-ins and entry points of group ``pycoz``, loaded lazily.

Nothing here is imported for ``pycoz --help`` or for a built-in topology: the
manager is made only when something only a plugin can provide is asked for (an
unknown subcommand, topology or tracer), or when plugins are listed.  When a
container or network starts, only the plugins that declare lifecycle hooks
(entry-point group ``pycoz.lifecycle``) are loaded, in a manager of their own,
so that their hooks run and no other plugin costs anything.

Operator switches (as pytest's and llm's), applied in ``pycoz_cli.entrypoints``:

* ``PYCOZ_DISABLE_PLUGIN_AUTOLOAD=1`` — load no entry points;
* ``PYCOZ_LOAD_PLUGINS=a,b`` — load only these entry points (by name).

Failures are contained: a plugin that cannot be imported or registered, or that
implements a hook pycoz does not have (``check_pending``), is named in one
warning line (with the file and line an import failed at) and left out; a
lifecycle hook that raises is named in one warning line and the other plugins
still run.  A registration that claims a name already taken (built-ins first,
then plugins in the order they load) or that breaks the contract is refused,
named with both sides in one warning, and everything else keeps working: no
plugin can stop ``pycoz plugins`` from showing what went wrong.  A plugin that
raises at run time (a topology factory, a tracer, a command) is one line naming
it, the error and where it was raised, exit 125 (``PluginError``);
``PYCOZ_DEBUG=1`` prints the traceback first.
"""

from __future__ import annotations

import os
import re
import sys

from pycoz_cli.entrypoints import PLUGINS as GROUP

DEFAULT_PLUGINS = ("pycoz_cli.topologies.builtin", "pycoz_cli.tracers.builtin")

_manager = None
#: plugin name -> (distribution or None, entry-point value) of loaded entry points.
_origins: dict = {}
#: plugin name -> why it was left out (shown by ``pycoz plugins``).
failures: dict[str, str] = {}
#: plugin name -> the registrations of it that were refused, why (``pycoz plugins``).
refused: dict[str, list[str]] = {}
_warned: set[str] = set()


def warn(message: str, once: bool = False) -> None:
    """One line on stderr, whatever the message (pluggy's span several);
    ``once``: only the first time in this process (a registry may be made more
    than once)."""
    line = "; ".join(part.strip() for part in message.splitlines() if part.strip())
    if once and line in _warned:
        return
    _warned.add(line)
    sys.stderr.write(f"pycoz: warning: {line}\n")
    sys.stderr.flush()


def debug() -> bool:
    """``PYCOZ_DEBUG=1``: a plugin's failure comes with its traceback."""
    return os.environ.get("PYCOZ_DEBUG", "") not in ("", "0")


def _show_traceback(err: BaseException) -> None:
    if debug():
        import traceback

        traceback.print_exception(err, file=sys.stderr)
        sys.stderr.flush()


def raised_at(err: BaseException) -> str:
    """``file.py:LINE`` where ``err`` was raised in a plugin's code: the
    innermost frame outside pycoz and the standard library ('' if none)."""
    if isinstance(err, SyntaxError) and err.filename:
        return f"{os.path.basename(err.filename)}:{err.lineno}"
    import traceback

    ours = os.path.dirname(os.path.abspath(__file__))
    stdlib = os.path.dirname(os.__file__)
    for frame in reversed(traceback.extract_tb(err.__traceback__)):
        name = frame.filename
        if name.startswith("<") or name.startswith((ours, stdlib)):
            continue
        return f"{os.path.basename(name)}:{frame.lineno}"
    return ""


def describe_error(err: BaseException) -> str:
    """``KeyError: 'x' (mesh.py:7)``."""
    at = raised_at(err)
    return f"{type(err).__name__}: {err}" + (f" ({at})" if at else "")


def plugin_error(subject: str, err: BaseException):
    """The ``PluginError`` for ``err``, raised by a plugin's ``subject``
    (``plugin 'mesh' (pycoz-mesh 0.1): topology 'mesh'``); its traceback is
    printed now under ``PYCOZ_DEBUG=1``."""
    from pycoz_cli.errors import PluginError

    _show_traceback(err)
    hint = "" if debug() else "; PYCOZ_DEBUG=1 shows the traceback"
    return PluginError(f"{subject} failed: {describe_error(err)}{hint}")


def call(plugin: str, what: str, func, /, *args, **kwargs):
    """``func(*args, **kwargs)``, plugin ``plugin``'s code: pycoz's own errors
    (``SpecError`` for a bad value) pass through; anything else becomes one
    ``PluginError`` naming the plugin, the error and where it was raised."""
    from pycoz_cli.errors import PycozError

    try:
        return func(*args, **kwargs)
    except PycozError:
        raise
    except Exception as err:
        raise plugin_error(f"{describe(plugin)}: {what}", err) from err


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
    lifecycle = entrypoints.lifecycle()
    for name, value, dist in entrypoints.plugins():
        if pm.get_plugin(name) is not None or not _load(pm, name, value, dist):
            continue
        undeclared = _lifecycle_hooks(pm, name) if name not in lifecycle else []
        if undeclared:
            where = f"plugin {name!r} ({entrypoints.normalize(dist.name)} {dist.version})"
            warn(
                f"{where} implements {', '.join(undeclared)} but does not declare it in "
                f"entry-point group {entrypoints.LIFECYCLE!r}: not called"
            )
    _manager = pm
    return pm


def _load(pm, name: str, value: str, dist) -> bool:
    """Import entry point ``name`` and register it in ``pm``; a failure is one
    warning (with where an import failed) and the plugin is left out."""
    import pluggy

    from pycoz_cli import entrypoints

    where = f"plugin {name!r} ({entrypoints.normalize(dist.name)} {dist.version})"
    try:
        plugin = entrypoints.load(value)
    except Exception as err:
        _show_traceback(err)
        _left_out(name, f"{where} failed to import {value}: {describe_error(err)}")
        return False
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as err:
        # e.g. an argument the hook does not have; pluggy's text names the hook.
        detail = str(err).partition("\n")[2] or str(err)
        _left_out(name, f"{where} left out: {detail}")
        return False
    except Exception as err:
        _left_out(name, f"{where} failed to register: {type(err).__name__}: {err}")
        return False
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as err:
        pm.unregister(name=name)
        _left_out(name, f"{where} left out: {_unknown_hook(err)}")
        return False
    _origins[name] = (dist, value)
    return True


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
    caller = getattr(_lifecycle_manager().hook, hook)
    for impl in reversed(caller.get_hookimpls()):
        if impl.plugin_name not in _declared:
            continue
        try:
            impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        except Exception as err:
            _show_traceback(err)
            warn(f"{describe(impl.plugin_name)}: {hook} failed: {describe_error(err)}")


_lifecycle_pm = None


def _lifecycle_manager():
    """The full manager if it is made; else one holding only the plugins that
    declare lifecycle hooks (a container start imports no other plugin)."""
    global _lifecycle_pm
    if _manager is not None:
        return _manager
    if _lifecycle_pm is None:
        import pluggy

        from pycoz_cli import entrypoints, hookspecs

        pm = pluggy.PluginManager(GROUP)
        pm.add_hookspecs(hookspecs)
        for name, value, dist in entrypoints.plugins():
            if name in _declared:
                _load(pm, name, value, dist)
        _lifecycle_pm = pm
    return _lifecycle_pm


# --- registries ------------------------------------------------------------------

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_PARAM_TYPES = (int, float, str)


def _implementations(pm, hook: str) -> list:
    """``hook``'s implementations, built-ins first, then plugins as they loaded:
    the order in which names are claimed."""
    impls = getattr(pm.hook, hook).get_hookimpls()
    return sorted(impls, key=lambda impl: impl.plugin_name not in DEFAULT_PLUGINS)


def _refuse(plugin: str, message: str) -> None:
    """A registration of ``plugin`` refused: one warning; listed by ``pycoz plugins``."""
    if "refused" not in message:
        message = f"{message}: refused"
    if message not in refused.setdefault(plugin, []):
        refused[plugin].append(message)
    warn(message, once=True)


def _registrations(hook: str, make_register):
    """Call a ``register_*`` hook in each plugin with its own ``register``.

    ``register`` refuses a registration that breaks the contract (a SpecError)
    with a warning and goes on; a plugin whose implementation raises is named in
    one warning.  Either way the other registrations and plugins are unaffected.
    """
    from pycoz_cli.errors import SpecError

    pm = get_plugin_manager()
    for impl in _implementations(pm, hook):
        plugin = impl.plugin_name
        inner = make_register(plugin)

        def register(*args, _inner=inner, _plugin=plugin, **kwargs):
            try:
                _inner(*args, **kwargs)
            except SpecError as err:
                _refuse(_plugin, str(err))
            except TypeError as err:  # a wrong call of register itself
                _refuse(_plugin, f"{describe(_plugin)}: {hook}: register(): {err}: refused")

        try:
            impl.function(**{impl.argnames[0]: register})
        except Exception as err:
            _show_traceback(err)
            warn(f"{describe(plugin)}: {hook} failed: {describe_error(err)}", once=True)


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


def topology_factory(name: str, factory, plugin: str):
    """``factory`` as ``resolve`` calls it: a plugin's failure (it raised, or
    returned no Topology) is one ``PluginError`` naming it."""
    if plugin in DEFAULT_PLUGINS:
        return factory

    def guarded(**kwargs):
        from pycoz_cli.core.net.topology import Topology
        from pycoz_cli.errors import PluginError

        topo = call(plugin, f"topology {name!r}", factory, **kwargs)
        if not isinstance(topo, Topology):
            raise PluginError(
                f"{describe(plugin)}: topology {name!r}: the factory returned "
                f"{'None' if topo is None else 'a ' + type(topo).__name__}, not a Topology"
            )
        return topo

    return guarded


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
            f"{describe(plugin)}: {kind} {name!r} refused: already registered by "
            f"{describe(registry[name][-1])}"
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
            if syscalls is not None:
                unknown = _unknown_syscalls(syscalls)
                if unknown:
                    # Not fatal: the tracer works, without the calls it misspelled.
                    warn(
                        f"{where}: {', '.join(map(repr, unknown))}: not a syscall on any "
                        "architecture pycoz knows (misspelled?): ignored",
                        once=True,
                    )
            registry[name] = (factory, syscalls, description, plugin)

        return register

    _registrations("register_tracers", make_register)
    return registry


def _unknown_syscalls(names) -> list[str]:
    """The names that are no syscall on any architecture pycoz has a table for
    (``open`` is x86_64's only: a tracer may list it for x86_64's sake)."""
    from pycoz_cli.core.trace import syscalls

    known = set(syscalls.NUMBERS)
    for machine in ("x86_64", "aarch64"):
        known.update(syscalls.for_arch(machine).numbers)
    return [name for name in names if name not in known]


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
    factory, syscalls, _, plugin = registry[name]
    return tracer_factory(name, factory, plugin), syscalls


def tracer_factory(name: str, factory, plugin: str):
    """``factory`` as ``pycoz trace`` calls it: a plugin's sink is checked
    before tracing starts and guarded while it runs (``tracers.guard``); a
    factory that raises or returns no sink is one ``PluginError``."""
    if plugin in DEFAULT_PLUGINS:
        return factory

    def guarded(out, **options):
        from pycoz_cli.tracers.guard import GuardedSink, check

        subject = f"{describe(plugin)}: tracer {name!r}"
        sink = check(call(plugin, f"tracer {name!r}", factory, out, **options), subject)
        return GuardedSink(sink, subject)

    return guarded


def register_commands(cli) -> dict:
    """Add every plugin's ``register_commands`` commands to the ``pycoz`` group.

    Each implementation gets a scratch group, so that what it adds is known to
    be its own.  A name that is a built-in command (``cli.lazy``), another
    plugin's, or declared by another distribution is refused with a warning
    naming both; the first claim keeps it.  Returns name -> plugin name.
    """
    import click

    added: dict = {}
    pm = get_plugin_manager()
    for impl in _implementations(pm, "register_commands"):
        plugin = impl.plugin_name
        scratch = click.Group(name=cli.name)
        try:
            impl.function(**{impl.argnames[0]: scratch})
        except Exception as err:
            _show_traceback(err)
            warn(f"{describe(plugin)}: register_commands failed: {describe_error(err)}", once=True)
            continue
        for name, command in scratch.commands.items():
            claim = f"{describe(plugin)}: command {name!r} refused"
            if name in cli.lazy:
                _refuse(plugin, f"{claim}: it is pycoz's own")
                continue
            if name in added:
                _refuse(plugin, f"{claim}: already registered by {describe(added[name])}")
                continue
            declared = cli.declared().get(name)
            known = cli.commands.get(name)
            if (declared is not None and declared[1] is not origin(plugin)[0]) or (
                known is not None and known is not command
            ):
                _refuse(plugin, f"{claim}: declared by {cli.declared_by(name)}")
                continue
            added[name] = plugin
            cli.registered[name] = plugin
            cli.add_command(command, name)
    return added
