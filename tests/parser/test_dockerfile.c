/* SPDX-License-Identifier: Apache-2.0 */
/* parser/dockerfile.c, validate.c, heredoc.c, dump.c: instructions, their arguments and
 * flags, heredocs, the checks and their error positions, the dump. */
#include "../helpers/test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../builder/common/buf.h"
#include "../../builder/common/fsutil.h"
#include "../../parser/parser-internal.h"

static struct dockerfile *
parse(const char *src, unsigned flags)
{
    struct lade_error err = {0};
    struct dockerfile *df = NULL;

    assert_ok(dockerfile_parse_mem(src, strlen(src), "Dockerfile", flags, &df, &err), &err);
    return df;
}

static void
assert_parse_error(const char *src, unsigned line, unsigned col, const char *msg)
{
    struct lade_error err = {0};
    struct dockerfile *df = NULL;

    assert_int_equal(dockerfile_parse_mem(src, strlen(src), "Dockerfile", 0, &df, &err), -1);
    assert_null(df);
    assert_int_equal(err.code, LADE_ERR_PARSE);
    assert_string_equal(err.msg, msg);
    assert_int_equal(err.pos.line, line);
    assert_int_equal(err.pos.col, col);
}

static char *
dump(const struct dockerfile *df)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    dockerfile_dump(df, f);
    fclose(f);
    return out;
}

static void
assert_dump(const char *src, const char *want)
{
    struct dockerfile *df = parse(src, DOCKERFILE_RAW);
    char *got = dump(df);

    assert_string_equal(got, want);
    free(got);
    dockerfile_free(df);
}

static void
test_dockerfile_reports_unknown_instruction_position(void **state)
{
    (void) state;
    assert_parse_error("FROM scratch\nBOGUS x\n", 2, 1, "unknown instruction \"BOGUS\"");
}

static void
test_dockerfile_records_positions_and_original(void **state)
{
    struct dockerfile *df =
        parse("# c\nFROM alpine AS Build\n\n  RUN a \\\n  b\nCOPY <<EOF /x\nhi\nEOF\n", 0);
    const struct instr *run = &df->instrs[1], *copy = &df->instrs[2];

    (void) state;
    assert_int_equal(df->n, 3);
    assert_int_equal(df->instrs[0].kind, INSTR_FROM);
    assert_string_equal(df->instrs[0].keyword, "from");
    assert_string_equal(df->instrs[0].pos.file, "Dockerfile");
    assert_int_equal(run->pos.line, 4);
    assert_int_equal(run->pos.col, 3);
    assert_int_equal(run->end_line, 5);
    assert_string_equal(run->original, "RUN a   b");
    assert_int_equal(copy->pos.line, 6);
    assert_int_equal(copy->end_line, 8);
    assert_int_equal(df->nlines, 8);
    assert_string_equal(df->lines[3], "  RUN a \\");
    dockerfile_free(df);
}

static void
test_dockerfile_splits_from_and_expose_on_whitespace(void **state)
{
    (void) state;
    assert_dump("FROM\tbusybox  AS\vb\nEXPOSE 80 443/udp\n",
                "(from \"busybox\" \"AS\" \"b\")\n(expose \"80\" \"443/udp\")\n");
}

static void
test_dockerfile_json_form_and_shell_form(void **state)
{
    struct dockerfile *df = parse("FROM x\nCMD [\"a\", \"b\\u0000c\"]\nRUN echo \"hi\"  \n"
                                  "ENTRYPOINT ['no']\nCMD [\"a\"] extra\n",
                                  0);

    (void) state;
    assert_true(df->instrs[1].json);
    assert_int_equal(df->instrs[1].nargs, 2);
    assert_int_equal(df->instrs[1].arglens[1], 3);
    assert_memory_equal(df->instrs[1].args[1], "b\0c", 3);
    assert_false(df->instrs[2].json);
    assert_string_equal(df->instrs[2].args[0], "echo \"hi\"");
    assert_false(df->instrs[3].json); /* single quotes are not JSON */
    assert_string_equal(df->instrs[3].args[0], "['no']");
    assert_false(df->instrs[4].json); /* trailing text is not JSON either */
    dockerfile_free(df);
}

static void
test_dockerfile_copy_falls_back_to_whitespace_split(void **state)
{
    (void) state;
    assert_dump("COPY [\"a b\", \"/c\"]\nADD \\conf\\\\\" /.znc\n",
                "(copy \"a b\" \"/c\")\n(add \"\\\\conf\\\\\\\\\\\"\" \"/.znc\")\n");
}

