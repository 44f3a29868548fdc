"""Start-up cost: what the CLI imports on its cheap paths (--help, completion, the API's
import, root and trace without a network): neither pyroute2 nor python-ptrace nor cffi;
and pyroute2 where a network is built."""

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("pyroute2", "ptrace", "cffi", "_cffi_backend", "pluggy")


def imported_after(code: str) -> set[str]:
    probe = (
        "import sys\n"
        f"{code}\n"
        "import json; print(json.dumps(sorted(sys.modules)), file=sys.__stderr__)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    return set(json.loads(out.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("argv", [["--help"], ["root", "--help"], ["shell", "--help"]])
def test_help_imports_nothing_heavy(argv):
    mods = imported_after(
        "from pycoz_cli.cli import main\n"
        "import contextlib, io\n"
        f"with contextlib.redirect_stdout(io.StringIO()): main({argv!r})"
    )
    assert not [m for m in HEAVY if m in mods]


def test_api_import_is_lazy():
    mods = imported_after("import pycoz_cli")
    assert "pycoz_cli.core.container" not in mods
    assert "click" not in mods


def test_reading_named_topologies_imports_no_binding():
    """Tab completion lists running topologies through core.named: no cffi there."""
    mods = imported_after("from pycoz_cli.core.net import named\nnamed.list_states()")
    assert not [m for m in HEAVY if m in mods]
    from pycoz_cli.core.net import named, netns

    assert named.NETNS_RUN_DIR == netns.NETNS_RUN_DIR


def imported_by_command(argv: list[str], env: dict | None = None) -> tuple[int, set[str]]:
    """Run ``pycoz ARGV`` in a fresh interpreter: (its exit code, the modules it
    had imported when it exited; the pycoz process's own, not its children's)."""
    probe = (
        "import atexit, json, os, sys\n"
        "me = os.getpid()\n"
        "def report():\n"
        "    if os.getpid() == me:\n"
        "        print('MODULES ' + json.dumps(sorted(sys.modules)), file=sys.__stderr__)\n"
        "atexit.register(report)\n"
        f"sys.argv = ['pycoz', *{argv!r}]\n"
        "from pycoz_cli.cli import run\n"
        "run()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    lines = [line for line in out.stderr.splitlines() if line.startswith("MODULES ")]
    assert lines, out.stderr
    return out.returncode, set(json.loads(lines[-1].removeprefix("MODULES ")))


def test_completion_imports_no_pyroute2():
    """A TAB after `net run pair --host ` resolves the topology to offer its hosts:
    the model only, no netlink."""
    code, mods = imported_by_command(
        [],
        {
            "_PYCOZ_COMPLETE": "bash_complete",
            "COMP_LINE": "pycoz net run pair --host ",
            "COMP_POINT": "26",
        },
    )
    assert code == 0
    assert "pycoz_cli.core.net.topology" in mods  # it did look at the topology
    assert not [m for m in mods if m.startswith("pyroute2")]
    assert "pycoz_cli.core.net.netlink" not in mods


@pytest.mark.root
@pytest.mark.parametrize(
    "argv",
    [["root", "--", "true"], ["trace", "-o", os.devnull, "--", "true"]],
    ids=["root", "trace"],
)
def test_commands_without_a_network_import_no_pyroute2(argv):
    code, mods = imported_by_command(argv)
    assert code == 0
    assert "pycoz_cli.core.container" in mods or "pycoz_cli.core.trace" in mods
    assert not [m for m in mods if m.startswith("pyroute2")]


@pytest.mark.root
@pytest.mark.parametrize(
    "argv",
    [["net", "run", "pair", "--", "true"], ["root", "--net", "pair", "--", "true"]],
    ids=["net-run", "root-net"],
)
def test_building_a_network_imports_pyroute2(argv):
    """The other side of the above: where a network is built, pyroute2 does the
    netlink work (and the probe sees its import)."""
    code, mods = imported_by_command(argv)
    assert code == 0
    assert {"pyroute2", "pycoz_cli.core.net.netlink"} <= mods


@pytest.mark.root
def test_a_trace_that_prints_no_call_imports_no_decoder():
    """`pycoz trace -e trace=none` (the start-up bench's command) never decodes a
    call: the decoders' tables (decode and its families, ~8 ms) stay unimported."""
    code, mods = imported_by_command(["trace", "-e", "trace=none", "-o", os.devnull, "--", "true"])
    assert code == 0
    assert "pycoz_cli.core.trace.tracer" in mods
    assert not {m for m in mods if m.startswith("pycoz_cli.core.trace.decode")}


@pytest.mark.root
def test_ltrace_imports_no_unwinder_and_no_network():
    """``pycoz ltrace`` with a traced call: pyelftools (-k only), python-ptrace
    and pyroute2 stay out."""
    code, mods = imported_by_command(["ltrace", "-o", os.devnull, "-e", "exit", "--", "true"])
    assert code == 0
    assert "pycoz_cli.core.trace.breakpoints" in mods
    assert not [m for m in mods if m.split(".")[0] in ("elftools", "ptrace", "pyroute2")]


@pytest.mark.root
def test_ltrace_start_up_loads_no_decoder_and_no_socket(tmp_path):
    """`pycoz ltrace` to its first traced call (the start-up goal's command,
    issue 12: at most 1.3x `import click`): a function the library-call
    decoders do not know is shown raw without importing them (libcalls, ~2 ms),
    and neither strace's syscall decoders (decode and its families, ~3 ms) nor
    socket (~3 ms with selectors) load."""
    out = tmp_path / "calls.txt"
    code, mods = imported_by_command(["ltrace", "-o", str(out), "-e", "exit", "--", "true"])
    assert code == 0
    assert "->exit(0" in out.read_text()  # the call was traced and printed
    assert "pycoz_cli.core.trace.callout" in mods
    assert "pycoz_cli.core.trace.libcalls" not in mods
    assert not {m for m in mods if m.startswith("pycoz_cli.core.trace.decode")}
    assert not {"socket", "_socket", "selectors"} & mods
