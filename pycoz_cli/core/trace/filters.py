"""strace's ``-e`` expressions: which calls to show, which results and signals, what to inject.

``parse(["trace=%network", "status=failed", "inject=connect:error=ECONNREFUSED:when=3"])``
reads what follows each ``-e`` with strace's grammar and vocabulary:

* ``trace=SET`` (also ``t=``; a bare ``SET`` means the same): comma-separated syscall
  names, numbers, ``/regex`` (searched in names), classes (``%file``, ``%network``...,
  and strace's legacy ``file``, ``network``...), ``?`` before a token to skip it quietly
  when this architecture lacks it, ``all``, ``none``, and leading ``!`` to negate the set;
* ``status=``, ``signal=``, ``quiet=``, ``abbrev=``, ``verbose=``, ``raw=``, ``read=``,
  ``write=``, ``decode-fds=``: the same set grammar over their own vocabularies;
* ``inject=SET:error=ERRNO|retval=N|signal=SIG[:delay_enter=T][:delay_exit=T][:when=W]``
  and ``fault=SET[:error=ERRNO][:when=W]``.

Where pycoz departs from strace, on purpose:

* an injected call is always traced, even outside ``trace=``: the trace shows what
  was done to the program (strace injects silently there);
* a negated set (``!%network``) is the complement within this architecture's known
  calls, so a number the table does not name is not traced;
* every error is one line naming the expression and the bad item, with close names
  suggested, and is a ``SpecError``; strace's ``invalid system call 'opne'`` becomes
  ``-e trace=opne: unknown syscall 'opne' (did you mean 'open'?)``;
* a given inject option twice, or ``retval=`` in -1..-4095 (which the program reads as
  an error), is refused rather than warned about; delays are rounded up to microseconds;
* signal names also accept ``SIGRTMIN+N``, ``SIGRTMAX``, ``SIGIOT``, ``SIGPOLL``, ``SIGCLD``.

Regular expressions are Python's, searched as strace's POSIX extended ones are
(unanchored); the POSIX-only ``[[:alpha:]]`` classes are not understood.
"""

from __future__ import annotations

from pycoz_cli.core.trace import syscalls
from pycoz_cli.errors import SpecError

#: ``-e status=`` words, as strace.
STATUSES = ("successful", "failed", "unfinished", "unavailable", "detached")
#: ``-e quiet=`` words -> the canonical one.
QUIET = {
    "attach": "attach",
    "exit": "exit",
    "exits": "exit",
    "path-resolution": "path-resolution",
    "personality": "personality",
    "superseded": "superseded",
    "thread-execve": "superseded",
}
#: ``-e decode-fds=`` words.
DECODE_FDS = ("path", "socket", "dev", "pidfd")
#: strace's class names without ``%``, still accepted.
LEGACY_CLASSES = {
    name: f"%{name}" for name in ("desc", "file", "memory", "process", "signal", "ipc", "network")
}
#: ``-e QUALIFIER=`` spellings -> the canonical qualifier, as strace.
QUALIFIERS = {
    "trace": "trace",
    "t": "trace",
    "abbrev": "abbrev",
    "a": "abbrev",
    "verbose": "verbose",
    "v": "verbose",
    "raw": "raw",
    "x": "raw",
    "signal": "signal",
    "signals": "signal",
    "s": "signal",
    "status": "status",
    "quiet": "quiet",
    "silent": "quiet",
    "silence": "quiet",
    "q": "quiet",
    "read": "read",
    "reads": "read",
    "r": "read",
    "write": "write",
    "writes": "write",
    "w": "write",
    "fault": "fault",
    "inject": "inject",
    "decode-fd": "decode-fds",
    "decode-fds": "decode-fds",
    "decode-pid": "decode-pids",
    "decode-pids": "decode-pids",
    "kvm": "kvm",
    "secontext": "secontext",
}
#: strace knows these; pycoz does not do them (yet).
_UNSUPPORTED = ("decode-pids", "kvm", "secontext")

