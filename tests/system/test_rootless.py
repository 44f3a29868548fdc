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
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys

import pytest

from .fence_helpers import PROBE_NAMES
from .helpers import (
    Tmux,
    assert_one_line,
    descendants,
    identity,
    mentioning,
    read_line,
    wait_until,
)
from .test_net_files import LAB
from .test_net_roots import on_machine, rooted_lab
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
        kwargs.setdefault("env", _env())
        return subprocess.run([*AS_USER, pycoz_bin, *args], timeout=timeout, cwd="/", **kwargs)

    run.argv = (pycoz_bin,)
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


def _others_aside(digest: dict[str, str], unique: str) -> dict[str, str]:
    """/etc's digest without what other tests of this run write in /etc meanwhile
    (another xdist worker's root tests: /etc/pycoz-THEIRS, root's named
    topologies in /etc/netns): named with the run's marker, not with ``unique``."""
    run = unique[:-8]  # conftest.unique: the run's marker, then 8 hex digits
    return {
        path: value
        for path, value in digest.items()
        if unique in path or not (run in path or path == "/etc/netns")
    }


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
    assert _others_aside(_digest("/etc"), unique) == _others_aside(etc_before, unique)
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
    namespace owns the mount namespace), and so does the hostname; changing the
    clock does not."""
    r = as_user(
        "root",
        "--privileged",
        "--",
        "sh",
        "-c",
        "mount -t tmpfs t /mnt && echo mounted; hostname box && hostname; "
        "date -s @0 >/dev/null 2>&1 || echo no-clock",
    )
    assert (r.returncode, r.stdout) == (0, "mounted\nbox\nno-clock\n"), r.stderr


def test_a_users_privileged_topology_stays_the_users(as_user):
    """Only root's --rootless nests a user namespace under SYS_ADMIN (its uid 0 is
    host root's): the user's is not nested, so the topology's network namespace
    stays the user's to change (docs/security.md)."""
    script = "ip addr add 198.18.9.9/32 dev eth0 && echo added; cat /proc/self/uid_map"
    topology = ("--net", "pair", "--host", "h1")
    r = as_user("root", "--privileged", *topology, "--", "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["added", "0", str(NOBODY), "1"], r.stdout


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


def _run_as(uid: int, gid: int, *argv: str, timeout: float = 120):
    """Run ``argv`` as ``uid``/``gid`` (a user of the test's own), from /."""
    as_them = ("setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups")
    return subprocess.run(
        [*as_them, *argv], capture_output=True, text=True, cwd="/", env=_env(), timeout=timeout
    )


def test_subordinate_ids_give_the_user_many_uids_inside(pycoz_bin, user_with_ranges):
    name, uid, gid = user_with_ranges
    with open("/etc/subuid") as f:
        start, count = next(
            line.split(":")[1:] for line in f.read().splitlines() if line.startswith(name + ":")
        )
    script = "cat /proc/self/uid_map; touch /tmp/f; chown 1000:1000 /tmp/f; stat -c %u:%g /tmp/f"
    r = _run_as(uid, gid, pycoz_bin, "root", "--", "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    maps = [line.split() for line in r.stdout.splitlines()[:2]]
    assert maps == [["0", str(uid), "1"], ["1", start, count]]
    assert r.stdout.splitlines()[-1] == "1000:1000"


@pytest.mark.parametrize("placement", ["--net pair", "--join NAME"])
def test_user_shell_in_a_terminal(as_user, pycoz_bin, shared_dir, unique, placement):
    """An interactive rootless shell in a real terminal (tmux, run by root: the
    pane's terminal is handed to the user's pycoz, as sudo -u would), in an
    ephemeral topology or in the user's named one."""
    name = f"s{unique}"
    if "NAME" in placement:
        assert as_user("net", "up", "pair", "--name", name).returncode == 0
    placement = placement.replace("NAME", name)
    home = os.path.join(shared_dir, "home")
    os.mkdir(home)
    with open(os.path.join(home, ".bashrc"), "w") as f:
        f.write("PS1='\\u@\\h:\\w\\$ '\n")
    tmux = Tmux(pathlib.Path(shared_dir))
    env = {"HOME": home, "SHELL": "/bin/bash", "TERM": "xterm", "PS1": ""}
    try:
        tmux.start(
            "a",
            f"{' '.join(AS_USER)} {pycoz_bin} shell {placement} --host h1; echo EXIT=$?; sleep 60",
            env=env,
        )
        screen = tmux.wait_for("a", "[pycoz h1] root@h1:")
        assert "fence     root here owns this machine's namespaces only" in screen
        # What the single mapping of uid 65534 (no /etc/subuid range) limits.
        assert "rootless  one uid (no range of the user's in /etc/subuid" in screen
        tmux.type("a", "ping -c1 -W5 h2 | grep -c 'bytes from'; cat /proc/self/uid_map")
        tmux.wait_for("a", f"\n1\n         0      {NOBODY}          1")
        tmux.type("a", f"echo made > /etc/{unique} && cat /etc/{unique}")
        tmux.wait_for("a", "\nmade\n")
        tmux.type("a", "exit 3")
        tmux.wait_for("a", "EXIT=3")
    finally:
        tmux.close()
        if "--join" in placement:
            assert as_user("net", "down", name).returncode == 0
    assert not os.path.exists(f"/etc/{unique}")


# --- named topologies ------------------------------------------------------------------


def _state(directory: str, name: str) -> dict:
    with open(os.path.join(directory, f"{name}.json")) as f:
        return json.load(f)


def _pids_of(state: dict) -> list[tuple[int, str]]:
    """The processes a rootless topology's state names: holder, relay, commands."""
    procs = [state.get("holder") or {}, state.get("relay") or {}, *state.get("commands", [])]
    return [(p["pid"], p["start"]) for p in procs if p.get("start")]


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def _running(pid: int, start: str) -> bool:
    """That very process (not a reuse of its pid), and not a zombie."""
    return identity(pid) == (pid, start) and not _zombie(pid)


def _mentioning(word: str) -> list[int]:
    """Running processes (zombies aside) whose command line holds ``word``."""
    return [pid for pid in mentioning(word) if not _zombie(pid)]


@pytest.fixture
def runtime_dir(unique):
    """An XDG_RUNTIME_DIR of the user's own (0700), as a login session gives."""
    path = f"/tmp/{unique}-xdg"
    os.mkdir(path, 0o700)
    os.chown(path, NOBODY, NOBODY)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_user_named_topology_lives_until_down(as_user, shared_dir, runtime_dir, unique):
    """An ordinary user's named topology: state under $XDG_RUNTIME_DIR/pycoz/net,
    a declared HTTP server, ping and HTTP from later commands (net exec, root
    --join, shell --join), impairments changed live; down leaves nothing."""
    with open(os.path.join(shared_dir, "page"), "w") as f:
        f.write("hello\n")
    lab = os.path.join(shared_dir, "lab.toml")
    with open(lab, "w") as f:
        f.write(LAB.replace("DIR", shared_dir))
    env = {**_env(), "XDG_RUNTIME_DIR": runtime_dir}
    name = f"n{unique}"
    states = os.path.join(runtime_dir, "pycoz", "net")
    r = as_user("net", "up", lab, "--name", name, "--impair", "client-server", env=env)
    assert r.returncode == 0, r.stderr
    try:
        assert os.stat(states).st_uid == NOBODY and os.stat(states).st_mode & 0o777 == 0o700
        state = _state(states, name)
        assert [p for p, s in _pids_of(state) if _running(p, s)] == [p for p, _ in _pids_of(state)]
        assert len(_pids_of(state)) == 3  # the holder, the relay, the server
        for pid, _ in _pids_of(state):  # all the user's, none root's
            with open(f"/proc/{pid}/status") as f:
                uids = next(line for line in f if line.startswith("Uid:")).split()[1:]
            assert uids == [str(NOBODY)] * 4
        assert not os.path.exists(f"/run/netns/{name}-client")  # nothing in root's places
        assert not os.path.exists(f"/run/pycoz/net/{name}.json")
        listed = as_user("net", "list", env=env)
        assert listed.stdout.split()[:2] == [name, "up"], listed
        r = as_user("net", "exec", name, "client", "--", "sh", "-c", FETCH, env=env)
        assert (r.returncode, r.stdout) == (0, "hello\n"), r.stderr
        ping = "ping -c1 -W5 server | grep -c 'bytes from'"
        r = as_user("root", "--join", name, "--host", "client", "--", "sh", "-c", ping, env=env)
        assert (r.returncode, r.stdout.strip()) == (0, "1"), r.stderr
        r = as_user(
            "shell", "--join", name, "--host", "server", "-c", "ping -c1 -W5 client", env=env
        )
        assert r.returncode == 0 and "1 received" in r.stdout, (r.stdout, r.stderr)
        r = as_user(
            "trace",
            "--join",
            name,
            "--host",
            "client",
            "-e",
            "trace=connect",
            "--",
            "sh",
            "-c",
            FETCH,
            env=env,
        )
        assert r.returncode == 0 and r.stdout == "hello\n", r.stderr
        assert "connect(" in r.stderr and "htons(8000)" in r.stderr, r.stderr
        r = as_user("net", "set", name, "client-server", "--delay", "150ms", env=env)
        assert r.returncode == 0, r.stderr
        r = as_user("net", "exec", name, "client", "--", "ping", "-c1", "-W5", "server", env=env)
        rtt = float(r.stdout.split("time=")[1].split()[0])
        assert rtt >= 300, r.stdout  # 150ms each way, through the relay
    finally:
        down = as_user("net", "down", name, env=env)
    assert down.returncode == 0, down.stderr
    assert down.stdout.strip() == f"{name}: down (2 namespaces removed)"
    assert not [p for p, s in _pids_of(state) if _running(p, s)]
    assert os.listdir(states) == []
    assert not _mentioning(name)


@pytest.mark.parametrize("xdg", [None, "/root"], ids=["unset", "roots"])
def test_fallback_state_directory_is_the_users_own(as_user, pycoz_bin, unique, xdg):
    """Without XDG_RUNTIME_DIR, or with one not the user's (kept by setpriv or
    sudo): /tmp/pycoz-UID, 0700 and the user's (this run's topology only:
    others of uid 65534 may be there at the same time)."""
    name = f"f{unique}"
    env = {**_env(), **({"XDG_RUNTIME_DIR": xdg} if xdg else {})}
    r = as_user("net", "up", "pair", "--name", name, env=env)
    assert r.returncode == 0, r.stderr
    try:
        top = f"/tmp/pycoz-{NOBODY}"
        for path in (top, f"{top}/pycoz", f"{top}/pycoz/net"):
            st = os.lstat(path)
            assert (st.st_uid, st.st_mode & 0o777) == (NOBODY, 0o700), path
        assert os.path.exists(f"{top}/pycoz/net/{name}.json")
        assert (
            name
            not in subprocess.run([pycoz_bin, "net", "list"], capture_output=True, text=True).stdout
        )  # root's list is root's
    finally:
        r = as_user("net", "down", name, env=env)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("mode", [0o777, 0o755])
def test_a_state_directory_open_to_others_is_refused(as_user, runtime_dir, unique, mode):
    """Someone may have made the directory first, and planted a state naming a
    process of the user's as its holder: pycoz refuses it in one line, reads no
    state there and touches nothing."""
    os.mkdir(f"{runtime_dir}/pycoz", mode)
    os.chmod(f"{runtime_dir}/pycoz", mode)
    # 0777: the user's, but open to others; 0755: another user's (root's).
    owner = NOBODY if mode == 0o777 else 0
    os.chown(f"{runtime_dir}/pycoz", owner, owner)
    os.mkdir(f"{runtime_dir}/pycoz/net", 0o700)
    os.chown(f"{runtime_dir}/pycoz/net", NOBODY, NOBODY)
    planted = f"{runtime_dir}/pycoz/net/r{unique}.json"
    with open(planted, "w") as f:
        json.dump({"name": f"r{unique}", "holder": {"pid": 1, "start": "1", "fds": {}}}, f)
    env = {**_env(), "XDG_RUNTIME_DIR": runtime_dir}
    for args in (
        ("net", "up", "pair", "--name", f"r{unique}"),
        ("net", "down", f"r{unique}"),
        ("net", "exec", f"r{unique}", "h1", "--", "true"),
        ("root", "--join", f"r{unique}", "--", "true"),
        ("net", "set", f"r{unique}", "h1-h2"),
    ):
        r = as_user(*args, env=env)
        assert r.returncode == 125, r
        assert_one_line(r.stderr, f"{runtime_dir}/pycoz: not a directory of this user")
    assert os.listdir(f"{runtime_dir}/pycoz") == ["net"]
    assert os.listdir(f"{runtime_dir}/pycoz/net") == [f"r{unique}.json"]
    assert not _mentioning(f"r{unique}")


def test_named_hosts_complete_for_the_user(as_user, runtime_dir, unique):
    env = {**_env(), "XDG_RUNTIME_DIR": runtime_dir}
    name = f"c{unique}"
    assert as_user("net", "up", "pair", "--name", name, env=env).returncode == 0
    try:
        for line, expected in (
            (f"pycoz net exec c{unique[:3]}", [name]),
            (f"pycoz net exec {name} ", ["h1", "h2"]),
        ):
            comp = {**env, "COMP_LINE": line, "_PYCOZ_COMPLETE": "bash_complete"}
            r = as_user(env=comp)
            assert r.stdout.split()[1::2] == expected, (line, r.stdout, r.stderr)
    finally:
        as_user("net", "down", name, env=env)


def test_roots_topology_is_not_joined_from_a_user_namespace(as_user, pycoz, unique):
    """Root's named topology: refused in one line with --rootless (its namespaces
    are in /run/netns, beyond a user namespace's power) and to the user (root's)."""
    name = f"j{unique}"
    assert pycoz("net", "up", "pair", "--name", name).returncode == 0
    try:
        for args in (
            ("root", "--rootless", "--join", name),
            ("net", "exec", name, "h1", "--rootless"),
        ):
            r = pycoz(*args, "--", "true")
            assert r.returncode == 125, r
            assert_one_line(r.stderr, f"topology {name!r} is root's", "run without --rootless")
        r = as_user("net", "exec", name, "h1", "--", "true")
        assert r.returncode == 125, r
        assert_one_line(r.stderr, f"topology {name!r} is root's", "(yours: ")
        assert pycoz("net", "exec", name, "h1", "--", "ping", "-c1", "-W5", "h2").returncode == 0
    finally:
        assert pycoz("net", "down", name).returncode == 0


def test_two_users_same_name_side_by_side(as_user, pycoz_bin, user_with_ranges, unique):
    """Two users' topologies of one name: each sees, reaches and removes its own."""
    _, uid, gid = user_with_ranges
    as_other = ("setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups")
    name = f"t{unique}"

    def run(who, *args):
        return subprocess.run(
            [*who, pycoz_bin, *args],
            capture_output=True,
            text=True,
            cwd="/",
            env=_env(),
            timeout=60,
        )

    assert as_user("net", "up", "pair", "--name", name).returncode == 0
    try:
        r = run(as_other, "net", "up", "star:hosts=3", "--name", name)
        assert r.returncode == 0, r.stderr
        try:
            mine = as_user("net", "list").stdout
            theirs = run(as_other, "net", "list").stdout
            assert [ln.split()[2] for ln in mine.splitlines() if ln.split()[0] == name] == ["pair"]
            assert [ln.split()[2] for ln in theirs.splitlines()] == ["star:hosts=3"]
            r = run(as_other, "net", "exec", name, "h1", "--", "ping", "-c1", "-W5", "h3")
            assert r.returncode == 0, r.stderr
            # The other's down removes its own only; mine still answers.
            assert run(as_other, "net", "down", name).returncode == 0
            r = as_user("net", "exec", name, "h1", "--", "ping", "-c1", "-W5", "h2")
            assert r.returncode == 0, r.stderr
            # (Other tests of uid 65534 may have topologies of their own listed too.)
            listed = [ln.split()[:2] for ln in as_user("net", "list").stdout.splitlines()]
            assert [name, "up"] in listed
        finally:
            run(as_other, "net", "down", name)
    finally:
        assert as_user("net", "down", name).returncode == 0
    assert not _mentioning(name)
    shutil.rmtree(f"/tmp/pycoz-{uid}", ignore_errors=True)  # the test's user's


def test_sigkill_during_user_up_leaves_nothing(as_user, pycoz_bin, runtime_dir, unique):
    """Killed at random moments of `net up` (a relay too): what was not complete is
    gone with it (the holder dies with pycoz); prune removes the state; down the rest."""
    import random
    import time

    env = {**_env(), "XDG_RUNTIME_DIR": runtime_dir}
    states = os.path.join(runtime_dir, "pycoz", "net")
    rng = random.Random(unique)
    for i in range(4):
        name = f"k{unique}{i}"
        p = subprocess.Popen(
            [*AS_USER, pycoz_bin, "net", "up", "star:hosts=8", "--name", name, "--impair", "h1-s1"],
            cwd="/",
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        path = os.path.join(states, f"{name}.json")
        wait_until(lambda p=p, path=path: os.path.exists(path) or p.poll() is not None, 10)
        time.sleep(rng.uniform(0.0, 0.15))
        p.send_signal(signal.SIGKILL)
        p.wait()
        try:
            state = _state(states, name)
        except FileNotFoundError:
            continue
        if not state.get("complete"):  # the holder died with pycoz, the relay with it
            assert wait_until(lambda name=name: not _mentioning(name), 5), _mentioning(name)
    as_user("net", "prune", env=env)
    for i in range(4):
        if os.path.exists(os.path.join(states, f"k{unique}{i}.json")):
            assert as_user("net", "down", f"k{unique}{i}", env=env).returncode == 0
    assert os.listdir(states) == []
    assert not _mentioning(f"k{unique}")


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


def test_the_left_behind_check_sees_a_user_topology(as_user, unique):
    """The suite's end-of-session check (tests/conftest.py) lists the state a
    user's topology left in /tmp/pycoz-UID (its holder, a process carrying the
    run's marker in its environment, was already found)."""
    from tests.conftest import new_marker, suite_state

    run = new_marker()
    name = f"{run}{unique[-8:]}"
    assert as_user("net", "up", "pair", "--name", name).returncode == 0
    try:
        left = suite_state(run)
        assert left["user topology state"] == [f"/tmp/pycoz-{NOBODY}/pycoz/net/{name}.json"]
    finally:
        assert as_user("net", "down", name).returncode == 0
    assert suite_state(run)["user topology state"] == []


def test_an_ordinary_user_is_told_a_hosts_own_root_needs_root(as_user, shared_dir, unique):
    marker = f"pycoz-root-{unique}"
    lab = rooted_lab(pathlib.Path(shared_dir), marker, "{}")
    os.chmod(lab, 0o644)
    r = as_user("net", "run", lab, "--host", "client", "--", "true")
    assert r.returncode == 125, r
    assert r.stderr == (
        "pycoz net run: topology lab: server.root: a host's own root needs pycoz to run as "
        "root (an ordinary user cannot join its keeping init, which is not dumpable)\n"
    )
    assert on_machine(marker) == []


_JOIN_STALE = """
import os, sys
from pycoz_cli.core import userns
from pycoz_cli.errors import SetupError
before = os.readlink("/proc/self/ns/user")
try:
    userns.join(int(sys.argv[1]), "holder", start="1")
except SetupError as err:
    print("refused:", err)
print(os.readlink("/proc/self/ns/user") == before, userns.active())
"""


def test_join_checks_the_start_time_before_entering(pycoz):
    """A holder's pid reused by another process (here: a start time that is not
    its own) is refused before any setns: the caller stays where it was."""
    other = subprocess.Popen(["unshare", "--user", "--map-root-user", "sleep", "60"])
    try:
        assert wait_until(
            lambda: os.readlink(f"/proc/{other.pid}/ns/user") != os.readlink("/proc/self/ns/user")
        )
        r = subprocess.run(
            [sys.executable, "-c", _JOIN_STALE, str(other.pid)], capture_output=True, text=True
        )
    finally:
        other.kill()
        other.wait()
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "refused: holder: the process is gone (its pid is another's now)",
        "True False",
    ]


def test_net_exec_joins_the_holder_once(as_user, runtime_dir, unique):
    """net exec (and --join) enter the holder's namespaces once, not twice."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    env = {**_env(), "XDG_RUNTIME_DIR": runtime_dir}
    name = f"j{unique}"
    r = as_user("net", "up", "pair", "--name", name, env=env)
    assert r.returncode == 0, r.stderr
    try:
        holder = _state(os.path.join(runtime_dir, "pycoz", "net"), name)["holder"]["pid"]
        for args in (("net", "exec", name, "h1"), ("root", "--join", name, "--host", "h1")):
            r = as_user(*args, "--", "true", env=env)
            assert r.returncode == 0, r.stderr
            traced = subprocess.run(
                [
                    "strace",
                    "-qq",
                    "-e",
                    "trace=openat",
                    "-e",
                    "signal=none",
                    "-o",
                    "/dev/stdout",
                    *AS_USER,
                    *as_user.argv,
                    *args,
                    "--",
                    "true",
                ],
                capture_output=True,
                text=True,
                env=env,
                cwd="/",
                timeout=60,
            )
            opens = [line for line in traced.stdout.splitlines() if f"/proc/{holder}/ns/" in line]
            assert len(opens) == 2, opens  # its user namespace, then its network namespace
    finally:
        down = as_user("net", "down", name, env=env)
    assert down.returncode == 0, down.stderr


# --- package managers ------------------------------------------------------------------

#: Run as the user: a root filesystem of the user's own, made of this machine's
#: dpkg, useradd, a shell and what they link against (as a rootfs extracted with
#: ``dpkg-deb -x`` is the user's): every file belongs to the user.
_USER_ROOTFS = """
import os, shutil, subprocess, sys
top = sys.argv[1]
programs = "sh dpkg dpkg-deb dpkg-query dpkg-split dpkg-divert dpkg-trigger useradd groupadd id \
chown mkdir rm cat ls stat tar diff ldconfig start-stop-daemon grep sed mv cp ln chmod touch \
readlink env true".split()
for d in ("usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "etc/dpkg/dpkg.cfg.d", "var/log",
          "var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "tmp", "root"):
    os.makedirs(f"{top}/{d}")
for link in ("bin", "sbin", "lib", "lib64"):
    os.symlink(f"usr/{link}", f"{top}/{link}")
libs = set()
for name in programs:
    path = shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if path is None:
        continue
    real = os.path.realpath(path)
    shutil.copy2(real, f"{top}/usr/{'sbin' if '/sbin/' in path else 'bin'}/{name}")
    ldd = subprocess.run(["ldd", real], capture_output=True, text=True).stdout.split()
    libs.update(word for word in ldd if word.startswith("/"))
for lib in libs:
    dst = top + (lib if lib.startswith("/usr/") else "/usr" + lib)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copy2(os.path.realpath(lib), dst)
for rel, text in (("etc/passwd", "root:x:0:0:root:/root:/bin/sh\\n"), ("etc/group", "root:x:0:\\n"),
                  ("etc/shadow", "root:*:19000:0:99999:7:::\\n"), ("etc/gshadow", "root:*::\\n"),
                  ("var/lib/dpkg/status", ""), ("var/lib/dpkg/available", "")):
    with open(f"{top}/{rel}", "w") as f:
        f.write(text)
shutil.copy("/etc/login.defs", f"{top}/etc/login.defs")
"""

_POSTINST = """#!/bin/sh
set -e
useradd --system --no-create-home probe
mkdir -p /var/lib/pycoz-probe
chown probe:probe /var/lib/pycoz-probe
"""


@pytest.fixture
def probe_deb(shared_dir):
    """A .deb whose postinst adds a service user and chowns a directory to it."""
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed")
    pkg = pathlib.Path(shared_dir, "pkg")
    (pkg / "DEBIAN").mkdir(parents=True)
    (pkg / "DEBIAN" / "control").write_text(
        "Package: pycoz-probe\nVersion: 1.0\nArchitecture: all\n"
        "Maintainer: pycoz tests <tests@example.invalid>\nDescription: a probe\n"
    )
    (pkg / "DEBIAN" / "postinst").write_text(_POSTINST)
    (pkg / "DEBIAN" / "postinst").chmod(0o755)
    deb = os.path.join(shared_dir, "probe.deb")
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-b", str(pkg), deb], check=True, capture_output=True
    )
    os.chmod(deb, 0o644)
    return deb


_INSTALL = (
    "export PATH=/usr/sbin:/usr/bin; dpkg -i /probe.deb >/dev/null && id -u probe && "
    "stat -c %U /var/lib/pycoz-probe && dpkg-query -W -f '${Status}\\n' pycoz-probe"
)


def test_dpkg_installs_in_a_users_own_root(user_with_ranges, pycoz_bin, probe_deb, unique):
    """dpkg -i of a package whose postinst runs useradd and chown, as an ordinary
    user with /etc/subuid ranges, in a root filesystem of the user's own (--base)."""
    _, uid, gid = user_with_ranges
    top = f"/tmp/{unique}-userroot"
    os.mkdir(top, 0o700)
    os.chown(top, uid, gid)
    try:
        made = _run_as(uid, gid, sys.executable, "-c", _USER_ROOTFS, f"{top}/root")
        assert made.returncode == 0, made.stderr
        before = _digest(f"{top}/root")
        base, deb = f"{top}/root", f"{probe_deb}:/probe.deb"
        r = _run_as(
            uid,
            gid,
            pycoz_bin,
            "root",
            "--base",
            base,
            "--ro-bind",
            deb,
            "--",
            "sh",
            "-c",
            _INSTALL,
        )
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == [r.stdout.split()[0], "probe", "install", "ok", "installed"]
        assert int(r.stdout.split()[0]) > 0  # a uid of the range, not the user's own
        assert _digest(f"{top}/root") == before  # a throwaway root over the user's own
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_dpkg_over_the_hosts_root_says_why_in_one_line(as_user, probe_deb):
    """Over the host's root dpkg cannot work (root's files are unmapped inside):
    pycoz says so in one line before dpkg's own refusal, naming --base."""
    r = as_user("root", "--ro-bind", f"{probe_deb}:/probe.deb", "--", "dpkg", "-i", "/probe.deb")
    assert r.returncode != 0
    notes = [line for line in r.stderr.splitlines() if line.startswith("pycoz")]
    assert len(notes) == 1, r.stderr
    assert "dpkg cannot change the host's own files" in notes[0]
    assert "EOVERFLOW" in notes[0] and "--base DIR" in notes[0]
    assert "dpkg: error" in r.stderr  # dpkg's own message follows


def test_bind_of_what_the_user_cannot_read_is_refused_in_one_line(as_user, unique):
    """A user namespace gives no power over what the user cannot reach: binding
    it is refused in one line (exit 125), not mounted unreadable."""
    closed = f"/tmp/{unique}-closed"
    os.mkdir(closed, 0o700)  # root's
    try:
        with open(f"{closed}/f", "w") as f:
            f.write("secret\n")
        r = as_user("root", "--bind", f"{closed}:/x", "--", "true")
        assert r.returncode == 125, r
        assert_one_line(r.stderr, f"--bind source {closed}", "cannot read it", "as root")
        r = as_user("root", "--ro-bind", f"{closed}/f:/x", "--", "true")
        assert r.returncode == 125, r
        assert_one_line(r.stderr, f"--ro-bind source {closed}/f", "permission denied")
    finally:
        shutil.rmtree(closed)
