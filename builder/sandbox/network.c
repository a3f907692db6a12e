/* SPDX-License-Identifier: Apache-2.0 */
/* --network default: the RUN gets its own network namespace, with its own loopback and a tap0
 * that slirp4netns (Debian's slirp4netns) connects to the outside through ordinary sockets of
 * the host, as rootless podman does. 127.0.0.1 inside is the namespace's own; the host's
 * loopback is not reachable (--disable-host-loopback also closes slirp's 10.0.2.2 alias of it),
 * nor are the host's interfaces (an AF_PACKET socket sees lo and tap0 only).
 *
 * The keeper (run.c) unshares the namespace and says so over a socketpair; the caller then
 * starts slirp4netns for the keeper's pid, and answers once slirp has configured tap0, while
 * the keeper mounts the rootfs meanwhile: the RUN process forks only after the answer. Closing
 * slirp's --exit-fd (which only the caller holds) ends it, also when lade itself dies. */
#include "sandbox-internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "../common/cleanup.h"
#include "../common/fsutil.h"
#include "../common/userns.h"
#include "../common/xalloc.h"

#define SLIRP "slirp4netns"
#define SLIRP_DNS "10.0.2.3" /* slirp's forwarder to the host's first resolver */
#define SLIRP_MTU "65520"    /* the largest slirp takes (65521) rounded: fewer, larger frames */
#define SLIRP_READY_MS 10000 /* tap0 configured within this, else the RUN fails */
#define SLIRP_EXIT_MS 2000   /* after its --exit-fd closes; then SIGKILL */
#define SLIRP_LOG_TAIL 300   /* bytes of slirp's output quoted in an error */
#define SLIRP_READY_FD 3
#define SLIRP_EXIT_FD 4

extern char **environ;

static char *
find_in_path(const char *name)
{
    const char *path = getenv("PATH");
    cleanup_free char *copy = xstrdup(path != NULL && path[0] != '\0' ? path : "/usr/bin:/bin");

    for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir != NULL;
         dir = strtok_r(NULL, ":", &save)) {
        char *full = xasprintf("%s/%s", dir, name);
        if (access(full, X_OK) == 0)
            return full;
        free(full);
    }
    return NULL;
}

/* ---- /etc/resolv.conf ---- */

/* A nameserver the namespace cannot reach: the host's loopback (a local stub resolver such as
 * systemd-resolved's 127.0.0.53) and IPv6 (slirp gives the namespace IPv4 only). */
static bool
nameserver_unreachable(const char *addr)
{
    struct in_addr a;

    if (strchr(addr, ':') != NULL)
        return true;
    if (inet_pton(AF_INET, addr, &a) != 1)
        return false; /* not ours to judge: the resolver ignores it either way */
    uint32_t h = ntohl(a.s_addr);
    return (h >> 24) == 127 || h == 0;
}

/* BuildKit (util/resolvconf TransformForLegacyNw) drops the loopback nameservers of a private
 * network's resolv.conf and, when none is left, uses Google's 8.8.8.8/8.8.4.4. Here slirp's own
 * forwarder takes their place instead: it asks the host's first resolver from the host's
 * namespace, so a local stub (127.0.0.53) keeps working and no outside resolver is assumed. */
char *
net_resolv_conf_filter(const char *host)
{
    size_t cap = strlen(host) + sizeof("nameserver " SLIRP_DNS "\n") + 1, n = 0;
    char *out = xmalloc(cap);
    bool kept = false;

    for (const char *line = host; *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t len = end != NULL ? (size_t) (end - line) : strlen(line);
        char addr[INET6_ADDRSTRLEN + 16] = "";
        cleanup_free char *copy = xstrndup(line, len);
        bool drop = false;

        if (sscanf(copy, " nameserver %63s", addr) == 1) {
            drop = nameserver_unreachable(addr);
            kept = kept || !drop;
        }
        if (!drop) {
            memcpy(out + n, line, len);
            n += len;
            out[n++] = '\n';
        }
        line += len + (end != NULL);
    }
    if (!kept)
        n += (size_t) snprintf(out + n, cap - n, "nameserver %s\n", SLIRP_DNS);
    out[n] = '\0';
    return out;
}