# fmt: off
_SIGNAL_NAMES = (
    "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
    "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
    "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
    "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS", "SIGRTMIN",
)
# fmt: on
#: Signal numbers -> strace's names (Linux's generic numbering: x86_64 and aarch64).
SIGNALS = {
    **dict(enumerate(_SIGNAL_NAMES, start=1)),
    **{32 + n: f"SIGRT_{n}" for n in range(1, 33)},
}
_SIGNAL_NUMBERS = {name: number for number, name in SIGNALS.items()}
_SIGNAL_ALIASES = {"SIGIOT": 6, "SIGCLD": 17, "SIGPOLL": 29, "SIGRTMAX": 64}
_NSIG = 65
#: Calls are counted up to this in ``when=`` (strace's limit).
WHEN_MAX = 0xFFFF
#: Errno names only the kernel uses, which strace also accepts (include/linux/errno.h).
_KERNEL_ERRNOS = {
    "ERESTARTSYS": 512,
    "ERESTARTNOINTR": 513,
    "ERESTARTNOHAND": 514,
    "ENOIOCTLCMD": 515,
    "ERESTART_RESTARTBLOCK": 516,
    "EPROBE_DEFER": 517,
    "EOPENSTALE": 518,
    "ENOPARAM": 519,
    "EBADHANDLE": 521,
    "ENOTSYNC": 522,
    "EBADCOOKIE": 523,
    "ENOTSUPP": 524,
    "ETOOSMALL": 525,
    "ESERVERFAULT": 526,
    "EBADTYPE": 527,
    "EJUKEBOX": 528,
    "EIOCBQUEUED": 529,
    "ERECALLCONFLICT": 530,
    "ENOGRACE": 531,
}
_MAX_ERRNO = 4095
_INJECT_OPTIONS = ("error", "retval", "signal", "delay_enter", "delay_exit", "when")
_FAULT_OPTIONS = ("error", "when")
#: Personality designators (``fork@64``) strace knows per architecture.
_PERSONALITIES = {"x86_64": ("64", "32", "x32"), "aarch64": ("64", "32")}


class _Record:
    """Keyword construction, equality and repr from ``__slots__``, without ``dataclasses``
    (which costs ~8 ms to import, and these are on the tab-completion path)."""

    __slots__ = ()
    _defaults: dict = {}

    def __init__(self, **values):
        unknown = values.keys() - self._defaults.keys()
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected {sorted(unknown)}")
        for name, default in self._defaults.items():
            object.__setattr__(self, name, values.get(name, default))

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _fields(self) -> tuple:
        return tuple(getattr(self, name) for name in self._defaults if name != "expression")

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self):
        return hash((type(self), *(_hashable(v) for v in self._fields())))

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name, default in self._defaults.items()
            if name == "syscalls" or getattr(self, name) != default
        )
        return f"{type(self).__name__}({shown})"


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


class Injection(_Record):
    """One ``-e inject=``: what to do to which calls, and to which of them.

    ``applies(n)`` tells whether the n-th call (1-based) of one of ``syscalls`` is hit;
    like strace, the tracer counts per thread and per syscall.

    Fields: ``syscalls`` (numbers), ``error`` (errno number) or ``retval``, ``signal``
    (a signal number to deliver), ``first``, ``last`` (None: no end), ``step``,
    ``delay_enter_us``, ``delay_exit_us``, and ``expression`` (the ``-e`` text).
    """

    __slots__ = (
        "delay_enter_us",
        "delay_exit_us",
        "error",
        "expression",
        "first",
        "last",
        "retval",
        "signal",
        "step",
        "syscalls",
    )
    _defaults = {
        "syscalls": frozenset(),
        "error": None,
        "retval": None,
        "signal": None,
        "first": 1,
        "last": None,
        "step": 1,
        "delay_enter_us": 0,
        "delay_exit_us": 0,
        "expression": "",
    }
    syscalls: frozenset[int]
    error: int | None
    retval: int | None
    signal: int | None
    first: int
    last: int | None
    step: int
    delay_enter_us: int
    delay_exit_us: int
    expression: str

    def applies(self, count: int) -> bool:
        """``when=FIRST..LAST+STEP``: calls FIRST, FIRST+STEP, ... up to LAST."""
        if count < self.first or (self.last is not None and count > self.last):
            return False
        return (count - self.first) % self.step == 0

    @property
    def tampers(self) -> bool:
        """Whether the call's result is replaced (not only delayed or signalled)."""
        return self.error is not None or self.retval is not None


