"""The suite's left-behind check (tests/conftest.py) on a busy machine.

An inner pytest session, with this suite's conftest, runs one test that waits
while "someone else" (this test) makes a named topology, a mount and a pycoz
process of their own.  The inner session must pass when its test made nothing,
and fail, naming exactly what it left and nothing of the others', when it leaks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests.conftest import REPO

from .helpers import wait_until

INNER_TEST = """
import os, pathlib, subprocess, time

HANDSHAKE = pathlib.Path(os.environ["HANDSHAKE"])


def test_meanwhile(unique, pycoz_bin, tmp_path):
    if os.environ.get("LEAK"):
        assert subprocess.run([pycoz_bin, "net", "up", "pair", "--name", unique]).returncode == 0
        # Detached: reparented away from this session, only its environment tells.
        pid = subprocess.run(
            ["sh", "-c", f"{pycoz_bin} root -- sleep 300 >/dev/null 2>&1 & echo $!"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        mount = tmp_path / "mnt"
        mount.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "inner", str(mount)], check=True)
        (HANDSHAKE / "leaked").write_text(f"{unique} {pid} {mount}")
    (HANDSHAKE / "ready").touch()
    deadline = time.monotonic() + 60
    while not (HANDSHAKE / "go").exists():
        assert time.monotonic() < deadline, "nobody said go"
        time.sleep(0.05)
"""


def _inner_session(tmp_path, leak: bool, foreign_name: str, pycoz_bin: str):
    """Run the inner session; meanwhile make a topology, a mount and a pycoz
    process from outside it.  Returns (its result, its leaks, the foreign ones)."""
    work = tmp_path / ("leaking" if leak else "clean")
    handshake = work / "handshake"
    handshake.mkdir(parents=True)
    (work / "test_inner.py").write_text(INNER_TEST)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYCOZ_TEST"))}
    env.update(HANDSHAKE=str(handshake), PYTHONPATH=str(REPO), LEAK="1" if leak else "")
    pytest = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "tests.conftest"]
    inner = subprocess.Popen(
        [*pytest, "-q", "--basetemp", str(work / "base"), str(work / "test_inner.py")],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    foreign_mount = work / "foreign-mnt"
    foreign_mount.mkdir()
    foreign_proc = None
    try:
        assert wait_until(lambda: (handshake / "ready").exists(), timeout=60)
        up = subprocess.run(
            [pycoz_bin, "net", "up", "pair", "--name", foreign_name], capture_output=True
        )
        assert up.returncode == 0, up.stderr
        subprocess.run(["mount", "-t", "tmpfs", "foreign", str(foreign_mount)], check=True)
        foreign_proc = subprocess.Popen([pycoz_bin, "root", "--", "sleep", "300"])
        (handshake / "go").touch()
        out, _ = inner.communicate(timeout=120)
        leaked = (handshake / "leaked").read_text().split() if leak else []
        return inner.returncode, out, leaked, foreign_proc.pid, str(foreign_mount)
    finally:
        inner.kill()
        inner.wait()
        if foreign_proc is not None:
            foreign_proc.send_signal(signal.SIGTERM)
            foreign_proc.wait(timeout=30)
        subprocess.run(["umount", str(foreign_mount)], capture_output=True)
        subprocess.run([pycoz_bin, "net", "down", foreign_name], capture_output=True)


def _undo_leaks(leaked: list[str], pycoz_bin: str) -> None:
    if not leaked:
        return
    name, pid, mount = leaked
    try:
        os.kill(int(pid), signal.SIGTERM)
        wait_until(lambda: not os.path.exists(f"/proc/{pid}"), timeout=30)
    except ProcessLookupError:
        pass
    subprocess.run(["umount", mount], capture_output=True)
    subprocess.run([pycoz_bin, "net", "down", name], capture_output=True)


def test_a_clean_session_passes_while_others_work(tmp_path, unique, pycoz_bin):
    code, out, _, _, _ = _inner_session(tmp_path, False, f"f{unique}", pycoz_bin)
    assert code == 0, out
    assert "left behind" not in out


def test_a_leaking_session_fails_naming_its_own_leftovers_only(tmp_path, unique, pycoz_bin):
    leaked = []
    try:
        code, out, leaked, foreign_pid, foreign_mount = _inner_session(
            tmp_path, True, f"f{unique}", pycoz_bin
        )
        assert code != 0, out
        name, pid, mount = leaked
        with open(pycoz_bin) as f:
            interpreter = f.readline()[2:].strip()  # the console script's #! line
        report = {
            li.split(" left behind: ")[0].strip(): li
            for li in out.splitlines()
            if " left behind: " in li
        }
        for kind, expected in {
            "named netns": f"/run/netns/{name}-h1",
            "/etc/netns": f"/etc/netns/{name}-h2",
            "mounts": f"{mount} tmpfs inner",
            "named-topology state": f"/run/pycoz/net/{name}.json",
            # reparented to init: found by the marker in its environment
            "processes": f"'{pid} {interpreter} {pycoz_bin} root -- sleep 300'",
        }.items():
            assert expected in report.get(kind, ""), out
        # Nothing of what was made outside the session.
        for foreign in (f"f{unique}", f"'{foreign_pid} ", foreign_mount):
            assert foreign not in out, out
    finally:
        _undo_leaks(leaked, pycoz_bin)
