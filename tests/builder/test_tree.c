/* SPDX-License-Identifier: Apache-2.0 */
/* The chroot tier's trees (builder/sandbox/tree.h): the snapshot comparison writes what
 * overlay would have put in an upper dir, and a layer dir applies onto a tree. */
#include "../helpers/test.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../../builder/common/userns.h"
#include "../../builder/sandbox/tree.h"
#include "../../builder/common/fsutil.h"
#include "../../builder/common/xalloc.h"

struct fixture {
    char *tree, *upper;
    int tree_fd, upper_fd;
    struct tree_snapshot *snap;
};

static int
setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));

    f->tree = test_tmpdir();
    f->upper = test_tmpdir();
    test_write_file(f->tree, "etc/passwd", "root\n", 0644);
    test_write_file(f->tree, "data/a", "a\n", 0644);
    test_write_file(f->tree, "data/b", "b\n", 0644);
    test_write_file(f->tree, "gone/deep/f", "x\n", 0644);
    test_write_file(f->tree, "swap/old", "old\n", 0644);
    test_write_file(f->tree, "dev/null", "", 0644);
    f->tree_fd = open(f->tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    f->upper_fd = open(f->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    tree_snapshot_free(f->snap);
    close(f->tree_fd);
    close(f->upper_fd);
    test_rm_rf(f->tree);
    test_rm_rf(f->upper);
    free(f->tree);
    free(f->upper);
    free(f);
    return 0;
}

static void
snapshot(struct fixture *f, char *const *skip)
{
    struct lade_error err = {0};

    assert_ok(tree_snapshot_take(f->tree_fd, skip, &f->snap, &err), &err);
}

static void
diff(struct fixture *f)
{
    struct lade_error err = {0};

    assert_ok(tree_diff_to_upper(f->tree_fd, f->snap, f->upper_fd, &err), &err);
}

/* The type of rel in the upper dir: 'f', 'd', 'l', 'w' (whiteout), 'c', 'p', or 0 if absent. */
static char
upper_type(struct fixture *f, const char *rel)
{
    struct stat st;

    if (fstatat(f->upper_fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return 0;
    if (S_ISCHR(st.st_mode))
        return st.st_rdev == 0 ? 'w' : 'c';
    return S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : S_ISFIFO(st.st_mode) ? 'p' : 'f';
}

static void
in_tree(struct fixture *f, const char *cmd)
{
    char *c = xasprintf("cd '%s' && %s", f->tree, cmd);

    assert_int_equal(system(c), 0);
    free(c);
}

static void
test_tree_unchanged_gives_empty_upper(void **state)
{
    struct fixture *f = *state;

    snapshot(f, NULL);
    in_tree(f, "cat data/a >/dev/null");
    diff(f);
    assert_int_equal(upper_type(f, "data"), 0);
    assert_int_equal(upper_type(f, "etc"), 0);
}

static void
test_tree_changes_become_overlay_upper(void **state)
{
    struct fixture *f = *state;
    struct stat st;

    snapshot(f, NULL);
    in_tree(f, "echo more >>data/a && rm data/b && rm -rf gone && mkdir -p new/dir && "
               "echo n >new/dir/f && ln -s a data/link && ln data/a data/hard");
    diff(f);
    assert_int_equal(upper_type(f, "data"), 'd');
    assert_int_equal(upper_type(f, "data/a"), 'f');
    assert_int_equal(upper_type(f, "data/b"), 'w');
    assert_int_equal(upper_type(f, "data/link"), 'l');
    assert_int_equal(upper_type(f, "gone"), 'w');
    assert_int_equal(upper_type(f, "gone/deep"), 0); /* only the top of a deleted tree */
    assert_int_equal(upper_type(f, "new/dir/f"), 'f');
    assert_int_equal(upper_type(f, "etc"), 0);
    assert_int_equal(upper_type(f, "swap"), 0);
    /* the two links of one file stay one inode, as overlay's copy-up keeps a new link */
    assert_int_equal(fstatat(f->upper_fd, "data/hard", &st, 0), 0);
    assert_int_equal(st.st_nlink, 2);
    char *text = NULL;
    size_t len = 0;
    struct lade_error err = {0};
    assert_ok(read_file_at(f->upper_fd, "data/a", 1024, &text, &len, &err), &err);
    assert_string_equal(text, "a\nmore\n");
    free(text);
}

static void
test_tree_metadata_change_is_copied(void **state)
{
    struct fixture *f = *state;
    struct stat st;

    snapshot(f, NULL);
    in_tree(f, "chmod 0600 data/b && chown 1000:1001 etc/passwd");
    diff(f);
    assert_int_equal(fstatat(f->upper_fd, "data/b", &st, 0), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(fstatat(f->upper_fd, "etc/passwd", &st, 0), 0);
    assert_int_equal(st.st_uid, 1000);
    assert_int_equal(st.st_gid, 1001);
    assert_int_equal(upper_type(f, "data/a"), 0);
}

static void
test_tree_replaced_dir_is_opaque(void **state)
{
    struct fixture *f = *state;

    snapshot(f, NULL);
    in_tree(f, "rm -rf swap && mkdir swap && echo new >swap/new");
    diff(f);
    int fd = openat(f->upper_fd, "swap", O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    assert_true(overlay_opaque_marked(fd));
    close(fd);
    assert_int_equal(upper_type(f, "swap/new"), 'f');
    assert_int_equal(upper_type(f, "swap/old"), 0); /* hidden by the opaque mark */
}

static void
test_tree_skipped_paths_never_reach_upper(void **state)
{
    struct fixture *f = *state;
    char *const skip[] = {(char *) "dev", NULL};

    snapshot(f, skip);
    in_tree(f, "echo x >dev/null && echo y >dev/new");
    diff(f);
    assert_int_equal(upper_type(f, "dev"), 0);
}

static void
test_tree_apply_layer_whiteouts_and_opaque(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    struct stat st;

    /* an upper dir as the store keeps a layer: whiteout, opaque dir, new file */
    assert_int_equal(mknodat(f->upper_fd, "gone", S_IFCHR | 0, 0), 0);
    assert_int_equal(mkdirat(f->upper_fd, "swap", 0755), 0);
    int sw = openat(f->upper_fd, "swap", O_RDONLY | O_DIRECTORY);
    assert_ok(tree_set_opaque(sw, "swap", &err), &err);
    close(sw);
    test_write_file(f->upper, "swap/new", "new\n", 0640);
    test_write_file(f->upper, "data/a", "replaced\n", 0600);
    assert_ok(tree_apply_layer(f->tree_fd, f->upper_fd, &err), &err);
    assert_int_equal(fstatat(f->tree_fd, "gone", &st, AT_SYMLINK_NOFOLLOW), -1);
    assert_int_equal(fstatat(f->tree_fd, "swap/old", &st, AT_SYMLINK_NOFOLLOW), -1);
    assert_int_equal(fstatat(f->tree_fd, "swap/new", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(fstatat(f->tree_fd, "data/a", &st, AT_SYMLINK_NOFOLLOW), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, 9);
    assert_int_equal(fstatat(f->tree_fd, "data/b", &st, AT_SYMLINK_NOFOLLOW), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tree_unchanged_gives_empty_upper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree_changes_become_overlay_upper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree_metadata_change_is_copied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree_replaced_dir_is_opaque, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree_skipped_paths_never_reach_upper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree_apply_layer_whiteouts_and_opaque, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
