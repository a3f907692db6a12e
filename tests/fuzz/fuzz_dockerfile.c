/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the Dockerfile front end: lexing, parsing (raw and checked), the dump, the plan and
 * the expansion of every argument with the meta args. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/common/strv.h"
#include "parser/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *
lookup(void *ud, const char *name)
{
    return strv_env_get(ud, name);
}

static void
exercise_plan(struct dockerfile *df)
{
    char arg[] = "TAG=1", bare[] = "BARE";
    char *build_args[] = {arg, bare, NULL};
    struct lade_error err = {0};
    struct plan *p = NULL;

    if (plan_new(df, build_args, NULL, &p, &err) < 0)
        return;
    free(plan_to_json(p));
    plan_find_stage(p, "0");
    plan_find_stage(p, "build");
    for (size_t i = 0; i < p->nstages; i++) {
        struct expander x = {p->df->escape, lookup, p->meta_args};
        for (size_t k = 0; k < p->stages[i].ninstrs; k++) {
            const struct instr *in = p->stages[i].instrs[k];
            for (size_t a = 0; a < in->nargs; a++) {
                char *w = NULL, **words = NULL;
                struct lade_error e = {0};
                if (expand_word(&x, in->args[a], &w, &e) == 0)
                    free(w);
                lade_error_clear(&e);
                if (expand_words(&x, in->args[a], &words, &e) == 0)
                    strv_free(words);
            }
            for (size_t h = 0; h < in->nheredocs; h++) {
                char *body = NULL, *chomped = heredoc_chomp(in->heredocs[h].content);
                struct lade_error e = {0};
                if (expand_raw(&x, chomped, &body, &e) == 0)
                    free(body);
                free(chomped);
            }
            for (size_t a = 0; a < in->nargs; a++)
                instr_heredoc_for_arg(in, in->args[a]);
        }
    }
    plan_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dockerfile *df = NULL;
    struct lade_error err = {0};

    if (dockerfile_parse_mem((const char *) data, size, "Dockerfile", DOCKERFILE_RAW, &df, &err) ==
        0) {
        FILE *null = fopen("/dev/null", "w");
        if (null != NULL) {
            dockerfile_dump(df, null);
            fclose(null);
        }
        if (df->n > 0)
            dockerfile_error_at(df, &df->instrs[df->n - 1].pos, &err);
        dockerfile_free(df);
    }
    lade_error_clear(&err);
    if (dockerfile_parse_mem((const char *) data, size, "Dockerfile", 0, &df, &err) == 0)
        exercise_plan(df); /* takes df */
    return 0;
}
