"""pycoz root: the basics a user checks first."""

import os


def test_exit_status_passes_through(pycoz):
    assert pycoz("root", "--", "sh", "-c", "exit 7").returncode == 7


def test_write_in_etc_is_discarded(pycoz, unique):
    path = f"/etc/pycoz-{unique}"
    r = pycoz("root", "--", "sh", "-c", f"echo x > {path} && cat {path}")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "x\n"
    assert not os.path.exists(path)
