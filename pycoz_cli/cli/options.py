"""Option groups shared by the subcommands that make a container.

``root`` uses them today; ``trace`` and ``shell`` reuse the same decorators so the
three never drift apart.
"""

from __future__ import annotations

import click

from pycoz_cli.cli import complete

ROOT_OPTIONS = (
    click.option(
        "--base",
        metavar="DIR",
        shell_complete=complete.directory,
        default="/",
        show_default=True,
        help="Lower layer: the root filesystem to start from.",
    ),
    click.option(
        "--upper",
        metavar="DIR",
        shell_complete=complete.directory,
        help="Keep the changes in DIR (DIR/upper, DIR/mounts/...) instead of "
        "discarding them; the next run can reuse DIR.",
    ),
    click.option(
        "--bind",
        "binds",
        metavar="SRC[:DST]",
        multiple=True,
        shell_complete=complete.path,
        help="Bind a host path into the container, writable (repeatable).",
    ),
    click.option(
        "--ro-bind",
        "ro_binds",
        metavar="SRC[:DST]",
        multiple=True,
        shell_complete=complete.path,
        help="Bind a host path into the container, read-only (repeatable).",
    ),
    click.option(
        "--tmpfs",
        "tmpfs",
        metavar="DIR[:OPTS]",
        multiple=True,
        shell_complete=complete.directory,
        help="Mount an empty tmpfs on DIR, e.g. /tmp:mode=1777 (repeatable).",
    ),
    click.option("--hostname", metavar="NAME", help="Hostname inside the container."),
    click.option(
        "-w",
        "--workdir",
        metavar="DIR",
        shell_complete=complete.directory,
        help="Working directory inside (default: the current one if it exists there, else /).",
    ),
    click.option(
        "--propagation",
        type=click.Choice(["slave", "private"]),
        default="slave",
        show_default=True,
        help="Mount propagation from the host into the container.",
    ),
)
_ENV_HELP = "Set an environment variable inside (repeatable)."


NET_OPTIONS = (
    click.option(
        "--net",
        "net",
        metavar="TOPOLOGY",
        shell_complete=complete.topology,
        help="Run in a host of this topology, built for this run and removed "
        "after (a built-in such as pair or star:hosts=5, or a TOML file).",
    ),
    click.option(
        "--join",
        metavar="NAME",
        shell_complete=complete.named,
        help="Run in a host of the running named topology NAME (pycoz net up).",
    ),
    click.option(
        "--host",
        metavar="HOST",
        shell_complete=complete.host,
        help="The host to run in (default: the topology's first host).",
    ),
    click.option(
        "--impair",
        "impair",
        metavar="LINK[:KEY=VALUE,...]",
        multiple=True,
        shell_complete=complete.link,
        help="With --net: impair a link, e.g. h1-h2:delay=50ms,loss=1% (both directions) "
        "or h1>h2:rate=1mbit (one); keys delay, jitter, loss, corrupt, rate (repeatable).",
    ),
)


def build_topology(spec: str, impairs=()):
    """Resolve a topology spec and apply ``--impair`` options to it."""
    from pycoz_cli.core.topology import impair_spec, resolve

    topo = resolve(spec)
    for item in impairs:
        impair_spec(topo, item)
    return topo


def net_options(func):
    """Add the network-placement options (--net, --join, --host) to a command."""
    for option in reversed(NET_OPTIONS):
        func = option(func)
    return func


def network_from_options(params: dict, stack):
    """Build (--net) or open (--join) the network; registered on ``stack`` for
    teardown.  Returns (network or None, host); pops what it uses."""
    from pycoz_cli.errors import SpecError

    spec, join, host = params.pop("net"), params.pop("join"), params.pop("host")
    impairs = params.pop("impair")
    if spec and join:
        raise SpecError("--net and --join: choose one")
    if impairs and not spec:
        raise SpecError("--impair: needs --net")
    if spec:
        from pycoz_cli.core.topology import Network

        network = stack.enter_context(Network(build_topology(spec, impairs)))
        network.start_commands()
    elif join:
        from pycoz_cli.core.named import Joined

        network = Joined(join)
        stack.callback(network.close)
    else:
        if host:
            raise SpecError(f"--host {host}: needs --net or --join")
        return None, None
    network.netns(host or network.topology.first_host())  # an unknown host fails here
    return network, host


