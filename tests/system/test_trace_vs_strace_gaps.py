"""More of pycoz trace's lines against strace 6.1's for the same real program:
requests strace has no name for, list buffers, open_how, and signal details.

Same method as :mod:`tests.system.test_trace_vs_strace`: one program under both
tracers, the lines of the calls in question compared after normalisation.
"""

from __future__ import annotations

import pytest

from tests.system.test_trace_vs_strace import PYTHON, STRACE, calls, run_both

pytestmark = pytest.mark.skipif(STRACE is None, reason="strace is not installed")

# Requests on /dev/null (all fail with ENOTTY, so nothing happens to any device):
# unnamed ones in every direction, the families strace names by number, named ones
# strace does not decode (argument as a number) or prints without an argument.
IOCTL_PROGRAM = """
import fcntl, os
fd = os.open("/dev/null", os.O_RDONLY)
for request, arg in (
    (0x12345678, 0), (0x12345678, 0x1000), (0x3478, 0), (0x80043478, 0x7FFD1),
    (0x40043478, 0), (0xC0043478, 5), (0, 0), (0xFFFFFFFF, 0), (0x5499, 0),
    (0x40044D03, 0), (0x80404804, 0), (0xC0404807, 0), (0x80406A13, 0),
    (0x8040552C, 0), (0x89F0, 0), (0x89F1, 0), (0x1, 0), (0x80087601, 0),
    (0x1261, 0), (0xC0045877, 0), (0x80045705, 0), (0x4B3A, 1), (0x4B3A, 9),
    (0x541C, 0),
):
    try:
        fcntl.ioctl(fd, request, arg)
    except OSError:
        pass
rnd = os.open("/dev/urandom", os.O_RDONLY)
fcntl.ioctl(rnd, 0x80045200, bytes(4))  # RNDGETENTCNT
"""


@pytest.mark.parametrize("style", ["abbrev", "raw", "verbose"])
def test_unnamed_ioctl_requests_like_strace(pycoz, style):
    """``_IOC(dir, type, nr, size)`` for requests without a name, the argument of
    requests strace does not decode as a number (``0``, not ``NULL``), in each
    -X style."""
    ours, theirs = run_both(
        pycoz, ["-X", style, "-e", "trace=ioctl"], [PYTHON, "-c", IOCTL_PROGRAM]
    )
    mine, want = calls(ours, ["ioctl"]), calls(theirs, ["ioctl"])
    assert mine == want
    text = "\n".join(want)
    if style == "abbrev":
        for expected in (
            "ioctl(3, _IOC(_IOC_NONE, 0x56, 0x78, 0x1234), 0) = -1 ENOTTY",
            "ioctl(3, _IOC(_IOC_READ, 0x34, 0x78, 0x4), 0x7ffd1) = -1 ENOTTY",
            "ioctl(3, _IOC(_IOC_READ|_IOC_WRITE, 0x34, 0x78, 0x4), 0x5) = -1 ENOTTY",
            "ioctl(3, _IOC(_IOC_NONE, 0, 0, 0), 0) = -1 ENOTTY",
            "ioctl(3, MIXER_WRITE(3), 0) = -1 ENOTTY",
            "ioctl(3, HIDIOCGRAWNAME(64), 0) = -1 ENOTTY",
            "ioctl(3, FIBMAP, 0) = -1 ENOTTY",
            "ioctl(3, BLKFLSBUF) = -1 ENOTTY",
            "ioctl(3, KDSETMODE, KD_GRAPHICS) = -1 ENOTTY",
            "ioctl(4, RNDGETENTCNT, [",
        ):
            assert expected in text, expected
    elif style == "verbose":
        assert "ioctl(3, 0x3478 /* _IOC(_IOC_NONE, 0x34, 0x78, 0) */, 0) = -1 ENOTTY" in text
    else:
        assert "ioctl(3, 0x3478, 0) = -1 ENOTTY" in text


XATTR_PROGRAM = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
path = os.path.join(DIR, "f").encode()
open(path, "w").close()
os.setxattr(path, "user.a", b"v1")
os.setxattr(path, "user.bb", b"v2")
fd = os.open(path, os.O_RDONLY)
buf = ctypes.create_string_buffer(256)
libc.listxattr(path, buf, 0)
libc.llistxattr(path, buf, 0)
libc.flistxattr(fd, buf, 0)
libc.flistxattr(fd, None, 0)
libc.flistxattr(fd, buf, 2)
libc.flistxattr(fd, buf, 256)
libc.listxattr(path + b"-missing", buf, 10)
libc.getxattr(path, b"user.a", buf, 0)
"""


def test_xattr_lists_like_strace(pycoz, tmp_path):
    """A list asked for with size 0 (its length only) or that failed is shown as
    its address, as strace's print_xattr_list does; a list read back as a string."""
    program = f"DIR = {str(tmp_path)!r}\n" + XATTR_PROGRAM
    names = ["listxattr", "llistxattr", "flistxattr", "getxattr"]
    ours, theirs = run_both(pycoz, ["-e", "trace=" + ",".join(names)], [PYTHON, "-c", program])
    mine, want = calls(ours, names), calls(theirs, names)
    assert mine == want
    f = f'"{tmp_path}/f"'
    for expected in (
        f"listxattr({f}, 0xADDR, 0) = 15",
        f"llistxattr({f}, 0xADDR, 0) = 15",
        "flistxattr(3, 0xADDR, 0) = 15",
        "flistxattr(3, NULL, 0) = 15",
        "flistxattr(3, 0xADDR, 2) = -1 ERANGE",
        'flistxattr(3, "user.a\\0user.bb\\0", 256) = 15',
    ):
        assert expected in "\n".join(want), expected
