"""The Click layer: the ``pycoz`` group, its lazily imported subcommands, and the
one place where exceptions become a message and an exit code.

Nothing heavy is imported here: subcommand modules are imported only when
Click needs them, and they import the core only inside their callbacks.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from pycoz_cli import __version__
from pycoz_cli.errors import ExitCode, PycozError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: name -> "module:attribute"; imported on first use.
BUILTIN_COMMANDS = {
    "completion": "pycoz_cli.cli.completion:completion",
    "ltrace": "pycoz_cli.cli.ltrace:ltrace",
    "net": "pycoz_cli.cli.net:net",
    "plugins": "pycoz_cli.cli.plugins:plugins",
    "root": "pycoz_cli.cli.root:root",
    "shell": "pycoz_cli.cli.shell:shell",
    "trace": "pycoz_cli.cli.trace:trace",
}


class SuggestingGroup(click.Group):
    """A group whose "No such command" suggests the nearest of all its commands.

    Click suggests among the commands already imported only (none, in a lazy
    group), and with a cutoff that misses a typo in a two-letter name (uo: up).
    """

    def resolve_command(self, ctx: click.Context, args: list[str]):
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as err:
            from difflib import get_close_matches

            name = err.command_name
            close = get_close_matches(name, self.list_commands(ctx), n=1, cutoff=0.5)
            if not close:
                raise
            message = f"No such command {name!r}. Did you mean {close[0]!r}?"
            raise click.exceptions.NoSuchCommand(name, message, ctx=ctx) from None


class LazyGroup(SuggestingGroup):
    """A group whose subcommands are imported only when they are needed.

    Built-in commands are ``lazy`` ("module:attr").  Plugin commands are found
    in two steps, the cheap one first: those declared in entry-point group
    ``pycoz.commands`` are read from the installed metadata (no import) and
    imported alone when used; any other name loads the plugins and asks their
    ``register_commands`` hooks.
    """

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})
        self._declared: dict | None = None
        self._clashes: dict[str, str] = {}
        self._plugins_loaded = False
        #: name -> plugin name, of the commands plugins registered.
        self.registered: dict[str, str] = {}

    def declared(self) -> dict:
        """name -> (module:attr, distribution) from ``pycoz.commands``, without
        the names that clash (those are in ``_clashes``: name -> message)."""
        if self._declared is None:
            from pycoz_cli.entrypoints import commands, normalize

            declared: dict = {}
            for name, value, dist in commands():
                owner = f"{normalize(dist.name)} {dist.version}"
                if name in self.lazy:
                    self._clashes[name] = f"command {name!r} is both pycoz's own and {owner}'s"
                elif name in declared and declared[name][1] is not dist:
                    first = declared[name][1]
                    self._clashes[name] = (
                        f"command {name!r} is declared by both {normalize(first.name)} "
                        f"{first.version} and {owner}"
                    )
                else:
                    declared[name] = (value, dist)
            self._declared = {n: d for n, d in declared.items() if n not in self._clashes}
        return self._declared

    def declared_by(self, name: str) -> str:
        from pycoz_cli.entrypoints import normalize

        dist = self.declared().get(name, (None, None))[1]
        return f"{normalize(dist.name)} {dist.version}" if dist else "another plugin"

    def owner(self, name: str) -> str | None:
        """Who provides plugin command ``name`` (None: a built-in, or unknown)."""
        if name in self.registered:
            from pycoz_cli.plugins import describe

            return describe(self.registered[name])
        if name in self.commands and name in self.declared():
            return self.declared_by(name)
        return None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy, *self.declared()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            if name not in self.commands:
                module, _, attr = self.lazy[name].partition(":")
                self.add_command(getattr(importlib.import_module(module), attr), name)
            return super().get_command(ctx, name)
        if name in self.commands:
            return self.commands[name]
        from pycoz_cli.errors import SpecError

        if name in self.declared():
            value, dist = self.declared()[name]
            from pycoz_cli.entrypoints import load, normalize

            try:
                command = load(value)
            except Exception as err:
                raise SpecError(
                    f"command {name!r} of {normalize(dist.name)} {dist.version} failed to "
                    f"import {value}: {type(err).__name__}: {err}"
                ) from None
            if not isinstance(command, click.Command):
                raise SpecError(
                    f"command {name!r} of {normalize(dist.name)} {dist.version}: {value} "
                    "is not a Click command"
                )
            self.add_command(command, name)
            return command
        if name in self._clashes:
            raise SpecError(self._clashes[name])
        self.load_plugins()
        return self.commands.get(name)

    def load_plugins(self) -> dict:
        """Every plugin's ``register_commands``; name -> plugin name."""
        from pycoz_cli.plugins import register_commands

        if self._plugins_loaded:
            return {}
        self._plugins_loaded = True
        return register_commands(self)

    def declared_help(self, name: str, limit: int = 45) -> str:
        """``Say hello. (hello-plug 0.1)`` for declared plugin command ``name``,
        without importing it: its help read from its source, else its
        distribution's one-line Summary; ``from hello-plug 0.1`` without either."""
        from pycoz_cli.entrypoints import normalize, read_help, summary

        value, dist = self.declared()[name]
        origin = f"{normalize(dist.name)} {dist.version}"
        text = read_help(value) or summary(dist)
        if not text:
            return f"from {origin}"
        short = click.utils.make_default_short_help(text, max(limit - len(origin) - 3, 20))
        return f"{short} ({origin})"

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list:
        """As Click's, but a declared plugin command is offered from its metadata,
        not imported (Click would import each to show its short help)."""
        from click.shell_completion import CompletionItem

        items = []
        for name in self.list_commands(ctx):
            if not name.startswith(incomplete):
                continue
            if name in self.declared() and name not in self.commands:
                items.append(CompletionItem(name, help=self.declared_help(name, 80)))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                items.append(CompletionItem(name, help=command.get_short_help_str()))
        items.extend(click.Command.shell_complete(self, ctx, incomplete))
        return items

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Built-in commands with their short help; plugin commands with where they
        come from, read from the metadata (listing them imports no plugin)."""
        declared = self.declared()
        commands = []
        for name in sorted(self.lazy):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                commands.append((name, command))
        limit = formatter.width - 6 - max(map(len, [*self.lazy, *declared]), default=0)
        rows = [(name, command.get_short_help_str(limit)) for name, command in commands]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
        if declared:
            rows = [(name, self.declared_help(name, limit)) for name in sorted(declared)]
            with formatter.section("Plugin commands"):
                formatter.write_dl(rows)
        for message in self._clashes.values():
            sys.stderr.write(f"pycoz: warning: {message}: ignored\n")


@click.group(cls=LazyGroup, lazy=BUILTIN_COMMANDS, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="pycoz")
def cli() -> None:
    """Throwaway Linux machines in milliseconds: a root filesystem discarded at
    exit, private networks, and a tracer, for tests and debugging.

    \b
    Examples:
      pycoz root -- sh -c 'rm -rf /etc; ls /'    # the host's /etc is untouched
      pycoz root --base ./rootfs --hostname box  # a shell in an unpacked root

    Exit status: the command's own; 128+N if it died of signal N; 124 if a
    topology's host command was not ready in time (the command never ran); 125
    if pycoz could not set up the container (or a topology's host command could
    not start); 126 if the command is not executable; 127 if it was not found; 2
    for a usage error.
    """


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: run the CLI, map failures to one line + code."""
    if os.environ.get("_PYCOZ_COMPLETE"):  # a TAB in a shell with pycoz's completion script
        from pycoz_cli.cli.completion import complete_main

        return complete_main(cli)
    from pycoz_cli.core.streams import name_stdout

    name_stdout()
    try:
        rv = cli.main(args=argv, prog_name="pycoz", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as err:
        click.echo(err.ctx.get_help(), err=True)
        return ExitCode.USAGE
    except click.UsageError as err:
        where = err.ctx.command_path if err.ctx else "pycoz"
        hint = f" (see '{where} --help')" if err.ctx else ""
        _fail(f"{where}: {err.format_message()}{hint}")
        return ExitCode.USAGE
    except click.Abort:
        _fail("pycoz: aborted")
        return ExitCode.SIGNAL_BASE + 2
    except click.exceptions.Exit as err:
        return err.exit_code
    except click.ClickException as err:
        _fail(f"pycoz: {err.format_message()}")
        return err.exit_code
    except (PycozError, OSError) as err:
        where = _where(argv)
        _fail(f"{where}: {_explain(err, where)}")
        return err.exit_code if isinstance(err, PycozError) else ExitCode.SETUP
    except Exception as err:
        # A plugin's command that raised: one line naming it (the traceback
        # with PYCOZ_DEBUG=1); pycoz's own bugs keep their traceback.
        where = _where(argv)
        name = where.split()[1] if " " in where else None
        owner = cli.owner(name) if name else None
        if owner is None:
            raise
        from pycoz_cli.plugins import plugin_error

        error = plugin_error(f"command {name!r} of {owner}", err)
        _fail(f"pycoz {name}: {error}")
        return error.exit_code
    return rv if isinstance(rv, int) else 0


#: What makes namespaces or mounts, or changes what root made.  Refused for want
#: of privilege, these say so, in one wording (``trace`` runs unprivileged).
NEEDS_ROOT = frozenset(
    {
        "pycoz root",
        "pycoz shell",
        *(f"pycoz net {name}" for name in ("run", "up", "exec", "set", "down", "prune")),
    }
)


def _explain(err: Exception, where: str) -> str:
    """The failure, and for a refusal of a command that needs root, that it does."""
    from pycoz_cli.errors import describe_oserror, lacks_privilege, needs_root

    if isinstance(err, OSError):
        failure = describe_oserror(err)
    else:
        failure = getattr(err, "failure", str(err))
    if where in NEEDS_ROOT and lacks_privilege(getattr(err, "errno", None)):
        return f"{failure}; {needs_root(where)}"
    return failure if isinstance(err, OSError) else str(err)


def _where(argv: list[str] | None) -> str:
    """``pycoz net up`` for messages: the (sub)command that was running, if known."""
    args = sys.argv[1:] if argv is None else argv
    words = [a for a in args if not a.startswith("-")]
    if not words or not (words[0] in cli.lazy or words[0] in cli.commands):
        return "pycoz"
    command = cli.commands.get(words[0])
    if isinstance(command, click.Group) and len(words) > 1 and words[1] in command.commands:
        return f"pycoz {words[0]} {words[1]}"
    return f"pycoz {words[0]}"


def _fail(line: str) -> None:
    sys.stderr.write(line.rstrip("\n") + "\n")
    sys.stderr.flush()


def run() -> None:
    """Exit with main()'s code, skipping interpreter teardown.

    Tearing down every imported module costs more than pycoz's own work for a
    short container (~13 ms here); there is nothing to clean up that the kernel
    does not, so flush the streams, run atexit handlers and leave.
    """
    code = main()
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(int(code))
