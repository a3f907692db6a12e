/* SPDX-License-Identifier: Apache-2.0 */
/* Garbage collection (layers/store/gc.c): what the index reaches and what the caller keeps
 * stays; other blobs, their sources and extracted layers go; dry runs count only; a cache mount
 * whose lock a build holds stays. */
#include "../helpers/test.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../builder/common/strv.h"
#include "../../builder/common/xalloc.h"
#include "../../layers/store/store.h"

static char *
path_of(const char *root, const char *rel)
{
    return xasprintf("%s/%s", root, rel);
}

static bool
exists(const char *root, const char *rel)
{
    char *p = path_of(root, rel);
    bool e = access(p, F_OK) == 0;
    free(p);
    return e;
}

/* An extracted layer directory for blob, as store_layer_adopt leaves one. */
static void
fake_layer(const char *root, const char *id, const char *blob)
{
    char *rel = xasprintf("layers/%s/blob", id), *diff = xasprintf("layers/%s/diff/f", id);
    test_write_file(root, diff, "x", 0644);
    test_write_file(root, rel, blob, 0644);
    free(rel);
    free(diff);
}

static void
test_gc_keeps_reachable_and_named_blobs(void **state)
{
    struct lade_error err = {0};
    char *root = test_tmpdir();
    struct store *st = NULL;
    digest_t layer, config, cached, garbage;
    struct oci_desc man = {MT_OCI_MANIFEST, "", 0};
    struct store_gc_result total, freed;
    char **keep = NULL;

    (void) state;
    assert_ok(store_open(root, &st, &err), &err);
    assert_ok(store_blob_put(st, "layer", 5, layer, &err), &err);
    assert_ok(store_blob_put(st, "{}", 2, config, &err), &err);
    assert_ok(store_blob_put(st, "cached", 6, cached, &err), &err);
    assert_ok(store_blob_put(st, "garbage", 7, garbage, &err), &err);
    char *m = xasprintf("{\"schemaVersion\":2,\"config\":{\"digest\":\"%s\"},"
                        "\"layers\":[{\"digest\":\"%s\"}]}",
                        config, layer);
    assert_ok(store_blob_put(st, m, strlen(m), man.digest, &err), &err);
    man.size = (int64_t) strlen(m);
    assert_ok(store_tag_set(st, "docker.io/library/a:1", &man, &err), &err);
    assert_ok(store_source_add(st, garbage, "localhost:5000/x", &err), &err);
    fake_layer(root, "aaaa", layer);
    fake_layer(root, "bbbb", garbage);
    fake_layer(root, "cccc", cached);

    assert_ok(store_index_blobs(st, &keep, &err), &err);
    assert_int_equal(strv_len(keep), 3); /* manifest, config, layer */
    keep = strv_push(keep, cached);      /* a cache record's */
    assert_int_equal(store_use_exclusive(st, false, &err), 1);

    assert_ok(store_gc(st, keep, true, &total, &freed, &err), &err);
    assert_int_equal(total.blobs.count, 5);
    assert_int_equal(freed.blobs.count, 1);
    assert_int_equal(freed.layers.count, 1);
    assert_true(store_blob_exists(st, garbage)); /* dry */

    assert_ok(store_gc(st, keep, false, &total, &freed, &err), &err);
    assert_int_equal(freed.blobs.count, 1);
    assert_false(store_blob_exists(st, garbage));
    assert_null(store_sources_get(st, garbage));
    assert_true(store_blob_exists(st, layer) && store_blob_exists(st, cached));
    assert_true(store_blob_exists(st, man.digest) && store_blob_exists(st, config));
    assert_true(exists(root, "layers/aaaa/diff/f") && exists(root, "layers/cccc/diff/f"));
    assert_false(exists(root, "layers/bbbb"));

    strv_free(keep);
    free(m);
    store_free(st);
    test_rm_rf(root);
    free(root);
}

static void
test_gc_waits_for_other_users_and_spares_held_cache_mounts(void **state)
{
    struct lade_error err = {0};
    char *root = test_tmpdir();
    struct store *st = NULL, *other = NULL;
    struct store_gc_result total = {0}, freed = {0};

    (void) state;
    assert_ok(store_open(root, &st, &err), &err);
    assert_ok(store_open(root, &other, &err), &err); /* another user (its own flock) */
    assert_int_equal(store_use_exclusive(st, false, &err), 0);
    store_free(other);
    assert_int_equal(store_use_exclusive(st, false, &err), 1);

    test_write_file(root, "cachemounts/idle/data/f", "idle", 0644);
    test_write_file(root, "cachemounts/idle/lock", "", 0644);
    test_write_file(root, "cachemounts/held/data/f", "held", 0644);
    test_write_file(root, "cachemounts/held/lock", "", 0644);
    char *lock = path_of(root, "cachemounts/held/lock");
    int fd = open(lock, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_SH), 0);
    pid_t pid = fork(); /* the holder is another process, as a build would be */
    if (pid == 0) {
        pause();
        _exit(0);
    }
    close(fd);

    assert_ok(store_cachemounts_prune(st, 0, false, &total, &freed, &err), &err);
    assert_int_equal(total.mounts.count, 2);
    assert_int_equal(freed.mounts.count, 0); /* used_before 0: none is that old */
    memset(&total, 0, sizeof(total));
    assert_ok(store_cachemounts_prune(st, time(NULL) + 10, false, &total, &freed, &err), &err);
    assert_int_equal(freed.mounts.count, 1);
    assert_false(exists(root, "cachemounts/idle"));
    assert_true(exists(root, "cachemounts/held/data/f"));

    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    free(lock);
    store_free(st);
    test_rm_rf(root);
    free(root);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gc_keeps_reachable_and_named_blobs),
        cmocka_unit_test(test_gc_waits_for_other_users_and_spares_held_cache_mounts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
