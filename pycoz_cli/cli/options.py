"""Option groups shared by the subcommands that make a container.

``root`` uses them today; ``trace`` and ``shell`` reuse the same decorators so the
three never drift apart.
"""

from __future__ import annotations

import click

from pycoz_cli.cli import complete

ROOT_OPTIONS = (
    click.option(
        "--base",
        metavar="DIR",
        shell_complete=complete.directory,
        default="/",
        show_default=True,
        help="Lower layer: the root filesystem to start from.",
    ),
    click.option(
        "--upper",
        metavar="DIR",
        shell_complete=complete.directory,
        help="Keep the changes in DIR (DIR/upper, DIR/mounts/...) instead of "
        "discarding them; the next run can reuse DIR.",
    ),
    click.option(
        "--bind",
        "binds",
        metavar="SRC[:DST]",
        multiple=True,
        shell_complete=complete.path,
        help="Bind a host path into the container, writable (repeatable).",
    ),
    click.option(
        "--ro-bind",
        "ro_binds",
        metavar="SRC[:DST]",
        multiple=True,
        shell_complete=complete.path,
        help="Bind a host path into the container, read-only (repeatable).",
    ),
    click.option(
        "--tmpfs",
        "tmpfs",
        metavar="DIR[:OPTS]",
        multiple=True,
        shell_complete=complete.directory,
        help="Mount an empty tmpfs on DIR, e.g. /tmp:mode=1777 (repeatable).",
    ),
    click.option("--hostname", metavar="NAME", help="Hostname inside the container."),
    click.option(
        "--propagation",
        type=click.Choice(["slave", "private"]),
        default="slave",
        show_default=True,
        help="Mount propagation from the host into the container.",
    ),
)
_ENV_HELP = "Set an environment variable inside (repeatable)."

#: The fence and resource limits (``core.fence``, ``core.cgroups``): every command
#: that makes a container takes them.
FENCE_OPTIONS = (
    click.option(
        "--privileged",
        is_flag=True,
        help="DANGEROUS: no fence. Root inside keeps the host's full power: it can "
        "mount, reach devices and disks, change kernel sysctls, the clock and host "
        "keyrings, and type into your terminal. Writes to files stay in the overlay.",
    ),
    click.option(
        "--cap-add",
        "cap_add",
        metavar="CAP",
        multiple=True,
        shell_complete=complete.capability,
        help="Give root inside this capability too, e.g. SYS_PTRACE, or ALL (repeatable).",
    ),
    click.option(
        "--cap-drop",
        "cap_drop",
        metavar="CAP",
        multiple=True,
        shell_complete=complete.capability,
        help="Take this capability from root inside, e.g. NET_RAW, or ALL (repeatable).",
    ),
    click.option(
        "--seccomp-deny",
        "seccomp_deny",
        metavar="SYSCALL[:ERRNO]",
        multiple=True,
        shell_complete=complete.syscall,
        help="Make SYSCALL fail with ERRNO (default ENOSYS) in the container, e.g. "
        "io_uring_setup, to see how a program copes without it (repeatable).",
    ),
    click.option(
        "--memory",
        metavar="SIZE",
        help="Memory limit for everything in the container, e.g. 64M, 2G (no swap).",
    ),
    click.option(
        "--pids",
        metavar="N",
        help="At most N processes and threads in the container (stops fork bombs).",
    ),
    click.option("--cpus", metavar="N", help="CPU time limit, in CPUs, e.g. 0.5 or 2."),
    click.option(
        "--rootless",
        is_flag=True,
        help="Run in a user namespace of pycoz's own, as pycoz does by itself when "
        "not run by root: root inside has no power outside it, and files of other "
        "users (the host root's too) show as nobody and cannot be changed, so "
        "apt-get and dpkg need a root of the user's own (--base DIR). With a range "
        "of the user's in /etc/subuid and /etc/subgid (and newuidmap), uids 1..N "
        "exist inside; with one uid only, chown to another user, setuid and "
        "services with users of their own fail.",
    ),
)
FENCE_PARAMS = (
    "privileged",
    "cap_add",
    "cap_drop",
    "seccomp_deny",
    "memory",
    "pids",
    "cpus",
    "rootless",
)


def fence_options(func):
    """Add the fence and resource-limit options to a command."""
    for option in reversed(FENCE_OPTIONS):
        func = option(func)
    return func


