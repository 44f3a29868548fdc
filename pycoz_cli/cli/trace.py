"""``pycoz trace``: strace's grammar and output, from Python."""

from __future__ import annotations

import click

from pycoz_cli.cli import complete
from pycoz_cli.cli.options import (
    TailCommand,
    TraceSetup,
    command_args,
    container_from_options,
    fence_options_given,
    net_options,
    root_options,
    run_in_container,
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
    import contextlib
    import os

    from pycoz_cli.core.process import exit_code_for
    from pycoz_cli.core.trace import session
    from pycoz_cli.errors import SpecError

    if attach_pid is not None and attach_pid <= 0:
        raise SpecError(f"-p {attach_pid}: not a process id (a number from 1)")
    if attach_pid is not None and command:
        raise SpecError("-p and COMMAND: choose one")
    if attach_pid is None and not command:
        raise click.UsageError("COMMAND or -p PID is needed")
    in_container = bool(use_root or params["net"] or params["join"])
    if attach_pid is not None and in_container:
        raise SpecError("-p: attach traces a process where it runs (no --root/--net)")
    fence_given = fence_options_given(params)
    if fence_given and not in_container:
        raise SpecError(f"{fence_given[0]}: needs a container (--root, --net or --join)")
    setup = TraceSetup(params, in_container=in_container, attaching=attach_pid is not None)
    if setup.user is not None and (in_container or attach_pid is not None):
        setup.close()
        raise SpecError("-u: runs COMMAND as a user of this machine (no --root/--net, no -p)")
    detached_by = 0
    try:
        if attach_pid is not None:
            detached_by = session.attach(attach_pid, setup.options, setup.sink)
            return 0
        if in_container:
            with contextlib.ExitStack() as stack:
                container = container_from_options(params, stack)
                container.overlay = use_root
                container.trace = setup.tracing()
                return run_in_container(container, command)
        status = session.trace_command(
            command,
            setup.options,
            setup.sink,
            env=_environment(params["env"]),
            cwd=params["workdir"],
            user=setup.user,
        )
    finally:
        setup.close()
        if detached_by:
            # As strace: detached by a signal, die of it (the shell sees 128+N).
            import signal

            signal.signal(detached_by, signal.SIG_DFL)
            os.kill(os.getpid(), detached_by)
    return exit_code_for(os.waitstatus_to_exitcode(status))


def _environment(settings) -> dict[str, str]:
    """pycoz's environment with strace's -E applied: NAME=VALUE sets, NAME unsets."""
    import os

    from pycoz_cli.errors import SpecError

    env = dict(os.environ)
    for item in settings:
        name, sep, value = item.partition("=")
        if not name:
            raise SpecError(f"-E {item!r}: expected NAME=VALUE or NAME")
        if sep:
            env[name] = value
        else:
            env.pop(name, None)
    return env
