"""Library-call breakpoints: the engine behind ``pycoz ltrace`` and ``trace --calls``.

It runs inside the tracer core's loop (``tracer.run``): the loop hands it every
SIGTRAP, exec, fork and exit; there is no second loop.  Facts that shaped it
(measured, see docs/ltrace.md):

* A breakpoint goes on the function's *definition*, in every loaded object, not
  on the caller's PLT slot: so calls through the PLT, ``-fno-plt`` GOT calls,
  CET's ``.plt.sec``, ``-z now``, PIE, non-PIE and static binaries are all seen.
  Every version of a name gets one.  An IFUNC's symbol points at its resolver:
  at the program's entry pycoz runs the resolver, as ld.so did, and breaks on
  the implementation it returns (``_resolve_ifuncs``).
* The ``int3`` is written with ``pwrite`` on /proc/PID/mem (it writes read-only
  text; process_vm_writev does not), and the original byte comes from the file
  (through /proc/PID/map_files/, which works across mount namespaces), so an
  int3 of another debugger is never taken for code.
* A breakpoint is never lifted while the program runs: other threads would run
  through it unseen.  The instruction under it is emulated (``push``, ``sub``,
  ``mov``, ``endbr64``, relative jumps and calls, ``ret``) or run from a copy
  in a scratch page (``x86.decode``) mapped by an ``mmap`` injected into the
  tracee, near the object so rip-relative operands still reach.
* The return: a temporary breakpoint at the return address read at entry,
  matched by the stack pointer (recursion, longjmp).  The return address is
  never swapped (that breaks unwinding, thread cancellation and CET shadow
  stacks).
* ld.so announces every load (dlopen too) by calling ``_dl_debug_state`` once
  the objects are mapped: a breakpoint there rescans /proc/PID/maps and arms
  new objects (``r_debug.r_brk`` when the symbol is missing).
* Every thread is traced (an untraced thread that hits an int3 dies); a forked
  child either is traced too (-f) or has every breakpoint taken out of its copy
  of memory before it is let go; a vfork child shares memory and stays traced,
  silently, until its exec; exec starts afresh.  Whether a child shares the
  memory comes from the call's flags (CLONE_VM), not from the event: a
  clone(CLONE_VM|SIGCHLD) is reported as a fork.
* Detach puts back every byte, moves threads out of scratch copies, unmaps
  them, and leaves the program as it was (but for the pages of strings that
  ``inject=`` gave it, to which it may keep a pointer).  A SIGKILL of an
  attached pycoz cannot: the next breakpoint hit kills the program with
  SIGTRAP (documented).
"""

from __future__ import annotations

import bisect
import errno
import fnmatch
import itertools
import os
import signal
import time

from pycoz_cli.core.libc import ffi, lib
from pycoz_cli.core.trace import elf as elfmod
from pycoz_cli.core.trace import ptrace as pt
from pycoz_cli.core.trace import x86
from pycoz_cli.errors import ExitCode, PycozError

PTRACE_GETREGS, PTRACE_SETREGS, PTRACE_SINGLESTEP = 12, 13, 9
SI_KERNEL = 0x80
_WALL = 0x40000000
# user_regs_struct indices
R15, R14, R13, R12, RBP, RBX, R11, R10, R9, R8, RAX, RCX, RDX, RSI, RDI, ORIG_RAX, RIP = range(17)
#: orig_rax outside a syscall, and rax while one has not returned yet (the
#: kernel's entry puts -ENOSYS there), as the unsigned words GETREGS gives.
_NO_SYSCALL = (1 << 64) - 1
_ENOSYS_RESULT = (1 << 64) - errno.ENOSYS
EFLAGS, RSP = 18, 19
ARG_REGS = (RDI, RSI, RDX, RCX, R8, R9)
# x86 register number (ModRM / push encoding) -> user_regs_struct index
_REGNO = (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15)
_SCRATCH = 0x10000
#: Testing switch: ignore ``_dl_debug_state`` and find ld.so's hook through
#: DT_DEBUG's ``r_debug.r_brk``, as for a loader without that symbol.
FORCE_R_BRK = os.environ.get("PYCOZ_LTRACE_R_BRK") == "1"
_SLOT = 32
CLONE_VM, CLONE_VFORK, CLONE_THREAD = 0x100, 0x4000, 0x10000
_NR_CLONE, _NR_FORK, _NR_VFORK, _NR_CLONE3 = 56, 57, 58, 435  # x86_64
_NR_KCMP, _KCMP_VM = 312, 1
#: A program importing one of these may run another, which may have what it lacks.
_EXEC_FUNCTIONS = ("execve", "execv", "execvp", "execvpe", "execl", "execlp", "execle",
                   "fexecve", "posix_spawn", "posix_spawnp", "system", "popen")  # fmt: skip


class CallError(PycozError):
    """A library-call request that cannot be met (one line for the user):
    exit code 2 for what the user asked (no such function or library), 125
    (``setup=True``) for what the program or machine cannot do."""

    def __init__(self, message: str, setup: bool = False):
        super().__init__(message)
        self.exit_code = ExitCode.SETUP if setup else ExitCode.USAGE


class Regs:
    """A thread's registers (PTRACE_GETREGS), one buffer reused."""

    __slots__ = ("addr", "buf", "pid")

    def __init__(self):
        self.buf = ffi.new("unsigned long long[27]")
        self.addr = int(ffi.cast("uintptr_t", self.buf))

    def get(self, pid: int) -> bool:
        self.pid = pid
        return lib.ptrace(PTRACE_GETREGS, pid, 0, self.addr) == 0

    def set(self) -> None:
        if lib.ptrace(PTRACE_SETREGS, self.pid, 0, self.addr) == -1 and ffi.errno != errno.ESRCH:
            raise OSError(ffi.errno, "cannot set registers of", f"pid {self.pid}")

    def save(self) -> list[int]:
        return list(self.buf)

    def load(self, values) -> None:
        for i, v in enumerate(values):
            self.buf[i] = v

    def __getitem__(self, i):
        return self.buf[i]

    def __setitem__(self, i, v):
        self.buf[i] = v & 0xFFFFFFFFFFFFFFFF


class Obj:
    """A loaded object: its name, load bias and ELF file."""

    __slots__ = ("base", "elf", "end", "main", "name", "path", "soname", "start")

    def __init__(self, path, start, end, base, elf, main):
        self.path, self.start, self.end, self.base, self.elf = path, start, end, base, elf
        self.main = main
        self.name = os.path.basename(path)
        self.soname = None if elf is None else elf.soname()

    def names(self):
        yield self.name
        if self.soname and self.soname != self.name:
            yield self.soname
        if self.main:
            yield "MAIN"


