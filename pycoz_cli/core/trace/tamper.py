"""Tampering with library calls (``-e inject=`` for functions): change an
argument at entry (strings too), skip the call and return a value, replace the
result, hold the call.

A new string goes into a read-only page that pycoz maps in the program (an
injected ``mmap``), never below the stack pointer: the callee's own frame
would overwrite it there (gdb's ``set var name = "..."`` calls ``malloc`` in
the program instead, which tampering with ``malloc`` itself could not do).
"""

from __future__ import annotations

import fnmatch
import time

from pycoz_cli.core.trace import breakpoints as bpm
from pycoz_cli.core.trace import ptrace as pt

_STRINGS = 0x10000


def _matches(space, frame, tamper) -> bool:
    for index, glob, negated in tamper.conditions:
        try:
            text = space.mem.read_cstring(frame.args[index], 4096).decode("utf-8", "replace")
        except OSError:
            return False
        if fnmatch.fnmatchcase(text, glob) == negated:
            return False
    return True


def _string(engine, space, pid, data: bytes) -> int | None:
    page = getattr(space, "strings", None)
    if page is None or page[1] + len(data) > _STRINGS:
        start = engine.inject_syscall(space, pid, 9, 0, _STRINGS, 1, 0x22, -1, 0)
        if start is None:
            return None
        page = space.strings = [start, 0]
    addr = page[0] + page[1]
    space.write(addr, data)
    page[1] += (len(data) + 15) & ~15
    return addr


def at_entry(engine, space, pid, frame) -> bool:
    """Apply the first ``inject=`` that matches this call; True if the call was
    skipped (the thread is resumed after the caller's ``call``)."""
    from pycoz_cli.core.trace.tracer import DELAYED, INJECTED

    for tamper in engine.tamper:
        if frame.name not in tamper.names or not _matches(space, frame, tamper):
            continue
        key = (id(space), id(tamper), frame.name)
        engine.counts[key] = count = engine.counts.get(key, 0) + 1
        if not tamper.applies(count):
            continue
        if tamper.delay_enter_us:
            time.sleep(tamper.delay_enter_us / 1e6)
            frame.marks |= DELAYED
        regs = engine.regs
        for index, value in tamper.args:
            if isinstance(value, bytes):
                addr = _string(engine, space, pid, value + b"\0")
                if addr is None:
                    raise bpm.CallError(
                        f"{tamper.expression}: cannot map a page for the string in pid {pid}",
                        setup=True,
                    )
                regs.get(pid)  # the injection used the buffer
                value = addr
            regs[bpm.ARG_REGS[index]] = value
            frame.marks |= INJECTED
        if tamper.retval is not None:
            regs[bpm.RIP] = frame.ret
            regs[bpm.RSP] = frame.sp + 8
            regs[bpm.RAX] = tamper.retval
            regs.set()
            pt.resume(engine.cont, pid, 0)
            frame.retval = tamper.retval & 0xFFFFFFFFFFFFFFFF
            frame.t_exit = time.monotonic()
            frame.marks |= INJECTED
            engine.sink.libcall(frame, space.mem)
            return True
        regs.set()
        frame.tamper = tamper
        if tamper.result is not None:
            frame.marks |= INJECTED
        if tamper.delay_exit_us:
            frame.marks |= DELAYED
        return False
    return False


def at_return(engine, space, pid, frame) -> None:
    tamper = frame.tamper
    if tamper.delay_exit_us:
        time.sleep(tamper.delay_exit_us / 1e6)
    if tamper.result is not None:
        engine.regs[bpm.RAX] = tamper.result
        engine.regs.set()
        frame.retval = tamper.result & 0xFFFFFFFFFFFFFFFF
