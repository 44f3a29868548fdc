"""Tab completion: the bash, zsh and fish scripts, and what pycoz answers them.

The scripts (``pycoz completion SHELL``, committed in completions/) run
``_PYCOZ_COMPLETE=SHELL_complete pycoz`` with the command line up to the cursor in
``COMP_LINE``.  pycoz splits it as the shell would, lets Click find the command and
parameter being completed, and asks that parameter's ``shell_complete`` callback,
which are the functions below.  The answer is one line per candidate, tab-separated:
``KIND VALUE HELP``, where KIND is ``plain`` (VALUE is the candidate), ``file``
(complete a path; VALUE is a glob such as ``*.toml``, or empty), ``dir`` or
``command``.

Click's own scripts send the words as bash split them, and bash splits at ``=`` and
``:`` (``COMP_WORDBREAKS``): ``-e trace=open`` and ``star:hosts=3`` arrive in pieces.
Sending the line instead keeps them whole; the bash script is then given only the
part after the last word break, which is the part readline replaces.

Everything here runs on every TAB, so it imports only what the candidate needs:
never pyroute2, python-ptrace or cffi (core.named is not imported either: its
netns module loads the cffi bindings).  Callbacks never raise: a completion that
fails offers nothing rather than a traceback in the middle of the prompt.
"""

from __future__ import annotations

import functools
import os

import click
from click.shell_completion import CompletionItem, ShellComplete, add_completion_class

PROG = "pycoz"
COMPLETE_VAR = "_PYCOZ_COMPLETE"
SHELLS = ("bash", "zsh", "fish")
#: Where named topologies are recorded (``core.named.STATE_DIR``, not imported: see above).
NAMED_STATE_DIR = "/run/pycoz/net"
#: A candidate ending in one of these takes more text: no space after it.
_OPEN_ENDED = ("=", ":", ",", "/")


def _quiet(func):
    """A completion callback that offers nothing instead of raising."""

    @functools.wraps(func)
    def wrapper(ctx, param, incomplete):
        try:
            return func(ctx, param, incomplete)
        except Exception:
            return []

    return wrapper


def _plain(values, incomplete: str, helps: dict | None = None) -> list[CompletionItem]:
    return [
        CompletionItem(v, help=(helps or {}).get(v)) for v in values if v.startswith(incomplete)
    ]


# --- paths, commands, processes ------------------------------------------------


def path(ctx, param, incomplete):
    """Any file or directory."""
    return [CompletionItem("", type="file")]


def directory(ctx, param, incomplete):
    """A directory."""
    return [CompletionItem("", type="dir")]


def command(ctx, param, incomplete):
    """``[--] COMMAND [ARG]...``: a command name first, then files."""
    if ctx.params.get("command"):
        return [CompletionItem("", type="file")]
    return [CompletionItem("", type="command")]


@_quiet
def pid(ctx, param, incomplete):
    """Running processes, with their command names."""
    me = os.getpid()
    items = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or not entry.startswith(incomplete) or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        items.append((int(entry), comm))
    return [CompletionItem(str(p), help=comm) for p, comm in sorted(items)]


# --- topologies ----------------------------------------------------------------


def _is_file_spec(spec: str) -> bool:
    """As ``core.topology.resolve`` reads a TOPOLOGY: a file, or a name."""
    return spec.endswith(".toml") or os.sep in spec


@_quiet
def topology(ctx, param, incomplete):
    """Topology names (built-ins and plugins'), ``NAME:PARAM=`` and .toml files."""
    toml = CompletionItem("", type="file", help="*.toml")
    if _is_file_spec(incomplete) or incomplete.startswith((".", "~")):
        return [toml]
    from pycoz_cli.plugins import topology_registry

    registry = topology_registry()
    name, colon, rest = incomplete.partition(":")
    if colon:
        schema = registry.get(name, (None, {}))[1]
        given, _, last = rest.rpartition(",")
        if "=" in last:
            return []
        done = {item.partition("=")[0] for item in given.split(",") if item}
        head = f"{name}:{given},".replace(":,", ":")
        return [
            CompletionItem(f"{head}{key}=", help=f"{text} (default {default})")
            for key, (_kind, default, text) in schema.items()
            if key not in done and key.startswith(last)
        ]
    items = []
    for key in sorted(registry):
        if key.startswith(incomplete):
            factory, schema, plugin = registry[key]
            doc = (factory.__doc__ or "").strip().splitlines()
            text = doc[0].replace("``", "") if doc else ""
            if plugin not in ("pycoz_cli.topologies.builtin",):
                text = f"{text} [{plugin}]".strip()
            items.append(CompletionItem(key, help=text))
            if schema and key == incomplete:
                items += topology(ctx, param, f"{key}:")
    return items or [toml]


