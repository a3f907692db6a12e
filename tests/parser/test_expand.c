/* SPDX-License-Identifier: Apache-2.0 */
/* parser/expand.c and expand_pattern.c: BuildKit's shell-word processing. */
#include "../helpers/test.h"

#include <stdlib.h>
#include <string.h>

#include "../../builder/common/strv.h"
#include "../../parser/parser-internal.h"

static const char *const env[] = {
    "PWD=/home",           "EMPTY=",        "SP=a  b", "FILE=dir/name.tar.gz",
    "URL=http://x.io/a/b", "DOLLAR=$$<$0>", NULL};

static const char *
lookup(void *ud, const char *name)
{
    const char *const *v = ud;
    size_t n = strlen(name);

    for (; *v; v++)
        if (strncmp(*v, name, n) == 0 && (*v)[n] == '=')
            return *v + n + 1;
    return NULL;
}

static const struct expander x = {'\\', lookup, (void *) env};

static void
assert_word(const char *in, const char *want)
{
    struct lade_error err = {0};
    char *out = NULL;

    assert_ok(expand_word(&x, in, &out, &err), &err);
    assert_string_equal(out, want);
    free(out);
}

static void
assert_word_error(const char *in, const char *msg)
{
    struct lade_error err = {0};
    char *out = NULL;

    assert_int_equal(expand_word(&x, in, &out, &err), -1);
    assert_null(out);
    assert_int_equal(err.code, LADE_ERR_PARSE);
    if (strstr(err.msg, msg) == NULL)
        fail_msg("error \"%s\" does not contain \"%s\"", err.msg, msg);
}

static void
test_expand_quotes_and_escapes(void **state)
{
    (void) state;
    assert_word("he'll'o", "hello");
    assert_word("'$PWD \\x'", "$PWD \\x");
    assert_word("\"a\\tb\\\"c\\$d\"", "a\\tb\"c$d");
    assert_word("a\\ b\\", "a b");
    assert_word("\"''\"", "''");
}

static void
test_expand_variables(void **state)
{
    (void) state;
    assert_word("$PWD/x ${PWD}y $UNSET. $1a $@b $", "/home/x /homey . a b $");
    assert_word("\"$SP\"", "a  b");
}

static void
test_expand_default_alternative_and_required(void **state)
{
    (void) state;
    assert_word("${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} ${PWD:-d}", "d d  /home");
    assert_word("${PWD:+set} ${EMPTY:+set} ${EMPTY+set}|", "set  set|");
    assert_word("${UNSET:-${PWD:-x}}", "/home");
    assert_word("${EMPTY?}", "");
    assert_word_error("${EMPTY:?must be set}", "EMPTY: must be set");
    assert_word_error("${UNSET?}", "UNSET: is not allowed to be unset");
}

static void
test_expand_prefix_and_suffix_removal(void **state)
{
    (void) state;
    assert_word("${FILE#*/}", "name.tar.gz");
    assert_word("${FILE%.*}", "dir/name.tar");
    assert_word("${FILE%%.*}", "dir/name");
    assert_word("${FILE##*.}", "gz");
    assert_word("${FILE#nomatch}", "dir/name.tar.gz");
}

static void
test_expand_replacement(void **state)
{
    (void) state;
    assert_word("${URL/\\/\\//-}", "http:-x.io/a/b");
    assert_word("${URL//\\//_}", "http:__x.io_a_b");
    assert_word("${URL/a?b/X}", "http://x.io/X");
    /* ${v//p/r} runs Go's Regexp.Expand on r: $$ is '$', $0 the match */
    assert_word("${PWD//o/$DOLLAR}", "/h$<o>me");
    assert_word("${PWD/o/$DOLLAR}", "/h$$<$0>me");
}

static void
test_expand_reports_syntax_errors(void **state)
{
    (void) state;
    assert_word_error("he${PWD", "missing '}'");
    assert_word_error("${}", "bad substitution");
    assert_word_error("${PWD:=x}", "unsupported modifier (:=)");
    assert_word_error("'open", "matching single-quote");
    assert_word_error("\"open", "matching double-quote");
    assert_word_error("${FILE#\\x}", "invalid escape '\\x'");
    assert_word_error("${FILE//x}", "missing '/'");
    assert_word_error("${FILE:#x}", "unsupported modifier (:#)");
}

static void
test_expand_error_names_the_word(void **state)
{
    struct lade_error err = {0};
    char *out = NULL;

    (void) state;
    assert_int_equal(expand_word(&x, "a${", &out, &err), -1);
    assert_string_equal(err.msg, "failed to process \"a${\": syntax error: missing '}'");
}

static void
test_expand_words_split_on_unquoted_space(void **state)
{
    struct lade_error err = {0};
    char **w = NULL;

    (void) state;
    assert_ok(expand_words(&x, "x${SP}y \"q  $SP\" '' e\\ f", &w, &err), &err);
    assert_int_equal(strv_len(w), 4);
    assert_string_equal(w[0], "xa");
    assert_string_equal(w[1], "by");
    assert_string_equal(w[2], "q  a  b");
    assert_string_equal(w[3], "e f");
    strv_free(w);
}

static void
test_expand_backtick_escape(void **state)
{
    const struct expander bx = {'`', lookup, (void *) env};
    struct lade_error err = {0};
    char *out = NULL;

    (void) state;
    assert_ok(expand_word(&bx, "C:\\dir`$PWD `\"", &out, &err), &err);
    assert_string_equal(out, "C:\\dir$PWD \"");
    free(out);
}

