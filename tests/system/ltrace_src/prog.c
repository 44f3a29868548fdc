#define _GNU_SOURCE
/* A program for the library-call tests: calls atoi (and calc, from libcalc
 * unless static) in ways picked by argv[1]. */
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long calc(long a, long b);

static void *worker(void *arg) {
    long sum = 0;
    char buf[16];
    for (int i = 0; i < 50; i++) {
        snprintf(buf, sizeof buf, "%d", i);
        sum += atoi(buf);
    }
    return (void *)sum;
}

static void *checker(void *arg) {
    /* Forever: 2000 calls of atoi and calc, each result checked; a line per round. */
    char b[16];
    for (long n = 0;; n++) {
        long sum = 0;
        for (int i = 0; i < 2000; i++) {
            snprintf(b, sizeof b, "%d", i);
            sum += calc(atoi(b), 0);
        }
        if (sum != 1999000) { printf("WRONG %ld\n", sum); fflush(stdout); exit(1); }
        printf("ok %ld %ld\n", (long)arg, n); fflush(stdout);
        usleep(1000);
    }
    return NULL;
}

static char *self_path;

static void *exec_plain(void *arg) {
    execl(self_path, self_path, "plain", (char *)NULL);
    return NULL;
}

/* clone(CLONE_VM | SIGCHLD): a process of its own (the tracer is told of a
 * fork) that shares its parent's memory, and so its breakpoints.  Both call
 * calc from the same call site at the same time; nothing else (no stdio: the
 * two share one TLS).  The parent starts once the child has made a call. */
static long __attribute__((noinline)) calc_site(long i) { return calc(i, 1); }

/* A function whose first instruction pycoz cannot emulate (lea): stepping
 * over its entry breakpoint runs a copy of it in a scratch page. */
__attribute__((naked, noinline)) long lea_add(long a, long b) {
    __asm__("lea (%rdi,%rsi,1), %rax\n\tret");
}
static volatile long vm_child_sum, vm_child_started;
static int vm_child_pause; /* us between the child's calls ("loop": it lives long) */

static int vm_child(void *arg) {
    long sum = 0;
    for (long i = 0; i < (long)arg; i++) {
        sum += calc_site(i);
        vm_child_started = 1;
        if (vm_child_pause) usleep(vm_child_pause);
    }
    vm_child_sum = sum;
    return 3;
}

/* One round: the parent's sum, the child's in *child, its status (or -1). */
static long clone_vm_round(long n, long *child, int *status) {
    static char stack[1 << 16] __attribute__((aligned(16)));
    long sum = 0;
    int st;
    vm_child_started = vm_child_sum = 0;
    pid_t pid = clone(vm_child, stack + sizeof stack, CLONE_VM | SIGCHLD, (void *)n);
    if (pid < 0) { perror("clone"); exit(1); }
    while (n && !vm_child_started) {}
    for (long i = 0; i < n; i++) sum += calc_site(i);
    if (waitpid(pid, &st, 0) != pid) { perror("waitpid"); exit(1); }
    *child = vm_child_sum;
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return sum;
}

