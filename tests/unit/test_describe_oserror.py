"""pycoz_cli.errors.describe_oserror: one line — what failed, on which object, why."""

from __future__ import annotations

import errno
import os

import pytest

from pycoz_cli.errors import SetupError, describe_errno, describe_oserror


def test_what_target_and_why():
    err = OSError(errno.ENOENT, "cannot mount overlay on", "/x")
    assert describe_oserror(err) == "cannot mount overlay on /x: ENOENT (No such file or directory)"


def test_without_a_target():
    err = OSError(errno.EPERM, "prctl(PR_SET_PDEATHSIG) failed")
    assert describe_oserror(err) == (
        "prctl(PR_SET_PDEATHSIG) failed: EPERM (Operation not permitted)"
    )


@pytest.mark.parametrize(
    "code", [errno.EINVAL, errno.EACCES, errno.EROFS, errno.EBUSY, errno.ENOSPC, errno.ENODEV]
)
def test_errno_name_and_text(code):
    line = describe_oserror(OSError(code, "cannot mount tmpfs on", "/mnt/t"))
    assert line == f"cannot mount tmpfs on /mnt/t: {errno.errorcode[code]} ({os.strerror(code)})"


def test_no_errno_and_no_text():
    assert describe_oserror(OSError("plain message")) == "operation failed: unknown error"


def test_unknown_errno():
    line = describe_oserror(OSError(4095, "odd", "/t"))
    assert line.startswith("odd /t: errno 4095 (")


def test_target_zero_is_still_named():
    # A falsy target (fd 0) is an object too.
    assert describe_oserror(OSError(errno.EBADF, "setns failed", 0)) == (
        "setns failed 0: EBADF (Bad file descriptor)"
    )


def test_always_one_line():
    err = OSError(errno.EINVAL, "cannot mount tmpfs on", "/x")
    assert "\n" not in describe_oserror(err)


def test_describe_errno():
    assert describe_errno(errno.ENOENT) == "ENOENT (No such file or directory)"
    assert describe_errno(0) == "unknown error"
    assert describe_errno(None) == "unknown error"


def test_setup_error_from_oserror_adds_the_hint_and_keeps_errno():
    err = SetupError.from_oserror(OSError(errno.EPERM, "unshare failed", "CLONE_NEWNS"), "be root")
    assert str(err) == "unshare failed CLONE_NEWNS: EPERM (Operation not permitted); be root"
    assert err.errno == errno.EPERM
    assert err.exit_code == 125
