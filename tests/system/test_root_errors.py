"""pycoz root failures: exit code 2 for bad input, 125 for setup failures, 126/127 for
the command; always exactly one line on stderr naming the object; nothing left behind."""

from __future__ import annotations

import os
import subprocess

import pytest

from .helpers import assert_one_line, host_mounts, read_line

# --- bad input: 2, one line, nothing made -------------------------------------------------


def _bad_inputs(tmp):
    """(arguments, words the error line must contain)."""
    a_file = tmp / "a-file"
    a_file.write_text("x\n")
    missing = tmp / "missing"
    return {
        "base missing": (["--base", str(missing)], [str(missing)]),
        "base not a dir": (["--base", str(a_file)], [str(a_file)]),
        "bind source missing": (["--bind", f"{missing}:/mnt/x"], ["--bind", str(missing)]),
        "ro-bind source missing": (["--ro-bind", str(missing)], ["--ro-bind", str(missing)]),
        "bind destination relative": (["--bind", f"{tmp}:relative"], ["--bind", "relative"]),
        "env without =": (["-e", "NOVALUE"], ["NOVALUE"]),
        "env without name": (["--env", "=value"], ["=value"]),
        "hostname invalid": (["--hostname", "bad_name!"], ["bad_name!"]),
        "hostname too long": (["--hostname", "h" * 65], ["h" * 65]),
        "hostname with a newline": (["--hostname", "box\n"], ["--hostname", "box"]),
        "upper parent missing": (["--upper", f"{missing}/upper"], [f"{missing}/upper"]),
        "upper not a dir": (["--upper", str(a_file)], [str(a_file)]),
        "tmpfs relative": (["--tmpfs", "relative"], ["--tmpfs", "relative"]),
        "workdir relative": (["-w", "relative"], ["relative"]),
        "propagation unknown": (["--propagation", "shared"], ["--propagation", "shared"]),
        "unknown option": (["--no-such-option"], ["--no-such-option"]),
    }


_IDS = [
    "base missing",
    "base not a dir",
    "bind source missing",
    "ro-bind source missing",
    "bind destination relative",
    "env without =",
    "env without name",
    "hostname invalid",
    "hostname too long",
    "hostname with a newline",
    "upper parent missing",
    "upper not a dir",
    "tmpfs relative",
    "workdir relative",
    "propagation unknown",
    "unknown option",
]


@pytest.mark.parametrize("case", _IDS)
def test_bad_input_exits_2_with_one_line(pycoz, tmp_path, case):
    cases = _bad_inputs(tmp_path)
    assert sorted(cases) == sorted(_IDS)
    args, words = cases[case]
    listing = sorted(os.listdir(tmp_path))
    mounts = host_mounts()
    r = pycoz("root", *args, "--", "true")
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""
    assert_one_line(r.stderr, *words)
    assert sorted(os.listdir(tmp_path)) == listing
    assert host_mounts() == mounts


# --- setup failures: 125, one line, nothing left ------------------------------------------


def test_without_cap_sys_admin_exits_125(pycoz_bin):
    r = subprocess.run(
        [
            "setpriv",
            "--inh-caps=-all",
            "--bounding-set=-sys_admin",
            pycoz_bin,
            "root",
            "--",
            "true",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 125
    assert_one_line(r.stderr, "CAP_SYS_ADMIN")


def test_failing_half_way_exits_125_and_leaves_nothing(pycoz, tmp_path):
    mounts = host_mounts()
    upper = tmp_path / "upper"  # does not exist: pycoz makes it, and must remove it
    r = pycoz("root", "--upper", str(upper), "--tmpfs", "/x:size=bogus", "--", "true")
    assert r.returncode == 125
    assert_one_line(r.stderr, "/x", "EINVAL")
    assert host_mounts() == mounts
    assert not upper.exists()
    assert os.listdir(tmp_path) == []


def test_failing_half_way_keeps_an_existing_upper_as_it_was(pycoz, tmp_path):
    upper = tmp_path / "upper"
    upper.mkdir()
    r = pycoz("root", "--upper", str(upper), "--tmpfs", "/x:size=bogus", "--", "true")
    assert r.returncode == 125
    assert_one_line(r.stderr, "/x", "EINVAL")
    assert os.listdir(upper) == []


def test_missing_workdir_exits_125(pycoz, unique):
    r = pycoz("root", "-w", f"/no-such-dir-{unique}", "--", "true")
    assert r.returncode == 125
    assert_one_line(r.stderr, f"/no-such-dir-{unique}", "ENOENT")


def test_upper_in_use_by_another_container_exits_125(pycoz, pycoz_bin, tmp_path):
    upper = tmp_path / "upper"
    first = subprocess.Popen(
        [pycoz_bin, "root", "--upper", str(upper), "--", "sh", "-c", "echo ready; read x"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        bufsize=0,
    )
    try:
        assert read_line(first.stdout) == "ready\n"
        r = pycoz("root", "--upper", str(upper), "--", "true")
        assert r.returncode == 125
        assert_one_line(r.stderr, str(upper), "in use")
        first.stdin.write(b"go\n")
        first.stdin.close()
        assert first.wait(timeout=30) == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        first.stdout.close()
    assert upper.is_dir()  # the failed second run did not remove the first's directory


# --- the command: 126 and 127 -----------------------------------------------------------


def test_missing_command_exits_127(pycoz, unique):
    r = pycoz("root", "--", f"no-such-command-{unique}")
    assert r.returncode == 127
    assert_one_line(r.stderr, f"no-such-command-{unique}")
    r = pycoz("root", "--", f"/usr/bin/no-such-command-{unique}")
    assert r.returncode == 127
    assert_one_line(r.stderr, f"/usr/bin/no-such-command-{unique}")


def test_non_executable_file_exits_126(pycoz, tmp_path):
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    r = pycoz("root", "--", str(script))
    assert r.returncode == 126
    assert_one_line(r.stderr, str(script), "EACCES")


def test_directory_as_command_exits_126(pycoz, tmp_path):
    r = pycoz("root", "--", str(tmp_path))
    assert r.returncode == 126
    assert_one_line(r.stderr, str(tmp_path))


def test_command_missing_only_in_the_base_exits_127(pycoz, busybox_root):
    r = pycoz("root", "--base", str(busybox_root), "--", "/usr/bin/python3")
    assert r.returncode == 127
    assert_one_line(r.stderr, "/usr/bin/python3")
