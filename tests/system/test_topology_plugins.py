"""Topology plugins: an installed entry point of group ``pycoz`` adds a family."""

import os
import subprocess
import textwrap

import pytest

PLUGIN = textwrap.dedent(
    '''
    from pycoz_cli.core.net.topology import Topology
    from pycoz_cli.hookspecs import hookimpl


    def loop(hosts=3):
        """Hosts in a loop, each linked to the next."""
        topo = Topology(f"loop:hosts={hosts}")
        for i in range(1, hosts + 1):
            topo.add_node(f"h{i}")
        for i in range(1, hosts + 1):
            j = i % hosts + 1
            topo.connect(f"h{i}", f"h{j}", [f"198.18.{i}.1/24"], [f"198.18.{i}.2/24"])
        return topo


    @hookimpl
    def register_topologies(register):
        register("loop", loop, {"hosts": (int, 3, "hosts on the loop")})
    '''
)


@pytest.fixture
def plugin_path(tmp_path):
    """A directory that makes ``pycozring`` look installed (a dist-info with an
    entry point), plus a broken plugin whose module does not exist."""
    (tmp_path / "pycozring.py").write_text(PLUGIN)
    for name, target in (("pycozring", "pycozring"), ("pycozbroken", "no_such_module_xyz")):
        info = tmp_path / f"{name}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[pycoz]\n{name} = {target}\n")
    return tmp_path


def run(pycoz_bin, path, *args, **env):
    environ = {**os.environ, "PYTHONPATH": str(path), **env}
    return subprocess.run(
        [pycoz_bin, *args], capture_output=True, text=True, env=environ, timeout=60
    )


def test_plugin_topology_runs_and_is_listed(pycoz_bin, plugin_path):
    r = run(
        pycoz_bin,
        plugin_path,
        "net",
        "run",
        "loop:hosts=4",
        "--",
        "ping",
        "-c1",
        "-W2",
        "198.18.4.1",
    )
    assert r.returncode == 0, r.stderr
    # The broken plugin is named in one warning; the rest keeps working.
    warnings = [line for line in r.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "pycozbroken" in warnings[0]
    listed = run(pycoz_bin, plugin_path, "net", "topologies")
    assert "loop:hosts=3" in listed.stdout and "pair" in listed.stdout


def test_builtins_do_not_load_plugins(pycoz_bin, plugin_path):
    r = run(pycoz_bin, plugin_path, "net", "show", "pair")
    assert r.returncode == 0
    assert "warning" not in r.stderr  # the broken plugin was never imported


def test_switches_choose_and_disable_plugins(pycoz_bin, plugin_path):
    r = run(pycoz_bin, plugin_path, "net", "show", "loop", PYCOZ_LOAD_PLUGINS="pycozring")
    assert r.returncode == 0 and "warning" not in r.stderr
    r = run(pycoz_bin, plugin_path, "net", "show", "loop", PYCOZ_DISABLE_PLUGIN_AUTOLOAD="1")
    assert r.returncode == 2 and "unknown topology 'loop'" in r.stderr


def test_a_name_taken_twice_is_refused_naming_both_plugins(pycoz_bin, plugin_path):
    (plugin_path / "pycozdup.py").write_text(
        "from pycoz_cli.hookspecs import hookimpl\n"
        "from pycoz_cli.core.net.topology import pair\n"
        "@hookimpl\n"
        "def register_topologies(register):\n"
        "    register('pair', pair, {})\n"
    )
    info = plugin_path / "pycozdup-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pycozdup\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[pycoz]\npycozdup = pycozdup\n")
    r = run(pycoz_bin, plugin_path, "net", "topologies", PYCOZ_LOAD_PLUGINS="pycozdup")
    assert r.returncode == 0 and "pair" in r.stdout
    (line,) = r.stderr.splitlines()
    assert "plugin 'pycozdup' (pycozdup 0.1): topology 'pair' refused" in line
    assert "already registered by built-in plugin" in line
