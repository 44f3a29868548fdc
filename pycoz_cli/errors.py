"""pycoz's exceptions and exit codes, in one place.

The core raises these (or plain ``OSError(errno, what, target)`` from ``core.libc``);
the CLI turns them into one line on stderr and an exit code at its boundary.
"""

from __future__ import annotations

import enum
import errno as _errno
import os


class ExitCode(enum.IntEnum):
    """pycoz's own exit codes; otherwise the command's status passes through."""

    OK = 0
    #: Click's usage error: bad option, bad option value, bad input file.
    USAGE = 2
    #: A topology's host command was not ready in time (its readiness check timed
    #: out); everything was torn down and the user's command never ran.  124 is
    #: timeout(1)'s status for "timed out".
    NOT_READY = 124
    #: pycoz itself could not set up the container (docker/podman convention).
    SETUP = 125
    #: The command exists but cannot be executed.
    NOT_EXECUTABLE = 126
    #: The command was not found.
    NOT_FOUND = 127
    #: Added to the signal number when the command died of a signal.
    SIGNAL_BASE = 128


def describe_errno(code: int | None) -> str:
    """``ENOENT (No such file or directory)``."""
    if not code:
        return "unknown error"
    return f"{_errno.errorcode.get(code, f'errno {code}')} ({os.strerror(code)})"


def describe_oserror(err: OSError) -> str:
    """One line for an ``OSError(errno, what, target)``: what, on which object, why."""
    what = err.strerror or "operation failed"
    target = f" {err.filename}" if err.filename is not None else ""
    return f"{what}{target}: {describe_errno(err.errno)}"


def needs_root(what: str) -> str:
    """The one hint an unprivileged user gets: what needs root, and what to do."""
    return f"{what} needs root (CAP_SYS_ADMIN): run pycoz as root"


def lacks_privilege(code: int | None) -> bool:
    """Whether errno ``code`` is a refusal this process met for want of
    CAP_SYS_ADMIN (which a user namespace's root has too, euid 0 or not)."""
    if code not in (_errno.EPERM, _errno.EACCES):
        return False
    try:
        with open("/proc/self/status") as f:
            caps = next(line for line in f if line.startswith("CapEff:"))
        return not int(caps.split()[1], 16) >> 21 & 1  # CAP_SYS_ADMIN is bit 21
    except (OSError, StopIteration, ValueError):
        return os.geteuid() != 0


class PycozError(Exception):
    """Base of pycoz's errors; ``exit_code`` is what the CLI exits with."""

    exit_code: int = ExitCode.SETUP


class SpecError(PycozError, ValueError):
    """The container spec or an argument is invalid (caught before anything is made)."""

    exit_code = ExitCode.USAGE


class PluginError(PycozError):
    """A plugin failed at run time (raised, or broke the contract): the message
    names the plugin, the error and where it was raised."""

    exit_code = ExitCode.SETUP


class SetupError(PycozError):
    """Setting up the container failed; nothing made so far remains on the host."""

    exit_code = ExitCode.SETUP

    def __init__(self, message: str, errno: int | None = None, hint: str | None = None):
        super().__init__(f"{message}; {hint}" if hint else message)
        self.errno = errno
        #: The failure itself (what, on which object, why), without the hint.
        self.failure = message

    @classmethod
    def from_oserror(cls, err: OSError, hint: str | None = None) -> SetupError:
        return cls(describe_oserror(err), err.errno, hint)


class NotReady(SetupError):
    """A host command's readiness check timed out (``ready``, ``timeout``)."""

    exit_code = ExitCode.NOT_READY


class CommandNotFound(PycozError):
    exit_code = ExitCode.NOT_FOUND


class CommandNotExecutable(PycozError):
    exit_code = ExitCode.NOT_EXECUTABLE