class Filters(_Record):
    """Parsed ``-e`` expressions; ``None`` means "all" wherever a set is optional.

    ``syscalls``: numbers to show (injected ones included), or None for all.
    ``status``: ``STATUSES`` words to show, or None for all.
    ``signals``: signal numbers whose delivery is shown, or None for all.
    ``injections``: in ``-e`` order; for a call in several, the last wins (as strace).
    ``quiet``: canonical ``QUIET`` words whose messages are suppressed.
    ``abbrev`` / ``verbose``: calls whose structures are abbreviated / dereferenced
    (strace's default: all, None).  ``raw``: calls shown undecoded (default: none).
    ``read_fds`` / ``write_fds``: descriptors whose data is dumped (default: none).
    ``decode_fds``: ``DECODE_FDS`` words, what descriptor decoding shows.
    """

    __slots__ = (
        "_by_number",
        "abbrev",
        "decode_fds",
        "injections",
        "quiet",
        "raw",
        "read_fds",
        "signals",
        "status",
        "syscalls",
        "verbose",
        "write_fds",
    )
    _defaults = {
        "syscalls": None,
        "status": None,
        "signals": None,
        "injections": [],
        "quiet": frozenset(),
        "abbrev": None,
        "verbose": None,
        "raw": frozenset(),
        "read_fds": frozenset(),
        "write_fds": frozenset(),
        "decode_fds": frozenset(),
    }
    syscalls: frozenset[int] | None
    status: frozenset[str] | None
    signals: frozenset[int] | None
    injections: list[Injection]
    quiet: frozenset[str]
    abbrev: frozenset[int] | None
    verbose: frozenset[int] | None
    raw: frozenset[int] | None
    read_fds: frozenset[int] | None
    write_fds: frozenset[int] | None
    decode_fds: frozenset[str]

    def __init__(self, **values):
        values["injections"] = list(values.get("injections", ()))
        super().__init__(**values)
        by_number: dict[int, Injection] = {}
        for injection in self.injections:
            by_number.update(dict.fromkeys(injection.syscalls, injection))
        object.__setattr__(self, "_by_number", by_number)

    def traces(self, number: int) -> bool:
        return self.syscalls is None or number in self.syscalls

    def traced_names(self, table: syscalls.Table | None = None) -> list[str] | None:
        """Sorted names of the traced calls, or None when all are traced."""
        if self.syscalls is None:
            return None
        table = table or syscalls.TABLE
        return sorted(table.name_of(nr) for nr in self.syscalls)

    def shows_status(self, status: str) -> bool:
        return self.status is None or status in self.status

    def shows_signal(self, signo: int) -> bool:
        return self.signals is None or signo in self.signals

    def injection_for(self, number: int) -> Injection | None:
        """The injection that applies to syscall ``number``, if any."""
        return self._by_number.get(number)

    @property
    def injected_syscalls(self) -> frozenset[int]:
        return frozenset(self._by_number)


def parse(expressions: list[str], table: syscalls.Table | None = None) -> Filters:
    """Read each ``-e`` argument in order; a later one of a kind replaces an earlier one.

    ``inject=`` and ``fault=`` accumulate instead.  Raises ``SpecError`` (one line).
    """
    table = table or syscalls.TABLE
    found: dict[str, object] = {}
    injections: list[Injection] = []
    for expression in expressions:
        qualifier, value = _split(expression)
        if qualifier in _UNSUPPORTED:
            raise _error(expression, f"'{qualifier}=' is not supported by pycoz trace")
        if qualifier in ("inject", "fault"):
            injections.append(_injection(expression, value, table, qualifier == "fault"))
        elif qualifier in ("trace", "abbrev", "verbose", "raw"):
            found[qualifier] = _syscall_set(expression, value, table)
        elif qualifier == "status":
            found[qualifier] = _word_set(expression, value, STATUSES, "status")
        elif qualifier == "quiet":
            quiet = _word_set(expression, value, tuple(QUIET), "quiet")
            found[qualifier] = frozenset(QUIET[w] for w in (QUIET if quiet is None else quiet))
        elif qualifier == "decode-fds":
            decode = _word_set(expression, value, DECODE_FDS, "decode-fds")
            found[qualifier] = frozenset(DECODE_FDS) if decode is None else decode
        elif qualifier == "signal":
            found[qualifier] = _set(expression, value, range(1, _NSIG), _signal, "signal")
        else:  # read, write
            found[qualifier] = _set(expression, value, None, _descriptor, "descriptor")
    traced = found.get("trace")
    if traced is not None and injections:
        traced = traced.union(*(injection.syscalls for injection in injections))
    return Filters(
        syscalls=traced,
        status=found.get("status"),
        signals=found.get("signal"),
        injections=injections,
        quiet=found.get("quiet", frozenset()),
        abbrev=found.get("abbrev"),
        verbose=found.get("verbose"),
        raw=found.get("raw", frozenset()),
        read_fds=found.get("read", frozenset()),
        write_fds=found.get("write", frozenset()),
        decode_fds=found.get("decode-fds", frozenset()),
    )


