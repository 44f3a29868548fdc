"""The ptrace loop: start or attach, follow forks, see every syscall stop, inject.

One ``waitpid(-1, __WALL)`` and one ``PTRACE_GET_SYSCALL_INFO`` per stop, no
allocation per stop, decoding left to the sink (and only for calls it prints):
a Python tracer is as fast as the stops it avoids, so with a syscall filter a
seccomp-bpf program in the tracee stops it only for the calls asked for
(``PTRACE_O_TRACESECCOMP``), and between them the tracee runs untouched.

Always ``PTRACE_O_EXITKILL``: a tracee whose tracer dies gets SIGKILL rather
than running on with a filter that, tracer-less, would make every filtered call
fail with ENOSYS (strace #274).

Sinks receive:

* ``syscall(pid, nr, args, retval, is_error, t_enter, t_exit, injected, memory)``
  when a call returns (``retval`` None for one that never returns: exit, execve
  that succeeded is reported as its exec event and as returning 0; ``injected``
  0, or INJECTED and/or DELAYED for a call that fault injection changed).  It may
  return a callable: the loop resumes the tracee first and calls it then, so
  that a sink which has read what it needs from ``memory`` formats and writes
  its line while the tracee runs on (on another CPU), not while it waits;
* ``process(kind, pid, **info)`` for "start", "fork", "exec", "exit", "killed",
  "signal", "stopped" (a group-stop, ``signal=``) and "detach".
"""

from __future__ import annotations

import os
import signal
import time

from pycoz_cli.core import libc
from pycoz_cli.core.trace import ptrace as pt
from pycoz_cli.core.trace.syscalls import NUMBERS

_WALL = 0x40000000
_WALL_NOHANG = _WALL | os.WNOHANG
#: How many times to poll (waitpid WNOHANG, about 1 us each) for the next stop
#: before sleeping in waitpid.  A tracee that stops for every syscall is back
#: within microseconds; sleeping would cost a wake-up of the tracer's CPU on
#: every stop, which on a virtual machine is tens of microseconds (more than the
#: tracer's own work).  Bounded, so a tracee that runs for long costs at most
#: this much polling per stop; off when the tracer has a single CPU to run on,
#: where polling would only keep the tracee from running.
SPIN = 100
_SYSCALL_STOP = signal.SIGTRAP | 0x80
#: The wait status of a syscall stop (PTRACE_O_TRACESYSGOOD), most of all stops:
#: compared whole, before the os.W* calls the rarer stops need.
_SYSCALL_STATUS = _SYSCALL_STOP << 8 | 0x7F
_NEW_CHILD_EVENTS = (pt.PTRACE_EVENT_FORK, pt.PTRACE_EVENT_VFORK, pt.PTRACE_EVENT_CLONE)
_STOP_SIGNALS = frozenset((signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU))
_EXEC_CALLS = frozenset(NUMBERS[n] for n in ("execve", "execveat") if n in NUMBERS)


#: Bits of a sink's ``injected``: the result was replaced, the call was delayed
#: (strace's "(INJECTED)" and "(DELAYED)").
INJECTED, DELAYED = 1, 2


class Injection:
    """What to do to matching calls: fail with ``error``, or return ``retval``;
    and/or hold them ``delay_enter_us`` before and ``delay_exit_us`` after; and/or
    send ``signal`` (strace's ``signal=``: delivered as the call is entered)."""

    __slots__ = (
        "delay_enter_us",
        "delay_exit_us",
        "error",
        "marks",
        "matches",
        "retval",
        "signal",
        "when",
    )

    def __init__(
        self,
        syscalls,
        error=None,
        retval=None,
        when=None,
        delay_enter_us=0,
        delay_exit_us=0,
        signal=None,
    ):
        self.matches = frozenset(syscalls)
        self.error = error
        self.retval = retval
        self.signal = signal
        #: callable(count) -> bool: whether the count-th matching call is hit.
        self.when = when or (lambda count: True)
        self.delay_enter_us = delay_enter_us
        self.delay_exit_us = delay_exit_us
        #: What a tampered call's line says (INJECTED | DELAYED bits).
        self.marks = (INJECTED if error is not None or retval is not None else 0) | (
            DELAYED if delay_enter_us or delay_exit_us else 0
        )


