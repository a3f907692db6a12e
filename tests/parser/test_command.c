/* SPDX-License-Identifier: Apache-2.0 */
/* Typed instructions: every flag and word expanded once, with the environment given. */
#include "../helpers/test.h"

#include <stdlib.h>
#include <string.h>

#include "../../parser/parser.h"

/* Parses "FROM scratch\n<line>" and expands its second instruction with env. */
static int
expand_line(const char *line, const char *const *env, struct dockerfile **df, struct command *cmd,
            struct lade_error *err)
{
    struct expander x = {.escape = '\\', .lookup = test_env_lookup, .ud = (void *) env};
    char src[512];

    snprintf(src, sizeof(src), "FROM scratch\n%s\n", line);
    if (dockerfile_parse_mem(src, strlen(src), "Dockerfile", 0, df, err) < 0)
        return -1;
    return command_expand(&(*df)->instrs[1], &x, cmd, err);
}

static void
test_command_copy_expands_every_flag_and_word(void **state)
{
    const char *env[] = {"U=1000", "G=2000", "M=750", "S=stage", "D=/dst", NULL};
    struct lade_error err = {0};
    struct dockerfile *df = NULL;
    struct command cmd;

    (void) state;
    assert_ok(expand_line("COPY --chown=$U:$G --chmod=$M --from=$S --link a${U} b $D", env, &df,
                          &cmd, &err),
              &err);
    assert_int_equal(cmd.u.copy.nsrcs, 2);
    assert_string_equal(cmd.u.copy.srcs[0], "a1000");
    assert_string_equal(cmd.u.copy.srcs[1], "b");
    assert_string_equal(cmd.u.copy.dest, "/dst");
    assert_string_equal(cmd.u.copy.chown, "1000:2000");
    assert_string_equal(cmd.u.copy.chmod, "750");
    assert_int_equal(cmd.u.copy.mode, 0750);
    assert_string_equal(cmd.u.copy.from, "stage");
    assert_true(cmd.u.copy.link);
    assert_null(cmd.u.copy.unsupported);
    command_release(&cmd);
    dockerfile_free(df);
}

static void
test_command_copy_empty_words_stay_empty(void **state)
{
    const char *env[] = {NULL};
    struct lade_error err = {0};
    struct dockerfile *df = NULL;
    struct command cmd;

    (void) state;
    assert_ok(expand_line("COPY --chown=${A}:${B} a $E", env, &df, &cmd, &err), &err);
    assert_string_equal(cmd.u.copy.dest, "");
    assert_string_equal(cmd.u.copy.chown, ":");
    assert_null(cmd.u.copy.chmod);
    assert_null(cmd.u.copy.from);
    assert_false(cmd.u.copy.link);
    command_release(&cmd);
    dockerfile_free(df);
}

static void
test_command_copy_bad_chmod_and_remote_flags(void **state)
{
    const char *env[] = {"M=9z", NULL};
    struct lade_error err = {0};
    struct dockerfile *df = NULL;
    struct command cmd;

    (void) state;
    assert_int_equal(expand_line("COPY --chmod=$M a b", env, &df, &cmd, &err), -1);
    assert_int_equal(err.code, LADE_ERR_PARSE);
    assert_non_null(strstr(err.msg, "9z"));
    command_release(&cmd);
    dockerfile_free(df);
    memset(&err, 0, sizeof(err));
    assert_ok(expand_line("ADD --checksum=sha256:$M --keep-git-dir a b", env, &df, &cmd, &err),
              &err);
    assert_null(cmd.u.copy.unsupported);
    assert_string_equal(cmd.u.copy.checksum, "sha256:9z"); /* expanded, as BuildKit does */
    assert_int_equal(cmd.u.copy.keep_git_dir, 1);
    command_release(&cmd);
    dockerfile_free(df);
}

