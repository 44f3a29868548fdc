"""The documented network examples work as written: the README's `pycoz net` block,
`pycoz net --help` and `net set --help` (the man pages are made from them), every
README line that fetches from a topology's server, the README's Python example,
the topology files' own usage lines, and the reference's EXAMPLE file.

Named topologies are renamed for the test (``lab`` becomes a unique name), and
commands run from the repository's root, as the relative paths in them expect.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import PYCOZ, REPO

#: Template lines: they name a program of the reader's, not one that exists.
PLACEHOLDERS = ("./my-client",)
#: `net prune` removes every broken topology on the machine, also other people's.
NOT_RUN = ("pycoz net prune",)


def sh_blocks(text: str) -> list[list[str]]:
    """The ```sh blocks of a Markdown text, as lists of lines."""
    return [block.splitlines() for block in re.findall(r"```sh\n(.*?)```", text, re.DOTALL)]


def commands(line: str) -> list[str]:
    """The commands on one example line, for sh: comment removed, split at ';'."""
    text = re.sub(r"\s+#\s.*$", "", line)
    return [c.strip() for c in text.split(";") if c.strip()]


def run(command: str, name: str, timeout: float = 60) -> subprocess.CompletedProcess:
    command = re.sub(r"(?<![\w./-])lab(?![\w./])", name, command)
    env = {**os.environ, "PATH": f"{os.path.dirname(PYCOZ)}:{os.environ['PATH']}"}
    return subprocess.run(
        ["sh", "-c", command],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_all(lines: list[str], name: str) -> None:
    """Run each example in order (later lines use what earlier ones made)."""
    try:
        for line in lines:
            if any(p in line for p in PLACEHOLDERS):
                continue
            for command in commands(line):
                if command in NOT_RUN:
                    continue
                r = run(command, name)
                assert r.returncode == 0, f"{command}: exit {r.returncode}\n{r.stderr}"
    finally:
        run(f"pycoz net down {name}", name)


def test_readme_net_block(unique):
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## `pycoz net`") : readme.index("## `pycoz trace`")]
    (block,) = sh_blocks(section)[:1]
    run_all(block, unique)


def help_examples(*args: str) -> list[str]:
    out = subprocess.run([PYCOZ, *args, "--help"], capture_output=True, text=True, check=True)
    text = out.stdout
    tail = text[text.index("Example") :].split("\n\n")[0]
    return [line.strip() for line in tail.splitlines()[1:] if line.strip()]


@pytest.mark.parametrize("args", [["net"], ["net", "set"]], ids=["net", "net-set"])
def test_help_examples(unique, args):
    lines = help_examples(*args)
    assert lines, "no examples"
    run_all(lines, unique)


def test_readme_lines_that_fetch_from_a_server_get_an_answer(unique):
    readme = (REPO / "README.md").read_text()
    lines = [
        line
        for block in sh_blocks(readme)
        for line in block
        if line.startswith("pycoz ") and "http://server:" in line
    ]
    assert len(lines) >= 2
    for line in lines:
        (command,) = commands(line)
        r = run(command, unique)
        assert r.returncode == 0, f"{command}: exit {r.returncode}\n{r.stderr}"
        if "--tracer" not in command:
            assert "Directory listing" in r.stdout, r.stdout


def test_readme_python_network_example():
    readme = (REPO / "README.md").read_text()
    (code,) = [b for b in re.findall(r"```python\n(.*?)```", readme, re.DOTALL) if "Network(" in b]
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert "Directory listing" in r.stdout


EXAMPLES = sorted((REPO / "examples" / "topologies").glob("*.toml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_topology_files_usage_lines(unique, path):
    lines = [
        line.removeprefix("#").strip()
        for line in path.read_text().splitlines()
        if line.startswith("#   pycoz ")
    ]
    assert lines, f"{path.name} shows no usage"
    run_all(lines, unique)


def test_reference_example_serves_the_client(tmp_path):
    doc = (REPO / "docs" / "topology-format.md").read_text()
    (example,) = re.findall(r"```toml\n(.*?)```", doc, re.DOTALL)
    assert "/tmp" not in example  # a host command writes nothing on the machine
    lab = tmp_path / "lab.toml"
    lab.write_text(example)
    r = run(f"pycoz net run {lab} --host client -- curl -sS -m 20 http://server:8000/", "x")
    assert r.returncode == 0, r.stderr
    assert "Directory listing" in r.stdout
