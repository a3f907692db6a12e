/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Build progress on stderr, in one of four forms (--progress):
 *   plain  BuildKit's plain stream, one line per event:
 *            #3 [2/4] RUN make
 *            #3 cache miss: src/main.c changed
 *            #3 0.412 compiling...
 *            #3 DONE 1.2s
 *   tty    BuildKit's live view (progress_tty.c): the steps in flight with their elapsed time
 *          and last output lines, finished ones collapsed to one line, redrawn in place at most
 *          10 times a second.
 *   json   one event per line (progress_json.c; the schema is in README.md and
 *          tests/integration/progress-schema.json).
 *   quiet  nothing.
 * Stages built at once each have a struct progress (progress_fork) on one shared sink, whose
 * mutex orders every event: the functions here may be called from any thread. */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "build.h"
#include "../layers/registry/registry.h"

#define PROGRESS_TAIL_LINES 10

/* Where a step comes from, for the json events ("id" is STAGE/STEP). */
struct progress_pos {
    const char *stage;       /* the stage's name, or "stage-N" */
    const char *step;        /* "3" (its number in the stage), "onbuild-1" */
    const char *file;        /* the Dockerfile's name */
    unsigned line;           /* 0: none */
    const char *instruction; /* as written */
};

enum progress_state { PSTEP_RUNNING, PSTEP_CACHED, PSTEP_DONE, PSTEP_ERROR };

/* One step as shown; owned by the sink (progress_core.h has the sink). */
struct progress_step;
struct progress_sink;

struct progress {
    struct progress_sink *sink;
    bool own_sink;
    struct progress_step *cur; /* the step this progress runs; NULL before the first */
};

/* The mode for an option's string ("auto", "plain", "tty", "json", "rawjson", "quiet"), or
 * PROGRESS_INVALID. */
enum progress_mode progress_mode_parse(const char *s);

void progress_init(struct progress *p, enum progress_mode mode);
/* A progress for a stage built alongside others: its own current step, step numbers and output
 * from parent's sink (which must outlive it). Release with progress_release. */
void progress_fork(struct progress *child, struct progress *parent);
/* The sink's owner draws the final screen (tty) here. */
void progress_release(struct progress *p);
/* Starts step #N with its title ("[2/4] RUN make"); pos may be NULL (a note of the export). */
void progress_step(struct progress *p, const struct progress_pos *pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Why the running step's cache key missed, in plain words ("ARG V changed (1 -> 2)"). */
void progress_reason(struct progress *p, const char *reason);
/* The layer the running step produced or found (json "digest"). */
void progress_layer(struct progress *p, const char *digest);
/* The exit status of the running step's process (json "exit_code" on error). */
void progress_exit_code(struct progress *p, int status);
/* Ends the running step; a step ends once, a second call is ignored. */
void progress_cached(struct progress *p);
void progress_done(struct progress *p);
/* Ends it as failed; plain shows msg's first line (the rest, the output's tail, is in the
 * error lade prints last). */
void progress_error(struct progress *p, const char *msg);
/* A line of output of the running step (without '\n'). */
void progress_output_line(struct progress *p, const char *line, size_t len);
/* A line about the running step that is not its output (a blob transfer). */
void progress_message(struct progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A free-form step ("#9 exporting to image"), finished by the next step of p or by
 * progress_done. */
void progress_note(struct progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The build's end: json's "build.done", tty's last status line. err NULL: success. */
void progress_build_done(struct progress *p, const struct lade_error *err);
/* The running step's last output lines (oldest first), each as "\n  > LINE". Caller frees. */
char *progress_tail_text(const struct progress *p);
double progress_now(void);
/* Decimal units with three significant digits, as docker and BuildKit print sizes ("12.3MB"). */
void human_size(uint64_t n, char *out, size_t len);

/* Reads a pipe in a thread and feeds progress_output_line until EOF. */
struct output_pump;
struct output_pump *output_pump_start(struct progress *p, int read_fd);
/* Waits for EOF (the writer side must be closed) and frees the pump. */
void output_pump_finish(struct output_pump *pump);

/* ---- progress_transfer.c ----
 * Registry transfers (pull, push) shown as progress, fed by transfer_progress_event (a
 * registry_progress_fn; thread-safe). Inside a build (build != NULL) as messages of the
 * running step ("#2 sha256:HEX 3.40MB / 3.40MB 0.2s done" in plain). Alone (lade pull/push)
 * on stderr: plain, one line per blob ("sha256:0123456789ab: done 12.3MB"); tty, a line per
 * blob with bytes and rate updated in place. */
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
