"""More of pycoz trace's lines against strace 6.1's for the same real program:
requests strace has no name for, list buffers, open_how, and signal details.

Same method as :mod:`tests.system.test_trace_vs_strace`: one program under both
tracers, the lines of the calls in question compared after normalisation.
"""

from __future__ import annotations

import os
import re

import pytest

from tests.system.test_trace_vs_strace import PYTHON, STRACE, calls, normal, run_both

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


# openat2 has no wrapper in Python's os: the raw syscall (437 on x86_64 and aarch64).
OPENAT2_PROGRAM = """
import ctypes, os, struct
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def openat2(path, flags, mode, resolve, size=24, extra=b""):
    how = ctypes.create_string_buffer(struct.pack("<QQQ", flags, mode, resolve) + extra, 64)
    return libc.syscall(437, -100, path.encode(), how, ctypes.c_size_t(size))
openat2(DIR, os.O_RDONLY | os.O_DIRECTORY, 0, 0x1)
openat2(DIR, os.O_RDONLY, 0, 0x2 | 0x4 | 0x8)
openat2(DIR, os.O_RDONLY, 0, 0x10)
openat2(DIR, os.O_RDONLY, 0, 0x20)
openat2(DIR, os.O_RDONLY, 0, 0x41)
openat2(DIR, os.O_RDONLY, 0, 0x80)
openat2(DIR + "/new", os.O_WRONLY | os.O_CREAT, 0o644, 0)
openat2(DIR + "/new0", os.O_WRONLY | os.O_CREAT, 0, 0)
openat2(DIR, os.O_WRONLY | os.O_TMPFILE, 0o600, 0)
openat2(DIR, os.O_RDONLY, 0o755, 0)
openat2(DIR, os.O_RDONLY, 0, 0, 40, struct.pack("<QQ", 0, 1))
openat2(DIR, os.O_RDONLY, 0, 0, 40)
openat2(DIR, os.O_RDONLY, 0, 0, 16)
libc.syscall(437, -100, DIR.encode(), None, ctypes.c_size_t(24))
os.open(DIR, os.O_WRONLY | os.O_TMPFILE, 0o600)
try:
    os.open(DIR, os.O_WRONLY | 0o20000000)  # __O_TMPFILE without O_DIRECTORY
except OSError:
    pass
"""


@pytest.mark.skipif(
    os.uname().machine not in ("x86_64", "aarch64"), reason="openat2's number is 437 here"
)
@pytest.mark.parametrize("style", ["abbrev", "verbose"])
def test_openat2_open_how_like_strace(pycoz, tmp_path, style):
    """struct open_how: RESOLVE_* by name (unknown bits as strace shows them), mode
    only where used or set, the non-zero tail of a larger struct, the address for a
    size below 24; O_TMPFILE and __O_TMPFILE in open flags."""
    program = f"DIR = {str(tmp_path)!r}\n" + OPENAT2_PROGRAM
    names = ["openat2", "openat"]
    ours, theirs = run_both(
        pycoz, ["-X", style, "-e", "trace=" + ",".join(names)], [PYTHON, "-c", program]
    )
    only = [(r'openat\(.*"/(?!' + re.escape(str(tmp_path)[1:]) + r").*", "")]
    mine = [line for line in calls(ours, names, only) if line]
    want = [line for line in calls(theirs, names, only) if line]
    assert mine == want
    if style == "verbose":
        return
    text = "\n".join(want)
    d = f'AT_FDCWD, "{tmp_path}'
    for expected in (
        f'openat2({d}", {{flags=O_RDONLY|O_DIRECTORY, resolve=RESOLVE_NO_XDEV}}, 24) = 3',
        "resolve=RESOLVE_NO_MAGICLINKS|RESOLVE_NO_SYMLINKS|RESOLVE_BENEATH}, 24) = -1 EXDEV",
        "resolve=RESOLVE_IN_ROOT}, 24)",
        "resolve=RESOLVE_CACHED}, 24)",
        "resolve=RESOLVE_NO_XDEV|0x40}, 24) = -1 EINVAL",
        "resolve=0x80 /* RESOLVE_??? */}, 24) = -1 EINVAL",
        f'openat2({d}/new", {{flags=O_WRONLY|O_CREAT, mode=0644, resolve=0}}, 24) = ',
        f'openat2({d}/new0", {{flags=O_WRONLY|O_CREAT, mode=000, resolve=0}}, 24) = ',
        "{flags=O_WRONLY|O_TMPFILE, mode=0600, resolve=0}, 24) = ",
        "{flags=O_RDONLY, mode=0755, resolve=0}, 24) = -1 EINVAL",
        '{flags=O_RDONLY, resolve=0, /* bytes 24..39 */ "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00'
        '\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00"}, 40) = -1 E2BIG',
        f'openat2({d}", {{flags=O_RDONLY, resolve=0}}, 40) = ',
        f'openat2({d}", 0xADDR, 16) = -1 EINVAL',
        f'openat2({d}", NULL, 24) = -1 EFAULT',
        f'openat({d}", O_WRONLY|O_CLOEXEC|O_TMPFILE, 0600) = ',
        f'openat({d}", O_WRONLY|O_CLOEXEC|__O_TMPFILE, 000) = -1 EINVAL',
    ):
        assert expected in text, expected


