"""Tracing from Python: start a command under the tracer, or attach to a process.

from pycoz_cli.core.trace import session, output, filters
f = filters.parse(["trace=%network"])
status = session.trace_command(["curl", "http://h2/"], session.options_from(f),
                               output.StraceText(sys.stderr))
"""

from __future__ import annotations

import errno
import os
import signal

from pycoz_cli.core.process import find_program, program_candidates
from pycoz_cli.core.trace import ptrace as pt
from pycoz_cli.core.trace.tracer import (
    DELAYED,
    INJECTED,
    DetachRequested,
    Injection,
    Options,
    child_prepare,
    run,
)
from pycoz_cli.errors import (
    CommandNotExecutable,
    CommandNotFound,
    PycozError,
    SetupError,
    describe_errno,
)


def options_from(
    filters,
    follow: bool = True,
    prefilter: bool = True,
    *,
    cpu_time: bool = False,
    detach_on_execve: bool = False,
    every_call: bool = False,
) -> Options:
    """Tracer options from parsed ``-e`` expressions (``filters.parse``)."""
    injections = [
        Injection(
            inj.syscalls,
            error=inj.error,
            retval=inj.retval,
            when=inj.applies,
            delay_enter_us=inj.delay_enter_us,
            delay_exit_us=inj.delay_exit_us,
            signal=inj.signal,
        )
        for inj in filters.injections
    ]
    return Options(
        traced=filters.syscalls,
        follow=follow,
        injections=injections,
        prefilter=prefilter,
        cpu_time=cpu_time,
        detach_on_execve=detach_on_execve,
        every_call=every_call,
    )


def trace_command(argv, options: Options, sink, env=None, cwd=None, user=None) -> int:
    """Run ``argv`` traced; return its wait status (``os.waitstatus_to_exitcode``).

    ``user`` (strace's ``-u``): a user name or uid to run the command as, with
    that user's groups.  Raises CommandNotFound / CommandNotExecutable if it
    could not be exec'd, SpecError for an unknown user.
    """
    env = dict(os.environ if env is None else env)
    ids = user_ids(user) if user is not None else None
    pid, err_r = _start_tracee(argv, options, env, cwd, ids)
    try:
        return _traced(pid, options, sink, attached=False)
    finally:
        _raise_exec_error(err_r, argv[0])


def user_ids(user: str) -> tuple[str, int, int]:
    """(name, uid, gid) of ``user`` (a name, or a uid known to the passwd database)."""
    import pwd

    from pycoz_cli.errors import SpecError

    try:
        entry = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
    except KeyError:
        raise SpecError(f"-u {user}: no such user") from None
    return entry.pw_name, entry.pw_uid, entry.pw_gid


def _start_tracee(argv, options: Options, env, cwd=None, ids=None) -> tuple[int, int]:
    """Fork the program to trace, stopped before exec (``child_prepare``).

    Returns its pid and the read end of a close-on-exec pipe that carries the
    errno of a failed exec (empty once the exec has succeeded).

    The program's signal dispositions are the ones pycoz was started with, as
    strace leaves them: an ignored signal stays ignored (``nohup pycoz trace``
    keeps SIGHUP ignored), a handled one is reset by the exec.  SIGPIPE and
    SIGXFSZ are the exception: Python ignores them at its start, so what pycoz
    inherited cannot be told apart; they are reset, as Python's ``subprocess``
    does.
    """
    path = resolve_command(argv[0], env)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    tracer = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the tracee-to-be
        code = 127
        try:
            os.close(err_r)
            for sig in (signal.SIGPIPE, signal.SIGXFSZ):
                signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, ())
            if cwd:
                os.chdir(cwd)
            if ids is not None:  # strace's -u: the user's groups, gid, then uid
                os.initgroups(ids[0], ids[2])
                os.setgid(ids[2])
                os.setuid(ids[1])
            child_prepare(options, tracer)
            os.execve(path, list(argv), env)
        except OSError as err:
            code = 127 if err.errno in (2, 20) else 126
            os.write(err_w, f"{err.errno}".encode())
        except BaseException:
            pass
        finally:
            os._exit(code)
    os.close(err_w)
    return pid, err_r


