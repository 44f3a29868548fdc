"""Built-in tracer names, cheap to look up (no plugin manager for these)."""

from __future__ import annotations


def _strace(out, **options):
    from pycoz_cli.core.trace.output import StraceText

    return StraceText(out, **options)


def _sockets(out, **options):
    from pycoz_cli.tracers.sockets import SocketsTracer

    return SocketsTracer(out, **options)


#: What the sockets tracer must see (the seccomp prefilter lets the rest run).
SOCKET_SYSCALLS = (
    "socket",
    "bind",
    "listen",
    "connect",
    "accept",
    "accept4",
    "shutdown",
    "close",
    "getsockopt",
)

#: name -> (factory(out, **options), default syscalls or None, description)
BUILTINS = {
    "strace": (_strace, None, "syscalls as strace prints them (the default)"),
    "sockets": (
        _sockets,
        SOCKET_SYSCALLS,
        "the life of every socket and a summary per connection",
    ),
}
