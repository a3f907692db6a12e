/* SPDX-License-Identifier: Apache-2.0 */
/* RUN --mount=type=cache directories in the store: made whole, kept, locked per sharing. */
#include "../helpers/test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../builder/common/fsutil.h"
#include "../../builder/common/xalloc.h"
#include "../../layers/store/store.h"

struct fixture {
    char *root;
    struct store *st;
};

static int
setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    struct lade_error err = {0};

    f->root = test_tmpdir();
    assert_ok(store_open(f->root, &f->st, &err), &err);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    store_free(f->st);
    test_rm_rf(f->root);
    free(f->root);
    free(f);
    return 0;
}

static int
init_count(void *ud, const char *dir, struct lade_error *err)
{
    int *calls = ud;
    char *path = xasprintf("%s/seed", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

    free(path);
    if (fd < 0)
        return lade_error_sys(err, "seed");
    close(fd);
    (*calls)++;
    return 0;
}

static int
init_fail(void *ud, const char *dir, struct lade_error *err)
{
    (void) ud;
    (void) dir;
    return lade_error_set(err, LADE_ERR_OTHER, "init refused");
}

/* Made once (init runs once), kept between acquisitions, shared users at once. */
static void
test_cachemount_created_once_and_kept(void **state)
{
    struct fixture *f = *state;
    struct store_cache_mount a, b;
    struct lade_error err = {0};
    struct stat st;
    int calls = 0;

    assert_ok(
        store_cache_mount_acquire(f->st, "abc", STORE_CACHE_SHARED, init_count, &calls, &a, &err),
        &err);
    assert_int_equal(calls, 1);
    char *want = xasprintf("%s/cachemounts/abc/data", f->root);
    assert_string_equal(a.dir, want);
    free(want);
    assert_int_equal(stat(a.dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    test_write_file(a.dir, "kept", "x", 0644);
    /* a second shared user while the first holds it */
    assert_ok(
        store_cache_mount_acquire(f->st, "abc", STORE_CACHE_SHARED, init_count, &calls, &b, &err),
        &err);
    assert_int_equal(calls, 1);
    assert_string_equal(a.dir, b.dir);
    store_cache_mount_release(&b);
    store_cache_mount_release(&a);
    assert_ok(
        store_cache_mount_acquire(f->st, "abc", STORE_CACHE_LOCKED, init_count, &calls, &a, &err),
        &err);
    char *kept = xasprintf("%s/kept", a.dir);
    assert_int_equal(access(kept, F_OK), 0);
    free(kept);
    store_cache_mount_release(&a);
    assert_int_equal(a.lock_fd, -1);
    /* each use refreshes the instance's mtime, which lade prune --filter until= reads */
    char *inst = xasprintf("%s/cachemounts/abc", f->root);
    struct timespec old[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
    assert_int_equal(utimensat(AT_FDCWD, inst, old, 0), 0);
    assert_ok(store_cache_mount_acquire(f->st, "abc", STORE_CACHE_SHARED, NULL, NULL, &a, &err),
              &err);
    assert_int_equal(stat(inst, &st), 0);
    assert_true(st.st_mtime > 1000);
    free(inst);
    store_cache_mount_release(&a);
}

/* A private user gets the main instance when it is free, another one when it is held. */
static void
test_cachemount_private_instances(void **state)
{
    struct fixture *f = *state;
    struct store_cache_mount a, b, c;
    struct lade_error err = {0};
    int calls = 0;

    assert_ok(store_cache_mount_acquire(f->st, "p", STORE_CACHE_SHARED, NULL, NULL, &a, &err),
              &err);
    assert_ok(
        store_cache_mount_acquire(f->st, "p", STORE_CACHE_PRIVATE, init_count, &calls, &b, &err),
        &err);
    assert_non_null(strstr(b.dir, "/cachemounts/p.1/data"));
    assert_int_equal(calls, 1);
    store_cache_mount_release(&a);
    assert_ok(
        store_cache_mount_acquire(f->st, "p", STORE_CACHE_PRIVATE, init_count, &calls, &c, &err),
        &err);
    assert_non_null(strstr(c.dir, "/cachemounts/p/data"));
    store_cache_mount_release(&b);
    store_cache_mount_release(&c);
}

/* locked waits for every other user: a child holding it shared delays the lock. */
static void
test_cachemount_locked_waits(void **state)
{
    struct fixture *f = *state;
    struct store_cache_mount a, b;
    struct lade_error err = {0};
    int p[2], ws;
    char c;

    assert_ok(store_cache_mount_acquire(f->st, "l", STORE_CACHE_SHARED, NULL, NULL, &a, &err),
              &err);
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct lade_error e = {0};
        close(p[0]);
        close(a.lock_fd); /* a flock belongs to the open file, which fork shares */
        int rc = store_cache_mount_acquire(f->st, "l", STORE_CACHE_LOCKED, NULL, NULL, &b, &e);
        (void) !write(p[1], rc == 0 ? "y" : "n", 1);
        _exit(rc == 0 ? 0 : 1);
    }
    close(p[1]);
    usleep(300 * 1000);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    assert_int_equal(read(p[0], &c, 1), -1); /* still waiting */
    assert_int_equal(errno, EAGAIN);
    store_cache_mount_release(&a);
    fcntl(p[0], F_SETFL, 0);
    assert_int_equal(read(p[0], &c, 1), 1);
    assert_int_equal(c, 'y');
    close(p[0]);
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
}

/* A failed init leaves no instance (the next user initialises it) and nothing in tmp/. */
static void
test_cachemount_failed_init_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    struct store_cache_mount a;
    struct lade_error err = {0};
    int calls = 0;

    assert_int_equal(
        store_cache_mount_acquire(f->st, "x", STORE_CACHE_SHARED, init_fail, NULL, &a, &err), -1);
    assert_non_null(strstr(err.msg, "init refused"));
    char *inst = xasprintf("%s/cachemounts/x", f->root);
    assert_int_equal(access(inst, F_OK), -1);
    free(inst);
    memset(&err, 0, sizeof(err));
    assert_ok(
        store_cache_mount_acquire(f->st, "x", STORE_CACHE_SHARED, init_count, &calls, &a, &err),
        &err);
    assert_int_equal(calls, 1);
    store_cache_mount_release(&a);
    assert_int_equal(
        store_cache_mount_acquire(f->st, "../x", STORE_CACHE_SHARED, NULL, NULL, &a, &err), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cachemount_created_once_and_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cachemount_private_instances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cachemount_locked_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cachemount_failed_init_leaves_nothing, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
