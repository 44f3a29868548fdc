"""pycoz run by a real unprivileged user (nobody, through setpriv).

Containers and ephemeral topologies work rootless (test_rootless.py); what still
needs root, named topologies (they live in /run/netns) and changing one root made,
fails with one line that says on which object, that it needs root and what to do
instead; nothing is changed, and nothing is left behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from .helpers import assert_one_line

pytestmark = pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv")

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
NAMED_HINT = "is root's (in /run/netns): named topologies of other users"


@pytest.fixture
def as_nobody(pycoz_bin, tmp_path):
    """Run pycoz as nobody (in a directory nobody may enter)."""
    tmp_path.chmod(0o755)

    def run(*args):
        return subprocess.run(
            [*NOBODY, pycoz_bin, *args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env={**os.environ, "HOME": str(tmp_path)},
        )

    return run


def refused(r, command: str, *words: str) -> str:
    assert r.returncode == 125, (r.returncode, r.stderr)
    line = assert_one_line(r.stderr, *words, NAMED_HINT)
    assert line.startswith(f"{command}: "), line
    assert ".tmp" not in line, line
    return line


def test_net_up_of_a_user_touches_nothing_of_roots(as_nobody, unique):
    """The user's named topology is the user's (test_rootless): nothing in root's
    /run/pycoz/net or /run/netns, and root's `net list` does not show it."""
    r = as_nobody("net", "up", "pair", "--name", unique)
    assert r.returncode == 0, r.stderr
    try:
        assert not [n for n in os.listdir("/run/pycoz/net") if unique in n]
        assert not os.path.lexists(f"/run/netns/{unique}-h1")
    finally:
        r = as_nobody("net", "down", unique)
    assert r.returncode == 0, r.stderr


@pytest.fixture
def lab(pycoz, unique):
    """A named topology made by root, its link adjustable (relay or netem)."""
    r = pycoz("net", "up", "pair", "--name", unique, "--impair", "h1-h2")
    assert r.returncode == 0, r.stderr
    yield unique
    r = pycoz("net", "down", unique)
    assert r.returncode == 0, r.stderr


def _delay_ms(pycoz, name: str) -> float:
    r = pycoz("net", "exec", name, "h1", "--", "ping", "-c2", "-i0.2", "-W2", "h2")
    assert r.returncode == 0, r.stderr
    return min(float(x) for x in re.findall(r"time=([0-9.]+) ms", r.stdout))


def test_changing_a_topology_root_made(as_nobody, pycoz, lab):
    state = f"/run/pycoz/net/{lab}.json"
    with open(state) as f:
        before = json.load(f)
    for _ in range(3):  # the relay refuses each the same, never half-way
        r = as_nobody("net", "set", lab, "h1-h2", "--delay", "400ms")
        refused(r, "pycoz net set", lab)
    # Not applied either: no delay on the link, the state as it was.
    assert _delay_ms(pycoz, lab) < 200
    with open(state) as f:
        assert json.load(f) == before
    refused(as_nobody("net", "down", lab), "pycoz net down", lab)
    assert os.path.exists(f"/run/netns/{lab}-h1") and os.path.exists(state)
    refused(as_nobody("net", "exec", lab, "h1", "--", "true"), "pycoz net exec", lab)
    refused(as_nobody("shell", "--join", lab, "-c", "true"), "pycoz shell", lab)
