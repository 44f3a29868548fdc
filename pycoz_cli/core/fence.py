"""The fence: root inside a container has power over the container's own namespaces only.

A container's init applies the fence to itself right before it starts the command,
once it has built the root and mounted /proc, so everything the command and its
descendants do is fenced, and init keeps the power it needs to have built them.
It is made of five parts, each closing a path the others leave open:

* **Capabilities.** The bounding set keeps what a root user needs inside a
  throwaway machine (file ownership, setuid/setgid, binding low ports, raw
  sockets, signalling its own processes) and, in a network namespace of its own,
  CAP_NET_ADMIN (``ip``, ``tc``, ``net.*`` sysctls there).  Gone: CAP_SYS_ADMIN
  (mounts, namespaces), CAP_MKNOD (device nodes), CAP_SYS_PTRACE (ptrace of init
  and other non-dumpable processes), CAP_SYS_TIME, CAP_SYSLOG, CAP_SYS_MODULE,
  CAP_DAC_READ_SEARCH (open_by_handle_at), CAP_NET_ADMIN on the host's network...
  Root keeps uid 0: after exec its capabilities are the bounding set, and the
  inheritable and ambient sets are emptied so that nothing comes back.
* **A seccomp deny list** for what capabilities do not cover or what a kernel
  bug would turn into an escape: keyrings (not namespaced), TIOCSTI/TIOCLINUX
  (input into pycoz's own terminal, bubblewrap's CVE-2017-5226), namespace
  creation (user namespaces included), the mount API, bpf, perf, kexec, modules,
  and every syscall of another ABI (i386, x32), which would bypass a filter
  written for the native numbers.  A rule whose capability was added back
  (``--cap-add SYS_ADMIN``) is left out, as Docker's profile does.
* **init is not dumpable**, so neither /proc/1/fd (its result pipe) nor
  pidfd_getfd nor ptrace reach the one process that keeps full power.
* **Landlock scoping** (Linux 6.12+): without a network namespace of its own the
  container cannot connect to the host's abstract unix sockets.
* **Locked mounts** where root inside keeps CAP_SYS_ADMIN (``--privileged``,
  ``--cap-add SYS_ADMIN``) in a user namespace that maps host root (root's
  ``--rootless``): see ``nest``.

``--privileged`` turns all of it off; ``--cap-add``/``--cap-drop`` and
``--seccomp-deny`` adjust it.  Resource limits (``--memory``, ``--pids``,
``--cpus``) are in ``core.cgroups``.

The seccomp program is classic BPF written here: the rules are a short deny list
(two instructions a syscall, three for a flag test) that pycoz's cffi bindings
install directly.  pyseccomp, the one Python binding of libseccomp on PyPI, has
not been released since 2021 and would add ctypes (3 ms) to every start-up that
the fence must not cost (bench/bench_root.py measures it).
"""

from __future__ import annotations

import errno as _errno
import functools
import os

#: capabilities(7), by number (Linux 5.9+ knows all 41).
CAPABILITIES = (
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
)
CAP_NUMBERS = {name: number for number, name in enumerate(CAPABILITIES)}

#: What root keeps inside: Docker's default set without CAP_MKNOD (a device node
#: is what the fresh /dev is for; Docker needs a device cgroup to make MKNOD safe).
DEFAULT_CAPS = frozenset(
    {
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "SETGID",
        "SETUID",
        "SETPCAP",
        "SETFCAP",
        "NET_BIND_SERVICE",
        "NET_RAW",
        "SYS_CHROOT",
        "AUDIT_WRITE",
    }
)
#: Added when the container has a network namespace of its own: it is theirs.
OWN_NETNS_CAPS = frozenset({"NET_ADMIN"})

# Namespace flags of clone(2) and unshare(2); CLONE_NEWTIME (0x80) is unshare's
# only: in clone's flags those bits are the exit signal.
_NS_FLAGS_CLONE = 0x7E020000
_NS_FLAGS_UNSHARE = _NS_FLAGS_CLONE | 0x80
TIOCSTI = 0x5412
TIOCLINUX = 0x541C