# A seccomp filter that traps getppid with SECCOMP_RET_TRAP | data (the data is the
# SIGSYS's si_errno), installed three times with 0, EIO and a number no errno has;
# then a queued signal that carries an si_errno of its own.
SIGSYS_PROGRAM = """
import ctypes, os, signal, struct
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
GETPPID = {"x86_64": 110, "aarch64": 173}[os.uname().machine]
signal.signal(signal.SIGSYS, lambda *a: None)
signal.signal(signal.SIGUSR1, lambda *a: None)
libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
for data in (0, 5, 4095):
    code = struct.pack("<HBBI", 0x20, 0, 0, 0)  # load seccomp_data.nr
    code += struct.pack("<HBBI", 0x15, 0, 1, GETPPID)  # getppid?
    code += struct.pack("<HBBI", 0x06, 0, 0, 0x30000 | data)  # SECCOMP_RET_TRAP
    code += struct.pack("<HBBI", 0x06, 0, 0, 0x7FFF0000)  # SECCOMP_RET_ALLOW
    insns = ctypes.create_string_buffer(code)
    prog = ctypes.create_string_buffer(struct.pack("<H6xQ", 4, ctypes.addressof(insns)))
    assert libc.prctl(22, 2, prog, 0, 0) == 0  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
    libc.syscall(GETPPID)
info = ctypes.create_string_buffer(struct.pack("<iii4xiI", signal.SIGUSR1, 2, -1, 7, 0), 128)
libc.syscall({"x86_64": 129, "aarch64": 240}[os.uname().machine], os.getpid(), signal.SIGUSR1, info)
"""


