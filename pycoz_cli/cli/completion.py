"""Tab completion: the bash, zsh and fish scripts, what pycoz answers them, and
``pycoz completion SHELL``.

The scripts (committed in completions/) run ``_PYCOZ_COMPLETE=SHELL_complete pycoz``
with the command line up to the cursor in ``COMP_LINE``.  pycoz splits it as the
shell would, lets Click find the command and parameter being completed, and asks
that parameter's ``shell_complete`` callback (complete.py).  The answer is one
line per candidate, tab-separated: ``KIND VALUE HELP``, where KIND is ``plain``
(VALUE is the candidate), ``file`` (complete a path; HELP is a glob such as
``*.toml``, or empty), ``dir`` or ``command``; zsh's answer starts with the prefix
to set aside.

Click's own scripts send the words as bash split them, and bash splits at ``=`` and
``:`` (``COMP_WORDBREAKS``): ``-e trace=open`` and ``star:hosts=3`` arrive in pieces.
Sending the line instead keeps them whole; bash is then given only the part after
the last word break, which is the part readline replaces.

Imported only for a TAB (``cli.main``) or ``pycoz completion``.
"""

from __future__ import annotations

import os

import click
from click.shell_completion import CompletionItem, ShellComplete, add_completion_class

from pycoz_cli.cli.complete import _plain

PROG = "pycoz"
COMPLETE_VAR = "_PYCOZ_COMPLETE"
SHELLS = ("bash", "zsh", "fish")


def split_line(line: str) -> tuple[list[str], str]:
    """The words of ``line`` (a command line up to the cursor), as the shell reads them,
    and the incomplete last one ("" after a space).  An open quote is closed."""
    import shlex

    lex = shlex.shlex(line, posix=True)
    lex.whitespace_split = True
    lex.commenters = ""
    words: list[str] = []
    try:
        words.extend(lex)
    except ValueError:  # an open quote or a trailing backslash: the word goes on
        words.append(lex.token)
        return words[:-1], words[-1]
    stripped = line.rstrip()
    escaped = len(stripped) - len(stripped.rstrip("\\"))
    if words and (stripped == line or escaped % 2):
        return words[:-1], words[-1]
    return words, ""


class _LineComplete(ShellComplete):
    """The shared part: read ``COMP_LINE``, complete, restore an ``--opt=`` head."""

    source_template = ""  # source() is overridden: the scripts are SCRIPTS

    def source(self) -> str:
        return SCRIPTS[self.name]

    def get_completion_args(self) -> tuple[list[str], str]:
        words, incomplete = split_line(os.environ.get("COMP_LINE", ""))
        return words[1:], incomplete

    def get_completions(self, args, incomplete):
        # Click completes the value of "--net=pa" as "pa": give candidates back
        # whole ("--net=pair"), as every other candidate is.
        head = ""
        if incomplete.startswith("-") and "=" in incomplete:
            head = incomplete.partition("=")[0] + "="
        items = self._candidates(args, incomplete)
        if head:
            items = [
                CompletionItem(head + i.value, type=i.type, help=i.help) if i.type == "plain" else i
                for i in items
            ]
        return items

    def _candidates(self, args, incomplete):
        # Click's own steps (ShellComplete.get_completions), with one change: when
        # the value of an option is being completed ("net set lab h1-h2 --from "),
        # Click's parse of the words before stops at that option, missing its
        # value, and the arguments after it are left unparsed (None): the
        # context is made again without the option, so that callbacks see them.
        from click.shell_completion import _resolve_context, _resolve_incomplete

        ctx = _resolve_context(self.cli, self.ctx_args, self.prog_name, list(args))
        obj, incomplete = _resolve_incomplete(ctx, list(args), incomplete)
        if isinstance(obj, click.Option) and args and args[-1] in obj.opts:
            ctx = _resolve_context(self.cli, self.ctx_args, self.prog_name, list(args[:-1]))
        return obj.shell_complete(ctx, incomplete)

    def cut(self, incomplete: str, breaks: str) -> int:
        """Where the shell's word begins in ``incomplete``."""
        return max((incomplete.rfind(c) + 1 for c in breaks), default=0)

    def complete(self) -> str:
        args, incomplete = self.get_completion_args()
        items = self.get_completions(args, incomplete)
        return "".join(self.format(items, incomplete))

    def line(self, kind: str, value: str, help_: str | None = None) -> str:
        text = " ".join((help_ or "").split())
        return f"{kind}\t{value}\t{text}\n"


