"""The committed cffi module must match what its build script writes now."""

import re

import pytest

from pycoz_cli.core import _libc_build


def _normalise(text: str) -> str:
    # The backend version stamp follows the installed cffi; the rest must match.
    return re.sub(r"_version = 0x[0-9a-fA-F]+", "_version = X", text)


def test_generated_module_is_current():
    pytest.importorskip("cffi")
    committed = _libc_build.generated_path().read_text()
    assert _normalise(committed) == _normalise(_libc_build.render()), (
        "run: python -m pycoz_cli.core._libc_build"
    )


def test_every_declared_function_resolves():
    from pycoz_cli.core import libc

    declared = set(re.findall(r"^\s*(?:[\w ]+?[\s*])(\w+)\(", _libc_build.CDEF, re.M))
    # The pattern must find the declarations, or the loop below checks nothing.
    assert {"unshare", "setns", "mount", "umount2", "prctl", "ptrace"} <= declared
    for name in declared:
        assert callable(getattr(libc.lib, name)), name  # a missing symbol raises here