@pytest.mark.skipif(os.uname().machine not in ("x86_64", "aarch64"), reason="syscall numbers")
@pytest.mark.parametrize("style", ["abbrev", "raw", "verbose"])
def test_seccomp_sigsys_like_strace(pycoz, style):
    """A seccomp SIGSYS's si_errno (the filter's data, by errno name), si_call_addr,
    si_syscall (``__NR_getppid``) and si_arch, in each -X style; a queued signal's
    si_errno likewise, and rt_sigqueueinfo's siginfo_t as strace decodes it."""
    options = ["-X", style, "-e", "trace=getppid,rt_sigqueueinfo"]
    ours, theirs = run_both(pycoz, options, [PYTHON, "-c", SIGSYS_PROGRAM])
    signals = re.compile(r"^(?:\d+ +)?--- SIG(SYS|USR1) ")
    mine = [normal(line) for line in ours.splitlines() if signals.match(line)]
    want = [normal(line) for line in theirs.splitlines() if signals.match(line)]
    assert mine == want
    assert len(want) == 4
    if style != "abbrev":
        return
    arch = {"x86_64": "X86_64", "aarch64": "AARCH64"}[os.uname().machine]
    head = "--- SIGSYS {si_signo=SIGSYS, si_code=SYS_SECCOMP, "
    tail = f"si_call_addr=0xADDR, si_syscall=__NR_getppid, si_arch=AUDIT_ARCH_{arch}}} ---"
    assert want[:3] == [
        head + tail,
        head + "si_errno=EIO, " + tail,
        head + "si_errno=4095, " + tail,
    ]
    assert want[3].startswith("--- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_QUEUE, si_errno=ENOENT, ")
    pid = [(r"^rt_sigqueueinfo\(\d+", "rt_sigqueueinfo(PID")]
    queued = calls(theirs, ["rt_sigqueueinfo"], pid)
    assert calls(ours, ["rt_sigqueueinfo"], pid) == queued
    assert queued[0] == (
        "rt_sigqueueinfo(PID, SIGUSR1, {si_signo=SIGUSR1, si_code=SI_QUEUE, si_errno=ENOENT, "
        "si_pid=7, si_uid=0}) = 0"
    )


# The process's own capability sets, then smaller ones (it drops them: the
# program is the test's own child): one bit of the high word only, one unknown bit.
CAPS_PROGRAM = """
import ctypes, struct
libc = ctypes.CDLL(None)
head = ctypes.create_string_buffer(struct.pack("<Ii", 0x20080522, 0))
data = ctypes.create_string_buffer(24)
libc.capget(head, data)
libc.capset(head, data)
libc.capset(head, ctypes.create_string_buffer(struct.pack("<6I", 0, 0, 0, 0x100, 0x100, 0x100)))
libc.capset(head, ctypes.create_string_buffer(struct.pack("<6I", 0, 0, 0, 1 << 31, 1 << 31, 0)))
"""


@pytest.mark.parametrize("style", ["abbrev", "raw", "verbose"])
def test_capability_sets_like_strace(pycoz, style):
    """Capability sets as strace's print_cap_bits: the low and the high word
    each its own flags (``0xfeffffff|0x1ff`` under -X raw)."""
    names = ["capget", "capset"]
    ours, theirs = run_both(
        pycoz, ["-X", style, "-e", "trace=capget,capset"], [PYTHON, "-c", CAPS_PROGRAM]
    )
    mine, want = calls(ours, names), calls(theirs, names)
    assert mine == want
    assert len(want) == 4
    if style == "raw":
        assert re.search(r"effective=0xADDR\|0x[0-9a-f]+, ", want[0]), want[0]
        assert "{effective=0x100, permitted=0x100, inheritable=0x100}) = 0" in want[2]


