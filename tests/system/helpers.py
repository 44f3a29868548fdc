"""Helpers for the pycoz root system tests: sacrificial namespaces, process trees,
namespace holders, host mount table, and the one-line-error check."""

from __future__ import annotations

import difflib
import os
import selectors
import subprocess
import time

#: A shell function that prints what a user would compare before and after: every
#: entry (type, mode, owner, size, device numbers, link target) and every regular
#: file's checksum, under each directory given.
SNAP = r"""
snap() {
    for d in "$@"; do
        echo "## $d"
        (cd "$d" && find . -xdev -print0 | LC_ALL=C sort -z \
            | xargs -0 stat -c '%n %F %a %u:%g %s %t:%T %N' \
            && find . -xdev -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
    done
}
"""


def sacrificial(script: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a shell script in a new, private mount namespace (``unshare -m``).

    Whatever the script mounts there (tmpfs, bind, overlay, a copy of /dev) dies
    with the namespace when the script ends; the host's mount table is never
    touched.  ``$1``... are ``args``.
    """
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "--", "sh", "-euc", script, "sh", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def sections(text: str) -> dict[str, str]:
    """Split output made of ``=== name`` headed sections."""
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("=== "):
            current = line[4:].strip()
            out[current] = []
        elif current is not None:
            out[current].append(line)
    return {k: "\n".join(v) for k, v in out.items()}


def assert_same(before: str, after: str, what: str) -> None:
    """Equal text, or a failure that shows the (trimmed) difference."""
    if before != after:
        diff = list(
            difflib.unified_diff(
                before.splitlines(), after.splitlines(), "before", "after", lineterm=""
            )
        )
        shown = "\n".join(diff[:60]) + ("\n..." if len(diff) > 60 else "")
        raise AssertionError(f"{what} changed:\n{shown}")


def assert_one_line(stderr: str, *words: str) -> str:
    """pycoz's failure contract: exactly one line on stderr, naming ``words``."""
    lines = stderr.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{stderr}"
    assert stderr.endswith("\n")
    line = lines[0]
    assert "Traceback" not in line
    for word in words:
        assert word in line, f"{word!r} not in {line!r}"
    return line


def host_mounts() -> list[str]:
    """The host's mount table as 'mountpoint fstype source options' (no ids).

    Named network namespaces (/run/netns/*) and mounts in pytest's temporary
    directories are left out: tests running in parallel add and remove them
    (named topologies; test_leftover_check's own mounts); the session-end check
    still covers them.  A container's mount that leaked would be elsewhere.
    """
    with open("/proc/self/mountinfo") as f:
        lines = []
        for line in f:
            head, _, tail = line.partition(" - ")
            fields = head.split(" ")
            if fields[4].startswith("/run/netns/") or "/pytest-of-" in fields[4]:
                continue
            lines.append(" ".join([fields[4], *tail.split(" ")[:2]]))
    return sorted(lines)


def children(pid: int) -> list[int]:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return []
    kids = []
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(p) for p in f.read().split()]
        except FileNotFoundError:
            pass
    return kids


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        for kid in children(todo.pop()):
            out.append(kid)
            todo.append(kid)
    return out


def identity(pid: int) -> tuple[int, str] | None:
    """(pid, start time): tells a process from a later one that reused its pid."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return pid, stat.rpartition(")")[2].split()[19]


def ns_pid(pid: int) -> list[int]:
    """The NSpid line: the pid in each nested pid namespace, outermost first."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("NSpid:"):
                return [int(p) for p in line.split()[1:]]
    return []


