"""The fence (issue 10), tried as an attacker would: root inside pycoz has power over
the container's own namespaces only.

Every attempt (tests/system/fence_helpers.py) aims at an object the attempt made
for itself (a loop device on a file of its own, a key in a session keyring of its
own, a listener of its own, a link name unique to it) and is judged from the
host's side: the image's checksum, the host's links, the key's payload, a file
the user's shell would have created.  Each runs under every fenced entry point —
``pycoz root``, ``shell -c``, ``net run``, ``root --net``, ``trace --root`` — and,
as the control that proves the attempt real, gets through under ``--privileged``.

bench/bench_fence_attacks.py runs the same attempts under bubblewrap too.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time

import pytest

from .fence_helpers import (
    ATTEMPTS,
    PROBE_NAMES,
    PROBES,
    TIOCSTI_SCRIPT,
    Runner,
    cgroup_paths_of,
    pycoz_runners,
    run_probes,
    wait_gone,
)
from .helpers import Tmux, assert_one_line, descendants, mentioning, wait_until

FENCED = (
    "root",
    "shell",
    "net-run",
    "root-net",
    "trace-root",
    "rootless-root",
    "rootless-root-net",
    "rootless-net-run",
    "api",
)


def _privileged_net(pycoz_bin) -> Runner:
    return Runner(
        "privileged-net",
        (pycoz_bin, "root", "--privileged", "--net", "pair", "--host", "h1"),
        own_net=True,
    )


@pytest.fixture(scope="module")
def probes(pycoz_bin):
    """The syscall probes' outcomes per entry point, each entry point run once."""
    runners = pycoz_runners(pycoz_bin)
    found: dict[str, dict] = {}

    def outcomes(name: str):
        if name not in found:
            found[name] = run_probes(runners[name])
        return found[name]

    return outcomes


# --- syscall probes: capabilities, seccomp, init, the i386 ABI ---------------------


@pytest.mark.parametrize("probe", PROBE_NAMES)
@pytest.mark.parametrize("entry", FENCED)
def test_probe_is_blocked(probes, entry, probe):
    outcome = probes(entry)[probe]
    assert outcome.ran and not outcome.through, f"{probe} under pycoz {entry}: {outcome}"


@pytest.mark.parametrize("probe", PROBE_NAMES)
def test_probe_gets_through_when_privileged(probes, probe):
    """The control: each probe does measure a power root has without the fence."""
    outcome = probes("privileged")[probe]
    assert outcome.through, f"{probe} under pycoz root --privileged: {outcome}"


# --- stateful attempts on sacrificial objects ----------------------------------------

_CASES = [
    pytest.param(attempt, entry, id=f"{attempt.name}-{entry}")
    for attempt in ATTEMPTS
    for entry in FENCED
]


@pytest.mark.parametrize(("attempt", "entry"), _CASES)
def test_attack_is_blocked(pycoz_bin, tmp_path, unique, attempt, entry):
    runner = pycoz_runners(pycoz_bin)[entry]
    if not attempt.applies(runner):
        pytest.skip(f"{attempt.name} does not apply to pycoz {entry}")
    outcome = attempt.run(runner, tmp_path, unique)
    assert outcome.ran and not outcome.through, f"{attempt.name} under pycoz {entry}: {outcome}"


# The kernel log is the one host object the attempt cannot make its own: the
# attack writes one line there when it gets through, so it is not repeated as a
# control.
_CONTROLS = [a for a in ATTEMPTS if a.name != "kmsg-write"]


@pytest.mark.parametrize("attempt", _CONTROLS, ids=[a.name for a in _CONTROLS])
def test_attack_gets_through_when_privileged(pycoz_bin, tmp_path, unique, attempt):
    """The control: with --privileged (today's behaviour) the same attempt, on the
    test's own object, gets through: the attempt is a real one."""
    runner = pycoz_runners(pycoz_bin)["privileged"]
    if not attempt.applies(runner):
        runner = _privileged_net(pycoz_bin)
    outcome = attempt.run(runner, tmp_path, unique)
    assert outcome.through, f"{attempt.name} under {runner.name}: {outcome}"


