"""Tab completion's candidates: the ``shell_complete`` callbacks of pycoz's parameters.

Attached with ``shell_complete=`` in options.py, net.py and trace.py; asked by
``completion.py`` when a shell's completion script runs pycoz on a TAB.  Topology
names (built-ins and plugins') and parameters, hosts of the topology given
before, links, running named topologies, strace's ``-e`` vocabulary, tracers,
pids; paths and commands are left to the shell (KIND ``file``, ``dir``,
``command``).

This module is imported whenever those commands are, so it imports nothing at
module level but ``os``; each callback imports what it needs, and never
pyroute2, python-ptrace or cffi (core.named is not imported either: its netns
module loads the cffi bindings).  Callbacks never raise: a completion that fails
offers nothing rather than a traceback in the middle of the prompt.
"""

from __future__ import annotations

import os

#: Where named topologies are recorded (``core.named.STATE_DIR``, not imported: see above).


def _item(value: str, **info):
    """A ``click.shell_completion.CompletionItem`` (imported on a TAB only)."""
    from click.shell_completion import CompletionItem

    return CompletionItem(value, **info)


def _quiet(func):
    """A completion callback that offers nothing instead of raising."""

    def wrapper(ctx, param, incomplete):
        try:
            return func(ctx, param, incomplete)
        except Exception:
            return []

    wrapper.__name__, wrapper.__doc__ = func.__name__, func.__doc__
    return wrapper


def _plain(values, incomplete: str, helps: dict | None = None) -> list:
    return [_item(v, help=(helps or {}).get(v)) for v in values if v.startswith(incomplete)]


# --- paths, commands, processes ------------------------------------------------


def path(ctx, param, incomplete):
    """Any file or directory."""
    return [_item("", type="file")]


def directory(ctx, param, incomplete):
    """A directory."""
    return [_item("", type="dir")]


def command(ctx, param, incomplete):
    """``[--] COMMAND [ARG]...``: a command name first, then files."""
    if ctx.params.get("command"):
        return [_item("", type="file")]
    return [_item("", type="command")]


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
    return [_item(str(p), help=comm) for p, comm in sorted(items)]


# --- topologies ----------------------------------------------------------------


def _is_file_spec(spec: str) -> bool:
    """As ``core.topology.resolve`` reads a TOPOLOGY: a file, or a name."""
    return spec.endswith(".toml") or os.sep in spec


@_quiet
def topology(ctx, param, incomplete):
    """Topology names (built-ins and plugins'), ``NAME:PARAM=`` and .toml files."""
    toml = _item("", type="file", help="*.toml")
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
            _item(f"{head}{key}=", help=f"{text} (default {default})")
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
            items.append(_item(key, help=text))
            if schema and key == incomplete:
                items += topology(ctx, param, f"{key}:")
    return items or [toml]


def _named_states() -> list[dict]:
    from pycoz_cli.core.net.named import list_states

    return list_states()