static void
test_dockerfile_env_new_and_old_forms(void **state)
{
    struct dockerfile *df = parse("FROM x\nENV a=1 b=\"2 3\" c=\\ d\nENV K  some  value\n", 0);
    const struct instr *e = &df->instrs[1], *old = &df->instrs[2];

    (void) state;
    assert_int_equal(e->nargs, 9);
    assert_string_equal(e->args[3], "b");
    assert_string_equal(e->args[4], "\"2 3\""); /* quotes stay for the builder to expand */
    assert_string_equal(e->args[5], "=");
    assert_string_equal(e->args[7], "\\ d");
    assert_int_equal(old->nargs, 3);
    assert_string_equal(old->args[1], "some  value");
    assert_string_equal(old->args[2], "");
    dockerfile_free(df);
}

static void
test_dockerfile_escape_directive_applies_to_words(void **state)
{
    struct dockerfile *df = parse("# escape=`\nFROM x\nENV a=b` c d=C:\\dir\n", 0);

    (void) state;
    assert_int_equal(df->escape, '`');
    assert_int_equal(df->instrs[1].nargs, 6);
    assert_string_equal(df->instrs[1].args[1], "b` c");
    assert_string_equal(df->instrs[1].args[4], "C:\\dir"); /* a backslash is literal */
    dockerfile_free(df);
}

static void
test_dockerfile_arg_keeps_quotes(void **state)
{
    (void) state;
    assert_dump("ARG abc=\"123 456\" def\n", "(arg \"abc=\\\"123 456\\\"\" \"def\")\n");
}

static void
test_dockerfile_flags_are_unquoted_and_stop_at_double_dash(void **state)
{
    struct dockerfile *df = parse("FROM x\nCOPY --chown=\"a b\" --chmod='7 5' --from=s\\ 1 -- "
                                  "--x y\nRUN --mount=type=cache,target=/c --network=none ls\n",
                                  0);
    const struct instr *c = &df->instrs[1];

    (void) state;
    assert_int_equal(c->nflags, 3);
    assert_string_equal(c->flags[0], "--chown=a b");
    assert_string_equal(instr_flag_get(c, IFLAG_CHMOD), "7 5");
    assert_string_equal(instr_flag_get(c, IFLAG_FROM), "s 1");
    assert_null(instr_flag_get(c, IFLAG_LINK));
    assert_int_equal(c->nargs, 2);
    assert_string_equal(c->args[0], "--x");
    assert_string_equal(instr_flag_get(&df->instrs[2], IFLAG_NETWORK), "none");
    dockerfile_free(df);
}

static void
test_dockerfile_flag_without_value_reads_as_empty(void **state)
{
    struct dockerfile *df = parse("FROM x\nCOPY --link --link=false a b\n", DOCKERFILE_RAW);

    (void) state;
    assert_string_equal(instr_flag_get(&df->instrs[1], IFLAG_LINK),
                        "false"); /* the last one wins */
    dockerfile_free(df);
    df = parse("FROM x\nCOPY --link a b\n", 0);
    assert_string_equal(instr_flag_get(&df->instrs[1], IFLAG_LINK), "");
    dockerfile_free(df);
}

static void
test_dockerfile_healthcheck_type_then_command(void **state)
{
    (void) state;
    assert_dump("HEALTHCHECK --interval=5s CMD [\"a\"]\nHEALTHCHECK   CMD   a b\nHEALTHCHECK\n",
                "(healthcheck [\"--interval=5s\"] \"CMD\" \"a\")\n(healthcheck \"CMD\" \"a b\")\n"
                "(healthcheck)\n");
}

static void
test_dockerfile_onbuild_nests_instruction(void **state)
{
    struct dockerfile *df = parse("FROM x\nONBUILD --x=1 RUN --y=2 [\"echo\"]\n", DOCKERFILE_RAW);
    const struct instr *ob = &df->instrs[1];
    char *d = dump(df);

    (void) state;
    assert_int_equal(ob->kind, INSTR_ONBUILD);
    assert_non_null(ob->sub);
    assert_int_equal(ob->sub->kind, INSTR_RUN);
    assert_true(ob->sub->json);
    assert_string_equal(ob->sub->original, "RUN --y=2 [\"echo\"]");
    assert_string_equal(d, "(from \"x\")\n(onbuild [\"--x=1\"] (run [\"--y=2\"] \"echo\"))\n");
    free(d);
    dockerfile_free(df);
}

