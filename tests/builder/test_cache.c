/* SPDX-License-Identifier: Apache-2.0 */
/* The cache key (builder/cache.h): every expanded flag and every view entry changes it; the
 * same inputs give the same key. */
#include "../helpers/test.h"

#include <stdlib.h>
#include <string.h>

#include "../../builder/cache.h"

/* The key after one step, from a fixed parent key. */
static void
key_of(const char *line, const char *const *env, char *const *view, digest_t out)
{
    struct expander x = {.escape = '\\', .lookup = test_env_lookup, .ud = (void *) env};
    struct stage_state ss = {0};
    struct dockerfile *df = NULL;
    struct lade_error err = {0};
    struct command cmd;
    char src[256];

    snprintf(src, sizeof(src), "FROM scratch\n%s\n", line);
    assert_ok(dockerfile_parse_mem(src, strlen(src), "Dockerfile", 0, &df, &err), &err);
    assert_ok(command_expand(&df->instrs[1], &x, &cmd, &err), &err);
    snprintf(ss.key, sizeof(ss.key), "sha256:%064d", 7);
    cache_key_step(&ss, &cmd, view);
    memcpy(out, ss.key, sizeof(digest_t));
    cache_explain_free(ss.explain);
    command_release(&cmd);
    dockerfile_free(df);
}

static void
test_cache_key_copy_flags_after_expansion(void **state)
{
    const char *u1[] = {"U=1000", NULL}, *u2[] = {"U=2000", NULL},
               *other[] = {"U=1000", "X=1", NULL};
    const char *line = "COPY --chown=$U:$U a /a";
    digest_t a, b, c, d;

    (void) state;
    key_of(line, u1, NULL, a);
    key_of(line, u2, NULL, b);
    key_of(line, other, NULL, c);
    key_of(line, u1, NULL, d);
    assert_string_not_equal(a, b); /* issue 7, bug 1: the expanded --chown is in the key */
    assert_string_equal(a, c);     /* a variable the step does not use is not */
    assert_string_equal(a, d);
}

static void
test_cache_key_each_copy_field(void **state)
{
    static const char *const lines[] = {
        "COPY a /a",
        "COPY a /b",
        "COPY b /a",
        "COPY a b /a/",
        "COPY --chown=1 a /a",
        "COPY --chown=1:2 a /a",
        "COPY --chmod=755 a /a",
        "COPY --chmod=0755 a /a",
        "COPY --from=s a /a",
        "COPY --link a /a",
        "ADD a /a",
    };
    const char *env[] = {NULL};
    size_t n = sizeof(lines) / sizeof(lines[0]);
    digest_t keys[sizeof(lines) / sizeof(lines[0])];

    (void) state;
    for (size_t i = 0; i < n; i++) {
        key_of(lines[i], env, NULL, keys[i]);
        for (size_t k = 0; k < i; k++)
            if (strcmp(keys[i], keys[k]) == 0)
                fail_msg("\"%s\" and \"%s\" have one key", lines[i], lines[k]);
    }
}

static void
test_cache_key_view_and_run_flags(void **state)
{
    const char *env[] = {NULL};
    const char *v1[] = {"env=A=1", "user=", "cwd=/", NULL};
    const char *v2[] = {"env=A=2", "user=", "cwd=/", NULL};
    const char *v3[] = {"env=A=1", "user=app", "cwd=/", NULL};
    const char *v4[] = {"env=A=1", "user=", "cwd=/w", NULL};
    digest_t k1, k2, k3, k4, k5, k6, k7;

    (void) state;
    key_of("RUN make", env, (char *const *) v1, k1);
    key_of("RUN make", env, (char *const *) v2, k2);
    key_of("RUN make", env, (char *const *) v3, k3);
    key_of("RUN make", env, (char *const *) v4, k4);
    key_of("RUN --network=none make", env, (char *const *) v1, k5);
    key_of("RUN --mount=type=tmpfs,target=/t make", env, (char *const *) v1, k6);
    key_of("RUN make", env, (char *const *) v1, k7);
    assert_string_not_equal(k1, k2);
    assert_string_not_equal(k1, k3);
    assert_string_not_equal(k1, k4);
    assert_string_not_equal(k1, k5);
    assert_string_not_equal(k1, k6);
    assert_string_not_equal(k5, k6);
    assert_string_equal(k1, k7);
}

static void
test_cache_key_chains_the_parent(void **state)
{
    struct stage_state ss = {0};
    struct dockerfile *df = NULL;
    struct lade_error err = {0};
    struct command cmd = {0};
    const char *src = "FROM scratch\nENV A=1\n";
    digest_t first;

    (void) state;
    assert_ok(dockerfile_parse_mem(src, strlen(src), "Dockerfile", 0, &df, &err), &err);
    cmd.in = &df->instrs[1];
    snprintf(ss.key, sizeof(ss.key), "sha256:%064d", 1);
    cache_key_step(&ss, &cmd, NULL);
    memcpy(first, ss.key, sizeof(first));
    snprintf(ss.key, sizeof(ss.key), "sha256:%064d", 2);
    cache_key_step(&ss, &cmd, NULL);
    assert_string_not_equal(first, ss.key);
    dockerfile_free(df);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_key_copy_flags_after_expansion),
        cmocka_unit_test(test_cache_key_each_copy_field),
        cmocka_unit_test(test_cache_key_view_and_run_flags),
        cmocka_unit_test(test_cache_key_chains_the_parent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
