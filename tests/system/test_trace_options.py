"""strace's options and ``-e`` qualifiers in ``pycoz trace``, each against strace's
own output for the same real program (strace 6.1 is the reference), or refused
in one line where pycoz does not do what strace does."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import tempfile

import pytest

from pycoz_cli.core.trace.syscalls import NUMBERS
from tests.system.test_trace_vs_strace import (
    MMSGHDR_CTYPES,
    PYTHON,
    STRACE,
    calls,
    normal,
    run_both,
)

pytestmark = pytest.mark.skipif(STRACE is None, reason="strace is not installed")

CAT = ["cat", "/etc/hostname"]


def _table(text: str) -> list[list[str]]:
    """-c's rows (without the total), each split in its columns."""
    rows = text.splitlines()
    start = rows.index("------ ----------- ----------- --------- --------- ----------------")
    body = rows[start + 1 :]
    end = body.index("------ ----------- ----------- --------- --------- ----------------")
    return [row.split() for row in body[:end]]


def _total(text: str) -> float:
    return float(text.splitlines()[-1].split()[1])


def _counts(text: str) -> list[tuple[str, int, int]]:
    """-c's rows as (syscall, calls, errors), sorted by name."""
    rows = [(r[-1], int(r[3]), int(r[4]) if len(r) == 6 else 0) for r in _table(text)]
    return sorted(rows)


SLEEPER = [PYTHON, "-c", "import time; time.sleep(0.3)"]


def test_summary_time_is_system_time_as_strace_counts_it(pycoz):
    """-c's time is the system CPU time strace measures (wait4's ru_stime since the
    thread's previous call), not the wall clock: a program that sleeps 0.3 s in
    clock_nanosleep spends next to no system time there; -w counts the sleep."""
    ours, theirs = run_both(pycoz, ["-c", "-e", "trace=clock_nanosleep"], SLEEPER)
    assert _total(theirs) < 0.1
    assert _total(ours) < 0.1
    assert _counts(ours) == _counts(theirs)
    ours, theirs = run_both(pycoz, ["-c", "-w", "-e", "trace=clock_nanosleep"], SLEEPER)
    # (from the tracer's look at the entry stop to its look at the exit stop:
    # under load it sees the entry late)
    assert _total(theirs) >= 0.25
    assert _total(ours) >= 0.25


def test_summary_has_no_exit_group_row(pycoz):
    ours, theirs = run_both(pycoz, ["-c"], ["/bin/true"])
    assert _counts(ours) == _counts(theirs)
    assert "exit_group" not in ours


def test_w_is_the_summary_wall_clock(pycoz):
    ours, theirs = run_both(pycoz, ["-c", "-w"], ["/bin/true"])
    assert _total(ours) > 0.0 and _total(theirs) > 0.0
    assert _counts(ours) == _counts(theirs)


@pytest.mark.parametrize("sort", ["name", "calls", "errors"])
def test_summary_sorted_as_strace_sorts(pycoz, sort):
    program = ["ls", "-l", "/usr/lib/python3.11/json"]
    ours, theirs = run_both(pycoz, ["-c", "-S", sort, "-e", "trace=!execve"], program)
    if sort == "name":
        assert [r[-1] for r in _table(ours)] == [r[-1] for r in _table(theirs)]
    else:  # counts tie often: compare the column, in order
        column = 3 if sort == "calls" else 4

        def keys(text):  # a row without errors has no errors column
            return [int(r[column]) if column == 3 or len(r) == 6 else 0 for r in _table(text)]

        assert keys(ours) == sorted(keys(ours), reverse=True)
        assert sorted(keys(ours), reverse=True) == sorted(keys(theirs), reverse=True)


def test_C_prints_the_trace_and_the_summary(pycoz):
    ours, theirs = run_both(pycoz, ["-C", "-e", "trace=openat,close"], CAT)
    assert calls(ours, ["openat", "close"]) == calls(theirs, ["openat", "close"])
    # (rows in the order of their times, which differ from run to run)
    assert _counts(ours) == _counts(theirs)


