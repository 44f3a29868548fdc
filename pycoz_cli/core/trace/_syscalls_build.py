"""Generate the per-architecture syscall tables that ``syscalls`` imports.

Running this module writes ``_syscalls_x86_64.py`` and ``_syscalls_aarch64.py`` beside
it: plain dict literals, so that importing a table costs one ``.pyc`` load and no
parsing (tab completion lists these names).  The generated files are committed;
``tests/unit/test_trace_syscalls.py`` fails when they differ from what this script
would write now.

    python -m pycoz_cli.core.trace._syscalls_build

Where the facts come from:

* numbers and names below 424: python-ptrace's tables (``ptrace.syscall.linux``),
  without x86_64's x32 block (512 and up, an ABI pycoz does not trace);
* numbers from 424 up: the same on every architecture since Linux 5.1, listed in
  ``COMMON`` (python-ptrace stops at 440);
* classes (``%file``, ``%network``...): strace's syscall tables
  (``src/linux/x86_64/syscallent.h``, ``src/linux/64/syscallent.h``,
  ``src/linux/generic/syscallent-common.h``), as the shorthand flags below.  strace puts
  a call in a class when its flags include the class's flag; so does pycoz.
"""

from __future__ import annotations

import pathlib

#: Syscalls numbered alike on every architecture (asm-generic numbering, Linux >= 5.1).
COMMON = {
    424: "pidfd_send_signal",
    425: "io_uring_setup",
    426: "io_uring_enter",
    427: "io_uring_register",
    428: "open_tree",
    429: "move_mount",
    430: "fsopen",
    431: "fsconfig",
    432: "fsmount",
    433: "fspick",
    434: "pidfd_open",
    435: "clone3",
    436: "close_range",
    437: "openat2",
    438: "pidfd_getfd",
    439: "faccessat2",
    440: "process_madvise",
    441: "epoll_pwait2",
    442: "mount_setattr",
    443: "quotactl_fd",
    444: "landlock_create_ruleset",
    445: "landlock_add_rule",
    446: "landlock_restrict_self",
    447: "memfd_secret",
    448: "process_mrelease",
    449: "futex_waitv",
    450: "set_mempolicy_home_node",
    451: "cachestat",
    452: "fchmodat2",
    453: "map_shadow_stack",
    454: "futex_wake",
    455: "futex_wait",
    456: "futex_requeue",
    457: "statmount",
    458: "listmount",
    459: "lsm_get_self_attr",
    460: "lsm_set_self_attr",
    461: "lsm_list_modules",
    462: "mseal",
    463: "setxattrat",
    464: "getxattrat",
    465: "listxattrat",
    466: "removexattrat",
    467: "open_tree_attr",
    468: "file_getattr",
    469: "file_setattr",
}

#: Architecture-specific calls python-ptrace does not know yet.
EXTRA = {
    "x86_64": {335: "uretprobe"},
    "aarch64": {},
}

#: Where python-ptrace's name differs from strace's (strace's wins: users type it).
RENAMES = {"timerfd": "timerfd_create"}

#: strace's class flags (only those that make a class), as ``FLAGS: name name ...``.
#: A call listed nowhere belongs to no class (futex, uname, getrandom, ...).
STRACE_FLAGS = """
TD: read write close poll lseek ioctl pread64 pwrite64 readv writev pipe select dup dup2
    fcntl flock fsync fdatasync ftruncate getdents fchdir fchmod fchown readahead fsetxattr
    fgetxattr flistxattr fremovexattr epoll_create getdents64 fadvise64 epoll_wait
    epoll_ctl mq_open mq_timedsend mq_timedreceive mq_notify mq_getsetattr inotify_init
    inotify_rm_watch pselect6 ppoll splice tee sync_file_range vmsplice epoll_pwait
    timerfd_create eventfd fallocate timerfd_settime timerfd_gettime eventfd2
    epoll_create1 dup3 pipe2 inotify_init1 preadv pwritev perf_event_open fanotify_init
    open_by_handle_at syncfs setns finit_module memfd_create kexec_file_load bpf
    userfaultfd copy_file_range preadv2 pwritev2 io_uring_setup fsopen fsmount pidfd_open
    pidfd_getfd process_madvise epoll_pwait2 quotactl_fd landlock_create_ruleset
    landlock_add_rule landlock_restrict_self memfd_secret process_mrelease cachestat
TD|TF: open creat inotify_add_watch openat mkdirat mknodat fchownat futimesat unlinkat
    renameat linkat symlinkat readlinkat fchmodat faccessat utimensat fanotify_mark
    name_to_handle_at renameat2 open_tree move_mount fsconfig fspick openat2 faccessat2
    mount_setattr fchmodat2 setxattrat getxattrat listxattrat removexattrat
    open_tree_attr file_getattr file_setattr
TF: access truncate getcwd chdir rename mkdir rmdir link unlink symlink readlink chmod
    chown lchown utime mknod uselib pivot_root chroot acct mount umount2 swapon swapoff
    quotactl setxattr lsetxattr getxattr lgetxattr listxattr llistxattr removexattr
    lremovexattr utimes
TF|TST|TSTA: stat
TF|TLST|TSTA: lstat
TD|TFST|TSTA: fstat
TD|TF|TFST|TSTA: newfstatat statx
TSFA: ustat
TF|TSF|TSFA: statfs
TD|TFSF|TSFA: fstatfs
TD|TM: mmap io_uring_register
TM: mprotect munmap brk mremap remap_file_pages pkey_mprotect msync mincore madvise mlock
    munlock mlockall munlockall io_setup io_destroy mbind set_mempolicy get_mempolicy
    migrate_pages move_pages mlock2 set_mempolicy_home_node map_shadow_stack mseal
TI: shmget shmctl semget semop semctl msgget msgsnd msgrcv msgctl semtimedop
TI|TM: shmat shmdt
TS: rt_sigaction rt_sigprocmask rt_sigreturn pause rt_sigpending rt_sigtimedwait
    rt_sigsuspend sigaltstack
TS|TP: kill tkill tgkill rt_sigqueueinfo rt_tgsigqueueinfo
TD|TS: signalfd signalfd4 io_uring_enter
TD|TS|TP: pidfd_send_signal
TD|TN: sendfile
TN: socket connect accept sendto recvfrom sendmsg recvmsg shutdown bind listen getsockname
    getpeername socketpair setsockopt getsockopt getpmsg putpmsg accept4 recvmmsg sendmmsg
TP: clone fork vfork wait4 waitid clone3 exit exit_group
TF|TP: execve
TD|TF|TP: execveat
PU: getpid getppid getpgrp gettid
TC|PU: getuid getgid geteuid getegid
TC: setuid setgid setreuid setregid getgroups setgroups setresuid getresuid setresgid
    getresgid capget capset setfsuid setfsgid prctl
TCL: gettimeofday settimeofday adjtimex time clock_settime clock_gettime clock_getres
    clock_adjtime
"""

