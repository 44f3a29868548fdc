"""Built-in tracers, registered as a plugin (see ``builtin``)."""
