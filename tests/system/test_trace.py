"""pycoz trace against real programs: what a strace user checks first."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.system.helpers import tracer_of, wait_until


def test_traces_openat_like_strace(pycoz):
    r = pycoz("trace", "-e", "trace=openat", "--", "cat", "/etc/hostname")
    assert r.returncode == 0, r.stderr
    assert 'openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3' in r.stderr
    assert "+++ exited with 0 +++" in r.stderr
    assert "read(" not in r.stderr  # only what was asked for


def test_exit_status_and_signal_death_pass_through(pycoz):
    assert pycoz("trace", "-e", "trace=none", "--", "sh", "-c", "exit 6").returncode == 6
    r = pycoz("trace", "-e", "trace=none", "--", "sh", "-c", "kill -TERM $$")
    assert r.returncode == 143
    assert "+++ killed by SIGTERM +++" in r.stderr


def test_follow_forks_shows_pids(pycoz):
    r = pycoz("trace", "-f", "-e", "trace=execve", "--", "sh", "-c", "cat /etc/hostname; true")
    assert r.returncode == 0, r.stderr
    lines = [line for line in r.stderr.splitlines() if "execve(" in line]
    assert any('"/usr/bin/cat"' in line or '"/bin/cat"' in line for line in lines), lines
    assert any(line.startswith("[pid") for line in lines), lines


def test_fault_injection_is_seen_by_the_program(pycoz):
    # busybox is static: its only openat is the file's.
    r = pycoz(
        "trace",
        "-e",
        "inject=openat:error=ENOENT",
        "-e",
        "trace=openat",
        "--",
        "busybox",
        "cat",
        "/etc/hostname",
    )
    assert r.returncode == 1
    assert "No such file or directory" in r.stderr
    assert "ENOENT (No such file or directory) (INJECTED)" in r.stderr


def test_retval_injection(pycoz):
    # read() returning 0 at once: cat sees end of file and prints nothing.
    r = pycoz(
        "trace",
        "-e",
        "trace=read",
        "-e",
        "inject=read:retval=0:when=2+",
        "--",
        "cat",
        "/etc/hostname",
    )
    assert r.returncode == 0
    assert r.stdout == ""
    assert "(INJECTED)" in r.stderr


def test_json_lines_can_be_asserted_on(pycoz):
    code = (
        "import socket; s = socket.socket()\ntry: s.connect(('127.0.0.1', 9))\nexcept OSError: pass"
    )
    r = pycoz("trace", "--json", "-e", "trace=connect", "--", sys.executable, "-c", code)
    records = [json.loads(line) for line in r.stderr.splitlines() if line.startswith("{")]
    # The interpreter's start-up may connect elsewhere (nscd, a shim); pick ours by address.
    connects = [
        rec
        for rec in records
        if rec.get("syscall") == "connect" and "127.0.0.1" in json.dumps(rec["args"])
    ]
    assert len(connects) == 1, r.stderr
    rec = connects[0]
    assert rec["errno"] == "ECONNREFUSED"
    assert rec["result"] == -111
    assert any(rec["type"] == "exit" for rec in records)


def test_summary_counts_calls(pycoz):
    r = pycoz("trace", "-c", "--", "cat", "/etc/hostname")
    assert r.returncode == 0
    assert "total" in r.stderr and "openat" in r.stderr


def test_output_files(pycoz, tmp_path):
    out = tmp_path / "trace.txt"
    r = pycoz("trace", "-o", str(out), "-e", "trace=openat", "--", "cat", "/etc/hostname")
    assert r.returncode == 0 and r.stderr == ""
    assert '"/etc/hostname"' in out.read_text()
    r = pycoz(
        "trace",
        "-ff",
        "-o",
        str(tmp_path / "per"),
        "-e",
        "trace=execve",
        "--",
        "sh",
        "-c",
        "cat /etc/hostname",
    )
    assert r.returncode == 0
    assert len(list(tmp_path.glob("per.*"))) >= 2


def test_prefilter_is_a_seccomp_filter(pycoz):
    check = "grep '^Seccomp:' /proc/self/status"
    filtered = pycoz("trace", "-f", "-e", "trace=openat", "--", "sh", "-c", check)
    assert "Seccomp:\t2" in filtered.stdout
    unfiltered = pycoz("trace", "-f", "--no-seccomp", "-e", "trace=openat", "--", "sh", "-c", check)
    assert "Seccomp:\t0" in unfiltered.stdout


def test_tracee_dies_with_pycoz(pycoz_bin):
    p = subprocess.Popen(
        [
            pycoz_bin,
            "trace",
            "-e",
            "trace=nanosleep,clock_nanosleep",
            "--",
            "sh",
            "-c",
            "echo $$; exec sleep 100",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    pid = int(p.stdout.readline())
    p.kill()
    p.wait()
    p.stdout.close()
    for _ in range(100):
        if not os.path.exists(f"/proc/{pid}"):
            break
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{pid}")  # PTRACE_O_EXITKILL


def test_attach_and_detach_leaves_the_process_running(pycoz_bin):
    target = subprocess.Popen(
        ["sh", "-c", "while :; do cat /etc/hostname >/dev/null; sleep 0.05; done"]
    )
    try:
        p = subprocess.Popen(
            [pycoz_bin, "trace", "-f", "-e", "trace=openat", "-p", str(target.pid)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Attached (however slow pycoz's start is on a busy machine), then traced a while.
        assert wait_until(lambda: tracer_of(target.pid) == str(p.pid), timeout=30)
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        try:
            _, err = p.communicate(timeout=20)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        assert p.returncode == -signal.SIGINT, err  # as strace: dies of it once detached
        assert '"/etc/hostname"' in err
        time.sleep(0.2)
        assert target.poll() is None  # still running, no longer traced
        with open(f"/proc/{target.pid}/status") as f:
            assert "TracerPid:\t0" in f.read()
    finally:
        target.kill()
        target.wait()


@pytest.mark.parametrize(
    "args, code, words",
    [
        (["-e", "trace=opne", "--", "true"], 2, ["opne", "open"]),
        (["-e", "inject=openat:error=EWHAT", "--", "true"], 2, ["EWHAT"]),
        (["--", "no-such-command-xyz"], 127, ["no-such-command-xyz"]),
        (["-p", "999999999"], 125, ["999999999"]),
    ],
)
def test_bad_input_is_one_line(pycoz, args, code, words):
    r = pycoz("trace", *args)
    assert r.returncode == code, r.stderr
    lines = [line for line in r.stderr.splitlines() if line]
    assert len(lines) == 1, r.stderr
    for word in words:
        assert word in lines[0]


def test_trace_a_client_inside_a_topology(pycoz):
    code = (
        "import socket\n"
        "try: socket.create_connection(('h2', 8000))\n"
        "except OSError as e: print('refused', e.errno)"
    )
    r = pycoz(
        "trace", "--net", "pair", "--host", "h1", "-e", "trace=connect", "--", "python3", "-c", code
    )
    assert r.returncode == 0, r.stderr
    assert "refused 111" in r.stdout
    assert 'inet_addr("198.18.0.2")' in r.stderr or "2001:db8::2" in r.stderr
    assert "ECONNREFUSED" in r.stderr


FALLBACK_LAB = """
[hosts.client]
routes = ["default via 198.18.0.2", "default via 2001:db8::2"]
[routers.r1]
routes = ["blackhole 2001:db8:1::2/128"]
[hosts.server]
routes = ["default via 198.18.1.1", "default via 2001:db8:1::1"]
commands = [["python3", "-m", "http.server", "--bind", "0.0.0.0", "--directory", "DIR", "8000"]]
[[links]]
a = "client"
b = "r1"
a_addresses = ["198.18.0.1/24", "2001:db8::1/64"]
b_addresses = ["198.18.0.2/24", "2001:db8::2/64"]
[[links]]
a = "r1"
b = "server"
a_addresses = ["198.18.1.1/24", "2001:db8:1::1/64"]
b_addresses = ["198.18.1.2/24", "2001:db8:1::2/64"]
"""


def test_sockets_tracer_tells_the_fallback_story(pycoz, tmp_path, unique):
    """IPv6 to the server is silently dropped; curl falls back to IPv4."""
    lab = tmp_path / "lab.toml"
    lab.write_text(FALLBACK_LAB.replace("DIR", str(tmp_path)))
    name = f"s{unique}"
    try:
        r = pycoz("net", "up", str(lab), "--name", name)
        assert r.returncode == 0, r.stderr
        fetch = (
            "for i in $(seq 50); do "
            "curl -4 -s -o /dev/null http://198.18.1.2:8000/ && break; sleep 0.1; done; "
            "curl -s -o /dev/null -w '%{http_code}' --connect-timeout 5 http://server:8000/"
        )
        r = pycoz(
            "trace",
            "--tracer",
            "sockets",
            "--join",
            name,
            "--host",
            "client",
            "--",
            "sh",
            "-c",
            fetch,
        )
        assert r.returncode == 0, r.stderr
        assert r.stdout == "200"
        summary = [line for line in r.stderr.splitlines() if line.startswith("summary:")]
        assert any(
            "tried IPv6 first" in line and "fell back to IPv4 after" in line for line in summary
        ), r.stderr
    finally:
        pycoz("net", "down", name)


def test_python_api_iterates_events_and_injects():
    from pycoz_cli import trace_events

    seen = list(
        trace_events(
            ["busybox", "cat", "/etc/hostname"], ["trace=openat", "inject=openat:error=EACCES"]
        )
    )
    calls = [ev for ev in seen if ev.kind == "syscall"]
    assert [ev.name for ev in calls] == ["openat"]
    assert calls[0].errno == "EACCES" and calls[0].injected
    assert calls[0].args[1] == "/etc/hostname"
    assert seen[-1].kind == "status" and os.waitstatus_to_exitcode(seen[-1].result) == 1


def test_delay_injection_holds_the_call(pycoz):
    start = time.monotonic()
    r = pycoz(
        "trace",
        "-e",
        "trace=openat",
        "-e",
        "inject=openat:delay_enter=300ms",
        "--",
        "busybox",
        "cat",
        "/etc/hostname",
    )
    assert r.returncode == 0
    assert time.monotonic() - start >= 0.3


def test_attach_to_an_already_traced_process_says_why(pycoz):
    target = subprocess.Popen(["strace", "-o", "/dev/null", "sleep", "30"])
    sleeper = None
    try:
        for _ in range(100):
            with open(f"/proc/{target.pid}/task/{target.pid}/children") as f:
                kids = f.read().split()
            if kids:
                with open(f"/proc/{kids[0]}/comm") as f:
                    if f.read().strip() == "sleep":
                        sleeper = int(kids[0])
                        break
            time.sleep(0.05)
        assert sleeper is not None
        r = pycoz("trace", "-p", str(sleeper))
        assert r.returncode == 125
        assert "EPERM" in r.stderr and f"already traced by pid {target.pid}" in r.stderr
    finally:
        target.kill()  # strace; its tracee, detached, would sleep on: end it too
        target.wait()
        if sleeper is not None:
            try:
                os.kill(sleeper, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_signal_and_result_annotations_match_strace(pycoz):
    """Lines strace users read every day come out as strace prints them."""
    code = (
        "import os, fcntl, socket\n"
        "s = socket.socket(); fcntl.fcntl(s.fileno(), fcntl.F_GETFL)\n"
        "p = os.fork()\n"
        "if p == 0: os._exit(3)\n"
        "os.waitpid(p, 0)"
    )
    # The interpreter itself, not a shim that runs more processes of its own.
    args = ["-e", "trace=fcntl,wait4", "--", sys.executable, "-c", code]
    ours = pycoz("trace", *args).stderr
    theirs = subprocess.run(["strace", *args[:2], *args[3:]], capture_output=True, text=True).stderr

    def normal(text):
        import re

        return [
            re.sub(r"0x[0-9a-f]{6,}|\b\d{3,}\b", "N", line)
            for line in text.splitlines()
            if "F_GETFL" in line or "SIGCHLD" in line or "wait4(" in line
        ]

    # Whether SIGCHLD arrives before or after wait4 returns is a race in both
    # tracers: compare the lines, not their order.
    assert sorted(normal(ours)) == sorted(normal(theirs))


#: Writes a buffer, then at once overwrites it and writes it again.
_REWRITES = (
    "import os\n"
    "b = bytearray(b'first')\n"
    "for word in (b'SECND', b'THIRD'):\n"
    "    os.write(1, b)\n"
    "    b[:] = word\n"
    "os.write(1, b)\n"
)


@pytest.mark.parametrize("cpus", ["all", "one"])
def test_buffers_show_what_the_call_saw(pycoz_bin, cpus):
    """The tracee is resumed before its line is made (and, with more than one
    CPU, runs on meanwhile): the line must still show the buffer as the call
    saw it, not as the program rewrote it right after."""

    def one_cpu():
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    r = subprocess.run(
        [pycoz_bin, "trace", "-e", "trace=write", "--", sys.executable, "-S", "-c", _REWRITES],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=one_cpu if cpus == "one" else None,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == "firstSECNDTHIRD"
    writes = [line for line in r.stderr.splitlines() if line.startswith("write(1,")]
    assert writes == [
        'write(1, "first", 5)                    = 5',
        'write(1, "SECND", 5)                    = 5',
        'write(1, "THIRD", 5)                    = 5',
    ]


@pytest.mark.parametrize("where", [[], ["--root"], ["--net", "pair", "--host", "h1"]])
def test_one_execve_for_a_command_found_on_path(pycoz, where):
    """As under strace, the command is found on PATH before it is traced: its
    trace starts with the one execve that runs it, not the search's misses."""
    env = {**os.environ, "PATH": "/nonexistent/bin:/usr/local/bin:/usr/bin:/bin"}
    r = pycoz("trace", *where, "-e", "trace=execve", "--", "true", env=env)
    assert r.returncode == 0, r.stderr
    execs = [line for line in r.stderr.splitlines() if "execve(" in line]
    assert len(execs) == 1, r.stderr
    assert execs[0].startswith('execve("/usr/bin/true", ["true"]') or execs[0].startswith(
        'execve("/bin/true", ["true"]'
    ), execs
    assert execs[0].endswith(" = 0")


def test_a_missing_command_in_a_container_is_not_traced(pycoz):
    r = pycoz("trace", "--root", "-e", "trace=execve", "--", "no-such-command-here")
    assert r.returncode == 127
    assert "execve(" not in r.stderr
    assert "no-such-command-here: command not found" in r.stderr