# Values without a name, each refused by the kernel (or harmless), passed through
# the raw syscall so that libc does not check them first.
UNKNOWN_VALUES_PROGRAM = """
import ctypes, os, struct
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
nr = {"x86_64": dict(setitimer=38, getitimer=36, lseek=8, shutdown=48, fcntl=72,
                     fallocate=285, socket=41, clock_gettime=228, rt_sigprocmask=14,
                     madvise=28, fadvise64=221),
      "aarch64": dict(setitimer=103, getitimer=102, lseek=62, shutdown=210, fcntl=25,
                      fallocate=47, socket=198, clock_gettime=113, rt_sigprocmask=135,
                      madvise=233, fadvise64=223)}[os.uname().machine]
S = lambda name, *args: libc.syscall(nr[name], *args)
fd = os.open(DIR + "/f", os.O_CREAT | os.O_RDWR, 0o644)
def lock(kind, whence):
    return ctypes.create_string_buffer(struct.pack("<hh4xqqi4x", kind, whence, 0, 0, 0))
S("setitimer", 5, None, None)
S("getitimer", 7, None)
S("lseek", fd, 0, ctypes.c_int(-1))
S("lseek", fd, 5, 7)
S("shutdown", fd, 9)
S("fcntl", fd, 5, lock(9, 0))  # F_GETLK that fails: the address
S("fcntl", fd, 5, lock(1, 0))  # F_GETLK that works: the lock
S("fcntl", fd, 6, lock(1, 9))
S("fcntl", fd, 99, 0)
S("fcntl", fd, ctypes.c_int(-7), 0)
S("fallocate", fd, 0x8, 0, 4096)
S("fallocate", fd, 0x3, 0, 4096)
S("fallocate", fd, 0x80, 0, 4096)
S("fallocate", fd, 0, 0, 4096)
S("socket", 2, 1 | 0x800 | 0x40000000, 0)
S("socket", 2, 3 | 0x60, 0)
S("socket", 99, 1, 0)
S("clock_gettime", 99, None)
S("rt_sigprocmask", 7, None, None, 8)
S("madvise", None, 4096, 99)
S("fadvise64", fd, 0, 0, ctypes.c_int(-1))
"""
UNKNOWN_CALLS = [
    "setitimer", "getitimer", "lseek", "shutdown", "fcntl", "fallocate", "socket",
    "clock_gettime", "rt_sigprocmask", "madvise", "fadvise64",
]  # fmt: skip


def _own_calls_alike(pycoz, program, names, style, first, count, expected, extra=()) -> None:
    """The lines of ``names`` calls the Python ``program`` makes itself (from the
    first that starts with ``first``: the interpreter's start-up left out) under
    -X ``style`` are the same under both tracers, ``count`` of them, and under
    -X abbrev strace's hold each of ``expected``."""
    options = ["-X", style, "-e", "trace=" + ",".join(names)]
    ours, theirs = run_both(pycoz, options, [PYTHON, "-c", program])
    mine, want = (
        lines[next(k for k, line in enumerate(lines) if line.startswith(first)) :]
        for lines in (calls(ours, names, extra), calls(theirs, names, extra))
    )
    assert mine == want
    assert len(want) == count
    if style == "abbrev":
        text = "\n".join(want)
        for line in expected:
            assert line in text, line


@pytest.mark.skipif(os.uname().machine not in ("x86_64", "aarch64"), reason="syscall numbers")
@pytest.mark.parametrize("style", ["abbrev", "raw", "verbose"])
def test_values_without_a_name_like_strace(pycoz, tmp_path, style):
    """A value no name covers is ``0x7 /* SEEK_??? */`` (a negative one as its
    32-bit pattern), unknown flag bits ``|0x60 /* SOCK_??? */``; fallocate's
    mode by name; a failed F_GETLK leaves the address."""
    program = f"DIR = {str(tmp_path)!r}\n" + UNKNOWN_VALUES_PROGRAM
    _own_calls_alike(
        pycoz,
        program,
        UNKNOWN_CALLS,
        style,
        "setitimer(",
        21,
        (
            "setitimer(0x5 /* ITIMER_??? */, NULL, NULL) = -1 EINVAL",
            "getitimer(0x7 /* ITIMER_??? */, NULL) = -1 EINVAL",
            "lseek(3, 0, 0xADDR /* SEEK_??? */) = -1 EINVAL",  # 0xffffffff
            "lseek(3, 5, 0x7 /* SEEK_??? */) = -1 EINVAL",
            "shutdown(3, 0x9 /* SHUT_??? */) = -1 ENOTSOCK",
            "fcntl(3, F_GETLK, 0xADDR) = -1 EINVAL",
            "fcntl(3, F_GETLK, {l_type=F_UNLCK, l_whence=SEEK_SET, l_start=0, l_len=0, l_pid=0})",
            "fcntl(3, F_SETLK, {l_type=F_WRLCK, l_whence=0x9 /* SEEK_??? */, l_start=0, l_len=0})",
            "fcntl(3, 0x63 /* F_??? */, 0) = -1 EINVAL",
            "fcntl(3, 0xADDR /* F_??? */, 0) = -1 EINVAL",  # 0xfffffff9
            "fallocate(3, FALLOC_FL_COLLAPSE_RANGE, 0, 4096) = -1 EINVAL",
            "fallocate(3, FALLOC_FL_KEEP_SIZE|FALLOC_FL_PUNCH_HOLE, 0, 4096) = ",
            "fallocate(3, 0x80 /* FALLOC_FL_??? */, 0, 4096) = -1 ",
            "fallocate(3, 0, 0, 4096) = 0",
            "socket(AF_INET, SOCK_RAW|0x60 /* SOCK_??? */, IPPROTO_IP) = -1 EINVAL",
            "socket(0x63 /* AF_??? */, SOCK_STREAM, 0) = -1 EAFNOSUPPORT",
            "clock_gettime(0x63 /* CLOCK_??? */, NULL) = -1 EINVAL",
            "rt_sigprocmask(0x7 /* SIG_??? */, NULL, NULL, 8) = ",
            "madvise(NULL, 4096, 0x63 /* MADV_??? */) = -1 EINVAL",
            "fadvise64(3, 0, 0, 0xADDR /* POSIX_FADV_??? */) = -1 EINVAL",
        ),
    )


