"""Start-up cost: what the CLI imports on its cheap paths (--help, completion, the API's
import): neither pyroute2 nor python-ptrace nor cffi."""

import json
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
