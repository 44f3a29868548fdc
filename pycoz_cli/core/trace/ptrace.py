"""pycoz's ptrace adapter: the requests the tracer needs, and the seccomp prefilter.

python-ptrace's binding covers the classic requests, but not what makes a
Python tracer fast enough: PTRACE_GET_SYSCALL_INFO (number, arguments and
result of the current stop in one call, on any arch), PTRACE_O_EXITKILL,
PTRACE_O_TRACESECCOMP and the seccomp-bpf filter itself.  This module speaks to
the kernel through pycoz's own cffi bindings instead, so the hot path is one
cffi call per request.
"""

from __future__ import annotations

import os
import struct

from pycoz_cli.core import libc
from pycoz_cli.core.libc import ffi, lib

PTRACE_PEEKUSER = 3
PTRACE_POKEUSER = 6
PTRACE_CONT = 7
PTRACE_KILL = 8
PTRACE_DETACH = 17
PTRACE_SYSCALL = 24
PTRACE_SETOPTIONS = 0x4200
PTRACE_GETEVENTMSG = 0x4201
PTRACE_GETSIGINFO = 0x4202
PTRACE_GETREGSET = 0x4204
PTRACE_SETREGSET = 0x4205
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
PTRACE_LISTEN = 0x4208
PTRACE_GET_SYSCALL_INFO = 0x420E

PTRACE_O_TRACESYSGOOD = 0x01
PTRACE_O_TRACEFORK = 0x02
PTRACE_O_TRACEVFORK = 0x04
PTRACE_O_TRACECLONE = 0x08
PTRACE_O_TRACEEXEC = 0x10
PTRACE_O_TRACEVFORKDONE = 0x20
PTRACE_O_TRACEEXIT = 0x40
PTRACE_O_TRACESECCOMP = 0x80
PTRACE_O_EXITKILL = 0x100000

PTRACE_EVENT_FORK = 1
PTRACE_EVENT_VFORK = 2
PTRACE_EVENT_CLONE = 3
PTRACE_EVENT_EXEC = 4
PTRACE_EVENT_VFORK_DONE = 5
PTRACE_EVENT_EXIT = 6
PTRACE_EVENT_SECCOMP = 7
PTRACE_EVENT_STOP = 128

SYSCALL_INFO_NONE, SYSCALL_INFO_ENTRY, SYSCALL_INFO_EXIT, SYSCALL_INFO_SECCOMP = 0, 1, 2, 3

_MACHINE = os.uname().machine
# AUDIT_ARCH_* as seccomp_data.arch reports it.
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}.get(_MACHINE)


def _fail(what: str, pid: int) -> OSError:
    return OSError(ffi.errno, what, f"pid {pid}")


def _addr(value) -> int:
    """An address argument: an int, or cdata pointing at our buffer."""
    return value if isinstance(value, int) else int(ffi.cast("uintptr_t", value))


def request(req: int, pid: int, addr=0, data=0, what: str = "ptrace failed") -> int:
    rc = lib.ptrace(req, pid, _addr(addr), _addr(data))
    if rc == -1 and ffi.errno:
        raise _fail(what, pid)
    return rc


def seize(pid: int, options: int) -> None:
    ffi.errno = 0
    request(PTRACE_SEIZE, pid, 0, options, "cannot attach to")


def resume(req: int, pid: int, sig: int = 0) -> None:
    """PTRACE_SYSCALL / PTRACE_CONT / PTRACE_DETACH; a vanished tracee is fine."""
    rc = lib.ptrace(req, pid, 0, sig)
    # ESRCH: killed meanwhile (SIGKILL, the exit of its thread group): nothing to do.
    if rc == -1 and ffi.errno != 3:
        raise _fail("cannot resume", pid)


def detach_if_stopped(pid: int) -> bool:
    """PTRACE_DETACH ``pid`` if it is in a ptrace-stop; False if it is not (ESRCH:
    running, or gone)."""
    return lib.ptrace(PTRACE_DETACH, pid, 0, 0) == 0


