"""The plugin system without root: discovery, --help, commands, failures, listing.

Plugins here are throwaway distributions on PYTHONPATH (tests/plugintools.py):
real entry points that Python, importlib.metadata and pycoz all see.
"""

from __future__ import annotations

import json

import pytest

from tests.plugintools import Dists

HELLO = """
import click

@click.command()
@click.option("--name", default="world")
def hello(name):
    '''Say hello.'''
    click.echo(f"hello {name}")
"""

HELLO_PLUGIN = """
from pycoz_cli.hookspecs import hookimpl

@hookimpl
def register_commands(cli):
    from helloplug_cli import hello
    cli.add_command(hello)
"""


@pytest.fixture
def dists(tmp_path) -> Dists:
    return Dists(tmp_path)


def one_line(stderr: str, *words: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def add_hello(dists: Dists, name="hello-plug", declare=True, command="hello"):
    module = name.replace("-", "")
    eps = {"pycoz": {module: f"{module}"}}
    if declare:
        eps["pycoz.commands"] = {command: f"{module}_cli:hello"}
    dists.add(
        name, {module: HELLO_PLUGIN.replace("helloplug", module), f"{module}_cli": HELLO}, eps
    )


# --- discovery ---------------------------------------------------------------------


def test_the_reader_agrees_with_importlib_metadata(dists):
    add_hello(dists)
    # Same name as an installed plugin, earlier on sys.path: it shadows it, as
    # importlib.metadata's first-on-path rule says.
    dists.add("pycoz-ring", {}, {"pycoz": {"ring": "nowhere"}}, version="9.9")
    dists.add("other_Plug", {}, {"pycoz.commands": {"x": "m:x"}, "console_scripts": {"y": "m:y"}})
    r = dists.python(
        """
        import json
        from importlib.metadata import entry_points
        from pycoz_cli import entrypoints
        ours = sorted(
            [entrypoints.normalize(d.name), d.version, g, n, v]
            for d in entrypoints.distributions()
            for g, eps in d.entry_points.items()
            for n, v in eps.items()
        )
        theirs = sorted(
            [entrypoints.normalize(ep.dist.name), ep.dist.version, g, ep.name, ep.value]
            for g in ("pycoz", "pycoz.commands")
            for ep in entry_points(group=g)
        )
        print(json.dumps([ours, theirs]))
        """
    )
    assert r.returncode == 0, r.stderr
    ours, theirs = json.loads(r.stdout)
    assert ours == theirs
    assert ["pycoz-ring", "9.9", "pycoz", "ring", "nowhere"] in ours
    assert ["hello-plug", "0.1", "pycoz.commands", "hello", "helloplug_cli:hello"] in ours


def test_help_lists_plugin_commands_without_importing_any_plugin(dists):
    add_hello(dists)
    r = dists.python(
        """
        import contextlib, io, json, sys
        from pycoz_cli.cli import main
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            main(["--help"])
        print(json.dumps([out.getvalue(), sorted(sys.modules)]))
        """
    )
    assert r.returncode == 0, r.stderr
    text, modules = json.loads(r.stdout)
    assert "Plugin commands:" in text
    assert "hello" in text and "(hello-plug 0.1)" in text
    imported = [m for m in modules if m.startswith(("helloplug", "pycoz_ring", "pycoz_files"))]
    assert imported == [] and "pluggy" not in modules and "importlib.metadata" not in modules


HELP_PROBE = """
    import contextlib, io, json, sys
    from pycoz_cli.cli import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["--help"])
    print(json.dumps([out.getvalue(), sorted(sys.modules)]))
    """

DEEP_CLI = '''
import click


@click.command(short_help="Go deep, quickly.")
def cmd():
    """Go deep: a long story."""
'''


def test_help_describes_plugin_commands_from_their_source_without_importing_them(dists):
    add_hello(dists)
    # A command in a package's submodule, its short help given to the decorator;
    # importing the package would fail.
    dists.add(
        "deep-plug",
        {"deeppkg_unused": ""},
        {"pycoz.commands": {"deep": "deeppkg.sub.cli:cmd"}},
    )
    package = dists.root / "deeppkg" / "sub"
    package.mkdir(parents=True)
    for init in (dists.root / "deeppkg" / "__init__.py", package / "__init__.py"):
        init.write_text("raise SystemExit('imported!')\n")
    (package / "cli.py").write_text(DEEP_CLI)
    r = dists.python(HELP_PROBE)
    assert r.returncode == 0, r.stderr
    text, modules = json.loads(r.stdout)
    rows = dict(line.split(None, 1) for line in text.split("Plugin commands:\n")[1].splitlines())
    assert rows["hello"] == "Say hello. (hello-plug 0.1)", text
    assert rows["deep"] == "Go deep, quickly. (deep-plug 0.1)", text
    assert not [m for m in modules if m.startswith(("helloplug", "deeppkg"))]


def test_a_plugin_command_whose_help_cannot_be_read_says_where_it_is_from(dists):
    dists.add(
        "made-plug",
        {"madeplug": "import click\ncmd = click.command('made')(lambda: None)\n"},
        {"pycoz.commands": {"made": "madeplug:cmd"}},
    )
    r = dists.python(HELP_PROBE)
    text, _ = json.loads(r.stdout)
    rows = dict(line.split(None, 1) for line in text.split("Plugin commands:\n")[1].splitlines())
    assert rows["made"] == "from made-plug 0.1", text


def test_completing_a_subcommand_offers_plugin_commands_without_importing_them(dists):
    add_hello(dists)
    r = dists.python(
        """
        import json, os, sys
        from pycoz_cli.cli import cli
        os.environ.update(_PYCOZ_COMPLETE="bash_complete", COMP_WORDS="pycoz ", COMP_CWORD="1")
        try:
            cli.main(args=[], prog_name="pycoz")
        except SystemExit:
            pass
        print(json.dumps(sorted(sys.modules)), file=sys.stderr)
        """
    )
    offered = [line.partition(",")[2] for line in r.stdout.splitlines()]  # "plain,NAME"
    assert {"hello", "net", "plugins", "root", "trace"} <= set(offered), r.stdout + r.stderr
    modules = json.loads(r.stderr.splitlines()[-1])
    assert "helloplug_cli" not in modules and "pluggy" not in modules


def test_a_declared_command_runs_without_loading_other_plugins(dists):
    add_hello(dists)
    r = dists.python(
        """
        import json, sys
        from pycoz_cli.cli import main
        code = main(["hello", "--name", "you"])
        print(json.dumps([code, sorted(sys.modules)]), file=sys.stderr)
        """
    )
    assert r.stdout == "hello you\n", r.stderr
    code, modules = json.loads(r.stderr.splitlines()[-1])
    assert code == 0
    assert "helloplug_cli" in modules
    assert "pluggy" not in modules and "helloplug" not in modules


def test_an_undeclared_command_is_found_by_loading_the_plugins(dists):
    add_hello(dists, declare=False)
    assert "hello" not in dists.run("--help").stdout
    r = dists.run("hello", "--name", "there")
    assert (r.returncode, r.stdout, r.stderr) == (0, "hello there\n", "")


def test_unknown_command_is_still_one_line(dists):
    add_hello(dists, declare=False)
    r = dists.run("nosuchcommand")
    assert r.returncode == 2
    one_line(r.stderr, "No such command 'nosuchcommand'")


# --- clashes -----------------------------------------------------------------------


def test_a_declared_command_named_like_a_builtin_is_named_and_ignored(dists):
    add_hello(dists, command="net")
    r = dists.run("--help")
    assert r.returncode == 0
    one_line(r.stderr, "command 'net' is both pycoz's own and hello-plug 0.1's")
    assert "from hello-plug" not in r.stdout
    r = dists.run("net", "show", "pair")  # the built-in still works
    assert r.returncode == 0 and "topology pair" in r.stdout


def test_two_distributions_declaring_one_command_is_an_error_naming_both(dists):
    add_hello(dists, name="hello-a")
    add_hello(dists, name="hello-b")
    r = dists.run("hello")
    assert r.returncode == 2
    one_line(r.stderr, "command 'hello'", "hello-a 0.1", "hello-b 0.1")
    assert dists.run("root", "--help").returncode == 0


def test_a_registered_command_named_like_a_builtin_is_refused_naming_both(dists):
    dists.add(
        "rooty",
        {
            "rooty": HELLO_PLUGIN.replace(
                "from helloplug_cli import hello", "import click"
            ).replace("cli.add_command(hello)", "cli.add_command(click.Command('root'))")
        },
        {"pycoz": {"rooty": "rooty"}},
    )
    r = dists.run("plugins")
    assert r.returncode == 0
    one_line(r.stderr, "command 'root' refused", "pycoz's own", "plugin 'rooty' (rooty 0.1)")


def test_two_plugins_registering_one_command_the_first_keeps_it_naming_both(dists):
    add_hello(dists, name="hello-a", declare=False)
    add_hello(dists, name="hello-b", declare=False)
    r = dists.run("hello")
    assert (r.returncode, r.stdout) == (0, "hello world\n")
    one_line(
        r.stderr,
        "plugin 'hellob' (hello-b 0.1): command 'hello' refused",
        "plugin 'helloa' (hello-a 0.1)",
    )


def test_a_command_declared_by_one_distribution_and_registered_by_another(dists):
    dists.add("hello-a", {"helloa_cli": HELLO}, {"pycoz.commands": {"hello": "helloa_cli:hello"}})
    add_hello(dists, name="hello-b", declare=False)
    assert dists.run("hello").stdout == "hello world\n"  # the declared one, found first
    r = dists.run("plugins")
    assert r.returncode == 0
    one_line(
        r.stderr,
        "plugin 'hellob' (hello-b 0.1): command 'hello' refused",
        "declared by hello-a 0.1",
    )


# --- failures ----------------------------------------------------------------------

GOOD_TOPOLOGY = """
from pycoz_cli.hookspecs import hookimpl

def fam(size=2):
    '''A family for tests.'''
    from pycoz_cli.core.net.topology import Topology
    topo = Topology(f"fam:size={size}")
    for i in range(size):
        topo.add_node(f"n{i}")
    return topo

@hookimpl
def register_topologies(register):
    register("fam", fam, {"size": (int, 2, "nodes")})
"""


def test_a_plugin_that_fails_to_import_is_one_warning_and_the_rest_works(dists):
    dists.add("good", {"goodplug": GOOD_TOPOLOGY}, {"pycoz": {"good": "goodplug"}})
    dists.add(
        "bad", {"badplug": "raise RuntimeError('boom at import')"}, {"pycoz": {"bad": "badplug"}}
    )
    r = dists.run("net", "show", "fam:size=3")
    assert r.returncode == 0
    assert "n2" in r.stdout
    one_line(r.stderr, "warning", "plugin 'bad' (bad 0.1)", "RuntimeError: boom at import")
    listed = dists.run("plugins", "--json")
    assert listed.returncode == 0
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["good"]["topologies"] == ["fam"]
    assert "boom at import" in rows["bad"]["failed"]


def test_a_declared_command_that_fails_to_import_is_one_line(dists):
    dists.add(
        "broken-cmd",
        {"brokencmd": "import no_such_module_anywhere"},
        {"pycoz": {"brokencmd": "brokencmd"}, "pycoz.commands": {"boom": "brokencmd:boom"}},
    )
    r = dists.run("boom")
    assert r.returncode == 2
    one_line(r.stderr, "command 'boom' of broken-cmd 0.1", "ModuleNotFoundError")


def test_a_misspelled_hook_leaves_the_plugin_out_loudly(dists):
    dists.add(
        "typo",
        {"typoplug": GOOD_TOPOLOGY.replace("def register_topologies", "def register_topologie")},
        {"pycoz": {"typo": "typoplug"}},
    )
    r = dists.run("net", "topologies")
    assert r.returncode == 0 and "pair" in r.stdout and "fam" not in r.stdout
    one_line(r.stderr, "plugin 'typo' (typo 0.1)", "'register_topologie'", "not a pycoz hook")


def test_a_hook_with_an_argument_its_spec_lacks_is_one_warning(dists):
    source = GOOD_TOPOLOGY.replace(
        "def register_topologies(register):", "def register_topologies(register, cli):"
    )
    dists.add("badargs", {"badargs": source}, {"pycoz": {"badargs": "badargs"}})
    r = dists.run("net", "topologies")
    assert r.returncode == 0 and "star" in r.stdout and "fam" not in r.stdout
    one_line(r.stderr, "plugin 'badargs' (badargs 0.1) left out", "register_topologies", "{'cli'}")


def test_a_register_hook_that_raises_is_named_and_others_are_unaffected(dists):
    dists.add("good", {"goodplug": GOOD_TOPOLOGY}, {"pycoz": {"good": "goodplug"}})
    dists.add(
        "raising",
        {
            "raisingplug": """
            from pycoz_cli.hookspecs import hookimpl

            @hookimpl
            def register_topologies(register):
                raise KeyError("no config")
            """
        },
        {"pycoz": {"raising": "raisingplug"}},
    )
    r = dists.run("net", "show", "fam")
    assert r.returncode == 0 and "n1" in r.stdout
    one_line(r.stderr, "plugin 'raising' (raising 0.1)", "register_topologies failed", "no config")


@pytest.mark.parametrize(
    ("registration", "words"),
    [
        ('register("fam", fam, {"size": int})', ["parameter 'size'", "(type, default, help)"]),
        ('register("fam", fam, {"size": (list, [], "x")})', ["type", "not int, float or str"]),
        ('register("fam", fam, {"size": (int, "2", "x")})', ["default '2' is not int"]),
        ('register("fam", fam, {"width": (int, 2, "x")})', ["'width'", "takes no such keyword"]),
        ('register("fam", fam, ["size"])', ["params must be a dict"]),
        ('register("fam", "fam")', ["factory 'fam' is not callable"]),
        ('register("my fam", fam)', ["topology name 'my fam'"]),
    ],
)
def test_an_invalid_topology_registration_is_refused_clearly(dists, registration, words):
    source = GOOD_TOPOLOGY.replace(
        'register("fam", fam, {"size": (int, 2, "nodes")})', registration
    )
    dists.add("schema", {"schemaplug": source}, {"pycoz": {"schema": "schemaplug"}})
    r = dists.run("net", "topologies")
    assert r.returncode == 0 and "star" in r.stdout
    assert "fam" not in r.stdout
    one_line(r.stderr, "warning", "plugin 'schema' (schema 0.1)", *words, "refused")
    assert dists.run("net", "show", "pair").returncode == 0  # built-ins never load plugins


def test_a_topology_name_taken_by_a_builtin_is_refused_naming_both(dists):
    source = GOOD_TOPOLOGY.replace('register("fam", fam', 'register("star", fam')
    dists.add("dup", {"dupplug": source}, {"pycoz": {"dup": "dupplug"}})
    r = dists.run("net", "topologies")
    assert r.returncode == 0 and "star:hosts=3" in r.stdout
    one_line(
        r.stderr,
        "'star' refused",
        "built-in plugin 'pycoz_cli.topologies.builtin'",
        "'dup' (dup 0.1)",
    )


def test_a_tracer_name_taken_twice_is_refused_naming_both(dists):
    tracer = """
    from pycoz_cli.hookspecs import hookimpl

    @hookimpl
    def register_tracers(register):
        register("sockets", print, None, "mine")
    """
    dists.add("tdup", {"tdup": tracer}, {"pycoz": {"tdup": "tdup"}})
    r = dists.run("trace", "--tracer", "nosuch", "--", "true")
    assert r.returncode == 2
    warning, error = r.stderr.splitlines()
    one_line(warning, "tracer 'sockets' refused", "built-in plugin", "'tdup' (tdup 0.1)")
    one_line(error, "--tracer 'nosuch': unknown tracer")


# --- listing and switches ------------------------------------------------------------


def test_plugins_lists_versions_hooks_and_what_each_provides(dists):
    add_hello(dists)
    dists.add(
        "hooky",
        {
            "hooky": """
            from pycoz_cli.hookspecs import hookimpl

            @hookimpl
            def pycoz_after_command(returncode):
                pass

            @hookimpl
            def pycoz_network_up(network):
                pass
            """
        },
        {"pycoz": {"hooky": "hooky"}},
        version="2.5",
    )
    r = dists.run("plugins", "--json")
    assert r.returncode == 0, r.stderr
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert rows["hooky"]["distribution"] == "hooky" and rows["hooky"]["version"] == "2.5"
    assert rows["hooky"]["hooks"] == ["pycoz_after_command", "pycoz_network_up"]
    assert rows["helloplug"]["commands"] == ["hello"]
    assert rows["pycoz_cli.tracers.builtin"]["builtin"] is True
    assert rows["pycoz_cli.tracers.builtin"]["tracers"] == ["sockets", "strace"]
    text = dists.run("plugins").stdout
    assert "hooky  hooky 2.5\n  hooks: pycoz_after_command, pycoz_network_up\n" in text


def test_switches_apply_to_declared_commands_too(dists):
    add_hello(dists)
    assert "hello" in dists.run("--help").stdout
    off = dists.run("--help", PYCOZ_DISABLE_PLUGIN_AUTOLOAD="1")
    assert "Plugin commands" not in off.stdout
    r = dists.run("hello", PYCOZ_DISABLE_PLUGIN_AUTOLOAD="1")
    assert r.returncode == 2 and "No such command 'hello'" in r.stderr
    only_other = dists.run("--help", PYCOZ_LOAD_PLUGINS="somethingelse")
    assert "hello" not in only_other.stdout
    only_it = dists.run("plugins", "--json", PYCOZ_LOAD_PLUGINS="helloplug")
    names = [row["name"] for row in json.loads(only_it.stdout) if not row.get("builtin")]
    assert names == ["helloplug"]


def test_every_hook_is_in_the_readme_plugin_reference():
    import inspect
    import pathlib

    from pycoz_cli import hookspecs

    readme = (pathlib.Path(__file__).parents[2] / "README.md").read_text()
    reference = readme[readme.index("### Writing a plugin") :]
    hooks = [
        name
        for name, func in vars(hookspecs).items()
        if inspect.isfunction(func) and hasattr(func, "pycoz_spec")
    ]
    assert len(hooks) == 6
    for name in hooks:
        params = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
        assert f"| `{name}({params})` |" in reference, name
        assert getattr(hookspecs, name).__doc__.strip(), name
