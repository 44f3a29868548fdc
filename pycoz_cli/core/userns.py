"""Rootless mode: pycoz enters a user namespace of its own, in which it is root.

An ordinary user may create a user namespace and be uid 0 in it, with every
capability over the namespaces it then makes: mount, pid, UTS, IPC and network
namespaces made *after* entering it are owned by it, so everything pycoz does as
root (the throwaway root, topologies, the tracer as init) it can do there, and
nothing of the host's is within reach.  This is what ``unshare -r``, bubblewrap
and rootless podman do.  pycoz enters one by itself when it is not root, and as
root with ``--rootless`` (then uid 0 inside is uid 0 outside, but without any
power over the host's namespaces: an extra fence).

The caller itself enters it, early, while it is single-threaded (unshare(2)
refuses CLONE_NEWUSER in a multi-threaded process): the topology's network
namespaces, the container's pid namespace and everything after belong to it.

uid and gid maps:

* the user's subordinate ranges (``/etc/subuid``, ``/etc/subgid``) when they exist
  and ``newuidmap``/``newgidmap`` are installed: uid 0 inside is the user, uids
  1..N are the range, so ``chown``, ``apt-get`` and services with users of their
  own work inside.  The set-uid helpers must run outside the namespace: a child
  forked before ``unshare`` runs them once the parent is in it.
* otherwise one mapping, written by pycoz itself: uid 0 inside is the user and no
  other uid exists (``setgroups`` is denied, as the kernel requires).

In both, files of other users (root's included) show as ``nobody`` inside and
cannot be changed in place: a user namespace gives no power over them.
"""

from __future__ import annotations

import errno
import os

from pycoz_cli.errors import SetupError

#: Set once pycoz has entered its user namespace: (uid, gid outside, mapping kind).
_entered: tuple[int, int, str] | None = None


def active() -> bool:
    """True once this process runs in pycoz's own user namespace (rootless mode)."""
    return _entered is not None


def mapping() -> str:
    """How ids are mapped: "subordinate ids" or "single uid" ("" when not rootless)."""
    return _entered[2] if _entered else ""


def wanted(forced: bool = False) -> bool:
    """Rootless mode is used when pycoz is not root, or when asked for."""
    return forced or os.geteuid() != 0


def ensure(forced: bool = False) -> bool:
    """Enter pycoz's user namespace if rootless mode is wanted and not yet entered.

    Returns whether pycoz is in rootless mode.  Raises SetupError with the one
    setting that stops it when user namespaces are not allowed here.
    """
    if _entered is not None:
        return True
    if not wanted(forced):
        return False
    enter()
    return True


def enter() -> None:
    """unshare(CLONE_NEWUSER) and map uid/gid 0 inside to the caller's."""
    global _entered
    from pycoz_cli.core import libc

    uid, gid = os.geteuid(), os.getegid()
    ranges = subordinate_ranges(uid)
    helper = _start_map_helper(uid, gid, ranges) if ranges else None
    try:
        libc.unshare(libc.CLONE_NEWUSER)
    except OSError as err:
        if helper is not None:
            _stop_helper(helper, go=False)
        raise SetupError(why_refused("unshare(CLONE_NEWUSER)", err), err.errno) from None
    if helper is not None:
        _stop_helper(helper, go=True)
        _entered = (uid, gid, "subordinate ids")
        return
    try:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"0 {uid} 1\n")
        _write("/proc/self/gid_map", f"0 {gid} 1\n")
    except OSError as err:
        raise SetupError(why_refused("writing /proc/self/uid_map", err), err.errno) from None
    _entered = (uid, gid, "single uid")


def join(pid: int, what: str, start: str | None = None) -> None:
    """Enter the user namespace of process ``pid`` (a rootless topology's holder,
    ``core.holder``), instead of making one.

    ``start``: the holder's recorded start time.  The namespace is opened first
    and the process checked after: the fd then surely is the holder's (a pid
    reused meanwhile fails the check), and nothing is joined before the check.
    The kernel lets the namespace's owner in with every capability there, if the
    caller is single-threaded; its uid and gid maps are the holder's.
    """
    global _entered
    from pycoz_cli.core import libc
    from pycoz_cli.core.process import running

    path = f"/proc/{pid}/ns/user"
    uid, gid = os.geteuid(), os.getegid()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as err:
        raise OSError(err.errno, "cannot open the user namespace of", what) from None
    try:
        if start is not None and not running(pid, start):
            raise SetupError(f"{what}: the process is gone (its pid is another's now)")
        theirs, ours = os.fstat(fd), os.stat("/proc/self/ns/user")
        if (theirs.st_dev, theirs.st_ino) != (ours.st_dev, ours.st_ino):
            if _entered is not None:
                raise SetupError(f"{what}: pycoz is already in a user namespace of its own")
            try:
                libc.setns(fd, libc.CLONE_NEWUSER)
            except OSError as err:
                raise SetupError(
                    why_refused(f"setns(CLONE_NEWUSER) into {what}", err), err.errno
                ) from None
        elif _entered is not None:
            return  # in it already: joined before
    finally:
        os.close(fd)
    with open(f"/proc/{pid}/uid_map") as f:
        kind = "single uid" if len(f.read().splitlines()) == 1 else "subordinate ids"
    _entered = (uid, gid, kind)


