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
    "net": "pycoz_cli.cli.net:net",
    "root": "pycoz_cli.cli.root:root",
    "trace": "pycoz_cli.cli.trace:trace",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when they are needed."""

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            module, _, attr = self.lazy[name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, lazy=BUILTIN_COMMANDS, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="pycoz")
def cli() -> None:
    """Throwaway Linux machines in milliseconds: a root filesystem discarded at
    exit, private networks, and a tracer, for tests and debugging.

    \b
    Examples:
      pycoz root -- sh -c 'rm -rf /etc; ls /'    # the host's /etc is untouched
      pycoz root --base ./rootfs --hostname box  # a shell in an unpacked root

    Exit status: the command's own; 128+N if it died of signal N; 125 if pycoz
    could not set up the container; 126 if the command is not executable; 127 if
    it was not found; 2 for a usage error.
    """


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: run the CLI, map failures to one line + code."""
    if os.environ.get("_PYCOZ_COMPLETE"):  # a TAB in a shell with pycoz's completion script
        from pycoz_cli.cli.completion import complete_main

        return complete_main(cli)
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
    except PycozError as err:
        _fail(f"{_where(argv)}: {err}")
        return err.exit_code
    except OSError as err:
        from pycoz_cli.errors import describe_oserror

        _fail(f"{_where(argv)}: {describe_oserror(err)}")
        return ExitCode.SETUP
    return rv if isinstance(rv, int) else 0


def _where(argv: list[str] | None) -> str:
    """``pycoz root`` for messages: the subcommand that was running, if known."""
    args = sys.argv[1:] if argv is None else argv
    sub = next((a for a in args if not a.startswith("-")), None)
    return f"pycoz {sub}" if sub in cli.lazy or sub in cli.commands else "pycoz"


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