def test_tiocsti_in_an_interactive_shell_stays_in_its_own_terminal(pycoz_bin, tmp_path, unique):
    """``pycoz shell`` on a terminal has a terminal of its own (README): what a program
    pushes with TIOCSTI reaches that one, never the user's shell after exit."""
    marker = tmp_path / f"injected-{unique}"
    tmux = Tmux(tmp_path)
    try:
        tmux.start("a", "sh", env={"ENV": "", "HOME": str(tmp_path)})
        tmux.type("a", "PS1='P> '")
        tmux.wait_for("a", "P> ")
        tmux.type("a", f"{pycoz_bin} shell -q; echo DONE-{unique}")
        tmux.wait_for("a", "[pycoz] ")
        injected = f"touch {marker}".replace("/", "@")
        tmux.type("a", shlex.join([sys.executable, "-c", TIOCSTI_SCRIPT, injected]))
        tmux.wait_for("a", "pushed ")
        tmux.type("a", "exit")
        tmux.wait_for("a", f"\nDONE-{unique}")
        tmux.type("a", f"echo END-{unique}")
        screen = tmux.wait_for("a", f"\nEND-{unique}")
    finally:
        tmux.close()
    assert not marker.exists(), f"the user's shell ran what the container pushed:\n{screen}"


# --- resource limits: a fork bomb and a memory hog end without harming the host ----------

_BOUNDED_FORKS = r"""
import errno, os, sys, time
made, failed = 0, None
for _ in range(1000):  # bounded: harmless even were the limit missing
    try:
        pid = os.fork()
    except OSError as e:
        failed = errno.errorcode[e.errno]
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    made += 1
print(made, failed, flush=True)
"""

_BOMB = r"""
import subprocess, sys, time
# The classic shell bomb, started from a process that needs no fork afterwards.
subprocess.Popen(["sh", "-c", "f() { f | f & }; f", sys.argv[1]])
time.sleep(3)
print("survived", flush=True)
"""


def test_fork_bomb_is_contained_by_pids(pycoz, unique):
    # First a bounded one: the limit is there (so the real bomb below is safe).
    r = pycoz("root", "--pids", "200", "--", sys.executable, "-c", _BOUNDED_FORKS, unique)
    assert r.returncode == 0, r.stderr
    made, failed = r.stdout.split()
    assert int(made) < 200 and failed == "EAGAIN", r.stdout
    wait_until(lambda: not mentioning(unique), timeout=5)
    assert mentioning(unique) == [], "the forked sleepers outlived their container"
    # Then the real bomb: contained, and killed with the container at the end.
    started = time.monotonic()
    r = pycoz("root", "--pids", "200", "--", sys.executable, "-c", _BOMB, unique, timeout=60)
    elapsed = time.monotonic() - started
    assert r.returncode == 0 and r.stdout == "survived\n", (r.returncode, r.stdout, r.stderr[-500:])
    assert elapsed < 20, f"the bomb's container took {elapsed:.1f} s"
    wait_until(lambda: not mentioning(unique), timeout=5)
    assert mentioning(unique) == [], "the bomb outlived its container"


_HOG = r"""
chunks = []
for mib in range(1, 513):  # bounded: 512 MiB at most were the limit missing
    chunks.append(bytearray(1 << 20))  # zero-filled: every page touched
    print(mib, flush=True)
"""


def test_memory_hog_is_oom_killed_under_memory_limit(pycoz):
    r = pycoz("root", "--memory", "64M", "--", sys.executable, "-c", _HOG)
    assert r.returncode == 128 + signal.SIGKILL, (r.returncode, r.stdout[-50:], r.stderr[-500:])
    reached = int(r.stdout.split()[-1]) if r.stdout.split() else 0
    assert reached < 64, f"the hog got {reached} MiB under --memory 64M"
    assert "Traceback" not in r.stderr, r.stderr


def _limit(paths: list[str], name: str) -> str | None:
    """The first ``name`` file found in ``paths`` or their parents, up to the hierarchy."""
    for path in paths:
        p = path
        while p.count("/") > 4:
            f = os.path.join(p, name)
            if os.path.exists(f):
                with open(f) as fh:
                    return fh.read().strip()
            p = os.path.dirname(p)
    return None


