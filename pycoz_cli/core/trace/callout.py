"""How a library call reads, in one place: ltrace's lines, JSON, the -c summary.

The argument decoders (``%dns``, ``%tls``, ``%dl``, ``%env`` and ltrace.conf
prototypes) live in ``libcalls``; every sink goes through ``entry``, ``texts``
and ``values`` here, so that wiring them in is one place.  ``libcalls`` is
imported at the first call it decodes (the functions of ``libclasses.CLASSES``,
or any with -F prototypes): for the others, arguments are raw, as ltrace prints
a function without a prototype (``arg.guess``), and ``pycoz ltrace -e calc``
starts without the decoders' ~2 ms.
"""

from __future__ import annotations

import time

from pycoz_cli.core.trace.arg import guess
from pycoz_cli.core.trace.libclasses import CLASSES
from pycoz_cli.core.trace.output import JsonLines, StraceText

#: ltrace pads the call to this column before `` = result``.
COLUMN = 48
#: Prototypes loaded with -F (ltrace.conf syntax), handed to the decoders.
PROTOTYPES: dict = {}
#: The functions ``libcalls`` decodes (its classes name them all).
DECODED = frozenset(name for members in CLASSES.values() for name in members)


def _decoders(name: str):
    """``libcalls`` when it decodes ``name``, else None (raw arguments)."""
    if name not in DECODED and name not in PROTOTYPES:
        return None
    from pycoz_cli.core.trace import libcalls

    return libcalls


def load_prototypes(path: str) -> None:
    """-F FILE: ltrace.conf prototypes (parsed by ``libcalls``)."""
    from pycoz_cli.core.trace import libcalls
    from pycoz_cli.errors import SpecError

    try:
        PROTOTYPES.update(libcalls.load_prototypes(path))
    except ValueError as err:  # libcalls.PrototypeError: one line naming FILE:LINE
        raise SpecError(f"-F {err}") from None


def classes() -> dict[str, tuple[str, ...]]:
    """``%dns`` and the like: class name -> function names."""
    return dict(CLASSES)


def entry(frame, mem, strsize: int) -> None:
    """At a traced call's entry (the thread stopped): what the decoders keep."""
    decoders = _decoders(frame.name)
    if decoders is None:
        return
    try:
        # sp: arguments past the sixth are on the stack, above the return address.
        frame.state = decoders.entry(
            frame.name, frame.args, mem, strsize, sp=frame.sp, prototypes=PROTOTYPES or None
        )
    except Exception:
        frame.state = None


def texts(frame, mem, strsize: int) -> tuple[str, str, str]:
    """(arguments, result, suffix) of a call that returned (``retval`` None: it
    never did)."""
    if frame.state is not None:
        try:
            return _decoders(frame.name).exit(frame.name, frame.state, frame.retval, mem, strsize)
        except Exception:
            pass
    args = ", ".join([guess(a).text for a in frame.args[:4]])
    return args, ("" if frame.retval is None else guess(frame.retval).text), ""


def values(frame, mem, strsize: int) -> dict:
    """JSON-able values of a call (``libcalls.json_values``, or the raw integers)."""
    if frame.state is not None:
        try:
            return _decoders(frame.name).json_values(
                frame.name, frame.state, frame.retval, mem, strsize
            )
        except Exception:
            pass
    return {
        "name": frame.name,
        "args": [guess(a).value for a in frame.args[:4]],
        "result": None if frame.retval is None else guess(frame.retval).value,
        "errno": None,
    }


def where(frame) -> str:
    """The caller's name as ltrace shows it: a library's soname (libcurl.so.4),
    the program's file name."""
    return display(frame.caller) if frame.caller is not None else "?"


def display(obj) -> str:
    return obj.soname or obj.name


def line(frame, mem, strsize: int, *, show_ip=False) -> tuple[str, str]:
    """The call part and the result part of an ltrace line."""
    args, ret, suffix = texts(frame, mem, strsize)
    head = f"[{frame.ret:#x}] " if show_ip else ""
    call = f"{head}{where(frame)}->{frame.name}({args}"
    if frame.retval is None:
        return call + " <no return ...>", ""
    from pycoz_cli.core.trace.tracer import DELAYED, INJECTED

    result = ret + (f" {suffix}" if suffix else "")
    if frame.marks & INJECTED:
        result += " (INJECTED)"
    if frame.marks & DELAYED:
        result += " (DELAYED)"
    return call + ")", result


