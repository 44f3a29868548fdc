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

Whole tables are read only when a glob needs every name (``symbols``): one
name (``lookup``, ``imports_name``, ``object_value``) is found through
DT_GNU_HASH in ``.dynsym`` and by its offset in the string table elsewhere,
so that ``-e calc`` does not decode libc's 3,000 names (7 ms of the start-up,
measured, bench/bench_ltrace.py).
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
DT_GNU_HASH = 0x6FFFFEF5
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
        self._found: dict[str, list[Symbol]] = {}
        self._gnu_hash = False  # not read yet; None: there is none

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
        exports: set[str] = set()
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
                if sh_type == SHT_DYNSYM:
                    exports.add(name)
            table.release()
        self._symbols, self._imports, self._objects = symbols, imports, objects
        self._exports = exports

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
    def exports(self) -> set[str]:
        """Functions the object defines in .dynsym (what others can call)."""
        if self._symbols is None:
            self._load()
        return self._exports

    @property
    def objects(self) -> dict[str, int]:
        """Exported data objects by name (``_r_debug``)."""
        if self._symbols is None:
            self._load()
        return self._objects

    # --- one name, without reading every table -------------------------------

    def _tables(self):
        """(sh_type, table offset, size, entsize, string table offset, its size)."""
        for _, sh_type, _, _, off, size, link, _, _, entsize in self._sections:
            if sh_type in (SHT_DYNSYM, SHT_SYMTAB) and entsize:
                strtab = self._sections[link]
                yield sh_type, off, size, entsize, strtab[4], strtab[5]

    def _name_offsets(self, stroff: int, strsize: int, name: bytes) -> set[int]:
        """Every index in a string table at which the string ``name`` starts
        (a name may also be the tail of a longer one: ``calc`` in ``mycalc``)."""
        out = set()
        key = name + b"\0"
        pos = self.data.find(key, stroff, stroff + strsize)
        while pos != -1:
            out.add(pos - stroff)
            pos = self.data.find(key, pos + 1, stroff + strsize)
        return out

    def _hash_table(self):
        """(nbuckets, symoffset, buckets offset, chains offset) of DT_GNU_HASH."""
        if self._gnu_hash is False:
            self._gnu_hash = None
            addr = next((v for t, v in self.dynamic_entries() if t == DT_GNU_HASH), None)
            off = None if addr is None else self.file_offset(addr)
            if off is not None:
                head = struct.unpack_from("<IIII", self.data, off)
                nbuckets, symoffset, bloom_size, _shift = head
                buckets = off + 16 + 8 * bloom_size
                self._gnu_hash = (nbuckets, symoffset, buckets, buckets + 4 * nbuckets)
        return self._gnu_hash

    def _hashed(self, off: int, entsize: int, count: int, name: bytes):
        """Indices of the ``.dynsym`` entries that may be ``name``: through
        DT_GNU_HASH, plus the few unhashed ones before its ``symoffset``;
        None if there is no usable hash table."""
        table = self._hash_table()
        if table is None or not count:
            return None
        nbuckets, symoffset, buckets, chains = table
        if not nbuckets or symoffset > count:
            return None
        h = 5381
        for c in name:
            h = (h * 33 + c) & 0xFFFFFFFF
        out = list(range(1, symoffset))
        (i,) = struct.unpack_from("<I", self.data, buckets + 4 * (h % nbuckets))
        while symoffset <= i < count:
            (chain,) = struct.unpack_from("<I", self.data, chains + 4 * (i - symoffset))
            if chain | 1 == h | 1:
                out.append(i)
            if chain & 1:
                break
            i += 1
        return out

    def _find(self, name: str):
        """(sh_type, kind, shndx, value) of every symbol table entry named ``name``."""
        raw = name.encode()
        for sh_type, off, size, entsize, stroff, strsize in self._tables():
            wanted = self._name_offsets(stroff, strsize, raw)
            if not wanted:
                continue
            count = size // entsize
            hashed = self._hashed(off, entsize, count, raw) if sh_type == SHT_DYNSYM else None
            if hashed is None:
                view = memoryview(self.data)[off + entsize : off + count * entsize]
                entries = _SYM.iter_unpack(view)
            else:
                view = None
                entries = (_SYM.unpack_from(self.data, off + i * entsize) for i in hashed)
            for st_name, info, _other, shndx, value, _size in entries:
                if st_name in wanted:
                    yield sh_type, info & 0xF, shndx, value
            if view is not None:
                view.release()

    def lookup(self, name: str) -> list[Symbol]:
        """The definitions of function ``name`` (``symbols.get(name, [])``)."""
        if self._symbols is not None:
            return self._symbols.get(name, [])
        hit = self._found.get(name)
        if hit is None:
            hit, seen = [], set()
            for _sh_type, kind, shndx, value in self._find(name):
                if kind in (STT_FUNC, STT_GNU_IFUNC) and shndx and value and value not in seen:
                    seen.add(value)
                    hit.append(Symbol(name, value, kind == STT_GNU_IFUNC))
            self._found[name] = hit
        return hit

    def imports_name(self, name: str) -> bool:
        """Whether the object calls function ``name`` from elsewhere (``name in imports``)."""
        if self._imports is not None:
            return name in self._imports
        return any(
            sh_type == SHT_DYNSYM and kind in (STT_FUNC, STT_GNU_IFUNC) and not shndx
            for sh_type, kind, shndx, _ in self._find(name)
        )

    def object_value(self, name: str) -> int | None:
        """The address of exported data object ``name`` (``objects.get(name)``)."""
        if self._symbols is not None:
            return self._objects.get(name)
        found = None
        for sh_type, kind, shndx, value in self._find(name):
            if sh_type == SHT_DYNSYM and kind == STT_OBJECT and shndx:
                found = value  # the last one, as in ``objects``
        return found

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
