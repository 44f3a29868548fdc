"""The command shares pycoz's process group (job control works as without
pycoz), and the kernel's kill of a process group does not look at pid
namespaces: kill(0, SIG) from inside reached every process of that group on the
host, the test runner that started pycoz among them (uid 0 may signal uid 0).
The fence scopes signals to the container (Landlock), so it no longer does.
"""

from __future__ import annotations

import subprocess
import sys

_RUNNER = r"""
import os, signal, subprocess, sys, time
signal.signal(signal.SIGUSR2, lambda *a: print("runner got SIGUSR2", flush=True))
r = subprocess.run(
    [sys.argv[1], "root", "--", sys.executable, "-c",
     "import os, signal; signal.signal(signal.SIGUSR2, signal.SIG_IGN);"
     "os.kill(0, signal.SIGUSR2); print('sent')"],
    capture_output=True, text=True,
)
print("pycoz", r.returncode, r.stdout.strip(), flush=True)
"""


def test_command_cannot_signal_the_process_group_of_its_caller(pycoz_bin):
    # The runner leads a process group of its own (as a CI job's shell, or pytest
    # started from one): pycoz, a child of it, is in that group.
    r = subprocess.run(
        [sys.executable, "-c", _RUNNER, pycoz_bin],
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
    )
    assert "runner got SIGUSR2" not in r.stdout, "the command signalled its caller's group"
    assert "pycoz 0 sent" in r.stdout, (r.stdout, r.stderr)
    assert r.returncode == 0
