"""A small ELF64 reader: what library-call breakpoints need, and nothing more.

Hand-written on ``struct`` and ``mmap`` rather than pyelftools because start-up
is a goal of ``pycoz ltrace`` (at most 1.3x ``python3 -c 'import click'``):
pyelftools costs ~50 ms to import and ~100 ms for its first symbol lookup in
libc, this reader ~3 ms for all 3,044 of libc's dynamic symbols (measured, see
docs/ltrace.md).  lief (350 ms) and capstone are heavier still.

It reads the program headers (PT_LOAD, PT_DYNAMIC, PT_INTERP), the dynamic and
static symbol tables (``.dynsym``, ``.symtab`` when not stripped) and DT_SONAME.
A name defined in several versions (``realpath@GLIBC_2.2.5`` and
``realpath@@GLIBC_2.3``) appears once per address: callers break on every
version, since an old binary binds to an old one.
"""

from __future__ import annotations

import mmap
import os
import struct

ET_EXEC, ET_DYN = 2, 3
PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
PF_X = 1
SHT_SYMTAB, SHT_DYNSYM = 2, 11
STT_OBJECT, STT_FUNC, STT_GNU_IFUNC = 1, 2, 10
DT_NULL, DT_STRTAB, DT_SONAME, DT_DEBUG = 0, 5, 14, 21
EM_X86_64, EM_AARCH64 = 62, 183

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")


class NotELF(ValueError):
    """The file is not a 64-bit little-endian ELF object."""


class Symbol:
    __slots__ = ("ifunc", "name", "value")

    def __init__(self, name: str, value: int, ifunc: bool):
        self.name = name
        self.value = value  # the link-time address (add the load bias)
        self.ifunc = ifunc

    def __repr__(self) -> str:
        return f"Symbol({self.name}, {self.value:#x}{', ifunc' if self.ifunc else ''})"


class Elf:
    """One ELF file, mapped read-only; symbol tables parsed on first use."""

    def __init__(self, fd: int):
        size = os.fstat(fd).st_size
        if size < _EHDR.size:
            raise NotELF("too short")
        self.data = mmap.mmap(fd, size, prot=mmap.PROT_READ)
        head = _EHDR.unpack_from(self.data)
        ident = head[0]
        if ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[5] != 1:
            raise NotELF("not a 64-bit little-endian ELF file")
        (_, self.type, self.machine, _, self.entry, phoff, shoff, _, _, phsz, phnum, shsz,
         shnum, _shstrndx) = head  # fmt: skip
        self.segments = []  # (vaddr, memsz, offset, filesz, flags) of PT_LOAD
        self.dynamic = None  # (vaddr, offset, size)
        self.interp = None
        for i in range(phnum):
            p_type, flags, off, vaddr, _, filesz, memsz, _ = _PHDR.unpack_from(
                self.data, phoff + i * phsz
            )
            if p_type == PT_LOAD:
                self.segments.append((vaddr, memsz, off, filesz, flags))
            elif p_type == PT_DYNAMIC:
                self.dynamic = (vaddr, off, filesz)
            elif p_type == PT_INTERP:
                self.interp = bytes(self.data[off : off + filesz]).rstrip(b"\0").decode()
        self._sections = [
            _SHDR.unpack_from(self.data, shoff + i * shsz) for i in range(shnum if shoff else 0)
        ]
        self._symbols: dict[str, list[Symbol]] | None = None
        self._imports: set[str] | None = None

    @classmethod
    def open(cls, path: str) -> Elf:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            return cls(fd)
        finally:
            os.close(fd)

    @property
    def first_vaddr(self) -> int:
        return min(s[0] for s in self.segments) & ~0xFFF if self.segments else 0

    def file_offset(self, vaddr: int) -> int | None:
        """Where the byte at link-time address ``vaddr`` is in the file."""
        for start, _memsz, off, filesz, _ in self.segments:
            if start <= vaddr < start + filesz:
                return off + vaddr - start
        return None

    def read(self, vaddr: int, size: int) -> bytes | None:
        """``size`` bytes at link-time address ``vaddr``, from the file."""
        off = self.file_offset(vaddr)
        if off is None:
            return None
        return bytes(self.data[off : off + size])

    def executable(self, vaddr: int) -> bool:
        return any(s <= vaddr < s + m and f & PF_X for s, m, _, _, f in self.segments)

    def _string(self, table_off: int, index: int) -> str:
        end = self.data.find(b"\0", table_off + index)
        return self.data[table_off + index : end].decode("utf-8", "replace")

    def _load(self) -> None:
        symbols: dict[str, list[Symbol]] = {}
        imports: set[str] = set()
        objects: dict[str, int] = {}
        seen = set()
        for _, sh_type, _, _, off, size, link, _, _, entsize in self._sections:
            if sh_type not in (SHT_DYNSYM, SHT_SYMTAB) or not entsize:
                continue
            stroff = self._sections[link][4]
            data = self.data
            string = self._string
            table = memoryview(data)[off + entsize : off + size]  # entry 0 is null
            for st_name, info, _other, shndx, value, _size in _SYM.iter_unpack(table):
                kind = info & 0xF
                if not st_name or kind not in (STT_FUNC, STT_GNU_IFUNC, STT_OBJECT):
                    continue
                if kind == STT_OBJECT:
                    if shndx and sh_type == SHT_DYNSYM:
                        objects[string(stroff, st_name)] = value
                    continue
                name = string(stroff, st_name)
                if shndx == 0:
                    if sh_type == SHT_DYNSYM:
                        imports.add(name)
                    continue
                if not value or (name, value) in seen:
                    continue
                seen.add((name, value))
                symbols.setdefault(name, []).append(Symbol(name, value, kind == STT_GNU_IFUNC))
            table.release()
        self._symbols, self._imports, self._objects = symbols, imports, objects

    @property
    def symbols(self) -> dict[str, list[Symbol]]:
        """Function definitions by name (every version, every address)."""
        if self._symbols is None:
            self._load()
        return self._symbols

    @property
    def imports(self) -> set[str]:
        """Functions the object calls from elsewhere (undefined in .dynsym)."""
        if self._imports is None:
            self._load()
        return self._imports

    @property
    def objects(self) -> dict[str, int]:
        """Exported data objects by name (``_r_debug``)."""
        if self._symbols is None:
            self._load()
        return self._objects

    def dynamic_entries(self) -> list[tuple[int, int]]:
        if self.dynamic is None:
            return []
        _vaddr, off, size = self.dynamic
        out = []
        for pos in range(off, off + size, 16):
            tag, val = struct.unpack_from("<qQ", self.data, pos)
            if tag == DT_NULL:
                break
            out.append((tag, val))
        return out

    def soname(self) -> str | None:
        entries = self.dynamic_entries()
        strtab = next((v for t, v in entries if t == DT_STRTAB), None)
        name = next((v for t, v in entries if t == DT_SONAME), None)
        if strtab is None or name is None:
            return None
        off = self.file_offset(strtab)
        return None if off is None else self._string(off, name)

    def close(self) -> None:
        self.data.close()
