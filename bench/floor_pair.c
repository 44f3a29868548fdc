/* The kernel's share of one test of bench_pytest.py, with no interpreter in
 * the way: what a test of a `pair` network and one command in each host asks
 * of the kernel when every command runs in a container as pycoz's do.
 *
 *     floor_pair N        run N such tests back to back
 *
 * Each test: two network namespaces (children that unshare CLONE_NEWNET and
 * wait), a veth pair with one end in each (rtnetlink, IFLA_NET_NS_FD), lo and
 * eth0 up and an IPv4 and an IPv6 address on each eth0; then in each host a
 * container as pycoz's init makes one for a topology host: clone into new
 * pid, mount, UTS and IPC namespaces, join the host's network namespace, the
 * mounts pycoz's init makes (private propagation, /etc/hosts, /sys, a fresh
 * /dev with devpts, mqueue and shm, /proc with its read-only binds and masks),
 * posix_spawn /bin/true, wait, exit; then both namespaces are let go.
 * pycoz's own work beyond this (seccomp, capabilities, Landlock, its pipes and
 * its Python) is not here: this is a floor, not a model.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct req {
    struct nlmsghdr h;
    char body[1024];
};

static void attr(struct nlmsghdr *h, int type, const void *data, int len) {
    struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
    a->rta_type = type;
    a->rta_len = RTA_LENGTH(len);
    if (len) memcpy(RTA_DATA(a), data, len);
    h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static struct rtattr *nest(struct nlmsghdr *h, int type) {
    struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
    attr(h, type, NULL, 0);
    return a;
}

static void end(struct nlmsghdr *h, struct rtattr *a) {
    a->rta_len = (char *)h + h->nlmsg_len - (char *)a;
}

static void talk(int sock, struct nlmsghdr *h) {
    char buf[4096];
    h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    if (send(sock, h, h->nlmsg_len, 0) < 0) { perror("send"); exit(2); }
    int n = recv(sock, buf, sizeof buf, 0);
    struct nlmsgerr *e = NLMSG_DATA((struct nlmsghdr *)buf);
    if (n < 0 || e->error) { fprintf(stderr, "netlink: %s\n", strerror(-e->error)); exit(2); }
}

static int rtnl(void) {
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (s < 0) { perror("socket"); exit(2); }
    return s;
}

static void link_up(int sock, int index) {
    struct req r = {0};
    r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    r.h.nlmsg_type = RTM_NEWLINK;
    struct ifinfomsg *i = NLMSG_DATA(&r.h);
    i->ifi_index = index;
    i->ifi_flags = i->ifi_change = IFF_UP;
    talk(sock, &r.h);
}

static void address(int sock, int index, int family, const char *text, int plen) {
    struct req r = {0};
    unsigned char a[16];
    inet_pton(family, text, a);
    r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
    r.h.nlmsg_type = RTM_NEWADDR;
    r.h.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
    struct ifaddrmsg *m = NLMSG_DATA(&r.h);
    m->ifa_family = family;
    m->ifa_prefixlen = plen;
    m->ifa_index = index;
    if (family == AF_INET6) m->ifa_flags = IFA_F_NODAD;
    attr(&r.h, IFA_LOCAL, a, family == AF_INET ? 4 : 16);
    attr(&r.h, IFA_ADDRESS, a, family == AF_INET ? 4 : 16);
    talk(sock, &r.h);
}

static void veth(int sock, int fd_a, int fd_b) {
    struct req r = {0};
    r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    r.h.nlmsg_type = RTM_NEWLINK;
    r.h.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
    attr(&r.h, IFLA_IFNAME, "eth0", 5);
    attr(&r.h, IFLA_NET_NS_FD, &fd_a, 4);
    struct rtattr *info = nest(&r.h, IFLA_LINKINFO);
    attr(&r.h, IFLA_INFO_KIND, "veth", 4);
    struct rtattr *data = nest(&r.h, IFLA_INFO_DATA);
    struct rtattr *peer = nest(&r.h, VETH_INFO_PEER);
    r.h.nlmsg_len += NLMSG_ALIGN(sizeof(struct ifinfomsg));
    attr(&r.h, IFLA_IFNAME, "eth0", 5);
    attr(&r.h, IFLA_NET_NS_FD, &fd_b, 4);
    end(&r.h, peer);
    end(&r.h, data);
    end(&r.h, info);
    talk(sock, &r.h);
}

static void ro_bind(const char *p) {
    mount(p, p, NULL, MS_BIND | MS_REC, NULL);
    mount(NULL, p, NULL, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_REMOUNT | MS_BIND, NULL);
}

static int host_netns;

static int init(void *unused) {
    (void)unused;
    if (setns(host_netns, CLONE_NEWNET)) _exit(10);
    mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL);
    mount("floor", "/proc", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
    int f = open("/proc/hosts", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    write(f, "127.0.0.1\tlocalhost\n198.18.0.1\th1\n198.18.0.2\th2\n", 48);
    close(f);
    mount("/proc/hosts", "/etc/hosts", NULL, MS_BIND, NULL);
    mount("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    mount("tmpfs", "/dev", "tmpfs", MS_NOSUID, "mode=0755,size=64k");
    umask(0);
    mknod("/dev/null", S_IFCHR | 0666, makedev(1, 3));
    mknod("/dev/zero", S_IFCHR | 0666, makedev(1, 5));
    mknod("/dev/full", S_IFCHR | 0666, makedev(1, 7));
    mknod("/dev/random", S_IFCHR | 0666, makedev(1, 8));
    mknod("/dev/urandom", S_IFCHR | 0666, makedev(1, 9));
    mknod("/dev/tty", S_IFCHR | 0666, makedev(5, 0));
    symlink("pts/ptmx", "/dev/ptmx");
    symlink("/proc/self/fd", "/dev/fd");
    symlink("/proc/self/fd/0", "/dev/stdin");
    symlink("/proc/self/fd/1", "/dev/stdout");
    symlink("/proc/self/fd/2", "/dev/stderr");
    mkdir("/dev/pts", 0755);
    mkdir("/dev/shm", 01777);
    mkdir("/dev/mqueue", 01777);
    umask(022);
    mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
    mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
    mount("m", "/sys/firmware", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=0555");
    sethostname("h1", 2);
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    ro_bind("/proc/sys");
    ro_bind("/proc/irq");
    ro_bind("/proc/bus");
    ro_bind("/proc/fs");
    mount("/proc/sys/net", "/proc/sys/net", NULL, MS_BIND | MS_REC, NULL);
    mount(NULL, "/proc/sys/net", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_REMOUNT | MS_BIND, NULL);
    const char *nul[] = {"/proc/keys", "/proc/key-users", "/proc/kmsg", "/proc/timer_list",
                         "/proc/vmallocinfo"};
    for (int i = 0; i < 5; i++) mount("/dev/null", nul[i], NULL, MS_BIND, NULL);
    mount("m", "/proc/acpi", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=0555");
    mount("m", "/proc/driver", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=0555");
    char *argv[] = {"true", NULL};
    pid_t pid;
    if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ)) _exit(11);
    int st;
    waitpid(pid, &st, 0);
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 12);
}

static char stack[1 << 16];

static void container(int netns) {
    host_netns = netns;
    int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD;
    pid_t pid = clone(init, stack + sizeof stack, flags, NULL);
    int st;
    waitpid(pid, &st, 0);
    if (pid < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
        fprintf(stderr, "container failed: %d\n", st);
        exit(2);
    }
}

/* A network namespace held by a child until its pipe closes; its fd. */
static int hold_netns(pid_t *holder, int *release) {
    int ready[2], hold[2];
    pipe2(ready, O_CLOEXEC);
    pipe2(hold, O_CLOEXEC);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        for (int fd = 3; fd < 1024; fd++)  /* every other holder's pipe too */
            if (fd != hold[0] && fd != ready[1]) close(fd);
        if (unshare(CLONE_NEWNET)) _exit(1);
        write(ready[1], "r", 1);
        read(hold[0], &c, 1);
        _exit(0);
    }
    char c, path[64];
    close(ready[1]);
    close(hold[0]);
    if (read(ready[0], &c, 1) != 1) { fprintf(stderr, "unshare failed\n"); exit(2); }
    close(ready[0]);
    snprintf(path, sizeof path, "/proc/%d/ns/net", pid);
    *holder = pid;
    *release = hold[1];
    return open(path, O_RDONLY | O_CLOEXEC);
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1;
    int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    int top = rtnl();
    for (int t = 0; t < n; t++) {
        pid_t holder[2];
        int release[2], ns[2], sock[2];
        for (int k = 0; k < 2; k++) ns[k] = hold_netns(&holder[k], &release[k]);
        veth(top, ns[0], ns[1]);
        for (int k = 0; k < 2; k++) {
            setns(ns[k], CLONE_NEWNET);
            sock[k] = rtnl();
            setns(self, CLONE_NEWNET);
            int eth0 = 2; /* lo is 1 in a new namespace; the veth end came next */
            char v4[32], v6[32];
            snprintf(v4, sizeof v4, "198.18.0.%d", k + 1);
            snprintf(v6, sizeof v6, "2001:db8::%d", k + 1);
            address(sock[k], eth0, AF_INET, v4, 24);
            address(sock[k], eth0, AF_INET6, v6, 64);
            link_up(sock[k], 1);
            link_up(sock[k], eth0);
        }
        for (int k = 0; k < 2; k++) container(ns[k]);
        for (int k = 0; k < 2; k++) {
            close(sock[k]);
            close(ns[k]);
            close(release[k]);
            waitpid(holder[k], NULL, 0);
        }
    }
    return 0;
}