/* Rewrites path (the copy of the host's resolv.conf, run.c) for the private namespace. */
static int
net_resolv_conf_write(const char *path, struct lade_error *err)
{
    cleanup_free char *host = NULL, *text = NULL;

    if (read_file_at(AT_FDCWD, "/etc/resolv.conf", 1 << 20, &host, NULL, err) < 0) {
        if (err->sys_errno != ENOENT)
            return -1;
        lade_error_clear(err);
        host = xstrdup("");
    }
    text = net_resolv_conf_filter(host);
    cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write_all(fd, text, strlen(text)) < 0)
        return lade_error_sys(err, "cannot write '%s'", path);
    return 0;
}

/* ---- the link between the caller and the keeper ---- */

void
net_link_init(struct net_link *l)
{
    *l = (struct net_link){.sock = {-1, -1}, .exit_w = -1};
}

int
net_link_prepare(struct net_link *l, enum sandbox_net mode, const char *step, const char *resolv,
                 struct lade_error *err)
{
    if (mode != SANDBOX_NET_DEFAULT)
        return 0;
    l->slirp = find_in_path(SLIRP);
    if (l->slirp == NULL)
        return lade_error_set(err, LADE_ERR_OTHER,
                              "--network default needs " SLIRP " (Debian package " SLIRP
                              "), not found in PATH: install it, or build with --network host");
    l->log = xasprintf("%s/" SLIRP ".log", step);
    if (net_resolv_conf_write(resolv, err) < 0)
        return -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, l->sock) < 0)
        return lade_error_sys(err, "socketpair");
    return 0;
}

int
net_keeper_fd(const struct net_link *l)
{
    return l->sock[1];
}

void
net_keeper_unshared(const struct net_link *l)
{
    if (l->sock[1] >= 0 && send(l->sock[1], "n", 1, MSG_NOSIGNAL) != 1)
        _exit(127); /* the caller is gone */
}

int
net_keeper_wait(const struct net_link *l)
{
    char c = 0;
    ssize_t n;

    if (l->sock[1] < 0)
        return 0;
    do
        n = read(l->sock[1], &c, 1);
    while (n < 0 && errno == EINTR);
    close(l->sock[1]); /* the RUN's processes must not hold it */
    return n == 1 && c == 'u' ? 0 : -1;
}

/* Waits up to ms (< 0: no limit) for one byte; true with it read, false at EOF or timeout. */
static bool
read_byte_within(int fd, int ms, char *c)
{
    struct timespec start, now;
    struct pollfd p = {.fd = fd, .events = POLLIN};

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        int r = poll(&p, 1, ms < 0 ? -1 : ms > spent ? (int) (ms - spent) : 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        ssize_t n = read(fd, c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        return n == 1;
    }
}

/* The end of slirp's output, for an error message. */
static void
log_tail(const char *log, char *buf, size_t size)
{
    cleanup_free char *text = NULL;
    struct lade_error ignored = {0};

    buf[0] = '\0';
    if (read_file_at(AT_FDCWD, log, 1 << 16, &text, NULL, &ignored) < 0)
        return;
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
        text[--len] = '\0';
    const char *tail = len > SLIRP_LOG_TAIL ? text + len - SLIRP_LOG_TAIL : text;
    for (char *p = (char *) tail; *p != '\0'; p++)
        if (*p == '\n')
            *p = ' ';
    snprintf(buf, size, "%s", tail);
}

static int
spawn_slirp(struct net_link *l, pid_t keeper, int ready_w, int exit_r, struct lade_error *err)
{
    char pid[24], mtu[] = "--mtu=" SLIRP_MTU, ready[] = "--ready-fd=3", ex[] = "--exit-fd=4";
    char *argv[] = {
        l->slirp, (char *) "--configure", mtu, (char *) "--disable-host-loopback", ready, ex,
        pid,      (char *) "tap0",        NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, dfl;
    int rc;

    snprintf(pid, sizeof(pid), "%d", (int) keeper);
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGINT);
    sigaddset(&dfl, SIGTERM);
    sigaddset(&dfl, SIGPIPE);
    sigaddset(&dfl, SIGCHLD);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, l->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_adddup2(&fa, ready_w, SLIRP_READY_FD);
    posix_spawn_file_actions_adddup2(&fa, exit_r, SLIRP_EXIT_FD);
    posix_spawn_file_actions_addclosefrom_np(&fa, SLIRP_EXIT_FD + 1);
    posix_spawnattr_init(&at);
    /* its own process group: a terminal's Ctrl-C must not end the network before the RUN */
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dfl);
    rc = posix_spawn(&l->pid, l->slirp, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        l->pid = 0;
        return lade_error_errno(err, rc, "cannot start '%s'", l->slirp);
    }
    return 0;
}

