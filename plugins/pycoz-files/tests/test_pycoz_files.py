"""pycoz-files, installed (pip install -e plugins/pycoz-files): ``pycoz trace
--tracer files`` on real programs (ptrace needs root here)."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

PYCOZ = str(pathlib.Path(sys.executable).parent / "pycoz")
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="traces with ptrace: needs root")


def pycoz(*args, cwd=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYCOZ_")}
    return subprocess.run(
        [PYCOZ, *args], capture_output=True, text=True, timeout=60, env=env, cwd=cwd, check=False
    )


def sections(summary: str) -> dict[str, list[str]]:
    """The summary's sections: heading -> its lines, stripped."""
    out: dict[str, list[str]] = {}
    current = None
    for line in summary.splitlines():
        if line.endswith(":") and not line.startswith(" "):
            current = out.setdefault(line[:-1], [])
        elif line.startswith("  ") and current is not None:
            current.append(line.strip())
    return out


def test_installed_and_listed():
    r = pycoz("plugins", "--json")
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert "files" in rows, "pycoz-files is not installed: pip install -e plugins/pycoz-files"
    assert rows["files"]["tracers"] == ["files"]
    assert (rows["files"]["distribution"], rows["files"]["version"]) == ("pycoz-files", "0.1.0")


def test_cat_reads_the_file_it_prints():
    r = pycoz("trace", "--tracer", "files", "--", "cat", "/etc/hostname")
    assert r.returncode == 0, r.stderr
    with open("/etc/hostname", "rb") as f:
        size = len(f.read())
    assert r.stdout == pathlib.Path("/etc/hostname").read_text()
    got = sections(r.stderr)
    assert f"{size} B  /etc/hostname" in got["read"]
    assert re.search(
        r"^files: \d+ opened, \d+ read, \d+ mapped, 0 written, \d+ not found, 0 failed$",
        r.stderr,
        re.M,
    )


def test_copies_in_the_kernel_and_mapped_files(tmp_path):
    """cat writing to a file copies with copy_file_range; the loader maps libc."""
    out = tmp_path / "copy"
    r = pycoz("trace", "-f", "--tracer", "files", "--", "sh", "-c", f"cat /etc/hostname > {out}")
    assert r.returncode == 0, r.stderr
    size = len(pathlib.Path("/etc/hostname").read_bytes())
    got = sections(r.stderr)
    assert f"{size} B  /etc/hostname" in got["read"]
    assert f"{size} B  {out}" in got["written"]
    assert "/etc/ld.so.cache" in got["mapped into memory (not read)"]


def test_relative_paths_redirections_dups_and_failures(tmp_path):
    (tmp_path / "in").write_text("0123456789")
    (tmp_path / "adir").mkdir()
    script = (
        "cat in > /dev/null; echo data > out; cat nosuch 2>/dev/null; "
        "ls missing 2>/dev/null; exec 3>dupped; echo xy >&3; echo z > adir 2>/dev/null; true"
    )
    r = pycoz("trace", "-f", "--tracer", "files", "--", "sh", "-c", script, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    got = sections(r.stderr)
    assert f"10 B  {tmp_path}/in" in got["read"]
    assert f"5 B  {tmp_path}/out" in got["written"]
    # Written through fd 3, a dup of what `exec 3>dupped` opened.
    assert f"3 B  {tmp_path}/dupped" in got["written"]
    missing = got["not found"]
    assert f"{tmp_path}/nosuch (openat)" in missing
    assert any(line.startswith(f"{tmp_path}/missing (") for line in missing)
    assert f"EISDIR  {tmp_path}/adir (openat)" in got["failed"]


def test_in_a_throwaway_root_it_shows_the_container_paths():
    target = "/etc/pycoz-files-test"
    r = pycoz("trace", "--root", "--tracer", "files", "--", "sh", "-c", f"echo hi > {target}")
    assert r.returncode == 0, r.stderr
    assert f"3 B  {target}" in sections(r.stderr)["written"]
    assert not os.path.exists(target)  # written in the overlay, gone with it
