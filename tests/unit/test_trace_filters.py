"""strace's ``-e`` grammar: sets, classes, negation, regexes, statuses, signals, injection."""

import errno

import pytest

from pycoz_cli.core.trace import filters, syscalls
from pycoz_cli.core.trace.filters import Filters, Injection
from pycoz_cli.errors import SpecError

X86 = syscalls.for_arch("x86_64")
ARM = syscalls.for_arch("aarch64")
NR = X86.numbers


def parse(*expressions, table=X86):
    return filters.parse(list(expressions), table=table)


def names(f: Filters) -> set[str]:
    return {X86.names[nr] for nr in f.syscalls}


def error(*expressions, table=X86) -> str:
    with pytest.raises(SpecError) as info:
        parse(*expressions, table=table)
    message = str(info.value)
    assert "\n" not in message
    assert info.value.exit_code == 2
    return message


# -- trace= ---------------------------------------------------------------------------


def test_defaults_trace_everything():
    f = parse()
    assert f.syscalls is None and f.status is None and f.signals is None
    assert f.injections == [] and f.quiet == frozenset()
    assert f.abbrev is None and f.verbose is None
    assert f.raw == f.read_fds == f.write_fds == f.decode_fds == frozenset()
    assert f.traces(NR["read"]) and f.shows_status("failed") and f.shows_signal(17)
    assert f.traced_names() is None


def test_names():
    f = parse("trace=open,close")
    assert f.syscalls == {NR["open"], NR["close"]}
    assert f.traced_names(X86) == ["close", "open"]
    assert f.traces(NR["open"]) and not f.traces(NR["read"])


def test_bare_list_means_trace_and_t_is_short_for_it():
    assert parse("open,close") == parse("trace=open,close") == parse("t=open,close")


def test_empty_tokens_are_skipped_like_strace():
    assert parse("trace=,openat,").syscalls == {NR["openat"]}


def test_numbers():
    assert parse("trace=0,257").syscalls == {0, 257}
    # A hole in the table is still a number the kernel answers (with ENOSYS).
    assert parse("trace=400").syscalls == {400}


def test_classes():
    assert names(parse("trace=%network")) == X86.classes["%network"]
    assert parse("trace=%net") == parse("trace=%network") == parse("trace=network")
    assert parse("trace=file") == parse("trace=%file")
    f = parse("trace=%file,connect")
    assert names(f) == X86.classes["%file"] | {"connect"}
    assert {"openat", "execve"} <= names(f)
    for cls in syscalls.CLASS_NAMES:
        assert names(parse(f"trace={cls}")) == X86.classes[cls]


def test_negation():
    f = parse("trace=!%network")
    assert not f.traces(NR["connect"]) and not f.traces(NR["socket"])
    assert f.traces(NR["openat"]) and f.traces(NR["read"])
    assert names(f) == set(NR) - X86.classes["%network"]
    assert parse("trace=!!openat").syscalls == {NR["openat"]}
    assert parse("trace=!open,close").syscalls == set(X86.names) - {NR["open"], NR["close"]}


def test_all_and_none():
    assert parse("trace=all").syscalls is None
    assert parse("trace=none").syscalls == frozenset()
    assert parse("trace=!all").syscalls == frozenset()
    assert parse("trace=!none").syscalls is None


def test_regex():
    assert names(parse("trace=/^sock")) == {"socket", "socketpair"}
    assert names(parse("trace=/stat$")) >= {"stat", "fstat", "lstat", "cachestat"}
    # Unanchored search, as POSIX regexec.
    assert "rt_sigaction" in names(parse("trace=/sigact"))
    assert names(parse("trace=/^(open|close)$")) == {"open", "close"}
    assert names(parse("trace=/^sock,connect")) == {"socket", "socketpair", "connect"}


def test_question_mark_skips_what_is_missing():
    assert parse("trace=?opne,openat").syscalls == {NR["openat"]}
    assert parse("trace=?open,openat", table=ARM).syscalls == {ARM.numbers["openat"]}
    assert parse("trace=?/^nothing_like_this,read").syscalls == {NR["read"]}
    assert parse("trace=?%nonsense,read").syscalls == {NR["read"]}