static void
test_expand_raw_keeps_quotes_processes_escapes(void **state)
{
    const struct expander bx = {'`', lookup, (void *) env};
    struct lade_error err = {0};
    char *out = NULL;

    (void) state;
    /* the escape directive does not apply: heredoc bodies always use a backslash */
    assert_ok(expand_raw(&bx, "echo '$PWD' \"${EMPTY:-x}\" \\$HOME \\\\\n", &out, &err), &err);
    assert_string_equal(out, "echo '/home' \"x\" $HOME \\\n");
    free(out);
}

static void
test_expand_shell_modes_for_heredoc_detection(void **state)
{
    struct shell_lex lx = {'\\', SHELL_RAW_QUOTES | SHELL_RAW_ESCAPES | SHELL_SKIP_UNSET, lookup,
                           (void *) env};
    struct lade_error err = {0};
    char **w = NULL;

    (void) state;
    assert_ok(shell_process(&lx, "RUN <<  'E F' $X ${Y:-z} a\\ b", NULL, &w, &err), &err);
    assert_int_equal(strv_len(w), 5);
    assert_string_equal(w[1], "<<  'E F'");
    assert_string_equal(w[2], "$X");
    assert_string_equal(w[3], "${Y:-z}");
    assert_string_equal(w[4], "a\\ b");
    strv_free(w);
}

static void
test_expand_invalid_utf8_becomes_replacement_char(void **state)
{
    (void) state;
    assert_word("a\xFF", "a\xEF\xBF\xBD");
}

static void
test_expand_pattern_functions(void **state)
{
    struct lade_error err = {0};
    char *out = NULL;

    (void) state;
    assert_ok(pattern_trim("a*", "abab", false, false, &out, &err), &err);
    assert_string_equal(out, "bab");
    free(out);
    assert_ok(pattern_trim("a*", "abab", false, true, &out, &err), &err);
    assert_string_equal(out, "");
    free(out);
    assert_ok(pattern_trim("b*", "abab", true, false, &out, &err), &err);
    assert_string_equal(out, "aba");
    free(out);
    /* like Go's '.', wildcards stop at a newline */
    assert_ok(pattern_trim("*", "ab\ncd", false, true, &out, &err), &err);
    assert_string_equal(out, "\ncd");
    free(out);
    assert_ok(pattern_replace("", "ab", "-", true, &out, &err), &err);
    assert_string_equal(out, "-a-b-");
    free(out);
    assert_ok(pattern_replace("b", "abcb", "<$0>", true, &out, &err), &err);
    assert_string_equal(out, "a<b>c<b>");
    free(out);
    assert_int_equal(pattern_trim("\\", "x", false, false, &out, &err), -1);
}

/* ud is the value of HALF: EXPAND_MAX_WORD / 2 bytes. */
static const char *
half_lookup(void *ud, const char *name)
{
    return strcmp(name, "HALF") == 0 ? ud : NULL;
}

static void
assert_too_long(const struct expander *bx, const char *word)
{
    struct lade_error err = {0};
    char *out = NULL;

    assert_int_equal(expand_word(bx, word, &out, &err), -1);
    assert_null(out);
    assert_int_equal(err.code, LADE_ERR_PARSE);
    if (strstr(err.msg, "expanded word longer than 1 MiB") == NULL)
        fail_msg("%s: unexpected error \"%s\"", word, err.msg);
}

static void
test_expand_bounds_the_word_size(void **state)
{
    char *half = malloc(EXPAND_MAX_WORD / 2 + 1);
    struct expander bx = {'\\', half_lookup, half};
    struct lade_error err = {0};
    char *out = NULL;

    (void) state;
    memset(half, 'x', EXPAND_MAX_WORD / 2);
    half[EXPAND_MAX_WORD / 2] = '\0';
    assert_ok(expand_word(&bx, "$HALF${HALF}", &out, &err), &err);
    assert_int_equal(strlen(out), EXPAND_MAX_WORD);
    free(out);
    assert_too_long(&bx, "-$HALF$HALF");
    assert_too_long(&bx, "\"$HALF-$HALF\"");
    assert_too_long(&bx, "${UNSET:-$HALF$HALF$HALF}");
    /* each x becomes 512 KiB: 256 GiB unless the replacement stops at the bound */
    assert_too_long(&bx, "${HALF//x/$HALF}");
    free(half);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expand_quotes_and_escapes),
        cmocka_unit_test(test_expand_variables),
        cmocka_unit_test(test_expand_default_alternative_and_required),
        cmocka_unit_test(test_expand_prefix_and_suffix_removal),
        cmocka_unit_test(test_expand_replacement),
        cmocka_unit_test(test_expand_reports_syntax_errors),
        cmocka_unit_test(test_expand_error_names_the_word),
        cmocka_unit_test(test_expand_words_split_on_unquoted_space),
        cmocka_unit_test(test_expand_backtick_escape),
        cmocka_unit_test(test_expand_raw_keeps_quotes_processes_escapes),
        cmocka_unit_test(test_expand_shell_modes_for_heredoc_detection),
        cmocka_unit_test(test_expand_invalid_utf8_becomes_replacement_char),
        cmocka_unit_test(test_expand_pattern_functions),
        cmocka_unit_test(test_expand_bounds_the_word_size),
    };
    return cmocka_run_group_tests_name("parser/expand", tests, NULL, NULL);
}