#: The deny list: (capability that lifts the rule or None, syscalls, errno).
#: Names missing from the running architecture's table are skipped.
DENIED = (
    (
        "SYS_ADMIN",
        (
            "mount",
            "umount2",
            "pivot_root",
            "fsopen",
            "fsconfig",
            "fsmount",
            "fspick",
            "move_mount",
            "open_tree",
            "open_tree_attr",
            "mount_setattr",
            "setns",
            "quotactl",
            "quotactl_fd",
            "lookup_dcookie",
            "fanotify_init",
            "swapon",
            "swapoff",
        ),
        _errno.EPERM,
    ),
    # clone3's flags are in a struct seccomp cannot read: ENOSYS, and glibc
    # falls back to clone, whose flags it can.
    ("SYS_ADMIN", ("clone3",), _errno.ENOSYS),
    (
        "SYS_MODULE",
        (
            "init_module",
            "finit_module",
            "delete_module",
            "create_module",
            "query_module",
            "get_kernel_syms",
        ),
        _errno.EPERM,
    ),
    ("SYS_BOOT", ("reboot", "kexec_load", "kexec_file_load"), _errno.EPERM),
    ("SYS_TIME", ("settimeofday", "clock_settime", "stime"), _errno.EPERM),
    ("SYS_PACCT", ("acct",), _errno.EPERM),
    ("SYS_RAWIO", ("iopl", "ioperm"), _errno.EPERM),
    ("SYSLOG", ("syslog",), _errno.EPERM),
    ("BPF", ("bpf",), _errno.EPERM),
    ("PERFMON", ("perf_event_open",), _errno.EPERM),
    ("DAC_READ_SEARCH", ("open_by_handle_at", "name_to_handle_at"), _errno.EPERM),
    ("SYS_PTRACE", ("userfaultfd",), _errno.EPERM),
    # Keyrings are not namespaced: host root's user keyring is uid 0's.
    (None, ("add_key", "keyctl", "request_key"), _errno.EPERM),
    (None, ("uselib", "ustat", "sysfs", "_sysctl", "nfsservctl", "vm86", "vm86old"), _errno.EPERM),
)
#: Rules on an argument: (lifting capability, syscall, argument index, test, values).
#: "set": deny when any bit of the value is set; "eq": when the low 32 bits equal one
#: of the values (an ioctl's request is an unsigned int; its high bits are ignored).
ARG_RULES = (
    ("SYS_ADMIN", "unshare", 0, "set", (_NS_FLAGS_UNSHARE,)),
    ("SYS_ADMIN", "clone", 0, "set", (_NS_FLAGS_CLONE,)),
    (None, "ioctl", 1, "eq", (TIOCSTI, TIOCLINUX)),
)

# Classic BPF and seccomp constants (linux/filter.h, linux/seccomp.h).
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
_X32_BIT = 0x40000000
_MACHINE = os.uname().machine
_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(
    _MACHINE, _MACHINE
)
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}.get(_ARCH)