class CallsMixin:
    """``libcall_enter`` and ``libcall`` for strace's sinks (``trace --calls``)."""

    show_ip = False

    stacks = None

    def libcall_enter(self, frame, mem) -> None:
        entry(frame, mem, self.strsize)
        if self.stacks is not None:
            frame.stack = backtrace(self.stacks, frame, mem)

    def libcall(self, frame, mem):
        call, result = line(frame, mem, self.strsize, show_ip=self.show_ip)
        if frame.retval is None:
            self._write(frame.pid, call, frame.t_enter, ip=frame.ret)
            return None
        if getattr(self, "durations", False):
            result += f" <{frame.t_exit - frame.t_enter:.6f}>"
        # strace's -i column (trace --calls -i): where the call was made.
        self._call_line(frame.pid, call, result, frame.t_enter, ip=frame.ret)
        for entry_line in frame.stack or ():  # under the line, as strace -k prints it
            self._write(frame.pid, f" > {entry_line}", frame.t_enter)
        return None

    def _call_line(self, pid, call, result, when, ip=None) -> None:
        self._call(pid, call, result, when, ip=ip)


class LtraceText(CallsMixin, StraceText):
    """Lines as ltrace prints them: ``caller->name(args) = result``, syscalls
    (-S) as ``SYS_name(args) = result``, ``+++ exited (status N) +++``."""

    #: -r: ltrace's "%3lu.%06d " (strace's is "%6ld.%06ld ")
    relative_width = 10

    def __init__(self, out, *, show_ip=False, **kwargs):
        super().__init__(out, **kwargs)
        self.show_ip = show_ip
        # -i: the tracer gives each syscall's address (``ip``) for -S's lines,
        # which show it as ltrace's do, in the call part (``_syscall_head``).
        self.wants_ip = show_ip
        self.ip_column = False
        self.threads: set[int] = set()  # the engine's: threads end silently

    def _syscall_head(self) -> str:
        return f"[{self.ip:#x}] " if self.show_ip and self.ip is not None else ""

    def _call(self, pid, call, result, when, ip=None) -> None:  # ip: in the call (-i)
        out = self.per_pid(pid) if self.per_pid else self.out
        text = self._head(pid, when) + call
        out.write(f"{text.ljust(COLUMN)} = {result}\n")

    def syscall(self, pid, nr, args, retval, is_error, t_enter, t_exit, injected, memory):
        from pycoz_cli.core.trace.syscalls import NAMES

        name = NAMES.get(nr, f"syscall_{nr}")
        try:
            decoded = self._args(pid, nr, name, args, memory, retval)
            argtext = ", ".join(a.text for a in decoded)
        except OSError:
            argtext = ", ".join(hex(a) for a in args)
        head = self._syscall_head()
        if retval is None:
            self._write(pid, f"{head}SYS_{name}({argtext} <no return ...>", t_enter)
            return None
        result, _ = self._result(pid, name, retval, args, memory)
        if self.durations and t_exit is not None:
            result += f" <{t_exit - t_enter:.6f}>"
        self._call(pid, f"{head}SYS_{name}({argtext})", result, t_enter)
        return None

    def process(self, kind, pid, **info):
        if kind in ("exit", "killed") and pid in self.threads:
            self.pids.discard(pid)
            self.threads.discard(pid)
            return
        if kind == "exit":
            self._write(pid, f"+++ exited (status {info['code']}) +++")
            self.pids.discard(pid)
            return
        if kind == "killed":
            from pycoz_cli.core.trace.output import _signame

            self._write(pid, f"+++ killed by {_signame(info['signal'])} +++")
            self.pids.discard(pid)
            return
        if kind == "signal":
            import signal

            sig = info["signal"]
            if self.signals is None or sig in self.signals:
                from pycoz_cli.core.trace.output import _signame

                self._write(pid, f"--- {_signame(sig)} ({signal.strsignal(sig)}) ---")
            return
        if kind in ("attach", "detach"):
            if not self.quiet:
                note = f"pycoz ltrace: Process {pid} {kind}ed"
                self.notes.write(note + "\n")
                self.notes.flush()
            return
        super().process(kind, pid, **info)


