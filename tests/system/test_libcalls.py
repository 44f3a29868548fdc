"""Library-call decoders (core/trace/libcalls.py) on real memory.

Small C programs (libcalls/calls.c, libcalls/tls.c) make the real calls --
getaddrinfo on numeric addresses, a hostent, setenv/getenv, dlopen, an in-process
TLS handshake through memory BIOs with a throwaway certificate -- print each
call's arguments and result, and stop themselves.  The test then decodes every
call from the stopped program's memory exactly as the breakpoint engine would
(``entry`` with the argument registers, ``exit`` with the result), and compares
with ltrace 0.7.3's own lines where ltrace decodes the same function.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import signal
import subprocess

import pytest

from pycoz_cli.core.trace import libcalls
from pycoz_cli.core.trace.ptrace import Memory

HERE = pathlib.Path(__file__).parent / "libcalls"
LTRACE = shutil.which("ltrace")


def _build(tmp, name, *libs):
    out = tmp / name
    subprocess.run(["gcc", "-O1", "-Wall", "-o", out, HERE / f"{name}.c", *libs], check=True)
    return out


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("libcalls")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=h2.pycoz.test"],
        check=True, capture_output=True,
    )  # fmt: skip
    gnutls = None
    if os.path.exists("/usr/include/gnutls/gnutls.h"):
        gnutls = [_build(tmp, "gnutls", "-lgnutls")]
    return {
        "gnutls": gnutls,
        "calls": [_build(tmp, "calls", "-lresolv")],
        "tls": [_build(tmp, "tls", "-lssl", "-lcrypto"), cert, key],
    }


class Stopped:
    """A program stopped after its calls: its printed calls and its memory."""

    def __init__(self, argv):
        self.proc = subprocess.Popen([*map(str, argv), "stop"], stdout=subprocess.PIPE)
        _, status = os.waitpid(self.proc.pid, os.WUNTRACED)
        assert os.WIFSTOPPED(status), status
        text = os.read(self.proc.stdout.fileno(), 1 << 16).decode()
        self.calls = []
        self.sp = {}
        for line in text.splitlines():
            name, ret, *args = line.split()
            if args and args[-1].startswith("sp="):
                self.sp[len(self.calls)] = int(args.pop()[3:], 16)
            self.calls.append((name, int(ret, 16), [int(a, 16) for a in args]))
        self.mem = Memory(self.proc.pid)

    def decode(self, index, strsize=32, **kw):
        name, ret, args = self.calls[index]
        if index in self.sp:
            kw.setdefault("sp", self.sp[index])
        state = libcalls.entry(name, args, self.mem, strsize, **kw)
        return (name, *libcalls.exit(name, state, ret, self.mem, strsize)), state

    def line(self, index, strsize=32):
        (name, args, ret, extra), _ = self.decode(index, strsize)
        return f"{name}({args}) = {ret}" + (f" {extra}" if extra else "")

    def close(self):
        self.mem.close()
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


@pytest.fixture
def calls(programs):
    s = Stopped(programs["calls"])
    yield s
    s.close()


@pytest.fixture
def tls(programs):
    s = Stopped(programs["tls"])
    yield s
    s.close()


_POINTER = re.compile(r"0x[0-9a-f]{6,}")


def test_getaddrinfo_shows_hints_and_the_address_list(calls):
    assert _POINTER.sub("P", calls.line(0)) == (
        'getaddrinfo("198.18.0.2", "8000", {AI_CANONNAME|AI_NUMERICHOST|AI_NUMERICSERV, '
        'AF_UNSPEC, SOCK_STREAM, 0}, P) = 0 [198.18.0.2] canonname="198.18.0.2"'
    )
    assert _POINTER.sub("P", calls.line(1)) == (
        'getaddrinfo("2001:db8::2", nil, {AI_NUMERICHOST|AI_ADDRCONFIG, AF_INET6, 0, 0}, P) = 0 '
        "[2001:db8::2]"
    )


def test_getaddrinfo_failure_is_an_eai_name_in_text_and_json(calls):
    assert calls.line(2).endswith(" = EAI_NONAME")
    _, state = calls.decode(2)
    values = libcalls.json_values("getaddrinfo", state, calls.calls[2][1], calls.mem)
    assert values["result"] == -2 and values["errno"] == "EAI_NONAME"
    assert values["args"][:3] == [
        "not-numeric",
        "8000",
        {"ai_flags": ["AI_CANONNAME", "AI_NUMERICHOST", "AI_NUMERICSERV"],
         "ai_family": "AF_UNSPEC", "ai_socktype": "SOCK_STREAM", "ai_protocol": 0},
    ]  # fmt: skip
    assert libcalls.constant("EAI_NONAME") == -2 == values["result"]
    # What a condition on an argument sees (inject=...:when node matches ...).
    assert libcalls.entry_value(state, "node") == "not-numeric"
    assert libcalls.entry_value(state, "arg2") == "8000"


def test_getnameinfo_reads_host_and_service_at_return(calls):
    name, ret, args = calls.calls[3]
    flags = args.pop()  # the seventh argument: on x86_64's stack, here given as args[6]
    for given in ([*args, flags], args):
        state = libcalls.entry(name, given, calls.mem, 32)
        text = libcalls.exit(name, state, ret, calls.mem, 32)
        want_flags = "NI_NUMERICHOST|NI_NUMERICSERV" if len(given) == 7 else "?"
        assert text == (
            '{sa_family=AF_INET, sin_port=htons(8000), sin_addr=inet_addr("198.18.0.2")}, 16, '
            f'"198.18.0.2", 64, "8000", 32, {want_flags}',
            "0",
            "",
        )


def test_hostents_give_their_addresses(calls):
    assert _POINTER.sub("P", calls.line(4)) == 'gethostbyname("198.18.0.9") = P [198.18.0.9]'
    assert _POINTER.sub("P", calls.line(5)) == (
        'gethostbyname_r("198.18.0.9", P, P, 1024, P, P) = 0 [198.18.0.9]'
    )
    _, state = calls.decode(4)
    values = libcalls.json_values("gethostbyname", state, calls.calls[4][1], calls.mem)
    assert values["addresses"] == ["198.18.0.9"] and values["h_name"] == "198.18.0.9"


def test_arguments_past_the_sixth_come_from_the_stack(calls):
    assert _POINTER.sub("P", calls.line(6)) == (
        'gethostbyname2_r("198.18.0.9", AF_INET, P, P, 1024, P, P) = 0 [198.18.0.9]'
    )


def test_a_dns_reply_shows_its_rcode_and_addresses(calls):
    assert _POINTER.sub("P", calls.line(7)) == (
        'res_query("h2.pycoz.test", C_IN, T_A, P, 512) = 75 [NOERROR, 198.18.0.2, 2001:db8::2]'
    )


def test_dlopen_modes_and_dlerror(calls):
    assert _POINTER.sub("P", calls.line(11)) == 'dlopen("libm.so.6", RTLD_NOW|RTLD_GLOBAL) = P'
    assert _POINTER.sub("P", calls.line(12)) == 'dlsym(P, "cos") = P'
    assert calls.line(13) == 'dlopen("pycoz-no-such-lib.so", RTLD_LAZY) = 0'
    assert calls.line(14) == 'dlerror() = "pycoz-no-such-lib.so: cannot ope"...'


def test_strings_are_escaped_and_cut_as_ltrace_does(calls):
    assert calls.line(8) == r'setenv("PYCOZ_VAR", "va"l\n\tue\001\\", 1) = 0'
    assert calls.line(9) == r'getenv("PYCOZ_VAR") = "va"l\n\tue\001\\"'
    assert calls.line(9, strsize=5) == r'getenv("PYCOZ"...) = "va"l\n"...'
    assert calls.line(10) == 'getenv("PYCOZ_NOT_SET_ANYWHERE") = nil'


@pytest.mark.skipif(LTRACE is None, reason="ltrace is not installed")
@pytest.mark.parametrize("strsize", [32, 6])
def test_same_lines_as_ltrace(programs, calls, strsize):
    """ltrace's own lines for the calls it has prototypes for, run on the same
    program: the same text, but for what pycoz names (dlopen's mode) and
    pointers that differ from run to run."""
    ltrace = subprocess.run(
        [LTRACE, "-s", str(strsize), "-e", "getenv+setenv+dlopen+dlsym+dlerror+gethostbyname",
         *map(str, programs["calls"])],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    theirs = []
    for line in ltrace.stderr.splitlines():
        m = re.match(r"^calls->(\w+\(.*\)) +(= .*)$", line)
        if m:
            theirs.append(_POINTER.sub("P", f"{m.group(1)} {m.group(2)}"))
    ours = []
    for i, (name, _ret, _args) in enumerate(calls.calls):
        if name in ("getenv", "setenv", "dlopen", "dlsym", "dlerror", "gethostbyname"):
            line = calls.line(i, strsize).partition(" [")[0]  # no suffix: ltrace has none
            line = line.replace("RTLD_NOW|RTLD_GLOBAL", "258").replace("RTLD_LAZY", "1")
            ours.append(_POINTER.sub("P", line))
    assert theirs and ours == theirs


def test_unknown_functions_show_four_guessed_arguments(calls):
    """As ltrace 0.7.3 prints a function it has no prototype for (checked
    against ltrace on a library of the test's own in test_ltrace_guesses)."""
    state = libcalls.entry("pyfoo", [9999, 10001, 2**64 - 10000, 2**64 - 10001, 5, 6], calls.mem)
    assert libcalls.exit("pyfoo", state, 2**64 - 1, calls.mem) == (
        "9999, 0x2711, -10000, 0xffffffffffffd8ef",
        "-1",
        "",
    )


@pytest.mark.skipif(LTRACE is None, reason="ltrace is not installed")
def test_ltrace_guesses(tmp_path):
    (tmp_path / "lib.c").write_text("long pyfoo(long a, long b, long c, long d) { return a; }\n")
    (tmp_path / "main.c").write_text(
        "long pyfoo(long, long, long, long);\n"
        "int main(void) { pyfoo(9999, 10000, -10000, -10001); pyfoo(-1, 4096, 1L << 40, 0);"
        " return 0; }\n"
    )
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", tmp_path / "libpyfoo.so", tmp_path / "lib.c"],
                   check=True)  # fmt: skip
    subprocess.run(["gcc", "-o", tmp_path / "main", tmp_path / "main.c", f"-L{tmp_path}",
                    "-lpyfoo", f"-Wl,-rpath,{tmp_path}"], check=True)  # fmt: skip
    out = subprocess.run([LTRACE, "-e", "pyfoo", tmp_path / "main"], capture_output=True,
                         text=True, check=True).stderr  # fmt: skip
    theirs = [re.sub(r" +=", " =", line.partition("->")[2]) for line in out.splitlines()
              if "->pyfoo(" in line]  # fmt: skip
    ours = []
    for args in ([9999, 10000, -10000, -10001], [-1, 4096, 1 << 40, 0]):
        regs = [a & (2**64 - 1) for a in args] + [0, 0]
        text, ret, _ = libcalls.exit("pyfoo", libcalls.entry("pyfoo", regs, None), regs[0], None)
        ours.append(f"pyfoo({text}) = {ret}")
    assert ours == theirs


def test_tls_plaintext_at_entry_and_return(tls):
    lines = [_POINTER.sub("P", tls.line(i, strsize=64)) for i in range(len(tls.calls))]
    assert lines == [
        'SSL_ctrl(P, SSL_CTRL_SET_TLSEXT_HOSTNAME, 0, "h2.pycoz.test") = 1',
        "SSL_get_verify_result(P) = X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT",
        "SSL_get_error(P, -1) = SSL_ERROR_WANT_READ",
        r'SSL_write(P, "GET /secret HTTP/1.1\r\nHost: h2\r\n\r\n", 34) = 34',
        r'SSL_read_ex(P, "GET /secret HTTP/1.1\r\nHost: h2\r\n\r\n", 4096, [34]) = 1',
        r'SSL_write_ex(P, "HTTP/1.1 200 OK\r\n\r\nplain\000text", 29, [29]) = 1',
        r'SSL_read(P, "HTTP/1.1 200 OK\r\n\r\nplain\000text", 4096) = 29',
    ]
    # Cut at strsize, with ltrace's "..." after the quote.
    assert tls.line(3, strsize=8).startswith("SSL_write(0x") and '"GET /sec"..., 34)' in tls.line(
        3, strsize=8
    )
    _, state = tls.decode(4, strsize=64)
    values = libcalls.json_values("SSL_read_ex", state, tls.calls[4][1], tls.mem, 64)
    assert values["args"][1] == "GET /secret HTTP/1.1\r\nHost: h2\r\n\r\n"
    assert values["args"][3] == 34 and values["result"] == 1


def _header_constants(header: str, prefix: str, tmp: pathlib.Path) -> dict[int, str]:
    """The values of every ``#define PREFIX...`` number in a system header, as
    the C compiler sees them."""
    text = pathlib.Path("/usr/include", header).read_text()
    names = sorted(
        set(re.findall(rf"#\s*define\s+({prefix}\w+)\s+-?\(?-?\d+\)?\s*(?:/\*.*)?$", text, re.M))
    )
    src = tmp / "consts.c"
    body = "".join(f'printf("%ld {n}\\n", (long)({n}));\n' for n in names)
    head = f"#define _GNU_SOURCE\n#include <stdio.h>\n#include <{header}>\n"
    src.write_text(f"{head}int main(void) {{ {body} }}\n")
    subprocess.run(["gcc", "-o", tmp / "consts", src], check=True)
    out = subprocess.run([tmp / "consts"], capture_output=True, text=True, check=True).stdout
    return {name: int(value) for value, name in (line.split() for line in out.splitlines())}


@pytest.mark.parametrize(
    ("header", "prefix", "table", "complete"),
    [
        ("openssl/x509_vfy.h", "X509_V_(?:OK|ERR_)", libcalls._X509_V, True),
        ("openssl/ssl.h", "SSL_ERROR_", libcalls._SSL_ERROR, True),
        ("netdb.h", "EAI_", libcalls._EAI, True),
        ("gnutls/gnutls.h", "GNUTLS_E_", libcalls._GNUTLS_E, False),
    ],
)
def test_names_match_the_system_headers(tmp_path, header, prefix, table, complete):
    if not pathlib.Path("/usr/include", header).exists():
        pytest.skip(f"{header} is not installed")
    defined = _header_constants(header, prefix, tmp_path)
    assert defined
    # Every value the header defines has a name here (complete tables), one the
    # header gives it.
    names_of: dict = {}
    for name, value in defined.items():
        names_of.setdefault(value, set()).add(name)
    if complete:
        assert {v: table.get(v) for v in names_of if table.get(v) not in names_of[v]} == {}
    # And no name here means anything else.
    assert {n: v for v, n in table.items() if defined.get(n, v) != v} == {}


def test_a_stopped_program_is_left_as_it_was(calls):
    """Decoding only reads: the program goes on and exits normally."""
    for i in range(len(calls.calls)):
        calls.decode(i)
    os.kill(calls.proc.pid, signal.SIGCONT)
    assert calls.proc.wait(timeout=10) == 0


@pytest.fixture(scope="module")
def protos_program(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("protos")
    src = HERE / "protos.c"
    subprocess.run(["gcc", "-shared", "-fPIC", "-DLIB", "-o", tmp / "libpycozprotos.so", src],
                   check=True)  # fmt: skip
    subprocess.run(["gcc", "-o", tmp / "protos", src, f"-L{tmp}", "-lpycozprotos",
                    f"-Wl,-rpath,{tmp}"], check=True)  # fmt: skip
    return tmp / "protos"


def test_prototype_files_decode_as_ltrace_does(protos_program):
    """protos.conf (ltrace.conf syntax: typedef, struct, array(T, argN), hex,
    char, enum, bitvec, bool, oct, +string[retval], a trailing comment, and a
    printf format whose arguments run onto the stack) decodes calls of a
    library of the test's own, and snprintf, as ltrace -F does."""
    conf = str(HERE / "protos.conf")
    protos = libcalls.load_prototypes(conf)
    stopped = Stopped([protos_program])
    try:
        ours = []
        for i, (name, ret, args) in enumerate(stopped.calls):
            state = libcalls.entry(name, args, stopped.mem, 32, prototypes=protos,
                                   sp=stopped.sp.get(i))  # fmt: skip
            text, result, _ = libcalls.exit(name, state, ret, stopped.mem, 32)
            ours.append(f"{name}({text}) = {result}")
    finally:
        stopped.close()
    if LTRACE is None:
        pytest.skip("ltrace is not installed")
    theirs = []
    # Two runs: pyc_fill calls snprintf itself, which would split its line.
    for expr in ("pyc_*", "snprintf"):
        out = subprocess.run([LTRACE, "-F", conf, "-e", expr, protos_program],
                             capture_output=True, text=True, check=True).stderr  # fmt: skip
        theirs += [re.sub(r"\) +=", ") =", line.partition("->")[2]) for line in out.splitlines()
                   if line.startswith("protos->")]  # fmt: skip
    assert len(theirs) == 4 and ours == theirs


def test_the_systems_ltrace_conf_loads():
    if not os.path.exists("/etc/ltrace.conf"):
        pytest.skip("no /etc/ltrace.conf")
    protos = libcalls.load_prototypes("/etc/ltrace.conf")
    assert [t.kind for t in protos["getaddrinfo"].args] == ["string", "string", "addr", "addr"]
    assert protos["getenv"].ret.kind == "string"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("int f(strnig);", "3: unknown type 'strnig'"),
        ("int f(int", "3: unexpected end of line, expected ')'"),
        ("int f(array(int, argx)*);", "3: bad length 'argx'"),
        ("int f(int); x", "3: unexpected 'x' after ';'"),
        ("typedef 9 = int;", "3: bad type name '9'"),
        ("int (int);", "3: expected a function name, found '('"),
    ],
)
def test_bad_prototype_files_are_one_line_naming_file_and_line(tmp_path, text, error):
    conf = tmp_path / "bad.conf"
    conf.write_text(f"; comment\nint good(int);\n{text}\n")
    with pytest.raises(libcalls.PrototypeError) as err:
        libcalls.load_prototypes(str(conf))
    assert str(err.value).startswith(f"{conf}:{error}")
    assert "\n" not in str(err.value)


def test_a_missing_prototype_file_is_one_line(tmp_path):
    with pytest.raises(
        libcalls.PrototypeError, match=r"nope\.conf: cannot read prototypes: No such"
    ):
        libcalls.load_prototypes(str(tmp_path / "nope.conf"))


def test_gnutls_calls(programs):
    if programs["gnutls"] is None:
        pytest.skip("GnuTLS's headers are not installed")
    stopped = Stopped(programs["gnutls"])
    try:
        lines = [_POINTER.sub("P", stopped.line(i)) for i in range(len(stopped.calls))]
    finally:
        stopped.close()
    assert lines == [
        'gnutls_server_name_set(P, GNUTLS_NAME_DNS, "h2.pycoz.test", 13) = 0',
        "gnutls_handshake(P) = GNUTLS_E_PUSH_ERROR",
        r'gnutls_record_send(P, "GET / HTTP/1.1\r\n", 16) = GNUTLS_E_UNAVAILABLE_DURING_HANDSHAKE',
    ]
