/* SPDX-License-Identifier: Apache-2.0 */
#include "../helpers/test.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../builder/rootfs.h"
#include "../../builder/common/xalloc.h"

static void
test_path_clean_abs_normalises(void **state)
{
    static const char *const cases[][2] = {
        {"/", "/"},           {"", "/"},           {"a/b", "/a/b"},
        {"/a/./b/", "/a/b"},  {"/a/../b", "/b"},   {"/../../x", "/x"},
        {"//a//b//", "/a/b"}, {"/a/b/../..", "/"}, {"/a/b/c/../../d", "/a/d"},
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *c = path_clean_abs(cases[i][0]);
        if (strcmp(c, cases[i][1]) != 0)
            fail_msg("path_clean_abs(\"%s\") = \"%s\", want \"%s\"", cases[i][0], c, cases[i][1]);
        free(c);
    }
}

/* A root with a symlink to "/" and one to "../../.." must not let a write reach the host. */
static void
test_rootfs_mkdir_p_stays_inside_through_symlinks(void **state)
{
    struct lade_error err = {0};
    char *root = test_tmpdir();
    char *outside = test_tmpdir();
    char *link_target = xasprintf("%s", outside);
    char *p1 = xasprintf("%s/abs", root), *p2 = xasprintf("%s/rel", root);
    int rootfd;

    (void) state;
    assert_int_equal(symlink(link_target, p1), 0); /* absolute host path */
    assert_int_equal(symlink("../../../../..", p2), 0);
    rootfd = open(root, O_RDONLY | O_DIRECTORY);
    assert_ok(rootfs_mkdir_p(rootfd, "/abs/made", 0755, 0, 0, &err), &err);
    assert_ok(rootfs_mkdir_p(rootfd, "/rel/made2", 0755, 0, 0, &err), &err);

    char *leak1 = xasprintf("%s/made", outside);
    char *in1 = xasprintf("%s%s/made", root, outside); /* the link resolved inside the root */
    char *in2 = xasprintf("%s/made2", root);
    struct stat st;
    assert_int_not_equal(stat(leak1, &st), 0);
    assert_int_equal(stat(in1, &st), 0);
    assert_int_equal(stat(in2, &st), 0);
    close(rootfd);
    test_rm_rf(root);
    test_rm_rf(outside);
    free(root), free(outside), free(link_target), free(p1), free(p2), free(leak1), free(in1),
        free(in2);
}

static void
test_rootfs_lookup_user_forms(void **state)
{
    struct lade_error err = {0};
    char *root = test_tmpdir();
    uid_t uid;
    gid_t gid;

    (void) state;
    test_write_file(root, "etc/passwd",
                    "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n", 0644);
    test_write_file(root, "etc/group", "root:x:0:\nstaff:x:50:app\napp:x:1001:\n", 0644);
    int rootfd = open(root, O_RDONLY | O_DIRECTORY);

    /* Without a group the gid is the uid, whatever passwd says (docker's COPY --chown). */
    assert_ok(rootfs_lookup_user(rootfd, "app", &uid, &gid, &err), &err);
    assert_int_equal(uid, 1000);
    assert_int_equal(gid, 1000);
    assert_ok(rootfs_lookup_user(rootfd, "app:staff", &uid, &gid, &err), &err);
    assert_int_equal(gid, 50);
    assert_ok(rootfs_lookup_user(rootfd, "1000", &uid, &gid, &err), &err);
    assert_int_equal(gid, 1000);
    assert_ok(rootfs_lookup_user(rootfd, "4242:7", &uid, &gid, &err), &err);
    assert_int_equal(uid, 4242);
    assert_int_equal(gid, 7);
    assert_ok(rootfs_lookup_user(rootfd, "4242", &uid, &gid, &err), &err);
    assert_int_equal(gid, 4242);
    assert_ok(rootfs_lookup_user(rootfd, "app:1001", &uid, &gid, &err), &err);
    assert_int_equal(gid, 1001);
    assert_int_equal(rootfs_lookup_user(rootfd, "nobody", &uid, &gid, &err), -1);
    assert_non_null(strstr(err.msg, "unable to find user nobody"));
    lade_error_clear(&err);
    assert_int_equal(rootfs_lookup_user(rootfd, "app:nogroup", &uid, &gid, &err), -1);
    assert_non_null(strstr(err.msg, "unable to find group nogroup"));
    close(rootfd);
    test_rm_rf(root);
    free(root);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_clean_abs_normalises),
        cmocka_unit_test(test_rootfs_mkdir_p_stays_inside_through_symlinks),
        cmocka_unit_test(test_rootfs_lookup_user_forms),
    };
    return cmocka_run_group_tests_name("rootfs", tests, NULL, NULL);
}