def _raise_exec_error(err_r: int, name: str) -> None:
    news = os.read(err_r, 64)
    os.close(err_r)
    if news:
        code = int(news)
        if code in (2, 20):
            raise CommandNotFound(f"{name}: command not found")
        raise CommandNotExecutable(f"{name}: cannot execute: {describe_errno(code)}")


def resolve_command(name: str, env) -> str:
    """The file ``name`` runs, found on PATH before anything is traced (as strace
    does: a missing command is one clear line, not a trace of failed execs)."""
    path = find_program(name, env)
    if path is not None:
        return path
    if any(os.path.isfile(candidate) for candidate in program_candidates(name, env)):
        raise CommandNotExecutable(f"{name}: cannot execute: {describe_errno(13)}")
    if "/" in name and os.path.isdir(name):
        raise CommandNotExecutable(f"{name}: cannot execute: {describe_errno(21)}")
    raise CommandNotFound(f"{name}: command not found")


def attach(pid: int, options: Options, sink) -> int:
    """Trace the running process ``pid`` (all its threads) until it exits (0) or
    a SIGINT/SIGTERM/SIGHUP/SIGQUIT to us detaches cleanly, leaving it running:
    then the number of that signal, of which strace dies after detaching."""
    try:
        tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except FileNotFoundError:
        raise SetupError(f"-p {pid}: no such process", 3) from None
    if _status(pid).get("Tgid") == str(os.getpid()):
        raise SetupError(f"-p {pid}: that is pycoz itself, which cannot trace itself")
    # No EXITKILL: an attached process must outlive pycoz (it is detached).
    opts = options.ptrace_options() & ~(pt.PTRACE_O_TRACESECCOMP | pt.PTRACE_O_EXITKILL)
    options.prefilter = False  # no filter can be installed in a running process
    # Ctrl-C detaches from the moment the first thread is seized.
    with _Signals(pid, attached=True):
        for tid in tids:
            try:
                pt.seize(tid, opts)
                pt.interrupt(tid)
            except OSError as err:
                hint = None
                if err.errno == 1:
                    hint = _eperm_reason(pid)
                raise SetupError.from_oserror(err, hint) from None
        own = len(tids)
        if options.calls is not None:
            # Processes sharing its memory (a vfork or clone(CLONE_VM) child)
            # would run into the breakpoints: they are traced too.  Looked
            # for once its threads are seized: a child they make from now on
            # is traced by the kernel (and refuses a second seize: EPERM).
            for tid in options.calls.sharers(pid):
                try:
                    pt.seize(tid, opts)
                    pt.interrupt(tid)
                except OSError as err:
                    if err.errno in (errno.ESRCH, errno.EPERM):
                        continue  # ended meanwhile, or a child traced already
                    raise SetupError.from_oserror(err) from None
                tids.append(tid)
        sink.process("attach", pid, threads=own)
        extra = tids[1:]
        _traced(pid, options, sink, attached=True, extra=extra)
        return _Detach.signal


