/* SPDX-License-Identifier: Apache-2.0 */
#include "../helpers/test.h"

#include <string.h>

#include "../../builder/sandbox/rootless.h"

static const char subuid[] = "# ranges of shadow's useradd\n"
                             "alice:100000:65536\n"
                             "\n"
                             "alice2:165536:65536\n"
                             "1005:231072:70000\n"
                             "broken line\n"
                             "bob:notanumber:65536\n"
                             "bob:301072:0\n"
                             "bob:400000:65536\n"
                             "alice:900000:65536\n";

static void
test_rootless_subid_by_name_first_range(void **state)
{
    struct subid_range r = {0};

    (void) state;
    assert_int_equal(subid_find(subuid, "alice", 1000, &r), 1);
    assert_int_equal(r.start, 100000);
    assert_int_equal(r.count, 65536);
    assert_int_equal(subid_find(subuid, "alice2", 1001, &r), 1);
    assert_int_equal(r.start, 165536);
}

static void
test_rootless_subid_by_uid(void **state)
{
    struct subid_range r = {0};

    (void) state;
    assert_int_equal(subid_find(subuid, "carol", 1005, &r), 1);
    assert_int_equal(r.start, 231072);
    assert_int_equal(r.count, 70000);
}

static void
test_rootless_subid_skips_malformed_and_empty(void **state)
{
    struct subid_range r = {0};

    (void) state;
    /* "bob:notanumber" and a count of 0 are not ranges: the third line is bob's */
    assert_int_equal(subid_find(subuid, "bob", 1002, &r), 1);
    assert_int_equal(r.start, 400000);
    assert_int_equal(subid_find(subuid, "broken line", 1003, &r), 0);
    assert_int_equal(subid_find(subuid, "#", 1003, &r), 0);
}

static void
test_rootless_subid_missing(void **state)
{
    struct subid_range r = {7, 7};

    (void) state;
    assert_int_equal(subid_find(subuid, "ali", 1004, &r), 0);
    assert_int_equal(subid_find("", "alice", 1000, &r), 0);
    assert_int_equal(subid_find("alice:1:2", "alice", 1000, &r), 1); /* no final newline */
    assert_int_equal(r.start, 1);
    assert_int_equal(r.count, 2);
}

static void
test_rootless_subid_free_start(void **state)
{
    (void) state;
    assert_int_equal(subid_free_start(""), 100000);
    assert_int_equal(subid_free_start("x:10:20\n"), 100000);
    assert_int_equal(subid_free_start(subuid), 900000 + 65536);
}

static void
test_rootless_commands(void **state)
{
    (void) state;
    assert_true(rootless_command_needs_userns("build"));
    assert_true(rootless_command_needs_userns("run"));
    assert_true(rootless_command_needs_userns("prune"));
    assert_false(rootless_command_needs_userns("images"));
    assert_false(rootless_command_needs_userns("inspect"));
    assert_false(rootless_command_needs_userns("version"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rootless_subid_by_name_first_range),
        cmocka_unit_test(test_rootless_subid_by_uid),
        cmocka_unit_test(test_rootless_subid_skips_malformed_and_empty),
        cmocka_unit_test(test_rootless_subid_missing),
        cmocka_unit_test(test_rootless_subid_free_start),
        cmocka_unit_test(test_rootless_commands),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