#: The deny list's syscall numbers, per architecture: the fence is on every start-up's
#: path, and the full tables (``trace.syscalls``) cost ~0.5 ms to import there.
#: tests/unit/test_fence.py checks that they are the generated tables' numbers.
FENCE_NUMBERS = {
    "x86_64": {
        "_sysctl": 156,
        "acct": 163,
        "add_key": 248,
        "bpf": 321,
        "clock_settime": 227,
        "clone": 56,
        "clone3": 435,
        "create_module": 174,
        "delete_module": 176,
        "fanotify_init": 300,
        "finit_module": 313,
        "fsconfig": 431,
        "fsmount": 432,
        "fsopen": 430,
        "fspick": 433,
        "get_kernel_syms": 177,
        "init_module": 175,
        "ioctl": 16,
        "ioperm": 173,
        "iopl": 172,
        "kexec_file_load": 320,
        "kexec_load": 246,
        "keyctl": 250,
        "lookup_dcookie": 212,
        "mount": 165,
        "mount_setattr": 442,
        "move_mount": 429,
        "name_to_handle_at": 303,
        "nfsservctl": 180,
        "open_by_handle_at": 304,
        "open_tree": 428,
        "open_tree_attr": 467,
        "perf_event_open": 298,
        "pivot_root": 155,
        "query_module": 178,
        "quotactl": 179,
        "quotactl_fd": 443,
        "reboot": 169,
        "request_key": 249,
        "setns": 308,
        "settimeofday": 164,
        "swapoff": 168,
        "swapon": 167,
        "sysfs": 139,
        "syslog": 103,
        "umount2": 166,
        "unshare": 272,
        "uselib": 134,
        "userfaultfd": 323,
        "ustat": 136,
    },
    "aarch64": {
        "acct": 89,
        "add_key": 217,
        "bpf": 280,
        "clock_settime": 112,
        "clone": 220,
        "clone3": 435,
        "delete_module": 106,
        "fanotify_init": 262,
        "finit_module": 273,
        "fsconfig": 431,
        "fsmount": 432,
        "fsopen": 430,
        "fspick": 433,
        "init_module": 105,
        "ioctl": 29,
        "kexec_file_load": 294,
        "kexec_load": 104,
        "keyctl": 219,
        "lookup_dcookie": 18,
        "mount": 40,
        "mount_setattr": 442,
        "move_mount": 429,
        "name_to_handle_at": 264,
        "nfsservctl": 42,
        "open_by_handle_at": 265,
        "open_tree": 428,
        "open_tree_attr": 467,
        "perf_event_open": 241,
        "pivot_root": 41,
        "quotactl": 60,
        "quotactl_fd": 443,
        "reboot": 142,
        "request_key": 218,
        "setns": 268,
        "settimeofday": 170,
        "swapoff": 225,
        "swapon": 224,
        "syslog": 116,
        "umount2": 39,
        "unshare": 97,
        "userfaultfd": 282,
    },
}


def parse_cap(name: str, option: str) -> str | None:
    """``CAP_NET_ADMIN``, ``net_admin`` -> ``NET_ADMIN``; ``ALL`` -> None."""
    from pycoz_cli.errors import SpecError

    key = name.strip().upper()
    if key == "ALL":
        return None
    key = key.removeprefix("CAP_")
    if key not in CAP_NUMBERS:
        raise SpecError(f"{option} {name}: no such capability (see capabilities(7))")
    return key


def parse_deny(text: str) -> tuple[str, int]:
    """``--seccomp-deny SYSCALL[:ERRNO]`` -> (name, errno); ENOSYS by default.

    ENOSYS, not EPERM, by default: the use is to see how a program copes without
    a call, and "this kernel has no such call" is what programs have fallbacks for
    (glibc for clone3, liburing for io_uring_setup); EPERM is often fatal to them.
    """
    from pycoz_cli.core.trace.syscalls import NUMBERS
    from pycoz_cli.errors import SpecError

    name, sep, err = text.partition(":")
    if name not in NUMBERS:
        raise SpecError(f"--seccomp-deny {text}: no syscall {name!r} on {_MACHINE}")
    if not sep:
        return name, _errno.ENOSYS
    code = getattr(_errno, err.upper(), None) if not err.isdigit() else int(err)
    if not isinstance(code, int) or not 0 < code < 4096:
        raise SpecError(f"--seccomp-deny {text}: {err!r} is not an errno name (EPERM, ENOSYS...)")
    return name, code