def fence_from_options(params: dict) -> dict:
    """The fence and limit values as ``Container`` keyword arguments; pops them.

    Enters pycoz's user namespace first in rootless mode (``core.userns``): the
    networks and containers made after it belong to it.
    """
    from pycoz_cli.core import userns

    userns.ensure(bool(params.get("rootless")))
    return {name: params.pop(name) for name in FENCE_PARAMS}


def fence_options_given(params: dict) -> list[str]:
    """The fence options set on the command line, as option names."""
    return [f"--{n.replace('_', '-')}" for n in FENCE_PARAMS if params.get(n)]


def impair_option(with_net: bool):
    """``--impair``; ``with_net``: on a command where it goes with --net."""
    return click.option(
        "--impair",
        "impair",
        metavar="LINK[:KEY=VALUE,...]",
        multiple=True,
        shell_complete=complete.link,
        help=("With --net: impair" if with_net else "Impair")
        + " a link, e.g. h1-h2:delay=50ms,loss=1% (both directions) "
        "or h1>h2:rate=1mbit (one); keys delay, jitter, loss, corrupt, duplicate, "
        "reorder, gap, rate, limit, and *_correlation, as netem's (repeatable).",
    )


NET_OPTIONS = (
    click.option(
        "--net",
        "net",
        metavar="TOPOLOGY",
        shell_complete=complete.topology,
        help="Run in a host of this topology, built for this run and removed "
        "after (a built-in such as pair or star:hosts=5, or a TOML file).",
    ),
    click.option(
        "--join",
        metavar="NAME",
        shell_complete=complete.named,
        help="Run in a host of the running named topology NAME (pycoz net up).",
    ),
    click.option(
        "--host",
        metavar="HOST",
        shell_complete=complete.host,
        help="The host to run in (default: the topology's first host).",
    ),
    impair_option(with_net=True),
)


class _AnExpression(click.Option):
    """A switch that is an ``-e`` expression (strace's -v is -e abbrev=none): it goes
    into -e's list where it stands on the command line, so that the last of -v and
    -e abbrev= wins, as in strace.  Its own parameter is always None."""

    def add_to_parser(self, parser, ctx) -> None:
        parser.add_option(
            obj=self, opts=self.opts, dest="exprs", action="append_const", const=self.flag_value
        )

    def handle_parse_result(self, ctx, opts, args):
        ctx.params[self.name] = None  # (its value is in -e's list)
        return None, args


def _flag(short, long, param, text):
    """A TRACE_OPTIONS entry for an on/off switch."""
    return (short, long, param, {"is_flag": True, "help": text})


#: strace's -S words (output.SORT_KEYS, spelled here to keep the CLI's imports light).
SORT_WORDS = (
    "time",
    "calls",
    "errors",
    "name",
    "avg-time",
    "min-time",
    "max-time",
    "nothing",
)