class BashComplete(_LineComplete):
    """bash replaces readline's word: what follows the last COMP_WORDBREAKS character."""

    name = "bash"

    def format(self, items, incomplete):
        breaks = os.environ.get("COMP_WORDBREAKS", "=:")
        cut = self.cut(incomplete, "".join(c for c in breaks if c not in "\"' \t\n"))
        for item in items:
            if item.type == "plain":
                yield self.line(
                    "plain",
                    item.value[cut:] if item.value.startswith(incomplete[:cut]) else item.value,
                )
            else:
                yield self.line(item.type, item.help or "")


class ZshComplete(_LineComplete):
    """zsh: a first line with the prefix to set aside (``compset -P``), then the rest."""

    name = "zsh"

    def format(self, items, incomplete):
        files = any(i.type != "plain" for i in items)
        cut = self.cut(incomplete, "=:" if files else "=:,")
        yield incomplete[:cut] + "\n"
        for item in items:
            if item.type == "plain":
                yield self.line("plain", item.value[cut:], item.help)
            else:
                yield self.line(item.type, item.help or "")


class FishComplete(_LineComplete):
    """fish matches whole tokens: candidates whole, paths after a ``=``/``:`` head."""

    name = "fish"

    def format(self, items, incomplete):
        for item in items:
            if item.type == "plain":
                yield self.line("plain", item.value, item.help)
            else:
                head = incomplete[: self.cut(incomplete, "=:")]
                yield self.line(item.type, head, item.help)


for _cls in (BashComplete, ZshComplete, FishComplete):
    add_completion_class(_cls, _cls.name)


def complete_main(cli: click.Command) -> int:
    """Answer the completion script (``_PYCOZ_COMPLETE=SHELL_complete``)."""
    from click.shell_completion import shell_complete

    instruction = os.environ.get(COMPLETE_VAR, "")
    return shell_complete(cli, {}, PROG, COMPLETE_VAR, instruction)


# --- the scripts ---------------------------------------------------------------------

_BASH = r"""# bash completion for pycoz                                 -*- shell-script -*-
# Generated by tools/gen_docs.py; also printed by `pycoz completion bash`.
# Install: copy to ~/.local/share/bash-completion/completions/pycoz, or source it.

_pycoz_completion()
{
    local line=${COMP_LINE:0:COMP_POINT}
    # readline replaces the text after the last word break (COMP_WORDBREAKS).
    local cur=${line##*[[:space:]"$COMP_WORDBREAKS"]}
    local kind value rest reply
    COMPREPLY=()
    reply=$(COMP_LINE=$line COMP_WORDBREAKS=$COMP_WORDBREAKS \
        _PYCOZ_COMPLETE=bash_complete "$1" 2>/dev/null) || return 0
    while IFS=$'\t' read -r kind value rest; do
        case $kind in
            plain)
                COMPREPLY+=("$value")
                [[ $value == *[=:,/] ]] && compopt -o nospace
                ;;
            file)
                compopt -o filenames
                if [[ $value ]]; then
                    mapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(compgen -d -- "$cur")
                    mapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(compgen -f -X "!$value" -- "$cur")
                else
                    mapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(compgen -f -- "$cur")
                fi
                ;;
            dir)
                compopt -o filenames
                mapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(compgen -d -- "$cur")
                ;;
            command)
                mapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(compgen -c -- "$cur")
                ;;
        esac
    done <<<"$reply"
    return 0
}
complete -o nosort -F _pycoz_completion pycoz
"""

