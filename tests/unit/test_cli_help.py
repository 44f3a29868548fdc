"""Help and usage errors, as a user sees them (COLUMNS=80, no colour)."""

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
