"""Library calls from the command line: ltrace's filters, ``inject=`` for calls,
and the tracer options and sink that ``pycoz ltrace`` and ``trace --calls`` use.

``-e FILTER`` chains (ltrace(1), "FILTER EXPRESSIONS"): rules joined by ``+``
and ``-``, each ``NAME[@LIB]`` with globs; ``@MAIN`` is the program itself;
``%dns`` and the other classes name groups of functions (``libcalls.CLASSES``).
With ``-e`` the library is the one the call comes from, with ``-x`` the one
that defines the function.

``-e inject=NAME[,NAME]:OPTION[:OPTION]...`` tampers with calls:
``ARG=VALUE`` changes an argument at entry (ARG: ``arg1``..``arg6`` or a
parameter name such as getaddrinfo's ``node``; VALUE: an integer or a quoted
string, which is copied into a page pycoz maps in the program), ``retval=N``
skips the call and returns N (EAI_* names too), ``result=N`` runs it and
replaces its result, ``delay_enter=T`` / ``delay_exit=T`` hold it, ``when=``
as strace's, and ``ARG~GLOB`` (or ``ARG!~GLOB``) applies it only when the
string argument matches.
"""

from __future__ import annotations

import os

from pycoz_cli.core.trace import breakpoints
from pycoz_cli.errors import SpecError

#: Parameter names of functions people tamper with (the decoders may know more).
PARAMS = {
    "getaddrinfo": ("node", "service", "hints", "res"),
    "gethostbyname": ("name",),
    "gethostbyname2": ("name", "af"),
    "gethostbyname_r": ("name", "ret", "buf", "buflen", "result", "h_errnop"),
    "gethostbyname2_r": ("name", "af", "ret", "buf", "buflen", "result", "h_errnop"),
    "getnameinfo": ("sa", "salen", "host", "hostlen", "serv", "servlen", "flags"),
    "getenv": ("name",),
    "secure_getenv": ("name",),
    "setenv": ("name", "value", "overwrite"),
    "open": ("path", "flags", "mode"),
    "fopen": ("path", "mode"),
    "dlopen": ("filename", "flags"),
    "dlsym": ("handle", "symbol"),
    "connect": ("fd", "addr", "addrlen"),
    "SSL_write": ("ssl", "buf", "num"),
    "SSL_read": ("ssl", "buf", "num"),
    "SSL_set1_host": ("ssl", "hostname"),
    "res_query": ("dname", "class", "type", "answer", "anslen"),
    "res_search": ("dname", "class", "type", "answer", "anslen"),
}
#: getaddrinfo's and getnameinfo's results (glibc's netdb.h), for retval=.
EAI = {
    "EAI_BADFLAGS": -1,
    "EAI_NONAME": -2,
    "EAI_AGAIN": -3,
    "EAI_FAIL": -4,
    "EAI_NODATA": -5,
    "EAI_FAMILY": -6,
    "EAI_SOCKTYPE": -7,
    "EAI_SERVICE": -8,
    "EAI_ADDRFAMILY": -9,
    "EAI_MEMORY": -10,
    "EAI_SYSTEM": -11,
    "EAI_OVERFLOW": -12,
}


def check_machine() -> None:
    machine = os.uname().machine
    if machine != "x86_64":
        raise breakpoints.CallError(
            f"library-call tracing is not supported on {machine} yet (x86_64 only)", setup=True
        )


class Tamper:
    """One ``inject=`` for library calls."""

    def __init__(self, names, expression):
        self.names = frozenset(names)
        self.expression = expression
        self.args: list[tuple[int, object]] = []  # (index, int or bytes)
        self.conditions: list[tuple[int, str, bool]] = []  # (index, glob, negated)
        self.retval = None
        self.result = None
        self.delay_enter_us = 0
        self.delay_exit_us = 0
        self.first, self.last, self.step = 1, None, 1

    def applies(self, count: int) -> bool:
        if count < self.first or (self.last is not None and count > self.last):
            return False
        return (count - self.first) % self.step == 0


