/* SPDX-License-Identifier: Apache-2.0 */
/* What the cache explanations keep (cache_explain.h): the named inputs of the keys a stage
 * makes, in memory; beside a record written on a miss, its inputs (ROOT/cache/.explain/HEX);
 * for a stage that missed, the keys its steps had (ROOT/cache/.last/HEX of its identity).
 * Both live in dot-directories, which lade prune's walk of records skips; prune removes a
 * record's inputs with it. Nothing here fails a build: a file that cannot be read or written
 * gives a vaguer reason next time. */
#include "cache.h"
#include "cache_explain.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

struct cache_explain {
    json_t *base;   /* {"base": identity, "build": clamp and compression} */
    json_t *inputs; /* of the key the stage has now */
    json_t *files;  /* a COPY's listing, for the next key; NULL when none */
    size_t nfiles;
    json_t *keys; /* the keys the stage looked up in this build, in order */
    json_t *last; /* the last build's {"base", "keys"}, once read; NULL when none */
    bool loaded, missed;
    bool recorded; /* the last key looked up has a record (a miss that failed has none) */
};

static struct cache_explain *
explain_of(struct stage_state *ss)
{
    if (ss->explain == NULL) {
        ss->explain = xcalloc(1, sizeof(*ss->explain));
        ss->explain->keys = json_array();
    }
    return ss->explain;
}

void
cache_explain_free(struct cache_explain *x)
{
    if (x == NULL)
        return;
    json_decref(x->base);
    json_decref(x->inputs);
    json_decref(x->files);
    json_decref(x->keys);
    json_decref(x->last);
    free(x);
}

void
cache_explain_base(struct stage_state *ss, const char *identity, const char *build)
{
    struct cache_explain *x = explain_of(ss);

    if (x->base == NULL) /* later inits (COPY --link's own key) are not the stage's base */
        x->base = json_pack("{s:s, s:s}", "base", identity, "build", build);
}

void
cache_explain_copy_entry(void *ctx, const char *rel, const char *meta, const char *extra)
{
    struct cache_explain *x = explain_of(ctx);
    digest_t d;

    if (++x->nfiles > CACHE_EXPLAIN_MAX_FILES) { /* past the bound: the number alone */
        json_decref(x->files);
        x->files = NULL;
        return;
    }
    if (x->files == NULL)
        x->files = json_object();
    struct sha256 *h = sha256_new();
    sha256_update(h, meta, strlen(meta) + 1);
    sha256_update(h, extra, strlen(extra) + 1);
    sha256_final(h, d);
    sha256_free(h);
    json_object_set_new(x->files, rel, json_stringn(digest_hex(d), 16));
}

void
cache_explain_inputs(struct stage_state *ss, const char *parent, const char *what, char **cmd,
                     char *const *view)
{
    struct cache_explain *x = explain_of(ss);
    json_t *in = json_pack("{s:s, s:s}", "parent", parent, "what", what);
    json_t *c = json_array(), *v = json_array();

    for (size_t i = 0; cmd && cmd[i]; i++)
        json_array_append_new(c, json_string(cmd[i]));
    for (size_t i = 0; view && view[i]; i++)
        json_array_append_new(v, json_string(view[i]));
    json_object_set_new(in, "cmd", c);
    json_object_set_new(in, "view", v);
    if (x->files != NULL)
        json_object_set_new(in, "files", x->files);
    if (x->nfiles > 0)
        json_object_set_new(in, "nfiles", json_integer((json_int_t) x->nfiles));
    x->files = NULL;
    x->nfiles = 0;
    json_decref(x->inputs);
    x->inputs = in;
}

/* The stage's identity: the context, the Dockerfile and the stage. Caller frees. */
static char *
stage_identity(const struct build *b, const struct stage_state *ss)
{
    char ctx[PATH_MAX], df[PATH_MAX];
    const struct build_opts *o = b->opts;

    if (realpath(o->context, ctx) == NULL)
        snprintf(ctx, sizeof(ctx), "%s", o->context);
    if (o->dockerfile_text != NULL || o->dockerfile == NULL || realpath(o->dockerfile, df) == NULL)
        snprintf(df, sizeof(df), "%s", b->plan->df->filename);
    if (ss->stage->name != NULL)
        return xasprintf("context=%s\nfile=%s\nstage=%s", ctx, df, ss->stage->name);
    return xasprintf("context=%s\nfile=%s\nstage=%zu", ctx, df, ss->stage->index);
}