class Options:
    __slots__ = (
        "calls",
        "cpu_time",
        "detach_on_execve",
        "every_call",
        "follow",
        "injections",
        "prefilter",
        "traced",
    )

    def __init__(
        self,
        traced=None,
        follow=True,
        injections=(),
        prefilter=True,
        cpu_time=False,
        detach_on_execve=False,
        calls=None,
        every_call=False,
    ):
        #: syscall numbers to report, or None for all.
        self.traced = frozenset(traced) if traced is not None else None
        self.follow = follow
        self.injections = list(injections)
        #: Use the seccomp prefilter when only some calls are traced.
        self.prefilter = prefilter
        #: Measure the tracee's system CPU time (wait4's ru_stime) at each
        #: stop, for strace -c's default "time" (its -w is the wall clock): the
        #: sink finds (at the thread's previous return, now) in
        #: ``sink.cpu_times`` while its ``syscall`` runs.
        self.cpu_time = cpu_time
        #: strace's ``-b execve``: detach from a process as it enters execve
        #: (not the traced command's own first exec).
        self.detach_on_execve = detach_on_execve
        #: Library-call breakpoints (``breakpoints.Engine``), or None.
        self.calls = calls
        #: Stop at every call, traced or not, with no prefilter (strace -n
        #: without --seccomp-bpf: its numbers are of the last call stopped at).
        self.every_call = every_call

    def syscall_stops(self) -> bool:
        """Whether any syscall is wanted (with only library calls traced, the
        tracee runs with PTRACE_CONT: no syscall stops at all)."""
        return self.traced is None or bool(self.traced) or bool(self.injections) or self.every_call

    def ptrace_options(self) -> int:
        opts = pt.PTRACE_O_TRACESYSGOOD | pt.PTRACE_O_EXITKILL | pt.PTRACE_O_TRACEEXEC
        if self.follow or self.calls is not None:
            # Breakpoints: every thread and child must be traced (an untraced
            # one that hits an int3 dies); the engine lets unfollowed ones go.
            opts |= pt.PTRACE_O_TRACEFORK | pt.PTRACE_O_TRACEVFORK | pt.PTRACE_O_TRACECLONE
        if self.seccomp_numbers() is not None:
            opts |= pt.PTRACE_O_TRACESECCOMP
        return opts

    def seccomp_numbers(self):
        """The syscalls the tracee must stop for, or None (stop for every call).

        Only with ``follow``: children inherit the filter, and an untraced child
        would get ENOSYS for every filtered call (strace's --seccomp-bpf needs -f
        for the same reason).
        """
        if not self.prefilter or self.traced is None or not self.follow or self.every_call:
            return None
        numbers = set(self.traced)
        for inj in self.injections:
            numbers |= inj.matches
        if not numbers and self.calls is not None:
            return None  # no syscall stops at all (PTRACE_CONT)
        return numbers


def child_prepare(options: Options, tracer: int | None = None) -> None:
    """In the child, before exec: stop until the tracer has seized us, then
    install the prefilter.

    The child never traces itself (PTRACE_TRACEME): the tracer seizes it with
    PTRACE_O_EXITKILL in one call (``start``), so there is no moment when it is
    traced without dying with its tracer.  Until then PR_SET_PDEATHSIG ties it to
    the tracer, and the check of ``getppid()`` against ``tracer`` (the tracer's
    pid, when the child can see it) covers a tracer killed before the prctl;
    once seized, EXITKILL does the job and the death signal is taken back, so the
    traced program starts as it would without a tracer.

    The prefilter goes in after the stop, once the tracer has set
    PTRACE_O_TRACESECCOMP: before it, a RET_TRACE with no tracer option set would
    fail the call with ENOSYS.
    """
    libc.set_parent_death_signal(signal.SIGKILL)
    if tracer is not None and os.getppid() != tracer:
        os._exit(125)
    # Forked from a fenced container's init, which is not dumpable: a seize needs
    # CAP_SYS_PTRACE over our memory's user namespace then, which a rootless init
    # has not (its memory belongs to the host's).  exec sets it anew anyway.
    libc.prctl(libc.PR_SET_DUMPABLE, 1, "prctl(PR_SET_DUMPABLE) failed")
    os.kill(os.getpid(), signal.SIGSTOP)
    libc.set_parent_death_signal(0)
    numbers = options.seccomp_numbers()
    if numbers is not None:
        pt.install_seccomp(numbers)


