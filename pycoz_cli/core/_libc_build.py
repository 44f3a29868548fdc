"""cffi declarations for the libc calls pycoz needs, in out-of-line ABI mode.

Running this module writes ``_libc_cffi.py`` beside it: a pure-Python file that
holds the declarations pre-parsed, so that importing the bindings parses no C and
needs no compiler (``pip install .`` works on a machine without gcc).  The
generated file is committed; ``tests/unit/test_libc.py`` fails when it differs
from what this script would write now.

    python -m pycoz_cli.core._libc_build
"""

from __future__ import annotations

import pathlib

CDEF = """
int unshare(int flags);
int setns(int fd, int nstype);
int mount(const char *source, const char *target, const char *filesystemtype,
          unsigned long mountflags, const void *data);
int umount2(const char *target, int flags);
int prctl(int option, unsigned long arg2, unsigned long arg3,
          unsigned long arg4, unsigned long arg5);
int sethostname(const char *name, size_t len);
long syscall(long number, ...);

struct mount_attr {
    uint64_t attr_set;
    uint64_t attr_clr;
    uint64_t propagation;
    uint64_t userns_fd;
};
"""

MODULE = "pycoz_cli.core._libc_cffi"


def make_ffibuilder():
    import cffi

    ffibuilder = cffi.FFI()
    ffibuilder.cdef(CDEF)
    ffibuilder.set_source(MODULE, None)
    return ffibuilder


def generated_path() -> pathlib.Path:
    return pathlib.Path(__file__).with_name("_libc_cffi.py")


def render() -> str:
    """The text of the generated module, as this version of cffi writes it."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        written = make_ffibuilder().emit_python_code(str(pathlib.Path(tmp, "out.py")))
        del written
        return pathlib.Path(tmp, "out.py").read_text()


if __name__ == "__main__":
    generated_path().write_text(render())
    print(f"wrote {generated_path()}")
