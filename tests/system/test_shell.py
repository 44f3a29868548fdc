"""``pycoz shell``: driven through real terminals (tmux), as a user types."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys
import time

import pytest

from tests.system.helpers import alive, assert_one_line, descendants, identity, wait_until


@pytest.fixture
def home(tmp_path):
    """A home of the test's own, with a plain .bashrc (the machine's may say anything)."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("PS1='\\u@\\h:\\w\\$ '\n")
    return home


def shell_env(home, shell="/bin/bash"):
    return {"HOME": str(home), "SHELL": shell, "TERM": "xterm", "PS1": ""}


def test_hostname_ping_write_and_exit_status(tmux, pycoz_bin, home, unique):
    probe = f"/etc/pycoz-probe-{unique}"
    tmux.start(
        "a",
        f"{pycoz_bin} shell --net pair --host h1; echo EXIT=$?; sleep 60",
        env=shell_env(home),
    )
    screen = tmux.wait_for("a", "[pycoz h1] root@h1:")
    # The banner: what this shell is.
    assert "throwaway root over /" in screen
    assert "198.18.0.1/24" in screen and "h2" in screen
    assert "fence     root here owns this machine's namespaces only" in screen
    tmux.type("a", "hostname")
    tmux.wait_for("a", "\nh1\n")
    tmux.type("a", "ping -c1 -W5 h2 | grep -c 'bytes from'")
    tmux.wait_for("a", "\n1\n")
    tmux.type("a", f"touch {probe} && echo made-$(ls {probe})")
    tmux.wait_for("a", f"made-{probe}")
    tmux.type("a", "exit 3")
    tmux.wait_for("a", "EXIT=3")
    assert not os.path.exists(probe)


def test_ctrl_c_reaches_the_job_and_ctrl_d_leaves(tmux, pycoz_bin, home):
    tmux.start("a", f"{pycoz_bin} shell -q; echo EXIT=$?; sleep 60", env=shell_env(home))
    screen = tmux.wait_for("a", "[pycoz] root@")
    assert "throwaway root" not in screen  # -q: no banner
    tmux.type("a", "sleep 100")
    tmux.wait_for("a", "sleep 100\n")
    tmux.keys("a", "C-c")
    tmux.type("a", "echo status=$?")
    tmux.wait_for("a", "status=130")
    tmux.type("a", "echo still-$((6 * 7))")
    tmux.wait_for("a", "still-42")
    tmux.keys("a", "C-d")
    tmux.wait_for("a", "EXIT=0")


def test_job_control_and_window_size(tmux, pycoz_bin, home):
    tmux.start("a", f"{pycoz_bin} shell -q; echo EXIT=$?; sleep 60", env=shell_env(home))
    tmux.wait_for("a", "[pycoz] root@")
    # Ctrl-Z stops the foreground job; the shell gets its terminal back.
    tmux.type("a", "sleep 100")
    tmux.wait_for("a", "sleep 100\n")
    tmux.keys("a", "C-z")
    tmux.wait_for("a", "Stopped")
    tmux.type("a", "bg; jobs")
    tmux.wait_for("a", "Running")
    tmux.type("a", "fg")
    tmux.wait_for("a", "fg\nsleep 100\n")
    tmux.keys("a", "C-c")
    tmux.type("a", "echo jobs-$(jobs | wc -l)")
    tmux.wait_for("a", "jobs-0")
    # A resize of the outer terminal reaches the container's terminal.
    tmux.type("a", "stty size")
    tmux.wait_for("a", "40 120")
    tmux.run("resize-window", "-t", "main:a", "-x", "100", "-y", "30")
    tmux.type("a", "stty size; tty")
    tmux.wait_for("a", "30 100")
    tmux.wait_for("a", "/dev/pts/0")  # a terminal of the container's own devpts
    tmux.type("a", "exit")
    tmux.wait_for("a", "EXIT=0")


