"""The tracer's memory reader, both ways: /proc/PID/mem and process_vm_readv.

Read from this process's own memory: a buffer, a string that ends just before
an unmapped page, an unmapped address and addresses no pread offset can hold.
"""

from __future__ import annotations

import ctypes
import mmap
import os

import pytest

from pycoz_cli.core.trace import ptrace


@pytest.fixture(params=["proc-mem", "process_vm_readv"])
def memory(request, monkeypatch):
    if request.param == "process_vm_readv":
        # As in a new pid namespace whose /proc is the host's.
        monkeypatch.setattr(ptrace, "_own_proc", lambda: False)
    m = ptrace.Memory(os.getpid())
    yield m
    m.close()


@pytest.fixture
def page_before_a_hole():
    """The address of a readable page followed by an unmapped one."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long)  # fmt: skip
    libc.munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
    page = mmap.PAGESIZE
    prot, flags = mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
    base = libc.mmap(None, 2 * page, prot, flags, -1, 0)
    assert base not in (None, ctypes.c_void_p(-1).value)
    assert libc.munmap(base + page, page) == 0
    ctypes.memmove(base + page - 5, b"tail!", 5)
    yield base
    assert libc.munmap(base, page) == 0


def test_reads_a_buffer(memory):
    buf = ctypes.create_string_buffer(b"hello, tracer", 32)
    assert memory.read(ctypes.addressof(buf), 5) == b"hello"
    assert memory.read(ctypes.addressof(buf) + 7, 6) == b"tracer"
    assert memory.read(ctypes.addressof(buf), 0) == b""


def test_a_read_stops_at_an_unmapped_page(memory, page_before_a_hole):
    end = page_before_a_hole + mmap.PAGESIZE
    assert memory.read(end - 5, 100) == b"tail!"
    assert memory.read_cstring(end - 5, 100) == b"tail!"
    with pytest.raises(OSError):
        memory.read(end, 8)


@pytest.mark.parametrize("addr", [0x10, 1 << 63, (1 << 64) - 1])
def test_addresses_that_cannot_be_read_raise_oserror(memory, addr):
    with pytest.raises(OSError):
        memory.read(addr, 8)
    with pytest.raises(OSError):
        memory.read_cstring(addr, 8)


def test_proc_mem_is_used_when_proc_is_ours(memory):
    memory.read(id(memory), 1)
    uses_proc = memory._fd is not None and memory._fd >= 0
    assert uses_proc == ptrace._own_proc()


def test_close_releases_the_file():
    m = ptrace.Memory(os.getpid())
    m.read(id(m), 1)
    fd = m._fd
    assert fd >= 0 and os.readlink(f"/proc/self/fd/{fd}") == f"/proc/{os.getpid()}/mem"
    m.close()
    assert not os.path.exists(f"/proc/self/fd/{fd}") or (
        os.readlink(f"/proc/self/fd/{fd}") != f"/proc/{os.getpid()}/mem"
    )
