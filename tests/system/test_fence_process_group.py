"""The command shares pycoz's process group (job control at a terminal needs it),
and the kernel delivers kill(0, SIG) to every process of a group, across pid
namespaces: the fence's Landlock domain (signal scope, Linux 6.12+) keeps it
from the host processes of that group, such as the test runner that started
pycoz. ``--privileged`` (no Landlock) lets the signal through, which shows the
test can fail."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pycoz_cli.core.fence import landlock_abi

_RUNNER = r"""
import signal, subprocess, sys
signal.signal(signal.SIGUSR2, lambda *a: print("runner got SIGUSR2", flush=True))
r = subprocess.run(
    sys.argv[1:] + ["--", sys.executable, "-c",
     "import os, signal; signal.signal(signal.SIGUSR2, signal.SIG_IGN); "
     "os.kill(0, signal.SIGUSR2); print('sent')"],
    capture_output=True, text=True,
)
print("pycoz", r.returncode, r.stdout.strip(), r.stderr.strip(), flush=True)
"""


def _run_in_own_group(argv: list[str]) -> str:
    # The runner leads a process group of its own (as a CI job's shell, or pytest
    # started from one): pycoz, a child of it, is in that group.
    r = subprocess.run(
        [sys.executable, "-c", _RUNNER, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.skipif(landlock_abi() < 6, reason="signal scoping needs Landlock ABI 6 (Linux 6.12)")
@pytest.mark.parametrize("mode", [["root"], ["root", "--rootless"], ["net", "run", "pair"]])
def test_command_cannot_signal_the_process_group_of_its_caller(pycoz_bin, mode):
    out = _run_in_own_group([pycoz_bin, *mode])
    assert "pycoz 0 sent" in out, out
    assert "runner got SIGUSR2" not in out, "the command signalled its caller's group"


def test_privileged_lets_the_signal_through(pycoz_bin):
    """Without the fence the same command reaches the runner: the check above
    looks at the right thing."""
    out = _run_in_own_group([pycoz_bin, "root", "--privileged"])
    assert "runner got SIGUSR2" in out, out
