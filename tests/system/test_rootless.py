"""Rootless pycoz (issue 16): the same commands run by an ordinary user.

pycoz is run as uid/gid 65534 (nobody) with no supplementary groups, by
``setpriv`` from the root test process: it enters a user namespace of its own
(``core.userns``) and builds the same throwaway root, topologies and tracer in
it.  Each test judges from the host's side: the host's files, the host's process
table (what runs as whom), what is left once pycoz is killed.  ``--rootless`` as
root takes the same path and is tested beside it.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import signal
import subprocess
import sys

import pytest

from .fence_helpers import PROBE_NAMES
from .helpers import Tmux, assert_one_line, descendants, read_line, wait_until
from .test_net_files import LAB
from .test_root_lifetimes import _finish

NOBODY = 65534
AS_USER = ("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env["HOME"] = "/"
    return env


@pytest.fixture(scope="module")
def as_user(pycoz_bin):
    """Run pycoz as the unprivileged user: as_user("root", "--", "true")."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    check = subprocess.run(
        [*AS_USER, sys.executable, "-c", "import pycoz_cli.core.libc"],
        capture_output=True,
        text=True,
        cwd="/",
        env=_env(),
    )
    if check.returncode != 0:
        pytest.skip(f"uid {NOBODY} cannot run this checkout's pycoz: {check.stderr.strip()[-200:]}")

    def run(*args, timeout=60, **kwargs):
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        return subprocess.run(
            [*AS_USER, pycoz_bin, *args], timeout=timeout, cwd="/", env=_env(), **kwargs
        )

    return run