#: The tracing options of ``pycoz trace``, shared with ``pycoz shell --trace``.
#: Each entry: (short option or None, long option, parameter, keyword arguments).
#: ``shell`` keeps -c and -q for itself, so there the summary and quiet switches
#: are long options only.
TRACE_OPTIONS = (
    (
        "-e",
        None,
        "exprs",
        {
            "metavar": "EXPR",
            "shell_complete": complete.trace_expr,
            "multiple": True,
            "help": "strace's -e: trace=SET (names, !negation, /regex, %file %process "
            "%network %signal %ipc %desc %memory %creds), status=, signal=, quiet=, raw=, "
            "read=, write=, decode-fds=, inject=SET:WHAT[:when=A[..B][+S]] (WHAT: "
            "error=ERRNO, retval=N or signal=SIG) (repeatable).",
        },
    ),
    (
        "-f",
        "--follow-forks",
        "follow",
        {
            "count": True,
            "help": "Follow forks, clones and vforks (-ff: one file per process with -o; "
            "always on inside a container).",
        },
    ),
    (
        "-o",
        "--output",
        "output",
        {"metavar": "FILE", "shell_complete": complete.path, "help": "Write the trace to FILE."},
    ),
    (
        "-s",
        "--string-limit",
        "strsize",
        {
            "type": click.IntRange(0),
            "default": 32,
            "show_default": True,
            "help": "Longest string printed.",
        },
    ),
    (
        "-t",
        "--timestamps",
        "timestamps",
        {
            "count": True,
            "help": "Time of day (-tt: microseconds, -ttt: seconds since the epoch).",
        },
    ),
    _flag("-r", "--relative-timestamps", "relative", "Time since the previous line."),
    ("-T", "--syscall-times", "durations", {"is_flag": True, "help": "Time spent in each call."}),
    (
        "-y",
        "--decode-fds",
        "decode_fds",
        {
            "count": True,
            "help": "Print paths of fds (-yy: also sockets' addresses, devices' numbers,"
            " pidfds' pids).",
        },
    ),
    (
        "-k",
        "--stack-trace",
        "stack_trace",
        {
            "is_flag": True,
            "help": "Print the stack of each traced call, as strace -k does (unwound with "
            ".eh_frame, named from ELF symbols).",
        },
    ),
    (
        "-c",
        "--summary-only",
        "summary",
        {
            "is_flag": True,
            "help": "Count calls, errors and system time per syscall (-w: wall time).",
        },
    ),
    _flag("-C", "--summary", "summary_too", "Like -c, after the trace as usual."),
    (
        "-S",
        "--summary-sort-by",
        "sort_by",
        {
            "type": click.Choice(sorted(SORT_WORDS)),
            "metavar": "SORTBY",
            "help": "Sort -c's table by time (default), calls, errors, name, avg-time, "
            "min-time, max-time or nothing.",
        },
    ),
    _flag(
        "-w", "--summary-wall-clock", "wall", "With -c/-C: time from entry to exit (wall clock)."
    ),
    ("-q", "--quiet", "quiet", {"count": True, "help": "Fewer messages (-qq: no exit lines)."}),
    (
        "-x",
        "--strings-in-hex",
        "xflag",
        {"count": True, "help": "Strings with non-ASCII bytes in hex (-xx: all strings)."},
    ),
    _flag(
        "-z", "--successful-only", "successful", "Only calls that succeeded (-e status=successful)."
    ),
    _flag("-Z", "--failed-only", "failed", "Only calls that failed (-e status=failed)."),
    (
        "-P",
        "--trace-path",
        "paths",
        {
            "metavar": "PATH",
            "multiple": True,
            "shell_complete": complete.path,
            "help": "Only calls that name PATH or an fd open on it (repeatable).",
        },
    ),
    _flag(
        "-n",
        "--syscall-number",
        "numbers",
        "Print each call's number (+++ and --- lines: the last call made; as strace, "
        "every call then stops the program unless --seccomp-bpf).",
    ),
    _flag("-i", "--instruction-pointer", "ip", "Print the instruction pointer of each call."),
    (
        "-Y",
        None,
        "comm",
        {"is_flag": True, "help": "Print pids with their command names: PID<comm>."},
    ),
    (
        "-a",
        "--columns",
        "column",
        {
            "type": click.IntRange(0),
            "metavar": "COLUMN",
            "help": "Align results at COLUMN (default 40).",
        },
    ),
    _flag("-A", "--output-append-mode", "append", "Append to -o FILE instead of replacing it."),
    (
        "-X",
        "--const-print-style",
        "xlat",
        {
            "type": click.Choice(["abbrev", "raw", "verbose"]),
            "metavar": "STYLE",
            "help": "How named constants (flags, modes, signals, ioctl requests...) show: "
            "abbrev (names, the default), raw (numbers) or verbose (NUMBER /* NAMES */).",
        },
    ),
    (
        "-v",
        "--no-abbrev",
        "verbose",
        {
            "cls": _AnExpression,
            "is_flag": True,
            "flag_value": "abbrev=none",
            "help": "Structures unabbreviated: stat's every field, execve's environment, "
            "getdents' entries, uname, termios (-e abbrev=none; the last of the two wins).",
        },
    ),
    (
        "-u",
        "--user",
        "user",
        {"metavar": "USER", "help": "Run COMMAND as USER (a name or uid), with its groups."},
    ),
    (
        "-b",
        "--detach-on",
        "detach_on",
        {
            "type": click.Choice(["execve"]),
            "metavar": "execve",
            "help": "Detach from a process as it calls execve (the command's first excepted).",
        },
    ),
    (
        None,
        "--seccomp-bpf",
        "seccomp_bpf",
        {
            "is_flag": True,
            "help": "Accepted, as strace's: pycoz stops only for the traced calls anyway.",
        },
    ),
    (
        None,
        "--json",
        "as_json",
        {
            "is_flag": True,
            "help": "One JSON object per line: calls (values and strace text) and events.",
        },
    ),
    _flag(
        None, "--no-seccomp", "no_seccomp", "Stop at every syscall even when only some are traced."
    ),
    (
        None,
        "--tracer",
        "tracer_name",
        {
            "metavar": "NAME",
            "shell_complete": complete.tracer,
            "default": "strace",
            "show_default": True,
            "help": "What to make of the events: strace (text), sockets (the life of every "
            "socket and a summary per connection), or a plugin's tracer (-c, --json, -t, "
            "-r, -T and -ff -o are strace's only).",
        },
    ),
)
#: The trace options ``pycoz shell`` does not take (its -q covers the tracer too;
#: the rest are strace's own, ``pycoz trace``'s).
_SHELL_SKIPS = {
    "quiet",
    "summary_too",
    "sort_by",
    "wall",
    "xflag",
    "successful",
    "failed",
    "paths",
    "numbers",
    "ip",
    "comm",
    "column",
    "append",
    "xlat",
    "verbose",
    "user",
    "detach_on",
    "seccomp_bpf",
}
_SHELL_LONG_ONLY = {"summary"}


