"""Built-in topology families, registered as a plugin (see ``builtin``)."""