def test_personality_suffix():
    assert parse("trace=fork@64").syscalls == {NR["fork"]}
    assert parse("trace=57@64").syscalls == {57}


def test_later_trace_replaces_earlier():
    assert parse("trace=openat", "trace=close").syscalls == {NR["close"]}


def test_other_syscall_sets():
    f = parse("abbrev=none", "verbose=!%network", "raw=read,write")
    assert f.abbrev == frozenset()
    assert NR["connect"] not in f.verbose and NR["read"] in f.verbose
    assert f.raw == {NR["read"], NR["write"]}
    assert parse("x=all").raw is None
    assert parse("a=openat").abbrev == {NR["openat"]}


def test_aarch64_table():
    f = parse("trace=%file", table=ARM)
    assert ARM.numbers["openat"] in f.syscalls
    assert parse("trace=openat", table=ARM).syscalls == {56}


# -- status=, signal=, quiet=, read=, write=, decode-fds= ----------------------------


def test_status():
    assert parse("status=failed").status == {"failed"}
    assert parse("status=successful,failed").status == {"successful", "failed"}
    assert parse("status=!failed").status == set(filters.STATUSES) - {"failed"}
    assert parse("status=all").status is None
    assert parse("status=none").status == frozenset()
    assert parse("status=" + ",".join(filters.STATUSES)).status is None
    f = parse("status=failed")
    assert f.shows_status("failed") and not f.shows_status("successful")


def test_signals():
    assert parse("signal=SIGCHLD").signals == {17}
    assert parse("signal=chld,term,9").signals == {17, 15, 9}
    assert parse("signals=SIGINT").signals == parse("s=int").signals == {2}
    f = parse("signal=!SIGCHLD")
    assert not f.shows_signal(17) and f.shows_signal(15) and f.shows_signal(64)
    assert f.signals == set(range(1, 65)) - {17}
    assert parse("signal=none").signals == frozenset()
    assert parse("signal=all").signals is None


def test_signal_names():
    assert filters.signal_number("SIGRTMIN") == 32
    assert filters.signal_number("SIGRT_1") == 33
    assert filters.signal_number("SIGRT_32") == 64
    assert filters.signal_number("SIGRTMIN+2") == 34
    assert filters.signal_number("rtmax") == filters.signal_number("SIGRTMAX-0") == 64
    assert filters.signal_number("SIGIOT") == 6 and filters.signal_number("SIGPOLL") == 29
    assert filters.signal_number("sigterm") == 15
    assert filters.signal_number("SIGNOPE") is None
    assert filters.signal_number("65") is None and filters.signal_number("0") is None
    assert filters.SIGNALS[17] == "SIGCHLD" and filters.SIGNALS[40] == "SIGRT_8"


def test_quiet_and_descriptors():
    assert parse("quiet=attach,exits").quiet == {"attach", "exit"}
    assert parse("quiet=thread-execve").quiet == {"superseded"}
    assert parse("q=all").quiet == set(filters.QUIET.values())
    assert parse("quiet=none").quiet == frozenset()
    assert parse("read=3,4").read_fds == {3, 4}
    assert parse("w=all").write_fds is None
    assert parse("decode-fds=path,socket").decode_fds == {"path", "socket"}
    assert parse("decode-fds=all").decode_fds == set(filters.DECODE_FDS)


# -- inject= and fault= -------------------------------------------------------------------


def test_inject_error_by_name_and_number():
    (inj,) = parse("inject=openat:error=ENOENT").injections
    assert inj == Injection(syscalls=frozenset({NR["openat"]}), error=errno.ENOENT)
    assert inj.retval is None and inj.tampers
    assert parse("inject=openat:error=enoent").injections == [inj]
    assert parse("inject=openat:error=2").injections == [inj]
    assert parse("inject=openat:error=ERESTARTSYS").injections[0].error == 512


def test_inject_retval():
    (inj,) = parse("inject=read:retval=0").injections
    assert inj.retval == 0 and inj.error is None and inj.tampers
    assert parse("inject=read:retval=0x10").injections[0].retval == 16
    assert parse("inject=read:retval=010").injections[0].retval == 8  # C's strtoull
    assert parse("inject=read:retval=-4096").injections[0].retval == -4096
    assert parse(f"inject=read:retval={2**64 - 5000}").injections[0].retval == -5000


