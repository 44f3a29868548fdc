"""``pycoz shell``: an interactive shell in a throwaway machine."""

from __future__ import annotations

import click

from pycoz_cli.cli.options import (
    TRACE_OPTIONS,
    TraceSetup,
    container_from_options,
    net_options,
    root_options,
    trace_options,
    withhold_inherited_fds,
)


@click.command(name="shell", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-c",
    "command",
    metavar="COMMAND",
    help="Run COMMAND with the shell, non-interactively (for scripts), and exit.",
)
@click.option("-q", "--quiet", is_flag=True, help="No banner and no notes on stderr.")
@click.option(
    "--no-root",
    is_flag=True,
    help="Keep the host's filesystem (writes are real), as ip netns exec does.",
)
@click.option(
    "--trace",
    "traced",
    is_flag=True,
    help="Trace every process started in the shell (with the trace options below).",
)
@trace_options(in_shell=True)
@root_options(env_short=False)
@net_options
def shell(command, quiet, no_root, traced, **params) -> int:
    """Open a shell in a throwaway machine: its own root, network and tracer.

    The shell ($SHELL, else bash, else sh) runs in a throwaway root (as pycoz
    root makes it; --no-root keeps the host's filesystem), in a host of a
    topology with --net (built for this shell) or --join (a running named one),
    and traced with --trace. On a terminal it gets a terminal of its own, in the
    container: job control, Ctrl-C, Ctrl-Z, window resizes and full-screen
    programs work inside, and none of the keys reaches pycoz. Its prompt starts
    with [pycoz HOST]. Leaving the shell removes everything the shell made.

    \b
    Examples:
      pycoz shell                                 # break things; nothing stays
      pycoz shell --net pair --host h1            # then: ping h2
      pycoz net up lab.toml --name lab            # two terminals, two hosts:
      pycoz shell --join lab --host h1            #   in one
      pycoz shell --join lab --host h2            #   in the other
      pycoz shell --net dualstack --host client --trace -e %network -o net.txt
      pycoz shell --base ./rootfs -c 'cat /etc/os-release'

    Exit status: the shell's; 125 if the machine could not be made; 2 for a
    usage error.
    """
    import contextlib
    import os
    import sys

    from pycoz_cli.errors import SpecError

    given = [
        long or short
        for short, long, param, settings in TRACE_OPTIONS
        if param in params and params[param] not in (None, False, 0, (), settings.get("default"))
    ]
    if given and not traced:
        raise SpecError(f"{given[0]}: a trace option needs --trace")
    if no_root:
        # No throwaway root: no layer to keep changes in or to start from.
        for option, value in (("--upper", params["upper"]), ("--base", params["base"])):
            if value is not None and (option == "--upper" or value != "/"):
                raise SpecError(
                    f"{option} {value}: --no-root keeps the host's filesystem "
                    "(writes are real): use one or the other"
                )
    interactive = command is None and os.isatty(0)
    exprs = " ".join(params.get("exprs") or ()) or "every call"
    with contextlib.ExitStack() as stack:
        setup = side = stream = None
        if traced:
            if interactive and not params.get("output"):
                # The tracer's lines reach this raw terminal through pycoz.
                side, w = os.pipe2(os.O_CLOEXEC)
                stack.callback(os.close, side)
                stream = stack.enter_context(os.fdopen(w, "w", buffering=1))
            setup = TraceSetup(params, in_container=True, stream=stream)
            stack.callback(setup.close)
        container = container_from_options(params, stack)
        container.overlay = not no_root
        if setup is not None:
            container.trace = setup.tracing()
        env = {**os.environ, **container.env}
        shell_path = _shell(env, container.base, quiet)
        where = container.hostname or container.host
        if container.network is not None:
            where = where or container.network.topology.first_host()
        if command is not None:
            argv = [shell_path, "-c", command]
        elif interactive:
            from pycoz_cli.core import shells

            label = f"[pycoz {where}] " if where else "[pycoz] "
            start = shells.interactive(shell_path, label, env)
            stack.callback(start.close)
            container.env.update(start.env)
            argv = start.argv
        else:
            argv = [shell_path]  # commands from stdin: no prompt, no job control
        if not interactive:
            from pycoz_cli.cli.options import run_in_container

            return run_in_container(container, argv)
        if not quiet:
            sys.stderr.write(_banner(container, where, setup, exprs))
            sys.stderr.flush()
        from pycoz_cli.core import terminal
        from pycoz_cli.core.process import SignalsHeld, exit_code_for

        withhold_inherited_fds(container)
        with SignalsHeld():
            proc = container.spawn(argv, terminal=True, pass_fds=start.fds, close_fds=False)
            if stream is not None:
                stream.close()  # the tracer (init) holds the writing end now
            return exit_code_for(terminal.relay(proc, side=side))


def _shell(env: dict, base: str, quiet: bool) -> str:
    """The user's shell if the root has it, else bash, else sh (saying so)."""
    from pycoz_cli.core.container import default_shell

    chosen = default_shell(env, base)
    wanted = env.get("SHELL")
    if wanted and chosen != wanted and not quiet:
        note = f"pycoz shell: $SHELL {wanted} is not in the root {base}; using {chosen}"
        click.echo(note, err=True)
    return chosen


def _fence_line(container) -> str:
    """What the fence lets root do here, in a few words (docs/security.md)."""
    fence = container.fence
    if fence.privileged:
        return "NONE (--privileged): root here has the host's full power"
    adjust = [f"+{c}" for c in fence.cap_add] + [f"-{c}" for c in fence.cap_drop]
    adjust += [f"deny {d}" for d in fence.seccomp_deny]
    limits = container.limits
    if limits:
        adjust += [
            f"{name} {value}"
            for name, value in (
                ("memory", limits.memory),
                ("pids", limits.pids),
                ("cpus", limits.cpus),
            )
            if value is not None
        ]
    extra = f" ({', '.join(adjust)})" if adjust else ""
    return f"root here owns this machine's namespaces only, not the host{extra}"


def _banner(container, where, setup, exprs: str) -> str:
    if not container.overlay:
        root = "the host's filesystem (--no-root: writes are real)"
    elif container.upper:
        root = f"a root over {container.base}, changes kept in {container.upper}"
    else:
        root = f"a throwaway root over {container.base} (changes vanish at exit)"
    lines = [f"pycoz shell: {root}"]
    network = container.network
    if network is not None:
        topo = network.topology
        # A shell builds only ephemeral networks (no name); a joined one has its name.
        kind = f"joined {network.name}" if network.name else "ephemeral"
        addresses = " ".join(topo.interface_addresses(where)) or "loopback only"
        lines.append(f"  host      {where} of {topo.name} ({kind}): {addresses}")
        others = [h for h in topo.hosts() if h != where]
        if others:
            lines.append(f"  by name   {' '.join(others)}")
    if setup is not None:
        target = setup.output or "this terminal"
        lines.append(f"  tracing   {exprs} -> {target}")
    lines.append(f"  fence     {_fence_line(container)}")
    from pycoz_cli.core import userns

    if userns.active():
        lines.append(f"  rootless  {userns.limits()}")
    lines.append("  leave with exit or Ctrl-D")
    return "\n".join(lines) + "\n"
