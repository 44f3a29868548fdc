"""Building a throwaway root inside a private mount namespace.

Everything here runs in a child that has already unshared its mount namespace, so
no mount it makes is ever visible on the host, and all of them vanish with the
namespace's last process: a mount failing half-way leaves nothing to undo.

The root is built in a staging tmpfs mounted over ``/proc`` of the (private copy of
the) old root: ``/proc`` exists on every Linux system, is never a filesystem we
overlay, and is replaced by a fresh procfs in the container anyway.  The staging
tmpfs holds each overlay's upper and work directories and the mount point of the
new root.  After ``pivot_root`` the old root, staging tmpfs included, is detached;
the overlays keep their upper layers alive until the namespace dies.

Submounts are part of the root: an overlay over the base filesystem does not cross
mount points, so every other real filesystem mounted under the base (a separate
/home, /tmp, a tmpfs, a bind mount) gets its own overlay with its own upper layer.
Without that, writes to those paths would reach the host (bubblewrap #680, #685).
"""

from __future__ import annotations

import os
import stat
import sys
from collections import namedtuple

from pycoz_cli.core import libc

STAGING = "/proc"
NEW_ROOT = STAGING + "/root"

# Kernel pseudo filesystems: never overlaid.  Under /proc, /sys and /dev they are
# replaced wholesale by fresh instances; elsewhere they are simply not carried over.
PSEUDO_FS = frozenset(
    {
        "proc",
        "sysfs",
        "devtmpfs",
        "devpts",
        "cgroup",
        "cgroup2",
        "mqueue",
        "debugfs",
        "tracefs",
        "securityfs",
        "pstore",
        "bpf",
        "configfs",
        "fusectl",
        "binfmt_misc",
        "autofs",
        "efivarfs",
        "nsfs",
        "rpc_pipefs",
        "nfsd",
        "selinuxfs",
        "hugetlbfs",
        "ramfs_pseudo",
    }
)
# Trees replaced by fresh instances in the container; mounts below them are skipped.
REPLACED = ("/proc", "/sys", "/dev")

# /dev nodes: name -> (major, minor); all 0666, as on any Linux system.
DEV_NODES = {
    "null": (1, 3),
    "zero": (1, 5),
    "full": (1, 7),
    "random": (1, 8),
    "urandom": (1, 9),
    "tty": (5, 0),
}
DEV_LINKS = {
    "ptmx": "pts/ptmx",
    "fd": "/proc/self/fd",
    "stdin": "/proc/self/fd/0",
    "stdout": "/proc/self/fd/1",
    "stderr": "/proc/self/fd/2",
}