@pytest.fixture
def shared_dir(unique):
    """A directory the unprivileged user can read, removed after the test."""
    path = f"/tmp/{unique}-rootless"
    os.mkdir(path, 0o755)
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _digest(top: str) -> dict[str, str]:
    """Every entry under ``top``: its kind, owner, mode, size, mtime and content hash."""
    seen = {}
    for directory, dirs, files in os.walk(top):
        for name in dirs + files:
            path = os.path.join(directory, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            content = ""
            if os.path.isfile(path) and not os.path.islink(path) and st.st_size < 1 << 20:
                try:
                    with open(path, "rb") as f:
                        content = hashlib.sha256(f.read()).hexdigest()
                except OSError:
                    content = "unreadable"
            seen[path] = f"{st.st_mode:o} {st.st_uid} {st.st_size} {st.st_mtime_ns} {content}"
    return seen


# --- the throwaway root --------------------------------------------------------------


def test_user_root_changes_nothing_on_the_host(as_user, shared_dir, unique):
    """Inside, the user is root: /etc takes new files and loses old ones, the user's
    own files are deleted and overwritten; outside, nothing changed."""
    os.chown(shared_dir, NOBODY, NOBODY)  # the user's, as a home directory is
    mine = os.path.join(shared_dir, "mine")
    os.mkdir(mine)
    with open(os.path.join(mine, "data"), "w") as f:
        f.write("precious\n")
    os.chown(mine, NOBODY, NOBODY)
    os.chown(os.path.join(mine, "data"), NOBODY, NOBODY)
    etc_before = _digest("/etc")
    mine_before = _digest(shared_dir)
    script = f"""
        set -e
        test "$(id -u)" = 0
        echo inside > /etc/{unique}
        cat /etc/{unique}
        rm /etc/hostname
        echo box > /etc/hostname
        echo overwritten > {mine}/data
        rm -rf {mine}
        test ! -e {mine}
        echo done
    """
    r = as_user("root", "--", "sh", "-c", script)
    assert (r.returncode, r.stdout) == (0, "inside\ndone\n"), r.stderr
    assert r.stderr == ""
    assert not os.path.exists(f"/etc/{unique}")
    assert _digest("/etc") == etc_before
    assert _digest(shared_dir) == mine_before


def test_user_root_is_the_user_outside(as_user):
    """uid 0 inside is the user outside (one mapping where it has no subordinate ids),
    and host root's files are nobody's inside and cannot be written."""
    r = as_user(
        "root",
        "--",
        "sh",
        "-c",
        "cat /proc/self/uid_map; stat -c %u /etc/passwd; echo x >> /etc/passwd || echo refused",
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[0].split()[:2] == ["0", str(NOBODY)]
    assert lines[1:3] == [str(NOBODY), "refused"]  # the overflow id: host root's is not mapped


_STATUS = "grep -E '^(CapEff|CapBnd|Seccomp|NoNewPrivs):' /proc/self/status; cat /proc/self/uid_map"


def _status(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key] = value.strip()
    return fields


@pytest.mark.parametrize("how", ["user", "root --rootless"])
def test_the_fence_holds_in_rootless_mode(as_user, pycoz, how):
    """The same bounding set and seccomp filter as root's containers."""
    fenced = _status(pycoz("root", "--", "sh", "-c", _STATUS).stdout)
    if how == "user":
        r = as_user("root", "--", "sh", "-c", _STATUS)
        outside = str(NOBODY)
    else:
        r = pycoz("root", "--rootless", "--", "sh", "-c", _STATUS)
        outside = "0"
    assert r.returncode == 0, r.stderr
    inside = _status(r.stdout)
    assert inside["Seccomp"] == "2"
    assert inside["CapEff"] == inside["CapBnd"] == fenced["CapBnd"]
    assert r.stdout.splitlines()[-1].split()[:2] == ["0", outside]


def test_privileged_in_rootless_mode_is_the_user_namespace_only(as_user):
    """--privileged opens the fence, not the host: mounting a tmpfs works (the user
    namespace owns the mount namespace), changing the clock does not."""
    r = as_user(
        "root",
        "--privileged",
        "--",
        "sh",
        "-c",
        "mount -t tmpfs t /mnt && echo mounted; date -s @0 >/dev/null 2>&1 || echo no-clock",
    )
    assert (r.returncode, r.stdout) == (0, "mounted\nno-clock\n"), r.stderr


def test_limits_are_refused_in_one_line(as_user):
    r = as_user("root", "--memory", "64M", "--", "true")
    assert r.returncode == 125
    assert_one_line(r.stderr, "--memory", "cgroup", "root")


def test_disabled_user_namespaces_name_the_setting(pycoz_bin):
    """In a user namespace of the test's own whose user.max_user_namespaces is 0
    (the setting is per user namespace), pycoz says which setting stops it."""
    r = subprocess.run(
        [
            "unshare",
            "--user",
            "--map-root-user",
            "sh",
            "-c",
            'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" root --rootless -- true',
            pycoz_bin,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 125
    assert_one_line(r.stderr, "user.max_user_namespaces=0", "run pycoz as root")


# --- networks --------------------------------------------------------------------------

# LAB: a client and a server running python3 -m http.server (test_net_files).
FETCH = (
    "ping -c1 -W5 server >/dev/null && for i in $(seq 100); do "
    "curl -sf http://server:8000/page && exit 0; "
    "sleep 0.1; done; exit 1"
)


@pytest.mark.parametrize("command", ["net run", "root --net"])
def test_user_topology_ping_and_http(as_user, shared_dir, command):
    """ping and an HTTP client/server across a topology made by the user."""
    with open(os.path.join(shared_dir, "page"), "w") as f:
        f.write("hello\n")
    lab = os.path.join(shared_dir, "lab.toml")
    with open(lab, "w") as f:
        f.write(LAB.replace("DIR", shared_dir))
    args = command.split()
    r = as_user(*args[:1], *args[1:], lab, "--host", "client", "--", "sh", "-c", FETCH)
    assert (r.returncode, r.stdout) == (0, "hello\n"), r.stderr


def test_user_topology_sysctls_and_links_are_its_own(as_user):
    r = as_user(
        "net",
        "run",
        "pair",
        "--",
        "sh",
        "-c",
        "echo 1 > /proc/sys/net/ipv4/ip_forward && cat /proc/sys/net/ipv4/ip_forward; "
        "ip link add v0 type veth peer name v1 && echo linked",
    )
    assert (r.returncode, r.stdout) == (0, "1\nlinked\n"), r.stderr


# --- tracing and the shell ---------------------------------------------------------------


def test_user_trace_in_a_throwaway_root(as_user):
    r = as_user("trace", "--root", "-e", "trace=openat", "--", "cat", "/etc/hostname")
    assert r.returncode == 0, r.stderr
    assert 'openat(AT_FDCWD, "/etc/hostname", O_RDONLY' in r.stderr
    assert r.stderr.rstrip().endswith("+++ exited with 0 +++")


def test_user_trace_of_a_program_of_its_own(as_user):
    r = as_user("trace", "-e", "trace=execve", "--", "true")
    assert r.returncode == 0, r.stderr
    assert 'execve("/usr/bin/true", ["true"]' in r.stderr


def test_user_shell(as_user):
    r = as_user("shell", "-q", "--hostname", "box", "-c", "echo $(hostname) $(id -u)")
    assert (r.returncode, r.stdout) == (0, "box 0\n"), r.stderr


# --- lifetimes and who runs what ---------------------------------------------------------


def _uids(pid: int) -> tuple[int, ...]:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return tuple(int(v) for v in line.split()[1:])
    return ()


@pytest.mark.parametrize("command", ["root", "net run pair"])
def test_sigkill_of_user_pycoz_leaves_nothing_and_nothing_ran_as_root(pycoz_bin, command):
    proc = subprocess.Popen(
        [*AS_USER, pycoz_bin, *command.split(), "--", "sh", "-c", "echo ready; exec sleep 100"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd="/",
        env=_env(),
        start_new_session=True,
    )
    try:
        assert read_line(proc.stdout) == "ready\n"
        family = descendants(proc.pid)
        assert len(family) >= 2  # the container's init and the command
        owners = {pid: _uids(pid) for pid in [proc.pid, *family]}
        assert all(ids and set(ids) == {NOBODY} for ids in owners.values()), owners
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        assert _finish(proc) == -signal.SIGKILL
    wait_until(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in family))


# --- the fence's attack suite, as the user -----------------------------------------------


@pytest.fixture(scope="module")
def user_probes(as_user, pycoz_bin):
    from .fence_helpers import Runner, run_probes

    # The system's python: the test's own may live where the user cannot reach
    # (a pyenv under /root), and the probes need nothing but the standard library.
    python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    return run_probes(Runner("user-root", (*AS_USER, pycoz_bin, "root")), python=python)


@pytest.mark.parametrize("probe", PROBE_NAMES)
def test_fence_probe_is_blocked_for_the_user(user_probes, probe):
    """Every syscall probe of the fence's attack suite (tests/system/fence_helpers.py),
    as the ordinary user: blocked as in root's containers."""
    outcome = user_probes[probe]
    assert outcome.ran and not outcome.through, f"{probe} under the user's pycoz root: {outcome}"


# --- subordinate ids ---------------------------------------------------------------------


@pytest.fixture
def user_with_ranges(as_user, unique):
    """A user of the test's own, made with useradd (which gives it ranges in
    /etc/subuid and /etc/subgid), removed after the test."""
    if not (shutil.which("newuidmap") and shutil.which("useradd")):
        pytest.skip("newuidmap/newgidmap (Debian's uidmap) or useradd is not installed")
    name = f"pz{unique}"
    subprocess.run(["useradd", "-M", "-s", "/bin/sh", name], check=True, capture_output=True)
    try:
        import pwd

        entry = pwd.getpwnam(name)
        yield name, entry.pw_uid, entry.pw_gid
    finally:
        subprocess.run(["userdel", name], capture_output=True)


def test_subordinate_ids_give_the_user_many_uids_inside(pycoz_bin, user_with_ranges):
    name, uid, gid = user_with_ranges
    with open("/etc/subuid") as f:
        start, count = next(
            line.split(":")[1:] for line in f.read().splitlines() if line.startswith(name + ":")
        )
    r = subprocess.run(
        [
            "setpriv",
            f"--reuid={uid}",
            f"--regid={gid}",
            "--clear-groups",
            pycoz_bin,
            "root",
            "--",
            "sh",
            "-c",
            "cat /proc/self/uid_map; touch /tmp/f; chown 1000:1000 /tmp/f; stat -c %u:%g /tmp/f",
        ],
        capture_output=True,
        text=True,
        cwd="/",
        env=_env(),
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    maps = [line.split() for line in r.stdout.splitlines()[:2]]
    assert maps == [["0", str(uid), "1"], ["1", start, count]]
    assert r.stdout.splitlines()[-1] == "1000:1000"


def test_user_shell_in_a_terminal(pycoz_bin, shared_dir, unique):
    """An interactive rootless shell in a real terminal (tmux, run by root: the
    pane's terminal is handed to the user's pycoz, as sudo -u would)."""
    home = os.path.join(shared_dir, "home")
    os.mkdir(home)
    with open(os.path.join(home, ".bashrc"), "w") as f:
        f.write("PS1='\\u@\\h:\\w\\$ '\n")
    tmux = Tmux(pathlib.Path(shared_dir))
    env = {"HOME": home, "SHELL": "/bin/bash", "TERM": "xterm", "PS1": ""}
    try:
        tmux.start(
            "a",
            f"{' '.join(AS_USER)} {pycoz_bin} shell --net pair --host h1; echo EXIT=$?; sleep 60",
            env=env,
        )
        screen = tmux.wait_for("a", "[pycoz h1] root@h1:")
        assert "fence     root here owns this machine's namespaces only" in screen
        tmux.type("a", "ping -c1 -W5 h2 | grep -c 'bytes from'; cat /proc/self/uid_map")
        tmux.wait_for("a", f"\n1\n         0      {NOBODY}          1")
        tmux.type("a", f"echo made > /etc/{unique} && cat /etc/{unique}")
        tmux.wait_for("a", "\nmade\n")
        tmux.type("a", "exit 3")
        tmux.wait_for("a", "EXIT=3")
    finally:
        tmux.close()
    assert not os.path.exists(f"/etc/{unique}")


@pytest.mark.parametrize(
    "args",
    [
        ("net", "up", "pair", "--name", "NAME"),
        ("net", "down", "NAME"),
        ("net", "exec", "NAME", "h1", "--", "true"),
        ("root", "--join", "NAME", "--", "true"),
    ],
    ids=["net-up", "net-down", "net-exec", "root-join"],
)
def test_named_topologies_are_refused_in_one_line(as_user, unique, args):
    """Named topologies live in /run/netns: root's (the next step of issue 16)."""
    r = as_user(*(unique if a == "NAME" else a for a in args))
    assert r.returncode == 125
    assert_one_line(r.stderr, "named topologies need root", "pycoz net run")
    state = "/run/pycoz/net"
    assert not os.path.isdir(state) or not [n for n in os.listdir(state) if unique in n]


_THREADED = """
import threading, time
threading.Thread(target=time.sleep, args=(5,), daemon=True).start()
from pycoz_cli import Container
from pycoz_cli.errors import SetupError
try:
    Container().run(["true"])
except SetupError as err:
    print(err)
"""


def test_api_in_a_threaded_process_says_why(as_user):
    """unshare(CLONE_NEWUSER) needs a single-threaded caller: the API says so."""
    r = subprocess.run(
        [*AS_USER, sys.executable, "-c", _THREADED],
        capture_output=True,
        text=True,
        cwd="/",
        env=_env(),
        timeout=60,
    )
    assert "EINVAL" in r.stdout and "single-threaded" in r.stdout, (r.stdout, r.stderr)


def test_a_mount_below_a_directory_the_user_cannot_list(as_user, pycoz_bin, tmp_path):
    """A root-only directory with a mount somewhere below it (pytest's own
    /tmp/pytest-of-root with a test's tmpfs, say) does not stop the user's root."""
    from tests.system.helpers import sacrificial

    hidden = tmp_path / "hidden"
    (hidden / "deep").mkdir(parents=True)
    hidden.chmod(0o700)
    script = f"mount -t tmpfs pycoz-test {hidden}/deep && " + " ".join(
        f"'{a}'" for a in (*AS_USER, pycoz_bin, "root", "--", "sh", "-c", "echo ok")
    )
    r = sacrificial(f"cd / && {script}")
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr
