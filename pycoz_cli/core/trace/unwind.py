"""Stack traces of a stopped tracee, as ``strace -k`` prints them.

Debian's libraries keep no frame pointers, so the stack is unwound with the
call-frame information every ELF object carries for exceptions (``.eh_frame``,
found through the ``.eh_frame_hdr`` search table), interpreted by pyelftools;
frames are named from the ELF symbol tables (``.symtab``, else ``.dynsym``) as
libunwind names them for strace: the nearest function symbol at or below the
address, whatever its size says (``__libc_init_first+0x8a`` where libc's static
``__libc_start_call_main`` has no symbol left).

Files are opened through ``/proc/PID/map_files/``: the tracee may live in
another mount namespace, where its paths mean other files (or none) to us.  The
vDSO has no file: its image is read from the tracee's memory.  A signal handler's
return trampoline (``__restore_rt``, whose CFI is an expression) is recognised by
its code, and the interrupted registers are taken from the ucontext under it.
What is read from a file (symbols, segments, the search table, decoded CFI) is
cached per file, keyed by (device, inode, mtime), for every process that maps it.

pyelftools costs ~50 ms to import; it is imported on the first stack only, so
that nothing is paid unless ``-k`` is asked for.

x86_64 and aarch64 (``regs`` by their kernel names: rip, rsp, rbp, rbx, r12-r15;
pc, sp, x29, x30, x19-x28).
"""

from __future__ import annotations

import bisect
import os
import struct
from dataclasses import dataclass

__all__ = ["Frame", "Unwinder", "check_machine", "format_frames", "registers", "stack"]

#: strace -k's limit on the frames of one stack (libunwind's loop in strace).
MAX_FRAMES = 256

_MACHINE = os.uname().machine

# DWARF register numbers of the registers a caller keeps -> the kernel's names.
# (The return-address column comes from each CIE.)
if _MACHINE == "aarch64":
    _DWARF = {29: "x29", 30: "x30", 31: "sp", **{n: f"x{n}" for n in range(19, 29)}}
    _SP, _PC = "sp", "pc"
else:
    _DWARF = {3: "rbx", 6: "rbp", 7: "rsp", 12: "r12", 13: "r13", 14: "r14", 15: "r15"}
    _SP, _PC = "rsp", "rip"
_SP_DWARF = next(n for n, name in _DWARF.items() if name == _SP)


