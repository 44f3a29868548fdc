"""The fence (issue 10) keeps what users need inside, as root in a fenced ``pycoz root``:
package installs, chown and switches to other users, services with their own
users, ping and raw sockets, ptrace of the container's own processes and ``pycoz
trace`` inside, and on a topology host the network tools and ``net.*`` sysctls of
its own network namespace.  ``pycoz shell``'s terminal (job control, Ctrl-C,
full-screen programs) is covered by test_shell.py, and ``pycoz root``'s Ctrl-C and
full-screen editor by test_root_lifetimes.py.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from .fence_helpers import Listener
from .helpers import Tmux


def _sha(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _deb(tmp_path, unique) -> tuple[str, str]:
    """A tiny package whose postinst adds a system user and gives it a file."""
    name = f"pycoz-keep-{unique}"
    root = tmp_path / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "usr/share" / name).mkdir(parents=True)
    (root / "usr/share" / name / "hello").write_text("hello from the package\n")
    (root / "DEBIAN/control").write_text(
        f"Package: {name}\nVersion: 1.0\nArchitecture: all\n"
        "Maintainer: pycoz tests <tests@example.invalid>\n"
        "Description: a package the fence tests install\n"
    )
    postinst = root / "DEBIAN/postinst"
    postinst.write_text(
        "#!/bin/sh\nset -e\n"
        f"useradd --system --no-create-home pz{unique}\n"
        f"chown pz{unique}: /usr/share/{name}/hello\n"
    )
    postinst.chmod(0o755)
    deb = tmp_path / f"{name}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-b", str(root), str(deb)],
        check=True,
        capture_output=True,
    )
    return name, str(deb)


@pytest.mark.parametrize("tool", ["dpkg", "apt-get"])
def test_installing_a_package_with_its_own_system_user(pycoz, tmp_path, unique, tool):
    name, deb = _deb(tmp_path, unique)
    install = f"dpkg -i {deb}" if tool == "dpkg" else f"apt-get install -y {deb}"
    status = "/var/lib/dpkg/status"
    before = (_sha(status), _sha("/etc/passwd"))
    r = pycoz(
        "root",
        "--",
        "sh",
        "-c",
        f"{install} >/dev/null 2>&1 || echo failed $?;"
        f" dpkg-query -W -f '${{Status}}\\n' {name};"
        f" stat -c %U /usr/share/{name}/hello",
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["install ok installed", f"pz{unique}"], r.stdout + r.stderr
    assert (_sha(status), _sha("/etc/passwd")) == before
    assert not os.path.exists(f"/usr/share/{name}")


def test_chown_and_switching_to_another_user(pycoz):
    r = pycoz(
        "root",
        "--",
        "sh",
        "-c",
        "touch /tmp/f && chown nobody:nogroup /tmp/f && stat -c '%U:%G' /tmp/f;"
        " setpriv --reuid=nobody --regid=nogroup --clear-groups id -u;"
        " su -s /bin/sh nobody -c 'id -un';"
        " setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c 'echo x > /tmp/f'"
        " && echo wrote",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["nobody:nogroup", "65534", "nobody", "wrote"], r.stderr


def test_a_setuid_program_run_by_a_user_gains_its_owner(pycoz):
    """The issue lists setuid programs among what users need (su, passwd, ping as a
    user): a fence built on no_new_privs would break this one."""
    r = pycoz(
        "root",
        "--",
        "sh",
        "-c",
        "cp /usr/bin/id /tmp/id-setuid && chmod 4755 /tmp/id-setuid &&"
        " setpriv --reuid=nobody --regid=nogroup --clear-groups /tmp/id-setuid -u;"
        " setpriv --reuid=nobody --regid=nogroup --clear-groups /tmp/id-setuid -ru",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["0", "65534"], r.stdout + r.stderr


_SERVICE = r"""
set -e
mkdir -p /srv/www && echo "served by $(id -un)" > /srv/www/index.txt
setpriv --reuid=nobody --regid=nogroup --clear-groups \
    /usr/bin/python3 -m http.server 8080 --bind 127.0.0.1 --directory /srv/www >/dev/null 2>&1 &
i=0
until curl -sf http://127.0.0.1:8080/index.txt >/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "no server"; exit 1; }; sleep 0.05
done
curl -s http://127.0.0.1:8080/index.txt
ps -o user= -p $!
# root binds a privileged port (CAP_NET_BIND_SERVICE)
/usr/bin/python3 -c 'import socket; socket.socket().bind(("127.0.0.1", 80))' && echo "bound 80"
kill $!
"""


def test_a_service_with_its_own_user(pycoz):
    # On a topology host: port 8080 and 80 are the container's own.
    r = pycoz("root", "--net", "pair", "--host", "h1", "--", "sh", "-c", _SERVICE)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines() == ["served by root", "nobody", "bound 80"], r.stdout


_RAW_PING = r"""
import os, socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(5)
def checksum(b):
    total = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF
