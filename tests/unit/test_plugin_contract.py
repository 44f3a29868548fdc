"""The plugin contract as a plugin author meets it (issue 17), without root.

Each plugin here is a throwaway distribution on PYTHONPATH (a ``dist-info``
with real entry points, ``pycoz_cli.testing.Dists``), run through the real
``pycoz`` console script.
"""

from __future__ import annotations

import json
import pathlib
import re

import pytest

from tests.plugintools import Dists

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def dists(tmp_path) -> Dists:
    return Dists(tmp_path)


def warnings(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("pycoz: warning:")]


MESH = '''
from pycoz_cli.core.net.topology import Topology
from pycoz_cli.hookspecs import hookimpl


def mesh(nodes=3):
    """Every node linked to every other."""
    topo = Topology(f"mesh:nodes={nodes}")
    for i in range(1, nodes + 1):
        topo.add_node(f"m{i}")
    net = 0
    for i in range(1, nodes + 1):
        for j in range(i + 1, nodes + 1):
            net += 1
            topo.connect(f"m{i}", f"m{j}", [f"198.18.{net}.1/24"], [f"198.18.{net}.2/24"])
    return topo


@hookimpl
def register_topologies(register):
    register("mesh", mesh, {"nodes": (int, 3, "nodes in the mesh")})
'''

CLASH_STAR = '''
from pycoz_cli.hookspecs import hookimpl


def star(hosts=2):
    """A star of mine."""
    raise AssertionError("never called: the built-in keeps the name")


@hookimpl
def register_topologies(register):
    register("star", star)
'''


def add_mesh(dists: Dists, old: str = "", new: str = "") -> None:
    """The mesh plugin installed, with ``old`` replaced by ``new`` in its source."""
    source = MESH.replace(old, new) if old else MESH
    dists.add("pycoz-mesh", {"pycoz_mesh": source}, {"pycoz": {"mesh": "pycoz_mesh"}})


# --- 1. a name clash is refused, and only that registration ------------------------------


def test_a_topology_clashing_with_a_builtin_is_refused_and_the_rest_keeps_working(dists):
    add_mesh(dists)
    dists.add("clashy", {"clashy": CLASH_STAR}, {"pycoz": {"clashy": "clashy"}})
    for args in (("net", "show", "mesh:nodes=2"), ("net", "topologies"), ("plugins",)):
        r = dists.run(*args)
        assert r.returncode == 0, (args, r.stderr)
        (line,) = warnings(r.stderr)
        assert "topology 'star'" in line and "refused" in line, line
        assert "built-in plugin 'pycoz_cli.topologies.builtin'" in line
        assert "plugin 'clashy' (clashy 0.1)" in line
    shown = dists.run("net", "show", "star")
    assert "topology star:hosts=3" in shown.stdout  # the built-in's, not the plugin's
    listed = json.loads(dists.run("plugins", "--json").stdout)
    row = next(row for row in listed if row["name"] == "clashy")
    assert "topologies" not in row and "topology 'star'" in row["refused"][0]


def test_a_command_clashing_with_a_builtin_is_refused_and_plugins_still_lists(dists):
    source = """
    import click
    from pycoz_cli.hookspecs import hookimpl

    @hookimpl
    def register_commands(cli):
        cli.add_command(click.Command("root"))
        cli.add_command(click.Command("mine", callback=lambda: click.echo("mine ran")))
    """
    dists.add("rooty", {"rooty": source}, {"pycoz": {"rooty": "rooty"}})
    r = dists.run("plugins", "--json")
    assert r.returncode == 0, r.stderr
    (line,) = warnings(r.stderr)
    assert "command 'root'" in line and "pycoz's own" in line and "'rooty' (rooty 0.1)" in line
    row = next(row for row in json.loads(r.stdout) if row["name"] == "rooty")
    assert row["commands"] == ["mine"]
    assert dists.run("mine").stdout == "mine ran\n"


def test_an_invalid_registration_is_refused_and_the_plugins_other_ones_stay(dists):
    source = MESH.replace(
        'register("mesh", mesh, {"nodes": (int, 3, "nodes in the mesh")})',
        'register("bad", mesh, {"nodes": int})\n    register("mesh", mesh)',
    )
    dists.add("half", {"half": source}, {"pycoz": {"half": "half"}})
    r = dists.run("net", "topologies")
    assert r.returncode == 0, r.stderr
    (line,) = warnings(r.stderr)
    assert "plugin 'half' (half 0.1)" in line and "parameter 'nodes'" in line
    assert "mesh" in r.stdout and "\nbad " not in r.stdout


# --- 9. a clash does not hide "No such command" ----------------------------------------------


def test_a_typo_still_says_no_such_command_when_a_plugin_clashes(dists):
    source = """
    import click
    from pycoz_cli.hookspecs import hookimpl

    @hookimpl
    def register_commands(cli):
        cli.add_command(click.Command("net"))
    """
    dists.add("netty", {"netty": source}, {"pycoz": {"netty": "netty"}})
    r = dists.run("rooot")
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert "No such command 'rooot'. Did you mean 'root'?" in lines[-1], r.stderr
    assert all("command 'net'" in line for line in lines[:-1])