class Bp:
    __slots__ = ("addr", "dl", "entries", "insn", "orig", "returns", "start")

    def __init__(self, addr, orig):
        self.addr = addr
        self.orig = orig  # 16 bytes of original code
        self.insn = x86.decode(orig)
        self.entries = None  # (name, Obj) of a traced function starting here
        self.returns = 0  # calls pending to return here
        self.dl = False  # ld.so's _dl_debug_state (or r_debug.r_brk)
        self.start = False  # the program's entry point, where r_brk is read


class Frame:
    __slots__ = ("args", "caller", "lib", "marks", "name", "pid", "regs", "ret", "retval", "sp",
                 "stack", "state", "t_enter", "t_exit", "tamper")  # fmt: skip

    def __init__(self, pid, name, lib, caller, ret, sp, args, t_enter):
        self.pid, self.name, self.lib, self.caller = pid, name, lib, caller
        self.ret, self.sp, self.args, self.t_enter = ret, sp, args, t_enter
        self.retval = None
        self.t_exit = None
        self.state = None  # the decoder's, from entry to return
        self.marks = 0  # INJECTED / DELAYED
        self.tamper = None
        self.regs = None  # the registers at entry (user_regs_struct), for -k
        self.stack = None


class Space:
    """One address space (a process, its threads, a vfork child until exec)."""

    def __init__(self, pid: int):
        self.pid = pid
        self.fd = os.open(f"/proc/{pid}/mem", os.O_RDWR | os.O_CLOEXEC)
        self.objs: dict[str, Obj] = {}
        self.ranges: list[tuple[int, int, Obj]] = []
        self.starts: list[int] = []
        self.bps: dict[int, Bp] = {}
        self.slot_ends: dict[int, int] = {}
        #: address -> (its scratch copy, length): made once, kept (a return
        #: breakpoint comes and goes; a thread may still be in its copy)
        self.slots: dict[int, tuple[int, int]] = {}
        #: return breakpoints taken out, kept to put back without reading again
        self.parked: dict[int, Bp] = {}
        self.removed: set[int] = set()
        self.scratch: list[list[int]] = []  # [start, used]
        self.frames: dict[int, list[Frame]] = {}
        self.members: set[int] = {pid}
        self.r_state = None  # ld.so's _r_debug.r_state address
        self.ifuncs: list = []  # (name, Obj, resolver) to resolve at the entry
        self.trap = None  # an int3 in a scratch page, for calls pycoz makes
        self.started = False  # past the program's entry point
        self.loaded_once = False
        self.syscall_insn = None
        self.mem = pt.Memory(pid)

    def repoint(self, pid: int) -> None:
        """Reach the same memory through ``pid``, another of its members."""
        try:
            fd = os.open(f"/proc/{pid}/mem", os.O_RDWR | os.O_CLOEXEC)
        except OSError:
            return
        self.close()
        self.pid, self.fd, self.mem = pid, fd, pt.Memory(pid)

    def read(self, addr: int, size: int) -> bytes:
        return os.pread(self.fd, size, addr)

    def write(self, addr: int, data: bytes) -> None:
        os.pwrite(self.fd, data, addr)

    def caller(self, addr: int) -> Obj | None:
        i = bisect.bisect_right(self.starts, addr) - 1
        if i >= 0:
            _start, end, obj = self.ranges[i]
            if addr < end:
                return obj
        return None

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass
        self.mem.close()


def _maps(pid: int):
    """(start, end, perms, offset, path) of the file mappings of ``pid``."""
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) < 6 or not parts[5].startswith("/"):
                continue
            start, end = (int(x, 16) for x in parts[0].split("-"))
            yield start, end, parts[1], int(parts[2], 16), parts[5].rstrip("\n")


class Selection:
    """Which functions to trace: ltrace's filter chains (``-e``, ``-x``, ``-l``).

    Each chain is a list of (sign, name glob, lib glob, kind): kind "caller"
    (``-e``: the library the call comes from), "def" (``-x``: the library
    that defines the function), "lib" (``-l``: one that exports it).  A
    function is traced if any chain selects it; within a chain the last
    matching rule wins, and a chain that starts with ``-`` starts from
    everything.
    """

    def __init__(self, chains, imports_of_main=False, exclude_self=()):
        self.chains = chains
        self.imports_of_main = imports_of_main
        self.exclude_self = set(exclude_self)
        self._cache: dict = {}

    def names(self):
        """The literal names asked for (no glob), for "no function X" checks."""
        for chain in self.chains:
            for sign, name, libpat, _kind in chain:
                if sign == "+" and name and not any(c in name for c in "*?["):
                    yield name, libpat

    def literal_names(self) -> set[str] | None:
        """The only names that can be traced, when every chain adds literal
        names only (the common ``-e getaddrinfo``); None otherwise."""
        if self.imports_of_main:
            return None
        names = set()
        for chain in self.chains:
            if chain[0][0] == "-":
                return None
            for sign, name, _lib, _kind in chain:
                if sign == "+" and (name is None or any(c in name for c in "*?[")):
                    return None
                if sign == "+":
                    names.add(name)
        return names

    def libs(self):
        for chain in self.chains:
            for sign, _name, libpat, kind in chain:
                if sign == "+" and libpat and libpat != "MAIN":
                    yield libpat, kind

    def _lib_excluded(self, obj) -> bool:
        return any(self._lib_match(pattern, obj) for pattern in self.exclude_self)

    @staticmethod
    def _lib_match(pattern, obj) -> bool:
        if pattern is None:
            return True
        if obj is None:
            return False
        return any(fnmatch.fnmatchcase(n, pattern) for n in obj.names())

    def _chain(self, chain, name, deflib, caller) -> bool | None:
        state = chain[0][0] == "-"
        for sign, npat, lpat, kind in chain:
            if npat is not None and not fnmatch.fnmatchcase(name, npat):
                continue
            if lpat is not None:
                obj = caller if kind == "caller" else deflib
                if obj is False:  # caller not known yet: could match
                    if sign == "+":
                        return None
                    continue
                if not self._lib_match(lpat, obj):
                    continue
                if kind == "lib" and name not in obj.elf.exports:
                    continue  # -l: what LIB exports, as ltrace's (not its locals)
            state = sign == "+"
        return state

    def armed(self, name, deflib, main_imports) -> bool:
        """Whether a definition of ``name`` in ``deflib`` may be traced."""
        if self.imports_of_main:
            return name in main_imports
        return any(self._chain(c, name, deflib, False) is not False for c in self.chains)

    def wanted(self, name, deflib, caller) -> bool:
        key = (name, id(deflib), id(caller))
        hit = self._cache.get(key)
        if hit is None:
            if self.imports_of_main:
                hit = caller is not None and caller.main
            else:
                hit = any(self._chain(c, name, deflib, caller) for c in self.chains)
                if hit and caller is deflib and self._lib_excluded(deflib):
                    hit = False  # -l LIB: calls into LIB, not LIB's calls to itself
            self._cache[key] = hit
        return hit


