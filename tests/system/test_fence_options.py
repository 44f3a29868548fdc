"""The fence's options and resource limits, as a user drives them: --privileged,
--cap-add/--cap-drop, --seccomp-deny, --memory/--pids/--cpus, and their bad input.

The attacks the fence stops are in test_fence_attacks.py; what users keep inside is
in test_fence_keeps.py.
"""

from __future__ import annotations

import ast
import glob
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from pycoz_cli.core.fence import CAP_NUMBERS, DEFAULT_CAPS
from tests.system.helpers import assert_one_line

STATUS = "grep -E '^(CapBnd|CapEff|Seccomp):' /proc/self/status"


def status_of(text: str) -> dict[str, str]:
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def caps(mask: str) -> set[str]:
    value = int(mask, 16)
    return {name for name, bit in CAP_NUMBERS.items() if value >> bit & 1}


def test_root_inside_keeps_the_default_set_and_a_filter(pycoz):
    r = pycoz("root", "--", "sh", "-c", STATUS)
    assert r.returncode == 0, r.stderr
    st = status_of(r.stdout)
    assert caps(st["CapBnd"]) == caps(st["CapEff"]) == set(DEFAULT_CAPS)
    assert st["Seccomp"].strip() == "2"


def test_own_network_namespace_adds_net_admin(pycoz):
    r = pycoz("root", "--net", "pair", "--", "sh", "-c", STATUS)
    assert r.returncode == 0, r.stderr
    assert caps(status_of(r.stdout)["CapEff"]) == set(DEFAULT_CAPS) | {"NET_ADMIN"}


def test_privileged_is_the_unfenced_root(pycoz):
    r = pycoz("root", "--privileged", "--", "sh", "-c", STATUS)
    assert r.returncode == 0, r.stderr
    st = status_of(r.stdout)
    assert {"SYS_ADMIN", "MKNOD", "SYS_PTRACE", "NET_ADMIN"} <= caps(st["CapEff"])
    assert st["Seccomp"].strip() == "0"


def test_cap_add_and_cap_drop_by_any_spelling(pycoz):
    r = pycoz(
        "root", "--cap-add", "cap_sys_ptrace", "--cap-drop", "NET_RAW", "--", "sh", "-c", STATUS
    )
    assert r.returncode == 0, r.stderr
    assert caps(status_of(r.stdout)["CapEff"]) == (set(DEFAULT_CAPS) | {"SYS_PTRACE"}) - {"NET_RAW"}
    r = pycoz("root", "--cap-drop", "ALL", "--", "sh", "-c", STATUS)
    assert caps(status_of(r.stdout)["CapEff"]) == set()


def test_cap_drop_takes_effect_on_a_real_program(pycoz):
    """Without CAP_NET_RAW, root cannot open a raw socket (ping's old way)."""
    script = "import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, 1); print('raw')"
    assert pycoz("root", "--", "python3", "-c", script).stdout == "raw\n"
    r = pycoz("root", "--cap-drop", "NET_RAW", "--", "python3", "-c", script)
    assert r.returncode == 1 and "PermissionError" in r.stderr


def test_cap_add_sys_admin_lifts_the_mount_rules(pycoz, unique):
    script = f"mount -t tmpfs {unique} /mnt && grep -c {unique} /proc/mounts"
    assert pycoz("root", "--", "sh", "-c", script).returncode != 0
    r = pycoz("root", "--cap-add", "SYS_ADMIN", "--", "sh", "-c", script)
    assert (r.returncode, r.stdout) == (0, "1\n"), r.stderr


IO_URING = (
    "import ctypes, errno; libc = ctypes.CDLL(None, use_errno=True);"
    "r = libc.syscall(425, 8, ctypes.create_string_buffer(120));"  # io_uring_setup
    "print(errno.errorcode.get(ctypes.get_errno()) if r < 0 else 'ok')"
)


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="x86_64 syscall number")
def test_seccomp_deny_makes_one_call_fail_as_asked(pycoz):
    assert pycoz("root", "--", "python3", "-c", IO_URING).stdout == "ok\n"
    r = pycoz("root", "--seccomp-deny", "io_uring_setup", "--", "python3", "-c", IO_URING)
    assert (r.returncode, r.stdout) == (0, "ENOSYS\n"), r.stderr
    r = pycoz("root", "--seccomp-deny", "io_uring_setup:EPERM", "--", "python3", "-c", IO_URING)
    assert r.stdout == "EPERM\n"
    # Also with --privileged: the user's own rules stay.
    r = pycoz(
        "root",
        "--privileged",
        "--seccomp-deny",
        "io_uring_setup:13",
        "--",
        "python3",
        "-c",
        IO_URING,
    )
    assert r.stdout == "EACCES\n"