#: One line of /proc/self/mountinfo (the fields pycoz uses).
#: ``shared``: the mount is in a peer group (mountinfo's "shared:N" tag).
MountEntry = namedtuple(
    "MountEntry", "mount_id parent_id mountpoint fstype source shared", defaults=(False,)
)


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo octal.
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        code = field[i + 1 : i + 4]
        if field[i] == "\\" and len(code) == 3 and code.isdigit():
            out.append(chr(int(code, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[MountEntry]:
    entries = []
    for line in text.splitlines():
        fields = line.split(" ")
        sep = fields.index("-")
        entries.append(
            MountEntry(
                mount_id=int(fields[0]),
                parent_id=int(fields[1]),
                mountpoint=_unescape(fields[4]),
                fstype=fields[sep + 1],
                source=_unescape(fields[sep + 2]),
                shared=any(tag.startswith("shared:") for tag in fields[6:sep]),
            )
        )
    return entries


def read_mountinfo(pid: str = "self") -> list[MountEntry]:
    fd = os.open(f"/proc/{pid}/mountinfo", os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return parse_mountinfo(os.fsdecode(b"".join(chunks)))


def is_under(path: str, top: str) -> bool:
    """True if ``path`` is ``top`` or below it (both absolute and normalised)."""
    if top == "/":
        return True
    return path == top or path.startswith(top + "/")


def submounts(entries: list[MountEntry], base: str) -> list[MountEntry]:
    """The real filesystems mounted strictly below ``base`` that need a layer.

    Pseudo filesystems and anything under /proc, /sys or /dev (relative to the
    base) are left out.  When several mounts share a mount point only the top one
    is visible, so only the last is kept, at the position of the first.
    """
    order: list[str] = []
    top: dict[str, MountEntry] = {}
    for entry in entries:
        mp = entry.mountpoint
        if mp == base or not is_under(mp, base):
            continue
        rel = "/" + mp[len(base) :].lstrip("/") if base != "/" else mp
        if any(is_under(rel, r) for r in REPLACED):
            continue
        if entry.fstype in PSEUDO_FS:
            continue
        if mp not in top:
            order.append(mp)
        top[mp] = entry
    return [top[mp] for mp in order]


def escape_layer_name(mountpoint: str) -> str:
    """A submount's mount point as one path component, for its layer directory."""
    return mountpoint.strip("/").replace("%", "%25").replace("/", "%2F") or "%2F"


def _overlay_escape(path: str) -> str:
    # overlayfs splits lowerdir on ':' and mount options on ','; both take '\'.
    return path.replace("\\", "\\\\").replace(":", "\\:").replace(",", "\\,")


def _ensure_dir(path: str) -> None:
    """A mount point that usually exists already: one syscall in the common case."""
    try:
        os.mkdir(path, 0o755)
    except FileExistsError:
        pass
    except OSError:
        _mkdirs(path)


def _mkdirs(path: str, mode: int = 0o755) -> None:
    try:
        os.makedirs(path, mode, exist_ok=True)
    except OSError as err:
        raise OSError(err.errno, "cannot create directory", _outside(path)) from None


def _outside(path: str) -> str:
    """A path under the new root, as the container will see it (for messages)."""
    if path.startswith(NEW_ROOT):
        return path[len(NEW_ROOT) :] or "/"
    return path


#: Where an overlay keeps its upper and work directories.
Layer = namedtuple("Layer", "upper work")


def layer_dirs(persist: str | None, name: str, index: int) -> Layer:
    """Upper/work directories for one overlay: in the staging tmpfs, or in --upper.

    With ``persist`` (the --upper directory) the root's layer is ``DIR/upper`` and
    ``DIR/work``, and a submount's is ``DIR/mounts/<mountpoint>/{upper,work}``, so
    the changes to each filesystem survive for the next run.
    """
    if persist is None:
        # Flat in the fresh staging tmpfs: two mkdir(2) calls and nothing else.
        return Layer(upper=f"{STAGING}/u{index}", work=f"{STAGING}/w{index}")
    top = persist if name == "" else f"{persist}/mounts/{escape_layer_name(name)}"
    return Layer(upper=f"{top}/upper", work=f"{top}/work")


def mount_overlay(
    lower: str,
    target: str,
    layer: Layer,
    flags: int = 0,
    userxattr: bool = False,
    mode: int | None = None,
) -> None:
    """An overlay of ``lower`` on ``target``.  ``userxattr``: in a user namespace,
    where overlayfs keeps its metadata in user.* xattrs (trusted.* needs host
    root); ``mode``: the lower directory's, given to a fresh upper directory, whose
    attributes the overlay's root shows (a sticky /tmp stays sticky)."""
    if layer.upper.startswith(STAGING + "/"):
        os.mkdir(layer.upper)  # fresh tmpfs: nothing exists yet
        os.mkdir(layer.work)
        if mode is not None:
            os.chmod(layer.upper, mode)
    else:
        _mkdirs(layer.upper)
        _mkdirs(layer.work)
    options = (
        f"lowerdir={_overlay_escape(lower)},upperdir={_overlay_escape(layer.upper)},"
        f"workdir={_overlay_escape(layer.work)}"
    )
    if userxattr:
        options += ",userxattr"
    libc.mount("overlay", target, "overlay", flags, options, what="cannot mount overlay on")


def warn(message: str) -> None:
    sys.stderr.write(f"pycoz: warning: {message}\n")


class RootPlan:
    """What the new root is made of; built by ``container.Container``.

    ``binds`` holds (src, dst, readonly) and ``tmpfs`` (dst, options) tuples;
    ``submounts`` the filesystems below the base that get their own layer (see
    ``submounts()``), read by the caller before forking, where it is cheapest.
    ``overlay=False`` keeps the host's filesystem (``build_light``).
    """

    __slots__ = (
        "any_shared",
        "base",
        "binds",
        "fenced",
        "hosts_text",
        "mounts",
        "overlay",
        "own_netns",
        "proc_fenced",
        "propagation",
        "rootless",
        "submounts",
        "tmpfs",
        "upper",
    )

    def __init__(
        self,
        base="/",
        upper=None,
        binds=(),
        tmpfs=(),
        propagation="slave",
        overlay=True,
        submounts=(),
    ):
        self.base = base
        self.upper = upper
        self.binds = binds
        self.tmpfs = tmpfs
        self.propagation = propagation
        self.overlay = overlay
        self.submounts = submounts
        #: Whether any mount is in a peer group; when none is, making the tree
        #: slave or private changes nothing and is skipped.
        self.any_shared = True
        #: Contents of a private /etc/hosts (a topology's names), or None.
        self.hosts_text: str | None = None
        #: The container has a network namespace of its own (fresh /sys shows it).
        self.own_netns = False
        #: Behind the fence (see ``core.fence``): the root's filesystems are
        #: nodev, so a device node anywhere but the fresh /dev opens nothing;
        #: /sys/firmware is masked; without an overlay, /dev is fresh too.
        self.fenced = False
        #: /proc as behind the fence (``mount_proc``): with the fence, and under
        #: root's ``--rootless`` whatever the fence, where uid 0 inside is host
        #: root, whom /proc's kernel-wide files let in by their mode.
        self.proc_fenced = False
        #: In pycoz's user namespace (``core.userns``): the root is laid down by
        #: ``_lay_down_root`` from ``mounts``, every mount point below the
        #: base (all kinds), and /dev's nodes are the host's, bound.
        self.rootless = False
        self.mounts: tuple[tuple[str, str], ...] = ()


def set_propagation(kind: str) -> None:
    flag = {"slave": libc.MS_SLAVE, "private": libc.MS_PRIVATE}[kind]
    libc.mount(None, "/", None, libc.MS_REC | flag, what=f"cannot make mounts {kind} under")


def build_root(plan: RootPlan) -> None:
    """Make the new root under NEW_ROOT, pivot into it and detach the old one.

    Must run in a process that owns a fresh mount namespace.  On return the
    process's root and cwd are the new root; /proc is not mounted yet (it must be
    mounted from inside the new pid namespace).  Errors name paths as the
    container sees them.
    """
    try:
        _build_root(plan)
    except OSError as err:
        target = err.filename
        if isinstance(target, str):
            target = _outside(target)
        raise OSError(err.errno, err.strerror, target) from None


def bind_hosts_file(text: str, target: str) -> None:
    """A hosts file private to this container, bound over ``target``.

    Written in the staging tmpfs, so it lives exactly as long as the mount
    namespace and never touches a disk.
    """
    staged = f"{STAGING}/hosts"
    with open(staged, "w") as f:
        f.write(text)
    if not os.path.exists(target):
        _mkdirs(os.path.dirname(target))
        with open(target, "a"):
            pass
    libc.mount(staged, target, None, libc.MS_BIND, what="cannot bind hosts file on")


def mount_staging() -> None:
    libc.mount(
        "pycoz",
        STAGING,
        "tmpfs",
        libc.MS_NOSUID | libc.MS_NODEV,
        "mode=0755",
        what="cannot mount staging tmpfs on",
    )


def mount_tmpfs(target: str, options: str) -> None:
    """``--tmpfs DIR[:OPTIONS]``: an empty tmpfs, mode 0755 unless told otherwise."""
    _mkdirs(target)
    libc.mount(
        "tmpfs",
        target,
        "tmpfs",
        libc.MS_NOSUID | libc.MS_NODEV,
        options or "mode=0755",
        what="cannot mount tmpfs on",
    )


def build_light(plan: RootPlan) -> None:
    """The host's own filesystem, as ``ip netns exec`` shows it: only /etc/hosts
    (the topology's names) and /sys (the network namespace's devices) change,
    and /proc is remounted later for the new pid namespace.  Writes reach the
    host: this is ``--no-root``.
    """
    try:
        if plan.any_shared:
            set_propagation(plan.propagation)
        mount_staging()
        if plan.hosts_text is not None:
            bind_hosts_file(plan.hosts_text, "/etc/hosts")
        if plan.own_netns:
            mount_sysfs("/sys")
        elif plan.fenced:
            libc.mount("/sys", "/sys", None, libc.MS_BIND | libc.MS_REC, what="cannot bind")
            libc.make_readonly_recursive("/sys")
        if plan.fenced:
            # The host's /dev holds its disks: a fresh one, as in a throwaway root.
            make_dev("/dev", plan.rootless)
            mask_dirs("/sys", SYS_MASKED_DIRS)
        for src, dst, readonly in plan.binds:
            bind(src, dst, readonly)
        for dst, options in plan.tmpfs:
            mount_tmpfs(dst, options)
        # The staging tmpfs stays mounted on /proc: init mounts the new procfs on
        # top of it, which hides it just as well as an unmount, without the
        # unmount's RCU grace period.
    except OSError as err:
        raise OSError(err.errno, err.strerror, err.filename) from None


def _build_root(plan: RootPlan) -> None:
    if plan.any_shared:
        set_propagation(plan.propagation)
    mount_staging()
    os.mkdir(NEW_ROOT)

    if plan.rootless:
        _lay_down_root(plan)
    else:
        mount_overlay(plan.base, NEW_ROOT, layer_dirs(plan.upper, "", 0), _root_flags(plan))
        for index, entry in enumerate(plan.submounts, start=1):
            _layer_submount(plan, entry, index)

    for src, dst, readonly in plan.binds:
        bind(src, NEW_ROOT + dst, readonly)
    for dst, options in plan.tmpfs:
        mount_tmpfs(NEW_ROOT + dst, options)
    if plan.hosts_text is not None:
        bind_hosts_file(plan.hosts_text, NEW_ROOT + "/etc/hosts")
    make_dev(NEW_ROOT + "/dev", plan.rootless)
    _ensure_dir(NEW_ROOT + "/sys")
    if plan.own_netns or not plan.rootless:
        mount_sysfs(NEW_ROOT + "/sys")
    else:
        # In a user namespace sysfs can be mounted only by the owner of the
        # network namespace: the host's, read-only (what a fresh one shows).
        libc.mount("/sys", NEW_ROOT + "/sys", None, libc.MS_BIND | libc.MS_REC, what="cannot bind")
        libc.make_readonly_recursive(NEW_ROOT + "/sys")
    if plan.fenced:
        mask_dirs(NEW_ROOT + "/sys", SYS_MASKED_DIRS)
    _ensure_dir(NEW_ROOT + "/proc")
    if plan.rootless:
        # In a user namespace a fresh procfs is refused unless a fully visible
        # one is still there: mounted before the old root goes.
        mount_proc(plan.own_netns, plan.proc_fenced, NEW_ROOT + "/proc")
    pivot(NEW_ROOT)


def _lay_down_root(plan: RootPlan) -> None:
    """The base as overlays, in pycoz's user namespace (rootless mode).

    There every mount inherited from the host is locked to the ones below it,
    and overlayfs refuses a lower layer with locked mounts below it ("failed to
    clone lowerpath"), so one overlay over the base cannot be had.  Instead the
    tree is laid down level by level: a directory with no mount below it is one
    overlay of the host's; one with mounts below is a directory of the new
    root's own tmpfs whose entries are laid down the same way (symlinks made
    again, files bound read-only), and a mount point is laid down as its own
    filesystem.  On an ordinary system that is an overlay per top-level
    directory.
    """
    below = [mp for mp, _ in plan.mounts]
    if _mounts_below(below, plan.base):
        libc.mount(
            "pycoz-root", NEW_ROOT, "tmpfs", _root_flags(plan), "mode=0755", what="cannot mount"
        )
        _lay_down(plan, plan.base, NEW_ROOT, "", below, [0])
    else:
        _overlay_or_readonly(plan, plan.base, NEW_ROOT, "", 0)


def _mounts_below(mountpoints, path: str) -> bool:
    return any(mp != path and is_under(mp, path) for mp in mountpoints)


def _lay_down(plan: RootPlan, src: str, target: str, rel: str, below, counter) -> None:
    """Fill ``target`` (a directory of the new root's tmpfs) with ``src``'s entries."""
    pseudo = {mp for mp, fstype in plan.mounts if fstype in PSEUDO_FS}
    try:
        entries = list(os.scandir(src))
    except FileNotFoundError:
        return  # gone since the mount table was read: it stays empty
    for entry in entries:
        try:
            _lay_down_entry(plan, entry, target, rel, below, counter, pseudo)
        except FileNotFoundError:
            # Gone between the listing and its use (another program's temporary
            # directory, on a busy machine): not carried over.
            continue


def _lay_down_entry(plan: RootPlan, entry, target: str, rel: str, below, counter, pseudo) -> None:
    host, path, name = entry.path, f"{target}/{entry.name}", f"{rel}/{entry.name}"
    if any(name == r for r in REPLACED):
        os.mkdir(path, 0o755)
        return
    try:
        st = entry.stat(follow_symlinks=False)
    except OSError:
        return  # vanished
    if host in pseudo and not _mounts_below(below, host):
        # A pseudo filesystem (a named netns's nsfs, binfmt_misc...) is
        # not carried over: its mount point stays, empty.
        if stat.S_ISDIR(st.st_mode):
            os.mkdir(path, 0o755)
        else:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
        return
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(host), path)
    elif stat.S_ISDIR(st.st_mode):
        os.mkdir(path)
        os.chmod(path, stat.S_IMODE(st.st_mode))
        if _mounts_below(below, host):
            try:
                _lay_down(plan, host, path, name, below, counter)
            except PermissionError:
                # A directory the user cannot list (another user's, with a
                # mount below): what it can reach of it, read-only, as is.
                libc.mount(host, path, None, libc.MS_BIND | libc.MS_REC, what="cannot bind")
                libc.make_readonly_recursive(path)
        else:
            counter[0] += 1
            _overlay_or_readonly(plan, host, path, name, counter[0], st.st_mode)
    elif stat.S_ISREG(st.st_mode):
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
        libc.mount(host, path, None, libc.MS_BIND, what="cannot bind file on")
        libc.make_readonly_recursive(path)
    # sockets, FIFOs and device nodes are not carried over


def _overlay_or_readonly(plan: RootPlan, lower: str, target: str, rel: str, index, mode=None):
    """An overlay of ``lower`` on ``target``, or a read-only bind (with a warning)
    where the filesystem cannot be an overlay's lower layer."""
    try:
        mount_overlay(
            lower,
            target,
            layer_dirs(plan.upper, rel, index),
            _root_flags(plan),
            userxattr=plan.rootless,
            mode=None if mode is None else stat.S_IMODE(mode),
        )
    except OSError as err:
        if err.errno == 19:  # ENODEV: no overlayfs at all; the caller says so
            raise
        # Recursive: a mount made below it since the mount table was read (a
        # named topology's namespace under /run/netns) is locked to it in a user
        # namespace, and a plain bind of a tree with locked mounts is refused.
        libc.mount(lower, target, None, libc.MS_BIND | libc.MS_REC, what="cannot bind submount on")
        libc.make_readonly_recursive(target)
        warn(
            f"{lower or '/'} cannot be overlaid ({os.strerror(err.errno or 0)}); "
            "it is read-only in the container"
        )


def _layer_submount(plan: RootPlan, entry: MountEntry, index: int) -> None:
    rel = entry.mountpoint[len(plan.base) :] if plan.base != "/" else entry.mountpoint
    target = NEW_ROOT + rel
    try:
        st = os.lstat(entry.mountpoint)
    except OSError:
        return  # vanished, or hidden behind another mount
    if not stat.S_ISDIR(st.st_mode):
        # A file bind mount (resolv.conf in some containers): bind it read-only,
        # since an overlay needs a directory.
        _bind_file_readonly(entry.mountpoint, target)
        return
    if not os.path.isdir(target):
        return  # the mount point is hidden under another mount in the new root
    try:
        mount_overlay(
            entry.mountpoint, target, layer_dirs(plan.upper, rel, index), _root_flags(plan)
        )
    except OSError as err:
        # Some filesystems cannot be an overlay's lower layer (stacking depth,
        # some FUSE filesystems).  Read-only still keeps every write off the host.
        libc.mount(entry.mountpoint, target, None, libc.MS_BIND, what="cannot bind submount on")
        libc.mount(
            None,
            target,
            None,
            libc.MS_BIND | libc.MS_REMOUNT | libc.MS_RDONLY | _root_flags(plan),
            what="cannot make read-only",
        )
        warn(
            f"{entry.mountpoint} ({entry.fstype}) cannot be overlaid "
            f"({os.strerror(err.errno or 0)}); it is read-only in the container"
        )


def _root_flags(plan: RootPlan) -> int:
    """Mount flags of the root's own filesystems: nodev behind the fence."""
    return libc.MS_NODEV if plan.fenced else 0


def mount_sysfs(target: str) -> None:
    """A read-only sysfs (the network namespace's devices; no writes to the kernel)."""
    libc.mount(
        "sysfs",
        target,
        "sysfs",
        libc.MS_RDONLY | libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC,
        what="cannot mount sysfs on",
    )


def _bind_file_readonly(src: str, target: str) -> None:
    if not os.path.exists(target):
        return
    libc.mount(src, target, None, libc.MS_BIND, what="cannot bind file on")
    libc.mount(
        None,
        target,
        None,
        libc.MS_BIND | libc.MS_REMOUNT | libc.MS_RDONLY,
        what="cannot make read-only",
    )


def bind(src: str, target: str, readonly: bool) -> None:
    """Bind ``src`` (a host path) over ``target``, creating the mount point."""
    if os.path.isdir(src):
        _mkdirs(target)
    elif not os.path.exists(target):
        _mkdirs(os.path.dirname(target))
        try:
            with open(target, "a"):
                pass
        except OSError as err:
            raise OSError(err.errno, "cannot create bind mount point", _outside(target)) from None
    libc.mount(src, target, None, libc.MS_BIND | libc.MS_REC, what=f"cannot bind {src} on")
    if readonly:
        try:
            libc.make_readonly_recursive(target)
        except OSError as err:
            raise OSError(err.errno, "cannot make read-only", _outside(target)) from None


def make_dev(dev: str, rootless: bool = False) -> None:
    """A fresh minimal /dev: a tmpfs with the usual nodes, a new devpts, shm.

    ``rootless``: in a user namespace, where mknod(2) of a device is refused,
    the nodes are empty files with the host's node bound on each (as bubblewrap
    does), and devpts has no tty group (gid 5 may not exist in the namespace).
    """
    console = _stage_console()  # before a fresh /dev can hide the terminal's name
    host_nodes = _stage_host_nodes(dev) if rootless else {}
    _ensure_dir(dev)
    libc.mount(
        "tmpfs",
        dev,
        "tmpfs",
        libc.MS_NOSUID,
        "mode=0755,size=64k",
        what="cannot mount /dev tmpfs on",
    )
    old_umask = os.umask(0)
    try:
        for name, (major, minor) in DEV_NODES.items():
            path = f"{dev}/{name}"
            try:
                if rootless:
                    os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o666))
                else:
                    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(major, minor))
            except OSError as err:
                raise OSError(err.errno, "cannot create device node", _outside(path)) from None
            if rootless:
                libc.mount(host_nodes[name], path, None, libc.MS_BIND, what="cannot bind device on")
        for name, link in DEV_LINKS.items():
            os.symlink(link, f"{dev}/{name}")
        os.mkdir(f"{dev}/pts", 0o755)
        os.mkdir(f"{dev}/shm", 0o1777)
        os.mkdir(f"{dev}/mqueue", 0o1777)
    finally:
        os.umask(old_umask)
    # The IPC namespace's own POSIX message queues (mq_open(3) looks here).
    libc.mount(
        "mqueue",
        f"{dev}/mqueue",
        "mqueue",
        libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC,
        what="cannot mount mqueue on",
    )
    libc.mount(
        "devpts",
        f"{dev}/pts",
        "devpts",
        libc.MS_NOSUID | libc.MS_NOEXEC,
        "newinstance,ptmxmode=0666,mode=0620" + ("" if rootless else ",gid=5"),
        what="cannot mount devpts on",
    )
    libc.mount(
        "shm",
        f"{dev}/shm",
        "tmpfs",
        libc.MS_NOSUID | libc.MS_NODEV,
        "mode=1777",
        what="cannot mount tmpfs on",
    )
    if console is not None:
        _bind_file(console, f"{dev}/console", "cannot bind the terminal on")


