"""The plugin reference, the public module and the kit for authors (issue 17,
items 3, 4 and 5), checked as an author meets them."""

from __future__ import annotations

import inspect
import json
import os
import pathlib
import re

import pytest

from tests.plugintools import Dists
from tests.unit.test_plugin_contract import MESH

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def dists(tmp_path) -> Dists:
    return Dists(tmp_path)


# --- 3, 4, 5. the reference, the public module, the kit ---------------------------------


def test_the_public_module_is_what_the_docs_say_plugins_may_import():
    from pycoz_cli import plugin_api

    assert sorted(plugin_api.__all__) == sorted(
        [
            "Container",
            "DELAYED",
            "INJECTED",
            "Memory",
            "Network",
            "Node",
            "RootSpec",
            "Route",
            "SpecError",
            "SYSCALL_NAMES",
            "SYSCALL_NUMBERS",
            "Topology",
            "Tracer",
            "hookimpl",
            "resolve_topology",
            "signed",
        ]
    )
    for name in plugin_api.__all__:
        assert getattr(plugin_api, name) is not None, name
    assert plugin_api.SYSCALL_NAMES[plugin_api.SYSCALL_NUMBERS["openat"]] == "openat"
    assert plugin_api.signed(2**64 - 100) == -100 and plugin_api.signed(5) == 5
    assert (REPO / "pycoz_cli" / "py.typed").is_file()


def documented(obj) -> None:
    """A docstring, and annotations on every parameter and the return."""
    assert (obj.__doc__ or "").strip(), obj
    if inspect.isfunction(obj):
        sig = inspect.signature(obj)
        for name, param in sig.parameters.items():
            if name in ("self", "cls") or param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
                continue
            assert param.annotation is not param.empty, (obj, name)
        assert sig.return_annotation is not sig.empty, obj


def test_the_tracer_api_is_documented():
    from pycoz_cli.plugin_api import Memory, Tracer

    for method in ("syscall", "process", "finish", "enter"):
        documented(getattr(Tracer, method))
    for method in ("read", "read_cstring"):
        documented(getattr(Memory, method))
    text = " ".join(inspect.getdoc(Tracer.syscall).split())
    for words in ("unsigned 64-bit", "None", "called later", "signed(", "SYSCALL_NAMES"):
        assert words in text, words
    process = " ".join(inspect.getdoc(Tracer.process).split())
    for kind in ("start", "fork", "exec", "exit", "killed", "signal", "stopped", "attach"):
        assert f'"{kind}"' in process, kind
    assert "child=" in process and "code=" in process


def test_the_topology_builder_is_documented():
    from pycoz_cli.plugin_api import Node, Route, Topology

    for obj in (
        Topology,
        Topology.__init__,
        Topology.add_node,
        Topology.connect,
        Topology.hosts,
        Node,
        Node.add_route,
        Node.add_command,
        Node.addresses,
        Route,
    ):
        documented(obj)
    connect = inspect.getdoc(Topology.connect)
    for arg in ("a_addrs", "b_addrs", "a_if", "mtu", "198.18"):
        assert arg in connect, arg


def test_a_route_added_by_the_builder_shows_in_the_topology(dists):
    source = MESH.replace(
        "    return topo",
        '    topo.nodes["m1"].add_route("198.19.0.0/16", via="198.18.1.2")\n    return topo',
    )
    dists.add("pycoz-mesh", {"pycoz_mesh": source}, {"pycoz": {"mesh": "pycoz_mesh"}})
    r = dists.run("net", "show", "mesh:nodes=2", "--json")
    assert r.returncode == 0, r.stderr
    (m1,) = [n for n in json.loads(r.stdout)["nodes"] if n["name"] == "m1"]
    assert m1["routes"] == ["198.19.0.0/16 via 198.18.1.2"]


