"""Starting an interactive shell whose prompt says where it is.

The prompt of ``pycoz shell`` starts with a label (``[pycoz h1] ``) whatever the
user's rc files do: the shell reads them as usual, then pycoz's own lines, which
put the label in front of the prompt each time it is drawn (bash's
PROMPT_COMMAND, zsh's precmd, fish's fish_prompt), so an rc file or a prompt
framework that rewrites the prompt does not lose it.

pycoz's lines reach bash and sh through an in-memory file (memfd) passed as an
open descriptor and named ``/proc/self/fd/N``: nothing is written to the host or
to the container's root, and it works in any ``--base`` root.  zsh reads its rc
files from a directory ($ZDOTDIR), so it gets a private directory, reached the
same way through an open descriptor; its files delete themselves once read and
pycoz removes the empty directory when the shell ends.
The shell closes the descriptor after reading, so its children do not inherit it.
"""

from __future__ import annotations

import os
import shlex


class ShellStart:
    """How to start one interactive shell: argv, extra environment, open fds."""

    def __init__(self, argv: list[str], env: dict[str, str], fds: list[int], tmpdir=None):
        self.argv = argv
        self.env = env
        self.fds = fds
        self.tmpdir = tmpdir

    def close(self) -> None:
        """Release what the start needed (after the shell has started or ended)."""
        for fd in self.fds:
            os.close(fd)
        self.fds = []
        if self.tmpdir is not None:
            import shutil

            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None


def interactive(shell: str, label: str, env: dict[str, str]) -> ShellStart:
    """Start ``shell`` interactively with ``label`` in front of its prompt.

    ``env`` is the environment the shell will get (read for ENV and ZDOTDIR).
    """
    kind = os.path.basename(shell)
    q = shlex.quote(label)
    if kind == "bash":
        fd = _memfd(
            lambda fd: (
                "[ -f ~/.bashrc ] && . ~/.bashrc\n"
                f"__pycoz_label={q}\n"
                "__pycoz_prompt() {\n"
                '  case "$PS1" in "$__pycoz_label"*) ;; *) PS1="$__pycoz_label$PS1" ;; esac\n'
                "}\n"
                "if [[ $(declare -p PROMPT_COMMAND 2>/dev/null) == 'declare -a'* ]]; then\n"
                "  PROMPT_COMMAND+=(__pycoz_prompt)\n"
                "else\n"
                # A newline, not ';': the user's own may end with one already.
                "  PROMPT_COMMAND=\"${PROMPT_COMMAND:+$PROMPT_COMMAND$'\\n'}__pycoz_prompt\"\n"
                "fi\n"
                f"exec {fd}<&-\n"
            )
        )
        return ShellStart([shell, "--rcfile", f"/proc/self/fd/{fd}", "-i"], {}, [fd])
    if kind == "zsh":
        return _zsh(shell, q, env)
    if kind == "fish":
        init = (
            "functions -c fish_prompt __pycoz_fish_prompt; "
            f"function fish_prompt; printf '%s' {q}; __pycoz_fish_prompt; end"
        )
        return ShellStart([shell, "-i", "-C", init], {}, [])
    # A POSIX sh (dash, busybox ash, sh): interactive shells read the file $ENV names.
    user_env = env.get("ENV")
    source = f". {shlex.quote(user_env)}\n" if user_env else ""
    restore = f"ENV={shlex.quote(user_env)}\n" if user_env else "unset ENV\n"
    fd = _memfd(lambda fd: f'{source}{restore}PS1={q}"${{PS1:-$ }}"\nexec {fd}<&-\n')
    return ShellStart([shell, "-i"], {"ENV": f"/proc/self/fd/{fd}"}, [fd])


def _memfd(text_for) -> int:
    """An in-memory file holding ``text_for(its descriptor number)``; the shell
    opens it by path, so it is not close-on-exec."""
    fd = os.memfd_create("pycoz-shell-rc", 0)
    os.write(fd, text_for(fd).encode())
    return fd


def _zsh(shell: str, q: str, env: dict[str, str]) -> ShellStart:
    import tempfile

    user = shlex.quote(env.get("ZDOTDIR") or env.get("HOME") or "/")
    holder = tempfile.mkdtemp(prefix="pycoz-zsh-")
    fd = os.open(holder, os.O_RDONLY | os.O_DIRECTORY)
    own = f"/proc/self/fd/{fd}"
    forget = "zmodload -F zsh/files b:zf_rm b:zf_rmdir 2>/dev/null && "
    files = {
        ".zshenv": f"ZDOTDIR={user}\n[[ -f $ZDOTDIR/.zshenv ]] && . $ZDOTDIR/.zshenv\n"
        f"__pycoz_zdotdir=$ZDOTDIR\nZDOTDIR={own}\n{forget}zf_rm -f {own}/.zshenv\n",
        ".zshrc": "ZDOTDIR=$__pycoz_zdotdir\nunset __pycoz_zdotdir\n"
        "[[ -f $ZDOTDIR/.zshrc ]] && . $ZDOTDIR/.zshrc\n"
        f"__pycoz_label={q}\n"
        '__pycoz_prompt() { [[ $PS1 == "$__pycoz_label"* ]] || PS1="$__pycoz_label$PS1" }\n'
        "precmd_functions+=(__pycoz_prompt)\n"
        f"{forget}zf_rm -f {own}/.zshrc\n"
        f"exec {fd}<&-\n",
    }
    for name, text in files.items():
        with open(os.path.join(holder, name), "w") as f:
            f.write(text)
    return ShellStart([shell, "-i"], {"ZDOTDIR": own}, [fd], tmpdir=holder)