def signal_number(token: str) -> int | None:
    """``SIGTERM``, ``term``, ``15``, ``SIGRT_3``, ``SIGRTMIN+3`` -> the number, else None."""
    if token.isdigit():
        number = int(token)
        return number if 0 < number < _NSIG else None
    name = token.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    for prefix, base, sign in (("SIGRTMIN+", 32, 1), ("SIGRTMAX-", 64, -1)):
        if name.startswith(prefix) and name[len(prefix) :].isdigit():
            number = base + sign * int(name[len(prefix) :])
            return number if 32 <= number < _NSIG else None
    if name in _SIGNAL_ALIASES:
        return _SIGNAL_ALIASES[name]
    return _SIGNAL_NUMBERS.get(name)


def errno_number(token: str) -> int | None:
    """``ENOENT``, ``enoent``, ``2`` -> 2; None if it is no errno strace would inject."""
    if token.isdigit():
        number = int(token)
        return number if 0 < number <= _MAX_ERRNO else None
    import errno

    name = token.upper()
    number = getattr(errno, name, None) if name.startswith("E") else None
    if isinstance(number, int):
        return number
    return _KERNEL_ERRNOS.get(name)


# -- the pieces ---------------------------------------------------------------------


def _split(expression: str) -> tuple[str, str]:
    head, sep, rest = expression.partition("=")
    if sep and head in QUALIFIERS:
        return QUALIFIERS[head], rest
    if sep and head.replace("-", "").replace("_", "").isalpha():
        # No syscall name holds "=": this was meant as a qualifier.
        hint = _suggest(head, QUALIFIERS) or (
            " (expected trace=, status=, signal=, inject=, fault=, quiet=, abbrev=, verbose=,"
            " raw=, read=, write= or decode-fds=)"
        )
        raise _error(expression, f"unknown qualifier '{head}'{hint}")
    return "trace", expression


def _syscall_set(expression: str, spec: str, table: syscalls.Table) -> frozenset[int] | None:
    return _set(
        expression,
        spec,
        table.names,
        lambda expression, token: _syscall_token(expression, token, table),
        "syscall",
    )


def _set(expression, spec, universe, resolve, what) -> frozenset | None:
    """strace's set grammar: leading ``!`` (each one inverts), ``all``, ``none``, a list.

    ``universe`` is what ``!`` complements within; None means "unbounded" (then
    ``!`` of a list can only be approximated, and is refused).
    """
    inverted = False
    while spec.startswith("!"):
        inverted = not inverted
        spec = spec[1:]
    if spec in ("all", "none"):
        chosen: frozenset | None = None if spec == "all" else frozenset()
    else:
        tokens = [token for token in spec.split(",") if token]
        if not tokens:
            raise _error(expression, f"empty {what} list")
        chosen = frozenset().union(*(resolve(expression, token) for token in tokens))
    if not inverted:
        return chosen
    if chosen is None:
        return frozenset()
    if not chosen:
        return None
    if universe is None:
        raise _error(expression, f"'!' needs 'all' or 'none' for a {what} list")
    return frozenset(universe) - chosen


def _word_set(expression, spec, words, what) -> frozenset[str] | None:
    def resolve(expression, token):
        if token in words:
            return {token}
        hint = _suggest(token, words) or f" (expected one of: {', '.join(words)})"
        raise _error(expression, f"unknown {what} '{token}'{hint}")

    chosen = _set(expression, spec, words, resolve, what)
    return None if chosen is not None and len(chosen) == len(set(words)) else chosen


def _signal(expression: str, token: str) -> set[int]:
    number = signal_number(token)
    if number is None:
        if token.isdigit():
            raise _error(expression, f"signal number {token} out of range 1..{_NSIG - 1}")
        name = token.upper() if token.upper().startswith("SIG") else "SIG" + token.upper()
        names = [*SIGNALS.values(), *_SIGNAL_ALIASES]
        raise _error(expression, f"unknown signal '{token}'{_suggest(name, names)}")
    return {number}


