"""The ELF reader and the x86-64 length decoder behind ``pycoz ltrace``
(no root needed: they read files and bytes)."""

from __future__ import annotations

import glob
import os

import pytest

from pycoz_cli.core.trace import elf, x86

LIBC = next(iter(sorted(glob.glob("/lib/x86_64-linux-gnu/libc.so.6"))), None)
pytestmark = pytest.mark.skipif(LIBC is None or os.uname().machine != "x86_64", reason="x86_64")


def test_every_version_of_a_name_is_a_definition():
    """realpath@GLIBC_2.2.5 and realpath@@GLIBC_2.3: two addresses, both kept."""
    libc = elf.Elf.open(LIBC)
    assert len({s.value for s in libc.symbols["realpath"]}) == 2
    assert libc.soname() == "libc.so.6"
    assert libc.type == elf.ET_DYN


def test_ifuncs_are_marked_and_data_objects_kept_apart():
    libc = elf.Elf.open(LIBC)
    assert all(s.ifunc for s in libc.symbols["strlen"])
    assert not any(s.ifunc for s in libc.symbols["getaddrinfo"])
    assert "environ" not in libc.symbols and "environ" in libc.objects


def test_imports_of_a_program_and_its_interpreter():
    true = elf.Elf.open("/bin/true")
    assert "getenv" in true.imports or "exit" in true.imports
    assert true.interp and true.interp.startswith("/lib")


def _objects():
    paths = [LIBC, "/bin/true", "/bin/ls", *sorted(glob.glob("/lib64/ld-linux-x86-64.so.*"))]
    libs = sorted(glob.glob("/usr/lib/x86_64-linux-gnu/lib*.so*"))
    paths += [p for p in libs if os.path.getsize(p) < 1 << 20][:12]  # small: a quick test
    return [p for p in dict.fromkeys(paths) if os.path.isfile(p)]


@pytest.mark.parametrize("path", _objects())
def test_one_name_lookups_agree_with_the_whole_tables(path):
    """lookup / imports_name / object_value (GNU hash, string-table offsets)
    give what reading every table gives, for every name, on real objects;
    names that are nowhere, or only the tail of another name, give nothing."""
    try:
        full = elf.Elf.open(path)
    except elf.NotELF:
        pytest.skip("not ELF")
    one = elf.Elf.open(path)
    names = set(full.symbols) | full.imports | set(full.objects)
    names |= {n[1:] for n in names if len(n) > 1}  # tails: "alloc" of "malloc"
    names |= {"nosuch_function_x", "dlopen", "_dl_debug_state", "_r_debug"}
    for name in sorted(names):
        want = sorted((s.value, s.ifunc) for s in full.symbols.get(name, []))
        assert sorted((s.value, s.ifunc) for s in one.lookup(name)) == want, name
        assert one.imports_name(name) == (name in full.imports), name
        assert one.object_value(name) == full.objects.get(name), name
    assert one._symbols is None  # nothing read whole


def test_file_offsets_give_the_original_bytes():
    libc = elf.Elf.open(LIBC)
    sym = libc.symbols["getaddrinfo"][0]
    with open(LIBC, "rb") as f:
        f.seek(libc.file_offset(sym.value))
        assert f.read(8) == libc.read(sym.value, 8)
    assert libc.executable(sym.value)


def test_not_an_elf_file(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"#!/bin/sh\n" * 10)
    with pytest.raises(elf.NotELF):
        elf.Elf.open(str(path))


@pytest.mark.parametrize(
    "code, length, kind",
    [
        ("55", 1, x86.PLAIN),  # push %rbp
        ("4157", 2, x86.PLAIN),  # push %r15
        ("4889e5", 3, x86.PLAIN),  # mov %rsp,%rbp
        ("4883ec18", 4, x86.PLAIN),  # sub $0x18,%rsp
        ("4881ec00010000", 7, x86.PLAIN),  # sub $0x100,%rsp
        ("f30f1efa", 4, x86.PLAIN),  # endbr64
        ("803d4d5f1b0000", 7, x86.RIPREL),  # cmpb $0x0,0x1b5f4d(%rip)
        ("488b05aa000000", 7, x86.RIPREL),  # mov 0xaa(%rip),%rax
        ("e8faffffff", 5, x86.CALL),
        ("e900010000", 5, x86.JMP),
        ("eb05", 2, x86.JMP),
        ("7405", 2, x86.JCC),
        ("0f8410000000", 6, x86.JCC),
        ("48c7c0ffffffff", 7, x86.PLAIN),  # mov $-1,%rax
        ("48b80102030405060708", 10, x86.PLAIN),  # movabs
        ("8b442408", 4, x86.PLAIN),  # mov 0x8(%rsp),%eax
        ("f7c700000100", 6, x86.PLAIN),  # test $0x10000,%edi
        ("66f7c10100", 5, x86.PLAIN),  # test $1,%cx
        ("c5f877", 3, x86.PLAIN),  # vzeroupper (VEX)
        ("62e27d287ac6", 6, x86.PLAIN),  # vpbroadcastb %esi,%ymm16 (EVEX)
        ("62e27d487ac64889", 6, x86.PLAIN),  # vpbroadcastb %esi,%zmm16
        ("c5fd6f05aa000000", 8, x86.RIPREL),  # vmovdqa 0xaa(%rip),%ymm0
        ("c4e37d38c101", 6, x86.PLAIN),  # vinserti128 $1,%xmm1,%ymm0,%ymm0
        ("c5f9d7c1", 4, x86.PLAIN),  # vpmovmskb %xmm1,%eax
        ("62f1fe486f0e", 6, x86.PLAIN),  # vmovdqu64 (%rsi),%zmm1
        ("62f1fe486f4e01", 7, x86.PLAIN),  # vmovdqu64 0x40(%rsi),%zmm1 (disp8*N)
        ("e3fe", 0, x86.UNSUPPORTED),  # jrcxz
    ],
)
def test_instruction_lengths(code, length, kind):
    insn = x86.decode(bytes.fromhex(code) + b"\x90" * 15)
    assert (insn.length, insn.kind) == (length, kind)


def test_conditions():
    zf, cf, sf, of = 1 << 6, 1, 1 << 7, 1 << 11
    assert x86.condition(0x4, zf) and not x86.condition(0x5, zf)  # je / jne
    assert x86.condition(0x2, cf) and x86.condition(0x6, zf)  # jb / jbe
    assert x86.condition(0xC, sf) and not x86.condition(0xC, sf | of)  # jl
    assert x86.condition(0xF, 0) and x86.condition(0xE, zf) and not x86.condition(0xF, zf)
