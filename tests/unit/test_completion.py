"""Tab completion through the committed scripts, in real interactive bash, zsh and fish.

Each case starts the shell on a pseudo-terminal with the script from completions/
installed where that shell looks for it, types a line and a TAB, and reads the
line editor's buffer back (tests/shells.py).  The protocol tests below ask the
installed ``pycoz`` directly, as the scripts do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests import shells
from tests.conftest import PYCOZ, REPO

SCRIPTS = REPO / "completions"
ALL_SHELLS = [
    pytest.param(s, marks=pytest.mark.skipif(not shells.available(s), reason=f"{s} not installed"))
    for s in ("bash", "zsh", "fish")
]


@pytest.fixture
def complete(tmp_path):
    def run(shell, text, cwd=None, path=""):
        home = tmp_path / f"home-{shell}"
        home.mkdir(exist_ok=True)
        return shells.complete(shell, text, SCRIPTS, home, cwd=cwd, path=path)

    return run


# (typed, buffer after one TAB): the same in every shell.
CASES = [
    ("pycoz net ru", "pycoz net run "),
    ("pycoz comp", "pycoz completion "),
    ("pycoz completion fi", "pycoz completion fish "),
    ("pycoz net run pa", "pycoz net run pair "),
    ("pycoz net run star:h", "pycoz net run star:hosts="),
    ("pycoz root --net dualstack --host cl", "pycoz root --net dualstack --host client "),
    ("pycoz net run chain:routers=3 --host r3", "pycoz net run chain:routers=3 --host r3 "),
    ("pycoz net run star:hosts=2 --impair h2-", "pycoz net run star:hosts=2 --impair h2-s1 "),
    ("pycoz root --net=v6rej", "pycoz root --net=v6rejected "),
    ("pycoz root --net pair --impair h1-h2:jit", "pycoz root --net pair --impair h1-h2:jitter="),
    ("pycoz trace -e trace=%netw", "pycoz trace -e trace=%network "),
    ("pycoz trace -e trace=execve,socketp", "pycoz trace -e trace=execve,socketpair "),
    ("pycoz trace -e trace=!clone,fork,vfor", "pycoz trace -e trace=!clone,fork,vfork "),
    ("pycoz trace -e stat", "pycoz trace -e status="),
    ("pycoz trace -e status=fai", "pycoz trace -e status=failed "),
    ("pycoz trace -e inject=openat:err", "pycoz trace -e inject=openat:error="),
    ("pycoz trace -e inject=openat:error=ENOEN", "pycoz trace -e inject=openat:error=ENOENT "),
    ("pycoz trace --tracer sock", "pycoz trace --tracer sockets "),
    ("pycoz trace --no-secc", "pycoz trace --no-seccomp "),
    ("pycoz root --propagation pri", "pycoz root --propagation private "),
    ("pycoz she", "pycoz shell "),
    ("pycoz shell --net dualstack --host ser", "pycoz shell --net dualstack --host server "),
    ("pycoz shell --trace -e trace=%netw", "pycoz shell --trace -e trace=%network "),
    ("pycoz shell --trace --summary-o", "pycoz shell --trace --summary-only "),
]


@pytest.mark.parametrize("shell", ALL_SHELLS)
@pytest.mark.parametrize(("typed", "expected"), CASES, ids=[c[0] for c in CASES])
def test_completes_in_the_shell(complete, shell, typed, expected):
    buffer, _ = complete(shell, typed)
    assert buffer == expected


@pytest.mark.parametrize("shell", ALL_SHELLS)
def test_paths_for_base_and_after_the_colon_of_bind(complete, shell, tmp_path, unique):
    work = tmp_path / "work"
    (work / f"{unique}-root").mkdir(parents=True)
    (work / f"{unique}-file").write_text("")
    buffer, _ = complete(shell, f"pycoz root --base {unique}-r", cwd=work)
    assert buffer == f"pycoz root --base {unique}-root/"
    buffer, _ = complete(shell, f"pycoz root --bind /etc/hostname:{unique}-f", cwd=work)
    assert buffer == f"pycoz root --bind /etc/hostname:{unique}-file "


@pytest.mark.parametrize("shell", ALL_SHELLS)
def test_topology_files_and_their_hosts(complete, shell, tmp_path, unique):
    work = tmp_path / "work"
    work.mkdir()
    (work / f"{unique}.toml").write_text(
        '[hosts.alpha]\n[hosts.beta]\n[[links]]\na = "alpha"\nb = "beta"\n'
    )
    buffer, _ = complete(shell, f"pycoz net run {unique[:-1]}", cwd=work)
    assert buffer == f"pycoz net run {unique}.toml "
    buffer, _ = complete(shell, f"pycoz net run {unique}.toml --host be", cwd=work)
    assert buffer == f"pycoz net run {unique}.toml --host beta "


@pytest.mark.parametrize("shell", ALL_SHELLS)
def test_links_by_name_and_their_keys(complete, shell, tmp_path, unique):
    """Two links between the same nodes: offered by name, and a label with
    interfaces in it still gets its keys."""
    work = tmp_path / "work"
    work.mkdir()
    links = "".join(
        f'[[links]]\nname = "{name}"\na = "alpha"\nb = "beta"\n' for name in ("wan1", "uplink")
    )
    (work / f"{unique}.toml").write_text("[hosts.alpha]\n[hosts.beta]\n" + links)
    run = f"pycoz net run {unique}.toml --impair"
    assert complete(shell, f"{run} up", cwd=work)[0] == f"{run} uplink "
    assert complete(shell, f"{run} uplink:dup", cwd=work)[0] == f"{run} uplink:duplicate"
    typed = f"{run} alpha:eth1-beta:eth1:lim"
    assert complete(shell, typed, cwd=work)[0] == f"{run} alpha:eth1-beta:eth1:limit="


@pytest.mark.parametrize("shell", ALL_SHELLS)
def test_a_command_after_the_double_dash_then_its_files(complete, shell, tmp_path, unique):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / f"{unique}-program"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    (work / f"{unique}-data").write_text("")
    buffer, _ = complete(shell, f"pycoz root -- {unique}-pro", cwd=work, path=f"{bin_dir}:")
    assert buffer == f"pycoz root -- {unique}-program "
    buffer, _ = complete(shell, f"pycoz root -- {unique}-program {unique}-d", cwd=work)
    assert buffer == f"pycoz root -- {unique}-program {unique}-data "


@pytest.mark.skipif(not shells.available("bash"), reason="bash-completion not installed")
def test_bash_lists_the_hosts_of_the_topology_given_before(complete):
    buffer, listed = complete("bash", "pycoz root --net chain:routers=2 --host ")
    assert buffer == "pycoz root --net chain:routers=2 --host "
    assert listed.split("\n")[1:5] == ["h1", "r1", "r2", "h2"]


@pytest.mark.skipif(not shells.available("bash"), reason="bash-completion not installed")
def test_bash_lists_syscalls_and_classes_after_trace(complete):
    _, listed = complete("bash", "pycoz trace -e trace=%n")
    assert set(listed.split("\n")[1:3]) == {"%network", "%net"}
    _, listed = complete("bash", "pycoz trace -e trace=read,open")
    assert {"read,open", "read,openat"} <= set(listed.split("\n"))


@pytest.mark.skipif(not shells.available("fish"), reason="fish not installed")
def test_fish_shows_descriptions(complete):
    _, listed = complete("fish", "pycoz trace --tracer ")
    assert "socket" in listed and "sockets" in listed


# --- the protocol, asked directly ------------------------------------------------------


def ask(line: str, shell: str = "bash", **env) -> list[list[str]]:
    """What ``pycoz`` answers the script for LINE: rows of KIND, VALUE, HELP."""
    out = subprocess.run(
        [PYCOZ],
        env={**os.environ, "COMP_LINE": line, "_PYCOZ_COMPLETE": f"{shell}_complete", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return [row.split("\t") for row in out.stdout.splitlines() if row]


def test_every_command_and_option_is_offered():
    import click

    from pycoz_cli.cli import cli

    def walk(command, path):
        ctx = click.Context(command, info_name=path[-1], **command.context_settings)
        if isinstance(command, click.Group):
            names = command.list_commands(ctx)
            offered = [r[1] for r in ask(" ".join(path) + " ")]
            assert offered == names, path
            for name in names:
                walk(command.get_command(ctx, name), [*path, name])
        options = [
            o for p in command.get_params(ctx) if isinstance(p, click.Option) for o in p.opts
        ]
        offered = {r[1] for r in ask(" ".join(path) + " -")}
        missing = {o for o in options if o.startswith("--")} - offered
        assert not missing, (path, missing)

    walk(cli, ["pycoz"])


def test_pids_with_their_command_names():
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        rows = ask(f"pycoz trace -p {sleeper.pid}", "fish")
        assert [str(sleeper.pid), "sleep"] in [r[1:] for r in rows]
        assert all(r[1].startswith(str(sleeper.pid)) for r in rows)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_zsh_and_fish_get_what_their_scripts_expect():
    # zsh: the prefix that compset sets aside first, then the rest of each candidate.
    out = subprocess.run(
        [PYCOZ],
        env={
            **os.environ,
            "COMP_LINE": "pycoz trace -e trace=read,openat",
            "_PYCOZ_COMPLETE": "zsh_complete",
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out[0] == "trace=read,"
    assert "plain\topenat\t" in out and "plain\topenat2\t" in out
    # fish: whole tokens.
    assert ["plain", "trace=read,openat", ""] in ask("pycoz trace -e trace=read,openat", "fish")


def test_a_failing_completion_offers_nothing():
    assert ask("pycoz net run no-such-topology --host ") == []
    assert ask("pycoz root --net ./no-such-file.toml --host ") == []


def test_completion_command_prints_the_committed_scripts():
    for shell, name in (("bash", "pycoz.bash"), ("zsh", "_pycoz"), ("fish", "pycoz.fish")):
        out = subprocess.run([PYCOZ, "completion", shell], capture_output=True, text=True)
        assert out.returncode == 0
        assert out.stdout == (SCRIPTS / name).read_text()


def test_completion_for_an_unknown_shell_is_one_line_exit_2():
    out = subprocess.run([PYCOZ, "completion", "tcsh"], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.count("\n") == 1
    assert out.stderr.startswith("pycoz completion: no completion script for shell 'tcsh'")


HEAVY = ("pyroute2", "ptrace", "cffi", "_cffi_backend")


@pytest.mark.parametrize(
    "line",
    [
        "pycoz net run ",
        "pycoz root --net pair --host ",
        "pycoz trace -e trace=open",
        "pycoz trace --tracer ",
        "pycoz net ",
        "pycoz root --base /",
    ],
)
def test_completion_imports_nothing_heavy(line):
    probe = (
        "import sys, json\n"
        "from pycoz_cli.cli import main\n"
        "main()\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.__stderr__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "COMP_LINE": line, "_PYCOZ_COMPLETE": "bash_complete"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip(), "no candidates: the probe did not complete anything"
    modules = json.loads(out.stderr.strip().splitlines()[-1])
    assert not [m for m in modules if m.split(".")[0] in HEAVY]
    assert "pycoz_cli.core.net.named" not in modules


def test_commands_import_the_callbacks_but_not_the_completion_machinery():
    probe = (
        "import sys, json, pycoz_cli.cli.net, pycoz_cli.cli.trace, pycoz_cli.cli.root\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    modules = set(json.loads(out.stdout))
    assert "pycoz_cli.cli.complete" in modules
    assert "click.shell_completion" not in modules
    assert "pycoz_cli.cli.completion" not in modules