def _named_states() -> list[dict]:
    import json

    try:
        entries = sorted(os.listdir(NAMED_STATE_DIR))
    except OSError:
        return []
    states = []
    for entry in entries:
        if entry.endswith(".json"):
            try:
                with open(f"{NAMED_STATE_DIR}/{entry}") as f:
                    states.append(json.load(f))
            except (OSError, ValueError):
                continue
    return states


@_quiet
def named(ctx, param, incomplete):
    """Names of the named topologies (``pycoz net up``), with what they are."""
    return [
        CompletionItem(s["name"], help=f"{s.get('spec', '')}: {' '.join(s.get('hosts', []))}")
        for s in _named_states()
        if s.get("name", "").startswith(incomplete)
    ]


def _named_state(name: str | None) -> dict | None:
    if not name:
        return None
    return next((s for s in _named_states() if s.get("name") == name), None)


def _spec_of(ctx) -> str | None:
    """The TOPOLOGY already given: an argument (net run/show/up) or ``--net``."""
    return ctx.params.get("topology") or ctx.params.get("net")


def _resolve(spec: str):
    from pycoz_cli.core.topology import resolve

    return resolve(spec)


def _running(ctx) -> dict | None:
    """The state of the named topology given before: ``--join NAME`` or NAME
    (``net exec``, ``net set``), unless a TOPOLOGY was given (``net up T --name``)."""
    if _spec_of(ctx):
        return None
    return _named_state(ctx.params.get("join") or ctx.params.get("name"))


@_quiet
def host(ctx, param, incomplete):
    """Hosts of the topology given before: ``--net``/TOPOLOGY, ``--join`` or NAME."""
    if _spec_of(ctx):
        topo = _resolve(_spec_of(ctx))
        kinds = {n: topo.nodes[n].kind for n in topo.hosts()}
        return _plain(list(kinds), incomplete, kinds)
    state = _running(ctx)
    return _plain(state.get("hosts", []), incomplete) if state else []


def _link_labels(links) -> list[str]:
    """``h1-h2`` for each link, or its full label where two links join the same nodes."""
    short = [f"{a[0]}-{b[0]}" for a, b in links]
    return [
        s if short.count(s) == 1 else f"{a[0]}:{a[1]}-{b[0]}:{b[1]}"
        for s, (a, b) in zip(short, links, strict=True)
    ]


@_quiet
def link(ctx, param, incomplete):
    """Links of the topology (``--impair LINK[:KEY=VALUE,...]``, ``net set NAME LINK``)."""
    from pycoz_cli.core.topology import IMPAIRMENT_KEYS

    state = _running(ctx)
    if state is not None:
        return _plain(
            _link_labels([(lk["a"], lk["b"]) for lk in state.get("links", [])]), incomplete
        )
    spec = _spec_of(ctx)
    if not spec:
        return []
    where, colon, settings = incomplete.partition(":")
    if colon:
        given, _, last = settings.rpartition(",")
        head = f"{where}:{given}," if given else f"{where}:"
        return [CompletionItem(f"{head}{key}=") for key in IMPAIRMENT_KEYS if key.startswith(last)]
    labels = _link_labels([(lk.a, lk.b) for lk in _resolve(spec).links])
    return _plain(labels, incomplete)


@_quiet
def link_end(ctx, param, incomplete):
    """``net set NAME LINK --from NODE``: the two ends of LINK."""
    state = _running(ctx)
    if state is None:
        return []
    label = ctx.params.get("link") or ""
    nodes = []
    for lk in state.get("links", []):
        if label in (lk["label"], f"{lk['a'][0]}-{lk['b'][0]}", f"{lk['b'][0]}-{lk['a'][0]}"):
            nodes += [lk["a"][0], lk["b"][0]]
    return _plain(nodes or state.get("hosts", []), incomplete)


# --- the tracer ------------------------------------------------------------------

