"""pycoz trace's decoders against strace's own lines for the same program.

Each test runs one real program twice, under ``strace`` and under ``pycoz trace``
with the same ``-e`` options, and compares the lines of the calls it is about,
after normalising what differs from run to run: pids, pointers, times.  strace
6.1 (Debian's package) is the reference.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

STRACE = shutil.which("strace")
pytestmark = pytest.mark.skipif(STRACE is None, reason="strace is not installed")

# The interpreter itself, not a shim (pyenv's) that runs more processes of its own.
PYTHON = os.path.realpath(sys.executable)

_POINTER = re.compile(r"0x[0-9a-f]{6,}")
_PID = re.compile(r"^\[pid +\d+\] |^\d+ +")


def normal(line: str, extra=()) -> str:
    line = _PID.sub("", line)
    line = _POINTER.sub("0xADDR", line)
    for pattern, repl in extra:
        line = re.sub(pattern, repl, line)
    # strace pads " = result" to a column; the padding is not what is compared.
    return re.sub(r"\) +=", ") =", line)


def calls(text: str, names, extra=()) -> list[str]:
    """The lines of ``names`` calls, normalised, in order."""
    pat = re.compile(r"^(?:\[pid +\d+\] |\d+ +)?(?:" + "|".join(names) + r")\(")
    return [normal(line, extra) for line in text.splitlines() if pat.match(line)]


def run_both(pycoz, options, argv):
    """(ours, theirs): the trace text of ``argv`` under pycoz and under strace."""
    ours = pycoz("trace", *options, "--", *argv)
    theirs = subprocess.run([STRACE, *options, *argv], capture_output=True, text=True)
    assert ours.returncode == theirs.returncode, (ours.stderr, theirs.stderr)
    return ours.stderr, theirs.stderr


def test_unshare_flags_by_name(pycoz):
    # New namespaces that die with the process: nothing outlives the test.
    ours, theirs = run_both(
        pycoz, ["-f", "-e", "trace=unshare"], ["unshare", "--net", "--mount", "true"]
    )
    mine = calls(ours, ["unshare"])
    assert mine == calls(theirs, ["unshare"])
    assert mine == ["unshare(CLONE_NEWNS|CLONE_NEWNET) = 0"]


def test_setns_types_by_name(pycoz):
    # Enter the namespaces the shell already has: a change of nothing.
    ours, theirs = run_both(
        pycoz,
        ["-f", "-e", "trace=setns"],
        ["sh", "-c", "nsenter -t $$ -n -m -u true"],
    )
    mine = calls(ours, ["setns"])
    assert mine == calls(theirs, ["setns"])
    assert mine == [
        "setns(3, CLONE_NEWUTS) = 0",
        "setns(4, CLONE_NEWNET) = 0",
        "setns(5, CLONE_NEWNS) = 0",
    ]