def _stage_host_nodes(dev: str) -> dict[str, str]:
    """Where the host's device nodes are bound from (rootless mode): /dev itself,
    unless the fresh /dev goes over it (no overlay root: ``net run``), whose tmpfs
    would then hide them; they are staged first then, as the terminal is."""
    if os.path.realpath(dev) != "/dev":
        return {name: f"/dev/{name}" for name in DEV_NODES}
    staged = {}
    for name in DEV_NODES:
        staged[name] = f"{STAGING}/dev-{name}"
        _bind_file(f"/dev/{name}", staged[name], "cannot bind device on")
    return staged


def _stage_console() -> str | None:
    """The terminal pycoz runs on, bound in the staging tmpfs; None without one.

    It goes on /dev/console, as bubblewrap does: the container's devpts is a
    new instance, so the terminal's own /dev/pts/N is not there, and ``tty``
    then names /dev/console.  It is staged first because its name resolves
    only while the host's /dev is in view, which a fresh /dev over /dev (no
    overlay root) ends; a bind of /proc/self/fd/N would not do, its mount being
    the host namespace's.
    """
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd):
                name = os.ttyname(fd)
                break
        except OSError:
            continue
    else:
        return None
    staged = f"{STAGING}/console"
    _bind_file(name, staged, f"cannot bind terminal {name} on")
    return staged