class Fence:
    """The fence of one container, as asked for: checked before anything is made.

    ``privileged`` turns off the fence's own parts (the user's ``seccomp_deny``
    and ``cap_drop`` still apply); ``cap_add``/``cap_drop`` take capability names
    (with or without ``CAP_``, any case, or ``ALL``); ``seccomp_deny`` takes
    ``SYSCALL[:ERRNO]`` strings.
    """

    __slots__ = ("cap_add", "cap_drop", "privileged", "seccomp_deny")

    def __init__(self, privileged=False, cap_add=(), cap_drop=(), seccomp_deny=()):
        self.privileged = bool(privileged)
        self.cap_add = tuple(cap_add)
        self.cap_drop = tuple(cap_drop)
        self.seccomp_deny = tuple(seccomp_deny)

    def __repr__(self) -> str:
        return (
            f"Fence(privileged={self.privileged}, cap_add={self.cap_add!r}, "
            f"cap_drop={self.cap_drop!r}, seccomp_deny={self.seccomp_deny!r})"
        )

    def validate(self) -> None:
        self.capabilities(own_netns=False)
        for text in self.seccomp_deny:
            parse_deny(text)

    def capabilities(self, own_netns: bool) -> frozenset:
        """The names root keeps inside (the bounding set)."""
        caps = set(CAPABILITIES) if self.privileged else set(DEFAULT_CAPS)
        if own_netns and not self.privileged:
            caps |= OWN_NETNS_CAPS
        for name in self.cap_add:
            cap = parse_cap(name, "--cap-add")
            caps |= set(CAPABILITIES) if cap is None else {cap}
        for name in self.cap_drop:
            cap = parse_cap(name, "--cap-drop")
            caps -= set(CAPABILITIES) if cap is None else {cap}
        return frozenset(caps)

    def plan(self, own_netns: bool) -> FencePlan:
        """What init applies (see ``FencePlan.apply``), computed in the caller."""
        caps = self.capabilities(own_netns)
        plan = FencePlan()
        plan.dumpable = self.privileged
        if "SYS_ADMIN" in caps:
            from pycoz_cli.core import userns

            plan.nest = userns.nested_maps()
        # A capability newer than this table (cap_last_cap beyond it) is dropped
        # unless every known one is kept: the fence fails closed.
        keep_unknown = caps >= set(CAPABILITIES)
        known = len(CAPABILITIES)
        plan.drop = tuple(
            number
            for number in range(_last_cap() + 1)
            if (CAPABILITIES[number] not in caps if number < known else not keep_unknown)
        )
        if not self.privileged:
            plan.program = prepare(_packed_fence(caps))
            # Signals always: the command shares pycoz's process group (job
            # control), and kill(0) or kill(-pgid) would otherwise reach the host
            # processes of that group (the shell or test runner that started
            # pycoz) across the pid namespace.  Abstract sockets without a
            # network namespace of its own.
            scope = _LANDLOCK_SCOPE_SIGNAL
            if not own_netns:
                scope |= _LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
            plan.landlock_fd = _landlock_ruleset(scope)
        if self.seccomp_deny:
            packed = pack(deny_program(parse_deny(t) for t in self.seccomp_deny))
            plan.user_program = prepare(packed)
        return plan


@functools.lru_cache(maxsize=16)
def _packed_fence(caps: frozenset) -> bytes:
    """The fence's program for ``caps``, packed: made once per set of capabilities
    (the API starts many containers with the same fence)."""
    return pack(fence_program(caps))


@functools.cache
def _last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except (OSError, ValueError):
        return len(CAPABILITIES) - 1