def trace_options(func=None, *, in_shell: bool = False):
    """Add the tracing options to a command (``in_shell``: for ``pycoz shell``)."""
    if func is None:
        return lambda f: trace_options(f, in_shell=in_shell)
    for short, long, param, settings in reversed(TRACE_OPTIONS):
        if in_shell and param in _SHELL_SKIPS:
            continue
        if in_shell and param in _SHELL_LONG_ONLY:
            short = None
        names = [n for n in (short, long) if n]
        func = click.option(*names, param, **settings)(func)
    return func


TRACE_PARAMS = tuple(entry[2] for entry in TRACE_OPTIONS)


class TraceSetup:
    """The tracer made from the values of ``trace_options``: its sink, its
    options, and the files to close when tracing is over.

    ``stream`` is where the trace goes without -o (pycoz's stderr by default).
    """

    def __init__(self, params: dict, *, in_container: bool, stream=None, attaching=False):
        import sys

        from pycoz_cli.core.trace import filters, session
        from pycoz_cli.core.trace import output as outputs
        from pycoz_cli.errors import SpecError

        values = {name: params.pop(name, None) for name in TRACE_PARAMS}
        tracer_factory, tracer_syscalls = None, None
        if values["tracer_name"] not in (None, "strace"):
            from pycoz_cli.plugins import find_tracer

            tracer_factory, tracer_syscalls = find_tracer(values["tracer_name"])
            _check_tracer_options(values)
        defaults = []
        if tracer_syscalls:
            from pycoz_cli.core.trace.syscalls import NUMBERS

            names = [n for n in tracer_syscalls if n in NUMBERS]
            defaults = [f"trace={','.join(names)}"]
        exprs = [*defaults, *(values["exprs"] or ())]
        _check_strace_options(values)
        if values["successful"]:
            exprs.append("status=successful")  # strace's -z
        if values["failed"]:
            exprs.append("status=failed")  # strace's -Z
        parsed = filters.parse(exprs)
        if parsed.verbose is not None:
            raise SpecError(
                "-e verbose=: only verbose=all (strace's default) is supported by pycoz trace"
            )
        follow, output = values["follow"] or 0, values["output"]
        self.output = output
        self._per_pid = None
        self._stream = stream if stream is not None else sys.stderr
        self._opened = None
        if output:
            if follow >= 2:
                self._per_pid = outputs.open_per_pid(output)
            else:
                from pycoz_cli.core.streams import open_text

                mode = "a" if values["append"] else "w"
                self._stream = self._opened = open_text(output, mode)
        common = {
            "strsize": values["strsize"] if values["strsize"] is not None else 32,
            "decode_fds": _decode_fds(values["decode_fds"] or 0, parsed.decode_fds),
            "status": parsed.status,
            "signals": parsed.signals,
            "quiet": values["quiet"] or 0,
        }
        if values["stack_trace"]:
            from pycoz_cli.core.trace.unwind import check_machine

            check_machine("-k")
            if values["summary"]:  # as strace: a warning, and the summary
                sys.stderr.write("pycoz trace: -k has no effect with -c\n")
            else:
                common["stack_trace"] = True
        strace_common = dict(common, xflag=values["xflag"] or 0, xstyle=values["xlat"] or "abbrev")
        # -v is -e abbrev=none (in exprs, in its place: see _AnExpression); an
        # -e abbrev=SET says which calls stay abbreviated.
        strace_common["abbrev"] = parsed.abbrev
        quiet = outputs.QUIET_LEVELS[min(values["quiet"] or 0, len(outputs.QUIET_LEVELS) - 1)]
        if output and not attaching:
            # strace: -o FILE with a command (not -p) is quiet about attaching
            # and detaching by itself.
            quiet = quiet | {"attach"}
        strace_common["quiet"] = quiet.union(parsed.quiet)
        strace_common["paths"] = _trace_paths(values["paths"] or (), strace_common["quiet"])
        summary_options = {"wall": bool(values["wall"]), "sort_by": values["sort_by"] or "time"}
        text_options = {
            "numbers": bool(values["numbers"]),
            "instruction_pointer": bool(values["ip"]),
            "comm": bool(values["comm"]),
            "column": values["column"] if values["column"] is not None else 40,
            "raw": parsed.raw,
            "read_fds": parsed.read_fds,
            "write_fds": parsed.write_fds,
        }
        from pycoz_cli.errors import SpecError

        calls = params.pop("calls", None) or ()
        text_sink, json_sink = outputs.StraceText, outputs.JsonLines
        if calls:
            from pycoz_cli.core.trace import callout

            text_sink, json_sink = callout.StraceWithCalls, callout.JsonCalls
            if values["summary"] or tracer_factory is not None:
                raise SpecError("--calls: with strace's lines or --json only (not -c, --tracer)")
        if values["summary"]:
            self.sink = outputs.Summary(self._stream, **summary_options, **strace_common)
        elif tracer_factory is not None:
            self.sink = tracer_factory(self._stream, **common)
        elif values["as_json"]:
            self.sink = json_sink(self._stream, durations=True, **strace_common)
        else:
            self.sink = text_sink(
                self._stream,
                follow=bool(follow) or in_container,
                timestamps=values["timestamps"] or 0,
                relative=bool(values["relative"]),
                durations=bool(values["durations"]),
                per_pid=self._per_pid,
                to_file=bool(output) and self._per_pid is None,
                **text_options,
                **strace_common,
            )
            if values["summary_too"]:
                # (-P: Both counts the calls the text shows, by the text's look at entry)
                alone = dict(strace_common, paths=())
                summary = outputs.Summary(self._stream, **summary_options, **alone)
                self.sink = outputs.Both(self.sink, summary)
        summing = bool(values["summary"] or values["summary_too"])
        # Inside a container every process is followed: they all share its fate.
        self.options = session.options_from(
            parsed,
            follow=bool(follow) or in_container,
            prefilter=not values["no_seccomp"],
            cpu_time=summing and not values["wall"],
            detach_on_execve=values["detach_on"] == "execve",
            # -n: strace stops at every call unless --seccomp-bpf, and numbers
            # its +++ and --- lines with the last one.
            every_call=bool(values["numbers"]) and not values["seccomp_bpf"],
        )
        self.user = values["user"]
        if calls:
            from pycoz_cli.core.trace import breakpoints
            from pycoz_cli.core.trace import calls as callspec

            callspec.check_machine()
            selection, tampers = callspec.selection_from(calls)
            self.options.calls = breakpoints.Engine(
                selection, self.sink, follow=self.options.follow, tamper=tampers
            )

    def tracing(self):
        """The container-spec form: ``Container(trace=setup.tracing())``."""
        from pycoz_cli.core.trace.session import Tracing

        return Tracing(self.options, self.sink)

    def close(self) -> None:
        calls = self.options.calls
        if calls is not None:  # --calls: the library-call notes (IFUNCs, names)
            import sys

            for note in calls.all_notes():
                sys.stderr.write(f"pycoz trace: {note}\n")
        if self._per_pid is not None:
            self._per_pid.close()
        if self._opened is not None:
            self._opened.close()


