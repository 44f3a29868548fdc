"""Capture now, decode later: a call decoded from its snapshot reads as from memory.

The tracer resumes a tracee before its line is made; what the decoders read
was captured while it was stopped (``decode.capture``).  For every call that is
deferred so, and for pointers to readable memory, NULL, small numbers and
unmapped addresses, the text and the value decoded from the snapshot must be
what decoding from the memory itself gives.  The memory is this process's own,
read by the tracer's reader (process_vm_readv), not a stand-in.
"""

from __future__ import annotations

import ctypes
import os

import pytest

from pycoz_cli.core.trace import decode
from pycoz_cli.core.trace.ptrace import Memory

#: A readable region: a path, then every byte value, long enough for any struct.
_DATA = b"/etc/hostname\0" + bytes(range(256)) * 24
_BUF = ctypes.create_string_buffer(_DATA, len(_DATA))
READABLE = ctypes.addressof(_BUF)
#: An address nothing is mapped at (the first page is never mapped).
UNMAPPED = 0x10

DEFERRED = sorted(name for name in decode._SIGS if decode._plan(name) is not None)


def _variants():
    yield "pointers", (READABLE,) * 6
    yield "offset-pointers", tuple(READABLE + 7 * k for k in range(6))
    yield "buffers-and-lengths", (READABLE, READABLE, 3, 2, READABLE, 1)
    yield "fd-buffer-length", (3, READABLE + 14, 2, READABLE, 1, 0)
    yield "null", (0,) * 6
    yield "small", (3, 5, 7, 1, 2, 4)
    yield "unmapped", (UNMAPPED,) * 6


def _decoded(name, args, mem, retval, strsize):
    got = decode.decode_call(name, args, mem, strsize=strsize, retval=retval)
    result = decode.format_result(name, retval, args=args, mem=mem)
    return [(a.text, a.value) for a in got], result


def test_the_common_calls_are_deferred():
    for name in ("read", "write", "close", "fstat", "pread64", "readlink", "access", "getcwd"):
        assert name in DEFERRED, name


@pytest.mark.parametrize("name", DEFERRED)
def test_snapshot_decodes_as_memory(name):
    mem = Memory(os.getpid())
    for _label, args in _variants():
        for retval in (9, 0, -2, 4096):
            for strsize in (4, 32, 200):
                snap = decode.capture(name, args, mem, retval, strsize=strsize)
                assert snap is not None
                assert _decoded(name, args, snap, retval, strsize) == _decoded(
                    name, args, mem, retval, strsize
                ), (name, _label, retval, strsize)


def test_write_buffer_read_before_it_changes():
    """What the program writes into its buffer after the capture is not shown."""
    mem = Memory(os.getpid())
    buf = ctypes.create_string_buffer(b"before", 16)
    args = (1, ctypes.addressof(buf), 6, 0, 0, 0)
    snap = decode.capture("write", args, mem, 6)
    buf.value = b"AFTER!"
    texts = [a.text for a in decode.decode_call("write", args, snap, retval=6)]
    assert texts == ["1", '"before"', "6"]


def test_calls_with_their_own_decoders_are_decoded_at_once():
    mem = Memory(os.getpid())
    for name in ("openat", "connect", "poll", "execve", "not_a_call"):
        assert decode.capture(name, (READABLE,) * 6, mem, 0) is None, name