@pytest.mark.parametrize("flag", ["-x", "-xx"])
def test_strings_in_hex_as_strace(pycoz, flag):
    program = [
        PYTHON,
        "-c",
        "import os; fd = os.open('/dev/null', os.O_WRONLY)\n"
        "os.write(fd, b'a\\x01\\xffz\\n'); os.write(fd, b'plain')",
    ]
    ours, theirs = run_both(pycoz, [flag, "-e", "trace=write"], program)
    mine = calls(ours, ["write"])
    assert mine == calls(theirs, ["write"])
    assert "\\x" in mine[0]


def test_syscall_numbers_and_instruction_pointers_as_strace(pycoz):
    ip = [(r"\[[0-9a-f]{16}\]", "[IP]")]
    ours, theirs = run_both(pycoz, ["-n", "-i", "-e", "trace=close,exit_group"], CAT)
    mine = [normal(line, ip) for line in ours.splitlines()]
    assert mine == [normal(line, ip) for line in theirs.splitlines()]
    close, exit_group = NUMBERS["close"], NUMBERS["exit_group"]
    assert mine[0].startswith(f"[{close:4d}] [IP] close(")
    assert mine[-1] == f"[{exit_group:4d}] [????????????????] +++ exited with 0 +++"


@pytest.mark.parametrize("flag", ["-z", "-Z"])
def test_z_and_Z_show_successful_or_failed_calls(pycoz, flag):
    ours, theirs = run_both(pycoz, [flag, "-e", "trace=openat"], CAT)
    mine = calls(ours, ["openat"])
    assert mine == calls(theirs, ["openat"])
    assert all(("= -1 " in line) == (flag == "-Z") for line in mine)


def test_P_shows_only_calls_on_the_path(pycoz):
    ours, theirs = run_both(pycoz, ["-P", "/etc/hostname"], CAT)
    assert ours.splitlines() == theirs.splitlines()
    assert any(line.startswith("read(3, ") for line in ours.splitlines())


def test_a_sets_the_result_column(pycoz):
    ours, theirs = run_both(pycoz, ["-a", "20", "-e", "trace=close"], CAT)
    assert ours.splitlines() == theirs.splitlines()
    assert ours.splitlines()[0] == "close(3)            = 0"


def test_A_appends_to_the_output(pycoz, tmp_path):
    ours, theirs = tmp_path / "pycoz", tmp_path / "strace"
    for out in (ours, theirs):
        out.write_text("before\n")
    for _ in range(2):
        got = pycoz("trace", "-A", "-o", str(ours), "-e", "trace=none", "--", "true")
        assert got.returncode == 0, got.stderr
        subprocess.run([STRACE, "-A", "-o", str(theirs), "-e", "trace=none", "true"], check=True)
    assert ours.read_text() == theirs.read_text() == "before\n" + "+++ exited with 0 +++\n" * 2


def test_E_sets_and_unsets_variables(pycoz):
    program = ["sh", "-c", 'echo "$PYCOZ_TEST_E ${HOME-unset}"']
    options = ["-e", "trace=none", "-E", "PYCOZ_TEST_E=set", "-E", "HOME"]
    ours = pycoz("trace", *options, "--", *program)
    theirs = subprocess.run([STRACE, *options, *program], capture_output=True, text=True)
    assert ours.stdout == theirs.stdout == "set unset\n"


def test_u_runs_the_command_as_the_user(pycoz):
    program = ["sh", "-c", "id -u; id -g"]
    ours = pycoz("trace", "-u", "nobody", "-e", "trace=none", "--", *program)
    theirs = subprocess.run(
        [STRACE, "-u", "nobody", "-e", "trace=none", *program], capture_output=True, text=True
    )
    assert ours.stdout == theirs.stdout
    assert ours.stdout.split()[0] == "65534"


def test_u_with_an_unknown_user_is_one_line(pycoz):
    got = pycoz("trace", "-u", "no-such-user-pycoz", "--", "true")
    assert got.returncode == 2 or got.returncode == 125
    assert got.stderr.count("\n") == 1 and "no-such-user-pycoz" in got.stderr


