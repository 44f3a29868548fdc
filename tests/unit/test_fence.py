"""The fence's seccomp programs, run on seccomp_data the way the kernel runs them.

The interpreter below knows the five classic-BPF instructions the fence uses
(``ld [k]``, ``jeq``, ``jge``, ``jset``, ``ret``), so each verdict is the program's
own, for each architecture pycoz writes programs for; the system tests
(test_fence_attacks.py) check the same rules against the real kernel.
"""

from __future__ import annotations

import errno
import struct

import pytest

from pycoz_cli.core import fence
from pycoz_cli.core.trace.syscalls import for_arch

AUDIT_ARCH_I386 = 0x40000003


def run(program, nr: int, args=(0,) * 6, arch: int | None = None) -> int:
    """The verdict of ``program`` (a list of (code, jt, jf, k)) on one call."""
    data = struct.pack("<iIQ6Q", nr, arch or fence.AUDIT_ARCH, 0, *args)
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = program[pc]
        assert pc + 1 + max(jt, jf) <= len(program), f"jump out of the program at {pc}"
        if code == 0x20:  # ld [k]
            (acc,) = struct.unpack_from("<I", data, k)
            pc += 1
        elif code in (0x15, 0x35, 0x45):  # jeq, jge, jset
            taken = {0x15: acc == k, 0x35: acc >= k, 0x45: bool(acc & k)}[code]
            pc += 1 + (jt if taken else jf)
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unknown instruction {code:#x}")


NUMBERS = for_arch("x86_64").numbers
DENIED_EPERM = fence.RET_ERRNO | errno.EPERM
program = fence.fence_program(fence.DEFAULT_CAPS) if fence.AUDIT_ARCH else None
needs_arch = pytest.mark.skipif(fence._ARCH != "x86_64", reason="x86_64's numbers")


def test_the_cached_numbers_are_the_generated_tables():
    names = {n for _, ns, _ in fence.DENIED for n in ns} | {r[1] for r in fence.ARG_RULES}
    for arch in ("x86_64", "aarch64"):
        table = for_arch(arch).numbers
        assert fence.FENCE_NUMBERS[arch] == {n: table[n] for n in names if n in table}, arch


@needs_arch
@pytest.mark.parametrize(
    ("name", "args", "verdict"),
    [
        ("getpid", (), fence.RET_ALLOW),
        ("mount", (), DENIED_EPERM),
        ("keyctl", (), DENIED_EPERM),
        ("swapon", (), DENIED_EPERM),
        ("clone3", (), fence.RET_ERRNO | errno.ENOSYS),
        ("ioctl", (1, 0x5412), DENIED_EPERM),  # TIOCSTI
        ("ioctl", (1, 0x1_0000_5412), DENIED_EPERM),  # its high bits set: CVE-2019-10063
        ("ioctl", (1, 0x541C), DENIED_EPERM),  # TIOCLINUX
        ("ioctl", (1, 0x5413), fence.RET_ALLOW),  # TIOCGWINSZ
        ("unshare", (0x10000000,), DENIED_EPERM),  # CLONE_NEWUSER
        ("unshare", (0x80,), DENIED_EPERM),  # CLONE_NEWTIME
        ("unshare", (0x400,), fence.RET_ALLOW),  # CLONE_FILES: no namespace
        ("clone", (0x40000000 | 17,), DENIED_EPERM),  # CLONE_NEWNET
        ("clone", (0x01200011,), fence.RET_ALLOW),  # a fork: the exit signal is not a flag
    ],
)
def test_verdicts_of_the_fence(name, args, verdict):
    padded = (*args, 0, 0, 0, 0, 0, 0)[:6]
    assert run(program, NUMBERS[name], padded) == verdict


@needs_arch
def test_other_abis_are_killed():
    assert run(program, 20, arch=AUDIT_ARCH_I386) == fence.RET_KILL_PROCESS
    assert run(program, 0x40000000 | 39) == fence.RET_KILL_PROCESS  # x32 getpid


@needs_arch
def test_a_capability_added_back_lifts_its_rules_only():
    lifted = fence.fence_program(fence.DEFAULT_CAPS | {"SYS_ADMIN"})
    assert run(lifted, NUMBERS["mount"]) == fence.RET_ALLOW
    assert run(lifted, NUMBERS["unshare"], (0x10000000, 0, 0, 0, 0, 0)) == fence.RET_ALLOW
    assert run(lifted, NUMBERS["keyctl"]) == DENIED_EPERM
    assert run(lifted, NUMBERS["ioctl"], (1, 0x5412, 0, 0, 0, 0)) == DENIED_EPERM


@needs_arch
def test_the_users_deny_list():
    prog = fence.deny_program([("io_uring_setup", errno.ENOSYS), ("openat", errno.EACCES)])
    assert run(prog, NUMBERS["io_uring_setup"]) == fence.RET_ERRNO | errno.ENOSYS
    assert run(prog, NUMBERS["openat"]) == fence.RET_ERRNO | errno.EACCES
    assert run(prog, NUMBERS["read"]) == fence.RET_ALLOW
    assert run(prog, 5, arch=AUDIT_ARCH_I386) == fence.RET_ALLOW  # only the native ABI


def test_pack_is_the_kernels_layout():
    prog = [(0x20, 0, 0, 4), (0x15, 1, 2, 0xC000003E)]
    assert fence.pack(prog) == struct.pack("=HBBIHBBI", *prog[0], *prog[1])


@pytest.mark.parametrize(
    ("text", "expected"),
    [("NET_ADMIN", "NET_ADMIN"), ("cap_net_admin", "NET_ADMIN"), ("all", None)],
)
def test_capability_names(text, expected):
    assert fence.parse_cap(text, "--cap-add") == expected


def test_deny_parsing():
    assert fence.parse_deny("io_uring_setup") == ("io_uring_setup", errno.ENOSYS)
    assert fence.parse_deny("read:eperm") == ("read", errno.EPERM)
    assert fence.parse_deny("read:13") == ("read", 13)