def test_full_screen_program(tmux, pycoz_bin, home):
    if shutil.which("top") is None:
        pytest.skip("top (procps) is not installed")
    tmux.start("a", f"{pycoz_bin} shell -q; echo EXIT=$?; sleep 60", env=shell_env(home))
    tmux.wait_for("a", "[pycoz] root@")
    tmux.type("a", "top")
    screen = tmux.wait_for("a", "load average")
    # The container's own pid namespace: few processes, the shell among them.
    assert "bash" in screen

    # top may discard what was typed while it set its terminal up (TCSAFLUSH):
    # press q until the prompt is back below its last frame; keys typed before
    # that would be top's commands.
    def prompt_back() -> bool:
        lines = [line for line in tmux.screen("a").splitlines() if line.strip()]
        return lines[-1].startswith("[pycoz] root@")

    for _ in range(20):
        tmux.keys("a", "q")
        if wait_until(prompt_back, timeout=1):
            break
    assert prompt_back(), tmux.screen("a")
    tmux.type("a", "exit 4")
    tmux.wait_for("a", "EXIT=4")


def test_vi_edits_inside_and_the_edit_stays_inside(tmux, pycoz_bin, home, unique):
    if shutil.which("busybox") is None:
        pytest.skip("busybox is not installed")
    target = f"/etc/pycoz-vi-{unique}"
    tmux.start("a", f"{pycoz_bin} shell -q; echo EXIT=$?; sleep 60", env=shell_env(home))
    tmux.wait_for("a", "[pycoz] root@")
    tmux.type("a", f"busybox vi {target}")
    assert wait_until(lambda: tmux.screen("a").count("~") > 10), tmux.screen("a")
    tmux.keys("a", "i")
    tmux.type("a", "hello-vi", enter=False)
    tmux.wait_for("a", "hello-vi")
    tmux.keys("a", "Escape")
    time.sleep(0.5)  # a key right after Escape would read as Alt-key
    tmux.type("a", ":wq")
    tmux.wait_for("a", "[pycoz] root@")
    tmux.type("a", f"echo saved-$(cat {target}); exit 6")
    tmux.wait_for("a", "saved-hello-vi")
    tmux.wait_for("a", "EXIT=6")
    assert not os.path.exists(target)


def test_prompt_label_survives_rc_files_that_rewrite_it(tmux, pycoz_bin, home):
    (home / ".bashrc").write_text("PROMPT_COMMAND='PS1=\"custom> \"';\n")
    tmux.start("a", f"{pycoz_bin} shell --hostname box -q", env=shell_env(home))
    tmux.wait_for("a", "[pycoz box] custom> ")
    tmux.type("a", "true")
    screen = tmux.wait_for("a", "true\n[pycoz box] custom> ")
    assert "syntax error" not in screen


@pytest.mark.parametrize("name", ["dash", "zsh", "fish", "busybox"])
def test_prompt_label_in_other_shells(tmux, pycoz_bin, home, name, tmp_path):
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    if name == "busybox":  # its sh, through a link named sh
        (tmp_path / "bb").mkdir()
        path = str(tmp_path / "bb" / "sh")
        os.symlink(shutil.which("busybox"), path)
    tmux.start(
        "a",
        f"{pycoz_bin} shell --hostname box -q; echo EXIT=$?; sleep 60",
        env=shell_env(home, path),
    )
    tmux.wait_for("a", "[pycoz box] ")
    tmux.type("a", "echo in-$((40 + 2))")
    tmux.wait_for("a", "in-42")
    tmux.type("a", "exit 5")
    tmux.wait_for("a", "EXIT=5")
    assert not list(tmp_path.glob("pycoz-zsh-*"))