/* --parents, --exclude (as written: BuildKit does not expand them), --unpack, --link. */
static void
test_command_copy_typed_flags(void **state)
{
    const char *env[] = {"P=*.txt", NULL};
    struct lade_error err = {0};
    struct dockerfile *df = NULL;
    struct command cmd;

    (void) state;
    assert_ok(expand_line("COPY --parents --link --exclude=$P --exclude=!k a/./b /d/", env, &df,
                          &cmd, &err),
              &err);
    assert_null(cmd.u.copy.unsupported);
    assert_true(cmd.u.copy.parents);
    assert_true(cmd.u.copy.link);
    assert_string_equal(cmd.u.copy.excludes[0], "$P");
    assert_string_equal(cmd.u.copy.excludes[1], "!k");
    assert_null(cmd.u.copy.excludes[2]);
    assert_int_equal(cmd.u.copy.unpack, -1);
    command_release(&cmd);
    dockerfile_free(df);
    assert_ok(expand_line("ADD --unpack=false a /d/", env, &df, &cmd, &err), &err);
    assert_int_equal(cmd.u.copy.unpack, 0);
    assert_false(cmd.u.copy.parents);
    assert_null(cmd.u.copy.excludes);
    command_release(&cmd);
    dockerfile_free(df);
}

/* Heredocs are sources of their own: names never expanded, bodies expanded raw unless the name
 * was quoted, <<- strips leading tabs; a heredoc destination is refused. */
static void
test_command_copy_heredocs(void **state)
{
    const char *env[] = {"V=val", NULL};
    struct lade_error err = {0};
    struct dockerfile *df = NULL;
    struct command cmd;

    (void) state;
    assert_ok(expand_line("COPY a <<E1 <<'E2' <<-E3 /d/\n$V \\$V \"q\"\nE1\n$V\nE2\n\t\tx\n\tE3",
                          env, &df, &cmd, &err),
              &err);
    assert_int_equal(cmd.u.copy.nsrcs, 1);
    assert_string_equal(cmd.u.copy.srcs[0], "a");
    assert_int_equal(cmd.u.copy.ndocs, 3);
    assert_string_equal(cmd.u.copy.docs[0].name, "E1");
    assert_string_equal(cmd.u.copy.docs[0].data, "val $V \"q\"\n");
    assert_string_equal(cmd.u.copy.docs[1].name, "E2");
    assert_string_equal(cmd.u.copy.docs[1].data, "$V\n");
    assert_string_equal(cmd.u.copy.docs[2].data, "x\n");
    command_release(&cmd);
    dockerfile_free(df);
    df = NULL;
    memset(&cmd, 0, sizeof(cmd));
    assert_int_equal(expand_line("COPY a <<EOF\nx\nEOF", env, &df, &cmd, &err), -1);
    assert_non_null(strstr(err.msg, "cannot accept a heredoc as a destination"));
    command_release(&cmd);
    dockerfile_free(df);
}

static void
test_command_run_network_and_mounts(void **state)
{
    const char *env[] = {"T=/cache", NULL};
    struct lade_error err = {0};
    struct dockerfile *df = NULL;
    struct command cmd;

    (void) state;
    assert_ok(expand_line("RUN --network=none --mount=type=cache,target=$T --mount=type=tmpfs,"
                          "target=/t make",
                          env, &df, &cmd, &err),
              &err);
    assert_int_equal(cmd.u.run.network, RUN_NET_NONE);
    assert_int_equal(cmd.u.run.nmounts, 2);
    assert_int_equal(cmd.u.run.mounts[0].type, RUN_MOUNT_CACHE);
    assert_string_equal(cmd.u.run.mounts[0].target, "/cache");
    assert_int_equal(cmd.u.run.mounts[1].type, RUN_MOUNT_TMPFS);
    assert_string_equal(cmd.u.run.mounts[1].target, "/t");
    command_release(&cmd);
    dockerfile_free(df);
    assert_int_equal(expand_line("RUN --network=bridge make", env, &df, &cmd, &err), -1);
    assert_non_null(strstr(err.msg, "unsupported network mode \"bridge\""));
    command_release(&cmd);
    dockerfile_free(df);
}

static void
test_command_workdir_and_healthcheck(void **state)
{
    const char *env[] = {"W=app", NULL};
    struct lade_error err = {0};
    struct dockerfile *df = NULL;
    struct command cmd;

    (void) state;
    assert_ok(expand_line("WORKDIR /srv/$W", env, &df, &cmd, &err), &err);
    assert_string_equal(cmd.u.path, "/srv/app");
    command_release(&cmd);
    dockerfile_free(df);
    assert_ok(
        expand_line("HEALTHCHECK --interval=1m30s --retries=3 CMD true", env, &df, &cmd, &err),
        &err);
    assert_int_equal(cmd.u.health.interval, 90000000000LL);
    assert_int_equal(cmd.u.health.timeout, -1);
    assert_int_equal(cmd.u.health.retries, 3);
    command_release(&cmd);
    dockerfile_free(df);
}