static char *
last_path(const struct build *b, const struct stage_state *ss)
{
    cleanup_free char *id = stage_identity(b, ss);
    struct sha256 *h = sha256_new();
    digest_t d;

    sha256_update(h, id, strlen(id));
    sha256_final(h, d);
    sha256_free(h);
    return xasprintf("cache/.last/%s", digest_hex(d));
}

static json_t *
load_json(struct build *b, const char *path)
{
    cleanup_free char *text = NULL;
    struct lade_error ignored = {0}; /* a missing or damaged file only makes a vaguer reason */
    size_t len = 0;

    if (read_file_at(store_root_fd(b->st), path, 64u << 20, &text, &len, &ignored) < 0)
        return NULL;
    return json_loadb(text, len, 0, NULL);
}

static void
save_json(struct build *b, const char *dir, const char *name, const json_t *j)
{
    struct lade_error ignored = {0}; /* the build goes on without it */
    cleanup_free char *path = xasprintf("%s/%s", dir, name);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

    if (text != NULL && mkdir_p_at(store_root_fd(b->st), dir, 0755, &ignored) == 0)
        store_write_atomic(b->st, store_root_fd(b->st), path, text, strlen(text), &ignored);
    free(text);
}

static char *
reason(struct build *b, struct stage_state *ss, struct cache_explain *x, bool earlier_miss)
{
    if (b->opts->no_cache)
        return xstrdup("--no-cache");
    if (!x->loaded) {
        cleanup_free char *path = last_path(b, ss);
        x->last = load_json(b, path);
        x->loaded = true;
    }
    if (x->last == NULL)
        return xstrdup("no previous build");
    size_t k = json_array_size(x->keys) - 1;
    const char *prev = json_string_value(json_array_get(json_object_get(x->last, "keys"), k));
    if (prev == NULL)
        return xstrdup(json_is_true(json_object_get(x->last, "failed"))
                           ? "the last build failed before this step"
                           : "a step the last build did not have");
    if (strcmp(prev, ss->key) == 0)
        return xstrdup("same inputs as the last build, whose cache record is gone");
    if (x->inputs == NULL) /* a key made of the base alone: a --build-context directory */
        return xstrdup("the context's content changed");
    cleanup_free char *path = xasprintf("cache/.explain/%s", digest_hex(prev));
    json_auto_t *inputs = load_json(b, path);
    if (inputs == NULL)
        return xstrdup("the last build's record of this step is gone");
    return cache_explain_diff(inputs, x->inputs, json_object_get(x->last, "base"), x->base,
                              earlier_miss, &ss->arg_names);
}

char *
cache_explain_lookup(struct build *b, struct stage_state *ss, bool hit)
{
    struct cache_explain *x = explain_of(ss);
    bool earlier_miss = x->missed;

    json_array_append_new(x->keys, json_string(ss->key));
    x->recorded = hit;
    if (hit)
        return NULL;
    x->missed = true;
    return reason(b, ss, x, earlier_miss);
}

void
cache_explain_record(struct build *b, const struct stage_state *ss)
{
    struct cache_explain *x = ss->explain;

    if (x != NULL && x->inputs != NULL)
        save_json(b, "cache/.explain", digest_hex(ss->key), x->inputs);
    if (x != NULL)
        x->recorded = true;
}

void
cache_explain_stage_end(struct build *b, struct stage_state *ss, bool failed)
{
    struct cache_explain *x = ss->explain;

    if (x == NULL || !x->missed || b->opts->no_cache_record)
        return; /* a fully cached stage writes nothing, nor a build that records nothing */
    size_t n = json_array_size(x->keys);
    if (failed && n > 0 && !x->recorded) /* the failed step's key has no record */
        json_array_remove(x->keys, n - 1);
    cleanup_free char *path = last_path(b, ss), *id = stage_identity(b, ss);
    json_auto_t *last = json_pack("{s:s, s:O, s:O, s:b}", "stage", id, "keys", x->keys, "base",
                                  x->base ? x->base : json_null(), "failed", failed);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    save_json(b, path, slash + 1, last);
}
