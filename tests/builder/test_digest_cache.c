/* SPDX-License-Identifier: Apache-2.0 */
/* The context's digests by file metadata (builder/digest_cache.c): a hit needs every field
 * of the stat to match, racily clean entries are not kept, the set survives a reopen, and a
 * damaged file gives no digest at all. */
#include "../helpers/test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../builder/digest_cache.h"
#include "../../builder/common/xalloc.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"

struct fixture {
    char *dir, *ctx;
    struct store *st;
};

static void
fixture_open(struct fixture *f)
{
    struct lade_error err = {0};
    char *root;

    f->dir = test_tmpdir();
    f->ctx = xasprintf("%s/ctx", f->dir);
    root = xasprintf("%s/root", f->dir);
    test_write_file(f->dir, "ctx/a", "a\n", 0644);
    assert_ok(store_open(root, &f->st, &err), &err);
    free(root);
}

static void
fixture_close(struct fixture *f)
{
    store_free(f->st);
    test_rm_rf(f->dir);
    free(f->dir);
    free(f->ctx);
}

/* A stat of an old file: times well before "now". */
static struct stat
old_stat(void)
{
    struct stat st;

    memset(&st, 0, sizeof(st));
    st.st_dev = 8;
    st.st_ino = 42;
    st.st_size = 2;
    st.st_mtim.tv_sec = 1000;
    st.st_ctim.tv_sec = 1000;
    return st;
}

static void
test_digest_cache_hit_needs_the_same_stat(void **state)
{
    struct fixture f;
    struct stat st = old_stat(), other;
    digest_t d;

    (void) state;
    fixture_open(&f);
    struct digest_cache *h = digest_cache_open(f.st, f.ctx);
    assert_non_null(h);
    assert_false(digest_cache_get(h, "a", &st, d));
    digest_cache_put(h, "a", &st, D1, digest_cache_now());
    assert_true(digest_cache_get(h, "a", &st, d));
    assert_string_equal(d, D1);
    assert_false(digest_cache_get(h, "b", &st, d));
    other = st;
    other.st_ctim.tv_nsec = 1; /* content put back with its old mtime: ctime moved */
    assert_false(digest_cache_get(h, "a", &other, d));
    other = st;
    other.st_ino = 43;
    assert_false(digest_cache_get(h, "a", &other, d));
    other = st;
    other.st_size = 3;
    assert_false(digest_cache_get(h, "a", &other, d));
    digest_cache_close(h);

    /* kept in the store for the next build */
    h = digest_cache_open(f.st, f.ctx);
    assert_true(digest_cache_get(h, "a", &st, d));
    assert_string_equal(d, D1);
    digest_cache_close(h);
    fixture_close(&f);
}

static void
test_digest_cache_racily_clean_entry_is_not_kept(void **state)
{
    struct fixture f;
    struct stat st = old_stat();
    int64_t now = digest_cache_now();
    digest_t d;

    (void) state;
    fixture_open(&f);
    struct digest_cache *h = digest_cache_open(f.st, f.ctx);
    st.st_ctim.tv_sec = now / 1000000000; /* changed in the second it was read */
    digest_cache_put(h, "a", &st, D1, now);
    assert_false(digest_cache_get(h, "a", &st, d));
    st = old_stat();
    st.st_mtim.tv_sec = now / 1000000000;
    digest_cache_put(h, "a", &st, D1, now);
    assert_false(digest_cache_get(h, "a", &st, d));
    digest_cache_close(h);
    fixture_close(&f);
}

static void
test_digest_cache_damaged_file_gives_nothing(void **state)
{
    struct fixture f;
    struct stat st = old_stat();
    digest_t d;
    char *dir, *cmd;

    (void) state;
    fixture_open(&f);
    struct digest_cache *h = digest_cache_open(f.st, f.ctx);
    digest_cache_put(h, "a", &st, D1, digest_cache_now());
    digest_cache_close(h);
    dir = xasprintf("%s/root/cache/.context", f.dir);
    /* one digit of the recorded digest changed: the checksum no longer matches */
    cmd = xasprintf("f=$(ls %s/*) && sed -i 's/sha256:1111/sha256:2111/' \"$f\"", dir);
    assert_int_equal(system(cmd), 0);
    h = digest_cache_open(f.st, f.ctx);
    assert_false(digest_cache_get(h, "a", &st, d));
    digest_cache_close(h);
    free(cmd);
    cmd = xasprintf("f=$(ls %s/*) && truncate -s 40 \"$f\"", dir);
    assert_int_equal(system(cmd), 0);
    h = digest_cache_open(f.st, f.ctx);
    assert_false(digest_cache_get(h, "a", &st, d));
    digest_cache_close(h);
    free(cmd);
    free(dir);
    fixture_close(&f);
}

static void
test_digest_cache_files_gone_are_dropped(void **state)
{
    struct fixture f;
    struct stat st = old_stat();
    const char *names[] = {"a", "b", "c", "d", "e"};
    digest_t d;

    (void) state;
    fixture_open(&f);
    struct digest_cache *h = digest_cache_open(f.st, f.ctx);
    for (size_t i = 0; i < 5; i++)
        digest_cache_put(h, names[i], &st, D1, digest_cache_now());
    digest_cache_close(h);
    /* a build that sees a and a new f: the 4 unseen outnumber the 2 seen */
    h = digest_cache_open(f.st, f.ctx);
    assert_true(digest_cache_get(h, "a", &st, d));
    digest_cache_put(h, "f", &st, D1, digest_cache_now());
    digest_cache_close(h);
    h = digest_cache_open(f.st, f.ctx);
    assert_true(digest_cache_get(h, "a", &st, d));
    assert_true(digest_cache_get(h, "f", &st, d));
    assert_false(digest_cache_get(h, "b", &st, d));
    digest_cache_close(h);
    fixture_close(&f);
}

static void
test_digest_cache_none_for_a_context_in_the_store(void **state)
{
    struct fixture f;

    (void) state;
    fixture_open(&f);
    char *in_store = xasprintf("%s/root/tmp", f.dir);
    assert_null(digest_cache_open(f.st, in_store));
    free(in_store);
    fixture_close(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_cache_hit_needs_the_same_stat),
        cmocka_unit_test(test_digest_cache_racily_clean_entry_is_not_kept),
        cmocka_unit_test(test_digest_cache_damaged_file_gives_nothing),
        cmocka_unit_test(test_digest_cache_files_gone_are_dropped),
        cmocka_unit_test(test_digest_cache_none_for_a_context_in_the_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
