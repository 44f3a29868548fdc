"""Library calls: prototypes, decoders and ltrace's text for the functions people
debug networks with, and ltrace.conf(5) prototypes for the rest.

The breakpoint engine calls two functions per traced call:

* ``entry(name, args, mem, strsize)`` at the function's first instruction, with
  the integer argument registers in ABI order (x86_64: rdi, rsi, rdx, rcx, r8,
  r9; aarch64: x0..x7) and a ``Memory``-like reader (``read(addr, n)``,
  ``read_cstring(addr, limit)``).  It reads what the call may overwrite or free
  (strings, ``*hints``, ``SSL_write``'s plaintext, output pointers) and returns
  a state object;
* ``exit(name, state, retval, mem, strsize)`` at the return, with the raw return
  register.  It reads the outputs (``getaddrinfo``'s ``*res`` list,
  ``SSL_read``'s plaintext, a ``hostent``) and returns ``(args_text, ret_text,
  suffix)``: ``getaddrinfo("h2", "80", {AI_ADDRCONFIG, AF_UNSPEC, SOCK_STREAM,
  0}, 0x7ffc...)``'s inside of the parentheses, ``0``, and ``[198.18.0.2,
  2001:db8::2]`` (``""`` when there is nothing to add).  The engine prints
  ``name(args_text) = ret_text suffix``.

``json_values(name, state, retval, mem, strsize)`` gives the same call as JSON
values for ``--json`` (name, args, result, errno where the result is an error
code, and what the suffix shows); after ``exit`` it reuses what ``exit`` read.
``retval`` None: the call never returned (the arguments as entry read them).

``entry(..., prototypes=load_prototypes(path))`` decodes by an ltrace.conf(5)
file (``-F``), before the built-in decoders.  For tampering and conditions,
``parameter(name, "node")`` gives an argument's index and kind (string, buffer,
int, pointer) by its man-page name or as ``argN``, ``entry_value(state, "node")``
what entry read for it, ``constant("EAI_AGAIN")`` a name's value.  ``CLASSES``
names the functions of ``%dns``, ``%tls``, ``%dl`` and ``%env``.

Text follows ltrace 0.7.3: strings in double quotes with ltrace's escapes
(``\\n``, ``\\t``, ``\\\\``, other bytes as ``\\ooo``; ``"`` itself unescaped),
cut at ``strsize`` bytes with ``...`` after the closing quote, a NULL string as
``nil``; a function with no prototype shows four arguments and its result as
ltrace guesses them (decimal within +-10000, hex otherwise).  Where ltrace
prints a bare number for something with names (``dlopen``'s mode, ``getaddrinfo``'s
result), pycoz prints the names (``RTLD_NOW``, ``EAI_NONAME``).

A function with a seventh argument (``getnameinfo``'s flags,
``gethostbyname2_r``'s ``h_errnop``, printf's variadic ones) takes it from
``args[6]`` (aarch64 passes eight in registers) or, with ``sp=`` (the stack
pointer at entry, x86_64: the return address at sp, the seventh argument at
sp+8), from the stack; without either it shows ``?``.

LP64 layouts (x86_64 and aarch64 agree for every structure used here).  Nothing
heavy is imported: this module runs in the tracer's loop.
"""

from __future__ import annotations

import struct

from pycoz_cli.core.trace._netlink_names import ADDRFAMS
from pycoz_cli.core.trace.arg import Arg, _s32, _s64, _strval, guess
from pycoz_cli.core.trace.libclasses import CLASSES

__all__ = [
    "CLASSES",
    "PARAMETERS",
    "PrototypeError",
    "constant",
    "entry",
    "entry_value",
    "exit",
    "json_values",
    "known",
    "load_prototypes",
    "parameter",
]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# --- constants ------------------------------------------------------------------------

# glibc <netdb.h>
_EAI = {
    -1: "EAI_BADFLAGS",
    -2: "EAI_NONAME",
    -3: "EAI_AGAIN",
    -4: "EAI_FAIL",
    -5: "EAI_NODATA",
    -6: "EAI_FAMILY",
    -7: "EAI_SOCKTYPE",
    -8: "EAI_SERVICE",
    -9: "EAI_ADDRFAMILY",
    -10: "EAI_MEMORY",
    -11: "EAI_SYSTEM",
    -12: "EAI_OVERFLOW",
    -100: "EAI_INPROGRESS",
    -101: "EAI_CANCELED",
    -102: "EAI_NOTCANCELED",
    -103: "EAI_ALLDONE",
    -104: "EAI_INTR",
    -105: "EAI_IDN_ENCODE",
}
_AI_FLAGS = (
    (0x0001, "AI_PASSIVE"),
    (0x0002, "AI_CANONNAME"),
    (0x0004, "AI_NUMERICHOST"),
    (0x0008, "AI_V4MAPPED"),
    (0x0010, "AI_ALL"),
    (0x0020, "AI_ADDRCONFIG"),
    (0x0040, "AI_IDN"),
    (0x0080, "AI_CANONIDN"),
    (0x0400, "AI_NUMERICSERV"),
)
_NI_FLAGS = (
    (1, "NI_NUMERICHOST"),
    (2, "NI_NUMERICSERV"),
    (4, "NI_NOFQDN"),
    (8, "NI_NAMEREQD"),
    (16, "NI_DGRAM"),
    (32, "NI_IDN"),
)
# h_errno values (<netdb.h>), which gethostbyname*_r store in *h_errnop.
_HERR = {1: "HOST_NOT_FOUND", 2: "TRY_AGAIN", 3: "NO_RECOVERY", 4: "NO_DATA", -1: "NETDB_INTERNAL"}
_AF = ADDRFAMS  # strace's table, shared with the syscall decoders
_SOCK = {1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 4: "SOCK_RDM", 5: "SOCK_SEQPACKET"}
_SOCK_FLAGS = ((0x800, "SOCK_NONBLOCK"), (0x80000, "SOCK_CLOEXEC"))
_IPPROTO = {1: "IPPROTO_ICMP", 6: "IPPROTO_TCP", 17: "IPPROTO_UDP", 58: "IPPROTO_ICMPV6",
            132: "IPPROTO_SCTP", 255: "IPPROTO_RAW"}  # fmt: skip
# <arpa/nameser.h>
_NS_CLASS = {1: "C_IN", 3: "C_CHAOS", 4: "C_HS", 254: "C_NONE", 255: "C_ANY"}
_NS_TYPE = {1: "T_A", 2: "T_NS", 5: "T_CNAME", 6: "T_SOA", 12: "T_PTR", 15: "T_MX", 16: "T_TXT",
            28: "T_AAAA", 33: "T_SRV", 35: "T_NAPTR", 43: "T_DS", 46: "T_RRSIG", 48: "T_DNSKEY",
            64: "T_SVCB", 65: "T_HTTPS", 255: "T_ANY"}  # fmt: skip
