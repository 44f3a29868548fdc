"""Installed entry points of pycoz's groups, read without importlib.metadata.

``pycoz --help`` lists the subcommands plugins declare (group ``pycoz.commands``)
and must stay close to the cost of importing Click; importing
``importlib.metadata`` alone costs a third of that (it pulls in email, zipfile,
csv and pathlib).  What pycoz needs is small: for each distribution on
``sys.path``, its name, version and ``entry_points.txt``.  This module reads
exactly that, from ``*.dist-info`` and ``*.egg-info`` directories (what pip,
editable installs and setuptools write), with importlib.metadata's rule for
duplicates: the first distribution of a name on ``sys.path`` wins.  Zipped eggs
and custom metadata finders are not looked at.

The operator switches apply here, so every reader sees the same plugins:

* ``PYCOZ_DISABLE_PLUGIN_AUTOLOAD=1``: no distribution's entry points;
* ``PYCOZ_LOAD_PLUGINS=a,b``: only distributions with a ``pycoz`` entry point
  named ``a`` or ``b`` (and of those, only those entry points).
"""

from __future__ import annotations

import os
import re
import sys

PLUGINS = "pycoz"
COMMANDS = "pycoz.commands"
#: Names of ``pycoz`` entry points that implement lifecycle hooks: declaring
#: them lets a container start know, from metadata alone, whether it must load
#: plugins at all.
LIFECYCLE = "pycoz.lifecycle"
_GROUPS = (PLUGINS, COMMANDS, LIFECYCLE)


class Distribution:
    """One installed distribution with entry points in pycoz's groups."""

    __slots__ = ("entry_points", "name", "path", "version")

    def __init__(self, name: str, version: str, path: str, entry_points: dict):
        self.name = name
        self.version = version
        #: The metadata directory (``.../NAME-VERSION.dist-info``).
        self.path = path
        #: group -> {entry-point name: "module[:attr]"}, pycoz's groups only.
        self.entry_points = entry_points

    def __repr__(self) -> str:
        return f"Distribution({self.name!r}, {self.version!r})"


def normalize(name: str) -> str:
    """PEP 503 normalisation: ``Pycoz_Ring`` and ``pycoz-ring`` are one name."""
    return re.sub(r"[-_.]+", "-", name).lower()


_cache: list[Distribution] | None = None


def distributions() -> list[Distribution]:
    """Distributions on ``sys.path`` declaring entry points in pycoz's groups,
    before the operator switches (cached for the process)."""
    global _cache
    if _cache is None:
        _cache = _scan(sys.path)
    return _cache