def start(first: int, options: Options) -> int | None:
    """Seize ``first``, stopped by ``child_prepare``, and let it go on to its exec.

    Returns None, or ``first``'s wait status if it ended before stopping.  The
    SIGCONT that ends its stop reaches it as a signal the loop swallows
    (``_Tracee.swallow``); until the exec the loop hides its calls (strace's
    hide_log), as strace hides the start-up child's.
    """
    while True:
        _, status = os.waitpid(first, os.WUNTRACED)
        if not os.WIFSTOPPED(status):
            return status
        if os.WSTOPSIG(status) == signal.SIGSTOP:
            break
        os.kill(first, signal.SIGCONT)  # a terminal's SIGTSTP came first: on to ours
    pt.seize(first, options.ptrace_options())
    # The seize turns its stop into a group-stop trap: wait for it, end the stop.
    _, status = os.waitpid(first, _WALL)
    if not os.WIFSTOPPED(status):
        return status
    os.kill(first, signal.SIGCONT)
    return None


class _Tracee:
    __slots__ = ("args", "cpu", "enter", "hide", "inject", "ip", "memory", "nr", "swallow")

    def __init__(self, pid: int):
        self.nr = -1  # -1: not inside a syscall
        self.args = ()
        self.enter = 0.0
        self.ip = 0  # the instruction pointer at entry, for a sink that shows it (-i)
        self.cpu = 0.0  # system CPU time at its previous return (Options.cpu_time)
        self.inject = None
        self.memory = pt.Memory(pid)
        #: A signal of the tracer's own to take away once (``start``'s SIGCONT).
        self.swallow = 0
        #: Until its exec, the started command's calls are pycoz's, not shown.
        self.hide = False


class DetachRequested(Exception):
    """Raised by a signal handler to make ``run`` detach and return."""


