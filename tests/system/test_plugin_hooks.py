"""Lifecycle hooks, called from the core as real networks and containers start
and stop; plugins are throwaway distributions (tests/plugintools.py)."""

from __future__ import annotations

import json

import pytest

from tests.plugintools import Dists

#: Records every lifecycle call as a JSON line in $PYCOZ_TEST_RECORD, with what
#: it can see of the real objects (the interfaces inside each host's namespace).
RECORDER = """
import json, os, socket
from pycoz_cli.hookspecs import hookimpl

TAG = {tag!r}

def record(**fields):
    with open(os.environ["PYCOZ_TEST_RECORD"], "a") as f:
        f.write(json.dumps({{"plugin": TAG, **fields}}) + "\\n")

@hookimpl
def pycoz_network_up(network):
    seen = {{}}
    for host in network.topology.hosts():
        with network.netns(host).entered():
            seen[host] = sorted(name for _, name in socket.if_nameindex())
    record(hook="network_up", topology=network.topology.name, name=network.name, links=seen)

@hookimpl
def pycoz_before_command(container, argv):
    record(hook="before", argv=list(argv), host=container.host, overlay=container.overlay)

@hookimpl
def pycoz_after_command(container, argv, returncode):
    record(hook="after", argv=list(argv), returncode=returncode)
"""

RAISING = """
from pycoz_cli.hookspecs import hookimpl

@hookimpl
def pycoz_before_command(container, argv):
    raise RuntimeError("cannot start " + argv[0])

@hookimpl
def pycoz_network_up(network):
    raise OSError(5, "no camera")
"""


@pytest.fixture
def dists(tmp_path) -> Dists:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    return Dists(plugins)


def records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_network_up_before_and_after_in_order(dists, tmp_path):
    dists.add(
        "rec",
        {"recplug": RECORDER.format(tag="rec")},
        {"pycoz": {"rec": "recplug"}, "pycoz.lifecycle": {"rec": "recplug"}},
    )
    out = tmp_path / "record.jsonl"
    r = dists.run(
        "net", "run", "pair", "--host", "h2", "--", "sh", "-c", "exit 3",
        PYCOZ_TEST_RECORD=str(out),
    )  # fmt: skip
    assert r.returncode == 3, r.stderr
    assert r.stderr == ""
    got = records(out)
    assert [g["hook"] for g in got] == ["network_up", "before", "after"]
    up, before, after = got
    assert up["topology"] == "pair" and up["name"] is None
    assert up["links"] == {"h1": ["eth0", "lo"], "h2": ["eth0", "lo"]}
    assert before == {
        "plugin": "rec",
        "hook": "before",
        "argv": ["sh", "-c", "exit 3"],
        "host": "h2",
        "overlay": False,
    }
    assert after["returncode"] == 3 and after["argv"] == ["sh", "-c", "exit 3"]


def test_a_death_by_signal_reaches_after_command_as_minus_n(dists, tmp_path):
    dists.add(
        "rec",
        {"recplug": RECORDER.format(tag="rec")},
        {"pycoz": {"rec": "recplug"}, "pycoz.lifecycle": {"rec": "recplug"}},
    )
    out = tmp_path / "record.jsonl"
    r = dists.run("root", "--", "sh", "-c", "kill -9 $$", PYCOZ_TEST_RECORD=str(out))
    assert r.returncode == 137, r.stderr
    got = records(out)
    assert [(g["hook"], g.get("overlay"), g.get("returncode")) for g in got] == [
        ("before", True, None),
        ("after", None, -9),
    ]


