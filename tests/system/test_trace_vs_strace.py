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
import tempfile

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


_RESUMED = re.compile(r"^(?:\[pid +\d+\] |\d+ +)?<\.\.\. (\w+) resumed>(.*)$")


def _joined(text: str) -> list[str]:
    """strace's lines with each ``<unfinished ...>`` call joined to its ``resumed`` end."""
    lines: list = []
    open_calls: dict = {}  # name -> index of its unfinished line
    for line in text.splitlines():
        if line.endswith(" <unfinished ...>"):
            name = re.sub(r"^(?:\[pid +\d+\] |\d+ +)?(\w+)\(.*", r"\1", line)
            open_calls[name] = len(lines)
            lines.append(line[: -len("<unfinished ...>")])
            continue
        m = _RESUMED.match(line)
        if m and m.group(1) in open_calls:
            k = open_calls.pop(m.group(1))
            head, tail = lines[k], m.group(2)
            lines[k] = (head.rstrip() if tail[:1] in ",)" else head) + tail
            continue
        lines.append(line)
    return lines


def calls(text: str, names, extra=()) -> list[str]:
    """The lines of ``names`` calls, normalised, in order."""
    pat = re.compile(r"^(?:\[pid +\d+\] |\d+ +)?(?:" + "|".join(names) + r")\(")
    return [normal(line, extra) for line in _joined(text) if pat.match(line)]


def run_both(pycoz, options, argv):
    """(ours, theirs): the trace of ``argv`` under pycoz and under strace (-o files,
    so that strace's "Process N attached" notes stay out of the lines)."""
    with tempfile.TemporaryDirectory() as tmp:
        mine, strace_out = os.path.join(tmp, "pycoz"), os.path.join(tmp, "strace")
        ours = pycoz("trace", "-o", mine, *options, "--", *argv)
        theirs = subprocess.run(
            [STRACE, "-o", strace_out, *options, *argv], capture_output=True, text=True
        )
        assert ours.returncode == theirs.returncode, (ours.stderr, theirs.stderr)
        with open(mine) as a, open(strace_out) as b:
            return a.read(), b.read()


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
    # Each run gets the next free pty: its number is the machine's, not the decoder's.
    pty = [(r"TIOCGPTN, \[\d+\]", "TIOCGPTN, [N]")]
    mine = calls(ours, ["ioctl"], pty)
    assert mine == calls(theirs, ["ioctl"], pty)
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


#: libc, and struct iovec, msghdr and mmsghdr for ctypes (sendmmsg and recvmmsg
#: have no Python wrapper).
MMSGHDR_CTYPES = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
class msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint),
                ("iov", ctypes.POINTER(iovec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]
class mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", msghdr), ("len", ctypes.c_uint)]
"""

MSG_PROGRAM = (
    """
import ctypes, os, socket, struct
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
r, w = os.pipe()
socket.send_fds(a, [b"hello"], [r, w])
socket.recv_fds(b, 100, 4)
b.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
creds = struct.pack("iII", os.getpid(), os.getuid(), os.getgid())
a.sendmsg([b"cred", b"xx"], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, creds)])
b.recvmsg(100, 256)
a.sendmsg([b"plain"], [], socket.MSG_DONTWAIT)
b.recvmsg(100)
try:
    b.recvmsg(100, 0, socket.MSG_DONTWAIT)
except BlockingIOError:
    pass
u1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u1.bind(("127.0.0.1", 0))
u1.setsockopt(socket.SOL_IP, 8, 1)  # IP_PKTINFO
u1.setsockopt(socket.SOL_SOCKET, 29, 1)  # SO_TIMESTAMP
u1.setsockopt(socket.SOL_IP, 12, 1)  # IP_RECVTTL
u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u2.sendmsg([b"dgram"], [], 0, u1.getsockname())
u1.recvmsg(100, 256)
u2.sendmsg([b"abc"], [], 0, u1.getsockname())
u1.recvmsg(2, 256)  # cut short: MSG_TRUNC

# sendmmsg and recvmmsg have no Python wrapper: through libc.
"""
    + MMSGHDR_CTYPES
    + """c, d = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
bufs = [ctypes.create_string_buffer(x) for x in (b"one", b"two!")]
iovs = [iovec(ctypes.cast(x, ctypes.c_void_p), len(x.value)) for x in bufs]
out = (mmsghdr * 2)()
for i in range(2):
    out[i].hdr.iov = ctypes.pointer(iovs[i])
    out[i].hdr.iovlen = 1
assert libc.sendmmsg(c.fileno(), out, 2, 0) == 2
rbufs = [ctypes.create_string_buffer(10) for _ in range(3)]
riovs = [iovec(ctypes.cast(x, ctypes.c_void_p), 10) for x in rbufs]
names = [ctypes.create_string_buffer(110) for _ in range(3)]
into = (mmsghdr * 3)()
for i in range(3):
    into[i].hdr.iov = ctypes.pointer(riovs[i])
    into[i].hdr.iovlen = 1
    into[i].hdr.name = ctypes.cast(names[i], ctypes.c_void_p)
    into[i].hdr.namelen = 110
