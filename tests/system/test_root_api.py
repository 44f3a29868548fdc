"""The Python API: what a test suite embedding pycoz relies on."""

import os
import signal
import threading

import pytest

from pycoz_cli import CommandNotFound, Container, SetupError, SpecError


def _read_all(fd):
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode()


def run_capture(container, argv):
    r, w = os.pipe()
    try:
        code = container.run(argv, stdout=w)
    finally:
        os.close(w)
    return code, _read_all(r)


def test_run_returns_status_and_output():
    code, out = run_capture(Container(hostname="apibox"), ["sh", "-c", "hostname; exit 5"])
    assert (code, out) == (5, "apibox\n")


def test_signal_death_is_negative_like_subprocess():
    assert Container().run(["sh", "-c", "kill -KILL $$"]) == -signal.SIGKILL


def test_send_signal_reaches_the_command():
    r, w = os.pipe()
    script = "trap 'echo got-term; exit 9' TERM; echo ready; while :; do sleep 0.05; done"
    with Container().spawn(["sh", "-c", script], stdout=w) as proc:
        os.close(w)
        assert os.read(r, 6) == b"ready\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait() == 9
    assert _read_all(r) == "got-term\n"


def test_errors_are_typed_and_leave_no_child():
    children_before = _children()
    with pytest.raises(CommandNotFound):
        Container().run(["no-such-command-pycoz"])
    with pytest.raises(SpecError):
        Container(base="/no/such/base").run(["true"])
    with pytest.raises(SetupError) as info:
        Container(tmpfs=["/x:size=bogus"]).run(["true"])
    assert info.value.exit_code == 125
    assert "EINVAL" in str(info.value) and "/x" in str(info.value)
    assert _children() == children_before


def test_concurrent_spawns_from_threads_do_not_collide():
    """Spawning from several threads at once: each container is its own."""
    results = {}

    def one(i):
        results[i] = run_capture(
            Container(hostname=f"thr{i}"),
            ["sh", "-c", f"echo {i} > /etc/mine; hostname; cat /etc/mine; echo $$"],
        )

    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(12):
        code, out = results[i]
        assert code == 0
        assert out.split() == [f"thr{i}", str(i), "2"]
    assert not os.path.exists("/etc/mine")


def test_fds_do_not_leak():
    before = sorted(os.listdir("/proc/self/fd"))
    for _ in range(20):
        Container().run(["true"])
    assert sorted(os.listdir("/proc/self/fd")) == before


def _children():
    me = os.getpid()
    kids = set()
    for task in os.listdir(f"/proc/{me}/task"):
        with open(f"/proc/{me}/task/{task}/children") as f:
            kids.update(f.read().split())
    return kids
