"""Man pages and completion scripts cannot drift from the Click tree.

The committed files must be what tools/gen_docs.py writes now; every command and
option must be in its page; every page must render without a warning from groff
and from mandoc's linter.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys

import click
import pytest

from tests.conftest import PYCOZ, REPO

PAGES = sorted((REPO / "man").glob("pycoz*.[15]"))


def gen_docs():
    spec = importlib.util.spec_from_file_location("gen_docs", REPO / "tools" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def plain(page: str) -> str:
    """The words of a roff page, without its escapes."""
    text = page.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\")
    return re.sub(r"\\f[BIRP]", "", text)


def test_committed_files_are_what_the_generator_writes():
    generated = gen_docs().generate()
    committed = {
        f"{d}/{p.name}": p.read_text() for d in ("man", "completions") for p in (REPO / d).iterdir()
    }
    assert sorted(committed) == sorted(generated)
    stale = [name for name in generated if committed[name] != generated[name]]
    assert not stale, f"run python tools/gen_docs.py: {stale} differ"


def test_check_mode_fails_on_a_stale_page(tmp_path):
    module = gen_docs()
    module.REPO = tmp_path
    (tmp_path / "man").mkdir()
    (tmp_path / "completions").mkdir()
    assert module.main(["--check"]) == 1  # nothing written yet: every file is stale
    assert module.main([]) == 0
    assert module.main(["--check"]) == 0
    (tmp_path / "man" / "pycoz-root.1").write_text(".TH OLD 1\n")
    assert module.main(["--check"]) == 1


def test_every_command_and_option_is_in_its_page():
    from pycoz_cli.cli import cli

    ctx = click.Context(cli, info_name="pycoz", **cli.context_settings)
    main_page = plain((REPO / "man" / "pycoz.1").read_text())
    names = gen_docs().builtin_commands(ctx)
    assert {"root", "net", "trace", "completion"} <= set(names)
    for name in names:
        command = cli.get_command(ctx, name)
        assert f"pycoz-{name}(1)" in main_page.replace("\n", " ")
        page = plain((REPO / "man" / f"pycoz-{name}.1").read_text())
        commands = [(command, ctx)]
        if isinstance(command, click.Group):
            sub_ctx = click.Context(command, info_name=name, parent=ctx)
            for sub_name in command.list_commands(sub_ctx):
                assert f".SS {sub_name}" in page
                sub = command.get_command(sub_ctx, sub_name)
                commands.append((sub, click.Context(sub, info_name=sub_name, parent=sub_ctx)))
        for cmd, cmd_ctx in commands:
            for param in cmd.get_params(cmd_ctx):
                if isinstance(param, click.Option) and param.name != "help":
                    for opt in param.opts:
                        assert re.search(rf"(^|[ ,]){re.escape(opt)}\b", page, re.M), (name, opt)
        assert ".SH EXAMPLES" in page, name
        assert ".SH EXIT STATUS" in page and "125" in page and "127" in page, name


def test_topology_page_has_the_format_documents_sections():
    page = plain((REPO / "man" / "pycoz-topology.5").read_text())
    assert page.startswith(".TH PYCOZ-TOPOLOGY 5 ")
    doc = (REPO / "docs" / "topology-format.md").read_text()
    for heading in re.findall(r"^## (.+)$", doc, re.M):
        if heading != "NAME":
            assert f".SH {heading.upper()}" in page
    assert "a_to_b" in page and "blackhole" in page


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff (groff-base) not installed")
@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_groff_renders_without_warnings(page):
    out = subprocess.run(
        ["groff", "-ww", "-man", "-Tutf8", "-z", str(page)], capture_output=True, text=True
    )
    assert out.returncode == 0
    assert out.stderr == ""


@pytest.mark.skipif(shutil.which("mandoc") is None, reason="mandoc not installed")
@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_mandoc_lint_is_clean(page):
    out = subprocess.run(["mandoc", "-T", "lint", str(page)], capture_output=True, text=True)
    assert (out.stdout + out.stderr) == ""
    assert out.returncode == 0


@pytest.mark.skipif(shutil.which("man") is None, reason="man-db not installed")
def test_man_renders_the_trace_page():
    out = subprocess.run(
        ["man", "-l", str(REPO / "man" / "pycoz-trace.1")],
        capture_output=True,
        text=True,
        env={**os.environ, "MANPAGER": "cat", "MANWIDTH": "80", "MAN_KEEP_FORMATTING": ""},
    )
    assert out.returncode == 0
    assert out.stderr == ""
    assert "pycoz trace [OPTIONS] [[--] COMMAND [ARG]...]" in out.stdout


def test_pip_install_puts_pages_and_scripts_where_man_and_the_shells_look(tmp_path):
    import sys

    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", wheels, REPO], check=True, timeout=300)
    prefix = tmp_path / "prefix"
    wheel = next(wheels.glob("pycoz-*.whl"))
    # --ignore-installed: never touch the pycoz installed in this environment
    subprocess.run(
        [*pip, "install", "--no-deps", "--ignore-installed", "--prefix", prefix, wheel], check=True
    )
    share = prefix / "share"
    installed = {str(p.relative_to(share)) for p in share.rglob("*") if p.is_file()}
    assert {
        "man/man1/pycoz.1",
        "man/man1/pycoz-trace.1",
        "man/man5/pycoz-topology.5",
        "bash-completion/completions/pycoz.bash",
        "zsh/site-functions/_pycoz",
        "fish/vendor_completions.d/pycoz.fish",
    } <= installed
    assert {f"man/man1/{p.name}" for p in PAGES if p.suffix == ".1"} <= installed
    env = {**os.environ, "PATH": f"{prefix / 'bin'}:/usr/bin:/bin"}
    env.pop("MANPATH", None)
    if shutil.which("man"):  # man-db finds PREFIX/share/man from PREFIX/bin on PATH
        out = subprocess.run(["man", "-w", "pycoz-trace"], env=env, capture_output=True, text=True)
        assert out.stdout.strip() == str(share / "man" / "man1" / "pycoz-trace.1")
    loader = "/usr/share/bash-completion/bash_completion"
    if os.path.exists(loader):  # bash-completion's loader, given the prefix's share
        out = subprocess.run(
            ["bash", "-c", f". {loader}; __load_completion pycoz && complete -p pycoz"],
            env={**env, "XDG_DATA_DIRS": f"{share}:/usr/share"},
            capture_output=True,
            text=True,
        )
        assert out.stdout.strip() == "complete -o nosort -F _pycoz_completion pycoz"


def readme_section(title: str) -> str:
    text = (REPO / "README.md").read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def shell_lines(section: str) -> list[str]:
    """The lines of the ```sh blocks of a README section."""
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_readme_completion_install_lines_work_in_a_fresh_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "PATH": f"{os.path.dirname(PYCOZ)}:/usr/bin:/bin",
        "PYCOZ_DISABLE_PLUGIN_AUTOLOAD": "1",
    }
    installs = [li for li in shell_lines(readme_section("Tab completion and man pages"))]
    installs = [li for li in installs if "pycoz completion" in li and " > " in li]
    assert len(installs) == 3, installs
    for line in installs:
        r = subprocess.run(["bash", "-c", line], env=env, capture_output=True, text=True)
        assert r.returncode == 0, (line, r.stderr)
    for where in (
        ".local/share/bash-completion/completions/pycoz",
        ".zfunc/_pycoz",
        ".config/fish/completions/pycoz.fish",
    ):
        assert (home / where).read_text().startswith("#"), where
    loader = "/usr/share/bash-completion/bash_completion"
    if os.path.exists(loader):  # bash-completion finds it there, in a user's own home
        r = subprocess.run(
            ["bash", "-c", f". {loader}; __load_completion pycoz && complete -p pycoz"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert r.stdout.strip() == "complete -o nosort -F _pycoz_completion pycoz", r.stderr


def test_quick_start_says_how_to_put_pycoz_on_path():
    lines = [li for li in shell_lines(readme_section("Quick start")) if "PATH" in li]
    assert len(lines) == 1, lines
    # As written, with this venv standing for the quick start's /opt/pycoz.
    line = lines[0].split("#")[0].replace("/opt/pycoz", sys.prefix)
    r = subprocess.run(
        ["bash", "-c", f"{line}\ncommand -v pycoz"],
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
        capture_output=True,
        text=True,
    )
    assert r.stdout.strip() == f"{sys.prefix}/bin/pycoz", (line, r.stderr)


def test_every_document_named_is_in_the_repository():
    files = subprocess.run(
        ["git", "ls-files", "*.py", "*.md", "*.sh", "*.toml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    documents = {name for name in files if name.endswith(".md")}
    missing = []
    for name in files:
        for doc in set(re.findall(r"[\w./-]*\w\.md\b", (REPO / name).read_text())):
            # A path from the top, or a name (a path join's last part) of one.
            if not any(d == doc or d.endswith(f"/{doc}") for d in documents):
                missing.append(f"{name}: {doc}")
    assert not missing