def _status(pid: int) -> dict[str, str]:
    """/proc/PID/status as a dict ({} if it cannot be read)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    except OSError:
        return {}


_PF_KTHREAD = 0x00200000
_CAP_SYS_PTRACE = 19


def _eperm_reason(pid: int) -> str:
    """Why the kernel refused to let us trace ``pid``, as far as /proc tells."""
    status = _status(pid)
    if status.get("TracerPid", "0") != "0":
        return f"already traced by pid {status['TracerPid']}"
    from pycoz_cli.core.process import proc_stat

    fields = proc_stat(pid)
    if fields is not None and len(fields) > 7 and int(fields[7]) & _PF_KTHREAD:
        return "a kernel thread cannot be traced"
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            scope = f.read().strip()
        if scope != "0":
            return f"kernel.yama.ptrace_scope is {scope}"
    except OSError:
        pass
    ours = _status(os.getpid())
    mine = int(ours.get("CapEff", "0"), 16)
    if mine >> _CAP_SYS_PTRACE & 1:
        return "refused by a security module, or the process is not dumpable"
    uids = set(status.get("Uid", "").split())
    if uids and uids != {str(os.getuid())}:
        return "CAP_SYS_PTRACE is needed to trace another user's process"
    theirs = int(status.get("CapPrm", "0"), 16)
    if theirs & ~mine:
        return "it has capabilities that pycoz lacks (CAP_SYS_PTRACE is needed to trace it)"
    return "the process is not dumpable (CAP_SYS_PTRACE is needed to trace it)"


def _traced(pid, options, sink, attached, extra=()) -> int:
    try:
        with _Signals(pid, attached):
            return run(pid, options, sink, attached=attached, extra=extra, detach=_Detach)
    finally:
        sink.finish()


#: The signals that detach from an attached process.
DETACH_SIGNALS = (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP)


class _Signals:
    """While tracing: Ctrl-C and Ctrl-\\ are the traced program's (ignored here);
    SIGTERM and SIGHUP are passed on to it.  While attached, all four detach."""

    def __init__(self, pid: int, attached: bool):
        self.pid = pid
        self.attached = attached

    def __enter__(self):
        if signal.getsignal(signal.SIGINT) is _Detach.handler:
            self.old = None  # already installed (attach, then _traced)
            return self
        self.old = {}
        _Detach.signal = 0
        for sig in (signal.SIGINT, signal.SIGQUIT):
            handler = _Detach.handler if self.attached else signal.SIG_IGN
            self.old[sig] = signal.signal(sig, handler)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            handler = _Detach.handler if self.attached else _pass_on(self.pid)
            self.old[sig] = signal.signal(sig, handler)
        if self.attached:  # held since the command line was read (cli.options)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, DETACH_SIGNALS)
        return self

    def __exit__(self, *exc):
        if self.old is None:
            return
        for sig, handler in self.old.items():
            signal.signal(sig, handler)
        _Detach.requested = False


def _pass_on(pid):
    def handler(sig, frame):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass

    return handler


class _Detach:
    """Set by a signal while attached: detach from everything and stop."""

    requested = False
    waiting = False
    #: the signal that asked for the detach (0: none)
    signal = 0

    @staticmethod
    def handler(sig, frame):
        _Detach.requested = True
        _Detach.signal = sig
        if _Detach.waiting:
            raise DetachRequested


class Tracing:
    """Tracing as part of a container spec (``Container(trace=Tracing(...))``).

    The tracer is the container's init (pid 1 of its pid namespace), so the pids
    shown are the ones the program sees; init still reaps every orphan (its ptrace
    loop waits for all children) and passes on SIGTERM, SIGHUP, SIGUSR1/2.
    """

    def __init__(self, options: Options, sink, name: str = "pycoz trace"):
        self.options = options
        self.sink = sink
        self.name = name  # before its lines on stderr

    def prepare_tracee(self) -> None:  # pragma: no cover - in the command, before exec
        child_prepare(self.options)

    def run_as_init(self, pid: int) -> int:  # pragma: no cover - in init
        for sig in (signal.SIGINT, signal.SIGQUIT):
            signal.signal(sig, signal.SIG_IGN)  # the terminal sends these to the command
        forward = _pass_on(pid)
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, forward)
        signal.pthread_sigmask(signal.SIG_SETMASK, ())
        try:
            return run(pid, self.options, self.sink, until_first=True)
        except PycozError as err:
            # Refused (library calls: a function that is nowhere), before the
            # command's main: one line, and its exit code as the container's.
            os.write(2, f"{self.name}: {err}\n".encode())
            return (int(getattr(err, "exit_code", 125)) & 0xFF) << 8
        except BaseException as err:
            # The command has exec'd: the setup pipe is closed, so say it here.
            os.write(2, f"{self.name}: the tracer failed: {type(err).__name__}: {err}\n".encode())
            raise
        finally:
            calls = self.options.calls
            for note in calls.all_notes() if calls is not None else ():
                os.write(2, f"{self.name}: {note}\n".encode())  # made here, in init
            try:
                self.sink.finish()
            except PycozError as err:  # a plugin's sink failed (tracers.guard)
                os.write(2, f"{self.name}: {err}\n".encode())
                raise


class Event:
    """One traced call or process event, as the Python API hands them out."""

    __slots__ = (
        "args",
        "delayed",
        "duration",
        "errno",
        "injected",
        "kind",
        "name",
        "pid",
        "result",
        "text",
        "time",
    )

    def __init__(
        self,
        kind,
        pid,
        name=None,
        args=(),
        result=None,
        errno=None,
        text="",
        time=0.0,
        duration=None,
        injected=False,
        delayed=False,
    ):
        self.kind = kind
        self.pid = pid
        self.name = name
        #: decoded arguments: JSON-able values (ints, strings, flag lists, dicts)
        self.args = args
        self.result = result
        self.errno = errno
        #: the line strace would print (syscalls) or a short description (events)
        self.text = text
        self.time = time
        self.duration = duration
        #: fault injection replaced the result / held the call (strace's marks)
        self.injected = injected
        self.delayed = delayed

    def __repr__(self) -> str:
        return f"Event({self.kind}, pid={self.pid}, {self.text!r})"


class _Collect:
    """A sink that turns calls into ``Event`` objects for a callback."""

    def __init__(self, emit, strsize=32):
        from pycoz_cli.core.trace.output import DECODE_AT_ENTRY, Common

        self.decode_at_entry = DECODE_AT_ENTRY
        self._common = Common(strsize=strsize)
        self.enter = self._common.enter
        self.emit = emit

    def syscall(self, pid, nr, args, retval, is_error, t_enter, t_exit, injected, memory):
        from pycoz_cli.core.trace import decode
        from pycoz_cli.core.trace.syscalls import NAMES

        name = NAMES.get(nr) or f"syscall_{nr:#x}"
        try:
            decoded = self._common._args(pid, nr, name, args, memory, retval)
        except OSError:
            decoded = []
        if retval is None:
            text, errname = "?", None
        else:
            text, errname = decode.format_result(name, retval)
        line = f"{name}({', '.join(a.text for a in decoded)}) = {text}"
        self.emit(
            Event(
                "syscall",
                pid,
                name,
                [a.value for a in decoded],
                retval,
                errname,
                line,
                t_enter,
                None if t_exit is None else t_exit - t_enter,
                bool(injected & INJECTED),
                bool(injected & DELAYED),
            )
        )

    def process(self, kind, pid, **info):
        self.emit(Event(kind, pid, text=" ".join(f"{k}={v}" for k, v in info.items())))

    def finish(self):
        pass


def events(argv, expressions=(), *, follow=True, env=None):
    """Run ``argv`` traced and yield ``Event`` objects as they happen.

    ``expressions`` are strace ``-e`` expressions (``"trace=%network"``,
    ``"inject=openat:error=ENOENT:when=2"``).  The tracer runs in a thread of
    its own (ptrace belongs to the thread that started the tracee); the
    generator's last value is an ``Event("status", pid, result=wait status)``.
    Raises SpecError for bad expressions, CommandNotFound if argv[0] is missing.

        for ev in events(["curl", "-s", "http://h2/"], ["trace=connect"]):
            print(ev.name, ev.args, ev.errno)
    """
    import queue
    import threading

    from pycoz_cli.core.trace import filters

    options = options_from(filters.parse(list(expressions)), follow=follow)
    env = dict(os.environ if env is None else env)
    resolve_command(argv[0], env)  # fail here, in the caller's thread
    q: queue.Queue = queue.Queue()
    done = object()

    def work():
        try:
            status = _trace_quietly(argv, options, _Collect(q.put), env)
            q.put(Event("status", 0, result=status))
        except BaseException as err:
            q.put(err)
        finally:
            q.put(done)

    thread = threading.Thread(target=work, name="pycoz-tracer", daemon=True)
    thread.start()
    while True:
        item = q.get()
        if item is done:
            break
        if isinstance(item, BaseException):
            thread.join()
            raise item
        yield item
    thread.join()


def _trace_quietly(argv, options, sink, env) -> int:
    """trace_command without touching signal dispositions (not the main thread)."""
    pid, err_r = _start_tracee(argv, options, env)
    try:
        return run(pid, options, sink)
    finally:
        sink.finish()
        _raise_exec_error(err_r, argv[0])
