"""Benchmark rootless pycoz side by side with pycoz as root, as ratios (issue 16).

    .venv/bin/python bench/bench_rootless.py [--runs N]   (as root)

One run measures, interleaved round-robin (bench_root.measure):

* ``pycoz root -- /bin/true`` and ``pycoz net run pair -- true`` as root, as an
  ordinary user (uid 65534, through setpriv) and as root with ``--rootless``;
* ``pycoz root --privileged -- /bin/true`` as root with ``--rootless``, whose
  command runs in a nested user namespace that locks the container's mounts
  (``core.fence``), and as the user (no nested one: the anchor);
* the nested namespace alone, inside such a container (its mounts, to copy):
  entering one (unshare, setgroups, uid and gid maps) from a mount namespace of
  the process's own, as init does, side by side with doing nothing there;
* a named topology's whole life, ``net up pair``, ``net exec NAME h1 -- true``
  and ``net down``, as root (/run/netns) and as the user (a holder process,
  state under /tmp/pycoz-65534);
* for reference, as the same user: ``bwrap --unshare-all --ro-bind / / true`` and
  ``unshare -r true``.

Every candidate starts through the same ``setpriv`` (root's with
``--reuid=0``), so the wrapper costs all of them alike.  Goal: rootless / root
<= 1.1 for both commands.  Nothing here asserts a time: the numbers are for
people (bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile

from bench_root import Candidate, command, measure, ms
from benchlib import child_env, mark_this_run, stats

PYCOZ = os.path.join(os.path.dirname(sys.executable), "pycoz")
NOBODY = 65534
AS_ROOT = ("setpriv", "--reuid=0", "--regid=0", "--clear-groups")
AS_USER = ("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")
GOAL = 1.1


def candidates(env) -> list[Candidate]:
    root_cmd = (PYCOZ, "root", "--", "/bin/true")
    net_cmd = (PYCOZ, "net", "run", "pair", "--", "true")
    flag_root = (PYCOZ, "root", "--rootless", "--", "/bin/true")
    flag_net = (PYCOZ, "net", "run", "pair", "--rootless", "--", "true")
    found = [
        Candidate("root", "pycoz root -- /bin/true, as root", command([*AS_ROOT, *root_cmd], env)),
        Candidate("root-user", "  the same, as uid 65534", command([*AS_USER, *root_cmd], env)),
        Candidate("root-flag", "  the same, root --rootless", command([*AS_ROOT, *flag_root], env)),
        Candidate(
            "priv-flag",
            "pycoz root --privileged, root --rootless (nested userns)",
            command(
                [*AS_ROOT, PYCOZ, "root", "--rootless", "--privileged", "--", "/bin/true"], env
            ),
        ),
        Candidate(
            "priv-user",
            "  the same, as uid 65534 (no nested userns)",
            command([*AS_USER, PYCOZ, "root", "--privileged", "--", "/bin/true"], env),
        ),
        Candidate("net", "pycoz net run pair -- true, as root", command([*AS_ROOT, *net_cmd], env)),
        Candidate("net-user", "  the same, as uid 65534", command([*AS_USER, *net_cmd], env)),
        Candidate("net-flag", "  the same, root --rootless", command([*AS_ROOT, *flag_net], env)),
    ]
    # Three commands, each started through its setpriv (a shell as the user could
    # not start this checkout's pycoz where the interpreter is in a private home).
    steps = (
        '"$@" net up pair --name "$N" >/dev/null && "$@" net exec "$N" h1 -- true '
        '&& "$@" net down "$N" >/dev/null'
    )
    for key, who, label in (
        ("named", AS_ROOT, "net up pair; net exec h1 -- true; net down, as root"),
        ("named-user", AS_USER, "  the same, as uid 65534"),
    ):
        name = f"bench{os.getpid()}{key.replace('-', '')}"
        cycle = f"N={name}; {steps}"
        found.append(Candidate(key, label, command(["sh", "-c", cycle, "sh", *who, PYCOZ], env)))
    if shutil.which("bwrap"):
        bwrap = ("bwrap", "--unshare-all", "--ro-bind", "/", "/", "true")
        found.append(
            Candidate(
                "bwrap",
                "bwrap --unshare-all --ro-bind / / true, as uid 65534",
                command([*AS_USER, *bwrap], env),
            )
        )
    found.append(
        Candidate(
            "unshare",
            "unshare -r true, as uid 65534",
            command([*AS_USER, "unshare", "-r", "true"], env),
        )
    )
    return found


#: Run inside ``pycoz root --rootless --privileged``: ROUNDS children that, as
#: init does, have a mount namespace of their own (a copy of the container's) and
#: then enter a nested user namespace as ``core.fence.nest`` does (the old mount
#: namespace goes with it), and as many that do nothing instead; each reports the
#: time it took, and the parent the whole fork to waitpid.
_NEST = r"""
import ctypes, json, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
NEWUSER, NEWNS, NEWUTS = 0x10000000, 0x00020000, 0x04000000
def child(nest, w):
    if libc.unshare(NEWNS) != 0:
        os._exit(1)
    t0 = time.perf_counter()
    if nest:
        if libc.unshare(NEWUSER | NEWNS | NEWUTS) != 0:
            os._exit(1)
        for name, text in (("setgroups", "deny"), ("uid_map", "0 0 1"), ("gid_map", "0 0 1")):
            fd = os.open("/proc/self/" + name, os.O_WRONLY)
            os.write(fd, text.encode())
            os.close(fd)
    os.write(w, repr(time.perf_counter() - t0).encode())
    os._exit(0)