def _trace_paths(paths, quiet) -> tuple[str, ...]:
    """-P's paths, each also as it resolves (strace: a symlink's target is
    traced too, said in a note unless -e quiet=path-resolution)."""
    import os
    import sys

    out: list[str] = []
    for path in paths:
        out.append(path)
        real = os.path.realpath(path)
        if real != path and os.path.exists(real):
            out.append(real)
            if "path-resolution" not in quiet:
                print(
                    f"pycoz trace: Requested path {path!r} resolved into {real!r}",
                    file=sys.stderr,
                )
    return tuple(out)


def _check_strace_options(values: dict) -> None:
    """strace's options that pycoz accepts only in some combinations, or not."""
    from pycoz_cli.errors import SpecError

    if values["summary"] and values["summary_too"]:
        raise SpecError("-c and -C: choose one (-C is -c with the trace)")
    if values["wall"] and not (values["summary"] or values["summary_too"]):
        raise SpecError("-w: needs -c or -C (the summary's wall clock; --workdir is the directory)")
    if values["sort_by"] and not (values["summary"] or values["summary_too"]):
        raise SpecError("-S: needs -c or -C (it sorts the summary)")
    if values["append"] and not values["output"]:
        raise SpecError("-A: needs -o FILE (it appends to FILE)")
    if values["successful"] and values["failed"]:
        raise SpecError("-z and -Z: choose one")
    if values["as_json"] and (values["summary"] or values["summary_too"]):
        raise SpecError("--json and -c/-C: choose one")