def test_b_execve_detaches_at_the_childs_exec(pycoz):
    program = ["sh", "-c", "/bin/true; echo done"]
    options = ["-f", "-b", "execve", "-e", "trace=execve,wait4,exit_group"]
    ours, theirs = run_both(pycoz, options, program)
    # strace ends the line "<unfinished ...>" when another process's line came
    # before its detach (a race of its own), else "<detached ...>", as pycoz.
    norm = [
        (r"^\d+ +", ""),
        (r"= \d+$", "= PID"),
        (r"si_pid=\d+", "si_pid=N"),
        (r" <unfinished \.\.\.>$", " <detached ...>"),
    ]
    mine = [normal(line, norm) for line in ours.splitlines()]
    # (the shell's SIGCHLD and its wait4's return come in either order)
    assert sorted(mine) == sorted(normal(line, norm) for line in theirs.splitlines())
    assert mine[1].startswith('execve("/bin/true", ["/bin/true"], ')
    assert ours.splitlines()[1].endswith(" <detached ...>")


def test_b_execve_with_o_is_quiet_about_the_detach(pycoz, tmp_path):
    """strace: -o FILE with a command is quiet about attaching and detaching."""
    program = ["sh", "-c", "/bin/true"]
    options = ["-f", "-b", "execve", "-o", str(tmp_path / "out")]
    ours = pycoz("trace", *options, "--", *program)
    theirs = subprocess.run([STRACE, *options, *program], capture_output=True, text=True)
    assert ours.stderr == theirs.stderr == ""


def test_Y_names_the_pids(pycoz):
    program = ["sh", "-c", "/bin/true; exit 3"]
    options = ["-f", "-Y", "-e", "trace=exit_group", "-e", "signal=none"]
    ours, theirs = run_both(pycoz, options, program)
    comm = [(r"^\d+<", "PID<"), (r"si_pid=\d+", "si_pid=N"), (r"= \d+$", "= N")]
    mine = [normal(line, comm) for line in ours.splitlines()]
    assert mine == [normal(line, comm) for line in theirs.splitlines()]
    assert "PID<sh> +++ exited with 3 +++" in mine


def test_raw_shows_arguments_in_hex(pycoz):
    ours, theirs = run_both(pycoz, ["-e", "trace=openat,read", "-e", "raw=openat"], CAT)
    assert calls(ours, ["openat", "read"]) == calls(theirs, ["openat", "read"])
    assert calls(ours, ["openat"])[0] == "openat(0xADDR, 0xADDR, 0x80000, 0) = 0x3"
    assert re.search(r"^openat\(0xffffff9c, ", ours)


@pytest.mark.parametrize("qualifier", ["read=3", "write=1"])
def test_read_and_write_dumps_as_strace(pycoz, qualifier):
    program = ["head", "-c", "40", "/etc/services"]
    name = qualifier.split("=")[0]
    ours, theirs = run_both(pycoz, ["-e", f"trace={name}", "-e", qualifier], program)
    assert ours.splitlines() == theirs.splitlines()
    assert " | 00020  " in ours