def check_machine(what: str = "stack traces") -> None:
    """Refuse, in one line (SpecError), an architecture the unwinder does not know."""
    if _MACHINE not in ("x86_64", "aarch64"):
        from pycoz_cli.errors import SpecError

        raise SpecError(f"{what}: stack traces are not supported on {_MACHINE}")


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame: its pc, the file mapped there (as the tracee names it), the
    symbol at or below pc (None if none) and pc's distance from it, and pc's
    offset in the file (strace's bracketed number)."""

    pc: int
    path: str | None
    symbol: str | None
    offset: int
    file_offset: int


def format_frames(frames, at_entry: bool = False) -> list[str]:
    """strace -k's lines: `` > /usr/lib/x86_64-linux-gnu/libc.so.6(__write+0x10) [0xf8350]``.

    A frame no symbol names is ``path() [0x...]``, or ``path(+0x0) [0x...]`` in
    a stack taken at a call's entry (``at_entry``: exit, exit_group, execve), as
    strace 6.1 prints them.
    """
    bare = "(+0x0)" if at_entry else "()"
    lines = []
    for f in frames:
        if f.path is None:
            lines.append(f" > unexpected_backtracing_error [{f.pc:#x}]")
        elif f.symbol is None:
            lines.append(f" > {f.path}{bare} [{f.file_offset:#x}]")
        else:
            lines.append(f" > {f.path}({f.symbol}+{f.offset:#x}) [{f.file_offset:#x}]")
    return lines


# --- registers of a stopped tracee ------------------------------------------------------

# struct user_regs_struct (x86_64), in the kernel's order.
_X86_REGS = (
    "r15",
    "r14",
    "r13",
    "r12",
    "rbp",
    "rbx",
    "r11",
    "r10",
    "r9",
    "r8",
    "rax",
    "rcx",
    "rdx",
    "rsi",
    "rdi",
    "orig_rax",
    "rip",
    "cs",
    "eflags",
    "rsp",
    "ss",
    "fs_base",
    "gs_base",
    "ds",
    "es",
    "fs",
    "gs",
)


#: user_regs_struct's registers in order (x86_64): what a saved register block holds.
REGISTER_NAMES = _X86_REGS


def registers(pid: int) -> dict[str, int]:
    """The general registers of ``pid`` (in a ptrace-stop), by name:
    PTRACE_GETREGSET NT_PRSTATUS, through pycoz's cffi bindings."""
    from pycoz_cli.core.libc import ffi, lib
    from pycoz_cli.core.trace import ptrace as pt

    if _MACHINE == "x86_64":
        names = _X86_REGS
    elif _MACHINE == "aarch64":
        names = [f"x{n}" for n in range(31)] + ["sp", "pc", "pstate"]
    else:
        raise OSError(95, "stack traces are not supported on", _MACHINE)
    global _REGS_BUFFER
    if _REGS_BUFFER is None:  # one buffer for every call: no allocation per stack
        buf = ffi.new("uint64_t[]", len(names))
        iov = ffi.new("struct iovec *", {"iov_base": buf, "iov_len": 8 * len(names)})
        _REGS_BUFFER = (buf, iov, int(ffi.cast("uintptr_t", iov)), names)
    buf, iov, address, names = _REGS_BUFFER
    iov.iov_len = 8 * len(names)
    ffi.errno = 0
    if lib.ptrace(pt.PTRACE_GETREGSET, pid, 1, address) == -1:
        raise OSError(ffi.errno, "cannot read the registers of", f"pid {pid}")
    return dict(zip(names, ffi.unpack(buf, len(names)), strict=True))


_REGS_BUFFER = None


# --- one ELF file, what unwinding needs of it -----------------------------------------


class _Elf:
    """Symbols, load segments and CFI of one ELF file (any process's mapping)."""

    def __init__(self, f):
        from elftools.dwarf.callframe import CallFrameInfo
        from elftools.elf.elffile import ELFFile

        self.file = f
        self.elf = ELFFile(f)
        self.loads = [
            (s["p_offset"], s["p_filesz"], s["p_vaddr"])
            for s in self.elf.iter_segments()
            if s["p_type"] == "PT_LOAD"
        ]
        self._symbols = None
        self._fdes: dict = {}
        self._rows: dict = {}
        self._table = None
        self._cfi = None
        eh = self.elf.get_section_by_name(".eh_frame")
        if eh is not None and eh["sh_type"] != "SHT_NOBITS":
            dwarf = self.elf.get_dwarf_info(relocate_dwarf_sections=False, follow_links=False)
            section = dwarf.eh_frame_sec
            if section is not None:
                self._cfi = CallFrameInfo(
                    stream=section.stream,
                    size=section.size,
                    address=section.address,
                    base_structs=dwarf.structs,
                    for_eh_frame=True,
                )
        self._eh_addr = eh["sh_addr"] if eh is not None else 0

    def vaddr(self, file_offset: int) -> int | None:
        """The ELF virtual address of a file offset (in a PT_LOAD segment)."""
        for off, size, vaddr in self.loads:
            if off <= file_offset < off + max(size, 1):
                return file_offset - off + vaddr
        return None

    # Symbols ------------------------------------------------------------------------

    def symbol(self, vaddr: int) -> tuple[str, int] | None:
        """The nearest function symbol at or below ``vaddr``, and the distance."""
        if self._symbols is None:
            self._symbols = self._load_symbols()
        addrs, names = self._symbols
        i = bisect.bisect_right(addrs, vaddr) - 1
        return (names[i], vaddr - addrs[i]) if i >= 0 else None

    def _load_symbols(self):
        # libunwind's lookup: STT_FUNC symbols of every symbol table, in the
        # order of the section headers (.dynsym before .symtab); of several at
        # one address, the first seen.
        best: dict[int, str] = {}
        for section in self.elf.iter_sections():
            if section["sh_type"] not in ("SHT_SYMTAB", "SHT_DYNSYM"):
                continue
            for sym in section.iter_symbols():
                if sym["st_info"]["type"] != "STT_FUNC" or sym["st_shndx"] == "SHN_UNDEF":
                    continue
                value = sym["st_value"]
                if value and sym.name and value not in best:
                    best[value] = sym.name
        addrs = sorted(best)
        return addrs, [best[a] for a in addrs]

    # Call-frame information ----------------------------------------------------------

    def row(self, vaddr: int):
        """(the CFI table's row, the return-address column) at ``vaddr``, or None;
        remembered per address (the same return addresses come back)."""
        try:
            return self._rows[vaddr]
        except KeyError:
            pass
        found = self._rows[vaddr] = self._row(vaddr)
        return found

    def _row(self, vaddr: int):
        fde = self._fde(vaddr)
        if fde is None:
            return None
        rows = self._fdes.get(id(fde))
        if rows is None:
            rows = self._fdes[id(fde)] = fde.get_decoded().table
        chosen = None
        for line in rows:
            if line["pc"] > vaddr:
                break
            chosen = line
        if chosen is None:
            return None
        return _compile(chosen, fde.cie["return_address_register"])

    def _fde(self, vaddr: int):
        if self._cfi is None:
            return None
        if self._table is None:
            self._table = self._search_table()
        starts, offsets = self._table
        i = bisect.bisect_right(starts, vaddr) - 1
        fde = self._cfi._parse_entry_at(offsets[i]) if i >= 0 else None
        if not hasattr(fde, "cie") or fde.cie is None:
            return None
        start = fde.header.initial_location
        if not start <= vaddr < start + fde.header.address_range:
            return None
        return fde

    def _search_table(self):
        """(initial locations, .eh_frame offsets) of every FDE, sorted: from
        .eh_frame_hdr's binary search table, else by walking .eh_frame once."""
        hdr = self.elf.get_section_by_name(".eh_frame_hdr")
        if hdr is not None:
            table = _parse_eh_frame_hdr(hdr.data(), hdr["sh_addr"], self._eh_addr)
            if table is not None:
                return table
        pairs = []
        for entry in self._cfi.get_entries():
            if type(entry).__name__ == "FDE":
                pairs.append((entry.header.initial_location, entry.offset))
        pairs.sort()
        return [p[0] for p in pairs], [p[1] for p in pairs]


def _parse_eh_frame_hdr(data: bytes, hdr_addr: int, eh_addr: int):
    """The binary search table of .eh_frame_hdr in the encoding every
    toolchain writes (DW_EH_PE_datarel|sdata4 pairs); None for another."""
    if len(data) < 12 or data[0] != 1:
        return None
    ptr_enc, count_enc, table_enc = data[1], data[2], data[3]
    if ptr_enc != 0x1B or count_enc != 0x03 or table_enc != 0x3B:
        return None
    (count,) = struct.unpack_from("<I", data, 8)
    if 12 + 8 * count > len(data):
        return None
    flat = struct.unpack_from(f"<{2 * count}i", data, 12)
    starts = [hdr_addr + v for v in flat[0::2]]
    offsets = [hdr_addr + v - eh_addr for v in flat[1::2]]
    return starts, offsets


# --- the unwinder -----------------------------------------------------------------------


class _Mapping:
    __slots__ = ("dev", "end", "ino", "offset", "path", "start")

    def __init__(self, start, end, offset, dev, ino, path):
        self.start, self.end, self.offset = start, end, offset
        self.dev, self.ino, self.path = dev, ino, path


def _read_maps(pid: int) -> bytes:
    with open(f"/proc/{pid}/maps", "rb") as f:
        return f.read()


def _maps(text: bytes) -> list[_Mapping]:
    out = []
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 6 or b"x" not in parts[1]:
            continue
        if not parts[5].startswith(b"/") and parts[5] != b"[vdso]":
            continue
        start, _, end = parts[0].partition(b"-")
        path = parts[5].decode("utf-8", "surrogateescape")
        if path.endswith(" (deleted)"):
            path = path[: -len(" (deleted)")]
        out.append(
            _Mapping(int(start, 16), int(end, 16), int(parts[2], 16), parts[3], parts[4], path)
        )
    out.sort(key=lambda m: m.start)
    return out


class Unwinder:
    """Stacks of tracees; files read once for all of them."""

    def __init__(self):
        self._files: dict = {}  # (dev, ino, mtime) -> _Elf, or None if unreadable
        # pid -> (the text of /proc/PID/maps, its mappings, their start addresses,
        # and the _Elf of each mapping looked up so far).  Re-read at every stack,
        # parsed again only when it changed.
        self._maps: dict = {}

    def forget(self, pid: int) -> None:
        """``pid`` exec'd or is gone: drop its mappings."""
        self._maps.pop(pid, None)

    def close(self) -> None:
        self._maps.clear()
        for elf in self._files.values():
            if elf is not None:
                elf.file.close()
        self._files.clear()

    def _elf(self, pid: int, m: _Mapping, mem):
        if m.path == "[vdso]":  # no file: the kernel's image, read from memory
            import io

            try:
                image = read_all(mem, m.start, m.end - m.start)
            except OSError:
                return None
            key = ("[vdso]", hash(image))
            if key not in self._files:
                try:
                    self._files[key] = _Elf(io.BytesIO(image))
                except Exception:
                    self._files[key] = None
            return self._files[key]
        try:
            f = open(f"/proc/{pid}/map_files/{m.start:x}-{m.end:x}", "rb")  # noqa: SIM115
        except OSError:
            try:  # no CAP_SYS_ADMIN for map_files: the tracee's root, then the path
                f = open(f"/proc/{pid}/root{m.path}", "rb")  # noqa: SIM115
            except OSError:
                return None
        st = os.fstat(f.fileno())
        key = (st.st_dev, st.st_ino, st.st_mtime_ns)
        if key in self._files:
            f.close()
            return self._files[key]
        try:
            elf = _Elf(f)
        except Exception:  # not an ELF file, or one pyelftools cannot read
            f.close()
            elf = None
        self._files[key] = elf
        return elf

    def stack(self, pid: int, regs: dict, mem) -> list[Frame]:
        """The frames of ``pid``'s stack, innermost first, from its registers."""
        if _PC not in regs or _SP not in regs:
            raise OSError(95, "stack traces are not supported on", _MACHINE)
        text = _read_maps(pid)
        known = self._maps.get(pid)
        if known is None or known[0] != text:
            maps = _maps(text)
            known = self._maps[pid] = (text, maps, [m.start for m in maps], {}, {})
        _, maps, starts, elves, seen = known
        state = {n: regs.get(name) for n, name in _DWARF.items()}
        pc = regs[_PC]
        frames: list[Frame] = []
        exact = True  # pc is the instruction itself (the stop, an interrupted one)
        for _ in range(MAX_FRAMES):
            # The same return addresses come back call after call: each one is
            # placed and named once per version of the process's mappings.
            known_frame = seen.get((pc, exact))
            if known_frame is not None:
                frame, elf, vaddr = known_frame
                frames.append(frame)
                if vaddr is None:
                    break
                pc, exact = self._caller(elf, vaddr, frame.pc, state, mem)
                if not pc:
                    break
                continue
            key = (pc, exact)
            i = bisect.bisect_right(starts, pc) - 1
            m = maps[i] if i >= 0 and pc < maps[i].end else None
            if m is None:
                if pc:
                    frames.append(Frame(pc, None, None, 0, pc))
                break
            if m.start in elves:
                elf = elves[m.start]
            else:
                elf = elves[m.start] = self._elf(pid, m, mem)
            file_offset = pc - m.start + m.offset
            # A return address is just after its call: look up the call itself.
            lookup = file_offset if exact else file_offset - 1
            vaddr = elf.vaddr(lookup) if elf is not None else None
            name, dist = None, 0
            if vaddr is not None:
                found = elf.symbol(vaddr)
                if found is not None:
                    name, dist = found[0], found[1] + (file_offset - lookup)
            frame = Frame(pc, m.path, name, dist, file_offset)
            seen[key] = (frame, elf, vaddr)
            frames.append(frame)
            if vaddr is None:
                break
            pc, exact = self._caller(elf, vaddr, pc, state, mem)
            if not pc:
                break
        return frames

    def _caller(self, elf, vaddr: int, pc: int, state: dict, mem) -> tuple[int, bool]:
        """The caller's pc (0 at the end), and whether it is exact (an
        interrupted instruction rather than a return address)."""
        caller = self._step(elf, vaddr, state, mem)
        if not caller and _MACHINE == "x86_64" and _sigreturn_at(mem, pc):
            # A signal handler's return (its CFI is an expression): the
            # interrupted registers are in the ucontext on the stack.
            return _from_sigframe(mem, state), True
        return caller, False

    def _step(self, elf: _Elf, vaddr: int, state: dict, mem) -> int:
        """Unwind one frame in place; the caller's pc, or 0 at the end."""
        rule = elf.row(vaddr)
        if rule is None:
            return 0
        cfa_reg, cfa_off, ra_kind, ra_arg, saved, lo, hi = rule
        base = state.get(cfa_reg)
        if base is None:
            return 0
        cfa = (base + cfa_off) & 0xFFFFFFFFFFFFFFFF
        block = None
        if hi > lo:  # every register saved in the frame, in one read
            try:
                block = mem.read((cfa + lo) & 0xFFFFFFFFFFFFFFFF, hi - lo)
            except OSError:
                return 0
        ra = _value(ra_kind, ra_arg, None, cfa, state, block, lo)
        new = dict(state)
        for column, kind, arg in saved:
            new[column] = _value(kind, arg, column, cfa, state, block, lo)
        new[_SP_DWARF] = cfa
        state.clear()
        state.update(new)
        return ra or 0


#: x86_64's __restore_rt (glibc, musl): mov $15 (rt_sigreturn), %rax; syscall.
_SIGRETURN = bytes.fromhex("48c7c00f0000000f05")
# struct ucontext_t: uc_mcontext.gregs at 40; REG_R12.. and REG_RBP, REG_RBX, REG_RSP, REG_RIP.
_GREGS = 40
_FROM_GREGS = {12: 4, 13: 5, 14: 6, 15: 7, 6: 10, 3: 11, 7: 15}
_REG_RIP = 16


def _sigreturn_at(mem, pc: int) -> bool:
    try:
        return mem.read(pc, len(_SIGRETURN)) == _SIGRETURN
    except OSError:
        return False


def _from_sigframe(mem, state: dict) -> int:
    """Registers from the signal frame at the stack pointer (the ucontext, once
    the handler has returned into __restore_rt); the interrupted pc, or 0."""
    sp = state.get(7)
    if sp is None:
        return 0
    try:
        raw = mem.read(sp + _GREGS, 8 * (_REG_RIP + 1))
    except OSError:
        return 0
    if len(raw) < 8 * (_REG_RIP + 1):
        return 0
    gregs = struct.unpack(f"<{_REG_RIP + 1}Q", raw)
    for column, index in _FROM_GREGS.items():
        state[column] = gregs[index]
    return gregs[_REG_RIP]


def read_all(mem, addr: int, size: int) -> bytes:
    """``size`` bytes of tracee memory at ``addr`` (fewer where it ends), read in
    as many pieces as the Memory gives."""
    out = b""
    while len(out) < size:
        chunk = mem.read(addr + len(out), size - len(out))
        if not chunk:
            break
        out += chunk
    return out


def _compile(row: dict, ra_column: int):
    """A CFI row as what ``_step`` needs, or None where unwinding stops (a CFA
    from a DWARF expression: PLT stubs, signal frames; an undefined return
    address: the outermost frame, _start or a new thread's)::

        (CFA register, CFA offset, return-address rule kind and argument,
         [(column, kind, argument) of the registers kept], lowest and highest
         byte offset from the CFA where registers are saved)
    """
    cfa = row["cfa"]
    if cfa.expr is not None or cfa.reg not in _DWARF:
        return None
    saved = []
    ra_kind, ra_arg = None, None
    offsets = []
    for column, rule in row.items():
        if not isinstance(column, int):
            continue
        kind = rule.type
        if kind not in ("OFFSET", "VAL_OFFSET", "REGISTER", "SAME_VALUE", "UNDEFINED"):
            kind = "UNDEFINED"  # DWARF expressions: not followed
        if kind == "OFFSET":
            offsets.append(rule.arg)
        if column == ra_column:
            ra_kind, ra_arg = kind, rule.arg
        elif column in _DWARF:
            saved.append((column, kind, rule.arg))
    if ra_kind is None:
        if _MACHINE != "aarch64":
            return None
        ra_kind, ra_arg = "REGISTER", 30  # the link register still holds it
    if ra_kind == "UNDEFINED":
        return None
    lo = min(offsets, default=0)
    hi = max(offsets, default=-8) + 8
    return cfa.reg, cfa.offset, ra_kind, ra_arg, tuple(saved), lo, hi


def _value(kind, arg, column, cfa, state, block, lo):
    if kind == "OFFSET":
        at = arg - lo
        return int.from_bytes(block[at : at + 8], "little") if len(block) >= at + 8 else None
    if kind == "VAL_OFFSET":
        return cfa + arg
    if kind == "REGISTER":
        return state.get(arg)
    if kind == "SAME_VALUE":
        return state.get(column)
    return None


_DEFAULT: Unwinder | None = None


def stack(pid: int, regs: dict, mem) -> list[Frame]:
    """``pid``'s stack (it must be in a ptrace-stop), with a process-wide cache."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Unwinder()
    return _DEFAULT.stack(pid, regs, mem)
