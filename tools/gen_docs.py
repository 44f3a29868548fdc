"""Write pycoz's man pages and shell completion scripts from the Click tree.

    .venv/bin/python tools/gen_docs.py            # (re)write man/ and completions/
    .venv/bin/python tools/gen_docs.py --check    # exit 1 if a committed file differs

Every subcommand of ``pycoz`` gets a page, pycoz-NAME(1), found by walking the
Click tree (so a new subcommand gets its page by running this again); the
subcommands of a group (``pycoz net run``, ``net up``...) are sections of the
group's page.  pycoz-topology(5) is made from docs/topology-format.md.  Commands
that plugins add are left out: the pages describe pycoz itself.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys
import textwrap

import click

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pycoz_cli import __version__  # noqa: E402
from pycoz_cli.cli import cli  # noqa: E402
from pycoz_cli.cli.completion import FILES, SCRIPTS  # noqa: E402
from pycoz_cli.errors import ExitCode  # noqa: E402

#: The date in the pages' headers: bump it with the version when the CLI changes.
DATE = "2026-11-28"
SOURCE = f"pycoz {__version__}"
MANUAL = "pycoz manual"
TOPOLOGY_DOC = REPO / "docs" / "topology-format.md"

EXIT_STATUS = (
    ("N", "The command's own exit status passes through."),
    ("128+N", "The command died of signal N."),
    (str(int(ExitCode.SETUP)), "pycoz could not set up the container (e.g. not root)."),
    (str(int(ExitCode.NOT_EXECUTABLE)), "The command exists but could not be executed."),
    (str(int(ExitCode.NOT_FOUND)), "The command was not found."),
    (str(int(ExitCode.USAGE)), "Usage error or invalid input (an unknown option, a bad file)."),
)


# --- roff ------------------------------------------------------------------------


def esc(text: str) -> str:
    """Text made safe for roff: backslashes, non-ASCII, a leading dot or quote."""
    text = text.replace("\\", "\\e")
    text = "".join(c if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in text)
    return "\\&" + text if text[:1] in (".", "'") else text


def code(text: str) -> str:
    """Literal text (options, commands): hyphens are minus signs there."""
    return esc(text).replace("-", "\\-")


def inline(text: str) -> str:
    """Markdown's inline marks (`code`, **bold**, *italic*, [text](url)) in roff."""
    out = []
    for part in re.split(r"(`[^`]+`)", text):
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(f"\\fB{code(part[1:-1])}\\fR")
            continue
        part = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"\1 <\2>", part)
        part = esc(part)
        part = re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", part)
        part = re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"\\fI\1\\fR", part)
        out.append(part)
    line = "".join(out)
    return "\\&" + line if line[:1] in (".", "'") else line


def preformatted(lines: list[str]) -> list[str]:
    return [".PP", ".RS 4", ".nf", *(code(line) or "\\&" for line in lines), ".fi", ".RE"]


def header(name: str, section: int, summary: str) -> list[str]:
    title = name.upper().replace("-", "\\-")
    return [
        f'.TH {title} {section} {DATE} "{SOURCE}" "{MANUAL}"',
        ".nh",  # no hyphenation: names like pycoz-topology(5) stay whole
        ".SH NAME",
        f"{code(name)} \\- {esc(summary)}",
    ]


# --- pages from the Click tree ---------------------------------------------------------


def context(command: click.Command, name: str, parent: click.Context) -> click.Context:
    """A context as Click makes it for ``command`` (its own -h/--help)."""
    return click.Context(command, info_name=name, parent=parent, **command.context_settings)


def split_help(text: str) -> tuple[list[list[str]], list[str]]:
    """A Click docstring as paragraphs (lists of lines; a ``\\b`` block keeps its
    line breaks, marked by a first line of ``\\b``) and its ``Examples:`` lines."""
    paragraphs, examples = [], []
    for block in re.split(r"\n\s*\n", click.unstyle(text or "").strip()):
        lines = [line.rstrip() for line in block.splitlines()]
        if lines and lines[0].strip() == "\b":
            body = [line for line in lines[1:]]
            if body and body[0].strip().rstrip(":").lower() == "examples":
                examples += [line.strip() for line in body[1:] if line.strip()]
                continue
            paragraphs.append(["\b", *[line.strip() for line in body]])
        elif lines:
            paragraphs.append([" ".join(line.strip() for line in lines)])
    return paragraphs, examples


def render_paragraphs(paragraphs: list[list[str]]) -> list[str]:
    out = []
    for para in paragraphs:
        if para[0] == "\b":
            out += preformatted(para[1:])
        else:
            out += [".PP", inline(para[0])]
    return out