static void
test_dockerfile_unknown_keyword_kept_in_raw_mode(void **state)
{
    (void) state;
    assert_dump("FOO bar baz\nfrom X\n", "(foo \"\")\n(from \"X\")\n");
}

static void
test_dockerfile_reads_heredocs(void **state)
{
    struct dockerfile *df = parse("FROM x\nCOPY <<A 3<<-'B' /dst/\none\nA\n\ttwo\n\tB\n"
                                  "RUN [\"<<C\"]\nONBUILD RUN <<D\nd\nD\n",
                                  0);
    const struct instr *c = &df->instrs[1];

    (void) state;
    assert_int_equal(c->nheredocs, 2);
    assert_string_equal(c->heredocs[0].name, "A");
    assert_string_equal(c->heredocs[0].content, "one\n");
    assert_true(c->heredocs[0].expand);
    assert_string_equal(c->heredocs[1].name, "B");
    assert_string_equal(c->heredocs[1].content, "\ttwo\n");
    assert_false(c->heredocs[1].expand);
    assert_true(c->heredocs[1].chomp);
    assert_int_equal(c->heredocs[1].fd, 3);
    assert_int_equal(c->end_line, 6);
    assert_int_equal(df->instrs[2].nheredocs, 0); /* JSON form never has heredocs */
    assert_int_equal(df->instrs[3].nheredocs, 1);
    assert_string_equal(df->instrs[3].heredocs[0].content, "d\n");
    dockerfile_free(df);
}

static void
test_dockerfile_user_cannot_take_heredoc(void **state)
{
    (void) state;
    assert_dump("USER <<X\nX\n", "(user \"<<X\")\n(x \"\")\n");
}

static void
test_dockerfile_heredoc_for_arg_and_chomp(void **state)
{
    struct dockerfile *df = parse("FROM x\nCOPY <<-EOF plain /d/\n\ta\n\t\tb\nEOF\n", 0);
    const struct instr *c = &df->instrs[1];
    const struct heredoc *h = instr_heredoc_for_arg(c, c->args[0]);

    (void) state;
    assert_non_null(h);
    assert_string_equal(h->name, "EOF");
    assert_null(instr_heredoc_for_arg(c, c->args[1]));
    char *chomped = heredoc_chomp(h->content);
    assert_string_equal(chomped, "a\nb\n");
    free(chomped);
    dockerfile_free(df);
}

static void
test_dockerfile_validation_errors_carry_positions(void **state)
{
    (void) state;
    assert_parse_error("FROM x\n  ENV\n", 2, 3, "ENV requires at least one argument");
    assert_parse_error("FROM x\nRUN --foo=1 ls\n", 2, 1, "unknown flag: --foo");
    assert_parse_error("FROM x\nUSER\n", 2, 1, "USER requires exactly one argument");
    assert_parse_error("FROM x\nHEALTHCHECK NONE x\n", 2, 1, "HEALTHCHECK NONE takes no arguments");
    assert_parse_error("FROM x\nHEALTHCHECK --retries=-1 CMD x\n", 2, 1,
                       "--retries cannot be negative (-1)");
}

static void
test_dockerfile_error_has_source_line(void **state)
{
    struct lade_error err = {0};
    struct dockerfile *df = NULL;
    const char *src = "FROM x\nCOPY --nope a b\n";

    (void) state;
    assert_int_equal(dockerfile_parse_mem(src, strlen(src), "Dockerfile", 0, &df, &err), -1);
    assert_string_equal(err.src_line, "COPY --nope a b");
}

static void
test_dockerfile_error_at_fills_source_line(void **state)
{
    struct dockerfile *df = parse("FROM x\nRUN ${\n", 0);
    struct lade_error err = {0};

    (void) state;
    lade_error_set(&err, LADE_ERR_PARSE, "failed");
    dockerfile_error_at(df, &df->instrs[1].pos, &err);
    assert_int_equal(err.pos.line, 2);
    assert_string_equal(err.pos.file, "Dockerfile");
    assert_string_equal(err.src_line, "RUN ${");
    dockerfile_free(df);
}

static void
test_dockerfile_rejects_nul_byte(void **state)
{
    struct lade_error err = {0};
    struct dockerfile *df = NULL;

    (void) state;
    assert_int_equal(dockerfile_parse_mem("FROM x\nRUN a\0b\n", 13, "Dockerfile", 0, &df, &err),
                     -1);
    assert_int_equal(err.pos.line, 2);
    assert_int_equal(err.pos.col, 6);
}

