"""The plugin module (entry point ``files`` of group ``pycoz``); the tracer itself
is imported only when it is chosen."""

from __future__ import annotations

from pycoz_cli.plugin_api import hookimpl

#: What the tracer must see; the seccomp prefilter lets every other call run.
SYSCALLS = (
    "open",
    "openat",
    "openat2",
    "creat",
    "read",
    "pread64",
    "readv",
    "preadv",
    "preadv2",
    "write",
    "pwrite64",
    "writev",
    "pwritev",
    "pwritev2",
    "copy_file_range",
    "sendfile",
    "splice",
    "mmap",
    "close",
    "dup",
    "dup2",
    "dup3",
    "fcntl",
    "stat",
    "lstat",
    "newfstatat",
    "statx",
    "access",
    "faccessat",
    "faccessat2",
    "readlink",
    "readlinkat",
    "execve",
    "execveat",
)


def files(out, **options):
    from pycoz_files.tracer import FilesTracer

    return FilesTracer(out, **options)


@hookimpl
def register_tracers(register):
    register(
        "files",
        files,
        SYSCALLS,
        "which paths the program opened, read, wrote and failed to find",
    )
