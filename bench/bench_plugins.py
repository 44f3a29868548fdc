"""Benchmark ``pycoz --help`` with plugins installed, against ``import click``.

    .venv/bin/python bench/bench_plugins.py [--runs N] [--warmup N]

Needs hyperfine and the two example plugins installed in this venv
(``pip install -e plugins/pycoz-ring -e plugins/pycoz-files``): ``pycoz --help``
must list their commands, read from the installed metadata, without importing
them.  A sanity pass checks that first (with ``python -X importtime``), then
hyperfine times every candidate; the bench prints medians, p10/p90 and the
ratios.  hyperfine times one command's runs back to back, so the bench calls it
in rounds, rotating the order, for machine noise to hit every candidate alike.
Goal: ``pycoz --help`` / ``python -c 'import click'`` <= 1.5.  For reference,
``pycoz root -- /bin/true`` with and without autoload shows what external
plugins cost a built-in command; the same with a third, throwaway plugin that
declares lifecycle hooks (entry-point group ``pycoz.lifecycle``) shows what such
a plugin costs: pycoz loads that plugin (and pluggy) to call its hooks, and no
other.  Needs root for those lines.
Nothing here asserts a time (bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import stats

PYTHON = sys.executable
PYCOZ = str(Path(sys.prefix) / "bin" / "pycoz")
GOAL = 1.5
PLUGINS = ("ring", "files")
#: Modules ``pycoz --help`` must not import.
NOT_FOR_HELP = ("pluggy", "pycoz_ring", "pycoz_files", "importlib.metadata", "pyroute2", "ptrace")


def child_env(cache_dir: str) -> dict[str, str]:
    """Bytecode cached in a temporary prefix, as an installed package has it (see
    bench_root.py: an editable pycoz under PYTHONDONTWRITEBYTECODE would be
    compiled on every start, while pip-installed click has its .pyc)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for key in ("PYCOZ_LOAD_PLUGINS", "PYCOZ_DISABLE_PLUGIN_AUTOLOAD"):
        env.pop(key, None)
    env["PYTHONPYCACHEPREFIX"] = cache_dir
    return env


HOOKS_PLUGIN = """
from pycoz_cli.hookspecs import hookimpl


@hookimpl
def pycoz_before_command(argv):
    pass
"""


def hooks_plugin(directory: str) -> str:
    """A distribution in ``directory`` whose plugin declares a lifecycle hook;
    returns the directory, for PYTHONPATH."""
    info = Path(directory) / "benchhooks-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: benchhooks\nVersion: 0.1\n\n")
    (info / "entry_points.txt").write_text(
        "[pycoz]\nbenchhooks = benchhooks\n\n[pycoz.lifecycle]\nbenchhooks = benchhooks\n"
    )
    (Path(directory) / "benchhooks.py").write_text(HOOKS_PLUGIN)
    return directory


