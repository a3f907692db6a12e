/* SPDX-License-Identifier: Apache-2.0 */
/* The isolation tiers (builder/sandbox/isolation.h): --isolation's values and the probes. */
#include "../helpers/test.h"

#include <string.h>
#include <unistd.h>

#include "../../builder/sandbox/isolation.h"

static void
test_isolation_parse_values(void **state)
{
    struct lade_error err = {0};
    enum isolation t = ISOLATION_CHROOT;

    (void) state;
    assert_ok(isolation_parse("default", &t, &err), &err); /* docker's value: auto */
    assert_int_equal(t, ISOLATION_AUTO);
    assert_ok(isolation_parse("chroot", &t, &err), &err);
    assert_int_equal(t, ISOLATION_CHROOT);
    assert_ok(isolation_parse("namespaces", &t, &err), &err);
    assert_string_equal(isolation_name(t), "namespaces");
    assert_int_equal(isolation_parse("process", &t, &err), -1);
    assert_int_equal(err.code, LADE_ERR_USAGE);
    assert_non_null(strstr(err.msg, "auto, namespaces, rootless or chroot"));
}

static void
test_isolation_rootless_is_not_for_root(void **state)
{
    struct isolation_probe p;
    struct lade_error err = {0};
    enum isolation t;

    (void) state;
    isolation_probe_rootless(&p);
    assert_false(p.ok);
    assert_string_equal(p.why, "lade runs as root (the tier is for other users)");
    assert_int_equal(isolation_choose(ISOLATION_ROOTLESS, &t, &err), -1);
    assert_non_null(strstr(err.msg, "--isolation rootless is not available here"));
}

/* As root with every capability (the test host), the chroot probe passes and auto takes a
 * tier; without root both root tiers say why. */
static void
test_isolation_probes_explain(void **state)
{
    struct isolation_probe p;
    struct lade_error err = {0};
    enum isolation t;

    (void) state;
    isolation_probe_chroot(&p);
    if (geteuid() != 0) {
        assert_false(p.ok);
        assert_non_null(strstr(p.why, "needs root"));
        return;
    }
    assert_true(p.ok);
    assert_ok(isolation_choose(ISOLATION_AUTO, &t, &err), &err);
    assert_true(t == ISOLATION_NAMESPACES || t == ISOLATION_CHROOT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_isolation_parse_values),
        cmocka_unit_test(test_isolation_rootless_is_not_for_root),
        cmocka_unit_test(test_isolation_probes_explain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
