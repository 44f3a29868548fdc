"""Syscall tables: generated data is current, numbers are right, classes are strace's."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

from pycoz_cli.core.trace import _syscalls_build, syscalls

X86 = syscalls.for_arch("x86_64")
ARM = syscalls.for_arch("aarch64")
TABLES = pytest.mark.parametrize("table", [X86, ARM], ids=["x86_64", "aarch64"])


def test_generated_tables_are_current():
    pytest.importorskip("ptrace.syscall.linux.x86_64")
    for arch in _syscalls_build.ARCHES:
        committed = _syscalls_build.generated_path(arch).read_text()
        assert committed == _syscalls_build.render(arch), (
            "run: python -m pycoz_cli.core.trace._syscalls_build"
        )


def test_running_architecture_is_picked():
    machine = os.uname().machine
    assert syscalls.TABLE.arch == syscalls.for_arch(machine).arch == syscalls.ARCH
    if machine in ("x86_64", "aarch64"):
        assert syscalls.for_arch(machine).names == syscalls.NAMES
        assert syscalls.NUMBERS["openat"] == {"x86_64": 257, "aarch64": 56}[machine]
        assert syscalls.CLASSES["%file"] == syscalls.for_arch(machine).classes["%file"]


@TABLES
def test_names_and_numbers_are_inverse(table):
    assert len(table.names) == len(table.numbers)
    for number, name in table.names.items():
        assert table.numbers[name] == number


@TABLES
def test_every_class_is_there_and_holds_known_names(table):
    assert set(table.classes) == set(syscalls.CLASS_NAMES)
    for members in table.classes.values():
        assert isinstance(members, frozenset)
        assert members <= table.numbers.keys()
    assert table.classes["%net"] is table.classes["%network"]


def test_well_known_numbers():
    assert (X86.numbers["read"], X86.numbers["open"], X86.numbers["openat"]) == (0, 2, 257)
    assert (X86.numbers["connect"], X86.numbers["execve"], X86.numbers["clone3"]) == (42, 59, 435)
    assert X86.numbers["timerfd_create"] == 283  # strace's name, not python-ptrace's "timerfd"
    assert (ARM.numbers["openat"], ARM.numbers["connect"], ARM.numbers["execve"]) == (56, 203, 221)
    assert ARM.numbers["newfstatat"] == 79
    # Legacy calls aarch64 never had.
    for name in ("open", "stat", "lstat", "fork", "pipe", "poll", "select", "access"):
        assert name in X86.numbers
        assert name not in ARM.numbers
    # The x32 block (512 and up) is not the native personality.
    assert max(X86.names) < 512


@TABLES
def test_strace_classes_by_known_members(table):
    def members(cls):
        return table.classes[cls]

    assert {"socket", "connect", "bind", "listen", "accept4", "sendto", "recvmsg"} <= members(
        "%network"
    )
    assert "sendfile" in members("%network") and "sendfile" in members("%desc")
    assert "openat" in members("%file") and "openat" in members("%desc")
    assert "execve" in members("%process") and "execve" in members("%file")
    assert "execve" not in members("%desc")
    assert {"execveat", "clone", "clone3", "exit_group", "wait4", "kill"} <= members("%process")
    assert "mmap" in members("%memory") and "mmap" in members("%desc")
    assert {"munmap", "mprotect", "brk", "madvise"} <= members("%memory")
    assert {"shmat", "shmdt"} <= members("%memory") & members("%ipc")
    assert {"semop", "msgsnd", "shmget"} <= members("%ipc")
    assert {"rt_sigaction", "rt_sigprocmask", "kill", "tgkill"} <= members("%signal")
    assert {"read", "write", "close", "dup3", "fcntl", "ioctl", "epoll_pwait"} <= members("%desc")
    assert {"setuid", "getuid", "capset", "prctl"} <= members("%creds")
    assert {"getpid", "gettid", "getuid", "getppid"} <= members("%pure")
    assert "getrandom" not in members("%pure")
    assert {"clock_gettime", "gettimeofday", "adjtimex"} <= members("%clock")
    assert {"newfstatat", "statx", "fstat"} <= members("%fstat") <= members("%%stat")
    assert {"statfs", "fstatfs"} <= members("%%statfs")
    assert members("%statfs") == {"statfs"} and members("%fstatfs") == {"fstatfs"}
    # Not everything is in a class, and classes do not leak.
    assert "connect" not in members("%file") | members("%desc")
    assert "futex" not in set().union(*table.classes.values())


def test_stat_classes_on_x86_64():
    assert X86.classes["%stat"] == {"stat"}
    assert X86.classes["%lstat"] == {"lstat"}
    assert X86.classes["%%stat"] == {"stat", "lstat", "fstat", "newfstatat", "statx"}
    assert X86.classes["%%statfs"] == {"statfs", "fstatfs", "ustat"}
    assert ARM.classes["%stat"] == ARM.classes["%lstat"] == frozenset()


def test_agrees_with_python_ptrace():
    pytest.importorskip("ptrace.syscall.linux.x86_64")
    from ptrace.syscall.linux import aarch64, x86_64

    for table, theirs in ((X86, x86_64.SYSCALL_NAMES), (ARM, aarch64.SYSCALL_NAMES)):
        for number, name in theirs.items():
            if number < 512:
                assert table.names[number] == _syscalls_build.RENAMES.get(name, name)


def test_agrees_with_kernel_headers():
    header = pathlib.Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
    if not header.exists():
        pytest.skip("no x86_64 kernel headers")
    for name, number in re.findall(r"#define __NR_(\w+) (\d+)", header.read_text()):
        assert X86.names[int(number)] == _syscalls_build.RENAMES.get(name, name)


def test_unsupported_architecture_gives_empty_tables():
    table = syscalls.for_arch("riscv64")
    assert table.arch == "riscv64"
    assert table.names == {} and table.numbers == {}
    assert set(table.classes) == set(syscalls.CLASS_NAMES)
    assert table.name_of(3) == "syscall_0x3"


def test_name_of():
    assert X86.name_of(257) == "openat"
    assert X86.name_of(456 + 100) == "syscall_0x22c"  # strace's spelling of an unknown call
    assert "x86_64" in repr(X86)


def test_flags_table_is_consistent():
    flags = _syscalls_build.parse_flags()
    known = set(X86.numbers) | set(ARM.numbers)
    assert set(flags) <= known
    with pytest.raises(ValueError, match="listed twice"):
        _syscalls_build.parse_flags("TD: read\nTF: read\n")
    with pytest.raises(ValueError, match="unknown strace flag"):
        _syscalls_build.parse_flags("XX: read\n")


def test_import_is_cheap():
    code = (
        "import sys\n"
        "import pycoz_cli.core.trace.syscalls as s, pycoz_cli.core.trace.filters as f\n"
        "heavy = ('ptrace', 'difflib', 'pycoz_cli.core.trace._syscalls_build')\n"
        "mods = [m for m in heavy if m in sys.modules]\n"
        "others = [m for m in sys.modules if m.startswith('pycoz_cli.core.trace._syscalls_')]\n"
        "print(mods, len(others))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    # Only the running architecture's table is loaded.
    expected = 1 if os.uname().machine in ("x86_64", "aarch64") else 0
    assert out.split() == ["[]", str(expected)], out
