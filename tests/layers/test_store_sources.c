/* SPDX-License-Identifier: Apache-2.0 */
#include "../helpers/test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../builder/common/strv.h"
#include "../../builder/common/xalloc.h"
#include "../../layers/store/store.h"

#define BLOB "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct fixture {
    char *root;
    struct store *st;
};

static int
setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    struct lade_error err = {0};

    f->root = test_tmpdir();
    assert_ok(store_open(f->root, &f->st, &err), &err);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    store_free(f->st);
    test_rm_rf(f->root);
    free(f->root);
    free(f);
    return 0;
}

static void
test_sources_none_known(void **state)
{
    struct fixture *f = *state;

    assert_null(store_sources_get(f->st, BLOB));
    assert_null(store_sources_get(f->st, "not-a-digest"));
}

static void
test_sources_newest_first_without_repeats(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    char **v;

    assert_ok(store_source_add(f->st, BLOB, "localhost:5000/a", &err), &err);
    assert_ok(store_source_add(f->st, BLOB, "localhost:5000/b", &err), &err);
    assert_ok(store_source_add(f->st, BLOB, "localhost:5000/a", &err), &err);
    v = store_sources_get(f->st, BLOB);
    assert_non_null(v);
    assert_int_equal(strv_len(v), 2);
    assert_string_equal(v[0], "localhost:5000/a");
    assert_string_equal(v[1], "localhost:5000/b");
    strv_free(v);
}

static void
test_sources_keep_a_few(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    char **v;

    for (int i = 0; i < 20; i++) {
        char repo[64];
        snprintf(repo, sizeof(repo), "docker.io/team/r%d", i);
        assert_ok(store_source_add(f->st, BLOB, repo, &err), &err);
    }
    v = store_sources_get(f->st, BLOB);
    assert_int_equal(strv_len(v), 8);
    assert_string_equal(v[0], "docker.io/team/r19");
    assert_string_equal(v[7], "docker.io/team/r12");
    strv_free(v);
}

static void
test_sources_reject_bad_input(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};

    assert_int_equal(store_source_add(f->st, BLOB, "a\nb", &err), -1);
    lade_error_clear(&err);
    assert_int_equal(store_source_add(f->st, BLOB, "", &err), -1);
    lade_error_clear(&err);
    assert_int_equal(store_source_add(f->st, "sha256:xyz", "docker.io/a", &err), -1);
    assert_null(store_sources_get(f->st, BLOB));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sources_none_known, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sources_newest_first_without_repeats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sources_keep_a_few, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sources_reject_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
