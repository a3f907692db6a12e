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

/* Every --chown form as BuildKit reads it (llb.WithUser, then the file op's readUser). */
static void
test_rootfs_lookup_user_forms(void **state)
{
    static const struct {
        const char *spec;
        uid_t uid;
        gid_t gid;
    } ok[] = {
        {"app", 2001, 2002}, /* a name alone: its passwd uid and primary group */
        {"app:staff", 2001, 50},
        {"app:2002", 2001, 2002},
        {"app:", 2001, 0},
        {"2001", 2001, 2001}, /* an id alone: gid = uid, passwd is not read */
        {"4242", 4242, 4242},
        {"4242:7", 4242, 7},
        {"4242:staff", 4242, 50},
        {":", 0, 0}, /* both parts empty ("${UNSET}:${UNSET}"): 0:0 */
        {"", 0, 0},
        {":staff", 0, 50},
        {":7", 0, 7},
        {"root", 0, 0},
        {"root:root", 0, 0},
        {"root:staff", 0, 50},
        {"2001:root", 2001, 0},
    };
    struct lade_error err = {0};
    char *root = test_tmpdir(), *bare = test_tmpdir();
    uid_t uid;
    gid_t gid;

    (void) state;
    test_write_file(root, "etc/passwd",
                    "root:x:0:0:root:/root:/bin/sh\n2001:x:7:7::/:/bin/sh\n"
                    "app:x:2001:2002:app:/home/app:/bin/sh\n",
                    0644);
    test_write_file(root, "etc/group", "root:x:0:\nstaff:x:50:app\napp:x:2002:\n", 0644);
    int rootfd = open(root, O_RDONLY | O_DIRECTORY), barefd = open(bare, O_RDONLY | O_DIRECTORY);

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uid = gid = 12345;
        if (rootfs_lookup_user(rootfd, ok[i].spec, &uid, &gid, &err) < 0)
            fail_msg("\"%s\": %s", ok[i].spec, err.msg);
        if (uid != ok[i].uid || gid != ok[i].gid)
            fail_msg("\"%s\" gave %u:%u, expected %u:%u", ok[i].spec, (unsigned) uid,
                     (unsigned) gid, (unsigned) ok[i].uid, (unsigned) ok[i].gid);
    }
    /* Without /etc/passwd and /etc/group: root, ids and empty parts still resolve. */
    for (size_t i = 0; i < 3; i++) {
        static const char *const bare_ok[] = {"root:root", ":", "10:20"};
        assert_ok(rootfs_lookup_user(barefd, bare_ok[i], &uid, &gid, &err), &err);
    }
    assert_int_equal(rootfs_lookup_user(rootfd, "nobody", &uid, &gid, &err), -1);
    assert_non_null(strstr(err.msg, "unable to find user nobody"));
    lade_error_clear(&err);
    assert_int_equal(rootfs_lookup_user(rootfd, "app:nogroup", &uid, &gid, &err), -1);
    assert_non_null(strstr(err.msg, "unable to find group nogroup"));
    lade_error_clear(&err);
    assert_int_equal(rootfs_lookup_user(barefd, "app", &uid, &gid, &err), -1);
    assert_non_null(strstr(err.msg, "unable to find user app"));
    close(rootfd);
    close(barefd);
    test_rm_rf(root);
    test_rm_rf(bare);
    free(root);
    free(bare);
}

/* A FIFO planted as /etc/passwd is refused, never opened for a blocking read. */
static void
test_rootfs_lookup_user_fifo_passwd(void **state)
{
    struct lade_error err = {0};
    char *root = test_tmpdir();
    char *etc = xasprintf("%s/etc", root), *passwd = xasprintf("%s/etc/passwd", root);
    uid_t uid;
    gid_t gid;

    (void) state;
    assert_int_equal(mkdir(etc, 0755), 0);
    assert_int_equal(mkfifo(passwd, 0644), 0);
    int rootfd = open(root, O_RDONLY | O_DIRECTORY);
    alarm(10); /* a regression fails here instead of hanging the suite */
    assert_int_equal(rootfs_lookup_user(rootfd, "app", &uid, &gid, &err), -1);
    alarm(0);
    assert_non_null(strstr(err.msg, "not a regular file"));
    close(rootfd);
    test_rm_rf(root);
    free(root), free(etc), free(passwd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_clean_abs_normalises),
        cmocka_unit_test(test_rootfs_mkdir_p_stays_inside_through_symlinks),
        cmocka_unit_test(test_rootfs_lookup_user_forms),
        cmocka_unit_test(test_rootfs_lookup_user_fifo_passwd),
    };
    return cmocka_run_group_tests_name("rootfs", tests, NULL, NULL);
}
