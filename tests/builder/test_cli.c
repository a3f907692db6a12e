/* SPDX-License-Identifier: Apache-2.0 */
/* The option layer (builder/cmd/cli.c): docker's argument habits, exact long names, the docker
 * flags lade refuses or ignores. */
#include "../helpers/test.h"

#include <stdio.h>
#include <string.h>

#include "../../builder/cmd/cmd.h"

enum { OPT_NO_CACHE = 256, OPT_COMPRESSION };

static const struct cli_opt opts[] = {
    {'t', "tag", 't', "NAME", "tag"},
    {'q', "quiet", 'q', NULL, "quiet"},
    {OPT_NO_CACHE, "no-cache", 0, NULL, "no cache"},
    {OPT_COMPRESSION, "compression", 0, "ALGO", "compression"},
    {0},
};

static const struct cli_foreign foreign[] = {
    {"rm", 0, false, true, NULL, NULL},
    {"cache-to", 0, true, false, "not implemented yet", NULL},
    {"provenance", 0, true, false, "attestations", "false"},
    {"cpu-shares", 'c', true, true, NULL, NULL},
    {0},
};

static const struct cli_command cmd = {
    "build", "[OPTIONS] CONTEXT", "test", NULL, opts, foreign, false, NULL};
static const struct cli_command run = {"run", "IMAGE [CMD...]", "test", NULL, opts, NULL, true,
                                       NULL};

/* Parses words (a NULL-terminated list after the command name) into a "t=V q n c=V" trace of
 * the options and "| operands"; returns the last cli_next result. */
static int
parse(const struct cli_command *c, const char *const *words, char *trace, size_t size,
      struct lade_error *err)
{
    struct cli_args a;
    char *argv[32];
    int argc = 0, rc;
    size_t n = 0;

    /* cli_next reorders argv, never the strings */
    for (; words[argc] != NULL; argc++)
        argv[argc] = (char *) words[argc];
    cli_args_init(&a, c, argc, argv);
    trace[0] = '\0';
    while ((rc = cli_next(&a, err)) > 0) {
        if (rc == OPT_NO_CACHE)
            n += (size_t) snprintf(trace + n, size - n, "n ");
        else if (a.value != NULL)
            n += (size_t) snprintf(trace + n, size - n, "%c=%s ", rc == 't' ? 't' : 'c', a.value);
        else
            n += (size_t) snprintf(trace + n, size - n, "%c ", rc);
    }
    n += (size_t) snprintf(trace + n, size - n, "|");
    for (int i = 0; rc == CLI_END && i < a.noperands; i++)
        n += (size_t) snprintf(trace + n, size - n, " %s", a.operands[i]);
    return rc;
}

#define PARSE(c, trace, err, ...)                                                                  \
    parse((c), (const char *const[]){"cmd", __VA_ARGS__, NULL}, (trace), sizeof(trace), (err))

static void
test_cli_options_anywhere_and_forms(void **state)
{
    struct lade_error err = {0};
    char t[256];

    (void) state;
    assert_int_equal(PARSE(&cmd, t, &err, "ctx", "-t", "app:1", "--no-cache", "--tag=b",
                           "--compression", "zstd", "-qtc", "-tx=y", "--quiet=false", "-"),
                     CLI_END);
    assert_string_equal(t, "t=app:1 n t=b c=zstd q t=c t=x=y | ctx -");
    /* "-t=NAME": pflag strips the '=' */
    assert_int_equal(PARSE(&cmd, t, &err, "-t=app", "ctx"), CLI_END);
    assert_string_equal(t, "t=app | ctx");
}

static void
test_cli_double_dash_ends_options(void **state)
{
    struct lade_error err = {0};
    char t[256];

    (void) state;
    assert_int_equal(PARSE(&cmd, t, &err, "-q", "--", "-ctx", "--no-cache"), CLI_END);
    assert_string_equal(t, "q | -ctx --no-cache");
    /* run: options end at the image, the rest is the command's */
    assert_int_equal(PARSE(&run, t, &err, "-q", "img", "echo", "-q", "--tag"), CLI_END);
    assert_string_equal(t, "q | img echo -q --tag");
}

static void
test_cli_long_names_are_exact(void **state)
{
    struct lade_error err = {0};
    char t[256];

    (void) state;
    assert_int_equal(PARSE(&cmd, t, &err, "--no", "ctx"), -1);
    assert_int_equal(err.code, LADE_ERR_USAGE);
    assert_string_equal(err.msg, "unknown option --no");
    lade_error_clear(&err);
    assert_int_equal(PARSE(&cmd, t, &err, "--compress", "gzip", "ctx"), -1);
    assert_string_equal(err.msg, "unknown option --compress");
    lade_error_clear(&err);
    assert_int_equal(PARSE(&cmd, t, &err, "-x"), -1);
    lade_error_clear(&err);
    assert_int_equal(PARSE(&cmd, t, &err, "ctx", "--tag"), -1);
    assert_string_equal(err.msg, "option --tag needs a value");
    lade_error_clear(&err);
    assert_int_equal(PARSE(&cmd, t, &err, "--quiet=maybe"), -1);
}

static void
test_cli_docker_flags(void **state)
{
    struct lade_error err = {0};
    char t[256];

    (void) state;
    /* ignored ones are skipped with their value; harmless values of refused ones too */
    assert_int_equal(PARSE(&cmd, t, &err, "--rm", "-c", "512", "--cpu-shares=2", "-c9",
                           "--provenance=false", "ctx"),
                     CLI_END);
    assert_string_equal(t, "| ctx");
    assert_int_equal(PARSE(&cmd, t, &err, "--cache-to", "type=inline", "ctx"), -1);
    assert_string_equal(err.msg, "--cache-to is not supported (not implemented yet)");
    lade_error_clear(&err);
    assert_int_equal(PARSE(&cmd, t, &err, "--provenance=true", "ctx"), -1);
    assert_string_equal(err.msg, "--provenance is not supported (attestations)");
}

static void
test_cli_help_and_operand_counts(void **state)
{
    struct lade_error err = {0};
    struct cli_args a;
    char t[256];

    (void) state;
    fflush(stdout);
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w");
    int rc = PARSE(&cmd, t, &err, "ctx", "--help");
    int rc_short = PARSE(&cmd, t, &err, "-qh");
    fclose(stdout);
    stdout = saved;
    assert_int_equal(rc, CLI_HELP);
    assert_int_equal(rc_short, CLI_HELP);
    assert_false(lade_error_is_set(&err));

    char w0[] = "build", w1[] = "a", w2[] = "b";
    char *argv[] = {w0, w1, w2, NULL};
    cli_args_init(&a, &cmd, 3, argv);
    assert_int_equal(cli_end(&a, cli_next(&a, &err), 1, 1, &err), -1);
    assert_string_equal(err.msg, "wants 1 argument: lade build [OPTIONS] CONTEXT");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_options_anywhere_and_forms),
        cmocka_unit_test(test_cli_double_dash_ends_options),
        cmocka_unit_test(test_cli_long_names_are_exact),
        cmocka_unit_test(test_cli_docker_flags),
        cmocka_unit_test(test_cli_help_and_operand_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
