"""Topology files: a small TOML format for hosts, routers, switches and the links
between them (the reference is docs/topology-format.md, pycoz-topology(5)).

``load(path)`` and ``loads(text, filename)`` build a ``Topology`` through its public
methods and check it.  Every mistake in a file is one ``SpecError`` line naming the
file, the line and the key: ``lab.toml:12: links[1].delay: '50 parsecs' is not a
duration (use 10ms, 1.5s, 200us)``.  tomllib returns values without positions, so a
small scanner (``_Scanner``) reads the source once more and records the line each
key, table and array element is written on.

``parse_duration``, ``parse_percent`` and ``parse_rate`` are public so that command
line options can take the same units as the file.
"""

from __future__ import annotations

import bisect
import ipaddress
import os
import re
import stat

from pycoz_cli.core.net import uplink
from pycoz_cli.core.net.topology import (
    BRIDGE_MAX_PORTS,
    IFNAMSIZ,
    PORT_LIMIT_REASON,
    READY_TIMEOUT,
    VXLAN_PORT,
    CommandSpec,
    Impairment,
    RootSpec,
    Route,
    Topology,
    parse_mac,
    parse_ready,
)
from pycoz_cli.errors import SpecError, describe_errno

#: Section -> the kind of node declared in it.
SECTIONS = {"hosts": "host", "routers": "router", "switches": "switch"}
TOP_KEYS = ("name", *SECTIONS, "links")
NODE_KEYS = {
    "host": ("routes", "sysctls", "commands", "vlans", "vxlans", "root", "uplink"),
    "router": ("routes", "sysctls", "commands", "vlans", "vxlans", "root", "uplink"),
    "switch": ("sysctls",),
}
VLAN_KEYS = ("on", "id", "name", "addresses", "mac")
VXLAN_KEYS = ("name", "id", "local", "remote", "port", "addresses", "mac")
ROOT_KEYS = ("base", "upper", "binds", "ro_binds", "tmpfs")
IMPAIR_KEYS = ("delay", "jitter", "loss", "corrupt", "rate")
LINK_KEYS = (
    "a",
    "b",
    "a_addresses",
    "b_addresses",
    "a_mac",
    "b_mac",
    "mtu",
    *IMPAIR_KEYS,
    "a_to_b",
    "b_to_a",
)
DIRECTIONS = ("a_to_b", "b_to_a")
COMMAND_KEYS = ("run", "ready", "timeout")
ROUTE_KINDS = ("unicast", "blackhole", "unreachable", "prohibit", "local")
ROUTE_USAGE = (
    "write [unicast|blackhole|unreachable|prohibit|local] DST|default [via GATEWAY [weight N]]..."
)

# Interface names: what the kernel accepts, minus '/', ':' and whitespace, which
# would confuse NODE:IFNAME and sysctl paths.
_IFNAME = re.compile(rf"[A-Za-z][A-Za-z0-9_.-]{{0,{IFNAMSIZ - 1}}}")
# Only net.* sysctls belong to a network namespace; anything else would change the
# machine.  Dots become '/' under /proc/sys, so a part may hold no '/' or '..'.
_SYSCTL = re.compile(r"net(?:\.[A-Za-z0-9_-]+)+")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")

_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
_DURATION = re.compile(rf"{_NUMBER}\s*(ns|us|µs|ms|s)")
_DURATION_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1000.0}
_PERCENT = re.compile(rf"{_NUMBER}\s*%")
_RATE = re.compile(rf"{_NUMBER}\s*([kmgt]i?)?(bit|bps)", re.IGNORECASE)
_RATE_PREFIX = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_RATE_PREFIX.update({p + "i": 1024 ** (i + 1) for i, p in enumerate("kmgt")})
_MAX_NS = 2**63 - 1


# --- units ----------------------------------------------------------------------------


def parse_duration(value) -> float:
    """``"50ms"`` -> 50.0 (milliseconds).  Units: ns, us (or µs), ms, s."""
    if isinstance(value, str):
        m = _DURATION.fullmatch(value.strip())
        if m:
            ms = float(m[1]) * _DURATION_MS[m[2]]
            if ms * 1e6 > _MAX_NS:
                raise ValueError(f"{value!r} is too long")
            return ms
    elif _is_number(value):
        raise ValueError(f'{value!r} has no unit (write "{value}ms")')
    raise ValueError(f"{value!r} is not a duration (use 10ms, 1.5s, 200us)")


def parse_percent(value) -> float:
    """``"0.5%"`` -> 0.5 (percent, 0 to 100)."""
    if isinstance(value, str):
        m = _PERCENT.fullmatch(value.strip())
        if m:
            pct = float(m[1])
            if pct > 100:
                raise ValueError(f"{value!r} is more than 100%")
            return pct
    elif _is_number(value):
        raise ValueError(f'{value!r} has no unit (write "{value}%")')
    raise ValueError(f"{value!r} is not a percentage (use 1%, 0.1%)")


