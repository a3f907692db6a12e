/* SPDX-License-Identifier: Apache-2.0 */
/* The store used from several threads at once, as a build's parallel stages use it: the lock
 * excludes this process's other threads too (not only other processes), and the first staging
 * calls register one owner. */
#include "../helpers/test.h"

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../builder/common/fsutil.h"
#include "../../builder/common/xalloc.h"
#include "../../layers/store/store.h"

#define THREADS 4
#define ROUNDS 200

struct shared {
    struct store *st;
    pthread_barrier_t start;
    long counter; /* changed only under store_lock, with a yield inside the critical section */
    int failures;
    char *dirs[THREADS];
};

struct worker {
    struct shared *sh;
    size_t id;
};

static void *
lock_worker(void *arg)
{
    struct worker *w = arg;
    struct lade_error err = {0};

    pthread_barrier_wait(&w->sh->start);
    for (int i = 0; i < ROUNDS; i++) {
        if (store_lock(w->sh->st, &err) < 0 || store_lock(w->sh->st, &err) < 0) {
            __atomic_add_fetch(&w->sh->failures, 1, __ATOMIC_RELAXED);
            continue;
        }
        long seen = w->sh->counter;
        sched_yield();
        w->sh->counter = seen + 1;
        store_unlock(w->sh->st); /* nested: still held */
        sched_yield();
        store_unlock(w->sh->st);
    }
    return NULL;
}

static void *
staging_worker(void *arg)
{
    struct worker *w = arg;
    struct lade_error err = {0};

    pthread_barrier_wait(&w->sh->start);
    if (store_tmp_dir(w->sh->st, &w->sh->dirs[w->id], &err) < 0)
        __atomic_add_fetch(&w->sh->failures, 1, __ATOMIC_RELAXED);
    return NULL;
}

static void
run_threads(struct shared *sh, void *(*fn)(void *) )
{
    pthread_t t[THREADS];
    struct worker w[THREADS];

    pthread_barrier_init(&sh->start, NULL, THREADS);
    for (size_t i = 0; i < THREADS; i++) {
        w[i] = (struct worker){sh, i};
        assert_int_equal(pthread_create(&t[i], NULL, fn, &w[i]), 0);
    }
    for (size_t i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&sh->start);
}

static void
test_lock_excludes_threads(void **state)
{
    struct lade_error err = {0};
    char *root = test_tmpdir();
    struct shared sh = {0};

    (void) state;
    assert_ok(store_open(root, &sh.st, &err), &err);
    run_threads(&sh, lock_worker);
    assert_int_equal(sh.failures, 0);
    assert_int_equal(sh.counter, THREADS * ROUNDS);
    store_free(sh.st);
    test_rm_rf(root);
    free(root);
}

static void
test_staging_registers_one_owner(void **state)
{
    struct lade_error err = {0};
    char *root = test_tmpdir();
    struct shared sh = {0};
    size_t owners = 0;

    (void) state;
    assert_ok(store_open(root, &sh.st, &err), &err);
    run_threads(&sh, staging_worker);
    assert_int_equal(sh.failures, 0);
    for (size_t i = 0; i < THREADS; i++) {
        assert_non_null(sh.dirs[i]);
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(sh.dirs[i], sh.dirs[k]);
    }
    char *tmp = xasprintf("%s/tmp", root);
    DIR *d = opendir(tmp);
    assert_non_null(d);
    for (struct dirent *de; (de = readdir(d)) != NULL;)
        owners += strncmp(de->d_name, "owner-", 6) == 0;
    closedir(d);
    assert_int_equal(owners, 1);
    for (size_t i = 0; i < THREADS; i++)
        free(sh.dirs[i]);
    free(tmp);
    store_free(sh.st);
    test_rm_rf(root);
    free(root);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock_excludes_threads),
        cmocka_unit_test(test_staging_registers_one_owner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
