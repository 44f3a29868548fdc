"""``pycoz trace -X raw|verbose`` (strace's --const-print-style) against strace's own
lines for the same real programs: named constants as numbers (raw), or as numbers
with their names in a comment (verbose); and -v against -e abbrev=, the last wins."""

from __future__ import annotations

import os
import re

import pytest

from tests.system.test_trace_vs_strace import PYTHON, STRACE, calls, normal, run_both

pytestmark = pytest.mark.skipif(STRACE is None, reason="strace is not installed")

# One call of each kind whose arguments strace prints as constants: open flags and
# modes, AT_FDCWD, mmap's prot and flags, socket families, types and protocols,
# socket levels and options, addresses (their bytes under -X), fcntl commands and
# flags, ioctl requests, signals and signal sets, sigaction flags and handlers,
# rlimit resources and values, access modes, epoll and poll events, clock ids,
# clone flags with the exit signal, wait options, whence, madvise advice, errno
# results, and the SIGCHLD that comes of a child's exit.
CONSTANTS = """
import fcntl, mmap, os, resource, select, signal, socket, termios, time
d = "@DIR@"
fd = os.open(d + "/f", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o640)
fcntl.fcntl(fd, fcntl.F_GETFL)
fcntl.fcntl(fd, fcntl.F_SETFD, fcntl.FD_CLOEXEC)
fcntl.fcntl(fd, fcntl.F_GETFD)
fcntl.fcntl(fd, fcntl.F_SETFL, os.O_NONBLOCK | os.O_APPEND)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
os.lseek(fd, 0, os.SEEK_END)
os.close(fd)
try:
    os.open(d + "/missing", os.O_RDONLY)
except OSError:
    pass
m = mmap.mmap(-1, 8192, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, prot=mmap.PROT_READ)
m.madvise(mmap.MADV_DONTNEED)
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK, socket.IPPROTO_TCP)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 9)
s.connect_ex(("127.0.0.1", 9))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.connect(("::1", 9))
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
a.send(b"x", socket.MSG_DONTWAIT)
fcntl.ioctl(b, termios.FIONREAD, bytearray(4))
master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCGWINSZ, bytes(8))
signal.signal(signal.SIGUSR2, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM, signal.SIGRTMIN + 3])
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGRTMIN + 3])
resource.prlimit(0, resource.RLIMIT_STACK)
os.access(d, os.R_OK | os.W_OK)
os.access(d, os.F_OK)
e = select.epoll()
e.register(b, select.EPOLLIN | select.EPOLLET)
e.poll(0)
p = select.poll()
p.register(b, select.POLLIN | select.POLLOUT)
p.poll(0)
os.mkdir(d + "/sub", 0o750)
os.rmdir(d + "/sub")
os.stat("/dev/null")
time.sleep(0.001)
pid = os.fork()
if pid == 0:
    os._exit(3)
os.waitpid(pid, 0)
pid = os.fork()
if pid == 0:
    os.kill(os.getpid(), signal.SIGTERM)
    os._exit(0)
os.waitpid(pid, 0)
os.kill(os.getpid(), 0)
"""

CALLS = [
    "openat", "fcntl", "flock", "lseek", "mmap", "madvise", "socket", "setsockopt", "connect",
    "socketpair", "sendto", "ioctl", "rt_sigaction", "rt_sigprocmask", "prlimit64", "access",
    "epoll_ctl", "epoll_wait", "poll", "mkdir", "rmdir", "newfstatat", "clock_nanosleep",
    "clone", "wait4", "kill", "getsockname", "getpeername",
]  # fmt: skip


def _program(tmp_path) -> list[str]:
    return [PYTHON, "-c", CONSTANTS.replace("@DIR@", str(tmp_path))]


def _lines(text: str) -> list[str]:
    # Times, pids, and the ports the kernel picks (in htons(N), and in the bytes
    # that strace prints for them under -X).
    port = [(r"(sin6?_port=)\"[^\"]*\"", r"\1P"), (r"htons\(\d+\)", "htons(P)")]
    times = [(r"tv_sec=\d+, tv_nsec=\d+", "T")]
    pids = [
        (r"^((?:clone|wait4)\(.*) = \d+$", r"\1 = PID"),
        (r"(si_pid=|wait4\(|kill\()\d+", r"\1PID"),
    ]
    out = calls(text, CALLS, port + times + pids)
    # From the program's first call on: the interpreter's start-up varies (its
    # allocator's mmaps come in a different order from run to run).
    out = out[next(k for k, line in enumerate(out) if '"DIR/f"' in line) :]
    out += [normal(line, pids) for line in text.splitlines() if line.startswith("--- ")]
    return out


