/* SPDX-License-Identifier: Apache-2.0 */
/* parser/plan.c: stages, meta ARGs, stage references, target and needed stages. */
#include "../helpers/test.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../../builder/common/buf.h"
#include "../../builder/common/strv.h"
#include "../../parser/parser.h"

static int
make_plan(const char *src, char *const *build_args, const char *target, struct plan **out,
          struct lade_error *err)
{
    struct dockerfile *df = NULL;

    if (dockerfile_parse_mem(src, strlen(src), "Dockerfile", 0, &df, err) < 0)
        return -1;
    return plan_new(df, build_args, target, out, err);
}

static struct plan *
plan_of(const char *src, char *const *build_args, const char *target)
{
    struct lade_error err = {0};
    struct plan *p = NULL;

    assert_ok(make_plan(src, build_args, target, &p, &err), &err);
    return p;
}

static void
test_plan_stages_in_file_order(void **state)
{
    struct plan *p =
        plan_of("FROM alpine:3 AS Build\nRUN a\nRUN b\nFROM scratch\nCOPY x y\n", NULL, NULL);

    (void) state;
    assert_int_equal(p->nstages, 2);
    assert_string_equal(p->stages[0].name, "build");
    assert_string_equal(p->stages[0].base, "alpine:3");
    assert_int_equal(p->stages[0].ninstrs, 2);
    assert_string_equal(p->stages[0].instrs[1]->original, "RUN b");
    assert_null(p->stages[1].name);
    assert_int_equal(p->stages[1].from->pos.line, 4);
    assert_int_equal(p->target, 1);
    assert_true(p->stages[1].needed);
    assert_false(p->stages[0].needed);
    plan_free(p);
}

static void
test_plan_meta_args_expand_from(void **state)
{
    char tag[] = "TAG=3.19", local[] = "LOCAL";
    char *args[] = {tag, local, NULL};
    struct plan *p = plan_of("ARG REPO=alpine TAG=3.18\nARG LOCAL=x FULL=${REPO}:${TAG}\n"
                             "FROM --platform=$LOCAL ${FULL}\nARG IN_STAGE=1\n",
                             args, NULL);

    (void) state;
    assert_string_equal(p->stages[0].base, "alpine:3.19");
    assert_string_equal(p->stages[0].platform, "x");
    assert_string_equal(strv_env_get(p->meta_args, "TAG"), "3.19");
    assert_string_equal(strv_env_get(p->meta_args, "LOCAL"), "x"); /* "LOCAL" alone: caller's */
    assert_null(strv_env_get(p->meta_args, "IN_STAGE"));
    assert_int_equal(strv_len(p->build_args), 2);
    plan_free(p);
}

static void
test_plan_declared_arg_without_value_is_unset(void **state)
{
    struct plan *p = plan_of("ARG V\nFROM img${V:-:latest}\n", NULL, NULL);

    (void) state;
    assert_string_equal(p->stages[0].base, "img:latest");
    assert_null(strv_env_get(p->meta_args, "V"));
    plan_free(p);
}

static void
test_plan_automatic_platform_args_need_no_arg(void **state)
{
    char bp[] = "BUILDPLATFORM=linux/amd64", ta[] = "TARGETARCH=arm64", other[] = "OTHER=1";
    char *args[] = {bp, ta, other, NULL};
    struct plan *p = plan_of("FROM --platform=$BUILDPLATFORM img-$TARGETARCH$OTHER AS Builder\n"
                             "FROM $TARGETSTAGE\n",
                             args, "builder");

    (void) state;
    assert_string_equal(p->stages[0].platform, "linux/amd64");
    assert_string_equal(p->stages[0].base, "img-arm64"); /* OTHER was never declared */
    assert_string_equal(p->stages[1].base, "builder");
    assert_string_equal(strv_env_get(p->meta_args, "TARGETARCH"), "arm64");
    plan_free(p);
}

/* BuildKit's DuplicateStageName check: names compare case-insensitively. */
static void
test_plan_rejects_duplicate_stage_names(void **state)
{
    struct lade_error err = {0};
    struct plan *p = NULL;

    (void) state;
    assert_int_equal(make_plan("FROM a AS x\nRUN true\nFROM b AS X\n", NULL, NULL, &p, &err), -1);
    assert_int_equal(err.code, LADE_ERR_PARSE);
    assert_int_equal(err.pos.line, 3);
    assert_string_equal(err.msg, "duplicate stage name \"x\", stage names should be unique");
}

