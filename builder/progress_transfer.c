/* SPDX-License-Identifier: Apache-2.0 */
/* Registry transfers (pull, push) as progress (progress.h): inside a build as messages of the
 * running step, alone as lines per blob (plain) or a table updated in place (tty). */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/xalloc.h"

struct transfer_blob {
    digest_t digest;
    uint64_t done, total;
    double start;
    const char *state; /* NULL while moving, else "done", "already exists", "mounted" */
};

void
human_size(uint64_t n, char *out, size_t len)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    double v = (double) n;
    size_t u = 0;

    while (v >= 1000 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1000;
        u++;
    }
    snprintf(out, len, "%.3g%s", v, units[u]);
}

void
transfer_progress_init(struct transfer_progress *tp, enum progress_mode mode,
                       struct progress *build)
{
    memset(tp, 0, sizeof(*tp));
    pthread_mutex_init(&tp->mu, NULL);
    tp->build = build;
    tp->tty = build == NULL && (mode == PROGRESS_TTY || (mode == PROGRESS_AUTO && isatty(2)));
}

void
transfer_progress_release(struct transfer_progress *tp)
{
    free(tp->blobs);
    tp->blobs = NULL;
    tp->n = tp->drawn = 0;
    pthread_mutex_destroy(&tp->mu);
}

static struct transfer_blob *
blob_get(struct transfer_progress *tp, const char *digest)
{
    for (size_t i = 0; i < tp->n; i++)
        if (strcmp(tp->blobs[i].digest, digest) == 0)
            return &tp->blobs[i];
    tp->blobs = xrealloc(tp->blobs, (tp->n + 1) * sizeof(*tp->blobs));
    struct transfer_blob *b = &tp->blobs[tp->n++];
    memset(b, 0, sizeof(*b));
    snprintf(b->digest, sizeof(b->digest), "%s", digest);
    b->start = progress_now();
    return b;
}

/* "sha256:" and the first 12 hex digits, as docker shortens IDs. */
static const char *
short_digest(const char *digest, char *out, size_t len)
{
    snprintf(out, len, "%.19s", digest);
    return out;
}

static void
tty_line(const struct transfer_blob *b)
{
    char id[24], done[16], total[16], rate[16];

    short_digest(b->digest, id, sizeof(id));
    human_size(b->done, done, sizeof(done));
    human_size(b->total, total, sizeof(total));
    if (b->state != NULL && strcmp(b->state, "done") == 0)
        fprintf(stderr, "\r\033[K%s: done %s\n", id, total);
    else if (b->state != NULL)
        fprintf(stderr, "\r\033[K%s: %s\n", id, b->state);
    else {
        double secs = progress_now() - b->start;
        human_size(secs > 0.01 ? (uint64_t) ((double) b->done / secs) : 0, rate, sizeof(rate));
        fprintf(stderr, "\r\033[K%s: %s / %s %s/s\n", id, done, total, rate);
    }
}

static void
tty_draw(struct transfer_progress *tp)
{
    if (tp->drawn > 0)
        fprintf(stderr, "\033[%zuA", tp->drawn);
    for (size_t i = 0; i < tp->n; i++)
        tty_line(&tp->blobs[i]);
    tp->drawn = tp->n;
    tp->last_draw = progress_now();
    fflush(stderr);
}

/* A line of text below the table; the table above it stays as it is. */
static void
text_line(struct transfer_progress *tp, const char *digest, const char *text)
{
    char id[24];

    if (tp->tty && tp->n > 0) {
        tty_draw(tp);
        tp->n = tp->drawn = 0;
    }
    if (tp->build != NULL) {
        progress_message(tp->build, "%s%s%s", digest ? digest : "", digest ? " " : "", text);
        return;
    }
    if (digest != NULL)
        fprintf(stderr, "%s: %s\n", short_digest(digest, id, sizeof(id)), text);
    else
        fprintf(stderr, "%s\n", text);
    fflush(stderr);
}

static void
plain_finished(struct transfer_progress *tp, const struct transfer_blob *b)
{
    char id[24], total[16];

    human_size(b->total, total, sizeof(total));
    if (tp->build != NULL) {
        char done[16];
        human_size(b->done, done, sizeof(done));
        progress_message(tp->build, "%s %s / %s %.1fs %s", b->digest, done, total,
                         progress_now() - b->start, b->state);
        return;
    }
    if (strcmp(b->state, "done") == 0) {
        fprintf(stderr, "%s: done %s\n", short_digest(b->digest, id, sizeof(id)), total);
    } else {
        fprintf(stderr, "%s: %s\n", short_digest(b->digest, id, sizeof(id)), b->state);
    }
    fflush(stderr);
}

static void
blob_event(struct transfer_progress *tp, const struct registry_event *ev)
{
    struct transfer_blob *b = blob_get(tp, ev->digest);
    double now = progress_now();

    b->total = ev->total;
    if (ev->kind == REG_EV_START) {
        b->start = now;
        b->done = 0;
    }
    if (ev->done > b->done || ev->kind == REG_EV_RETRY)
        b->done = ev->done;
    if (ev->kind == REG_EV_DONE)
        b->state = "done";
    else if (ev->kind == REG_EV_EXISTS)
        b->state = "already exists";
    else if (ev->kind == REG_EV_MOUNTED)
        b->state = "mounted";
    if (tp->tty) {
        if (ev->kind != REG_EV_BYTES || now - tp->last_draw >= 0.1)
            tty_draw(tp);
    } else if (b->state != NULL && !(tp->build != NULL && ev->kind == REG_EV_EXISTS)) {
        plain_finished(tp, b); /* in a build, blobs the store has are not news */
    }
}

void
transfer_progress_event(void *ctx, const struct registry_event *ev)
{
    struct transfer_progress *tp = ctx;

    pthread_mutex_lock(&tp->mu);
    switch (ev->kind) {
    case REG_EV_START:
    case REG_EV_BYTES:
    case REG_EV_EXISTS:
    case REG_EV_MOUNTED:
    case REG_EV_DONE:
        if (ev->digest != NULL)
            blob_event(tp, ev);
        break;
    case REG_EV_RETRY:
    case REG_EV_NOTE:
        if (ev->text != NULL)
            text_line(tp, ev->digest, ev->text);
        break;
    }
    pthread_mutex_unlock(&tp->mu);
}

int
transfer_push(struct store *st, const struct oci_desc *m, const char *name,
              const struct registry_opts *reg, struct progress *build, struct lade_error *err)
{
    struct registry_opts ro = *reg;
    struct transfer_progress tp;
    struct image_ref ref;
    int rc;

    if (image_ref_parse(name, &ref, err) < 0)
        return -1;
    /* under a build the events go to its sink, which knows the mode */
    transfer_progress_init(&tp, PROGRESS_PLAIN, build);
    ro.progress = transfer_progress_event;
    ro.progress_ctx = &tp;
    rc = registry_push(st, m, &ref, &ro, NULL, err);
    transfer_progress_release(&tp);
    image_ref_release(&ref);
    return rc;
}