ident = os.getpid() & 0xFFFF
packet = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"pycoz-fence!"  # even length, for the checksum
packet = packet[:2] + struct.pack("!H", checksum(packet)) + packet[4:]
s.sendto(packet, ("127.0.0.1", 0))
while True:
    data = s.recv(2048)
    icmp = data[(data[0] & 0x0F) * 4:]
    if icmp[0] == 0 and struct.unpack("!H", icmp[4:6])[0] == ident:
        print("raw echo reply")
        break
"""


def test_ping_and_a_raw_socket(pycoz):
    r = pycoz(
        "root",
        "--",
        "sh",
        "-c",
        f"ping -c1 -W5 127.0.0.1 | grep -c 'bytes from'; {sys.executable} -c '{_RAW_PING}'",
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines() == ["1", "raw echo reply"], r.stdout + r.stderr


def test_strace_of_its_own_processes_and_pycoz_trace_inside(pycoz, pycoz_bin):
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    script = (
        "strace -f -e trace=execve -o /tmp/strace.out sh -c 'echo hi'"
        " && grep -c execve /tmp/strace.out;"
        # Attach to a process of its own that is not its child.
        " sleep 5 & pid=$!;"
        " timeout 1 strace -p $pid -e trace=none 2>&1 | grep -o 'attached' | head -1; kill $pid;"
        f" {pycoz_bin} trace -f -e trace=execve -- sh -c 'echo hi' 2>&1"
    )
    r = pycoz("root", "--", "sh", "-c", script)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[:3] == ["hi", "1", "attached"], r.stdout + r.stderr
    assert "hi" in lines[3:] and any(line.startswith("execve(") for line in lines[3:]), r.stdout


_NETWORK_ADMIN = r"""
ip link set eth0 mtu 1400 && ip -o link show eth0 | grep -o 'mtu 1400'
ip addr add 198.18.0.101/24 dev eth0 && ip -o -4 addr show eth0 | grep -c 198.18.0.101
ip link add pzv0 type veth peer name pzv1 && ip -o link show pzv0 | grep -c pzv0
tc qdisc add dev eth0 root pfifo && tc qdisc show dev eth0 | grep -o pfifo | head -1
sysctl -w net.ipv4.ip_forward=1 && cat /proc/sys/net/ipv4/ip_forward
ping -c1 -W5 h2 | grep -c 'bytes from'
"""


def test_network_admin_on_its_own_topology_host(pycoz):
    forward = Path("/proc/sys/net/ipv4/ip_forward")
    host_forward = forward.read_text()
    r = pycoz("root", "--net", "pair", "--host", "h1", "--", "sh", "-c", _NETWORK_ADMIN)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines() == [
        "mtu 1400",
        "1",
        "1",
        "pfifo",
        "net.ipv4.ip_forward = 1",
        "1",
        "1",
    ], r.stdout + r.stderr
    assert forward.read_text() == host_forward


def test_net_run_keeps_network_admin_too(pycoz):
    r = pycoz(
        "net",
        "run",
        "pair",
        "--host",
        "h1",
        "--",
        "sh",
        "-c",
        "ip link set eth0 mtu 1400 && sysctl -qw net.ipv4.ip_forward=1"
        " && cat /proc/sys/net/ipv4/ip_forward && ping -c1 -W5 h2 | grep -c 'bytes from'",
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines() == ["1", "1"], r.stdout + r.stderr


_CLIENT = r"""
import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.connect(("127.0.0.1", 9))
print("udp client socket")
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
print(s.recv(100).decode().strip())
"""


def test_host_loopback_tcp_client_without_net_reaches_a_host_listener(pycoz):
    """Without --net the host network stays usable for clients (the issue): a TCP
    connection to a listener of the test's own on the host's 127.0.0.1.  The issue
    also lists reaching host loopback services among the attacks; this test states
    the client side as it is today, for the lead to keep or turn around."""
    listener = Listener(socket.AF_INET, ("127.0.0.1", 0))
    try:
        r = pycoz("root", "--", sys.executable, "-c", _CLIENT, str(listener.address[1]))
    finally:
        listener.close()
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines() == ["udp client socket", "hello from the host"]


def test_ctrl_z_and_fg_of_pycoz_root_in_the_users_shell(tmp_path, pycoz_bin, unique):
    """Job control from the user's own shell: pycoz root stops and resumes as a whole,
    reads its input from the terminal, and Ctrl-C still ends it."""
    tmux = Tmux(tmp_path)
    try:
        tmux.start("a", "bash --norc --noprofile")
        tmux.type("a", "PS1='P> '")
        tmux.wait_for("a", "P> ")
        tmux.type("a", f"{pycoz_bin} root -- sh -c 'read x; echo got-$x; sleep 100'")
        tmux.type("a", f"typed-{unique}")
        tmux.wait_for("a", f"got-typed-{unique}")
        tmux.keys("a", "C-z")
        tmux.wait_for("a", "Stopped")
        tmux.type("a", "fg")
        tmux.wait_for("a", "sleep 100'\n")
        tmux.keys("a", "C-c")
        tmux.type("a", "echo status=$?")
        tmux.wait_for("a", "status=130")
    finally:
        tmux.close()
