/* Real library-call structures for pycoz's decoders (tests/system/test_libcalls.py).
 * Each call is made for real; its arguments and result are printed as
 * "NAME RETVAL ARG0 ARG1 ...", in hex, before the program stops itself
 * (SIGSTOP) so that the test reads its memory as the tracer would. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netdb.h>
#include <resolv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define P(x) ((unsigned long)(x))

int main(int argc, char **argv) {
    int stop = argc > 1 && strcmp(argv[1], "stop") == 0;
    setvbuf(stdout, NULL, _IONBF, 0);

    static char node[] = "198.18.0.2", node6[] = "2001:db8::2", bad[] = "not-numeric";
    static char serv[] = "8000";
    struct addrinfo hints = {0}, *res = NULL, *res6 = NULL, *resbad = NULL;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_CANONNAME;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(node, serv, &hints, &res);
    printf("getaddrinfo %x %lx %lx %lx %lx\n", rc, P(node), P(serv), P(&hints), P(&res));
    struct addrinfo hints6 = {0};
    hints6.ai_flags = AI_NUMERICHOST | AI_ADDRCONFIG;
    hints6.ai_family = AF_INET6;
    rc = getaddrinfo(node6, NULL, &hints6, &res6);
    printf("getaddrinfo %x %lx %lx %lx %lx\n", rc, P(node6), 0UL, P(&hints6), P(&res6));
    rc = getaddrinfo(bad, serv, &hints, &resbad);
    printf("getaddrinfo %x %lx %lx %lx %lx\n", rc, P(bad), P(serv), P(&hints), P(&resbad));

    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(8000)};
    inet_pton(AF_INET, "198.18.0.2", &sin.sin_addr);
    static char host[64], service[32];
    rc = getnameinfo((struct sockaddr *)&sin, sizeof sin, host, sizeof host, service,
                     sizeof service, NI_NUMERICHOST | NI_NUMERICSERV);
    printf("getnameinfo %x %lx %lx %lx %lx %lx %lx %x\n", rc, P(&sin), P(sizeof sin), P(host),
           P(sizeof host), P(service), P(sizeof service), NI_NUMERICHOST | NI_NUMERICSERV);

    static char hname[] = "198.18.0.9";
    struct hostent *he = gethostbyname(hname);
    printf("gethostbyname %lx %lx\n", P(he), P(hname));
    struct hostent heb, *found = NULL;
    static char buf[1024];
    int herr = 0;
    rc = gethostbyname_r(hname, &heb, buf, sizeof buf, &found, &herr);
    printf("gethostbyname_r %x %lx %lx %lx %lx %lx %lx\n", rc, P(hname), P(&heb), P(buf),
           P(sizeof buf), P(&found), P(&herr));

    struct hostent heb2, *found2 = NULL;
    static char buf2[1024];
    int herr2 = 0;
    rc = gethostbyname2_r(hname, AF_INET, &heb2, buf2, sizeof buf2, &found2, &herr2);
    /* The x86_64 stack at the call's entry: the return address, then the seventh
     * argument; "sp=" gives the test its address. */
    unsigned long frame[2] = {0, P(&herr2)};
    printf("gethostbyname2_r %x %lx %x %lx %lx %lx %lx sp=%lx\n", rc, P(hname), AF_INET, P(&heb2),
           P(buf2), P(sizeof buf2), P(&found2), P(frame));

    /* A DNS reply in memory as res_query leaves it (made here: no resolver is asked). */
    static unsigned char answer[512];
    static char dname[] = "h2.pycoz.test";
    int qlen = res_mkquery(QUERY, dname, C_IN, T_A, NULL, 0, NULL, answer, sizeof answer);
    HEADER *hp = (HEADER *)answer;
    hp->qr = 1;
    hp->ancount = htons(2);
    unsigned char rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 18, 0, 2,
                          0xc0, 0x0c, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16,
                          0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    memcpy(answer + qlen, rr, sizeof rr);
    printf("res_query %lx %lx %x %x %lx %lx\n", qlen + sizeof rr, P(dname), C_IN, T_A, P(answer),
           P(sizeof answer));

    static char var[] = "PYCOZ_VAR", val[] = "va\"l\n\tue\001\\";
    rc = setenv(var, val, 1);
    printf("setenv %x %lx %lx %x\n", rc, P(var), P(val), 1);
    char *got = getenv(var);
    printf("getenv %lx %lx\n", P(got), P(var));
    static char unset[] = "PYCOZ_NOT_SET_ANYWHERE";
    got = getenv(unset);
    printf("getenv %lx %lx\n", P(got), P(unset));

    static char lib[] = "libm.so.6", sym[] = "cos", nolib[] = "pycoz-no-such-lib.so";
    void *h = dlopen(lib, RTLD_NOW | RTLD_GLOBAL);
    printf("dlopen %lx %lx %x\n", P(h), P(lib), RTLD_NOW | RTLD_GLOBAL);
    void *f = dlsym(h, sym);
    printf("dlsym %lx %lx %lx\n", P(f), P(h), P(sym));
    void *none = dlopen(nolib, RTLD_LAZY);
    printf("dlopen %lx %lx %x\n", P(none), P(nolib), RTLD_LAZY);
    char *err = dlerror();
    printf("dlerror %lx\n", P(err));
    if (stop)
        raise(SIGSTOP);
    return 0;
}