def _scan(paths) -> list[Distribution]:
    seen: set[str] = set()
    found = []
    for entry in paths:
        try:
            names = os.listdir(entry or ".")
        except OSError:  # not a directory (a zip), or gone
            continue
        for meta in sorted(names):
            if meta.endswith(".dist-info"):
                stem = meta[: -len(".dist-info")]
            elif meta.endswith(".egg-info"):
                stem = meta[: -len(".egg-info")]
            else:
                continue
            name, _, version = stem.partition("-")
            key = normalize(name)
            if key in seen:
                continue
            seen.add(key)
            directory = os.path.join(entry or ".", meta)
            try:
                with open(os.path.join(directory, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                continue
            groups = parse(text)
            if not groups:
                continue
            if not version or meta.endswith(".egg-info"):
                version = _metadata_version(directory) or version.partition("-")[0]
            found.append(Distribution(name, version, directory, groups))
    return found


def parse(text: str) -> dict[str, dict[str, str]]:
    """The pycoz groups of an ``entry_points.txt`` (INI: ``[group]``, ``name = value``)."""
    groups: dict[str, dict[str, str]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1].strip()
            current = groups.setdefault(group, {}) if group in _GROUPS else None
            continue
        if current is not None:
            name, sep, value = line.partition("=")
            if sep:
                current[name.strip()] = value.strip()
    return {group: eps for group, eps in groups.items() if eps}


def _metadata_version(directory: str) -> str | None:
    return _header(directory, "Version")


def _header(directory: str, field: str) -> str | None:
    """A header of the distribution's METADATA (or PKG-INFO), None if absent."""
    for leaf in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(directory, leaf), encoding="utf-8") as f:
                for line in f:
                    if line.startswith(f"{field}:"):
                        return line.partition(":")[2].strip() or None
                    if not line.strip():
                        break
        except OSError:
            continue
    return None


def summary(dist: Distribution) -> str | None:
    """The distribution's one-line ``Summary`` (pyproject's ``description``)."""
    return _header(dist.path, "Summary")


def enabled() -> list[Distribution]:
    """The distributions whose entry points pycoz uses, after the operator switches."""
    if os.environ.get("PYCOZ_DISABLE_PLUGIN_AUTOLOAD"):
        return []
    wanted = chosen()
    dists = distributions()
    if wanted is None:
        return dists
    return [d for d in dists if wanted & set(d.entry_points.get(PLUGINS, ()))]


def chosen() -> set[str] | None:
    """The entry-point names in ``PYCOZ_LOAD_PLUGINS`` (None: all of them)."""
    value = os.environ.get("PYCOZ_LOAD_PLUGINS")
    if not value:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def plugins() -> list[tuple[str, str, Distribution]]:
    """(name, "module[:attr]", distribution) of each enabled ``pycoz`` entry point."""
    wanted = chosen()
    return [
        (name, value, dist)
        for dist in enabled()
        for name, value in dist.entry_points.get(PLUGINS, {}).items()
        if wanted is None or name in wanted
    ]


def lifecycle() -> set[str]:
    """Names of the enabled ``pycoz`` entry points declared in ``pycoz.lifecycle``."""
    loaded = {name for name, _, _ in plugins()}
    return {
        name
        for dist in enabled()
        for name in dist.entry_points.get(LIFECYCLE, {})
        if name in loaded
    }


def commands() -> list[tuple[str, str, Distribution]]:
    """(command name, "module:attr", distribution) declared in ``pycoz.commands``."""
    return [
        (name, value, dist)
        for dist in enabled()
        for name, value in dist.entry_points.get(COMMANDS, {}).items()
    ]


def load(value: str):
    """Import ``module[:attr.attr]`` as an entry point's ``load()`` does."""
    import importlib

    module, _, attrs = value.partition(":")
    obj = importlib.import_module(module.strip())
    for attr in filter(None, attrs.split("[")[0].strip().split(".")):
        obj = getattr(obj, attr)
    return obj


def read_help(value: str) -> str | None:
    """The help of the Click command at ``module:attr``, read from its source,
    not imported (``pycoz --help`` imports no plugin): the ``short_help=`` or
    ``help=`` string given to its decorator, else the decorated function's
    docstring.  None when the source cannot say (no source file, or a command
    not made by a decorated ``def``).  Click has already imported ``ast``."""
    import ast

    module, _, attrs = value.partition(":")
    attr = attrs.split("[")[0].strip()
    path = _source_of(module.strip()) if attr and "." not in attr else None
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            tree = ast.parse(f.read(), path)
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == attr and node.decorator_list:
            given = {
                kw.arg: kw.value.value
                for deco in node.decorator_list
                if isinstance(deco, ast.Call) and _makes_command(deco.func)
                for kw in deco.keywords
                if isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str)
            }
            return given.get("short_help") or given.get("help") or ast.get_docstring(node)
    return None


def _makes_command(func) -> bool:
    """``command``/``group`` or ``click.command``... (not ``click.option``)."""
    import ast

    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in ("command", "group")


def _source_of(module: str) -> str | None:
    """The .py file of ``module``, found without running any package's
    ``__init__`` (``find_spec`` of a submodule would import its parents)."""
    import importlib.util

    top, *rest = module.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if not rest:
        return spec.origin if spec.origin and spec.origin.endswith(".py") else None
    dirs = list(spec.submodule_search_locations or ())
    for part in rest[:-1]:
        dirs = [os.path.join(d, part) for d in dirs if os.path.isdir(os.path.join(d, part))]
    for d in dirs:
        for candidate in (f"{d}/{rest[-1]}.py", f"{d}/{rest[-1]}/__init__.py"):
            if os.path.isfile(candidate):
                return candidate
    return None
