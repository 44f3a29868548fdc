"""The classes of library functions the decoders know (``-e %dns`` and the
others), apart from the decoders (``libcalls``): ``pycoz ltrace`` imports those
only for a function they decode, not at start-up."""

from __future__ import annotations

#: ltrace-style classes of functions, for ``-e %dns`` and friends.  Names as
#: glibc >= 2.34 exports them from libc (res_* were libresolv's before) and as
#: libresolv still does (``__res_query``...).
CLASSES: dict[str, tuple[str, ...]] = {
    "dns": (
        "getaddrinfo",
        "freeaddrinfo",
        "getnameinfo",
        "gai_strerror",
        "gethostbyname",
        "gethostbyname2",
        "gethostbyname_r",
        "gethostbyname2_r",
        "gethostbyaddr",
        "gethostbyaddr_r",
        "res_query",
        "res_search",
        "res_querydomain",
        "res_nquery",
        "res_nsearch",
        "res_nquerydomain",
        "__res_query",
        "__res_search",
        "__res_querydomain",
        "__res_nquery",
        "__res_nsearch",
        "__res_nquerydomain",
    ),
    "tls": (
        "SSL_write",
        "SSL_write_ex",
        "SSL_read",
        "SSL_read_ex",
        "SSL_peek",
        "SSL_peek_ex",
        "SSL_connect",
        "SSL_accept",
        "SSL_do_handshake",
        "SSL_shutdown",
        "SSL_get_error",
        "SSL_ctrl",
        "SSL_set1_host",
        "SSL_get_verify_result",
        "gnutls_record_send",
        "gnutls_record_recv",
        "gnutls_handshake",
        "gnutls_server_name_set",
        "gnutls_bye",
    ),
    "dl": ("dlopen", "dlmopen", "dlsym", "dlvsym", "dlclose", "dlerror"),
    "env": ("getenv", "secure_getenv", "setenv", "unsetenv", "putenv", "clearenv"),
}