def fence_program(caps: frozenset) -> list[tuple[int, int, int, int]]:
    """The fence's seccomp program for a container that keeps ``caps``."""
    numbers = FENCE_NUMBERS.get(_ARCH, {})
    if AUDIT_ARCH is None:
        raise OSError(_errno.ENOSYS, "no seccomp fence for this architecture", _MACHINE)
    denied = [
        (numbers[name], code)
        for cap, names, code in DENIED
        if cap not in caps
        for name in names
        if name in numbers
    ]
    prog = _prologue(foreign=RET_KILL_PROCESS)
    prog += _deny_calls(denied)
    for cap, name, index, test, values in ARG_RULES:
        if cap in caps or name not in numbers:
            continue
        # seccomp_data: nr, arch, instruction_pointer, then args[6] from offset 16;
        # the low 32 bits of an argument are first on these little-endian machines.
        block = [(_LD_W_ABS, 0, 0, 16 + 8 * index)]
        for value in values:
            op = _JSET_K if test == "set" else _JEQ_K
            block += [(op, 0, 1, value), (_RET_K, 0, 0, RET_ERRNO | _errno.EPERM)]
        block.append((_RET_K, 0, 0, RET_ALLOW))
        prog += [(_JEQ_K, 0, len(block), numbers[name]), *block]
    prog.append((_RET_K, 0, 0, RET_ALLOW))
    return prog


def deny_program(denied) -> list[tuple[int, int, int, int]]:
    """``--seccomp-deny``'s program: (name, errno) pairs of the native ABI."""
    from pycoz_cli.core.trace.syscalls import NUMBERS

    if AUDIT_ARCH is None:
        raise OSError(_errno.ENOSYS, "no seccomp filter for this architecture", _MACHINE)
    prog = _prologue(foreign=RET_ALLOW)
    prog += _deny_calls([(NUMBERS[name], code) for name, code in denied])
    prog.append((_RET_K, 0, 0, RET_ALLOW))
    return prog


