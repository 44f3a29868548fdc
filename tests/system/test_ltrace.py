"""``pycoz ltrace``: library calls in every build variant, threads, fork, vfork,
exec and dlopen, with small C programs built here by gcc, and ltrace's own
lines where ltrace sees the calls."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.system.helpers import assert_one_line

SRC = Path(__file__).parent / "ltrace_src"
LTRACE = shutil.which("ltrace")
GCC = shutil.which("gcc")
pytestmark = [
    pytest.mark.skipif(GCC is None, reason="gcc is not installed"),
    pytest.mark.skipif(os.uname().machine != "x86_64", reason="x86_64 only"),
]

#: Build variants: how the program calls its libraries.
VARIANTS = {
    "plt": [],
    "no-plt": ["-fno-plt"],
    "ibt": ["-fcf-protection=full"],
    "now": ["-Wl,-z,now"],
    "no-pie": ["-no-pie"],
    "static": ["-static"],
}
#: A call line: caller->name(args) = result.
CALL = re.compile(r"^(?:\[pid +(\d+)\] )?(\S+)->(\w+)\((.*)\) += (\S+)")


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """build(variant) -> path of prog built that way (libcalc.so next to it)."""
    out = tmp_path_factory.mktemp("ltrace-progs")
    for name in ("libcalc.so", "libplug.so"):  # libplug: only ever dlopen'd
        subprocess.run([GCC, "-shared", "-fPIC", "-o", out / name, SRC / "calc.c"], check=True)
    made = {}

    def make(variant: str) -> Path:
        if variant not in made:
            exe = out / f"prog-{variant}"
            flags = VARIANTS[variant]
            if "-static" in flags:
                libs = [SRC / "calc.c"]
            else:
                libs = [f"-L{out}", "-lcalc", f"-Wl,-rpath,{out}"]
            subprocess.run(
                [GCC, "-O0", *flags, "-o", exe, SRC / "prog.c", *libs, "-pthread"],
                check=True,
                capture_output=True,
            )
            made[variant] = exe
        return made[variant]

    make.dir = out
    return make


def calls(stderr: str, name: str) -> list[tuple]:
    """(pid or None, caller, result) of every ``name`` call line."""
    out = []
    for line in stderr.splitlines():
        m = CALL.match(line)
        if m and m[3] == name:
            out.append((m[1], m[2], m[5]))
    return out


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_build_variant_is_seen(pycoz, build, variant):
    exe = build(variant)
    r = pycoz("ltrace", "-e", "atoi", "--", str(exe), "plain")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "total 42\n"
    assert calls(r.stderr, "atoi") == [(None, exe.name, v) for v in ("7", "14", "21")]
    assert r.stderr.endswith("+++ exited (status 0) +++\n")


@pytest.mark.skipif(LTRACE is None, reason="ltrace is not installed")
@pytest.mark.parametrize("variant", ["plt", "now", "no-pie", "ibt"])
def test_same_calls_as_ltrace_where_ltrace_sees_them(pycoz, build, variant):
    """Where ltrace works (PLT calls), it and pycoz see the same calls, from
    the same caller, with the same results, column for column."""
    exe = build(variant)
    ours = pycoz("ltrace", "-e", "calc", "--", str(exe), "calc")
    theirs = subprocess.run(
        [LTRACE, "-e", "calc", str(exe), "calc"], capture_output=True, text=True, timeout=60
    )
    assert ours.stdout == theirs.stdout == "calc 5 42\n"
    assert len(calls(ours.stderr, "calc")) == 2

    # Line for line the same, raw arguments and columns included (ASLR aside).
    def masked(text):
        return re.sub(r"0x[0-9a-f]{8,}", "0xADDR", text)

    assert masked(ours.stderr) == masked(theirs.stderr)


@pytest.mark.skipif(LTRACE is None, reason="ltrace is not installed")
def test_fno_plt_calls_that_ltrace_misses_are_seen(pycoz, build):
    exe = build("no-plt")
    theirs = subprocess.run(
        [LTRACE, "-e", "atoi", str(exe), "plain"], capture_output=True, text=True, timeout=60
    )
    assert calls(theirs.stderr, "atoi") == []  # ltrace: nothing, and no error
    ours = pycoz("ltrace", "-e", "atoi", "--", str(exe), "plain")
    assert len(calls(ours.stderr, "atoi")) == 3


def test_four_threads_every_call_every_run(pycoz, build):
    """4 threads x 50 calls: every call, in every run (no breakpoint is ever
    lifted while other threads run)."""
    exe = build("plt")
    for _ in range(3):
        r = pycoz("ltrace", "-e", "atoi", "--", str(exe), "threads")
        assert r.returncode == 0, r.stderr
        assert r.stdout == "threads 4900\n"
        got = sorted(int(res) for _, _, res in calls(r.stderr, "atoi"))
        assert got == sorted(list(range(50)) * 4)
        assert r.stderr.count("+++ exited") == 1  # threads end without a line


def test_recursion_returns_match_their_calls(pycoz, build):
    exe = build("plt")
    r = pycoz("ltrace", "-e", "calc", "--", str(exe), "recurse")
    assert r.stdout == "fact 5\n"
    assert [res for _, _, res in calls(r.stderr, "calc")] == ["1", "2", "3", "4"]


def test_fork_without_f_leaves_the_child_untraced_and_well(pycoz, build):
    exe = build("plt")
    r = pycoz("ltrace", "-e", "atoi", "--", str(exe), "fork")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == ["child 11", "parent 22 child-status 3"]
    assert [res for _, _, res in calls(r.stderr, "atoi")] == ["22"]


def test_fork_with_f_traces_both(pycoz, build):
    exe = build("plt")
    r = pycoz("ltrace", "-f", "-e", "atoi", "--", str(exe), "fork")
    assert r.returncode == 0, r.stderr
    found = calls(r.stderr, "atoi")
    assert sorted(res for _, _, res in found) == ["11", "22"]
    assert "+++ exited (status 3) +++" in r.stderr


@pytest.mark.parametrize("follow", [[], ["-f"]])
def test_vfork_and_exec_in_the_child(pycoz, build, follow):
    exe = build("plt")
    r = pycoz("ltrace", *follow, "-e", "atoi", "--", str(exe), "vfork")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == ["parent 22 child-status 0", "total 42"]
    results = sorted(int(res) for _, _, res in calls(r.stderr, "atoi"))
    assert results == ([7, 14, 21, 22] if follow else [22])


@pytest.mark.parametrize("follow", [[], ["-f"]], ids=["no-f", "f"])
def test_clone_vm_reported_as_a_fork_shares_the_breakpoints(pycoz, build, tmp_path, follow):
    """clone(CLONE_VM | SIGCHLD) is reported to the tracer as a fork, but the
    child shares its parent's memory, breakpoints included: parent and child
    call calc from the same call site at the same time, 200 calls each.
    Every call is seen (the child's with -f), the sums are right, the child
    exits by itself (no int3 left to kill it), and pycoz leaves no process."""
    exe = build("plt")
    out = tmp_path / "calls.txt"  # a file: each line starts with its pid under -f
    r = pycoz("ltrace", *follow, "-o", str(out), "-e", "calc", "--", str(exe), "clone-vm", "200")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "clone-vm parent 20100 child 20100 child-status 3\n"
    text = out.read_text()
    line = re.compile(r"^(?:(\d+) +)?\S+->calc\(.*\) += (\d+)$", re.M)
    per_pid: dict = {}
    for m in line.finditer(text):
        per_pid.setdefault(m[1], []).append(int(m[2]))
    if follow:
        assert len(per_pid) == 2 and None not in per_pid, text
        assert all(sorted(v) == list(range(1, 201)) for v in per_pid.values()), text
        assert "+++ exited (status 3) +++" in text
    else:
        assert per_pid == {None: list(range(1, 201))}, text  # the parent's, in order
        assert text.count("+++ exited") == 1  # the child's end is not shown
    assert "<no return ...>" not in text


def test_exec_rearms_in_the_new_program(pycoz, build):
    exe = build("no-plt")
    r = pycoz("ltrace", "-e", "atoi", "--", str(exe), "exec")
    assert r.returncode == 0, r.stderr
    assert [res for _, _, res in calls(r.stderr, "atoi")] == ["5", "7", "14", "21"]


def test_exec_from_a_thread_other_than_the_leader(pycoz, build):
    exe = build("now")
    r = pycoz("ltrace", "-e", "atoi", "--", str(exe), "thread-exec")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "before 5\ntotal 42\n"
    assert [res for _, _, res in calls(r.stderr, "atoi")] == ["5", "7", "14", "21"]


def test_dlopen_library_is_armed_when_loaded(pycoz, build):
    exe = build("plt")
    lib = build.dir / "libplug.so"
    r = pycoz("ltrace", "-x", "calc@libplug.so", "--", str(exe), "dlopen", str(lib))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "dl 11\n"
    assert [(c, res) for _, c, res in calls(r.stderr, "calc")] == [(exe.name, "11")]


@pytest.mark.parametrize("hook", ["_dl_debug_state", "r_brk"])
def test_dlclose_and_dlopen_again(pycoz, build, hook):
    """Armed at each load, by ld.so's _dl_debug_state or, for a loader without
    that symbol, the r_debug.r_brk that DT_DEBUG leads to."""
    exe = build("plt")
    lib = build.dir / "libplug.so"
    env = dict(os.environ, PYCOZ_LTRACE_R_BRK="1" if hook == "r_brk" else "0")
    r = pycoz("ltrace", "-x", "calc@libplug.so", "--", str(exe), "dlcycle", str(lib), env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "dl 10\ndl 11\ndl 12\n"
    assert [res for _, _, res in calls(r.stderr, "calc")] == ["10", "11", "12"]


def test_default_is_the_programs_own_imports(pycoz, build):
    exe = build("plt")
    r = pycoz("ltrace", "--", str(exe), "calc")
    names = {m[3] for m in map(CALL.match, r.stderr.splitlines()) if m}
    assert {"calc", "printf"} <= names
    assert all(m[2] == exe.name for m in map(CALL.match, r.stderr.splitlines()) if m)


def test_filter_chains_and_library_of_the_caller(pycoz, build):
    exe = build("plt")
    r = pycoz("ltrace", "-e", "calc+printf-printf", "--", str(exe), "calc")
    assert {m[3] for m in map(CALL.match, r.stderr.splitlines()) if m} == {"calc"}
    r = pycoz("ltrace", "-e", "calc@libc.so*", "--", str(exe), "calc")
    assert calls(r.stderr, "calc") == []  # calc is called from the program, not libc
    r = pycoz("ltrace", "-e", "calc@MAIN", "--", str(exe), "calc")
    assert len(calls(r.stderr, "calc")) == 2


def test_a_library_name_with_a_dash_in_a_chain(pycoz, tmp_path):
    """``atoi@libfoo-bar.so``: the - is part of the library's name, not a new
    rule (ltrace 0.7.3 cuts the name there and traces nothing)."""
    (tmp_path / "wrap.c").write_text(
        "#include <stdlib.h>\nint wrap(const char *s) { return atoi(s) * 2; }\n"
    )
    (tmp_path / "main.c").write_text(
        "#include <stdio.h>\n#include <stdlib.h>\nint wrap(const char *s);\n"
        'int main(void) { printf("%d %d\\n", wrap("21"), atoi("5")); return 0; }\n'
    )
    lib = tmp_path / "libfoo-bar.so"
    subprocess.run(
        [GCC, "-shared", "-fPIC", "-Wl,-soname,libfoo-bar.so", "-o", lib, tmp_path / "wrap.c"],
        check=True,
    )
    exe = tmp_path / "main"
    subprocess.run(
        [GCC, "-o", exe, tmp_path / "main.c", f"-L{tmp_path}", "-lfoo-bar",
         f"-Wl,-rpath,{tmp_path}"],
        check=True,
    )  # fmt: skip
    for chain in ("atoi@libfoo-bar.so", "atoi@libfoo-bar.so*-wrap", "wrap+atoi@libfoo-*-wrap"):
        r = pycoz("ltrace", "-e", chain, "--", str(exe))
        assert r.returncode == 0 and r.stdout == "42 5\n", (chain, r.stderr)
        assert calls(r.stderr, "atoi") == [(None, "libfoo-bar.so", "21")], (chain, r.stderr)
        assert calls(r.stderr, "wrap") == [], chain
    r = pycoz("ltrace", "-x", "wrap@libfoo-bar.so", "--", str(exe))
    assert calls(r.stderr, "wrap") == [(None, "main", "42")], r.stderr


def test_raw_values_read_as_ltraces(pycoz, tmp_path):
    """A function no decoder knows: its values as ltrace 0.7.3 shows them,
    within +-10000 in decimal, else the 64-bit pattern in hex (an int -3 is
    0xfffffffd in the register)."""
    (tmp_path / "neg.c").write_text("int neg(int x) { return -x; }\n"
                                    "long lneg(long x) { return -x; }\n")  # fmt: skip
    (tmp_path / "m.c").write_text(
        "#include <stdio.h>\nint neg(int); long lneg(long);\nint main(void) {\n"
        '  printf("%d %ld %ld\\n", neg(3), lneg(-10000), lneg(10001)); return 0; }\n'
    )
    subprocess.run([GCC, "-shared", "-fPIC", "-o", tmp_path / "libneg.so", tmp_path / "neg.c"],
                   check=True)  # fmt: skip
    exe = tmp_path / "m"
    subprocess.run([GCC, "-o", exe, tmp_path / "m.c", f"-L{tmp_path}", "-lneg",
                    f"-Wl,-rpath,{tmp_path}"], check=True)  # fmt: skip
    r = pycoz("ltrace", "-e", "neg+lneg", "--", str(exe))
    assert r.stdout == "-3 10000 -10001\n", r.stderr
    ours = {(m[3], m[4].split(",")[0], m[5]) for m in map(CALL.match, r.stderr.splitlines()) if m}
    assert ours == {("neg", "3", "0xfffffffd"), ("lneg", "-10000", "10000"),
                    ("lneg", "0x2711", "0xffffffffffffd8ef")}, r.stderr  # fmt: skip
    if LTRACE:
        theirs = subprocess.run([LTRACE, "-e", "neg+lneg", str(exe)], capture_output=True,
                                text=True)  # fmt: skip
        lines = map(CALL.match, theirs.stderr.splitlines())
        assert {(m[3], m[4].split(",")[0], m[5]) for m in lines if m} == ours


def test_l_traces_what_the_library_exports(pycoz, build):
    """-l LIB: calls into the functions LIB exports, as ltrace's -l shows them;
    not its local ones (the compiler's frame_dummy, register_tm_clones) nor
    _init/_fini, which ld.so runs."""
    exe = build("plt")
    r = pycoz("ltrace", "-l", "libcalc.so", "--", str(exe), "calc")
    assert r.returncode == 0, r.stderr
    names = [m[3] for m in map(CALL.match, r.stderr.splitlines()) if m]
    assert names == ["calc", "calc"], r.stderr
    if LTRACE:
        theirs = subprocess.run(
            [LTRACE, "-l", "libcalc.so", str(exe), "calc"], capture_output=True, text=True
        )
        assert [m[3] for m in map(CALL.match, theirs.stderr.splitlines()) if m] == names


def test_json_and_summary(pycoz, build):
    import json

    exe = build("plt")
    r = pycoz("ltrace", "--json", "-e", "calc", "--", str(exe), "calc")
    records = [json.loads(line) for line in r.stderr.splitlines()]
    libcalls = [x for x in records if x["type"] == "libcall"]
    assert [(x["function"], x["caller"], x["result"]) for x in libcalls] == [
        ("calc", exe.name, 42),  # printf's arguments: right to left
        ("calc", exe.name, 5),
    ]
    r = pycoz("ltrace", "-c", "-e", "atoi", "--", str(exe), "plain")
    assert re.search(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+3 atoi$", r.stderr, re.M), r.stderr


def test_syscalls_too_in_one_timeline(pycoz, build):
    exe = build("plt")
    r = pycoz("ltrace", "-S", "-e", "calc", "--", str(exe), "calc")
    lines = r.stderr.splitlines()
    calc_at = next(i for i, line in enumerate(lines) if "->calc(" in line)
    write_at = next(i for i, line in enumerate(lines) if line.startswith("SYS_write(1,"))
    assert calc_at < write_at  # calc runs before printf writes its result
    assert re.search(r'^SYS_write\(1, "calc 5 42\\n", 10\) += 10$', r.stderr, re.M)


def test_summary_with_syscalls_counts_their_time(pycoz, build):
    """-c -S: syscalls in the table with their own calls and seconds (as
    ltrace's: a few ms in all here, not the clock's value)."""
    exe = build("plt")
    r = pycoz("ltrace", "-c", "-S", "-e", "calc", "--", str(exe), "calc")
    assert r.returncode == 0, r.stderr
    rows = {name: (float(m[2]), int(m[4])) for name, m in _table(r.stderr).items()}
    assert rows["calc"][1] == 2 and rows["SYS_write"][1] == 1, r.stderr
    assert rows["total"][0] < 10, r.stderr


def _table(text: str) -> dict:
    return {
        m[5]: m for m in re.finditer(r"^\s*([\d.]+)\s+([\d.]+)\s+(\d*)\s+(\d+) (\S+)$", text, re.M)
    }


def test_relative_times_and_return_addresses_read_as_ltrace_prints_them(pycoz, build):
    """-r: ltrace's "%3lu.%06d " before each line; -i with -S: the address
    in brackets before syscalls too (``[0x7f...] SYS_write(...)``)."""
    exe = build("plt")
    r = pycoz("ltrace", "-r", "-e", "calc", "--", str(exe), "calc")
    lines = r.stderr.splitlines()
    assert re.match(r"^  0\.000000 prog-plt->calc\(", lines[0]), lines
    assert all(re.match(r"^ {2}\d\.\d{6} \S", line) for line in lines), lines
    r = pycoz("ltrace", "-i", "-S", "-e", "calc", "--", str(exe), "calc")
    assert re.search(
        r'^\[0x[0-9a-f]+\] SYS_write\(1, "calc 5 42\\n", 10\) += 10$', r.stderr, re.M
    ), r.stderr
    assert re.search(r"^\[0x[0-9a-f]+\] prog-plt->calc\(2, 3", r.stderr, re.M), r.stderr


# --- bad input: one line, documented exit code, program untouched --------------


def test_a_function_that_exists_nowhere(pycoz, build, tmp_path):
    """A program that cannot run another (it imports no exec function): refused
    in one line before its main."""
    src = tmp_path / "once.c"
    src.write_text('#include <stdio.h>\nlong calc(long, long);\n'
                   'int main(void) { printf("%ld\\n", calc(1, 2)); return 0; }\n')  # fmt: skip
    exe = tmp_path / "once"
    subprocess.run([GCC, "-o", exe, src, f"-L{build.dir}", "-lcalc", f"-Wl,-rpath,{build.dir}"],
                   check=True)  # fmt: skip
    r = pycoz("ltrace", "-e", "no_such_fn", "--", str(exe))
    assert r.returncode == 2
    line = assert_one_line(r.stderr, "no function no_such_fn", "libc.so.6", "libcalc.so")
    assert line.startswith("pycoz ltrace: ")
    assert r.stdout == ""  # the program never ran its main
    r = pycoz("ltrace", "--root", "-e", "no_such_fn", "--", str(exe))  # the same in a container
    assert r.returncode == 2
    assert_one_line(r.stderr, "pycoz ltrace: no function no_such_fn", "libcalc.so")
    assert r.stdout == ""


@pytest.mark.parametrize(
    "argv",
    [["env", "A=1"], ["sh", "-c", 'exec "$0" "$@"'], ["-f", "sh", "-c", '"$0" "$@"; true']],
    ids=["env", "sh-exec", "f-sh"],
)
def test_a_program_that_runs_another_is_traced_there(pycoz, build, argv):
    """``env``, ``sh -c``: the function is in the program they run, not in
    them; it is traced there (ltrace does so), with no note."""
    exe = build("plt")
    opts, argv = (["-f"], argv[1:]) if argv[0] == "-f" else ([], argv)
    r = pycoz("ltrace", *opts, "-e", "calc", "--", *argv, str(exe), "calc")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "calc 5 42\n"
    assert [res for _, _, res in calls(r.stderr, "calc")] == ["42", "5"]
    assert "no function" not in r.stderr


def test_a_program_it_execs_without_the_function_does_not_end_the_trace(pycoz, build, tmp_path):
    """calc, then exec of true (which has no calc): the trace goes on, true runs
    and ends; no refusal halfway (it killed the program), no note."""
    src = tmp_path / "ex.c"
    src.write_text('#include <stdio.h>\n#include <unistd.h>\nlong calc(long, long);\n'
                   'int main(void) { printf("%ld\\n", calc(1, 2)); fflush(stdout);\n'
                   '  execl("/bin/true", "true", (char *)0); return 1; }\n')  # fmt: skip
    exe = tmp_path / "ex"
    subprocess.run([GCC, "-o", exe, src, f"-L{build.dir}", "-lcalc", f"-Wl,-rpath,{build.dir}"],
                   check=True)  # fmt: skip
    r = pycoz("ltrace", "-e", "calc", "--", str(exe))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "3\n"
    assert [res for _, _, res in calls(r.stderr, "calc")] == ["3"]
    assert "no function" not in r.stderr


def test_a_function_nowhere_in_a_program_that_may_run_others_is_a_note(pycoz):
    r = pycoz("ltrace", "-o", os.devnull, "-e", "no_such_fn", "--", "env", "true")
    assert r.returncode == 0
    assert_one_line(r.stderr, "no function no_such_fn", "env", "traced if a program it runs has it")


def test_a_library_that_is_not_loaded(pycoz, build):
    r = pycoz("ltrace", "-x", "calc@libnothere.so", "--", "true")
    assert r.returncode == 2
    assert_one_line(r.stderr, "libnothere.so", "loaded", "libc.so.6")


@pytest.mark.parametrize(
    "expr, words",
    [
        ("inject=", ["function name"]),
        ("inject=atoi", ["nothing to inject"]),
        ("inject=atoi:bogus=1", ["unknown argument 'bogus'"]),
        ("inject=atoi:retval=EAI_NOPE", ["EAI_NOPE"]),
        ('inject=atoi:arg1="x', ["unterminated"]),
        ("a b", ["not a symbol"]),
        ("%nosuchclass", ["unknown class"]),
    ],
)
def test_malformed_filters_and_injects(pycoz, expr, words):
    r = pycoz("ltrace", "-e", expr, "--", "true")
    assert r.returncode == 2, r.stderr
    assert_one_line(r.stderr, *words)


def test_a_pid_that_cannot_be_attached(pycoz):
    r = pycoz("ltrace", "-p", "999999999")
    assert r.returncode == 125, r.stderr
    assert_one_line(r.stderr, "999999999", "no such process")


def test_no_command_and_no_pid_is_a_usage_error(pycoz):
    r = pycoz("ltrace", "-e", "calc")
    assert r.returncode == 2
    assert "COMMAND or -p PID" in r.stderr


def test_trace_calls_adds_library_calls_to_a_syscall_trace(pycoz, build):
    """One loop, one timeline: calc's calls come before the write of their result."""
    exe = build("ibt")
    r = pycoz("trace", "-e", "trace=write", "--calls", "calc", "--", str(exe), "calc")
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert [m[5] for m in map(CALL.match, lines) if m] == ["42", "5"]
    write = next(i for i, line in enumerate(lines) if line.startswith("write(1, "))
    assert all(i < write for i, line in enumerate(lines) if "->calc(" in line)
    assert re.search(r'^write\(1, "calc 5 42\\n", 10\) += 10$', r.stderr, re.M)


def test_trace_calls_with_i_shows_where_each_call_was_made(pycoz, build):
    """trace -i --calls: a library call's line has strace's [address] column
    too: the call's return address (as ltrace -i shows it), not ????."""
    exe = build("plt")
    r = pycoz("trace", "-i", "-e", "trace=write", "--calls", "calc", "--", str(exe), "calc")
    assert r.returncode == 0, r.stderr
    lines = [line for line in r.stderr.splitlines() if "->calc(" in line]
    assert len(lines) == 2 and all(
        re.match(r"^\[[0-9a-f]{16}\] prog-plt->calc", x) for x in lines
    ), r.stderr


def test_an_ifunc_breaks_on_the_implementation_its_resolver_picks(pycoz, build, tmp_path):
    """strlen's symbol is an IFUNC resolver: pycoz runs it at the program's
    entry (as ld.so did) and breaks on the implementation it returns."""
    src = tmp_path / "sl.c"
    src.write_text(
        "#include <stdio.h>\n#include <string.h>\n"
        'int main(void) { size_t n = 0; const char *w[] = {"a", "bb", "ccc"};\n'
        '  for (int i = 0; i < 3; i++) n += strlen(w[i]); printf("%zu\\n", n); return 0; }\n'
    )
    exe = tmp_path / "sl"
    subprocess.run([GCC, "-O0", "-fno-builtin", "-o", exe, src], check=True)
    r = pycoz("ltrace", "-e", "strlen", "--", str(exe))
    assert r.returncode == 0 and r.stdout == "6\n", r.stderr
    assert [res for _, _, res in calls(r.stderr, "strlen")] == ["1", "2", "3"]
    assert "IFUNC" not in r.stderr


def test_an_ifunc_in_a_static_binary_is_named_as_such(pycoz, build):
    r = pycoz("ltrace", "-e", "strlen", "--", str(build("static")), "plain")
    assert r.returncode == 0
    assert "strlen is an IFUNC" in r.stderr and "not traced" in r.stderr


def test_output_file_return_addresses_times_and_durations(pycoz, build, tmp_path):
    exe = build("plt")
    out = tmp_path / "calls.txt"
    r = pycoz("ltrace", "-o", str(out), "-i", "-tt", "-T", "-e", "calc", "--", str(exe), "calc")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    lines = out.read_text().splitlines()
    pattern = r"^\d\d:\d\d:\d\d\.\d{6} \[0x[0-9a-f]+\] prog-plt->calc\(.*\) += (\d+) <\d+\.\d{6}>$"
    assert [re.match(pattern, line)[1] for line in lines[:2]] == ["42", "5"]
    assert lines[2].endswith("+++ exited (status 0) +++")


def test_one_file_per_process(pycoz, build, tmp_path):
    exe = build("plt")
    prefix = tmp_path / "out"
    r = pycoz("ltrace", "-ff", "-o", str(prefix), "-e", "atoi", "--", str(exe), "fork")
    assert r.returncode == 0, r.stderr
    files = sorted(tmp_path.glob("out.*"))
    assert len(files) == 2
    texts = sorted(f.read_text() for f in files)
    assert sorted(calls(t, "atoi")[0][2] for t in texts) == ["11", "22"]
    assert any("+++ exited (status 3) +++" in t for t in texts)


def test_prototype_file_that_cannot_be_read(pycoz, tmp_path):
    r = pycoz("ltrace", "-F", str(tmp_path / "none.conf"), "-e", "calc", "--", "true")
    assert r.returncode == 2
    assert_one_line(r.stderr, "none.conf", "No such file")


def test_every_function_of_libc_and_the_program_still_right(pycoz, tmp_path):
    """Breakpoints on all of libc's functions (every kind of first instruction,
    emulated or copied out of line): ls prints what it prints untraced, and
    only the calls that cannot return are without a result."""
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(150):
        (tree / f"file-{i:03d}").write_text("x" * i)
    untraced = subprocess.run(["ls", "-la", tree], capture_output=True, text=True).stdout
    out = tmp_path / "calls.txt"
    r = pycoz("ltrace", "-x", "*@libc.so.6", "-o", str(out), "--", "ls", "-la", str(tree))
    assert r.returncode == 0, r.stderr
    assert r.stdout == untraced
    text = out.read_text()
    assert text.count("\n") > 1000
    unreturned = {m[1] for m in re.finditer(r"->(\w+)\(.*<no return \.\.\.>$", text, re.M)}
    assert unreturned <= {"__libc_start_main", "exit", "_Exit", "_exit"}, unreturned


def test_a_tail_call_returns_both_calls(pycoz):
    """strcoll jumps to __strcoll_l: one return, two calls ended, same result."""
    r = pycoz("ltrace", "-x", "strcoll+__strcoll_l", "--", "ls", "/usr/bin")
    outer = calls(r.stderr, "strcoll")
    inner = calls(r.stderr, "__strcoll_l")
    assert outer and len(outer) == len(inner)
    assert "no return" not in r.stderr


def test_prototype_file_decodes_by_its_types(pycoz, build, tmp_path):
    """-F: ltrace.conf prototypes decide how a call reads (hex here, where a
    function without one shows small numbers in decimal)."""
    conf = tmp_path / "calc.conf"
    conf.write_text("hex(long) calc(hex(long), hex(long));\n")
    r = pycoz("ltrace", "-F", str(conf), "-e", "calc", "--", build("plt"), "calc")
    assert r.returncode == 0, r.stderr
    assert re.search(r"->calc\(0x2, 0x3\) +\= 0x5$", r.stderr, re.M), r.stderr
    assert re.search(r"->calc\(0x28, 0x2\) +\= 0x2a$", r.stderr, re.M), r.stderr
    bad = tmp_path / "bad.conf"
    bad.write_text("int ok(int);\nint broken(int;\n")
    r = pycoz("ltrace", "-F", str(bad), "-e", "calc", "--", build("plt"), "calc")
    assert r.returncode == 2
    assert_one_line(r.stderr, f"{bad}:2")


@pytest.mark.parametrize("variant", ["plt", "no-plt"])
def test_stack_under_each_call(pycoz, build, variant):
    """-k: the stack of each traced call, unwound from the function's first byte
    (the int3 there), named from the ELF symbols: the caller, then main."""
    r = pycoz("ltrace", "-k", "-e", "calc", "--", build(variant), "calc")
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    first = next(i for i, line in enumerate(lines) if "->calc(" in line)
    stack = []
    for line in lines[first + 1 :]:
        if not line.startswith(" > "):
            break
        stack.append(line)
    assert stack, r.stderr
    assert re.search(r"libcalc\.so\(calc\+0x0\) \[0x[0-9a-f]+\]$", stack[0]), stack
    assert any(re.search(rf"prog-{variant}\(main\+0x[0-9a-f]+\)", s) for s in stack[1:]), stack
