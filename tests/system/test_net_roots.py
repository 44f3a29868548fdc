"""Hosts with a root filesystem of their own: a topology of throwaway machines.

A host's commands, ``net run --host`` and ``net exec`` all run in that root;
what the server writes there never reaches the machine, and goes with the run.
"""

import os
import textwrap

from .helpers import mentioning
from .test_net_files import leftovers

SERVER = (
    "echo served > /srv/index.html; echo {marker} > /tmp/{marker}; "
    "echo {marker} > /etc/{marker}; cd /srv && exec python3 -m http.server --bind :: 80"
)


def rooted_lab(tmp_path, marker: str, root: str) -> str:
    path = tmp_path / "lab.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            [hosts.client]
            [hosts.server]
            root = {root}
            commands = [{{ run = "{SERVER.format(marker=marker)}", ready = "tcp:80" }}]
            [[links]]
            a = "client"
            b = "server"
            a_addresses = ["198.18.9.1/24", "2001:db8:9::1/64"]
            b_addresses = ["198.18.9.2/24", "2001:db8:9::2/64"]
            """
        )
    )
    return str(path)


def on_machine(marker: str) -> list[str]:
    return [p for p in (f"/tmp/{marker}", f"/etc/{marker}") if os.path.lexists(p)]


def test_a_servers_writes_stay_in_its_root_and_are_discarded(pycoz, tmp_path, unique):
    marker = f"pycoz-root-{unique}"
    lab = rooted_lab(tmp_path, marker, '{ tmpfs = ["/srv"] }')
    # The server's own view: its files, its hostname, its pid namespace (pid 1 keeps it).
    script = f"cat /tmp/{marker} /etc/{marker} /srv/index.html; hostname; ps -o pid= -p 1"
    r = pycoz("net", "run", lab, "--host", "server", "--", "sh", "-c", script)
    assert (r.returncode, r.stdout.split()) == (0, [marker, marker, "served", "server", "1"]), r
    assert on_machine(marker) == []
    r = pycoz("net", "run", lab, "--host", "client", "--", "curl", "-sS", "http://server/")
    assert (r.returncode, r.stdout) == (0, "served\n"), r.stderr
    r = pycoz("net", "run", lab, "--host", "client", "--", "cat", f"/tmp/{marker}")
    assert r.returncode == 1  # the client has the machine's files, not the server's root
    assert on_machine(marker) == []
    assert mentioning(marker) == []


def test_a_root_with_an_upper_keeps_the_writes_there(pycoz, tmp_path, unique):
    marker = f"pycoz-root-{unique}"
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "page").write_text("from the machine\n")
    lab = rooted_lab(
        tmp_path, marker, '{ upper = "state", ro_binds = ["site:/site"], tmpfs = ["/srv"] }'
    )
    r = pycoz("net", "run", lab, "--host", "server", "--", "sh", "-c", "cat /site/page")
    assert (r.returncode, r.stdout) == (0, "from the machine\n"), r.stderr
    r = pycoz("net", "run", lab, "--host", "server", "--", "sh", "-c", "echo x > /site/page")
    assert r.returncode != 0 and "Read-only file system" in r.stderr, r
    assert (tmp_path / "state" / "upper" / "tmp" / marker).read_text() == f"{marker}\n"
    assert (tmp_path / "site" / "page").read_text() == "from the machine\n"
    assert on_machine(marker) == []


def test_net_exec_joins_a_named_hosts_root_until_down(pycoz, tmp_path, unique):
    marker = f"pycoz-root-{unique}"
    lab = rooted_lab(tmp_path, marker, "{}")
    try:
        r = pycoz("net", "up", lab, "--name", unique)
        assert r.returncode == 0, r.stderr
        r = pycoz("net", "exec", unique, "server", "--", "cat", f"/tmp/{marker}")
        assert (r.returncode, r.stdout) == (0, f"{marker}\n"), r.stderr
        r = pycoz("net", "exec", unique, "client", "--", "curl", "-sS", "http://server/")
        assert (r.returncode, r.stdout) == (0, "served\n"), r.stderr
        assert on_machine(marker) == []
    finally:
        down = pycoz("net", "down", unique)
    assert down.returncode == 0, down.stderr
    assert leftovers(unique) == []
    assert mentioning(marker) == []
    assert on_machine(marker) == []


def test_a_readiness_file_is_looked_for_in_the_hosts_root(pycoz, tmp_path, unique):
    marker = f"pycoz-root-{unique}"
    lab = rooted_lab(tmp_path, marker, "{}")
    with open(lab, "r+") as f:
        text = f.read().replace('ready = "tcp:80"', f'ready = "file:/etc/{marker}"')
        f.seek(0)
        f.write(text)
    r = pycoz("net", "run", lab, "--host", "server", "--", "cat", f"/etc/{marker}")
    assert (r.returncode, r.stdout) == (0, f"{marker}\n"), r.stderr
    assert on_machine(marker) == []