def option_entries(command: click.Command, ctx: click.Context, with_help=True) -> list[str]:
    out = []
    help_option = command.get_help_option(ctx)
    for param in command.get_params(ctx):
        if not isinstance(param, click.Option) or param.hidden:
            continue
        if param is help_option and not with_help:
            continue
        # Short names first, whatever order Click keeps them in (it varies by version).
        opts = sorted(param.opts, key=lambda o: o.startswith("--"))
        names = ", ".join(f"\\fB{code(o)}\\fR" for o in [*opts, *param.secondary_opts])
        if not (param.is_flag or param.count):
            metavar = param.make_metavar(ctx)
            names += f" \\fI{code(metavar)}\\fR"
        help_ = param.help or ""
        if param.show_default and param.default not in (None, False, ()):
            help_ += f" Default: {param.default}."
        if param.multiple:
            help_ = help_.replace(" (repeatable)", "") + " May be given more than once."
        out += [".TP", names, inline(help_.strip())]
    return out


def usage(command: click.Command, ctx: click.Context) -> str:
    pieces = " ".join(command.collect_usage_pieces(ctx))
    return f"\\fB{code(ctx.command_path)}\\fR {code(pieces)}"


def exit_status(section: str = "EXIT STATUS") -> list[str]:
    out = [".SH " + section]
    for value, meaning in EXIT_STATUS:
        out += [".TP", f"\\fB{value}\\fR", esc(meaning)]
    out += [
        ".PP",
        "Every failure prints one line on standard error: what failed, on which object, and why.",
    ]
    return out


def subcommand_page(name: str, command: click.Command, parent: click.Context) -> str:
    ctx = context(command, name, parent)
    summary = command.get_short_help_str(limit=200).rstrip(".")
    paragraphs, examples = split_help(command.help or "")
    lines = [*header(f"pycoz-{name}", 1, summary), ".SH SYNOPSIS", usage(command, ctx)]
    subs = []
    if isinstance(command, click.Group):
        for sub_name in command.list_commands(ctx):
            sub = command.get_command(ctx, sub_name)
            if sub is not None and not sub.hidden:
                subs.append((sub_name, sub))
                sub_ctx = context(sub, sub_name, ctx)
                lines += [".br", usage(sub, sub_ctx)]
    lines += [".SH DESCRIPTION", *render_paragraphs(paragraphs)]
    options = option_entries(command, ctx)
    if options:
        lines += [".SH OPTIONS", *options]
    if subs:
        lines.append(".SH COMMANDS")
        for sub_name, sub in subs:
            sub_ctx = context(sub, sub_name, ctx)
            sub_paras, sub_examples = split_help(sub.help or "")
            lines += [f".SS {code(sub_name)}", ".PP", usage(sub, sub_ctx)]
            lines += render_paragraphs(sub_paras)
            sub_options = option_entries(sub, sub_ctx, with_help=False)
            if sub_options:
                lines += [".PP", "Options:", ".RS 4", *sub_options, ".RE"]
            examples += sub_examples
    if examples:
        lines += [".SH EXAMPLES", *preformatted(examples)]
    lines += exit_status()
    also = ["pycoz(1)"]
    if name in ("net", "root", "trace", "shell"):
        also.append("pycoz-topology(5)")
    lines += [".SH SEE ALSO", ", ".join(f"\\fB{a[:-3]}\\fR{a[-3:]}" for a in also)]
    return "\n".join(lines) + "\n"


def main_page(names: list[str], ctx: click.Context) -> str:
    paragraphs, examples = split_help(cli.help or "")
    exit_words = ("exit status", "exit code")
    paragraphs = [p for p in paragraphs if not p[0].lower().startswith(exit_words)]
    lines = [
        *header("pycoz", 1, "throwaway Linux machines: overlay roots, networks, a tracer"),
        ".SH SYNOPSIS",
        usage(cli, ctx),
        ".SH DESCRIPTION",
        *render_paragraphs(paragraphs),
        ".SH OPTIONS",
        *option_entries(cli, ctx),
        ".SH COMMANDS",
    ]
    for name in names:
        command = cli.get_command(ctx, name)
        lines += [
            ".TP",
            f"\\fB{code(name)}\\fR",
            esc(command.get_short_help_str(limit=200)) + f" See \\fBpycoz\\-{code(name)}\\fR(1).",
        ]
    lines += [
        ".SH ENVIRONMENT",
        ".TP",
        "\\fBPYCOZ_DISABLE_PLUGIN_AUTOLOAD\\fR",
        "When set, no plugin installed as an entry point of group pycoz is loaded.",
        ".TP",
        "\\fBPYCOZ_LOAD_PLUGINS\\fR",
        "A comma-separated list: load only these plugins (by entry-point name).",
        ".SH FILES",
        ".TP",
        "\\fI/run/pycoz/net/NAME.json\\fR",
        "What pycoz made for the named topology NAME (\\fBpycoz net up\\fR).",
        ".TP",
        "\\fI/run/netns/NAME\\-HOST\\fR, \\fI/etc/netns/NAME\\-HOST/hosts\\fR",
        "The network namespaces of a named topology and their host names.",
    ]
    if examples:
        lines += [".SH EXAMPLES", *preformatted(examples)]
    lines += exit_status()
    also = [f"pycoz-{n}(1)" for n in names] + ["pycoz-topology(5)"]
    lines += [".SH SEE ALSO", ", ".join(f"\\fB{code(a[:-3])}\\fR{a[-3:]}" for a in also)]
    return "\n".join(lines) + "\n"


