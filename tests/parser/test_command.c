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
test_command_copy_bad_chmod_and_later_flags(void **state)
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
    assert_ok(expand_line("ADD --checksum=sha256:00 a b", env, &df, &cmd, &err), &err);
    assert_string_equal(cmd.u.copy.unsupported, "checksum");
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
    assert_string_equal(cmd.u.run.mounts[0], "type=cache,target=/cache");
    assert_string_equal(cmd.u.run.mounts[1], "type=tmpfs,target=/t");
    assert_null(cmd.u.run.mounts[2]);
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_copy_expands_every_flag_and_word),
        cmocka_unit_test(test_command_copy_empty_words_stay_empty),
        cmocka_unit_test(test_command_copy_bad_chmod_and_later_flags),
        cmocka_unit_test(test_command_copy_typed_flags),
        cmocka_unit_test(test_command_copy_heredocs),
        cmocka_unit_test(test_command_run_network_and_mounts),
        cmocka_unit_test(test_command_workdir_and_healthcheck),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
