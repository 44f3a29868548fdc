"""Built-in tracer names, cheap to look up (no plugin manager for these)."""

from __future__ import annotations


def _strace(out, **options):
    from pycoz_cli.core.trace.output import StraceText

    return StraceText(out, **options)


def _sockets(out, **options):
    from pycoz_cli.tracers.sockets import SocketsTracer

    return SocketsTracer(out, **options)


#: name -> (factory(out, **options), default syscalls or None, description)
BUILTINS = {
    "strace": (_strace, None, "syscalls as strace prints them (the default)"),
    "sockets": (
        _sockets,
        (
            "socket",
            "bind",
            "listen",
            "connect",
            "accept",
            "accept4",
            "shutdown",
            "close",
            "getsockopt",
        ),
        "the life of every socket and a summary per connection",
    ),
}