def _bind_file(src: str, target: str, what: str) -> None:
    with open(target, "w"):
        pass
    libc.mount(src, target, None, libc.MS_BIND, what=what)


def pivot(new_root: str) -> None:
    """pivot_root into ``new_root`` and detach the old root.

    ``pivot_root(".", ".")`` stacks the old root on top of the new one at "/",
    so one lazy unmount of "." removes it without needing a put_old directory.
    """
    os.chdir(new_root)
    libc.pivot_root(".", ".")
    libc.umount2(".", libc.MNT_DETACH)
    os.chdir("/")


def mount_proc(own_netns: bool = False, fenced: bool = False, top: str = "/proc") -> None:
    """A fresh procfs for the current pid namespace (call from inside it).

    The kernel-wide knobs under /proc stay read-only, as in docker: /proc/sys
    (kernel.*, vm.* ... are not namespaced, so a write would change the host) and
    /proc/sysrq-trigger.  With a network namespace of its own the container may
    still tune /proc/sys/net, which then belongs to it alone.  Behind the fence,
    what tells of the host's kernel or reaches its hardware is masked as docker
    masks it (``PROC_MASKED``) or read-only (``PROC_READONLY``).

    ``top``: where to mount it; the rootless root mounts it in the new root
    before the old one is detached (see ``_build_root``).
    """
    libc.mount(
        "proc",
        top,
        "proc",
        libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC,
        what="cannot mount proc on",
    )
    for name in PROC_READONLY if fenced else PROC_READONLY[:2]:
        path = top + name[len("/proc") :]
        if os.path.exists(path):  # no sysrq-trigger without CONFIG_MAGIC_SYSRQ
            _bind_readonly(path)
    if own_netns:
        # A bind of a read-only mount is read-only too: made writable again.
        net = f"{top}/sys/net"
        libc.mount(net, net, None, libc.MS_BIND | libc.MS_REC, what="cannot bind")
        libc.mount(
            None,
            net,
            None,
            libc.MS_BIND | libc.MS_REMOUNT | libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC,
            what="cannot make writable",
        )
    if fenced:
        for name in PROC_MASKED:
            path = top + name[len("/proc") :]
            if os.path.isfile(path):
                libc.mount("/dev/null", path, None, libc.MS_BIND, what="cannot mask")
        mask_dirs(top, PROC_MASKED_DIRS)


