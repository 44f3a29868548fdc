"""pycoz_cli.run / spawn / Popen behave as subprocess.run / Popen do, in a container.

Each case runs the same call through subprocess and through pycoz where the
outcome does not depend on the container, and checks both agree.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

import pycoz_cli
from pycoz_cli import Network, api


@pytest.mark.parametrize(
    "kwargs",
    [
        {"capture_output": True},
        {"capture_output": True, "text": True},
        {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True},
        {"stdout": subprocess.PIPE, "stderr": subprocess.DEVNULL, "encoding": "latin-1"},
        {"input": b"from stdin\n", "capture_output": True},
        {"input": "text in\n", "capture_output": True, "text": True},
    ],
)
def test_run_matches_subprocess(kwargs):
    script = "cat; echo out; echo err >&2; exit 3"
    ours = pycoz_cli.run(["sh", "-c", script], **kwargs)
    theirs = subprocess.run(["sh", "-c", script], **kwargs)
    assert type(ours) is subprocess.CompletedProcess
    assert (ours.args, ours.returncode, ours.stdout, ours.stderr) == (
        theirs.args,
        theirs.returncode,
        theirs.stdout,
        theirs.stderr,
    )


def test_check_raises_calledprocesserror_with_output():
    with pytest.raises(subprocess.CalledProcessError) as info:
        pycoz_cli.run(["sh", "-c", "echo partial; exit 4"], capture_output=True, check=True)
    assert (info.value.returncode, info.value.output, info.value.stderr) == (4, b"partial\n", b"")
    assert info.value.cmd == ["sh", "-c", "echo partial; exit 4"]


def test_death_by_signal_is_negative():
    assert pycoz_cli.run(["sh", "-c", "kill -USR1 $$"]).returncode == -signal.SIGUSR1


def test_timeout_kills_everything_the_command_started(tmp_path):
    """The command starts a daemon that would write a file later: the timeout
    ends the container's pid namespace, so the file never appears."""
    marker = tmp_path / "survivor"
    script = f"(sleep 1; touch {marker}) & setsid sh -c 'sleep 1; touch {marker}' & sleep 30"
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as info:
        pycoz_cli.run(["sh", "-c", script], timeout=0.3, capture_output=True, overlay=False)
    assert time.monotonic() - started < 5
    assert info.value.timeout == 0.3
    assert info.value.cmd == ["sh", "-c", script]
    time.sleep(1.5)
    assert not marker.exists()


def test_timeout_keeps_output_so_far():
    with pytest.raises(subprocess.TimeoutExpired) as info:
        pycoz_cli.run(["sh", "-c", "echo early; sleep 30"], timeout=1, capture_output=True)
    assert info.value.stdout == b"early\n"


def test_missing_command_is_filenotfounderror_as_in_subprocess():
    with pytest.raises(FileNotFoundError) as ours:
        pycoz_cli.run(["no-such-program-p14"])
    with pytest.raises(FileNotFoundError) as theirs:
        subprocess.run(["no-such-program-p14"])
    assert (ours.value.errno, ours.value.filename) == (theirs.value.errno, theirs.value.filename)


def test_not_executable_is_permissionerror(tmp_path):
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(PermissionError):
        pycoz_cli.run([str(script)])


