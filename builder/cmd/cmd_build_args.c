/* SPDX-License-Identifier: Apache-2.0 */
/* What build and plan share: --build-arg values, the source date epoch they may carry, the
 * warning for build args no ARG consumed, and the prepared context as build options. */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../build.h"
#include "../context.h"
#include "../../parser/parser.h"
#include "../common/strv.h"
#include "../common/xalloc.h"

char **
build_arg_push(char **args, const char *value)
{
    if (strchr(value, '=') != NULL)
        return strv_push(args, value);
    /* docker: K alone takes K from the environment, and is dropped when it is unset */
    if (getenv(value) != NULL)
        return strv_env_set(args, value, getenv(value));
    return args;
}

void
build_opts_use_context(struct build_opts *o, const struct build_context *bc)
{
    o->context = bc->dir;
    o->dockerfile = bc->dockerfile;
    o->dockerfile_text = bc->text;
    o->dockerfile_len = bc->len;
    o->dockerfile_name = bc->name;
    o->no_dockerignore = bc->no_ignore;
}

static int
parse_epoch(const char *s, const char *what, int64_t *out, struct lade_error *err)
{
    char *end;

    if (strcmp(s, "now") == 0) {
        *out = -1;
        return 0;
    }
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0)
        return lade_error_set(err, LADE_ERR_USAGE, "invalid %s \"%s\"", what, s);
    *out = v;
    return 0;
}

int
build_epoch_resolve(struct build_opts *o, const char *flag, struct lade_error *err)
{
    const char *arg = strv_env_get(o->build_args, "SOURCE_DATE_EPOCH");
    const char *env = getenv("SOURCE_DATE_EPOCH");

    o->epoch = 0;
    /* BuildKit's frontend takes the epoch from the build arg (buildx passes the environment's
     * SOURCE_DATE_EPOCH as that build arg), so ARG SOURCE_DATE_EPOCH sees the same value
     * however the epoch was given */
    if (flag == NULL && arg != NULL && *arg != '\0')
        return parse_epoch(arg, "--build-arg SOURCE_DATE_EPOCH", &o->epoch, err);
    const char *given = flag ? flag : env;
    if (given == NULL || (flag == NULL && *env == '\0'))
        return 0;
    if (parse_epoch(given, flag ? "--source-date-epoch" : "SOURCE_DATE_EPOCH", &o->epoch, err) < 0)
        return -1;
    if (arg == NULL && o->epoch >= 0)
        o->build_args = strv_env_set(o->build_args, "SOURCE_DATE_EPOCH", given);
    return 0;
}

/* Build args every builder accepts without an ARG: the proxies (docker's builtin allowlist)
 * and BuildKit's own. */
static bool
predefined_arg(const char *key, size_t len)
{
    static const char *const names[] = {
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",         "ftp_proxy",
        "NO_PROXY",   "no_proxy",   "ALL_PROXY",   "all_proxy",   "SOURCE_DATE_EPOCH",
    };

    if (len > 9 && strncmp(key, "BUILDKIT_", 9) == 0)
        return true;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == len && strncmp(names[i], key, len) == 0)
            return true;
    return false;
}

static bool
declared_arg(const struct dockerfile *df, const char *key, size_t len)
{
    for (size_t i = 0; i < df->n; i++) {
        const struct instr *in = &df->instrs[i];
        if (in->kind != INSTR_ARG)
            continue;
        for (size_t k = 0; k < in->nargs; k++) {
            const char *w = in->args[k];
            size_t n = strcspn(w, "=");
            if (n == len && strncmp(w, key, len) == 0)
                return true;
        }
    }
    return false;
}

void
build_args_warn_unused(const struct build_opts *o)
{
    struct lade_error ignored = {0};
    struct plan *plan = NULL;
    struct buf_unused {
        char text[1024];
        size_t len;
    } list = {.len = 0};

    if (o->build_args == NULL || build_load_plan(o, &plan, &ignored) < 0)
        return;
    for (char **a = o->build_args; *a != NULL; a++) {
        size_t len = strcspn(*a, "=");
        if (predefined_arg(*a, len) || declared_arg(plan->df, *a, len))
            continue;
        int n = snprintf(list.text + list.len, sizeof(list.text) - list.len, "%s%.*s",
                         list.len ? " " : "", (int) len, *a);
        if (n > 0 && (size_t) n < sizeof(list.text) - list.len)
            list.len += (size_t) n;
    }
    plan_free(plan);
    /* the legacy builder's words, which docker users know */
    if (list.len > 0)
        fprintf(stderr, "[Warning] One or more build-args [%s] were not consumed\n", list.text);
}