@_quiet
def named(ctx, param, incomplete):
    """Names of the named topologies (``pycoz net up``), with what they are."""
    return [
        _item(s["name"], help=f"{s.get('spec', '')}: {' '.join(s.get('hosts', []))}")
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
    from pycoz_cli.core.net.topology import resolve

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
    """For each link (name, a, b): its name, else ``h1-h2``, or its full label
    where two links join the same nodes."""
    short = [f"{a[0]}-{b[0]}" for _n, a, b in links]
    return [
        n or (s if short.count(s) == 1 else f"{a[0]}:{a[1]}-{b[0]}:{b[1]}")
        for s, (n, a, b) in zip(short, links, strict=True)
    ]


@_quiet
def link(ctx, param, incomplete):
    """Links of the topology (``--impair LINK[:KEY=VALUE,...]``, ``net set NAME LINK``)."""
    from pycoz_cli.core.net.topology import IMPAIRMENT_KEYS

    state = _running(ctx)
    if state is not None:
        return _plain(
            _link_labels([(lk.get("name"), lk["a"], lk["b"]) for lk in state.get("links", [])]),
            incomplete,
        )
    spec = _spec_of(ctx)
    if not spec:
        return []
    links = _resolve(spec).links
    labels = _link_labels([(lk.name, lk.a, lk.b) for lk in links])
    # A label may hold ":" itself (h1:eth1-h2:eth1): the settings follow it.
    full = [f"{x[0]}:{x[1]}{sep}{y[0]}:{y[1]}" for lk in links for x, y in
            ((lk.a, lk.b), (lk.b, lk.a)) for sep in "->"]  # fmt: skip
    where = next((lb for lb in labels + full if incomplete.startswith(f"{lb}:")), None)
    if where is None:
        where = incomplete.partition(":")[0]
    if incomplete.startswith(f"{where}:"):
        given, _, last = incomplete[len(where) + 1 :].rpartition(",")
        head = f"{where}:{given}," if given else f"{where}:"
        return [_item(f"{head}{key}=") for key in IMPAIRMENT_KEYS if key.startswith(last)]
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
        a, b = lk["a"], lk["b"]
        if label in (lk.get("name"), lk["label"], f"{b[0]}:{b[1]}-{a[0]}:{a[1]}",
                     f"{a[0]}-{b[0]}", f"{b[0]}-{a[0]}"):  # fmt: skip
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


def _set(head: str, value: str, words) -> list:
    """A comma-separated set: complete its last item; ``!`` and ``?`` stay as typed."""
    given, comma, last = value.rpartition(",")
    head = f"{head}{given}{comma}"
    mark = ""
    while last[:1] in ("!", "?"):
        mark, last = mark + last[0], last[1:]
    taken = set(given.split(","))
    return [_item(f"{head}{mark}{w}") for w in words if w.startswith(last) and w not in taken]


def _inject(head: str, value: str) -> list:
    """``inject=SET:error=ERRNO:when=...``: the set, then its options."""
    from pycoz_cli.core.trace import syscalls

    parts = value.split(":")
    if len(parts) == 1:
        return _set(head, value, [*sorted(syscalls.NUMBERS), *syscalls.CLASS_NAMES])
    head = head + ":".join(parts[:-1]) + ":"
    key, eq, arg = parts[-1].partition("=")
    if not eq:
        used = {p.partition("=")[0] + "=" for p in parts[1:-1]}
        return [_item(head + k) for k in _INJECT_KEYS if k.startswith(key) and k not in used]
    if key == "error":
        import errno

        return [
            _item(f"{head}error={n}") for n in sorted(errno.errorcode.values()) if n.startswith(arg)
        ]
    if key == "signal":
        from pycoz_cli.core.trace.filters import SIGNALS

        return [_item(f"{head}signal={n}") for n in SIGNALS.values() if n.startswith(arg)]
    return []


@_quiet
def tracer(ctx, param, incomplete):
    """Tracer names: the built-ins and plugins'."""
    from pycoz_cli.plugins import tracer_registry

    return [
        _item(name, help=entry[2])
        for name, entry in sorted(tracer_registry().items())
        if name.startswith(incomplete)
    ]


# --- the fence -------------------------------------------------------------------


@_quiet
def capability(ctx, param, incomplete):
    """Capability names (``CAP_`` optional), and ALL."""
    from pycoz_cli.core.fence import CAPABILITIES, DEFAULT_CAPS

    kept = "kept inside by default"
    words = [*CAPABILITIES, "ALL"]
    upper = incomplete.upper().removeprefix("CAP_")
    return [
        _item(w, help=kept if w in DEFAULT_CAPS else None) for w in words if w.startswith(upper)
    ]


@_quiet
def syscall(ctx, param, incomplete):
    """``--seccomp-deny``: syscall names, then ``:ERRNO``."""
    name, colon, err = incomplete.partition(":")
    if colon:
        import errno

        names = sorted(n for n in errno.errorcode.values() if n.startswith(err.upper()))
        return [_item(f"{name}:{n}") for n in names]
    from pycoz_cli.core.trace import syscalls

    return _plain(sorted(syscalls.NUMBERS), incomplete)