def _check_tracer_options(values: dict) -> None:
    """Options that only strace's output has, refused with another ``--tracer``
    (which prints what it prints, to -o FILE if given) rather than ignored."""
    from pycoz_cli.errors import SpecError

    name = values["tracer_name"]
    if values["summary"]:
        raise SpecError(f"-c and --tracer {name}: choose one (-c is strace's summary)")
    if values["as_json"]:
        raise SpecError(f"--json and --tracer {name}: choose one (--json is strace's calls)")
    if (values["follow"] or 0) >= 2 and values["output"]:
        raise SpecError(
            f"-ff -o and --tracer {name}: tracer {name!r} writes one output "
            "(per-process files are strace's); use -f -o FILE"
        )
    if values["xlat"] not in (None, "abbrev"):
        raise SpecError(f"-X and --tracer {name}: choose one (-X is strace's)")
    for key, flag in (
        ("timestamps", "-t"),
        ("relative", "-r"),
        ("durations", "-T"),
        ("stack_trace", "-k"),
    ):
        if values[key]:
            raise SpecError(f"{flag} and --tracer {name}: choose one ({flag} is strace's)")


def build_topology(spec: str, impairs=()):
    """Resolve a topology spec and apply ``--impair`` options to it."""
    from pycoz_cli.core.net.topology import impair_spec, resolve

    topo = resolve(spec)
    for item in impairs:
        impair_spec(topo, item)
    return topo


def net_options(func):
    """Add the network-placement options (--net, --join, --host) to a command."""
    for option in reversed(NET_OPTIONS):
        func = option(func)
    return func


def network_from_options(params: dict, stack, joined: dict | None = None):
    """Build (--net) or open (--join) the network; registered on ``stack`` for
    teardown.  Returns (network or None, host); pops what it uses."""
    from pycoz_cli.errors import SpecError

    spec, join, host = params.pop("net"), params.pop("join"), params.pop("host")
    impairs = params.pop("impair")
    if spec and join:
        raise SpecError("--net and --join: choose one")
    if impairs and not spec:
        raise SpecError("--impair: needs --net")
    if spec:
        from pycoz_cli.core.net.topology import Network

        network = stack.enter_context(Network(build_topology(spec, impairs)))
        network.start_commands()
    elif join:
        from pycoz_cli.core.net.named import Joined

        network = Joined(join, joined)  # joined: named.join's state, if done already
        stack.callback(network.close)
    else:
        if host:
            raise SpecError(f"--host {host}: needs --net or --join")
        return None, None
    network.netns(host or network.topology.first_host())  # an unknown host fails here
    return network, host


def root_options(func=None, *, env_short: bool = True, strace_shorts: bool = False):
    """Add the throwaway-root options to a command.

    ``env_short=False`` leaves ``--env`` without its ``-e`` (``pycoz trace``, where
    ``-e`` is strace's).  ``strace_shorts``: ``pycoz trace``'s spellings, where
    strace's letters win: ``--env`` is ``-E`` (strace's, also ``-E NAME`` to
    unset), and ``--workdir`` has no ``-w`` (strace's -w is -c's wall clock).
    """
    if func is None:
        return lambda f: root_options(f, env_short=env_short, strace_shorts=strace_shorts)
    workdir_help = "Working directory inside (default: the current one if it exists there, else /)."
    if strace_shorts:
        names: tuple = ("-E", "--env")
        env_help = (
            "Set an environment variable for COMMAND (repeatable); -E NAME unsets it "
            "(strace's -E; NAME alone only without a container)."
        )
        metavar = "NAME[=VALUE]"
        workdir_help = (
            "Working directory of COMMAND (in a container: the default is the current "
            "one if it exists there, else /)."
        )
    else:
        names = ("-e", "--env") if env_short else ("--env",)
        env_help, metavar = _ENV_HELP, "NAME=VALUE"
    env = click.option(*names, "env", metavar=metavar, multiple=True, help=env_help)
    workdir = click.option(
        *(("--workdir",) if strace_shorts else ("-w", "--workdir")),
        metavar="DIR",
        shell_complete=complete.directory,
        help=workdir_help,
    )
    for option in reversed((*ROOT_OPTIONS, workdir, env, *FENCE_OPTIONS)):
        func = option(func)
    return func


