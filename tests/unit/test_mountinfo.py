"""pycoz_cli.core.mounts: reading mountinfo, choosing submounts, naming layers (no root)."""

from __future__ import annotations

import pytest

from pycoz_cli.core.mounts import MountEntry, escape_layer_name, parse_mountinfo, submounts

# --- parse_mountinfo ------------------------------------------------------------------


def test_parses_the_kernel_documentation_example():
    # Documentation/filesystems/proc.rst, with one optional field.
    line = "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
    assert parse_mountinfo(line) == [MountEntry(36, 35, "/mnt2", "ext3", "/dev/root")]


@pytest.mark.parametrize(
    "optional", ["", "shared:1", "shared:1 master:2", "master:3 propagate_from:4 unbindable"]
)
def test_any_number_of_optional_fields(optional):
    fields = ["22", "1", "0:21", "/", "/proc", "rw,relatime", *optional.split(), "-"]
    line = " ".join([*fields, "proc", "proc", "rw"])
    shared = "shared:" in optional
    assert parse_mountinfo(line) == [MountEntry(22, 1, "/proc", "proc", "proc", shared)]


def test_several_lines_keep_their_order():
    text = (
        "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
        "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
        "61 27 0:50 / /tmp rw,nosuid,nodev shared:30 - tmpfs tmpfs rw,size=1024k\n"
        "70 27 0:60 / /home/user/.cache/x rw - fuse.sshfs user@host:/x rw\n"
    )
    assert parse_mountinfo(text) == [
        MountEntry(22, 27, "/proc", "proc", "proc"),
        MountEntry(27, 1, "/", "ext4", "/dev/vda", shared=True),
        MountEntry(61, 27, "/tmp", "tmpfs", "tmpfs", shared=True),
        MountEntry(70, 27, "/home/user/.cache/x", "fuse.sshfs", "user@host:/x"),
    ]


def test_empty_text():
    assert parse_mountinfo("") == []


@pytest.mark.parametrize(
    ("escaped", "path"),
    [
        (r"/mnt/with\040space", "/mnt/with space"),
        (r"/mnt/tab\011here", "/mnt/tab\there"),
        (r"/mnt/new\012line", "/mnt/new\nline"),
        (r"/mnt/back\134slash", "/mnt/back\\slash"),
        (r"/mnt/\040\040two", "/mnt/  two"),
        (r"/mnt/\134040", "/mnt/\\040"),  # an escaped backslash, then plain digits
        (r"/mnt/trailing\134", "/mnt/trailing\\"),
        ("/mnt/plain-name_1.2", "/mnt/plain-name_1.2"),
        ("/mnt/ünïcödé", "/mnt/ünïcödé"),
    ],
)
def test_unescapes_mount_points_and_sources(escaped, path):
    line = f"40 27 0:60 / {escaped} rw,relatime - tmpfs {escaped} rw"
    (entry,) = parse_mountinfo(line)
    assert entry.mountpoint == path
    assert entry.source == path


def test_a_lone_backslash_is_kept():
    (entry,) = parse_mountinfo(r"40 27 0:60 / /mnt/a\b rw - tmpfs none rw")
    assert entry.mountpoint == "/mnt/a\\b"


def test_parses_this_machines_mountinfo():
    with open("/proc/self/mountinfo") as f:
        text = f.read()
    entries = parse_mountinfo(text)
    assert len(entries) == len(text.splitlines())
    assert any(e.mountpoint == "/" for e in entries)
    assert all(e.mountpoint.startswith("/") and e.fstype for e in entries)


# --- submounts ------------------------------------------------------------------------


def _entries(*specs: tuple[str, str]) -> list[MountEntry]:
    return [
        MountEntry(100 + i, 1, mountpoint, fstype, fstype)
        for i, (mountpoint, fstype) in enumerate(specs)
    ]


def _points(entries: list[MountEntry]) -> list[str]:
    return [e.mountpoint for e in entries]