_RCODE = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
# <dlfcn.h>
_RTLD_FLAGS = (
    (0x100, "RTLD_GLOBAL"),
    (0x004, "RTLD_NOLOAD"),
    (0x008, "RTLD_DEEPBIND"),
    (0x1000, "RTLD_NODELETE"),
)
_RTLD_MODE = {0: "RTLD_LOCAL", 1: "RTLD_LAZY", 2: "RTLD_NOW"}  # the binding bits (mask 3)
_RTLD_HANDLE = {0: "RTLD_DEFAULT", 0xFFFFFFFFFFFFFFFF: "RTLD_NEXT"}
_LMID = {0: "LM_ID_BASE", -1: "LM_ID_NEWLM"}
# <openssl/ssl.h>
_SSL_ERROR = {
    0: "SSL_ERROR_NONE",
    1: "SSL_ERROR_SSL",
    2: "SSL_ERROR_WANT_READ",
    3: "SSL_ERROR_WANT_WRITE",
    4: "SSL_ERROR_WANT_X509_LOOKUP",
    5: "SSL_ERROR_SYSCALL",
    6: "SSL_ERROR_ZERO_RETURN",
    7: "SSL_ERROR_WANT_CONNECT",
    8: "SSL_ERROR_WANT_ACCEPT",
    9: "SSL_ERROR_WANT_ASYNC",
    10: "SSL_ERROR_WANT_ASYNC_JOB",
    11: "SSL_ERROR_WANT_CLIENT_HELLO_CB",
    12: "SSL_ERROR_WANT_RETRY_VERIFY",
}
# The SSL_ctrl commands worth a name; 55 carries the SNI host name (SSL_set_tlsext_host_name).
_SSL_CTRL = {
    55: "SSL_CTRL_SET_TLSEXT_HOSTNAME",
    6: "SSL_CTRL_SET_TMP_DH",
    32: "SSL_CTRL_OPTIONS",
    33: "SSL_CTRL_MODE",
    53: "SSL_CTRL_SET_TLSEXT_SERVERNAME_CB",
    65: "SSL_CTRL_SET_TLSEXT_STATUS_REQ_TYPE",
    78: "SSL_CTRL_SET_MIN_PROTO_VERSION",
    79: "SSL_CTRL_SET_MAX_PROTO_VERSION",
    92: "SSL_CTRL_SET_GROUPS_LIST",
    98: "SSL_CTRL_SET_SIGALGS_LIST",
}
# <openssl/x509_vfy.h> (OpenSSL 3.0).
# fmt: off
# Contiguous from 0 (the test suite checks every one against the header).
_X509_V = dict(enumerate(("X509_V_OK", *("X509_V_ERR_" + n for n in _words("""
    UNSPECIFIED UNABLE_TO_GET_ISSUER_CERT UNABLE_TO_GET_CRL UNABLE_TO_DECRYPT_CERT_SIGNATURE
    UNABLE_TO_DECRYPT_CRL_SIGNATURE UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY
    CERT_SIGNATURE_FAILURE CRL_SIGNATURE_FAILURE CERT_NOT_YET_VALID CERT_HAS_EXPIRED
    CRL_NOT_YET_VALID CRL_HAS_EXPIRED ERROR_IN_CERT_NOT_BEFORE_FIELD
    ERROR_IN_CERT_NOT_AFTER_FIELD ERROR_IN_CRL_LAST_UPDATE_FIELD
    ERROR_IN_CRL_NEXT_UPDATE_FIELD OUT_OF_MEM DEPTH_ZERO_SELF_SIGNED_CERT
    SELF_SIGNED_CERT_IN_CHAIN UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    UNABLE_TO_VERIFY_LEAF_SIGNATURE CERT_CHAIN_TOO_LONG CERT_REVOKED NO_ISSUER_PUBLIC_KEY
    PATH_LENGTH_EXCEEDED INVALID_PURPOSE CERT_UNTRUSTED CERT_REJECTED
    SUBJECT_ISSUER_MISMATCH AKID_SKID_MISMATCH AKID_ISSUER_SERIAL_MISMATCH
    KEYUSAGE_NO_CERTSIGN UNABLE_TO_GET_CRL_ISSUER UNHANDLED_CRITICAL_EXTENSION
    KEYUSAGE_NO_CRL_SIGN UNHANDLED_CRITICAL_CRL_EXTENSION INVALID_NON_CA
    PROXY_PATH_LENGTH_EXCEEDED KEYUSAGE_NO_DIGITAL_SIGNATURE PROXY_CERTIFICATES_NOT_ALLOWED
    INVALID_EXTENSION INVALID_POLICY_EXTENSION NO_EXPLICIT_POLICY DIFFERENT_CRL_SCOPE
    UNSUPPORTED_EXTENSION_FEATURE UNNESTED_RESOURCE PERMITTED_VIOLATION EXCLUDED_VIOLATION
    SUBTREE_MINMAX APPLICATION_VERIFICATION UNSUPPORTED_CONSTRAINT_TYPE
    UNSUPPORTED_CONSTRAINT_SYNTAX UNSUPPORTED_NAME_SYNTAX CRL_PATH_VALIDATION_ERROR
    PATH_LOOP SUITE_B_INVALID_VERSION SUITE_B_INVALID_ALGORITHM SUITE_B_INVALID_CURVE
    SUITE_B_INVALID_SIGNATURE_ALGORITHM SUITE_B_LOS_NOT_ALLOWED
    SUITE_B_CANNOT_SIGN_P_384_WITH_P_256 HOSTNAME_MISMATCH EMAIL_MISMATCH
    IP_ADDRESS_MISMATCH DANE_NO_MATCH EE_KEY_TOO_SMALL CA_KEY_TOO_SMALL CA_MD_TOO_WEAK
    INVALID_CALL STORE_LOOKUP NO_VALID_SCTS PROXY_SUBJECT_NAME_VIOLATION OCSP_VERIFY_NEEDED
    OCSP_VERIFY_FAILED OCSP_CERT_UNKNOWN UNSUPPORTED_SIGNATURE_ALGORITHM
    SIGNATURE_ALGORITHM_MISMATCH SIGNATURE_ALGORITHM_INCONSISTENCY INVALID_CA
    PATHLEN_INVALID_FOR_NON_CA PATHLEN_WITHOUT_KU_KEY_CERT_SIGN
    KU_KEY_CERT_SIGN_INVALID_FOR_NON_CA ISSUER_NAME_EMPTY SUBJECT_NAME_EMPTY
    MISSING_AUTHORITY_KEY_IDENTIFIER MISSING_SUBJECT_KEY_IDENTIFIER EMPTY_SUBJECT_ALT_NAME
    EMPTY_SUBJECT_SAN_NOT_CRITICAL CA_BCONS_NOT_CRITICAL AUTHORITY_KEY_IDENTIFIER_CRITICAL
    SUBJECT_KEY_IDENTIFIER_CRITICAL CA_CERT_MISSING_KEY_USAGE EXTENSIONS_REQUIRE_VERSION_3
    EC_KEY_EXPLICIT_PARAMS
""")))))
# <gnutls/gnutls.h>: the errors a network debugger meets.
_GNUTLS_E = {
    0: "GNUTLS_E_SUCCESS", -3: "GNUTLS_E_UNKNOWN_COMPRESSION_ALGORITHM",
    -6: "GNUTLS_E_UNKNOWN_CIPHER_TYPE", -8: "GNUTLS_E_UNSUPPORTED_VERSION_PACKET",
    -9: "GNUTLS_E_UNEXPECTED_PACKET_LENGTH", -10: "GNUTLS_E_INVALID_SESSION",
    -12: "GNUTLS_E_FATAL_ALERT_RECEIVED", -15: "GNUTLS_E_UNEXPECTED_PACKET",
    -16: "GNUTLS_E_WARNING_ALERT_RECEIVED", -19: "GNUTLS_E_UNEXPECTED_HANDSHAKE_PACKET",
    -24: "GNUTLS_E_DECRYPTION_FAILED", -25: "GNUTLS_E_MEMORY_ERROR", -28: "GNUTLS_E_AGAIN",
    -32: "GNUTLS_E_INSUFFICIENT_CREDENTIALS", -37: "GNUTLS_E_REHANDSHAKE",
    -43: "GNUTLS_E_CERTIFICATE_ERROR", -49: "GNUTLS_E_NO_CERTIFICATE_FOUND",
    -50: "GNUTLS_E_INVALID_REQUEST", -51: "GNUTLS_E_SHORT_MEMORY_BUFFER",
    -52: "GNUTLS_E_INTERRUPTED", -53: "GNUTLS_E_PUSH_ERROR", -54: "GNUTLS_E_PULL_ERROR",
    -87: "GNUTLS_E_NO_CIPHER_SUITES", -110: "GNUTLS_E_PREMATURE_TERMINATION",
    -319: "GNUTLS_E_TIMEDOUT", -325: "GNUTLS_E_ILLEGAL_PARAMETER",
    -348: "GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR", -408: "GNUTLS_E_UNAVAILABLE_DURING_HANDSHAKE",
}
# fmt: on
_GNUTLS_NAME = {1: "GNUTLS_NAME_DNS"}

# Every name constant() knows, for inject values (retval=EAI_AGAIN).
_CONSTANTS: dict[str, int] = {}
for _table in (_EAI, _HERR, _AF, _SOCK, _IPPROTO, _NS_CLASS, _NS_TYPE, _RTLD_MODE, _SSL_ERROR,
               _SSL_CTRL, _X509_V, _GNUTLS_E, _GNUTLS_NAME):  # fmt: skip
    for _value, _name in _table.items():
        _CONSTANTS.setdefault(_name, _value)
for _bits in (_AI_FLAGS, _NI_FLAGS, _SOCK_FLAGS, _RTLD_FLAGS):
    for _value, _name in _bits:
        _CONSTANTS[_name] = _value
_CONSTANTS.update(NULL=0, RTLD_DEFAULT=0, RTLD_NEXT=-1, LM_ID_BASE=0, LM_ID_NEWLM=-1)


def constant(name: str) -> int:
    """The value of a name this module prints (``EAI_AGAIN`` -> -3); KeyError if
    it knows none."""
    return _CONSTANTS[name]


# --- values -------------------------------------------------------------------------------

_U64 = 0xFFFFFFFFFFFFFFFF

# ltrace's format_char(): C escapes for \a \b \t \n \v \f \r \\, printable ASCII as
# is (the double quote too), anything else as three octal digits.
_LESC = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 92: "\\\\"}
_LCHAR = tuple(_LESC.get(c) or (chr(c) if 32 <= c < 127 else f"\\{c:03o}") for c in range(256))
_PLAIN = frozenset(range(32, 127)) - {92}


def escape(data: bytes) -> str:
    """The inside of ltrace's quotes for ``data``."""
    if _PLAIN.issuperset(data):
        return data.decode("ascii")
    return "".join([_LCHAR[c] for c in data])


def _int(v: int) -> Arg:
    v = _s32(v)
    return Arg(str(v), v)


def _long(v: int) -> Arg:
    v = _s64(v)
    return Arg(str(v), v)