def test_seccomp_deny_of_what_init_needs_spares_init(pycoz):
    """The user's rules are the command's: init still waits and reports."""
    r = pycoz("root", "--seccomp-deny", "wait4", "--seccomp-deny", "rt_sigtimedwait", "--", "true")
    assert r.returncode == 0, r.stderr
    r = pycoz("root", "--seccomp-deny", "getpid", "--", "sh", "-c", "exit 7")
    assert r.returncode == 7, r.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--cap-add", "CAP_FLY"], ["--cap-add CAP_FLY", "no such capability"]),
        (["--cap-drop", ""], ["--cap-drop", "no such capability"]),
        (["--seccomp-deny", "nosuchcall"], ["--seccomp-deny nosuchcall", "no syscall"]),
        (["--seccomp-deny", "read:EWHAT"], ["--seccomp-deny read:EWHAT", "errno"]),
        (["--memory", "lots"], ["--memory 'lots'", "size"]),
        (["--memory", "12"], ["--memory 12", "at least 1M"]),
        (["--pids", "0"], ["--pids '0'", "at least 1"]),
        (["--pids", "x"], ["--pids 'x'"]),
        (["--cpus", "999"], ["--cpus '999'", "CPUs"]),
        (["--cpus", "-1"], ["--cpus '-1'"]),
    ],
)
def test_bad_fence_input_is_one_line_and_exit_2(pycoz, args, words):
    r = pycoz("root", *args, "--", "true")
    assert r.returncode == 2, r.stderr
    assert_one_line(r.stderr, *words)


def test_fence_options_without_a_container_in_trace(pycoz):
    r = pycoz("trace", "--pids", "10", "--", "true")
    assert r.returncode == 2
    assert_one_line(r.stderr, "--pids", "needs a container")


def pycoz_cgroups() -> list[str]:
    """Cgroups named like pycoz's, in every hierarchy of this machine."""
    found = []
    for top in [*glob.glob("/sys/fs/cgroup/*/"), "/sys/fs/cgroup/"]:
        for path, dirs, _ in os.walk(top):
            found += [f"{path}/{d}" for d in dirs if d.startswith("pycoz-")]
            if path.count("/") > 8:
                dirs.clear()
    return sorted(set(found))


def own_cgroups(pid: int) -> list[str]:
    return [c for c in pycoz_cgroups() if f"/pycoz-{pid}-" in c]


def test_fork_bomb_is_held_by_pids(pycoz_bin):
    # The shell then waits with builtins only: under the limit, the bomb's
    # children hold every pid, and a fork of the shell's own would fail too.
    bomb = (
        "bomb() { bomb | bomb & }; bomb;SECONDS=0; while ((SECONDS < 2)); do :; done; echo survived"
    )
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [pycoz_bin, "root", "--pids", "200", "--", "bash", "-c", bomb],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(timeout=60)
    assert "survived" in out, err
    assert "fork" in err.lower() or "resource" in err.lower()
    assert time.monotonic() - t0 < 30
    assert own_cgroups(proc.pid) == []