def _prologue(foreign: int) -> list[tuple[int, int, int, int]]:
    """Load the arch and the number; ``foreign`` for any other ABI's calls."""
    prog = [
        (_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        (_JEQ_K, 1, 0, AUDIT_ARCH),
        (_RET_K, 0, 0, foreign),
        (_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
    ]
    if _MACHINE == "x86_64":  # x32 calls share the arch, with this bit set
        prog += [(_JGE_K, 0, 1, _X32_BIT), (_RET_K, 0, 0, foreign)]
    return prog


def _deny_calls(denied) -> list[tuple[int, int, int, int]]:
    prog = []
    for nr, code in denied:
        prog += [(_JEQ_K, 0, 1, nr), (_RET_K, 0, 0, RET_ERRNO | code)]
    return prog


# Linux's PR_* and Landlock's constants.
PR_CAPBSET_DROP = 24
PR_SET_SECCOMP = 22
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SECCOMP_MODE_FILTER = 2
_SYS_CAPGET = {"x86_64": 125, "aarch64": 90}.get(_MACHINE)
_SYS_CAPSET = {"x86_64": 126, "aarch64": 91}.get(_MACHINE)
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_SYS_LANDLOCK_CREATE_RULESET = 444
_SYS_LANDLOCK_RESTRICT_SELF = 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET = 1
_LANDLOCK_SCOPE_SIGNAL = 2


class FencePlan:
    """The fence as init applies it: numbers and programs, nothing left to parse."""

    __slots__ = ("drop", "dumpable", "landlock_fd", "nest", "program", "user_program")

    def __init__(self):
        self.dumpable = True
        #: Capability numbers to drop from the bounding set.
        self.drop: tuple[int, ...] = ()
        #: The fence's seccomp program, ready for prctl (None: --privileged).
        self.program = None
        #: A Landlock ruleset that scopes abstract unix sockets (-1: none), made
        #: once per pycoz process and inherited by init (which must keep it open).
        self.landlock_fd = -1
        #: ``--seccomp-deny``'s program, installed in the command's process only,
        #: so init (which waits, reaps and reports) keeps every call it needs.
        self.user_program = None
        #: The uid and gid maps of a nested user namespace to enter first
        #: (``nest``), or None.
        self.nest: tuple[str, str] | None = None

    def __getstate__(self):
        # The seccomp programs travel as their packed bytes (``prepare``'s
        # third item) and are prepared again where they are unpickled
        # (``core.spawner``); the Landlock fd travels beside the pickle.
        state = {name: getattr(self, name) for name in self.__slots__}
        for name in ("program", "user_program"):
            if state[name] is not None:
                state[name] = state[name][2]
        return state

    def __setstate__(self, state) -> None:
        for name, value in state.items():
            if name in ("program", "user_program") and value is not None:
                value = prepare(value)
            setattr(self, name, value)

    def apply(self) -> None:
        """Fence the calling process (init, right before it starts the command).

        Raises OSError when the kernel refuses a part: pycoz then refuses to
        start the command rather than run it unfenced.
        """
        from pycoz_cli.core import libc
        from pycoz_cli.core.libc import prctl

        if self.nest is not None:
            nest(self.nest)
        if not self.dumpable:
            prctl(libc.PR_SET_DUMPABLE, 0, "prctl(PR_SET_DUMPABLE) failed")
        if self.landlock_fd >= 0:
            _restrict_self(self.landlock_fd)
        if self.drop:
            for cap in self.drop:
                prctl(
                    PR_CAPBSET_DROP, cap, f"cannot drop {CAPABILITIES[cap]} from the bounding set"
                )
            _clear_inheritable()
        if self.program is not None:
            install(self.program)

    def apply_user(self) -> None:
        """``--seccomp-deny``, in the command's process before exec."""
        if self.user_program is not None:
            install(self.user_program)


def nest(maps: tuple[str, str]) -> None:
    """Enter a user namespace nested in pycoz's own, with a mount namespace of its
    own, so that every mount of the container's root is locked (as bubblewrap
    locks its sandbox's).

    Why: in pycoz's user namespace root inside made the container's mounts
    itself, so with CAP_SYS_ADMIN there it may unmount or remount them: the
    read-only /proc/sys and /sys, the masks over /proc files.  Where host root is
    an id of that namespace (root's ``--rootless``) that reaches the host, for
    /proc/sys and sysfs grant writes by uid and file mode, not by capability.
    A mount namespace made by a user namespace other than the one that made its
    mounts gets them as a copy in which each is MNT_LOCKED (not to be unmounted
    or moved off what it covers) and keeps its read-only, nosuid, nodev, noexec
    and atime flags for good (MNT_LOCK_*); a fresh procfs or sysfs is then
    refused as well (mount_too_revealing: the only one there is has locked mounts
    over it; sysfs also needs the network namespace's owner, the outer one).

    The UTS namespace is made anew too (a copy: the hostname stays), so that
    root inside still owns the hostname it may set.  What stays the outer
    namespace's: the pid namespace, the IPC namespace and a topology's network
    namespace, over which root inside then has no capability.

    The maps (``userns.nested_maps``) are one identity mapping, which the
    process itself may write once setgroups is denied (user_namespaces(7)); its
    uid and gid are unchanged, only the namespace that grants capabilities is.
    """
    from pycoz_cli.core import libc

    libc.unshare(libc.CLONE_NEWUSER | libc.CLONE_NEWNS | libc.CLONE_NEWUTS)
    for name, text in (("setgroups", "deny"), ("uid_map", maps[0]), ("gid_map", maps[1])):
        path = f"/proc/self/{name}"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, text.encode())
            finally:
                os.close(fd)
        except OSError as err:
            raise OSError(err.errno, "cannot map the nested user namespace", path) from None


def pack(prog) -> bytes:
    """A program as the kernel reads it: struct sock_filter {u16 code; u8 jt, jf;
    u32 k} each, in native order (packed in the caller, once)."""
    import sys

    if len(prog) > 4096:
        raise OSError(_errno.E2BIG, "too many syscalls for a seccomp filter", None)
    order = sys.byteorder  # int.to_bytes: no struct import on the start-up path
    return b"".join(
        code.to_bytes(2, order) + bytes((jt, jf)) + k.to_bytes(4, order) for code, jt, jf, k in prog
    )


def prepare(packed: bytes):
    """A ``struct sock_fprog`` for ``packed``, made in the caller: init only
    passes it to prctl.  (The tuple keeps the filter's buffer alive.)"""
    from pycoz_cli.core.libc import ffi

    filt = ffi.from_buffer("struct sock_filter[]", packed)
    fprog = ffi.new("struct sock_fprog *", {"len": len(packed) // 8, "filter": filt})
    return (fprog, filt, packed, int(ffi.cast("unsigned long", fprog)))


def install(program) -> None:
    """Install a seccomp program (``prepare``'s) in the calling thread (needs
    CAP_SYS_ADMIN or no_new_privs; init has the former, and setuid programs
    keep working)."""
    from pycoz_cli.core.libc import ffi, lib

    if lib.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, program[3], 0, 0):
        raise OSError(ffi.errno, "cannot install the fence's seccomp filter", None)


def _clear_inheritable() -> None:
    """Empty the inheritable and ambient sets: after exec, root's capabilities are
    the bounding set plus these, so a non-empty set would bring dropped ones back."""
    from pycoz_cli.core.libc import ffi, lib

    # EINVAL: a kernel without ambient sets.
    if (
        lib.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0
        and ffi.errno != _errno.EINVAL
    ):
        raise OSError(ffi.errno, "cannot clear the ambient capabilities", None)
    header = ffi.new("uint32_t[2]", [_LINUX_CAPABILITY_VERSION_3, 0])
    data = ffi.new("uint32_t[6]")  # two of {effective, permitted, inheritable}
    if lib.syscall(ffi.cast("long", _SYS_CAPGET), header, data) != 0:
        raise OSError(ffi.errno, "capget failed", None)
    if data[2] or data[5]:
        data[2] = data[5] = 0
        if lib.syscall(ffi.cast("long", _SYS_CAPSET), header, data) != 0:
            raise OSError(ffi.errno, "cannot clear the inheritable capabilities", None)


@functools.cache
def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0: none, or Landlock is disabled)."""
    from pycoz_cli.core.libc import ffi, lib

    version = lib.syscall(
        ffi.cast("long", _SYS_LANDLOCK_CREATE_RULESET),
        ffi.NULL,
        ffi.cast("size_t", 0),
        ffi.cast("uint32_t", _LANDLOCK_CREATE_RULESET_VERSION),
    )
    return max(int(version), 0)


@functools.cache
def _landlock_ruleset(scope: int) -> int:
    """A Landlock ruleset that only scopes (ABI 6, Linux 6.12): signals, so that a
    process in its domain cannot signal one outside it, and abstract unix sockets,
    so that it cannot connect to one made outside it.  Made once per pycoz process
    and scope (close-on-exec); -1, with a warning, where the kernel cannot."""
    from pycoz_cli.core.libc import ffi, lib

    if landlock_abi() < 6:
        import sys

        sys.stderr.write(
            "pycoz: warning: this kernel cannot scope signals and abstract unix sockets "
            "(Landlock ABI 6, Linux 6.12): the container can signal pycoz's process group "
            "and reach the host's abstract sockets\n"
        )
        return -1
    attr = ffi.new("uint64_t[3]", [0, 0, scope])
    fd = lib.syscall(
        ffi.cast("long", _SYS_LANDLOCK_CREATE_RULESET),
        attr,
        ffi.cast("size_t", ffi.sizeof("uint64_t[3]")),
        ffi.cast("uint32_t", 0),  # the kernel makes the fd close-on-exec
    )
    if fd < 0:
        raise OSError(ffi.errno, "cannot create a Landlock ruleset", None)
    return int(fd)


def _restrict_self(fd: int) -> None:
    """Enter the Landlock domain of ruleset ``fd`` (init, for all it starts)."""
    from pycoz_cli.core.libc import ffi, lib

    rc = lib.syscall(
        ffi.cast("long", _SYS_LANDLOCK_RESTRICT_SELF), ffi.cast("int", fd), ffi.cast("uint32_t", 0)
    )
    if rc != 0:
        raise OSError(ffi.errno, "cannot enter a Landlock domain", None)