@pytest.mark.parametrize("style", ["raw", "verbose"])
def test_constants_in_the_style_strace_prints_them(pycoz, tmp_path, style):
    ours, theirs = run_both(pycoz, ["-X", style], _program(tmp_path))
    mine = _lines(ours.replace(str(tmp_path), "DIR"))
    assert mine == _lines(theirs.replace(str(tmp_path), "DIR"))
    text = "\n".join(mine)
    if style == "raw":
        assert re.search(r'openat\(-100, "DIR/f", 0x80241, 0640\) = 3', text), text
        assert "--- SIGCHLD {si_signo=17, si_code=0x1, si_pid=" in text
        assert "rt_sigprocmask(0, [15 37], [], 8) = 0" in text
        assert "socket(0x2, 0x1|0x80800, 0x6) = 3" in text
        assert 'sin_port=P, sin_addr="\\x7f\\x00\\x00\\x01"}' in text
        assert "ENOENT (No such file or directory)" in text  # errno names stay
    else:
        assert (
            'openat(-100 /* AT_FDCWD */, "DIR/f", 0x80241 /* O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC */'
            ", 0640) = 3" in text
        )
        assert "si_signo=17 /* SIGCHLD */, si_code=0x1 /* CLD_EXITED */" in text
        assert "rt_sigprocmask(0 /* SIG_BLOCK */, [15 /* TERM */ 37 /* RT_5 */], [], 8)" in text
        assert "sa_handler=0x1 /* SIG_IGN */" in text
        assert (
            "si_code=0x2 /* CLD_KILLED */, si_pid=PID, si_uid=0, si_status=15 /* SIGTERM */" in text
        )
        assert "flags=0xADDR /* CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID */|17 /* SIGCHLD */" in text


def _netlink(text: str) -> list[str]:
    # What changes from run to run: sequence numbers, port ids, counters.
    varying = [(r"nlmsg_(seq|pid)=-?\d+", r"nlmsg_\1=N"), (r"=\d+\b", "=N")]
    return calls(text, ["sendmsg", "recvmsg", "sendto", "recvfrom"], varying)


@pytest.mark.parametrize("style", ["raw", "verbose"])
def test_netlink_constants_in_the_style_strace_prints_them(pycoz, style):
    """rtnetlink: message types and flags, families, interface types, flags and
    indexes, attribute types, addresses (their bytes under -X, as strace)."""
    options = ["-X", style, "-e", "trace=%network"]
    ours, theirs = run_both(pycoz, options, ["ip", "addr", "show", "dev", "lo"])
    mine = _netlink(ours)
    assert mine == _netlink(theirs)
    text = "\n".join(mine)
    if style == "raw":
        assert "nlmsg_type=0x14, nlmsg_flags=0x22, " in text  # RTM_NEWADDR, MULTI|DUMP_FILTERED
        assert '[{nla_len=N, nla_type=0x1}, "\\x7f\\x00\\x00\\x01"]' in text
    else:
        assert "ifa_family=0x2 /* AF_INET */" in text
        assert 'ifa_index=N /* if_nametoindex("lo") */' in text
        assert '"\\x7f\\x00\\x00\\x01" /* inet_addr("127.0.0.1") */' in text


STATS = [PYTHON, "-c", "import os; os.listdir('/usr/lib/python3.11/json')"]


@pytest.mark.parametrize(
    "options, abbreviated",
    [
        (["-v", "-e", "abbrev=getdents64"], True),
        (["-e", "abbrev=getdents64", "-v"], False),
        (["-e", "abbrev=getdents64", "-fv"], False),
        (["-v", "-e", "abbrev=none", "-e", "abbrev=all"], True),
    ],
)
def test_the_last_of_v_and_abbrev_wins_as_in_strace(pycoz, options, abbreviated):
    ours, theirs = run_both(pycoz, [*options, "-e", "trace=getdents64"], STATS)
    mine = calls(ours, ["getdents64"])
    assert mine == calls(theirs, ["getdents64"])
    assert ("entries */" in mine[0]) == abbreviated, mine
    assert ('d_name="decoder.py"' in "\n".join(mine)) != abbreviated


def test_x_with_another_tracer_is_refused_in_one_line(pycoz):
    got = pycoz("trace", "--tracer", "sockets", "-X", "raw", "--", "true")
    assert got.returncode == 2, got.stderr
    assert got.stderr.count("\n") == 1, got.stderr
    assert "-X" in got.stderr and "sockets" in got.stderr


PACKET = """
import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))  # ETH_P_ALL
s.bind(("lo", 0x0800))
"""


@pytest.mark.parametrize("style", ["abbrev", "raw", "verbose"])
def test_packet_sockets_in_the_style_strace_prints_them(pycoz, style):
    """AF_PACKET: the ethertype (htons(ETH_P_ALL), or its bytes in a sockaddr_ll),
    the interface, hardware and packet types, named as strace names them."""
    if os.geteuid() != 0:
        pytest.skip("a packet socket needs CAP_NET_RAW")
    options = ["-X", style, "-e", "trace=socket,bind"]
    ours, theirs = run_both(pycoz, options, [PYTHON, "-c", PACKET])
    mine = calls(ours, ["socket", "bind"])
    assert mine == calls(theirs, ["socket", "bind"])
    expected = {
        "abbrev": 'sll_protocol=htons(ETH_P_IP), sll_ifindex=if_nametoindex("lo"), '
        "sll_hatype=ARPHRD_NETROM, sll_pkttype=PACKET_HOST",
        "raw": 'sll_protocol="\\x08\\x00", sll_ifindex=1, sll_hatype=0, sll_pkttype=0',
        "verbose": 'sll_protocol="\\x08\\x00" /* htons(ETH_P_IP) */, '
        'sll_ifindex=1 /* if_nametoindex("lo") */, sll_hatype=0 /* ARPHRD_NETROM */',
    }
    assert expected[style] in mine[-1], mine
