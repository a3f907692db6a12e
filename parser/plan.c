/* SPDX-License-Identifier: Apache-2.0 */
/* The build plan as BuildKit's dockerfile2llb sets it up: meta ARGs before the first FROM
 * (with --build-arg overrides), stages with their bases expanded from those args, stage
 * references (FROM, COPY --from, RUN --mount from=) resolved by name or index, the target,
 * and the stages it needs. */
#include "parser-internal.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../builder/common/cleanup.h"
#include "../builder/common/strv.h"
#include "../builder/common/xalloc.h"

/* Hash indexes, so that n stages and n meta ARGs plan in linear time. */
struct plan_index {
    struct envmap meta;  /* the meta args; p->meta_args is its vector */
    struct envmap names; /* "name=index" of the named stages added so far */
};

static const char *
meta_lookup(void *ud, const char *name)
{
    return envmap_get(ud, name);
}

static void
set_meta(struct plan *p, const char *key, const char *value)
{
    envmap_set(&p->index->meta, key, value);
    p->meta_args = p->index->meta.v;
}

static int plan_fail(const struct plan *p, const struct instr *in, struct lade_error *err,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* BuildKit's defaultArgs: the platform args are visible to FROM without an ARG, with
 * --build-arg values overriding its own. The parser cannot know the platform, so only values
 * the caller passes in build_args are set. TARGETSTAGE is the target's name. */
static void
seed_automatic_args(struct plan *p, const char *target)
{
    static const char *const names[] = {"BUILDPLATFORM", "BUILDOS",        "BUILDARCH",
                                        "BUILDVARIANT",  "TARGETPLATFORM", "TARGETOS",
                                        "TARGETARCH",    "TARGETVARIANT"};
    const char *last_name = "";

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *v = strv_env_get(p->build_args, names[i]);
        if (v != NULL)
            set_meta(p, names[i], v);
    }
    for (size_t i = 0; i < p->df->n; i++)
        if (p->df->instrs[i].kind == INSTR_FROM)
            last_name = p->df->instrs[i].nargs >= 3 ? p->df->instrs[i].args[2] : "";
    cleanup_free char *stage = dup_lower(target && target[0] ? target : last_name);
    const char *given = strv_env_get(p->build_args, "TARGETSTAGE");
    set_meta(p, "TARGETSTAGE", given ? given : stage);
}

static int
plan_fail(const struct plan *p, const struct instr *in, struct lade_error *err, const char *fmt,
          ...)
{
    char msg[800];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return parse_error_at(err, p->df->filename, p->df->lines, p->df->nlines, in ? in->pos.line : 0,
                          in ? in->pos.col : 0, "%s", msg);
}

/* Expands word with the meta args only, as BuildKit expands FROM and its --platform. */
static int
expand_meta(const struct plan *p, const struct instr *in, const char *word, char **out,
            struct lade_error *err)
{
    struct shell_lex lx = {p->df->escape, 0, meta_lookup, &p->index->meta};

    if (shell_process(&lx, word, out, NULL, err) < 0) {
        dockerfile_error_at(p->df, &in->pos, err);
        return -1;
    }
    return 0;
}

/* Only "K=V" entries override; "K" alone (take it from the environment) is the caller's. */
static const char *
build_arg(char *const *build_args, const char *key)
{
    return strv_env_get(build_args, key);
}

static int
meta_arg(struct plan *p, const struct instr *in, struct lade_error *err)
{
    for (size_t i = 0; i < in->nargs; i++) {
        const char *word = in->args[i];
        const char *eq = strchr(word, '=');
        cleanup_free char *key = xstrndup(word, eq ? (size_t) (eq - word) : strlen(word));
        cleanup_free char *value = NULL;
        const char *given = build_arg(p->build_args, key);

        if (given != NULL)
            value = xstrdup(given);
        else if (eq != NULL && expand_meta(p, in, eq + 1, &value, err) < 0)
            return -1;
        if (value != NULL)
            set_meta(p, key, value);
        if (p->index->meta.bytes > EXPAND_MAX_ENV)
            return plan_fail(p, in, err, "the meta ARG values exceed %u MiB", EXPAND_MAX_ENV >> 20);
    }
    return 0;
}

