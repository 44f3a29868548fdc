"""``pycoz trace``: strace's grammar and output, from Python."""

from __future__ import annotations

import click

from pycoz_cli.cli import complete
from pycoz_cli.cli.options import (
    TailCommand,
    TraceSetup,
    command_args,
    net_options,
    root_options,
    run_traced,
    trace_options,
)

CONTEXT = {"allow_interspersed_args": False, "help_option_names": ["-h", "--help"]}


@click.command(name="trace", cls=TailCommand, context_settings=CONTEXT)
@trace_options
@click.option(
    "-p",
    "--attach",
    "attach_pid",
    type=int,
    metavar="PID",
    shell_complete=complete.pid,
    help="Attach to a running process; Ctrl-C detaches and leaves it running.",
)
@click.option(
    "--calls",
    "calls",
    metavar="FILTER",
    multiple=True,
    help="Library calls too, in the same timeline: ltrace's -e filter, e.g. "
    "getaddrinfo or 'SSL_*@libcurl.so*', or inject=NAME:... (repeatable).",
)
@click.option(
    "--root",
    "use_root",
    is_flag=True,
    help="Run COMMAND in a throwaway root (with the root options below).",
)
@root_options(strace_shorts=True)
@net_options
@command_args
def trace(attach_pid, use_root, command, **params) -> int:
    """Trace the syscalls of COMMAND (or of -p PID), as strace does.

    With -e trace=SET only the calls in SET stop the program: a seccomp-bpf
    filter installed before exec lets every other call run at full speed. The
    traced program dies with pycoz (PTRACE_O_EXITKILL); one attached with -p
    is detached and keeps running. Lines are printed when a call returns.

    \b
    Examples:
      pycoz trace -e trace=%network -- curl -s http://198.18.0.2/
      pycoz trace -f -e trace=openat,execve -o out.txt -- make
      pycoz trace -e inject=openat:error=ENOENT:when=2 -- cat /etc/hostname
      pycoz trace --json -e trace=connect -- python3 client.py
    """
    return run_traced(attach_pid, use_root, command, params, TraceSetup)
