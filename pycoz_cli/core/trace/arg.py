"""A decoded argument and the integer helpers every decoder uses.

Its own module so that the library-call decoders (``libcalls``, loaded at
``pycoz ltrace``'s first traced call) share them with the syscall decoders
(``decode``) without importing those (~3 ms of tables) at start-up.
"""

from __future__ import annotations


class Arg:
    """One decoded argument: strace's text for it, and a JSON-able value."""

    __slots__ = ("text", "value")

    def __init__(self, text: str, value) -> None:
        self.text = text
        self.value = value

    def __repr__(self) -> str:
        return f"Arg({self.text!r}, {self.value!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Arg) and self.text == other.text and self.value == other.value

    __hash__ = None  # type: ignore[assignment]


def _strval(data: bytes) -> str:
    # JSON values keep every byte: undecodable ones become U+DC80..U+DCFF.
    return data.decode("utf-8", "surrogateescape")


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - 0x100000000 if v & 0x80000000 else v


def _s64(v: int) -> int:
    v &= 0xFFFFFFFFFFFFFFFF
    return v - 0x10000000000000000 if v & 0x8000000000000000 else v


def guess(v: int) -> Arg:
    """ltrace 0.7.3's text for a value of unknown type: decimal within
    -10000..10000, the 64-bit pattern in hex otherwise."""
    s = _s64(v)
    if -10000 <= s <= 10000:
        return Arg(str(s), s)
    return Arg(f"{v & 0xFFFFFFFFFFFFFFFF:#x}", v & 0xFFFFFFFFFFFFFFFF)
