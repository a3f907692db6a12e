/* SPDX-License-Identifier: Apache-2.0 */
#include "progress.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/xalloc.h"

double
progress_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

void
progress_init(struct progress *p, enum progress_mode mode)
{
    memset(p, 0, sizeof(*p));
    p->mode = mode;
}

static void
tail_clear(struct progress *p)
{
    for (size_t i = 0; i < PROGRESS_TAIL_LINES; i++) {
        free(p->tail[i]);
        p->tail[i] = NULL;
    }
    p->tail_next = 0;
}

void
progress_release(struct progress *p)
{
    tail_clear(p);
}

static void
vstart(struct progress *p, const char *fmt, va_list ap)
{
    p->step++;
    p->step_start = progress_now();
    fprintf(stderr, "#%u ", p->step);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    fflush(stderr);
}

void
progress_step(struct progress *p, const char *fmt, ...)
{
    va_list ap;

    tail_clear(p);
    va_start(ap, fmt);
    vstart(p, fmt, ap);
    va_end(ap);
}

void
progress_cached(struct progress *p)
{
    fprintf(stderr, "#%u CACHED\n", p->step);
    fflush(stderr);
}

void
progress_done(struct progress *p)
{
    fprintf(stderr, "#%u DONE %.1fs\n", p->step, progress_now() - p->step_start);
    fflush(stderr);
}

void
progress_error(struct progress *p, const char *msg)
{
    fprintf(stderr, "#%u ERROR: %s\n", p->step, msg);
    fflush(stderr);
}

void
progress_output_line(struct progress *p, const char *line, size_t len)
{
    fprintf(stderr, "#%u %.3f %.*s\n", p->step, progress_now() - p->step_start, (int) len, line);
    fflush(stderr);
    free(p->tail[p->tail_next]);
    p->tail[p->tail_next] = xstrndup(line, len);
    p->tail_next = (p->tail_next + 1) % PROGRESS_TAIL_LINES;
}

void
progress_note(struct progress *p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vstart(p, fmt, ap);
    va_end(ap);
}

char *
progress_tail_text(const struct progress *p)
{
    struct lade_buf b = LADE_BUF_INIT;

    for (size_t i = 0; i < PROGRESS_TAIL_LINES; i++) {
        const char *l = p->tail[(p->tail_next + i) % PROGRESS_TAIL_LINES];
        if (l != NULL)
            lade_buf_appendf(&b, "\n  > %s", l);
    }
    return lade_buf_steal(&b);
}

struct output_pump {
    pthread_t thread;
    struct progress *p;
    int fd;
};

static void *
pump_main(void *arg)
{
    struct output_pump *pump = arg;
    struct lade_buf line = LADE_BUF_INIT;
    char buf[8192];

    for (;;) {
        ssize_t r = read(pump->fd, buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r; i++) {
            if (buf[i] == '\n') {
                progress_output_line(pump->p, line.data ? line.data : "", line.len);
                lade_buf_reset(&line);
            } else {
                lade_buf_appendc(&line, buf[i]);
            }
        }
    }
    if (line.len > 0)
        progress_output_line(pump->p, line.data, line.len);
    lade_buf_release(&line);
    return NULL;
}

struct output_pump *
output_pump_start(struct progress *p, int read_fd)
{
    struct output_pump *pump = xcalloc(1, sizeof(*pump));
    sigset_t block, old;

    pump->p = p;
    pump->fd = read_fd;
    /* The thread inherits a mask blocking SIGINT/SIGTERM, so the kernel delivers them to the
     * thread that forwards them to the sandbox. */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(&pump->thread, NULL, pump_main, pump);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        fprintf(stderr, "lade: fatal: cannot start a thread\n");
        abort();
    }
    return pump;
}

void
output_pump_finish(struct output_pump *pump)
{
    pthread_join(pump->thread, NULL);
    close(pump->fd);
    free(pump);
}
