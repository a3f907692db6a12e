/* SPDX-License-Identifier: Apache-2.0 */
/* The merged tree of a stage's layers from their listings (builder/base_tree.c): an extracted
 * layer (overlay's whiteout devices and opaque xattr) and a blob read without extracting
 * (".wh." entries, directories only implied by their entries), looked up as overlay shows
 * them. */
#include "../helpers/test.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../../builder/base_tree.h"
#include "../../builder/common/fsutil.h"
#include "../../builder/common/xalloc.h"

static void
run(const char *cmd)
{
    assert_int_equal(system(cmd), 0);
}

/* dir/lower: a/f, a/g, l -> a, o/x, etc/passwd. dir/upper: a/f whited out, o opaque with o/y. */
static void
make_dir_layers(const char *dir)
{
    char *p;

    test_write_file(dir, "lower/a/f", "f\n", 0644);
    test_write_file(dir, "lower/a/g", "g\n", 0600);
    test_write_file(dir, "lower/o/x", "x\n", 0644);
    test_write_file(dir, "lower/etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0644);
    p = xasprintf("%s/lower/l", dir);
    assert_int_equal(symlink("a", p), 0);
    free(p);
    test_write_file(dir, "upper/o/y", "y\n", 0644);
    p = xasprintf("%s/upper/a", dir);
    assert_int_equal(mkdir(p, 0750), 0);
    free(p);
    p = xasprintf("%s/upper/a/f", dir);
    if (mknod(p, S_IFCHR | 0, makedev(0, 0)) < 0)
        test_skip("mknod of a whiteout needs root");
    free(p);
    p = xasprintf("%s/upper/o", dir);
    if (setxattr(p, "trusted.overlay.opaque", "y", 1, 0) < 0)
        test_skip("trusted xattrs need root");
    free(p);
}

static void
test_base_tree_extracted_layers_as_overlay_shows_them(void **state)
{
    char *dir = test_tmpdir();
    struct build b = {0};
    struct stage_state ss = {0};
    struct layer_state layers[2] = {{.chain_id = "sha256:1"}, {.chain_id = "sha256:2"}};
    struct base_tree *t = NULL;
    struct lade_error err = {0};
    const struct base_node *e = NULL;

    (void) state;
    make_dir_layers(dir);
    layers[0].dir = xasprintf("%s/lower", dir);
    layers[1].dir = xasprintf("%s/upper", dir);
    ss.layers = layers;
    ss.nlayers = 1;
    assert_ok(base_tree_update(&b, &ss, &t, &err), &err);
    assert_int_equal(base_tree_lookup(t, "a/f", NULL), BASE_OTHER);
    ss.nlayers = 2; /* the tree grows by the new layer only */
    assert_ok(base_tree_update(&b, &ss, &t, &err), &err);
    assert_int_equal(base_tree_lookup(t, "a", &e), BASE_DIR);
    assert_int_equal(e->mode, 0750); /* the upper layer's directory */
    assert_int_equal(base_tree_lookup(t, "a/f", NULL), BASE_ABSENT);
    assert_int_equal(base_tree_lookup(t, "a/g", NULL), BASE_OTHER);
    assert_int_equal(base_tree_lookup(t, "l", &e), BASE_SYMLINK);
    assert_string_equal(e->link, "a");
    assert_int_equal(base_tree_lookup(t, "o/x", NULL), BASE_ABSENT); /* under an opaque dir */
    assert_int_equal(base_tree_lookup(t, "o/y", NULL), BASE_OTHER);
    assert_int_equal(base_tree_lookup(t, "nothing", NULL), BASE_ABSENT);
    assert_int_equal(base_tree_lookup(t, "etc/passwd", &e), BASE_OTHER);
    assert_string_equal(e->data, "root:x:0:0::/root:/bin/sh\n");
    base_tree_free(t);
    free(layers[0].dir);
    free(layers[1].dir);
    test_rm_rf(dir);
    free(dir);
}

static void
test_base_tree_blob_listing_whiteouts_and_implied_dirs(void **state)
{
    char *dir = test_tmpdir(), *root = NULL, *cmd, *data = NULL;
    struct store *st = NULL;
    struct build b = {0};
    struct stage_state ss = {0};
    struct layer_state layers[2] = {{.chain_id = "sha256:1"}, {.chain_id = "sha256:2"}};
    struct base_tree *t = NULL;
    struct lade_error err = {0};
    const struct base_node *e = NULL;
    size_t len = 0;

    (void) state;
    test_need_tool("tar");
    root = xasprintf("%s/root", dir);
    assert_ok(store_open(root, &st, &err), &err);
    b.st = st;
    /* lower: d/ (0700), d/f, p/q without an entry for p; upper: d/ (0711), d/.wh.f, d/n */
    test_write_file(dir, "l1/d/f", "f\n", 0644);
    test_write_file(dir, "l1/p/q", "q\n", 0644);
    test_write_file(dir, "l2/d/.wh.f", "", 0644);
    test_write_file(dir, "l2/d/n", "n\n", 0644);
    cmd = xasprintf("chmod 0700 %s/l1/d && cd %s/l1 && tar --numeric-owner -czf ../l1.tgz d p/q && "
                    "chmod 0711 %s/l2/d && cd %s/l2 && tar -czf ../l2.tgz d",
                    dir, dir, dir, dir);
    run(cmd);
    free(cmd);
    for (int i = 0; i < 2; i++) {
        char name[16];
        snprintf(name, sizeof(name), "l%d.tgz", i + 1);
        char *path = xasprintf("%s/%s", dir, name);
        assert_ok(read_file_at(AT_FDCWD, path, 1 << 20, &data, &len, &err), &err);
        assert_ok(store_blob_put(st, data, len, layers[i].blob.digest, &err), &err);
        free(data);
        free(path);
    }
    ss.layers = layers;
    ss.nlayers = 2;
    assert_ok(base_tree_update(&b, &ss, &t, &err), &err);
    assert_int_equal(base_tree_lookup(t, "d", &e), BASE_DIR);
    assert_int_equal(e->mode, 0711); /* the upper layer's */
    assert_int_equal(base_tree_lookup(t, "d/f", NULL), BASE_ABSENT);
    assert_int_equal(base_tree_lookup(t, "d/n", NULL), BASE_OTHER);
    assert_int_equal(base_tree_lookup(t, "p/q", NULL), BASE_OTHER);
    assert_int_equal(base_tree_lookup(t, "p", NULL), BASE_UNKNOWN); /* only extraction knows */
    base_tree_free(t);
    /* the listings kept in the store answer the same, and a damaged one is listed again */
    for (int round = 0; round < 2; round++) {
        t = NULL;
        assert_ok(base_tree_update(&b, &ss, &t, &err), &err);
        assert_int_equal(base_tree_lookup(t, "d", &e), BASE_DIR);
        assert_int_equal(e->mode, 0711);
        assert_int_equal(base_tree_lookup(t, "d/f", NULL), BASE_ABSENT);
        assert_int_equal(base_tree_lookup(t, "p/q", NULL), BASE_OTHER);
        assert_int_equal(base_tree_lookup(t, "p", NULL), BASE_UNKNOWN);
        base_tree_free(t);
        cmd = xasprintf("for f in %s/cache/.listing/*; do truncate -s 60 \"$f\"; done", root);
        run(cmd);
        free(cmd);
    }
    store_free(st);
    test_rm_rf(dir);
    free(root);
    free(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_tree_extracted_layers_as_overlay_shows_them),
        cmocka_unit_test(test_base_tree_blob_listing_whiteouts_and_implied_dirs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
