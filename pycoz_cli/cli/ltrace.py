"""``pycoz ltrace``: ltrace's grammar and lines, on pycoz's tracer core."""

from __future__ import annotations

import click

from pycoz_cli.cli import complete
from pycoz_cli.cli.options import (
    TailCommand,
    command_args,
    net_options,
    root_options,
    run_traced,
)

CONTEXT = {"allow_interspersed_args": False, "help_option_names": ["-h", "--help"]}


@click.command(name="ltrace", cls=TailCommand, context_settings=CONTEXT)
@click.option(
    "-e",
    "exprs",
    metavar="FILTER",
    multiple=True,
    help="Calls to trace, ltrace's chains: NAME[@LIB] (LIB: where the call comes "
    "from), + and - rules, globs, @MAIN, %CLASS; or inject=NAME:... to tamper "
    "(repeatable).",
)
@click.option(
    "-x",
    "xexprs",
    metavar="FILTER",
    multiple=True,
    help="Like -e, but @LIB is the library that defines the function (repeatable).",
)
@click.option(
    "-l", "libs", metavar="LIB", multiple=True, help="Trace every function of LIB (repeatable)."
)
@click.option(
    "-f", "follow", count=True, help="Follow forks and vforks (-ff: one file per process with -o)."
)
@click.option("-o", "output", metavar="FILE", shell_complete=complete.path, help="Write to FILE.")
@click.option(
    "-s",
    "strsize",
    type=click.IntRange(0),
    default=32,
    show_default=True,
    metavar="N",
    help="Longest string.",
)
@click.option("-T", "durations", is_flag=True, help="Time spent in each call.")
@click.option("-t", "timestamps", count=True, help="Time of day (-tt: us, -ttt: epoch seconds).")
@click.option("-r", "relative", is_flag=True, help="Time since the previous line.")
@click.option("-c", "summary", is_flag=True, help="Count calls and time per function.")
@click.option("-i", "show_ip", is_flag=True, help="Print the return address of each call.")
@click.option("-S", "syscalls", is_flag=True, help="Syscalls too, in the same timeline.")
@click.option(
    "-F",
    "prototypes",
    metavar="FILE",
    multiple=True,
    shell_complete=complete.path,
    help="Prototypes in ltrace.conf syntax (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("-k", "--stack", "stack", is_flag=True, help="A backtrace for each call.")
@click.option("-q", "quiet", count=True, help="No attach/detach notes.")
@click.option(
    "-p",
    "--attach",
    "attach_pid",
    type=int,
    metavar="PID",
    shell_complete=complete.pid,
    help="Attach to a running process; Ctrl-C detaches and leaves it as it was.",
)
@click.option(
    "--root", "use_root", is_flag=True, help="Run COMMAND in a throwaway root (options below)."
)
@root_options(env_short=False)
@net_options
@command_args
def ltrace(attach_pid, use_root, command, **params) -> int:
    """Trace the library calls of COMMAND (or of -p PID), as ltrace does.

    Breakpoints go on each function's definition in every loaded object, so
    calls through the PLT, -fno-plt and CET binaries, static binaries,
    libraries opened with dlopen and calls from any thread are all seen.
    Without -e, -x or -l: the functions the program itself imports, called
    from it. Lines read like ltrace's, with the caller:
    caller->function(arguments) = result.

    \b
    Examples:
      pycoz ltrace -e getaddrinfo -- getent ahosts h2
      pycoz ltrace -e 'SSL_*@libcurl.so*' -- curl -s https://198.18.0.2/
      pycoz ltrace -p 1234 -e malloc+free -c
      pycoz ltrace --net pair -e getaddrinfo \\
          -e 'inject=getaddrinfo:node="h2"' -- ping -n -c1 nosuch.invalid
    """
    from pycoz_cli.core.trace import calls

    calls.check_machine()
    return run_traced(attach_pid, use_root, command, params, calls.LtraceSetup)
