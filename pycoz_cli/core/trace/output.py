"""Sinks for the ptrace loop: strace's text, JSON lines, and the -c summary.

Decoding happens here, per call that is printed, from the tracee's memory at
the moment its syscall returns (execve and execveat are decoded at entry: after
a successful exec their arguments are gone).
"""

from __future__ import annotations

import signal
import sys
import time
from functools import partial

from pycoz_cli.core.trace.syscalls import (
    ENTRY_CAPTURED,
    FD_ENTRY_CAPTURED,
    NAMES,
    NUMBERS,
    SOCKET_ENTRY_CAPTURED,
)
from pycoz_cli.core.trace.tracer import DELAYED, INJECTED


class _LazyDecode:
    """``decode`` until it is first used: its tables cost ~8 ms to import, which
    a trace that prints no call (``-e trace=none``, start-up) never needs.  The
    first attribute read imports it and puts the module in its place."""

    def __getattr__(self, name):
        from pycoz_cli.core.trace import decode as module

        globals()["decode"] = module
        return getattr(module, name)


decode = _LazyDecode()

#: Decoded whole at entry: after a successful exec their arguments are gone.
EXEC_CALLS = frozenset(NUMBERS[n] for n in ("execve", "execveat") if n in NUMBERS)
#: Calls whose input the kernel overwrites (socklen, fd sets): read at entry.
CAPTURE_CALLS = frozenset(NUMBERS[n] for n in ENTRY_CAPTURED if n in NUMBERS)
DECODE_AT_ENTRY = EXEC_CALLS | CAPTURE_CALLS
#: Under -y, also the calls that close or replace a descriptor (decorated as at entry).
FD_ENTRY_CALLS = frozenset(NUMBERS[n] for n in FD_ENTRY_CAPTURED if n in NUMBERS)
SOCKET_ENTRY_CALLS = frozenset(NUMBERS[n] for n in SOCKET_ENTRY_CAPTURED if n in NUMBERS)
#: -k: calls whose stack is taken at entry, as strace does (after them there is
#: no stack to read: the program is replaced, or gone).
STACK_AT_ENTRY = EXEC_CALLS | frozenset(NUMBERS[n] for n in ("exit", "exit_group") if n in NUMBERS)


def _takes_stack(method) -> bool:
    import inspect

    return "stack" in inspect.signature(method).parameters


