"""Root's ``--rootless`` with CAP_SYS_ADMIN kept (``--privileged``, ``--cap-add
SYS_ADMIN``) keeps the host's sysctls and sysfs out of reach.

There uid 0 inside is host uid 0, and /proc/sys and sysfs grant writes by uid and
file mode, not by capability: only the read-only mounts stand between the command
and the host's kernel settings.  pycoz's user namespace made those mounts itself,
so before the fix root inside could unmount or remount them, or mount a procfs of
its own, and open ``kernel.*`` sysctls and sysfs for writing (each attempt below
got through on the old code).  Now the command runs in a nested user namespace
with a mount namespace of its own (``core.fence.nest``): every mount there is
locked, as bubblewrap's are.

Nothing is written: opening the file for writing is the whole proof (the
permission is checked at open).  Never a real sysctl or sysfs write here.
"""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="uid 0 outside is the case")

_OPEN_FOR_WRITE = r"""
import os, subprocess
subprocess.run(["umount", "/proc/sys"], check=False)
try:
    os.close(os.open("/proc/sys/kernel/printk_ratelimit", os.O_WRONLY))
    print("writable")
except OSError as e:
    print("refused", e.errno)
"""

#: SYS_ADMIN kept, both ways.
_SYS_ADMIN = [
    pytest.param(("--privileged",), id="privileged"),
    pytest.param(("--cap-add", "SYS_ADMIN"), id="cap-add-SYS_ADMIN"),
]

#: Open a file for writing, write nothing: "writable" or "refused ERRNO".
_PROBE = """\
import os, sys
try:
    os.close(os.open(sys.argv[1], os.O_WRONLY))
    print("writable")
except OSError as e:
    print("refused", e.errno)
"""
_SYSCTL = "/proc/sys/kernel/printk_ratelimit"


@pytest.fixture
def probe(tmp_path):
    """``probe(PATH)``: the shell command that opens PATH for writing (the script
    is a file of the test's, which the container sees through its overlay)."""
    script = tmp_path / "open_for_write.py"
    script.write_text(_PROBE)
    script.chmod(0o644)
    return lambda path: f"python3 {script} {path}"


def _sysfs_file() -> str:
    """A host sysfs attribute root may write (by its mode): opened, never written."""
    for path in (
        "/sys/kernel/mm/transparent_hugepage/enabled",
        "/sys/kernel/mm/ksm/run",
        "/sys/power/state",
    ):
        if os.path.exists(path) and os.stat(path).st_mode & 0o200:
            return path
    pytest.skip("no root-writable sysfs attribute to open on this host")