# More calls with values strace has no name for, and the ones it names by
# composing (personality, ioprio).  ioprio_set only ever touches the program
# itself (IOPRIO_WHO_PROCESS, pid 0), and ends where it began.
MORE_VALUES_PROGRAM = """
import ctypes, os, socket
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
nr = {"x86_64": dict(waitid=247, sched_setscheduler=144, inotify_init1=294, pipe2=293,
                     dup3=292, renameat2=316, getrandom=318, statx=332, getrlimit=97,
                     getpriority=140, prlimit64=302, membarrier=324, sendmsg=46,
                     ioprio_get=252, ioprio_set=251, memfd_create=319),
      "aarch64": dict(waitid=95, sched_setscheduler=119, inotify_init1=26, pipe2=59,
                      dup3=24, renameat2=276, getrandom=278, statx=291, getrlimit=163,
                      getpriority=141, prlimit64=261, membarrier=283, sendmsg=211,
                      ioprio_get=31, ioprio_set=30, memfd_create=279)}[os.uname().machine]
S = lambda name, *args: libc.syscall(nr[name], *args)
buf = ctypes.create_string_buffer(64)
size = ctypes.c_int(4)
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
libc.setsockopt(sock.fileno(), 99, 5, buf, 4)
libc.setsockopt(sock.fileno(), socket.SOL_SOCKET, 999, buf, 4)
libc.setsockopt(sock.fileno(), socket.SOL_IP, 999, buf, 4)
libc.getsockopt(sock.fileno(), socket.SOL_TCP, 999, buf, ctypes.byref(size))
S("sendmsg", sock.fileno(), None, 0x80000000)
S("waitid", 9, 0, None, 4, None)
S("waitid", 0, 0, None, 0x80000, None)
S("sched_setscheduler", 0, 99, buf)
S("inotify_init1", 1)
S("memfd_create", b"x", 0x100)
S("pipe2", buf, 1)
S("dup3", 0, 100, 1)
S("renameat2", -100, (DIR + "/a").encode(), -100, (DIR + "/b").encode(), 0x10)
S("getrandom", buf, 4, 0x10)
S("statx", -100, b"/", 0, 0x80000000, buf)
S("getrlimit", 99, buf)
S("getrlimit", 7, buf)
S("getpriority", 9, 0)
S("prlimit64", 0, 99, None, buf)
S("membarrier", 0x10000, 0)
for persona in (0xFFFFFFFF, 0x8, 0x40008, 0x12345, 0xFFFFFFFF, 0):
    libc.personality(persona)
S("ioprio_get", 1, 0)
S("ioprio_set", 1, 0, (2 << 13) | 4)
S("ioprio_get", 1, 0)
S("ioprio_set", 1, 0, 7 << 13)
S("ioprio_set", 9, 0, 0)
S("ioprio_set", 1, 0, 0)
"""
MORE_CALLS = [
    "setsockopt", "getsockopt", "sendmsg", "waitid", "sched_setscheduler", "inotify_init1",
    "memfd_create", "pipe2", "dup3", "renameat2", "getrandom", "statx", "getrlimit",
    "getpriority", "prlimit64", "membarrier", "personality", "ioprio_get", "ioprio_set",
]  # fmt: skip


