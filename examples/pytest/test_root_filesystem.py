"""A program that must not touch files outside its directory.

It runs in a throwaway root (an overlay over the whole machine: whatever it
changes outside its directory is discarded) with only its own directory bound
in for real, under the tracer: every call that writes, removes or renames a
path is checked to lie inside that directory.
"""

from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = os.path.realpath(sys.executable)

#: Calls that change the filesystem, and which arguments are paths.
WRITES = {
    "unlink": (0,),
    "unlinkat": (1,),
    "rmdir": (0,),
    "mkdir": (0,),
    "mkdirat": (1,),
    "rename": (0, 1),
    "renameat": (1, 3),
    "renameat2": (1, 3),
    "truncate": (0,),
    "creat": (0,),
    "symlink": (1,),
    "symlinkat": (2,),
    "link": (1,),
    "linkat": (3,),
}
WRITE_FLAGS = {"O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC"}


def written_paths(trace) -> list[str]:
    paths = []
    for ev in trace.calls():
        if ev.name in ("open", "openat"):
            path, flags = (ev.args[0], ev.args[1]) if ev.name == "open" else ev.args[1:3]
            if WRITE_FLAGS & set(flags):
                paths.append(path)
        elif ev.name in WRITES:
            paths.extend(ev.args[i] for i in WRITES[ev.name])
    return [os.path.normpath(p) for p in paths]


@pytest.fixture
def workspace(tmp_path):
    """DIR with two .tmp files and one to keep; a .tmp file beside DIR."""
    work = tmp_path / "work"
    work.mkdir()
    for name in ("a.tmp", "b.tmp", "keep.txt"):
        (work / name).write_text(name)
    (tmp_path / "neighbour.tmp").write_text("not yours")
    return work


def run_tidy(pycoz_container, work, *extra):
    box = pycoz_container(binds=[str(work)])
    return box.run(
        [PYTHON, f"{HERE}/tidy.py", str(work), *extra],
        capture_output=True,
        text=True,
        timeout=30,
        trace=["trace=%file"],
    )


def test_tidy_touches_only_its_directory(pycoz_container, workspace):
    result = run_tidy(pycoz_container, workspace)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in workspace.iterdir()) == ["keep.txt", "tidy.log"]
    written = written_paths(result.trace)
    assert written, "the trace shows no write at all"
    outside = [p for p in written if not p.startswith(f"{workspace}/")]
    assert outside == []


def test_buggy_tidy_is_caught_and_the_machine_is_untouched(pycoz_container, workspace):
    result = run_tidy(pycoz_container, workspace, "--buggy")
    assert result.returncode == 0, result.stderr
    outside = [p for p in written_paths(result.trace) if not p.startswith(f"{workspace}/")]
    assert outside == [str(workspace.parent / "neighbour.tmp")]
    # The unlink happened in the throwaway root: the real file is still there.
    assert (workspace.parent / "neighbour.tmp").read_text() == "not yours"
