/* SPDX-License-Identifier: Apache-2.0 */
/* lade plan: the build plan (stages, target, what each needs) as JSON, without building. */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../build.h"
#include "../context.h"
#include "../../parser/parser.h"
#include "../common/strv.h"

enum { OPT_BUILD_ARG = 256, OPT_TARGET };

static const struct cli_opt plan_opts[] = {
    {'f', "file", 'f', "FILE", "Name of the Dockerfile (default: CONTEXT/Dockerfile)"},
    {OPT_BUILD_ARG, "build-arg", 0, "K[=V]", "Set a build-time variable"},
    {OPT_TARGET, "target", 0, "STAGE", "Plan for this stage (default: the last one)"},
    {0},
};

static int
cmd_plan(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct build_opts o = {0};
    struct build_context bc = {0};
    struct plan *plan = NULL;
    struct cli_args a;
    int c, rc = -1;

    cli_args_init(&a, &plan_command, argc, argv);
    while ((c = cli_next(&a, err)) > 0) {
        if (c == 'f')
            o.dockerfile = a.value;
        else if (c == OPT_BUILD_ARG)
            o.build_args = build_arg_push(o.build_args, a.value);
        else
            o.target = a.value;
    }
    if ((c = cli_end(&a, c, 1, 1, err)) != 0) {
        rc = c > 0 ? 0 : -1;
        goto out;
    }
    /* a local directory needs no store: plan works without a writable --root */
    const char *spec = a.operands[0];
    struct stat sb;
    struct store *st = NULL;
    if ((strcmp(spec, "-") == 0 || stat(spec, &sb) < 0) && (st = cli_store(cli, err)) == NULL)
        goto out;
    if (context_prepare(st, &cli->reg, spec, o.dockerfile, &bc, err) < 0)
        goto out;
    build_opts_use_context(&o, &bc);
    if (build_load_plan(&o, &plan, err) < 0)
        goto out;
    char *json = plan_to_json(plan);
    puts(json);
    free(json);
    rc = 0;
out:
    context_release(&bc);
    plan_free(plan);
    strv_free(o.build_args);
    return rc;
}

const struct cli_command plan_command = {
    .name = "plan",
    .synopsis = "[OPTIONS] CONTEXT",
    .summary = "Print the build plan of a Dockerfile as JSON, without building",
    .description = "The stages, the target and the stages it needs, after ARG expansion in FROM.",
    .opts = plan_opts,
    .run = cmd_plan,
};