def _run(pycoz, options, script: str):
    r = pycoz("root", "--rootless", *options, "--", "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    return r


@pytest.mark.parametrize("options", _SYS_ADMIN)
def test_rootless_privileged_as_root_keeps_host_sysctls_out_of_reach(pycoz, options):
    """The review's draft: unmount the read-only /proc/sys, open a kernel.* sysctl."""
    r = pycoz("root", "--rootless", *options, "--", "python3", "-c", _OPEN_FOR_WRITE)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() != "writable", "a host kernel.* sysctl is writable"
    assert r.stdout.strip() == "refused 30", r.stdout  # EROFS: the mount is still there


@pytest.mark.parametrize(
    "entry",
    [
        ("root", "--rootless", "--privileged", "--net", "pair", "--host", "h1", "--"),
        ("net", "run", "pair", "--rootless", "--privileged", "--"),
        ("trace", "--root", "--rootless", "--privileged", "-o", "/dev/null", "--"),
        ("shell", "--rootless", "--privileged", "-q", "-c"),
    ],
    ids=["root-net", "net-run", "trace-root", "shell"],
)
def test_every_entry_point_keeps_proc_sys_read_only(pycoz, probe, entry):
    """``umount -l``: with a network namespace of its own, /proc/sys/net is
    mounted below /proc/sys, and a plain umount would only be "busy"."""
    script = f"umount -l /proc/sys; {probe(_SYSCTL)}"
    r = pycoz(*entry, *(["sh", "-c", script] if entry[-1] == "--" else [script]))
    assert (r.returncode, r.stdout) == (0, "refused 30\n"), r.stderr


@pytest.mark.parametrize(
    "remount", ["mount -o remount,rw /proc/sys", "mount -o remount,bind,rw /proc/sys"]
)
def test_proc_sys_cannot_be_remounted_writable(pycoz, probe, remount):
    r = _run(pycoz, ("--privileged",), f"{remount} && echo remounted; {probe(_SYSCTL)}")
    assert "remounted" not in r.stdout, r.stdout
    assert r.stdout.strip() == "refused 30", r.stdout


def test_sysfs_cannot_be_remounted_writable(pycoz, probe):
    path = _sysfs_file()
    r = _run(pycoz, ("--privileged",), f"mount -o remount,bind,rw /sys; {probe(path)}")
    assert r.stdout.strip() == "refused 30", r.stdout


@pytest.mark.parametrize("options", _SYS_ADMIN)
def test_a_fresh_procfs_is_refused(pycoz, probe, options):
    """``unshare -pf --mount-proc``: a procfs of its own shows /proc/sys unbound."""
    r = _run(
        pycoz,
        options,
        "unshare -pf --mount-proc true && echo mounted; "
        f"unshare -pfm sh -c 'mount -t proc proc /proc && {probe(_SYSCTL)}'; "
        # The control inside: a new pid and mount namespace is still the command's.
        "unshare -pfm true && echo namespaces",
    )
    assert r.stdout.split() == ["namespaces"], (r.stdout, r.stderr)


@pytest.mark.parametrize(
    "net", [(), ("--net", "pair", "--host", "h1")], ids=["host-net", "topology"]
)
def test_a_fresh_sysfs_is_refused(pycoz, net):
    """A read-only one, the kind the old code let through in a topology's network
    namespace (pycoz's user namespace owns it); the host's is the host's own."""
    r = _run(pycoz, ("--privileged", *net), "mount -t sysfs -o ro sysfs /mnt && echo mounted; true")
    assert r.stdout == "", r.stdout


def _masked_file() -> str:
    """A /proc file the fence masks that this kernel has (a non-empty one)."""
    for path in ("/proc/timer_list", "/proc/vmallocinfo"):
        if os.path.exists(path):
            return path
    pytest.skip("no masked /proc file on this kernel")


def test_a_mask_over_a_proc_file_stays(pycoz):
    """--cap-add SYS_ADMIN keeps the fence's masks and the power to unmount them."""
    masked = _masked_file()
    r = _run(
        pycoz, ("--cap-add", "SYS_ADMIN"), f"umount {masked}; umount -l {masked}; wc -c <{masked}"
    )
    assert r.stdout.split() == ["0"], r.stdout  # still /dev/null


@pytest.mark.parametrize("options", _SYS_ADMIN)
def test_the_container_keeps_its_own_mounts_and_hostname(pycoz, options):
    """What SYS_ADMIN is for stays: mounts of its own (and unmounting them), the
    hostname; the clock stays out of reach."""
    r = _run(
        pycoz,
        ("--hostname", "before", *options),
        "hostname box && hostname && mount -t tmpfs t /mnt && touch /mnt/f && echo mounted"
        " && umount /mnt && echo unmounted; date -s @0 >/dev/null 2>&1 || echo no-clock",
    )
    assert r.stdout.split() == ["box", "mounted", "unmounted", "no-clock"], r.stderr


def test_uid_zero_is_still_host_root_inside(pycoz):
    """The nested namespace maps the same ids: files stay host root's, and root's."""
    r = _run(pycoz, ("--privileged",), "cat /proc/self/uid_map /proc/self/gid_map; stat -c %u /etc")
    assert [line.split() for line in r.stdout.splitlines()] == [["0", "0", "1"]] * 2 + [["0"]]


def test_the_topologys_network_stays_the_outer_namespaces(pycoz):
    """The documented cost (docs/security.md): the topology's network namespace is
    pycoz's outer user namespace's, so the nested one cannot change its links or
    addresses; fenced, with NET_ADMIN kept and nothing nested, root inside can."""
    add = "ip addr add 198.18.9.9/32 dev eth0 && echo added; true"
    net = ("--net", "pair", "--host", "h1")
    assert _run(pycoz, ("--privileged", *net), add).stdout == ""
    assert _run(pycoz, net, add).stdout == "added\n"


def test_without_sys_admin_nothing_is_nested_and_nothing_unlocks(pycoz, probe):
    """Why nesting is tied to SYS_ADMIN: without it (``--cap-drop SYS_ADMIN``, and
    no seccomp under --privileged) the command cannot unmount, and a user
    namespace it makes itself (``unshare -Urm``) gets the mounts locked, as the
    nested one does."""
    r = _run(
        pycoz,
        ("--privileged", "--cap-drop", "SYS_ADMIN"),
        "umount -l /proc/sys && echo unmounted; "
        "unshare -Urm sh -c 'umount -l /proc/sys && echo unmounted; "
        "mount -o remount,bind,rw /proc/sys && echo remounted'; "
        f"unshare -Urm --mount-proc true && echo mounted; {probe(_SYSCTL)}",
    )
    assert r.stdout == "refused 30\n", r.stdout


def test_procs_kernel_wide_parts_stay_fenced(pycoz, probe):
    """Not a mount to lock but one never made: --privileged leaves /proc/irq (IRQ
    affinity, by file mode only) writable and /proc's masks off, which under
    root's --rootless are host root's knobs and kernel state; there /proc stays
    as behind the fence."""
    irq = "/proc/irq/default_smp_affinity"
    if not os.path.exists(irq):
        pytest.skip(f"no {irq} on this kernel")
    r = _run(pycoz, ("--privileged",), f"{probe(irq)}; wc -c <{_masked_file()}")
    assert r.stdout.split() == ["refused", "30", "0"], r.stdout


#: The new mount API's way around umount: a detached copy of /proc/sys
#: (open_tree OPEN_TREE_CLONE), made writable (mount_setattr clearing
#: MOUNT_ATTR_RDONLY), opened through its fd.  Syscall numbers are the generic
#: table's, the same on x86_64 and aarch64.
_DETACHED = r"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
fd = libc.syscall(428, -100, b"/proc/sys", ctypes.c_uint(1))  # open_tree(CLONE)
if fd < 0:
    raise SystemExit("open_tree failed: %d" % ctypes.get_errno())
attr = (ctypes.c_uint64 * 4)(0, 1, 0, 0)  # attr_clr = MOUNT_ATTR_RDONLY
empty_path = ctypes.c_uint(0x1000)  # AT_EMPTY_PATH
if libc.syscall(442, fd, b"", empty_path, attr, ctypes.c_size_t(32)) == 0:
    print("made writable")
try:
    os.close(os.open("kernel/printk_ratelimit", os.O_WRONLY, dir_fd=fd))
    print("writable")
except OSError as e:
    print("refused", e.errno)
"""


def test_a_detached_copy_of_proc_sys_stays_read_only(pycoz, tmp_path):
    script = tmp_path / "detached.py"
    script.write_text(_DETACHED)
    script.chmod(0o644)
    r = _run(pycoz, ("--privileged",), f"python3 {script}")
    assert r.stdout == "refused 30\n", r.stdout


def _host_cgroup_mount() -> str:
    """A cgroup hierarchy of the host's, mounted below /sys (bound read-only into
    rootless containers with the rest of /sys)."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            fstype = fields[fields.index("-") + 1]
            if fstype in ("cgroup", "cgroup2") and fields[4].startswith("/sys/"):
                return fields[4]
    pytest.skip("no cgroup hierarchy mounted below /sys")


def test_the_hosts_cgroups_stay_read_only(pycoz, probe):
    """Host root's cgroups (every process's limits, freezer, cgroup.procs) are in
    the read-only /sys: remounting that bind writable is refused."""
    top = _host_cgroup_mount()
    r = _run(
        pycoz, ("--privileged",), f"mount -o remount,bind,rw {top}; {probe(top + '/cgroup.procs')}"
    )
    assert r.stdout == "refused 30\n", r.stdout
