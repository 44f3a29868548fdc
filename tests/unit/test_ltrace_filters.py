"""ltrace's -e/-x chains as pycoz reads them (``breakpoints.parse_chain``)."""

from __future__ import annotations

import pytest

from pycoz_cli.core.trace.breakpoints import parse_chain
from pycoz_cli.errors import SpecError


def rules(text: str) -> list[tuple]:
    return [rule[:3] for rule in parse_chain(text, "caller")]


@pytest.mark.parametrize(
    "text, expected",
    [
        # ltrace(1)'s own example: + and - between rules, - before @LIB.
        ("malloc+free-@libc.so*", [("+", "malloc", None), ("+", "free", None),
                                   ("-", None, "libc.so*")]),
        ("calc+printf-printf", [("+", "calc", None), ("+", "printf", None),
                                ("-", "printf", None)]),
        ("-atoi", [("-", "atoi", None)]),
        ("@", [("+", None, None)]),  # everything, as ltrace's
        ("-@libc.so*", [("-", None, "libc.so*")]),
        ("a@libx-b@liby", [("+", "a", "libx"), ("-", "b", "liby")]),
        ("SSL_*@libssl.so*-SSL_free", [("+", "SSL_*", "libssl.so*"), ("-", "SSL_free", None)]),
        ("getaddrinfo@libc.so.6+%dns", [("+", "getaddrinfo", "libc.so.6"), ("+", "%dns", None)]),
        # A - or + inside a library pattern that cannot start a rule is part
        # of the name (ltrace 0.7.3 would cut it there and trace nothing).
        ("getenv@libc-2.31.so", [("+", "getenv", "libc-2.31.so")]),
        ("@libfoo-bar.so*", [("+", None, "libfoo-bar.so*")]),
        ("atoi@libfoo-bar.so*-wrap", [("+", "atoi", "libfoo-bar.so*"), ("-", "wrap", None)]),
        ("-atoi@libdbus-1.so.3", [("-", "atoi", "libdbus-1.so.3")]),
        ("@libstdc++.so.6", [("+", None, "libstdc++.so.6")]),
        ("atoi+wrap@libfoo-*-wrap", [("+", "atoi", None), ("+", "wrap", "libfoo-*"),
                                     ("-", "wrap", None)]),
        ("@libfoo-bar.so-@libc.so*", [("+", None, "libfoo-bar.so"), ("-", None, "libc.so*")]),
        # What reads as a symbol after the - is a rule: ? stands for the -.
        ("atoi@libxcb-shm*", [("+", "atoi", "libxcb"), ("-", "shm*", None)]),
        ("atoi@libxcb?shm*", [("+", "atoi", "libxcb?shm*")]),
    ],
)  # fmt: skip
def test_chains(text, expected):
    assert rules(text) == expected


@pytest.mark.parametrize("text", ["", "a++b", "a+", "a b", "f(x)"])
def test_malformed_chains_are_refused(text):
    with pytest.raises(SpecError):
        parse_chain(text, "caller")