def test_two_shells_joined_to_one_named_topology(tmux, pycoz, pycoz_bin, home, tmp_path, unique):
    name = f"j{unique}"
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "hello").write_text(f"hello-{unique}\n")
    r = pycoz("net", "up", "pair", "--name", name)
    assert r.returncode == 0, r.stderr
    try:
        env = shell_env(home)
        tmux.start("a", f"{pycoz_bin} shell --join {name} --host h1", env=env)
        screen = tmux.wait_for("a", "[pycoz h1] ")
        assert f"joined {name}" in screen
        tmux.type("a", f"python3 -m http.server --directory {tmp_path / 'www'} 8000")
        tmux.wait_for("a", "Serving HTTP")
        tmux.start("b", f"{pycoz_bin} shell --join {name} --host h2", env=env)
        tmux.wait_for("b", "[pycoz h2] ")
        tmux.type("b", "curl -s http://h1:8000/hello")
        tmux.wait_for("b", f"\nhello-{unique}")
        tmux.wait_for("a", "GET /hello")
        tmux.keys("a", "C-c")
        for window in ("a", "b"):
            tmux.type(window, "exit")
    finally:
        tmux.close()
        r = pycoz("net", "down", name)
    assert r.returncode == 0, r.stderr


def test_traced_shell_writes_a_complete_trace_file(tmux, pycoz_bin, home, tmp_path):
    out = tmp_path / "trace.txt"
    tmux.start(
        "a",
        f"{pycoz_bin} shell --net pair --host h1 --trace -e trace=connect -o {out}; "
        "echo EXIT=$?; sleep 60",
        env=shell_env(home),
    )
    screen = tmux.wait_for("a", "[pycoz h1] ")
    assert f"tracing   trace=connect -> {out}" in screen
    tmux.type("a", "curl -s http://h2:8000/; echo curl=$?")
    tmux.wait_for("a", "curl=7")
    tmux.type("a", "exit 2")
    tmux.wait_for("a", "EXIT=2")
    text = out.read_text()
    # curl's connect to the server (non-blocking: EINPROGRESS, refused later).
    server = r'sin_port=htons\(8000\), sin_addr=inet_addr\("198\.18\.0\.2"\)'
    assert re.search(
        rf"connect\(\d+, \{{sa_family=AF_INET, {server}\}}, 16\) = -1 EINPROGRESS", text
    )
    # The file is complete: the shell's own end is its last line.
    assert text.rstrip().endswith("+++ exited with 2 +++"), text


def test_sigkill_of_pycoz_leaves_nothing(tmux, pycoz_bin, home):
    pane = tmux.start("a", f"exec {pycoz_bin} shell --net pair --host h1 -q", env=shell_env(home))
    tmux.wait_for("a", "[pycoz h1] ")
    tmux.type("a", "sleep 300 & sleep 301 &")
    assert wait_until(lambda: len(descendants(pane)) >= 4)
    family = [identity(pid) for pid in descendants(pane)]
    os.kill(pane, signal.SIGKILL)
    assert wait_until(lambda: not alive([f for f in family if f])), alive(family)


@pytest.mark.parametrize("busy", [False, True])
def test_closing_the_terminal_ends_the_shell_and_all_in_it(tmux, pycoz_bin, home, busy):
    """The window closes (tmux dies) with the shell idle at its prompt, or busy
    with a job and a program that ignores SIGHUP: the container's terminal is hung
    up, what ignores SIGHUP is killed after a grace period, and nothing stays.
    pycoz is not the session leader here (a shell started it), so it may get no
    SIGHUP of its own: it learns of the hang-up from its terminal."""
    pane = tmux.start("a", f"{pycoz_bin} shell -q; sleep 60", env=shell_env(home))
    tmux.wait_for("a", "[pycoz] ")
    if busy:
        tmux.type("a", "(trap '' HUP; exec sleep 301) & sleep 300")
        assert wait_until(lambda: len(descendants(pane)) >= 5)
    else:
        tmux.type("a", "echo ready-$((20 + 22))")
        tmux.wait_for("a", "ready-42")
    family = [identity(pid) for pid in [pane, *descendants(pane)]]
    tmux.close()
    assert wait_until(lambda: not alive([f for f in family if f]), timeout=15), alive(family)


