/* SPDX-License-Identifier: Apache-2.0 */
/* parser/dockerignore.c: patternmatcher v0.6.1 semantics. */
#include "../helpers/test.h"

#include <stdlib.h>
#include <string.h>

#include "../../parser/parser.h"

static struct dockerignore *
from_text(const char *text)
{
    struct lade_error err = {0};
    struct dockerignore *di = NULL;

    assert_ok(dockerignore_parse(text, strlen(text), &di, &err), &err);
    return di;
}

static bool
excluded(const struct dockerignore *di, const char *path)
{
    struct lade_error err = {0};
    bool ex = true;

    assert_ok(dockerignore_matches(di, path, &ex, &err), &err);
    return ex;
}

static void
test_dockerignore_read_all_cleans_lines(void **state)
{
    /* ignorefile's upstream example: comments, absolute paths, "!" with blanks */
    struct dockerignore *di =
        from_text("\xEF\xBB\xBFtest1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n"
                  "! /inverted/abs/path\n");

    (void) state;
    assert_true(excluded(di, "test1"));
    assert_true(excluded(di, "test2"));
    assert_true(excluded(di, "a/file/here/x"));
    assert_true(excluded(di, "lastfile"));
    assert_false(excluded(di, "# this is a comment"));
    assert_true(dockerignore_has_exceptions(di));
    dockerignore_free(di);
}

static void
test_dockerignore_hash_after_blank_is_a_pattern(void **state)
{
    struct dockerignore *di = from_text("  #keep\n");

    (void) state;
    assert_true(excluded(di, "#keep"));
    assert_false(dockerignore_has_exceptions(di));
    dockerignore_free(di);
}

static void
test_dockerignore_directory_covers_contents(void **state)
{
    struct dockerignore *di = from_text("docs/\n!docs/README.md\n");

    (void) state;
    assert_true(excluded(di, "docs"));
    assert_true(excluded(di, "docs/a/b.txt"));
    assert_false(excluded(di, "docs/README.md"));
    assert_false(excluded(di, "documents"));
    dockerignore_free(di);
}

static void
test_dockerignore_last_match_wins(void **state)
{
    struct dockerignore *di = from_text("*.go\n!keep.go\nkeep.go\n");

    (void) state;
    assert_true(excluded(di, "a.go"));
    assert_true(excluded(di, "keep.go"));
    assert_false(excluded(di, "dir/a.go")); /* '*' does not cross '/' */
    dockerignore_free(di);
}

static void
test_dockerignore_double_star(void **state)
{
    struct dockerignore *di = from_text("**/*.tmp\nbuild/**\n");

    (void) state;
    assert_true(excluded(di, "a.tmp"));
    assert_true(excluded(di, "x/y/a.tmp"));
    assert_true(excluded(di, "build/x"));
    assert_false(excluded(di, "build"));
    dockerignore_free(di);
}

static void
test_dockerignore_classes_and_escapes(void **state)
{
    char p1[] = "a[b-d]e", p2[] = "x\\*y", p3[] = "f?.txt";
    char *patterns[] = {p1, p2, p3, NULL};
    struct lade_error err = {0};
    struct dockerignore *di = NULL;

    (void) state;
    assert_ok(dockerignore_new(patterns, &di, &err), &err);
    assert_true(excluded(di, "ace"));
    assert_false(excluded(di, "aze"));
    assert_true(excluded(di, "x*y"));
    assert_false(excluded(di, "xzy"));
    assert_true(excluded(di, "f\xE2\x98\xBA.txt")); /* '?' is one rune, not one byte */
    dockerignore_free(di);
}

static void
test_dockerignore_rejects_bad_patterns(void **state)
{
    char bang[] = "!", bad[] = "a[", ok[] = "x";
    char *p1[] = {ok, bang, NULL}, *p2[] = {bad, NULL};
    struct lade_error err = {0};
    struct dockerignore *di = NULL;

    (void) state;
    assert_int_equal(dockerignore_new(p1, &di, &err), -1);
    assert_string_equal(err.msg, "illegal exclusion pattern: \"!\"");
    lade_error_clear(&err);
    assert_int_equal(dockerignore_new(p2, &di, &err), -1);
    assert_int_equal(err.code, LADE_ERR_PARSE);
}

static void
test_dockerignore_regexp_error_shows_on_match(void **state)
{
    /* filepath.Match accepts the syntax, the regexp (range l-O) does not compile */
    struct dockerignore *di = from_text("[Local-Only]/\n");
    struct lade_error err = {0};
    bool ex;

    (void) state;
    assert_int_equal(dockerignore_matches(di, "x", &ex, &err), -1);
    assert_false(ex);
    dockerignore_free(di);
}

static void
test_dockerignore_never_excludes_context_root(void **state)
{
    struct dockerignore *di = from_text("**\n");

    (void) state;
    assert_false(excluded(di, "."));
    assert_false(excluded(di, ""));
    assert_true(excluded(di, "anything/below"));
    assert_false(excluded(NULL, "x"));
    dockerignore_free(di);
}

static void
test_dockerignore_exception_on_parent_reincludes(void **state)
{
    struct dockerignore *di = from_text("**\n!util/docker/web\n");

    (void) state;
    assert_false(excluded(di, "util/docker/web/foo"));
    assert_true(excluded(di, "util/other"));
    dockerignore_free(di);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dockerignore_read_all_cleans_lines),
        cmocka_unit_test(test_dockerignore_hash_after_blank_is_a_pattern),
        cmocka_unit_test(test_dockerignore_directory_covers_contents),
        cmocka_unit_test(test_dockerignore_last_match_wins),
        cmocka_unit_test(test_dockerignore_double_star),
        cmocka_unit_test(test_dockerignore_classes_and_escapes),
        cmocka_unit_test(test_dockerignore_rejects_bad_patterns),
        cmocka_unit_test(test_dockerignore_regexp_error_shows_on_match),
        cmocka_unit_test(test_dockerignore_never_excludes_context_root),
        cmocka_unit_test(test_dockerignore_exception_on_parent_reincludes),
    };
    return cmocka_run_group_tests_name("parser/dockerignore", tests, NULL, NULL);
}