static long fact(long n) { return n <= 1 ? 1 : n * calc(fact(n - 1), 0) / (n - 1 ? n - 1 : 1) ; }

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "plain";
    if (!strcmp(mode, "plain")) {
        int total = 0;
        for (int i = 1; i <= 3; i++) { char b[4]; snprintf(b, sizeof b, "%d", i * 7); total += atoi(b); }
        printf("total %d\n", total);
        return 0;
    }
    if (!strcmp(mode, "calc")) {
        printf("calc %ld %ld\n", calc(2, 3), calc(40, 2));
        return 0;
    }
    if (!strcmp(mode, "threads")) {
        pthread_t t[4];
        long total = 0;
        for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker, NULL);
        for (int i = 0; i < 4; i++) { void *r; pthread_join(t[i], &r); total += (long)r; }
        printf("threads %ld\n", total);
        return 0;
    }
    if (!strcmp(mode, "fork")) {
        pid_t pid = fork();
        if (pid == 0) { printf("child %d\n", atoi("11")); return 3; }
        int st;
        waitpid(pid, &st, 0);
        printf("parent %d child-status %d\n", atoi("22"), WEXITSTATUS(st));
        return 0;
    }
    if (!strcmp(mode, "vfork")) {
        pid_t pid = vfork();
        if (pid == 0) { execl(argv[0], argv[0], "plain", (char *)NULL); _exit(127); }
        int st;
        waitpid(pid, &st, 0);
        printf("parent %d child-status %d\n", atoi("22"), WEXITSTATUS(st));
        return 0;
    }
    if (!strcmp(mode, "clone-vm")) {
        /* argv[2] calls in each (default 200); "loop" after it: rounds until
         * killed, each checked, a line per round. */
        long n = argc > 2 ? atol(argv[2]) : 200, child;
        int status;
        if (argc > 3 && !strcmp(argv[3], "loop")) {
            vm_child_pause = 100; /* a child is alive most of the time: at an attach too */
            for (long round = 0;; round++) {
                long sum = clone_vm_round(n, &child, &status);
                if (sum != n * (n + 1) / 2 || child != sum || status != 3) {
                    printf("WRONG %ld %ld %d\n", sum, child, status);
                    fflush(stdout);
                    exit(1);
                }
                printf("ok %ld\n", round);
                fflush(stdout);
                usleep(1000);
            }
        }
        long sum = clone_vm_round(n, &child, &status);
        printf("clone-vm parent %ld child %ld child-status %d\n", sum, child, status);
        return 0;
    }
    if (!strcmp(mode, "fork-on-input")) {
        /* A byte on stdin: 'c' calls lea_add (its entry is stepped over from
         * a scratch copy), 'f' forks (the child exits 0 at
         * once), 'q' ends; a line for each, so a test knows where it is. */
        int c;
        while ((c = getchar()) != EOF && c != 'q') {
            if (c == 'c') printf("calc %ld\n", lea_add(2, 3));
            if (c == 'f') {
                pid_t pid = fork();
                if (pid < 0) { perror("fork"); exit(1); }
                if (pid == 0) _exit(0);
                int st;
                waitpid(pid, &st, 0);
                printf("forked %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
            }
            fflush(stdout);
        }
        return 0;
    }
    if (!strcmp(mode, "exec")) {
        printf("before %d\n", atoi("5"));
        fflush(stdout);
        execl(argv[0], argv[0], "plain", (char *)NULL);
        return 127;
    }
    if (!strcmp(mode, "dlopen")) {
        void *h = dlopen(argv[2], RTLD_NOW);
        if (!h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
        long (*f)(long, long) = (long (*)(long, long))dlsym(h, "calc");
        printf("dl %ld\n", f(5, 6));
        return 0;
    }
    if (!strcmp(mode, "thread-exec")) {
        /* A thread other than the leader execs: it takes over the leader's pid. */
        pthread_t t;
        printf("before %d\n", atoi("5"));
        fflush(stdout);
        self_path = argv[0];
        pthread_create(&t, NULL, exec_plain, NULL);
        pause();
    }
    if (!strcmp(mode, "dlcycle")) {
        /* Open, call and close the library three times. */
        for (int i = 0; i < 3; i++) {
            void *h = dlopen(argv[2], RTLD_NOW);
            if (!h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
            long (*f)(long, long) = (long (*)(long, long))dlsym(h, "calc");
            printf("dl %ld\n", f(i, 10));
            dlclose(h);
        }
        return 0;
    }
    if (!strcmp(mode, "recurse")) {
        printf("fact %ld\n", fact(5));
        return 0;
    }
    if (!strcmp(mode, "many") || !strcmp(mode, "others")) {
        /* argv[2] calls of calc ("many") or of atoi, calc never called ("others"). */
        long n = argc > 2 ? atol(argv[2]) : 1000, sum = 0;
        int many = !strcmp(mode, "many");
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (long i = 0; i < n; i++) sum += many ? calc(i, 1) : atoi("12");
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
        printf("%s %ld %.3f\n", mode, sum, n ? ns / n : 0.0);  /* ns per call */
        return 0;
    }
    if (!strcmp(mode, "loop")) {
        /* Runs until killed: argv[2] threads (default 1) checking their calls. */
        int n = argc > 2 ? atoi(argv[2]) : 1;
        pthread_t t;
        for (long i = 1; i < n; i++) pthread_create(&t, NULL, checker, (void *)i);
        checker((void *)0);
    }
    return 2;
}