class CallsJsonMixin:
    def libcall_enter(self, frame, mem) -> None:
        entry(frame, mem, self.strsize)

    def libcall(self, frame, mem):
        from pycoz_cli.core.trace.tracer import DELAYED, INJECTED

        args, ret, suffix = texts(frame, mem, self.strsize)
        record = {
            "type": "libcall",
            "pid": frame.pid,
            "time": frame.t_enter,
            "function": frame.name,
            "library": display(frame.lib),
            "caller": where(frame),
            "args_text": args,
        }
        record.update(values(frame, mem, self.strsize))
        if frame.retval is None:
            record["result"] = None
        else:
            record["result_text"] = ret + (f" {suffix}" if suffix else "")
            record["duration"] = round(frame.t_exit - frame.t_enter, 9)
        if frame.marks & INJECTED:
            record["injected"] = True
        if frame.marks & DELAYED:
            record["delayed"] = True
        self.out.write(self._dumps(record) + "\n")
        return None


class JsonCalls(CallsJsonMixin, JsonLines):
    """--json with library calls (``type: libcall``) and syscalls."""


class StraceWithCalls(CallsMixin, StraceText):
    """``pycoz trace --calls``: strace's lines, library calls among them."""


def enable_stacks(sink) -> None:
    """-k: a backtrace under each call (``unwind.stack``, when it is there)."""
    from pycoz_cli.errors import SpecError

    try:
        from pycoz_cli.core.trace import unwind
    except ImportError:
        raise SpecError("-k: backtraces are not available in this build (no unwinder)") from None
    sink.stacks = unwind


def backtrace(unwind, frame, mem) -> list[str]:
    """The stack at a call's entry, one string per frame (``unwind.stack``
    gets the thread, its registers at entry, and its memory)."""
    try:
        regs = dict(zip(unwind.REGISTER_NAMES, frame.regs, strict=False))
        lines = unwind.format_frames(unwind.stack(frame.pid, regs, mem))
        return [text.removeprefix(" > ") for text in lines]
    except Exception as err:
        return [f"(no backtrace: {err})"]


class CallSummary:
    """ltrace -c: calls and time per function, sorted by time."""

    def __init__(self, out, **_common):
        self.out = out
        self.rows: dict = {}
        self.strsize = 32

    def libcall_enter(self, frame, mem) -> None:
        pass

    def libcall(self, frame, mem):
        if frame.retval is None:
            return None
        row = self.rows.setdefault(frame.name, [0, 0.0])
        row[0] += 1
        row[1] += frame.t_exit - frame.t_enter
        return None

    def syscall(self, pid, nr, args, retval, is_error, t_enter, t_exit, *_rest):
        from pycoz_cli.core.trace.syscalls import NAMES

        if retval is None or t_exit is None:
            return None
        row = self.rows.setdefault(f"SYS_{NAMES.get(nr, nr)}", [0, 0.0])
        row[0] += 1
        row[1] += t_exit - t_enter
        return None

    def process(self, kind, pid, **info):
        pass

    def finish(self) -> None:
        total = sum(r[1] for r in self.rows.values()) or 1e-9
        sep = "------ ----------- ----------- --------- --------------------"
        lines = ["% time     seconds  usecs/call     calls      function", sep]
        for name, (calls, secs) in sorted(self.rows.items(), key=lambda kv: -kv[1][1]):
            lines.append(
                f"{100 * secs / total:6.2f} {secs:11.6f} {int(secs * 1e6 / calls):11d} "
                f"{calls:9d} {name}"
            )
        lines.append(sep)
        calls = sum(r[0] for r in self.rows.values())
        lines.append(
            f"100.00 {sum(r[1] for r in self.rows.values()):11.6f} {'':11s} {calls:9d} total"
        )
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()


def stamp() -> float:
    return time.monotonic()