#: strace's flag -> class names (strace's ``lookup_class``; ``%net`` is ``%network``).
FLAG_CLASSES = {
    "TD": ("%desc",),
    "TF": ("%file",),
    "TI": ("%ipc",),
    "TN": ("%network", "%net"),
    "TP": ("%process",),
    "TS": ("%signal",),
    "TM": ("%memory",),
    "TC": ("%creds",),
    "TST": ("%stat",),
    "TLST": ("%lstat",),
    "TFST": ("%fstat",),
    "TSTA": ("%%stat",),
    "TSF": ("%statfs",),
    "TFSF": ("%fstatfs",),
    "TSFA": ("%%statfs",),
    "PU": ("%pure",),
    "TCL": ("%clock",),
}

ARCHES = ("x86_64", "aarch64")


def parse_flags(text: str = STRACE_FLAGS) -> dict[str, frozenset[str]]:
    """``{syscall name: frozenset of strace flags}`` from ``STRACE_FLAGS``."""
    flags: dict[str, frozenset[str]] = {}
    current: frozenset[str] = frozenset()
    for line in text.splitlines():
        if not line.strip():
            continue
        head, sep, rest = line.partition(":")
        if sep and not line[0].isspace():
            current = frozenset(head.split("|"))
            unknown = current - FLAG_CLASSES.keys()
            if unknown:
                raise ValueError(f"unknown strace flag(s) {sorted(unknown)}")
            line = rest
        for name in line.split():
            if name in flags:
                raise ValueError(f"{name} listed twice")
            flags[name] = current
    return flags


def names_for(arch: str) -> dict[int, str]:
    """``{number: name}`` for ``arch`` (the native 64-bit personality only)."""
    import importlib

    ptrace_table = importlib.import_module(f"ptrace.syscall.linux.{arch}").SYSCALL_NAMES
    names = {nr: RENAMES.get(name, name) for nr, name in ptrace_table.items() if nr < 424}
    names.update(COMMON)
    names.update(EXTRA[arch])
    return dict(sorted(names.items()))


def classes_for(names: dict[int, str]) -> dict[str, list[str]]:
    """``{class: sorted names}`` for the calls in ``names``."""
    flags = parse_flags()
    classes: dict[str, set[str]] = {c: set() for cs in FLAG_CLASSES.values() for c in cs}
    for name in names.values():
        for flag in flags.get(name, ()):
            for cls in FLAG_CLASSES[flag]:
                classes[cls].add(name)
    return {cls: sorted(members) for cls, members in classes.items()}


def generated_path(arch: str) -> pathlib.Path:
    return pathlib.Path(__file__).with_name(f"_syscalls_{arch}.py")


def render(arch: str) -> str:
    """The text of the generated table for ``arch``."""
    names = names_for(arch)
    flags = parse_flags()
    missing = sorted(set(flags) - set().union(*(names_for(a).values() for a in ARCHES)))
    if missing:
        raise ValueError(f"classified but unknown on every architecture: {missing}")
    out = [
        f'"""Syscall table for {arch}: generated by ``_syscalls_build.py``; do not edit."""',
        "",
        "# fmt: off",
        "NAMES = {",
    ]
    out += [f"    {nr}: {name!r}," for nr, name in names.items()]
    out += ["}", "", "CLASSES = {"]
    for cls, members in classes_for(names).items():
        if cls == "%net":
            continue
        if not members:
            out.append(f"    {cls!r}: frozenset(),")
            continue
        out.append(f"    {cls!r}: frozenset((")
        line = "       "
        for name in members:
            item = f" {name!r},"
            if len(line) + len(item) > 92:
                out.append(line)
                line = "       "
            line += item
        out += [line, "    )),"]
    out += ["}", 'CLASSES["%net"] = CLASSES["%network"]', "# fmt: on", ""]
    return "\n".join(out).replace("'", '"')


if __name__ == "__main__":
    for arch in ARCHES:
        generated_path(arch).write_text(render(arch))
        print(f"wrote {generated_path(arch)}")