/* Expands one RUN line; -1 with err set on failure. The command borrows the parsed
 * instruction: run_done releases both. */
static struct dockerfile *run_df;

static int
run_line(const char *line, const char *const *env, struct command *cmd, struct lade_error *err)
{
    memset(cmd, 0, sizeof(*cmd)); /* a parse error comes before command_expand */
    run_df = NULL;
    return expand_line(line, env, &run_df, cmd, err);
}

static void
run_done(struct command *cmd)
{
    command_release(cmd);
    dockerfile_free(run_df);
    run_df = NULL;
}

static void
test_command_mount_every_key(void **state)
{
    const char *env[] = {"S=/x", "M=0700", NULL};
    struct lade_error err = {0};
    struct command cmd;
    const struct run_mount *m;

    (void) state;
    assert_ok(run_line("RUN --mount=type=cache,id=c1,dst=/var/cache,from=built,src=$S,mode=$M,"
                       "uid=1000,gid=100,sharing=LOCKED,ro true",
                       env, &cmd, &err),
              &err);
    m = &cmd.u.run.mounts[0];
    assert_int_equal(m->type, RUN_MOUNT_CACHE);
    assert_string_equal(m->id, "c1");
    assert_string_equal(m->target, "/var/cache");
    assert_string_equal(m->from, "built");
    assert_string_equal(m->source, "/x");
    assert_true(m->has_mode && m->has_uid && m->has_gid);
    assert_int_equal(m->mode, 0700);
    assert_int_equal(m->uid, 1000);
    assert_int_equal(m->gid, 100);
    assert_int_equal(m->sharing, RUN_SHARING_LOCKED);
    assert_true(m->readonly);
    run_done(&cmd);
}

static void
test_command_mount_defaults(void **state)
{
    const char *env[] = {NULL};
    struct lade_error err = {0};
    struct command cmd;
    const struct run_mount *m;

    (void) state;
    assert_ok(run_line("RUN --mount=target=/a --mount=type=cache,target=/b "
                       "--mount=type=tmpfs,target=/c,size=64m --mount=type=bind,target=/d,rw "
                       "--mount=destination=/e,readwrite=false true",
                       env, &cmd, &err),
              &err);
    m = cmd.u.run.mounts;
    assert_int_equal(cmd.u.run.nmounts, 5);
    assert_int_equal(m[0].type, RUN_MOUNT_BIND); /* bind is the default type */
    assert_true(m[0].readonly);                  /* and read-only */
    assert_null(m[0].source);
    assert_null(m[0].from);
    assert_false(m[1].readonly); /* cache and tmpfs are writable */
    assert_int_equal(m[1].sharing, RUN_SHARING_UNSET);
    assert_false(m[2].readonly);
    assert_int_equal(m[2].size, 64ULL << 20);
    assert_false(m[3].readonly);
    assert_true(m[4].readonly);
    run_done(&cmd);
}

static void
test_command_mount_secret_and_ssh(void **state)
{
    const char *env[] = {NULL};
    struct lade_error err = {0};
    struct command cmd;
    const struct run_mount *m;

    (void) state;
    assert_ok(run_line("RUN --mount=type=secret,id=tok,target=/t,required,mode=0400,uid=1,"
                       "gid=2,env=TOKEN --mount=type=ssh,required=false true",
                       env, &cmd, &err),
              &err);
    m = cmd.u.run.mounts;
    assert_int_equal(m[0].type, RUN_MOUNT_SECRET);
    assert_string_equal(m[0].id, "tok");
    assert_string_equal(m[0].target, "/t");
    assert_string_equal(m[0].env, "TOKEN");
    assert_true(m[0].required);
    assert_true(m[0].readonly);
    assert_int_equal(m[0].mode, 0400);
    assert_int_equal(m[1].type, RUN_MOUNT_SSH);
    assert_false(m[1].required);
    assert_null(m[1].id);
    run_done(&cmd);
}

