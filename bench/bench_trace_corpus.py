"""``pycoz trace`` against strace on a corpus of real programs, as ratios.

    .venv/bin/python bench/bench_trace_corpus.py [--runs N] [--only WORD]   (as root)

``bench_trace.py`` times one ``dd`` loop; this times what people trace: about
forty real commands nobody here wrote for the tracer (coreutils, tar, gzip, xz,
find, sort, du, gcc and make on a small project, git on a scratch repository,
curl, wget and bash's /dev/tcp against a Python http.server, ping, ip, ss, and
Python programs with threads, multiprocessing, asyncio, selectors, inotify,
SCM_RIGHTS, signals and timers).  The whole bench runs in a network namespace
of its own (it re-executes itself under ``unshare --net``), so the servers,
clients and pings use that namespace's loopback and nothing else.

For every command, each round runs three candidates interleaved (the order
rotates): the command untraced, ``strace -f -o FILE`` and ``pycoz trace -f -o
FILE``.  It prints the median wall time of each, the pycoz/strace ratio, the
median ratio over the corpus and over the commands that run at least 200 ms
untraced, and the largest ratio.  Goals (issue 15): median <= 1.5x for those of
>= 200 ms, none above 2.5x.

Then the filtered case: ``pycoz trace -f -e trace=%network -o FILE`` against
``strace -f --seccomp-bpf -e trace=%network -o FILE`` on the same corpus (goal:
median <= 1.5x), and start-up: ``pycoz trace -e trace=none -- /bin/true``
against ``python -c 'import click'`` with pycoz's interpreter (goal: <= 1.2x).

Both comparisons also print a **floor**: for each command, ``native + import
click`` against strace, what a tracer written in Python on click would reach
if it cost nothing but its interpreter's start-up.  Where that floor is above a
goal, no Python tracer meets the goal on that command.

CPU time (user + system of the whole process tree, from wait4) is printed next
to wall time: on a loaded machine wall time carries others' noise.
io_uring is in the corpus only when the Python on PATH can drive it (it has no
module for it), so it is left out here, and said so.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from benchlib import child_env

PYCOZ = str(Path(sys.prefix) / "bin" / "pycoz")
#: The traced Python programs' interpreter: the system's, else this one (never
#: a shim, such as pyenv's, that is a shell script running more processes).
PYTHON3 = (
    "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else os.path.realpath(sys.executable)
)
#: Commands that run at least this long untraced are the ones the goal is about.
LONG = 0.200
GOAL_LONG, GOAL_MAX, GOAL_FILTERED, GOAL_STARTUP = 1.5, 2.5, 1.5, 1.2
PORT = 8765

_PY_THREADS = """
import threading, os
def work(n):
    for i in range(300):
        os.stat("/etc/hostname"); os.getpid()
ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
"""
_PY_MULTI = """
import multiprocessing as mp
def sq(x):
    return x * x
if __name__ == "__main__":
    with mp.Pool(4) as p:
        print(sum(p.map(sq, range(2000))))
"""
_PY_ASYNCIO = """
import asyncio
async def handle(r, w):
    data = await r.read(100); w.write(data); await w.drain(); w.close()
async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    for i in range(200):
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"hello"); await w.drain(); await r.read(100); w.close()
    srv.close(); await srv.wait_closed()
asyncio.run(main())
"""
_PY_SELECTORS = """
import selectors, socket
sel = selectors.DefaultSelector()
a, b = socket.socketpair()
sel.register(b, selectors.EVENT_READ)
for i in range(2000):
    a.send(b"x" * 64)
    for key, ev in sel.select(timeout=1):
        key.fileobj.recv(64)
"""
_PY_INOTIFY = """
import ctypes, os, tempfile
libc = ctypes.CDLL(None, use_errno=True)
d = tempfile.mkdtemp()
fd = libc.inotify_init1(0)
libc.inotify_add_watch(fd, d.encode(), 0x100 | 0x2 | 0x200)
for i in range(300):
    p = os.path.join(d, f"f{i}")
    with open(p, "w") as f:
        f.write("x")
    os.read(fd, 4096)
    os.unlink(p)
    os.read(fd, 4096)
os.rmdir(d)
"""
_PY_SCM_RIGHTS = """
import socket, os
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
for i in range(500):
    r, w = os.pipe()
    socket.send_fds(a, [b"fd"], [r, w])
    msg, fds, flags, addr = socket.recv_fds(b, 16, 2)
    for fd in (r, w, *fds):
        os.close(fd)
"""
_PY_SIGNALS = """
import signal, time, os
n = 0
def tick(sig, frame):
    global n; n += 1
signal.signal(signal.SIGALRM, tick)
signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
while n < 200:
    signal.pause()
