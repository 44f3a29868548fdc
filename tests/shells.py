"""Real interactive shells on a pseudo-terminal, completing pycoz command lines.

``complete("bash", "pycoz net run pa", scripts)`` starts an interactive bash (zsh,
fish) that loads pycoz's completion script the way an installed one is found
(bash-completion's loader, zsh's fpath with compinit, fish's completions
directory), types the text and a TAB, and then a key bound to print the line
editor's buffer between markers.  It returns the buffer after the completion and
the text the shell printed in between (the candidates it listed).
"""

from __future__ import annotations

import os
import pathlib
import pty
import re
import select
import shutil
import signal
import sys
import time

BIN = os.path.dirname(sys.executable)
MARK = re.compile(r"<<<(.*?)>>>", re.S)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]|\x1b\][^\x07]*\x07|\r")


def available(shell: str) -> bool:
    if shell == "bash":
        return os.path.exists("/usr/share/bash-completion/bash_completion")
    return shutil.which(shell) is not None


def _setup(shell: str, home: pathlib.Path, scripts: pathlib.Path) -> list[str]:
    """Write the shell's start-up file into ``home``; return its argv."""
    if shell == "bash":
        user_dir = home / "bash-completion"
        (user_dir / "completions").mkdir(parents=True, exist_ok=True)
        shutil.copy(scripts / "pycoz.bash", user_dir / "completions" / "pycoz")
        rc = home / "bashrc"
        rc.write_text(
            f"export BASH_COMPLETION_USER_DIR={user_dir}\n"
            ". /usr/share/bash-completion/bash_completion\n"
            "bind 'set show-all-if-ambiguous on'\n"
            "bind 'set completion-display-width 0'\n"
            "bind 'set completion-query-items 0'\n"
            "bind 'set page-completions off'\n"
            "bind 'set bell-style none'\n"
            'bind -x \'"\\C-x\\C-b": printf "\\n<<<%s>>>\\n" "$READLINE_LINE"\'\n'
            "PS1='$ '\n"
        )
        return ["bash", "--noprofile", "--rcfile", str(rc), "-i"]
    if shell == "zsh":
        fpath = home / "zfunc"
        fpath.mkdir(exist_ok=True)
        shutil.copy(scripts / "_pycoz", fpath / "_pycoz")
        (home / ".zshrc").write_text(
            f"fpath=({fpath} $fpath)\n"
            "autoload -Uz compinit && compinit -u -d $HOME/.zcompdump\n"
            "setopt no_beep\n"
            "zstyle ':completion:*' list-prompt ''\n"
            "LISTMAX=1000\n"
            "_pz_show() { zle -I; print -r -- $'\\n<<<'\"$BUFFER\"'>>>' }\n"
            "zle -N _pz_show\n"
            "bindkey '^X^B' _pz_show\n"
            "PROMPT='$ '\n"
        )
        return ["zsh", "-i"]
    if shell == "fish":
        conf = home / ".config" / "fish"
        (conf / "completions").mkdir(parents=True, exist_ok=True)
        shutil.copy(scripts / "pycoz.fish", conf / "completions" / "pycoz.fish")
        (conf / "config.fish").write_text(
            "set -g fish_greeting ''\n"
            "function fish_prompt; echo '$ '; end\n"
            'bind \\cx\\cb \'echo; echo "<<<"(commandline)">>>"\'\n'
        )
        return ["fish", "-i"]
    raise ValueError(shell)


def complete(
    shell: str,
    text: str,
    scripts: pathlib.Path,
    home: pathlib.Path,
    tabs: int = 1,
    cwd=None,
    path: str = "",
) -> tuple[str, str]:
    """(buffer after TAB, what the shell printed meanwhile) for ``text`` + TAB;
    ``path`` is put in front of PATH (it ends with a colon)."""
    argv = _setup(shell, home, scripts)
    env = {
        "PATH": f"{path}{BIN}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "TERM": "xterm",
        "LANG": "C.UTF-8",
        "COLUMNS": "200",
        "LINES": "200",
        "PYCOZ_DISABLE_PLUGIN_AUTOLOAD": os.environ.get("PYCOZ_DISABLE_PLUGIN_AUTOLOAD", ""),
    }
    pid, fd = pty.fork()
    if pid == 0:  # the shell
        try:
            os.chdir(cwd or home)
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    try:
        import fcntl
        import struct
        import termios

        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 200, 200, 0, 0))
        _read_until(fd, lambda out: "$ " in out, 20)
        os.write(fd, (text + "\t" * tabs).encode())
        time.sleep(0.05)
        os.write(fd, b"\x18\x02")
        out = _read_until(fd, lambda out: MARK.search(out) is not None, 30)
        match = MARK.search(out)
        return match.group(1), out[: match.start()]
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)


def _read_until(fd: int, done, timeout: float) -> str:
    out = ""
    end = time.monotonic() + timeout
    while not done(out):
        left = end - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"shell output so far: {out!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += ANSI.sub("", chunk.decode(errors="replace"))
    return out