def test_env_replaces_the_environment_and_cwd_is_honoured(tmp_path):
    r = pycoz_cli.run(
        ["sh", "-c", 'echo "$FOO:${HOME-unset}"; pwd'],
        env={"FOO": "bar", "PATH": os.environ["PATH"]},
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert r.stdout == f"bar:unset\n{tmp_path}\n"


def test_missing_cwd_is_one_line():
    with pytest.raises(pycoz_cli.SetupError, match="/no/such/dir"):
        pycoz_cli.run(["true"], cwd="/no/such/dir")


def test_popen_pipes_and_communicate():
    proc = pycoz_cli.spawn(
        ["sh", "-c", "read line; echo got $line; echo bad >&2; exit 7"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert isinstance(proc, subprocess.Popen)
    assert proc.communicate("hello\n", timeout=10) == ("got hello\n", "bad\n")
    assert proc.returncode == 7


def test_popen_line_by_line_and_terminate():
    with pycoz_cli.spawn(
        ["sh", "-c", "trap 'echo bye; exit 9' TERM; echo ready; while :; do sleep 0.05; done"],
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout.readline() == "ready\n"
        assert proc.poll() is None
        proc.terminate()
        assert proc.wait(timeout=10) == 9
        assert proc.stdout.read() == "bye\n"


def test_popen_wait_timeout_then_kill():
    proc = pycoz_cli.spawn(["sleep", "30"])
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=0.2)
    proc.kill()
    assert proc.wait(timeout=10) == -signal.SIGKILL


def test_unsupported_argument_says_why():
    with pytest.raises(ValueError, match="preexec_fn= is not supported"):
        pycoz_cli.spawn(["true"], preexec_fn=lambda: None)


def test_container_options_reach_the_container():
    r = pycoz_cli.run(
        ["sh", "-c", "hostname; rm -f /etc/hostname && echo removed"],
        hostname="apibox14",
        capture_output=True,
        text=True,
    )
    assert r.stdout == "apibox14\nremoved\n"
    assert os.path.exists("/etc/hostname")


def test_fence_and_limits_are_options():
    fenced = pycoz_cli.run(["sh", "-c", "ip link add dummy0 type dummy"], capture_output=True)
    assert fenced.returncode != 0
    limited = pycoz_cli.run(
        ["sh", "-c", "cat /proc/self/cgroup >/dev/null; ulimit -a >/dev/null"],
        pids=20,
        memory="64M",
    )
    assert limited.returncode == 0
    with pytest.raises(pycoz_cli.SpecError, match="memory"):
        pycoz_cli.run(["true"], memory="lots")


def test_container_host_runs_many_commands():
    box = api.container(hostname="many14", container_env={"ONTOP": "1"})
    outs = [box.run(["sh", "-c", "echo $ONTOP $(hostname)"], capture_output=True).stdout]
    outs.append(box.check_output(["hostname"]))
    assert outs == [b"1 many14\n", b"many14\n"]


def test_unknown_container_option_says_which():
    with pytest.raises(TypeError, match="'hostnme'"):
        api.container(hostnme="x")


def test_trace_gives_structured_events():
    program = "import socket\ns = socket.socket()\nprint(s.connect_ex(('127.0.0.1', 9)))\n"
    python = os.path.realpath(sys.executable)
    r = pycoz_cli.run(
        [python, "-c", program], trace=["trace=connect"], capture_output=True, text=True
    )
    assert r.stdout == "111\n"
    (connect,) = r.trace.calls("connect")
    assert connect.name == "connect"
    assert connect.result == -111 and connect.errno == "ECONNREFUSED"
    assert connect.args[1]["sin_port"] == 9 and connect.args[1]["sin_addr"] == "127.0.0.1"
    assert connect.pid in r.trace.pids and connect.time > 0
    assert any("ECONNREFUSED" in line for line in r.trace.lines(connect.pid))


# --- networks --------------------------------------------------------------------


def test_network_hosts_run_with_subprocess_semantics():
    with Network("pair") as net:
        r = net["h1"].run(["ping", "-c1", "-W5", net.address("h2")], capture_output=True)
        assert r.returncode == 0, r.stdout
        assert net["h2"].run(["hostname"], capture_output=True, text=True).stdout == "h2\n"
        with pytest.raises(subprocess.TimeoutExpired):
            net["h1"].run(["sleep", "30"], timeout=0.2)
    assert net.closed


def test_network_server_and_client():
    with Network("dualstack") as net:
        server = net["server"].spawn(
            ["python3", "-m", "http.server", "-b", "::", "8080"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            r = net["client"].run(
                [
                    "curl",
                    "-sS",
                    "--retry",
                    "20",
                    "--retry-connrefused",
                    "--retry-delay",
                    "0",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    "http://server:8080/",
                ],
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert r.stdout == "200", r.stderr
        finally:
            server.kill()
            server.wait()


def test_impairments_as_arguments_and_live():
    with Network("pair", impair={"h1-h2": {"delay": "40ms"}}) as net:
        assert "delay 40ms" in net.describe()

        def rtt():
            out = (
                net["h1"]
                .run(["ping", "-c1", "-W5", net.address("h2")], capture_output=True, text=True)
                .stdout
            )
            return float(out.split("time=")[1].split()[0])

        assert rtt() >= 80
        net.impair("h1-h2")
        assert rtt() < 40
        net.impair("h1-h2", delay="100ms", sender="h1")
        assert rtt() >= 100
        assert "h1:eth0 -> h2:eth0: delay 100ms" in net.describe()


def test_network_from_file_and_topology(tmp_path):
    from pycoz_cli.core.net.topology import pair

    topo_file = tmp_path / "two.toml"
    topo_file.write_text(
        'name = "two"\n[hosts.a]\n[hosts.b]\n'
        '[[links]]\na = "a"\nb = "b"\n'
        'a_addresses = ["198.18.4.1/24"]\nb_addresses = ["198.18.4.2/24"]\n'
    )
    with Network(topo_file) as net:
        assert net.hosts == ["a", "b"]
    with Network(pair()) as net:
        assert net.hosts == ["h1", "h2"]


@pytest.mark.parametrize(
    ("topology", "kwargs", "message"),
    [
        ("nosuch", {}, "unknown topology 'nosuch'"),
        ("pair", {"impair": {"h1-h3": {"delay": "1ms"}}}, "no link 'h1-h3'"),
        ("pair", {"impair": {"h1-h2": {"delay": "soon"}}}, "delay"),
        (42, {}, "give a name"),
    ],
)
def test_bad_network_input_is_one_line(topology, kwargs, message):
    with pytest.raises(pycoz_cli.SpecError, match=message):
        Network(topology, **kwargs)


def test_unknown_host_is_one_line():
    with Network("pair") as net, pytest.raises(pycoz_cli.SpecError, match="no host 'h9'"):
        net["h9"]
