/* SPDX-License-Identifier: Apache-2.0 */
/* parser/lexer.c: physical lines, directives, continuations, comments, heredoc bodies. */
#include "../helpers/test.h"

#include <stdlib.h>
#include <string.h>

#include "../../builder/common/strv.h"
#include "../../parser/parser-internal.h"

/* Lexes src and returns its logical lines as "start-end:col|text" strings. */
static char **
lex_all(const char *src, char *escape, struct lade_error *err)
{
    struct lexer lx;
    struct logical_line ll;
    char **lines = NULL, **out = NULL;
    size_t nlines = 0;
    int rc;

    if (lexer_init(&lx, src, strlen(src), "Dockerfile", &lines, &nlines, err) < 0) {
        strv_free(lines);
        return NULL;
    }
    while ((rc = lexer_next(&lx, &ll, err)) > 0) {
        char *s = NULL;
        if (asprintf(&s, "%u-%u:%u|%s", ll.start_line, ll.end_line, ll.col, ll.text) < 0)
            abort();
        out = strv_push_take(out, s);
        free(ll.text);
    }
    if (escape)
        *escape = lx.escape;
    lexer_release(&lx);
    strv_free(lines);
    if (rc < 0) {
        strv_free(out);
        return NULL;
    }
    return out ? out : calloc(1, sizeof(char *));
}

static void
assert_lines(const char *src, const char *const *want)
{
    struct lade_error err = {0};
    char **got = lex_all(src, NULL, &err);
    size_t i;

    if (got == NULL)
        fail_msg("lexing failed: %s", err.msg);
    for (i = 0; want[i]; i++) {
        if (got[i] == NULL)
            fail_msg("missing line %zu: want %s", i, want[i]);
        assert_string_equal(got[i], want[i]);
    }
    assert_null(got[i]);
    strv_free(got);
}

static void
test_lexer_joins_continuations_without_separator(void **state)
{
    (void) state;
    assert_lines("RUN echo good\\\nbye\\\nfrog\n",
                 (const char *const[]){"1-3:1|RUN echo goodbyefrog", NULL});
}

static void
test_lexer_keeps_indentation_of_continuation_lines(void **state)
{
    (void) state;
    assert_lines("RUN echo hello  \\  \n  world\n",
                 (const char *const[]){"1-2:1|RUN echo hello    world", NULL});
}

static void
test_lexer_skips_comments_and_blank_lines_inside_continuations(void **state)
{
    (void) state;
    assert_lines("RUN a \\\n# note\n\n   \nb\nCMD c\n",
                 (const char *const[]){"1-5:1|RUN a b", "6-6:1|CMD c", NULL});
}

static void
test_lexer_comment_never_continues(void **state)
{
    (void) state;
    assert_lines("# RUN Commands \\\nFROM x\n", (const char *const[]){"2-2:1|FROM x", NULL});
}

static void
test_lexer_double_escape_does_not_continue(void **state)
{
    (void) state;
    assert_lines("ENV C a\\\\\nENV D b\n",
                 (const char *const[]){"1-1:1|ENV C a\\\\", "2-2:1|ENV D b", NULL});
}

static void
test_lexer_lone_escape_line_continues_with_nothing(void **state)
{
    (void) state;
    assert_lines("ENV E hello\\\n\\\nworld\n",
                 (const char *const[]){"1-3:1|ENV E helloworld", NULL});
}

static void
test_lexer_continuation_at_eof_completes_instruction(void **state)
{
    (void) state;
    assert_lines("RUN something \\", (const char *const[]){"1-1:1|RUN something ", NULL});
}

static void
test_lexer_reports_keyword_column_after_indentation(void **state)
{
    (void) state;
    assert_lines("\n\t  FROM x\n", (const char *const[]){"2-2:4|FROM x", NULL});
}

static void
test_lexer_strips_bom_and_crlf(void **state)
{
    (void) state;
    assert_lines("\xEF\xBB\xBF"
                 "FROM x\r\nRUN a \\\r\nb\r\n",
                 (const char *const[]){"1-1:1|FROM x", "2-3:1|RUN a b", NULL});
}

static void
test_lexer_escape_directive_switches_continuation_character(void **state)
{
    struct lade_error err = {0};
    char escape = 0;
    char **got = lex_all("# escape=`\nRUN a `\nb\\\nRUN c\n", &escape, &err);

    (void) state;
    assert_non_null(got);
    assert_int_equal(escape, '`');
    assert_string_equal(got[0], "2-3:1|RUN a b\\");
    assert_string_equal(got[1], "4-4:1|RUN c");
    strv_free(got);
}

static void
test_lexer_directive_after_comment_is_ignored(void **state)
{
    struct lade_error err = {0};
    char escape = 0;
    char **got = lex_all("# hello\n# escape=`\nRUN a\n", &escape, &err);

    (void) state;
    assert_non_null(got);
    assert_int_equal(escape, '\\');
    strv_free(got);
}