def container_from_options(params: dict, stack=None):
    """A ``Container`` from the values of ``root_options``; pops what it uses.

    With ``stack`` (an ExitStack) the ``net_options`` are used too: the network
    is built or opened, placed in the container, and torn down with the stack.
    """
    from pycoz_cli.core.container import Bind, Container
    from pycoz_cli.errors import SpecError

    env = {}
    for item in params.pop("env"):
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SpecError(f"--env {item!r}: expected NAME=VALUE")
        env[name] = value
    binds = [Bind.parse(b) for b in params.pop("binds")]
    binds += [Bind.parse(b, readonly=True) for b in params.pop("ro_binds")]
    joined = None
    if stack is not None and params.get("join"):
        from pycoz_cli.core.net import named

        joined = named.join(params["join"])  # a rootless topology: its user namespace
    fence = fence_from_options(params)  # first: it may enter pycoz's user namespace
    network, host = (
        network_from_options(params, stack, joined) if stack is not None else (None, None)
    )
    return Container(
        base=params.pop("base"),
        upper=params.pop("upper"),
        binds=binds,
        tmpfs=params.pop("tmpfs"),
        hostname=params.pop("hostname"),
        workdir=params.pop("workdir"),
        propagation=params.pop("propagation"),
        env=env,
        network=network,
        host=host,
        **fence,
    )


def run_in_container(container, command) -> int:
    """Start COMMAND in CONTAINER, pass on the signals sent to pycoz while it runs,
    and return the exit code pycoz exits with (128+N for a death by signal N)."""
    from pycoz_cli.core import userns
    from pycoz_cli.core.process import SignalsHeld, exit_code_for, wait_passing_signals

    note = userns.installer_note(command, container.base, container.overlay)
    if note:
        import sys

        print(note, file=sys.stderr)
    withhold_inherited_fds(container)
    with SignalsHeld():
        proc = container.spawn(command, close_fds=False)
        return exit_code_for(wait_passing_signals(proc))


def withhold_inherited_fds(container) -> None:
    """Behind the fence, the descriptors pycoz inherited from its caller beyond
    stdin, stdout and stderr do not reach the command (as with docker, runc and
    systemd-nspawn): they are made close-on-exec here.

    A host directory's descriptor would reach the host's files past the overlay
    (``/proc/self/fd/N/...``, ``openat``), and a file's, even one opened
    read-only, could be reopened for writing through ``/proc/self/fd/N``.
    ``--privileged`` passes them on, as ``unshare`` and ``ip netns exec`` do.
    pycoz's own descriptors are close-on-exec already; init, which never execs,
    keeps what it needs (the tracer's output).
    """
    import os

    if container.fence.privileged:
        return
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2:
            try:
                os.set_inheritable(fd, False)
            except OSError:  # the listing's own descriptor, closed by now
                pass


def command_args(func):
    """The trailing ``[--] COMMAND [ARG]...`` of a container command."""
    argument = click.argument(
        "command",
        nargs=-1,
        type=click.UNPROCESSED,
        metavar="[[--] COMMAND [ARG]...]",
        shell_complete=complete.command,
    )
    return argument(func)


class TailCommand(click.Command):
    """A command whose trailing COMMAND [ARG]... belongs to the program it runs.

    With ``--``, everything before it is pycoz's (options may follow positional
    arguments: ``pycoz net run pair --host h2 -- ping h1``) and everything after
    is COMMAND.  Without it, pycoz's options stop at the first argument that is
    not an option or a positional of pycoz's own (``pycoz root ls -la``).
    """

    def make_parser(self, ctx: click.Context):
        """Click's parser, which reads ``-e`` as a short option at once.

        Click tries every option as a long one first, and a short one only once
        that failed: the failure builds a NoSuchOption, whose message imports
        difflib and gettext's catalogues and compares ``-e`` with every long
        option (about 10 ms, a quarter of ``pycoz trace``'s start-up).  pycoz
        has no single-dash long options, so ``-x...`` goes to the short-option
        code directly; with a Click whose parser lacks these methods, as is.
        """
        parser = super().make_parser(ctx)
        process, short = (getattr(parser, n, None) for n in ("_process_opts", "_match_short_opt"))
        if process is not None and short is not None:

            def process_opts(arg, state):
                if arg[:2] == "--":
                    process(arg, state)
                else:
                    short(arg, state)

            parser._process_opts = process_opts
        return parser

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" not in args:
            return super().parse_args(ctx, args)
        cut = args.index("--")
        head, tail = args[:cut], args[cut + 1 :]
        ctx.allow_interspersed_args = True
        rest = super().parse_args(ctx, head)
        if ctx.params.get("command"):
            extra = " ".join(ctx.params["command"])
            raise click.UsageError(f"unexpected {extra!r} before '--'", ctx)
        ctx.params["command"] = tuple(tail)
        return rest


