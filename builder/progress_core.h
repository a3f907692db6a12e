/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Inside the progress module: the steps and the sink that progress.c keeps and that the tty
 * view (progress_tty.c) and the json events (progress_json.c) show. Every field is guarded by
 * the sink's mutex. */

#include "progress.h"

struct progress_step {
    unsigned num; /* #N */
    char *title;  /* "[base 2/5] COPY . /" */
    char *id;     /* json: "base/2", "export/9" */
    char *stage, *file, *instruction;
    unsigned line;
    bool note; /* not a Dockerfile step (exporting, pushing) */
    enum progress_state state;
    double start, end; /* progress_now() */
    char *reason;      /* cache miss, or NULL */
    char *digest;      /* the layer, or NULL */
    char *error;       /* the failure's message */
    int exit_code;     /* of a failed RUN, or -1 */
    /* The last output lines, a ring (kept while running, and after a failure). */
    char *tail[PROGRESS_TAIL_LINES];
    size_t tail_next;
};

struct progress_sink {
    pthread_mutex_t mu;
    enum progress_mode mode; /* resolved: PLAIN, TTY, JSON or QUIET */
    double start;
    unsigned last_num;
    struct progress_step **steps; /* in start order */
    size_t n;
    bool finished, failed; /* progress_build_done was called */
    /* tty */
    pthread_t ticker;
    bool ticker_running, stop;
    pthread_cond_t cv;
    bool dirty;
    size_t committed; /* the first steps, finished, printed for good */
    size_t drawn;     /* lines of the live region on screen */
};

/* pthread_create with SIGINT and SIGTERM blocked in the new thread (they must reach the
 * thread that forwards them to a sandbox); pthread_create's result. */
int progress_thread_create(pthread_t *t, void *(*fn)(void *), void *arg);

/* progress_tty.c: starts the redraw thread; the last draw happens in tty_stop. */
void tty_start(struct progress_sink *s);
void tty_stop(struct progress_sink *s);

/* progress_json.c: one event for step st (st NULL for build.done), with its fields for type:
 * "step.start", "step.log" (data), "step.cached", "step.done", "step.error", "build.done". */
void json_event(struct progress_sink *s, const char *type, const struct progress_step *st,
                const char *data, const char *stream);
