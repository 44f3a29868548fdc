"""The tracer: ptrace loop, seccomp prefilter, decoding, formats, fault injection."""
