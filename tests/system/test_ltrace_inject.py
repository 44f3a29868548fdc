"""``pycoz ltrace -e inject=``: tampering with library calls, in a topology of
the test's own (only its names and addresses: 198.18.0.0/15, 2001:db8::/32)."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from tests.system.test_ltrace import CALL, GCC, build, calls  # noqa: F401 - fixture

pytestmark = pytest.mark.skipif(os.uname().machine != "x86_64", reason="x86_64 only")
H2 = re.compile(r"^(198\.18\.0\.2|2001:db8::2)\s", re.M)


@pytest.mark.skipif(shutil.which("ping") is None, reason="ping is not installed")
def test_the_talks_demo_in_one_command(pycoz):
    """ping asks for a name that resolves nowhere; the call is shown with what it
    asked, and ping pings h2, whose name pycoz put in its place."""
    r = pycoz(
        "ltrace", "--net", "pair", "-e", "getaddrinfo", "-e", 'inject=getaddrinfo:node="h2"',
        "--", "ping", "-n", "-c1", "nosuch.invalid",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert re.search(r"from (198\.18\.0\.2|2001:db8::2)", r.stdout), r.stdout
    # The call as the program made it (the name it asked for), then what h2 resolved to.
    assert re.search(
        r'^ping->getaddrinfo\("nosuch\.invalid", nil, \{.*\}, 0x[0-9a-f]+\) += 0 '
        r"\[(2001:db8::2, 198\.18\.0\.2|198\.18\.0\.2, 2001:db8::2)\].* \(INJECTED\)$",
        r.stderr,
        re.M,
    ), r.stderr


def test_without_the_inject_the_name_does_not_resolve(pycoz):
    r = pycoz(
        "ltrace", "--net", "pair", "-e", "getaddrinfo", "--", "getent", "ahosts", "nosuch.invalid"
    )
    assert r.returncode == 2, r.stderr
    # An EAI_* error (EAI_NONAME, or EAI_AGAIN: the topology has no DNS server)
    assert re.search(
        r'^getent->getaddrinfo\("nosuch\.invalid", .*\) += EAI_(AGAIN|NONAME)$', r.stderr, re.M
    ), r.stderr


def test_skip_the_call_and_return_an_eai_name(pycoz):
    r = pycoz(
        "ltrace", "--net", "pair", "-e", "inject=getaddrinfo:retval=EAI_AGAIN",
        "--", "getent", "ahosts", "h2",
    )  # fmt: skip
    assert r.returncode == 2, r.stderr  # getent: not found
    assert r.stdout == ""
    assert re.search(r"^getent->getaddrinfo\(.*\) += EAI_AGAIN \(INJECTED\)$", r.stderr, re.M)


def test_a_condition_on_the_name(pycoz):
    """Only names under example.org are sent to h2; h1 resolves as it is."""
    r = pycoz(
        "ltrace", "--net", "pair", "-e", 'inject=getaddrinfo:node~*.example.org:node="h2"',
        "--", "sh", "-c", "getent ahosts h1; echo --; getent ahosts www.example.org",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    first, second = r.stdout.split("--\n")
    assert not H2.search(first) and re.search(r"^(198\.18\.0\.1|2001:db8::1)\s", first, re.M)
    assert H2.search(second), r.stdout
    injected = [line for line in r.stderr.splitlines() if "(INJECTED)" in line]
    assert len(injected) == 1, r.stderr


def test_replace_the_result_with_when(pycoz, build):  # noqa: F811
    exe = build("plt")
    r = pycoz("ltrace", "-e", "inject=calc:result=99:when=2", "--", str(exe), "calc")
    assert r.stdout == "calc 99 42\n"  # printf's arguments run right to left: calc(2,3) is 2nd
    assert [res for _, _, res in calls(r.stderr, "calc")] == ["42", "99"]
    assert r.stderr.count("(INJECTED)") == 1


def test_change_an_integer_argument_and_delay(pycoz, build):  # noqa: F811
    exe = build("no-plt")
    r = pycoz(
        "ltrace", "-T", "-e", "inject=calc:arg2=100:delay_exit=200ms:when=1", "--", str(exe), "calc"
    )
    assert r.stdout == "calc 5 140\n"
    line = next(x for x in r.stderr.splitlines() if "(INJECTED)" in x)
    assert "(DELAYED)" in line
    assert float(re.search(r"<([\d.]+)>$", line)[1]) >= 0.2


def test_a_string_in_a_static_binary(pycoz, build, tmp_path):  # noqa: F811
    """atoi("7") made atoi("1234"): the new string lives in a page pycoz mapped."""
    exe = build("static")
    r = pycoz("ltrace", "-e", 'inject=atoi:arg1="1234":when=1', "--", str(exe), "plain")
    assert r.stdout == "total 1269\n"  # 1234 + 14 + 21
    assert [res for _, _, res in calls(r.stderr, "atoi")] == ["1234", "14", "21"]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_resolves_in_a_thread_of_its_own(pycoz):
    """curl's threaded resolver calls getaddrinfo from another thread: seen
    without -f, with libcurl as the caller (ltrace without -f shows nothing)."""
    r = pycoz(
        "ltrace", "--net", "pair", "-e", "getaddrinfo",
        "--", "curl", "-s", "--max-time", "5", "http://h2:9/",
    )  # fmt: skip
    assert r.returncode == 7, r.stderr  # connection refused: h2 was resolved
    assert re.search(
        r'libcurl\.so\.4->getaddrinfo\("h2", "9", \{.*AF_UNSPEC, SOCK_STREAM, 0\}, 0x[0-9a-f]+\) '
        r"+= 0 \[.*198\.18\.0\.2.*\]$",
        r.stderr,
        re.M,
    ), r.stderr


def test_python_socket_getaddrinfo(pycoz):
    """Python's socket.getaddrinfo, from the _socket extension module."""
    code = "import socket; print(socket.getaddrinfo('h2', 80)[0][4][0])"
    r = pycoz("ltrace", "--net", "pair", "-e", "getaddrinfo", "--", "/usr/bin/python3", "-c", code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() in ("198.18.0.2", "2001:db8::2")
    assert re.search(r'->getaddrinfo\("h2", "80", .*\) += 0 \[.*\]$', r.stderr, re.M), r.stderr


def test_getent_uses_getaddrinfo_and_gethostbyname2(pycoz):
    r = pycoz(
        "ltrace", "--net", "pair", "-e", "getaddrinfo+gethostbyname2",
        "--", "sh", "-c", "getent ahosts h2 >/dev/null; getent hosts h2",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert re.search(r'^\[pid +\d+\] getent->getaddrinfo\("h2", .*\) += 0 \[', r.stderr, re.M), (
        r.stderr
    )
    assert re.search(r"^\[pid +\d+\] getent->gethostbyname2\(.*\) += 0x", r.stderr, re.M)
    assert H2.search(r.stdout)
