"""pycoz: throwaway Linux machines (root, network, tracer) for tests and debugging.

The Python API, kept thin and lazy so that ``import pycoz_cli`` stays cheap::

    from pycoz_cli import Network, run
    run(["sh", "-c", "rm -rf /etc; hostname"], hostname="box", capture_output=True)
    with Network("pair") as net:
        net["h1"].run(["ping", "-c1", "h2"], check=True, timeout=10)

``run``/``spawn``/``Popen`` have subprocess's semantics (``pycoz_cli.api``);
``Container`` is the spec underneath (``pycoz_cli.core.container``).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "Bind",
    "CommandNotExecutable",
    "CommandNotFound",
    "Container",
    "ContainerProcess",
    "ExitCode",
    "Host",
    "Network",
    "Popen",
    "PycozError",
    "SetupError",
    "SpecError",
    "Trace",
    "container",
    "run",
    "spawn",
    "trace_events",
]

_LAZY = {
    "Bind": "pycoz_cli.core.container",
    "Container": "pycoz_cli.core.container",
    "ContainerProcess": "pycoz_cli.core.process",
    "PycozError": "pycoz_cli.errors",
    "SetupError": "pycoz_cli.errors",
    "SpecError": "pycoz_cli.errors",
    "CommandNotFound": "pycoz_cli.errors",
    "CommandNotExecutable": "pycoz_cli.errors",
    "ExitCode": "pycoz_cli.errors",
    "trace_events": "pycoz_cli.core.trace.session",
    "Host": "pycoz_cli.api",
    "Network": "pycoz_cli.api",
    "Popen": "pycoz_cli.api",
    "Trace": "pycoz_cli.api",
    "container": "pycoz_cli.api",
    "run": "pycoz_cli.api",
    "spawn": "pycoz_cli.api",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pycoz_cli' has no attribute {name!r}")
    import importlib

    attr = "events" if name == "trace_events" else name
    return getattr(importlib.import_module(module), attr)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