static void
test_dockerfile_parses_go_durations(void **state)
{
    long long ns;

    (void) state;
    assert_int_equal(dockerfile_parse_duration("1h2m3.5s", &ns), 0);
    assert_int_equal(ns, 3723500000000LL);
    assert_int_equal(dockerfile_parse_duration("0", &ns), 0);
    assert_int_equal(dockerfile_parse_duration("-1.5ms", &ns), 0);
    assert_int_equal(ns, -1500000);
    assert_int_equal(dockerfile_parse_duration("5", &ns), -1);
    assert_int_equal(dockerfile_parse_duration("1x", &ns), -1);
    assert_int_equal(dockerfile_parse_duration("", &ns), -1);
}

static void
test_dockerfile_dump_quotes_like_go(void **state)
{
    (void) state;
    assert_dump("RUN a\tb \xC2\xA0x \xE2\x99\xA5 \x01 \xFF\n",
                "(run \"a\\tb \\u00a0x \xE2\x99\xA5 \\x01 \\xff\")\n");
}

/* Each testdata/parser/invalid/<case>/ holds a Dockerfile and the expected "line:col: msg". */
static void
test_dockerfile_invalid_golden_cases(void **state)
{
    const char *root = "testdata/parser/invalid";
    DIR *d = opendir(root);
    struct dirent *e;
    size_t cases = 0;

    (void) state;
    if (d == NULL)
        fail_msg("cannot open %s (run from the repository top)", root);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[512], want[1100], got[1100];
        struct lade_error err = {0};
        char *src = NULL, *expected = NULL;
        size_t len = 0, elen = 0;
        struct dockerfile *df = NULL;

        snprintf(path, sizeof(path), "%s/%s/Dockerfile", root, e->d_name);
        assert_ok(read_file_at(-100, path, 1 << 20, &src, &len, &err), &err);
        snprintf(path, sizeof(path), "%s/%s/error", root, e->d_name);
        assert_ok(read_file_at(-100, path, 4096, &expected, &elen, &err), &err);
        snprintf(want, sizeof(want), "%.*s", (int) strcspn(expected, "\n"), expected);
        if (dockerfile_parse_mem(src, len, "Dockerfile", 0, &df, &err) == 0)
            fail_msg("%s: parsed without error", e->d_name);
        snprintf(got, sizeof(got), "%u:%u: %s", err.pos.line, err.pos.col, err.msg);
        if (strcmp(got, want) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", e->d_name, got, want);
        free(src);
        free(expected);
        cases++;
    }
    closedir(d);
    assert_true(cases >= 20);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dockerfile_reports_unknown_instruction_position),
        cmocka_unit_test(test_dockerfile_records_positions_and_original),
        cmocka_unit_test(test_dockerfile_splits_from_and_expose_on_whitespace),
        cmocka_unit_test(test_dockerfile_json_form_and_shell_form),
        cmocka_unit_test(test_dockerfile_copy_falls_back_to_whitespace_split),
        cmocka_unit_test(test_dockerfile_env_new_and_old_forms),
        cmocka_unit_test(test_dockerfile_escape_directive_applies_to_words),
        cmocka_unit_test(test_dockerfile_arg_keeps_quotes),
        cmocka_unit_test(test_dockerfile_flags_are_unquoted_and_stop_at_double_dash),
        cmocka_unit_test(test_dockerfile_flag_without_value_reads_as_empty),
        cmocka_unit_test(test_dockerfile_healthcheck_type_then_command),
        cmocka_unit_test(test_dockerfile_onbuild_nests_instruction),
        cmocka_unit_test(test_dockerfile_unknown_keyword_kept_in_raw_mode),
        cmocka_unit_test(test_dockerfile_reads_heredocs),
        cmocka_unit_test(test_dockerfile_user_cannot_take_heredoc),
        cmocka_unit_test(test_dockerfile_heredoc_for_arg_and_chomp),
        cmocka_unit_test(test_dockerfile_validation_errors_carry_positions),
        cmocka_unit_test(test_dockerfile_error_has_source_line),
        cmocka_unit_test(test_dockerfile_error_at_fills_source_line),
        cmocka_unit_test(test_dockerfile_rejects_nul_byte),
        cmocka_unit_test(test_dockerfile_parses_go_durations),
        cmocka_unit_test(test_dockerfile_dump_quotes_like_go),
        cmocka_unit_test(test_dockerfile_invalid_golden_cases),
    };
    return cmocka_run_group_tests_name("parser/dockerfile", tests, NULL, NULL);
}