def test_inject_delays():
    (inj,) = parse("inject=%network:delay_enter=100ms").injections
    assert inj.syscalls == {X86.numbers[n] for n in X86.classes["%network"]}
    assert inj.delay_enter_us == 100_000 and inj.delay_exit_us == 0
    assert not inj.tampers
    units = {"5s": 5_000_000, "2us": 2, "300": 300, "1.5ms": 1500, "1e3": 1000, "10ns": 1}
    for text, micros in units.items():
        assert parse(f"inject=read:delay_exit={text}").injections[0].delay_exit_us == micros


def test_inject_signal():
    (inj,) = parse("inject=openat:signal=SIGUSR1").injections
    assert inj.signal == 10 and not inj.tampers


def test_fault_defaults_to_enosys():
    (inj,) = parse("fault=open").injections
    assert inj.error == errno.ENOSYS
    assert parse("fault=open:error=EPERM:when=3").injections[0].error == errno.EPERM


@pytest.mark.parametrize(
    ("when", "hits"),
    [
        (None, range(1, 21)),  # every call
        ("3", [3]),  # only the third
        ("3+", range(3, 21)),  # the third and every one after
        ("3+2", [3, 5, 7, 9, 11, 13, 15, 17, 19]),
        ("2..4", [2, 3, 4]),
        ("2..4+", [2, 3, 4]),
        ("2..4+2", [2, 4]),  # the example: exactly calls 2 and 4
        ("1..10+3", [1, 4, 7, 10]),
        ("5..5", [5]),
    ],
)
def test_when(when, hits):
    spec = "inject=connect:error=ECONNREFUSED" + (f":when={when}" if when else "")
    (inj,) = parse(spec).injections
    assert [n for n in range(1, 21) if inj.applies(n)] == list(hits)


def test_when_fields():
    (inj,) = parse("inject=connect:error=ECONNREFUSED:when=2..4+2").injections
    assert (inj.first, inj.last, inj.step) == (2, 4, 2)
    (inj,) = parse("inject=connect:error=ECONNREFUSED:when=3").injections
    assert (inj.first, inj.last, inj.step) == (3, 3, 1)
    (inj,) = parse("inject=connect:error=ECONNREFUSED:when=3+").injections
    assert (inj.first, inj.last, inj.step) == (3, None, 1)
    (inj,) = parse("inject=connect:error=ECONNREFUSED").injections
    assert (inj.first, inj.last, inj.step) == (1, None, 1)


def test_injected_calls_are_traced():
    f = parse("trace=close", "inject=openat:error=ENOENT")
    assert f.syscalls == {NR["close"], NR["openat"]}
    assert parse("trace=none", "inject=openat:error=EPERM").traced_names(X86) == ["openat"]
    # With everything traced, it stays "everything".
    assert parse("inject=openat:error=EPERM").syscalls is None


def test_injections_accumulate_and_the_last_wins_per_call():
    f = parse(
        "inject=openat,close:error=ENOENT",
        "inject=read:retval=0",
        "inject=close:error=EIO",
    )
    assert len(f.injections) == 3
    assert f.injection_for(NR["openat"]).error == errno.ENOENT
    assert f.injection_for(NR["close"]).error == errno.EIO
    assert f.injection_for(NR["read"]).retval == 0
    assert f.injection_for(NR["write"]) is None
    assert f.injected_syscalls == {NR["openat"], NR["close"], NR["read"]}


def test_inject_all_and_classes():
    assert parse("inject=all:error=EPERM").injections[0].syscalls == set(X86.names)
    assert NR["openat"] in parse("inject=%file:error=EACCES").injections[0].syscalls


def test_records_are_immutable_and_comparable():
    (inj,) = parse("inject=openat:error=ENOENT:when=2").injections
    with pytest.raises(AttributeError):
        inj.error = 1
    assert hash(inj) == hash(parse("inject=openat:error=ENOENT:when=2").injections[0])
    assert "error=2" in repr(inj) and "first=2" in repr(inj)
    assert parse("trace=openat") == parse("openat") != parse("trace=close")
    with pytest.raises(TypeError):
        Injection(bogus=1)


