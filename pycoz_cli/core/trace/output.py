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

from pycoz_cli.core.trace import decode
from pycoz_cli.core.trace.syscalls import NAMES, NUMBERS
from pycoz_cli.core.trace.tracer import DELAYED, INJECTED

#: Decoded whole at entry: after a successful exec their arguments are gone.
EXEC_CALLS = frozenset(NUMBERS[n] for n in ("execve", "execveat") if n in NUMBERS)
#: Calls whose input the kernel overwrites (socklen, fd sets): read at entry.
CAPTURE_CALLS = frozenset(NUMBERS[n] for n in decode.ENTRY_CAPTURED if n in NUMBERS)
DECODE_AT_ENTRY = EXEC_CALLS | CAPTURE_CALLS
#: Under -y, also the calls that close or replace a descriptor (decorated as at entry).
FD_ENTRY_CALLS = frozenset(NUMBERS[n] for n in decode.FD_ENTRY_CAPTURED if n in NUMBERS)
SOCKET_ENTRY_CALLS = frozenset(NUMBERS[n] for n in decode.SOCKET_ENTRY_CAPTURED if n in NUMBERS)
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


class Common:
    """Options every sink understands (strace's -s, -y, -e status=, -e signal=)."""

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
        name = NAMES.get(nr, f"syscall_{nr}")
        if nr in EXEC_CALLS:
            self._entry_args[pid] = self._decode(pid, name, args, memory, None)
        else:
            fd_path = self._fd_text(pid) if self.decode_fds else None
            self._captured[pid] = decode.capture_entry(name, args, memory, fd_path)

    def _fd_text(self, pid):
        return partial(decode.fd_text, pid, kinds=self.decode_fds)

    def _decode(self, pid, name, args, memory, retval, entry=None):
        fd_path = self._fd_text(pid) if self.decode_fds else None
        return decode.decode_call(
            name,
            args,
            memory,
            strsize=self.strsize,
            fd_path=fd_path,
            exiting=True,
            retval=retval,
            entry=entry,
        )

    def _result(self, pid, name, retval, args, memory):
        if not self.decode_fds:
            return decode.format_result(name, retval, args=args, mem=memory)
        fd_path = self._fd_text(pid)
        return decode.format_result(name, retval, args=args, mem=memory, fd_path=fd_path)

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

    def _args(self, pid, nr, name, args, memory, retval):
        entry = None
        if nr in self.decode_at_entry:
            if nr in EXEC_CALLS and pid in self._entry_args:
                return self._entry_args.pop(pid)
            entry = self._captured.pop(pid, None)
        if self.decode_fds:
            return self._decode(pid, name, args, memory, retval, entry)
        return decode.decode_call(
            name, args, memory, strsize=self.strsize, retval=retval, entry=entry
        )


def _frames_json(frames) -> list[dict]:
    return [
        {"pc": f.pc, "path": f.path, "symbol": f.symbol, "offset": f.offset,
         "file_offset": f.file_offset}
        for f in frames
    ]  # fmt: skip