/* The stage of that name among those added so far, or -1. Valid names have no '='
 * (validate.c); one in an unchecked file is not indexed and names no stage. */
static long
stage_by_name(const struct plan *p, const char *name)
{
    cleanup_free char *lower = dup_lower(name);
    const char *idx = strchr(lower, '=') ? NULL : envmap_get(&p->index->names, lower);

    return idx ? strtol(idx, NULL, 10) : -1;
}

static void
index_stage_name(struct plan *p, const struct stage *s)
{
    char idx[24];

    if (s->name == NULL || strchr(s->name, '=') != NULL)
        return;
    snprintf(idx, sizeof(idx), "%zu", s->index);
    envmap_set(&p->index->names, s->name, idx);
}

static int
add_stage(struct plan *p, const struct instr *from, struct lade_error *err)
{
    struct stage *s;

    if (from->nargs == 0)
        return plan_fail(p, from, err, "FROM requires either one or three arguments");
    p->stages = array_grow(p->stages, p->nstages, sizeof(*p->stages));
    s = &p->stages[p->nstages];
    memset(s, 0, sizeof(*s));
    s->index = p->nstages++;
    s->from = from;
    s->base_stage = -1;
    if (from->nargs >= 3) {
        s->name = dup_lower(from->args[2]);
        /* BuildKit's DuplicateStageName: a second stage of a name could not be told apart. */
        if (stage_by_name(p, s->name) >= 0)
            return plan_fail(p, from, err,
                             "duplicate stage name \"%s\", stage names should be unique", s->name);
    }
    if (expand_meta(p, from, from->args[0], &s->base, err) < 0)
        return -1;
    if (s->base[0] == '\0')
        return plan_fail(p, from, err, "base name (%s) should not be blank", from->args[0]);
    const char *platform = instr_flag_get(from, IFLAG_PLATFORM);
    if (platform != NULL && expand_meta(p, from, platform, &s->platform, err) < 0)
        return -1;
    /* only earlier stages count: a later name is an image name, as in BuildKit */
    s->base_stage = stage_by_name(p, s->base);
    index_stage_name(p, s);
    return 0;
}

/* seen[dep] is the index + 1 of the last stage that added dep, so a stage with many
 * references adds each once without scanning its list. */
static void
add_dep(struct stage *s, long dep, size_t *seen)
{
    if (seen[dep] == s->index + 1)
        return;
    seen[dep] = s->index + 1;
    s->deps = array_grow(s->deps, s->ndeps, sizeof(*s->deps));
    s->deps[s->ndeps++] = dep;
}

static bool
parse_index(const char *s, long *out)
{
    const char *d = s + (*s == '+' || *s == '-');
    char *end;

    if (!(*d >= '0' && *d <= '9'))
        return false;
    *out = strtol(s, &end, 10);
    return *end == '\0';
}

/* COPY --from / --mount from=: a stage number, a stage name, or else an image. */
static int
resolve_from(struct plan *p, struct stage *s, const struct instr *in, const char *ref, size_t *seen,
             struct lade_error *err)
{
    cleanup_free char *name = NULL;
    long idx;

    if (expand_meta(p, in, ref, &name, err) < 0)
        return -1;
    if (parse_index(name, &idx)) {
        if (idx < 0 || (size_t) idx >= p->nstages)
            return plan_fail(p, in, err, "invalid stage index %ld", idx);
        add_dep(s, idx, seen);
        return 0;
    }
    if ((idx = stage_by_name(p, name)) >= 0)
        add_dep(s, idx, seen);
    return 0;
}

/* The from= value of a --mount spec (CSV of key=value, keys case-insensitive). */
static char *
mount_from(const char *spec)
{
    char *found = NULL;

    for (const char *f = spec; *f;) {
        struct lade_buf field = LADE_BUF_INIT;
        bool quoted = false;
        for (; *f && (quoted || *f != ','); f++) {
            if (*f == '"') {
                if (quoted && f[1] == '"') {
                    lade_buf_appendc(&field, *++f);
                    continue;
                }
                quoted = !quoted;
                continue;
            }
            lade_buf_appendc(&field, *f);
        }
        if (*f == ',')
            f++;
        char *kv = lade_buf_steal(&field);
        char *eq = strchr(kv, '=');
        if (eq && (size_t) (eq - kv) == 4 && strncasecmp(kv, "from", 4) == 0) {
            free(found);
            found = xstrdup(eq + 1);
        }
        free(kv);
    }
    return found;
}