#: Read-only behind the fence (the first two always).
PROC_READONLY = ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs")
#: Files hidden behind /dev/null: the host's keys, timers, kernel memory and log.
PROC_MASKED = (
    "/proc/kcore",
    "/proc/keys",
    "/proc/key-users",
    "/proc/kmsg",
    "/proc/timer_list",
    "/proc/sched_debug",
    "/proc/latency_stats",
    "/proc/vmallocinfo",
)
#: Directories hidden behind an empty read-only tmpfs.
PROC_MASKED_DIRS = ("acpi", "scsi", "asound", "driver")
#: RAPL energy counters under powercap tell what the host computes (Platypus,
#: CVE-2020-8694); docker masks them too.
SYS_MASKED_DIRS = ("firmware", "devices/virtual/powercap")


def mask_dirs(top: str, names) -> None:
    """An empty read-only tmpfs over each of ``top``/NAME that exists."""
    for name in names:
        path = f"{top}/{name}"
        if os.path.isdir(path):
            libc.mount(
                "pycoz-masked",
                path,
                "tmpfs",
                libc.MS_RDONLY | libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC,
                "size=0,mode=0555",
                what="cannot mask",
            )


def _bind_readonly(path: str) -> None:
    libc.mount(path, path, None, libc.MS_BIND | libc.MS_REC, what="cannot bind")
    libc.mount(
        None,
        path,
        None,
        libc.MS_BIND
        | libc.MS_REMOUNT
        | libc.MS_RDONLY
        | libc.MS_NOSUID
        | libc.MS_NODEV
        | libc.MS_NOEXEC,
        what="cannot make read-only",
    )