@pytest.mark.skipif(os.uname().machine not in ("x86_64", "aarch64"), reason="syscall numbers")
@pytest.mark.parametrize("style", ["abbrev", "raw", "verbose"])
def test_more_values_without_a_name_like_strace(pycoz, tmp_path, style):
    """Socket option levels and names, waitid's idtype and options, flags of
    inotify_init1, memfd_create, pipe2, dup3, renameat2, getrandom and statx's
    mask, resources, priorities, membarrier commands, MSG_CMSG_COMPAT; the
    persona and the I/O priority as strace composes them."""
    program = f"DIR = {str(tmp_path)!r}\n" + MORE_VALUES_PROGRAM
    _own_calls_alike(
        pycoz,
        program,
        MORE_CALLS,
        style,
        "setsockopt(3, 0x63",
        32,
        (
            "setsockopt(3, 0x63 /* SOL_?? */, 5, [0], 4) = -1 ENOPROTOOPT",
            "setsockopt(3, SOL_SOCKET, 0x3e7 /* SO_??? */, [0], 4) = -1 ENOPROTOOPT",
            "setsockopt(3, SOL_IP, 0x3e7 /* IP_??? */, [0], 4) = -1 ENOPROTOOPT",
            "getsockopt(3, SOL_TCP, 0x3e7 /* TCP_??? */, 0xADDR, [4]) = -1 EOPNOTSUPP",
            "sendmsg(3, NULL, MSG_CMSG_COMPAT) = -1 ",
            "waitid(0x9 /* P_??? */, 0, NULL, WEXITED, NULL) = -1 EINVAL",
            "waitid(P_ALL, 0, NULL, 0x80000 /* W??? */, NULL) = -1 EINVAL",
            "sched_setscheduler(0, 0x63 /* SCHED_??? */, [0]) = -1 EINVAL",
            "inotify_init1(0x1 /* IN_??? */) = -1 EINVAL",
            'memfd_create("x", 0x100 /* MFD_??? */) = -1 EINVAL',
            "pipe2(0xADDR, 0x1 /* O_??? */) = -1 EINVAL",
            "dup3(0, 100, 0x1 /* O_??? */) = -1 EINVAL",
            "0x10 /* RENAME_?? */) = -1 EINVAL",
            "getrandom(0xADDR, 4, 0x10 /* GRND_??? */) = -1 EINVAL",
            "0xADDR /* STATX_??? */, 0xADDR) = -1 EINVAL",  # 0x80000000
            "getrlimit(0x63 /* RLIMIT_??? */, 0xADDR) = -1 EINVAL",
            "getrlimit(RLIMIT_NOFILE, {rlim_cur=",
            "getpriority(0x9 /* PRIO_??? */, 0) = -1 EINVAL",
            "prlimit64(0, 0x63 /* RLIMIT_??? */, NULL, 0xADDR) = -1 EINVAL",
            "membarrier(0x10000 /* MEMBARRIER_CMD_??? */, 0) = -1 EINVAL",
            "personality(0xADDR) = 0 (PER_LINUX)",  # 0xffffffff, the query
            "personality(PER_LINUX32) = 0 (PER_LINUX)",
            "personality(PER_LINUX32|ADDR_NO_RANDOMIZE) = 0x8 (PER_LINUX32)",
            "personality(0x45 /* PER_??? */|0x12300) = 0x40008 (PER_LINUX32|ADDR_NO_RANDOMIZE)",
            "ioprio_get(IOPRIO_WHO_PROCESS, 0) = ",
            "ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 4)) = 0",
            "ioprio_get(IOPRIO_WHO_PROCESS, 0) = 16388 (IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 4))",
            "IOPRIO_PRIO_VALUE(0x7 /* IOPRIO_CLASS_??? */, 0)) = -1 EINVAL",
            "ioprio_set(0x9 /* IOPRIO_WHO_??? */, 0, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_NONE, 0)) = -1",
        ),
    )