def test_the_readme_template_is_a_working_plugin_tested_with_the_kit(tmp_path):
    """The minimal template in the README, as an author copies it: its
    pyproject's entry points, its module, and its test, which uses
    pycoz_cli.testing; installed (as a dist-info) and its test run by pytest."""
    import subprocess
    import sys

    readme = (REPO / "README.md").read_text()
    template = readme[readme.index("#### A minimal plugin") :]
    blocks = dict(re.findall(r"```\w+\n# (\S+)\n(.*?)```", template, re.S))
    assert set(blocks) >= {"pyproject.toml", "pycoz_hello.py", "test_hello.py"}, blocks.keys()
    import tomllib

    project = tomllib.loads(blocks["pyproject.toml"])["project"]
    from pycoz_cli.testing import Dists as KitDists

    kit = KitDists(tmp_path / "site")
    (tmp_path / "site").mkdir()
    kit.add(
        project["name"],
        {"pycoz_hello": blocks["pycoz_hello.py"]},
        project["entry-points"],
        version=project["version"],
        summary=project["description"],
    )
    (tmp_path / "test_hello.py").write_text(blocks["test_hello.py"])
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        env=kit.env(),
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "4 passed" in r.stdout, r.stdout
    # And as a user meets it: listed with its help, without importing it.
    listed = kit.run("--help")
    assert re.search(r"^  hello +Say hello\. \(pycoz-hello 0\.1\.0\)$", listed.stdout, re.M)
    assert kit.run("net", "topologies").stdout.count("line:hosts=2") == 1


def test_the_references_examples_run():
    """The doctests of the plugin API and of the topology builder."""
    import doctest

    from pycoz_cli import plugin_api
    from pycoz_cli.core.net import topology

    for module in (plugin_api, topology):
        failed, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert tried and not failed, module


def test_the_public_module_is_cheap_to_import_and_agrees_with_the_tracer(dists):
    """Plugins import it whenever they load (a container start, for lifecycle
    hooks): the builder and the tables are imported on first use only."""
    r = dists.python(
        """
        import json, sys
        from pycoz_cli.plugin_api import Tracer, hookimpl, signed
        heavy = ("pycoz_cli.core.net.topology", "pycoz_cli.core.trace.syscalls", "ptrace")
        print(json.dumps([m for m in heavy if m in sys.modules]))
        """
    )
    assert json.loads(r.stdout) == [], r.stderr
    from pycoz_cli.core.trace import tracer
    from pycoz_cli.plugin_api import DELAYED, INJECTED

    assert (INJECTED, DELAYED) == (tracer.INJECTED, tracer.DELAYED)


def test_py_typed_is_shipped_with_the_package():
    import tomllib

    settings = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "py.typed" in settings["package-data"]["pycoz_cli"]
    assert (REPO / "pycoz_cli" / "py.typed").is_file()


BROKEN_TEST = '''
BROKEN = """
from pycoz_cli.plugin_api import hookimpl

@hookimpl
def register_topologies(register):
    register("star", print)
"""


def test_a_clash_is_refused(pycoz_dists):
    pycoz_dists.add("clash", {"clashmod": BROKEN}, {"pycoz": {"clash": "clashmod"}})
    r = pycoz_dists.run("net", "topologies")
    assert r.returncode == 0
    assert "topology 'star' refused" in r.stderr
'''


def test_the_pytest_plugin_gives_throwaway_distributions(tmp_path):
    """pycoz's pytest plugin (entry point pytest11 ``pycoz``) has the fixture
    ``pycoz_dists``: a broken plugin checked the way pycoz's own tests check one."""
    import subprocess
    import sys

    (tmp_path / "test_broken.py").write_text(BROKEN_TEST)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0 and "1 passed" in r.stdout, r.stdout + r.stderr


def test_the_kit_fails_a_test_on_an_error_with_check():
    from pycoz_cli import testing

    with pytest.raises(AssertionError, match="exit 2"):
        testing.run_pycoz("net", "show", "nosuch", check=True)
    assert testing.run_pycoz("net", "show", "pair", check=True).returncode == 0
    assert testing.topology("star:hosts=4").hosts() == ["h1", "h2", "h3", "h4"]