def sanity(env: dict[str, str]) -> None:
    listed = subprocess.run(
        [PYCOZ, "plugins", "--json"], capture_output=True, text=True, env=env, check=False
    )
    names = {row["name"] for row in json.loads(listed.stdout or "[]")}
    missing = [p for p in PLUGINS if p not in names]
    if missing:
        raise SystemExit(
            f"bench: plugins {missing} are not installed: "
            f"{PYTHON} -m pip install -e plugins/pycoz-ring -e plugins/pycoz-files"
        )
    shown = subprocess.run([PYCOZ, "--help"], capture_output=True, text=True, env=env, check=True)
    listed = shown.stdout.partition("Plugin commands:")[2]
    if not any(
        line.split()[:1] == ["reach"] and "pycoz-ring" in line for line in listed.splitlines()
    ):
        raise SystemExit("bench: `pycoz --help` does not list the ring plugin's `reach`")
    probe = subprocess.run(
        [PYTHON, "-X", "importtime", "-m", "pycoz_cli", "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    imported = {}
    for line in probe.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|")
            if cumulative.strip().isdigit():
                imported[name.strip()] = int(cumulative)
    bad = [m for m in NOT_FOR_HELP if m in imported]
    if bad:
        raise SystemExit(f"bench: `pycoz --help` imported {bad}")
    ours = sum(us for name, us in imported.items() if name in ("pycoz_cli.cli", "pycoz_cli"))
    print(
        "sanity: `pycoz --help` lists the plugins' commands and imports none of "
        f"{', '.join(NOT_FOR_HELP)} (-X importtime: pycoz_cli + pycoz_cli.cli "
        f"{ours / 1000:.1f} ms cumulative, click {imported.get('click', 0) / 1000:.1f} ms)"
    )


def hyperfine(commands: dict[str, list[str]], runs: int, env) -> dict:
    """label -> (wall seconds of each run, mean CPU seconds (user + system) of the
    runs): one hyperfine call timing each command ``runs`` times."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.json")
        argv = ["hyperfine", "-N", "--style", "none", "--runs", str(runs), "--export-json", out]
        for label, command in commands.items():
            argv += ["--command-name", label, shlex.join(command)]
        done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if done.returncode != 0:  # its warnings about outliers are for people at a prompt
            raise SystemExit(f"bench: hyperfine failed:\n{done.stderr.decode()}")
        with open(out) as f:
            results = json.load(f)["results"]
    return {r["command"]: (r["times"], r["user"] + r["system"]) for r in results}


def interleaved(commands: dict[str, list[str]], rounds: int, per_round: int, env) -> dict:
    """hyperfine runs one command's runs back to back; on a shared machine a burst
    of load then lands on one candidate.  So: ``rounds`` hyperfine calls of
    ``per_round`` runs each, the order of the commands rotated every round."""
    labels = list(commands)
    times: dict[str, tuple[list, list]] = {label: ([], []) for label in labels}
    for r in range(rounds):
        order = labels[r % len(labels) :] + labels[: r % len(labels)]
        got = hyperfine({k: commands[k] for k in order}, per_round, env)
        for label, (walls, cpu) in got.items():
            times[label][0].extend(walls)
            times[label][1].append(cpu)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12, help="hyperfine calls (default 12)")
    parser.add_argument("--per-round", type=int, default=4, help="runs per round (default 4)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first (default 3)")
    args = parser.parse_args()
    if shutil.which("hyperfine") is None:
        raise SystemExit("bench: hyperfine is not installed (apt-get install hyperfine)")
    version = subprocess.run(["hyperfine", "--version"], capture_output=True, text=True)
    print(f"python {sys.version.split()[0]}, {version.stdout.strip()}, load {os.getloadavg()}")
    cache = tempfile.mkdtemp(prefix="pycoz-bench-pyc-")
    hooks = hooks_plugin(tempfile.mkdtemp(prefix="pycoz-bench-hooks-"))
    try:
        env = child_env(cache)
        sanity(env)
        anchor = "python -c 'import click'"
        main_line = "pycoz --help (2 plugins installed)"
        disable = ["env", "PYCOZ_DISABLE_PLUGIN_AUTOLOAD=1"]
        commands = {
            anchor: [PYTHON, "-c", "import click"],
            main_line: [PYCOZ, "--help"],
            "pycoz --help, autoload off (+ env exec)": [*disable, PYCOZ, "--help"],
            "pycoz reach --help (imports that command)": [PYCOZ, "reach", "--help"],
            "pycoz plugins (imports every plugin)": [PYCOZ, "plugins"],
            "pycoz root -- /bin/true (looks for hooks)": [PYCOZ, "root", "--", "/bin/true"],
            "pycoz root -- /bin/true, autoload off": [*disable, PYCOZ, "root", "--", "/bin/true"],
            "pycoz root -- /bin/true, + a hooks plugin": [
                "env",
                f"PYTHONPATH={hooks}",
                PYCOZ,
                "root",
                "--",
                "/bin/true",
            ],
            "python -c 'import click, importlib.metadata'": [
                PYTHON,
                "-c",
                "import click, importlib.metadata",
            ],
        }
        hyperfine(commands, args.warmup, env)  # warm-up: bytecode cached, files in page cache
        times = interleaved(commands, args.rounds, args.per_round, env)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(hooks, ignore_errors=True)
    runs = args.rounds * args.per_round
    print(
        f"\n== timings: {runs} runs each: {args.rounds} hyperfine -N calls of "
        f"{args.per_round} runs, order rotated; {args.warmup} warm-up runs"
    )
    print("(cpu: user + system, the median of the rounds' means; less moved by other load)")
    print(f"{'candidate':<46} {'median':>7} {'p10':>7} {'p90':>7} {'cpu':>7}   ms")
    medians, cpus = {}, {}
    for label, (walls, cpu) in times.items():
        median, p10, p90 = stats(walls)
        medians[label], cpus[label] = median, stats(cpu)[0]
        print(
            f"{label:<46} {median * 1e3:7.1f} {p10 * 1e3:7.1f} {p90 * 1e3:7.1f} "
            f"{cpus[label] * 1e3:7.1f}"
        )
    print(f"\n== ratios to {anchor}: of the wall medians (of the cpu)")
    for label in commands:
        if label == anchor:
            continue
        ratio = medians[label] / medians[anchor]
        cpu_ratio = cpus[label] / cpus[anchor]
        goal = ""
        if label == main_line:
            goal = f"  goal <= {GOAL}: {'met' if ratio <= GOAL else 'MISSED'}"
        print(f"{label:<46} {ratio:5.2f} ({cpu_ratio:4.2f}){goal}")


if __name__ == "__main__":
    main()
