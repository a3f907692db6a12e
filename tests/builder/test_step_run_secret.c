/* SPDX-License-Identifier: Apache-2.0 */
/* RUN --mount=type=secret|ssh (builder/step_run_secret.c): defaults as BuildKit's, the files
 * on a tmpfs with their owner and mode, env= values, required and optional ids. */
#include "../helpers/test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "../../builder/secrets.h"
#include "../../builder/step_run_secret.h"
#include "../../builder/common/strv.h"
#include "../../builder/common/xalloc.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

static void
test_ssh_env_defaults(void **state)
{
    struct run_mount m[2] = {{.type = RUN_MOUNT_SECRET}, {.type = RUN_MOUNT_SSH}};
    struct run_cmd r = {.mounts = m, .nmounts = 2};
    char **env = strv_push(NULL, "PATH=/bin");

    (void) state;
    env = run_ssh_env(&r, env);
    assert_string_equal(strv_env_get(env, "SSH_AUTH_SOCK"), "/run/buildkit/ssh_agent.0");
    strv_free(env);
    m[1].target = (char *) "agent.sock"; /* relative: from the root */
    env = run_ssh_env(&r, NULL);
    assert_string_equal(strv_env_get(env, "SSH_AUTH_SOCK"), "/agent.sock");
    /* the environment's own wins (llb's exec op only sets it when absent) */
    env = strv_env_set(env, "SSH_AUTH_SOCK", "/mine");
    env = run_ssh_env(&r, env);
    assert_string_equal(strv_env_get(env, "SSH_AUTH_SOCK"), "/mine");
    strv_free(env);
    r.nmounts = 1; /* no ssh mount: nothing set */
    env = run_ssh_env(&r, NULL);
    assert_null(strv_env_get(env, "SSH_AUTH_SOCK"));
    strv_free(env);
}

static void
test_mounts_join_orders_by_target(void **state)
{
    struct sandbox_mount a[] = {{.target = "/run/sub"}, {.target = "/b", .size = 1}},
                         b[] = {{.target = "/run/secrets/x"},
                                {.target = "/run"},
                                {.target = "/b", .size = 2}};
    size_t n = 0;

    (void) state;
    struct sandbox_mount *v = run_mounts_join(a, 2, b, 3, &n);
    assert_int_equal(n, 5);
    assert_string_equal(v[0].target, "/b");
    assert_int_equal(v[0].size, 1); /* stable: a's /b before b's */
    assert_string_equal(v[1].target, "/b");
    assert_int_equal(v[1].size, 2);
    assert_string_equal(v[2].target, "/run");
    assert_string_equal(v[3].target, "/run/secrets/x");
    assert_string_equal(v[4].target, "/run/sub");
    free(v);
    v = run_mounts_join(NULL, 0, NULL, 0, &n);
    assert_int_equal(n, 0);
    free(v);
}

/* A build whose only option is its secrets. */
struct fixture {
    struct build_opts opts;
    struct build b;
    struct build_secrets *secrets;
    char *dir;
};

static struct fixture *
fixture_new(void)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    struct lade_error err = {0};

    f->secrets = build_secrets_new();
    setenv("LADE_TEST_SECRET_VALUE", "v4lue", 1);
    assert_ok(build_secrets_add(f->secrets, "id=tok,env=LADE_TEST_SECRET_VALUE", &err), &err);
    f->opts.secrets = f->secrets;
    f->b.opts = &f->opts;
    f->dir = test_tmpdir();
    return f;
}

static void
fixture_free(struct fixture *f)
{
    build_secrets_free(f->secrets);
    test_rm_rf(f->dir);
    free(f->dir);
    free(f);
}

static void
test_prepare_files_env_and_ids(void **state)
{
    struct run_mount m[] = {
        {.type = RUN_MOUNT_SECRET, .id = (char *) "tok"},
        {.type = RUN_MOUNT_SECRET,
         .id = (char *) "tok",
         .target = (char *) "etc/t",
         .has_mode = true,
         .mode = 0440,
         .has_uid = true,
         .uid = 1000},
        {.type = RUN_MOUNT_SECRET, .id = (char *) "tok", .env = (char *) "TOK"},
        {.type = RUN_MOUNT_SECRET, .id = (char *) "absent", .env = (char *) "ABSENT"},
    };
    struct run_cmd r = {.mounts = m, .nmounts = 4};
    struct run_secret_mounts rm;
    struct lade_error err = {0};
    char **env = NULL;
    struct stat st;
    struct statfs sf;
    char buf[16] = {0};

    (void) state;
    if (geteuid() != 0 || sandbox_unshare(&err) < 0)
        test_skip("needs root and a mount namespace of its own (a tmpfs is mounted)");
    struct fixture *f = fixture_new();
    assert_ok(run_secrets_prepare(&f->b, &r, f->dir, &env, &rm, &err), &err);
    /* two files (env= alone makes none, a missing optional one is skipped), on one tmpfs */
    assert_int_equal(rm.nmounts, 2);
    assert_string_equal(rm.mounts[0].target, "/run/secrets/tok");
    assert_string_equal(rm.mounts[1].target, "/etc/t");
    assert_true(rm.mounts[0].readonly && rm.mounts[0].type == SANDBOX_MOUNT_BIND);
    assert_int_equal(statfs(rm.mounts[0].source, &sf), 0);
    assert_int_equal(sf.f_type, TMPFS_MAGIC);
    assert_int_equal(stat(rm.mounts[0].source, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0400);
    assert_int_equal(st.st_uid, 0);
    assert_int_equal(stat(rm.mounts[1].source, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0440);
    assert_int_equal(st.st_uid, 1000);
    FILE *fp = fopen(rm.mounts[1].source, "r");
    assert_non_null(fp);
    assert_non_null(fgets(buf, sizeof(buf), fp));
    fclose(fp);
    assert_string_equal(buf, "v4lue");
    assert_string_equal(strv_env_get(env, "TOK"), "v4lue");
    assert_string_equal(strv_env_get(env, "ABSENT"), ""); /* BuildKit: set, empty */
    char *src = xstrdup(rm.mounts[0].source);
    run_secrets_release(&rm);
    assert_int_equal(stat(src, &st), -1); /* gone with the tmpfs */
    free(src);
    run_secrets_wipe_env(env);
    strv_free(env);
    env = NULL;
    /* required and not given: an error naming the id */
    m[3].required = true;
    assert_int_equal(run_secrets_prepare(&f->b, &r, f->dir, &env, &rm, &err), -1);
    assert_int_equal(err.code, LADE_ERR_USAGE);
    assert_non_null(strstr(err.msg, "secret absent: not found"));
    strv_free(env);
    env = NULL;
    /* an ssh id that was not given: skipped, unless required */
    struct run_mount s = {.type = RUN_MOUNT_SSH, .id = (char *) "gh"};
    struct run_cmd rs = {.mounts = &s, .nmounts = 1};
    lade_error_clear(&err);
    assert_ok(run_secrets_prepare(&f->b, &rs, f->dir, &env, &rm, &err), &err);
    assert_int_equal(rm.nmounts, 0);
    s.required = true;
    assert_int_equal(run_secrets_prepare(&f->b, &rs, f->dir, &env, &rm, &err), -1);
    assert_non_null(strstr(err.msg, "no SSH key \"gh\" forwarded"));
    strv_free(env);
    fixture_free(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ssh_env_defaults),
        cmocka_unit_test(test_mounts_join_orders_by_target),
        cmocka_unit_test(test_prepare_files_env_and_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