def listen(pid: int) -> None:
    """PTRACE_LISTEN: leave a tracee in its group-stop, but let a SIGCONT (or a
    new signal) wake it into a new stop.  A vanished tracee is fine."""
    if lib.ptrace(PTRACE_LISTEN, pid, 0, 0) == -1 and ffi.errno != 3:
        raise _fail("cannot leave stopped", pid)


def interrupt(pid: int) -> None:
    ffi.errno = 0
    request(PTRACE_INTERRUPT, pid, 0, 0, "cannot interrupt")


def eventmsg(pid: int) -> int:
    """The event's message (a new child's pid, an exec's former tid); 0 if the
    tracee is gone meanwhile (killed: its death comes next)."""
    value = ffi.new("unsigned long *")
    ffi.errno = 0
    if lib.ptrace(PTRACE_GETEVENTMSG, pid, 0, _addr(value)) == -1 and ffi.errno:
        if ffi.errno == 3:
            return 0
        raise _fail("cannot read the event of", pid)
    return int(value[0])


_SIGINFO = ffi.new("unsigned char[128]")
_SIGINFO_ADDR = int(ffi.cast("uintptr_t", _SIGINFO))


def siginfo(pid: int) -> tuple[int, int, int, int, int] | None:
    """(signo, errno, code, pid, uid) of a signal-delivery stop; None for a group-stop."""
    if lib.ptrace(PTRACE_GETSIGINFO, pid, 0, _SIGINFO_ADDR) == -1:
        return None
    signo, err, code = struct.unpack_from("=iii", ffi.buffer(_SIGINFO, 16))
    spid, suid = struct.unpack_from("=iI", ffi.buffer(_SIGINFO, 24), 16)
    return signo, err, code, spid, suid


def siginfo_raw() -> bytes:
    """The whole siginfo_t of the last ``siginfo()`` call (128 bytes)."""
    return ffi.buffer(_SIGINFO, 128)[:]


_INFO = ffi.new("struct ptrace_syscall_info *")
_INFO_SIZE = ffi.sizeof("struct ptrace_syscall_info")
_INFO_ADDR = int(ffi.cast("uintptr_t", _INFO))
_INFO_VIEW = memoryview(ffi.buffer(_INFO))
# struct ptrace_syscall_info: op (u8) at 0; from 24 on, entry {nr, args[6]},
# seccomp {nr, args[6], ret_data} or exit {rval (s64), is_error (u8)}.
_CALL = struct.Struct("=24x7Q").unpack_from
_RESULT = struct.Struct("=24xqB").unpack_from


def syscall_info(pid: int) -> int:
    """Read the current syscall stop; return its op (SYSCALL_INFO_*).

    Then ``stopped_call()`` gives (nr, a0, ... a5) at an entry or seccomp stop,
    ``stopped_result()`` (rval, is_error) at an exit stop.  One buffer, reused:
    no allocation per stop but the tuple.

    SYSCALL_INFO_NONE when the tracee is gone since waitpid reported its stop
    (ESRCH: another thread's exit_group or exec killed it; its death comes next).
    """
    rc = lib.ptrace(PTRACE_GET_SYSCALL_INFO, pid, _INFO_SIZE, _INFO_ADDR)
    if rc <= 0:
        if ffi.errno == 3:
            return SYSCALL_INFO_NONE
        raise _fail("cannot read syscall information of", pid)
    return _INFO_VIEW[0]


def stopped_call() -> tuple:
    return _CALL(_INFO_VIEW)


_IP = struct.Struct("=8xQ").unpack_from


def stopped_ip() -> int:
    """The instruction pointer of the last ``syscall_info`` stop."""
    return _IP(_INFO_VIEW)[0]


def instruction_pointer(pid: int) -> int | None:
    """A stopped tracee's instruction pointer (strace's -i on a signal line);
    None when it cannot be read."""
    word = 16 * 8 if _MACHINE == "x86_64" else None  # user_regs_struct.rip
    if word is None:
        regs = ffi.new("uint64_t[34]")
        iov = ffi.new("struct iovec *", {"iov_base": regs, "iov_len": 34 * 8})
        if lib.ptrace(PTRACE_GETREGSET, pid, 1, _addr(iov)) == -1:
            return None
        return int(regs[32])  # user_pt_regs.pc
    ffi.errno = 0
    value = lib.ptrace(PTRACE_PEEKUSER, pid, word, 0)
    if value == -1 and ffi.errno:
        return None
    return value & 0xFFFFFFFFFFFFFFFF


