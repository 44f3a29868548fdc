"""pycoz root lifetimes: exit status, signals (sent and from a terminal), SIGKILL of
pycoz leaving nothing behind, and many containers at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from pycoz_cli import Container

from .helpers import (
    alive,
    children,
    descendants,
    host_mounts,
    identity,
    namespace_holders,
    namespaces,
    ns_pid,
    read_line,
    wait_until,
)

# --- exit status -----------------------------------------------------------------------


@pytest.mark.parametrize("status", [0, 1, 3, 42, 255])
def test_exit_status_passes_through(pycoz, status):
    r = pycoz("root", "--", "sh", "-c", f"exit {status}")
    assert (r.returncode, r.stderr) == (status, "")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL, signal.SIGINT, signal.SIGUSR1])
def test_death_by_signal_is_128_plus_n(pycoz, sig):
    r = pycoz("root", "--", "sh", "-c", f"kill -{sig.name[3:]} $$")
    assert r.returncode == 128 + sig
    assert r.stderr == ""


def test_death_by_signal_through_the_api():
    assert Container().run(["sh", "-c", "kill -TERM $$"]) == -signal.SIGTERM


# --- signals sent to pycoz reach the command ---------------------------------------------


def _start(pycoz_bin, *args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [pycoz_bin, "root", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
        start_new_session=True,
        **kwargs,
    )


def _finish(proc: subprocess.Popen) -> int:
    """Wait (no hang: a generous limit), then kill whatever is left of it."""
    try:
        return proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_sent_to_pycoz_ends_the_command(pycoz_bin, sig):
    proc = _start(pycoz_bin, "--", "sh", "-c", "echo ready; exec sleep 100")
    try:
        assert read_line(proc.stdout) == "ready\n"
        proc.send_signal(sig)
    finally:
        code = _finish(proc)
    assert code == 128 + sig


_TRAP_INT = """
import signal, sys
signal.signal(signal.SIGINT, lambda *_: sys.exit(3))
print("ready", flush=True)
while True:
    signal.pause()