def _ulong(v: int) -> Arg:
    v &= _U64
    return Arg(str(v), v)


def _addr(v: int) -> Arg:
    """A pointer shown as ltrace's ``addr``: hex, or 0."""
    v &= _U64
    return Arg(f"{v:#x}" if v else "0", v)


def _ptr(v: int) -> Arg:
    """A pointer to something not decoded: hex, or ltrace's ``nil``."""
    v &= _U64
    return Arg(f"{v:#x}" if v else "nil", v or None)


def _names(v: int, table: dict) -> Arg:
    name = table.get(v)
    return Arg(name, name) if name is not None else Arg(str(v), v)


def _bits(v: int, table: tuple, zero: str = "0") -> Arg:
    names = []
    rest = v
    for bit, name in table:
        if rest & bit:
            names.append(name)
            rest &= ~bit
    if rest:
        names.append(f"{rest:#x}")
    return Arg("|".join(names) or zero, names)


def _string(mem, addr: int, strsize: int) -> Arg:
    """A NUL-terminated string as ltrace prints it (``nil`` for NULL)."""
    addr &= _U64
    if not addr:
        return Arg("nil", None)
    try:
        data = mem.read_cstring(addr, strsize + 1)
    except OSError:
        return Arg(f"{addr:#x}", addr)
    return _quoted(data, strsize)


def _quoted(data: bytes, strsize: int, cut: bool = False) -> Arg:
    if len(data) > strsize:
        data, cut = data[:strsize], True
    return Arg(f'"{escape(data)}"' + ("..." if cut else ""), _strval(data))


def _buffer(mem, addr: int, size: int, strsize: int) -> Arg:
    """``size`` bytes at ``addr`` (a plaintext buffer), cut at ``strsize``."""
    addr &= _U64
    if not addr:
        return Arg("nil", None)
    if size <= 0:
        return Arg('""', "")
    try:
        data = _read(mem, addr, min(size, strsize))
    except OSError:
        return Arg(f"{addr:#x}", addr)
    return _quoted(data, strsize, cut=size > strsize)


def _read(mem, addr: int, size: int) -> bytes:
    out = b""
    while len(out) < size:  # Memory.read returns at most 64 KiB
        chunk = mem.read(addr + len(out), size - len(out))
        if not chunk:
            break
        out += chunk
    return out


def _int_at(mem, addr: int, fmt: str = "<Q") -> int | None:
    """The integer at ``addr`` (``fmt``: a struct format), None if NULL or unreadable."""
    if not addr:
        return None
    try:
        return struct.unpack(fmt, mem.read(addr & _U64, struct.calcsize(fmt)))[0]
    except (OSError, struct.error):
        return None


_u64_at = _int_at


_AF_INET, _AF_INET6 = 2, 10


def _ip(family: int, raw: bytes) -> str | None:
    import socket  # ~3 ms: only where an address is shown

    try:
        return socket.inet_ntop(family, raw)
    except (OSError, ValueError):
        return None


# --- the state between entry and exit -----------------------------------------------------


class Call:
    """What ``entry`` read, for ``exit`` and ``json_values``."""

    __slots__ = ("args", "decoded", "name", "pre", "proto")

    def __init__(self, name: str, args, proto=None):
        self.name = name
        self.args = tuple(args)
        #: What the entry decoder read: name -> Arg or raw value.
        self.pre: dict = {}
        self.proto = proto
        #: (args, result, extra, errno) once exit() ran.
        self.decoded = None

    def arg(self, i: int) -> int:
        return self.args[i] if i < len(self.args) else 0


class _Out:
    """A decoder's answer at exit: the arguments, the result, what follows."""

    __slots__ = ("args", "errno", "extra", "result")

    def __init__(self, args, result: Arg, extra: Arg | None = None, errno: str | None = None):
        self.args = args
        self.result = result
        self.extra = extra
        self.errno = errno


# --- decoders ------------------------------------------------------------------------------
# Each known function has an entry reader (may be None) and an exit decoder.
# Entry readers store Args in call.pre; exit decoders return an _Out.

_ENTRY: dict = {}
_EXIT: dict = {}


def _decoder(*names, entry=None):
    def register(fn):
        for n in names:
            _EXIT[n] = fn
            if entry is not None:
                _ENTRY[n] = entry
        return fn

    return register


def _strings_at_entry(*indexes):
    """An entry reader that reads the string arguments at ``indexes``."""

    def read(call, mem, strsize, sp):
        for i in indexes:
            call.pre[i] = _string(mem, call.arg(i), strsize)

    return read


def _stack_arg(call, mem, sp, index: int) -> int | None:
    """Argument ``index`` (from 0) beyond the six registers: args[index] where
    the engine passed it, else from the x86_64 stack at entry (sp + 8 per slot
    after the return address)."""
    if index < len(call.args):
        return call.args[index]
    if sp is None:
        return None
    return _u64_at(mem, sp + 8 * (index - 5))


# DNS ---------------------------------------------------------------------------------------


def _hints(mem, addr: int) -> Arg:
    addr &= _U64
    if not addr:
        return Arg("nil", None)
    try:
        flags, family, socktype, proto = struct.unpack("<iiii", mem.read(addr, 16))
    except (OSError, struct.error):
        return Arg(f"{addr:#x}", addr)
    f = _bits(flags, _AI_FLAGS)
    fam = _names(family, _AF)
    st = _sock_type(socktype)
    pr = _names(proto, _IPPROTO)
    return Arg(
        f"{{{f.text}, {fam.text}, {st.text}, {pr.text}}}",
        {"ai_flags": f.value, "ai_family": fam.value, "ai_socktype": st.value,
         "ai_protocol": pr.value},
    )  # fmt: skip


def _sock_type(v: int) -> Arg:
    base = _names(v & 0xF, _SOCK) if v & 0xF else Arg("0", 0)
    flags = _bits(v & ~0xF, _SOCK_FLAGS, zero="")
    if flags.text:
        return Arg(f"{base.text}|{flags.text}", [base.value, *flags.value])
    return base


_ADDRINFO = struct.Struct("<iiiiI4xQQQ")  # flags family socktype protocol addrlen addr canon next


def _addrinfo_list(mem, head: int, limit: int = 64) -> tuple[list[str], str | None]:
    """The addresses of a getaddrinfo result list (each once, in order) and the
    canonical name if the first entry has one."""
    seen: list[str] = []
    canon = None
    node = head
    while node and limit:
        limit -= 1
        try:
            _f, family, _st, _p, alen, aaddr, acanon, nxt = _ADDRINFO.unpack(
                mem.read(node, _ADDRINFO.size)
            )
        except (OSError, struct.error):
            break
        if acanon and canon is None:
            try:
                canon = _strval(mem.read_cstring(acanon, 256))
            except OSError:
                pass
        text = None
        try:
            if family == 2 and alen >= 8:
                text = _ip(_AF_INET, mem.read(aaddr + 4, 4))
            elif family == 10 and alen >= 24:
                text = _ip(_AF_INET6, mem.read(aaddr + 8, 16))
        except OSError:
            pass
        if text is not None and text not in seen:
            seen.append(text)
        node = nxt
    return seen, canon


def _gai_entry(call, mem, strsize, sp):
    call.pre[0] = _string(mem, call.arg(0), strsize)
    call.pre[1] = _string(mem, call.arg(1), strsize)
    call.pre[2] = _hints(mem, call.arg(2))
    call.pre["res"] = call.arg(3)


@_decoder("getaddrinfo", entry=_gai_entry)
def _getaddrinfo(call, retval, mem, strsize):
    rc = _s32(retval)
    args = [call.pre[0], call.pre[1], call.pre[2], _addr(call.arg(3))]
    if rc != 0:
        name = _EAI.get(rc)
        return _Out(args, Arg(name or str(rc), rc), None, name or str(rc))
    head = _u64_at(mem, call.pre["res"])
    addrs, canon = _addrinfo_list(mem, head) if head else ([], None)
    text = "[" + ", ".join(addrs) + "]"
    value: dict = {"addresses": addrs}
    if canon is not None:
        text += f' canonname="{escape(canon.encode("utf-8", "surrogateescape"))}"'
        value["canonname"] = canon
    return _Out(args, Arg("0", 0), Arg(text, value))


@_decoder("freeaddrinfo")
def _freeaddrinfo(call, retval, mem, strsize):
    return _Out([_ptr(call.arg(0))], Arg("<void>", None))


@_decoder("gai_strerror")
def _gai_strerror(call, retval, mem, strsize):
    return _Out([_names(_s32(call.arg(0)), _EAI)], _string(mem, retval, strsize))


def _gni_entry(call, mem, strsize, sp):
    salen = call.arg(1) & 0xFFFFFFFF
    try:
        raw = mem.read(call.arg(0) & _U64, min(salen, 128)) if call.arg(0) and salen else b""
        if raw:
            from pycoz_cli.core.trace.decode import decode_sockaddr  # strace's decoders

            call.pre[0] = decode_sockaddr(raw)
        else:
            call.pre[0] = _ptr(call.arg(0))
    except OSError:
        call.pre[0] = _ptr(call.arg(0))
    call.pre["flags"] = _stack_arg(call, mem, sp, 6)


