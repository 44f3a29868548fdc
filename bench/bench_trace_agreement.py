"""How many of ``pycoz trace``'s lines are strace's, next to strace against itself.

    .venv/bin/python bench/bench_trace_agreement.py [--rounds N]   (as root)

Each command runs three times per option set: twice under strace 6.1 and once
under ``pycoz trace`` with the same options.  The lines are normalised (pids,
pointers, ports, inodes, times: what differs between two runs of the same
program) and compared as multisets; the share of identical lines is printed
for strace against strace (its own run-to-run agreement, the anchor) and for
pycoz against strace, per command and option set, with the medians.  The
network command runs in a network namespace of its own (loopback only).

The issue's goal: pycoz's share at least the anchor's minus one point.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

PYCOZ = os.path.join(os.path.dirname(sys.executable), "pycoz")
STRACE = shutil.which("strace") or "strace"
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

OPTIONS = {
    "-f": ["-f"],
    "-y": ["-f", "-y"],
    "-yy": ["-f", "-yy"],
    "%file": ["-f", "-e", "trace=%file"],
    "%network": ["-f", "-e", "trace=%network"],
}

_NORMAL = [
    (re.compile(r"^\[pid +\d+\] |^\d+ +"), ""),
    (re.compile(r"0x[0-9a-f]{6,}"), "0xADDR"),
    (re.compile(r"\) +="), ") ="),
    (
        re.compile(r"(pipe|socket|TCP|UDP|UDPv6|TCPv6|UNIX-STREAM|UNIX-DGRAM|NETLINK):\[\d+"),
        r"\1:[INO",
    ),
    (re.compile(r"->\d+\]"), "->INO]"),
    (re.compile(r"htons\(\d+\)"), "htons(PORT)"),
    (re.compile(r":\d{4,5}([\]-])"), r":PORT\1"),
    (re.compile(r"(nl_pid|pid|si_pid|tid)=\d+"), r"\1=N"),
    (re.compile(r"(tv_sec|tv_nsec|tv_usec|st_atime|st_mtime|st_ctime)=\d+"), r"\1=T"),
    (re.compile(r"= \d{3,7}$"), "= N"),
    (re.compile(r"getrandom\(\"[^\"]*\""), 'getrandom("R"'),
    (re.compile(r"/tmp/agree\w+"), "/tmp/AGREE"),
    (re.compile(r"pid:\d+|\(\d{3,7}, |\[\d{3,7}\]"), "PID"),
    (re.compile(r"nlmsg_seq=\d+|nlmsg_pid=-?\d+"), "NL"),
]


def normal(line: str) -> str:
    for pattern, repl in _NORMAL:
        line = pattern.sub(repl, line)
    return line


def lines(path: str) -> list[str]:
    with open(path, errors="surrogateescape") as f:
        return [normal(x) for x in f.read().splitlines() if not x.startswith("+++")]


def share(a: list[str], b: list[str]) -> float:
    if not a and not b:
        return 100.0
    same = sum((collections.Counter(a) & collections.Counter(b)).values())
    return 100.0 * same / max(len(a), len(b))


def commands(tmp: str) -> dict:
    src = os.path.join(tmp, "src")
    os.makedirs(src, exist_ok=True)
    for k in range(20):
        with open(os.path.join(src, f"f{k}"), "w") as f:
            f.write("x" * (k * 100))
    os.makedirs(os.path.join(tmp, "www"), exist_ok=True)
    with open(os.path.join(tmp, "www", "index.html"), "w") as f:
        f.write("hello\n")
    client = (
        "import urllib.request, time\n"
        "for _ in range(50):\n"
        "    try:\n"
        "        print(len(urllib.request.urlopen('http://127.0.0.1:8765/').read())); break\n"
        "    except OSError: time.sleep(0.1)\n"
    )
    return {
        "ls": ["ls", "-la", src],
        "cat": ["cat", "/etc/passwd"],
        "cp": ["cp", "-r", src, os.path.join(tmp, "copy")],
        "tar": ["tar", "cf", os.path.join(tmp, "a.tar"), "-C", tmp, "src"],
        "find": ["find", src, "-type", "f", "-newer", "/etc/hostname"],
        "gzip": ["gzip", "-c", "/etc/services"],
        "ip-addr": ["ip", "-o", "addr", "show", "dev", "lo"],
        "http-client": ["@net", PYTHON, "-c", client],
    }


def run(tracer: list, options: list, argv: list, out: str, tmp: str) -> None:
    for leftover in ("copy", "a.tar"):
        path = os.path.join(tmp, leftover)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.unlink(path)
    traced = [*tracer, "-o", out, *options, *argv]
    if argv[0] == "@net":  # a server in a network namespace of the run's own
        traced = [*tracer, "-o", out, *options, *argv[1:]]
        script = (
            "ip link set lo up; "
            f"{PYTHON} -m http.server -b 127.0.0.1 8765 -d {tmp}/www >/dev/null 2>&1 & "
            f"{' '.join(map(_sh, traced))}; kill $!; wait"
        )
        traced = ["unshare", "-n", "sh", "-c", script]
    subprocess.run(traced, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _sh(word: str) -> str:
    import shlex

    return shlex.quote(word)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--pycoz", default=PYCOZ, help="the pycoz to measure (another checkout's)")
    parser.add_argument("--only", help="comma-separated option sets (" + ",".join(OPTIONS) + ")")
    args, _ = parser.parse_known_args()  # run_all.sh passes every bench the same options
    wanted = args.only.split(",") if args.only else list(OPTIONS)
    print(f"{'command':<12} {'options':<9} {'strace/strace':>13} {'pycoz/strace':>12}")
    summary: dict = collections.defaultdict(lambda: ([], []))
    with tempfile.TemporaryDirectory(prefix="agree") as tmp:
        for name, argv in commands(tmp).items():
            for label in wanted:
                options = OPTIONS[label]
                anchors, ours = [], []
                for _ in range(args.rounds):
                    outs = [os.path.join(tmp, f"out{k}") for k in range(3)]
                    run([STRACE], options, argv, outs[0], tmp)
                    run([args.pycoz, "trace"], options, argv, outs[1], tmp)
                    run([STRACE], options, argv, outs[2], tmp)
                    ref = lines(outs[0])
                    anchors.append(share(ref, lines(outs[2])))
                    ours.append(share(ref, lines(outs[1])))
                a, o = statistics.median(anchors), statistics.median(ours)
                summary[label][0].append(a)
                summary[label][1].append(o)
                print(f"{name:<12} {label:<9} {a:>12.1f}% {o:>11.1f}%", flush=True)
    for label, (a, o) in summary.items():
        print(
            f"{'median':<12} {label:<9} {statistics.median(a):>12.1f}% "
            f"{statistics.median(o):>11.1f}%"
        )


if __name__ == "__main__":
    main()
