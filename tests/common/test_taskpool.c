/* SPDX-License-Identifier: Apache-2.0 */
/* builder/common/taskpool.c: every job runs once, waits are barriers, the first failure wins. */
#include "../helpers/test.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../builder/common/taskpool.h"
#include "../../builder/common/xalloc.h"

#define NJOBS 1000 /* more than the queue holds: submit must wait for room */

struct job {
    atomic_int *runs;  /* per job index: how often it ran */
    atomic_int *freed; /* how many args were freed */
    int index;
    int fail_at; /* this index fails */
};

static int
job_run(void *arg, struct lade_error *err)
{
    struct job *j = arg;

    atomic_fetch_add(&j->runs[j->index], 1);
    if (j->index == j->fail_at)
        return lade_error_set(err, LADE_ERR_IO, "job %d failed", j->index);
    if (j->index % 97 == 0)
        usleep(1000); /* some jobs are slow: the others overtake them */
    return 0;
}

static void
job_free(void *arg)
{
    struct job *j = arg;

    atomic_fetch_add(j->freed, 1);
    free(j);
}

static struct job *
job_new(atomic_int *runs, atomic_int *freed, int index, int fail_at)
{
    struct job *j = xcalloc(1, sizeof(*j));

    *j = (struct job){.runs = runs, .freed = freed, .index = index, .fail_at = fail_at};
    return j;
}

static void
run_all(unsigned nthreads)
{
    static atomic_int runs[NJOBS];
    atomic_int freed = 0;
    struct lade_error err = {0};
    struct taskpool *p = taskpool_new(nthreads);

    for (int i = 0; i < NJOBS; i++)
        atomic_store(&runs[i], 0);
    for (int i = 0; i < NJOBS; i++) {
        assert_int_equal(taskpool_submit(p, job_run, job_new(runs, &freed, i, -1), job_free, &err),
                         0);
        if (i == NJOBS / 2) { /* a wait in the middle is a barrier, and the pool goes on after */
            assert_int_equal(taskpool_wait(p, &err), 0);
            for (int k = 0; k <= i; k++)
                assert_int_equal(atomic_load(&runs[k]), 1);
        }
    }
    assert_int_equal(taskpool_wait(p, &err), 0);
    for (int i = 0; i < NJOBS; i++)
        assert_int_equal(atomic_load(&runs[i]), 1);
    assert_int_equal(atomic_load(&freed), NJOBS);
    assert_false(lade_error_is_set(&err));
    taskpool_free(p);
}

static void
test_every_job_runs_once_inline(void **state)
{
    (void) state;
    run_all(0);
}

static void
test_every_job_runs_once_on_threads(void **state)
{
    (void) state;
    run_all(1);
    run_all(3);
}

static void
test_first_failure_is_reported_and_kept(void **state)
{
    static atomic_int runs[NJOBS];
    atomic_int freed = 0;
    struct lade_error err = {0};
    struct taskpool *p = taskpool_new(2);
    int submitted = 0;

    (void) state;
    for (int i = 0; i < NJOBS; i++) {
        submitted++;
        if (taskpool_submit(p, job_run, job_new(runs, &freed, i, 10), job_free, &err) < 0)
            break;
    }
    if (!lade_error_is_set(&err))
        assert_int_equal(taskpool_wait(p, &err), -1);
    assert_non_null(strstr(err.msg, "job 10 failed"));
    assert_int_equal(err.code, LADE_ERR_IO);
    /* the failure stays: a later wait fails too */
    struct lade_error again = {0};
    assert_int_equal(taskpool_wait(p, &again), -1);
    assert_string_equal(again.msg, err.msg);
    taskpool_free(p);
    /* every arg is freed, run or dropped */
    assert_int_equal(atomic_load(&freed), submitted);
}

static void
test_free_without_jobs_or_wait(void **state)
{
    atomic_int runs[1] = {0};
    atomic_int freed = 0;
    struct lade_error err = {0};

    (void) state;
    taskpool_free(NULL);
    taskpool_free(taskpool_new(4)); /* no job: no thread was started */
    struct taskpool *p = taskpool_new(2);
    assert_int_equal(taskpool_submit(p, job_run, job_new(runs, &freed, 0, -1), job_free, &err), 0);
    taskpool_free(p); /* frees what ran or was queued */
    assert_int_equal(atomic_load(&freed), 1);
}

static void
test_default_threads_follows_the_env(void **state)
{
    (void) state;
    setenv("LADE_COPY_THREADS", "0", 1);
    assert_int_equal(taskpool_default_threads(), 0);
    setenv("LADE_COPY_THREADS", "3", 1);
    assert_int_equal(taskpool_default_threads(), 3);
    setenv("LADE_COPY_THREADS", "100", 1);
    assert_int_equal(taskpool_default_threads(), 8);
    unsetenv("LADE_COPY_THREADS");
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    assert_int_equal(taskpool_default_threads(), n > 1 ? (n > 8 ? 8 : n) : 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_job_runs_once_inline),
        cmocka_unit_test(test_every_job_runs_once_on_threads),
        cmocka_unit_test(test_first_failure_is_reported_and_kept),
        cmocka_unit_test(test_free_without_jobs_or_wait),
        cmocka_unit_test(test_default_threads_follows_the_env),
    };
    return cmocka_run_group_tests_name("taskpool", tests, NULL, NULL);
}