def _descriptor(expression: str, token: str) -> set[int]:
    if not token.isdigit():
        raise _error(expression, f"bad descriptor '{token}' (expected a number)")
    return {int(token)}


def _syscall_token(expression: str, token: str, table: syscalls.Table) -> set[int]:
    optional = token.startswith("?")
    token = token.lstrip("?")
    numbers, problem = _resolve(expression, token, table)
    if problem and not optional:
        raise _error(expression, problem)
    return numbers


def _resolve(expression: str, token: str, table: syscalls.Table) -> tuple[set[int], str]:
    """The numbers ``token`` stands for, or a reason why it stands for none."""
    if token.startswith("/"):
        return _regex(expression, token, table)
    if "@" in token:
        token = _strip_personality(expression, token, table)
    if token.isdigit():
        number = int(token)
        top = max(table.names, default=-1)
        if number <= top:
            return {number}, ""
        return set(), f"unknown syscall number {number} ({table.arch} has 0..{top})"
    if token.startswith("%") or token in LEGACY_CLASSES:
        members = table.classes.get(LEGACY_CLASSES.get(token, token))
        if members is None:
            hint = _suggest(token, syscalls.CLASS_NAMES) or (
                f" (known: {' '.join(syscalls.CLASS_NAMES)})"
            )
            return set(), f"unknown class '{token}'{hint}"
        return {table.numbers[name] for name in members}, ""
    if token in table.numbers:
        return {table.numbers[token]}, ""
    return set(), _unknown_syscall(token, table)


def _regex(expression: str, token: str, table: syscalls.Table) -> tuple[set[int], str]:
    import re

    try:
        pattern = re.compile(token[1:])
    except re.error as err:
        raise _error(expression, f"bad regex '{token}': {err}") from None
    # strace also tries "name@64", so that "/@64$" selects the native personality.
    numbers = {
        nr
        for nr, name in table.names.items()
        if pattern.search(name) or pattern.search(f"{name}@64")
    }
    return numbers, "" if numbers else f"regex '{token}' matches no syscall"


def _strip_personality(expression: str, token: str, table: syscalls.Table) -> str:
    name, _, designator = token.partition("@")
    known = _PERSONALITIES.get(table.arch, ("64",))
    if designator not in known:
        choices = ", ".join(f"@{d}" for d in known)
        raise _error(expression, f"unknown personality '@{designator}' in '{token}' ({choices})")
    if designator != "64":
        raise _error(expression, f"'{token}': pycoz traces the 64-bit personality only")
    return name


def _unknown_syscall(token: str, table: syscalls.Table) -> str:
    if not table.names:
        return f"unknown syscall '{token}' (pycoz has no syscall table for {table.arch})"
    hint = _suggest(token, [*table.numbers, *syscalls.CLASS_NAMES, *LEGACY_CLASSES])
    for arch in _PERSONALITIES:
        if arch != table.arch and token in syscalls.for_arch(arch).numbers:
            return f"syscall '{token}' does not exist on {table.arch}{hint}"
    return f"unknown syscall '{token}'{hint}"


def _injection(expression: str, spec: str, table: syscalls.Table, fault: bool) -> Injection:
    what = "fault" if fault else "inject"
    names, *options = spec.split(":")
    if not names:
        raise _error(expression, f"{what}= needs a syscall set before the first ':'")
    numbers = _syscall_set(expression, names, table)
    if numbers is None:
        numbers = frozenset(table.names)
    given: dict[str, str] = {}
    allowed = _FAULT_OPTIONS if fault else _INJECT_OPTIONS
    for option in filter(None, options):
        key, sep, value = option.partition("=")
        if not sep or key not in allowed:
            if key in ("syscall", "poke_enter", "poke_exit") and not fault:
                raise _error(expression, f"inject option '{key}=' is not supported by pycoz")
            hint = _suggest(key, allowed, suffix="=") or (
                f" (expected {', '.join(k + '=' for k in allowed)})"
            )
            raise _error(expression, f"unknown {what} option '{option}'{hint}")
        if key in given:
            raise _error(expression, f"{key}= given twice")
        given[key] = value
    if "error" in given and "retval" in given:
        raise _error(expression, "error= and retval= exclude each other")
    if fault and "error" not in given:
        given["error"] = "ENOSYS"  # strace's default for fault=
    if not given.keys() - {"when"}:
        actions = ", ".join(k + "=" for k in allowed if k != "when")
        raise _error(expression, f"nothing to inject: give one of {actions}")
    first, last, step = _when(expression, given.get("when"))
    return Injection(
        syscalls=numbers,
        error=_errno(expression, given["error"]) if "error" in given else None,
        retval=_retval(expression, given["retval"]) if "retval" in given else None,
        signal=_inject_signal(expression, given["signal"]) if "signal" in given else None,
        first=first,
        last=last,
        step=step,
        delay_enter_us=_delay(expression, "delay_enter", given.get("delay_enter", "0")),
        delay_exit_us=_delay(expression, "delay_exit", given.get("delay_exit", "0")),
        expression=expression,
    )