def parse_rate(value) -> int:
    """``"10mbit"`` -> 10_000_000 (bits per second).

    Units, as tc writes them and case-insensitive: bit, kbit, mbit, gbit, tbit (powers
    of 1000) and kibit, mibit, gibit, tibit (powers of 1024).  tc's byte units (bps,
    kbps, mbps...) are refused with the equivalent in bits: "10Mbps" reads as megabits
    to most people and as megabytes to tc, and a link eight times too fast or too slow
    is an error nobody notices.
    """
    if isinstance(value, str):
        m = _RATE.fullmatch(value.strip())
        if m:
            number, prefix, unit = float(m[1]), (m[2] or "").lower(), m[3].lower()
            if unit == "bps":
                bits = f"{number * 8:g}{prefix}bit"
                raise ValueError(
                    f"{value!r} is in bytes per second, which tc and people read "
                    f"differently: write bits ({bits!r})"
                )
            bps = round(number * _RATE_PREFIX[prefix])
            if 0 < bps < 8:
                raise ValueError(f"{value!r} is below 8bit, the smallest rate netem applies")
            if bps // 8 > 2**64 - 1:
                raise ValueError(f"{value!r} is too fast")
            return bps
    elif _is_number(value):
        raise ValueError(f"{value!r} has no unit (use 10mbit, 500kbit, 1gbit)")
    raise ValueError(f"{value!r} is not a rate (use 10mbit, 500kbit, 1gbit)")


def format_duration(ms: float) -> str:
    """50.0 -> ``"50ms"``: the shortest text ``parse_duration`` reads back as ``ms``
    (to the nanosecond), as a person would write it (``1.5s``, ``250us``)."""
    ns = round(ms * 1e6)
    return _shortest(ns, (("s", 10**9), ("ms", 10**6), ("us", 10**3), ("ns", 1)))


def format_percent(pct: float) -> str:
    """0.5 -> ``"0.5%"``."""
    return f"{pct:.10g}%"


def format_rate(bps: int) -> str:
    """10_000_000 -> ``"10mbit"``: the shortest text ``parse_rate`` reads back as
    ``bps`` (``1.5gbit``, ``1mibit``, ``1234567bit``)."""
    units = [(f"{p}bit", 1000 ** (i + 1)) for i, p in enumerate("kmgt")]
    units += [(f"{p}ibit", 1024 ** (i + 1)) for i, p in enumerate("kmgt")]
    return _shortest(int(bps), [*units, ("bit", 1)])


def _shortest(value: int, units) -> str:
    """``value`` (in the smallest unit) in the unit that writes it shortest, with
    at most three decimals and at least 1 before the point."""
    best = None
    for unit, size in units:
        if (value * 1000) % size or (value and value < size):
            continue
        text = f"{value * 1000 // size / 1000:.3f}".rstrip("0").rstrip(".") + unit
        if best is None or len(text) < len(best):
            best = text
    return best if best is not None else f"{value}{units[-1][0]}"


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --- entry points -----------------------------------------------------------------------


#: The largest topology file read (a star of 4,000 hosts written out is ~1 MiB).
MAX_FILE_SIZE = 16 * 2**20
_FILE_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}


def load(path) -> Topology:
    """The topology in the TOML file at ``path``; errors are one-line ``SpecError``s.

    Only a regular file of at most ``MAX_FILE_SIZE`` bytes is read: a FIFO would
    block until a writer comes, and /dev/zero never ends.
    """
    path = os.fspath(path)
    try:
        # O_NONBLOCK: opening a FIFO waits for a writer otherwise.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise SpecError(f"{path}: cannot read topology file: {describe_errno(err.errno)}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = _FILE_KINDS.get(stat.S_IFMT(mode), "not a file")
            raise SpecError(f"{path}: not a regular file ({kind})")
        # Read one byte past the limit, whatever st_size says (files in /proc
        # say 0, and a file may grow while it is read).
        chunks, size = [], 0
        while size <= MAX_FILE_SIZE:
            chunk = os.read(fd, MAX_FILE_SIZE + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as err:
        raise SpecError(f"{path}: cannot read topology file: {describe_errno(err.errno)}") from None
    finally:
        os.close(fd)
    if size > MAX_FILE_SIZE:
        raise SpecError(f"{path}: larger than {MAX_FILE_SIZE // 2**20} MiB: not a topology file")
    data = b"".join(chunks)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise SpecError(f"{path}:{line}: not UTF-8 text (byte {err.start})") from None
    return loads(text, path)


def loads(text: str, filename: str = "<string>") -> Topology:
    """The topology described by ``text``; ``filename`` names it in errors and is
    the default topology name (its stem)."""
    import tomllib

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise _syntax_error(str(err), text, filename) from None
    except RecursionError:
        # tomllib recurses once per nested array or inline table.
        line = _first_deep_line(text)
        raise SpecError(
            f"{filename}:{line}: invalid TOML: nested too deeply (arrays or inline tables)"
        ) from None
    return _Loader(text, filename).topology(doc)


def _first_deep_line(text: str, depth: int = 100) -> int:
    """The line where brackets and braces first open ``depth`` deep (strings and
    comments are not told apart: this only places an error message)."""
    level, line = 0, 1
    for char in text:
        if char in "[{":
            level += 1
            if level >= depth:
                return line
        elif char in "]}":
            level = max(0, level - 1)
        elif char == "\n":
            line += 1
    return 1


def _syntax_error(message: str, text: str, filename: str) -> SpecError:
    m = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", message, re.DOTALL)
    if m:
        reason, line, where = m[1], int(m[2]), f" (column {m[3]})"
    else:
        reason, where = re.sub(r" \(at end of document\)$", "", message), " (at the end)"
        line = max(1, text.count("\n") + (not text.endswith("\n")))
    if reason.startswith(("Cannot declare", "Cannot overwrite")):
        # A key or table given twice: say which, and where it was first.
        scan = _Scanner(text)
        scan.run()
        if scan.twice:
            path, first, again = scan.twice[0]
            return SpecError(
                f"{filename}:{again}: {_key_name(path)}: defined twice (first on line {first})"
            )
    reason = reason[:1].lower() + reason[1:]
    return SpecError(f"{filename}:{line}: invalid TOML: {reason}{where}")


# --- where keys are written -------------------------------------------------------------

_SKIP = re.compile(r"(?:[ \t\r\n]+|#[^\n]*)*")
_SPACE = re.compile(r"[ \t]*")
_KEY_PART = re.compile(r"""[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*'""")
_DOTTED_KEY = re.compile(
    rf"[ \t]*(?:{_KEY_PART.pattern})(?:[ \t]*\.[ \t]*(?:{_KEY_PART.pattern}))*[ \t]*"
)
_STRING = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""(?:"{1,2})?'
    r"|'''(?:[^']|'(?!''))*'''(?:'{1,2})?"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'[^'\n]*'",
    re.DOTALL,
)
_SCALAR = re.compile(r"[^,\]}#\r\n]*")
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", "e": "\x1b"}