def _made_above(path: str, own: set[str]) -> list[str]:
    made = []
    while path not in own and path.count("/") > 4:  # /sys/fs/cgroup/HIERARCHY/...
        made.append(path)
        path = os.path.dirname(path)
    return made


def test_limits_apply_to_the_command_and_leave_no_cgroup_behind(pycoz_bin, unique):
    own = set(cgroup_paths_of(os.getpid()))
    proc = subprocess.Popen(
        [
            pycoz_bin,
            "root",
            "--pids",
            "200",
            "--memory",
            "64M",
            "--cpus",
            "0.5",
            "--",
            "sleep",
            f"5.{int(unique[-8:], 16) % 1000:03d}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    made: set[str] = set()
    try:

        def sleeper():
            if proc.poll() is not None:
                return -1  # pycoz ended: no container to look at
            for pid in descendants(proc.pid):
                try:
                    with open(f"/proc/{pid}/comm") as f:
                        if f.read().strip() == "sleep":
                            return pid
                except OSError:
                    pass
            return None

        pid = wait_until(sleeper, timeout=20)
        assert pid and pid > 0, f"no container came up: {proc.communicate()}"
        paths = [p for p in cgroup_paths_of(pid) if p not in own]
        assert paths, "the command sits in the test's own cgroups: no limit applies"
        # Every directory pycoz made, between the test's own cgroup and the command's.
        made = {a for p in paths for a in _made_above(p, own)}
        assert _limit(paths, "pids.max") == "200", paths
        memory = _limit(paths, "memory.max") or _limit(paths, "memory.limit_in_bytes")
        assert memory == str(64 << 20), (memory, paths)
        cpu_max = _limit(paths, "cpu.max")  # v2: "QUOTA PERIOD"; v1: two files
        quota, period = (
            cpu_max.split()
            if cpu_max
            else (_limit(paths, "cpu.cfs_quota_us"), _limit(paths, "cpu.cfs_period_us"))
        )
        assert int(quota) * 2 == int(period), (quota, period, paths)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert wait_gone(made) == [], "cgroups left behind"


# --- masks: what tells of the host's kernel or reaches its hardware -------------------

#: Docker's masked paths (moby's oci defaults) and pycoz's own additions; the ones
#: this machine has are checked (a kernel without CONFIG_ACPI has no /proc/acpi...).
MASKED = (
    "/proc/acpi",
    "/proc/asound",
    "/proc/driver",
    "/proc/kcore",
    "/proc/keys",
    "/proc/key-users",
    "/proc/kmsg",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/vmallocinfo",
    "/sys/devices/virtual/powercap",
    "/sys/firmware",
)

_MASK_STATE = r"""
import json, os, stat, sys
out = {}
for p in sys.argv[1:]:
    try:
        st = os.stat(p)
    except OSError as e:
        out[p] = "missing"; continue
    if stat.S_ISDIR(st.st_mode):
        out[p] = "empty" if not os.listdir(p) else "listed"
    elif stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3):
        out[p] = "null"
    else:
        out[p] = "file"
print(json.dumps(out))
"""


@pytest.mark.parametrize("entry", FENCED)
def test_host_kernel_paths_are_masked(pycoz_bin, entry):
    present = [p for p in MASKED if os.path.exists(p)]
    runner = pycoz_runners(pycoz_bin)[entry]
    r = runner.run([sys.executable, "-c", _MASK_STATE, *present])
    assert r.returncode == 0, r.stderr
    seen = json.loads(r.stdout)
    assert {p: v for p, v in seen.items() if v not in ("empty", "null")} == {}, seen


_DEV_NODES = r"""
import json, os, stat
out = {}
for name in ("null", "zero", "full", "random", "urandom", "tty"):
    st = os.stat("/dev/" + name)
    out[name] = [os.major(st.st_rdev), os.minor(st.st_rdev)] if stat.S_ISCHR(st.st_mode) else "file"
with open("/dev/urandom", "rb") as f:
    out["urandom bytes"] = len(f.read(16))
with open("/dev/null", "w") as f:
    f.write("kept?")
out["null size"] = os.stat("/dev/null").st_size
print(json.dumps(out))
"""


@pytest.mark.parametrize("entry", FENCED)
def test_fresh_dev_has_the_devices(pycoz_bin, entry):
    """The fresh /dev's nodes are the devices (made, or the host's bound in rootless
    mode), not files: /dev/null keeps nothing, /dev/urandom gives bytes."""
    r = pycoz_runners(pycoz_bin)[entry].run([sys.executable, "-c", _DEV_NODES])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {
        "null": [1, 3],
        "zero": [1, 5],
        "full": [1, 7],
        "random": [1, 8],
        "urandom": [1, 9],
        "tty": [5, 0],
        "urandom bytes": 16,
        "null size": 0,
    }


# --- the fence's knobs: --cap-add, --cap-drop, --seccomp-deny, and bad input ------------


def _probe(pycoz, options, *probes: str) -> dict[str, tuple[bool, str]]:
    """Some probes under ``pycoz root OPTIONS``: {probe: (through, detail)}."""
    r = pycoz("root", *options, "--", sys.executable, "-c", PROBES, *probes)
    assert r.returncode == 0, r.stderr
    return {k: tuple(v) for k, v in json.loads(r.stdout).items()}


def test_cap_add_gives_back_one_power_only(pycoz):
    probes = ("settimeofday_null", "adjtimex_tick_zero", "syslog_read_size")
    found = _probe(pycoz, ["--cap-add=sys_time"], *probes)
    assert found["settimeofday_null"][0] and found["adjtimex_tick_zero"][0], found
    assert not found["syslog_read_size"][0], found


def test_cap_drop_takes_one_power_away(pycoz):
    r = pycoz(
        "root",
        "--cap-drop",
        "CAP_NET_RAW",
        "--",
        sys.executable,
        "-c",
        "import socket\ntry:\n socket.socket(socket.AF_INET, socket.SOCK_RAW, 1)\n"
        " print('raw socket')\nexcept PermissionError:\n print('EPERM')",
    )
    assert (r.returncode, r.stdout) == (0, "EPERM\n"), r.stderr
    r = pycoz("root", "--cap-drop", "all", "--", "sh", "-c", "chown nobody /tmp 2>&1; echo $?")
    assert r.stdout.splitlines()[-1] == "1" and "Operation not permitted" in r.stdout, r.stdout


_IO_URING = r"""
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(425, 0, None)  # io_uring_setup(0, NULL): EINVAL/EFAULT when allowed
print(errno.errorcode[ctypes.get_errno()] if r == -1 else r)
"""


@pytest.mark.parametrize(
    ("deny", "seen"), [("io_uring_setup", "ENOSYS"), ("io_uring_setup:EPERM", "EPERM")]
)
def test_seccomp_deny_by_name(pycoz, deny, seen):
    free = pycoz("root", "--", sys.executable, "-c", _IO_URING)
    assert free.returncode == 0 and free.stdout.strip() not in ("ENOSYS", "EPERM"), free
    r = pycoz("root", "--seccomp-deny", deny, "--", sys.executable, "-c", _IO_URING)
    assert (r.returncode, r.stdout) == (0, f"{seen}\n"), r.stderr


@pytest.mark.parametrize(
    ("option", "value", "word"),
    [
        ("--cap-add", "CAP_NOPE", "CAP_NOPE"),
        ("--cap-drop", "sys_nothing", "sys_nothing"),
        ("--seccomp-deny", "no_such_call", "no_such_call"),
        ("--seccomp-deny", "getpid:ENOPE", "ENOPE"),
        ("--memory", "64Q", "64Q"),
        ("--pids", "-5", "-5"),
        ("--cpus", "zero", "zero"),
    ],
)
def test_bad_fence_option_is_one_line_and_exit_2(pycoz, option, value, word):
    r = pycoz("root", option, value, "--", "true")
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert_one_line(r.stderr, word)
