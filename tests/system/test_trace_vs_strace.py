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


TTY_PROGRAM = """
import array, fcntl, os, struct, termios, tty
m, s = os.openpty()
saved = termios.tcgetattr(s)
for when in (termios.TCSANOW, termios.TCSADRAIN, termios.TCSAFLUSH):
    termios.tcsetattr(s, when, saved)
tty.setraw(s)
bare = list(saved)  # flag words of 0 print as nothing at all in strace 6.1
bare[0:4] = [0, 0, termios.CS7 | termios.CREAD, 0]
termios.tcsetattr(s, termios.TCSANOW, bare)
every = list(saved)
every[0:4] = [0xFFFF, 0xFFFF, 0xFFFFFFFF & ~0o10017, 0o377777]
termios.tcsetattr(s, termios.TCSANOW, every)
termios.tcgetattr(s)
termios.tcsetattr(s, termios.TCSANOW, saved)
fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
fcntl.ioctl(s, termios.TIOCGWINSZ, bytes(8))
n = array.array("i", [0])
fcntl.ioctl(m, termios.FIONREAD, n, True)
fcntl.ioctl(s, termios.TIOCOUTQ, n, True)
fcntl.ioctl(m, 0x80045430, n, True)  # TIOCGPTN
fcntl.ioctl(s, termios.FIONBIO, array.array("i", [1]), False)
termios.tcflush(s, termios.TCIOFLUSH)
termios.tcflow(s, termios.TCOON)
termios.tcdrain(s)
fcntl.ioctl(s, termios.TCGETA, bytes(18))
fcntl.ioctl(s, termios.TIOCEXCL)
fcntl.ioctl(s, termios.TIOCGETD, n, True)
"""


def test_termios_ioctls_like_strace(pycoz):
    ours, theirs = run_both(pycoz, ["-e", "trace=ioctl"], [PYTHON, "-c", TTY_PROGRAM])
    mine = calls(ours, ["ioctl"])
    assert mine == calls(theirs, ["ioctl"])
    text = "\n".join(mine)
    # What the comparison covered, so that it cannot pass on two empty traces:
    for expected in (
        "TCGETS, {c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR, ",
        "SNDCTL_TMR_STOP or TCSETSW, {c_iflag=",
        "SNDCTL_TMR_CONTINUE or TCSETSF, {c_iflag=",
        "{c_iflag=, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|, c_cflag=",
        "c_oflag=NL1|CR3|XTABS|BS1|VT1|FF1|OPOST|",
        "c_cflag=B38400|CS7|CREAD, c_lflag=, ...}",
        "c_cflag=B38400|B4000000<<IBSHIFT|CS8|CSTOPB|CREAD|",
        "TIOCSWINSZ, {ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0}) = 0",
        "FIONREAD, [0]) = 0",
        "TIOCGPTN, [",
        "FIONBIO, [1]) = 0",
        "TCFLSH, TCIOFLUSH) = 0",
        "TCXONC, TCOON) = 0",
        "TCSBRK, 1) = 0",
        "TCGETA, {c_iflag=",
        "TIOCEXCL) = 0",
        "TIOCGETD, [0]) = 0",
    ):
        assert expected in text, expected