static void
test_lexer_records_syntax_directive(void **state)
{
    struct lexer lx;
    struct logical_line ll;
    struct lade_error err = {0};
    char **lines = NULL;
    size_t n = 0;
    const char *src = "# syntax = docker/dockerfile:1  \n#Escape=\\\nFROM x\n";

    (void) state;
    assert_ok(lexer_init(&lx, src, strlen(src), "Dockerfile", &lines, &n, &err), &err);
    assert_int_equal(lexer_next(&lx, &ll, &err), 1);
    assert_string_equal(lx.syntax, "docker/dockerfile:1");
    assert_true(lx.seen_escape);
    free(ll.text);
    lexer_release(&lx);
    strv_free(lines);
}

static void
test_lexer_rejects_bad_and_repeated_escape_directives(void **state)
{
    struct lade_error err = {0};

    (void) state;
    assert_null(lex_all("#escape=x\nFROM a\n", NULL, &err));
    assert_string_equal(err.msg, "invalid escape token 'x' does not match ` or \\");
    assert_int_equal(err.pos.line, 1);
    lade_error_clear(&err);
    assert_null(lex_all("#escape=`\n# ESCAPE = `\nFROM a\n", NULL, &err));
    assert_string_equal(err.msg, "only one escape parser directive can be used");
    assert_int_equal(err.pos.line, 2);
    assert_string_equal(err.src_line, "# ESCAPE = `");
}

static void
test_lexer_rejects_line_over_65535_bytes(void **state)
{
    struct lade_error err = {0};
    size_t n = 65536;
    char *src = malloc(n + 16);

    (void) state;
    memcpy(src, "FROM x\n", 7);
    memset(src + 7, 'a', n);
    src[7 + n] = '\0';
    assert_null(lex_all(src, NULL, &err));
    assert_int_equal(err.code, LADE_ERR_PARSE);
    assert_int_equal(err.pos.line, 2);
    assert_string_equal(err.msg, "dockerfile line greater than max allowed size of 65535");
    /* exactly 65535 bytes is fine */
    src[7 + n - 1] = '\0';
    char **ok = lex_all(src, NULL, &err);
    assert_non_null(ok);
    strv_free(ok);
    free(src);
}

static void
test_lexer_reads_heredoc_body_up_to_terminator(void **state)
{
    struct lexer lx;
    struct logical_line ll;
    struct lade_error err = {0};
    char **lines = NULL, *body = NULL;
    size_t n = 0;
    const char *src = "RUN <<-EOF\n\tone\r\ntwo\n\tEOF\nCMD x\n";

    (void) state;
    assert_ok(lexer_init(&lx, src, strlen(src), "Dockerfile", &lines, &n, &err), &err);
    assert_int_equal(lexer_next(&lx, &ll, &err), 1);
    assert_int_equal(lexer_heredoc_body(&lx, "EOF", true, &body), 0);
    assert_string_equal(body, "\tone\r\ntwo\n"); /* tabs stay; chomping comes later */
    assert_int_equal(lx.line, 4);
    free(body);
    free(ll.text);
    assert_int_equal(lexer_next(&lx, &ll, &err), 1);
    assert_string_equal(ll.text, "CMD x");
    free(ll.text);
    assert_int_equal(lexer_heredoc_body(&lx, "EOF", false, &body), -1);
    lexer_release(&lx);
    strv_free(lines);
}

static void
test_lexer_keeps_physical_lines_for_display(void **state)
{
    struct lexer lx;
    struct lade_error err = {0};
    char **lines = NULL;
    size_t n = 0;
    const char *src = "\xEF\xBB\xBF"
                      "FROM x\r\n\nRUN y";

    (void) state;
    assert_ok(lexer_init(&lx, src, strlen(src), "Dockerfile", &lines, &n, &err), &err);
    assert_int_equal(n, 3);
    assert_string_equal(lines[0], "FROM x");
    assert_string_equal(lines[1], "");
    assert_string_equal(lines[2], "RUN y");
    lexer_release(&lx);
    strv_free(lines);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lexer_joins_continuations_without_separator),
        cmocka_unit_test(test_lexer_keeps_indentation_of_continuation_lines),
        cmocka_unit_test(test_lexer_skips_comments_and_blank_lines_inside_continuations),
        cmocka_unit_test(test_lexer_comment_never_continues),
        cmocka_unit_test(test_lexer_double_escape_does_not_continue),
        cmocka_unit_test(test_lexer_lone_escape_line_continues_with_nothing),
        cmocka_unit_test(test_lexer_continuation_at_eof_completes_instruction),
        cmocka_unit_test(test_lexer_reports_keyword_column_after_indentation),
        cmocka_unit_test(test_lexer_strips_bom_and_crlf),
        cmocka_unit_test(test_lexer_escape_directive_switches_continuation_character),
        cmocka_unit_test(test_lexer_directive_after_comment_is_ignored),
        cmocka_unit_test(test_lexer_records_syntax_directive),
        cmocka_unit_test(test_lexer_rejects_bad_and_repeated_escape_directives),
        cmocka_unit_test(test_lexer_rejects_line_over_65535_bytes),
        cmocka_unit_test(test_lexer_reads_heredoc_body_up_to_terminator),
        cmocka_unit_test(test_lexer_keeps_physical_lines_for_display),
    };
    return cmocka_run_group_tests_name("parser/lexer", tests, NULL, NULL);
}