def container_command(**settings):
    """``click.command`` settings for commands whose arguments after COMMAND are
    the command's own (``pycoz root ls -la`` passes ``-la`` to ls)."""
    context = {"allow_interspersed_args": False, "help_option_names": ["-h", "--help"]}
    return click.command(cls=TailCommand, context_settings=context, **settings)


def _decode_fds(ys: int, qualified: frozenset) -> frozenset:
    """What descriptors show: -y is ``decode-fds=path``, -yy is ``decode-fds=all``."""
    from pycoz_cli.core.trace.filters import DECODE_FDS

    if ys and qualified:
        from pycoz_cli.errors import SpecError

        raise SpecError("-y and -e decode-fds= cannot be given together: choose one")
    if ys:
        return frozenset(DECODE_FDS) if ys > 1 else frozenset(("path",))
    return qualified


def run_traced(attach_pid, use_root, command, params: dict, make_setup) -> int:
    """The body of ``pycoz trace`` and ``pycoz ltrace``: check -p against
    COMMAND and the container options, build the tracer with ``make_setup``
    (``TraceSetup`` or ltrace's), then attach, run in a container, or run."""
    import signal

    if attach_pid is not None:
        # Held until the detach handlers are in (session.attach): Python's own
        # SIGINT handler, run inside an import's callback, is swallowed there
        # ("Exception ignored"), and the tracer would trace on.
        signal.pthread_sigmask(
            signal.SIG_BLOCK, (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP)
        )
    import contextlib
    import os

    from pycoz_cli.core.process import exit_code_for
    from pycoz_cli.core.trace import session
    from pycoz_cli.errors import SpecError

    if attach_pid is not None and attach_pid <= 0:
        raise SpecError(f"-p {attach_pid}: not a process id (a number from 1)")
    if attach_pid is not None and command:
        raise SpecError("-p and COMMAND: choose one")
    if attach_pid is None and not command:
        raise click.UsageError("COMMAND or -p PID is needed")
    in_container = bool(use_root or params["net"] or params["join"])
    if attach_pid is not None and in_container:
        raise SpecError("-p: attach traces a process where it runs (no --root/--net)")
    fence_given = fence_options_given(params)
    if fence_given and not in_container:
        raise SpecError(f"{fence_given[0]}: needs a container (--root, --net or --join)")
    setup = make_setup(params, in_container=in_container, attaching=attach_pid is not None)
    user = getattr(setup, "user", None)
    if user is not None and (in_container or attach_pid is not None):
        setup.close()
        raise SpecError("-u: runs COMMAND as a user of this machine (no --root/--net, no -p)")
    detached_by = 0
    try:
        if attach_pid is not None:
            calls = setup.options.calls
            if calls is not None and os.path.isdir(f"/proc/{attach_pid}"):
                calls.precheck(attach_pid)
            detached_by = session.attach(attach_pid, setup.options, setup.sink)
            return 0
        if in_container:
            with contextlib.ExitStack() as stack:
                container = container_from_options(params, stack)
                container.overlay = use_root
                container.trace = setup.tracing()
                return run_in_container(container, command)
        status = session.trace_command(
            command,
            setup.options,
            setup.sink,
            env=_environment(params.get("env") or ()),
            cwd=params.get("workdir"),
            user=user,
        )
    finally:
        setup.close()
        if detached_by:
            # As strace: detached by a signal, die of it (the shell sees 128+N).
            signal.signal(detached_by, signal.SIG_DFL)
            os.kill(os.getpid(), detached_by)
    return exit_code_for(os.waitstatus_to_exitcode(status))


def _environment(settings) -> dict[str, str]:
    """pycoz's environment with strace's -E applied: NAME=VALUE sets, NAME unsets."""
    import os

    from pycoz_cli.errors import SpecError

    env = dict(os.environ)
    for item in settings:
        name, sep, value = item.partition("=")
        if not name:
            raise SpecError(f"-E {item!r}: expected NAME=VALUE or NAME")
        if sep:
            env[name] = value
        else:
            env.pop(name, None)
    return env