# -- every error message -----------------------------------------------------------------


def test_unknown_syscall_suggests_close_names():
    assert error("trace=opne").startswith("-e trace=opne: unknown syscall 'opne' (did you mean ")
    assert "'open'" in error("trace=opne")
    assert "'connect'" in error("trace=open,conect")
    assert error("trace=open,conect").startswith("-e trace=open,conect: unknown syscall 'conect'")
    assert error("opne").startswith("-e opne: unknown syscall 'opne'")
    assert error("trace=xyzzy") == "-e trace=xyzzy: unknown syscall 'xyzzy'"
    assert "'open'" in error("trace=OPEN")


def test_syscall_missing_on_this_architecture():
    message = error("trace=open", table=ARM)
    assert message.startswith("-e trace=open: syscall 'open' does not exist on aarch64")
    assert "'openat'" in message


def test_unknown_class():
    message = error("trace=%netwrk")
    assert message.startswith("-e trace=%netwrk: unknown class '%netwrk' (did you mean '%network'")
    message = error("trace=%zzz")
    assert message.startswith("-e trace=%zzz: unknown class '%zzz' (known: %file %process")


def test_bad_regex_and_empty_regex():
    assert error("trace=/[").startswith("-e trace=/[: bad regex '/[': ")
    assert error("trace=/^sockX") == "-e trace=/^sockX: regex '/^sockX' matches no syscall"


def test_bad_numbers_and_lists():
    assert (
        error("trace=99999") == "-e trace=99999: unknown syscall number 99999 (x86_64 has 0..469)"
    )
    assert error("trace=") == "-e trace=: empty syscall list"
    assert error("trace=,") == "-e trace=,: empty syscall list"
    assert error("trace=1abc") == "-e trace=1abc: unknown syscall '1abc'"


def test_bad_personality():
    assert (
        error("trace=fork@32")
        == "-e trace=fork@32: 'fork@32': pycoz traces the 64-bit personality only"
    )
    assert error("trace=fork@foo") == (
        "-e trace=fork@foo: unknown personality '@foo' in 'fork@foo' (@64, @32, @x32)"
    )


def test_unknown_qualifier():
    assert error("tarce=open") == "-e tarce=open: unknown qualifier 'tarce' (did you mean 'trace'?)"
    assert error("foo=bar").startswith("-e foo=bar: unknown qualifier 'foo' (expected trace=")
    assert error("kvm=vcpu") == "-e kvm=vcpu: 'kvm=' is not supported by pycoz trace"
    assert (
        error("secontext=full") == "-e secontext=full: 'secontext=' is not supported by pycoz trace"
    )


def test_bad_status_signal_quiet_descriptor():
    assert error("status=sucessful") == (
        "-e status=sucessful: unknown status 'sucessful' (did you mean 'successful'?)"
    )
    assert error("status=foo") == (
        "-e status=foo: unknown status 'foo' (expected one of: successful, failed, unfinished,"
        " unavailable, detached)"
    )
    assert error("status=") == "-e status=: empty status list"
    assert error("signal=SIGTREM").startswith(
        "-e signal=SIGTREM: unknown signal 'SIGTREM' (did you mean 'SIGTERM'"
    )
    assert error("signal=99") == "-e signal=99: signal number 99 out of range 1..64"
    assert error("quiet=exitz").startswith(
        "-e quiet=exitz: unknown quiet 'exitz' (did you mean 'exit'"
    )
    assert error("read=x") == "-e read=x: bad descriptor 'x' (expected a number)"
    assert error("read=!3") == "-e read=!3: '!' needs 'all' or 'none' for a descriptor list"
    assert error("decode-fds=paths").startswith("-e decode-fds=paths: unknown decode-fds 'paths'")


def test_bad_errno():
    assert error("inject=openat:error=ENOENTX").startswith(
        "-e inject=openat:error=ENOENTX: unknown errno 'ENOENTX' (did you mean 'ENOENT'"
    )
    assert error("inject=openat:error=EWHATEVER").startswith(
        "-e inject=openat:error=EWHATEVER: unknown errno 'EWHATEVER'"
    )
    assert error("inject=open:error=0") == (
        "-e inject=open:error=0: bad error=0: errno numbers go from 1 to 4095"
    )
    assert "bad error=4096" in error("inject=open:error=4096")


