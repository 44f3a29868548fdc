"""Throwaway plugin distributions for tests: real entry points, no mocks.

A directory on PYTHONPATH holding ``NAME-VERSION.dist-info/entry_points.txt``
and the plugin's module is an installed distribution as far as Python's import
system, importlib.metadata and pycoz are concerned.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap

PYCOZ = str(pathlib.Path(sys.executable).parent / "pycoz")


class Dists:
    """Distributions made in ``root`` (a tmp dir); ``run`` runs pycoz with them."""

    def __init__(self, root: pathlib.Path):
        self.root = root

    def add(self, name: str, modules: dict[str, str], entry_points: dict, version="0.1"):
        """A distribution ``name`` with ``modules`` (module name -> source) and
        ``entry_points`` (group -> {name: value})."""
        for module, source in modules.items():
            (self.root / f"{module}.py").write_text(textwrap.dedent(source))
        info = self.root / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n"
        )
        text = "".join(
            f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) + "\n"
            for group, eps in entry_points.items()
        )
        (info / "entry_points.txt").write_text(text)
        return info

    def env(self, **extra) -> dict:
        env = {**os.environ, "PYTHONPATH": str(self.root), "COLUMNS": "80", "NO_COLOR": "1"}
        for key in ("PYCOZ_LOAD_PLUGINS", "PYCOZ_DISABLE_PLUGIN_AUTOLOAD"):
            env.pop(key, None)
        env.update(extra)
        return env

    def run(self, *args, timeout=60, **extra) -> subprocess.CompletedProcess:
        return subprocess.run(
            [PYCOZ, *args],
            capture_output=True,
            text=True,
            env=self.env(**extra),
            timeout=timeout,
            check=False,
        )

    def python(self, code: str, **extra) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            env=self.env(**extra),
            timeout=60,
            check=False,
        )
