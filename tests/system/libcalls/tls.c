/* A TLS client and server in one process, talking through memory BIOs, for
 * pycoz's TLS decoders (tests/system/test_libcalls.py).  argv: CERT KEY [stop].
 * Prints "NAME RETVAL ARG0 ARG1 ..." in hex for the calls the test decodes, then
 * stops itself (SIGSTOP) with the plaintext still in its buffers. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define P(x) ((unsigned long)(x))

static void pump(BIO *from, BIO *to) {
    char buf[16384];
    int n;
    while ((n = BIO_read(from, buf, sizeof buf)) > 0)
        BIO_write(to, buf, n);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    SSL_CTX *sctx = SSL_CTX_new(TLS_server_method()), *cctx = SSL_CTX_new(TLS_client_method());
    if (SSL_CTX_use_certificate_file(sctx, argv[1], SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(sctx, argv[2], SSL_FILETYPE_PEM) != 1) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    SSL *server = SSL_new(sctx), *client = SSL_new(cctx);
    BIO *c_in = BIO_new(BIO_s_mem()), *c_out = BIO_new(BIO_s_mem());
    BIO *s_in = BIO_new(BIO_s_mem()), *s_out = BIO_new(BIO_s_mem());
    SSL_set_bio(client, c_in, c_out);
    SSL_set_bio(server, s_in, s_out);
    SSL_set_connect_state(client);
    SSL_set_accept_state(server);
    static char sni[] = "h2.pycoz.test";
    long rc = SSL_ctrl(client, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, sni);
    printf("SSL_ctrl %lx %lx %x %x %lx\n", rc, P(client), SSL_CTRL_SET_TLSEXT_HOSTNAME,
           TLSEXT_NAMETYPE_host_name, P(sni));
    for (int i = 0; i < 10 && !(SSL_is_init_finished(client) && SSL_is_init_finished(server)); i++) {
        SSL_do_handshake(client);
        pump(c_out, s_in);
        SSL_do_handshake(server);
        pump(s_out, c_in);
    }
    long verify = SSL_get_verify_result(client);
    printf("SSL_get_verify_result %lx %lx\n", verify, P(client));
    int r = SSL_read(client, (char[8]){0}, 8);
    int e = SSL_get_error(client, r);
    printf("SSL_get_error %x %lx %x\n", e, P(client), r);

    static char msg[] = "GET /secret HTTP/1.1\r\nHost: h2\r\n\r\n";
    int w = SSL_write(client, msg, sizeof msg - 1);
    printf("SSL_write %x %lx %lx %lx\n", w, P(client), P(msg), P(sizeof msg - 1));
    pump(c_out, s_in);
    static char buf[4096];
    size_t got = 0;
    int ok = SSL_read_ex(server, buf, sizeof buf, &got);
    printf("SSL_read_ex %x %lx %lx %lx %lx\n", ok, P(server), P(buf), P(sizeof buf), P(&got));
    static char reply[] = "HTTP/1.1 200 OK\r\n\r\nplain\0text";
    size_t written = 0;
    ok = SSL_write_ex(server, reply, sizeof reply - 1, &written);
    printf("SSL_write_ex %x %lx %lx %lx %lx\n", ok, P(server), P(reply), P(sizeof reply - 1),
           P(&written));
    pump(s_out, c_in);
    static char back[4096];
    r = SSL_read(client, back, sizeof back);
    printf("SSL_read %x %lx %lx %lx\n", r, P(client), P(back), P(sizeof back));
    if (argc > 3)
        raise(SIGSTOP);
    return 0;
}
