"""A write that fails names where it wrote: standard output, or the -o file."""

from __future__ import annotations

import resource
import signal
import subprocess

import pytest

from tests.conftest import PYCOZ


def run_to(target: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    with open(target, "w") as out:
        return subprocess.run(
            [PYCOZ, *args], stdout=out, stderr=subprocess.PIPE, text=True, timeout=60, **kwargs
        )


def one_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize(
    "args",
    [["net", "show", "pair"], ["net", "topologies"], ["net", "list", "--json"], ["--help"]],
)
def test_a_full_standard_output_is_named(args):
    r = run_to("/dev/full", *args)
    assert r.returncode == 125
    line = one_line(r.stderr)
    assert line.endswith(": cannot write to standard output: ENOSPC (No space left on device)")


@pytest.mark.parametrize("target", ["/dev/full", "/proc/self/mem"])
def test_a_failing_trace_file_is_named(target):
    r = subprocess.run(
        [PYCOZ, "trace", "-o", target, "--", "true"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 125
    line = one_line(r.stderr)
    assert line.startswith(f"pycoz trace: cannot write to {target}: "), line


def _small_files():
    """In the child: files may grow to 64 bytes; past that, writes fail (EFBIG)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))


def test_a_failing_per_process_trace_file_is_named(tmp_path):
    prefix = tmp_path / "trace"
    r = subprocess.run(
        [PYCOZ, "trace", "-ff", "-o", str(prefix), "--", "true"],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_small_files,
    )
    assert r.returncode == 125
    (written,) = prefix.parent.iterdir()
    line = one_line(r.stderr)
    assert line.startswith(f"pycoz trace: cannot write to {written}: EFBIG"), line