# --- 2. a plugin raising at run time -------------------------------------------------------------


def test_a_topology_factory_that_raises_is_one_line_naming_the_plugin(dists):
    add_mesh(dists, '    """Every node', '    {}["nodes"]\n    """Every')
    r = dists.run("net", "show", "mesh:nodes=2")
    assert r.returncode == 125
    assert r.stdout == ""
    (line,) = r.stderr.splitlines()
    assert "plugin 'mesh' (pycoz-mesh 0.1)" in line and "topology 'mesh'" in line, line
    assert "KeyError: 'nodes'" in line and "pycoz_mesh.py:7" in line, line
    assert "PYCOZ_DEBUG=1" in line
    debug = dists.run("net", "show", "mesh:nodes=2", PYCOZ_DEBUG="1")
    assert debug.returncode == 125
    assert "Traceback (most recent call last)" in debug.stderr
    assert 'pycoz_mesh.py", line 7, in mesh' in debug.stderr
    assert debug.stderr.splitlines()[-1] == line.partition("; PYCOZ_DEBUG=1")[0]


def test_a_topology_factory_returning_no_topology_is_one_line(dists):
    add_mesh(dists, "    return topo\n", "    return [topo]\n")
    r = dists.run("net", "show", "mesh")
    assert r.returncode == 125
    (line,) = r.stderr.splitlines()
    assert "plugin 'mesh' (pycoz-mesh 0.1)" in line and "returned a list, not a Topology" in line


def test_a_plugin_command_that_raises_is_one_line_naming_the_plugin(dists):
    source = """
    import click

    @click.command()
    def boom():
        '''Fail.'''
        click.echo("before")
        {}["key"]
    """
    dists.add("boomer", {"boomer": source}, {"pycoz.commands": {"boom": "boomer:boom"}})
    r = dists.run("boom")
    assert (r.returncode, r.stdout) == (125, "before\n")
    (line,) = r.stderr.splitlines()
    assert "pycoz boom" in line and "boomer 0.1" in line and "KeyError: 'key'" in line, line
    assert "boomer.py:8" in line
    assert "Traceback" in dists.run("boom", PYCOZ_DEBUG="1").stderr


def test_an_import_error_says_where_and_debug_shows_the_traceback(dists):
    add_mesh(dists)
    dists.add(
        "bad",
        {"badplug": "import os\n\nVALUE = 1 / 0\n"},
        {"pycoz": {"bad": "badplug"}},
    )
    r = dists.run("net", "show", "mesh:nodes=2")
    assert r.returncode == 0
    (line,) = warnings(r.stderr)
    assert "plugin 'bad' (bad 0.1)" in line and "ZeroDivisionError" in line
    assert "badplug.py:3" in line, line
    debug = dists.run("net", "show", "mesh:nodes=2", PYCOZ_DEBUG="1")
    assert 'badplug.py", line 3, in <module>' in debug.stderr
    assert debug.returncode == 0


# --- 8. a factory without a docstring --------------------------------------------------------


def test_a_topology_factory_without_a_docstring_is_listed(dists):
    add_mesh(dists, '    """Every node linked to every other."""\n', "")
    r = dists.run("net", "topologies")
    assert (r.returncode, r.stderr) == (0, "")
    assert re.search(r"^mesh\b", r.stdout, re.M), r.stdout
    listed = dists.run("net", "topologies", "--json")
    assert listed.returncode == 0, listed.stderr
    (row,) = [row for row in json.loads(listed.stdout) if row["name"] == "mesh"]
    assert row["description"] == ""


# --- 6. help for a plugin command ---------------------------------------------------------


def test_help_shows_a_plugin_commands_help_from_its_metadata(dists):
    # A command whose help is not in a decorated function's source: pycoz
    # takes the distribution's one-line Summary, still without importing it.
    info = dists.add(
        "made-plug",
        {"madeplug": "raise SystemExit('imported!')\n"},
        {"pycoz.commands": {"made": "madeplug:cmd"}},
    )
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: made-plug\nVersion: 0.1\n"
        "Summary: Make things in a throwaway machine\n\n"
    )
    r = dists.run("--help")
    assert r.returncode == 0, r.stderr
    rows = dict(
        line.split(None, 1) for line in r.stdout.split("Plugin commands:\n")[1].splitlines()
    )
    assert rows["made"] == "Make things in a throwaway machine (made-plug 0.1)"
    complete = dists.run(
        _PYCOZ_COMPLETE="bash_complete", COMP_WORDS="pycoz ma", COMP_CWORD="1"
    ).stdout.splitlines()
    assert "plain\tmade\t" in complete, complete


def test_completion_shows_the_same_help_as_the_help(dists):
    source = """
    import click

    @click.command()
    def hello():
        '''Say hello to a throwaway machine.'''
    """
    dists.add("hello-plug", {"hellomod": source}, {"pycoz.commands": {"hello": "hellomod:hello"}})
    r = dists.run(_PYCOZ_COMPLETE="zsh_complete", COMP_WORDS="pycoz hel", COMP_CWORD="1")
    expected = "plain\thello\tSay hello to a throwaway machine. (hello-plug 0.1)\n"
    assert expected in r.stdout, r.stdout
