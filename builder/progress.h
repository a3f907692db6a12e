/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Build progress on stderr, in BuildKit's plain style:
 *   #3 [2/4] RUN make
 *   #3 0.412 compiling...
 *   #3 DONE 1.2s
 * tty mode is the same stream for now. */

#include <stdbool.h>
#include <stddef.h>

#include "build.h"

#define PROGRESS_TAIL_LINES 10

struct progress {
    enum progress_mode mode;
    unsigned step;     /* current step number (#N) */
    double step_start; /* monotonic seconds */
    /* The last lines of the running step's output, for a failure report. */
    char *tail[PROGRESS_TAIL_LINES];
    size_t tail_next;
};

void progress_init(struct progress *p, enum progress_mode mode);
void progress_release(struct progress *p);
/* Starts step #N with its title ("[2/4] RUN make"). */
void progress_step(struct progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void progress_cached(struct progress *p);
void progress_done(struct progress *p);
void progress_error(struct progress *p, const char *msg);
/* A line of output of the running step (without '\n'). */
void progress_output_line(struct progress *p, const char *line, size_t len);
/* A free-form message line ("#9 exporting to image"). */
void progress_note(struct progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends the tail lines (oldest first) to buf-like text, each prefixed by "  ". Caller frees. */
char *progress_tail_text(const struct progress *p);
double progress_now(void);

/* Reads a pipe in a thread and feeds progress_output_line until EOF. */
struct output_pump;
struct output_pump *output_pump_start(struct progress *p, int read_fd);
/* Waits for EOF (the writer side must be closed) and frees the pump. */
void output_pump_finish(struct output_pump *pump);
