/* SPDX-License-Identifier: Apache-2.0 */
/* The stage state (builder/stage.c): the expansion environment, lower dirs, layers and history,
 * a stage built FROM another. */
#include "../helpers/test.h"

#include <stdlib.h>
#include <string.h>

#include "../../builder/stage.h"
#include "../../builder/common/strv.h"
#include "../../builder/common/xalloc.h"

static void
stage_with_env(struct stage_state *ss, const char *env_kv, const char *arg_kv)
{
    memset(ss, 0, sizeof(*ss));
    ss->config = oci_config_new("linux", "amd64");
    json_object_set_new(oci_config_container(ss->config), "Env", json_pack("[s]", env_kv));
    envmap_push(&ss->args, arg_kv);
    envmap_push(&ss->arg_names, "A");
}

/* The state environment starts as the base's Env; a later set (an ARG with a value, as
 * step_arg does) replaces the value words and RUN see, not the config's Env; a stage built FROM
 * this one inherits it. */
static void
test_stage_vars_follow_the_base_then_later_sets(void **state)
{
    struct dockerfile df = {.escape = '\\'};
    struct stage_state ss, child = {0};
    struct expander x;
    struct lade_error err = {0};
    char *out = NULL;

    (void) state;
    stage_with_env(&ss, "A=from-env", "A=from-arg");
    stage_expander(&ss, &df, &x);
    assert_ok(expand_word(&x, "$A/${B:-unset}", &out, &err), &err);
    assert_string_equal(out, "from-env/unset");
    free(out);

    envmap_set(stage_vars(&ss), "A", "later-arg");
    envmap_set(stage_vars(&ss), "B", "only-arg");
    assert_ok(expand_word(&x, "$A/$B", &out, &err), &err);
    assert_string_equal(out, "later-arg/only-arg");
    free(out);
    json_t *env = json_object_get(oci_config_container(ss.config), "Env");
    assert_string_equal(json_string_value(json_array_get(env, 0)), "A=from-env");

    ss.built = true;
    stage_init_from(&child, &ss);
    assert_string_equal(stage_var(&child, "A"), "later-arg");
    assert_string_equal(stage_var(&child, "B"), "only-arg");
    stage_state_release(&child);
    stage_state_release(&ss);
}

static void
test_stage_layers_history_and_lowerdirs(void **state)
{
    struct build b = {0};
    struct stage_state ss;
    struct layer_state l1 = {0}, l2 = {0};

    (void) state;
    snprintf(b.created, sizeof(b.created), "1970-01-01T00:00:00Z");
    stage_with_env(&ss, "PATH=/bin", "A=1");
    snprintf(l1.diff_id, sizeof(l1.diff_id), "sha256:%064d", 1);
    snprintf(l2.diff_id, sizeof(l2.diff_id), "sha256:%064d", 2);
    l1.dir = xstrdup("/store/l1");
    l2.dir = xstrdup("/store/l2");
    stage_push_layer(&b, &ss, &l1, "COPY a /a # buildkit");
    stage_add_history(&b, &ss, "ENV X=1", true);
    stage_push_layer(&b, &ss, &l2, "RUN true # buildkit");

    char **lowers = stage_lowerdirs(&ss);
    assert_string_equal(lowers[0], "/store/l2"); /* overlay's order: top first */
    assert_string_equal(lowers[1], "/store/l1");
    assert_null(lowers[2]);
    free(lowers);
    json_t *diff_ids = json_object_get(json_object_get(ss.config, "rootfs"), "diff_ids");
    assert_int_equal(json_array_size(diff_ids), 2);
    assert_string_equal(json_string_value(json_array_get(diff_ids, 1)), l2.diff_id);
    json_t *hist = json_object_get(ss.config, "history");
    assert_int_equal(json_array_size(hist), 3);
    assert_true(json_is_true(json_object_get(json_array_get(hist, 1), "empty_layer")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(hist, 2), "created_by")),
                        "RUN true # buildkit");

    /* FROM this stage: an independent copy (config, layers, key, ARGs). */
    struct stage_state child = {0};
    snprintf(ss.key, sizeof(ss.key), "sha256:%064d", 9);
    stage_init_from(&child, &ss);
    assert_int_equal(child.nlayers, 2);
    assert_string_equal(child.layers[1].dir, "/store/l2");
    assert_ptr_not_equal(child.layers[1].dir, ss.layers[1].dir);
    assert_string_equal(child.key, ss.key);
    assert_string_equal(envmap_get(&child.args, "A"), "1");
    json_object_set_new(oci_config_container(child.config), "User", json_string("app"));
    assert_null(json_object_get(oci_config_container(ss.config), "User"));
    stage_state_release(&child);
    stage_state_release(&ss);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stage_vars_follow_the_base_then_later_sets),
        cmocka_unit_test(test_stage_layers_history_and_lowerdirs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