def _arg_index(expression, names, key) -> int:
    if key.startswith("arg") and key[3:].isdigit() and 1 <= int(key[3:]) <= 6:
        return int(key[3:]) - 1
    for name in names:
        params = PARAMS.get(name, ())
        if key in params:
            return params.index(key)
    known = sorted({p for n in names for p in PARAMS.get(n, ())})
    hint = f" ({', '.join(known)} or arg1..arg6)" if known else " (arg1..arg6)"
    raise SpecError(f"-e {expression}: unknown argument '{key}'{hint}")


def _value(expression, text):
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        body = text[1:-1]
        return body.encode().decode("unicode_escape").encode("latin-1")
    try:
        return int(text, 0)
    except ValueError:
        raise SpecError(
            f"-e {expression}: bad value {text!r}: expected an integer or a quoted string"
        ) from None


def _number(expression, key, text) -> int:
    if text.upper() in EAI:
        return EAI[text.upper()]
    try:
        return int(text, 0)
    except ValueError:
        raise SpecError(
            f"-e {expression}: bad {key}={text}: expected an integer or an EAI_* name"
        ) from None


def parse_inject(expression: str) -> Tamper:
    """``inject=getaddrinfo:node="h2":when=1``."""
    from pycoz_cli.core.trace import filters

    spec = expression.partition("=")[2]
    head, *options = _split_colons(spec)
    names = [n for n in head.split(",") if n]
    if not names:
        raise SpecError(f"-e {expression}: inject= needs a function name before the first ':'")
    for name in names:
        if not name.replace("_", "a").replace(".", "a").isalnum():
            raise SpecError(f"-e {expression}: {name!r} is not a function name")
    tamper = Tamper(names, expression)
    acted = False
    for option in options:
        if "~" in option and "=" not in option.split("~", 1)[0]:
            key, _, glob = option.partition("~")
            negated = key.endswith("!")
            key = key.rstrip("!")
            glob = glob[1:-1] if len(glob) >= 2 and glob[0] == glob[-1] == '"' else glob
            tamper.conditions.append((_arg_index(expression, names, key), glob, negated))
            continue
        key, sep, value = option.partition("=")
        if not sep or not key:
            raise SpecError(
                f"-e {expression}: bad option {option!r} (expected ARG=VALUE, ARG~GLOB, "
                "retval=, result=, delay_enter=, delay_exit=, when=)"
            )
        if key == "retval":
            tamper.retval, acted = _number(expression, key, value), True
        elif key == "result":
            tamper.result, acted = _number(expression, key, value), True
        elif key in ("delay_enter", "delay_exit"):
            setattr(tamper, key + "_us", filters._delay(expression, key, value))
            acted = True
        elif key == "when":
            tamper.first, tamper.last, tamper.step = filters._when(expression, value)
        else:
            tamper.args.append((_arg_index(expression, names, key), _value(expression, value)))
            acted = True
    if tamper.retval is not None and tamper.result is not None:
        raise SpecError(f"-e {expression}: retval= and result= exclude each other")
    if not acted:
        raise SpecError(
            f"-e {expression}: nothing to inject: give ARG=VALUE, retval=, result= or a delay"
        )
    return tamper


def _split_colons(spec: str) -> list[str]:
    """Split at ':' outside double quotes."""
    out, cur, quoted = [], "", False
    for ch in spec:
        if ch == '"':
            quoted = not quoted
        if ch == ":" and not quoted:
            out.append(cur)
            cur = ""
            continue
        cur += ch
    if quoted:
        raise SpecError(f"-e inject={spec}: unterminated string")
    out.append(cur)
    return out


