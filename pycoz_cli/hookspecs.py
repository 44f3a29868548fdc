"""The plugin contract: pluggy hook specifications of project ``pycoz``.

A plugin is a module (or object) with functions marked ``@hookimpl``, installed
as an entry point of group ``pycoz``; the subcommands it adds are also declared
in group ``pycoz.commands``, so that ``pycoz --help`` lists them without
importing the plugin::

    [project.entry-points.pycoz]
    ring = "pycoz_ring.plugin"

    [project.entry-points."pycoz.commands"]
    reach = "pycoz_ring.cli:reach"

Built-ins are plugins too (``pycoz_cli.plugins.DEFAULT_PLUGINS``), registered
through the same manager and the same hooks.  Each hook's docstring below is its
reference; what plugins import (``hookimpl``, ``Topology``, ``Tracer``...) is in
``pycoz_cli.plugin_api``, and test helpers in ``pycoz_cli.testing``.  An
implementation may take fewer arguments than its hook (pluggy passes only those
it names); one that names a hook pycoz does not have is left out with a warning
(``check_pending``).

Two kinds of hooks:

* ``register_*`` hooks are called when pycoz needs what they provide (an unknown
  subcommand, topology or tracer, or a listing).  A registration that claims a
  name already taken (built-ins claim first, then plugins in the order they
  load), or that breaks the contract, is refused with a warning naming both
  sides; everything else keeps working.
* ``pycoz_*`` lifecycle hooks are called as containers and networks start and
  stop, in every plugin that implements them and declares its entry-point name
  in group ``pycoz.lifecycle`` as well (with none declared, a container start
  reads that from metadata and imports neither pluggy nor any plugin).  They
  observe: what they return is ignored, and one that raises is named in a
  warning while pycoz and the other plugins carry on.  They run in pycoz's own
  process, between setup steps: keep them short.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from pluggy import HookimplMarker, HookspecMarker

if TYPE_CHECKING:
    import click

    from pycoz_cli.core.container import Container
    from pycoz_cli.core.net.topology import Network, Topology
    from pycoz_cli.plugin_api import Tracer

hookspec = HookspecMarker("pycoz")
hookimpl = HookimplMarker("pycoz")


class RegisterTopology(Protocol):
    """The ``register`` that ``register_topologies`` gets."""

    def __call__(
        self,
        name: str,
        factory: Callable[..., Topology],
        params: Mapping[str, tuple[type, Any, str]] | None = None,
    ) -> None: ...


class RegisterTracer(Protocol):
    """The ``register`` that ``register_tracers`` gets."""

    def __call__(
        self,
        name: str,
        factory: Callable[..., Tracer],
        syscalls: Sequence[str] | None = None,
        description: str = "",
    ) -> None: ...


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add subcommands: ``cli.add_command(command)`` or ``@cli.command()``.

    ``cli`` stands for the ``pycoz`` group: commands added to it become
    ``pycoz NAME``.  A name may belong to only one plugin and never to a
    built-in command: a clash is refused with a warning naming both.  Declare each command in
    entry-point group ``pycoz.commands`` too (``NAME = "module:attr"``, the
    command object): ``pycoz --help`` then lists it, and ``pycoz NAME`` imports
    that module only, without loading other plugins.  An undeclared command
    still works, but is found only by loading every plugin.

    >>> @hookimpl
    ... def register_commands(cli):
    ...     cli.add_command(reach)
    """


@hookspec
def register_topologies(register: RegisterTopology) -> None:
    """Register topology families: ``register(name, factory, params)``.

    ``factory(**kwargs)`` returns a ``pycoz_cli.plugin_api.Topology`` (its
    docstring's first line describes the family in ``pycoz net topologies``);
    raise ``pycoz_cli.plugin_api.SpecError`` for values out of range (one line,
    exit 2).  Anything else it raises, or a return value that is no Topology,
    is one line naming the plugin and where it was raised, exit 125.  ``params``
    maps each keyword parameter of the factory to ``(type, default, help)``,
    type ``int``, ``float`` or ``str``, so that ``NAME:key=value`` on the
    command line is converted and checked before the factory is called.  Names
    are letters, digits, ``-`` and ``_``.  A name may be registered by only one
    plugin, and not by a plugin if it is a built-in's; a clash, or a schema
    that breaks these rules, is refused with a warning naming the plugin(s).

    >>> @hookimpl
    ... def register_topologies(register):
    ...     register("ring", ring, {"hosts": (int, 4, "hosts on the ring")})
    """


@hookspec
def register_tracers(register: RegisterTracer) -> None:
    """Register tracers: ``register(name, factory, syscalls, description)``.

    ``factory(out, **options)`` returns the sink the ptrace loop feeds: a
    ``pycoz_cli.plugin_api.Tracer`` (subclass it; its docstrings are the
    tracer API: what ``syscall``, ``process``, ``enter`` and ``finish`` get,
    and when).  ``out`` is the trace's text stream (stderr, or ``-o FILE``);
    ``options`` are ``strsize`` (-s), ``decode_fds`` (-y: false, or the
    set of ``-e decode-fds=`` words asked for), ``status``,
    ``signals`` (-e status=, -e signal=) and ``quiet`` (-q).  ``syscalls`` are
    the names of the calls the tracer needs when the user gives no
    ``-e trace=`` (None: all); a name that is no syscall on any architecture
    pycoz knows is named in a warning.  Select with ``pycoz trace --tracer
    NAME``; ``-c``, ``--json``, ``-t``, ``-r``, ``-T`` and ``-ff -o`` (for
    strace's output only) are then refused, ``-o FILE`` is where ``out``
    writes.  A factory that returns no sink is one line before tracing starts;
    a sink that raises is called no more, the program runs to its end, and
    pycoz exits 125 with one line naming the plugin.  A name registered twice
    is refused with a warning naming both plugins.

    >>> @hookimpl
    ... def register_tracers(register):
    ...     register("opens", Opens, ("openat",), "files opened")
    """


@hookspec
def pycoz_network_up(network: Network) -> None:
    """A topology's network has just been built, before anything runs in it.

    ``network`` is a ``pycoz_cli.core.net.topology.Network``: ``network.topology``
    is the model (``nodes``, ``links``, ``hosts()``, ``to_dict()``),
    ``network.name`` is the name of a named topology (``pycoz net up``) or None
    for an ephemeral one, and ``network.netns(host)`` gives a host's namespace
    (``.fd``, ``with .entered():`` to run Python code inside it).  Declared host
    commands start after this hook.  Called for ``pycoz net run/up``,
    ``--net`` and the Python API's ``Network``.
    """


@hookspec
def pycoz_before_command(container: Container, argv: Sequence[str]) -> None:
    """A command is about to start in ``container`` (a ``Container``, checked).

    ``argv`` is the command as it will be executed (the shell when none was
    given).  ``container.network`` and ``container.host`` say where it runs:
    the network and the host actually used (its first host when none was
    chosen), or None for the machine's own network; ``container.overlay`` is
    False for commands run on the host's filesystem (``pycoz net run``,
    declared host commands).
    Called for every command pycoz starts in a container: ``pycoz root``,
    ``pycoz net run/exec``, ``pycoz trace --root/--net``, commands declared by
    a topology, and ``Container.spawn``/``run`` from Python.
    """


@hookspec
def pycoz_after_command(container: Container, argv: Sequence[str], returncode: int) -> None:
    """The command started in ``container`` has ended (and been reaped).

    ``returncode`` is its exit status, or ``-N`` if signal N killed it (as
    ``subprocess`` says it; the CLI exits with 128+N).  Called once for each
    ``pycoz_before_command`` whose command started.
    """
