"""On a terminal, what ``tty`` names inside a container is there, and is the terminal.

The container's /dev is fresh (its devpts a new instance), so the terminal pycoz
runs on cannot keep its /dev/pts/N name: it is bound on /dev/console, as
bubblewrap does.  Whatever the entry point, ``tty`` must name a device that
exists, and writing there must reach the user's screen.
"""

from __future__ import annotations

import pytest

PROBE = 't=$(tty); [ -c "$t" ] && echo "on-$t" > "$t"; echo "tty=$t"; sleep 30'


@pytest.fixture
def named(pycoz, unique):
    r = pycoz("net", "up", "pair", "--name", unique)
    assert r.returncode == 0, r.stderr
    yield unique
    r = pycoz("net", "down", unique)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize(
    "entry",
    [
        ["root"],
        ["root", "--net", "pair"],
        ["net", "run", "pair"],
        ["net", "exec", "NAMED", "h1"],
        ["trace", "--root", "-o", "/dev/null"],
        ["trace", "--net", "pair", "-o", "/dev/null"],
    ],
    ids=lambda e: " ".join(e[:2]),
)
def test_tty_names_the_terminal_and_it_is_there(tmux, pycoz_bin, request, entry):
    if "NAMED" in entry:
        named = request.getfixturevalue("named")
        entry = [named if a == "NAMED" else a for a in entry]
    argv = entry
    tmux.start("a", f"{pycoz_bin} {' '.join(argv)} -- sh -c '{PROBE}'")
    screen = tmux.wait_for("a", "tty=")
    assert "tty=/dev/console" in screen, screen
    assert "on-/dev/console" in screen, screen  # written to the device, seen on screen


def test_shell_no_root_with_a_command(tmux, pycoz_bin):
    tmux.start("a", f"{pycoz_bin} shell --no-root -c '{PROBE}'")
    screen = tmux.wait_for("a", "tty=")
    assert "tty=/dev/console" in screen and "on-/dev/console" in screen, screen