def stopped_result() -> tuple:
    return _RESULT(_INFO_VIEW)


# --- changing a syscall: skip it and set its result (fault injection) ------------


def _tamper(req: int, pid: int, addr, data, what: str) -> None:
    """A request that changes a stopped tracee; a vanished one is fine (as for
    ``resume``: killed meanwhile, it will not run the call)."""
    ffi.errno = 0
    if lib.ptrace(req, pid, _addr(addr), _addr(data)) == -1 and ffi.errno not in (0, 3):
        raise _fail(what, pid)


if _MACHINE == "x86_64":
    _ORIG_RAX, _RAX = 15 * 8, 10 * 8

    def set_syscall_nr(pid: int, nr: int) -> None:
        _tamper(
            PTRACE_POKEUSER, pid, _ORIG_RAX, nr & 0xFFFFFFFFFFFFFFFF, "cannot change the syscall of"
        )

    def set_return(pid: int, value: int) -> None:
        _tamper(PTRACE_POKEUSER, pid, _RAX, value & 0xFFFFFFFFFFFFFFFF, "cannot set the result of")

elif _MACHINE == "aarch64":
    _NT_PRSTATUS, _NT_ARM_SYSTEM_CALL = 1, 0x404

    def set_syscall_nr(pid: int, nr: int) -> None:
        value = ffi.new("int *", nr)
        iov = ffi.new("struct iovec *", {"iov_base": value, "iov_len": 4})
        _tamper(PTRACE_SETREGSET, pid, _NT_ARM_SYSTEM_CALL, iov, "cannot change the syscall of")

    def set_return(pid: int, value: int) -> None:
        regs = ffi.new("uint64_t[34]")
        iov = ffi.new("struct iovec *", {"iov_base": regs, "iov_len": 34 * 8})
        _tamper(PTRACE_GETREGSET, pid, _NT_PRSTATUS, iov, "cannot read registers of")
        regs[0] = value & 0xFFFFFFFFFFFFFFFF
        _tamper(PTRACE_SETREGSET, pid, _NT_PRSTATUS, iov, "cannot set the result of")

else:  # pragma: no cover

    def set_syscall_nr(pid: int, nr: int) -> None:
        raise OSError(95, "fault injection is not supported on", _MACHINE)

    set_return = set_syscall_nr


# --- reading the tracee's memory --------------------------------------------------


_IOVECS = struct.Struct("=QQQ")


def _own_proc() -> bool:
    """Whether /proc is the procfs of our pid namespace (so /proc/PID is the
    process we know as PID).  In a new pid namespace with the host's /proc
    (``--no-root``), /proc/self names us by another pid.  Asked at each
    Memory's first read (once per tracee and exec), never cached: a forked
    tracer may be in another pid or mount namespace than its parent."""
    try:
        return os.readlink("/proc/self") == str(os.getpid())
    except OSError:
        return False


