"""Completion of running named topologies (pycoz net up), in real shells."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests import shells
from tests.conftest import REPO

TOPOLOGY = '[hosts.alpha]\n[hosts.beta]\n[[links]]\na = "alpha"\nb = "beta"\n'


@pytest.fixture
def named(pycoz, unique, tmp_path):
    """A running named topology (hosts alpha and beta) called ``unique``."""
    spec = tmp_path / f"{unique}.toml"
    spec.write_text(TOPOLOGY)
    up = pycoz("net", "up", str(spec), "--name", unique)
    try:
        assert up.returncode == 0, up.stderr
        yield unique
    finally:
        down = pycoz("net", "down", unique)
        assert down.returncode == 0 or "no running topology" in down.stderr, down.stderr


@pytest.mark.parametrize(
    "shell",
    [
        pytest.param(s, marks=pytest.mark.skipif(not shells.available(s), reason=f"no {s}"))
        for s in ("bash", "zsh", "fish")
    ],
)
def test_named_topologies_and_their_hosts_complete(named, shell, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    scripts = REPO / "completions"
    cases = [
        (f"pycoz net down {named[:-1]}", f"pycoz net down {named} "),
        (f"pycoz root --join {named[:-1]}", f"pycoz root --join {named} "),
        (f"pycoz root --join {named} --host al", f"pycoz root --join {named} --host alpha "),
        (f"pycoz trace --join={named} --host be", f"pycoz trace --join={named} --host beta "),
        (f"pycoz net exec {named} be", f"pycoz net exec {named} beta "),
        # the TOPOLOGY given, not the running topology of that name
        (
            f"pycoz net up star:hosts=1 --name {named} --impair h",
            f"pycoz net up star:hosts=1 --name {named} --impair h1-s1 ",
        ),
        (f"pycoz net set {named} al", f"pycoz net set {named} alpha-beta "),
        (
            f"pycoz net set {named} alpha-beta --from b",
            f"pycoz net set {named} alpha-beta --from beta ",
        ),
    ]
    for typed, expected in cases:
        buffer, _ = shells.complete(shell, typed, scripts, home)
        assert buffer == expected, typed


def test_named_completion_imports_nothing_heavy(named):
    probe = (
        "import sys, json\n"
        "from pycoz_cli.cli import main\n"
        "main()\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.__stderr__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env={
            **os.environ,
            "COMP_LINE": f"pycoz net exec {named} ",
            "_PYCOZ_COMPLETE": "bash_complete",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["plain", "alpha", "plain", "beta"]
    modules = json.loads(out.stderr.strip().splitlines()[-1])
    assert not [m for m in modules if m.split(".")[0] in ("pyroute2", "ptrace", "cffi")]
