"""pycoz root options, each checked the way a user would: --base, --upper, --bind,
--ro-bind, --tmpfs, --hostname, -w, -e, --propagation, pipes, and the default shell."""

from __future__ import annotations

import os
import socket
import stat
import sys

import pytest

from .helpers import pycoz_in_own_uts, sacrificial, sections, tree

# --- --base and --upper -----------------------------------------------------------


def test_base_runs_in_the_given_root(pycoz, busybox_root, unique):
    r = pycoz(
        "root",
        "--base",
        str(busybox_root),
        "--hostname",
        unique,
        "--",
        "/bin/sh",
        "-c",
        "hostname; cat /etc/hostname; ls /bin",
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:2] == [unique, "busybox"]
    # The busybox root's /bin, not the host's.
    assert sorted(lines[2:]) == sorted(os.listdir(busybox_root / "bin"))


def test_writes_in_the_base_are_discarded(pycoz, busybox_root, unique):
    before = tree(busybox_root)
    script = (
        "echo pwned > /etc/passwd; rm /etc/hostname; mv /bin/ls /bin/ls.moved;"
        f" echo new > /{unique}; rm -r /root; mkdir /tmp/{unique}; chmod 700 /bin;"
        " cat /etc/passwd; echo /*"
    )
    r = pycoz("root", "--base", str(busybox_root), "--", "/bin/sh", "-c", script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("pwned\n")
    listing = r.stdout.split()[1:]
    assert f"/{unique}" in listing and "/root" not in listing and "/bin" in listing
    assert tree(busybox_root) == before


def test_upper_keeps_changes_between_runs(pycoz, busybox_root, tmp_path, unique):
    before = tree(busybox_root)
    upper = tmp_path / "changes"  # pycoz creates it
    common = ("root", "--base", str(busybox_root), "--upper", str(upper), "--", "/bin/sh", "-c")
    r1 = pycoz(*common, f"echo {unique} > /etc/kept; rm /etc/hostname")
    assert r1.returncode == 0, r1.stderr
    r2 = pycoz(
        *common, "cat /etc/kept; [ -e /etc/hostname ] && echo hostname present || echo no hostname"
    )
    assert r2.returncode == 0, r2.stderr
    assert r2.stdout == f"{unique}\nno hostname\n"
    # The base is unchanged; DIR/upper holds the change (and the deletion's whiteout).
    assert tree(busybox_root) == before
    assert (upper / "upper" / "etc" / "kept").read_text() == f"{unique}\n"
    whiteout = os.lstat(upper / "upper" / "etc" / "hostname")
    assert stat.S_ISCHR(whiteout.st_mode) and whiteout.st_rdev == 0


def test_upper_over_the_host_root(pycoz, tmp_path, unique):
    upper = tmp_path / "changes"
    path = f"/etc/pycoz-{unique}"
    r1 = pycoz("root", "--upper", str(upper), "--", "sh", "-c", f"echo kept > {path}")
    assert r1.returncode == 0, r1.stderr
    assert not os.path.exists(path)
    r2 = pycoz("root", "--upper", str(upper), "--", "cat", path)
    assert (r2.returncode, r2.stdout) == (0, "kept\n"), r2.stderr
    assert (upper / "upper" / "etc" / f"pycoz-{unique}").read_text() == "kept\n"
    assert not os.path.exists(path)


# --- binds and tmpfs ----------------------------------------------------------------


def test_bind_writes_reach_the_host_path(pycoz, tmp_path, unique):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "hello").write_text("from host\n")
    (shared / "gone").write_text("x\n")
    dst = f"/mnt/pycoz-{unique}"
    script = f"cat {dst}/hello; echo from container > {dst}/new; rm {dst}/gone"
    r = pycoz("root", "--bind", f"{shared}:{dst}", "--", "sh", "-c", script)
    assert (r.returncode, r.stdout) == (0, "from host\n"), r.stderr
    assert (shared / "new").read_text() == "from container\n"
    assert not (shared / "gone").exists()
    # The mount point was made in the throwaway root, not on the host.
    assert not os.path.exists(dst)


def test_bind_without_destination_uses_the_same_path(pycoz, tmp_path):
    shared = tmp_path / "same"
    shared.mkdir()
    r = pycoz("root", "--bind", str(shared), "--", "sh", "-c", f"echo hi > {shared}/f")
    assert r.returncode == 0, r.stderr
    assert (shared / "f").read_text() == "hi\n"


def test_bind_a_file(pycoz, tmp_path, unique):
    host_file = tmp_path / "file"
    host_file.write_text("old\n")
    dst = f"/etc/pycoz-{unique}.conf"
    r = pycoz(
        "root", "--bind", f"{host_file}:{dst}", "--", "sh", "-c", f"cat {dst}; echo new > {dst}"
    )
    assert (r.returncode, r.stdout) == (0, "old\n"), r.stderr
    assert host_file.read_text() == "new\n"
    assert not os.path.exists(dst)


