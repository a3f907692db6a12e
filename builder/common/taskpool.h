/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include "error.h"

/* A few worker threads running independent jobs (COPY's file copies and content digests), so a
 * walk that is mostly read(2), write(2) and hashing uses every core. The caller orders what must
 * be ordered: jobs run in any order, on any worker, and taskpool_wait is the only barrier.
 *
 * A job is fn(arg, err): it reports a failure by returning -1 with err set. The first failure
 * is kept; jobs submitted after it are dropped unrun (their arg is still freed). The pool owns
 * arg from submit on and frees it with free_arg (may be NULL) once the job has run or been
 * dropped. With 0 threads, submit runs the job at once on the caller's thread: the same results,
 * no threads. */
typedef int (*taskpool_fn)(void *arg, struct lade_error *err);

struct taskpool;

/* nthreads 0: inline. */
struct taskpool *taskpool_new(unsigned nthreads);
/* The number of workers a pool of the machine's size gets: LADE_COPY_THREADS when set (0 is
 * inline), else one per online core, at most 8; 0 on a single core. */
unsigned taskpool_default_threads(void);
/* Queues fn(arg); returns -1 (err set to the first failure) when a job has already failed, else
 * 0. The queue is bounded: submit waits while it is full. */
int taskpool_submit(struct taskpool *p, taskpool_fn fn, void *arg, void (*free_arg)(void *),
                    struct lade_error *err);
/* Waits until every job submitted so far has run; -1 with err set to the first failure (which
 * stays: later waits fail too). */
int taskpool_wait(struct taskpool *p, struct lade_error *err);
/* Waits for the running jobs, drops the queued ones, joins the workers. NULL is fine. */
void taskpool_free(struct taskpool *p);