VECTOR_PROGRAM = (
    """
import ctypes, os, socket, tempfile
fd = os.open(tempfile.mkdtemp() + "/f", os.O_RDWR | os.O_CREAT)  # fd 3
os.dup2(fd, 5) if fd != 5 else None
os.writev(fd, [b"hello ", b"vectored\\n", b"", bytes(range(40))])
os.pwritev(fd, [b"abc", b"defghijklmnopqrstuvwxyz0123456789"], 100)
os.pwritev(fd, [b"flags2"], 200, os.RWF_DSYNC)
a, b = bytearray(4), bytearray(100)
os.lseek(fd, 0, 0)
os.readv(fd, [a, b])
os.preadv(fd, [bytearray(10), bytearray(10)], 100)
os.preadv(fd, [bytearray(3)], 200, os.RWF_HIPRI if hasattr(os, "RWF_HIPRI") else 0)
s1, s2 = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)  # fds 4, 6
s1.sendmsg([b"first", b"second part"])
s2.recvmsg_into([bytearray(3), bytearray(64)])
"""
    + MMSGHDR_CTYPES
    + """bufs = [ctypes.create_string_buffer(b"mmsg-one"), ctypes.create_string_buffer(b"two!"),
        ctypes.create_string_buffer(b"mmsg-three-alone")]
iov1 = (iovec * 2)(iovec(ctypes.addressof(bufs[0]), 8), iovec(ctypes.addressof(bufs[1]), 4))
iov2 = (iovec * 1)(iovec(ctypes.addressof(bufs[2]), 16))
msgs = (mmsghdr * 2)()
msgs[0].hdr.iov, msgs[0].hdr.iovlen = iov1, 2
msgs[1].hdr.iov, msgs[1].hdr.iovlen = iov2, 1
libc.sendmmsg(s1.fileno(), msgs, 2, 0)
rb = [ctypes.create_string_buffer(n) for n in (5, 32, 32)]
riov1 = (iovec * 2)(iovec(ctypes.addressof(rb[0]), 5), iovec(ctypes.addressof(rb[1]), 32))
riov2 = (iovec * 1)(iovec(ctypes.addressof(rb[2]), 32))
rmsgs = (mmsghdr * 2)()
rmsgs[0].hdr.iov, rmsgs[0].hdr.iovlen = riov1, 2
rmsgs[1].hdr.iov, rmsgs[1].hdr.iovlen = riov2, 1
libc.recvmmsg(s2.fileno(), rmsgs, 2, 0, None)
p = os.pipe()
os.write(p[1], b"x" * 3)
try:
    os.write(99, b"bad fd")  # EBADF: strace dumps what a write was given all the same
except OSError:
    pass
"""
)
VECTOR_CALLS = (
    "writev,pwritev,pwritev2,readv,preadv,preadv2,sendmsg,recvmsg,sendmmsg,recvmmsg,write"
)


@pytest.mark.parametrize("sets", [["read=all", "write=all"], ["read=3,6", "write=3,4,99"]])
def test_vector_calls_dumped_per_buffer_as_strace(pycoz, sets):
    """readv/writev/preadv2/pwritev2/sendmsg/recvmsg dump each iovec element after
    `` * N bytes in buffer K``, sendmmsg/recvmmsg each message after `` = N buffers in
    vector K``, and a failed write what it was given, as strace 6.1 does."""
    options = ["-e", f"trace={VECTOR_CALLS}", *(x for s in sets for x in ("-e", s))]
    ours, theirs = run_both(pycoz, options, [PYTHON, "-c", VECTOR_PROGRAM])
    mine = [normal(line) for line in ours.splitlines()]
    assert mine == [normal(line) for line in theirs.splitlines()]
    text = "\n".join(mine)
    for expected in (
        'pwritev2(3, [{iov_base="flags2", iov_len=6}], 1, 200, RWF_DSYNC) = 6\n'
        " * 6 bytes in buffer 0\n"
        " | 00000  66 6c 61 67 73 32                                 flags2           |",
        " * 4 bytes in buffer 0\n | 00000  68 65 6c 6c     ",
        " * 100 bytes in buffer 1\n | 00000  6f 20 76 65 63 74 6f 72  65 64 0a 00 01 02 03 04  "
        "o vectored...... |",
        " * 13 bytes in buffer 1\n | 00000  73 74 73 65 63 6f 6e 64  20 70 61 72 74     ",
        " = 2 buffers in vector 0\n * 5 bytes in buffer 0\n",
        " = 1 buffers in vector 1\n * 16 bytes in buffer 0\n",
        "EBADF (Bad file descriptor)\n | 00000  62 61 64 20 66 64     ",
    ):
        assert expected in text, expected


@pytest.mark.parametrize("quiet", ["exit", "exits", "attach,exit", "all", "none"])
def test_quiet_qualifier_as_strace(pycoz, quiet):
    ours, theirs = run_both(pycoz, ["-e", "trace=close", "-e", f"quiet={quiet}"], CAT)
    assert ours.splitlines() == theirs.splitlines()