class StraceText(Common):
    """Lines as strace prints them (``-f``'s ``[pid N]``, -t/-tt/-ttt, -r, -T)."""

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

    def _head(self, pid, when=None) -> str:
        """What starts a line: the pid (-f, as strace: ``PID `` in a file, ``[pid N]``
        on a terminal while more than one process is traced) and the time."""
        prefix = ""
        if self.follow and self.per_pid is None:
            if self.to_file:
                prefix = f"{pid:<5} "
            elif len(self.pids) > 1:
                prefix = f"[pid {pid:>5}] "
        if self.relative:
            now = time.monotonic() if when is None else when
            stamp = f"{0.0 if self.last is None else now - self.last:13.6f} "  # %6ld.%06ld
            self.last = now
            return prefix + stamp
        if self.timestamps:
            now = time.time()
            if self.timestamps >= 3:
                return f"{prefix}{now:.6f} "
            stamp = time.strftime("%H:%M:%S", time.localtime(now))
            if self.timestamps == 2:
                stamp += f".{int(now % 1 * 1e6):06d}"
            return f"{prefix}{stamp} "
        return prefix

    def _write(self, pid, text, when=None) -> None:
        out = self.per_pid(pid) if self.per_pid else self.out
        out.write(f"{self._head(pid, when)}{text}\n")

    def _call(self, pid, call: str, result: str, when) -> None:
        # strace aligns " = result" at column 40 of the line (pid and time included).
        out = self.per_pid(pid) if self.per_pid else self.out
        line = self._head(pid, when) + call
        pad = " " * (39 - len(line)) if len(line) < 39 else ""
        out.write(f"{line}{pad} = {result}\n")

    def syscall(
        self, pid, nr, args, retval, is_error, t_enter, t_exit, injected, memory, stack=None
    ):
        if not self._wanted(retval, is_error):
            return None
        name = NAMES.get(nr, f"syscall_{nr:#x}")
        snap = self._snapshot(nr, name, args, memory, retval)
        line = self._line if stack is None else partial(self._line_and_stack, stack)
        if snap is not None:
            return partial(line, pid, nr, name, args, retval, t_enter, t_exit, injected, snap)
        line(pid, nr, name, args, retval, t_enter, t_exit, injected, memory)
        return None

    def _line_and_stack(self, stack, pid, *rest):
        """-k: the line, then its stack (``stack``: the frames, and whether they
        were taken at the call's entry)."""
        from pycoz_cli.core.trace.unwind import format_frames

        self._line(pid, *rest)
        out = self.per_pid(pid) if self.per_pid else self.out
        out.write("".join(line + "\n" for line in format_frames(*stack)))

    def _line(self, pid, nr, name, args, retval, t_enter, t_exit, injected, memory):
        try:
            decoded = self._args(pid, nr, name, args, memory, retval)
            argtext = ", ".join([a.text for a in decoded])
        except OSError:
            argtext = ", ".join([hex(a) for a in args])
        if retval is None:
            self._call(pid, f"{name}({argtext})", "?", t_enter)
            return
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
            self._call(pid, f"<... {name} resumed>)", result, t_enter)
            return
        self._call(pid, f"{name}({argtext})", result, t_enter)

    def process(self, kind, pid, **info):
        self._note_process(kind, pid)
        if kind in ("start", "fork"):
            self.pids.add(pid)
            if "child" in info:
                self.pids.add(info["child"])
        elif kind in ("exit", "killed"):
            if self.quiet < 2 and kind == "exit":
                self._write(pid, f"+++ exited with {info['code']} +++")
            elif self.quiet < 2:
                core = " (core dumped)" if info.get("core") else ""
                self._write(pid, f"+++ killed by {_signame(info['signal'])}{core} +++")
            self.pids.discard(pid)  # strace's [pid N]: while more than one is traced
        elif kind == "signal":
            if self.signals is not None and info["signal"] not in self.signals:
                return
            self._write(pid, decode.format_signal(info["fields"]))
            if self.stack_trace:  # as strace -k: where the signal found the program
                from pycoz_cli.core.trace.unwind import format_frames

                out = self.per_pid(pid) if self.per_pid else self.out
                frames = self._stack_of(pid)
                out.write("".join(line + "\n" for line in format_frames(frames)))
        elif kind == "superseded":
            former = info["former"]
            decoded = self._supersede(pid, former)
            if decoded is not None:
                argtext = ", ".join([a.text for a in decoded])
                name = NAMES.get(info["nr"], "execve")
                self._write(former, f"{name}({argtext} <unfinished ...>")
                self._resumed.add(pid)
            self.pids.discard(former)
            self._write(pid, f"+++ superseded by execve in pid {former} +++")
        elif kind == "stopped":
            if self.signals is None or info["signal"] in self.signals:
                self._write(pid, f"--- stopped by {_signame(info['signal'])} ---")
        elif kind in ("attach", "detach") and not self.quiet:
            # strace's notes: on stderr, not in the trace (-o FILE).
            note = f"pycoz trace: Process {pid} {kind}ed"
            if info.get("threads", 1) > 1:
                note += f" with {info['threads']} threads"
            self.notes.write(note + "\n")
            self.notes.flush()

    def finish(self) -> None:
        self.out.flush()
        self._close_stacks()


class JsonLines(Common):
    """One JSON object per line: calls (values and strace text) and process events."""

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
        name = NAMES.get(nr, f"syscall_{nr:#x}")
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
        self.out.write(self._dumps(record) + "\n")

    def process(self, kind, pid, **info):
        self._note_process(kind, pid)
        record = {"type": kind, "pid": pid, "time": time.monotonic()}
        if kind == "signal":
            _signo, _err, code, spid, _suid = info["info"]
            record.update(signal=_signame(info["signal"]), si_code=code, si_pid=spid)
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


class Summary(Common):
    """strace -c: calls, errors and time per syscall, sorted by time."""

    def __init__(self, out, **common):
        super().__init__(**common)
        self.out = out
        self.rows: dict = {}

    def enter(self, pid, nr, args, memory) -> None:
        pass

    def syscall(self, pid, nr, args, retval, is_error, t_enter, t_exit, injected, memory):
        if retval is None:
            return  # exit, exit_group: strace counts calls that return
        row = self.rows.setdefault(nr, [0, 0, 0.0])
        row[0] += 1
        row[1] += bool(is_error)
        if t_exit is not None:
            row[2] += t_exit - t_enter

    def process(self, kind, pid, **info):
        pass

    def finish(self) -> None:
        if not self.rows:
            return  # strace prints no table without calls
        total = sum(r[2] for r in self.rows.values()) or 1e-9
        lines = [
            "% time     seconds  usecs/call     calls    errors syscall",
            "------ ----------- ----------- --------- --------- ----------------",
        ]
        for nr, (calls, errors, secs) in sorted(self.rows.items(), key=lambda kv: -kv[1][2]):
            lines.append(
                f"{100 * secs / total:6.2f} {secs:11.6f} {int(secs * 1e6 / calls):11d} "
                f"{calls:9d} {errors or '':>9} {NAMES.get(nr, nr)}"
            )
        calls = sum(r[0] for r in self.rows.values())
        errors = sum(r[1] for r in self.rows.values())
        lines.append("------ ----------- ----------- --------- --------- ----------------")
        lines.append(
            f"100.00 {sum(r[2] for r in self.rows.values()):11.6f} "
            f"{int(total * 1e6 / max(calls, 1)):11d} {calls:9d} {errors or '':>9} total"
        )
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()


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