static void
test_plan_base_stage_by_earlier_name_only(void **state)
{
    struct plan *p = plan_of("FROM later AS first\nFROM alpine AS later\nFROM FIRST\n", NULL, NULL);

    (void) state;
    assert_int_equal(p->stages[0].base_stage, -1); /* a later stage's name is an image */
    assert_int_equal(p->stages[2].base_stage, 0);  /* names compare case-insensitively */
    assert_true(p->stages[0].needed);
    assert_false(p->stages[1].needed);
    plan_free(p);
}

static void
test_plan_copy_from_and_mount_from_are_deps(void **state)
{
    struct plan *p = plan_of("FROM a AS one\nFROM b AS two\nFROM c\n"
                             "COPY --from=one /x /x\nCOPY --from=1 /y /y\n"
                             "COPY --from=busybox /bin/sh /sh\n"
                             "RUN --mount=type=bind,from=one,target=/m true\n",
                             NULL, NULL);
    const struct stage *s = &p->stages[2];

    (void) state;
    assert_int_equal(s->ndeps, 2);
    assert_int_equal(s->deps[0], 0);
    assert_int_equal(s->deps[1], 1);
    assert_true(p->stages[0].needed);
    assert_true(p->stages[1].needed);
    plan_free(p);
}

static void
test_plan_target_selects_stage_and_needed_set(void **state)
{
    struct plan *p =
        plan_of("FROM a AS base\nFROM base AS build\nFROM a AS other\n", NULL, "Build");

    (void) state;
    assert_int_equal(p->target, 1);
    assert_true(p->stages[0].needed);
    assert_true(p->stages[1].needed);
    assert_false(p->stages[2].needed);
    plan_free(p);
}

static void
test_plan_unknown_target_is_usage_error(void **state)
{
    struct lade_error err = {0};
    struct plan *p = NULL;

    (void) state;
    assert_int_equal(make_plan("FROM a AS x\n", NULL, "nope", &p, &err), -1);
    assert_null(p);
    assert_int_equal(err.code, LADE_ERR_USAGE);
    assert_string_equal(err.msg, "target stage \"nope\" could not be found");
}

static void
test_plan_rejects_bad_index_and_cycles(void **state)
{
    struct lade_error err = {0};
    struct plan *p = NULL;

    (void) state;
    assert_int_equal(make_plan("FROM a\nCOPY --from=5 x y\n", NULL, NULL, &p, &err), -1);
    assert_string_equal(err.msg, "invalid stage index 5");
    assert_int_equal(err.pos.line, 2);
    lade_error_clear(&err);
    assert_int_equal(make_plan("FROM a AS x\nCOPY --from=y a b\nFROM b AS y\nCOPY --from=x a b\n",
                               NULL, NULL, &p, &err),
                     -1);
    assert_non_null(strstr(err.msg, "circular dependency detected on stage"));
}

static void
test_plan_rejects_blank_base(void **state)
{
    struct lade_error err = {0};
    struct plan *p = NULL;

    (void) state;
    assert_int_equal(make_plan("ARG B\nFROM $B\n", NULL, NULL, &p, &err), -1);
    assert_string_equal(err.msg, "base name ($B) should not be blank");
    assert_int_equal(err.pos.line, 2);
}

static void
test_plan_rejects_instruction_before_from_in_raw_file(void **state)
{
    struct lade_error err = {0};
    struct dockerfile *df = NULL;
    struct plan *p = NULL;
    const char *src = "RUN x\nFROM a\n";

    (void) state;
    assert_ok(dockerfile_parse_mem(src, strlen(src), "Dockerfile", DOCKERFILE_RAW, &df, &err),
              &err);
    assert_int_equal(plan_new(df, NULL, NULL, &p, &err), -1); /* df is freed */
    assert_string_equal(err.msg, "no build stage in current context");
}

static void
test_plan_find_stage_by_name_or_index(void **state)
{
    struct plan *p = plan_of("FROM a AS one\nFROM b\n", NULL, NULL);

    (void) state;
    assert_int_equal(plan_find_stage(p, "ONE"), 0);
    assert_int_equal(plan_find_stage(p, "1"), 1);
    assert_int_equal(plan_find_stage(p, "2"), -1);
    assert_int_equal(plan_find_stage(p, "alpine"), -1);
    assert_int_equal(plan_find_stage(p, NULL), -1);
    plan_free(p);
}