def test_injected_signal_is_sent(pycoz, tmp_path):
    program = [PYTHON, "-c", "import os; os.getpid(); os.getpid()"]
    options = ["-e", "trace=getpid", "-e", "inject=getpid:signal=USR1:when=2"]
    mine_out, strace_out = tmp_path / "pycoz", tmp_path / "strace"
    got = pycoz("trace", "-o", str(mine_out), *options, "--", *program)
    assert got.returncode == 128 + signal.SIGUSR1, got.stderr
    theirs = subprocess.run([STRACE, "-o", str(strace_out), *options, *program])
    assert theirs.returncode == -signal.SIGUSR1  # strace dies of it; pycoz exits 128+N
    ours, theirs = mine_out.read_text(), strace_out.read_text()
    pid = [(r"= \d+$", "= PID")]
    mine = [normal(line, pid) for line in ours.splitlines()]
    assert mine == [normal(line, pid) for line in theirs.splitlines()]
    assert "--- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_KERNEL} ---" in mine
    assert mine[-1] == "+++ killed by SIGUSR1 +++"


def test_seccomp_bpf_is_accepted(pycoz):
    ours, theirs = run_both(pycoz, ["-f", "--seccomp-bpf", "-e", "trace=openat"], CAT)
    assert calls(ours, ["openat"]) == calls(theirs, ["openat"])


@pytest.mark.parametrize(
    "options, words",
    [
        (["-w"], ["-w", "-c"]),
        (["-S", "calls"], ["-S", "-c"]),
        (["-A"], ["-A", "-o"]),
        (["-z", "-Z"], ["-z", "-Z"]),
        (["-e", "verbose=none"], ["verbose=", "all"]),
    ],
)
def test_what_pycoz_does_not_do_is_refused_in_one_line(pycoz, options, words):
    got = pycoz("trace", *options, "--", "true")
    assert got.returncode == 2, got.stderr
    assert got.stderr.count("\n") == 1, got.stderr
    assert all(word in got.stderr for word in words), got.stderr


def test_abbrev_and_verbose_all_are_accepted(pycoz):
    got = pycoz("trace", "-e", "abbrev=all", "-e", "verbose=all", "-e", "trace=none", "--", "true")
    assert got.returncode == 0, got.stderr


def _ignoring_sighup():
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def test_ignored_signals_stay_ignored_as_under_strace(pycoz_bin):
    """nohup pycoz trace ...: SIGHUP stays ignored in the program, as under strace."""
    program = ["sh", "-c", "grep SigIgn /proc/self/status"]
    runs = [
        [pycoz_bin, "trace", "-e", "trace=none", "--", *program],
        [STRACE, "-e", "trace=none", *program],
    ]
    ours, theirs = (
        subprocess.run(argv, capture_output=True, text=True, preexec_fn=_ignoring_sighup)
        for argv in runs
    )
    assert ours.stdout == theirs.stdout
    assert int(ours.stdout.split()[1], 16) & (1 << (signal.SIGHUP - 1))


def test_json_bytes_that_are_not_utf8_and_signal_fields(pycoz):
    program = [
        PYTHON,
        "-c",
        "import os, subprocess\n"
        "try: os.stat(b'/nonexistent-\\xff\\xfe')\n"
        "except OSError: pass\n"
        "subprocess.run(['true'])",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "trace.json")
        got = pycoz(
            "trace", "--json", "-f", "-e", "trace=newfstatat,stat", "-o", out, "--", *program
        )
        assert got.returncode == 0, got.stderr
        with open(out, encoding="utf-8") as f:
            records = [json.loads(line) for line in f]
    for record in records:  # strict UTF-8 all through: no lone surrogates
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    stat = [r for r in records if r.get("args_text") and "nonexistent" in r["args_text"][1]]
    assert stat, records
    value = stat[0]["args"][1]
    assert bytes.fromhex(value["bytes_hex"]) == b"/nonexistent-\xff\xfe"
    chld = [r for r in records if r["type"] == "signal" and r["signal"] == "SIGCHLD"]
    assert chld and chld[0]["si_code"] == "CLD_EXITED" and chld[0]["si_status"] == 0


def test_json_trace_with_raw_bytes_reloads(pycoz, tmp_path):
    from pycoz_cli.api import Trace

    out = tmp_path / "trace.json"
    program = [PYTHON, "-c", "import os\ntry: os.stat(b'/nonexistent-\\xff')\nexcept OSError: pass"]
    got = pycoz("trace", "--json", "-e", "trace=newfstatat,stat", "-o", str(out), "--", *program)
    assert got.returncode == 0, got.stderr
    trace = Trace.from_json_lines(out.read_text())
    names = [ev.args[1] for ev in trace.events if ev.kind == "syscall" and len(ev.args) > 1]
    assert "/nonexistent-\udcff" in names