# Flags with bits no name covers, refused by the kernel; kcmp of the program with itself.
FLAG_VALUES_PROGRAM = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
nr = {"x86_64": dict(epoll_create1=291, timerfd_settime=286, signalfd4=289, accept4=288,
                     access=21, faccessat2=439, unlinkat=263, linkat=265, utimensat=280,
                     fchownat=260, kcmp=312, sync_file_range=277, splice=275, tee=276,
                     pidfd_open=434, close_range=436)}[os.uname().machine]
S = lambda name, *args: libc.syscall(nr[name], *args)
fd = os.open(DIR + "/f", os.O_CREAT | os.O_RDWR, 0o644)
missing = (DIR + "/missing").encode()
S("epoll_create1", 1)
S("timerfd_settime", fd, 0x80, ctypes.create_string_buffer(32), None)
S("signalfd4", -1, ctypes.create_string_buffer(8), 8, 1)
S("accept4", fd, None, None, 1)
S("access", b"/", 0x10)
S("faccessat2", -100, b"/", 0, 0x10000)
S("unlinkat", -100, missing, 1)
S("linkat", -100, missing, -100, missing, 1)
S("utimensat", -100, missing, None, 1)
S("fchownat", -100, missing, 0, 0, 1)
S("kcmp", os.getpid(), os.getpid(), 99, 0, 0)
S("kcmp", os.getpid(), os.getpid(), 0, fd, fd)
S("sync_file_range", fd, 0, 0, 0x10)
S("sync_file_range", fd, 0, 0, 2)
S("splice", fd, None, fd, None, 4, 0x10)
S("tee", fd, fd, 4, 0x10)
S("pidfd_open", os.getpid(), 0x10)
S("close_range", 1000, 1001, 1)
S("close_range", 1000, 1001, 4)
"""
FLAG_CALLS = [
    "epoll_create1", "timerfd_settime", "signalfd4", "accept4", "access", "faccessat2",
    "unlinkat", "linkat", "utimensat", "fchownat", "kcmp", "sync_file_range", "splice",
    "tee", "pidfd_open", "close_range",
]  # fmt: skip


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="syscall numbers for x86_64")
@pytest.mark.parametrize("style", ["abbrev", "raw", "verbose"])
def test_flags_without_a_name_like_strace(pycoz, tmp_path, style):
    """``0x1 /* AT_??? */``, ``?_OK``, EPOLL_, TFD_, SFD_, SOCK_, PIDFD_???; the
    flags of sync_file_range, splice, tee and close_range, kcmp's type, by name."""
    program = f"DIR = {str(tmp_path)!r}\n" + FLAG_VALUES_PROGRAM
    pid = [(r"^kcmp\(\d+, \d+", "kcmp(PID, PID"), (r"^pidfd_open\(\d+", "pidfd_open(PID")]
    expected = (
        "epoll_create1(0x1 /* EPOLL_??? */) = -1 EINVAL",
        "timerfd_settime(3, 0x80 /* TFD_??? */, ",
        "signalfd4(-1, [], 8, 0x1 /* SFD_??? */) = -1 EINVAL",
        "accept4(3, NULL, NULL, 0x1 /* SOCK_??? */) = -1 EINVAL",
        'access("/", 0x10 /* ?_OK */) = -1 EINVAL',
        'faccessat2(AT_FDCWD, "/", F_OK, 0x10000 /* AT_??? */) = -1 EINVAL',
        '/missing", 0x1 /* AT_??? */) = -1 EINVAL',
        "kcmp(PID, PID, 0x63 /* KCMP_??? */, 0, 0) = -1 EINVAL",
        "kcmp(PID, PID, KCMP_FILE, 3, 3) = 0",
        "sync_file_range(3, 0, 0, 0x10 /* SYNC_FILE_RANGE_??? */) = -1 EINVAL",
        "sync_file_range(3, 0, 0, SYNC_FILE_RANGE_WRITE) = 0",
        "splice(3, NULL, 3, NULL, 4, 0x10 /* SPLICE_F_??? */) = -1 EINVAL",
        "tee(3, 3, 4, 0x10 /* SPLICE_F_??? */) = -1 EINVAL",
        "pidfd_open(PID, 0x10 /* PIDFD_??? */) = -1 EINVAL",
        "close_range(1000, 1001, 0x1 /* CLOSE_RANGE_??? */) = -1 EINVAL",
        "close_range(1000, 1001, CLOSE_RANGE_CLOEXEC) = 0",
    )
    _own_calls_alike(pycoz, program, FLAG_CALLS, style, "epoll_create1(0x1", 19, expected, pid)


