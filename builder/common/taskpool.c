/* SPDX-License-Identifier: Apache-2.0 */
/* A bounded job queue served by a few threads (taskpool.h). */
#include "taskpool.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "xalloc.h"

#define QUEUE_CAP 64 /* enough to keep the workers busy; bounds the fds jobs may hold */
#define MAX_THREADS 8

struct task {
    taskpool_fn fn;
    void *arg;
    void (*free_arg)(void *);
};

struct taskpool {
    unsigned nthreads, started;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, idle_cv, space_cv;
    struct task queue[QUEUE_CAP];
    size_t head, len; /* queue[head .. head+len) modulo QUEUE_CAP */
    unsigned running;
    unsigned idle;    /* workers waiting for a job: a submit wakes one only then */
    unsigned waiters; /* callers in taskpool_wait */
    bool stop;
    bool failed;
    struct lade_error first; /* the first failure, when failed */
};

static void
task_release(struct task *t)
{
    if (t->free_arg != NULL)
        t->free_arg(t->arg);
}

/* Runs t unless skip (a job failed before) and records its failure; the caller holds no lock.
 * locked_record: workers record under the lock, the inline caller has no other thread. */
static void
task_run(struct taskpool *p, struct task *t, bool skip, bool locked_record)
{
    struct lade_error e = {0};
    int rc = skip ? 0 : t->fn(t->arg, &e);

    task_release(t);
    if (rc == 0)
        return;
    if (locked_record)
        pthread_mutex_lock(&p->mu);
    if (!p->failed) {
        p->failed = true;
        p->first = e;
    }
    if (locked_record)
        pthread_mutex_unlock(&p->mu);
}

static void *
worker_main(void *arg)
{
    struct taskpool *p = arg;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->len == 0) {
            p->idle++;
            pthread_cond_wait(&p->work_cv, &p->mu);
            p->idle--;
        }
        if (p->stop && p->len == 0)
            break;
        struct task t = p->queue[p->head];
        p->head = (p->head + 1) % QUEUE_CAP;
        p->len--;
        p->running++;
        bool skip = p->failed;
        if (p->len == QUEUE_CAP - 1)
            pthread_cond_signal(&p->space_cv); /* the queue was full: a submit may wait */
        pthread_mutex_unlock(&p->mu);
        task_run(p, &t, skip, true);
        pthread_mutex_lock(&p->mu);
        p->running--;
        if (p->len == 0 && p->running == 0 && p->waiters > 0)
            pthread_cond_broadcast(&p->idle_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

unsigned
taskpool_default_threads(void)
{
    const char *env = getenv("LADE_COPY_THREADS");
    long n;

    if (env != NULL && *env != '\0')
        n = strtol(env, NULL, 10);
    else
        n = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? sysconf(_SC_NPROCESSORS_ONLN) : 0;
    if (n < 0)
        n = 0;
    return n > MAX_THREADS ? MAX_THREADS : (unsigned) n;
}

struct taskpool *
taskpool_new(unsigned nthreads)
{
    struct taskpool *p = xcalloc(1, sizeof(*p));

    p->nthreads = nthreads > MAX_THREADS ? MAX_THREADS : nthreads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->idle_cv, NULL);
    pthread_cond_init(&p->space_cv, NULL);
    return p;
}

/* Threads start with the first job, so a walk that copies nothing costs none. A pool that
 * cannot start any runs its jobs inline. */
static void
start_threads(struct taskpool *p)
{
    p->threads = xcalloc(p->nthreads, sizeof(*p->threads));
    for (; p->started < p->nthreads; p->started++)
        if (pthread_create(&p->threads[p->started], NULL, worker_main, p) != 0)
            break;
    if (p->started == 0)
        p->nthreads = 0;
}

int
taskpool_submit(struct taskpool *p, taskpool_fn fn, void *arg, void (*free_arg)(void *),
                struct lade_error *err)
{
    struct task t = {.fn = fn, .arg = arg, .free_arg = free_arg};

    if (p->nthreads > 0 && p->threads == NULL)
        start_threads(p);
    if (p->nthreads == 0) {
        task_run(p, &t, p->failed, false);
        return taskpool_wait(p, err);
    }
    pthread_mutex_lock(&p->mu);
    while (!p->failed && p->len == QUEUE_CAP)
        pthread_cond_wait(&p->space_cv, &p->mu);
    if (p->failed) {
        pthread_mutex_unlock(&p->mu);
        task_release(&t);
        return taskpool_wait(p, err);
    }
    p->queue[(p->head + p->len) % QUEUE_CAP] = t;
    p->len++;
    if (p->idle > 0)
        pthread_cond_signal(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

int
taskpool_wait(struct taskpool *p, struct lade_error *err)
{
    bool failed;

    pthread_mutex_lock(&p->mu);
    p->waiters++;
    while (p->len > 0 || p->running > 0)
        pthread_cond_wait(&p->idle_cv, &p->mu);
    p->waiters--;
    failed = p->failed;
    if (failed)
        *err = p->first;
    pthread_mutex_unlock(&p->mu);
    return failed ? -1 : 0;
}

void
taskpool_free(struct taskpool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    /* drop what is queued: the owner is failing or done */
    while (p->len > 0) {
        task_release(&p->queue[p->head]);
        p->head = (p->head + 1) % QUEUE_CAP;
        p->len--;
    }
    p->stop = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_cond_broadcast(&p->space_cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->started; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->idle_cv);
    pthread_cond_destroy(&p->space_cv);
    free(p);
}
