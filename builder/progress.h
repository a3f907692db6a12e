/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Build progress on stderr, in BuildKit's plain style:
 *   #3 [2/4] RUN make
 *   #3 0.412 compiling...
 *   #3 DONE 1.2s
 * tty mode is the same stream for now. */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "build.h"
#include "../layers/registry/registry.h"

#define PROGRESS_TAIL_LINES 10

struct progress {
    enum progress_mode mode;
    atomic_uint *steps; /* the last step number given out: own_steps, or a parent's */
    atomic_uint own_steps;
    unsigned step;     /* current step number (#N) */
    double step_start; /* monotonic seconds */
    /* The last lines of the running step's output, for a failure report. */
    char *tail[PROGRESS_TAIL_LINES];
    size_t tail_next;
};

void progress_init(struct progress *p, enum progress_mode mode);
/* A progress for a stage built alongside others: its own current step and output tail, step
 * numbers from parent's sequence (which must outlive it). Release with progress_release. */
void progress_fork(struct progress *child, struct progress *parent);
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
/* Decimal units with three significant digits, as docker and BuildKit print sizes ("12.3MB"). */
void human_size(uint64_t n, char *out, size_t len);

/* Reads a pipe in a thread and feeds progress_output_line until EOF. */
struct output_pump;
struct output_pump *output_pump_start(struct progress *p, int read_fd);
/* Waits for EOF (the writer side must be closed) and frees the pump. */
void output_pump_finish(struct output_pump *pump);

/* Registry transfers (pull, push) shown as progress, fed by transfer_progress_event (a
 * registry_progress_fn; thread-safe). Inside a build (build != NULL) in BuildKit's plain style
 * under the running step: "#2 sha256:HEX 3.40MB / 3.40MB 0.2s done". Alone (lade pull/push) on
 * stderr: plain, one line per blob ("sha256:0123456789ab: done 12.3MB"); tty, a line per blob
 * with bytes and rate updated in place. */
struct transfer_blob;
struct transfer_progress {
    pthread_mutex_t mu;
    bool tty;
    struct progress *build; /* borrowed; NULL outside a build */
    struct transfer_blob *blobs;
    size_t n;
    size_t drawn; /* tty: lines of the table on screen */
    double last_draw;
};
/* mode AUTO is tty when stderr is a terminal. */
void transfer_progress_init(struct transfer_progress *tp, enum progress_mode mode,
                            struct progress *build);
void transfer_progress_release(struct transfer_progress *tp);
void transfer_progress_event(void *ctx, const struct registry_event *ev);
/* registry_push of the manifest m (in st) to the reference text name, its blobs shown under the
 * build's running step (an image with --push, a --cache-to artifact). */
int transfer_push(struct store *st, const struct oci_desc *m, const char *name,
                  const struct registry_opts *reg, struct progress *build, struct lade_error *err);