# System V IPC objects of the program's own (IPC_PRIVATE, so new ones), each
# removed before it exits; and calls refused, which make nothing.
IPC_PROGRAM = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
shm = [libc.shmget(0, 4096, 0o1000 | 0o600), libc.shmget(0, 4096, 0o1000 | 0o2000 | 0o640)]
sem = libc.semget(0, 1, 0o1000 | 0o600)
msg = libc.msgget(0, 0o1000 | 0o600)
try:
    libc.semget(0, 0, 0o100000)
    libc.msgget(0x7FFFFFF0, 0)
    libc.msgctl(msg, 99, None)
    libc.shmctl(0x7FFFFFF0, 99, None)
finally:
    for i in shm:
        libc.shmctl(i, 0, None)
    libc.semctl(sem, 0, 0)
    libc.msgctl(msg, 0, None)
"""
IPC_CALLS = ["shmget", "semget", "msgget", "shmctl", "semctl", "msgctl"]


@pytest.mark.parametrize("style", ["abbrev", "raw", "verbose"])
def test_sysv_ipc_like_strace(pycoz, style):
    """shmget, semget, msgget: IPC_PRIVATE, the flags then the mode; the *ctl
    commands by name (``IPC_RMID``, ``0x63 /* MSG_??? */``)."""
    ids = [(r"^(\w+ctl)\(\d+,", r"\1(ID,"), (r"(get\(.*\)) += \d+$", r"\1 = ID")]
    _own_calls_alike(
        pycoz, IPC_PROGRAM, IPC_CALLS, style, "shmget(", 12,
        (
            "shmget(IPC_PRIVATE, 4096, IPC_CREAT|0600) = ID",
            "shmget(IPC_PRIVATE, 4096, IPC_CREAT|IPC_EXCL|0640) = ID",
            "semget(IPC_PRIVATE, 1, IPC_CREAT|0600) = ID",
            "msgget(IPC_PRIVATE, IPC_CREAT|0600) = ID",
            "semget(IPC_PRIVATE, 0, 0xADDR) = -1 EINVAL",  # 0x8000 and 000, run together
            "msgget(0xADDR, 000) = -1 ENOENT",  # 0x7ffffff0
            "msgctl(ID, 0x63 /* MSG_??? */, NULL) = -1 EINVAL",
            "shmctl(ID, 0x63 /* SHM_??? */, NULL) = -1 EINVAL",
            "shmctl(ID, IPC_RMID, NULL) = 0",
            "semctl(ID, 0, IPC_RMID, NULL) = 0",
            "msgctl(ID, IPC_RMID, NULL) = 0",
        ),
        ids,
    )  # fmt: skip