_ZSH = r"""#compdef pycoz
# zsh completion for pycoz.
# Generated by tools/gen_docs.py; also printed by `pycoz completion zsh`.
# Install: copy as _pycoz into a directory of $fpath, or source it.

_pycoz() {
    local -a reply fields words_done values displays open_values open_displays
    local prefix entry kind value help
    words_done=("${(@)words[1,CURRENT-1]}")
    reply=("${(@f)$(COMP_LINE="${(j: :)words_done} $PREFIX" \
        _PYCOZ_COMPLETE=zsh_complete ${words[1]} 2>/dev/null)}")
    (( $#reply )) || return 1
    prefix=$reply[1]
    [[ -n $prefix ]] && compset -P "${(b)prefix}"
    for entry in "${(@)reply[2,-1]}"; do
        fields=("${(@ps:\t:)entry}")
        kind=$fields[1] value=$fields[2] help=$fields[3]
        case $kind in
            plain)
                if [[ $value == *[=:,/] ]]; then
                    open_values+=("$value"); open_displays+=("$value${help:+  -- $help}")
                else
                    values+=("$value"); displays+=("$value${help:+  -- $help}")
                fi
                ;;
            file) if [[ -n $value ]]; then _files -g "$value"; else _files; fi ;;
            dir) _files -/ ;;
            command) _command_names -e ;;
        esac
    done
    (( $#values )) && compadd -V pycoz -l -d displays -a values
    (( $#open_values )) && compadd -V pycoz-open -S '' -l -d open_displays -a open_values
    return 0
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _pycoz "$@"
else
    compdef _pycoz pycoz
fi
"""

_FISH = r"""# fish completion for pycoz.
# Generated by tools/gen_docs.py; also printed by `pycoz completion fish`.
# Install: copy to ~/.config/fish/completions/pycoz.fish, or source it.

function __pycoz_complete
    set -l token (commandline -ct)
    set -l line (commandline -cp | string collect)
    COMP_LINE=$line _PYCOZ_COMPLETE=fish_complete pycoz 2>/dev/null \
        | while read -l -d \t kind value help
        set -l tail (string sub -s (math (string length -- "$value") + 1) -- "$token")
        switch $kind
            case plain
                printf '%s\t%s\n' $value $help
            case file
                if test -n "$help"
                    for path in (__fish_complete_suffix $tail (string replace '*' '' -- $help))
                        printf '%s%s\n' $value $path
                    end
                else
                    for path in (__fish_complete_path $tail)
                        printf '%s%s\n' $value $path
                    end
                end
            case dir
                for path in (__fish_complete_directories $tail)
                    printf '%s%s\n' $value $path
                end
            case command
                __fish_complete_command
        end
    end
end

complete -c pycoz -f -k -a '(__pycoz_complete)'
"""

#: The script for each shell, as written to completions/ and printed by ``pycoz completion``.
SCRIPTS = {"bash": _BASH, "zsh": _ZSH, "fish": _FISH}
#: Their file names in completions/ and where each shell looks for them.
FILES = {
    "bash": ("pycoz.bash", "share/bash-completion/completions"),
    "zsh": ("_pycoz", "share/zsh/site-functions"),
    "fish": ("pycoz.fish", "share/fish/vendor_completions.d"),
}


def _shells(ctx, param, incomplete):
    return _plain(SHELLS, incomplete)


@click.command(name="completion", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("shell", metavar="SHELL", shell_complete=_shells)
def completion(shell: str) -> None:
    """Print the tab-completion script for SHELL (bash, zsh or fish).

    The script asks pycoz for candidates on every TAB: subcommands and options,
    topology names and parameters, hosts of the topology already given, running
    named topologies, syscalls and classes after -e trace=, tracers, pids, paths.

    \b
    Examples:
      mkdir -p ~/.local/share/bash-completion/completions
      pycoz completion bash > ~/.local/share/bash-completion/completions/pycoz
      mkdir -p ~/.zfunc    # a directory in $fpath
      pycoz completion zsh > ~/.zfunc/_pycoz
      mkdir -p ~/.config/fish/completions
      pycoz completion fish > ~/.config/fish/completions/pycoz.fish
      source <(pycoz completion bash)           # this shell only
    """
    if shell not in SCRIPTS:
        raise click.UsageError(
            f"no completion script for shell {shell!r} (pycoz has them for {', '.join(SHELLS)})"
        )
    click.echo(SCRIPTS[shell], nl=False)
