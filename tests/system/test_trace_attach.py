"""``pycoz trace -p``: what it says when it cannot attach, and how it ends."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time

import pytest

from tests.system.helpers import assert_one_line, tracer_of, wait_until

STRACE = shutil.which("strace")


@pytest.mark.parametrize("pid", ["0", "-5"])
def test_a_pid_that_cannot_be_one_is_a_usage_error(pycoz, pid):
    r = pycoz("trace", "-p", pid)
    assert r.returncode == 2, r.stderr
    assert_one_line(r.stderr, f"-p {pid}", "process id")


def test_attaching_to_itself_says_so(pycoz_bin):
    r = subprocess.run(
        ["sh", "-c", 'exec "$0" trace -p $$', pycoz_bin], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 125, r.stderr
    line = assert_one_line(r.stderr, "itself")
    assert "CAP_SYS_PTRACE" not in line and "another user" not in line


def test_pid_1_with_capabilities_pycoz_lacks_says_so(pycoz_bin):
    """pid 1 of a new pid namespace (root, every capability), traced by root
    without CAP_SYS_PTRACE: the same user, so not "another user's process"."""
    r = subprocess.run(
        [
            "unshare", "--pid", "--fork", "--mount-proc", "--",
            "sh", "-c", '"$@"; exit $?', "sh",  # pid 1: a shell that waits
            "setpriv", "--bounding-set", "-sys_ptrace", "--",
            pycoz_bin, "trace", "-p", "1",
        ],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 125, r.stderr
    line = assert_one_line(r.stderr, "pid 1", "EPERM", "capabilities", "CAP_SYS_PTRACE")
    assert "another user" not in line


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_detaches_and_exits_as_strace(pycoz_bin, sig):
    target = subprocess.Popen(["sh", "-c", "while :; do sleep 0.05; done"])
    try:
        results = []
        for tracer in ([pycoz_bin, "trace"], [STRACE]):
            p = subprocess.Popen(
                [*tracer, "-e", "trace=none", "-p", str(target.pid)],
                stderr=subprocess.PIPE,
                text=True,
            )
            assert wait_until(lambda p=p: tracer_of(target.pid) == str(p.pid), timeout=30)
            time.sleep(0.2)
            p.send_signal(sig)
            _, err = p.communicate(timeout=20)
            notes = [
                re.sub(r"^\S*(strace|pycoz trace): ", "", line)
                for line in err.splitlines()
                if not line.startswith(("---", "+++"))  # the trace: its SIGCHLDs
            ]
            results.append((p.returncode, notes))
            assert wait_until(lambda: tracer_of(target.pid) == "0", timeout=10)
        assert results[0] == results[1]
        assert results[0] == (
            -sig,
            [f"Process {target.pid} attached", f"Process {target.pid} detached"],
        )
        assert target.poll() is None  # detached, still running
    finally:
        target.kill()
        target.wait()