@_decoder("getnameinfo", entry=_gni_entry)
def _getnameinfo(call, retval, mem, strsize):
    rc = _s32(retval)
    host, hostlen, serv, servlen = call.arg(2), call.arg(3), call.arg(4), call.arg(5)
    if rc == 0:
        host_arg = _string(mem, host, strsize) if host and hostlen else _ptr(host)
        serv_arg = _string(mem, serv, strsize) if serv and servlen else _ptr(serv)
    else:
        host_arg, serv_arg = _ptr(host), _ptr(serv)
    flags = call.pre["flags"]
    flags_arg = _bits(_s32(flags), _NI_FLAGS) if flags is not None else Arg("?", None)
    args = [call.pre[0], _int(call.arg(1)), host_arg, _int(hostlen), serv_arg, _int(servlen),
            flags_arg]  # fmt: skip
    if rc != 0:
        name = _EAI.get(rc) or str(rc)
        return _Out(args, Arg(name, rc), None, name)
    return _Out(args, Arg("0", 0))


_HOSTENT = struct.Struct("<QQiiQ")  # h_name h_aliases h_addrtype h_length h_addr_list


def _hostent(mem, addr: int, strsize: int) -> Arg | None:
    """``[198.18.0.2, ...]`` from a struct hostent (its name in the value)."""
    try:
        hname, _aliases, atype, alen, alist = _HOSTENT.unpack(mem.read(addr, _HOSTENT.size))
    except (OSError, struct.error):
        return None
    family = {2: _AF_INET, 10: _AF_INET6}.get(atype)
    addrs: list[str] = []
    for i in range(64):
        ptr = _u64_at(mem, alist + 8 * i) if alist else None
        if not ptr or family is None:
            break
        try:
            text = _ip(family, mem.read(ptr, alen))
        except OSError:
            break
        if text is not None:
            addrs.append(text)
    try:
        name = _strval(mem.read_cstring(hname, 256)) if hname else None
    except OSError:
        name = None
    return Arg("[" + ", ".join(addrs) + "]", {"h_name": name, "addresses": addrs})


@_decoder("gethostbyname", entry=_strings_at_entry(0))
def _gethostbyname(call, retval, mem, strsize):
    ret = _ptr(retval)
    extra = _hostent(mem, retval & _U64, strsize) if retval else None
    return _Out([call.pre[0]], ret, extra)


@_decoder("gethostbyname2", entry=_strings_at_entry(0))
def _gethostbyname2(call, retval, mem, strsize):
    extra = _hostent(mem, retval & _U64, strsize) if retval else None
    return _Out([call.pre[0], _names(_s32(call.arg(1)), _AF)], _ptr(retval), extra)


#: The reentrant forms: where struct hostent *ret comes (buf, buflen, result and
#: h_errnop follow it), after the arguments of the plain form.
_HOSTENT_R = {"gethostbyname_r": 1, "gethostbyname2_r": 2, "gethostbyaddr_r": 3}


def _ghb_r_entry(call, mem, strsize, sp):
    if call.name == "gethostbyaddr_r":
        _ghba_entry(call, mem, strsize, sp)
    else:
        call.pre[0] = _string(mem, call.arg(0), strsize)
    base = _HOSTENT_R[call.name]
    # Arguments past the sixth are on the stack (x86_64): read them now.
    call.pre["tail"] = [_stack_arg(call, mem, sp, base + i) for i in range(5)]


@_decoder(*_HOSTENT_R, entry=_ghb_r_entry)
def _gethostbyname_r(call, retval, mem, strsize):
    args = [call.pre[0]]
    if call.name == "gethostbyname2_r":
        args.append(_names(_s32(call.arg(1)), _AF))
    elif call.name == "gethostbyaddr_r":
        args += [_int(call.arg(1)), _names(_s32(call.arg(2)), _AF)]
    ret_p, buf, buflen, result_p, herr_p = call.pre["tail"]
    args += [_ptr(ret_p or 0), _ptr(buf or 0), _ulong(buflen or 0), _ptr(result_p or 0)]
    args.append(_ptr(herr_p) if herr_p is not None else Arg("?", None))
    rc = _s32(retval)
    result = _errno_result(rc)
    extra = None
    errname = result.value if rc else None
    found = _u64_at(mem, result_p or 0)
    if rc == 0 and found:
        extra = _hostent(mem, found, strsize)
    elif herr_p:
        herr = _int_at(mem, herr_p, "<i")
        if herr:
            name = _HERR.get(herr, str(herr))
            extra = Arg(f"[h_errno={name}]", {"h_errno": name})
            errname = errname or name
    return _Out(args, result, extra, errname)


def _errno_result(rc: int) -> Arg:
    if rc == 0:
        return Arg("0", 0)
    import errno as _errno

    name = _errno.errorcode.get(rc)
    return Arg(name, name) if name else Arg(str(rc), rc)


def _ghba_entry(call, mem, strsize, sp):
    length, family = call.arg(1) & 0xFFFFFFFF, _s32(call.arg(2))
    fam = {2: _AF_INET, 10: _AF_INET6}.get(family)
    text = None
    if fam is not None and call.arg(0) and length in (4, 16):
        try:
            text = _ip(fam, mem.read(call.arg(0) & _U64, length))
        except OSError:
            pass
    call.pre[0] = Arg(f'"{text}"', text) if text else _ptr(call.arg(0))


@_decoder("gethostbyaddr", entry=_ghba_entry)
def _gethostbyaddr(call, retval, mem, strsize):
    extra = _hostent(mem, retval & _U64, strsize) if retval else None
    args = [call.pre[0], _int(call.arg(1)), _names(_s32(call.arg(2)), _AF)]
    return _Out(args, _ptr(retval), extra)


def _dns_answer(mem, addr: int, length: int) -> Arg | None:
    """The rcode and the A/AAAA/CNAME answers of a DNS reply in memory."""
    try:
        msg = _read(mem, addr, min(length, 4096))
    except OSError:
        return None
    if len(msg) < 12:
        return None
    _id, flags, qd, an, _ns, _ar = struct.unpack(">HHHHHH", msg[:12])
    rcode = _RCODE.get(flags & 15, str(flags & 15))
    pos = 12
    answers: list[str] = []
    try:
        for _ in range(qd):
            pos = _skip_name(msg, pos) + 4
        for _ in range(an):
            pos = _skip_name(msg, pos)
            rtype, _cls, _ttl, rdlen = struct.unpack_from(">HHIH", msg, pos)
            pos += 10
            rdata = msg[pos : pos + rdlen]
            family = {(1, 4): _AF_INET, (28, 16): _AF_INET6}.get((rtype, rdlen))
            text = _ip(family, rdata) if family else None
            if text is not None:
                answers.append(text)
            pos += rdlen
    except (struct.error, IndexError, ValueError):
        pass
    return Arg(f"[{rcode}" + "".join(", " + a for a in answers) + "]",
               {"rcode": rcode, "addresses": answers})  # fmt: skip


def _skip_name(msg: bytes, pos: int) -> int:
    while True:
        n = msg[pos]
        if n == 0:
            return pos + 1
        if n & 0xC0 == 0xC0:
            return pos + 2
        pos += n + 1


def _res_entry(call, mem, strsize, sp):
    first = 1 if "_n" in call.name else 0  # res_n*: the state comes first
    call.pre[first] = _string(mem, call.arg(first), strsize)
    if call.name.endswith("querydomain"):
        call.pre[first + 1] = _string(mem, call.arg(first + 1), strsize)


@_decoder(*(p + n for p in ("", "__") for n in ("res_query", "res_search", "res_nquery",
          "res_nsearch", "res_querydomain", "res_nquerydomain")), entry=_res_entry)  # fmt: skip
def _res(call, retval, mem, strsize):
    args = []
    i = 0
    if "_n" in call.name:
        args.append(_ptr(call.arg(0)))
        i = 1
    args.append(call.pre[i])
    i += 1
    if call.name.endswith("querydomain"):
        args.append(call.pre[i])
        i += 1
    args.append(_names(_s32(call.arg(i)), _NS_CLASS))
    args.append(_names(_s32(call.arg(i + 1)), _NS_TYPE))
    answer, anslen = call.arg(i + 2), _s32(call.arg(i + 3))
    args += [_ptr(answer), _int(anslen)]
    rc = _s32(retval)
    extra = _dns_answer(mem, answer, min(rc, anslen)) if rc > 0 and answer else None
    return _Out(args, Arg(str(rc), rc), extra)


# TLS -------------------------------------------------------------------------------------


def _plain_entry(call, mem, strsize, sp):
    call.pre[1] = _buffer(mem, call.arg(1), _s32(call.arg(2)), strsize)


@_decoder("SSL_write", entry=_plain_entry)
def _ssl_write(call, retval, mem, strsize):
    return _Out([_ptr(call.arg(0)), call.pre[1], _int(call.arg(2))], _int(retval))