# --- pycoz-topology(5) from Markdown ----------------------------------------------------


def markdown_page(text: str) -> str:
    """The subset of Markdown docs/topology-format.md uses, as a man(7) page."""
    lines = text.splitlines()
    title = lines[0].lstrip("# ").split(" — ")[0]
    match = re.fullmatch(r"(\S+)\((\d)\)", title)
    if not match:
        raise ValueError(f"{TOPOLOGY_DOC}: first line should be '# NAME(N) — ...'")
    name, section = match.group(1), int(match.group(2))
    out: list[str] = []
    i = 1
    para: list[str] = []

    def flush():
        if para:
            out.extend([".PP", *(inline(p) for p in para)])
            para.clear()

    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            flush()
            end = lines.index("```", i + 1)
            out += preformatted(lines[i + 1 : end])
            i = end + 1
            continue
        if line.startswith("## "):
            flush()
            heading = line[3:].strip()
            if heading == "NAME":  # the header's NAME line comes from the next paragraph
                j = i + 1
                while not lines[j].strip():
                    j += 1
                body = []
                while j < len(lines) and lines[j].strip():
                    body.append(lines[j].strip())
                    j += 1
                _, _, summary = " ".join(body).partition(" — ")
                out = header(name, section, summary.replace("`", "")) + out
                i = j
                continue
            out.append(f".SH {esc(heading.upper())}")
        elif line.startswith("### "):
            flush()
            out.append(f".SS {esc(line[4:].strip())}")
        elif line.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip("|").split("|")]
                if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                    rows.append(cells)
                i += 1
            for cells in rows[1:]:
                tag = " ".join(inline(c) for c in cells[:-1])
                out += [".TP", tag, inline(cells[-1])]
            continue
        elif line.startswith(": "):
            flush()
            # a definition: the term is the paragraph just before
            term = out.pop() if out and out[-2] == ".PP" else ""
            if term:
                out.pop()
            body = [line[2:].strip()]
            while i + 1 < len(lines) and lines[i + 1].startswith("  ") and lines[i + 1].strip():
                i += 1
                body.append(lines[i].strip())
            out += [".TP", term, *(inline(b) for b in body)]
        elif not line.strip():
            flush()
        else:
            para.append(line.strip())
        i += 1
    flush()
    return "\n".join(out) + "\n"


# --- all files ------------------------------------------------------------------------


def tidy(page: str) -> str:
    """No paragraph macro right after a heading or another one; filled text wrapped
    (roff joins the lines again) so that no source line is longer than 80 bytes."""
    out: list[str] = []
    fill = True
    for line in page.splitlines():
        if line == ".PP" and out and out[-1].startswith((".SH", ".SS", ".PP")):
            continue
        if line in (".nf", ".fi"):
            fill = line == ".fi"
        if fill and not line.startswith(".") and len(line) > 78:
            wrapped = textwrap.wrap(line, 78, break_long_words=False, break_on_hyphens=False)
            out += ["\\&" + w if w[:1] in (".", "'") else w for w in wrapped]
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def builtin_commands(ctx: click.Context) -> list[str]:
    """pycoz's own subcommands: those a plugin adds are defined outside pycoz_cli."""
    names = []
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        if (getattr(command.callback, "__module__", None) or "").startswith("pycoz_cli."):
            names.append(name)
    return names


def generate() -> dict[str, str]:
    """{path relative to the repository: content} of every generated file."""
    ctx = click.Context(cli, info_name="pycoz", **cli.context_settings)
    names = builtin_commands(ctx)
    files = {"man/pycoz.1": tidy(main_page(names, ctx))}
    for name in names:
        page = subcommand_page(name, cli.get_command(ctx, name), ctx)
        files[f"man/pycoz-{name}.1"] = tidy(page)
    files["man/pycoz-topology.5"] = tidy(markdown_page(TOPOLOGY_DOC.read_text()))
    for shell, (filename, _) in FILES.items():
        files[f"completions/{filename}"] = SCRIPTS[shell]
    return files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on a difference")
    args = parser.parse_args(argv)
    files = generate()
    stale = []
    for rel, content in files.items():
        path = REPO / rel
        current = path.read_text() if path.exists() else None
        if current == content:
            continue
        stale.append(rel)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
    for directory in ("man", "completions"):
        for path in sorted((REPO / directory).glob("*")):
            rel = f"{directory}/{path.name}"
            if rel not in files:
                stale.append(rel)
                if not args.check:
                    path.unlink()
    for rel in stale:
        print(f"{'stale' if args.check else 'wrote'}: {rel}")
    if args.check and stale:
        print("run: python tools/gen_docs.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
