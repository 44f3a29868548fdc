"""``-e read=SET`` / ``-e write=SET``: the data a call moved, dumped as strace 6.1 dumps it.

strace dumps after the call's line: a plain buffer (read, write, sendto,
mq_timedsend...) as one hex dump; a vector (readv, writev, preadv2, vmsplice,
sendmsg, recvmsg) as `` * N bytes in buffer K`` before each element's dump, up
to what the call moved (a write, everything it was given, even when it failed);
sendmmsg/recvmmsg as `` = N buffers in vector K`` before each message's
elements, for as many messages as the call returned.  process_vm_readv/writev
are not dumped (they move no descriptor's data), as in strace.
"""

from __future__ import annotations

import struct

from pycoz_cli.core.trace.syscalls import NUMBERS
from pycoz_cli.core.trace.unwind import read_all


def _numbers(*names: str) -> frozenset:
    return frozenset(NUMBERS[n] for n in names if n in NUMBERS)


# What each call moved, by kind: a buffer (address arg 1, length arg 2 or the
# result), an iovec array (arg 1, count arg 2), a msghdr, an mmsghdr vector.
WRITE_BUFFER = _numbers("write", "pwrite64", "send", "sendto", "mq_timedsend")
WRITE_IOV = _numbers("writev", "pwritev", "pwritev2", "vmsplice")
READ_BUFFER = _numbers("read", "pread64", "recv", "recvfrom", "mq_timedreceive")
READ_IOV = _numbers("readv", "preadv", "preadv2")
SENDMSG, RECVMSG = _numbers("sendmsg"), _numbers("recvmsg")
SENDMMSG, RECVMMSG = _numbers("sendmmsg"), _numbers("recvmmsg")
WRITES = WRITE_BUFFER | WRITE_IOV | SENDMSG | SENDMMSG
READS = READ_BUFFER | READ_IOV | RECVMSG | RECVMMSG
_ALL = (1 << 64) - 1  # "no limit" for the data size


def hexdump(data: bytes, size: int | None = None) -> str:
    """strace's dump: 16 bytes a line, the offset at least 5 hex digits wide (wider
    for a buffer above 1 MiB, as strace sizes it by the whole length)."""
    size = len(data) if size is None else size
    width = 5 if size <= 1 << 20 else 1 + ((size - 1).bit_length() - 1) // 4
    lines = []
    for off in range(0, len(data), 16):
        chunk = data[off : off + 16]
        cells = [f"{b:02x} " for b in chunk]
        if len(cells) > 8:
            cells[8] = " " + cells[8]
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f" | {off:0{width}x}  {''.join(cells):<49} {text:<16} |")
    return "".join(line + "\n" for line in lines)


def _iov(memory, addr: int, count: int, size: int) -> str:
    """Each element of an iovec array, up to ``size`` bytes in all."""
    out = []
    if count <= 0:
        return ""
    raw = read_all(memory, addr, 16 * count)
    if len(raw) < 16 * count:
        return ""
    for k in range(count):
        base, ln = struct.unpack_from("<QQ", raw, 16 * k)
        ln = min(ln, size)
        if not ln:
            break
        size -= ln
        out.append(f" * {ln} bytes in buffer {k}\n")
        try:
            out.append(hexdump(read_all(memory, base, ln), ln))
        except OSError:
            pass
    return "".join(out)


def _msghdr(memory, addr: int, size: int) -> str:
    iov, iovlen = struct.unpack("<QQ", read_all(memory, addr + 16, 16))
    return _iov(memory, iov, iovlen, size)


def _mmsghdr(memory, addr: int, count: int) -> str:
    out = []
    for k in range(count):
        raw = read_all(memory, addr + 64 * k, 64)
        iov, iovlen = struct.unpack_from("<QQ", raw, 16)
        (sent,) = struct.unpack_from("<I", raw, 56)
        out.append(f" = {iovlen} buffers in vector {k}\n")
        out.append(_iov(memory, iov, iovlen, sent))
    return "".join(out)


def dump(nr: int, args, retval: int, memory, read_fds, write_fds) -> str:
    """The dump strace writes after the line of call ``nr`` (empty: none)."""
    fd = args[0] & 0xFFFFFFFF
    if fd >= 1 << 31:
        return ""
    try:
        if fd in write_fds and nr in WRITES:
            if nr in WRITE_BUFFER:
                return hexdump(read_all(memory, args[1], args[2]), args[2])
            if nr in WRITE_IOV:
                return _iov(memory, args[1], args[2] & 0xFFFFFFFF, _ALL)
            if nr in SENDMSG:
                return _msghdr(memory, args[1], _ALL)
            if retval > 0:  # sendmmsg: the messages it sent
                return _mmsghdr(memory, args[1], retval)
            return ""
        if -4096 < retval < 0 or fd not in read_fds or nr not in READS:
            return ""
        if nr in READ_BUFFER:
            return hexdump(read_all(memory, args[1], retval), retval)
        if nr in READ_IOV:
            return _iov(memory, args[1], args[2] & 0xFFFFFFFF, retval)
        if nr in RECVMSG:
            return _msghdr(memory, args[1], retval)
        return _mmsghdr(memory, args[1], retval)
    except (OSError, struct.error):
        return ""