def _expand_classes(text: str, kind: str) -> list:
    from pycoz_cli.core.trace import callout

    rules = breakpoints.parse_chain(text, kind)
    out = []
    for sign, name, lib, k in rules:
        if name and name.startswith("%"):
            classes = callout.classes()
            members = classes.get(name[1:])
            if not members:
                known = ", ".join("%" + c for c in sorted(classes)) or "none yet"
                raise SpecError(f"-e {text}: unknown class {name} (known: {known})")
            out.extend((sign, member, lib, k) for member in members)
        else:
            out.append((sign, name, lib, k))
    return out


def selection_from(exprs=(), xexprs=(), libs=()):
    """(Selection, tampers) from -e / -x / -l values."""
    chains, tampers = [], []
    for expr in exprs:
        if expr.startswith("inject="):
            tampers.append(parse_inject(expr))
            continue
        chains.append(_expand_classes(expr, "caller"))
    for expr in xexprs:
        chains.append(_expand_classes(expr, "def"))
    for lib in libs:
        if not lib or any(c.isspace() for c in lib):
            raise SpecError(f"-l {lib!r}: not a library name")
        chains.append([("+", None, lib, "lib")])
    for tamper in tampers:
        # A tampered function is traced: the trace shows what was done to it.
        chains.append([("+", name, None, "caller") for name in tamper.names])
    selection = breakpoints.Selection(
        chains, imports_of_main=not chains, exclude_self=[os.path.basename(x) for x in libs]
    )
    return selection, tampers


class LtraceSetup:
    """``pycoz ltrace``'s options -> the tracer's options, its sink, its files."""

    def __init__(self, params: dict, *, in_container: bool, attaching: bool = False):
        import sys

        from pycoz_cli.core.trace import callout, output, session
        from pycoz_cli.core.trace.tracer import Options

        exprs = params.pop("exprs")
        selection, tampers = selection_from(exprs, params.pop("xexprs"), params.pop("libs"))
        for path in params.pop("prototypes"):
            callout.load_prototypes(path)
        follow, out_path = params.pop("follow"), params.pop("output")
        self._stream = sys.stderr
        self._opened = self._per_pid = None
        if out_path:
            if follow >= 2:
                self._per_pid = output.open_per_pid(out_path)
            else:
                from pycoz_cli.core.streams import open_text

                self._stream = self._opened = open_text(out_path)
        strsize = params.pop("strsize")
        stack = params.pop("stack")
        show_ip = params.pop("show_ip")
        common = {"strsize": strsize, "quiet": params.pop("quiet")}
        if params.pop("summary"):
            self.sink = callout.CallSummary(self._stream)
        elif params.pop("as_json"):
            self.sink = callout.JsonCalls(self._stream, durations=True, **common)
        else:
            self.sink = callout.LtraceText(
                self._stream,
                follow=bool(follow) or in_container,
                timestamps=params.pop("timestamps"),
                relative=params.pop("relative"),
                durations=params.pop("durations"),
                per_pid=self._per_pid,
                to_file=bool(out_path) and self._per_pid is None,
                show_ip=show_ip,
                **common,
            )
        for key in ("timestamps", "relative", "durations", "summary", "as_json"):
            params.pop(key, None)
        if stack:
            callout.enable_stacks(self.sink)
        syscalls = params.pop("syscalls")
        follow_all = bool(follow) or in_container
        self.engine = breakpoints.Engine(selection, self.sink, follow=follow_all, tamper=tampers)
        self.options = Options(
            traced=None if syscalls else frozenset(),
            follow=follow_all,
            calls=self.engine,
            prefilter=True,
        )
        self._session = session

    def tracing(self):
        return self._session.Tracing(self.options, self.sink, name="pycoz ltrace")

    def close(self) -> None:
        import sys

        for note in self.engine.all_notes():
            sys.stderr.write(f"pycoz ltrace: {note}\n")
        if self._per_pid is not None:
            self._per_pid.close()
        if self._opened is not None:
            self._opened.close()