signal.setitimer(signal.ITIMER_REAL, 0)
signal.signal(signal.SIGUSR1, tick)
for i in range(200):
    os.kill(os.getpid(), signal.SIGUSR1)
"""
_PY_SUBPROCESS = """
import subprocess
for i in range(20):
    subprocess.run(["/bin/true"])
"""
_C_FILES = {
    "main.c": '#include "util.h"\nint main(void){return util(3) == 9 ? 0 : 1;}\n',
    "util.c": '#include "util.h"\nint util(int x){return x * x;}\n',
    "extra.c": '#include <stdio.h>\nvoid extra(void){puts("extra");}\n',
    "util.h": "int util(int x);\n",
    "Makefile": "prog: main.o util.o extra.o\n\tcc -o $@ $^\n%.o: %.c util.h\n\tcc -O1 -c $<\n",
}


def corpus(work: Path) -> list[tuple[str, list[str]]]:
    """(name, argv) of every command; everything they need is made under ``work``."""
    data = work / "data.txt"
    with data.open("w") as f:
        for i in range(400_000):
            f.write(f"{(i * 7919) % 100003} line {i} of the corpus\n")
    tree = work / "tree"
    shutil.copytree("/usr/lib/python3.11/email", tree / "email", symlinks=True)
    shutil.copytree("/usr/lib/python3.11/json", tree / "json", symlinks=True)
    subprocess.run(["tar", "cf", str(work / "tree.tar"), "-C", str(work), "tree"], check=True)
    subprocess.run(["gzip", "-k", str(data)], check=True)
    project = work / "project"
    project.mkdir()
    for name, text in _C_FILES.items():
        (project / name).write_text(text)
    repo = work / "repo"
    git = ["git", "-C", str(repo)]
    env = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.org",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.org"}  # fmt: skip
    genv = {**os.environ, **env}
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=genv)
    shutil.copytree(tree / "email", repo / "email")
    for i in range(20):
        (repo / f"file{i}.txt").write_text(f"{i}\n" * (i + 1))
        subprocess.run([*git, "add", "-A"], check=True, env=genv)
        subprocess.run([*git, "commit", "-qm", f"c{i}"], check=True, env=genv)
    (repo / "file3.txt").write_text("changed\n")
    (work / "www").mkdir()
    (work / "www" / "big.bin").write_bytes(os.urandom(4 << 20))
    scripts = {}
    for name, text in (
        ("threads", _PY_THREADS),
        ("multiprocessing", _PY_MULTI),
        ("asyncio", _PY_ASYNCIO),
        ("selectors", _PY_SELECTORS),
        ("inotify", _PY_INOTIFY),
        ("scm_rights", _PY_SCM_RIGHTS),
        ("signals", _PY_SIGNALS),
        ("subprocess", _PY_SUBPROCESS),
    ):
        path = work / f"{name}.py"
        path.write_text(textwrap.dedent(text))
        scripts[name] = str(path)
    url = f"http://127.0.0.1:{PORT}/big.bin"
    w = str(work)
    sh = ["sh", "-c"]
    return [
        ("true", ["/bin/true"]),
        ("ls -lR", ["ls", "-lR", "/usr/lib/python3.11"]),
        ("ls -la /usr/bin", ["ls", "-la", "/usr/bin"]),
        ("du -s", ["du", "-s", "/usr/lib/python3.11"]),
        ("find -name", ["find", "/usr/lib/python3.11", "-name", "*.py"]),
        ("find -type f -size", ["find", "/usr/include", "-type", "f", "-size", "+20k"]),
        ("sort", ["sort", "-n", "-o", f"{w}/sorted.txt", str(data)]),
        ("sort -u | uniq -c", [*sh, f"sort {data} | cut -d' ' -f1 | uniq -c | wc -l"]),
        ("wc", ["wc", str(data)]),
        ("grep -r", ["grep", "-r", "-c", "import", str(tree)]),
        ("sed", ["sed", "s/line/LINE/g", str(data)]),
        ("awk", ["awk", "{s += $1} END {print s}", str(data)]),
        ("sha256sum", ["sha256sum", str(data)]),
        ("cat", ["cat", str(data)]),
        ("cp -r", [*sh, f"rm -rf {w}/copy && cp -r {tree} {w}/copy"]),
        ("tar c", ["tar", "cf", f"{w}/out.tar", "-C", w, "tree"]),
        ("tar x", [*sh, f"rm -rf {w}/x && mkdir {w}/x && tar xf {w}/tree.tar -C {w}/x"]),
        ("gzip", ["gzip", "-c", str(data)]),
        ("gunzip", ["gzip", "-dc", f"{data}.gz"]),
        ("xz", ["xz", "-1", "-c", f"{w}/tree.tar"]),
        ("gcc -c", ["gcc", "-O2", "-c", "-o", f"{w}/util.o", str(project / "util.c")]),
        ("make", [*sh, f"make -s -C {project} -B prog"]),
        ("git status", [*git, "status", "--short"]),
        ("git log -p", [*git, "log", "-p", "--stat"]),
        ("git diff", [*git, "diff"]),
        ("curl", ["curl", "-s", "-o", "/dev/null", url]),
        ("wget", ["wget", "-q", "-O", "/dev/null", url]),
        (
            "bash /dev/tcp",
            [
                "bash",
                "-c",
                f"exec 3<>/dev/tcp/127.0.0.1/{PORT}; "
                "printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3 >/dev/null",
            ],
        ),
        ("ping", ["ping", "-c", "5", "-i", "0.05", "-q", "127.0.0.1"]),
        ("ip addr", ["ip", "addr"]),
        ("ip -s link", ["ip", "-s", "link"]),
        ("ss -tanp", ["ss", "-tanp"]),
        ("openssl speed", ["openssl", "sha256", str(data)]),
        ("perl", ["perl", "-ne", "$n++ if /7/; END {print $n}", str(data)]),
        ("python3 -c pass", [PYTHON3, "-c", "pass"]),
        *((f"python3 {name}", [PYTHON3, path]) for name, path in scripts.items()),
    ]


def timed(argv, *, env=None, out=subprocess.DEVNULL) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the whole tree, exit code)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, proc.returncode


def measure(candidates: dict, rounds: int, env) -> dict:
    """name -> list of (wall, cpu); the candidates interleaved, order rotating,
    after one untimed run of each (caches, bytecode)."""
    names = list(candidates)
    got: dict = {name: [] for name in names}
    for name in names:
        timed(candidates[name], env=env)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            wall, cpu, _ = timed(candidates[name], env=env)
            got[name].append((wall, cpu))
    return got


def med(pairs, i):
    return statistics.median(p[i] for p in pairs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds per command (default 3)")
    parser.add_argument(
        "--only", help="only commands whose name contains one of these (comma-separated)"
    )
    parser.add_argument("--no-filtered", action="store_true", help="skip the filtered part")
    args, _ = parser.parse_known_args()  # run_all.sh passes every bench's options
    if os.geteuid() != 0:
        print("bench_trace_corpus: needs root (ping, ss -p, a network namespace)")
        return 1
    rounds = max(1, args.runs)
    with corpus_world("pycoz-bench-corpus-", args.only) as (work, env, commands):
        version = subprocess.run(["strace", "-V"], capture_output=True, text=True).stdout
        print(f"strace: {version.splitlines()[0]}")
        print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, rounds {rounds}")
        print("io_uring: left out (nothing on this machine drives it from a real program)")
        report_full(commands, work, rounds, env)
        if not args.no_filtered:
            report_filtered(commands, work, rounds, env)
        report_startup(rounds * 5, env)
    return 0


@contextlib.contextmanager
def corpus_world(prefix: str, only: str | None):
    """Where the corpus runs, for this bench and compare_strace.py: a network
    namespace of its own (the process re-executes itself under ``unshare
    --net``), a scratch directory with the corpus's files, the children's
    bytecode cache, and a Python http.server on its loopback.  Yields (scratch
    directory, children's environment, the commands, filtered by ``only``)."""
    if "PYCOZ_BENCH_NETNS" not in os.environ:
        env = {**os.environ, "PYCOZ_BENCH_NETNS": "1"}
        argv = ["unshare", "--net", "--", sys.executable, *sys.argv]
        os.execvpe("unshare", argv, env)  # the same process: signals reach the run
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # A SIGTERM (or Ctrl-C) ends the run through the finally blocks: the
    # server is stopped and the scratch directory removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        work = Path(tmp)
        env = child_env(str(work / "pycache"))
        commands = corpus(work)
        if only:
            words = only.split(",")
            commands = [(n, a) for n, a in commands if any(w in n for w in words)]
        server = subprocess.Popen(
            [PYTHON3, "-m", "http.server", "-b", "127.0.0.1", str(PORT)],
            cwd=work / "www",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.5)
            yield work, env, commands
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait()


def interpreter_floor(rounds: int, env) -> float:
    """What any tracer written in Python on click pays before the first stop:
    the median of ``python -c 'import click'`` (pycoz's interpreter)."""
    got = measure({"click": [sys.executable, "-c", "import click"]}, rounds, env)
    return med(got["click"], 0)


def floor_line(floors: list[float], ratios: list[float], goal: float) -> str:
    """The floor's median beside the measured one: a tracer whose only cost
    beyond the command were its interpreter's start-up (``native + import
    click``) would reach this against strace, and no lower."""
    return (
        f"floor (native + import click, a tracer that costs nothing else): median "
        f"{statistics.median(floors):.2f}x, largest {max(floors):.2f}x; "
        f"{sum(f > goal for f in floors)} of {len(floors)} commands are above {goal}x "
        f"on the floor alone; pycoz's median {statistics.median(ratios):.2f}x"
    )


def report_full(commands, work: Path, rounds: int, env) -> None:
    print("\n== everything traced: strace -f -o FILE vs pycoz trace -f -o FILE ==")
    click = interpreter_floor(rounds * 5, env)
    print(f"{'command':<24} {'native':>8} {'strace':>8} {'pycoz':>8} {'ratio':>6} {'cpu':>6}")
    ratios, long_ratios, floors = [], [], []
    for name, argv in commands:
        so, po = str(work / "strace.out"), str(work / "pycoz.out")
        got = measure(
            {
                "native": argv,
                "strace": ["strace", "-f", "-o", so, *argv],
                "pycoz": [PYCOZ, "trace", "-f", "-o", po, "--", *argv],
            },
            rounds,
            env,
        )
        native, s, p = (med(got[k], 0) for k in ("native", "strace", "pycoz"))
        ratio, cpu = p / s, med(got["pycoz"], 1) / max(med(got["strace"], 1), 1e-6)
        ratios.append((ratio, name))
        floors.append((native + click) / s)
        if native >= LONG:
            long_ratios.append(ratio)
        mark = "*" if native >= LONG else " "
        print(
            f"{name:<24}{mark}{native * 1e3:7.0f}ms {s * 1e3:6.0f}ms {p * 1e3:6.0f}ms"
            f" {ratio:5.2f}x {cpu:5.2f}x"
        )
    print(f"median ratio, all {len(ratios)}: {statistics.median(r for r, _ in ratios):.2f}x")
    if long_ratios:
        print(
            f"median ratio, {len(long_ratios)} running >= {LONG * 1e3:.0f} ms (*): "
            f"{statistics.median(long_ratios):.2f}x (goal <= {GOAL_LONG}x)"
        )
    worst = max(ratios)
    print(f"largest: {worst[0]:.2f}x ({worst[1]}) (goal <= {GOAL_MAX}x)")
    print(floor_line(floors, [r for r, _ in ratios], GOAL_MAX))


def report_filtered(commands, work: Path, rounds: int, env) -> None:
    print("\n== filtered: strace -f --seccomp-bpf -e trace=%network vs pycoz trace -f ==")
    click = interpreter_floor(rounds * 5, env)
    ratios, floors, long_ratios = [], [], []
    for name, argv in commands:
        so, po = str(work / "strace.out"), str(work / "pycoz.out")
        expr = ["-e", "trace=%network"]
        got = measure(
            {
                "native": argv,
                "strace": ["strace", "-f", "--seccomp-bpf", *expr, "-o", so, *argv],
                "pycoz": [PYCOZ, "trace", "-f", *expr, "-o", po, "--", *argv],
            },
            rounds,
            env,
        )
        native, s, p = (med(got[k], 0) for k in ("native", "strace", "pycoz"))
        ratios.append(p / s)
        floors.append((native + click) / s)
        if native >= LONG:
            long_ratios.append(p / s)
        mark = "*" if native >= LONG else " "
        print(f"{name:<24}{mark} {s * 1e3:6.0f}ms {p * 1e3:6.0f}ms {p / s:5.2f}x")
    print(f"median ratio: {statistics.median(ratios):.2f}x (goal <= {GOAL_FILTERED}x)")
    if long_ratios:
        print(
            f"median ratio, {len(long_ratios)} running >= {LONG * 1e3:.0f} ms (*): "
            f"{statistics.median(long_ratios):.2f}x"
        )
    print(floor_line(floors, ratios, GOAL_FILTERED))


def report_startup(rounds: int, env) -> None:
    print("\n== start-up: pycoz trace -e trace=none -- /bin/true vs python -c 'import click' ==")
    got = measure(
        {
            "pycoz": [PYCOZ, "trace", "-e", "trace=none", "--", "/bin/true"],
            "click": [sys.executable, "-c", "import click"],
            "strace": ["strace", "-e", "trace=none", "/bin/true"],
        },
        rounds,
        env,
    )
    p, c, s = (med(got[k], 0) for k in ("pycoz", "click", "strace"))
    print(f"pycoz {p * 1e3:.1f}ms  import click {c * 1e3:.1f}ms  strace {s * 1e3:.1f}ms")
    print(f"ratio to import click: {p / c:.2f}x (goal <= {GOAL_STARTUP}x)")


if __name__ == "__main__":
    sys.exit(main())
