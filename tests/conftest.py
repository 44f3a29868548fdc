"""Shared fixtures: how to run pycoz, unique names, the left-behind check.

System tests (tests/system) need root and real kernel objects; unit tests
(tests/unit) need neither.  The session ends by looking for what the suite made
and left behind: named network namespaces, root-namespace links, mounts,
/etc/netns entries and topology state whose names carry this run's marker (every
name the suite makes comes from the ``unique`` fixture, which starts with it), and
processes of the suite's own: descendants of the pytest process, and any process
whose environment holds ``PYCOZ_TEST_RUN=<marker>`` (exported here, so whatever
the suite starts inherits it, also once reparented).  Other people's topologies,
mounts and pycoz processes on the same machine are none of these, so they never
fail the run.  Under pytest-xdist the check runs once, in the controller, after
all workers.
"""

from __future__ import annotations

import glob
import os
import pathlib
import random
import shutil
import subprocess
import sys
import time
import uuid

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
PYCOZ = shutil.which("pycoz", path=os.path.dirname(sys.executable)) or shutil.which("pycoz")

#: The variable carrying the run's marker into every process the suite starts.
RUN_VARIABLE = "PYCOZ_TEST_RUN"
#: Letters that are no hex digits: a marker never turns up inside a hex string (a
#: generated veth or container name, another run's random part).
_MARK_LETTERS = "ghijklmnopqrstuvwxyz"
#: This run's marker, set by pytest_configure (a worker takes its controller's).
RUN = ""


def new_marker() -> str:
    return "".join(random.SystemRandom().choice(_MARK_LETTERS) for _ in range(6))


def suite_state(run: str, basetemp: str = "") -> dict[str, list[str]]:
    """What run ``run`` made that is still there, by kind: objects whose names
    carry the marker (a mount also when a field of it lies in the session's
    temporary directory ``basetemp``), and the run's processes."""

    def ours(text: str) -> bool:
        return run in text or bool(basetemp and basetemp + "/" in text)

    def listing(directory: str) -> list[str]:
        try:
            return sorted(f"{directory}/{n}" for n in os.listdir(directory) if ours(n))
        except (FileNotFoundError, NotADirectoryError):
            return []

    links = subprocess.run(
        ["ip", "-o", "link", "show"], capture_output=True, text=True, check=False
    ).stdout
    link_names = (line.split(":")[1].strip().split("@")[0] for line in links.splitlines())
    with open("/proc/self/mountinfo") as f:
        # mount point, then filesystem type, source and superblock options
        mounts = (" ".join(line.split(" ")[4:5] + line.split(" - ")[1].split()) for line in f)
        mounts = sorted(m for m in mounts if ours(m))
    return {
        "named netns": listing("/run/netns"),
        "root-namespace links": sorted(n for n in link_names if ours(n)),
        "mounts": mounts,
        "/etc/netns": listing("/etc/netns"),
        "named-topology state": listing("/run/pycoz/net"),
        # An ordinary user's (test_rootless runs pycoz as uid 65534 without
        # XDG_RUNTIME_DIR): state in the fallback directory, /tmp/pycoz-UID.
        "user topology state": [
            entry
            for top in sorted(glob.glob(FALLBACK_DIRS))
            for entry in listing(f"{top}/pycoz/net")
        ],
        "processes": suite_processes(run, os.getpid()),
    }


def suite_processes(run: str, session: int) -> list[str]:
    """Live processes of run ``run``, as "PID CMDLINE": descendants of the
    session's process ``session``, and any process whose environment carries the
    marker.  Zombies are left out: they run nothing, and their parent reaps them."""
    mark = f"{RUN_VARIABLE}={run}".encode()
    parents: dict[int, int] = {}
    cmdlines: dict[int, str] = {}
    marked = set()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == session:
            continue
        pid = int(name)
        try:
            with open(f"/proc/{pid}/stat") as f:
                state, ppid = f.read().rpartition(")")[2].split()[:2]
            if state == "Z":
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            with open(f"/proc/{pid}/environ", "rb") as f:
                if mark in f.read().split(b"\0"):
                    marked.add(pid)
        except OSError:
            continue  # gone meanwhile, or not ours to read (then not ours at all)
        parents[pid] = int(ppid)
        cmdlines[pid] = cmdline
    found = set(marked)
    for pid in parents:
        line, seen = pid, set()
        while line in parents and line not in seen:
            seen.add(line)
            line = parents[line]
        if line == session:
            found.add(pid)
    return sorted(f"{pid} {cmdlines[pid]}" for pid in found)


def _is_controller(config) -> bool:
    return not hasattr(config, "workerinput")


def pytest_configure(config):
    global RUN
    RUN = new_marker() if _is_controller(config) else config.workerinput[RUN_VARIABLE]
    os.environ[RUN_VARIABLE] = RUN


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist: a worker's names and processes carry its controller's marker."""
    node.workerinput[RUN_VARIABLE] = RUN


#: The rootless fallback state directories, /tmp/pycoz-UID (not other pycoz-*
#: temporary files, such as the API's trace files).
FALLBACK_DIRS = "/tmp/pycoz-[0-9]*"


def _is_mount_point(path: str) -> bool:
    """From the mount table: a bind of a directory onto itself is one, which
    os.path.ismount (same device as its parent) cannot tell."""
    with open("/proc/self/mountinfo") as f:
        return any(line.split(" ")[4] == path for line in f)


def pytest_sessionstart(session):
    if _is_controller(session.config):
        session.config._pycoz_basetemp = str(session.config._tmp_path_factory.getbasetemp())
        session.config._pycoz_before = suite_state(RUN, session.config._pycoz_basetemp)
        # Rootless tests' fallback state directories (/tmp/pycoz-UID) that this run
        # makes: removed at its end when they hold no state (checked below).
        session.config._pycoz_fallbacks = set(glob.glob(FALLBACK_DIRS))
        # pycoz makes /run/netns a bind mount of itself, as `ip netns add` does:
        # one the run made is undone at its end once it is empty.
        session.config._pycoz_netns_mount = _is_mount_point("/run/netns")


@pytest.hookimpl(trylast=True)  # after xdist has ended its workers
def pytest_sessionfinish(session, exitstatus):
    before = getattr(session.config, "_pycoz_before", None)
    if before is None:
        return
    basetemp = session.config._pycoz_basetemp
    after = suite_state(RUN, basetemp)
    for top in set(glob.glob(FALLBACK_DIRS)) - session.config._pycoz_fallbacks:
        if not glob.glob(f"{top}/pycoz/net/*"):
            shutil.rmtree(top, ignore_errors=True)
    run_netns = "/run/netns"
    if (
        not session.config._pycoz_netns_mount
        and _is_mount_point(run_netns)
        and not os.listdir(run_netns)
    ):
        subprocess.run(["umount", run_netns], check=False)
    # A container's init, a relay or a worker may still be on its way out: a moment.
    for _ in range(50):
        if not set(after["processes"]) - set(before["processes"]):
            break
        time.sleep(0.1)
        after["processes"] = suite_processes(RUN, os.getpid())
    problems = []
    for key in before:
        new = sorted(set(after[key]) - set(before[key]))
        if new:
            problems.append(f"{key} left behind: {new}")
    if problems:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        text = "the test suite left behind what it made:\n  " + "\n  ".join(problems)
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
    """A short name unique to this test (safe under pytest-xdist), starting with
    the run's marker: what is made under it is the run's, for the left-behind check."""
    return RUN + uuid.uuid4().hex[:8]


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
