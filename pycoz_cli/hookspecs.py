"""The plugin contract: pluggy hook specifications of project ``pycoz``.

A plugin is a module (or object) with functions marked ``@hookimpl``, installed
as an entry point of group ``pycoz``::

    [project.entry-points.pycoz]
    ring = "pycoz_ring.plugin"

Built-ins are plugins too (``pycoz_cli.plugins.DEFAULT_PLUGINS``), registered
through the same manager and the same hooks.  Each hook's docstring below is its
reference.
"""

from __future__ import annotations

from collections.abc import Callable

from pluggy import HookimplMarker, HookspecMarker

hookspec = HookspecMarker("pycoz")
hookimpl = HookimplMarker("pycoz")


@hookspec
def register_topologies(register: Callable[..., None]) -> None:
    """Register topology families: ``register(name, factory, params)``.

    ``factory(**kwargs)`` returns a ``pycoz_cli.core.topology.Topology``;
    ``params`` maps each keyword parameter to ``(type, default, help)``, so that
    ``NAME:key=value`` on the command line is converted and checked before the
    factory is called.  A name may be registered by only one plugin: a second
    registration is an error naming both plugins.

    >>> @hookimpl
    ... def register_topologies(register):
    ...     register("ring", ring, {"hosts": (int, 4, "hosts on the ring")})
    """


@hookspec
def register_tracers(register: Callable[..., None]) -> None:
    """Register tracers: ``register(name, factory, syscalls, description)``.

    ``factory(out, **options)`` returns a sink for the ptrace loop: an object with
    ``syscall(pid, nr, args, retval, is_error, t_enter, t_exit, injected, memory)``
    (called when a traced call returns; ``memory.read(addr, size)`` reads the
    tracee), ``process(kind, pid, **info)`` (start, fork, exec, exit, killed,
    signal, detach), ``finish()``, and optionally ``enter(pid, nr, args, memory)``
    for the numbers in its ``decode_at_entry``.  ``options`` are the -s/-y/-e
    status=/signal= settings and, for text tracers, -f/-t/-r/-T.  ``syscalls`` is
    the tuple of syscall names the tracer needs when the user gives no
    ``-e trace=`` (None: all).  Select with ``pycoz trace --tracer NAME``.
    """