_TRY_WRITE = """
import errno, os, sys
for path in sys.argv[1:]:
    try:
        with open(path, "w") as f:
            f.write("written")
        print(path, "written")
    except OSError as e:
        print(path, errno.errorcode[e.errno])
"""


def test_ro_bind_refuses_writes_with_erofs(pycoz, tmp_path, unique):
    src = tmp_path / "ro"
    src.mkdir()
    (src / "file").write_text("original\n")
    before = tree(src)
    dst = f"/mnt/pycoz-{unique}"
    r = pycoz(
        "root",
        "--ro-bind",
        f"{src}:{dst}",
        "--",
        sys.executable,
        "-c",
        _TRY_WRITE,
        f"{dst}/file",
        f"{dst}/new",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"{dst}/file EROFS", f"{dst}/new EROFS"]
    assert tree(src) == before


_RO_RECURSIVE_SCENARIO = r"""
T=$1 PYCOZ=$2 PY=$3 PROBE=$4
mkdir -p "$T/ro/sub"
mount -t tmpfs pycoz-sub "$T/ro/sub"
echo original > "$T/ro/sub/file"
echo "=== inside"
"$PYCOZ" root --ro-bind "$T/ro:/mnt/ro" -- "$PY" -c "$PROBE" /mnt/ro/sub/file /mnt/ro/sub/new
echo "=== after"
cat "$T/ro/sub/file"; ls "$T/ro/sub"
"""


def test_ro_bind_is_read_only_in_its_submounts_too(pycoz_bin, tmp_path):
    r = sacrificial(_RO_RECURSIVE_SCENARIO, str(tmp_path), pycoz_bin, sys.executable, _TRY_WRITE)
    assert r.returncode == 0, r.stderr
    out = sections(r.stdout)
    assert out["inside"].splitlines() == ["/mnt/ro/sub/file EROFS", "/mnt/ro/sub/new EROFS"]
    assert out["after"].splitlines() == ["original", "file"]


def test_tmpfs_is_an_empty_tmpfs_left_behind_nowhere(pycoz, unique):
    dst = f"/mnt/pycoz-{unique}"
    r = pycoz(
        "root",
        "--tmpfs",
        dst,
        "--tmpfs",
        "/etc:size=1m,mode=0700",
        "--",
        "sh",
        "-c",
        f"stat -f -c %T {dst} /etc; stat -c %a /etc; ls -A /etc | wc -l; echo x > {dst}/f;"
        f" cat {dst}/f; grep ' /etc ' /proc/self/mountinfo",
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:5] == ["tmpfs", "tmpfs", "700", "0", "x"]
    assert "size=1024k" in lines[5]
    assert not os.path.exists(dst)
    assert os.listdir("/etc")


# --- hostname, workdir, environment -------------------------------------------------


def test_hostname(pycoz_bin, unique):
    # In a sacrificial UTS namespace, whose hostname (the host's) must stay as it was.
    r = pycoz_in_own_uts(
        pycoz_bin, "root", "--hostname", unique, "--", "sh", "-c", "hostname; uname -n"
    )
    assert r.stdout == f"{unique}\n{unique}\n{socket.gethostname()}\n", r.stderr


@pytest.mark.parametrize("length", [1, 63, 64])
def test_hostname_up_to_64_characters(pycoz, length):
    # HOST_NAME_MAX is 64, and the usage message says "1-64".
    name = "h" * length
    r = pycoz("root", "--hostname", name, "--", "hostname")
    assert (r.returncode, r.stdout) == (0, f"{name}\n"), r.stderr


def test_default_hostname_is_the_hosts(pycoz):
    r = pycoz("root", "--", "hostname")
    assert (r.returncode, r.stdout) == (0, socket.gethostname() + "\n"), r.stderr


def test_workdir(pycoz, tmp_path):
    r = pycoz("root", "-w", "/etc", "--", "pwd")
    assert (r.returncode, r.stdout) == (0, "/etc\n"), r.stderr
    r = pycoz("root", "--workdir", "/usr/share", "--", "pwd")
    assert (r.returncode, r.stdout) == (0, "/usr/share\n"), r.stderr