def _signame(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"SIG{sig}"


#: strace's -q, -qq, -qqq as ``-e quiet=`` words.
QUIET_LEVELS = (
    frozenset(),
    frozenset(("attach", "personality")),
    frozenset(("attach", "personality", "exit")),
    frozenset(("attach", "personality", "exit", "superseded", "path-resolution")),
)

#: strace's -X styles, in the order of decode.ABBREV, RAW, VERBOSE.
XSTYLES = ("abbrev", "raw", "verbose")


class Common:
    """Options every sink understands (strace's -s, -y, -e status=, -e signal=,
    -q), and the ones of strace's own sinks (-x, -X, -e decode-fds=, -e quiet=).

    ``decode_fds``: true for -y; a set of ``-e decode-fds=`` words says which
    decorations (``path``; ``socket``, ``dev``, ``pidfd`` with -yy).
    ``quiet``: -q's count, or a set of ``-e quiet=`` words.
    ``xstyle``: -X, a word of XSTYLES (or its index).
    """

    decode_at_entry = DECODE_AT_ENTRY

    def __init__(
        self,
        *,
        strsize=32,
        decode_fds=False,
        status=None,
        signals=None,
        quiet=0,
        stack_trace=False,
        xflag=0,
        paths=(),
        abbrev=None,
        xstyle="abbrev",
    ):
        self.strsize = strsize
        # -y is decode-fds=path; a set names the kinds (decode.DECODE_FDS).
        if decode_fds is True:
            decode_fds = decode.PATHS
        self.decode_fds = frozenset(decode_fds or ())
        if self.decode_fds:
            self.decode_at_entry = DECODE_AT_ENTRY | FD_ENTRY_CALLS
            if "socket" in self.decode_fds:
                self.decode_at_entry |= SOCKET_ENTRY_CALLS
        self.status = status
        self.signals = signals
        self.quiet = quiet
        if isinstance(quiet, int):
            self.quiet_words = QUIET_LEVELS[min(quiet, len(QUIET_LEVELS) - 1)]
        else:
            self.quiet_words = frozenset(quiet)
        self.xflag = xflag
        #: -X: how named constants show (decode.ABBREV, RAW or VERBOSE: 0, 1, 2).
        self.xstyle = XSTYLES.index(xstyle) if isinstance(xstyle, str) else xstyle
        self._entry_args: dict = {}
        self._captured: dict = {}
        #: -k: stacks taken at entry (STACK_AT_ENTRY), by pid.
        self._stacks: dict = {}
        self._unwinder = None
        #: The command pycoz started, until its exec: that exec's stack at entry
        #: would be pycoz's own; it is taken after the exec, as strace does.
        self._starting = None
        # (A subclass whose syscall() takes no ``stack`` prints none.)
        self.stack_trace = stack_trace and _takes_stack(type(self).syscall)
        if self.stack_trace:
            # Bound here rather than tested per call: without -k, nothing changes.
            self.decode_at_entry = DECODE_AT_ENTRY | STACK_AT_ENTRY
            self.syscall = self._syscall_with_stack
        #: -v, -e abbrev=SET: the calls whose structures stay abbreviated
        #: (None: all, strace's default); the others show them in full.
        self.abbrev = abbrev
        if abbrev is not None:
            # Bound, as -k's: without -v the per-call path is unchanged.
            self._args, self._decode = self._args_unabbreviated, self._decode_unabbreviated
            # (a snapshot holds what the abbreviated decoders read)
            self._snapshot = _no_snapshot
        #: -P: the paths a call must name (as a path or through an fd).
        self.paths = tuple(paths)
        self._path_hits: dict = {}
        if self.paths:
            # Bound here, as -k's: without -P the per-call path is unchanged.
            self._quoted = {decode.quote(p.encode()) for p in self.paths}
            self._bracketed = tuple(f"<{p}>" for p in self.paths)
            #: What the sink reads at entry without -P; -P sees every call's entry.
            self._entry_calls = self.decode_at_entry
            self.decode_at_entry = _Everything()
            self._enter_any, self.enter = self.enter, self._enter_on_paths
            self._syscall_any, self.syscall = self.syscall, self._syscall_on_paths

    def _enter_on_paths(self, pid, nr, args, memory) -> None:
        """``enter`` under -P: whether the call names a path, noted for its exit."""
        if nr in self._entry_calls:
            self._enter_any(pid, nr, args, memory)
        self._path_hits[pid] = self._names_path(pid, nr, args, memory)

    def _syscall_on_paths(self, pid, nr, *rest):
        """``syscall`` under -P: only the calls that named a path at entry."""
        if not self._path_hits.pop(pid, False):
            return None
        return self._syscall_any(pid, nr, *rest)

    def _names_path(self, pid, nr, args, memory) -> bool:
        """-P: whether the call, at its entry, names one of the paths (strace's
        pathtrace: a path argument as given, or an fd open on the path)."""
        name = NAMES.get(nr) or f"syscall_{nr}"
        try:
            decoded = decode.decode_call(
                name,
                args,
                memory,
                fd_path=partial(decode.fd_text, pid, kinds=decode.PATHS),
                exiting=False,
                strsize=4096,
            )
        except OSError:
            return False
        for arg in decoded:
            text = arg.text
            if text in self._quoted or text.endswith(self._bracketed):
                return True
            if any(p in text for p in self._bracketed):  # an fd inside a struct
                return True
        return False

    def _note_process(self, kind, pid) -> None:
        if self._unwinder is not None and kind in ("exec", "exit", "killed"):
            self._unwinder.forget(pid)
        if kind == "attach":
            self._starting = False  # attached: every exec is the program's own
        elif kind == "start" and self._starting is None:
            self._starting = pid
        elif kind == "exec" and pid == self._starting:
            self._starting = False

    def _close_stacks(self) -> None:
        """The files -k opened (one per ELF object), closed when tracing ends."""
        if self._unwinder is not None:
            self._unwinder.close()
            self._unwinder = None

    def _stack_of(self, pid) -> list:
        """``_stack`` outside a syscall stop (a signal's): a reader of its own."""
        from pycoz_cli.core.trace.ptrace import Memory

        memory = Memory(pid)
        try:
            return self._stack(pid, memory)
        finally:
            memory.close()

    def _stack(self, pid, memory) -> list:
        """The frames of ``pid``'s stack now (it is stopped); [] if it cannot be read."""
        from pycoz_cli.core.trace import unwind

        if self._unwinder is None:
            self._unwinder = unwind.Unwinder()
        try:
            return self._unwinder.stack(pid, unwind.registers(pid), memory)
        except OSError:
            return []

    def _syscall_with_stack(self, pid, nr, args, retval, is_error, t_enter, t_exit, inj, memory):
        """``syscall`` under -k: the stack is read before the tracee is resumed."""
        stack = self._stacks.pop(pid, None)
        if not self._wanted(retval, is_error):
            return None
        if stack is None:
            stack = (self._stack(pid, memory) if retval is not None else [], False)
        cls = type(self)
        return cls.syscall(self, pid, nr, args, retval, is_error, t_enter, t_exit, inj, memory,
                           stack)  # fmt: skip

    def _supersede(self, pid, former) -> list | None:
        """A thread's execve now ends under the leader's ``pid``: its entry goes
        with it.  Returns the decoded arguments, if the execve is traced."""
        self._captured.pop(pid, None)
        decoded = self._entry_args.pop(former, None)
        if decoded is not None:
            self._entry_args[pid] = decoded
        return decoded

    def enter(self, pid, nr, args, memory) -> None:
        if self.stack_trace:
            if nr in STACK_AT_ENTRY and pid != self._starting:
                self._stacks[pid] = (self._stack(pid, memory), True)
            if nr not in DECODE_AT_ENTRY:
                return
        name = NAMES.get(nr) or f"syscall_{nr}"
        if nr in EXEC_CALLS:
            self._entry_args[pid] = self._decode(pid, name, args, memory, None)
        else:
            fd_path = self._fd_text(pid) if self.decode_fds else None
            self._captured[pid] = decode.capture_entry(name, args, memory, fd_path)

    def _args_unabbreviated(self, pid, nr, name, args, memory, retval):
        verbose = nr not in self.abbrev
        return Common._args(self, pid, nr, name, args, memory, retval, verbose)

    def _decode_unabbreviated(self, pid, name, args, memory, retval, entry=None, exiting=True):
        verbose = NUMBERS.get(name) not in self.abbrev
        return Common._decode(self, pid, name, args, memory, retval, entry, exiting, verbose)

    def _fd_text(self, pid):
        return partial(decode.fd_text, pid, kinds=self.decode_fds)

    def _decode(self, pid, name, args, memory, retval, entry=None, exiting=True, verbose=False):
        fd_path = self._fd_text(pid) if self.decode_fds else None
        return decode.decode_call(
            name,
            args,
            memory,
            strsize=self.strsize,
            fd_path=fd_path,
            exiting=exiting,
            retval=retval,
            entry=entry,
            xflag=self.xflag,
            verbose=verbose,
            xstyle=self.xstyle,
        )

    def _result(self, pid, name, retval, args, memory):
        if not self.decode_fds:
            return decode.format_result(name, retval, args=args, mem=memory, xstyle=self.xstyle)
        fd_path = self._fd_text(pid)
        return decode.format_result(
            name, retval, args=args, mem=memory, fd_path=fd_path, xstyle=self.xstyle
        )

    def _wanted(self, retval, is_error) -> bool:
        if self.status is None:
            return True
        if retval is None:
            return "unfinished" in self.status
        return ("failed" if is_error else "successful") in self.status

    def _snapshot(self, nr, name, args, memory, retval):
        """What the call's decoders will read, read now (the tracee is stopped),
        so that the line can be made after the tracer resumes it; None when the
        call must be decoded now (see ``decode.capture``)."""
        if self.decode_fds or retval is None or nr in self.decode_at_entry:
            return None
        return decode.capture(name, args, memory, retval, strsize=self.strsize)

    def _args(self, pid, nr, name, args, memory, retval, verbose=False):
        entry = None
        if nr in self.decode_at_entry:
            if nr in EXEC_CALLS and pid in self._entry_args:
                return self._entry_args.pop(pid)
            entry = self._captured.pop(pid, None)
        if self.decode_fds or verbose:
            return Common._decode(self, pid, name, args, memory, retval, entry, True, verbose)
        return decode.decode_call(
            name,
            args,
            memory,
            strsize=self.strsize,
            retval=retval,
            entry=entry,
            xflag=self.xflag,
            xstyle=self.xstyle,
        )


def _no_snapshot(*_call) -> None:
    """``_snapshot`` under -v: every call decoded while its tracee is stopped."""
    return None


class _Everything:
    """The set of every syscall number (-P decides at every call's entry)."""

    def __contains__(self, nr) -> bool:
        return True


def _frames_json(frames) -> list[dict]:
    return [
        {"pc": f.pc, "path": f.path, "symbol": f.symbol, "offset": f.offset,
         "file_offset": f.file_offset}
        for f in frames
    ]  # fmt: skip


class StraceText(Common):
    """Lines as strace prints them (``-f``'s ``[pid N]``, -t/-tt/-ttt, -r, -T,
    -n, -i, -Y, -a, -P, ``-e raw=``, ``-e read=``/``write=``)."""

    #: -r: the width of the seconds since the previous line ("%6ld.%06ld ")
    relative_width = 13

    def __init__(
        self,
        out,
        *,
        follow=True,
        timestamps=0,
        relative=False,
        durations=False,
        per_pid=None,
        to_file=False,
        numbers=False,
        instruction_pointer=False,
        comm=False,
        column=40,
        raw=frozenset(),
        read_fds=frozenset(),
        write_fds=frozenset(),
        **common,
    ):
        super().__init__(**common)
        self.out = out
        #: -f -o FILE: every line starts with its pid, as strace writes files.
        self.to_file = to_file
        self.follow = follow
        self.timestamps = timestamps
        self.relative = relative
        self.durations = durations
        #: -ff: a function pid -> file object (one file per process).
        self.per_pid = per_pid
        self.last = None
        self.first_pid = None
        self.pids = set()
        self.notes = sys.stderr
        #: pids whose next line ends a call begun under another pid (strace's
        #: ``<... execve resumed>``).
        self._resumed = set()
        #: -n: the syscall number before each line ("[ 257] "), as strace.
        self.numbers = numbers
        self._last_nr: dict = {}
        #: -n: the tracer writes every call's number here at its entry (the
        #: +++ and --- lines show the last, as strace's).
        self.last_nrs = self._last_nr if numbers else None
        #: -i: the instruction pointer; the tracer sets ``ip`` before each call.
        self.wants_ip = instruction_pointer
        #: ... and it goes before the call, in brackets (strace's column)
        self.ip_column = instruction_pointer
        self.ip = None
        #: -Y: a pid shows as PID<comm>; comm read once per pid and exec.
        self.comm = comm
        self._comms: dict = {}
        #: -a: the column of " = ".
        self.pad_to = max(column, 1) - 1
        self.raw = raw
        every = range(1 << 31)  # -e read=all: None in the filters, every descriptor here
        self.read_fds = every if read_fds is None else read_fds
        self.write_fds = every if write_fds is None else write_fds
        #: Nothing but the pid before a call (no -r, -t, -n, -i): ``_call``'s fast path.
        self._plain = not (relative or timestamps or numbers or instruction_pointer)

    def _read_comm(self, pid) -> str:
        """-Y: /proc/PID/comm, kept until the next exec (read at fork, exec and
        first use, while the process lives: a line can come after its death)."""
        try:
            with open(f"/proc/{pid}/comm") as f:
                name = f.read().rstrip("\n")
        except OSError:
            return ""
        self._comms[pid] = name
        return name

    def _pid_text(self, pid) -> str:
        if not self.comm:
            return str(pid)
        name = self._comms.get(pid) or self._read_comm(pid)
        return f"{pid}<{name}>" if name else str(pid)

    def _head(self, pid, when=None, nr=None, ip=None) -> str:
        """What starts a line: the pid (-f, as strace: ``PID `` in a file, ``[pid N]``
        on a terminal while more than one process is traced), the time, and
        with -n and -i the call's number and instruction pointer."""
        prefix = ""
        if self.follow and self.per_pid is None:
            if self.to_file:
                prefix = f"{self._pid_text(pid):<5} "
            elif len(self.pids) > 1:
                prefix = f"[pid {self._pid_text(pid):>5}] "
        if self.relative:
            now = time.monotonic() if when is None else when
            since = 0.0 if self.last is None else now - self.last
            prefix += f"{since:{self.relative_width}.6f} "
            self.last = now
        elif self.timestamps:
            now = time.time()
            if self.timestamps >= 3:
                prefix += f"{now:.6f} "
            else:
                stamp = time.strftime("%H:%M:%S", time.localtime(now))
                if self.timestamps == 2:
                    stamp += f".{int(now % 1 * 1e6):06d}"
                prefix += f"{stamp} "
        if self.numbers:
            if nr is None:
                nr = self._last_nr.get(pid)
            prefix += f"[{nr:4d}] " if nr is not None else "[????] "
        if self.ip_column:
            prefix += f"[{ip:016x}] " if ip is not None else "[????????????????] "
        return prefix

    def _write(self, pid, text, when=None, ip=None) -> None:
        out = self.per_pid(pid) if self.per_pid else self.out
        out.write(f"{self._head(pid, when, ip=ip)}{text}\n")

    def _call(self, pid, call: str, result: str, when, nr=None, ip=None) -> None:
        # strace aligns " = result" at column 40 of the line (pid and time included).
        if self.per_pid:
            out = self.per_pid(pid)
        else:
            out = self.out
            if self._plain and self.follow and self.to_file and not self.comm:
                line = f"{pid:<5} {call}"  # _head's common case, -f -o FILE
                pad = self.pad_to - len(line)
                out.write(f"{line}{' ' * pad if pad > 0 else ''} = {result}\n")
                return
        line = self._head(pid, when, nr, ip) + call
        pad = " " * (self.pad_to - len(line)) if len(line) < self.pad_to else ""
        out.write(f"{line}{pad} = {result}\n")

    def syscall(
        self, pid, nr, args, retval, is_error, t_enter, t_exit, injected, memory, stack=None
    ):
        if self.status is not None and not self._wanted(retval, is_error):
            return None
        if self.numbers:
            self._last_nr[pid] = nr
        name = NAMES.get(nr) or f"syscall_{nr:#x}"
        ip = self.ip if self.wants_ip else None
        dumps = self.read_fds or self.write_fds
        snap = None if dumps else self._snapshot(nr, name, args, memory, retval)
        line = self._line if stack is None else partial(self._line_and_stack, stack)
        if snap is not None:
            return partial(line, pid, nr, name, args, retval, t_enter, t_exit, injected, snap, ip)
        line(pid, nr, name, args, retval, t_enter, t_exit, injected, memory, ip)
        return None

    def _line_and_stack(self, stack, pid, *rest):
        """-k: the line, then its stack (``stack``: the frames, and whether they
        were taken at the call's entry)."""
        from pycoz_cli.core.trace.unwind import format_frames

        self._line(pid, *rest)
        out = self.per_pid(pid) if self.per_pid else self.out
        out.write("".join(line + "\n" for line in format_frames(*stack)))

    def _line(self, pid, nr, name, args, retval, t_enter, t_exit, injected, memory, ip=None):
        raw = nr in self.raw
        try:
            decoded = self._args(pid, nr, name, args, memory, retval)
            argtext = ", ".join([a.text for a in decoded])
            if raw:
                argtext = ", ".join(decode._hex(v) for v in args[: _nargs(name, decoded)])
        except OSError:
            argtext = ", ".join([hex(a) for a in args])
        if retval is None:
            self._call(pid, f"{name}({argtext})", "?", t_enter, nr, ip)
            return
        if raw and not -4096 < retval < 0:
            result = decode._hex(retval & 0xFFFFFFFFFFFFFFFF)
        else:
            result, _ = self._result(pid, name, retval, args, memory)
        if pid in self._resumed:
            self._resumed.discard(pid)
            argtext = None
        if injected & INJECTED:
            result += " (INJECTED)"
        if injected & DELAYED:
            result += " (DELAYED)"
        if self.durations and t_exit is not None:
            result += f" <{t_exit - t_enter:.6f}>"
        if argtext is None:
            self._call(pid, f"<... {name} resumed>)", result, t_enter, nr, ip)
        else:
            self._call(pid, f"{name}({argtext})", result, t_enter, nr, ip)
        if self.read_fds or self.write_fds:
            self._dump(pid, nr, args, retval, memory)

    def _dump(self, pid, nr, args, retval, memory) -> None:
        """-e read=FDS / write=FDS: the data the call moved, as strace dumps it."""
        from pycoz_cli.core.trace.iodump import dump

        text = dump(nr, args, retval, memory, self.read_fds, self.write_fds)
        if text:
            out = self.per_pid(pid) if self.per_pid else self.out
            out.write(text)

    def process(self, kind, pid, **info):
        self._note_process(kind, pid)
        quiet = self.quiet_words
        if kind in ("start", "fork"):
            self.pids.add(pid)
            if "child" in info:
                self.pids.add(info["child"])
                if self.comm:  # read while it lives: its exit_group line comes after
                    self._read_comm(info["child"])
        elif kind in ("exit", "killed"):
            if kind == "exit":
                if "exit" not in quiet:
                    self._write(pid, f"+++ exited with {info['code']} +++")
            else:
                core = " (core dumped)" if info.get("core") else ""
                self._write(pid, f"+++ killed by {_signame(info['signal'])}{core} +++")
            self.pids.discard(pid)  # strace's [pid N]: while more than one is traced
            self._comms.pop(pid, None)
        elif kind == "signal":
            if self.signals is not None and info["signal"] not in self.signals:
                return
            ip = self.ip if self.wants_ip else None
            self._write(pid, decode.format_signal(info["fields"], self.xstyle), ip=ip)
            if self.stack_trace:  # as strace -k: where the signal found the program
                from pycoz_cli.core.trace.unwind import format_frames

                out = self.per_pid(pid) if self.per_pid else self.out
                frames = self._stack_of(pid)
                out.write("".join(line + "\n" for line in format_frames(frames)))
        elif kind == "exec" and self.comm:
            self._read_comm(pid)
        elif kind == "superseded":
            former = info["former"]
            decoded = self._supersede(pid, former)
            if decoded is not None:
                argtext = ", ".join([a.text for a in decoded])
                name = NAMES.get(info["nr"], "execve")
                self._write(former, f"{name}({argtext} <unfinished ...>")
                self._resumed.add(pid)
            self.pids.discard(former)
            self._comms.pop(former, None)
            if "superseded" not in quiet:
                self._write(pid, f"+++ superseded by execve in pid {former} +++")
        elif kind == "stopped":
            if self.signals is None or info["signal"] in self.signals:
                self._write(pid, f"--- stopped by {_signame(info['signal'])} ---")
        elif kind in ("attach", "detach"):
            if "syscall" in info:  # -b execve: detached as it enters the call
                decoded = self._entry_args.pop(pid, None)
                if decoded is not None:
                    argtext = ", ".join([a.text for a in decoded])
                    name = NAMES.get(info["syscall"], "execve")
                    ip = self.ip if self.wants_ip else None
                    out = self.per_pid(pid) if self.per_pid else self.out
                    head = self._head(pid, nr=info["syscall"], ip=ip)
                    out.write(f"{head}{name}({argtext} <detached ...>\n")
            if "attach" not in quiet:
                # strace's notes: on stderr, not in the trace (-o FILE).
                note = f"pycoz trace: Process {pid} {kind}ed"
                if info.get("threads", 1) > 1:
                    note += f" with {info['threads']} threads"
                self.notes.write(note + "\n")
                self.notes.flush()

    def finish(self) -> None:
        self.out.flush()
        self._close_stacks()


def _nargs(name: str, decoded) -> int:
    """How many arguments ``name`` takes (-e raw= prints them all, in hex), from
    python-ptrace's prototypes; what the decoder showed, for a call they lack."""
    from ptrace.syscall.prototypes import SYSCALL_PROTOTYPES

    proto = SYSCALL_PROTOTYPES.get(name)
    return len(proto[1]) if proto is not None else len(decoded)


def json_safe(value):
    """``value`` with every string that holds bytes that are not UTF-8 (the
    decoders keep them as U+DC80..U+DCFF, Python's surrogateescape) replaced by
    ``{"bytes_hex": "<every byte, in hex>"}``: lone surrogates are not text that
    every JSON parser accepts, and the hex loses nothing (``bytes.fromhex``)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return {"bytes_hex": value.encode("utf-8", "surrogateescape").hex()}
        return value
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    return value


def from_json_safe(value):
    """The inverse of ``json_safe``, for a record read back."""
    if isinstance(value, dict):
        if len(value) == 1 and "bytes_hex" in value:
            return bytes.fromhex(value["bytes_hex"]).decode("utf-8", "surrogateescape")
        return {k: from_json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json_safe(v) for v in value]
    return value


class JsonLines(Common):
    """One JSON object per line: calls (values and strace text) and process events.

    A string that holds bytes that are not UTF-8 (a file name, a buffer) is
    written as ``{"bytes_hex": "..."}`` (``json_safe``); signal records carry
    ``si_code`` as strace names it and, for SIGCHLD, ``si_status``.
    """

    def __init__(self, out, *, durations=True, **common):
        import json  # only --json needs it (a few ms of start-up otherwise)

        super().__init__(**common)
        self.out = out
        self.durations = durations
        self._dumps = json.dumps

    def syscall(
        self, pid, nr, args, retval, is_error, t_enter, t_exit, injected, memory, stack=None
    ):
        if not self._wanted(retval, is_error):
            return None
        name = NAMES.get(nr) or f"syscall_{nr:#x}"
        snap = self._snapshot(nr, name, args, memory, retval)
        if snap is not None:
            return partial(
                self._record, pid, nr, name, args, retval, t_enter, t_exit, injected, snap, stack
            )
        self._record(pid, nr, name, args, retval, t_enter, t_exit, injected, memory, stack)
        return None

    def _record(self, pid, nr, name, args, retval, t_enter, t_exit, injected, memory, stack=None):
        try:
            decoded = self._args(pid, nr, name, args, memory, retval)
            values = [a.value for a in decoded]
            texts = [a.text for a in decoded]
        except OSError:
            values = list(args)
            texts = [hex(a) for a in args]
        record = {
            "type": "syscall",
            "pid": pid,
            "time": t_enter,
            "syscall": name,
            "args": values,
            "args_text": texts,
        }
        if retval is None:
            record["result"] = None
        else:
            value = retval
            text, errname = self._result(pid, name, value, args, memory)
            record.update(result=value, result_text=text, errno=errname)
        if injected & INJECTED:
            record["injected"] = True
        if injected & DELAYED:
            record["delayed"] = True
        if t_exit is not None and self.durations:
            record["duration"] = round(t_exit - t_enter, 9)
        if stack is not None:
            record["stack"] = _frames_json(stack[0])
        text = self._dumps(record)
        if "\\ud" in text:  # a lone surrogate: bytes that are not UTF-8
            record["args"] = json_safe(values)
            text = self._dumps(record)
        self.out.write(text + "\n")

    def process(self, kind, pid, **info):
        self._note_process(kind, pid)
        record = {"type": kind, "pid": pid, "time": time.monotonic()}
        if kind == "signal":
            _signo, _err, code, spid, _suid = info["info"]
            fields = info["fields"]
            record.update(
                signal=_signame(info["signal"]),
                si_code=decode._si_code_name(info["signal"], code),
                si_pid=spid,
            )
            if "si_status" in fields:
                status = fields["si_status"]
                # strace: a number for CLD_EXITED, else the signal's name.
                record["si_status"] = status if code == 1 else _signame(status)
            if self.stack_trace:
                record["stack"] = _frames_json(self._stack_of(pid))
        elif kind == "killed":
            record.update(signal=_signame(info["signal"]), core=info.get("core", False))
        elif kind == "stopped":
            record.update(signal=_signame(info["signal"]))
        elif kind == "superseded":
            self._supersede(pid, info["former"])
            record.update(former=info["former"])
        else:
            record.update({k: v for k, v in info.items() if k != "fields"})
        self.out.write(self._dumps(record) + "\n")

    def finish(self) -> None:
        self.out.flush()
        self._close_stacks()


#: strace's -S words -> the key rows are sorted by (row: [calls, errors,
#: seconds, min, max], name); ties go by syscall number, as strace's table.
SORT_KEYS = {
    "time": lambda row, name: -row[2],
    "calls": lambda row, name: -row[0],
    "errors": lambda row, name: -row[1],
    "name": lambda row, name: name,
    "avg-time": lambda row, name: -row[2] / row[0],
    "min-time": lambda row, name: -row[3],
    "max-time": lambda row, name: -row[4],
    "nothing": lambda row, name: 0,
}


class Summary(Common):
    """strace -c: calls, errors and time per syscall, sorted by time (-S).

    The time is the tracee's system CPU time in the call, as strace -c counts
    it (the tracer's ``cpu_times``, ``Options.cpu_time``), or with ``wall`` (-w)
    the time from entry to exit.  exit and exit_group never return and are not
    counted, as in strace's table.
    """

    decode_at_entry = frozenset()

    def __init__(self, out, *, wall=False, sort_by="time", **common):
        super().__init__(**common)
        self.out = out
        self.wall = wall
        self.sort_key = SORT_KEYS[sort_by]
        self.rows: dict = {}
        self.cpu_times = None

    def enter(self, pid, nr, args, memory) -> None:
        pass

    def syscall(self, pid, nr, args, retval, is_error, t_enter, t_exit, injected, memory):
        if retval is None:
            return  # exit, exit_group: strace counts calls that return
        if not self._wanted(retval, is_error):
            return
        row = self.rows.get(nr)
        if row is None:
            row = self.rows[nr] = [0, 0, 0.0, float("inf"), 0.0]
        row[0] += 1
        row[1] += bool(is_error)
        if self.wall or self.cpu_times is None:
            spent = 0.0 if t_exit is None else t_exit - t_enter
        else:
            spent = max(self.cpu_times[1] - self.cpu_times[0], 0.0)
        row[2] += spent
        row[3] = min(row[3], spent)
        row[4] = max(row[4], spent)

    def process(self, kind, pid, **info):
        pass

    def finish(self) -> None:
        if not self.rows:
            return  # strace prints no table without calls
        seconds = sum(r[2] for r in self.rows.values())
        total = seconds or 1e-9
        rule = "------ ----------- ----------- --------- --------- ----------------"
        lines = ["% time     seconds  usecs/call     calls    errors syscall", rule]
        key = self.sort_key
        ordered = sorted(
            self.rows.items(), key=lambda kv: (key(kv[1], NAMES.get(kv[0], "")), kv[0])
        )
        for nr, (calls, errors, secs, _, _) in ordered:
            lines.append(
                f"{100 * secs / total:6.2f} {secs:11.6f} {int(secs * 1e6 / calls):11d} "
                f"{calls:9d} {errors or '':>9} {NAMES.get(nr, nr)}"
            )
        calls = sum(r[0] for r in self.rows.values())
        errors = sum(r[1] for r in self.rows.values())
        lines.append(rule)
        lines.append(
            f"100.00 {seconds:11.6f} "
            f"{int(seconds * 1e6 / max(calls, 1)):11d} {calls:9d} {errors or '':>9} total"
        )
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()


class Both:
    """strace's -C: the trace as it goes, and the -c table at the end."""

    def __init__(self, text: StraceText, summary: Summary):
        self.text = text
        self.summary = summary
        self.decode_at_entry = text.decode_at_entry
        self.wants_ip = text.wants_ip
        self.last_nrs = text.last_nrs

    def __setattr__(self, name, value):
        if name == "ip":
            self.text.ip = value
        elif name == "cpu_times":
            self.summary.cpu_times = value
        else:
            object.__setattr__(self, name, value)

    def enter(self, pid, nr, args, memory) -> None:
        self.text.enter(pid, nr, args, memory)

    def syscall(self, *call):
        text = self.text
        if not text.paths or text._path_hits.get(call[0], False):  # -P: its calls only
            self.summary.syscall(*call)
        return text.syscall(*call)

    def process(self, kind, pid, **info):
        self.text.process(kind, pid, **info)

    def finish(self) -> None:
        self.text.finish()
        self.summary.finish()


def open_per_pid(prefix: str):
    """-ff: FILE.PID files, opened on first use."""
    from pycoz_cli.core.streams import open_text

    files: dict = {}

    def get(pid):
        f = files.get(pid)
        if f is None:
            f = files[pid] = open_text(f"{prefix}.{pid}")
        return f

    def close():
        for f in files.values():
            f.close()

    get.close = close
    return get
