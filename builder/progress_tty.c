/* SPDX-License-Identifier: Apache-2.0 */
/* --progress=tty: BuildKit's live view. Finished steps at the top that no running step
 * precedes are printed once and scroll away; below them the live region (every later step on
 * one line, a running one with its elapsed time and last output lines, then a status line) is
 * redrawn in place with cursor-up and erase sequences by one thread, at most 10 times a
 * second, so events from many threads never draw. The last draw leaves every step on screen. */
#include "progress_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"

#define TTY_TAIL_LINES 6 /* output lines shown under a running step */
#define TTY_FRAME_NS 100000000L

static void
term_size(int *cols, int *rows)
{
    struct winsize ws;

    *cols = 80;
    *rows = 24;
    if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
        *cols = ws.ws_col;
        *rows = ws.ws_row;
    }
    if (*cols < 20)
        *cols = 20;
    if (*rows < 4)
        *rows = 4;
}

/* Appends text on one line of at most width columns: control characters (a process's own
 * escape sequences, tabs, carriage returns) become spaces so they cannot move the cursor; a
 * UTF-8 sequence counts as one column. */
static size_t
put_text(struct lade_buf *out, const char *text, size_t width)
{
    size_t cols = 0;

    for (const unsigned char *c = (const unsigned char *) text; *c; c++) {
        bool cont = (*c & 0xc0) == 0x80;
        if (!cont && cols == width)
            break;
        if (*c < 0x20 || *c == 0x7f)
            lade_buf_appendc(out, ' ');
        else
            lade_buf_appendc(out, (char) *c);
        if (!cont)
            cols++;
    }
    return cols;
}

/* " => CACHED [2/4] COPY . /   (reason)                       1.2s" */
static void
put_step(struct lade_buf *out, const struct progress_step *st, double now, int cols)
{
    static const char *const label[] = {"", "CACHED ", "", "ERROR "};
    struct lade_buf text = LADE_BUF_INIT;
    char secs[24] = "";

    lade_buf_appendf(&text, " => %s%s", label[st->state], st->title);
    if (st->reason != NULL)
        lade_buf_appendf(&text, " (%s)", st->reason);
    if (st->state != PSTEP_CACHED)
        snprintf(secs, sizeof(secs), "%.1fs",
                 (st->state == PSTEP_RUNNING ? now : st->end) - st->start);
    size_t room = (size_t) cols - 1 - strlen(secs) - (secs[0] ? 1 : 0);
    size_t used = put_text(out, text.data, room);
    if (secs[0] != '\0') {
        for (size_t i = used; i < room + 1; i++)
            lade_buf_appendc(out, ' ');
        lade_buf_append(out, secs, strlen(secs));
    }
    lade_buf_append(out, "\033[K\n", 4);
    lade_buf_release(&text);
}

/* The running step's last n output lines. */
static size_t
put_tail(struct lade_buf *out, const struct progress_step *st, size_t n, int cols)
{
    size_t have = 0, shown = 0;

    for (size_t i = 0; i < PROGRESS_TAIL_LINES; i++)
        have += st->tail[i] != NULL;
    for (size_t i = 0; i < PROGRESS_TAIL_LINES; i++) {
        const char *l = st->tail[(st->tail_next + i) % PROGRESS_TAIL_LINES];
        if (l == NULL || have-- > n)
            continue;
        lade_buf_append(out, " => => # ", 9);
        put_text(out, l, (size_t) cols - 10);
        lade_buf_append(out, "\033[K\n", 4);
        shown++;
    }
    return shown;
}

static void
render(struct progress_sink *s, bool final)
{
    struct lade_buf out = LADE_BUF_INIT;
    double now = progress_now();
    size_t lines = 0, finished = 0, running = 0;
    int cols, rows;

    term_size(&cols, &rows);
    if (s->drawn > 0)
        lade_buf_appendf(&out, "\r\033[%zuA", s->drawn);
    for (; s->committed < s->n && s->steps[s->committed]->state != PSTEP_RUNNING; s->committed++)
        put_step(&out, s->steps[s->committed], now, cols);
    for (size_t i = 0; i < s->n; i++) {
        finished += s->steps[i]->state != PSTEP_RUNNING;
        running += s->steps[i]->state == PSTEP_RUNNING;
    }
    /* the live region must fit the screen, or cursor-up could not reach its top */
    size_t budget = final ? SIZE_MAX : (size_t) rows - 2, live = s->n - s->committed;
    size_t tail_room = budget > live ? budget - live : 0;
    for (size_t i = s->committed; i < s->n && lines < budget; i++) {
        const struct progress_step *st = s->steps[i];
        put_step(&out, st, now, cols);
        lines++;
        if (st->state == PSTEP_RUNNING && !final && tail_room > 0) {
            size_t k =
                put_tail(&out, st, tail_room < TTY_TAIL_LINES ? tail_room : TTY_TAIL_LINES, cols);
            lines += k;
            tail_room -= k;
        }
    }
    lade_buf_appendf(&out, "[+] Building %.1fs (%zu/%zu)%s\033[K\n", now - s->start, finished, s->n,
                     !final        ? ""
                     : s->failed   ? " ERROR"
                     : running > 0 ? ""
                                   : " FINISHED");
    lines++;
    lade_buf_append(&out, "\033[J", 3);
    s->drawn = final ? 0 : lines;
    fwrite(out.data, 1, out.len, stderr);
    fflush(stderr);
    lade_buf_release(&out);
}

static void *
ticker_main(void *arg)
{
    struct progress_sink *s = arg;

    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += TTY_FRAME_NS;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->cv, &s->mu, &t);
        if (s->stop)
            break;
        bool running = s->committed < s->n; /* elapsed times move */
        if (s->dirty || running)
            render(s, false);
        s->dirty = false;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

void
tty_start(struct progress_sink *s)
{
    s->ticker_running = progress_thread_create(&s->ticker, ticker_main, s) == 0;
}

void
tty_stop(struct progress_sink *s)
{
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->ticker_running)
        pthread_join(s->ticker, NULL);
    s->ticker_running = false;
    pthread_mutex_lock(&s->mu);
    if (s->n > 0 || s->drawn > 0) /* a build that failed before its first step shows nothing */
        render(s, true);
    pthread_mutex_unlock(&s->mu);
}