def _plain_ex_entry(call, mem, strsize, sp):
    # size_t num: the plaintext may be longer than an int.
    call.pre[1] = _buffer(mem, call.arg(1), call.arg(2) & _U64, strsize)


@_decoder("SSL_write_ex", entry=_plain_ex_entry)
def _ssl_write_ex(call, retval, mem, strsize):
    written = _u64_at(mem, call.arg(3)) if _s32(retval) == 1 else None
    args = [_ptr(call.arg(0)), call.pre[1], _ulong(call.arg(2)), _out_size(call.arg(3), written)]
    return _Out(args, _int(retval))


def _out_size(addr: int, value: int | None) -> Arg:
    if value is None:
        return _ptr(addr)
    return Arg(f"[{value}]", value)


@_decoder("SSL_read", "SSL_peek")
def _ssl_read(call, retval, mem, strsize):
    n = _s32(retval)
    buf = _buffer(mem, call.arg(1), n, strsize) if n > 0 else _ptr(call.arg(1))
    return _Out([_ptr(call.arg(0)), buf, _int(call.arg(2))], Arg(str(n), n))


@_decoder("SSL_read_ex", "SSL_peek_ex")
def _ssl_read_ex(call, retval, mem, strsize):
    got = _u64_at(mem, call.arg(3)) if _s32(retval) == 1 else None
    buf = _buffer(mem, call.arg(1), got, strsize) if got else _ptr(call.arg(1))
    args = [_ptr(call.arg(0)), buf, _ulong(call.arg(2)), _out_size(call.arg(3), got)]
    return _Out(args, _int(retval))


@_decoder("SSL_connect", "SSL_accept", "SSL_do_handshake", "SSL_shutdown")
def _ssl_handshake(call, retval, mem, strsize):
    return _Out([_ptr(call.arg(0))], _int(retval))


@_decoder("SSL_get_error")
def _ssl_get_error(call, retval, mem, strsize):
    rc = _s32(retval)
    result = _names(rc, _SSL_ERROR)
    return _Out([_ptr(call.arg(0)), _int(call.arg(1))], result, None,
                result.value if rc else None)  # fmt: skip


def _ssl_ctrl_entry(call, mem, strsize, sp):
    if _s32(call.arg(1)) == 55:  # SSL_CTRL_SET_TLSEXT_HOSTNAME: parg is the SNI name
        call.pre[3] = _string(mem, call.arg(3), strsize)


@_decoder("SSL_ctrl", entry=_ssl_ctrl_entry)
def _ssl_ctrl(call, retval, mem, strsize):
    cmd = _s32(call.arg(1))
    parg = call.pre.get(3) or _ptr(call.arg(3))
    return _Out([_ptr(call.arg(0)), _names(cmd, _SSL_CTRL), _long(call.arg(2)), parg],
                _long(retval))  # fmt: skip


@_decoder("SSL_set1_host", entry=_strings_at_entry(1))
def _ssl_set1_host(call, retval, mem, strsize):
    return _Out([_ptr(call.arg(0)), call.pre[1]], _int(retval))


@_decoder("SSL_get_verify_result")
def _ssl_verify(call, retval, mem, strsize):
    rc = _s64(retval)
    result = _names(rc, _X509_V)
    return _Out([_ptr(call.arg(0))], result, None, result.value if rc else None)


def _gnutls_result(retval: int) -> tuple[Arg, str | None]:
    rc = _s64(retval)
    if rc < 0:
        name = _GNUTLS_E.get(rc) or str(rc)
        return Arg(name, rc), name
    return Arg(str(rc), rc), None


@_decoder("gnutls_record_send", entry=_plain_ex_entry)
def _gnutls_send(call, retval, mem, strsize):
    result, err = _gnutls_result(retval)
    return _Out([_ptr(call.arg(0)), call.pre[1], _ulong(call.arg(2))], result, None, err)


@_decoder("gnutls_record_recv")
def _gnutls_recv(call, retval, mem, strsize):
    n = _s64(retval)
    buf = _buffer(mem, call.arg(1), n, strsize) if n > 0 else _ptr(call.arg(1))
    result, err = _gnutls_result(retval)
    return _Out([_ptr(call.arg(0)), buf, _ulong(call.arg(2))], result, None, err)


@_decoder("gnutls_handshake", "gnutls_bye")
def _gnutls_handshake(call, retval, mem, strsize):
    result, err = _gnutls_result(_s32(retval))
    args = [_ptr(call.arg(0))]
    if call.name == "gnutls_bye":
        args.append(_int(call.arg(1)))
    return _Out(args, result, None, err)


def _gnutls_sni_entry(call, mem, strsize, sp):
    call.pre[2] = _buffer(mem, call.arg(2), call.arg(3) & _U64, strsize)


@_decoder("gnutls_server_name_set", entry=_gnutls_sni_entry)
def _gnutls_sni(call, retval, mem, strsize):
    result, err = _gnutls_result(_s32(retval))
    args = [_ptr(call.arg(0)), _names(_s32(call.arg(1)), _GNUTLS_NAME), call.pre[2],
            _ulong(call.arg(3))]  # fmt: skip
    return _Out(args, result, None, err)


# dl --------------------------------------------------------------------------------------


def _dl_mode(v: int) -> Arg:
    v = _s32(v)
    base = _RTLD_MODE.get(v & 3, str(v & 3))
    flags = _bits(v & ~3, _RTLD_FLAGS, zero="")
    names = [base] + (flags.value if flags.text else [])
    if base == "RTLD_LOCAL" and flags.text:
        names = flags.value  # RTLD_LOCAL is 0: only said alone
    return Arg("|".join(names), names)


def _handle(v: int) -> Arg:
    name = _RTLD_HANDLE.get(v & _U64)
    return Arg(name, name) if name else _addr(v)


@_decoder("dlopen", entry=_strings_at_entry(0))
def _dlopen(call, retval, mem, strsize):
    return _Out([call.pre[0], _dl_mode(call.arg(1))], _addr(retval))


@_decoder("dlmopen", entry=_strings_at_entry(1))
def _dlmopen(call, retval, mem, strsize):
    lmid = _s64(call.arg(0))
    lm = Arg(_LMID[lmid], _LMID[lmid]) if lmid in _LMID else _addr(call.arg(0))
    return _Out([lm, call.pre[1], _dl_mode(call.arg(2))], _addr(retval))


@_decoder("dlsym", entry=_strings_at_entry(1))
def _dlsym(call, retval, mem, strsize):
    return _Out([_handle(call.arg(0)), call.pre[1]], _addr(retval))


@_decoder("dlvsym", entry=_strings_at_entry(1, 2))
def _dlvsym(call, retval, mem, strsize):
    return _Out([_handle(call.arg(0)), call.pre[1], call.pre[2]], _addr(retval))


@_decoder("dlclose")
def _dlclose(call, retval, mem, strsize):
    return _Out([_addr(call.arg(0))], _int(retval))


@_decoder("dlerror")
def _dlerror(call, retval, mem, strsize):
    return _Out([], _string(mem, retval, strsize))


# env -------------------------------------------------------------------------------------


@_decoder("getenv", "secure_getenv", entry=_strings_at_entry(0))
def _getenv(call, retval, mem, strsize):
    return _Out([call.pre[0]], _string(mem, retval, strsize))


@_decoder("setenv", entry=_strings_at_entry(0, 1))
def _setenv(call, retval, mem, strsize):
    return _Out([call.pre[0], call.pre[1], _int(call.arg(2))], _int(retval))


@_decoder("unsetenv", "putenv", entry=_strings_at_entry(0))
def _unsetenv(call, retval, mem, strsize):
    return _Out([call.pre[0]], _int(retval))


@_decoder("clearenv")
def _clearenv(call, retval, mem, strsize):
    return _Out([], _int(retval))


# --- parameters, for tampering (-e inject=getaddrinfo:node="h2") ---------------------------