def wait_until(predicate, timeout: float = 20, interval: float = 0.02):
    """Poll ``predicate`` until it returns something true; that value, or None."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def alive(identities) -> list[tuple[int, str]]:
    return [i for i in identities if identity(i[0]) == i]


def namespaces(pid: int, kinds=("mnt", "pid", "uts", "ipc")) -> set[str]:
    """The namespaces of ``pid``, as their nsfs link text (``mnt:[4026532...]``)."""
    out = set()
    for kind in kinds:
        out.add(os.readlink(f"/proc/{pid}/ns/{kind}"))
    return out


def namespace_holders(wanted: set[str]) -> list[str]:
    """Every process (or open fd) that still holds one of the ``wanted`` namespaces."""
    held = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        for sub in ("ns", "fd"):
            try:
                names = os.listdir(f"/proc/{entry}/{sub}")
            except OSError:
                continue
            for name in names:
                try:
                    link = os.readlink(f"/proc/{entry}/{sub}/{name}")
                except OSError:
                    continue
                if link in wanted:
                    held.append(f"/proc/{entry}/{sub}/{name} -> {link}")
    return held


def read_line(stream, timeout: float = 30) -> str:
    """One line from an unbuffered pipe (``Popen(..., bufsize=0)``), decoded;
    '' if none came within ``timeout``, so a broken pycoz fails instead of hanging."""
    sel = selectors.DefaultSelector()
    sel.register(stream, selectors.EVENT_READ)
    try:
        if not sel.select(timeout):
            return ""
        return stream.readline().decode()
    finally:
        sel.close()


def tree(path) -> dict[str, tuple]:
    """Every entry under ``path``: type, mode, owner, and content checksum or target."""
    import hashlib
    import stat

    out = {}
    top = os.fspath(path)
    for dirpath, dirnames, filenames in os.walk(top):
        for name in ["", *dirnames, *filenames] if dirpath == top else [*dirnames, *filenames]:
            full = os.path.join(dirpath, name) if name else dirpath
            st = os.lstat(full)
            if stat.S_ISREG(st.st_mode):
                with open(full, "rb") as f:
                    what = hashlib.sha256(f.read()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                what = os.readlink(full)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                what = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
            else:
                what = ""
            out[os.path.relpath(full, top)] = (stat.filemode(st.st_mode), st.st_uid, what)
    return out


def pycoz_in_own_uts(pycoz_bin: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``pycoz ARGS`` in a sacrificial UTS namespace, then print its hostname.

    Were pycoz to share that namespace, only this copy of the hostname would
    change, never the machine's; the output's last line shows which it was.
    """
    return subprocess.run(
        ["unshare", "--uts", "--", "sh", "-c", '"$@"; hostname', "sh", pycoz_bin, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


class Tmux:
    """A tmux server of the test's own (its socket in the test's folder): real
    terminals to type into and read back."""

    def __init__(self, tmp_path, width: int = 120, height: int = 40):
        self.base = ["tmux", "-S", str(tmp_path / "tmux.sock"), "-f", "/dev/null"]
        self.size = (str(width), str(height))

    def run(self, *args: str) -> str:
        r = subprocess.run(
            [*self.base, *args], capture_output=True, text=True, timeout=10, check=True
        )
        return r.stdout

    def start(self, name: str, command: str, env: dict | None = None) -> int:
        """Open window ``name`` running ``command`` (via sh); returns the pane's pid."""
        if not os.path.exists(self.base[2]):
            where = ["new-session", "-d", "-s", "main", "-n", name, "-x", self.size[0]]
            where += ["-y", self.size[1]]
        else:
            where = ["new-window", "-d", "-n", name, "-t", "main"]
        settings = [a for k, v in (env or {}).items() for a in ("-e", f"{k}={v}")]
        pid = self.run(*where, *settings, "-P", "-F", "#{pane_pid}", command)
        return int(pid.strip())

    def screen(self, name: str) -> str:
        return self.run("capture-pane", "-p", "-J", "-S", "-200", "-t", f"main:{name}")

    def type(self, name: str, text: str, enter: bool = True) -> None:
        self.run("send-keys", "-t", f"main:{name}", "-l", text)
        if enter:
            self.run("send-keys", "-t", f"main:{name}", "Enter")

    def keys(self, name: str, *keys: str) -> None:
        self.run("send-keys", "-t", f"main:{name}", *keys)

    def wait_for(self, name: str, text: str, timeout: float = 20) -> str:
        """Wait until ``text`` is on the window's screen; the screen (asserted)."""
        found = wait_until(lambda: text in self.screen(name), timeout=timeout, interval=0.05)
        screen = self.screen(name)
        assert found, f"{text!r} never appeared on the screen:\n{screen}"
        return screen

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True, timeout=10)


def tagged(tag: str) -> list[int]:
    """Processes with ``tag`` as one of their arguments."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if tag.encode() in argv:
            found.append(int(name))
    return found


def mentioning(word: str) -> list[int]:
    """Processes whose command line holds ``word`` anywhere (a test's unique
    name), zombies included."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if word.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def kill_trace_during_startup(
    pycoz_bin: str, tag: str, after: float, *args: str, since_launch: bool = False
) -> tuple[int, str] | None:
    """Start ``pycoz trace ARGS -o /dev/null -- sleep TAG`` and SIGKILL it
    ``after`` seconds after its child appears (``since_launch``: after its
    launch, as the issue's ``kill -9 $!`` did).  Returns the identity of the
    child it had, if any."""
    p = subprocess.Popen(
        [pycoz_bin, "trace", *args, "-o", "/dev/null", "--", "sleep", tag],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    child = None
    if since_launch:
        time.sleep(after)
        kids = children(p.pid)
        child = identity(kids[0]) if kids else None
    else:
        deadline = time.monotonic() + 30
        while child is None and time.monotonic() < deadline and p.poll() is None:
            kids = children(p.pid)
            child = identity(kids[0]) if kids else None
        time.sleep(after)
    p.kill()
    p.wait()
    return child


def trace_leftovers(identities, tag: str) -> list[str]:
    """What outlived a killed ``pycoz trace``: a forked child still there after
    5 s, or the command (``sleep TAG``) running.  Each is killed: it is ours (its
    pid and start time, or the unique tag)."""
    left = []
    for ident in identities:
        if not wait_until(lambda ident=ident: identity(ident[0]) != ident, timeout=5):
            with open(f"/proc/{ident[0]}/stat") as f:
                left.append(f.read().strip())
            os.kill(ident[0], 9)
    for pid in tagged(tag):
        try:
            with open(f"/proc/{pid}/stat") as f:
                left.append(f.read().strip())
            os.kill(pid, 9)
        except OSError:
            pass
    return left


def tracer_of(pid: int) -> str:
    """The TracerPid of ``pid``'s status ("0": not traced)."""
    with open(f"/proc/{pid}/status") as f:
        return next(line.split()[1] for line in f if line.startswith("TracerPid:"))


def run_in(net, host: str, command) -> tuple[int, str]:
    """Run ``command`` (an argv list, or a string for ``sh -c``) in ``host`` of the
    network ``net``, on the machine's filesystem; its status and output (stdout
    and stderr together)."""
    from pycoz_cli.core.container import Container

    argv = ["sh", "-c", command] if isinstance(command, str) else command
    r, w = os.pipe()
    try:
        code = Container(network=net, host=host, overlay=False).run(argv, stdout=w, stderr=w)
    finally:
        os.close(w)
    out = b""
    while chunk := os.read(r, 65536):
        out += chunk
    os.close(r)
    return code, out.decode()
