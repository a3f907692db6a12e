/* SPDX-License-Identifier: Apache-2.0 */
#include "../helpers/test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../builder/common/buf.h"
#include "../../builder/common/strv.h"

static void
test_error_first_error_wins(void **state)
{
    struct lade_error err = {0};

    (void) state;
    assert_int_equal(lade_error_set(&err, LADE_ERR_USAGE, "first %d", 1), -1);
    lade_error_set(&err, LADE_ERR_IO, "second");
    assert_int_equal(err.code, LADE_ERR_USAGE);
    assert_string_equal(err.msg, "first 1");
}

static void
test_error_sys_appends_strerror(void **state)
{
    struct lade_error err = {0};

    (void) state;
    errno = ENOENT;
    lade_error_sys(&err, "cannot open '%s'", "x");
    assert_int_equal(err.code, LADE_ERR_IO);
    assert_int_equal(err.sys_errno, ENOENT);
    assert_string_equal(err.msg, "cannot open 'x': No such file or directory");
}

static void
test_error_prefix_adds_context(void **state)
{
    struct lade_error err = {0};

    (void) state;
    lade_error_set(&err, LADE_ERR_NET, "refused");
    lade_error_prefix(&err, "push '%s'", "a");
    assert_string_equal(err.msg, "push 'a': refused");
    assert_int_equal(err.code, LADE_ERR_NET);
}

static void
test_error_recode_keeps_cause(void **state)
{
    struct lade_error err = {0};
    struct lade_pos pos = {"Dockerfile", 2, 5};

    (void) state;
    errno = EACCES;
    lade_error_sys(&err, "open '%s'", "x");
    err.pos = pos;
    assert_int_equal(lade_error_recode(&err, LADE_ERR_PARSE), -1);
    assert_int_equal(err.code, LADE_ERR_PARSE);
    assert_int_equal(err.sys_errno, EACCES);
    assert_int_equal(err.pos.line, 2);
    assert_string_equal(err.msg, "open 'x': Permission denied");
    /* an unset error still says something */
    lade_error_clear(&err);
    assert_int_equal(lade_error_recode(&err, LADE_ERR_USAGE), -1);
    assert_int_equal(err.code, LADE_ERR_USAGE);
    assert_string_equal(err.msg, "unknown error");
    assert_int_equal(lade_error_recode(NULL, LADE_ERR_USAGE), -1);
}

static void
test_error_print_shows_caret(void **state)
{
    struct lade_error err = {0};
    struct lade_pos pos = {"Dockerfile", 3, 1};
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    (void) state;
    lade_error_at(&err, &pos, "unknown instruction \"%s\"", "FROBNICATE");
    lade_error_set_src_line(&err, "FROBNICATE everything", 21);
    lade_error_print(f, &err);
    fclose(f);
    assert_string_equal(out, "lade: error: Dockerfile:3:1: unknown instruction \"FROBNICATE\"\n"
                             "   3 | FROBNICATE everything\n"
                             "     | ^\n");
    free(out);
}

static void
test_buf_max_refuses_growth(void **state)
{
    struct lade_buf b;

    (void) state;
    lade_buf_init(&b, 4);
    assert_int_equal(lade_buf_appends(&b, "abcd"), 0);
    assert_int_equal(lade_buf_appendc(&b, 'e'), -1);
    assert_string_equal(b.data, "abcd");
    lade_buf_release(&b);
}

static void
test_strv_env_set_replaces_in_place(void **state)
{
    char **v = NULL;

    (void) state;
    v = strv_env_set(v, "A", "1");
    v = strv_env_set(v, "B", "2");
    v = strv_env_set(v, "A", "3");
    assert_int_equal(strv_len(v), 2);
    assert_string_equal(v[0], "A=3");
    assert_string_equal(strv_env_get(v, "B"), "2");
    assert_null(strv_env_get(v, "AB"));
    strv_free(v);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_first_error_wins),
        cmocka_unit_test(test_error_sys_appends_strerror),
        cmocka_unit_test(test_error_prefix_adds_context),
        cmocka_unit_test(test_error_recode_keeps_cause),
        cmocka_unit_test(test_error_print_shows_caret),
        cmocka_unit_test(test_buf_max_refuses_growth),
        cmocka_unit_test(test_strv_env_set_replaces_in_place),
    };
    return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
