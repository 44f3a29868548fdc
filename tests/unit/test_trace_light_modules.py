"""The library-call decoders and the unwinder load nothing heavy, and refuse
what they cannot do in one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pycoz_cli.core.trace import libcalls, unwind
from pycoz_cli.errors import SpecError


@pytest.mark.parametrize("module", ["libcalls", "unwind"])
def test_importing_loads_no_cffi_ptrace_or_pyelftools(module):
    code = (
        f"import sys, pycoz_cli.core.trace.{module}; "
        "print(sorted(m for m in ('cffi', 'ptrace', 'elftools', 'pycoz_cli.core.libc') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "[]\n"


def test_an_unknown_architecture_is_refused_in_one_line(monkeypatch):
    monkeypatch.setattr(unwind, "_MACHINE", "riscv64")
    with pytest.raises(SpecError, match=r"^-k: stack traces are not supported on riscv64$"):
        unwind.check_machine("-k")


def test_registers_without_the_pc_are_refused():
    with pytest.raises(OSError, match="not supported"):
        unwind.Unwinder().stack(1, {"r15": 0}, None)


def test_constants_for_inject_values():
    assert libcalls.constant("EAI_AGAIN") == -3
    assert libcalls.constant("SSL_ERROR_WANT_READ") == 2
    assert libcalls.constant("X509_V_ERR_HOSTNAME_MISMATCH") == 62
    assert libcalls.constant("AI_ADDRCONFIG") == 0x20
    with pytest.raises(KeyError):
        libcalls.constant("EAI_NOPE")


def test_classes_name_known_functions():
    for name, functions in libcalls.CLASSES.items():
        assert functions, name
        assert all(libcalls.known(f) for f in functions), name
    assert not libcalls.known("strlen")


def test_the_classes_name_every_function_the_decoders_decode():
    """``callout`` imports the decoders only for the functions the classes
    name (libclasses, a light module): a decoder outside every class would
    never run."""
    from pycoz_cli.core.trace import callout

    assert set(libcalls._EXIT) == callout.DECODED


def test_every_decoder_shows_the_parameters_it_names():
    """PARAMETERS (for tampering by name) and the decoders agree on how many
    arguments each function has: decoded with NULLs and zeros, from this
    process's own memory (nothing is read through a NULL)."""
    import os

    from pycoz_cli.core.trace.ptrace import Memory

    mem = Memory(os.getpid())
    try:
        for name, params in libcalls.PARAMETERS.items():
            state = libcalls.entry(name, [0] * 8, mem, 32)
            text, _, _ = libcalls.exit(name, state, 0, mem, 32)
            shown = text.split(", ") if text else []
            assert len(shown) == len(params), (name, text, params)
    finally:
        mem.close()


def test_parameters_by_name_and_by_number():
    assert libcalls.parameter("getaddrinfo", "node") == (0, "string")
    assert libcalls.parameter("getaddrinfo", "arg2") == (1, "string")
    assert libcalls.parameter("SSL_write", "buf") == (1, "buffer")
    assert libcalls.parameter("res_nquery", "dname") == (1, "string")
    with pytest.raises(ValueError, match=r"^getaddrinfo has no argument 'nod' \(it has: node, "):
        libcalls.parameter("getaddrinfo", "nod")


def test_a_call_that_never_returned_shows_what_entry_read():
    import os

    from pycoz_cli.core.trace.ptrace import Memory

    mem = Memory(os.getpid())
    try:
        state = libcalls.entry("getaddrinfo", [0, 0, 0, 0x7FFC0000, 0, 0], mem, 32)
        assert libcalls.exit("getaddrinfo", state, None, mem) == (
            "nil, nil, nil, 0x7ffc0000",
            "",
            "",
        )
        assert libcalls.json_values("getaddrinfo", state, None, mem)["args"] == [
            None, None, None, 0x7FFC0000
        ]  # fmt: skip
        state = libcalls.entry("pyfoo", [1, 2, 3, 4, 5, 6], mem, 32)
        assert libcalls.exit("pyfoo", state, None, mem) == ("1, 2, 3, 4", "", "")
    finally:
        mem.close()


def test_a_cyclic_list_in_a_prototype_ends(tmp_path):
    """typedef node = struct; typedef node = struct(int, node*): a list whose
    last element points back at the first, built in this process's memory, is
    followed a few pointers deep and then cut with "..."."""
    import ctypes
    import os

    from pycoz_cli.core.trace.ptrace import Memory

    class Node(ctypes.Structure):
        pass

    Node._fields_ = [("value", ctypes.c_int), ("next", ctypes.POINTER(Node))]
    a, b = Node(1), Node(2)
    a.next, b.next = ctypes.pointer(b), ctypes.pointer(a)
    conf = tmp_path / "list.conf"
    conf.write_text(
        "typedef node = struct;\ntypedef node = struct(int, node*);\nint walk(node*);\n"
    )
    protos = libcalls.load_prototypes(str(conf))
    mem = Memory(os.getpid())
    try:
        state = libcalls.entry("walk", [ctypes.addressof(a)], mem, 32, prototypes=protos)
        text, result, _ = libcalls.exit("walk", state, 0, mem, 32)
    finally:
        mem.close()
    assert text == "{ 1, { 2, { 1, { 2, ... } } } }"
    assert result == "0"