# name:kind per argument, as the man pages name them; kind: s a C string, b a
# buffer (its length in the next argument), i an integer, p a pointer.
_R = "ret:p buf:p buflen:i result:p h_errnop:p"
_PARAMS_TEXT = {
    "getaddrinfo": "node:s service:s hints:p res:p",
    "freeaddrinfo": "res:p",
    "gai_strerror": "errcode:i",
    "getnameinfo": "addr:p addrlen:i host:p hostlen:i serv:p servlen:i flags:i",
    "gethostbyname": "name:s",
    "gethostbyname2": "name:s af:i",
    "gethostbyname_r": "name:s " + _R,
    "gethostbyname2_r": "name:s af:i " + _R,
    "gethostbyaddr": "addr:p len:i type:i",
    "gethostbyaddr_r": "addr:p len:i type:i " + _R,
    "res_query": "dname:s class:i type:i answer:p anslen:i",
    "res_search": "dname:s class:i type:i answer:p anslen:i",
    "res_querydomain": "name:s domain:s class:i type:i answer:p anslen:i",
    "SSL_write": "ssl:p buf:b num:i",
    "SSL_write_ex": "ssl:p buf:b num:i written:p",
    "SSL_read": "ssl:p buf:p num:i",
    "SSL_read_ex": "ssl:p buf:p num:i readbytes:p",
    "SSL_peek": "ssl:p buf:p num:i",
    "SSL_peek_ex": "ssl:p buf:p num:i readbytes:p",
    "SSL_connect": "ssl:p",
    "SSL_accept": "ssl:p",
    "SSL_do_handshake": "ssl:p",
    "SSL_shutdown": "ssl:p",
    "SSL_get_error": "ssl:p ret:i",
    "SSL_ctrl": "ssl:p cmd:i larg:i parg:p",
    "SSL_set1_host": "ssl:p hostname:s",
    "SSL_get_verify_result": "ssl:p",
    "gnutls_record_send": "session:p data:b data_size:i",
    "gnutls_record_recv": "session:p data:p data_size:i",
    "gnutls_handshake": "session:p",
    "gnutls_bye": "session:p how:i",
    "gnutls_server_name_set": "session:p type:i name:b name_length:i",
    "dlopen": "filename:s flags:i",
    "dlmopen": "lmid:i filename:s flags:i",
    "dlsym": "handle:p symbol:s",
    "dlvsym": "handle:p symbol:s version:s",
    "dlclose": "handle:p",
    "dlerror": "",
    "getenv": "name:s",
    "secure_getenv": "name:s",
    "setenv": "name:s value:s overwrite:i",
    "unsetenv": "name:s",
    "putenv": "string:s",
    "clearenv": "",
}
for _n in ("res_query", "res_search", "res_querydomain"):
    _PARAMS_TEXT["res_n" + _n[4:]] = "statep:p " + _PARAMS_TEXT[_n]
for _n in list(_PARAMS_TEXT):
    if _n.startswith("res_"):
        _PARAMS_TEXT["__" + _n] = _PARAMS_TEXT[_n]
_KINDS = {"s": "string", "b": "buffer", "i": "int", "p": "pointer"}
PARAMETERS: dict[str, tuple[tuple[str, str], ...]] = {
    name: tuple((p, _KINDS[k]) for p, _, k in (w.partition(":") for w in text.split()))
    for name, text in _PARAMS_TEXT.items()
}


def parameter(name: str, param: str, prototypes: dict | None = None) -> tuple[int, str]:
    """(index, kind) of argument ``param`` of function ``name``: by its man-page
    name (``node``), or as ltrace numbers them (``arg1``...).  ``kind`` is
    "string" (NUL-terminated), "buffer" (its length in the next argument), "int"
    or "pointer".  ValueError, in one line, for a name the function has not."""
    proto = prototypes.get(name) if prototypes else None
    params = PARAMETERS.get(name, ()) if proto is None else ()
    if param.startswith("arg") and param[3:].isdigit() and int(param[3:]) >= 1:
        index = int(param[3:]) - 1
        if proto is not None:
            kind = "string" if index < len(proto.args) and proto.args[index].kind in (
                "string", "format") else "int"  # fmt: skip
            return index, kind
        return index, params[index][1] if index < len(params) else "int"
    for index, (pname, kind) in enumerate(params):
        if pname == param:
            return index, kind
    known_names = ", ".join(p for p, _ in params) or "arg1, arg2, ..."
    raise ValueError(f"{name} has no argument {param!r} (it has: {known_names})")


def entry_value(state: Call, param: str, prototypes: dict | None = None):
    """What ``entry`` read for argument ``param`` as a JSON value (a string for
    ``node``), or the raw register where it read nothing: for conditions on an
    argument (``when node matches *.example.org``)."""
    index, _ = parameter(state.name, param, prototypes)
    pre = state.pre.get(index)
    return pre.value if pre is not None else state.arg(index)


# --- the interface ---------------------------------------------------------------------------


def known(name: str, prototypes: dict | None = None) -> bool:
    """Whether ``name`` has a decoder here or a prototype in ``prototypes``."""
    return name in _EXIT or bool(prototypes and name in prototypes)


def entry(name: str, args, mem, strsize: int = 32, *, sp: int | None = None, prototypes=None):
    """Read at the call's entry what its decoding needs; returns the state for
    ``exit``.  ``prototypes`` (from ``load_prototypes``) take precedence over the
    built-in decoders, as ltrace's -F files do over its own."""
    proto = prototypes.get(name) if prototypes else None
    call = Call(name, args, proto)
    if proto is not None:
        _proto_entry(call, mem, strsize, sp)
        return call
    reader = _ENTRY.get(name)
    if reader is not None:
        reader(call, mem, strsize, sp)
    return call


def _finish(name: str, state: Call, retval: int, mem, strsize: int) -> _Out:
    if state.decoded is not None:
        return state.decoded
    if state.proto is not None:
        out = _proto_exit(state, retval, mem, strsize)
    else:
        decoder = _EXIT.get(name)
        if decoder is None:
            out = _Out([guess(a) for a in state.args[:4]], guess(retval))
        else:
            out = decoder(state, retval, mem, strsize)
    state.decoded = out
    return out


def _unreturned(state: Call) -> list[Arg]:
    """The arguments of a call that never returned (exit, a thread killed in
    it): what entry read, the rest raw."""
    if state.proto is not None:
        count = len(state.proto.args)
    elif state.name in PARAMETERS:
        count = len(PARAMETERS[state.name])
    else:
        count = 4
    out = []
    for i in range(count):
        pre = state.pre.get(i)
        if pre is None:
            pre = _ptr(state.arg(i)) if _is_pointer(state, i) else guess(state.arg(i))
        out.append(pre)
    return out


def _is_pointer(state: Call, i: int) -> bool:
    params = PARAMETERS.get(state.name, ())
    return i < len(params) and params[i][1] != "int"


def exit(
    name: str, state: Call, retval: int | None, mem, strsize: int = 32
) -> tuple[str, str, str]:
    """The call's text at its return: (args_text, ret_text, suffix).  ``retval``
    None: it never returned (``exit``, a thread killed in it): the arguments as
    entry read them, and an empty result."""
    if retval is None:
        return ", ".join([a.text for a in _unreturned(state)]), "", ""
    out = _finish(name, state, retval, mem, strsize)
    return (
        ", ".join([a.text for a in out.args]),
        out.result.text,
        out.extra.text if out.extra is not None else "",
    )


def json_values(name: str, state: Call, retval: int | None, mem=None, strsize: int = 32) -> dict:
    """The call as JSON values: ``{"name", "args", "result", "errno"}`` and, where
    the line has a suffix, what it shows (``"addresses"``...).  ``retval`` None:
    the call has not returned (only what entry read)."""
    if retval is None:
        args = [a.value for a in _unreturned(state)]
        return {"name": name, "args": args, "result": None, "errno": None}
    out = _finish(name, state, retval, mem, strsize)
    record = {
        "name": name,
        "args": [a.value for a in out.args],
        "result": out.result.value,
        "errno": out.errno,
    }
    if out.extra is not None:
        if isinstance(out.extra.value, dict):
            record.update(out.extra.value)
        else:
            record["extra"] = out.extra.value
    return record


# --- ltrace.conf(5) prototypes ------------------------------------------------------------


class PrototypeError(ValueError):
    """A prototype file that cannot be read: one line, ``FILE:LINE: what``."""


class Type:
    """One type of an ltrace.conf prototype.

    ``kind`` is a base type (int, uint, long, ulong, octal, char, short, ushort,
    hex, addr, file, format, string, bool, float, double, void), or "array",
    "struct", "enum", "pointer".  ``length``: for string[N] and array(T, N), an
    int, ("arg", N) or "retval".
    """

    __slots__ = ("elem", "fields", "kind", "length", "names", "output")

    def __init__(self, kind: str, *, elem=None, length=None, fields=(), names=None):
        self.kind = kind
        self.elem = elem
        self.length = length
        self.fields = tuple(fields)
        self.names = names or {}
        self.output = False

    def __repr__(self) -> str:
        return f"Type({self.kind!r})"


class Prototype:
    __slots__ = ("args", "name", "ret")

    def __init__(self, name: str, ret: Type, args: list[Type]):
        self.name = name
        self.ret = ret
        self.args = args


_BASE = frozenset(
    _words(
        "void int uint long ulong octal char short ushort hex addr file format string bool float "
        "double"
    )
)
# Names ltrace.conf files use as types, beyond the grammar's own (ltrace's libc.so.conf).
_ALIASES = {"size_t": "ulong", "ssize_t": "long", "pid_t": "int", "uid_t": "uint",
            "gid_t": "uint", "off_t": "long", "mode_t": "octal", "unsigned": "uint",
            "signed": "int", "llong": "long", "ullong": "ulong", "int8": "char",
            "uint8": "char", "int16": "short", "uint16": "ushort", "int32": "int",
            "uint32": "uint", "int64": "long", "uint64": "ulong", "lens": "int"}  # fmt: skip