#: Programs that install software: they write the root's package database
#: (files of root's) and chown to service users of their own.
INSTALLERS = frozenset(
    {"apt", "apt-get", "aptitude", "dpkg", "dnf", "yum", "rpm", "zypper", "apk", "pacman"}
)


def limits() -> str:
    """What this mapping cannot do, in one line (rootless mode only)."""
    if mapping() == "single uid":
        ids = (
            "one uid (no range of the user's in /etc/subuid and /etc/subgid, or no "
            "newuidmap/newgidmap): chown to another user, setuid to one and services "
            "with users of their own fail (EINVAL)"
        )
    else:
        ids = "uid 0 is the user, 1..N the user's /etc/subuid range"
    return (
        f"{ids}; files of the host's root cannot be changed (EACCES, EOVERFLOW when "
        "copied up): give package managers a root of your own with --base DIR"
    )


def installer_note(argv, base: str, overlay: bool) -> str | None:
    """One line when a package manager is about to fail for a reason of rootless
    mode's (over the host's root, or with one uid); None otherwise."""
    if not active() or not argv:
        return None
    program = os.path.basename(argv[0])
    if program not in INSTALLERS:
        return None
    if overlay and os.path.realpath(base) == "/":
        return (
            f"pycoz: rootless: {program} cannot change the host's own files (root's, "
            "which no user namespace maps: writing them fails with EACCES, copying them "
            "up with EOVERFLOW): give it a root filesystem of your own with --base DIR"
        )
    if mapping() == "single uid":
        return (
            f"pycoz: rootless with one uid: {program}'s service users and chown to them "
            "fail (EINVAL): give the user a range in /etc/subuid and /etc/subgid "
            "(useradd does) and install newuidmap/newgidmap (Debian's uidmap)"
        )
    return None


def _maps() -> list[list[tuple[int, int, int]]]:
    """This process's uid and gid maps: (inside, outside, count) lines of each."""
    maps = []
    for name in ("uid_map", "gid_map"):
        with open(f"/proc/self/{name}") as f:
            lines = [line.split() for line in f.read().splitlines() if line.strip()]
        maps.append([(int(a), int(b), int(n)) for a, b, n in lines])
    return maps


def maps_host_root() -> bool:
    """Whether host root's uid or gid is an id in pycoz's user namespace (root's
    ``--rootless``): then files and knobs of the kernel that check the uid and
    mode, not a capability (/proc/sys, /proc/irq, sysfs), let root inside in."""
    return _entered is not None and any(
        outside <= 0 < outside + count for m in _maps() for _, outside, count in m
    )


def nested_maps() -> tuple[str, str] | None:
    """The uid and gid maps of a user namespace nested in pycoz's own, when the
    container's mounts must be locked (``core.fence``): None unless host root's
    uid or gid is an id in pycoz's user namespace (``maps_host_root``).

    The nested maps are the identity over the ids pycoz's namespace has.  Only a
    single mapping may be written by the process that made the namespace (the
    kernel's rule for a writer without CAP_SETUID in the parent namespace,
    user_namespaces(7)), and root's namespace always has one (``enter``): more
    is refused here, so the fence fails closed rather than open.
    """
    if not maps_host_root():
        return None
    maps = _maps()
    if any(len(m) != 1 for m in maps):
        raise SetupError(
            "rootless mode: host root's ids are mapped with more than one range, and "
            "the nested user namespace that locks the container's mounts can map one only"
        )
    return tuple(f"{inside} {inside} {count}\n" for ((inside, _, count),) in maps)


def outer_uid() -> int:
    """The user's uid on the host, also once in pycoz's user namespace."""
    return _entered[0] if _entered else os.geteuid()


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


# --- subordinate ids ------------------------------------------------------------


