"""A plugin's tracer, checked before tracing starts and guarded while it runs.

The ptrace loop calls a sink between a tracee's stop and its resume: a sink
that raises there would leave the traced program stopped and pycoz waiting for
it.  So a plugin's sink is checked when its factory returns (an object with
``syscall``, ``process`` and ``finish``), and every call into it is guarded:
the first exception is kept, the sink is not called again, the traced program
runs on to its end untraced (its output intact), and ``finish`` then raises
one ``PluginError`` naming the plugin, the error and where it was raised.
"""

from __future__ import annotations

#: What every sink has (``enter`` and ``decode_at_entry`` are optional).
REQUIRED = ("syscall", "process", "finish")


def check(sink, subject: str):
    """``sink`` if it has what the loop calls; else a ``PluginError``."""
    from pycoz_cli.errors import PluginError

    if sink is None:
        raise PluginError(
            f"{subject}: the factory returned None, not a sink "
            f"(an object with {', '.join(REQUIRED)}; see pycoz_cli.plugin_api.Tracer)"
        )
    missing = [name for name in REQUIRED if not callable(getattr(sink, name, None))]
    if missing:
        raise PluginError(
            f"{subject}: the sink ({type(sink).__name__}) has no {', '.join(missing)} "
            "(see pycoz_cli.plugin_api.Tracer)"
        )
    decode_at_entry = getattr(sink, "decode_at_entry", frozenset())
    try:
        numbers = frozenset(decode_at_entry)
    except TypeError:
        numbers = None
    if numbers is None or not all(isinstance(n, int) for n in numbers):
        raise PluginError(f"{subject}: decode_at_entry must be a set of syscall numbers")
    if numbers and not callable(getattr(sink, "enter", None)):
        raise PluginError(f"{subject}: decode_at_entry is set but the sink has no enter()")
    return sink


class GuardedSink:
    """Forwards the loop's calls to a plugin's sink until one raises."""

    def __init__(self, sink, subject: str):
        self._sink = sink
        self._subject = subject
        #: The PluginError of the first failure (None while all is well).
        self.failed = None
        self.decode_at_entry = frozenset(getattr(sink, "decode_at_entry", frozenset()))
        if self.decode_at_entry:
            self.enter = self._enter

    def _fail(self, what: str, err: Exception) -> None:
        if self.failed is None:
            from pycoz_cli.plugins import plugin_error

            self.failed = plugin_error(f"{self._subject}: {what}", err)

    def _enter(self, pid, nr, args, memory) -> None:
        if self.failed is None:
            try:
                self._sink.enter(pid, nr, args, memory)
            except Exception as err:
                self._fail("enter()", err)

    def syscall(self, *args):
        if self.failed is not None:
            return None
        try:
            later = self._sink.syscall(*args)
        except Exception as err:
            self._fail("syscall()", err)
            return None
        if later is None:
            return None
        if not callable(later):
            self._fail("syscall()", TypeError(f"returned a {type(later).__name__}, not a callable"))
            return None

        def run_later() -> None:
            if self.failed is None:
                try:
                    later()
                except Exception as err:
                    self._fail("the callable syscall() returned", err)

        return run_later

    def process(self, kind, pid, **info) -> None:
        if self.failed is None:
            try:
                self._sink.process(kind, pid, **info)
            except Exception as err:
                self._fail(f"process({kind!r})", err)

    def finish(self) -> None:
        """The sink's ``finish``; then, if the sink failed, its ``PluginError``."""
        if self.failed is None:
            try:
                self._sink.finish()
            except Exception as err:
                self._fail("finish()", err)
        if self.failed is not None:
            raise self.failed
