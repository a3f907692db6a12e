/* SPDX-License-Identifier: Apache-2.0 */
/* Build progress: the steps and their events, shown as the sink's mode says (progress.h). Each
 * event takes the sink's mutex, so stages built at once interleave whole lines and the tty
 * view reads a consistent state. */
#include "progress_core.h"

#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

double
progress_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

enum progress_mode
progress_mode_parse(const char *s)
{
    static const struct {
        const char *name;
        enum progress_mode mode;
    } names[] = {{"auto", PROGRESS_AUTO}, {"plain", PROGRESS_PLAIN},  {"tty", PROGRESS_TTY},
                 {"json", PROGRESS_JSON}, {"rawjson", PROGRESS_JSON}, {"quiet", PROGRESS_QUIET}};

    for (size_t i = 0; s != NULL && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i].name) == 0)
            return names[i].mode;
    return PROGRESS_INVALID;
}

/* auto is tty on a terminal that can move its cursor, else plain. */
static enum progress_mode
resolve_mode(enum progress_mode mode)
{
    const char *term = getenv("TERM");

    if (mode != PROGRESS_AUTO)
        return mode;
    return isatty(2) && term != NULL && strcmp(term, "dumb") != 0 ? PROGRESS_TTY : PROGRESS_PLAIN;
}

void
progress_init(struct progress *p, enum progress_mode mode)
{
    struct progress_sink *s = xcalloc(1, sizeof(*s));

    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->mode = resolve_mode(mode);
    s->start = progress_now();
    p->sink = s;
    p->own_sink = true;
    if (s->mode == PROGRESS_TTY)
        tty_start(s);
}

void
progress_fork(struct progress *child, struct progress *parent)
{
    memset(child, 0, sizeof(*child));
    child->sink = parent->sink;
}

static void
tail_clear(struct progress_step *st)
{
    for (size_t i = 0; i < PROGRESS_TAIL_LINES; i++) {
        free(st->tail[i]);
        st->tail[i] = NULL;
    }
    st->tail_next = 0;
}

static void
step_free(struct progress_step *st)
{
    tail_clear(st);
    free(st->title);
    free(st->id);
    free(st->stage);
    free(st->file);
    free(st->instruction);
    free(st->reason);
    free(st->digest);
    free(st->error);
    free(st);
}

/* Ends st (the caller holds the mutex); a step ends once. Plain prints its status line. */
static void
finish(struct progress_sink *s, struct progress_step *st, enum progress_state state,
       const char *msg)
{
    if (st == NULL || st->state != PSTEP_RUNNING)
        return;
    st->state = state;
    st->end = progress_now();
    if (msg != NULL)
        st->error = xstrdup(msg);
    if (state != PSTEP_ERROR)
        tail_clear(st); /* kept only to report a failure */
    s->dirty = true;
    switch (s->mode) {
    case PROGRESS_PLAIN:
        if (state == PSTEP_CACHED)
            fprintf(stderr, "#%u CACHED\n", st->num);
        else if (state == PSTEP_DONE)
            fprintf(stderr, "#%u DONE %.1fs\n", st->num, st->end - st->start);
        else if (state == PSTEP_ERROR)
            fprintf(stderr, "#%u ERROR: %.*s\n", st->num, (int) strcspn(msg, "\n"), msg);
        fflush(stderr);
        break;
    case PROGRESS_JSON:
        json_event(s,
                   state == PSTEP_CACHED ? "step.cached"
                   : state == PSTEP_DONE ? "step.done"
                                         : "step.error",
                   st, NULL, NULL);
        break;
    case PROGRESS_INVALID:
    case PROGRESS_AUTO:
    case PROGRESS_TTY:
    case PROGRESS_QUIET:
        break;
    }
}

void
progress_release(struct progress *p)
{
    struct progress_sink *s = p->sink;

    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    if (p->cur != NULL && p->cur->note) /* an export note left running ends with the build */
        finish(s, p->cur, PSTEP_DONE, NULL);
    pthread_mutex_unlock(&s->mu);
    p->cur = NULL;
    if (!p->own_sink)
        return;
    if (s->mode == PROGRESS_TTY)
        tty_stop(s);
    for (size_t i = 0; i < s->n; i++)
        step_free(s->steps[i]);
    free(s->steps);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
    p->sink = NULL;
}

static void
vstart(struct progress *p, const struct progress_pos *pos, const char *fmt, va_list ap)
{
    struct progress_sink *s = p->sink;
    struct progress_step *st = xcalloc(1, sizeof(*st));
    struct lade_buf title = LADE_BUF_INIT;

    lade_buf_appendvf(&title, fmt, ap);
    st->title = lade_buf_steal(&title);
    st->exit_code = -1;
    if (pos != NULL) {
        st->id = xasprintf("%s/%s", pos->stage, pos->step);
        st->stage = xstrdup(pos->stage);
        st->file = pos->file ? xstrdup(pos->file) : NULL;
        st->line = pos->line;
        st->instruction = pos->instruction ? xstrdup(pos->instruction) : NULL;
    }
    pthread_mutex_lock(&s->mu);
    if (p->cur != NULL && p->cur->note)
        finish(s, p->cur, PSTEP_DONE, NULL);
    st->num = ++s->last_num;
    st->start = progress_now();
    st->note = pos == NULL;
    if (pos == NULL)
        st->id = xasprintf("export/%u", st->num);
    s->steps = xrealloc(s->steps, (s->n + 1) * sizeof(*s->steps));
    s->steps[s->n++] = st;
    p->cur = st;
    s->dirty = true;
    if (s->mode == PROGRESS_PLAIN) {
        fprintf(stderr, "#%u %s\n", st->num, st->title);
        fflush(stderr);
    } else if (s->mode == PROGRESS_JSON) {
        json_event(s, "step.start", st, NULL, NULL);
    }
    pthread_mutex_unlock(&s->mu);
}