def root_options(func=None, *, env_short: bool = True):
    """Add the throwaway-root options to a command.

    ``env_short=False`` leaves ``--env`` without its ``-e`` (``pycoz trace``, where
    ``-e`` is strace's).
    """
    if func is None:
        return lambda f: root_options(f, env_short=env_short)
    names = ("-e", "--env") if env_short else ("--env",)
    env = click.option(*names, "env", metavar="NAME=VALUE", multiple=True, help=_ENV_HELP)
    for option in reversed((*ROOT_OPTIONS, env)):
        func = option(func)
    return func


def container_from_options(params: dict, stack=None):
    """A ``Container`` from the values of ``root_options``; pops what it uses.

    With ``stack`` (an ExitStack) the ``net_options`` are used too: the network
    is built or opened, placed in the container, and torn down with the stack.
    """
    from pycoz_cli.core.container import Bind, Container
    from pycoz_cli.errors import SpecError

    env = {}
    for item in params.pop("env"):
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SpecError(f"--env {item!r}: expected NAME=VALUE")
        env[name] = value
    binds = [Bind.parse(b) for b in params.pop("binds")]
    binds += [Bind.parse(b, readonly=True) for b in params.pop("ro_binds")]
    network, host = network_from_options(params, stack) if stack is not None else (None, None)
    return Container(
        base=params.pop("base"),
        upper=params.pop("upper"),
        binds=binds,
        tmpfs=params.pop("tmpfs"),
        hostname=params.pop("hostname"),
        workdir=params.pop("workdir"),
        propagation=params.pop("propagation"),
        env=env,
        network=network,
        host=host,
    )


def run_in_container(container, command, start=None) -> int:
    """Start COMMAND in CONTAINER, pass on the signals sent to pycoz while it runs,
    and return the exit code pycoz exits with (128+N for a death by signal N).

    ``start(command)`` replaces ``container.spawn`` (``pycoz trace`` traces it).
    """
    from pycoz_cli.core.process import SignalsHeld, exit_code_for, wait_passing_signals

    with SignalsHeld():
        proc = start(command) if start else container.spawn(command, close_fds=False)
        return exit_code_for(wait_passing_signals(proc))


def command_args(func):
    """The trailing ``[--] COMMAND [ARG]...`` of a container command."""
    argument = click.argument(
        "command",
        nargs=-1,
        type=click.UNPROCESSED,
        metavar="[--] COMMAND [ARG]...",
        shell_complete=complete.command,
    )
    return argument(func)


class TailCommand(click.Command):
    """A command whose trailing COMMAND [ARG]... belongs to the program it runs.

    With ``--``, everything before it is pycoz's (options may follow positional
    arguments: ``pycoz net run pair --host h2 -- ping h1``) and everything after
    is COMMAND.  Without it, pycoz's options stop at the first argument that is
    not an option or a positional of pycoz's own (``pycoz root ls -la``).
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" not in args:
            return super().parse_args(ctx, args)
        cut = args.index("--")
        head, tail = args[:cut], args[cut + 1 :]
        ctx.allow_interspersed_args = True
        rest = super().parse_args(ctx, head)
        if ctx.params.get("command"):
            extra = " ".join(ctx.params["command"])
            raise click.UsageError(f"unexpected {extra!r} before '--'", ctx)
        ctx.params["command"] = tuple(tail)
        return rest


def container_command(**settings):
    """``click.command`` settings for commands whose arguments after COMMAND are
    the command's own (``pycoz root ls -la`` passes ``-la`` to ls)."""
    context = {"allow_interspersed_args": False, "help_option_names": ["-h", "--help"]}
    return click.command(cls=TailCommand, context_settings=context, **settings)
