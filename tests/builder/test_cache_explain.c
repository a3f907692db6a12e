/* SPDX-License-Identifier: Apache-2.0 */
/* Why a key missed (builder/cache_explain.h): each kind of change between a step's inputs and
 * the last build's gives its own plain-words reason, the most specific first. */
#include "../helpers/test.h"

#include <stdlib.h>
#include <string.h>

#include "../../builder/cache_explain.h"

/* Inputs as cache_key_step keeps them; files may be NULL. */
static json_t *
inputs(const char *parent, const char *what, const char *cmd_json, const char *view_json,
       const char *files_json)
{
    json_t *in = json_pack("{s:s, s:s}", "parent", parent, "what", what);

    json_object_set_new(in, "cmd", json_loads(cmd_json, 0, NULL));
    json_object_set_new(in, "view", json_loads(view_json, 0, NULL));
    if (files_json != NULL)
        json_object_set_new(in, "files", json_loads(files_json, 0, NULL));
    return in;
}

static void
assert_reason(const json_t *prev, const json_t *cur, bool earlier, const char *want)
{
    json_auto_t *base = json_pack("{s:s, s:s}", "base", "sha256:img1", "build", "0/1");
    char *got = cache_explain_diff(prev, cur, base, base, earlier, NULL);

    assert_string_equal(got, want);
    free(got);
}

static void
test_explain_copy_names_the_changed_file(void **state)
{
    const char *cmd = "[\"kind=copy\", \"src=src/\", \"dest=/src/\"]";
    json_auto_t *a = inputs("p", "COPY src/", cmd, "[\"content=sha256:1\"]",
                            "{\"src\": \"d0\", \"src/main.c\": \"aa\", \"src/a.h\": \"bb\"}");
    json_auto_t *b = inputs("p", "COPY src/", cmd, "[\"content=sha256:2\"]",
                            "{\"src\": \"d0\", \"src/main.c\": \"cc\", \"src/a.h\": \"bb\"}");
    json_auto_t *c = inputs("p", "COPY src/", cmd, "[\"content=sha256:3\"]",
                            "{\"src\": \"d0\", \"src/main.c\": \"cc\", \"src/a.h\": \"bb\", "
                            "\"src/new.h\": \"dd\"}");
    json_auto_t *d = inputs("p", "COPY src/", cmd, "[\"content=sha256:4\"]",
                            "{\"src\": \"d0\", \"src/main.c\": \"ee\"}");

    (void) state;
    assert_reason(a, b, false, "COPY src/: src/main.c changed");
    assert_reason(b, c, false, "COPY src/: src/new.h added");
    assert_reason(c, d, false, "COPY src/: src/a.h removed (and 2 more)");
}

static void
test_explain_build_arg_and_env(void **state)
{
    const char *cmd = "[\"kind=run\", \"network=0\"]";
    json_auto_t *a =
        inputs("p", "RUN", cmd, "[\"arg=/bin/sh\", \"env=VERSION=1\", \"env=X=a\"]", NULL);
    json_auto_t *b =
        inputs("p", "RUN", cmd, "[\"arg=/bin/sh\", \"env=VERSION=2\", \"env=X=a\"]", NULL);
    json_auto_t *c = inputs("p", "RUN", cmd, "[\"arg=/bin/sh\", \"env=VERSION=2\"]", NULL);
    struct envmap args = {0};

    (void) state;
    envmap_set(&args, "VERSION", NULL);
    json_auto_t *base = json_pack("{s:s, s:s}", "base", "i", "build", "0/1");
    char *got = cache_explain_diff(a, b, base, base, false, &args);
    assert_string_equal(got, "ARG VERSION changed (1 -> 2)");
    free(got);
    got = cache_explain_diff(b, c, base, base, false, &args);
    assert_string_equal(got, "ENV X changed (a -> unset)");
    free(got);
    envmap_release(&args);
}

static void
test_explain_command_and_flags(void **state)
{
    json_auto_t *a = inputs("p", "RUN", "[\"kind=run\"]", "[\"arg=echo a\", \"user=\"]", NULL);
    json_auto_t *b = inputs("p", "RUN", "[\"kind=run\"]", "[\"arg=echo b\", \"user=\"]", NULL);
    json_auto_t *c = inputs("p", "RUN", "[\"kind=run\"]", "[\"arg=echo b\", \"user=app\"]", NULL);
    json_auto_t *d =
        inputs("p", "COPY a", "[\"kind=copy\", \"src=a\", \"chown=1000\"]", "[]", NULL);
    json_auto_t *e =
        inputs("p", "COPY a", "[\"kind=copy\", \"src=a\", \"chown=2000\"]", "[]", NULL);

    (void) state;
    assert_reason(a, b, false, "command changed");
    assert_reason(b, c, false, "USER changed (\"\" -> app)");
    assert_reason(d, e, false, "--chown changed (1000 -> 2000)");
}

static void
test_explain_parent_and_base(void **state)
{
    json_auto_t *a = inputs("p1", "RUN", "[\"kind=run\"]", "[\"arg=x\"]", NULL);
    json_auto_t *b = inputs("p2", "RUN", "[\"kind=run\"]", "[\"arg=x\"]", NULL);
    json_auto_t *img1 = json_pack("{s:s, s:s}", "base", "sha256:img1", "build", "0/1");
    json_auto_t *img2 = json_pack("{s:s, s:s}", "base", "sha256:img2", "build", "0/1");

    (void) state;
    assert_reason(a, b, false, "previous step changed");
    char *got = cache_explain_diff(a, b, img1, img2, false, NULL);
    assert_string_equal(got, "base image changed");
    free(got);
    /* after an earlier miss of the stage, the base is not the news any more */
    got = cache_explain_diff(a, b, img1, img2, true, NULL);
    assert_string_equal(got, "previous step changed");
    free(got);
    assert_reason(a, a, false, "same inputs as the last build, whose cache record is gone");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_explain_copy_names_the_changed_file),
        cmocka_unit_test(test_explain_build_arg_and_env),
        cmocka_unit_test(test_explain_command_and_flags),
        cmocka_unit_test(test_explain_parent_and_base),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