static void
test_plan_to_json_describes_stages(void **state)
{
    struct plan *p = plan_of("ARG T=1\nFROM a:$T AS one\nRUN x\nFROM one\n", NULL, NULL);
    char *text = plan_to_json(p);
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);

    (void) state;
    assert_non_null(root);
    assert_int_equal(json_integer_value(json_object_get(root, "target")), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(root, "meta_args"), "T")),
                        "1");
    json_t *s0 = json_array_get(json_object_get(root, "stages"), 0);
    assert_string_equal(json_string_value(json_object_get(s0, "base")), "a:1");
    assert_true(json_is_true(json_object_get(s0, "needed")));
    json_t *s1 = json_array_get(json_object_get(root, "stages"), 1);
    assert_int_equal(json_integer_value(json_object_get(s1, "base_stage")), 0);
    json_t *run = json_array_get(json_object_get(s0, "instructions"), 0);
    assert_string_equal(json_string_value(json_object_get(run, "original")), "RUN x");
    json_decref(root);
    free(text);
    plan_free(p);
}

/* a1=x and aN=${aN-1}${aN-1} for N up to last, then `then` lines, then FROM */
static char *
doubling_args(int last, const char *then)
{
    struct lade_buf b = LADE_BUF_INIT;

    lade_buf_appends(&b, "ARG a1=x\n");
    for (int i = 2; i <= last; i++)
        lade_buf_appendf(&b, "ARG a%d=${a%d}${a%d}\n", i, i - 1, i - 1);
    lade_buf_appendf(&b, "%sFROM scratch\n", then);
    return lade_buf_steal(&b);
}

static void
assert_plan_fails_at(const char *src, unsigned line, const char *msg)
{
    struct lade_error err = {0};
    struct plan *p = NULL;

    assert_int_equal(make_plan(src, NULL, NULL, &p, &err), -1);
    assert_int_equal(err.code, LADE_ERR_PARSE);
    assert_int_equal(err.pos.line, line);
    if (strstr(err.msg, msg) == NULL)
        fail_msg("error \"%s\" does not contain \"%s\"", err.msg, msg);
}

static void
test_plan_bounds_meta_arg_values(void **state)
{
    char *src;

    (void) state;
    /* a22 would be 2 MiB: the line that crosses the word bound fails */
    src = doubling_args(26, "");
    assert_plan_fails_at(src, 22, "expanded word longer than 1 MiB");
    free(src);
    /* a21 is 1 MiB; copies of it fill the 16 MiB for all meta args at b13 (line 35) */
    struct lade_buf copies = LADE_BUF_INIT;
    for (int i = 0; i < 20; i++)
        lade_buf_appendf(&copies, "ARG b%d=$a21\n", i);
    src = doubling_args(21, copies.data);
    assert_plan_fails_at(src, 35, "meta ARG values exceed 16 MiB");
    free(src);
    lade_buf_release(&copies);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_stages_in_file_order),
        cmocka_unit_test(test_plan_meta_args_expand_from),
        cmocka_unit_test(test_plan_declared_arg_without_value_is_unset),
        cmocka_unit_test(test_plan_automatic_platform_args_need_no_arg),
        cmocka_unit_test(test_plan_rejects_duplicate_stage_names),
        cmocka_unit_test(test_plan_base_stage_by_earlier_name_only),
        cmocka_unit_test(test_plan_copy_from_and_mount_from_are_deps),
        cmocka_unit_test(test_plan_target_selects_stage_and_needed_set),
        cmocka_unit_test(test_plan_unknown_target_is_usage_error),
        cmocka_unit_test(test_plan_rejects_bad_index_and_cycles),
        cmocka_unit_test(test_plan_rejects_blank_base),
        cmocka_unit_test(test_plan_rejects_instruction_before_from_in_raw_file),
        cmocka_unit_test(test_plan_find_stage_by_name_or_index),
        cmocka_unit_test(test_plan_bounds_meta_arg_values),
        cmocka_unit_test(test_plan_to_json_describes_stages),
    };
    return cmocka_run_group_tests_name("parser/plan", tests, NULL, NULL);
}