def run(
    first: int,
    options: Options,
    sink,
    *,
    attached: bool = False,
    extra=(),
    detach=None,
    until_first: bool = False,
) -> int:
    """Trace ``first`` (stopped by ``child_prepare``, or attached with ``extra``
    threads) until every tracee is gone (or, ``until_first``, until ``first`` is);
    return ``first``'s wait status.

    While attached, a ``DetachRequested`` raised by a signal handler detaches from
    every tracee, leaving them running, and returns 0.
    """
    seccomp = options.seccomp_numbers() is not None
    cont = pt.PTRACE_CONT if seccomp or not options.syscall_stops() else pt.PTRACE_SYSCALL
    calls = options.calls
    held: set = set()  # new children stopped before their parent's fork event
    if calls is not None:
        calls.cont = cont
    traced = options.traced
    injections = options.injections
    counts: dict = {}
    tracees: dict[int, _Tracee] = {}
    first_status = None
    waitpid = os.waitpid
    monotonic = time.monotonic
    cpu_time = options.cpu_time
    stime = [0.0]
    if cpu_time:
        # wait4's rusage of a stopped tracee: its process's system time then
        # (what strace -c reads, the same way).
        wait4 = os.wait4

        def waitpid(pid, flags):
            pid, status, usage = wait4(pid, flags)
            if pid:
                stime[0] = usage.ru_stime
            return pid, status

    detach_on_execve = options.detach_on_execve
    syscall_info = pt.syscall_info
    stopped_call = pt.stopped_call
    stopped_result = pt.stopped_result
    ENTRY, EXIT = pt.SYSCALL_INFO_ENTRY, pt.SYSCALL_INFO_EXIT
    resume = pt.resume
    spin = range(SPIN) if SPIN and len(os.sched_getaffinity(0)) > 1 else ()

    tracees[first] = _Tracee(first)
    if not attached:
        status = start(first, options)
        if status is not None:
            return status
        tracees[first].swallow = signal.SIGCONT
        tracees[first].hide = True
        resume(cont, first, 0)
    for tid in extra:
        tracees[tid] = _Tracee(tid)
    sink.process("start", first)
    if calls is not None and attached:
        calls.begin(first, extra, attached=True)
    entry_hook = getattr(sink, "enter", None)
    decode_at_entry = getattr(sink, "decode_at_entry", frozenset())
    # A sink that shows the instruction pointer (strace's -i) finds it in
    # ``sink.ip`` while its ``syscall`` runs (the sink contract stays as it is).
    wants_ip = getattr(sink, "wants_ip", False)
    # A sink that numbers its lines by the last call made (strace's -n, on
    # signal and exit lines too) finds every call's number in ``sink.last_nrs``.
    last_nrs = getattr(sink, "last_nrs", None)
    at_entry = wants_ip or last_nrs is not None
    stopped_ip = pt.stopped_ip

    while tracees:
        if until_first and first_status is not None:
            break  # a container ends with its command: init's exit takes the rest
        try:
            if detach is not None:
                # Only here may a detach request interrupt us: between a stop and
                # its resume the tracee's state would be lost.
                if detach.requested:
                    raise DetachRequested
                detach.waiting = True
            pid = 0
            for _ in spin:
                pid, status = waitpid(-1, _WALL_NOHANG)
                if pid:
                    break
            if not pid:
                pid, status = waitpid(-1, _WALL)
        except ChildProcessError:
            break
        except DetachRequested:
            _detach_all(tracees, sink, calls)
            return 0
        finally:
            if detach is not None:
                detach.waiting = False
        tracee = tracees.get(pid)
        if tracee is None:
            if os.WIFSTOPPED(status):
                # A new child's first stop can come before its parent's fork event.
                tracees[pid] = _Tracee(pid)
                if calls is not None:
                    held.add(pid)  # its breakpoints are known at the event
                    continue
                resume(cont, pid, 0)
            continue
        if calls is not None and pid in calls.release and os.WIFSTOPPED(status):
            calls.stopped_new(pid)  # a child not followed: cleaned, let go
            del tracees[pid]
            continue
        if status != _SYSCALL_STATUS and (os.WIFEXITED(status) or os.WIFSIGNALED(status)):
            del tracees[pid]
            if calls is not None:
                calls.gone(pid)
            if tracee.nr >= 0 and (traced is None or tracee.nr in traced):
                # exit/exit_group: the call never returns.
                if wants_ip:
                    sink.ip = tracee.ip
                later = sink.syscall(
                    pid,
                    tracee.nr,
                    tracee.args,
                    None,
                    False,
                    tracee.enter,
                    None,
                    False,
                    tracee.memory,
                )
                if later is not None:
                    later()
            if os.WIFEXITED(status):
                sink.process("exit", pid, code=os.WEXITSTATUS(status))
            else:
                sink.process("killed", pid, signal=os.WTERMSIG(status), core=os.WCOREDUMP(status))
            if pid == first:
                first_status = status
            continue
        sig = (status >> 8) & 0xFF  # WSTOPSIG
        event = status >> 16
        call = None  # at a syscall's entry: (nr, *args)
        if status == _SYSCALL_STATUS:
            op = syscall_info(pid)
            if op == ENTRY:
                call = stopped_call()
            elif op == EXIT:
                nr = tracee.nr
                if nr >= 0 and (traced is None or nr in traced or tracee.inject):
                    inj = tracee.inject
                    if inj is not None:
                        if inj.delay_exit_us:
                            time.sleep(inj.delay_exit_us / 1e6)
                        if inj.error is not None or inj.retval is not None:
                            value = -inj.error if inj.error is not None else inj.retval
                            pt.set_return(pid, value)
                            rval, is_error = value, inj.error is not None
                        else:
                            rval, is_error = stopped_result()
                    else:
                        rval, is_error = stopped_result()
                    if wants_ip:
                        sink.ip = tracee.ip
                    if cpu_time:
                        # As strace counts it: the system time since this
                        # thread's previous call returned (count.c's ltime).
                        sink.cpu_times = (tracee.cpu, stime[0])
                        tracee.cpu = stime[0]
                    later = sink.syscall(
                        pid,
                        nr,
                        tracee.args,
                        rval,
                        is_error,
                        tracee.enter,
                        monotonic(),
                        inj.marks if inj is not None else 0,
                        tracee.memory,
                    )
                    tracee.nr = -1
                    resume(cont, pid, 0)
                    if later is not None:
                        later()
                    continue
                tracee.nr = -1
                resume(cont, pid, 0)
                continue
            else:
                resume(cont, pid, 0)
                continue
        elif sig == signal.SIGTRAP and calls is not None and event == 0 and calls.trap(pid):
            continue
        elif event == pt.PTRACE_EVENT_SECCOMP:
            if syscall_info(pid) != pt.SYSCALL_INFO_SECCOMP:  # the entry; or gone
                resume(cont, pid, 0)
                continue
            call = stopped_call()
        if call is not None:
            nr = call[0]
            first_exec = False
            if tracee.hide:
                if nr not in _EXEC_CALLS:
                    resume(cont, pid, 0)
                    continue
                tracee.hide = False
                first_exec = True
            tracee.nr = nr
            tracee.args = call[1:]
            tracee.enter = monotonic()
            tracee.inject = None
            if at_entry:  # -i, -n: one test when neither is given
                if wants_ip:
                    tracee.ip = stopped_ip()
                if last_nrs is not None:
                    last_nrs[pid] = nr
            signo = 0
            if injections:
                signo = _maybe_inject(pid, tracee, nr, injections, counts)
            if nr in decode_at_entry and (traced is None or nr in traced):
                entry_hook(pid, nr, tracee.args, tracee.memory)
            if detach_on_execve and nr in _EXEC_CALLS and not first_exec:
                # strace's -b execve: let it exec untraced (the command's own
                # first exec excepted, as strace's).
                del tracees[pid]
                if wants_ip:
                    sink.ip = tracee.ip
                sink.process("detach", pid, syscall=nr)
                resume(pt.PTRACE_DETACH, pid, 0)
                continue
            # To the exit stop (from a seccomp stop PTRACE_SYSCALL goes straight there).
            # An injected signal goes with it: the kernel sends the signal a
            # tracer resumes a syscall-entry stop with (ptrace_report_syscall),
            # as strace's signal= does.
            resume(pt.PTRACE_SYSCALL, pid, signo)
            continue
        if event in _NEW_CHILD_EVENTS:
            child = pt.eventmsg(pid)
            if child and child not in tracees:
                tracees[child] = _Tracee(child)
            if calls is not None and child:
                calls.child(pid, child, event)
                if child in held:
                    held.discard(child)
                    if child in calls.release:
                        calls.stopped_new(child)
                        del tracees[child]
                    else:
                        resume(cont, child, 0)
            if calls is None or child not in calls.release:
                sink.process("fork", pid, child=child)
            # Inside a traced clone/fork: stop again at its exit to report it.
            resume(pt.PTRACE_SYSCALL if tracee.nr >= 0 else cont, pid, 0)
            continue
        if event == pt.PTRACE_EVENT_EXEC:
            former = pt.eventmsg(pid)
            if former and former != pid:
                tracee = _supersede(pid, former, tracee, tracees, traced, sink)
            tracee.memory = pt.Memory(pid)
            tracee.hide = False
            if calls is not None:
                calls.exec(pid, former if former != pid else 0)
                if pid in calls.release:
                    calls.stopped_new(pid)  # a vfork child not followed, now on its own
                    del tracees[pid]
                    continue
            sink.process("exec", pid)
            resume(pt.PTRACE_SYSCALL if tracee.nr >= 0 else cont, pid, 0)
            continue
        if event == pt.PTRACE_EVENT_STOP:
            if sig in _STOP_SIGNALS:
                # A group-stop: it stays stopped, as without a tracer, until a
                # SIGCONT wakes it into another PTRACE_EVENT_STOP (strace's way).
                sink.process("stopped", pid, signal=sig)
                pt.listen(pid)
            else:  # PTRACE_INTERRUPT, a new child, the end of a group-stop
                resume(pt.PTRACE_SYSCALL if tracee.nr >= 0 else cont, pid, 0)
            continue
        # A signal-delivery stop (or a group-stop, which has no siginfo).
        info = pt.siginfo(pid)
        if info is None:
            resume(cont, pid, 0)
            continue
        if sig == tracee.swallow and info[3] == os.getpid():
            tracee.swallow = 0
            resume(cont, pid, 0)
            continue
        from pycoz_cli.core.trace.decode import unpack_siginfo  # signals are rare

        fields = unpack_siginfo(pt.siginfo_raw())
        if wants_ip:
            sink.ip = pt.instruction_pointer(pid)
        sink.process("signal", pid, signal=sig, info=info, fields=fields)
        resume(pt.PTRACE_SYSCALL if tracee.nr >= 0 else cont, pid, sig)
    return first_status if first_status is not None else 0