assert libc.recvmmsg(d.fileno(), into, 3, socket.MSG_DONTWAIT, None) == 2
assert libc.recvmmsg(d.fileno(), into, 3, socket.MSG_DONTWAIT, None) == -1
"""
)


def test_msghdr_and_control_messages_like_strace(pycoz):
    names = ["sendmsg", "recvmsg", "sendmmsg", "recvmmsg"]
    ours, theirs = run_both(pycoz, ["-e", "trace=" + ",".join(names)], [PYTHON, "-c", MSG_PROGRAM])
    # What differs between two runs: the sender's pid, ports, times of arrival.
    vary = [
        (r"pid=\d+", "pid=PID"),
        (r"htons\(\d+\)", "htons(PORT)"),
        (r"tv_sec=\d+, tv_usec=\d+", "tv_sec=S, tv_usec=U"),
    ]
    mine = calls(ours, names, vary)
    assert mine == calls(theirs, names, vary)
    text = "\n".join(mine)
    for expected in (
        "msg_control=[{cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, "
        "cmsg_data=[5, 6]}], msg_controllen=24",
        "cmsg_data=[7, 8]",
        "cmsg_type=SCM_CREDENTIALS, cmsg_data={pid=PID, uid=0, gid=0}}]",
        "msg_namelen=110 => 0, ",
        "recvmsg(4, {msg_namelen=110}, MSG_DONTWAIT) = -1 EAGAIN",
        "cmsg_type=SO_TIMESTAMP_OLD, cmsg_data={tv_sec=S, tv_usec=U}}",
        'cmsg_type=IP_PKTINFO, cmsg_data={ipi_ifindex=if_nametoindex("lo"), '
        'ipi_spec_dst=inet_addr("127.0.0.1"), ipi_addr=inet_addr("127.0.0.1")}}',
        "cmsg_type=IP_TTL, cmsg_data=[64]}",
        "msg_flags=MSG_TRUNC}, 0) = 2",
        'sendmmsg(11, [{msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="one", '
        "iov_len=3}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, msg_len=3}, ",
        'recvmmsg(12, [{msg_hdr={msg_name=0xADDR, msg_namelen=110 => 0, msg_iov=[{iov_base="one", '
        "iov_len=10}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, msg_len=3}, ",
        "], 3, MSG_DONTWAIT, NULL) = 2",
        "recvmmsg(12, 0xADDR, 3, MSG_DONTWAIT, NULL) = -1 EAGAIN",
    ):
        assert expected in text, expected


SIGNAL_PROGRAM = """
import os, signal
signal.signal(signal.SIGUSR1, lambda *a: None)
os.kill(os.getpid(), signal.SIGUSR1)
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGHUP, signal.SIGRTMIN + 2])
os.kill(os.getpid(), signal.SIGUSR1)
signal.pthread_sigmask(signal.SIG_BLOCK, set(signal.valid_signals()) - {signal.SIGUSR1})
os.kill(os.getpid(), signal.SIGUSR1)
"""


def test_rt_sigreturn_shows_the_restored_mask(pycoz):
    ours, theirs = run_both(pycoz, ["-e", "trace=rt_sigreturn"], [PYTHON, "-c", SIGNAL_PROGRAM])
    mine = calls(ours, ["rt_sigreturn"])
    assert mine == calls(theirs, ["rt_sigreturn"])
    assert mine[-3:] == [
        "rt_sigreturn({mask=[]}) = 0",
        "rt_sigreturn({mask=[HUP RT_4]}) = 0",
        "rt_sigreturn({mask=~[KILL USR1 STOP RTMIN RT_1]}) = 0",  # glibc keeps 32, 33
    ]
    # A shell's trap, in a static busybox: the same line strace prints.
    ours, theirs = run_both(
        pycoz, ["-e", "trace=rt_sigreturn"], ["busybox", "sh", "-c", "trap : USR1; kill -USR1 $$"]
    )
    assert calls(ours, ["rt_sigreturn"]) == calls(theirs, ["rt_sigreturn"])
    assert calls(ours, ["rt_sigreturn"]) == ["rt_sigreturn({mask=[]}) = 0"]


@pytest.mark.skipif(shutil.which("ping") is None, reason="ping is not installed")
def test_ping_capabilities_prctl_timers_sockopts_like_strace(pycoz):
    names = ["capget", "capset", "prctl", "setitimer", "setsockopt", "getsockopt"]
    ours, theirs = run_both(
        pycoz, ["-f", "-e", "trace=" + ",".join(names)], ["ping", "-c1", "127.0.0.1"]
    )
    mine = calls(ours, names)
    assert mine == calls(theirs, names)
    text = "\n".join(mine)
    for expected in (
        "capget({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, ",
        "prctl(PR_SET_KEEPCAPS, ",
        "setitimer(ITIMER_REAL, {it_interval={tv_sec=0, tv_usec=0}, it_value={tv_sec=",
        "setsockopt(3, SOL_RAW, ICMP_FILTER, ~[ICMP_ECHOREPLY ",
    ):
        assert expected in text, expected


def test_fadvise_and_connect_error_like_strace(pycoz):
    ours, theirs = run_both(pycoz, ["-e", "trace=fadvise64"], ["cat", "/etc/hostname"])
    mine = calls(ours, ["fadvise64"])
    assert mine == calls(theirs, ["fadvise64"])
    assert mine == ["fadvise64(3, 0, 0, POSIX_FADV_SEQUENTIAL) = 0"]
    if shutil.which("curl") is None:
        return
    # Port 9 on loopback: nothing listens, the connect fails with ECONNREFUSED.
    ours, theirs = run_both(
        pycoz, ["-f", "-e", "trace=getsockopt"], ["curl", "-s", "http://127.0.0.1:9/"]
    )
    mine = calls(ours, ["getsockopt"])
    assert mine == calls(theirs, ["getsockopt"])
    assert any("SO_ERROR, [ECONNREFUSED], [4]) = 0" in line for line in mine), mine


def test_statfs_umask_getgroups_like_strace(pycoz):
    # /proc's and /sys's numbers do not change between the two runs; a disk's would.
    names = ["statfs", "umask", "getgroups", "mkdir", "fchmodat", "chmod"]
    script = (
        "stat -f /proc /sys >/dev/null; umask 0; umask 22; id >/dev/null; "
        "d=$(mktemp -d); mkdir -m 0 $d/x; chmod 640 $d/x; rmdir $d/x $d"
    )
    ours, theirs = run_both(pycoz, ["-f", "-e", "trace=" + ",".join(names)], ["sh", "-c", script])
    vary = [(r'"/tmp/tmp\.\w+', '"/tmp/TMP')]
    mine = calls(ours, names, vary)
    assert mine == calls(theirs, names, vary)
    text = "\n".join(mine)
    for expected in (
        'statfs("/proc", {f_type=PROC_SUPER_MAGIC, f_bsize=4096, f_blocks=0, ',
        'statfs("/sys", {f_type=SYSFS_MAGIC, ',
        "f_flags=ST_VALID|",
        "umask(000) = 022",
        "umask(022) = 000",
        "getgroups(0, []) = ",
        'mkdir("/tmp/TMP/x", 000) = 0',
        "0640) = 0",
    ):
        assert expected in text, expected


@pytest.mark.skipif(shutil.which("ip") is None, reason="iproute2 is not installed")
def test_netlink_socket_options_like_strace(pycoz):
    names = ["setsockopt", "bind"]
    ours, theirs = run_both(
        pycoz, ["-e", "trace=" + ",".join(names)], ["ip", "-o", "link", "show", "lo"]
    )
    mine = calls(ours, names)
    assert mine == calls(theirs, names)
    assert "setsockopt(3, SOL_NETLINK, NETLINK_EXT_ACK, [1], 4) = 0" in mine


def test_clone_and_clone3_like_strace(pycoz):
    # A thread (clone3, and its parent_tid written back) and a fork (clone).
    program = (
        "import os, threading\n"
        "t = threading.Thread(target=lambda: None); t.start(); t.join()\n"
        "pid = os.fork()\n"
        "if pid == 0: os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
    )
    names = ["clone", "clone3"]
    ours, theirs = run_both(
        pycoz, ["-f", "-e", "trace=" + ",".join(names)], [PYTHON, "-c", program]
    )
    vary = [(r"parent_tid=\[\d+\]", "parent_tid=[TID]"), (r"\) = \d+$", ") = PID")]
    mine = calls(ours, names, vary)
    assert mine == calls(theirs, names, vary)
    assert len(mine) == 2 and mine[0].startswith("clone3({flags=CLONE_VM|CLONE_FS|")
    assert " => {parent_tid=[TID]}, 88) = PID" in mine[0]
    assert mine[1].startswith("clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|")


def _terminal_lines(argv) -> list[str]:
    """stderr lines (strace writes the same to a pipe as to a terminal without -o)."""
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    pid = re.compile(r"\[pid +\d+\]")
    return sorted(
        pid.sub("[pid N]", line)
        for line in r.stderr.splitlines()
        if "close(" in line or "+++ exited" in line
    )


def test_pid_prefix_and_alignment_like_strace(pycoz_bin):
    """[pid N] only while more than one process is traced, and ' = ' at column 40
    counting the prefix, as strace prints them."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    script = ["sh", "-c", "cat /dev/null; exit 0"]
    ours = _terminal_lines([pycoz_bin, "trace", "-f", "-e", "trace=close", "--", *script])
    theirs = _terminal_lines(["strace", "-f", "-e", "trace=close", *script])
    assert ours == theirs
    assert any(line.startswith("[pid N] close(3)  ") for line in ours)