times = {"plain": [], "nest": [], "plain-whole": [], "nest-whole": []}
for _ in range(int(sys.argv[1])):
    for kind in ("plain", "nest"):
        r, w = os.pipe()
        t0 = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            child(kind == "nest", w)
        os.close(w)
        took = os.read(r, 64)
        os.close(r)
        if os.waitpid(pid, 0)[1] or not took:
            raise SystemExit(kind + " failed")
        times[kind + "-whole"].append(time.perf_counter() - t0)
        times[kind].append(float(took))
print(json.dumps(times))
"""


def nest_cost(rounds: int, env) -> dict[str, list[float]]:
    """The nested namespace's own cost, measured in a container that has one."""
    import subprocess

    argv = [*AS_ROOT, PYCOZ, "root", "--rootless", "--privileged", "--"]
    out = subprocess.run(
        [*argv, "python3", "-c", _NEST, str(rounds)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed rounds (default 30)")
    parser.add_argument("--warmup", type=int, default=3)
    args, _ = parser.parse_known_args()  # run_all.sh passes every bench the same options
    if os.geteuid() != 0:
        raise SystemExit("bench_rootless: run as root (it compares root with an ordinary user)")
    mark_this_run()
    os.chdir("/")
    with tempfile.TemporaryDirectory(prefix="pycoz-bench-pyc-") as cache:
        # Both users' children cache their bytecode here (see benchlib.child_env).
        os.chmod(cache, 0o1777)
        env = child_env(cache)
        found = candidates(env)
        measure(found, args.runs, args.warmup)
        nested = nest_cost(max(args.runs, 50) * 4, env)
    by_key = {c.key: c for c in found}
    print(f"{'candidate':<58} {'median':>8} {'p10':>7} {'p90':>7}  (ms, {args.runs} rounds)")
    for c in found:
        median, p10, p90 = stats(c.times)
        print(f"{c.label:<58} {ms(median):>8} {ms(p10):>7} {ms(p90):>7}")
    print()
    ratio = by_key["named-user"].median / by_key["named"].median
    print(f"named topology up/exec/down, uid 65534 / root: {ratio:.2f}  (no goal set)")
    ratio = by_key["priv-flag"].median / by_key["priv-user"].median
    print(f"root --privileged, root --rootless / uid 65534: {ratio:.2f}  (the nested userns)")
    plain, nest, plain_whole, nest_whole = (
        stats(nested[k])[0] * 1000 for k in ("plain", "nest", "plain-whole", "nest-whole")
    )
    print(
        f"the nested userns alone, in init's place: {nest - plain:.3f} ms; a process "
        f"that enters it, fork to waitpid: {nest_whole:.2f} ms against {plain_whole:.2f} ms"
    )
    for base, label in (("root", "pycoz root"), ("net", "pycoz net run pair")):
        for kind, who in (("user", "uid 65534"), ("flag", "--rootless")):
            ratio = by_key[f"{base}-{kind}"].median / by_key[base].median
            verdict = "ok" if ratio <= GOAL else "over the goal"
            print(f"{label}, {who} / root: {ratio:.2f}  (goal <= {GOAL}: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