def parse_chain(text: str, kind: str) -> list:
    """``getaddrinfo+connect@libc.so.6-free``, ``@libcurl.so*``, ``*``.

    ltrace's grammar, with one difference: ltrace 0.7.3 ends a library pattern
    at every ``+`` and ``-``, so ``getenv@libc-2.31.so`` is ``getenv@libc`` and
    ``-2.31.so`` there (it traces nothing, silently).  Here a ``+`` or ``-``
    inside a library pattern starts a new rule only if a rule can start there
    (``_starts_rule``: ``@LIB``, ``%CLASS``, or a symbol pattern, which has
    no ``.``, does not start with a digit and is not a bare ``*``); otherwise
    it is part of the name: ``@libfoo-bar.so*``, ``@libc-2.31.so``,
    ``@libfoo-*``, ``@libstdc++.so.6``.  Where the
    part after a ``-`` reads as a symbol (``@libxcb-shm*``), write ``?`` for
    the ``-`` (``@libxcb?shm*``), as with ltrace.
    """
    from pycoz_cli.errors import SpecError

    if not text:
        raise SpecError("empty filter")
    rules = []
    i, sign = 0, "+"
    if text[0] in "+-":
        sign, i = text[0], 1
    token = ""
    items = []
    for at in range(i, len(text) + 1):
        ch = text[at] if at < len(text) else "\0"
        separator = ch == "\0" or (ch in "+-" and not token.endswith("@"))
        if separator and (ch == "\0" or "@" not in token or _starts_rule(text[at + 1 :])):
            items.append((sign, token))
            token = ""
            sign = ch
            continue
        token += ch
    for sign, token in items:
        if not token:
            raise SpecError(f"{text!r}: empty rule in the filter")
        name, _, lib = token.partition("@")  # "@" alone: everything, as ltrace's
        if any(c.isspace() or c in "(),;=\"'" for c in token):
            raise SpecError(f"{text!r}: {token!r} is not a symbol or library pattern")
        rules.append((sign, name or None, lib or None, kind))
    return rules


def _starts_rule(rest: str) -> bool:
    """Whether ``rest``, the text after a ``+`` or ``-`` inside a library
    pattern, can be a rule of its own: ``@LIB...``, ``%CLASS``, or a symbol
    pattern (C identifier characters and globs, not starting with a digit, not
    a bare ``*``) with or without ``@LIB``."""
    end = next((j for j, c in enumerate(rest) if c in "+-"), len(rest))
    segment = rest[:end]
    if not segment:
        return False
    if segment[0] in "@%":
        return True
    name, at, _lib = segment.partition("@")
    if not at and not name.strip("*?"):
        return False  # @libfoo-*: "-*" would take every symbol out, a glob is meant
    return bool(name) and not name[0].isdigit() and all(c.isalnum() or c in "_*?[]!" for c in name)