def test_default_workdir_is_the_current_one_else_root(pycoz, tmp_path, busybox_root):
    r = pycoz("root", "--", "pwd", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (0, f"{tmp_path}\n"), r.stderr
    # Not in the busybox root: "/".
    r = pycoz("root", "--base", str(busybox_root), "--", "/bin/pwd", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (0, "/\n"), r.stderr


def test_env(pycoz, unique):
    env = {**os.environ, "PYCOZ_INHERITED": unique, "PYCOZ_OVERRIDDEN": "host"}
    r = pycoz(
        "root",
        "-e",
        "PYCOZ_A=1",
        "--env",
        "PYCOZ_EMPTY=",
        "-e",
        "PYCOZ_EQ=a=b",
        "-e",
        "PYCOZ_OVERRIDDEN=container",
        "--",
        "sh",
        "-c",
        'printf "%s|" "$PYCOZ_A" "${PYCOZ_EMPTY-unset}" "$PYCOZ_EQ" "$PYCOZ_OVERRIDDEN"'
        ' "$PYCOZ_INHERITED"',
        env=env,
    )
    assert (r.returncode, r.stdout) == (0, f"1||a=b|container|{unique}|"), r.stderr


# --- standard streams and the default shell ------------------------------------------


def test_stdin_stdout_stderr_pass_through(pycoz):
    data = "".join(f"line {i}\n" for i in range(100_000))
    r = pycoz("root", "--", "sh", "-c", "cat; echo to-stderr >&2", input=data)
    assert r.returncode == 0
    assert r.stdout == data
    assert r.stderr == "to-stderr\n"


def test_command_arguments_are_the_commands_own(pycoz):
    # Without "--": options after COMMAND belong to it, not to pycoz.
    r = pycoz("root", "echo", "-w", "/x", "--base")
    assert (r.returncode, r.stdout) == (0, "-w /x --base\n"), r.stderr


def test_no_command_runs_the_users_shell(pycoz):
    for shell in ("/bin/dash", "/bin/bash"):
        env = {**os.environ, "SHELL": shell}
        r = pycoz("root", input='echo "$0"; echo hi; exit 4', env=env)
        assert (r.returncode, r.stdout) == (4, f"{shell}\nhi\n"), (shell, r.stderr)


def test_no_command_falls_back_to_sh_in_a_root_without_the_shell(pycoz, busybox_root):
    env = {**os.environ, "SHELL": "/bin/bash"}  # not in the busybox root
    r = pycoz("root", "--base", str(busybox_root), input="echo hi; exit 4", env=env)
    assert (r.returncode, r.stdout) == (4, "hi\n"), r.stderr


# --- mount propagation -----------------------------------------------------------------


def _propagation(pycoz_bin, tmp_path, mode: str) -> tuple[str, str]:
    """Mount on the host side while the container runs; what does each side see?"""
    script = r"""
T=$1 PYCOZ=$2 MODE=$3
mkdir -p "$T/shared/new" "$T/shared/own"
mount --bind "$T/shared" "$T/shared"
mount --make-shared "$T/shared"
mkfifo "$T/to" "$T/from"
"$PYCOZ" root --propagation "$MODE" --bind "$T/shared:/mnt/s" -- sh -c '
    mount -t tmpfs pycoz-own /mnt/s/own
    echo ready
    read x
    cat /mnt/s/new/marker 2>/dev/null || echo absent
' < "$T/to" > "$T/from" &
exec 3> "$T/to" 4< "$T/from"
read ready <&4
mount -t tmpfs pycoz-new "$T/shared/new"
echo yes > "$T/shared/new/marker"
echo "=== outside"
grep -c "$T/shared/own" /proc/self/mountinfo || true
echo go >&3
echo "=== inside"
cat <&4
wait $!
"""
    r = sacrificial(script, str(tmp_path), pycoz_bin, mode)
    assert r.returncode == 0, r.stderr
    out = sections(r.stdout)
    return out["inside"], out["outside"]


def test_propagation_slave_sees_host_mounts_and_does_not_leak_its_own(pycoz_bin, tmp_path):
    inside, outside = _propagation(pycoz_bin, tmp_path, "slave")
    assert inside == "yes"
    assert outside == "0"


def test_propagation_private_sees_no_host_mounts(pycoz_bin, tmp_path):
    inside, outside = _propagation(pycoz_bin, tmp_path, "private")
    assert inside == "absent"
    assert outside == "0"


_UPPER_SUBMOUNT_SCENARIO = r"""
T=$1 PYCOZ=$2
mkdir "$T/tm"
mount -t tmpfs pycoz-sub "$T/tm"
echo original > "$T/tm/file"
"$PYCOZ" root --upper "$T/changes" -- sh -c "echo changed > $T/tm/file; echo new > $T/tm/new"
echo "=== second run"
"$PYCOZ" root --upper "$T/changes" -- sh -c "cat $T/tm/file $T/tm/new"
echo "=== host"
cat "$T/tm/file"; ls "$T/tm"
"""


def test_upper_keeps_changes_to_submounts_too(pycoz_bin, tmp_path):
    r = sacrificial(_UPPER_SUBMOUNT_SCENARIO, str(tmp_path), pycoz_bin)
    assert r.returncode == 0, r.stderr
    out = sections(r.stdout)
    assert out["second run"].splitlines() == ["changed", "new"]
    assert out["host"].splitlines() == ["original", "file"]
    # DIR/mounts/<mount point as one name>/upper holds that filesystem's changes.
    layer = tmp_path / "changes" / "mounts" / str(tmp_path / "tm").strip("/").replace("/", "%2F")
    assert (layer / "upper" / "new").read_text() == "new\n"
