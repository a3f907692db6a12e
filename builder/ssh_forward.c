/* SPDX-License-Identifier: Apache-2.0 */
/* The agent socket a RUN sees: lade's own socket, with the owner and mode the mount asks for,
 * that passes a read-only subset of the agent protocol (draft-miller-ssh-agent) to the real
 * agent. Binding the agent's socket itself would give neither the mode nor the owner, and
 * would let a RUN add, remove or lock the caller's keys. */
#include "ssh_agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

#define AGENT_FAILURE 5
#define AGENT_REQUEST_IDENTITIES 11
#define AGENT_SIGN_REQUEST 13
#define AGENT_MAX_MSG (256u * 1024) /* OpenSSH's AGENT_MAX_LEN */
#define MAX_CONNS 64
#define IO_TIMEOUT_S 30 /* a client that stops mid-message cannot stall the others forever */

struct conn {
    int client, agent;
};

struct ssh_forward {
    char *agent_path, *path;
    int listen_fd, stop_pipe[2];
    struct conn conns[MAX_CONNS];
    size_t nconns;
    pthread_t thread;
};

static int
read_full(int fd, void *buf, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = read(fd, (char *) buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t) r;
    }
    return 0;
}

static int
write_full(int fd, const void *buf, size_t n)
{
    for (size_t put = 0; put < n;) {
        ssize_t w = send(fd, (const char *) buf + put, n - put, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        put += (size_t) w;
    }
    return 0;
}

/* One message: a 4-byte big-endian length, then that many bytes (the first is its type). */
static unsigned char *
read_msg(int fd, uint32_t *len)
{
    unsigned char hdr[4];

    if (read_full(fd, hdr, 4) < 0)
        return NULL;
    *len = (uint32_t) hdr[0] << 24 | (uint32_t) hdr[1] << 16 | (uint32_t) hdr[2] << 8 | hdr[3];
    if (*len == 0 || *len > AGENT_MAX_MSG)
        return NULL;
    unsigned char *m = xmalloc(*len + 4);
    memcpy(m, hdr, 4);
    if (read_full(fd, m + 4, *len) < 0) {
        free(m);
        return NULL;
    }
    return m;
}

/* One request from the client, answered by the agent or refused. -1: the connection ends. */
static int
serve_one(struct conn *c)
{
    static const unsigned char failure[] = {0, 0, 0, 1, AGENT_FAILURE};
    uint32_t len;
    cleanup_free unsigned char *req = read_msg(c->client, &len);

    if (req == NULL)
        return -1;
    if (req[4] != AGENT_REQUEST_IDENTITIES && req[4] != AGENT_SIGN_REQUEST)
        return write_full(c->client, failure, sizeof(failure));
    if (write_full(c->agent, req, len + 4) < 0)
        return -1;
    cleanup_free unsigned char *resp = read_msg(c->agent, &len);
    if (resp == NULL)
        return -1;
    return write_full(c->client, resp, len + 4);
}

static void
set_timeouts(int fd)
{
    struct timeval tv = {.tv_sec = IO_TIMEOUT_S};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A unix socket and its address for path. A path longer than sun_path (a store under a deep
 * directory) is reached through its directory's fd, /proc/self/fd/N/NAME; *dir_fd then holds
 * that fd until the caller has bound or connected. */
static int
unix_socket(const char *path, struct sockaddr_un *sa, int *dir_fd)
{
    const char *slash = strrchr(path, '/');

    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    *dir_fd = -1;
    if (strlen(path) < sizeof(sa->sun_path)) {
        memcpy(sa->sun_path, path, strlen(path) + 1);
    } else {
        cleanup_free char *dir = slash ? xstrndup(path, (size_t) (slash - path)) : NULL;
        *dir_fd = dir ? open(dir[0] ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
        if (*dir_fd < 0 ||
            (size_t) snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", *dir_fd,
                              slash + 1) >= sizeof(sa->sun_path)) {
            errno = ENAMETOOLONG;
            return -1;
        }
    }
    return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static void
accept_one(struct ssh_forward *f)
{
    struct sockaddr_un sa;
    int client = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    int agent = -1;

    if (client < 0)
        return;
    if (f->nconns < MAX_CONNS) {
        cleanup_close int dir_fd = -1;
        agent = unix_socket(f->agent_path, &sa, &dir_fd);
        if (agent >= 0 && connect(agent, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
            close(agent);
            agent = -1;
        }
    }
    if (agent < 0) {
        close(client);
        return;
    }
    set_timeouts(client);
    set_timeouts(agent);
    f->conns[f->nconns++] = (struct conn){client, agent};
}

static void
drop_conn(struct ssh_forward *f, size_t i)
{
    close(f->conns[i].client);
    close(f->conns[i].agent);
    f->conns[i] = f->conns[--f->nconns];
}

static void *
forward_loop(void *arg)
{
    struct ssh_forward *f = arg;
    struct pollfd pfd[MAX_CONNS + 2];

    for (;;) {
        size_t n = f->nconns;
        pfd[0] = (struct pollfd){.fd = f->stop_pipe[0], .events = POLLIN};
        pfd[1] = (struct pollfd){.fd = f->listen_fd, .events = POLLIN};
        for (size_t i = 0; i < n; i++)
            pfd[i + 2] = (struct pollfd){.fd = f->conns[i].client, .events = POLLIN};
        if (poll(pfd, n + 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfd[0].revents != 0)
            break;
        /* from the last, so that drop_conn's swap does not skip one */
        for (size_t i = n; i-- > 0;)
            if (pfd[i + 2].revents != 0 && serve_one(&f->conns[i]) < 0)
                drop_conn(f, i);
        if (pfd[1].revents & POLLIN)
            accept_one(f);
    }
    return NULL;
}

int
ssh_forward_start(const char *agent_path, const char *path, unsigned mode, uid_t uid, gid_t gid,
                  struct ssh_forward **out, struct lade_error *err)
{
    struct ssh_forward *f = xcalloc(1, sizeof(*f));
    struct sockaddr_un sa;
    cleanup_close int dir_fd = -1;
    sigset_t all, old;

    f->agent_path = xstrdup(agent_path);
    f->path = xstrdup(path);
    f->stop_pipe[0] = f->stop_pipe[1] = -1;
    f->listen_fd = unix_socket(path, &sa, &dir_fd);
    if (f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
        chmod(path, mode & 0777) < 0 || chown(path, uid, gid) < 0 || listen(f->listen_fd, 16) < 0 ||
        pipe2(f->stop_pipe, O_CLOEXEC) < 0) {
        lade_error_sys(err, "cannot create the ssh agent socket '%s'", path);
        goto fail;
    }
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits it */
    int rc = pthread_create(&f->thread, NULL, forward_loop, f);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        lade_error_errno(err, rc, "cannot start the ssh agent forwarder");
        goto fail;
    }
    *out = f;
    return 0;
fail:
    if (f->listen_fd >= 0)
        close(f->listen_fd);
    for (int i = 0; i < 2; i++)
        if (f->stop_pipe[i] >= 0)
            close(f->stop_pipe[i]);
    unlink(path);
    free(f->agent_path);
    free(f->path);
    free(f);
    return -1;
}

void
ssh_forward_stop(struct ssh_forward *f)
{
    if (f == NULL)
        return;
    write_all(f->stop_pipe[1], "x", 1);
    pthread_join(f->thread, NULL);
    while (f->nconns > 0)
        drop_conn(f, f->nconns - 1);
    close(f->listen_fd);
    close(f->stop_pipe[0]);
    close(f->stop_pipe[1]);
    unlink(f->path);
    free(f->agent_path);
    free(f->path);
    free(f);
}
