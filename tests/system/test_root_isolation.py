"""pycoz root: what happens inside stays inside.

Writes, deletes and renames in /etc, /usr, /dev and in submounts leave the host as
it was; the container sees its own /proc, a read-only /sys, a fresh minimal /dev
with a new devpts, and an init that reaps orphans.

Every scenario that mounts something (a tmpfs, a bind, a copy of /dev, an overlay
over /etc) runs inside a sacrificial mount namespace (``helpers.sacrificial``), so
the host's mount table is never touched, and the destructive ones run where even a
pycoz bug could reach only copies.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys

from .helpers import SNAP, assert_same, pycoz_in_own_uts, sacrificial, sections

# --- writes, deletes and renames leave the host unchanged ---------------------

_CHANGES_SCENARIO = (
    SNAP
    + r"""
T=$1 PYCOZ=$2 U=$3 E=$4 R=$5 INSIDE=$6
populate() {
    mkdir "$1/dir"; echo keep > "$1/keep"; echo del > "$1/del"; echo ren > "$1/ren"
    echo f > "$1/dir/f"
}
mkdir "$T/tm" "$T/src" "$T/bnd" "$T/dev" "$E" "$R"
# Submounts made by the test: a tmpfs and a bind mount, under its own folder.
mount -t tmpfs -o size=1m "pycoz-test-$U" "$T/tm"
mount --bind "$T/src" "$T/bnd"
# The /dev the container's host sees is a copy, so that even a pycoz bug could
# not touch the machine's device nodes.
mount -t tmpfs -o mode=755 "pycoz-dev-$U" "$T/dev"
cp -ax /dev/. "$T/dev/"
mount --bind "$T/dev" /dev
for d in "$E" "$R" "$T/tm" "$T/src"; do populate "$d"; done
state() {
    snap "$E" "$R" "$T/tm" "$T/src" "$T/bnd" /dev
    # /etc/netns comes and goes with named-topology tests running alongside.
    echo "## /etc"; ls -A /etc | grep -v -e '^pycoz-t' -e '^netns$'
    echo "## /usr/share"; ls -A /usr/share | grep -v '^pycoz-t'
    echo "## mounts"; grep -c " $T/" /proc/self/mountinfo
}
echo "=== before"; state
echo "=== inside"
"$PYCOZ" root -- sh -euc "$INSIDE" sh "$E" "$R" "$T/tm" "$T/bnd" "$U" 2>&1 \
    || echo "pycoz exited $?"
echo "=== after"; state
"""
)

_CHANGES_INSIDE = r"""
for d in "$1" "$2" "$3" "$4"; do
    cd "$d"
    echo changed > keep; rm del; mv ren ren.moved; rm -r dir; echo new > new; mkdir newdir
    echo "$d:" $(ls)
done
echo x > "/dev/pycoz-$5"; rm /dev/full; mv /dev/zero /dev/zero.moved; mkdir "/dev/shm/pycoz-$5"
echo "/dev:" $(ls /dev)
echo "shm:" $(ls /dev/shm)
"""


def test_changes_in_etc_usr_dev_and_submounts_leave_the_host_unchanged(pycoz_bin, tmp_path, unique):
    etc_dir = f"/etc/pycoz-{unique}"
    usr_dir = f"/usr/share/pycoz-{unique}"
    host_dev = sorted(os.listdir("/dev"))
    try:
        r = sacrificial(
            _CHANGES_SCENARIO,
            str(tmp_path),
            pycoz_bin,
            unique,
            etc_dir,
            usr_dir,
            _CHANGES_INSIDE,
        )
        assert r.returncode == 0, r.stderr
        out = sections(r.stdout)
        inside = out["inside"].splitlines()
        # The changes did happen, inside.
        for d in (etc_dir, usr_dir, f"{tmp_path}/tm", f"{tmp_path}/bnd"):
            assert f"{d}: keep new newdir ren.moved" in inside, out["inside"]
        dev_line = next(line for line in inside if line.startswith("/dev:")).split()
        assert f"pycoz-{unique}" in dev_line and "zero.moved" in dev_line
        assert "full" not in dev_line and "zero" not in dev_line
        assert f"shm: pycoz-{unique}" in inside
        # ... and none of them reached the host (nor the test's own submounts).
        assert_same(out["before"], out["after"], "host view")
    finally:
        shutil.rmtree(etc_dir, ignore_errors=True)
        shutil.rmtree(usr_dir, ignore_errors=True)
    assert sorted(os.listdir("/dev")) == host_dev


_DESTRUCTIVE_SCENARIO = (
    SNAP
    + r"""