def _supersede(pid: int, former: int, leader: _Tracee, tracees: dict, traced, sink) -> _Tracee:
    """A thread other than the leader exec'd: it takes the leader's pid, and
    the leader is gone (strace's ``+++ superseded by execve in pid FORMER +++``).

    The leader's call in progress never returns (``= ?``, as exit's); the
    thread's execve returns under the leader's pid.  Returns the tracee now
    known as ``pid``.
    """
    if leader.nr >= 0 and (traced is None or leader.nr in traced):
        later = sink.syscall(
            pid, leader.nr, leader.args, None, False, leader.enter, None, 0, leader.memory
        )
        if later is not None:
            later()
    thread = tracees.pop(former, None)
    if thread is None:  # not known (never seen stopping): start afresh
        thread = _Tracee(pid)
    sink.process("superseded", pid, former=former, nr=thread.nr)
    leader.memory.close()
    tracees[pid] = thread
    return thread


def _detach_all(tracees: dict, sink, calls=None) -> None:
    """Detach from every tracee, leaving it running.

    A tracee already in a ptrace-stop is detached at once: the detach request
    may have interrupted the loop just after ``waitpid`` reported that stop, so
    no second report would come for it.  The others are stopped with
    PTRACE_INTERRUPT and detached as their stops arrive.
    """
    if calls is not None:
        _detach_breakpoints(tracees, sink, calls)
        return
    for pid in list(tracees):
        if pt.detach_if_stopped(pid):
            tracees.pop(pid)
            sink.process("detach", pid)
            continue
        try:
            pt.interrupt(pid)
        except OSError:
            tracees.pop(pid, None)
    while tracees:
        try:
            pid, status = os.waitpid(-1, _WALL)
        except ChildProcessError:
            break
        except DetachRequested:
            continue
        known = tracees.pop(pid, None) is not None
        if os.WIFSTOPPED(status):
            if not known:
                # A child forked while we were detaching: let it go too.
                pt.resume(pt.PTRACE_DETACH, pid, 0)
                continue
            sig = os.WSTOPSIG(status)
            # Give back a pending real signal; swallow ptrace's own stops.
            keep = sig if (status >> 16) == 0 and sig != (signal.SIGTRAP | 0x80) else 0
            if (status >> 16) == pt.PTRACE_EVENT_STOP:
                keep = 0
            pt.resume(pt.PTRACE_DETACH, pid, keep)
            sink.process("detach", pid)