void
progress_step(struct progress *p, const struct progress_pos *pos, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vstart(p, pos, fmt, ap);
    va_end(ap);
}

void
progress_note(struct progress *p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vstart(p, NULL, fmt, ap);
    va_end(ap);
}

/* Sets *field of the running step to a copy of value. */
static void
set_field(struct progress *p, size_t offset, const char *value)
{
    struct progress_sink *s = p->sink;

    pthread_mutex_lock(&s->mu);
    if (p->cur != NULL) {
        char **field = (char **) ((char *) p->cur + offset);
        free(*field);
        *field = xstrdup(value);
        if (offset == offsetof(struct progress_step, reason) && s->mode == PROGRESS_PLAIN) {
            fprintf(stderr, "#%u cache miss: %s\n", p->cur->num, value);
            fflush(stderr);
        }
        s->dirty = true;
    }
    pthread_mutex_unlock(&s->mu);
}

void
progress_reason(struct progress *p, const char *reason)
{
    set_field(p, offsetof(struct progress_step, reason), reason);
}

void
progress_layer(struct progress *p, const char *digest)
{
    set_field(p, offsetof(struct progress_step, digest), digest);
}

void
progress_exit_code(struct progress *p, int status)
{
    pthread_mutex_lock(&p->sink->mu);
    if (p->cur != NULL)
        p->cur->exit_code = status;
    pthread_mutex_unlock(&p->sink->mu);
}

static void
end(struct progress *p, enum progress_state state, const char *msg)
{
    pthread_mutex_lock(&p->sink->mu);
    finish(p->sink, p->cur, state, msg);
    pthread_mutex_unlock(&p->sink->mu);
}

void
progress_cached(struct progress *p)
{
    end(p, PSTEP_CACHED, NULL);
}

void
progress_done(struct progress *p)
{
    end(p, PSTEP_DONE, NULL);
}

void
progress_error(struct progress *p, const char *msg)
{
    end(p, PSTEP_ERROR, msg ? msg : "failed");
}

/* A line of the running step: kept in its tail, and shown as the mode says. */
static void
step_line(struct progress *p, const char *line, size_t len, bool output)
{
    struct progress_sink *s = p->sink;
    struct progress_step *st = p->cur;

    pthread_mutex_lock(&s->mu);
    if (st == NULL) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    if (output || s->mode == PROGRESS_TTY) {
        free(st->tail[st->tail_next]);
        st->tail[st->tail_next] = xstrndup(line, len);
        st->tail_next = (st->tail_next + 1) % PROGRESS_TAIL_LINES;
    }
    s->dirty = true;
    if (s->mode == PROGRESS_PLAIN) {
        if (output)
            fprintf(stderr, "#%u %.3f %.*s\n", st->num, progress_now() - st->start, (int) len,
                    line);
        else
            fprintf(stderr, "#%u %.*s\n", st->num, (int) len, line);
        fflush(stderr);
    } else if (s->mode == PROGRESS_JSON) {
        cleanup_free char *data = xstrndup(line, len);
        json_event(s, "step.log", st, data, output ? "stdout" : "progress");
    }
    pthread_mutex_unlock(&s->mu);
}

void
progress_output_line(struct progress *p, const char *line, size_t len)
{
    step_line(p, line, len, true);
}

void
progress_message(struct progress *p, const char *fmt, ...)
{
    struct lade_buf b = LADE_BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    lade_buf_appendvf(&b, fmt, ap);
    va_end(ap);
    step_line(p, b.data ? b.data : "", b.len, false);
    lade_buf_release(&b);
}

void
progress_build_done(struct progress *p, const struct lade_error *err)
{
    struct progress_sink *s = p->sink;

    pthread_mutex_lock(&s->mu);
    if (p->cur != NULL && p->cur->note)
        finish(s, p->cur, err ? PSTEP_ERROR : PSTEP_DONE, err ? err->msg : NULL);
    s->finished = true;
    s->failed = err != NULL;
    s->dirty = true;
    if (s->mode == PROGRESS_JSON)
        json_event(s, "build.done", NULL, err ? err->msg : NULL, NULL);
    pthread_mutex_unlock(&s->mu);
}

char *
progress_tail_text(const struct progress *p)
{
    struct lade_buf b = LADE_BUF_INIT;
    const struct progress_step *st = p->cur;

    pthread_mutex_lock(&p->sink->mu);
    for (size_t i = 0; st != NULL && i < PROGRESS_TAIL_LINES; i++) {
        const char *l = st->tail[(st->tail_next + i) % PROGRESS_TAIL_LINES];
        if (l != NULL)
            lade_buf_appendf(&b, "\n  > %s", l);
    }
    pthread_mutex_unlock(&p->sink->mu);
    return lade_buf_steal(&b);
}

/* ---- the output of a RUN ---- */

int
progress_thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
    sigset_t block, old;

    /* The thread inherits a mask blocking SIGINT/SIGTERM, so the kernel delivers them to the
     * thread that forwards them to the sandbox. */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(t, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
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

    pump->p = p;
    pump->fd = read_fd;
    if (progress_thread_create(&pump->thread, pump_main, pump) != 0) {
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
