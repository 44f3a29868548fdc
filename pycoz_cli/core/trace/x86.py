"""x86-64 instruction lengths, for stepping over a breakpoint out of line.

A breakpoint stays in place while other threads run (lifting it, even for one
single-step, loses their calls: 28-63 % of 200 calls from 4 threads, measured).
So the instruction under it is either emulated (``push``, ``sub $imm,%rsp``,
``mov`` between registers, ``endbr64``, ``ret``, ``nop``: 40 %+ of the first
instructions of exported functions) or run from a copy in a scratch page,
followed by an ``int3`` that brings the thread back.  A copy needs the
instruction's length and, for a rip-relative operand, its displacement moved;
relative branches are emulated instead of copied (VEX and EVEX instructions,
with which AVX string functions start, are copied too).  capstone would decode all of
it but costs 57-72 ms to import, more than pycoz's start-up budget; this decoder
only needs lengths and a few kinds, so it is written here.
"""

from __future__ import annotations

_PREFIXES = frozenset((0x66, 0x67, 0xF2, 0xF3, 0xF0, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65))

# One-byte opcodes with a ModRM byte.
_MODRM1 = set()
for _row in range(0, 0x40, 8):
    _MODRM1.update((_row, _row + 1, _row + 2, _row + 3))
_MODRM1.update((0x63, 0x69, 0x6B, 0xC0, 0xC1, 0xC6, 0xC7))
_MODRM1.update(range(0x80, 0x90))
_MODRM1.update(range(0xD0, 0xD4))
_MODRM1.update(range(0xD8, 0xE0))
_MODRM1.update((0xF6, 0xF7, 0xFE, 0xFF))
_IMM8_1 = {0x04, 0x0C, 0x14, 0x1C, 0x24, 0x2C, 0x34, 0x3C, 0x6A, 0x6B, 0x80, 0x83, 0xA8}
_IMM8_1.update((0xC0, 0xC1, 0xC6, 0xCD, 0xE4, 0xE5, 0xE6, 0xE7), range(0xB0, 0xB8))
_IMMZ_1 = {0x05, 0x0D, 0x15, 0x1D, 0x25, 0x2D, 0x35, 0x3D, 0x68, 0x69, 0x81, 0xA9, 0xC7}
# Two-byte (0F xx) opcodes without ModRM, and those with an imm8.
_NO_MODRM2 = {0x05, 0x06, 0x07, 0x08, 0x09, 0x0B, 0x0E, 0x77, 0xA0, 0xA1, 0xA2, 0xA8, 0xA9}
_NO_MODRM2.update(range(0x30, 0x38), range(0xC8, 0xD0), range(0x80, 0x90))
_IMM8_2 = {0x70, 0x71, 0x72, 0x73, 0xA4, 0xAC, 0xBA, 0xC2, 0xC4, 0xC5, 0xC6}

# Kinds of instruction, for the stepper.
PLAIN, RIPREL, JMP, JCC, CALL, UNSUPPORTED = range(6)


class Insn:
    __slots__ = ("cond", "disp", "disp_at", "kind", "length")

    def __init__(self, length, kind, disp=0, disp_at=0, cond=0):
        self.length = length
        self.kind = kind
        #: a relative branch's or rip-relative operand's displacement, and where
        #: its 4 bytes are in the instruction (RIPREL)
        self.disp = disp
        self.disp_at = disp_at
        self.cond = cond  # JCC: the condition code (low 4 bits of the opcode)


def _s32(b: bytes, at: int) -> int:
    return int.from_bytes(b[at : at + 4], "little", signed=True)


