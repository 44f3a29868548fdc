"""Help and usage errors, as a user sees them (COLUMNS=80, no colour)."""

import itertools
import os
import subprocess
import sys

import pytest

ENV = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
ENV.pop("FORCE_COLOR", None)


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "pycoz_cli", *args],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
    )


def test_help_lists_root_and_exit_codes():
    r = cli("--help")
    assert r.returncode == 0
    assert "root" in r.stdout
    assert "125" in r.stdout and "127" in r.stdout


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_root_help_shows_options_and_examples(flag):
    r = cli("root", flag)
    assert r.returncode == 0
    for option in (
        "--base",
        "--upper",
        "--bind",
        "--ro-bind",
        "--tmpfs",
        "--hostname",
        "--workdir",
        "--propagation",
        "--env",
    ):
        assert option in r.stdout
    assert "Examples:" in r.stdout


def test_unknown_option_is_one_line_exit_2():
    r = cli("root", "--no-such-option")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert r.stderr.startswith("pycoz root: No such option")


def test_unknown_command_is_one_line_exit_2():
    r = cli("nosuchcommand")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1


def test_version():
    r = cli("--version")
    assert r.returncode == 0
    assert r.stdout.startswith("pycoz")


@pytest.mark.parametrize(
    "typed, meant",
    [("nett", "net"), ("rot", "root"), ("net uo", "up"), ("net lsit", "list")],
)
def test_a_misspelt_command_gets_a_suggestion(typed, meant):
    r = cli(*typed.split())
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert f"Did you mean '{meant}'?" in r.stderr, r.stderr


def test_nothing_close_gets_no_suggestion():
    r = cli("xyzzy")
    assert r.returncode == 2 and "Did you mean" not in r.stderr


@pytest.mark.parametrize("command", [["net", "run"], ["net", "up"]])
def test_impair_help_of_the_net_commands_does_not_ask_for_net(command):
    r = cli(*command, "--help")
    assert "--impair" in r.stdout
    assert "With --net" not in r.stdout


def test_impair_help_of_root_says_it_goes_with_net():
    r = cli("root", "--help")
    assert "With --net" in r.stdout


@pytest.mark.parametrize(
    "command, usage",
    [
        (["root"], "pycoz root [OPTIONS] [[--] COMMAND [ARG]...]"),
        (["net", "run"], "pycoz net run [OPTIONS] TOPOLOGY [[--] COMMAND [ARG]...]"),
        (["net", "exec"], "pycoz net exec [OPTIONS] NAME HOST [[--] COMMAND [ARG]...]"),
    ],
)
def test_an_optional_command_is_shown_optional(command, usage):
    r = cli(*command, "--help")
    assert r.stdout.startswith(f"Usage: {usage}\n"), r.stdout


def test_topology_descriptions_read_well():
    r = cli("net", "topologies")
    assert r.returncode == 0
    for line in r.stdout.splitlines():
        words = line.split()
        assert all(a != b for a, b in itertools.pairwise(words)), line