static int
collect_deps(struct plan *p, struct stage *s, size_t *seen, struct lade_error *err)
{
    if (s->base_stage >= 0)
        add_dep(s, s->base_stage, seen);
    for (size_t i = 0; i < s->ninstrs; i++) {
        const struct instr *in = s->instrs[i];
        if (in->kind == INSTR_COPY) {
            const char *from = instr_flag_get(in, IFLAG_FROM);
            if (from != NULL && from[0] != '\0' && resolve_from(p, s, in, from, seen, err) < 0)
                return -1;
        }
        if (in->kind != INSTR_RUN)
            continue;
        for (size_t f = 0; f < in->nflags; f++) {
            if (strncmp(in->flags[f], "--mount=", 8) != 0)
                continue;
            cleanup_free char *from = mount_from(in->flags[f] + 8);
            if (from != NULL && from[0] != '\0' && resolve_from(p, s, in, from, seen, err) < 0)
                return -1;
        }
    }
    return 0;
}

enum { WHITE, GREY, BLACK };

static int
cycle_error(const struct plan *p, size_t j, struct lade_error *err)
{
    const struct stage *t = &p->stages[j];

    if (t->name)
        return plan_fail(p, t->from, err, "circular dependency detected on stage: %s", t->name);
    return plan_fail(p, t->from, err, "circular dependency detected on stage: %zu", j);
}

/* A depth-first search with its own stack: a chain of 100,000 stages would overflow the C
 * stack of a recursive one. next[i] is the next dependency of i to visit. */
static int
check_cycles(const struct plan *p, struct lade_error *err)
{
    cleanup_free char *color = xcalloc(p->nstages, 1);
    cleanup_free size_t *stack = xcalloc(p->nstages, sizeof(*stack));
    cleanup_free size_t *next = xcalloc(p->nstages, sizeof(*next));

    for (size_t root = 0; root < p->nstages; root++) {
        size_t top = 0;
        if (color[root] != WHITE)
            continue;
        color[root] = GREY;
        stack[top++] = root;
        while (top > 0) {
            size_t i = stack[top - 1];
            if (next[i] == p->stages[i].ndeps) {
                color[i] = BLACK;
                top--;
                continue;
            }
            size_t j = (size_t) p->stages[i].deps[next[i]++];
            if (color[j] == GREY)
                return cycle_error(p, j, err);
            if (color[j] == WHITE) {
                color[j] = GREY;
                stack[top++] = j;
            }
        }
    }
    return 0;
}

static void
mark_needed(struct plan *p, size_t target)
{
    cleanup_free size_t *todo = xcalloc(p->nstages, sizeof(*todo));
    size_t n = 0;

    p->stages[target].needed = true;
    todo[n++] = target;
    while (n > 0) {
        const struct stage *s = &p->stages[todo[--n]];
        for (size_t d = 0; d < s->ndeps; d++) {
            struct stage *t = &p->stages[s->deps[d]];
            if (!t->needed) {
                t->needed = true;
                todo[n++] = t->index;
            }
        }
    }
}

static int
build_stages(struct plan *p, struct lade_error *err)
{
    const struct dockerfile *df = p->df;
    struct stage *cur = NULL;

    for (size_t i = 0; i < df->n; i++) {
        const struct instr *in = &df->instrs[i];
        if (in->kind == INSTR_FROM) {
            if (add_stage(p, in, err) < 0)
                return -1;
            cur = &p->stages[p->nstages - 1];
        } else if (cur == NULL) {
            if (in->kind != INSTR_ARG)
                return plan_fail(p, in, err, "no build stage in current context");
            if (meta_arg(p, in, err) < 0)
                return -1;
        } else {
            cur->instrs = array_grow(cur->instrs, cur->ninstrs, sizeof(*cur->instrs));
            cur->instrs[cur->ninstrs++] = in;
        }
    }
    if (p->nstages == 0)
        return plan_fail(p, NULL, err, "dockerfile contains no stages to build");
    cleanup_free size_t *seen = xcalloc(p->nstages, sizeof(*seen));
    for (size_t i = 0; i < p->nstages; i++)
        if (collect_deps(p, &p->stages[i], seen, err) < 0)
            return -1;
    return check_cycles(p, err);
}