def _maybe_inject(pid: int, tracee: _Tracee, nr: int, injections, counts) -> int:
    """Apply the injection that hits this call, if any; return the signal to
    send with the resume (0: none)."""
    for inj in injections:
        if nr in inj.matches:
            key = (pid, id(inj), nr)  # counted per process, as strace does
            counts[key] = count = counts.get(key, 0) + 1
            if not inj.when(count):
                continue
            if inj.delay_enter_us:
                time.sleep(inj.delay_enter_us / 1e6)
            if inj.error is not None or inj.retval is not None:
                pt.set_syscall_nr(pid, -1)  # the kernel skips it; the exit stop sets the result
            tracee.inject = inj
            return inj.signal or 0
    return 0


def _detach_breakpoints(tracees: dict, sink, calls) -> None:
    """Detach with library-call breakpoints in place: every thread is stopped
    first (one running untraced into an int3 would die), then every byte is put
    back and every thread moved out of a scratch copy, then all are let go.

    Whether a thread is stopped is read from /proc (state ``t``), not from its
    stop's report: the detach request may have interrupted the loop just after
    ``waitpid`` took a report, and no second one would come.  What kind of stop
    it is comes from its siginfo: a pending int3 of ours is undone (rip back
    on the instruction), a real signal is given back at the detach.
    """
    for pid in list(tracees):
        try:
            pt.interrupt(pid)
        except OSError:
            tracees.pop(pid, None)  # gone
    keep: dict[int, int] = {}
    deadline = time.monotonic() + 10
    waiting = set(tracees)
    while waiting and time.monotonic() < deadline:
        for pid in list(waiting):
            try:
                done, status = os.waitpid(pid, _WALL_NOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done and not os.WIFSTOPPED(status):
                waiting.discard(pid)  # it ended
                tracees.pop(pid, None)
                continue
            if done or _traced_stop(pid):
                waiting.discard(pid)
                keep[pid] = calls.stopped_for_detach(pid)
        if waiting:
            time.sleep(0.001)
    calls.restore(list(keep))
    for pid, sig in keep.items():
        pt.resume(pt.PTRACE_DETACH, pid, sig)
        tracees.pop(pid, None)
        sink.process("detach", pid)


def _traced_stop(tid: int) -> bool:
    try:
        with open(f"/proc/{tid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] == b"t"
    except (OSError, IndexError):
        return False
