/* SPDX-License-Identifier: Apache-2.0 */
/* builder/common/strv.c: the indexed environment (envmap). */
#include "../helpers/test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../builder/common/strv.h"

static void
test_envmap_set_replaces_in_place(void **state)
{
    struct envmap m = {0};

    (void) state;
    assert_null(envmap_get(&m, "A"));
    assert_int_equal(envmap_set(&m, "A", "1"), 0);
    assert_int_equal(envmap_set(&m, "B", "2"), 1);
    assert_int_equal(envmap_set(&m, "A", "3"), 0);
    assert_int_equal(m.n, 2);
    assert_string_equal(m.v[0], "A=3");
    assert_null(m.v[2]);
    assert_string_equal(envmap_get(&m, "B"), "2");
    assert_null(envmap_get(&m, "AB"));
    assert_int_equal(m.bytes, strlen("A=3") + strlen("B=2"));
    envmap_release(&m);
}

static void
test_envmap_bare_names_and_repeats(void **state)
{
    struct envmap m = {0};

    (void) state;
    envmap_set(&m, "N", NULL);
    assert_int_equal(envmap_find(&m, "N"), 0);
    assert_null(envmap_get(&m, "N")); /* declared, no value */
    envmap_push(&m, "E=first");
    envmap_push(&m, "E=second");
    assert_string_equal(envmap_get(&m, "E"), "first"); /* as strv_env_get finds it */
    assert_int_equal(envmap_set(&m, "E", "x"), 1);
    assert_string_equal(m.v[2], "E=second");
    envmap_release(&m);
}

static void
test_envmap_many_keys_copy_and_steal(void **state)
{
    struct envmap m = {0}, c = {0};
    char key[32], val[32];

    (void) state;
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "V%d", i);
        snprintf(val, sizeof(val), "%d", i * 7);
        envmap_set(&m, key, val);
    }
    envmap_copy(&c, &m);
    envmap_set(&m, "V42", "changed");
    for (int i = 0; i < 5000; i += 999) {
        snprintf(key, sizeof(key), "V%d", i);
        snprintf(val, sizeof(val), "%d", i * 7);
        assert_string_equal(envmap_get(&c, key), val);
        assert_int_equal(envmap_find(&c, key), i);
    }
    assert_string_equal(envmap_get(&c, "V42"), "294");
    char **v = envmap_steal(&c);
    assert_int_equal(strv_len(v), 5000);
    assert_int_equal(c.n, 0);
    strv_free(v);
    envmap_release(&m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envmap_set_replaces_in_place),
        cmocka_unit_test(test_envmap_bare_names_and_repeats),
        cmocka_unit_test(test_envmap_many_keys_copy_and_steal),
    };
    return cmocka_run_group_tests_name("strv", tests, NULL, NULL);
}