def subordinate_ranges(uid: int) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """((uid start, count), (gid start, count)) of the user, or None.

    None when either file has no range for the user (by name or number), or
    when newuidmap/newgidmap are not installed: one mapping is used then.
    """
    if uid == 0:
        return None
    import shutil  # here, not at the top: pycoz root imports this module on every start

    if not (shutil.which("newuidmap") and shutil.which("newgidmap")):
        return None
    import pwd

    try:
        names = {str(uid), pwd.getpwuid(uid).pw_name}
    except KeyError:
        names = {str(uid)}
    found = []
    for path in ("/etc/subuid", "/etc/subgid"):
        found.append(_first_range(path, names))
        if found[-1] is None:
            return None
    return found[0], found[1]


def _first_range(path: str, names: set[str]) -> tuple[int, int] | None:
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.strip().split(":")
        if len(fields) != 3 or fields[0] not in names:
            continue
        if fields[1].isdigit() and fields[2].isdigit() and int(fields[2]) > 0:
            return int(fields[1]), int(fields[2])
    return None


def _start_map_helper(uid: int, gid: int, ranges) -> tuple[int, int]:
    """Fork the helper that writes the maps with newuidmap/newgidmap.

    It waits for a byte on a pipe (the parent has entered its namespace: the
    helper, forked before, stays outside it, where the set-uid helpers work),
    then runs both and exits with 0 only if both succeeded.
    """
    (ustart, ucount), (gstart, gcount) = ranges
    target = str(os.getpid())
    uid_args = ["newuidmap", target, "0", str(uid), "1", "1", str(ustart), str(ucount)]
    gid_args = ["newgidmap", target, "0", str(gid), "1", "1", str(gstart), str(gcount)]
    go_r, go_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the helper
        code = 1
        try:
            os.close(go_w)
            if os.read(go_r, 1) == b"1":
                code = 0
                for args in (uid_args, gid_args):
                    child = os.posix_spawnp(args[0], args, os.environ)
                    _, status = os.waitpid(child, 0)
                    if os.waitstatus_to_exitcode(status) != 0:
                        code = 1
                        break
        finally:
            os._exit(code)
    os.close(go_r)
    return pid, go_w


def _stop_helper(helper, go: bool) -> None:
    pid, go_w = helper
    try:
        os.write(go_w, b"1" if go else b"0")
    finally:
        os.close(go_w)
    _, status = os.waitpid(pid, 0)
    if go and os.waitstatus_to_exitcode(status) != 0:
        raise SetupError(
            "newuidmap/newgidmap could not map the subordinate ids of /etc/subuid and "
            "/etc/subgid into pycoz's user namespace (see their message above)"
        )


# --- why user namespaces are refused --------------------------------------------


def _read_setting(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def why_refused(what: str, err: OSError) -> str:
    """One line: which setting stops unprivileged user namespaces, and what to do."""
    from pycoz_cli.errors import describe_errno

    head = f"rootless mode: {what} failed: {describe_errno(err.errno)}"
    if _read_setting("/proc/sys/kernel/unprivileged_userns_clone") == "0":
        return (
            f"{head}; the sysctl kernel.unprivileged_userns_clone=0 disables user namespaces "
            "for ordinary users: set it to 1 (as root), or run pycoz as root"
        )
    limit = _read_setting("/proc/sys/user/max_user_namespaces")
    if limit == "0":
        return (
            f"{head}; the sysctl user.max_user_namespaces=0 disables user namespaces: "
            "set it above 0 (as root), or run pycoz as root"
        )
    if err.errno == errno.ENOSPC:  # the limit is reached
        return (
            f"{head}; the limit user.max_user_namespaces={limit} is reached: raise it "
            "(as root) or end other containers"
        )
    if _read_setting("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1":
        return (
            f"{head}; AppArmor restricts unprivileged user namespaces "
            "(kernel.apparmor_restrict_unprivileged_userns=1): allow them for python3 "
            "with an AppArmor profile (as Ubuntu documents), or run pycoz as root"
        )
    status = _read_setting("/proc/self/status") or ""
    threads = [line.split()[1] for line in status.splitlines() if line.startswith("Threads:")]
    if err.errno == errno.EINVAL and threads and threads[0] != "1":
        return (
            f"{head}; the process has {threads[0]} threads, and a user namespace can only "
            "be entered by a single-threaded one: make pycoz's first container or network "
            "before starting threads"
        )
    if err.errno == errno.EPERM:  # none of the above: seccomp, SELinux, a chroot
        return (
            f"{head}; user namespaces are not allowed here (a seccomp filter, an SELinux "
            "policy, a chroot or a container runtime forbids them): run pycoz as root"
        )
    return head