class _Scanner:
    """Records the line of every key path in a TOML text that tomllib accepted.

    Paths are tuples as the loader walks the parsed document: ``("hosts", "client",
    "routes", 1)``, ``("links", 0, "a_to_b", "delay")``; arrays of tables count their
    elements like arrays.  ``twice`` lists keys and tables given twice (for the error
    about them).  Scanning stops quietly at anything unexpected: a missing line only
    makes an error message less precise.
    """

    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.lines: dict[tuple, int] = {}
        self.twice: list[tuple[tuple, int, int]] = []
        self._defined: dict[tuple, int] = {}
        self._newlines = [m.start() for m in re.finditer("\n", text)]

    def run(self) -> _Scanner:
        try:
            self._document()
        except (ValueError, IndexError, RecursionError):
            pass
        return self

    def _line(self, pos: int) -> int:
        return bisect.bisect_left(self._newlines, pos) + 1

    def _mark(self, path: tuple, line: int) -> None:
        if path not in self.lines:
            self.lines[path] = line

    def _define(self, path: tuple, line: int) -> None:
        if path in self._defined:
            self.twice.append((path, self._defined[path], line))
        else:
            self._defined[path] = line

    def _skip(self, pattern: re.Pattern = _SKIP) -> None:
        self.pos = pattern.match(self.text, self.pos).end()

    def _expect(self, token: str) -> None:
        self._skip(_SPACE)
        if not self.text.startswith(token, self.pos):
            raise ValueError(token)
        self.pos += len(token)

    def _document(self) -> None:
        text = self.text
        table: tuple = ()
        arrays: dict[tuple, int] = {}  # array of tables -> index of its last element
        while True:
            self._skip()
            start = self.pos
            if start >= len(text):
                return
            line = self._line(start)
            if text.startswith("[[", start):
                self.pos += 2
                parts = self._key()
                array = self._resolve(parts[:-1], arrays, line) + parts[-1:]
                arrays[array] = arrays.get(array, -1) + 1
                table = (*array, arrays[array])
                self._mark(array, line)
                self._mark(table, line)
                self._expect("]]")
            elif text.startswith("[", start):
                self.pos += 1
                table = self._resolve(self._key(), arrays, line)
                self._define(table, line)
                self._expect("]")
            else:
                self._keyval(table)

    def _resolve(self, parts: tuple, arrays: dict, line: int) -> tuple:
        """A header's path, with the index of the last element of each array of
        tables on the way (``[links.a_to_b]`` is in the last ``[[links]]``)."""
        path: tuple = ()
        for part in parts:
            path = (*path, part)
            self._mark(path, line)
            if path in arrays:
                path = (*path, arrays[path])
        return path

    def _key(self) -> tuple:
        m = _DOTTED_KEY.match(self.text, self.pos)
        if m is None:
            raise ValueError("key")
        self.pos = m.end()
        return tuple(_unquote(part) for part in _KEY_PART.findall(m.group()))

    def _keyval(self, table: tuple) -> None:
        line = self._line(self.pos)
        parts = self._key()
        for n in range(1, len(parts) + 1):
            self._mark((*table, *parts[:n]), line)
        self._define((*table, *parts), line)
        self._expect("=")
        self._skip(_SPACE)
        self._value((*table, *parts))

    def _value(self, path: tuple) -> None:
        text = self.text
        if text.startswith("[", self.pos):
            self.pos += 1
            index = 0
            while True:
                self._skip()
                if text.startswith("]", self.pos):
                    self.pos += 1
                    return
                self._mark((*path, index), self._line(self.pos))
                self._value((*path, index))
                self._skip()
                if text.startswith(",", self.pos):
                    self.pos += 1
                    index += 1
                elif not text.startswith("]", self.pos):
                    raise ValueError("]")
        elif text.startswith("{", self.pos):
            self.pos += 1
            while True:
                self._skip()
                if text.startswith("}", self.pos):
                    self.pos += 1
                    return
                self._keyval(path)
                self._skip()
                if text.startswith(",", self.pos):
                    self.pos += 1
                elif not text.startswith("}", self.pos):
                    raise ValueError("}")
        else:
            m = _STRING.match(text, self.pos) or _SCALAR.match(text, self.pos)
            if m.end() == self.pos:
                raise ValueError("value")
            self.pos = m.end()


def _unquote(key: str) -> str:
    if key.startswith("'"):
        return key[1:-1]
    if key.startswith('"'):
        return _ESCAPE.sub(_unescape, key[1:-1])
    return key


def _unescape(m: re.Match) -> str:
    code = m[1]
    if code[0] in "uU":
        return chr(int(code[1:], 16))
    return _ESCAPES.get(code, code)


