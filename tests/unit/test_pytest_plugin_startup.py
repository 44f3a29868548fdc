"""The pytest plugin is loaded by every pytest run where pycoz is installed: it
must cost nothing until a fixture is used (DESIGN principle 5)."""

import json
import subprocess
import sys


def test_plugin_import_loads_no_core():
    probe = (
        "import sys\n"
        "import pycoz_cli.pytest_plugin\n"
        "print(__import__('json').dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    mods = set(json.loads(out.stdout))
    assert not [m for m in mods if m.startswith("pycoz_cli.") and m != "pycoz_cli.pytest_plugin"]
    assert not {"pyroute2", "ptrace", "cffi", "_cffi_backend", "click"} & mods


def test_plugin_is_registered_as_pycoz():
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--version", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "pycoz-0.1.0" in out.stdout + out.stderr