def test_workdir_and_wall_clock_do_not_clash(pycoz, tmp_path):
    """-w is strace's (-c's wall clock); the working directory is --workdir."""
    got = pycoz("trace", "--workdir", str(tmp_path), "-e", "trace=none", "--", "pwd")
    assert got.stdout == f"{tmp_path}\n"
    assert re.search(r"100\.00 +\d", pycoz("trace", "-c", "-w", "--", "true").stderr)


def test_decode_fds_qualifier_decorates_as_y(pycoz):
    options = ["-e", "decode-fds=path", "-e", "trace=read,fstat,newfstatat"]
    ours, theirs = run_both(pycoz, options, CAT)
    mine = calls(ours, ["read"])
    assert mine == calls(theirs, ["read"])
    assert mine[-1].startswith("read(3</etc/hostname>, ")


def test_instruction_pointer_of_a_signal_as_strace(pycoz):
    ip = [(r"\[[0-9a-f]{16}\]", "[IP]"), (r"\b\d{2,}\b", "N")]
    program = ["sh", "-c", "trap : USR1; kill -USR1 $$"]
    ours, theirs = run_both(pycoz, ["-i", "-e", "trace=kill"], program)
    mine = [normal(line, ip) for line in ours.splitlines()]
    assert mine == [normal(line, ip) for line in theirs.splitlines()]
    assert mine[1].startswith("[IP] --- SIGUSR1 {")
    # the signal is delivered where kill returns
    assert ours.splitlines()[0][:18] == ours.splitlines()[1][:18]


def test_C_with_P_counts_the_calls_on_the_path(pycoz):
    ours, theirs = run_both(pycoz, ["-C", "-P", "/etc/hostname"], CAT)
    assert calls(ours, ["openat", "read", "close"]) == calls(theirs, ["openat", "read", "close"])
    assert _counts(ours) == _counts(theirs)
    names = [row[0] for row in _counts(ours)]
    assert "openat" in names and "execve" not in names  # the calls on the path only


def test_c_with_P_counts_the_calls_on_the_path_as_strace(pycoz):
    ours, theirs = run_both(pycoz, ["-c", "-P", "/etc/hostname"], CAT)
    assert _counts(ours) == _counts(theirs)
    names = [row[0] for row in _counts(ours)]
    assert "read" in names and "execve" not in names and "write" not in names


def test_json_with_P_records_the_calls_on_the_path_as_strace(pycoz, tmp_path):
    """--json -P: the records of the calls strace -P shows, and only those."""
    out = tmp_path / "trace.json"
    got = pycoz("trace", "--json", "-o", str(out), "-P", "/etc/hostname", "--", *CAT)
    assert got.returncode == 0, got.stderr
    theirs = subprocess.run(
        [STRACE, "-P", "/etc/hostname", *CAT], capture_output=True, text=True
    ).stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    lines = [
        normal(f"{r['syscall']}({', '.join(r['args_text'])}) = {r['result_text']}")
        for r in records
        if r["type"] == "syscall"
    ]
    names = sorted({line.split("(")[0] for line in lines})
    assert lines == calls(theirs, names)
    assert names == sorted({line.split("(")[0] for line in calls(theirs, [r"\w+"])})


@pytest.mark.parametrize(
    "options, argv, last",
    [
        (["-e", "trace=close"], CAT, "exit_group"),  # not traced, yet its number
        (["-e", "trace=none"], ["/bin/true"], "exit_group"),
        (["-f", "-e", "trace=close"], ["sh", "-c", "cat /etc/hostname; exit 3"], "exit_group"),
        (["-f", "--seccomp-bpf", "-e", "trace=close"], CAT, "close"),  # the last one seen
    ],
)
def test_n_numbers_exit_and_signal_lines_by_the_last_call_as_strace(pycoz, options, argv, last):
    """strace -n numbers a +++ or --- line with the last call it stopped at (every
    call, traced or not, unless --seccomp-bpf): exit_group's, kill's, wait4's."""
    pid = [(r"si_pid=\d+", "si_pid=N")]
    ours, theirs = run_both(pycoz, ["-n", *options], argv)
    mine = [normal(line, pid) for line in ours.splitlines()]
    assert mine == [normal(line, pid) for line in theirs.splitlines()]
    assert mine[-1].startswith(f"[{NUMBERS[last]:4d}] +++ ")