class Engine:
    """Library-call breakpoints for every process of one traced program."""

    def __init__(self, selection: Selection, sink, *, follow=False, tamper=()):
        self.sel = selection
        self.sink = sink
        self.follow = follow
        self.tamper = list(tamper)
        self.spaces: dict[int, Space] = {}
        self.silent: set[int] = set()  # vfork children kept traced until their exec
        #: threads (clone events): they end without a line of their own, as in ltrace
        self.threads: set[int] = getattr(sink, "threads", set())
        self.release: set[int] = set()  # fork children to clean and let go
        self.regs = Regs()
        self.cont = pt.PTRACE_CONT
        self.notes = []
        self.counts: dict = {}
        self.ifuncs: set[str] = set()
        self.checked = False  # the first program's objects were checked (_loaded)
        self.attached = False  # -p
        #: ("fn" or "lib", name) asked for and found in some program; those
        #: not found yet, and the note that says so
        self.found: set = set()
        self.pending: dict = {}
        #: -k: keep each call's registers at entry for the unwinder
        self.want_regs = getattr(sink, "stacks", None) is not None
        self._files: dict = {}

    # --- objects and arming -------------------------------------------------------

    def _elf(self, pid, start, end, path):
        try:
            fd = os.open(f"/proc/{pid}/map_files/{start:x}-{end:x}", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            try:
                fd = os.open(f"/proc/{pid}/root{path}", os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return None
        try:
            st = os.fstat(fd)
            key = (st.st_dev, st.st_ino, st.st_mtime_ns)
            hit = self._files.get(key)
            if hit is None:
                try:
                    hit = self._files[key] = elfmod.Elf(fd)
                except (elfmod.NotELF, ValueError, OSError):
                    hit = self._files[key] = False
            return hit or None
        finally:
            os.close(fd)

    def _scan(self, space: Space) -> list[Obj]:
        """Read /proc/PID/maps; return the objects new since the last scan."""
        new = []
        first: dict[str, tuple] = {}
        spans: dict[str, list[int]] = {}
        exe = None
        try:
            exe = os.readlink(f"/proc/{space.pid}/exe")
        except OSError:
            pass
        for start, end, _perms, offset, path in _maps(space.pid):
            if path not in first and offset == 0:
                first[path] = (start, end)
            if path in first:
                span = spans.setdefault(path, [start, end])
                span[1] = max(span[1], end)
        for path, (start, end) in first.items():
            lo, hi = spans[path]
            known = space.objs.get(path)
            if known is not None and known.start == lo:
                continue
            if known is not None:  # closed and opened again elsewhere
                _forget(space, known)
            elf = self._elf(space.pid, start, end, path)
            if elf is None:
                continue
            base = 0 if elf.type == elfmod.ET_EXEC else start - elf.first_vaddr
            obj = Obj(
                path,
                lo,
                hi,
                base,
                elf,
                main=path == exe.removesuffix(" (deleted)") if exe else False,
            )
            space.objs[path] = obj
            new.append(obj)
        for path in [p for p in space.objs if p not in first]:
            # Unmapped (dlclose): its breakpoints went with it; forget them, so
            # that nothing is ever written back where another object may be now.
            gone = space.objs.pop(path)
            _forget(space, gone)
        ranges = sorted((o.start, o.end, o) for o in space.objs.values())
        space.ranges = ranges
        space.starts = [r[0] for r in ranges]
        return new

    def _main_imports(self, space: Space) -> set:
        main = next((o for o in space.objs.values() if o.main), None)
        return main.elf.imports if main is not None else set()

    def _arm(self, space: Space, objs) -> None:
        imports = self._main_imports(space) if self.sel.imports_of_main else ()
        literal = self.sel.literal_names()
        for obj in objs:
            elf = obj.elf
            for sym in () if FORCE_R_BRK else elf.lookup("_dl_debug_state"):
                self._insert(space, obj, sym.value, dl=True)
            if literal is not None:  # only these names can be traced: look them up
                names = [(n, syms) for n in literal if (syms := elf.lookup(n))]
            else:
                names = elf.symbols.items()
            for name, syms in names:
                if not self.sel.armed(name, obj, imports):
                    continue
                for sym in syms:
                    if sym.ifunc:  # resolved at the program's entry (_resolve_ifuncs)
                        self.ifuncs.add(name)
                        space.ifuncs.append((name, obj, sym.value))
                        continue
                    self._insert(space, obj, sym.value, entry=(name, obj))

    def _insert(self, space, obj, value, entry=None, dl=False, start=False) -> None:
        if not obj.elf.executable(value):
            return
        addr = obj.base + value
        bp = space.bps.get(addr)
        if bp is None:
            orig = obj.elf.read(value, 16)
            if orig is None or len(orig) < 16:
                return
            bp = Bp(addr, orig)
            if not self._steppable(bp):
                self.notes.append(
                    f"{entry[0] if entry else 'a breakpoint'} in {obj.name}: its first "
                    f"instruction ({orig[: bp.insn.length or 8].hex()}) cannot be stepped over; "
                    "not traced"
                )
                return
            space.write(addr, b"\xcc")
            space.bps[addr] = bp
            space.removed.discard(addr)
        if entry is not None:
            bp.entries = entry
        bp.dl = bp.dl or dl
        bp.start = bp.start or start

    def _steppable(self, bp: Bp) -> bool:
        return bp.insn.kind != x86.UNSUPPORTED and bp.insn.length > 0

    def arm_new(self, space: Space) -> list[Obj]:
        new = self._scan(space)
        self._arm(space, new)
        return new

    # --- the loop's hooks ---------------------------------------------------------

    def begin(self, pid: int, tids=(), attached=False) -> None:
        """A program to trace: ``pid`` stopped after its exec (or attached)."""
        self.attached = self.attached or attached
        space = self._new_space(pid)
        for tid in tids:
            self.spaces[tid] = space
            space.members.add(tid)
            if attached and not self.follow and _tgid(tid) not in (pid, None):
                self.silent.add(tid)  # a sharer (``sharers``), not followed
        new = self._scan(space)
        main = next((o for o in new if o.main), None)
        if attached or (main is not None and main.elf.interp is None):
            self._loaded(space, initial=True)  # before a byte is changed
        self._arm(space, new)
        dl_state = any(o.elf.lookup("_dl_debug_state") for o in new) and not FORCE_R_BRK
        if attached or main is None or not main.elf.interp:
            # Resolvers run only where ld.so has just relocated everything.
            self._unresolved(space, "is only resolved for a program pycoz starts, dynamic")
        if attached and main is not None and main.elf.interp and not dl_state:
            self._r_brk(space)
        elif main is not None and main.elf.interp and not attached:
            # At the entry, ld.so has relocated everything: r_debug is filled in
            # (for r_brk) and IFUNC resolvers can run.
            self._insert(space, main, main.elf.entry, start=True)

    def precheck(self, pid: int) -> None:
        """Before attaching to ``pid``: refuse what cannot be traced (a shadow
        stack, a function or library that is nowhere) while nothing is done
        to it yet, not even the seize."""
        _refuse_shadow_stack(pid)
        self.attached = True
        try:
            space = Space(pid)
        except OSError:
            return  # cannot look before attaching: begin() checks after the seize
        try:
            self._scan(space)
            self._loaded(space, initial=True)
        finally:
            space.close()
            self._files.clear()

    @staticmethod
    def sharers(pid: int) -> list[int]:
        """The threads of the processes that share ``pid``'s memory without
        being of it: its vfork and clone(CLONE_VM) children running now.  An
        attach traces them too: they would run into the breakpoints."""
        out = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == pid:
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rpartition(")")[2].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pid and _same_memory(pid, int(entry)):
                try:
                    out += sorted(int(t) for t in os.listdir(f"/proc/{entry}/task"))
                except OSError:
                    pass
        return out

    def _new_space(self, pid: int) -> Space:
        _refuse_shadow_stack(pid)
        space = Space(pid)
        self.spaces[pid] = space
        return space

    def _loaded(self, space: Space, initial: bool) -> None:
        """The initial set of objects is in place: check that what was asked exists.

        The first program refused in one line (before its ``main``) when it
        has nowhere a function or library asked for, unless it may get one
        later: a library it opens with ``dlopen``, or a program it runs (it
        imports an exec function: ``env``, ``sh -c``, a launcher; not for -p,
        where the program runs already).  Then,
        and for every later program, a note says so at the end, unless a
        program traced after all had it."""
        if space.loaded_once:
            return
        space.loaded_once = True
        first, self.checked = not self.checked, True
        objs = list(space.objs.values())
        names = ", ".join(sorted({o.soname or o.name for o in objs}))
        dlopen = any(o.elf.imports_name("dlopen") for o in objs)
        # (-p: the program runs already; what it may exec is not what was asked)
        execs = not self.attached and any(
            o.elf.imports_name(f) for o in objs for f in _EXEC_FUNCTIONS
        )
        missing = []
        for libpat, _kind in self.sel.libs():
            if any(self.sel._lib_match(libpat, o) for o in objs):
                self.found.add(("lib", libpat))
                continue
            msg = f"no library {libpat} is loaded (loaded: {names})"
            if dlopen:
                msg += "; traced if the program loads it with dlopen"
            missing.append((("lib", libpat), msg, dlopen))
        for name, libpat in self.sel.names():
            if any(o.elf.lookup(name) for o in objs):
                self.found.add(("fn", name))
                continue
            msg = f"no function {name} in the program or its libraries: {names}"
            later = dlopen and libpat is not None  # -x name@lib: a library dlopen'd later
            if later:
                msg += " (traced if a library loaded later has it)"
            missing.append((("fn", name), msg, later))
        for key in self.found:
            self.pending.pop(key, None)
        for key, msg, later in missing:
            if first and not later and not execs:
                raise CallError(msg)
            if key not in self.found:
                if execs and not later:
                    msg += " (traced if a program it runs has it)"
                self.pending.setdefault(key, msg)

    def all_notes(self) -> list[str]:
        """What to tell the user at the end, each once."""
        return list(dict.fromkeys([*self.notes, *self.pending.values()]))

    def child(self, parent: int, child: int, event: int) -> None:
        """A fork, vfork or clone event of ``parent``.

        What the child shares is read from the call's flags, not from the
        event: a clone with CLONE_VM and SIGCHLD (posix_spawn-like code, some
        runtimes) is reported as a fork but shares its parent's memory, and
        so its breakpoints; a clone without CLONE_VM is reported as a clone
        but has a copy of its own."""
        space = self.spaces.get(parent)
        if space is None:
            return
        flags = self._clone_flags(space, parent)
        if flags is None:  # not a call known here: what the event says
            flags = {pt.PTRACE_EVENT_CLONE: CLONE_VM | CLONE_THREAD,
                     pt.PTRACE_EVENT_VFORK: CLONE_VM | CLONE_VFORK}.get(event, 0)  # fmt: skip
        if flags & CLONE_VM:
            # One memory: one set of breakpoint bytes; the calls in progress
            # (frames) are per thread.  A thread ends without a line of its
            # own; a process sharing memory (vfork, clone(CLONE_VM)) is shown
            # with -f, and kept traced silently without it (its breakpoints
            # are its parent's) until its exec or exit.
            if flags & CLONE_THREAD:
                self.threads.add(child)
            self.spaces[child] = space
            space.members.add(child)
            unfollowed = not flags & CLONE_THREAD and not self.follow
            if unfollowed or parent in self.silent:
                self.silent.add(child)
            return
        if self.follow and parent not in self.silent:
            copy = Space(child)
            copy.objs, copy.ranges, copy.starts = dict(space.objs), space.ranges, space.starts
            copy.bps = {a: _copy_bp(bp) for a, bp in space.bps.items()}
            copy.slot_ends = dict(space.slot_ends)
            copy.slots = dict(space.slots)
            copy.parked = {a: _copy_bp(bp) for a, bp in space.parked.items()}
            copy.scratch = [list(s) for s in space.scratch]
            copy.loaded_once = space.loaded_once
            copy.r_state = space.r_state
            copy.syscall_insn = space.syscall_insn
            frames = space.frames.get(parent)
            if frames:
                copy.frames[child] = [_copy_frame(f, child) for f in frames]
            self.spaces[child] = copy
        else:
            # Its memory is a copy, breakpoints included: take them out, let it go.
            self.release.add(child)
            self.spaces[child] = _Released(space, child)

    def _clone_flags(self, space: Space, parent: int) -> int | None:
        """The flags of the fork, vfork, clone or clone3 ``parent`` is stopped
        in (at the event, its registers are the call's); None if unknown."""
        regs = self.regs
        if not regs.get(parent):
            return None
        nr = regs[ORIG_RAX]
        if nr == _NR_CLONE:
            return regs[RDI]
        if nr == _NR_CLONE3:  # struct clone_args: flags first
            try:
                return int.from_bytes(space.read(regs[RDI], 8), "little")
            except OSError:
                return None
        return {_NR_FORK: 0, _NR_VFORK: CLONE_VM | CLONE_VFORK}.get(nr)

    def stopped_new(self, pid: int) -> bool:
        """A stop of ``pid``: if it is a child to let go, clean it and detach;
        True when done (the loop forgets it)."""
        if pid not in self.release:
            return False
        self.release.discard(pid)
        released = self.spaces.pop(pid, None)
        try:
            fd = os.open(f"/proc/{pid}/mem", os.O_RDWR | os.O_CLOEXEC)
            try:
                for addr, bp in released.parent.bps.items():
                    os.pwrite(fd, bp.orig[:1], addr)
                if self.regs.get(pid):
                    _out_of_slots(self.regs, released.parent)
            finally:
                os.close(fd)
        except OSError:
            pass
        pt.resume(pt.PTRACE_DETACH, pid, 0)
        return True

    def exec(self, pid: int, former: int = 0) -> None:
        """``pid`` exec'd: its breakpoints are gone with its old memory."""
        old = self.spaces.pop(pid, None)
        if former:
            old = self.spaces.pop(former, None) or old
        if old is not None and not isinstance(old, _Released):
            old.members.discard(pid)
            old.members.discard(former)
            old.frames.pop(pid, None)
            old.frames.pop(former, None)
            for tid in list(old.members):
                # the other threads are gone with the exec
                if self.spaces.get(tid) is old and _gone(tid):
                    self.spaces.pop(tid, None)
                    old.members.discard(tid)
        if pid in self.silent:
            self.silent.discard(pid)
            if not self.follow:
                self.release.add(pid)
                self.spaces[pid] = _Released(_Empty(), pid)
                return
        self.begin(pid)

    def gone(self, pid: int) -> None:
        """``pid`` ended: its calls in progress never return."""
        space = self.spaces.pop(pid, None)
        if space is None or isinstance(space, _Released):
            return
        space.members.discard(pid)
        for frame in reversed(space.frames.pop(pid, [])):
            if space.members:  # the memory lives on: its return breakpoint goes
                self._drop_return(space, frame.ret)
            if pid not in self.silent:
                self.sink.libcall(frame, None)
        if pid in self.silent:
            self.threads.add(pid)  # not followed: it ends without a line, too
        self.silent.discard(pid)
        if not space.members:
            space.close()
        elif pid == space.pid:
            # The memory outlives the process that had it first (a vfork or
            # clone(CLONE_VM) child runs on): read it through one that lives.
            space.repoint(min(space.members))

    # --- breakpoint hits ----------------------------------------------------------

    def trap(self, pid: int) -> bool:
        """A SIGTRAP stop: True if it was one of ours (and the thread resumed)."""
        space = self.spaces.get(pid)
        if space is None or isinstance(space, _Released):
            return False
        info = pt.siginfo(pid)
        if info is None or info[2] != SI_KERNEL:
            return False
        regs = self.regs
        if not regs.get(pid):
            return True  # gone: its death comes next
        addr = regs[RIP] - 1
        bp = space.bps.get(addr)
        if bp is None:
            resume_at = space.slot_ends.get(addr)
            if resume_at is not None:  # back from an instruction run out of line
                regs[RIP] = resume_at
                regs.set()
                pt.resume(self.cont, pid, 0)
                return True
            if addr in space.removed:  # hit a return breakpoint just taken away
                regs[RIP] = addr
                regs.set()
                pt.resume(self.cont, pid, 0)
                return True
            return False
        if bp.returns and self._returned(space, pid, bp):
            return True
        if bp.start:
            bp.start = False
            self.arm_new(space)
            self._loaded(space, initial=True)
            if not any(b.dl for b in space.bps.values()):
                self._r_brk(space)
            self._resolve_ifuncs(space, pid)
        if bp.dl:
            self._dl_event(space, pid)
        if bp.entries is not None and self._entered(space, pid, bp):
            return True  # skipped by an inject=: already resumed
        self._step(space, pid, bp)
        return True

    def _entered(self, space: Space, pid: int, bp: Bp) -> bool:
        """A traced function's entry; True if the thread was resumed (skipped)."""
        regs = self.regs
        name, deflib = bp.entries
        sp = regs[RSP]
        try:
            ret = int.from_bytes(space.read(sp, 8), "little")
        except OSError:
            return False
        caller = space.caller(ret)
        if not self.sel.wanted(name, deflib, caller) or pid in self.silent:
            return False
        buf = regs.buf
        args = (buf[RDI], buf[RSI], buf[RDX], buf[RCX], buf[R8], buf[R9])
        frame = Frame(pid, name, deflib, caller, ret, sp, args, time.monotonic())
        if self.want_regs:
            # As at the function's first byte (the int3 left rip one past it):
            # no instruction of it has run, so its unwind row is the entry's.
            frame.regs = regs.save()
            frame.regs[RIP] = bp.addr
        self.sink.libcall_enter(frame, space.mem)
        if self.tamper:
            from pycoz_cli.core.trace import tamper

            if tamper.at_entry(self, space, pid, frame):
                return True
        space.frames.setdefault(pid, []).append(frame)
        self._return_bp(space, ret)
        return False

    def _return_bp(self, space: Space, ret: int) -> None:
        bp = space.bps.get(ret)
        if bp is None:
            # A return site used before (a call in a loop): its code is known.
            bp = space.parked.pop(ret, None)
            if bp is None:
                try:
                    orig = space.read(ret, 16)
                except OSError:
                    return
                bp = Bp(ret, orig)
                if not self._steppable(bp):
                    return
            space.write(ret, b"\xcc")
            space.bps[ret] = bp
            space.removed.discard(ret)
        bp.returns += 1

    def _returned(self, space: Space, pid: int, bp: Bp) -> bool:
        """A return breakpoint: report the call of ``pid`` that returns here.
        True if the thread was resumed (the breakpoint is gone)."""
        regs = self.regs
        sp = regs[RSP]
        frames = space.frames.get(pid)
        while frames and frames[-1].sp + 8 < sp:  # longjmp'd over: never returns
            stale = frames.pop()
            self._drop_return(space, stale.ret)
            self.sink.libcall(stale, None)
        returning = []
        # Several at once after a tail call (strcoll jumps to __strcoll_l): the
        # same return address and stack pointer; the inner one first.
        while frames and frames[-1].ret == bp.addr and frames[-1].sp + 8 == sp:
            returning.append(frames.pop())
        if not returning:
            return False  # another thread's return site, or a recursion's outer frame
        for frame in returning:
            frame.retval = regs[RAX]
            if frame.tamper is not None:
                from pycoz_cli.core.trace import tamper

                tamper.at_return(self, space, pid, frame)
            frame.t_exit = time.monotonic()
            later = self.sink.libcall(frame, space.mem)
            if later is not None:
                later()
            bp.returns -= 1
        if not bp.returns and bp.entries is None and not bp.dl:
            self._remove(space, bp)
            regs[RIP] = bp.addr
            regs.set()
            pt.resume(self.cont, pid, 0)
            return True
        return False

    def _drop_return(self, space: Space, ret: int) -> None:
        bp = space.bps.get(ret)
        if bp is None:
            return
        bp.returns -= 1
        if not bp.returns and bp.entries is None and not bp.dl:
            self._remove(space, bp)

    def _remove(self, space: Space, bp: Bp) -> None:
        try:
            space.write(bp.addr, bp.orig[:1])
        except OSError:
            pass
        del space.bps[bp.addr]
        space.removed.add(bp.addr)
        if bp.entries is None and not bp.dl and space.caller(bp.addr) is not None:
            space.parked[bp.addr] = bp  # file-backed code: the same next time

    def _resolve_ifuncs(self, space: Space, pid: int) -> None:
        """Break on the implementations the IFUNCs asked for resolve to: run
        each resolver in the stopped thread (as ld.so does), from a frame below
        the red zone, returning to an int3 in a scratch page."""
        pending, space.ifuncs = space.ifuncs, []
        space.started = True
        for name, obj, value in pending:
            impl = self._call_resolver(space, pid, obj.base + value)
            where = space.caller(impl) if impl else None
            if where is None:
                why = "resolves outside any file (the vDSO)" if impl else "its resolver failed"
                self._ifunc_note(name, why)
                continue
            self._insert(space, where, impl - where.base, entry=(name, obj))
            self.ifuncs.discard(name)
        self.regs.get(pid)

    def _unresolved(self, space: Space, why: str) -> None:
        for name, _obj, _value in space.ifuncs:
            self._ifunc_note(name, why)
        space.ifuncs = []

    def _ifunc_note(self, name: str, why: str) -> None:
        self.notes.append(
            f"{name} is an IFUNC (its implementation is picked by a resolver at run "
            f"time) and {why}: not traced"
        )

    def _call_resolver(self, space: Space, pid: int, resolver: int) -> int | None:
        trap = space.trap
        if trap is None:
            start = self.inject_syscall(space, pid, 9, 0, 4096, 5, 0x22, -1, 0)
            if start is None:
                return None
            space.write(start, b"\xcc")
            trap = space.trap = start
        regs = Regs()
        if not regs.get(pid):
            return None
        saved = regs.save()
        sp = ((saved[RSP] - 1024) & ~0xF) - 8
        space.write(sp, trap.to_bytes(8, "little"))
        regs[RSP] = sp
        regs[RIP] = resolver
        regs[ORIG_RAX] = -1
        regs.set()
        result = None
        for _ in range(16):
            if lib.ptrace(pt.PTRACE_CONT, pid, 0, 0) == -1:
                break
            _, status = os.waitpid(pid, _WALL)
            if not os.WIFSTOPPED(status):
                return None
            if os.WSTOPSIG(status) == signal.SIGTRAP and regs.get(pid):
                if regs[RIP] == trap + 1:
                    result = regs[RAX]
                break  # another trap: give up, nothing has changed for the program
        regs.get(pid)
        regs.load(saved)
        regs.set()
        return result

    def _r_brk(self, space: Space) -> None:
        """Where ld.so has no ``_dl_debug_state`` symbol: the documented way,
        DT_DEBUG in the program's dynamic section -> ``r_debug`` -> ``r_brk``,
        the function ld.so calls at every change of the object list."""
        main = next((o for o in space.objs.values() if o.main), None)
        if main is None or main.elf.dynamic is None:
            return
        at = main.base + main.elf.dynamic[0]
        try:
            for _ in range(256):
                tag = int.from_bytes(space.read(at, 8), "little", signed=True)
                if tag == elfmod.DT_NULL:
                    return
                if tag == elfmod.DT_DEBUG:
                    r_debug = int.from_bytes(space.read(at + 8, 8), "little")
                    break
                at += 16
            else:
                return
            if not r_debug:
                return
            r_brk = int.from_bytes(space.read(r_debug + 16, 8), "little")
        except OSError:
            return
        ld = space.caller(r_brk)
        if ld is None:
            return
        space.r_state = r_debug + 24
        self._insert(space, ld, r_brk - ld.base, dl=True)

    def _dl_event(self, space: Space, pid: int) -> None:
        if space.r_state is None:
            found = ((o, o.elf.object_value("_r_debug")) for o in space.objs.values())
            ld, value = next(((o, v) for o, v in found if v is not None), (None, None))
            space.r_state = (ld.base + value + 24) if ld else 0
        state = 0
        if space.r_state:
            try:
                state = int.from_bytes(space.read(space.r_state, 4), "little")
            except OSError:
                state = 0
        if state != 0:  # RT_ADD / RT_DELETE: the objects are not in place yet
            return
        self.arm_new(space)
        self._loaded(space, initial=True)
        if space.started:  # dlopen: not relocated yet, no resolver can run now
            self._unresolved(space, "is in a library opened with dlopen")

    # --- stepping over the instruction under a breakpoint -------------------------

    def _step(self, space: Space, pid: int, bp: Bp) -> None:
        regs = self.regs
        insn, code, addr = bp.insn, bp.orig, bp.addr
        nxt = addr + insn.length
        if code[:4] == b"\xf3\x0f\x1e\xfa" or code[0] == 0x90:  # endbr64, nop
            regs[RIP] = nxt
        elif 0x50 <= code[0] <= 0x57 or (code[0] == 0x41 and 0x50 <= code[1] <= 0x57):
            reg = (code[0] & 7) if code[0] != 0x41 else 8 + (code[1] & 7)
            sp = regs[RSP] - 8
            space.write(sp, (regs[_REGNO[reg]] & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little"))
            regs[RSP] = sp
            regs[RIP] = nxt
        elif code[:3] == b"\x48\x83\xec":  # sub $imm8,%rsp (flags: see docs/ltrace.md)
            regs[RSP] = regs[RSP] - code[3]
            regs[RIP] = nxt
        elif code[:3] == b"\x48\x81\xec":
            regs[RSP] = regs[RSP] - int.from_bytes(code[3:7], "little")
            regs[RIP] = nxt
        elif code[:3] == b"\x48\x89\xe5":  # mov %rsp,%rbp
            regs[RBP] = regs[RSP]
            regs[RIP] = nxt
        elif code[0] == 0xC3:  # ret
            sp = regs[RSP]
            regs[RIP] = int.from_bytes(space.read(sp, 8), "little")
            regs[RSP] = sp + 8
        elif insn.kind == x86.JMP:
            regs[RIP] = nxt + insn.disp
        elif insn.kind == x86.CALL:
            sp = regs[RSP] - 8
            space.write(sp, nxt.to_bytes(8, "little"))
            regs[RSP] = sp
            regs[RIP] = nxt + insn.disp
        elif insn.kind == x86.JCC:
            taken = x86.condition(insn.cond, regs[EFLAGS])
            regs[RIP] = nxt + insn.disp if taken else nxt
        else:
            made = space.slots.get(addr)
            slot = made[0] if made is not None else self._make_slot(space, pid, bp)
            if slot is None:
                raise CallError(f"cannot step over the instruction at {addr:#x}", setup=True)
            regs[RIP] = slot
        regs.set()
        pt.resume(self.cont, pid, 0)

    def _make_slot(self, space: Space, pid: int, bp: Bp) -> int | None:
        insn = bp.insn
        for page in space.scratch:
            if page[1] + _SLOT <= _SCRATCH and _reach(page[0] + page[1], bp.addr, insn):
                break
        else:
            start = self._map_scratch(space, pid, bp.addr)
            if start is None or not _reach(start, bp.addr, insn):
                return None
            page = [start, 0]
            space.scratch.append(page)
        slot = page[0] + page[1]
        page[1] += _SLOT
        code = bytearray(bp.orig[: insn.length])
        if insn.kind == x86.RIPREL:
            disp = insn.disp + bp.addr - slot
            code[insn.disp_at : insn.disp_at + 4] = disp.to_bytes(4, "little", signed=True)
        space.write(slot, bytes(code) + b"\xcc")
        space.slot_ends[slot + insn.length] = bp.addr + insn.length
        space.slots[bp.addr] = (slot, insn.length)
        return slot

    def _map_scratch(self, space: Space, pid: int, near: int) -> int | None:
        """mmap a scratch area in the tracee, as close to ``near`` as is free."""
        hint = _free_near(space.pid, near)
        return self.inject_syscall(space, pid, 9, hint, _SCRATCH, 5, 0x22, -1, 0)

    def inject_syscall(self, space: Space, pid: int, nr: int, *args) -> int | None:
        """Run one syscall in the stopped thread ``pid`` (its registers saved and
        put back): point rip at a ``syscall`` instruction of its text, step it."""
        where = space.syscall_insn
        if where is None:
            where = space.syscall_insn = _find_syscall(space)
        if where is None:
            return None
        regs = Regs()
        if not regs.get(pid):
            return None
        if regs[ORIG_RAX] != _NO_SYSCALL and regs[RAX] == _ENOSYS_RESULT:
            # Inside a syscall that has not returned (a fork's or clone's
            # event stop, a syscall-entry stop): resuming would finish that
            # call first, its result in place of ours, and putting the saved
            # registers back would then make it return -ENOSYS.
            return None
        saved = regs.save()
        regs[RAX] = nr
        for r, v in zip((RDI, RSI, RDX, R10, R8, R9), args, strict=False):
            regs[r] = v
        regs[RIP] = where
        regs[ORIG_RAX] = -1  # no syscall restart on the way out of a stop in one
        regs.set()
        result = None
        for _ in range(16):
            if lib.ptrace(PTRACE_SINGLESTEP, pid, 0, 0) == -1:
                break
            _, status = os.waitpid(pid, _WALL)
            if not os.WIFSTOPPED(status):
                return None
            trapped = os.WSTOPSIG(status) == signal.SIGTRAP and (status >> 16) == 0
            if trapped and regs.get(pid) and regs[RIP] != where:
                result = regs[RAX]
                break
        regs.get(pid)
        regs.load(saved)
        regs.set()
        self.regs.get(pid)
        if result is None or result >= 0xFFFFFFFFFFFFF000:
            return None
        return result

    # --- detaching ----------------------------------------------------------------

    def stopped_for_detach(self, pid: int) -> int:
        """A thread stopped for the detach: if the stop is one of our int3s
        not yet dealt with, put it back on the instruction (or out of a scratch
        copy).  Returns the real signal to give back at the detach (0: none)."""
        info = pt.siginfo(pid)
        if info is None:
            return 0
        signo, _err, code = info[0], info[1], info[2]
        if signo != signal.SIGTRAP:
            return signo
        if code != SI_KERNEL:
            if code <= 0:
                return signal.SIGTRAP  # kill -TRAP
            if _sigtrap_pending(pid):
                # Stopped by the interrupt with an int3's SIGTRAP still queued
                # (the interrupt's stop comes first): let it take the signal,
                # which stops it at once, and undo that.
                pt.resume(pt.PTRACE_CONT, pid, 0)
                _, status = os.waitpid(pid, _WALL)
                if not os.WIFSTOPPED(status):
                    return 0
                return self.stopped_for_detach(pid)
            return 0  # a ptrace event or syscall stop
        space = self.spaces.get(pid)
        if space is None or isinstance(space, _Released) or not self.regs.get(pid):
            return 0
        addr = self.regs[RIP] - 1
        if addr in space.bps or addr in space.removed:
            self.regs[RIP] = addr
            self.regs.set()
        elif addr in space.slot_ends:
            self.regs[RIP] = space.slot_ends[addr]
            self.regs.set()
        else:
            return signal.SIGTRAP  # the program's own int3
        return 0

    def restore(self, pids) -> None:
        """Take every breakpoint out; move stopped threads ``pids`` out of the
        scratch copies.  Every thread must be stopped."""
        done = set()
        for space in {id(s): s for s in self.spaces.values()}.values():
            if isinstance(space, _Released) or id(space) in done:
                continue
            done.add(id(space))
            for addr, bp in list(space.bps.items()):
                try:
                    space.write(addr, bp.orig[:1])
                except OSError:
                    pass
            space.removed.update(space.bps)
        unmapped = set()
        for pid in pids:
            space = self.spaces.get(pid)
            if space is None or isinstance(space, _Released) or not self.regs.get(pid):
                continue
            _out_of_slots(self.regs, space)
        for pid in pids:
            space = self.spaces.get(pid)
            if space is None or isinstance(space, _Released) or id(space) in unmapped:
                continue
            # The scratch copies go too (every thread is out of them now), run
            # by a thread that is not inside a syscall (``inject_syscall``);
            # the next one of the space tries when this one is. The pages of
            # injected strings stay: the program may keep a pointer.
            if space.scratch and not _out_of_syscall(self.regs, pid):
                continue
            for page in list(space.scratch):
                if self.inject_syscall(space, pid, 11, page[0], _SCRATCH) is not None:  # munmap
                    space.scratch.remove(page)
            if not space.scratch:
                unmapped.add(id(space))


class _Released:
    """A forked child being let go (its parent's breakpoints to take out)."""

    def __init__(self, parent, pid):
        self.parent = parent
        self.pid = pid


class _Empty:
    bps: dict = {}
    slot_ends: dict = {}
    slots: dict = {}


#: Events reported from inside a fork or clone that then returns at once
#: (not a vfork's, whose parent waits there for its child to exec or exit).
_RETURNING_EVENTS = (pt.PTRACE_EVENT_FORK, pt.PTRACE_EVENT_CLONE, pt.PTRACE_EVENT_VFORK_DONE)


def _out_of_syscall(regs: Regs, pid: int) -> bool:
    """Whether the stopped thread ``pid`` can run an injected syscall: it is not
    inside one that has not returned, or it was stopped at a fork's or clone's
    event and is now let finish that call (to its syscall-exit stop)."""
    if not regs.get(pid):
        return False
    if regs[ORIG_RAX] == _NO_SYSCALL or regs[RAX] != _ENOSYS_RESULT:
        return True
    info = pt.siginfo(pid)
    if info is None or info[0] != signal.SIGTRAP or (info[2] >> 8) not in _RETURNING_EVENTS:
        return False
    if lib.ptrace(pt.PTRACE_SYSCALL, pid, 0, 0) == -1:
        return False
    _, status = os.waitpid(pid, _WALL)
    return os.WIFSTOPPED(status) and regs.get(pid) and regs[RAX] != _ENOSYS_RESULT


def _out_of_slots(regs: Regs, space) -> None:
    """A thread stopped inside a scratch copy goes back to the original."""
    rip = regs[RIP]
    for end, resume in space.slot_ends.items():
        if rip == end:
            regs[RIP] = resume
            regs.set()
            return
    for addr, (slot, length) in space.slots.items():
        if slot <= rip < slot + length:
            regs[RIP] = addr + rip - slot
            regs.set()
            return


def _copy_bp(bp: Bp) -> Bp:
    new = Bp.__new__(Bp)
    for name in Bp.__slots__:
        setattr(new, name, getattr(bp, name))
    return new


def _copy_frame(frame: Frame, pid: int) -> Frame:
    new = Frame(pid, frame.name, frame.lib, frame.caller, frame.ret, frame.sp, frame.args,
                frame.t_enter)  # fmt: skip
    new.state = frame.state
    return new


def _forget(space: Space, obj: Obj) -> None:
    """``obj`` is unmapped: its breakpoints (and what is known of its code) go."""
    for table in (space.bps, space.parked, space.slots):
        for addr in [a for a in table if obj.start <= a < obj.end]:
            del table[addr]


def _same_memory(pid: int, other: int) -> bool:
    """kcmp(KCMP_VM): whether two processes share one address space (a
    kernel without kcmp: as if they did, so that ``other`` is traced)."""
    rc = lib.syscall(
        ffi.cast("long", _NR_KCMP),
        ffi.cast("int", pid),
        ffi.cast("int", other),
        ffi.cast("int", _KCMP_VM),
        ffi.cast("unsigned long", 0),
        ffi.cast("unsigned long", 0),
    )
    return rc == 0 or (rc == -1 and ffi.errno == errno.ENOSYS)


def _tgid(tid: int) -> int | None:
    try:
        with open(f"/proc/{tid}/status") as f:
            for line in f:
                if line.startswith("Tgid:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _sigtrap_pending(tid: int) -> bool:
    """Whether SIGTRAP is queued for thread ``tid`` (its own or its process's)."""
    try:
        with open(f"/proc/{tid}/status") as f:
            for line in f:
                if line.startswith(("SigPnd:", "ShdPnd:")) and int(line.split()[1], 16) & (
                    1 << (signal.SIGTRAP - 1)
                ):
                    return True
    except (OSError, ValueError):
        pass
    return False


def _gone(tid: int) -> bool:
    return not os.path.exists(f"/proc/{tid}")


def _reach(slot: int, addr: int, insn) -> bool:
    if insn.kind != x86.RIPREL:
        return True
    disp = insn.disp + addr - slot
    return -(1 << 31) <= disp < (1 << 31)


def _free_near(pid: int, near: int) -> int:
    """An address of a free gap near ``near`` (the kernel takes it as a hint)."""
    spans = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            a, b = line.split(None, 1)[0].split("-")
            spans.append((int(a, 16), int(b, 16)))
    spans.sort()
    best = 0
    for (_, end), (nstart, _) in itertools.pairwise(spans):
        if nstart - end >= 2 * _SCRATCH:
            cand = end + _SCRATCH if end >= near else nstart - 2 * _SCRATCH
            if not best or abs(cand - near) < abs(best - near):
                best = cand
    return best


def _find_syscall(space: Space) -> int | None:
    for obj in space.objs.values():
        for vaddr, _memsz, off, filesz, flags in obj.elf.segments:
            if not flags & elfmod.PF_X:
                continue
            at = obj.elf.data.find(b"\x0f\x05", off, off + filesz)
            if at >= 0:
                return obj.base + vaddr + at - off
    return None


def _refuse_shadow_stack(pid: int) -> None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("x86_Thread_features:") and "shstk" in line.split(":", 1)[1]:
                    raise CallError(
                        f"pid {pid} runs with a CET shadow stack (x86_Thread_features: shstk): "
                        "library-call breakpoints are not supported there",
                        setup=True,
                    )
    except OSError:
        pass
