/* Functions of a library of the test's own, for -F prototypes (ltrace.conf
 * syntax): protos.conf describes them; ltrace and pycoz decode the same calls.
 * Built as libpycozprotos.so and as a program calling it (argv[1] "stop":
 * print the arguments and stop, as calls.c does). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

struct pt { int x; short y; long z; };

#ifdef LIB
int pyc_point(struct pt *p, const char *name, int n, int *arr, unsigned flags, char c) {
    return p->x + n + (int)flags + c + (int)strlen(name) + arr[0];
}
long pyc_mode(int mode, unsigned bits, int yes, int perm, unsigned short u, long neg) {
    return mode + bits + yes + perm + u + neg;
}
int pyc_fill(char *out, int size) { return snprintf(out, size, "filled %d", size); }
#else
int pyc_point(struct pt *, const char *, int, int *, unsigned, char);
long pyc_mode(int, unsigned, int, int, unsigned short, long);
int pyc_fill(char *, int);
#define P(x) ((unsigned long)(x))
int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    static struct pt p = {7, -3, 1L << 40};
    static int arr[] = {1, 2, 3, 4, 5};
    static char name[] = "tab\there";
    int rc = pyc_point(&p, name, 5, arr, 0xbeef, 'Z');
    printf("pyc_point %x %lx %lx %x %lx %x %x\n", rc, P(&p), P(name), 5, P(arr), 0xbeef, 'Z');
    long r = pyc_mode(2, 0xb8, 3, 0755, 65535, -5);
    printf("pyc_mode %lx %x %x %x %x %x %lx\n", r, 2, 0xb8, 3, 0755, 65535, -5L);
    static char out[32];
    rc = pyc_fill(out, sizeof out);
    printf("pyc_fill %x %lx %lx\n", rc, P(out), P(sizeof out));
    /* A variadic call: three arguments in registers, the rest on the stack
     * ("sp=": the stack at entry as the callee sees it, return address first). */
    static char fmt[] = "%d %s %x %c %lu %p %5.2s|%%|%-3d %hhd\n";
    static char str[] = "str", abc[] = "abcdef";
    static char printed[64];
    rc = snprintf(printed, sizeof printed, fmt, -5, str, 255, 'q', 123456789012UL,
                  (void *)0x1234, abc, 7, 300);
    unsigned long frame[] = {0, 'q', 123456789012UL, 0x1234, P(abc), 7, 300};
    printf("snprintf %x %lx %lx %lx %lx %lx %x sp=%lx\n", rc, P(printed), P(sizeof printed),
           P(fmt), -5L, P(str), 255, P(frame));
    if (argc > 1)
        raise(SIGSTOP);
    return 0;
}
#endif