_TOKEN = r"\s*(?:(\w+)|(\[|\]|\(|\)|,|\*|=|\+|;|-?\d+|\S))"


def _compiled(pattern):
    """A regular expression compiled at its first use (at import, each would
    cost ``pycoz ltrace``'s start-up for -F files and printf calls it may never see)."""
    import re

    return re.compile(pattern)


class _Parser:
    def __init__(self, text: str, where: str, typedefs: dict):
        self.tokens = [m.group(1) or m.group(2) for m in _compiled(_TOKEN).finditer(text)]
        self.tokens = [t for t in self.tokens if t]
        self.pos = 0
        self.where = where
        self.typedefs = typedefs

    def fail(self, what: str):
        raise PrototypeError(f"{self.where}: {what}")

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None:
            self.fail(f"unexpected end of line{f', expected {expected!r}' if expected else ''}")
        if expected is not None and tok != expected:
            self.fail(f"expected {expected!r}, found {tok!r}")
        self.pos += 1
        return tok

    def end(self) -> None:
        """The closing ``;``, and nothing after it but a comment."""
        self.take(";")
        if self.peek() not in (None, ";", "#"):
            self.fail(f"unexpected {self.peek()!r} after ';'")

    def length(self):
        """An EXPR: NUM, argNUM (arg0 is the result), retval, eltNUM, zero,
        zero(EXPR).  None: up to a NUL (zero, and eltNUM, not followed here)."""
        tok = self.take()
        if tok == "retval" or tok == "arg0":
            return "retval"
        if tok.startswith("arg") and tok[3:].isdigit():
            return ("arg", int(tok[3:]))
        if tok.startswith("elt") and tok[3:].isdigit():
            return None
        if tok == "zero":
            if self.peek() == "(":
                self.take()
                limit = self.length()
                self.take(")")
                return limit
            return None
        if tok.isdigit():
            return int(tok)
        self.fail(f"bad length {tok!r} (a number, argN, eltN, retval or zero)")

    def type(self) -> Type:
        output = False
        if self.peek() == "+":
            self.take()
            output = True
        tok = self.take()
        if tok in ("struct", "array", "enum", "hex", "oct", "bool", "hide", "string", "bitvec"):
            t = self._compound(tok)
        elif tok.startswith("string") and tok[6:].isdigit():  # legacy stringN: string[argN]
            t = Type("string", length=("arg", int(tok[6:])))
        elif tok in _BASE or tok in _ALIASES:
            t = Type(_ALIASES.get(tok, tok))
        elif tok in self.typedefs:
            t = self.typedefs[tok]
        elif tok == "const":
            return self.type()
        else:
            self.fail(f"unknown type {tok!r}")
        while self.peek() == "*":
            self.take()
            t = Type("pointer", elem=t)
        t.output = output
        return t

    def _compound(self, tok: str) -> Type:
        if tok == "string":
            if self.peek() == "[":
                self.take()
                n = self.length()
                self.take("]")
                return Type("string", length=n)
            if self.peek() == "(":  # string(char*), string(array(char, N)[*])
                self.take()
                inner = self.type()
                self.take(")")
                while inner.kind == "pointer" and inner.elem.kind == "array":
                    inner = inner.elem
                return Type("string", length=inner.length)
            return Type("string")
        if tok in ("hex", "oct", "bool", "hide", "bitvec"):
            self.take("(")
            inner = self.type()
            self.take(")")
            if tok in ("hide", "bitvec"):
                return Type(tok, elem=inner)
            return Type({"hex": "hex", "oct": "octal", "bool": "bool"}[tok], elem=inner)
        if tok == "array":
            self.take("(")
            elem = self.type()
            self.take(",")
            n = self.length()
            self.take(")")
            return Type("array", elem=elem, length=n)
        if tok == "struct":
            if self.peek() != "(":  # a forward declaration: typedef NAME = struct;
                return Type("struct")
            self.take("(")
            fields = [self.type()]
            while self.peek() == ",":
                self.take()
                fields.append(self.type())
            self.take(")")
            return Type("struct", fields=fields)
        # enum(NAME=VALUE, NAME, ...) or enum[int](...)
        if self.peek() == "[":
            self.take()
            self.type()
            self.take("]")
        self.take("(")
        names: dict[int, str] = {}
        value = 0
        while True:
            name = self.take()
            if not name.isidentifier():
                self.fail(f"bad enum name {name!r}")
            if self.peek() == "=":
                self.take()
                tok = self.take()
                try:
                    value = int(tok, 0)
                except ValueError:
                    self.fail(f"bad enum value {tok!r}")
            names.setdefault(value, name)
            value += 1
            if self.peek() == ",":
                self.take()
                continue
            self.take(")")
            return Type("enum", names=names)


