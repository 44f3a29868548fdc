/* GnuTLS calls for pycoz's TLS decoders (tests/system/test_libcalls.py): a
 * client session whose transport is a socket pair's closed end, so the
 * handshake fails for real; the SNI set for real; a send before any handshake.
 * Prints "NAME RETVAL ARG0 ..." in hex and stops itself (argv[1] "stop"). */
#include <gnutls/gnutls.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define P(x) ((unsigned long)(x))

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGPIPE, SIG_IGN); /* the closed peer: EPIPE, not death */
    gnutls_certificate_credentials_t cred;
    gnutls_certificate_allocate_credentials(&cred);
    gnutls_session_t s;
    gnutls_init(&s, GNUTLS_CLIENT);
    gnutls_set_default_priority(s);
    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
    static char name[] = "h2.pycoz.test";
    int rc = gnutls_server_name_set(s, GNUTLS_NAME_DNS, name, sizeof name - 1);
    printf("gnutls_server_name_set %x %lx %x %lx %lx\n", rc, P(s), GNUTLS_NAME_DNS, P(name),
           P(sizeof name - 1));
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    close(sv[1]);
    gnutls_transport_set_int(s, sv[0]);
    rc = gnutls_handshake(s);
    printf("gnutls_handshake %x %lx\n", rc, P(s));
    static char msg[] = "GET / HTTP/1.1\r\n";
    ssize_t n = gnutls_record_send(s, msg, sizeof msg - 1);
    printf("gnutls_record_send %lx %lx %lx %lx\n", (unsigned long)n, P(s), P(msg), P(sizeof msg - 1));
    if (argc > 1)
        raise(SIGSTOP);
    return 0;
}