class Memory:
    """A tracee's memory: ``pread`` of /proc/PID/mem, opened at the first read.

    One syscall per read, and the cheapest from Python.  Where /proc is not our
    pid namespace's (see ``_own_proc``), or the file cannot be opened,
    process_vm_readv instead: its two iovecs live in one buffer, and a read packs
    the local length and the remote address and length with one ``pack_into``.
    A Memory is for one address space: the tracer makes a new one at exec.
    """

    __slots__ = ("_buf", "_fd", "_iov", "_iovbuf", "_view", "pid")

    def __init__(self, pid: int):
        self.pid = pid
        self._fd = None  # None: not opened yet; -1: process_vm_readv
        self._buf = None

    def _open(self) -> int:
        fd = -1
        if _own_proc():
            try:
                fd = os.open(f"/proc/{self.pid}/mem", os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                fd = -1
        if fd < 0:
            self._buf = ffi.new("char[]", 65536)
            self._view = memoryview(ffi.buffer(self._buf))
            self._iov = ffi.new("struct iovec[2]")
            self._iov[0].iov_base = self._buf
            self._iovbuf = ffi.buffer(self._iov)
        self._fd = fd
        return fd

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None and fd >= 0:
            os.close(fd)

    def __del__(self):
        self.close()

    def read(self, addr: int, size: int) -> bytes:
        if size > 65536:
            size = 65536
        if size <= 0:
            return b""
        fd = self._fd
        if fd is None:
            fd = self._open()
        if fd >= 0:
            if addr >= 1 << 63:  # not an offset pread takes, nor a user address
                raise OSError(14, "cannot read memory of", f"pid {self.pid}")
            try:
                data = os.pread(fd, size, addr)
            except OSError as err:
                raise OSError(err.errno, "cannot read memory of", f"pid {self.pid}") from None
            if not data:
                raise OSError(5, "cannot read memory of", f"pid {self.pid}")
            return data
        iov = self._iov
        _IOVECS.pack_into(self._iovbuf, 8, size, addr, size)
        got = lib.process_vm_readv(self.pid, iov, 1, iov + 1, 1, 0)
        if got < 0:
            raise OSError(ffi.errno, "cannot read memory of", f"pid {self.pid}")
        return self._view[:got].tobytes()

    def read_cstring(self, addr: int, limit: int) -> bytes:
        """Up to ``limit`` bytes of a NUL-terminated string (without the NUL)."""
        out = b""
        while len(out) < limit:
            # Never cross a page boundary in one read: the next page may be unmapped.
            chunk = min(limit - len(out), 4096 - ((addr + len(out)) & 4095))
            try:
                data = self.read(addr + len(out), chunk)
            except OSError:
                if out:
                    return out
                raise
            end = data.find(b"\0")
            if end >= 0:
                return out + data[:end]
            out += data
            if len(data) < chunk:
                break
        return out


# --- the seccomp-bpf prefilter ------------------------------------------------------

_BPF_LD_W_ABS = 0x20
_BPF_JEQ_K = 0x15
_BPF_RET_K = 0x06
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_TRACE = 0x7FF00000
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2


def seccomp_program(numbers) -> list[tuple[int, int, int, int]]:
    """A classic BPF program: RET_TRACE for ``numbers``, ALLOW for everything else.

    Other architectures (a 32-bit binary on x86_64) are traced wholesale rather
    than misread: their numbers mean other calls.
    """
    numbers = sorted(set(numbers))
    prog = [(_BPF_LD_W_ABS, 0, 0, 4)]  # seccomp_data.arch
    prog.append((_BPF_JEQ_K, 1, 0, AUDIT_ARCH))
    prog.append((_BPF_RET_K, 0, 0, SECCOMP_RET_TRACE))
    prog.append((_BPF_LD_W_ABS, 0, 0, 0))  # seccomp_data.nr
    n = len(numbers)
    for i, nr in enumerate(numbers):
        # Jump to the final RET_TRACE (after the remaining tests and RET_ALLOW).
        prog.append((_BPF_JEQ_K, n - i, 0, nr))
    prog.append((_BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW))
    prog.append((_BPF_RET_K, 0, 0, SECCOMP_RET_TRACE))
    return prog


def install_seccomp(numbers) -> None:
    """Install the prefilter in the calling process (the child, before exec).

    PR_SET_NO_NEW_PRIVS only when the kernel asks for it (EACCES: no
    CAP_SYS_ADMIN), as strace --seccomp-bpf does for an unprivileged user: as
    root, setting it would stop setuid programs from working under the tracer.
    """
    prog = seccomp_program(numbers)
    if len(prog) > 4096:
        raise OSError(7, "too many syscalls for a seccomp filter", None)
    filt = ffi.new(
        "struct sock_filter[]", [{"code": c, "jt": t, "jf": f, "k": k} for c, t, f, k in prog]
    )
    fprog = ffi.new("struct sock_fprog *", {"len": len(prog), "filter": filt})
    address = ffi.cast("unsigned long", fprog)
    if lib.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, address, 0, 0) == 0:
        return
    if ffi.errno == 13:  # EACCES
        if lib.prctl(libc.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0):
            raise OSError(ffi.errno, "cannot set no_new_privs for the seccomp filter", None)
        if lib.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, address, 0, 0) == 0:
            return
    raise OSError(ffi.errno, "cannot install the seccomp filter", None)