def test_a_raising_hook_is_named_and_other_plugins_still_run(dists, tmp_path):
    dists.add(
        "rec",
        {"recplug": RECORDER.format(tag="rec")},
        {"pycoz": {"rec": "recplug"}, "pycoz.lifecycle": {"rec": "recplug"}},
    )
    dists.add(
        "grumpy",
        {"grumpyplug": RAISING},
        {"pycoz": {"grumpy": "grumpyplug"}, "pycoz.lifecycle": {"grumpy": "grumpyplug"}},
    )
    out = tmp_path / "record.jsonl"
    r = dists.run("root", "--net", "pair", "--", "sh", "-c", "echo ran", PYCOZ_TEST_RECORD=str(out))
    assert r.returncode == 0 and r.stdout == "ran\n"
    warnings = r.stderr.splitlines()
    assert warnings == [
        "pycoz: warning: plugin 'grumpy' (grumpy 0.1): pycoz_network_up failed: "
        "OSError: [Errno 5] no camera (grumpyplug.py:10)",
        "pycoz: warning: plugin 'grumpy' (grumpy 0.1): pycoz_before_command failed: "
        "RuntimeError: cannot start sh (grumpyplug.py:6)",
    ]
    assert [g["hook"] for g in records(out)] == ["network_up", "before", "after"]


def test_hooks_cost_nothing_without_external_plugins(dists, tmp_path):
    """With only the built-ins, or with plugins that declare no lifecycle hooks,
    starting a container imports no pluggy; with a plugin declaring them, its
    hooks run for the Python API too."""
    probe = """
    import json, sys
    from pycoz_cli import Container
    code = Container(hostname="box").run(["true"])
    print(json.dumps([code, "pluggy" in sys.modules]))
    """
    alone = dists.python(probe, PYCOZ_DISABLE_PLUGIN_AUTOLOAD="1")
    assert json.loads(alone.stdout) == [0, False], alone.stderr
    dists.add("quiet", {"quietplug": "X = 1\n"}, {"pycoz": {"quiet": "quietplug"}})
    others = dists.python(probe, PYCOZ_LOAD_PLUGINS="quiet")
    assert json.loads(others.stdout) == [0, False], others.stderr
    dists.add(
        "rec",
        {"recplug": RECORDER.format(tag="rec")},
        {"pycoz": {"rec": "recplug"}, "pycoz.lifecycle": {"rec": "recplug"}},
    )
    out = tmp_path / "record.jsonl"
    with_plugin = dists.python(probe, PYCOZ_TEST_RECORD=str(out), PYCOZ_LOAD_PLUGINS="rec")
    assert json.loads(with_plugin.stdout) == [0, True], with_plugin.stderr
    assert [(g["hook"], g["argv"]) for g in records(out)] == [
        ("before", ["true"]),
        ("after", ["true"]),
    ]


def test_named_topologies_call_network_up_with_their_name(dists, tmp_path, unique):
    dists.add(
        "rec",
        {"recplug": RECORDER.format(tag="rec")},
        {"pycoz": {"rec": "recplug"}, "pycoz.lifecycle": {"rec": "recplug"}},
    )
    out = tmp_path / "record.jsonl"
    up = dists.run("net", "up", "star:hosts=2", "--name", unique, PYCOZ_TEST_RECORD=str(out))
    try:
        assert up.returncode == 0, up.stderr
        (got,) = records(out)
        assert got["hook"] == "network_up" and got["name"] == unique
        assert got["links"]["h1"] == ["eth0", "lo"]
    finally:
        down = dists.run("net", "down", unique)
        assert down.returncode == 0, down.stderr


def test_an_undeclared_lifecycle_hook_is_named_and_never_called(dists, tmp_path):
    """Declaring lifecycle hooks in metadata is what makes them run; one that is
    implemented but not declared would run only when plugins happen to be
    loaded, so it never runs, and loading the plugin says why."""
    dists.add("rec", {"recplug": RECORDER.format(tag="rec")}, {"pycoz": {"rec": "recplug"}})
    out = tmp_path / "record.jsonl"
    r = dists.run("root", "--net", "pair", "--", "true", PYCOZ_TEST_RECORD=str(out))
    assert (r.returncode, r.stderr) == (0, "")
    listed = dists.run("plugins", PYCOZ_TEST_RECORD=str(out))
    assert listed.returncode == 0
    (warning,) = [line for line in listed.stderr.splitlines() if "warning" in line]
    assert "plugin 'rec'" in warning and "pycoz.lifecycle" in warning
    assert "pycoz_before_command" in warning and "not called" in warning
    # Nor does a network: network_up is undeclared too.
    r = dists.run("net", "run", "pair", "--", "true", PYCOZ_TEST_RECORD=str(out))
    assert r.returncode == 0
    assert records(out) == []
