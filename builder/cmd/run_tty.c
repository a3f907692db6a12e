/* SPDX-License-Identifier: Apache-2.0 */
/* lade run -t: the terminal between the caller and the process's pty. The sandbox allocates the
 * pty in its own devpts and sends the master back over a socket (sandbox.h); a thread here
 * relays the caller's stdin to the master and the master to stdout, follows the caller's window
 * size (SIGWINCH), and with -i puts the caller's terminal in raw mode, as docker run -it does,
 * so that keys such as Ctrl-C reach the process's terminal instead of ending lade. */
#include "run_tty.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/fsutil.h"

/* The caller's window size onto the pty (stdin's terminal, else stdout's). */
static void
copy_winsize(int master)
{
    struct winsize ws;

    if (ioctl(0, TIOCGWINSZ, &ws) == 0 || ioctl(1, TIOCGWINSZ, &ws) == 0)
        ioctl(master, TIOCSWINSZ, &ws);
}

static void
set_raw(struct run_tty *t)
{
    struct termios raw;

    if (!t->interactive || tcgetattr(0, &t->saved) < 0)
        return;
    raw = t->saved;
    cfmakeraw(&raw);
    /* output post-processing stays: the pty already turned "\n" into "\r\n" */
    raw.c_oflag = t->saved.c_oflag;
    if (tcsetattr(0, TCSADRAIN, &raw) == 0)
        t->raw = true;
}

/* Reads what the process wrote until the pty has nothing more (EIO once it is closed). */
static void
drain(int master)
{
    char buf[4096];
    ssize_t n;

    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    while ((n = read(master, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
        if (n > 0 && write_all(1, buf, (size_t) n) < 0)
            return;
}

/* Copies one chunk from in to out; false at the end of in or a failure. */
static bool
pump(int in, int out)
{
    char buf[4096];
    ssize_t n = read(in, buf, sizeof(buf));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    return n > 0 && write_all(out, buf, (size_t) n) == 0;
}

static void
relay(struct run_tty *t, int master, int sigfd)
{
    struct pollfd p[4] = {
        {.fd = master, .events = POLLIN},
        {.fd = t->wake[0], .events = POLLIN},
        {.fd = sigfd, .events = POLLIN},
        {.fd = t->interactive ? 0 : -1, .events = POLLIN},
    };

    for (;;) {
        if (poll(p, 4, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (p[0].revents & POLLIN) {
            if (!pump(master, 1))
                return;
            continue; /* the process's output first, until the pty is empty */
        }
        if (p[0].revents & (POLLHUP | POLLERR) || p[1].revents) {
            drain(master);
            return;
        }
        if (p[2].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sigfd, &si, sizeof(si)) > 0)
                copy_winsize(master);
        }
        if (p[3].revents && !pump(0, master))
            p[3].fd = -1; /* the caller's stdin ended: the process keeps its terminal */
    }
}

static void *
tty_thread(void *arg)
{
    struct run_tty *t = arg;
    struct pollfd p[2] = {{.fd = t->sock[0], .events = POLLIN},
                          {.fd = t->wake[0], .events = POLLIN}};
    int master = -1, sigfd;

    /* the sandbox sends the master before it execs, or ends: then lade run wakes us */
    while (poll(p, 2, -1) < 0 && errno == EINTR)
        ;
    if (p[0].revents)
        master = fd_recv(t->sock[0]); /* -1: the sandbox ended first */
    if (master < 0)
        return NULL;
    sigfd = signalfd(-1, &t->winch, SFD_CLOEXEC);
    copy_winsize(master);
    set_raw(t);
    relay(t, master, sigfd);
    if (sigfd >= 0)
        close(sigfd);
    close(master);
    return NULL;
}

int
run_tty_start(struct run_tty *t, bool interactive, struct lade_error *err)
{
    *t = (struct run_tty){.interactive = interactive, .sock = {-1, -1}, .wake = {-1, -1}};
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, t->sock) < 0 ||
        pipe2(t->wake, O_CLOEXEC) < 0) {
        lade_error_sys(err, "run -t: cannot create a socket");
        run_tty_finish(t);
        return -1;
    }
    /* SIGWINCH goes to the relay's signalfd: blocked here, the thread inherits the mask */
    sigemptyset(&t->winch);
    sigaddset(&t->winch, SIGWINCH);
    pthread_sigmask(SIG_BLOCK, &t->winch, &t->old_mask);
    int rc = pthread_create(&t->thread, NULL, tty_thread, t);
    if (rc != 0) {
        errno = rc;
        lade_error_sys(err, "run -t: cannot start the terminal's thread");
        run_tty_finish(t);
        return -1;
    }
    t->started = true;
    return 0;
}

void
run_tty_finish(struct run_tty *t)
{
    if (t->started) {
        if (write(t->wake[1], "x", 1) < 0) {
            /* the pipe is empty and ours: it cannot fail; the join below would wait */
        }
        pthread_join(t->thread, NULL);
        pthread_sigmask(SIG_SETMASK, &t->old_mask, NULL);
        t->started = false;
    }
    if (t->raw)
        tcsetattr(0, TCSADRAIN, &t->saved);
    t->raw = false;
    for (int i = 0; i < 2; i++) {
        if (t->sock[i] >= 0)
            close(t->sock[i]);
        if (t->wake[i] >= 0)
            close(t->wake[i]);
        t->sock[i] = t->wake[i] = -1;
    }
}
