"""The API's spawn helper (core.spawner): the same containers, made by a small
process, each init still the caller's own child and still behind the fence."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pycoz_cli
from pycoz_cli.core import spawner

from .helpers import wait_until


def _helper_pid() -> int:
    pycoz_cli.run(["true"], check=True)
    assert spawner._helper is not None, "the API did not start its spawn helper"
    return spawner._helper.process.pid


def test_init_is_the_callers_child_made_by_the_helper():
    helper = _helper_pid()
    proc = pycoz_cli.spawn(["sleep", "30"])
    try:
        with open(f"/proc/{proc.pid}/stat") as f:
            ppid = int(f.read().rpartition(")")[2].split()[1])
        assert ppid == os.getpid()  # CLONE_PARENT: waitpid works here
        assert helper != proc.pid
        with open(f"/proc/{proc.pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f)
        assert fields["NSpid"].split()[-1] == "1"
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


def test_a_long_command_keeps_no_setup_pipe():
    """spawn returns once the command has exec'd: the command must hold no pipe
    of pycoz's (an fd passed to the helper and inherited across exec would keep
    the setup pipe open, and spawn waiting, for as long as the command runs)."""
    script = "ls -l /proc/$$/fd; echo end; exec sleep 30"
    started = time.monotonic()
    proc = pycoz_cli.spawn(["sh", "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert time.monotonic() - started < 10
        listing = list(iter(proc.stdout.readline, "end\n"))
        pipes = [line.split()[-3] for line in listing if "pipe:" in line]
        assert pipes == ["1"], listing  # stdout, and no pipe of pycoz's
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def test_fence_is_the_same_through_the_helper():
    script = "grep -E '^(CapBnd|Seccomp|NoNewPrivs):' /proc/self/status; umask"
    via_helper = pycoz_cli.run(["sh", "-c", script], capture_output=True, text=True).stdout
    env = {**os.environ, "PYCOZ_SPAWNER": "0"}
    code = (
        "import pycoz_cli, sys; from pycoz_cli.core import spawner; "
        f"r = pycoz_cli.run(['sh', '-c', {script!r}], capture_output=True, text=True); "
        "assert spawner._helper is None; sys.stdout.write(r.stdout)"
    )
    forked = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert via_helper == forked
    assert "Seccomp:\t2" in via_helper


_CALLER = """
import sys, pycoz_cli
from pycoz_cli.core import spawner
proc = pycoz_cli.spawn(["sleep", "1000"])
print(spawner._helper.process.pid, proc.pid, flush=True)
sys.stdin.read()
"""


def test_sigkill_of_the_caller_ends_helper_and_containers():
    caller = subprocess.Popen(
        [sys.executable, "-c", _CALLER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        helper, init = map(int, caller.stdout.readline().split())
        caller.kill()
    finally:
        caller.wait()
        caller.stdin.close()
        caller.stdout.close()

    def gone(pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rpartition(")")[2].split()[0] == "Z"
        except FileNotFoundError:
            return True

    assert wait_until(lambda: gone(helper) and gone(init))


def test_stop_ends_the_helper_and_the_next_spawn_starts_another():
    first = _helper_pid()
    spawner.stop()
    assert wait_until(lambda: not os.path.exists(f"/proc/{first}"))
    assert _helper_pid() != first


def test_close_fds_false_passes_inheritable_fds_as_subprocess_does():
    """close_fds=False: every inheritable fd reaches the command (not sendable to
    the helper, so such a command is forked here)."""
    r, w = os.pipe()
    os.set_inheritable(w, True)
    try:
        ours = pycoz_cli.run(["sh", "-c", f"echo through > /proc/self/fd/{w}"], close_fds=False)
        theirs = subprocess.run(["sh", "-c", f"echo through > /proc/self/fd/{w}"], close_fds=False)
    finally:
        os.close(w)
    with os.fdopen(r) as f:
        assert f.read() == "through\nthrough\n"
    assert ours.returncode == theirs.returncode == 0