def test_relative_timestamps_are_as_wide_as_strace(pycoz_bin):
    r = subprocess.run(
        [pycoz_bin, "trace", "-r", "-e", "trace=close", "--", "cat", "/dev/null"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    first = r.stderr.splitlines()[0]
    assert re.match(r"^ {5}0\.000000 close\(3\) {18}= 0$", first), first


_TIMERS = r"""
import ctypes, signal, time
fired = []
signal.signal(signal.SIGUSR1, lambda *a: fired.append(1))
libc = ctypes.CDLL(None)
class Ev(ctypes.Structure):
    _fields_ = [("value", ctypes.c_void_p), ("signo", ctypes.c_int), ("notify", ctypes.c_int),
                ("tid", ctypes.c_int), ("pad", ctypes.c_int * 11)]
class Ts(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]
class Its(ctypes.Structure):
    _fields_ = [("interval", Ts), ("value", Ts)]
NR = {"x86_64": (222, 223, 224, 226), "aarch64": (107, 110, 108, 111)}
import os
create, settime, gettime, delete = NR[os.uname().machine]
t = ctypes.c_int()
libc.syscall(create, 1, ctypes.byref(Ev(0x1234, signal.SIGUSR1, 0, 0)), ctypes.byref(t))
old = Its()
libc.syscall(settime, t.value, 0, ctypes.byref(Its(Ts(0, 0), Ts(0, 1000))), ctypes.byref(old))
while not fired:
    time.sleep(0.001)
cur = Its()
libc.syscall(gettime, t.value, ctypes.byref(cur))
libc.syscall(delete, t.value)
sigaltstack = Its()
libc.sigaltstack(None, ctypes.byref(sigaltstack))
"""


def test_timers_sigaltstack_and_timer_signals_like_strace(pycoz):
    """timer_create's sigevent, the itimerspecs, the SI_TIMER signal's fields
    (the timer id, overrun and value the tracer reads from the signal), and
    sigaltstack's stack_t."""
    names = ["timer_create", "timer_settime", "timer_gettime", "timer_delete", "sigaltstack"]
    options = ["-e", "trace=" + ",".join(names), "-e", "signal=SIGUSR1"]
    ours, theirs = run_both(pycoz, options, [PYTHON, "-S", "-c", _TIMERS])
    want = calls(theirs, names)
    assert len(want) == 5, theirs
    assert calls(ours, names) == want
    signals = [normal(x) for x in ours.splitlines() if x.startswith("--- SIGUSR1")]
    assert signals == [normal(x) for x in theirs.splitlines() if x.startswith("--- SIGUSR1")]
    assert len(signals) == 1, ours
    assert (
        "si_code=SI_TIMER, si_timerid=0, si_overrun=0, si_int=4660, si_ptr=0x1234" in (signals[0])
    ), signals


@pytest.mark.parametrize(
    "inject",
    [
        "getpid:delay_exit=1000",
        "getpid:delay_enter=1000:error=EPERM",
        "getpid:retval=5:delay_exit=1",
    ],
)
def test_delayed_calls_are_marked_as_strace_marks_them(pycoz, inject):
    program = [PYTHON, "-c", "import os; os.getpid()"]
    ours, theirs = run_both(pycoz, ["-e", "trace=getpid", "-e", f"inject={inject}"], program)
    pid_value = [(r"\) += \d+ \(", ") = PID (")]
    mine = calls(ours, ["getpid"], pid_value)
    assert mine == calls(theirs, ["getpid"], pid_value)
    assert mine[-1].endswith("(DELAYED)")


def test_summary_counts_what_strace_counts(pycoz):
    """-c leaves out calls that never return (exit_group), and prints no table
    when nothing was counted."""
    program = [PYTHON, "-c", "import os; os.getpid()"]
    ours, theirs = run_both(pycoz, ["-c", "-e", "trace=getpid,exit_group"], program)
    names = lambda text: [line.split()[-1] for line in text.splitlines()[2:-2]]  # noqa: E731
    assert names(ours) == names(theirs) == ["getpid"]
    ours, theirs = run_both(pycoz, ["-c", "-e", "trace=exit_group"], ["true"])
    assert ours == theirs == ""


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]


def _as_nobody(argv) -> subprocess.CompletedProcess:
    return subprocess.run([*NOBODY, *argv], capture_output=True, text=True, timeout=60)


def test_prefilter_works_for_an_unprivileged_user(pycoz_bin):
    """Without CAP_SYS_ADMIN a seccomp filter needs no_new_privs, which pycoz
    sets then, as strace --seccomp-bpf does; as root pycoz does not (strace
    does), so that setuid programs keep working under the tracer."""
    if _as_nobody([sys.executable, "-c", "import pycoz_cli"]).returncode != 0:
        pytest.skip("this checkout cannot be read by user 65534")
    script = ["sh", "-c", "grep -h NoNewPrivs /proc/self/status; exec /bin/true"]

    def execs(r):
        assert r.returncode == 0, r.stderr
        return sorted(calls(r.stderr, ["execve"]))

    for user in (NOBODY, []):
        ours = subprocess.run(
            [*user, pycoz_bin, "trace", "-f", "-e", "trace=execve", "--", *script],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        theirs = subprocess.run(
            [*user, STRACE, "-f", "--seccomp-bpf", "-e", "trace=execve", "--", *script],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert execs(ours) == execs(theirs)
        assert len(execs(ours)) == 3
        assert ours.stdout == ("NoNewPrivs:\t1\n" if user else "NoNewPrivs:\t0\n")
        assert theirs.stdout == "NoNewPrivs:\t1\n"


THREAD_EXEC = """
import os, threading, time
def late_exec():
    time.sleep(0.3)  # the leader is waiting in futex by then, however loaded the machine
    os.execv("/bin/true", ["true"])
threading.Thread(target=late_exec).start()
threading.Event().wait()
"""


@pytest.mark.parametrize("prefilter", [[], ["--no-seccomp"]], ids=["prefilter", "every-stop"])
def test_execve_from_a_thread_like_strace(pycoz_bin, tmp_path, prefilter):
    """A thread that is not the leader execs: strace's unfinished execve, the
    leader superseded, and the resumed end under the leader's pid.

    Against strace without --seccomp-bpf: strace 6.1 with it loses the execve's
    return there (``<... execve resumed>) = ?``)."""
    argv = ["-f", "-e", "trace=execve", "--", PYTHON, "-c", THREAD_EXEC]
    texts = []
    for tracer in ([pycoz_bin, "trace", *prefilter], [STRACE]):
        out = tmp_path / "out"
        r = subprocess.run([*tracer, "-o", str(out), *argv], capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        texts.append(out.read_text())
    extra = [(r"<pid changed to \d+ \.\.\.>", "<unfinished ...>"), (r"in pid \d+", "in pid N")]
    mine, theirs = ([normal(line, extra) for line in text.splitlines()] for text in texts)
    assert mine == theirs
    assert [re.sub(r"\(.* <", "(...) <", line) for line in mine[1:]] == [
        "execve(...) <unfinished ...>",
        "+++ superseded by execve in pid N +++",
        "<... execve resumed>) = 0",
        "+++ exited with 0 +++",
    ]


def test_the_superseded_leaders_call_never_returns(pycoz):
    """The leader, waiting in futex when a thread execs, is gone: its call
    ends with ``= ?`` as under strace, not with a made-up result."""
    ours, theirs = run_both(pycoz, ["-f", "-e", "trace=futex,execve"], [PYTHON, "-c", THREAD_EXEC])
    for text in (ours, theirs):
        lines = _joined(text)
        gone = next(i for i, line in enumerate(lines) if "+++ superseded" in line)
        futexes = [line for line in lines if re.match(r"^\d+ +futex\(", line)]
        assert [line for line in futexes if line.endswith("= ?")], lines
        assert not any("futex(" in line for line in lines[gone:]), lines


WAITS_PROGRAM = """
import ctypes, os, select
r, w = os.pipe()
select.select([r], [], [], 0.05)  # pselect6, times out: the kernel writes back 0
os.write(w, b"x")
select.select([r], [], [], 1.5)  # ready at once: most of the timeout is left
libc = ctypes.CDLL(None)
class TS(ctypes.Structure):
    _fields_ = [("s", ctypes.c_long), ("ns", ctypes.c_long)]
class TV(ctypes.Structure):
    _fields_ = [("s", ctypes.c_long), ("us", ctypes.c_long)]
class PFD(ctypes.Structure):
    _fields_ = [("fd", ctypes.c_int), ("ev", ctypes.c_short), ("rev", ctypes.c_short)]
fds = (PFD * 2)(PFD(r, 1, 0), PFD(-1, 1, 0))
libc.ppoll(fds, 2, ctypes.byref(TS(2, 500)), None)
os.read(r, 1)
libc.ppoll(fds, 1, ctypes.byref(TS(0, 20000000)), None)
rset = ctypes.c_ulong(1 << r)
libc.syscall(23, r + 1, ctypes.byref(rset), None, None, ctypes.byref(TV(0, 30000)))  # select(2)
os.write(w, b"x")
rset = ctypes.c_ulong(1 << r)
libc.syscall(23, r + 1, ctypes.byref(rset), None, None, ctypes.byref(TV(3, 0)))
"""


def test_wait_timeouts_are_the_ones_passed_and_what_is_left(pycoz):
    """select, pselect6 and ppoll show the timeout given at entry (the kernel
    overwrites it), and what is left of it after the result, as strace does."""
    names = ["select", "pselect6", "ppoll"]
    ours, theirs = run_both(
        pycoz, ["-e", "trace=" + ",".join(names)], [PYTHON, "-c", WAITS_PROGRAM]
    )
    left = [(r"left \{tv_sec=\d+, (tv_[nu]sec)=\d+\}", r"left {tv_sec=S, \1=N}")]
    mine = calls(ours, names, left)
    assert mine == calls(theirs, names, left)
    assert mine[-6:] == [
        "pselect6(4, [3], NULL, NULL, {tv_sec=0, tv_nsec=50000000}, NULL) = 0 (Timeout)",
        "pselect6(4, [3], NULL, NULL, {tv_sec=1, tv_nsec=500000000}, NULL) = 1 "
        "(in [3], left {tv_sec=S, tv_nsec=N})",
        "ppoll([{fd=3, events=POLLIN}, {fd=-1}], 2, {tv_sec=2, tv_nsec=500}, NULL, 8) = 1 "
        "([{fd=3, revents=POLLIN}], left {tv_sec=S, tv_nsec=N})",
        "ppoll([{fd=3, events=POLLIN}], 1, {tv_sec=0, tv_nsec=20000000}, NULL, 8) = 0 (Timeout)",
        "select(4, [3], NULL, NULL, {tv_sec=0, tv_usec=30000}) = 0 (Timeout)",
        "select(4, [3], NULL, NULL, {tv_sec=3, tv_usec=0}) = 1 "
        "(in [3], left {tv_sec=S, tv_usec=N})",
    ]


FDS_PROGRAM = """
import fcntl, os, socket
os.chdir("/tmp")
fd = os.open(DIR + "/gone<x>", os.O_CREAT | os.O_RDWR, 0o600)
os.unlink(DIR + "/gone<x>")
os.fstat(fd)
null = os.open("/dev/null", os.O_RDONLY)
os.fstat(null)
os.dup2(null, fd)  # newfd: the deleted file, as it was before the call
os.close(null)  # closed: decorated as it was at entry
fcntl.fcntl(fd, fcntl.F_DUPFD, 30)
fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 40)
os.close(30)
os.close(40)
a, b = socket.socketpair()
a.send(b"x")
u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
u.bind(DIR + "/sock")
u.getsockname()
n = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
n.bind((0, 0))
n.getsockname()
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
c = socket.create_connection(s.getsockname())
c.send(b"x")
d = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
d.bind(("::1", 0))
d.sendto(b"x", d.getsockname())
p = os.pidfd_open(os.getpid())
os.fstat(p)
e = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
e.sendto(b"x", ("127.0.0.1", 9))  # binds the socket: decorated as it was before
e.sendto(b"x", ("127.0.0.1", 9))
for f in (a, b, u, n, s, c, d, e):
    f.close()
os.close(p)
os.unlink(DIR + "/sock")  # the next run binds it again
"""

FD_CALLS = ["newfstatat", "dup2", "close", "fcntl", "sendto", "getsockname", "bind", "openat",
            "pidfd_open", "socket", "socketpair", "connect", "listen"]  # fmt: skip


@pytest.mark.parametrize("option", ["-y", "-yy", "-e decode-fds=dev,pidfd"])
def test_decoded_descriptors_like_strace(pycoz, tmp_path, option):
    """-y's paths (AT_FDCWD's too; a closed or replaced fd as it was before the
    call; a deleted file's mark after the brackets), -yy's sockets, devices and
    pidfds."""
    program = f"DIR = {str(tmp_path)!r}\n" + FDS_PROGRAM
    ours, theirs = run_both(
        pycoz, [*option.split(), "-e", "trace=" + ",".join(FD_CALLS)], [PYTHON, "-c", program]
    )
    vary = [
        (r"(nl_pid=|ROUTE:|pid:|pidfd_open\()\d+", r"\1PID"),
        (r"\[\d{5,}", "[INO"),
        (r"->\d{5,}", "->INO"),
        (r"htons\(\d+\)", "htons(PORT)"),
        (r":\d{4,}(\]|->)", r":PORT\1"),
    ]
    want = calls(theirs, FD_CALLS, vary)
    # the program's own calls: from its chdir to /tmp on
    start = next(i for i, line in enumerate(want) if "gone" in line)
    mine = calls(ours, FD_CALLS, vary)
    assert mine[-len(want) + start :] == want[start:]
    assert mine == want
    text = "\n".join(want[start:])
    d = str(tmp_path)
    if option == "-y":
        for expected in (
            f'openat(AT_FDCWD</tmp>, "{d}/gone<x>", O_RDWR|O_CREAT|O_CLOEXEC, 0600) = '
            f"3<{d}/gone\\74x\\76>",
            f"newfstatat(3<{d}/gone\\74x\\76>(deleted), ",
            f"dup2(4</dev/null>, 3<{d}/gone\\74x\\76>(deleted)) = 3</dev/null>",
            "close(4</dev/null>) = 0",
            "fcntl(3</dev/null>, F_DUPFD, 30) = 30</dev/null>",
            "fcntl(3</dev/null>, F_DUPFD_CLOEXEC, 40) = 40</dev/null>",
            "close(30</dev/null>) = 0",
            "sendto(4<socket:[INO]>, ",
            "pidfd_open(PID, 0) = 11<anon_inode:[pidfd]>",
        ):
            assert expected in text, expected
    elif option == "-yy":
        for expected in (
            "newfstatat(4</dev/null<char 1:3>>, ",
            "sendto(4<UNIX-STREAM:[INO->INO]>, ",
            f'getsockname(6<UNIX:[INO,"{d}/sock"]>, ',
            "getsockname(7<NETLINK:[ROUTE:PID]>, ",
            "listen(8<TCP:[127.0.0.1:PORT]>, ",
            "sendto(9<TCP:[127.0.0.1:PORT->127.0.0.1:PORT]>, ",
            "sendto(10<UDPv6:[[::1]:PORT]>, ",
            "pidfd_open(PID, 0) = 11<pid:PID>",
            "close(9<TCP:[127.0.0.1:PORT->127.0.0.1:PORT]>) = 0",
            'sendto(12<UDP:[INO]>, "x", 1, 0, ',
            'sendto(12<UDP:[0.0.0.0:PORT]>, "x", 1, 0, ',
        ):
            assert expected in text, expected
    else:
        assert "newfstatat(4</dev/null<char 1:3>>, " in text
        assert "openat(AT_FDCWD, " in text
        assert "pidfd_open(PID, 0) = 11<pid:PID>" in text


CONSTANTS_PROGRAM = """
import ctypes, fcntl, os, resource, select, signal, socket
libc = ctypes.CDLL(None, use_errno=True)
ep = select.epoll()
r, w = os.pipe()
ep.register(r, select.EPOLLIN | select.EPOLLET)
ep.modify(r, select.EPOLLIN | select.EPOLLOUT)
os.write(w, b"x")
ep.poll(1)
ep.unregister(r)
ep.poll(0)  # nothing registered: 0 events
ino = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
libc.inotify_add_watch(ino, DIR.encode(), 0x2 | 0x100 | 0x200 | 0x40000000)
resource.getrusage(resource.RUSAGE_SELF)
resource.getrusage(resource.RUSAGE_CHILDREN)
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
s6.setsockopt(41, 76, 0)  # IPV6_UNICAST_IF
s4 = socket.socket()
s4.setsockopt(6, 25, 1)  # TCP_NOTSENT_LOWAT
m = os.memfd_create("mine", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
f = os.open(DIR + "/f", os.O_CREAT | os.O_RDWR, 0o644)
fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
fcntl.flock(f, fcntl.LOCK_UN)
os.setxattr(DIR + "/f", "user.k", b"value\\0x")
os.getxattr(DIR + "/f", "user.k")
os.listxattr(DIR + "/f")
try:
    os.getxattr(DIR + "/f", "user.none")
except OSError:
    pass
os.sched_setaffinity(0, {0})
os.sched_getaffinity(0)
os.write(f, b"hello world")
g = os.open(DIR + "/g", os.O_CREAT | os.O_RDWR, 0o644)
off = ctypes.c_long(0)
libc.sendfile(g, f, ctypes.byref(off), 5)
o1, o2 = ctypes.c_long(0), ctypes.c_long(3)
libc.copy_file_range(f, ctypes.byref(o1), g, ctypes.byref(o2), 4, 0)
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
os.kill(os.getpid(), signal.SIGUSR1)
signal.sigpending()
signal.sigtimedwait([signal.SIGUSR1], 0.5)
signal.sigtimedwait([signal.SIGUSR2], 0.01)
os.utime(DIR + "/f", ns=(1700000000123456789, 1700000001000000000))
class TS(ctypes.Structure):
    _fields_ = [("s", ctypes.c_long), ("ns", ctypes.c_long)]
libc.utimensat(-100, (DIR + "/f").encode(), (TS * 2)(TS(0, (1 << 30) - 1), TS(0, (1 << 30) - 2)), 0)
os.setresuid(-1, -1, -1)
os.setresgid(-1, 0, -1)
os.setreuid(-1, 0)
os.fchown(f, -1, 0)
os.chmod(DIR + "/f", 0)
os.stat(DIR + "/f")
"""

CONSTANT_CALLS = [
    "epoll_ctl", "epoll_wait", "inotify_init1", "inotify_add_watch", "getrusage", "setsockopt",
    "memfd_create", "flock", "setxattr", "getxattr", "listxattr", "sched_setaffinity",
    "sched_getaffinity", "sendfile", "copy_file_range", "rt_sigpending", "rt_sigtimedwait",
    "utimensat", "setresuid", "setresgid", "setreuid", "fchown", "newfstatat",
]  # fmt: skip


def test_constants_and_pointers_like_strace(pycoz, tmp_path):
    """Names for epoll, inotify, getrusage, socket options, memfd and flock
    constants; what strace reads behind pointers (epoll events, xattr values,
    CPU sets, sendfile's moved offset, pending and awaited signals, rusage);
    utimensat's dates; -1 ids; a mode of 000."""
    program = f"DIR = {str(tmp_path)!r}\n" + CONSTANTS_PROGRAM
    ours, theirs = run_both(
        pycoz, ["-e", "trace=" + ",".join(CONSTANT_CALLS)], [PYTHON, "-c", program]
    )
    vary = [
        (r"ru_utime=\{tv_sec=\d+, tv_usec=\d+\}", "ru_utime={T}"),
        (r"ru_stime=\{tv_sec=\d+, tv_usec=\d+\}", "ru_stime={T}"),
        (r"si_pid=\d+", "si_pid=PID"),
    ]
    want = calls(theirs, CONSTANT_CALLS, vary)
    mine = calls(ours, CONSTANT_CALLS, vary)
    assert mine == want
    text = "\n".join(want)
    d = str(tmp_path)
    for expected in (
        "epoll_ctl(3, EPOLL_CTL_ADD, 4, {events=EPOLLIN|EPOLLET, data={u32=4, u64=4}}) = 0",
        "epoll_ctl(3, EPOLL_CTL_MOD, 4, {events=EPOLLIN|EPOLLOUT, data={u32=4, u64=4}}) = 0",
        "epoll_wait(3, [{events=EPOLLIN, data={u32=4, u64=4}}], ",
        "epoll_ctl(3, EPOLL_CTL_DEL, 4, 0xADDR) = 0",
        "epoll_wait(3, [], 1023, 0) = 0",
        "inotify_init1(IN_NONBLOCK|IN_CLOEXEC) = 6",
        f'inotify_add_watch(6, "{d}", IN_MODIFY|IN_CREATE|IN_DELETE|IN_ISDIR) = 1',
        "getrusage(RUSAGE_SELF, {ru_utime={T}, ru_stime={T}, ...}) = 0",
        "getrusage(RUSAGE_CHILDREN, ",
        "setsockopt(7, SOL_IPV6, IPV6_RECVHOPLIMIT, [1], 4) = 0",
        "setsockopt(7, SOL_IPV6, IPV6_UNICAST_IF, [0], 4) = 0",
        "setsockopt(8, SOL_TCP, TCP_NOTSENT_LOWAT, [1], 4) = 0",
        'memfd_create("mine", MFD_CLOEXEC|MFD_ALLOW_SEALING) = 9',
        "flock(10, LOCK_EX|LOCK_NB) = 0",
        "flock(10, LOCK_UN) = 0",
        f'setxattr("{d}/f", "user.k", "value\\0x", 7, 0) = 0',
        f'getxattr("{d}/f", "user.k", "value\\0x", ',
        f'listxattr("{d}/f", "user.k\\0", 256) = 7',
        f'getxattr("{d}/f", "user.none", 0xADDR, ',
        "sched_setaffinity(0, 8, [0]) = 0",
        "sched_getaffinity(0, 8, [0]) = 8",
        "sendfile(11, 10, [0] => [5], 5) = 5",
        "copy_file_range(10, [0], 11, [3], 4, 0) = 4",
        "rt_sigpending([USR1], 8) = 0",
        "rt_sigtimedwait([USR1], {si_signo=SIGUSR1, si_code=SI_USER, si_pid=PID, si_uid=0}, "
        "{tv_sec=0, tv_nsec=500000000}, 8) = 10 (SIGUSR1)",
        "rt_sigtimedwait([USR2], 0xADDR, {tv_sec=0, tv_nsec=10000000}, 8) = -1 EAGAIN",
        "[{tv_sec=1700000000, tv_nsec=123456789} /* 2023-11-14T22:13:20.123456789",
        "{tv_sec=1700000001, tv_nsec=0} /* 2023-11-14T22:13:21",
        "[UTIME_NOW, UTIME_OMIT], 0) = 0",
        "setresuid(-1, -1, -1) = 0",
        "setresgid(-1, 0, -1) = 0",
        "setreuid(-1, 0) = 0",
        "fchown(10, -1, 0) = 0",
        "{st_mode=S_IFREG|000, st_size=11, ...}",
    ):
        assert expected in text, expected


IOCTL_PROGRAM = """
import array, fcntl, os, socket, struct, termios
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
fcntl.ioctl(s, 0x8933, struct.pack("16si20x", b"lo", 0))  # SIOCGIFINDEX
fcntl.ioctl(s, 0x8913, struct.pack("16sh22x", b"lo", 0))  # SIOCGIFFLAGS
fcntl.ioctl(s, 0x8921, struct.pack("16si20x", b"lo", 0))  # SIOCGIFMTU
fcntl.ioctl(s, 0x8910, bytes(16) + struct.pack("i20x", 1))  # SIOCGIFNAME
buf = array.array("B", bytes(40 * 8))
fcntl.ioctl(s, 0x8912, struct.pack("iL", len(buf), buf.buffer_info()[0]))  # SIOCGIFCONF
fcntl.ioctl(s, 0x8927, struct.pack("16s24x", b"lo"))  # SIOCGIFHWADDR
try:
    fcntl.ioctl(s, 0x8915, struct.pack("16s24x", b"lo"))  # SIOCGIFADDR: none while down
except OSError:
    pass
f = os.open(DIR + "/a", os.O_CREAT | os.O_RDWR)
g = os.open(DIR + "/b", os.O_CREAT | os.O_RDWR)
try:
    fcntl.ioctl(g, 0x40049409, f)  # FICLONE
except OSError:
    pass
try:
    fcntl.ioctl(f, 0x80081272, bytes(8))  # BLKGETSIZE64
except OSError:
    pass
fcntl.ioctl(f, termios.FIONREAD, bytes(4))
"""


@pytest.mark.parametrize("decorated", [False, True], ids=["plain", "-y"])
def test_socket_and_file_ioctls_like_strace(pycoz, tmp_path, decorated):
    """struct ifreq and ifconf (in a network namespace of the test's own, where
    only a loopback that is down exists), FICLONE and block device requests;
    with -y too (FICLONE's source stays a plain number)."""
    program = f"DIR = {str(tmp_path)!r}\n" + IOCTL_PROGRAM
    argv = ["unshare", "-n", PYTHON, "-c", program]
    options = ["-y"] if decorated else []
    ours, theirs = run_both(pycoz, [*options, "-e", "trace=ioctl"], argv)
    vary = [(r"(socket|pipe):\[\d+\]", r"\1:[INO]")]
    mine, want = calls(ours, ["ioctl"], vary), calls(theirs, ["ioctl"], vary)
    assert mine == want
    text = "\n".join(want)
    if decorated:
        assert f"ioctl(5<{tmp_path}/b>, BTRFS_IOC_CLONE or FICLONE, 4) = -1 " in text
        return
    for expected in (
        'ioctl(3, SIOCGIFINDEX, {ifr_name="lo", ifr_ifindex=1}) = 0',
        'ioctl(3, SIOCGIFFLAGS, {ifr_name="lo", ifr_flags=IFF_LOOPBACK}) = 0',
        'ioctl(3, SIOCGIFMTU, {ifr_name="lo", ifr_mtu=65536}) = 0',
        'ioctl(3, SIOCGIFNAME, {ifr_ifindex=1, ifr_name="lo"}) = 0',
        "ioctl(3, SIOCGIFCONF, {ifc_len=320 /* 8 * sizeof(struct ifreq) */ => 0, ifc_buf=[]}) = 0",
        'ioctl(3, SIOCGIFHWADDR, {ifr_name="lo", ifr_hwaddr={sa_family=ARPHRD_LOOPBACK, '
        "sa_data=00:00:00:00:00:00}}) = 0",
        'ioctl(3, SIOCGIFADDR, {ifr_name="lo"}) = -1 EADDRNOTAVAIL',
        "ioctl(5, BTRFS_IOC_CLONE or FICLONE, 4) = -1 ",
        "ioctl(4, BLKGETSIZE64, 0xADDR) = -1 ENOTTY",
        "ioctl(4, FIONREAD, [0]) = 0",
    ):
        assert expected in text, expected


NETLINK_CALLS = ["sendto", "sendmsg", "recvmsg", "recvfrom"]


@pytest.mark.skipif(shutil.which("ip") is None, reason="iproute2 is not installed")
def test_netlink_messages_like_strace(pycoz):
    """rtnetlink requests and answers decoded as strace decodes them: the header,
    ifinfomsg/ifaddrmsg/rtmsg and their attributes, NLMSG_ERROR with the request
    it answers, NLMSG_DONE.  Only reads: nothing in the host's network changes."""
    seq = [(r"nlmsg_seq=\d+", "nlmsg_seq=SEQ"), (r"nlmsg_pid=-?\d+", "nlmsg_pid=PID"),
           (r"nl_pid=\d+", "nl_pid=PID")]  # fmt: skip
    options = ["-e", "trace=" + ",".join(NETLINK_CALLS)]
    texts = []
    for argv in (
        ["ip", "link", "show", "dev", "pycoz-none0"],  # RTM_GETLINK, and -ENODEV back
        ["ip", "route", "show", "table", "250"],  # a dump, and DONE with an extended ack
        ["ip", "-o", "addr", "show", "dev", "lo"],  # addresses of lo, with their attributes
    ):
        ours, theirs = run_both(pycoz, options, argv)
        want = calls(theirs, NETLINK_CALLS, seq)
        assert calls(ours, NETLINK_CALLS, seq) == want
        texts += want
    text = "\n".join(texts)
    for expected in (
        "iov_base=[{nlmsg_len=56, nlmsg_type=RTM_GETLINK, nlmsg_flags=NLM_F_REQUEST, "
        "nlmsg_seq=SEQ, nlmsg_pid=PID}, {ifi_family=AF_UNSPEC, ifi_type=ARPHRD_NETROM, "
        "ifi_index=0, ifi_flags=0, ifi_change=0}, [[{nla_len=8, nla_type=IFLA_EXT_MASK}, "
        "RTEXT_FILTER_VF|RTEXT_FILTER_SKIP_STATS], "
        '[{nla_len=16, nla_type=IFLA_IFNAME}, "pycoz-none0"]]]',
        "nlmsg_type=NLMSG_ERROR, nlmsg_flags=0, nlmsg_seq=SEQ, nlmsg_pid=PID}, {error=-ENODEV, "
        "msg=[{nlmsg_len=56, nlmsg_type=RTM_GETLINK, ",
        "nlmsg_type=RTM_GETROUTE, nlmsg_flags=NLM_F_REQUEST|NLM_F_DUMP, ",
        "{rtm_family=AF_INET, rtm_dst_len=0, rtm_src_len=0, rtm_tos=0, rtm_table=RT_TABLE_UNSPEC, "
        "rtm_protocol=RTPROT_UNSPEC, rtm_scope=RT_SCOPE_UNIVERSE, rtm_type=RTN_UNSPEC, "
        "rtm_flags=0}, [{nla_len=8, nla_type=RTA_TABLE}, 0xfa]]",
        "{nlmsg_len=0, nlmsg_type=0 /* NLMSG_??? */, nlmsg_flags=0, nlmsg_seq=SEQ, nlmsg_pid=PID}]",
        "nlmsg_type=NLMSG_DONE, nlmsg_flags=NLM_F_MULTI|NLM_F_DUMP_FILTERED|0x200, ",
        "{ifa_family=AF_INET, ifa_prefixlen=8, ifa_flags=IFA_F_PERMANENT, ifa_scope=RT_SCOPE_HOST, "
        'ifa_index=if_nametoindex("lo")}, [[{nla_len=8, nla_type=IFA_ADDRESS}, '
        'inet_addr("127.0.0.1")], ',
        '[{nla_len=7, nla_type=IFA_LABEL}, "lo"], ',
    ):
        assert expected in text, expected


@pytest.mark.skipif(shutil.which("ip") is None, reason="iproute2 is not installed")
def test_netlink_of_another_namespace_like_strace(pycoz):
    """A netlink socket strace cannot find in its own network namespace gets the
    family-independent decoding: the header, and the payload in hex."""
    seq = [(r"nlmsg_seq=\d+", "nlmsg_seq=SEQ"), (r"nlmsg_pid=-?\d+", "nlmsg_pid=PID")]
    argv = ["unshare", "-n", "ip", "addr", "show"]
    ours, theirs = run_both(pycoz, ["-e", "trace=" + ",".join(NETLINK_CALLS)], argv)
    want = calls(theirs, NETLINK_CALLS, seq)
    assert calls(ours, NETLINK_CALLS, seq) == want
    text = "\n".join(want)
    assert (
        "sendto(3, [{nlmsg_len=40, nlmsg_type=0x12 /* NLMSG_??? */, "
        'nlmsg_flags=NLM_F_REQUEST|0x300, nlmsg_seq=SEQ, nlmsg_pid=PID}, "\\x00\\x00\\x00\\x00'
        in text
    )
    assert (
        "nlmsg_type=NLMSG_DONE, nlmsg_flags=NLM_F_MULTI, nlmsg_seq=SEQ, nlmsg_pid=PID}, 0]" in text
    )


IO_URING_PROGRAM = """
import ctypes, os, signal
libc = ctypes.CDLL(None, use_errno=True)
NR = {"x86_64": (425, 426, 427)}[os.uname().machine]
p = (ctypes.c_char * 120)()
fd = libc.syscall(NR[0], 8, p)
libc.syscall(NR[1], fd, 0, 0, 1, None, 8)  # io_uring_enter: IORING_ENTER_GETEVENTS
fds = (ctypes.c_int * 2)(0, 1)
libc.syscall(NR[2], fd, 2, fds, 2)  # IORING_REGISTER_FILES
libc.syscall(NR[2], fd, 3, None, 0)  # IORING_UNREGISTER_FILES
libc.syscall(NR[2], fd, 9999, None, 0)
probe = (ctypes.c_char * 1024)()
libc.syscall(NR[2], fd, 8, probe, 4)  # IORING_REGISTER_PROBE
libc.syscall(NR[0], 1 << 20, (ctypes.c_char * 120)())  # too many entries: EINVAL
signal.signal(signal.SIGUSR1, signal.SIG_IGN)
pidfd = os.pidfd_open(os.getpid())
signal.pidfd_send_signal(pidfd, signal.SIGUSR1)
"""


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="syscall numbers for x86_64")
def test_io_uring_and_pidfd_calls_like_strace(pycoz):
    names = ["io_uring_setup", "io_uring_enter", "io_uring_register", "pidfd_send_signal"]
    ours, theirs = run_both(
        pycoz, ["-e", "trace=" + ",".join(names)], [PYTHON, "-c", IO_URING_PROGRAM]
    )
    want = calls(theirs, names)
    assert calls(ours, names) == want
    text = "\n".join(want)
    for expected in (
        "io_uring_setup(8, {flags=0, sq_thread_cpu=0, sq_thread_idle=0, sq_entries=8, "
        "cq_entries=16, features=IORING_FEAT_SINGLE_MMAP|",
        "sq_off={head=0, tail=",
        "io_uring_enter(3, 0, 0, IORING_ENTER_GETEVENTS, NULL, 8) = 0",
        "io_uring_register(3, IORING_REGISTER_FILES, [0, 1], 2) = 0",
        "io_uring_register(3, IORING_UNREGISTER_FILES, NULL, 0) = 0",
        "io_uring_register(3, 0x270f /* IORING_REGISTER_??? */, NULL, 0) = -1 EINVAL",
        "io_uring_register(3, IORING_REGISTER_PROBE, {last_op=",
        "ops=[{op=IORING_OP_NOP, flags=IO_URING_OP_SUPPORTED}, "
        "{op=IORING_OP_READV, flags=IO_URING_OP_SUPPORTED}, ",
        "io_uring_setup(1048576, {flags=0, sq_thread_cpu=0, sq_thread_idle=0}) = -1 EINVAL",
        "pidfd_send_signal(4, SIGUSR1, NULL, 0) = 0",
    ):
        assert expected in text, expected


def test_mount_flags_like_strace(pycoz):
    """MS_* flags, and what strace shows of the type and data for a remount, a
    bind and a propagation change: in a mount namespace of the test's own."""
    script = (
        "mount -t tmpfs -o size=1m,nosuid,nodev none /mnt; mount --bind /mnt /mnt; "
        "mount --make-private /mnt; mount -o remount,ro,bind /mnt; umount -l /mnt; umount /mnt"
    )
    names = ["mount", "umount2"]
    ours, theirs = run_both(
        pycoz, ["-f", "-e", "trace=mount,umount2"], ["unshare", "-m", "sh", "-c", script]
    )
    want = calls(theirs, names)
    assert calls(ours, names) == want
    assert want == [
        'mount("none", "/", NULL, MS_REC|MS_PRIVATE, NULL) = 0',
        'mount("none", "/mnt", "tmpfs", MS_NOSUID|MS_NODEV, "size=1m") = 0',
        'mount("/mnt", "/mnt", 0xADDR, MS_BIND, NULL) = 0',
        'mount("none", "/mnt", NULL, MS_PRIVATE, NULL) = 0',
        'mount("none", "/mnt", 0xADDR, '
        'MS_RDONLY|MS_NOSUID|MS_NODEV|MS_REMOUNT|MS_BIND|MS_RELATIME, "size=1024k") = 0',
        'umount2("/mnt", MNT_DETACH) = 0',
        'umount2("/mnt", 0) = 0',
    ]


SS_SCRIPT = """
ip link set lo up
{python} -c '
import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 5555))
s.listen()
u = socket.socket(socket.AF_UNIX)
u.bind("\\0pycoz-test-listener")  # abstract: nothing on disk, and in this namespace only
u.listen()
open("{out}.ready", "w").close()
time.sleep(30)' &
while [ ! -e {out}.ready ]; do sleep 0.05; done
{tracer} -o {out} -e trace=sendto,sendmsg,recvmsg ss -t -x -a -n >/dev/null
kill $!
"""


@pytest.mark.skipif(shutil.which("ss") is None, reason="iproute2's ss is not installed")
def test_sock_diag_like_strace(pycoz_bin, tmp_path):
    """ss's sock_diag requests and the sockets it gets back, decoded as strace
    decodes them: each tracer runs inside a network namespace of the test's own
    (where strace can find the netlink socket), with a TCP and a UNIX listener in it
    (one socket of each: a dump of several comes in an order of the namespace's own
    hash)."""
    texts = []
    for name, tracer in (("pycoz", f"{pycoz_bin} trace"), ("strace", STRACE)):
        out = tmp_path / name
        script = SS_SCRIPT.format(python=PYTHON, tracer=tracer, out=out)
        r = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        texts.append(out.read_text())
    vary = [
        (r"nlmsg_seq=\d+", "nlmsg_seq=SEQ"),
        (r"nlmsg_pid=-?\d+", "nlmsg_pid=PID"),
        (r"diag_cookie=\[\d+, \d+\]", "diag_cookie=[C]"),
        (r"idiag_inode=\d+|udiag_ino=\d+", "INO"),
    ]
    mine, want = (calls(text, ["sendto", "sendmsg", "recvmsg"], vary) for text in texts)
    assert mine == want
    text = "\n".join(want)
    for expected in (
        "{sdiag_family=AF_INET, sdiag_protocol=IPPROTO_TCP, idiag_ext=0, "
        "idiag_states=1<<TCP_ESTABLISHED|1<<TCP_SYN_SENT|",
        "{idiag_family=AF_INET, idiag_state=TCP_LISTEN, idiag_timer=0, idiag_retrans=0, "
        'id={idiag_sport=htons(5555), idiag_dport=htons(0), idiag_src=inet_addr("127.0.0.1"), '
        'idiag_dst=inet_addr("0.0.0.0"), idiag_if=0, idiag_cookie=[C]}, ',
        "[{nla_len=5, nla_type=INET_DIAG_SHUTDOWN}, 0]",
        "{sdiag_family=AF_INET6, sdiag_protocol=IPPROTO_TCP, ",
        "{sdiag_family=AF_UNIX, sdiag_protocol=0, udiag_states=1<<TCP_ESTABLISHED|",
        "udiag_show=UDIAG_SHOW_NAME|UDIAG_SHOW_PEER|UDIAG_SHOW_RQLEN, udiag_cookie=[C]}",
        "{udiag_family=AF_UNIX, udiag_type=SOCK_STREAM, udiag_state=TCP_LISTEN, INO, "
        "udiag_cookie=[C]}, [[{nla_len=24, nla_type=UNIX_DIAG_NAME}, "
        '"\\0pycoz-test-listener"...], ',
    ):
        assert expected in text, expected


NESTED_SETUP = """
rm -f {sock}
ip link set lo up
ip link add v0 address 02:00:00:00:00:01 type veth peer name v1 address 02:00:00:00:00:02
ip link add br0 address 02:00:00:00:00:03 type bridge
ip link add vx0 address 02:00:00:00:00:04 type vxlan id 42 dstport 4789 local 198.18.0.1 dev v0
ip link set v1 master br0
ip tuntap add dev tp0 mode tap user 1000 multi_queue
ip link set tp0 address 02:00:00:00:00:06
ip link set v0 alias "an alias for v0"
ip link property add dev v0 altname pycoz-alt-name-0
ip addr add 198.18.0.1/24 dev v0
ip link set v0 up
ip -6 addr add 2001:db8::1/64 dev lo nodad
ip route add 198.18.5.0/24 via 198.18.0.2 dev v0 mtu 1400 advmss 1300
ip route add 198.18.6.0/24 nexthop via 198.18.0.2 dev v0 weight 1 nexthop via 198.18.0.3 dev v0
{python} -c '
import os, socket, time
t = socket.socket()
t.bind(("127.0.0.1", 5555))
t.listen()
e = socket.create_connection(("127.0.0.1", 5555))
e.shutdown(socket.SHUT_WR)  # the other end: CLOSE_WAIT, RCV_SHUTDOWN
t2 = socket.socket()
t2.bind(("127.0.0.1", 5556))
t2.listen()
f = socket.create_connection(("127.0.0.1", 5556))
g, _ = t2.accept()
u = socket.socket(socket.AF_UNIX)
u.bind("\\0pycoz-nested-listener")
u.listen()
v = socket.socket(socket.AF_UNIX)  # on a path, with a connection it has not accepted
v.bind("{sock}")
v.listen()
w = socket.socket(socket.AF_UNIX)
w.connect("{sock}")
open("{out}.ready", "w").close()
time.sleep(30)' &
while [ ! -e {out}.ready ]; do sleep 0.05; done
"""
#: Programs whose netlink answers nest attributes: links of several kinds (veth,
#: a bridge and its port, vxlan, a tap) with their per-family settings, a bridge port's
#: AF_BRIDGE view, routes with metrics and next hops, IPv6 addresses, and the
#: sock_diag answers for a TCP and a UNIX listener with their memory.
NESTED_PROGRAMS = (
    "ip -d link show",
    "bridge link show",
    "ip route show",
    "ip -6 addr show",
    "ss -t -l -n -m -e -i sport = :5555",
    "ss -t -n -i -m state close-wait",
    "ss -t -n -i state established dport = :5556",  # a filter: bytecode in its own iovec
    "ss -x -l -e -m",
)


def _netlink_both_ways(pycoz_bin, tmp_path, options, programs, setup_extra="") -> str:
    """Run ``programs`` under each tracer, each tracer in a network namespace of its
    own made by NESTED_SETUP (+ ``setup_extra``); assert that their netlink lines
    agree, program by program, and return strace's, normalised."""
    traced = "-e trace=sendto,sendmsg,recvmsg,recvfrom " + " ".join(options)
    texts = []
    for name, tracer in (("pycoz", f"{pycoz_bin} trace"), ("strace", STRACE)):
        out = tmp_path / name
        setup = NESTED_SETUP.format(python=PYTHON, out=out, sock=tmp_path / "listener.sock")
        script = (
            setup
            + setup_extra
            + "".join(
                f"{tracer} -o {out}.{k} {traced} {program} >/dev/null 2>&1\n"
                for k, program in enumerate(programs)
            )
        )
        r = subprocess.run(
            ["unshare", "-n", "sh", "-c", script + "kill $!\n"], capture_output=True, timeout=120
        )
        assert r.returncode == 0, r.stderr
        texts.append([(tmp_path / f"{name}.{k}").read_text() for k in range(len(programs))])
    vary = [
        (r"nlmsg_seq=\d+", "nlmsg_seq=SEQ"),
        (r"nlmsg_pid=-?\d+", "nlmsg_pid=PID"),
        (r"diag_cookie=\[\d+, \d+\]", "diag_cookie=[C]"),
        (r"(idiag_inode|udiag_ino|udiag_vfs_ino|tstamp|cstamp|reachable_time)=\d+", r"\1=N"),
        (r"(ndm_confirmed|ndm_used|ndm_updated)=\d+", r"\1=N"),
        (r"(nla_type=(?:UNIX_DIAG_ICONS|0x3|0x3 /\* UNIX_DIAG_ICONS \*/)}, \[)\d+", r"\1N"),
        # what a connection's timing makes of its ephemeral port, tcp_info and BBR state
        (r"htons\([3-6]\d{4}\)", "htons(EPHEMERAL)"),
        (r'(INET_DIAG_INFO}, )"[^"]*"', r'\1"..."'),
        (r"(bbr_\w+)=\w+", r"\1=N"),
    ]
    names = ["sendto", "sendmsg", "recvmsg", "recvfrom"]
    for program, mine, theirs in zip(programs, *texts, strict=True):
        want = calls(theirs, names, vary)
        assert calls(mine, names, vary) == want, program
    return "\n".join("\n".join(calls(t, names, vary)) for t in texts[1])


@pytest.mark.skipif(shutil.which("bridge") is None, reason="iproute2 is not installed")
@pytest.mark.parametrize(
    "options",
    [
        ["-s", "4096"],
        [],
        ["-s", "40"],
        ["-v"],
        ["-X", "raw", "-s", "4096"],
        ["-X", "verbose", "-s", "99"],
    ],
    ids=["s4096", "s32", "s40", "v", "Xraw", "Xverbose"],
)
def test_nested_netlink_attributes_like_strace(pycoz_bin, tmp_path, options):
    """Nested attributes decoded as strace 6.1 decodes them (IFLA_LINKINFO by link
    kind, IFLA_AF_SPEC and IFLA_PROTINFO by family, IFLA_XDP, RTA_METRICS,
    RTA_MULTIPATH, INET_DIAG_SKMEMINFO, UNIX_DIAG_ICONS...), in hex where strace
    shows hex (vxlan's IFLA_INFO_DATA, INET_DIAG_INFO), cut at -s elements as
    strace cuts them: each tracer in a network namespace of the test's own."""
    if "-X" in options:  # a connection's port and timing show as bytes: not compared
        programs = tuple(p for p in NESTED_PROGRAMS if "state" not in p)
        text = _netlink_both_ways(pycoz_bin, tmp_path, options, programs)
        if "raw" in options:
            assert "nla_type=0x8000|0xc}, [[{nla_len=5, nla_type=0x1}, 0], " in text
            assert "nla_type=0x2}, [{nla_len=136, nla_type=0x1}, [[0]=0, [1]=0, [2]=0, " in text
        else:
            assert "nla_type=0x8000 /* NLA_F_NESTED */|0xc /* IFLA_PROTINFO */}" in text
            assert "[[0 /* IPV4_DEVCONF_FORWARDING-1 */]=0, [1 /* " in text
        return
    text = _netlink_both_ways(pycoz_bin, tmp_path, options, NESTED_PROGRAMS)
    expected = [
        '[{nla_len=9, nla_type=IFLA_INFO_KIND}, "veth"]',
        '[{nla_len=11, nla_type=IFLA_INFO_KIND}, "bridge"], '
        "[{nla_len=396, nla_type=IFLA_INFO_DATA}, "
        "[[{nla_len=12, nla_type=IFLA_BR_HELLO_TIMER}, 0], ",
        "[{nla_len=8, nla_type=IFLA_BR_FORWARD_DELAY}, 1500 /* 15.00 s */]",
        '[{nla_len=10, nla_type=IFLA_INFO_KIND}, "vxlan"], [{nla_len=216, '
        'nla_type=IFLA_INFO_DATA}, "\\x08\\x00\\x01\\x00\\x2a',
        "[{nla_len=12, nla_type=IFLA_XDP}, [{nla_len=5, nla_type=IFLA_XDP_ATTACHED}, "
        "XDP_ATTACHED_NONE]]",
        "nla_type=IFLA_AF_SPEC}, [[{nla_len=140, nla_type=AF_INET}, [{nla_len=136, "
        "nla_type=IFLA_INET_CONF}, [[IPV4_DEVCONF_FORWARDING-1]=0, ",
        "nla_type=NLA_F_NESTED|IFLA_PROTINFO}, [[{nla_len=5, nla_type=IFLA_BRPORT_STATE}, 0], ",
        "{ifi_family=AF_BRIDGE, ifi_type=ARPHRD_ETHER, ",
        "[[{nla_len=5, nla_type=IFLA_TUN_TYPE}, IFF_TAP], [{nla_len=8, nla_type=IFLA_TUN_OWNER}, "
        "1000], ",
        '[{nla_len=20, nla_type=IFLA_IFALIAS}, "an alias for v0"]',
        "nla_type=NLA_F_NESTED|IFLA_PROP_LIST}, [{nla_len=21, nla_type=IFLA_ALT_IFNAME}, "
        '"pycoz-alt-name-0"]]',
        "[{nla_len=10, nla_type=IFLA_ADDRESS}, 02], ",  # ifi_family as ARPHRD_ARCNET's length
        "nla_type=RTA_METRICS}, [[{nla_len=8, nla_type=RTAX_MTU}, 1400], "
        "[{nla_len=8, nla_type=RTAX_ADVMSS}, 1300]]]",
        "nla_type=RTA_MULTIPATH}, [[{rtnh_len=16, rtnh_flags=RTNH_F_LINKDOWN, rtnh_hops=0, "
        'rtnh_ifindex=if_nametoindex("v0")}, [{nla_len=8, nla_type=RTA_GATEWAY}, '
        'inet_addr("198.18.0.2")]], ',
        "{ifa_family=AF_INET6, ifa_prefixlen=64, ifa_flags=IFA_F_NODAD|IFA_F_PERMANENT, ",
        "idiag_ext=1<<(INET_DIAG_MEMINFO-1)|1<<(INET_DIAG_INFO-1)|",
        "nla_type=INET_DIAG_SKMEMINFO}, [[SK_MEMINFO_RMEM_ALLOC]=0, [SK_MEMINFO_RCVBUF]=",
        "nla_type=UNIX_DIAG_MEMINFO}, [[SK_MEMINFO_RMEM_ALLOC]=0, ",
        "[{nla_len=5, nla_type=INET_DIAG_SHUTDOWN}, 0x1 /* RCV_SHUTDOWN */]",
        "[{nla_len=12, nla_type=UNIX_DIAG_VFS}, {udiag_vfs_dev=makedev(",
        "[{nla_len=8, nla_type=UNIX_DIAG_ICONS}, [N]]",
    ]
    if options == ["-v"]:
        expected.append("nla_type=INET_DIAG_SOCKOPT}, {recverr=0, is_icsk=1, freebind=0, ")
    if not options:  # lists stop at strace's -s 32 elements, the nested ones too
        expected = [*expected[-3:], "rx_nohandler=0}], ...]"]
    if options == ["-s", "40"]:  # the 40th IPv6 setting: the list goes on
        expected.append("[IPV4_DEVCONF_ARP_EVICT_NOCARRIER-1]=1]]], ")
        expected.append("[DEVCONF_IGNORE_ROUTES_WITH_LINKDOWN]=0, ...]]")
        expected.append("nla_type=IFLA_MAP}, {mem_start=0, mem_end=0, base_addr=0, irq=0, dma=0, ")
    if options and 'INET_DIAG_CONG}, "bbr"' in text:  # the namespace's congestion control
        expected.append(
            "[{nla_len=24, nla_type=INET_DIAG_BBRINFO}, {bbr_bw_lo=N, bbr_bw_hi=N, "
            "bbr_min_rtt=N, bbr_pacing_gain=N, bbr_cwnd_gain=N}]"
        )
    for want in expected:
        assert want in text, want


#: Requests as short as a family alone (rtgenmsg, as older tools send), of types
#: strace decodes and of types it shows by their family only.
SHORT_REQUESTS = r"""
import socket, struct
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
s.bind((0, 0))
for typ, payload in ((18, b"\x00"), (22, b"\x02"), (26, b"\x0a\x00"), (30, b"\x1c"),
                     (34, b"\x02"), (82, b"\x02"), (114, b"\x07"), (94, b"")):
    s.send(struct.pack("<IHHIi", 16 + len(payload), typ, 0x301, 7, 0) + payload)
    try:
        while True:
            s.recv(65536, socket.MSG_DONTWAIT)
    except BlockingIOError:
        pass
"""
MORE_SETUP = """
ip neigh add 198.18.0.9 lladdr 02:00:00:00:00:09 dev v0 nud permanent
ip rule add from 198.18.0.0/24 table 100 priority 100 uidrange 1000-2000 ipproto tcp sport 1000-2000
ip route add 198.18.9.0/24 dev v0 table 100
tc qdisc add dev vx0 root handle 2: tbf rate 1mbit burst 32kbit latency 400ms
tc qdisc add dev br0 root handle 1: htb default 10
tc class add dev br0 parent 1: classid 1:10 htb rate 1mbit
"""


@pytest.mark.skipif(shutil.which("ip") is None, reason="iproute2 is not installed")
def test_neighbours_rules_netconf_and_extended_acks_like_strace(pycoz_bin, tmp_path):
    """ndmsg, fib_rule_hdr, netconfmsg and tcmsg (qdiscs and classes, with their
    statistics) with their attributes, a message of a type
    strace has no decoder for as ``{family=..., data=...}``, a short request as
    ``{ifi_family=..., ...}``, and an error with its extended-ACK text."""
    programs = (
        "ip neigh show dev v0",
        "ip rule show",
        "ip netconf show dev lo",
        "ip route show table 100",
        "ip addr add 198.18.0.1/24 dev v0",  # there already: EEXIST, and why
        "tc -s qdisc show dev vx0",
        "tc -s -d class show dev br0",
        f"{PYTHON} {tmp_path / 'short.py'}",
    )
    (tmp_path / "short.py").write_text(SHORT_REQUESTS)
    text = _netlink_both_ways(pycoz_bin, tmp_path, ["-s", "4096"], programs, MORE_SETUP)
    for expected in (
        '{ndm_family=AF_INET, ndm_ifindex=if_nametoindex("v0"), ndm_state=NUD_PERMANENT, '
        "ndm_flags=0, ndm_type=RTN_UNICAST}, [[{nla_len=8, nla_type=NDA_DST}, "
        'inet_addr("198.18.0.9")], [{nla_len=10, nla_type=NDA_LLADDR}, 02:00:00:00:00:09], ',
        "{family=AF_INET, dst_len=0, src_len=24, tos=0, table=0x64 /* RT_TABLE_??? */, "
        "action=FR_ACT_TO_TBL, flags=0}, [[{nla_len=8, nla_type=FRA_TABLE}, 0x64], ",
        "[{nla_len=12, nla_type=FRA_UID_RANGE}, {start=1000, end=2000}], ",
        "[{nla_len=5, nla_type=FRA_IP_PROTO}, IPPROTO_TCP]",
        '{ncm_family=AF_INET}, [[{nla_len=8, nla_type=NETCONFA_IFINDEX}, if_nametoindex("lo")], ',
        "rtm_table=0x64, ",
        '{tcm_family=AF_UNSPEC, tcm_ifindex=if_nametoindex("vx0"), tcm_handle=131072, '
        'tcm_parent=4294967295, tcm_info=2}, [[{nla_len=8, nla_type=TCA_KIND}, "tbf"], ',
        "nla_type=TCA_STATS2}, [[{nla_len=20, nla_type=TCA_STATS_BASIC}, {bytes=0, packets=0}], ",
        "nla_type=TCA_STATS_QUEUE}, {qlen=0, backlog=0, drops=0, requeues=0, overlimits=0}]",
        "nla_type=TCA_STATS}, {bytes=0, packets=0, drops=0, overlimits=0, bps=0, pps=0, "
        "qlen=0, backlog=0}]",
        '[{nla_len=35, nla_type=NLMSGERR_ATTR_MSG}, "ipv4: Address already assigned"]',
        "nlmsg_type=RTM_GETLINK, nlmsg_flags=NLM_F_REQUEST|NLM_F_DUMP, nlmsg_seq=SEQ, "
        "nlmsg_pid=PID}, {ifi_family=AF_UNSPEC, ...}]",
        "nlmsg_type=RTM_GETVLAN, nlmsg_flags=NLM_F_REQUEST|NLM_F_DUMP, nlmsg_seq=SEQ, "
        "nlmsg_pid=PID}, {family=AF_BRIDGE}]",
        '{family=AF_BRIDGE}]}, "\\x00\\x00\\x00"]]',  # the error's padding, in hex
    ):
        assert expected in text, expected


def test_y_and_decode_fds_together_are_refused(pycoz):
    """strace refuses -y with --decode-fds; so does pycoz, in one line."""
    r = pycoz("trace", "-y", "-e", "decode-fds=path", "--", "true")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "pycoz trace: -y and -e decode-fds= cannot be given together: choose one"
    ]
    theirs = subprocess.run([STRACE, "-y", "-e", "decode-fds=path", "true"], capture_output=True)
    assert theirs.returncode != 0


MISC_PROGRAM = """
import ctypes, mmap, os
libc = ctypes.CDLL(None, use_errno=True)
m = mmap.mmap(-1, 8192)
buf = ctypes.c_char.from_buffer(m)
addr = ctypes.c_void_p(ctypes.addressof(buf))
libc.mlock(addr, 4096)
libc.munlock(addr, 4096)
libc.msync(addr, 4096, 4)
vec = (ctypes.c_ubyte * 2)()
libc.mincore(addr, 8192, vec)
del buf
os.sched_getscheduler(0)
os.sched_getparam(0)
os.sched_get_priority_max(os.SCHED_OTHER)
os.getpriority(os.PRIO_PROCESS, 0)
os.setpriority(os.PRIO_PROCESS, 0, 0)
cpu = ctypes.c_uint()
libc.syscall(309, ctypes.byref(cpu), None, None)  # getcpu
libc.syscall(324, 0, 0)  # membarrier(MEMBARRIER_CMD_QUERY, 0)
os.mkfifo(DIR + "/fifo")
os.unlink(DIR + "/fifo")  # the next run makes it again
"""
MISC_CALLS = ["mlock", "munlock", "msync", "mincore", "sched_getscheduler", "sched_getparam",
              "sched_get_priority_max", "getpriority", "setpriority", "getcpu", "membarrier",
              "mknodat"]  # fmt: skip


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="syscall numbers for x86_64")
def test_memory_and_scheduling_calls_like_strace(pycoz, tmp_path):
    """Addresses in hex where strace prints hex (mlock, msync, mincore), policy,
    priority and membarrier names, written-back ints, a fifo's mode."""
    program = f"DIR = {str(tmp_path)!r}\n" + MISC_PROGRAM
    ours, theirs = run_both(pycoz, ["-e", "trace=" + ",".join(MISC_CALLS)], [PYTHON, "-c", program])
    vary = [(r"getcpu\(\[\d+\]", "getcpu([N]")]
    want = calls(theirs, MISC_CALLS, vary)
    assert calls(ours, MISC_CALLS, vary) == want
    text = "\n".join(want)
    for expected in (
        "mlock(0xADDR, 4096) = 0",
        "msync(0xADDR, 4096, MS_SYNC) = 0",
        "mincore(0xADDR, 8192, [1, 0]) = 0",
        "sched_getscheduler(0) = 0 (SCHED_OTHER)",
        "sched_getparam(0, [0]) = 0",
        "sched_get_priority_max(SCHED_OTHER) = 0",
        "getpriority(PRIO_PROCESS, 0) = ",
        "setpriority(PRIO_PROCESS, 0, 0) = 0",
        "getcpu([N], NULL, NULL) = 0",
        "membarrier(MEMBARRIER_CMD_QUERY, 0) = 0x",
        f'mknodat(AT_FDCWD, "{tmp_path}/fifo", S_IFIFO|0666) = 0',
    ):
        assert expected in text, expected


FDS_OF_EVENTS_PROGRAM = """
import ctypes, os, signal, time
libc = ctypes.CDLL(None, use_errno=True)
class TS(ctypes.Structure):
    _fields_ = [("s", ctypes.c_long), ("ns", ctypes.c_long)]
class ITS(ctypes.Structure):
    _fields_ = [("i", TS), ("v", TS)]
t = libc.timerfd_create(1, os.O_CLOEXEC | os.O_NONBLOCK)
old = ITS()
libc.timerfd_settime(t, 0, ctypes.byref(ITS(TS(0, 0), TS(5, 0))), ctypes.byref(old))
libc.timerfd_gettime(t, ctypes.byref(ITS()))
mask = (ctypes.c_ulong * 16)()
mask[0] = 1 << (signal.SIGUSR2 - 1)
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])
libc.signalfd(-1, mask, os.O_CLOEXEC | os.O_NONBLOCK)
"""


def test_timerfd_and_signalfd_like_strace(pycoz):
    names = ["timerfd_create", "timerfd_settime", "timerfd_gettime", "signalfd4"]
    ours, theirs = run_both(
        pycoz, ["-e", "trace=" + ",".join(names)], [PYTHON, "-c", FDS_OF_EVENTS_PROGRAM]
    )
    left = [(r"(timerfd_gettime\(.*it_value=)\{tv_sec=\d, tv_nsec=\d+\}", r"\1{LEFT}")]
    want = calls(theirs, names, left)
    assert calls(ours, names, left) == want
    assert want == [
        "timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC|TFD_NONBLOCK) = 3",
        "timerfd_settime(3, 0, {it_interval={tv_sec=0, tv_nsec=0}, it_value={tv_sec=5, "
        "tv_nsec=0}}, {it_interval={tv_sec=0, tv_nsec=0}, it_value={tv_sec=0, tv_nsec=0}}) = 0",
        "timerfd_gettime(3, {it_interval={tv_sec=0, tv_nsec=0}, it_value={LEFT}}) = 0",
        "signalfd4(-1, [USR2], 8, SFD_CLOEXEC|SFD_NONBLOCK) = 4",
    ]
