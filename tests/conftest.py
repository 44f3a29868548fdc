"""Shared fixtures: how to run pycoz, unique names, the machine-state check.

System tests (tests/system) need root and real kernel objects; unit tests
(tests/unit) need neither.  The session ends by comparing the machine's named
network namespaces, root-namespace links, mount table, /etc/netns, topology state
and running pycoz processes with what they were at its start: anything a test
left behind fails the run.  Under pytest-xdist the
check runs once, in the controller, around all workers.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import uuid

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
PYCOZ = shutil.which("pycoz", path=os.path.dirname(sys.executable)) or shutil.which("pycoz")


def machine_state() -> dict[str, list[str]]:
    """What the suite must leave as it found it."""
    netns = sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []
    links = subprocess.run(
        ["ip", "-o", "link", "show"], capture_output=True, text=True, check=False
    ).stdout
    link_names = sorted(
        line.split(":")[1].strip().split("@")[0] for line in links.splitlines() if ":" in line
    )
    with open("/proc/self/mountinfo") as f:
        mounts = sorted(
            " ".join(line.split(" ")[4:5] + line.split(" - ")[1].split(" ")[:1]) for line in f
        )
    etc_netns = (
        ["/etc/netns"] + [f"/etc/netns/{n}" for n in sorted(os.listdir("/etc/netns"))]
        if os.path.isdir("/etc/netns")
        else []
    )
    state = sorted(os.listdir("/run/pycoz/net")) if os.path.isdir("/run/pycoz/net") else []
    return {
        "named netns": netns,
        "root-namespace links": link_names,
        "mounts": mounts,
        "/etc/netns": etc_netns,
        "named-topology state": state,
        "pycoz processes": pycoz_processes(),
    }


def pycoz_processes() -> list[str]:
    """Running pycoz processes (the CLI, its containers' inits, relays), as
    "PID STARTTIME CMDLINE": one the suite started must not outlive it."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{name}/stat") as f:
                start = f.read().rpartition(")")[2].split()[19]
        except OSError:
            continue
        if any(a.endswith(b"/pycoz") or a == b"pycoz_cli" for a in argv[:3]):
            found.append(f"{name} {start} {b' '.join(argv).decode(errors='replace').strip()}")
    return sorted(found)


def _is_controller(config) -> bool:
    return not hasattr(config, "workerinput")


def pytest_sessionstart(session):
    if _is_controller(session.config):
        session.config._pycoz_state = machine_state()


def pytest_sessionfinish(session, exitstatus):
    before = getattr(session.config, "_pycoz_state", None)
    if before is None:
        return
    after = machine_state()
    if set(after["pycoz processes"]) - set(before["pycoz processes"]):
        # A container's init or a relay may still be on its way out: a moment.
        import time

        for _ in range(50):
            time.sleep(0.1)
            after["pycoz processes"] = pycoz_processes()
            if not set(after["pycoz processes"]) - set(before["pycoz processes"]):
                break
    problems = []
    for key in before:
        gone = sorted(set(before[key]) - set(after[key]))
        new = sorted(set(after[key]) - set(before[key]))
        if new:
            problems.append(f"{key} left behind: {new}")
        if gone and key != "pycoz processes":  # one running before may end meanwhile
            problems.append(f"{key} removed: {gone}")
    if problems:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        text = "machine state changed by the test suite:\n  " + "\n  ".join(problems)
        if reporter:
            reporter.write_line(text, red=True)
        else:
            print(text, file=sys.stderr)
        session.exitstatus = 1


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/system" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.root)
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="system tests need root")
        for item in items:
            if "root" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def unique():
    """A short name unique to this test (safe under pytest-xdist)."""
    return "t" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def pycoz_bin() -> str:
    assert PYCOZ, "the pycoz console script is not installed (pip install -e .)"
    return PYCOZ


@pytest.fixture
def pycoz(pycoz_bin):
    """Run the pycoz CLI: pycoz("root", "--", "true") -> CompletedProcess (text)."""

    def run(*args, input=None, timeout=60, env=None, **kwargs):
        return subprocess.run(
            [pycoz_bin, *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            **kwargs,
        )

    return run


@pytest.fixture(scope="session")
def busybox_root(tmp_path_factory) -> pathlib.Path:
    """A minimal root filesystem: Debian's static busybox and its applet links."""
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("busybox (Debian's busybox-static) is not installed")
    root = tmp_path_factory.mktemp("busybox-root")
    for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "root"):
        (root / d).mkdir()
    shutil.copy2(busybox, root / "bin" / "busybox")
    # Relative links: `busybox --install -s` would point them at the host path.
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True)
    for applet in applets.stdout.split():
        if applet != "busybox":
            (root / "bin" / applet).symlink_to("busybox")
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc" / "hostname").write_text("busybox\n")
    return root
