"""The plugin contract as a plugin author meets it (issue 17), with real
tracees, containers and networks; plugins are throwaway distributions
(``tests/plugintools.py``) run through the real ``pycoz`` console script."""

from __future__ import annotations

import json

import pytest

from tests.plugintools import Dists
from tests.system.test_plugin_hooks import RECORDER, records

#: Tracers that break the contract in one way each; ``FAIL`` picks the way.
TRACERS = """
from pycoz_cli.hookspecs import hookimpl

FAIL = {fail!r}


class Sink:
    def __init__(self, out):
        self.out = out
        self.calls = 0

    def syscall(self, pid, nr, args, retval, is_error, t_enter, t_exit, injected, memory):
        self.calls += 1
        if FAIL == "syscall" and self.calls == 3:
            raise ValueError("bad call")
        if FAIL == "later":
            def later():
                raise ValueError("bad later")
            return later

    def process(self, kind, pid, **info):
        if FAIL == "process":
            raise KeyError("boom")

    def finish(self):
        self.out.write("finished\\n")


class Half:
    def syscall(self, *args):
        pass


def make(out, **options):
    if FAIL == "factory":
        raise RuntimeError("no config")
    if FAIL == "none":
        return None
    if FAIL == "half":
        return Half()
    return Sink(out)


@hookimpl
def register_tracers(register):
    register("broken", make, ("openat", "write", "opnat", "exit_group"), "breaks")
"""


@pytest.fixture
def dists(tmp_path) -> Dists:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    return Dists(plugins)


def add_tracer(dists: Dists, fail: str) -> None:
    dists.add(
        "broken-tracer", {"brokentr": TRACERS.format(fail=fail)}, {"pycoz": {"bt": "brokentr"}}
    )