def test_without_a_terminal(pycoz, home):
    r = pycoz(
        "shell",
        "--net",
        "pair",
        "--host",
        "h2",
        input="hostname\nexit 6\n",
        env={**os.environ, **shell_env(home)},
    )
    assert r.returncode == 6, r.stderr
    assert r.stdout == "h2\n"
    assert r.stderr == ""  # no banner, no job-control warnings


def test_command_mode(pycoz, home, unique):
    r = pycoz("shell", "--net", "pair", "--host", "h1", "-c", "hostname; exit 7")
    assert (r.returncode, r.stdout, r.stderr) == (7, "h1\n", "")


def test_join_of_a_missing_topology_or_host(pycoz, unique):
    r = pycoz("shell", "--join", f"missing{unique}", "-c", "true")
    assert r.returncode == 2
    assert_one_line(r.stderr, f"missing{unique}", "running:")
    name = f"m{unique}"
    assert pycoz("net", "up", "pair", "--name", name).returncode == 0
    try:
        r = pycoz("shell", "--join", name, "--host", "h9", "-c", "true")
        assert r.returncode == 2
        assert_one_line(r.stderr, "h9", "h1, h2")
    finally:
        assert pycoz("net", "down", name).returncode == 0


def test_shell_missing_in_the_base_root_falls_back(pycoz, busybox_root):
    env = {**os.environ, "SHELL": "/bin/bash"}
    r = pycoz("shell", "--base", str(busybox_root), "-c", "echo $0", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "/bin/sh\n"
    assert_one_line(r.stderr, "/bin/bash", "not in the root", "/bin/sh")


def test_trace_options_need_trace(pycoz):
    r = pycoz("shell", "-e", "trace=connect", "-c", "true")
    assert r.returncode == 2
    assert_one_line(r.stderr, "-e", "--trace")


def test_trace_on_the_terminal_between_the_shells_output(tmux, pycoz_bin, home):
    tmux.start(
        "a",
        f"{pycoz_bin} shell --trace -e trace=connect; echo EXIT=$?; sleep 60",
        env=shell_env(home),
    )
    screen = tmux.wait_for("a", "[pycoz] ")
    assert "tracing   trace=connect -> this terminal" in screen
    code = "import socket; socket.socket().connect_ex(('127.0.0.1', 9)); print('done')"
    tmux.type("a", f'{sys.executable} -c "{code}"')
    screen = tmux.wait_for("a", "ECONNREFUSED")
    # Each trace line starts at the left margin (CR-LF on the raw terminal).
    line = next(li for li in screen.splitlines() if "ECONNREFUSED" in li)
    assert re.match(r"\[pid +\d+\] connect\(", line), screen
    tmux.type("a", "exit")
    tmux.wait_for("a", "EXIT=0")


def test_no_root_keeps_the_hosts_filesystem(pycoz, tmp_path):
    made = tmp_path / "made-inside"
    r = pycoz("shell", "--no-root", "--net", "isolated", "-c", f"touch {made}; hostname")
    assert (r.returncode, r.stdout) == (0, "h1\n"), r.stderr
    assert made.exists()
    r = pycoz("shell", "--net", "isolated", "-c", f"rm {made} && echo removed-inside")
    assert r.stdout == "removed-inside\n" and made.exists()  # the throwaway root's copy


@pytest.mark.parametrize("option", ["--upper", "--base"])
def test_no_root_refuses_the_options_of_a_root(pycoz, tmp_path, option):
    """With --no-root there is no root to keep (--upper) or to start from
    (--base): the shell would write to the host all the same."""
    made = tmp_path / "made-inside"
    layer = tmp_path / "layer"
    layer.mkdir()
    r = pycoz("shell", "--no-root", option, str(layer), "-c", f"touch {made}")
    assert r.returncode == 2
    assert_one_line(r.stderr, f"{option} {layer}", "--no-root")
    assert not made.exists() and not list(layer.iterdir())
