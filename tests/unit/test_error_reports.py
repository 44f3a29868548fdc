"""How failures reported by the container's init become one line for the user."""

from pycoz_cli.core.process import _error_from_report
from pycoz_cli.errors import CommandNotExecutable, CommandNotFound, SetupError


def test_missing_overlayfs_says_so():
    err = _error_from_report(("E", "19", "cannot mount overlay on", "/"), "true")
    assert isinstance(err, SetupError) and err.exit_code == 125
    assert str(err) == (
        "cannot mount overlay on /: ENODEV (No such device); "
        "this kernel has no overlayfs (modprobe overlay)"
    )


def test_missing_privilege_names_the_capability():
    err = _error_from_report(("E", "1", "unshare failed", "CLONE_NEWPID"), "true")
    assert "EPERM" in str(err) and "CAP_SYS_ADMIN" in str(err)


def test_exec_failures_map_to_127_and_126():
    assert isinstance(_error_from_report(("X", "2", "", ""), "nope"), CommandNotFound)
    err = _error_from_report(("X", "13", "", ""), "/etc/passwd")
    assert isinstance(err, CommandNotExecutable) and err.exit_code == 126
    assert "EACCES" in str(err)