static void
test_command_mount_quoted_csv(void **state)
{
    const char *env[] = {NULL};
    struct lade_error err = {0};
    struct command cmd;

    (void) state;
    assert_ok(run_line("RUN --mount='type=bind,\"target=/a,b\"' true", env, &cmd, &err), &err);
    assert_string_equal(cmd.u.run.mounts[0].target, "/a,b");
    run_done(&cmd);
}

/* BuildKit's parseMount messages, one invalid value each. */
static void
test_command_mount_errors(void **state)
{
    static const char *const cases[][2] = {
        {"type=volume,target=/a", "unsupported mount type \"volume\""},
        {"target=/a,required", "unexpected key 'required' for mount type 'bind'"},
        {"target=/a,bogus", "invalid field 'bogus' must be a key=value pair"},
        {"target=/a,ro=maybe", "invalid value for ro: maybe"},
        {"type=cache,target=/a,sharing=some", "unsupported sharing value \"some\""},
        {"type=cache,target=/a,mode=9", "invalid value 9 for mode"},
        {"type=cache,target=/a,uid=-1", "invalid value -1 for uid"},
        {"target=/a,color=red", "unexpected key 'color' in 'color=red'"},
        {"target=/a,mode=0755", "mode not allowed for \"bind\" type mounts"},
        {"type=tmpfs,target=/a,gid=1", "gid not allowed for \"tmpfs\" type mounts"},
        {"target=/a,size=1m", "unexpected key 'size' for mount type 'bind'"},
        {"type=tmpfs,target=/a,size=lots", "invalid value for size: lots"},
        {"type=secret,from=x,id=a", "secret mount should not have a from"},
        {"type=secret,id=a,sharing=locked", "secret mount should not define sharing"},
        {"type=secret", "invalid secret mount. one of source, target required"},
        {"type=secret,id=a,source=b", "both source and id can't be set"},
        {"target=/a,sharing=locked", "invalid cache sharing set for bind mount"},
        {"'target=/a\"b'", "bare \" in non-quoted-field"},
    };
    const char *env[] = {NULL};
    char line[256];

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct lade_error err = {0};
        struct command cmd;
        snprintf(line, sizeof(line), "RUN --mount=%s true", cases[i][0]);
        int rc = run_line(line, env, &cmd, &err);
        run_done(&cmd);
        if (rc == 0)
            fail_msg("%s: accepted", cases[i][0]);
        assert_int_equal(err.code, LADE_ERR_PARSE);
        if (strstr(err.msg, cases[i][1]) == NULL)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i][0], err.msg, cases[i][1]);
    }
}

/* At parse time (before any expansion) BuildKit refuses a variable in from= with the
 * instruction's position. */
static void
test_command_mount_from_variable_at_parse_time(void **state)
{
    const char *src = "FROM scratch\nRUN --mount=from=$STAGE,target=/a true\n";
    struct lade_error err = {0};
    struct dockerfile *df = NULL;

    (void) state;
    assert_int_equal(dockerfile_parse_mem(src, strlen(src), "Dockerfile", 0, &df, &err), -1);
    assert_int_equal(err.code, LADE_ERR_PARSE);
    assert_int_equal(err.pos.line, 2);
    assert_non_null(strstr(err.msg, "'from' doesn't support variable expansion"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_copy_expands_every_flag_and_word),
        cmocka_unit_test(test_command_copy_empty_words_stay_empty),
        cmocka_unit_test(test_command_copy_bad_chmod_and_remote_flags),
        cmocka_unit_test(test_command_copy_typed_flags),
        cmocka_unit_test(test_command_copy_heredocs),
        cmocka_unit_test(test_command_run_network_and_mounts),
        cmocka_unit_test(test_command_workdir_and_healthcheck),
        cmocka_unit_test(test_command_mount_every_key),
        cmocka_unit_test(test_command_mount_defaults),
        cmocka_unit_test(test_command_mount_secret_and_ssh),
        cmocka_unit_test(test_command_mount_quoted_csv),
        cmocka_unit_test(test_command_mount_errors),
        cmocka_unit_test(test_command_mount_from_variable_at_parse_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