"""


def test_a_command_that_traps_sigint_decides_the_status(pycoz_bin):
    proc = _start(pycoz_bin, "--", sys.executable, "-c", _TRAP_INT)
    try:
        assert read_line(proc.stdout) == "ready\n"
        proc.send_signal(signal.SIGINT)
    finally:
        code = _finish(proc)
    assert code == 3


def test_ctrl_c_in_a_terminal(pycoz_bin, tmp_path, unique):
    """A real terminal (tmux): Ctrl-C ends the command, pycoz exits 130, prompt returns."""
    # A server of our own, on a socket in tmp_path (tmux leaves the socket file behind).
    tmux = ["tmux", "-S", str(tmp_path / "tmux.sock"), "-f", "/dev/null"]
    prompt = f"P{unique}$"

    def screen() -> list[str]:
        r = subprocess.run(
            [*tmux, "capture-pane", "-p", "-t", "t"], capture_output=True, text=True, timeout=10
        )
        return r.stdout.splitlines()

    subprocess.run(
        [
            *tmux,
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "200",
            "-y",
            "40",
            f"env PS1='{prompt} ' /bin/sh",
        ],
        check=True,
        timeout=10,
    )
    try:
        assert wait_until(lambda: any(line.startswith(prompt) for line in screen())), screen()
        # $((6*7)) and $? expand only in the output, not in the echoed command line.
        command = f"{pycoz_bin} root -- sh -c 'echo ready-$((6*7)); exec sleep 100'; echo st=$?"
        subprocess.run([*tmux, "send-keys", "-t", "t", "-l", command], check=True, timeout=10)
        subprocess.run([*tmux, "send-keys", "-t", "t", "Enter"], check=True, timeout=10)
        assert wait_until(lambda: "ready-42" in screen()), screen()
        subprocess.run([*tmux, "send-keys", "-t", "t", "C-c"], check=True, timeout=10)

        def back_at_prompt():
            lines = screen()
            # The terminal echoes "^C" just before the status line.
            ends = [i for i, line in enumerate(lines) if line.endswith("st=130")]
            return ends and any(line.startswith(prompt) for line in lines[ends[0] + 1 :])

        assert wait_until(back_at_prompt), screen()
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, timeout=10)


# --- SIGKILL of pycoz leaves nothing behind ---------------------------------------------


def test_sigkill_of_pycoz_leaves_no_process_mount_or_namespace(pycoz, pycoz_bin, tmp_path, unique):
    mounts_before = host_mounts()
    upper = tmp_path / "upper"
    marker = f"pycoz-marker-{unique}"
    proc = _start(
        pycoz_bin,
        "--upper",
        str(upper),
        "--",
        "sh",
        "-c",
        f"echo ready; sleep 1000 & sleep 1000; : {marker}",
    )
    try:
        assert read_line(proc.stdout) == "ready\n"
        # init, sh and its two sleeps (at least): the whole tree, seen from the host.
        assert wait_until(lambda: len(descendants(proc.pid)) >= 4), descendants(proc.pid)
        tree = [i for i in map(identity, descendants(proc.pid)) if i]
        init = children(proc.pid)[0]
        assert ns_pid(init)[-1] == 1
        held = namespaces(init)
        assert wait_until(lambda: _pgrep(marker))
        proc.kill()
    finally:
        _finish(proc)
    assert proc.returncode == -signal.SIGKILL
    assert wait_until(lambda: not alive(tree)), alive(tree)
    assert _pgrep(marker) == []
    assert wait_until(lambda: not namespace_holders(held)), namespace_holders(held)
    assert host_mounts() == mounts_before
    # The lock on --upper went with it: the next run can use the same directory.
    r = pycoz("root", "--upper", str(upper), "--", "true")
    assert (r.returncode, r.stderr) == (0, "")


def _pgrep(marker: str) -> list[int]:
    r = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True, timeout=10)
    return [int(p) for p in r.stdout.split()]


def test_api_kill_leaves_no_process_or_namespace():
    r, w = os.pipe()
    try:
        proc = Container().spawn(["sh", "-c", "echo ready; sleep 1000 & exec sleep 1000"], stdout=w)
    finally:
        os.close(w)
    with proc:
        assert os.read(r, 6) == b"ready\n"
        os.close(r)
        # .pid is the container's init (pid 1 inside), our direct child.
        assert ns_pid(proc.pid)[-1] == 1
        with open(f"/proc/{proc.pid}/status") as f:
            assert f"PPid:\t{os.getpid()}\n" in f.read()
        assert wait_until(lambda: len(descendants(proc.pid)) >= 2)
        pids = {proc.pid, *descendants(proc.pid)}
        tree = [i for i in map(identity, pids) if i]
        held = namespaces(proc.pid)
        proc.kill()
        assert proc.wait() == -signal.SIGKILL
    assert wait_until(lambda: not alive(tree)), alive(tree)
    assert wait_until(lambda: not namespace_holders(held)), namespace_holders(held)


_ECHO_TO_FD = """
import os, socket, sys
os.write(int(sys.argv[1]), socket.gethostname().encode())
sys.stdout.write(sys.stdin.read().upper())
"""


def test_api_spawn_streams_and_passed_fds(unique):
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    extra_r, extra_w = os.pipe()
    try:
        proc = Container(hostname=unique).spawn(
            [sys.executable, "-c", _ECHO_TO_FD, str(extra_w)],
            stdin=in_r,
            stdout=out_w,
            pass_fds=[extra_w],
        )
    finally:
        for fd in (in_r, out_w, extra_w):
            os.close(fd)
    with proc:
        os.write(in_w, b"hello\n")
        os.close(in_w)
        assert proc.wait() == 0
    assert _read_all(out_r) == b"HELLO\n"
    assert _read_all(extra_r) == unique.encode()


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


# --- many at once ---------------------------------------------------------------------


def test_thirty_containers_at_once(pycoz_bin, tmp_path, unique):
    out = tmp_path / "out"
    out.mkdir()
    mine = f"/etc/pycoz-{unique}-mine"
    procs = []
    for i in range(30):
        script = (
            f"echo {i} > {mine}; ls /etc | grep pycoz-{unique}; hostname; cat {mine};"
            f" hostname > /out/{i}"
        )
        procs.append(
            subprocess.Popen(
                [
                    pycoz_bin,
                    "root",
                    "--hostname",
                    f"{unique}-{i}",
                    "--bind",
                    f"{out}:/out",
                    "--",
                    "sh",
                    "-c",
                    script,
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    for proc in procs:
        try:
            stdout, stderr = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        results.append((proc.returncode, stdout, stderr))
    for i, result in enumerate(results):
        assert result == (0, f"pycoz-{unique}-mine\n{unique}-{i}\n{i}\n", ""), (i, result)
    assert sorted(os.listdir(out), key=int) == [str(i) for i in range(30)]
    for i in range(30):
        assert (out / str(i)).read_text() == f"{unique}-{i}\n"
    assert not os.path.exists(mine)


def test_full_screen_editor_in_a_terminal(pycoz_bin, tmp_path, unique):
    """vi (busybox's) works on the container's terminal; its edit stays inside."""
    import shutil

    if shutil.which("busybox") is None:
        pytest.skip("busybox is not installed")
    tmux = ["tmux", "-S", str(tmp_path / "tmux.sock"), "-f", "/dev/null"]
    target = f"/etc/pycoz-vi-{unique}"

    def screen() -> str:
        r = subprocess.run(
            [*tmux, "capture-pane", "-p", "-t", "v"], capture_output=True, text=True, timeout=10
        )
        return r.stdout

    def keys(*k, literal=False):
        subprocess.run(
            [*tmux, "send-keys", "-t", "v", *(["-l"] if literal else []), *k],
            check=True,
            timeout=10,
        )

    inner = f"busybox vi {target} && echo saved-$(cat {target})"
    subprocess.run(
        [
            *tmux,
            "new-session",
            "-d",
            "-s",
            "v",
            "-x",
            "100",
            "-y",
            "30",
            f"{pycoz_bin} root -- sh -c '{inner}'; echo st=$?; sleep 30",
        ],
        check=True,
        timeout=10,
    )
    try:
        # vi draws its screen: tildes down the left for the empty buffer.
        assert wait_until(lambda: screen().count("~") > 10), screen()
        keys("i")
        keys("hello-vi", literal=True)
        assert wait_until(lambda: "hello-vi" in screen()), screen()
        keys("Escape")
        # A key right after Escape would read as an escape sequence (Alt-:).
        time.sleep(0.5)
        keys(":wq", literal=True)
        keys("Enter")
        assert wait_until(lambda: "st=0" in screen()), screen()
        assert "saved-hello-vi" in screen()
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, timeout=10)
    assert not os.path.exists(target)