def test_n_numbers_a_kill_by_the_call_it_died_in_as_strace(pycoz, tmp_path):
    """(pycoz exits 128+N where strace kills itself: run_both's equal codes do not hold)"""
    argv = ["sh", "-c", "kill -9 $$"]
    ours = pycoz("trace", "-o", str(tmp_path / "ours"), "-n", "-e", "trace=close", "--", *argv)
    assert ours.returncode == 128 + signal.SIGKILL, ours.stderr
    subprocess.run([STRACE, "-o", str(tmp_path / "theirs"), "-n", "-e", "trace=close", *argv])
    mine = (tmp_path / "ours").read_text().splitlines()
    assert mine == (tmp_path / "theirs").read_text().splitlines()
    assert mine[-1] == f"[{NUMBERS['kill']:4d}] +++ killed by SIGKILL +++"


#: An access time changes when a run reads the file: not what is compared.
_ATIME = [
    (r"st_atime=\d+ /\* [^*]* \*/, st_atime_nsec=\d+", "st_atime=T"),
    (r"stx_atime=\{[^}]*\}( /\* [^*]* \*/)?", "stx_atime=T"),
]
#: The program's stdio pipes are new in each run: their inode and times differ.
_PIPE = [
    (r"st_ino=\d+(, st_mode=S_IFIFO)", r"st_ino=N\1"),
    (r"(st_[mc]time)=\d+ /\* [^*]* \*/, st_[mc]time_nsec=\d+", r"\1=T"),
]


def _stable(line: str) -> str:
    return normal(line, _ATIME + (_PIPE if "S_IFIFO" in line else []))


STATS = [
    PYTHON,
    "-c",
    "import os; os.stat('/dev/null'); os.lstat('/etc'); os.listdir('/usr/lib/python3.11/json')",
]


@pytest.mark.parametrize(
    "options",
    [["-v"], ["-e", "abbrev=none"], ["-v", "-e", "abbrev=getdents64"], ["-f", "-v"]],
)
def test_v_prints_structures_unabbreviated_as_strace(pycoz, options):
    """-v: stat's every field (st_rdev for a device), execve's environment in full,
    getdents' entries; -e abbrev=SET keeps SET's calls abbreviated."""
    trace = ["-e", "trace=execve,newfstatat,statx,getdents64"]
    ours, theirs = run_both(pycoz, [*options, *trace], STATS)
    mine = [_stable(line) for line in ours.splitlines()]
    assert mine == [_stable(line) for line in theirs.splitlines()]
    text = "\n".join(mine)
    assert "st_rdev=makedev(0x1, 0x3), st_atime=T, st_mtime=" in text  # /dev/null
    assert "st_dev=makedev(" in text and "st_blksize=" in text and "vars */" not in text
    assert ('d_name="decoder.py"' in text) == ("abbrev=getdents64" not in options)


def test_v_shows_statx_and_every_argument_as_strace(pycoz):
    ours, theirs = run_both(pycoz, ["-v", "-e", "trace=statx"], ["stat", "/etc/hostname", "/"])
    mine = [normal(line, _ATIME) for line in ours.splitlines()]
    assert mine == [normal(line, _ATIME) for line in theirs.splitlines()]
    assert "stx_blocks=" in mine[0] and "stx_mtime={tv_sec=" in mine[0]


def test_v_shows_uname_and_termios_in_full_as_strace(pycoz):
    program = [
        PYTHON,
        "-c",
        "import os, pty, termios; m, s = pty.openpty(); termios.tcgetattr(s); os.uname()",
    ]
    ours, theirs = run_both(pycoz, ["-v", "-e", "trace=uname,ioctl"], program)
    mine = calls(ours, ["uname", "ioctl"])
    assert mine == calls(theirs, ["uname", "ioctl"])
    text = "\n".join(mine)
    assert "release=" in text and "machine=" in text
    assert "c_line=N_TTY, c_cc=[[VINTR]=0x3, " in text
