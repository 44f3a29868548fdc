"""What a pycoz plugin may import: the stable, typed surface for plugin authors.

Import from here, not from ``pycoz_cli.core``: this module's names keep their
meaning across pycoz versions (a change is a new name, the old one deprecated
first); everything else in pycoz is internal and may change.  The package ships
a ``py.typed`` marker, so type checkers read these annotations.

* ``hookimpl`` marks a hook implementation (the hooks: ``pycoz_cli.hookspecs``,
  each with its reference in its docstring);
* ``Topology``, ``Node``, ``Route``, ``RootSpec`` (a host's own root) build
  what ``register_topologies``' factories return; ``SpecError`` is what a
  factory raises for a value out of range (one line, exit 2);
* ``resolve_topology`` makes the ``Topology`` of a spec (``ring:hosts=5``, a
  TOML file) as ``pycoz net`` does; ``Network`` builds one (root; ``with
  Network(topo) as network:``), ``Container`` runs a command in it or in a
  throwaway root (as ``pycoz_cli.Container``, the Python API);
* ``Tracer`` is the base class of what ``register_tracers``' factories return,
  ``Memory`` what its methods get to read the tracee with; ``SYSCALL_NAMES``
  and ``SYSCALL_NUMBERS`` translate syscall numbers of the running
  architecture; ``signed`` reads a raw argument as a signed number;
  ``INJECTED`` and ``DELAYED`` are the bits of ``injected``.

Importing this module costs next to nothing (it is imported whenever plugins
load): the topology builder and the syscall tables are imported on first use.
Test helpers for plugins are in ``pycoz_cli.testing``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from pycoz_cli.hookspecs import hookimpl

if TYPE_CHECKING:
    from pycoz_cli.core.container import Container
    from pycoz_cli.core.net.topology import Network, Node, RootSpec, Route, Topology
    from pycoz_cli.core.net.topology import resolve as resolve_topology
    from pycoz_cli.core.trace.syscalls import NAMES as SYSCALL_NAMES
    from pycoz_cli.core.trace.syscalls import NUMBERS as SYSCALL_NUMBERS
    from pycoz_cli.core.trace.tracer import DELAYED, INJECTED
    from pycoz_cli.errors import SpecError

__all__ = [
    "DELAYED",
    "INJECTED",
    "SYSCALL_NAMES",
    "SYSCALL_NUMBERS",
    "Container",
    "Memory",
    "Network",
    "Node",
    "RootSpec",
    "Route",
    "SpecError",
    "Topology",
    "Tracer",
    "hookimpl",
    "resolve_topology",
    "signed",
]

# INJECTED, DELAYED: bits of ``injected`` in ``Tracer.syscall``: fault injection
# (``-e inject=``) replaced the call's result, or delayed it (strace's
# "(INJECTED)", "(DELAYED)"); the tracer's own constants, read when first used.
_LAZY = {
    "INJECTED": ("pycoz_cli.core.trace.tracer", "INJECTED"),
    "DELAYED": ("pycoz_cli.core.trace.tracer", "DELAYED"),
    "Container": ("pycoz_cli.core.container", "Container"),
    "Network": ("pycoz_cli.core.net.topology", "Network"),
    "resolve_topology": ("pycoz_cli.core.net.topology", "resolve"),
    "Topology": ("pycoz_cli.core.net.topology", "Topology"),
    "Node": ("pycoz_cli.core.net.topology", "Node"),
    "Route": ("pycoz_cli.core.net.topology", "Route"),
    "RootSpec": ("pycoz_cli.core.net.topology", "RootSpec"),
    "SpecError": ("pycoz_cli.errors", "SpecError"),
    # {number: name} and {name: number} of the running architecture's syscalls.
    "SYSCALL_NAMES": ("pycoz_cli.core.trace.syscalls", "NAMES"),
    "SYSCALL_NUMBERS": ("pycoz_cli.core.trace.syscalls", "NUMBERS"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def signed(value: int, bits: int = 64) -> int:
    """A raw syscall argument read as a signed ``bits``-bit number.

    Arguments reach a tracer as the kernel passes them: unsigned 64-bit
    integers.  A file descriptor argument of ``openat`` that is ``AT_FDCWD``
    arrives as ``0xffffffffffffff9c``; ``signed(args[0], 32)`` is -100.

    >>> signed(2**64 - 100), signed(0xFFFFFF9C, 32), signed(5)
    (-100, -100, 5)
    """
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


class Memory(Protocol):
    """A tracee's memory, as ``Tracer.syscall`` and ``Tracer.enter`` get it.

    Valid only during the call it is passed to (the tracee is stopped then; a
    later read may see other data, or fail once the process has exited or
    exec'd).  Reads fail with ``OSError`` (EFAULT, EIO) for an address the
    tracee has not mapped: catch it, as a pointer argument may be anything.
    """

    def read(self, addr: int, size: int) -> bytes:
        """Up to ``size`` bytes (at most 65536) at ``addr``; fewer only at the
        end of a mapping.  Raises ``OSError`` if none can be read."""
        ...

    def read_cstring(self, addr: int, limit: int) -> bytes:
        """The NUL-terminated string at ``addr``, without its NUL, at most
        ``limit`` bytes.  Raises ``OSError`` if nothing can be read."""
        ...


class Tracer:
    """The base class of a tracer: the sink ``pycoz trace --tracer NAME`` feeds.

    Register a factory that makes one (``register_tracers``)::

        class Opens(Tracer):
            def syscall(self, pid, nr, args, retval, is_error, t_enter, t_exit,
                        injected, memory):
                if SYSCALL_NAMES.get(nr) == "openat" and not is_error:
                    path = memory.read_cstring(args[1], 4096)
                    self.out.write(f"{pid} opened {path.decode(errors='replace')}\\n")

        @hookimpl
        def register_tracers(register):
            register("opens", Opens, ("openat",), "files opened")

    The ptrace loop calls the methods from one thread, while the tracee waits:
    keep them quick, or return a callable from ``syscall`` to do the slow part
    after the tracee has been resumed.  A method that raises stops the tracer:
    pycoz calls it no more, lets the program run to its end, and exits 125
    with one line naming the plugin and the error.  Write only to ``self.out``
    (the trace's output: stderr, or the file of ``-o FILE``).
    """

    #: Syscall numbers for which ``enter`` is called at the call's entry, to read
    #: what the kernel will overwrite (a buffer that ``read`` fills, say).
    decode_at_entry: frozenset[int] = frozenset()

    def __init__(self, out: TextIO, **options: Any) -> None:
        """``out`` is where the trace goes; ``options`` are the command line's
        settings: ``strsize`` (-s), ``decode_fds`` (-y: false, or the set of
        ``-e decode-fds=`` words asked for), ``status`` and
        ``signals`` (-e status=, -e signal=) and ``quiet`` (-q); a tracer may
        ignore them."""
        self.out = out
        self.options = options

    def syscall(
        self,
        pid: int,
        nr: int,
        args: tuple[int, ...],
        retval: int | None,
        is_error: bool,
        t_enter: float,
        t_exit: float | None,
        injected: int,
        memory: Memory,
    ) -> Callable[[], None] | None:
        """A traced call of process ``pid`` has returned.

        * ``nr``: the syscall number (``SYSCALL_NAMES[nr]`` is its name on the
          running architecture; ``SYSCALL_NUMBERS["openat"]`` the other way).
          Only the calls in the tracer's registered ``syscalls`` (or the user's
          ``-e trace=``) arrive.
        * ``args``: the six arguments as the kernel passes them, raw unsigned
          64-bit values: a negative int argument arrives as a large number
          (``signed(args[0], 32)`` for an fd or ``AT_FDCWD``); a pointer is an
          address in the tracee (``memory.read(args[1], n)``).
        * ``retval``: the result, signed; on failure (``is_error``) minus the
          errno (-2 for ENOENT).  ``retval`` is None for a call that never
          returns (``exit``, ``exit_group``, and a process killed in a call);
          then ``t_exit`` is None too.  An ``execve`` that succeeded returns 0.
        * ``t_enter``, ``t_exit``: ``time.monotonic()`` at entry and return.
        * ``injected``: 0, or the bits ``INJECTED`` and ``DELAYED`` when
          ``-e inject=`` changed the call.
        * ``memory``: the tracee's memory (``Memory``), readable now.

        Return None, or a callable: pycoz resumes the tracee first, and the
        callable is called later (with no arguments), so that formatting and
        writing run while the tracee runs on; read what it needs from
        ``memory`` before returning, as the tracee may change its memory once
        resumed.
        """
        return None

    def enter(self, pid: int, nr: int, args: tuple[int, ...], memory: Memory) -> None:
        """A call in ``decode_at_entry`` is about to run (``args`` as in
        ``syscall``): read the memory it will overwrite."""

    def process(self, kind: str, pid: int, **info: Any) -> None:
        """Something happened to a traced process; ``kind`` and ``info``:

        * ``"start"``: the traced program ``pid`` is about to run (``-p``:
          ``"attach"`` with ``threads=`` the number of threads attached);
        * ``"fork"``: ``pid`` made a process or thread, ``child=`` its pid;
        * ``"exec"``: ``pid`` exec'd a new program (its memory is new);
        * ``"exit"``: ``pid`` exited, ``code=`` its exit status;
        * ``"killed"``: ``pid`` died of a signal, ``signal=`` its number and
          ``core=`` whether it dumped core;
        * ``"signal"``: a signal is delivered to ``pid``: ``signal=``,
          ``info=`` (signo, errno, code, sender pid, sender uid) and
          ``fields=`` (the siginfo by field name: ``si_code``, ``si_pid``...);
        * ``"stopped"``: ``pid`` is stopped by ``signal=`` (SIGSTOP, SIGTSTP...);
        * ``"detach"``: pycoz let go of ``pid``, which runs on (after ``-p``).

        New kinds and keys may be added: ignore what you do not know.
        """

    def finish(self) -> None:
        """Tracing is over (every traced process is gone, or detached): write
        a summary, if any, and flush ``out``."""
        self.out.flush()
