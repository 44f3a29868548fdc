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

/* Declared with fixed integer arguments (glibc's is variadic: same registers on
   x86_64 and aarch64 for integer and pointer arguments), so that the hot path
   passes plain ints and needs no cdata casts per call. */
long ptrace(int request, int pid, unsigned long addr, unsigned long data);

struct ptrace_syscall_info {
    uint8_t op;
    uint8_t pad[3];
    uint32_t arch;
    uint64_t instruction_pointer;
    uint64_t stack_pointer;
    union {
        struct { uint64_t nr; uint64_t args[6]; } entry;
        struct { int64_t rval; uint8_t is_error; } exit;
        struct { uint64_t nr; uint64_t args[6]; uint32_t ret_data; } seccomp;
    };
};

struct iovec {
    void *iov_base;
    size_t iov_len;
};
ssize_t process_vm_readv(int pid, const struct iovec *local_iov, unsigned long liovcnt,
                         const struct iovec *remote_iov, unsigned long riovcnt,
                         unsigned long flags);

struct sock_filter {
    uint16_t code;
    uint8_t jt;
    uint8_t jf;
    uint32_t k;
};
struct sock_fprog {
    unsigned short len;
    struct sock_filter *filter;
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