def test_submounts_of_the_host_root():
    entries = _entries(
        ("/", "ext4"),
        ("/proc", "proc"),
        ("/proc/sys/fs/binfmt_misc", "autofs"),
        ("/sys", "sysfs"),
        ("/sys/fs/cgroup", "tmpfs"),  # a real filesystem, but under /sys: replaced
        ("/dev", "devtmpfs"),
        ("/dev/shm", "tmpfs"),  # under /dev: replaced
        ("/dev/pts", "devpts"),
        ("/home", "ext4"),
        ("/tmp", "tmpfs"),
        ("/run", "tmpfs"),
        ("/run/user/0", "tmpfs"),
        ("/run/netns/x", "nsfs"),  # pseudo filesystem: never overlaid
        ("/boot/efi", "vfat"),
        ("/devices", "ext4"),  # not under /dev
        ("/system", "ext4"),  # not under /sys
        ("/mnt/fuse", "fuse.sshfs"),
    )
    assert _points(submounts(entries, "/")) == [
        "/home",
        "/tmp",
        "/run",
        "/run/user/0",
        "/boot/efi",
        "/devices",
        "/system",
        "/mnt/fuse",
    ]


def test_submounts_below_another_base():
    base = "/srv/root"
    entries = _entries(
        ("/", "ext4"),
        ("/srv", "xfs"),  # above the base
        ("/srv/root", "ext4"),  # the base itself
        ("/srv/root/home", "ext4"),
        ("/srv/root/proc", "proc"),
        ("/srv/root/proc/x", "tmpfs"),  # under the base's /proc
        ("/srv/root/dev/shm", "tmpfs"),
        ("/srv/root/sys/fs/cgroup", "tmpfs"),
        ("/srv/root/var/lib", "btrfs"),
        ("/srv/rootfs", "ext4"),  # shares a prefix, not under the base
        ("/srv/root2/home", "ext4"),
        ("/tmp", "tmpfs"),  # elsewhere on the host
        ("/dev/shm", "tmpfs"),
    )
    assert _points(submounts(entries, base)) == ["/srv/root/home", "/srv/root/var/lib"]


def test_stacked_mounts_keep_the_top_one_at_the_first_ones_place():
    entries = _entries(
        ("/", "ext4"),
        ("/mnt/stack", "ext4"),
        ("/mnt/other", "xfs"),
        ("/mnt/stack", "tmpfs"),  # mounted later over /mnt/stack: the one visible
    )
    result = submounts(entries, "/")
    assert _points(result) == ["/mnt/stack", "/mnt/other"]
    assert result[0].fstype == "tmpfs"


def test_no_submounts():
    assert submounts(_entries(("/", "ext4"), ("/proc", "proc")), "/") == []
    assert submounts([], "/") == []


# --- escape_layer_name ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mountpoint", "name"),
    [
        ("/", "%2F"),
        ("/home", "home"),
        ("/home/", "home"),
        ("/var/lib/docker", "var%2Flib%2Fdocker"),
        ("/a%b", "a%25b"),
        ("/a%2Fb", "a%252Fb"),
        ("/with space", "with space"),
    ],
)
def test_escape_layer_name(mountpoint, name):
    assert escape_layer_name(mountpoint) == name


def test_layer_names_are_one_component_and_never_collide():
    points = [
        "/",
        "/a",
        "/a/b",
        "/a%2Fb",
        "/a%252Fb",
        "/a/b/c",
        "/a%2Fb/c",
        "/a/b%2Fc",
        "/%",
        "/%25",
        "/%2F",
        "/a/%2F",
        "/var/lib",
        "/var%2Flib",
    ]
    names = [escape_layer_name(p) for p in points]
    assert len(set(names)) == len(points), dict(zip(points, names, strict=True))
    for name in names:
        assert name and "/" not in name and name not in (".", "..")