def decode(code: bytes) -> Insn:
    """Length and kind of the instruction at the start of ``code`` (15+ bytes)."""
    i, opsize16, rex_w = 0, False, False
    while i < len(code) and code[i] in _PREFIXES:
        opsize16 |= code[i] == 0x66
        i += 1
    if i < len(code) and 0x40 <= code[i] <= 0x4F:
        rex_w = bool(code[i] & 8)
        i += 1
    if i >= len(code):
        return Insn(0, UNSUPPORTED)
    op = code[i]
    i += 1
    immz = 2 if opsize16 else 4
    if op in (0xC4, 0xC5, 0x62):  # VEX, EVEX (AVX, AVX-512 string functions)
        return _vex(code, i, op)
    if op == 0x0F:
        op2 = code[i]
        i += 1
        if op2 in (0x38, 0x3A):
            i += 1
            end, rip_at = _modrm(code, i)
            imm = 1 if op2 == 0x3A else 0
            return _mem(end + imm, rip_at, code)
        if 0x80 <= op2 <= 0x8F:
            return Insn(i + 4, JCC, _s32(code, i), cond=op2 & 0xF)
        if op2 in _NO_MODRM2:
            return Insn(i, PLAIN)
        end, rip_at = _modrm(code, i)
        return _mem(end + (1 if op2 in _IMM8_2 else 0), rip_at, code)
    if 0x70 <= op <= 0x7F:
        return Insn(
            i + 1, JCC, int.from_bytes(code[i : i + 1], "little", signed=True), cond=op & 0xF
        )
    if op == 0xEB:
        return Insn(i + 1, JMP, int.from_bytes(code[i : i + 1], "little", signed=True))
    if op == 0xE9:
        return Insn(i + 4, JMP, _s32(code, i))
    if op == 0xE8:
        return Insn(i + 4, CALL, _s32(code, i))
    if op in (0xE0, 0xE1, 0xE2, 0xE3, 0x9A, 0xEA):
        return Insn(0, UNSUPPORTED)
    if op in _MODRM1:
        end, rip_at = _modrm(code, i)
        imm = 1 if op in _IMM8_1 else immz if op in _IMMZ_1 else 0
        if op == 0xF6 and (code[i] >> 3) & 7 in (0, 1):
            imm = 1
        elif op == 0xF7 and (code[i] >> 3) & 7 in (0, 1):
            imm = immz
        return _mem(end + imm, rip_at, code)
    if 0xB8 <= op <= 0xBF:
        return Insn(i + (8 if rex_w else immz), PLAIN)
    if 0xA0 <= op <= 0xA3:
        return Insn(i + 8, PLAIN)
    if op in _IMM8_1:
        return Insn(i + 1, PLAIN)
    if op in _IMMZ_1:
        return Insn(i + immz, PLAIN)
    if op in (0xC2, 0xCA):
        return Insn(i + 2, PLAIN)
    if op == 0xC8:
        return Insn(i + 3, PLAIN)
    return Insn(i, PLAIN)


def _vex(code: bytes, i: int, op: int) -> Insn:
    """A VEX (C5 P / C4 P0 P1) or EVEX (62 P0 P1 P2) instruction: its map says
    which opcode table (1: 0F, 2: 0F38, 3: 0F3A); then opcode and ModRM."""
    if op == 0xC5:
        opmap, i = 1, i + 1
    elif op == 0xC4:
        opmap, i = code[i] & 0x1F, i + 2
    else:
        opmap, i = code[i] & 0x07, i + 3
    if opmap not in (1, 2, 3) or i >= len(code):
        return Insn(0, UNSUPPORTED)
    opcode = code[i]
    i += 1
    if opmap == 1 and opcode in _NO_MODRM2:  # vzeroupper, vzeroall
        return Insn(i, PLAIN)
    end, rip_at = _modrm(code, i)
    imm = 1 if opmap == 3 or (opmap == 1 and opcode in _IMM8_2) else 0
    return _mem(end + imm, rip_at, code)


def _modrm(code: bytes, i: int) -> tuple[int, int]:
    """The end of a ModRM operand starting at ``i``, and where a rip-relative
    displacement is (0: none)."""
    modrm = code[i]
    i += 1
    mod, rm = modrm >> 6, modrm & 7
    if mod == 3:
        return i, 0
    if rm == 4:
        sib = code[i]
        i += 1
        if mod == 0 and sib & 7 == 5:
            return i + 4, 0
    elif mod == 0 and rm == 5:
        return i + 4, i
    return i + (1 if mod == 1 else 4 if mod == 2 else 0), 0


def _mem(end: int, rip_at: int, code: bytes) -> Insn:
    if rip_at:
        return Insn(end, RIPREL, _s32(code, rip_at), rip_at)
    return Insn(end, PLAIN)


# eflags bits: CF 0, PF 2, ZF 6, SF 7, OF 11.
def condition(cc: int, flags: int) -> bool:
    """Whether a jcc with condition code ``cc`` is taken with ``flags``."""
    cf, pf, zf = flags & 1, flags >> 2 & 1, flags >> 6 & 1
    sf, of = flags >> 7 & 1, flags >> 11 & 1
    base = (
        of,
        cf,
        zf,
        cf or zf,
        sf,
        pf,
        sf != of,
        zf or sf != of,
    )[cc >> 1]
    return bool(base) != bool(cc & 1)
