"""``pycoz trace``: strace's grammar and output, from Python."""

from __future__ import annotations

import click

from pycoz_cli.cli import complete
from pycoz_cli.cli.options import (
    TailCommand,
    command_args,
    container_from_options,
    net_options,
    root_options,
    run_in_container,
)

CONTEXT = {"allow_interspersed_args": False, "help_option_names": ["-h", "--help"]}


@click.command(name="trace", cls=TailCommand, context_settings=CONTEXT)
@click.option(
    "-e",
    "exprs",
    metavar="EXPR",
    shell_complete=complete.trace_expr,
    multiple=True,
    help="strace's -e: trace=SET (names, !negation, /regex, %file %process "
    "%network %signal %ipc %desc %memory %creds), status=, signal=, "
    "inject=SET:error=ERRNO|retval=N[:when=A[..B][+S]] (repeatable).",
)
@click.option(
    "-f",
    "follow",
    count=True,
    help="Follow forks, clones and vforks (-ff: one file per process with -o).",
)
@click.option(
    "-o", "output", metavar="FILE", shell_complete=complete.path, help="Write the trace to FILE."
)
@click.option(
    "-s",
    "strsize",
    type=click.IntRange(0),
    default=32,
    show_default=True,
    help="Longest string printed.",
)
@click.option(
    "-t",
    "timestamps",
    count=True,
    help="Time of day (-tt: microseconds, -ttt: seconds since the epoch).",
)
@click.option("-r", "relative", is_flag=True, help="Time since the previous line.")
@click.option("-T", "durations", is_flag=True, help="Time spent in each call.")
@click.option("-y", "decode_fds", is_flag=True, help="Print paths of file descriptors.")
@click.option("-c", "summary", is_flag=True, help="Count calls, errors and time per syscall.")
@click.option("-q", "quiet", count=True, help="Fewer messages (-qq: no exit lines).")
@click.option(
    "-p",
    "attach_pid",
    type=int,
    metavar="PID",
    shell_complete=complete.pid,
    help="Attach to a running process; Ctrl-C detaches and leaves it running.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per line: calls (values and strace text) and events.",
)
@click.option(
    "--no-seccomp",
    "no_seccomp",
    is_flag=True,
    help="Stop at every syscall even when only some are traced.",
)
@click.option(
    "--tracer",
    "tracer_name",
    metavar="NAME",
    shell_complete=complete.tracer,
    default="strace",
    show_default=True,
    help="What to make of the events: strace (text), sockets (the life of every "
    "socket and a summary per connection), or a plugin's tracer.",
)
@click.option(
    "--root",
    "use_root",
    is_flag=True,
    help="Run COMMAND in a throwaway root (with the root options below).",
)
@root_options(env_short=False)
@net_options
@command_args
def trace(
    exprs,
    follow,
    output,
    strsize,
    timestamps,
    relative,
    durations,
    decode_fds,
    summary,
    quiet,
    attach_pid,
    as_json,
    no_seccomp,
    use_root,
    tracer_name,
    command,
    **params,
) -> int:
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
    import os
    import sys

    from pycoz_cli.core.process import exit_code_for
    from pycoz_cli.core.trace import filters, session
    from pycoz_cli.core.trace import output as outputs
    from pycoz_cli.errors import SpecError

    if attach_pid is not None and command:
        raise SpecError("-p and COMMAND: choose one")
    if attach_pid is None and not command:
        raise click.UsageError("COMMAND or -p PID is needed")
    tracer_factory, tracer_syscalls = None, None
    if tracer_name != "strace":
        from pycoz_cli.plugins import find_tracer

        tracer_factory, tracer_syscalls = find_tracer(tracer_name)
    defaults = []
    if tracer_syscalls:
        from pycoz_cli.core.trace.syscalls import NUMBERS

        names = [n for n in tracer_syscalls if n in NUMBERS]
        defaults = [f"trace={','.join(names)}"]
    parsed = filters.parse([*defaults, *exprs])
    per_pid = None
    stream = sys.stderr
    if output:
        if follow >= 2:
            per_pid = outputs.open_per_pid(output)
        else:
            stream = open(output, "w")  # noqa: SIM115 - closed below
    common = {
        "strsize": strsize,
        "decode_fds": decode_fds,
        "status": parsed.status,
        "signals": parsed.signals,
        "quiet": quiet,
    }
    if summary:
        sink = outputs.Summary(stream, **common)
    elif tracer_factory is not None:
        sink = tracer_factory(stream, **common)
    elif as_json:
        sink = outputs.JsonLines(stream, durations=True, **common)
    else:
        sink = outputs.StraceText(
            stream,
            follow=bool(follow),
            timestamps=timestamps,
            relative=relative,
            durations=durations,
            per_pid=per_pid,
            to_file=bool(output) and per_pid is None,
            **common,
        )
    import contextlib

    in_container = use_root or params["net"] or params["join"]
    # Inside a container every process is followed: they all share its fate.
    options = session.options_from(
        parsed, follow=bool(follow) or bool(in_container), prefilter=not no_seccomp
    )
    try:
        if attach_pid is not None:
            if in_container:
                raise SpecError("-p: attach traces a process where it runs (no --root/--net)")
            status = session.attach(attach_pid, options, sink)
        elif in_container:
            with contextlib.ExitStack() as stack:
                container = container_from_options(params, stack)
                container.overlay = bool(use_root)
                return run_in_container(
                    container,
                    command,
                    lambda argv: session.trace_in_container(container, argv, options, sink),
                )
        else:
            status = session.trace_command(command, options, sink)
    finally:
        if per_pid is not None:
            per_pid.close()
        elif stream is not sys.stderr:
            stream.close()
    if attach_pid is not None:
        return 0
    code = os.waitstatus_to_exitcode(status)
    return exit_code_for(code)