def test_memory_hog_is_killed_in_its_container(pycoz_bin):
    hog = "a = []\nwhile True: a.append(bytearray(1 << 22))"
    proc = subprocess.run(
        [pycoz_bin, "root", "--memory", "64M", "--", "python3", "-c", hog],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 128 + signal.SIGKILL, proc.stderr
    r = subprocess.run(
        [
            pycoz_bin,
            "root",
            "--memory",
            "64M",
            "--",
            "python3",
            "-c",
            "print(len(bytearray(1 << 24)))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (r.returncode, r.stdout) == (0, f"{1 << 24}\n"), r.stderr


def test_limits_are_applied_to_everything_in_the_container(pycoz):
    script = (
        "cat /proc/self/cgroup; sh -c 'cat /proc/self/cgroup' | md5sum;"
        "cat /proc/self/cgroup | md5sum"
    )
    r = pycoz("root", "--pids", "50", "--memory", "100M", "--cpus", "0.5", "--", "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[-1] == lines[-2]  # a grandchild is in the same cgroups
    assert any("pycoz-" in line for line in lines[:-2])


def test_a_killed_pycoz_cgroup_is_removed_by_the_next(pycoz_bin, pycoz):
    proc = subprocess.Popen(
        [pycoz_bin, "root", "--pids", "20", "--", "sleep", "30"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not own_cgroups(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    left = own_cgroups(proc.pid)
    assert left
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while any(pathlib.Path(c, "cgroup.procs").read_text() for c in left if os.path.isdir(c)):
        assert time.monotonic() < deadline, "the killed container's processes lived on"
        time.sleep(0.02)
    assert pycoz("root", "--pids", "20", "--", "true").returncode == 0
    assert own_cgroups(proc.pid) == []


def test_proc_sys_net_is_writable_in_own_netns_only(pycoz):
    """Issue 11 item 12: the README promises /proc/sys/net can be tuned with --net."""
    script = (
        "echo 1 > /proc/sys/net/ipv4/ip_forward && cat /proc/sys/net/ipv4/ip_forward;"
        "echo x > /proc/sys/kernel/hostname 2>/dev/null || echo kernel-ro"
    )
    r = pycoz("root", "--net", "pair", "--", "sh", "-c", script)
    assert (r.returncode, r.stdout) == (0, "1\nkernel-ro\n"), r.stderr
    r = pycoz("net", "run", "pair", "--", "sysctl", "-w", "net.ipv4.conf.all.forwarding=1")
    assert r.returncode == 0, r.stderr
    # Without --net the network namespace is the host's: not the container's to tune.
    r = pycoz(
        "root",
        "--",
        "sh",
        "-c",
        "cat /proc/sys/net/ipv4/ip_forward > /proc/sys/net/ipv4/ip_forward",
    )
    assert r.returncode != 0


def test_api_takes_the_same_fence(tmp_path):
    from pycoz_cli import Container

    out = tmp_path / "out"
    with open(out, "w") as f:
        code = Container(cap_drop=["ALL"], pids=10, memory="32M").run(
            ["sh", "-c", STATUS], stdout=f.fileno()
        )
    assert code == 0
    st = status_of(out.read_text())
    assert caps(st["CapEff"]) == set()
    from pycoz_cli.errors import SpecError

    with pytest.raises(SpecError, match="no such capability"):
        Container(cap_add=["WIZARD"]).run(["true"])


def test_shell_banner_says_when_there_is_no_fence(pycoz_bin, tmp_path):
    """--privileged is said where the user sees it (``shell``'s banner)."""
    from pycoz_cli.cli.shell import _fence_line
    from pycoz_cli.core.container import Container

    assert "NONE (--privileged)" in _fence_line(Container(privileged=True))
    line = _fence_line(Container(cap_add=["SYS_PTRACE"], pids=20))
    assert "+SYS_PTRACE" in line and "pids 20" in line


def test_api_refuses_a_layer_without_a_root(tmp_path):
    from pycoz_cli import Container
    from pycoz_cli.errors import SpecError

    with pytest.raises(SpecError, match="--upper: needs a throwaway root"):
        Container(overlay=False, upper=str(tmp_path / "u")).run(["true"])
    assert not (tmp_path / "u").exists()


# The filter on its own, in a process that holds every capability (this test's
# own python, as root), so that only the filter can say EPERM.  The arguments
# are ones the kernel refuses before doing anything (a NULL path: EFAULT), so
# the calls are harmless when let through.
_FILTER_ALONE = r"""
import ctypes, errno, sys
from pycoz_cli.core import fence
from pycoz_cli.core.trace.syscalls import NUMBERS
libc = ctypes.CDLL(None, use_errno=True)
def call(name):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(NUMBERS[name]), ctypes.c_long(0), ctypes.c_long(0))
    return "ok" if r != -1 else errno.errorcode[ctypes.get_errno()]
names = sys.argv[1:]
before = {n: call(n) for n in names}
fence.install(fence.prepare(fence.pack(fence.fence_program(fence.DEFAULT_CAPS))))
print({n: (before[n], call(n)) for n in names})
"""


@pytest.mark.parametrize("name", ["swapon", "swapoff"])
def test_filter_denies_what_the_docs_say_it_denies(name):
    """docs/security.md: "the capabilities are gone, and seccomp denies the calls"
    (swapon among them, as Docker's profile denies swapon and swapoff)."""
    r = subprocess.run(
        [sys.executable, "-c", _FILTER_ALONE, name], capture_output=True, text=True, check=False
    )
    assert r.returncode == 0, r.stderr
    before, after = ast.literal_eval(r.stdout)[name]
    assert before == "EFAULT", f"{name}(NULL) without the filter: {before}"
    assert after == "EPERM", f"{name} under the fence's filter: {after}"


@pytest.mark.parametrize(("privileged", "dropped"), [(False, True), (True, False)])
def test_capability_newer_than_pycoz_is_dropped(monkeypatch, privileged, dropped):
    """A kernel that knows capabilities pycoz's table does not (cap_last_cap beyond
    it): the fence drops them, --privileged keeps them (the kernel's answer is the
    one thing made up here: no kernel yet has more than 41)."""
    from pycoz_cli.core import fence

    newest = len(fence.CAPABILITIES) + 2
    monkeypatch.setattr(fence, "_last_cap", lambda: newest)
    plan = fence.Fence(privileged=privileged).plan(own_netns=False)
    newer = set(range(len(fence.CAPABILITIES), newest + 1))
    if dropped:
        assert newer <= set(plan.drop), plan.drop
    else:
        assert not newer & set(plan.drop), plan.drop