def load_prototypes(path: str) -> dict[str, Prototype]:
    """Prototypes from an ltrace.conf(5) file (``-F FILE``): ``int getaddrinfo(string,
    string, addr, addr);``, ``typedef NAME = TYPE;``, comments after ``;`` or ``#``
    at the start of a line.  A file that cannot be read or parsed raises
    PrototypeError with one line naming ``FILE:LINE``."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError as err:
        raise PrototypeError(f"{path}: cannot read prototypes: {err.strerror}") from None
    protos: dict[str, Prototype] = {}
    typedefs: dict[str, Type] = {}
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped or stripped[0] in ";#":
            continue
        p = _Parser(stripped, f"{path}:{number}", typedefs)
        if p.peek() == "typedef":
            p.take()
            name = p.take()
            if not name.isidentifier():
                p.fail(f"bad type name {name!r}")
            p.take("=")
            t = p.type()
            known_t = typedefs.get(name)
            if known_t is not None and known_t.kind == "struct" and t.kind == "struct":
                known_t.fields = t.fields  # completes a forward declaration in place
            else:
                typedefs[name] = t
            p.end()
            continue
        ret = p.type()
        name = p.take()
        if not name.isidentifier():
            p.fail(f"expected a function name, found {name!r}")
        p.take("(")
        args: list[Type] = []
        if p.peek() != ")":
            args.append(p.type())
            while p.peek() == ",":
                p.take()
                args.append(p.type())
        p.take(")")
        p.end()
        if len(args) == 1 and args[0].kind == "void":
            args = []
        protos[name] = Prototype(name, ret, args)
    return protos


def _proto_entry(call: Call, mem, strsize: int, sp: int | None) -> None:
    # ltrace reads arguments at entry; those sized by the result wait for the exit.
    for i, t in enumerate(call.proto.args):
        if t.length != "retval" and not t.output:
            call.pre[i] = _typed(t, call.arg(i), mem, strsize, call, None)
        if t.kind == "format":  # printf's: the arguments its conversions name follow
            call.pre["varargs"] = _format_args(call, i, mem, strsize, sp)
            break


# A printf conversion: flags, width, precision, length, conversion.
_CONVERSION = rb"%([-+ #0']*)(\*|\d+)?(?:\.(\*|\d*))?(hh|h|ll|l|L|q|j|z|Z|t)?([a-zA-Z%])"
_FORMAT_LIMIT = 4096


def _format_args(call: Call, index: int, mem, strsize: int, sp: int | None) -> list[Arg]:
    """The variadic arguments of a printf-style call, as ltrace shows them: each
    as its conversion says (``%x`` in hex, ``%c`` a character, ``%s`` a string).
    Integer arguments only (floating point ones travel in vector registers the
    engine does not give: ``?``); past the sixth, from the stack (``sp``)."""
    fmt_addr = call.arg(index)
    try:
        fmt = mem.read_cstring(fmt_addr & _U64, _FORMAT_LIMIT) if fmt_addr else b""
    except OSError:
        return []
    position = index + 1

    def next_value() -> int | None:
        nonlocal position
        value = _stack_arg(call, mem, sp, position) if position >= 6 else call.arg(position)
        position += 1
        return value

    out: list[Arg] = []
    for m in _compiled(_CONVERSION).finditer(fmt):
        _flags, width, precision, length, conv = m.groups()
        if conv == b"%":
            continue
        for star in (width, precision):
            if star == b"*":
                v = next_value()
                out.append(_int(v) if v is not None else Arg("?", None))
        if conv in b"fFeEgGaA":
            out.append(Arg("?", None))
            continue
        v = next_value()
        if v is None:
            out.append(Arg("?", None))
            continue
        wide = length in (b"l", b"ll", b"q", b"j", b"z", b"Z", b"t", b"L")
        if conv in b"di":
            if length == b"hh":
                out.append(_char(v))
            elif length == b"h":
                out.append(Arg(str(_s16(v)), _s16(v)))
            else:
                out.append(_long(v) if wide else _int(v))
        elif conv in b"uxXo":
            u = v & (_U64 if wide else 0xFFFFFFFF)
            if length == b"h":
                u &= 0xFFFF
            elif length == b"hh":
                u &= 0xFF
            text = {b"u": str(u), b"o": f"0{u:o}" if u else "0"}.get(conv, f"{u:#x}")
            out.append(Arg(text, u))
        elif conv == b"c":
            out.append(_char(v))
        elif conv == b"s":
            out.append(_string(mem, v, strsize))
        else:  # p, n, and what else takes a pointer
            out.append(_addr(v))
    return out


def _proto_exit(call: Call, retval: int, mem, strsize: int) -> _Out:
    args = []
    for i, t in enumerate(call.proto.args):
        a = call.pre.get(i)
        if a is None:
            a = _typed(t, call.arg(i), mem, strsize, call, retval)
        if t.kind != "hide":
            args.append(a)
        if t.kind == "format":
            args += call.pre.get("varargs", [])
            break
    ret = call.proto.ret
    result = Arg("<void>", None) if ret.kind == "void" else _typed(ret, retval, mem, strsize,
                                                                   call, retval)  # fmt: skip
    return _Out(args, result)


_SCALAR = {
    "int": _int,
    "uint": lambda v: Arg(str(v & 0xFFFFFFFF), v & 0xFFFFFFFF),
    "long": _long,
    "ulong": _ulong,
    "short": lambda v: Arg(str(_s16(v)), _s16(v)),
    "ushort": lambda v: Arg(str(v & 0xFFFF), v & 0xFFFF),
    "addr": _addr,
    "file": _addr,
    "hex": lambda v: Arg(f"{v & 0xFFFFFFFF:#x}", v & 0xFFFFFFFF),
    "octal": lambda v: Arg(f"0{v & 0xFFFFFFFF:o}", v & 0xFFFFFFFF),
    "bool": lambda v: Arg("true" if v & 0xFFFFFFFF else "false", bool(v & 0xFFFFFFFF)),
}


def _s16(v: int) -> int:
    v &= 0xFFFF
    return v - 0x10000 if v & 0x8000 else v


def _char(v: int) -> Arg:
    c = v & 0xFF
    return Arg(f"'{_LCHAR[c]}'", chr(c))


def _resolve_length(length, call: Call, retval):
    if isinstance(length, int):
        return length
    if length == "retval":
        return _s64(retval) if retval is not None else None
    if isinstance(length, tuple):
        return _s64(call.arg(length[1] - 1))
    return None


def _typed(t: Type, v: int, mem, strsize: int, call: Call, retval, depth: int = 0) -> Arg:
    """An argument or result of type ``t`` whose register holds ``v``."""
    kind = t.kind
    if kind == "hide":
        return _typed(t.elem, v, mem, strsize, call, retval, depth)
    if kind in ("hex", "octal", "bool") and t.elem is not None and t.elem.kind in ("long", "ulong"):
        if kind == "hex":
            return Arg(f"{v & _U64:#x}", v & _U64)
        if kind == "octal":
            return Arg(f"0{v & _U64:o}", v & _U64)
    fn = _SCALAR.get(kind)
    if fn is not None:
        return fn(v)
    if kind == "char":
        return _char(v)
    if kind in ("string", "format"):
        n = _resolve_length(t.length, call, retval) if t.length is not None else None
        if n is None:
            return _string(mem, v, strsize)
        if not v:
            return Arg("nil", None)
        try:
            data = mem.read_cstring(v & _U64, max(0, min(n, strsize + 1)))
        except OSError:
            return _addr(v)
        return _quoted(data, min(n, strsize), cut=len(data) > strsize)
    if kind == "enum":
        return _names(_s32(v), t.names)
    if kind == "bitvec":
        if t.elem.kind == "pointer":
            try:
                raw = _read(mem, v & _U64, _size(t.elem.elem)) if v else b""
            except OSError:
                return _addr(v)
            return _bitvec(int.from_bytes(raw, "little"), len(raw) * 8)
        return _bitvec(v & ((1 << 8 * _size(t.elem)) - 1), 8 * _size(t.elem))
    if kind in ("float", "double"):
        return Arg("?", None)  # passed in vector registers the engine does not give
    if kind == "void":
        return _addr(v)
    if kind == "pointer":
        return _pointed(t.elem, v & _U64, mem, strsize, call, retval, depth + 1)
    if kind == "struct" and _size(t) <= 8:  # small structs travel in a register
        return _from_bytes(t, (v & _U64).to_bytes(8, "little"), mem, strsize, call, retval, depth)
    if kind in ("array", "struct"):  # larger ones are passed by address
        return _pointed(t, v & _U64, mem, strsize, call, retval, depth + 1)
    return guess(v)


def _bitvec(v: int, nbits: int) -> Arg:
    """ltrace's bitvec lens: ``<3-5,7>``, or ``~<0>`` when most bits are set."""
    bits = [i for i in range(nbits) if v >> i & 1]
    inverse = len(bits) > nbits // 2
    if inverse:
        bits = [i for i in range(nbits) if not v >> i & 1]
    ranges, i = [], 0
    while i < len(bits):
        j = i
        while j + 1 < len(bits) and bits[j + 1] == bits[j] + 1:
            j += 1
        ranges.append(str(bits[i]) if i == j else f"{bits[i]}-{bits[j]}")
        i = j + 1
    return Arg(("~" if inverse else "") + "<" + ",".join(ranges) + ">", bits)


_SIZES = {"char": 1, "short": 2, "ushort": 2, "int": 4, "uint": 4, "hex": 4, "octal": 4,
          "enum": 4, "bool": 4, "float": 4}  # fmt: skip


def _size(t: Type) -> int:
    if t.kind in ("hex", "octal", "bool", "hide", "bitvec") and t.elem is not None:
        return _size(t.elem)
    if t.kind == "struct":
        end = 0
        for f in t.fields:
            end = _align(end, f) + _size(f)
        return _align(end, t) if t.fields else 0
    if t.kind == "array":
        return _size(t.elem) * t.length if isinstance(t.length, int) else 8
    if t.kind == "string" and isinstance(t.length, int):
        return 8
    return _SIZES.get(t.kind, 8)


def _alignment(t: Type) -> int:
    if t.kind == "struct":
        return max((_alignment(f) for f in t.fields), default=1)
    if t.kind == "array" and isinstance(t.length, int):
        return _alignment(t.elem)
    return min(_size(t), 8) or 1


def _align(off: int, t: Type) -> int:
    a = _alignment(t)
    return (off + a - 1) & ~(a - 1)


def _from_bytes(t: Type, raw: bytes, mem, strsize: int, call: Call, retval, depth: int = 0) -> Arg:
    """A value of type ``t`` laid out in ``raw`` (a struct field, an array element)."""
    if t.kind == "struct":
        values, texts = [], []
        off = 0
        for f in t.fields:
            off = _align(off, f)
            a = _from_bytes(f, raw[off : off + _size(f)], mem, strsize, call, retval, depth)
            off += _size(f)
            if f.kind != "hide":
                values.append(a.value)
                texts.append(a.text)
        return Arg("{ " + ", ".join(texts) + " }", values)
    if t.kind == "array" and isinstance(t.length, int):
        size = _size(t.elem)
        elems = [_from_bytes(t.elem, raw[i * size : (i + 1) * size], mem, strsize, call, retval,
                             depth) for i in range(min(t.length, ARRAY_ELEMENTS))]  # fmt: skip
        return _array_text(elems, t.length)
    value = int.from_bytes(raw[: _size(t)], "little")
    return _typed(t, value, mem, strsize, call, retval, depth)


#: Elements of an array shown before "..." (ltrace's -A default).
ARRAY_ELEMENTS = 4
#: Pointers followed into structures before "..." (recursive types, cycles).
MAX_DEPTH = 4


def _array_text(elems: list, n: int) -> Arg:
    cut = "..." if n > len(elems) else ""
    return Arg("[ " + ", ".join(a.text for a in elems) + cut + " ]", [a.value for a in elems])


def _pointed(t: Type, addr: int, mem, strsize: int, call: Call, retval, depth: int = 1) -> Arg:
    """What a pointer points at, as ltrace prints it: ``{1, 2}``, ``[1, 2, 3]``,
    ``nil`` for NULL."""
    if not addr:
        return Arg("nil", None)
    if depth > MAX_DEPTH:  # a recursive structure (a linked list): ltrace's "..."
        return Arg("...", addr)
    try:
        if t.kind == "array":
            n = _resolve_length(t.length, call, retval)
            if n is None or n < 0:
                return _addr(addr)
            size = _size(t.elem)
            raw = _read(mem, addr, size * min(n, ARRAY_ELEMENTS))
            elems = [_from_bytes(t.elem, raw[i * size : (i + 1) * size], mem, strsize, call,
                                 retval, depth) for i in range(len(raw) // size)]  # fmt: skip
            return _array_text(elems, n)
        if t.kind == "struct":
            return _from_bytes(t, _read(mem, addr, _size(t)), mem, strsize, call, retval, depth)
        if t.kind in ("string", "format"):
            return _string(mem, _u64_at(mem, addr) or 0, strsize)
        inner = _from_bytes(t, _read(mem, addr, _size(t)), mem, strsize, call, retval, depth)
        return Arg(f"[{inner.text}]", inner.value) if t.kind != "char" else inner
    except OSError:
        return _addr(addr)