def _key_name(path) -> str:
    """``("links", 1, "delay")`` -> ``links[1].delay``, quoting keys as TOML does."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        if not _BARE_KEY.fullmatch(part):
            part = '"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"'
        out += f".{part}" if out else part
    return out


# --- the loader ---------------------------------------------------------------------------


class _Loader:
    def __init__(self, text: str, filename: str):
        self.filename = filename
        self.lines = _Scanner(text).run().lines
        self.topo: Topology | None = None
        #: Addresses given so far -> the key that gave them (duplicates are errors).
        self.addresses: dict = {}
        #: MAC addresses given so far -> the key that gave them.
        self.macs: dict = {}
        #: Nodes with VLAN or VXLAN interfaces: (node, path, spec), made after the links.
        self.tunnels: list = []

    # errors ---------------------------------------------------------------------

    def line(self, path: tuple) -> int | None:
        for n in range(len(path), 0, -1):
            line = self.lines.get(path[:n])
            if line:
                return line
        return None

    def error(self, path: tuple, reason: str, line: int | None = None) -> SpecError:
        line = line or self.line(path)
        where = f"{self.filename}:{line}" if line else self.filename
        key = _key_name(path)
        return SpecError(f"{where}: {key}: {reason}" if key else f"{where}: {reason}")

    def rewrap(self, path: tuple, err: SpecError) -> SpecError:
        """A model error (``topology NAME: ...``) at ``path`` in the file."""
        return self.error(path, str(err).removeprefix(f"topology {self.topo.name}: "))

    def check_keys(self, table: dict, path: tuple, allowed, what: str) -> None:
        for key in table:
            if key not in allowed:
                import difflib

                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"{what} takes {_or(allowed)}"
                raise self.error((*path, key), f"unknown key {key!r} ({hint})")

    def table(self, doc: dict, path: tuple, key: str, default: dict, what: str) -> dict:
        value = doc.get(key, default)
        if not isinstance(value, dict):
            raise self.error((*path, key), f"must be a table ({what})")
        return value

    def array(self, doc: dict, path: tuple, key: str, what: str) -> list:
        value = doc.get(key, [])
        if not isinstance(value, list):
            raise self.error((*path, key), f"must be an array ({what})")
        return value

    # the document -----------------------------------------------------------------

    def topology(self, doc: dict) -> Topology:
        self.check_keys(doc, (), TOP_KEYS, "the file")
        name = doc.get("name", os.path.splitext(os.path.basename(self.filename))[0])
        if not isinstance(name, str):
            raise self.error(("name",), f"{name!r}: the name is a string")
        if not name.strip() or not name.isprintable():
            raise self.error(("name",), f"{name!r}: give a name on one line")
        self.topo = Topology(name)
        routes = self.nodes(doc)
        links = doc.get("links", [])
        if isinstance(links, dict):
            raise self.error(("links",), "write each link as its own [[links]] table")
        if not isinstance(links, list):
            raise self.error(("links",), "must be an array of tables: one [[links]] per link")
        self.links(links)
        for node, path, spec in self.tunnels:
            self.sub_interfaces(node, path, spec)
        for node, route, path in routes:
            self.add_route(node, route, path)
        try:
            self.topo.check()
        except SpecError as err:
            message = str(err).removeprefix(f"topology {self.topo.name}: ")
            raise SpecError(f"{self.filename}: {message}") from None
        return self.topo

    # nodes ------------------------------------------------------------------------

    def nodes(self, doc: dict) -> list:
        """Declare the nodes in the order the file gives them; their routes wait
        for the links (a gateway must be on one of the node's subnets)."""
        declared = []
        for section, kind in SECTIONS.items():
            what = f"one [{section}.NAME] table per {kind}"
            for name, spec in self.table(doc, (), section, {}, what).items():
                path = (section, name)
                if not isinstance(spec, dict):
                    raise self.error(path, f"must be a table ([{section}.{_key_name((name,))}])")
                declared.append((self.line(path) or 0, path, kind, spec))
        if not declared:
            raise self.error(
                ("hosts",),
                "no nodes: declare at least one, like [hosts.h1]",
                line=self.line(("hosts",)) or 1,
            )
        declared.sort(key=lambda entry: entry[0])
        first: dict[str, tuple] = {}
        routes = []
        for _, path, kind, spec in declared:
            name = path[1]
            if name in first:
                other = first[name]
                raise self.error(
                    path,
                    f"{name!r} is already a node ({_key_name(other)}, line {self.line(other)})",
                )
            first[name] = path
            try:
                node = self.topo.add_node(name, kind)
            except SpecError as err:
                raise self.rewrap(path, err) from None
            self.node(node, path, spec, routes)
        return routes

    def node(self, node, path: tuple, spec: dict, routes: list) -> None:
        if node.kind == "switch":
            for key in ("routes", "commands"):
                if key in spec:
                    raise self.error(
                        (*path, key),
                        f"a switch takes no {key}: it has no addresses of its own "
                        "(give them to a host or router)",
                    )
        self.check_keys(spec, path, NODE_KEYS[node.kind], f"a {node.kind}")
        if "vlans" in spec or "vxlans" in spec:  # made once the links are
            self.tunnels.append((node, path, spec))
        sysctls = self.table(spec, path, "sysctls", {}, '"net.NAME" = "VALUE" pairs')
        prefix = (*path, "sysctls")
        for key, value in _flatten(sysctls, prefix):
            self.sysctl(node, ".".join(key[len(prefix) :]), key, value)
        for i, text in enumerate(self.array(spec, path, "routes", "of route strings")):
            where = (*path, "routes", i)
            if not isinstance(text, str):
                raise self.error(where, f"{text!r}: a route is a string; {ROUTE_USAGE}")
            routes.append((node, self.route(text, where), where))
        if "uplink" in spec:
            if not isinstance(spec["uplink"], bool):
                raise self.error((*path, "uplink"), f"{spec['uplink']!r}: give true (or false)")
            node.uplink = spec["uplink"]
        if "root" in spec:
            node.root = self.root(
                self.table(spec, path, "root", {}, "base, upper, binds..."), (*path, "root")
            )
        for i, command in enumerate(self.array(spec, path, "commands", "of commands")):
            where = (*path, "commands", i)
            if isinstance(command, dict):
                node.add_command(*self.command_table(command, where))
            else:
                node.add_command(self.command(command, where), CommandSpec(where=self.at(where)))

    def root(self, table: dict, path: tuple) -> RootSpec:
        """``root = { base = "rootfs", tmpfs = ["/tmp"] }``: the options of ``pycoz
        root``; relative paths are relative to the file's directory."""
        self.check_keys(table, path, ROOT_KEYS, "a root")
        here = os.path.dirname(os.path.abspath(self.filename))

        def path_value(key: str, value, what: str) -> str:
            if not isinstance(value, str) or not value or "\0" in value:
                raise self.error((*path, key), f"{value!r}: give {what} as a string")
            return os.path.join(here, value)

        base = path_value("base", table.get("base", "/"), "a directory")
        if not os.path.isdir(base):
            raise self.error((*path, "base"), f"{base}: not a directory")
        upper = None
        if "upper" in table:
            upper = path_value("upper", table["upper"], "a directory")
            parent = os.path.dirname(upper.rstrip("/")) or "/"
            if os.path.exists(upper) and not os.path.isdir(upper):
                raise self.error((*path, "upper"), f"{upper}: not a directory")
            if not os.path.isdir(parent):
                raise self.error((*path, "upper"), f"{upper}: {parent} does not exist")
        binds = {}
        for key in ("binds", "ro_binds"):
            out = []
            for j, text in enumerate(self.array(table, path, key, 'of "SRC[:DST]" strings')):
                where = (*path, key, j)
                if not isinstance(text, str) or not text or text.startswith(":"):
                    raise self.error(where, f'{text!r}: give "SRC[:DST]" (DST: where it is seen)')
                src, colon, dst = text.partition(":")
                src = path_value(key, src, "a path")
                if not os.path.exists(src):
                    raise self.error(where, f"{src}: no such file or directory")
                if colon and not dst.startswith("/"):
                    raise self.error(where, f"{dst!r}: the destination is an absolute path")
                out.append(f"{src}:{dst or src}")
            binds[key] = tuple(out)
        tmpfs = []
        for j, text in enumerate(self.array(table, path, "tmpfs", 'of "DIR[:OPTIONS]" strings')):
            if not isinstance(text, str) or not text.startswith("/"):
                raise self.error(
                    (*path, "tmpfs", j), f'{text!r}: give "DIR[:OPTIONS]" with an absolute DIR'
                )
            tmpfs.append(text)
        return RootSpec(base, upper, binds["binds"], binds["ro_binds"], tuple(tmpfs))

    def sysctl(self, node, name: str, path: tuple, value) -> None:
        if not _SYSCTL.fullmatch(name):
            raise self.error(
                path,
                "not a network sysctl: only net.* sysctls belong to a network "
                "namespace (like net.ipv4.tcp_ecn)",
            )
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.error(path, f"{value!r}: give a string or an integer")
        value = str(value)
        if not value.isprintable():
            raise self.error(path, f"{value!r}: give a value on one line")
        node.sysctls[name] = value

    def at(self, path: tuple) -> str:
        """``lab.toml:7: hosts.server.commands[0]``: where ``path`` is written."""
        line = self.line(path)
        return f"{self.filename}:{line}: {_key_name(path)}" if line else self.filename

    def command_table(self, table: dict, path: tuple) -> tuple[list[str], CommandSpec]:
        """``{ run = ..., ready = "tcp:8000", timeout = "30s" }``."""
        self.check_keys(table, path, COMMAND_KEYS, "a command")
        if "run" not in table:
            raise self.error(
                path, "missing key 'run' (the command: a list of arguments, or a string for sh -c)"
            )
        argv = self.command(table["run"], (*path, "run"))
        ready, timeout = None, READY_TIMEOUT
        if "ready" in table:
            try:
                ready = parse_ready(table["ready"])
            except ValueError as err:
                raise self.error((*path, "ready"), str(err)) from None
        if "timeout" in table:
            if ready is None:
                raise self.error((*path, "timeout"), "a timeout needs ready (what to wait for)")
            try:
                timeout = parse_duration(table["timeout"]) / 1000
            except ValueError as err:
                raise self.error((*path, "timeout"), str(err)) from None
        return argv, CommandSpec(ready, timeout, self.at(path))

    def command(self, command, path: tuple) -> list[str]:
        if isinstance(command, str):
            if not command.strip():
                raise self.error(path, "empty command")
            argv = ["sh", "-c", command]
        elif isinstance(command, list):
            if not command:
                raise self.error(path, "empty command")
            for j, arg in enumerate(command):
                if not isinstance(arg, str):
                    raise self.error((*path, j), f"{arg!r}: arguments are strings")
            argv = list(command)
        else:
            raise self.error(
                path,
                f"{command!r}: a command is a list of arguments, a string for sh -c, "
                "or a table { run = ..., ready = ... }",
            )
        if any("\0" in arg for arg in argv):
            raise self.error(path, "an argument holds a NUL character")
        return argv

    # routes -----------------------------------------------------------------------

    def route(self, text: str, path: tuple) -> Route:
        words = text.split()
        kind = words.pop(0) if words and words[0] in ROUTE_KINDS else "unicast"
        if not words or words[0] == "via":
            raise self.error(path, f"{text!r} is not a route: {ROUTE_USAGE}")
        dst, rest = words[0], words[1:]
        hops = []  # (gateway, weight)
        while rest[:1] == ["via"] and len(rest) >= 2:
            via, rest = rest[1], rest[2:]
            try:
                hop = ipaddress.ip_address(via)
            except ValueError:
                raise self.error(path, f"{text!r}: gateway {via!r} is not an IP address") from None
            weight = 1
            if rest[:1] == ["weight"] and len(rest) >= 2:
                if not rest[1].isdigit() or not 1 <= int(rest[1]) <= 256:
                    raise self.error(path, f"{text!r}: weight {rest[1]!r}: use 1 to 256")
                weight, rest = int(rest[1]), rest[2:]
            if any(hop == other for other, _ in hops):
                raise self.error(path, f"{text!r}: gateway {hop} is given twice")
            hops.append((hop, weight))
        if rest:
            raise self.error(path, f"{text!r}: unexpected {' '.join(rest)!r}; {ROUTE_USAGE}")
        if len(hops) == 1 and hops[0][1] != 1:
            raise self.error(path, f"{text!r}: a weight is for a route with several gateways")
        gateway = hops[0][0] if hops else None
        via = str(gateway) if gateway else None
        if kind != "unicast" and gateway is not None:
            raise self.error(path, f"{text!r}: a {kind} route takes no gateway")
        if kind == "unicast" and gateway is None:
            raise self.error(
                path, f"{text!r}: a unicast route needs a gateway ('{dst} via GATEWAY')"
            )
        if dst == "default":
            net = ipaddress.ip_network("::/0" if gateway and gateway.version == 6 else "0.0.0.0/0")
        else:
            try:
                net = ipaddress.ip_network(dst)
            except ValueError:
                try:
                    loose = ipaddress.ip_network(dst, strict=False)
                except ValueError:
                    raise self.error(
                        path,
                        f"{text!r}: {dst!r} is not a network "
                        "(like 198.18.1.0/24, 2001:db8:1::/64 or default)",
                    ) from None
                raise self.error(
                    path, f"{text!r}: {dst} has host bits set (did you mean {loose}?)"
                ) from None
        for hop, _ in hops:
            if hop.version != net.version:
                raise self.error(
                    path,
                    f"{text!r}: gateway {hop} is IPv{hop.version} but {dst} is IPv{net.version}",
                )
        if len(hops) > 1:
            via = [(str(hop), weight) for hop, weight in hops]
        return Route("default" if dst == "default" else str(net), via, kind)

    def add_route(self, node, route: Route, path: tuple) -> None:
        if node.uplink and route.dst == ipaddress.ip_network("0.0.0.0/0"):
            raise self.error(
                path,
                f"{str(route)!r}: {node.name}'s uplink gives it its IPv4 default route "
                f"(via {uplink.GATEWAY})",
            )
        for iface in node.interfaces.values():
            # The kernel made that route already, with the address (EEXIST).
            if any(a.network == route.dst for a in iface.addresses):
                raise self.error(
                    path,
                    f"{str(route)!r}: {node.name} reaches {route.dst} directly (on {iface.name})",
                )
        for gateway in route.gateways:
            mine = [
                a
                for i in node.interfaces.values()
                for a in i.addresses
                if a.version == gateway.version
            ]
            if any(a.ip == gateway for a in mine):
                raise self.error(
                    path, f"{str(route)!r}: gateway {gateway} is {node.name}'s own address"
                )
            if not any(gateway in a.network for a in mine):
                subnets = ", ".join(str(a.network) for a in mine)
                have = f"its subnets: {subnets}" if mine else f"no IPv{gateway.version} addresses"
                raise self.error(
                    path,
                    f"{str(route)!r}: gateway {gateway} is not on a subnet of {node.name} ({have})",
                )
        for i, other in enumerate(node.routes):
            if other.dst == route.dst:
                raise self.error(
                    path,
                    f"{str(route)!r}: {node.name} already has a route to {route.dst} "
                    f"({_key_name((*path[:-1], i))})",
                )
        node.routes.append(route)

    # links ------------------------------------------------------------------------

    def links(self, links: list) -> None:
        """Connect the links in order.  Interface names given in the file are
        reserved first; an end without one is named like ``Topology.connect``
        would (a switch port after the node plugged into it, else the first free
        ethN), skipping the reserved names."""
        plans = []
        reserved: dict[str, dict[str, tuple]] = {}
        ports: dict[str, int] = {}
        for i, spec in enumerate(links):
            path = ("links", i)
            if not isinstance(spec, dict):
                raise self.error(path, "must be a table: one [[links]] per link")
            self.check_keys(spec, path, LINK_KEYS, "a link")
            ends = [self.end(spec, path, side, reserved) for side in "ab"]
            if ends[0][0] == ends[1][0]:
                raise self.error(
                    (*path, "b"), f"a link joins two different nodes, not {ends[0][0]} to itself"
                )
            for side, (name, _) in zip("ab", ends, strict=True):
                if self.topo.nodes[name].kind == "switch":
                    ports[name] = ports.get(name, 0) + 1
                    if ports[name] > BRIDGE_MAX_PORTS:
                        raise self.error(
                            (*path, side),
                            f"a {ports[name]}th port on switch {name}: {PORT_LIMIT_REASON}",
                        )
            plans.append((path, spec, ends))
        taken = {node: set(names) for node, names in reserved.items()}
        for path, spec, ends in plans:
            (a, a_if), (b, b_if) = ends
            a_if = a_if or self.auto_ifname(a, b, taken)
            b_if = b_if or self.auto_ifname(b, a, taken)
            self.link(path, spec, (a, a_if), (b, b_if))

    def end(self, spec: dict, path: tuple, side: str, reserved: dict) -> tuple[str, str | None]:
        if side not in spec:
            raise self.error(
                path, f'missing key {side!r} (the node at this end: "NODE" or "NODE:IFNAME")'
            )
        value = spec[side]
        where = (*path, side)
        if not isinstance(value, str):
            raise self.error(where, f'{value!r}: give "NODE" or "NODE:IFNAME"')
        name, colon, ifname = value.partition(":")
        node = self.topo.nodes.get(name)
        if node is None:
            import difflib

            close = difflib.get_close_matches(name, self.topo.nodes, n=1)
            hint = (
                f"did you mean {close[0]!r}?" if close else f"nodes: {', '.join(self.topo.nodes)}"
            )
            raise self.error(where, f"unknown node {name!r} ({hint})")
        if not colon:
            return name, None
        if not _IFNAME.fullmatch(ifname):
            raise self.error(
                where,
                f"interface name {ifname!r}: use 1-{IFNAMSIZ} letters, digits, '-', '_' "
                "or '.', starting with a letter",
            )
        taken = {"lo": "the loopback interface"}
        if node.kind == "switch":
            taken["br0"] = "the switch's bridge"
        if node.uplink:
            taken[uplink.IFNAME] = "the uplink"
        if ifname in taken:
            what = taken[ifname]
            raise self.error(where, f"interface name {ifname!r} is taken by {what}")
        names = reserved.setdefault(name, {})
        if ifname in names:
            raise self.error(
                where, f"{name} already has an interface {ifname!r} ({_key_name(names[ifname])})"
            )
        names[ifname] = where
        return name, ifname

    def auto_ifname(self, name: str, other: str, taken: dict) -> str:
        names = taken.setdefault(name, set())
        names.update(("lo", "br0") if self.topo.nodes[name].kind == "switch" else ("lo",))
        if self.topo.nodes[name].kind == "switch" and len(other) <= IFNAMSIZ and other not in names:
            ifname = other
        else:
            n = 0
            while f"eth{n}" in names:
                n += 1
            ifname = f"eth{n}"
        names.add(ifname)
        return ifname

    def link(self, path: tuple, spec: dict, a: tuple[str, str], b: tuple[str, str]) -> None:
        addresses = [self.addresses_of(spec, path, side, end) for side, end in (("a", a), ("b", b))]
        mtu = spec.get("mtu")
        if mtu is not None:
            if isinstance(mtu, bool) or not isinstance(mtu, int) or not 68 <= mtu <= 65535:
                raise self.error((*path, "mtu"), f"{mtu!r}: give an integer from 68 to 65535")
            if mtu < 1280 and any(x.version == 6 for x in addresses[0] + addresses[1]):
                raise self.error((*path, "mtu"), f"{mtu}: IPv6 needs an MTU of at least 1280")
        macs = [self.mac(spec, (*path, f"{side}_mac")) for side in "ab"]
        try:
            link = self.topo.connect(
                a[0], b[0], [str(x) for x in addresses[0]], [str(x) for x in addresses[1]],
                a_if=a[1], b_if=b[1], mtu=mtu, a_mac=macs[0], b_mac=macs[1],
            )  # fmt: skip
        except SpecError as err:
            raise self.rewrap(path, err) from None
        both = self.impairment(spec, path)
        for direction, sender in zip(DIRECTIONS, (a, b), strict=True):
            table = self.table(spec, path, direction, {}, "delay, jitter, loss, corrupt, rate")
            self.check_keys(table, (*path, direction), IMPAIR_KEYS, "a direction")
            impair = Impairment(**{**both, **self.impairment(table, (*path, direction))})
            if impair:
                link.impair[sender] = impair

    def mac(self, spec: dict, path: tuple, shared: bool = False) -> str | None:
        """The MAC address at ``path`` (``links[0].a_mac``), if given: unicast, and
        not given twice (``shared``: a VLAN's may be its parent's)."""
        text = spec.get(path[-1])
        if text is None:
            return None
        if not isinstance(text, str):
            raise self.error(
                path, f"{text!r}: give a MAC address as a string, like 02:00:00:00:00:01"
            )
        try:
            mac = parse_mac(text)
        except ValueError as err:
            raise self.error(path, str(err)) from None
        if mac in self.macs and not shared:
            raise self.error(path, f"{mac} is already given ({_key_name(self.macs[mac])})")
        self.macs.setdefault(mac, path)
        return mac

    def sub_interfaces(self, node, path: tuple, spec: dict) -> None:
        """A node's VLAN and VXLAN interfaces (``vlans``, ``vxlans``)."""
        for key, keys, what in (
            ("vlans", VLAN_KEYS, '{ on = "eth0", id = 10, addresses = [...] }'),
            ("vxlans", VXLAN_KEYS, '{ name = "vx0", id = 42, local = ..., remote = ... }'),
        ):
            for i, table in enumerate(self.array(spec, path, key, f"of tables like {what}")):
                where = (*path, key, i)
                if not isinstance(table, dict):
                    raise self.error(where, f"{table!r}: write a table like {what}")
                self.check_keys(table, where, keys, f"a {key[:-1].upper()} interface")
                for required in (
                    ("id", "on") if key == "vlans" else ("name", "id", "local", "remote")
                ):
                    if required not in table:
                        raise self.error(where, f"missing key {required!r} (a table like {what})")
                addresses = self.addresses_of(table, where, "", (node.name, table.get("name", "")))
                mac = self.mac(table, (*where, "mac"), shared=key == "vlans")
                try:
                    if key == "vlans":
                        self.vlan(node, where, table, addresses, mac)
                    else:
                        self.vxlan(node, where, table, addresses, mac)
                except SpecError as err:
                    message = str(err).removeprefix(f"node {node.name}: ")
                    raise self.error(where, message) from None

    def vlan(self, node, where: tuple, table: dict, addresses: list, mac) -> None:
        parent = table["on"]
        if not isinstance(parent, str):
            raise self.error((*where, "on"), f'{parent!r}: name the interface, like "eth0"')
        if not isinstance(table.get("name", ""), str):
            raise self.error((*where, "name"), "an interface name is a string")
        vlan_id = table["id"]
        if isinstance(vlan_id, bool) or not isinstance(vlan_id, int) or not 1 <= vlan_id <= 4094:
            raise self.error((*where, "id"), f"{vlan_id!r}: a VLAN id is 1 to 4094")
        node.add_vlan(parent, vlan_id, [str(a) for a in addresses], table.get("name"), mac)

    def vxlan(self, node, where: tuple, table: dict, addresses: list, mac) -> None:
        name, vni, port = table["name"], table["id"], table.get("port", VXLAN_PORT)
        if not isinstance(name, str):
            raise self.error((*where, "name"), "an interface name is a string")
        if isinstance(vni, bool) or not isinstance(vni, int) or not 0 <= vni <= 0xFFFFFF:
            raise self.error((*where, "id"), f"{vni!r}: a VXLAN id is 0 to 16777215")
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise self.error((*where, "port"), f"{port!r}: a UDP port is 1 to 65535")
        ends = {}
        for key in ("local", "remote"):
            try:
                ends[key] = ipaddress.ip_address(table[key])
            except (ValueError, TypeError):
                raise self.error((*where, key), f"{table[key]!r} is not an IP address") from None
        if ends["local"] not in node.addresses():
            mine = ", ".join(map(str, node.addresses())) or "none"
            raise self.error(
                (*where, "local"), f"{ends['local']} is not {node.name}'s (its addresses: {mine})"
            )
        owner = self.addresses.get(ends["remote"])
        if owner is None or owner[0] == node.name:
            raise self.error(
                (*where, "remote"),
                f"{ends['remote']} is not an address of another node (the tunnel's other end)",
            )
        node.add_vxlan(
            name, vni, str(ends["local"]), str(ends["remote"]), [str(a) for a in addresses],
            port, mac,
        )  # fmt: skip

    def addresses_of(self, spec: dict, path: tuple, side: str, end: tuple[str, str]) -> list:
        key = f"{side}_addresses" if side else "addresses"
        values = self.array(spec, path, key, 'like ["198.18.0.1/24", "2001:db8::1/64"]')
        if values and self.topo.nodes[end[0]].kind == "switch":
            raise self.error(
                (*path, key),
                f"{end[0]} is a switch: its ports carry no addresses (give them to the hosts)",
            )
        out = []
        for j, text in enumerate(values):
            where = (*path, key, j)
            addr = self.address(text, where)
            if self.topo.nodes[end[0]].uplink and addr.ip in ipaddress.ip_network(uplink.NETWORK):
                raise self.error(
                    where, f"{addr.ip} is in {uplink.NETWORK}, the network of {end[0]}'s uplink"
                )
            if addr.ip in self.addresses:
                node, ifname, other = self.addresses[addr.ip]
                raise self.error(
                    where, f"{addr.ip} is already on {node}:{ifname} ({_key_name(other)})"
                )
            self.addresses[addr.ip] = (*end, where)
            out.append(addr)
        return out

    def address(self, text, where: tuple):
        if not isinstance(text, str):
            raise self.error(where, f"{text!r}: give an address as a string, like 198.18.0.1/24")
        try:
            addr = ipaddress.ip_interface(text)
        except ValueError:
            raise self.error(
                where,
                f"{text!r} is not an address with a prefix length "
                "(like 198.18.0.1/24 or 2001:db8::1/64)",
            ) from None
        if "/" not in text:
            raise self.error(
                where,
                f"{text!r} has no prefix length (like {text}/{24 if addr.version == 4 else 64})",
            )
        ip, net = addr.ip, addr.network
        if ip.is_multicast or ip.is_unspecified or ip.is_loopback:
            raise self.error(where, f"{text!r} is not a unicast address for an interface")
        if (
            ip.version == 4
            and net.prefixlen < 31
            and ip in (net.network_address, net.broadcast_address)
        ):
            what = "network" if ip == net.network_address else "broadcast"
            raise self.error(where, f"{text!r} is the {what} address of {net}")
        return addr

    def impairment(self, table: dict, path: tuple) -> dict:
        """The impairments given in ``table`` as ``Impairment`` keyword arguments."""
        out = {}
        for key, parse, arg in (
            ("delay", parse_duration, "delay_ms"),
            ("jitter", parse_duration, "jitter_ms"),
            ("loss", parse_percent, "loss"),
            ("corrupt", parse_percent, "corrupt"),
            ("rate", parse_rate, "rate_bps"),
        ):
            if key in table:
                try:
                    out[arg] = parse(table[key])
                except ValueError as err:
                    raise self.error((*path, key), str(err)) from None
        return out


def _flatten(table: dict, path: tuple):
    """``{"net": {"ipv4": {"tcp_ecn": 1}}}`` (unquoted dotted keys) and
    ``{"net.ipv4.tcp_ecn": 1}`` both yield ``(path + parts, 1)``."""
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _flatten(value, (*path, key))
        else:
            yield (*path, key), value


def _or(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