T=$1 PYCOZ=$2 U=$3 INSIDE=$4
mkdir "$T/dev" "$T/layers"
# A copy of /dev bound over /dev, and overlays over /etc and /usr: whatever the
# container does, at worst these copies change.
mount -t tmpfs -o mode=755 "pycoz-dev-$U" "$T/dev"
cp -ax /dev/. "$T/dev/"
mount --bind "$T/dev" /dev
mount -t tmpfs "pycoz-layers-$U" "$T/layers"
for d in etc usr; do
    mkdir "$T/layers/$d" "$T/layers/$d/upper" "$T/layers/$d/work"
    mount -t overlay -o "lowerdir=/$d,upperdir=$T/layers/$d/upper,workdir=$T/layers/$d/work" \
        "pycoz-$d-$U" "/$d"
done
state() {
    # /etc/netns is left out: named-topology tests running alongside write there
    # on the host, and those writes show through the overlay's lower layer.
    # (stat's lines begin with the path, sha256sum's with the hash.)
    snap /dev /etc | grep -v -e '^\./netns' -e '^[0-9a-f]*  \./netns/'
    echo "## /usr"
    find /usr/share/doc /usr/bin -xdev -print0 | LC_ALL=C sort -z | xargs -0 stat -c '%n %F %a %s'
    sha256sum /usr/bin/env
    echo "## upper layers"; find "$T/layers/etc/upper" "$T/layers/usr/upper"
}
echo "=== before"; state
echo "=== inside"
"$PYCOZ" root -- sh -c "$INSIDE" 2>&1 || echo "pycoz exited $?"
echo "=== after"; state
"""
)

_DESTRUCTIVE_INSIDE = r"""
rm -rf /dev/* 2>/dev/null
echo "dev left:" $(ls -A /dev)
echo 'pwned:x:0:0::/:/bin/sh' > /etc/passwd
rm -rf /etc/ssl /etc/hostname
mv /etc/hosts /etc/hosts.moved
rm -rf /usr/share/doc
: > /usr/bin/env
echo "passwd:" $(cat /etc/passwd)
[ -e /usr/share/doc ] && echo "doc: present" || echo "doc: gone"
[ -s /usr/bin/env ] && echo "env: intact" || echo "env: emptied"
exit 0
"""


def test_destroying_dev_and_etc_inside_leaves_them_intact(pycoz_bin, tmp_path, unique):
    host_dev = sorted(os.listdir("/dev"))
    with open("/etc/passwd", "rb") as f:
        host_passwd = hashlib.sha256(f.read()).hexdigest()

    r = sacrificial(
        _DESTRUCTIVE_SCENARIO, str(tmp_path), pycoz_bin, unique, _DESTRUCTIVE_INSIDE, timeout=120
    )
    assert r.returncode == 0, r.stderr
    out = sections(r.stdout)
    inside = out["inside"].splitlines()
    assert "passwd: pwned:x:0:0::/:/bin/sh" in inside, out["inside"]
    assert "doc: gone" in inside and "env: emptied" in inside, out["inside"]
    left = next(line for line in inside if line.startswith("dev left:")).split()[2:]
    assert not {"null", "zero", "tty", "ptmx", "urandom"} & set(left), left
    assert_same(out["before"], out["after"], "/dev, /etc and /usr (sacrificial copies)")
    # The machine's own, behind the copies, of course too.
    assert sorted(os.listdir("/dev")) == host_dev
    with open("/etc/passwd", "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == host_passwd


# --- what the container sees -----------------------------------------------------


def test_pid1_is_pycoz_init_and_the_command_is_pid2(pycoz):
    r = pycoz(
        "root",
        "--",
        "sh",
        "-c",
        # Shell builtins only after the first line: no extra process shows up.
        "echo $$; tr '\\0' ' ' < /proc/1/cmdline; echo;"
        " for p in /proc/[0-9]*; do echo ${p#/proc/}; done",
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "2"
    assert "pycoz" in lines[1]
    # /proc shows the container's processes only: init and the command.
    assert sorted(lines[2:]) == ["1", "2"]


def test_proc_is_fresh_and_namespaces_are_new_except_the_network(pycoz):
    kinds = ("mnt", "pid", "uts", "ipc", "net")
    script = "for k in " + " ".join(kinds) + "; do readlink /proc/self/ns/$k; done"
    r = pycoz("root", "--", "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    inside = dict(zip(kinds, r.stdout.split(), strict=True))
    for kind in ("mnt", "pid", "uts", "ipc"):
        assert inside[kind] != os.readlink(f"/proc/self/ns/{kind}"), kind
    assert inside["net"] == os.readlink("/proc/self/ns/net")


def test_sys_is_read_only(pycoz, unique):
    script = f"""
import errno, os
try:
    os.mkdir("/sys/pycoz-{unique}")
    print("mkdir succeeded")
except OSError as e:
    print(errno.errorcode[e.errno])
for line in open("/proc/self/mountinfo"):
    f = line.split()
    if f[4] == "/sys":
        print(f[5].split(",")[0], line.split(" - ")[1].split()[0])
"""
    r = pycoz("root", "--", sys.executable, "-c", script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["EROFS", "ro sysfs"]
    assert not os.path.exists(f"/sys/pycoz-{unique}")


_DEV_PROBE = r"""
import errno, json, os, stat
out = {"entries": {}}
for name in sorted(os.listdir("/dev")):
    st = os.lstat("/dev/" + name)
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        kind = ("c" if stat.S_ISCHR(st.st_mode) else "b")
        what = f"{kind} {os.major(st.st_rdev)}:{os.minor(st.st_rdev)} {st.st_mode & 0o777:o}"
    elif stat.S_ISLNK(st.st_mode):
        what = "-> " + os.readlink("/dev/" + name)
    elif stat.S_ISDIR(st.st_mode):
        what = f"d {st.st_mode & 0o7777:o}"
    else:
        what = "f"
    out["entries"][name] = what
with open("/dev/zero", "rb") as f:
    out["zero"] = f.read(4).hex()
with open("/dev/null", "wb") as f:
    f.write(b"x")
with open("/dev/urandom", "rb") as f:
    out["urandom"] = len(f.read(16))
try:
    with open("/dev/full", "wb", buffering=0) as f:
        f.write(b"x")
except OSError as e:
    out["full"] = errno.errorcode[e.errno]
for line in open("/proc/self/mountinfo"):
    f = line.split()
    if f[4] in ("/dev", "/dev/pts", "/dev/shm"):
        out[f[4]] = line.split(" - ")[1].split()[0]
out["pts"] = sorted(os.listdir("/dev/pts"))
out["pts_dev"] = os.stat("/dev/pts").st_dev
leader, follower = os.openpty()
out["new_pty"] = os.ttyname(follower)
out["pts_after_openpty"] = sorted(os.listdir("/dev/pts"))
print(json.dumps(out))
"""


def test_dev_is_fresh_and_minimal_with_a_new_devpts(pycoz):
    # Make sure the host has a pty of its own, which the container must not see.
    host_leader, host_follower = os.openpty()
    try:
        host_pty = os.ttyname(host_follower)
        # stdin not a terminal: pycoz would bind that to /dev/console.
        r = pycoz("root", "--", sys.executable, "-c", _DEV_PROBE, stdin=subprocess.DEVNULL)
    finally:
        os.close(host_leader)
        os.close(host_follower)
    assert r.returncode == 0, r.stderr
    dev = json.loads(r.stdout)
    entries = dev["entries"]
    expected_nodes = {
        "null": "c 1:3 666",
        "zero": "c 1:5 666",
        "full": "c 1:7 666",
        "random": "c 1:8 666",
        "urandom": "c 1:9 666",
        "tty": "c 5:0 666",
    }
    for name, what in expected_nodes.items():
        assert entries.get(name) == what, (name, entries)
    expected_links = {
        "ptmx": "-> pts/ptmx",
        "fd": "-> /proc/self/fd",
        "stdin": "-> /proc/self/fd/0",
        "stdout": "-> /proc/self/fd/1",
        "stderr": "-> /proc/self/fd/2",
    }
    for name, what in expected_links.items():
        assert entries.get(name) == what, (name, entries)
    assert entries.get("pts", "").startswith("d ")
    assert entries.get("shm") == "d 1777"
    # No host device reaches the container: the only device nodes are the six above.
    devices = {n for n, w in entries.items() if w[:2] in ("c ", "b ")}
    assert devices == set(expected_nodes), entries
    # The nodes work.
    assert dev["zero"] == "00000000" and dev["urandom"] == 16 and dev["full"] == "ENOSPC"
    assert (dev["/dev"], dev["/dev/pts"], dev["/dev/shm"]) == ("tmpfs", "devpts", "tmpfs")
    # /dev/pts is a new devpts instance: none of the host's ptys, its own numbering.
    assert os.path.basename(host_pty) not in dev["pts"]
    assert [p for p in dev["pts"] if p != "ptmx"] == []
    assert dev["pts_dev"] != os.stat("/dev/pts").st_dev
    assert dev["new_pty"] == "/dev/pts/0"
    assert dev["pts_after_openpty"] == ["0", "ptmx"]


_ORPHANS = r"""
i=0
while [ $i -lt 10 ]; do
    # The subshell exits at once: its sleep is orphaned and reparented to pid 1.
    ( sleep 0.1 & echo $! >> /tmp/orphans )
    i=$((i + 1))
done
n=0
for pid in $(cat /tmp/orphans); do
    while [ -e /proc/$pid ] && [ $n -lt 1000 ]; do sleep 0.02; n=$((n + 1)); done
done
for pid in $(cat /tmp/orphans); do
    [ -e /proc/$pid ] && echo "left: $(ps -o pid=,stat=,comm= -p $pid)"
done
echo states: $(ps -e -o stat=)
echo done
"""


def test_orphans_are_reaped_no_zombies(pycoz):
    r = pycoz("root", "--", "sh", "-c", _ORPHANS)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[-1] == "done"
    assert not [line for line in lines if line.startswith("left:")], r.stdout
    states = lines[-2].split()[1:]
    assert states and not [s for s in states if s.startswith("Z")], lines[-2]


def test_hostname_set_inside_does_not_reach_the_host(pycoz_bin, unique):
    # In a sacrificial UTS namespace: were pycoz to share the host's, only this
    # copy of the hostname would change, not the machine's.
    # sethostname needs CAP_SYS_ADMIN, which the fence takes: --cap-add gives it back,
    # and then the name changes in the container's own UTS namespace only.
    script = f"hostname {unique}; hostname"
    r = pycoz_in_own_uts(pycoz_bin, "root", "--cap-add", "SYS_ADMIN", "--", "sh", "-c", script)
    assert (r.returncode, r.stdout) == (0, f"{unique}\n{socket.gethostname()}\n"), r.stderr
    fenced = pycoz_in_own_uts(pycoz_bin, "root", "--", "sh", "-c", script)
    assert fenced.stdout.splitlines() == [socket.gethostname(), socket.gethostname()]
    assert "must be root" in fenced.stderr


def test_kernel_wide_proc_knobs_are_read_only(pycoz):
    """/proc/sys (kernel.*, vm.*: not namespaced) cannot be changed from inside."""
    r = pycoz("root", "--", "sh", "-c", "echo 4 > /proc/sys/vm/drop_caches")
    assert r.returncode != 0
    assert "Read-only file system" in r.stderr


def test_dev_mqueue_is_the_containers_own(pycoz):
    r = pycoz("root", "--", "sh", "-c", "grep ' /dev/mqueue ' /proc/self/mountinfo")
    assert r.returncode == 0, r.stderr
    assert " - mqueue " in r.stdout
