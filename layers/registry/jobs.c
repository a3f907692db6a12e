/* SPDX-License-Identifier: Apache-2.0 */
/* Blob transfers run in parallel on a few threads; the first failure stops the rest, as docker's
 * pull does, so a bad digest is reported at once rather than after every other layer. */
#include "image-internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../builder/common/xalloc.h"

struct pool {
    struct reg_jobs jobs;
    pthread_mutex_t mu;
    size_t next, n;
    reg_job_fn job;
    void *ctx;
    struct lade_error first; /* the first failure */
};

static void *
worker(void *arg)
{
    struct pool *p = arg;

    for (;;) {
        struct lade_error err = {0};
        size_t i;

        pthread_mutex_lock(&p->mu);
        i = p->next++;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->n || atomic_load(&p->jobs.stop))
            break;
        if (p->job(p->ctx, i, &p->jobs, &err) < 0) {
            if (!lade_error_is_set(&err)) /* never report success for a failed job */
                lade_error_set(&err, LADE_ERR_OTHER, "blob transfer %zu failed", i);
            pthread_mutex_lock(&p->mu);
            /* a job stopped by another's failure reports that one, not its own */
            if (!lade_error_is_set(&p->first))
                p->first = err;
            atomic_store(&p->jobs.stop, true);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

int
reg_jobs_run(size_t n, unsigned parallel, reg_job_fn job, void *ctx, struct lade_error *err)
{
    struct pool p = {.n = n, .job = job, .ctx = ctx};
    size_t nthreads = parallel ? parallel : REG_DEFAULT_PARALLEL, started = 0;
    pthread_t *threads;
    sigset_t block, old;

    if (nthreads > n)
        nthreads = n;
    if (nthreads == 0)
        return 0;
    atomic_init(&p.jobs.stop, false);
    pthread_mutex_init(&p.mu, NULL);
    threads = xcalloc(nthreads, sizeof(*threads));
    /* SIGINT and SIGTERM stay with the main thread. */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    for (size_t i = 0; i < nthreads; i++)
        if (pthread_create(&threads[started], NULL, worker, &p) == 0)
            started++;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (started == 0)
        worker(&p); /* no thread could start: do the work here */
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    pthread_mutex_destroy(&p.mu);
    if (lade_error_is_set(&p.first)) {
        if (err != NULL)
            *err = p.first;
        return -1;
    }
    return 0;
}

void
reg_event(const struct registry_opts *opts, enum registry_event_kind kind, const char *digest,
          uint64_t done, uint64_t total, const char *text)
{
    struct registry_event ev = {kind, digest, done, total, text};

    if (opts != NULL && opts->progress != NULL)
        opts->progress(opts->progress_ctx, &ev);
}