def test_bad_inject_specs():
    base = "inject=openat:error=ENOENT"
    assert error(base + ":retval=0") == f"-e {base}:retval=0: error= and retval= exclude each other"
    assert error("inject=openat") == (
        "-e inject=openat: nothing to inject: give one of error=, retval=, signal=,"
        " delay_enter=, delay_exit="
    )
    assert error("inject=openat:when=2") == (
        "-e inject=openat:when=2: nothing to inject: give one of error=, retval=, signal=,"
        " delay_enter=, delay_exit="
    )
    assert error("inject=:error=EPERM") == (
        "-e inject=:error=EPERM: inject= needs a syscall set before the first ':'"
    )
    assert error("inject=opne:error=EPERM").startswith(
        "-e inject=opne:error=EPERM: unknown syscall 'opne'"
    )
    assert error("inject=openat:eror=ENOENT") == (
        "-e inject=openat:eror=ENOENT: unknown inject option 'eror=ENOENT' (did you mean 'error='?)"
    )
    assert error("inject=openat:bogus").startswith(
        "-e inject=openat:bogus: unknown inject option 'bogus' (expected error=, retval="
    )
    assert error(base + ":error=EIO") == f"-e {base}:error=EIO: error= given twice"
    assert error("inject=openat:syscall=getpid") == (
        "-e inject=openat:syscall=getpid: inject option 'syscall=' is not supported by pycoz"
    )
    assert error("fault=open:retval=1") == (
        "-e fault=open:retval=1: unknown fault option 'retval=1' (expected error=, when=)"
    )


def test_bad_retval():
    assert error("inject=read:retval=abc") == (
        "-e inject=read:retval=abc: bad retval=abc: expected an integer"
    )
    assert error("inject=read:retval=-1") == (
        "-e inject=read:retval=-1: retval=-1 would read as an error; use error=1 instead"
    )
    assert "use error=1" in error(f"inject=read:retval={2**64 - 1}")
    assert error(f"inject=read:retval={2**64}") == (
        f"-e inject=read:retval={2**64}: bad retval={2**64}: does not fit in 64 bits"
    )


def test_bad_signal_in_inject():
    assert error("inject=openat:signal=SIGFOO").startswith(
        "-e inject=openat:signal=SIGFOO: unknown signal 'SIGFOO'"
    )


def test_bad_delay():
    assert error("inject=open:delay_enter=xx") == (
        "-e inject=open:delay_enter=xx: bad delay_enter=xx: expected a time such as 100ms, 5s,"
        " 250us"
    )
    assert "bad delay_exit=1m" in error("inject=open:delay_exit=1m")
    assert "bad delay_exit=-1" in error("inject=open:delay_exit=-1")


@pytest.mark.parametrize(
    ("when", "reason"),
    [
        ("0", "calls are counted from 1"),
        ("0..3", "calls are counted from 1"),
        ("3..2", "LAST is before FIRST"),
        ("1+0", "STEP must be at least 1"),
        ("70000", "numbers go up to 65535"),
        ("1..70000", "numbers go up to 65535"),
        ("2-4", "expected FIRST[..LAST][+[STEP]]"),
        ("", "expected FIRST[..LAST][+[STEP]]"),
        ("1.3", "expected FIRST[..LAST][+[STEP]]"),
        ("x", "expected FIRST[..LAST][+[STEP]]"),
    ],
)
def test_bad_when(when, reason):
    spec = f"inject=openat:error=ENOENT:when={when}"
    assert error(spec) == f"-e {spec}: bad when={when}: {reason}"


def test_when_given_twice():
    spec = "inject=openat:error=ENOENT:when=1:when=2"
    assert error(spec) == f"-e {spec}: when= given twice"


def test_errno_number_helper():
    assert filters.errno_number("ENOENT") == errno.ENOENT
    assert filters.errno_number("econnrefused") == errno.ECONNREFUSED
    assert filters.errno_number("EWOULDBLOCK") == errno.EAGAIN
    assert filters.errno_number("ENOTSUPP") == 524
    assert filters.errno_number("errorcode") is None
    assert filters.errno_number("4096") is None