#: ``-e`` qualifiers offered (strace's long spellings; the short ones work too).
_QUALIFIERS = {
    "trace=": "syscalls to trace: names, %classes, /regex, !negation",
    "status=": "only calls that returned so: successful, failed, ...",
    "signal=": "signals to show",
    "inject=": "tamper: inject=SET:error=ERRNO|retval=N[:when=...]",
    "fault=": "inject=SET:error=ENOSYS, strace's older spelling",
    "quiet=": "messages to leave out: attach, exit, ...",
    "decode-fds=": "what to print for fds: path, socket, dev, pidfd",
}
_INJECT_KEYS = ("error=", "retval=", "signal=", "delay_enter=", "delay_exit=", "when=")


@_quiet
def trace_expr(ctx, param, incomplete):
    """strace's ``-e``: qualifiers, then syscall names and classes, statuses, signals..."""
    qualifier, eq, value = incomplete.partition("=")
    if not eq:
        return _plain(list(_QUALIFIERS), incomplete, _QUALIFIERS)
    from pycoz_cli.core.trace import filters, syscalls

    canonical = filters.QUALIFIERS.get(qualifier.lower())
    if canonical in ("inject", "fault"):
        return _inject(f"{qualifier}=", value)
    vocabulary = {
        "trace": lambda: [*sorted(syscalls.NUMBERS), *syscalls.CLASS_NAMES, "all", "none"],
        "status": lambda: [*filters.STATUSES, "all", "none"],
        "signal": lambda: [*filters.SIGNALS.values(), "all", "none"],
        "quiet": lambda: [*sorted(filters.QUIET), "all", "none"],
        "decode-fds": lambda: [*filters.DECODE_FDS, "all", "none"],
    }.get(canonical)
    if vocabulary is None:
        return []
    return _set(f"{qualifier}=", value, vocabulary())


def _set(head: str, value: str, words) -> list[CompletionItem]:
    """A comma-separated set: complete its last item; ``!`` and ``?`` stay as typed."""
    given, comma, last = value.rpartition(",")
    head = f"{head}{given}{comma}"
    mark = ""
    while last[:1] in ("!", "?"):
        mark, last = mark + last[0], last[1:]
    taken = set(given.split(","))
    return [
        CompletionItem(f"{head}{mark}{w}") for w in words if w.startswith(last) and w not in taken
    ]


def _inject(head: str, value: str) -> list[CompletionItem]:
    """``inject=SET:error=ERRNO:when=...``: the set, then its options."""
    from pycoz_cli.core.trace import syscalls

    parts = value.split(":")
    if len(parts) == 1:
        return _set(head, value, [*sorted(syscalls.NUMBERS), *syscalls.CLASS_NAMES])
    head = head + ":".join(parts[:-1]) + ":"
    key, eq, arg = parts[-1].partition("=")
    if not eq:
        used = {p.partition("=")[0] + "=" for p in parts[1:-1]}
        return [
            CompletionItem(head + k) for k in _INJECT_KEYS if k.startswith(key) and k not in used
        ]
    if key == "error":
        import errno

        return [
            CompletionItem(f"{head}error={n}")
            for n in sorted(errno.errorcode.values())
            if n.startswith(arg)
        ]
    if key == "signal":
        from pycoz_cli.core.trace.filters import SIGNALS

        return [CompletionItem(f"{head}signal={n}") for n in SIGNALS.values() if n.startswith(arg)]
    return []


@_quiet
def tracer(ctx, param, incomplete):
    """Tracer names: the built-ins and plugins'."""
    from pycoz_cli.plugins import tracer_registry

    return [
        CompletionItem(name, help=entry[2])
        for name, entry in sorted(tracer_registry().items())
        if name.startswith(incomplete)
    ]


# --- the protocol ------------------------------------------------------------------


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


def _open_ended(value: str) -> bool:
    return value.endswith(_OPEN_ENDED)


class _LineComplete(ShellComplete):
    """The shared part: read ``COMP_LINE``, complete, restore an ``--opt=`` head."""

    #: Characters at which the shell's word to replace begins (after the last one).
    breaks = ""
    source_template = ""

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
      pycoz completion bash > ~/.local/share/bash-completion/completions/pycoz
      pycoz completion zsh > ~/.zfunc/_pycoz    # a directory in $fpath
      pycoz completion fish > ~/.config/fish/completions/pycoz.fish
      source <(pycoz completion bash)           # this shell only
    """
    if shell not in SCRIPTS:
        raise click.UsageError(
            f"no completion script for shell {shell!r} (pycoz has them for {', '.join(SHELLS)})"
        )
    click.echo(SCRIPTS[shell], nl=False)