int
plan_new(struct dockerfile *df, char *const *build_args, const char *target, struct plan **out,
         struct lade_error *err)
{
    struct plan *p = xcalloc(1, sizeof(*p));

    p->df = df;
    p->build_args = strv_dup(build_args);
    p->index = xcalloc(1, sizeof(*p->index));
    seed_automatic_args(p, target);
    if (build_stages(p, err) < 0) {
        plan_free(p);
        return -1;
    }
    p->target = p->nstages - 1;
    if (target != NULL && target[0] != '\0') {
        long t = stage_by_name(p, target);
        if (t < 0) {
            lade_error_set(err, LADE_ERR_USAGE, "target stage \"%s\" could not be found", target);
            plan_free(p);
            return -1;
        }
        p->target = (size_t) t;
    }
    mark_needed(p, p->target);
    *out = p;
    return 0;
}

void
plan_free(struct plan *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nstages; i++) {
        free(p->stages[i].name);
        free(p->stages[i].base);
        free(p->stages[i].platform);
        free(p->stages[i].instrs);
        free(p->stages[i].deps);
    }
    free(p->stages);
    envmap_release(&p->index->meta); /* p->meta_args */
    envmap_release(&p->index->names);
    free(p->index);
    strv_free(p->build_args);
    dockerfile_free(p->df);
    free(p);
}

long
plan_find_stage(const struct plan *p, const char *name_or_index)
{
    long idx;

    if (name_or_index == NULL)
        return -1;
    if (parse_index(name_or_index, &idx))
        return idx >= 0 && (size_t) idx < p->nstages ? idx : -1;
    return stage_by_name(p, name_or_index);
}

const char *
plan_meta_arg(const struct plan *p, const char *key)
{
    return envmap_get(&p->index->meta, key);
}

static json_t *
string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *
instr_to_json(const struct instr *in)
{
    json_t *o = json_object();

    json_object_set_new(o, "keyword", json_string(in->keyword));
    json_object_set_new(o, "line", json_integer(in->pos.line));
    json_object_set_new(o, "end_line", json_integer(in->end_line));
    json_object_set_new(o, "original", json_string(in->original));
    return o;
}

char *
plan_to_json(const struct plan *p)
{
    json_t *root = json_object(), *stages = json_array(), *meta = json_object();

    for (size_t i = 0; p->meta_args && p->meta_args[i]; i++) {
        const char *eq = strchr(p->meta_args[i], '=');
        cleanup_free char *k = xstrndup(p->meta_args[i], (size_t) (eq - p->meta_args[i]));
        json_object_set_new(meta, k, json_string(eq + 1));
    }
    for (size_t i = 0; i < p->nstages; i++) {
        const struct stage *s = &p->stages[i];
        json_t *o = json_object(), *deps = json_array(), *instrs = json_array();
        json_object_set_new(o, "index", json_integer((json_int_t) s->index));
        json_object_set_new(o, "name", string_or_null(s->name));
        json_object_set_new(o, "base", json_string(s->base));
        json_object_set_new(o, "base_stage",
                            s->base_stage >= 0 ? json_integer(s->base_stage) : json_null());
        json_object_set_new(o, "platform", string_or_null(s->platform));
        json_object_set_new(o, "needed", json_boolean(s->needed));
        json_object_set_new(o, "line", json_integer(s->from->pos.line));
        for (size_t d = 0; d < s->ndeps; d++)
            json_array_append_new(deps, json_integer(s->deps[d]));
        json_object_set_new(o, "deps", deps);
        for (size_t k = 0; k < s->ninstrs; k++)
            json_array_append_new(instrs, instr_to_json(s->instrs[k]));
        json_object_set_new(o, "instructions", instrs);
        json_array_append_new(stages, o);
    }
    json_object_set_new(root, "target", json_integer((json_int_t) p->target));
    json_object_set_new(root, "meta_args", meta);
    json_object_set_new(root, "stages", stages);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}
