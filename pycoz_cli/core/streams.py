"""Text streams whose failed writes name where they were writing.

A write to a full disk, a vanished terminal or a file past its size limit fails
with a bare ``OSError(ENOSPC)``, which says nothing of where: these streams turn
it into ``OSError(errno, "cannot write to", "standard output")`` (or the file's
path), so the one line pycoz prints names the object.
"""

from __future__ import annotations

import io
import sys
from typing import TextIO


class _NamedFile(io.FileIO):
    """A file whose write failures name ``label``."""

    def __init__(self, file, label: str, closefd: bool = True, mode: str = "w"):
        super().__init__(file, mode, closefd=closefd)
        self.label = label

    def write(self, data) -> int | None:
        try:
            return super().write(data)
        except OSError as err:
            raise OSError(err.errno, "cannot write to", self.label) from None


def _text(raw: _NamedFile, encoding=None, errors=None, line_buffering=None) -> TextIO:
    if line_buffering is None:
        line_buffering = raw.isatty()
    return io.TextIOWrapper(
        io.BufferedWriter(raw), encoding=encoding, errors=errors, line_buffering=line_buffering
    )


def open_text(path: str, mode: str = "w") -> TextIO:
    """``open(path, mode)`` ("w" or "a"), its failed writes naming ``path``."""
    try:
        raw = _NamedFile(path, path, mode=mode)
    except OSError as err:
        raise OSError(err.errno, "cannot open", path) from None
    return _text(raw)


def name_stdout() -> None:
    """Replace ``sys.stdout`` by the same stream, its failed writes naming
    "standard output" (a stream that is no file, a test's, is left alone)."""
    old = sys.stdout
    try:
        fd = old.fileno()
        old.flush()
    except (AttributeError, OSError, ValueError):
        return
    raw = _NamedFile(fd, "standard output", closefd=False)
    sys.stdout = _text(raw, old.encoding, old.errors, old.line_buffering)
