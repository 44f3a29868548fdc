"""Test helpers for pycoz plugins: test a topology, tracer or command the way
pycoz's own tests do, by running the real ``pycoz`` with the plugin installed.

Install the plugin in the test environment (``pip install -e .``), then::

    from pycoz_cli.testing import run_pycoz, topology, trace

    def test_line_has_the_hosts_asked_for():
        assert topology("line:hosts=3").hosts() == ["h1", "h2", "h3"]

    def test_writes_counts_the_bytes_of_echo():
        result = trace("writes", ["echo", "hi"])
        assert result.returncode == 0 and result.stdout == "hi\\n"
        assert "wrote 3 bytes" in result.trace

    def test_hello():
        assert run_pycoz("hello", "you").stdout == "hello you\\n"

``run_pycoz`` runs the CLI in a new process, as a user would, and fails the
test if pycoz printed a traceback; ``check=True`` also fails it on a warning
(a refused registration, a misspelled hook) or a non-zero exit.  To test how
pycoz treats a broken plugin, make throwaway ones with ``Dists``: a directory
on ``PYTHONPATH`` with ``NAME-VERSION.dist-info/entry_points.txt`` is an
installed distribution to Python and pycoz alike.

pycoz's pytest plugin (``pycoz_cli.pytest_plugin``, active wherever pycoz is
installed) has the fixture ``pycoz_dists``: a ``Dists`` in the test's
temporary directory.

Building a network or a container needs root (``pycoz net run``, ``--root``);
``topology`` and ``pycoz net show`` build nothing, and ``trace`` needs no root.
This module is part of the stable plugin API (see ``pycoz_cli.plugin_api``).
"""

from __future__ import annotations

import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pycoz_cli.core.net.topology import Topology

__all__ = ["PYCOZ", "Dists", "TraceResult", "run_pycoz", "topology", "trace"]

#: The command that runs this interpreter's pycoz: its console script, or
#: ``python -m pycoz_cli`` when there is none next to the interpreter.
PYCOZ: list[str] = (
    [script]
    if (script := shutil.which("pycoz", path=os.path.dirname(sys.executable)))
    else [sys.executable, "-m", "pycoz_cli"]
)

#: The operator switches a test must not inherit from the shell that runs it.
_SWITCHES = ("PYCOZ_LOAD_PLUGINS", "PYCOZ_DISABLE_PLUGIN_AUTOLOAD", "PYCOZ_DEBUG")


def _env(extra: Mapping[str, str] | None = None, path: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SWITCHES}
    env.update({"COLUMNS": "80", "NO_COLOR": "1"})
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (path, env.get("PYTHONPATH"))))
    env.update(extra or {})
    return env


def _checked(result: subprocess.CompletedProcess, check: bool) -> subprocess.CompletedProcess:
    command = shlex.join(result.args) if isinstance(result.args, list) else result.args
    if "Traceback (most recent call last)" in result.stderr:
        raise AssertionError(f"{command}: pycoz printed a traceback:\n{result.stderr}")
    if check and (result.returncode != 0 or "warning:" in result.stderr):
        raise AssertionError(
            f"{command}: exit {result.returncode}, stderr:\n{result.stderr or '(empty)'}"
        )
    return result


def run_pycoz(
    *args: str,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float = 60,
    check: bool = False,
) -> subprocess.CompletedProcess:
    """Run ``pycoz ARGS...`` in a new process; its ``returncode``, ``stdout``
    and ``stderr`` (text).  ``env`` adds variables (``PYCOZ_DEBUG``...); the
    operator switches of the calling shell are not inherited.  Raises
    ``AssertionError`` if pycoz printed a traceback, and with ``check`` if it
    warned or exited non-zero."""
    result = subprocess.run(
        [*PYCOZ, *args],
        capture_output=True,
        text=True,
        env=_env(env),
        input=input,
        timeout=timeout,
        check=False,
    )
    return _checked(result, check)


def topology(spec: str) -> Topology:
    """The ``Topology`` a spec (``line:hosts=3``) makes, through the installed
    plugins, checked as ``pycoz net`` checks it; nothing is built (no root
    needed).  A value out of range raises the factory's ``SpecError``."""
    from pycoz_cli.core.net.topology import resolve

    return resolve(spec)


class TraceResult(subprocess.CompletedProcess):
    """A ``pycoz trace`` run: the program's ``stdout``, pycoz's ``stderr``,
    the exit status, and ``trace``, what the tracer wrote."""

    trace: str


def trace(
    tracer: str,
    argv: Sequence[str],
    *options: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
    check: bool = False,
) -> TraceResult:
    """Run ``pycoz trace --tracer TRACER OPTIONS... -- ARGV`` with the trace
    written to a file (``-o``), so that ``trace`` holds the tracer's output
    alone and ``stdout`` the program's.  ``check`` as ``run_pycoz``'s."""
    with tempfile.TemporaryDirectory(prefix="pycoz-trace-") as tmp:
        out = os.path.join(tmp, "trace")
        result = run_pycoz(
            "trace",
            "--tracer",
            tracer,
            "-o",
            out,
            *options,
            "--",
            *argv,
            env=env,
            timeout=timeout,
            check=check,
        )
        try:
            with open(out, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except FileNotFoundError:
            text = ""
    done = TraceResult(result.args, result.returncode, result.stdout, result.stderr)
    done.trace = text
    return done


class Dists:
    """Throwaway installed distributions in the directory ``root``.

    ``add`` writes a plugin's modules and its ``NAME-VERSION.dist-info``
    (``METADATA`` and ``entry_points.txt``); ``run`` and ``python`` run pycoz
    or Python code with ``root`` first on ``PYTHONPATH``, so that they are
    installed for it, in front of anything installed with the same name.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = pathlib.Path(root)

    def add(
        self,
        name: str,
        modules: Mapping[str, str],
        entry_points: Mapping[str, Mapping[str, str]],
        version: str = "0.1",
        summary: str | None = None,
    ) -> pathlib.Path:
        """A distribution ``name`` with ``modules`` (module name -> source,
        dedented) and ``entry_points`` (group -> {name: value}); returns its
        dist-info directory.  ``summary`` is its one-line ``Summary``."""
        for module, source in modules.items():
            (self.root / f"{module}.py").write_text(textwrap.dedent(source))
        info = self.root / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        headers = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        if summary is not None:
            headers += f"Summary: {summary}\n"
        (info / "METADATA").write_text(headers + "\n")
        text = "".join(
            f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) + "\n"
            for group, eps in entry_points.items()
        )
        (info / "entry_points.txt").write_text(text)
        return info

    def env(self, **extra: str) -> dict[str, str]:
        """The environment ``run`` and ``python`` use (``root`` first on
        ``PYTHONPATH``, no operator switches), with ``extra`` added."""
        env = _env(extra)
        env["PYTHONPATH"] = str(self.root)
        return env

    def run(self, *args: str, timeout: float = 60, **extra: str) -> subprocess.CompletedProcess:
        """``pycoz ARGS...`` with these distributions installed; ``extra`` are
        environment variables."""
        return subprocess.run(
            [*PYCOZ, *args],
            capture_output=True,
            text=True,
            env=self.env(**extra),
            timeout=timeout,
            check=False,
        )

    def python(self, code: str, **extra: str) -> subprocess.CompletedProcess:
        """Python ``code`` (dedented) run with these distributions installed."""
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            env=self.env(**extra),
            timeout=60,
            check=False,
        )
