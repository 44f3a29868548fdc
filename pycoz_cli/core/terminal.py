"""pycoz's terminal relayed to a container's own pseudo-terminal.

An interactive shell gets a terminal of the container's devpts instance
(``Container.spawn(terminal=True)``), in a session of its own, as
systemd-nspawn, ``machinectl shell`` and ssh give theirs.  pycoz puts its own
terminal in raw mode and copies bytes both ways, so that:

* every key, Ctrl-C, Ctrl-Z and Ctrl-\\ included, reaches the container's
  line discipline, which signals the container's foreground job — never pycoz;
* job control works inside (the shell is a session leader with a controlling
  terminal; the host's terminal is not shared with it);
* a program in the container cannot push input into the user's own terminal
  with TIOCSTI (bubblewrap's CVE-2017-5226, which it closes with --new-session
  at the price of job control);
* window resizes reach the container (pycoz's SIGWINCH sets the inner size,
  and the kernel signals the foreground job).

The relay ends when the container's init has exited and its terminal is drained,
or when pycoz's own terminal goes away: then the container's terminal is hung up
too (its shell gets SIGHUP), and a container still there after a grace period is
killed.
"""

from __future__ import annotations

import os
import select
import signal

from pycoz_cli.core.process import PASSED_ON


def relay(proc, *, side=None, stdin: int = 0, stdout: int = 1, stderr: int = 2) -> int:
    """Relay ``stdin``/``stdout`` to ``proc.terminal`` until the container ends.

    ``side`` is an optional readable fd (the tracer's output) copied to
    ``stderr``, with CR-LF line ends while the terminal is raw, each chunk
    starting on a line of its own when ``stderr`` is the same terminal.  Signals sent
    to pycoz are passed on to the container.  Returns the command's exit code
    (-N for a death by signal N), like ``ContainerProcess.wait``.
    """
    import termios
    import tty

    master = proc.terminal
    saved = termios.tcgetattr(stdin)
    pidfd = os.pidfd_open(proc.pid)
    old_handlers = {}

    def pass_on(sig, frame):
        proc.send_signal(sig)

    def resize(sig=None, frame=None):
        copy_window_size(stdin, master)

    hung_up = False
    try:
        # Signals sent to pycoz (kill, a closing terminal): the container gets them.
        for sig in PASSED_ON:
            old_handlers[sig] = signal.signal(sig, pass_on)
        old_handlers[signal.SIGWINCH] = signal.signal(signal.SIGWINCH, resize)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, (*PASSED_ON, signal.SIGWINCH))
        resize()  # a resize before the handler was installed
        tty.setraw(stdin, termios.TCSANOW)
        _pump(master, pidfd, side, stdin, stdout, stderr, raw=_same_terminal(stdout, stderr))
    except _HangUp:
        hung_up = True
    finally:
        try:
            termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        except OSError:
            pass  # the terminal is gone
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)
        # Closing the master end hangs up the container's terminal: the kernel
        # sends SIGHUP to the session on it, as when a terminal window closes.
        os.close(master)
        proc.terminal = None
        if hung_up and not select.select([pidfd], [], [], HANGUP_GRACE)[0]:
            proc.kill()  # its user is gone: a program that ignores SIGHUP goes too
        os.close(pidfd)
    return proc.wait()


#: Seconds the container has to end after pycoz's terminal has gone away.
HANGUP_GRACE = 2.0


class _HangUp(Exception):
    """pycoz's own terminal has gone away (closed window, dropped connection)."""


def copy_window_size(src: int, dst: int) -> None:
    """Give terminal ``dst`` the window size of terminal ``src``."""
    import fcntl
    import termios

    try:
        size = fcntl.ioctl(src, termios.TIOCGWINSZ, bytes(8))
        fcntl.ioctl(dst, termios.TIOCSWINSZ, size)
    except OSError:
        pass


def _same_terminal(a: int, b: int) -> bool:
    if not (os.isatty(a) and os.isatty(b)):
        return False
    sa, sb = os.fstat(a), os.fstat(b)
    return (sa.st_rdev, sa.st_dev, sa.st_ino) == (sb.st_rdev, sb.st_dev, sb.st_ino)


def _pump(master, pidfd, side, stdin, stdout, stderr, raw) -> None:
    os.set_blocking(master, False)
    to_master = b""
    at_line_start = True  # of the shared terminal, when ``raw``
    ended = False
    sources = {master, pidfd} | ({side} if side is not None else set())
    while master in sources or side in sources:
        readers = list(sources)  # pidfd leaves ``sources`` once init has ended
        if not to_master:
            readers.append(stdin)
        writers = [master] if to_master and master in sources else []
        # After init has exited, wait only for what is left in the buffers.
        timeout = 0 if ended else None
        readable, writable, _ = select.select(readers, writers, [], timeout)
        if ended and not readable and not writable:
            break
        if pidfd in readable:
            ended = True
            sources.discard(pidfd)
        if stdin in readable:
            try:
                data = os.read(stdin, 65536)
            except OSError:  # EIO: hung up
                data = b""
            if not data:  # a raw terminal has no end of file: it was hung up
                raise _HangUp
            to_master += data
        if master in writable:
            try:
                to_master = to_master[os.write(master, to_master) :]
            except BlockingIOError:
                pass
            except OSError:
                to_master = b""
        if master in readable:
            try:
                data = os.read(master, 65536)
            except BlockingIOError:
                data = None
            except OSError:  # EIO: every terminal end is closed
                data = b""
            if data:
                _write_all(stdout, data)
                at_line_start = data.endswith(b"\n")
            elif data == b"":
                sources.discard(master)
        if side is not None and side in readable:
            data = os.read(side, 65536)
            if data and raw:
                # The tracer's lines start on a line of their own, not after a
                # prompt or a partial line of the program's.
                lead = b"" if at_line_start else b"\r\n"
                _write_all(stderr, lead + data.replace(b"\n", b"\r\n"))
                at_line_start = data.endswith(b"\n")
            elif data:
                _write_all(stderr, data)
            else:
                sources.discard(side)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            data = data[os.write(fd, data) :]
        except BlockingIOError:
            select.select([], [fd], [])
        except OSError as err:  # EIO: the terminal is gone
            raise _HangUp from err