def error_line(stderr: str) -> str:
    """The one line that is not the warning about the misspelled syscall."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if "'opnat'" not in line]
    assert len(lines) == 1, stderr
    return lines[0]


# --- 7. a broken tracer never hangs ----------------------------------------------------


@pytest.mark.parametrize(
    ("fail", "words"),
    [
        ("none", ["the factory returned None, not a sink"]),
        ("half", ["the sink (Half) has no process, finish"]),
        ("factory", ["tracer 'broken' failed: RuntimeError: no config (brokentr.py:"]),
    ],
)
def test_a_tracer_that_is_no_sink_is_refused_before_tracing(dists, tmp_path, fail, words):
    add_tracer(dists, fail)
    marker = tmp_path / "ran"
    r = dists.run("trace", "--tracer", "broken", "--", "touch", str(marker), timeout=20)
    assert r.returncode == 125
    line = error_line(r.stderr)
    assert "plugin 'bt' (broken-tracer 0.1): tracer 'broken'" in line
    for word in words:
        assert word in line, line
    assert not marker.exists()  # refused before the program started


@pytest.mark.parametrize("where", [(), ("--root",)])
def test_a_sink_raising_on_the_first_event_ends_in_one_line_not_a_hang(dists, where):
    add_tracer(dists, "process")
    r = dists.run("trace", "--tracer", "broken", *where, "--", "echo", "hi", timeout=20)
    assert (r.returncode, r.stdout) == (125, "hi\n"), r.stderr
    line = error_line(r.stderr)
    assert "plugin 'bt' (broken-tracer 0.1): tracer 'broken': process('start') failed" in line
    assert "KeyError: 'boom' (brokentr.py:" in line


# --- 2. a tracer raising during a trace keeps the program's output ---------------------


@pytest.mark.parametrize(("fail", "what"), [("syscall", "syscall()"), ("later", "callable")])
def test_a_tracer_raising_mid_trace_keeps_the_programs_output(dists, fail, what):
    add_tracer(dists, fail)
    script = "for i in 1 2 3 4 5; do echo line$i; done"
    r = dists.run("trace", "--tracer", "broken", "--", "sh", "-c", script, timeout=20)
    assert r.returncode == 125
    assert r.stdout == "".join(f"line{i}\n" for i in range(1, 6))
    line = error_line(r.stderr)
    assert what in line and "ValueError: bad" in line and "brokentr.py:" in line, line
    debug = dists.run("trace", "--tracer", "broken", "--", "true", PYCOZ_DEBUG="1", timeout=20)
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.returncode == 125


# --- 11. a tracer's misspellings and options strace only has -----------------------------


def test_a_misspelled_syscall_of_a_tracer_is_named(dists):
    add_tracer(dists, "nothing")
    r = dists.run("trace", "--tracer", "broken", "--", "echo", "hi", timeout=20)
    assert (r.returncode, r.stdout) == (0, "hi\n"), r.stderr
    (line,) = [line for line in r.stderr.splitlines() if "warning" in line]
    assert "tracer 'broken'" in line and "'opnat'" in line and "misspelled" in line
    assert "'openat'" not in line
    assert "finished" in r.stderr


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["-c"], ["-c and --tracer broken"]),
        (["--json"], ["--json and --tracer broken"]),
        (["-ff", "-o", "OUT"], ["-ff -o and --tracer broken", "-f -o FILE"]),
        (["-tt"], ["-t and --tracer broken"]),
        (["-T"], ["-T and --tracer broken"]),
    ],
)
def test_strace_only_options_with_a_plugin_tracer_are_refused(dists, tmp_path, options, words):
    add_tracer(dists, "nothing")
    options = [str(tmp_path / "out") if o == "OUT" else o for o in options]
    r = dists.run("trace", "--tracer", "broken", *options, "--", "true", timeout=20)
    assert r.returncode == 2
    line = error_line(r.stderr)
    for word in words:
        assert word in line, line


def test_a_plugin_tracer_writes_to_the_output_file(dists, tmp_path):
    add_tracer(dists, "nothing")
    out = tmp_path / "out"
    r = dists.run("trace", "--tracer", "broken", "-o", str(out), "--", "true", timeout=20)
    assert r.returncode == 0, r.stderr
    assert out.read_text() == "finished\n"


# --- 10. hooks see the host a command runs in ----------------------------------------------


def test_lifecycle_hooks_see_the_default_host(dists, tmp_path):
    dists.add(
        "rec",
        {"recplug": RECORDER.format(tag="rec")},
        {"pycoz": {"rec": "recplug"}, "pycoz.lifecycle": {"rec": "recplug"}},
    )
    out = tmp_path / "record.jsonl"
    r = dists.run("root", "--net", "pair", "--", "hostname", PYCOZ_TEST_RECORD=str(out))
    assert (r.returncode, r.stdout) == (0, "h1\n"), r.stderr
    before = [g for g in records(out) if g["hook"] == "before"]
    assert [g["host"] for g in before] == ["h1"]


# --- 12. a container start loads only the plugins with lifecycle hooks --------------------


def test_a_container_start_loads_only_plugins_that_declare_lifecycle_hooks(dists, tmp_path):
    dists.add(
        "rec",
        {"recplug": RECORDER.format(tag="rec")},
        {"pycoz": {"rec": "recplug"}, "pycoz.lifecycle": {"rec": "recplug"}},
    )
    dists.add("other", {"otherplug": "import json\n"}, {"pycoz": {"other": "otherplug"}})
    probe = """
    import json, sys
    from pycoz_cli import Container
    code = Container(hostname="box").run(["true"])
    plugins = ("recplug", "otherplug", "pycoz_ring", "pycoz_files")
    print(json.dumps([code, sorted(m for m in sys.modules if m.startswith(plugins))]))
    """
    out = tmp_path / "record.jsonl"
    r = dists.python(probe, PYCOZ_TEST_RECORD=str(out))
    assert json.loads(r.stdout) == [0, ["recplug"]], r.stderr
    assert [g["hook"] for g in records(out)] == ["before", "after"]
    assert r.stderr == ""