/* Pipe ends above SLIRP_EXIT_FD, so that the child's dup2 onto 3 and 4 clobbers neither. */
static int
high_pipe(int p[2], struct lade_error *err)
{
    int raw[2];

    if (pipe2(raw, O_CLOEXEC) < 0)
        return lade_error_sys(err, "pipe");
    p[0] = fcntl(raw[0], F_DUPFD_CLOEXEC, SLIRP_EXIT_FD + 1);
    p[1] = fcntl(raw[1], F_DUPFD_CLOEXEC, SLIRP_EXIT_FD + 1);
    close(raw[0]);
    close(raw[1]);
    if (p[0] < 0 || p[1] < 0) {
        close(p[0]);
        close(p[1]);
        return lade_error_sys(err, "dup");
    }
    return 0;
}

static int
start_slirp(struct net_link *l, pid_t keeper, struct lade_error *err)
{
    int ready[2], ex[2];
    char c, tail[SLIRP_LOG_TAIL + 1];

    /* rootless: slirp4netns opens the tun device as the calling user */
    if (!userns_is_initial() && access("/dev/net/tun", R_OK | W_OK) < 0)
        return lade_error_set(err, LADE_ERR_OTHER,
                              "rootless RUN with --network default needs /dev/net/tun usable by "
                              "this user for " SLIRP " (as root: chmod 0666 /dev/net/tun, the "
                              "usual mode); or build with --network none or --network host");
    if (high_pipe(ready, err) < 0)
        return -1;
    if (high_pipe(ex, err) < 0) {
        close(ready[0]);
        close(ready[1]);
        return -1;
    }
    int rc = spawn_slirp(l, keeper, ready[1], ex[0], err);
    close(ready[1]);
    close(ex[0]);
    l->exit_w = ex[1];
    if (rc == 0 && !read_byte_within(ready[0], SLIRP_READY_MS, &c)) {
        net_link_stop(l); /* its output is complete once it is reaped */
        log_tail(l->log, tail, sizeof(tail));
        rc = lade_error_set(err, LADE_ERR_OTHER,
                            SLIRP " did not set up the RUN's network (--network default)%s%s",
                            tail[0] != '\0' ? ": " : "", tail);
    }
    close(ready[0]);
    return rc;
}

int
net_link_start(struct net_link *l, pid_t keeper, struct lade_error *err)
{
    char c;

    if (l->sock[0] < 0)
        return 0;
    close(l->sock[1]); /* the keeper's end: EOF below when the keeper ends */
    l->sock[1] = -1;
    /* EOF: the keeper failed before its namespace existed, and reports why itself */
    if (!read_byte_within(l->sock[0], -1, &c) || c != 'n')
        return 0;
    if (start_slirp(l, keeper, err) < 0) {
        close(l->sock[0]); /* EOF: the keeper gives up */
        l->sock[0] = -1;
        return -1;
    }
    /* a failure means the keeper is gone: its own report says why */
    (void) !send(l->sock[0], "u", 1, MSG_NOSIGNAL);
    return 0;
}

/* Waits up to ms for pid; false when it still runs. */
static bool
reap_within(pid_t pid, int ms)
{
    cleanup_close int pfd = sys_pidfd_open(pid, 0);
    struct pollfd p = {.fd = pfd, .events = POLLIN};

    if (pfd >= 0)
        while (poll(&p, 1, ms) < 0 && errno == EINTR)
            ;
    pid_t r = waitpid(pid, NULL, pfd >= 0 ? WNOHANG : 0);
    return r == pid || (r < 0 && errno == ECHILD);
}

void
net_link_stop(struct net_link *l)
{
    if (l->exit_w >= 0) {
        close(l->exit_w);
        l->exit_w = -1;
    }
    if (l->pid > 0 && !reap_within(l->pid, SLIRP_EXIT_MS)) {
        kill(l->pid, SIGKILL);
        while (waitpid(l->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    l->pid = 0;
}

void
net_link_release(struct net_link *l)
{
    net_link_stop(l);
    for (int i = 0; i < 2; i++)
        if (l->sock[i] >= 0)
            close(l->sock[i]);
    free(l->slirp);
    free(l->log);
    net_link_init(l);
}