def _when(expression: str, text: str | None) -> tuple[int, int | None, int]:
    """strace's ``when=``: F (only F), F+ / F+S (F on, every S), F..L, F..L+S."""
    if text is None:
        return 1, None, 1
    import re

    match = re.fullmatch(r"(\d+)(?:\.\.(\d+))?(\+(\d*))?", text)
    if not match:
        raise _error(expression, f"bad when={text}: expected FIRST[..LAST][+[STEP]]")
    first = int(match[1])
    last = int(match[2]) if match[2] is not None else None
    step = int(match[4]) if match[4] else 1
    if match[2] is None and match[3] is None:
        last = first  # a lone F hits only the F-th call
    if first < 1:
        raise _error(expression, f"bad when={text}: calls are counted from 1")
    if last is not None and last < first:
        raise _error(expression, f"bad when={text}: LAST is before FIRST")
    if step < 1:
        raise _error(expression, f"bad when={text}: STEP must be at least 1")
    if max(first, last or 0, step) > WHEN_MAX:
        raise _error(expression, f"bad when={text}: numbers go up to {WHEN_MAX}")
    return first, last, step


def _errno(expression: str, text: str) -> int:
    number = errno_number(text)
    if number is not None:
        return number
    if text.isdigit():
        raise _error(expression, f"bad error={text}: errno numbers go from 1 to {_MAX_ERRNO}")
    import errno

    names = [*errno.errorcode.values(), *_KERNEL_ERRNOS]
    raise _error(expression, f"unknown errno '{text}'{_suggest(text.upper(), names)}")


def _retval(expression: str, text: str) -> int:
    value = None
    try:
        value = int(text, 0)
    except ValueError:
        if text.isdigit():  # C's strtoull reads a leading 0 as octal
            try:
                value = int(text, 8)
            except ValueError:
                value = None
    if value is None:
        raise _error(expression, f"bad retval={text}: expected an integer")
    if not -(2**63) <= value < 2**64:
        raise _error(expression, f"bad retval={text}: does not fit in 64 bits")
    if value >= 2**63:
        value -= 2**64  # the register holds it as the signed value the program reads
    if -_MAX_ERRNO <= value < 0:
        raise _error(
            expression,
            f"retval={text} would read as an error; use error={-value} instead",
        )
    return value


def _inject_signal(expression: str, text: str) -> int:
    number = signal_number(text)
    if number is None:
        (number,) = _signal(expression, text)  # raises with the reason
    return number


def _delay(expression: str, key: str, text: str) -> int:
    """strace's delay: a number of microseconds, or with a unit (s, ms, us, ns)."""
    import math
    import re

    match = re.fullmatch(r"((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(s|ms|us|ns)?", text)
    if not match:
        raise _error(expression, f"bad {key}={text}: expected a time such as 100ms, 5s, 250us")
    scale = {"s": 1e6, "ms": 1e3, "us": 1.0, "ns": 1e-3, None: 1.0}[match[2]]
    micros = float(match[1]) * scale
    if not math.isfinite(micros) or micros > 2**63:
        raise _error(expression, f"bad {key}={text}: too long")
    return math.ceil(round(micros, 6))


def _error(expression: str, problem: str) -> SpecError:
    return SpecError(f"-e {expression}: {problem}")


def _suggest(word: str, candidates, suffix: str = "") -> str:
    """`` (did you mean 'x'?)``, or ``''`` when nothing is close."""
    import difflib

    close = difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.7)
    if not close and word != word.lower():
        close = difflib.get_close_matches(word.lower(), list(candidates), n=3, cutoff=0.7)
    if not close:
        return ""
    quoted = [f"'{c}{suffix}'" for c in close]
    listed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return f" (did you mean {listed}?)"
