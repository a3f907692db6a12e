/* SPDX-License-Identifier: Apache-2.0 */
/* The local build cache: keys (what goes in is written down in cache.h) and records. */
#include "cache.h"

#include <ctype.h>

#include "cache_transfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"

void
cache_key_init(struct build *b, struct stage_state *ss, const char *base_identity)
{
    struct sha256 *h = sha256_new();
    char buf[64];

    sha256_update(h, "lade-cache-v2\n", 14);
    sha256_update(h, base_identity, strlen(base_identity) + 1);
    int level = b->opts->compression_level;
    /* the default level adds nothing, so keys made before levels could be chosen still hit */
    int n = level == 0 || level == layer_default_level(b->opts->compression)
                ? snprintf(buf, sizeof(buf), "%lld/%d", (long long) b->clamp,
                           (int) b->opts->compression)
                : snprintf(buf, sizeof(buf), "%lld/%d/%d", (long long) b->clamp,
                           (int) b->opts->compression, level);
    sha256_update(h, buf, (size_t) n + 1);
    if (ss->platform.os[0] != '\0' && !oci_platform_is_host(&ss->platform)) {
        n = snprintf(buf, sizeof(buf), "%s/%s/%s", ss->platform.os, ss->platform.arch,
                     ss->platform.variant);
        sha256_update(h, buf, (size_t) n + 1); /* the host's keeps the keys it had */
    }
    sha256_final(h, ss->key);
    sha256_free(h);
    cache_explain_base(ss, base_identity, buf);
}

/* A key being made: the hash, and its fields as "tag=value" for the cache explanations. */
struct keyer {
    struct sha256 *h;
    char **fields;
};

/* Each field is its tag and its value, NUL-terminated, so no two commands hash alike; an
 * absent optional field is a tag alone ("chown" vs "chown=" for an empty value). */
static void
put(struct keyer *k, const char *tag, const char *value)
{
    sha256_update(k->h, tag, strlen(tag));
    if (value != NULL) {
        sha256_update(k->h, "=", 1);
        sha256_update(k->h, value, strlen(value));
    }
    sha256_update(k->h, "", 1);
    k->fields = strv_push_take(k->fields, value ? xasprintf("%s=%s", tag, value) : xstrdup(tag));
}

static void
put_int(struct keyer *h, const char *tag, long long v)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%lld", v);
    put(h, tag, buf);
}

/* Every option of a --mount after expansion (a secret by its id only: DESIGN.md). */
static void
put_mount(struct keyer *h, const struct run_mount *m)
{
    put(h, "mount", run_mount_type_name(m->type));
    put(h, "from", m->from);
    put(h, "source", m->source);
    put(h, "target", m->target);
    put(h, "id", m->id);
    put(h, "env", m->env);
    put_int(h, "readonly", m->readonly);
    put_int(h, "required", m->required);
    put_int(h, "sharing", m->sharing);
    put_int(h, "size", (long long) m->size);
    put_int(h, "mode", m->has_mode ? (long long) m->mode : -1);
    put_int(h, "uid", m->has_uid ? (long long) m->uid : -1);
    put_int(h, "gid", m->has_gid ? (long long) m->gid : -1);
}

static void
put_command(struct keyer *h, const struct command *cmd)
{
    const struct instr *in = cmd->in;
    const struct copy_cmd *c = &cmd->u.copy;
    const struct run_cmd *r = &cmd->u.run;
    const struct health_cmd *hc = &cmd->u.health;

    put(h, "kind", in->keyword);
    switch (in->kind) {
    case INSTR_COPY:
    case INSTR_ADD:
        for (size_t i = 0; i < c->nsrcs; i++)
            put(h, "src", c->srcs[i]);
        put(h, "dest", c->dest);
        put(h, "from", c->from);
        put(h, "chown", c->chown);
        put(h, "chmod", c->chmod);
        put_int(h, "link", c->link);
        put_int(h, "parents", c->parents);
        put_int(h, "unpack", c->unpack);
        for (size_t i = 0; c->excludes && c->excludes[i]; i++)
            put(h, "exclude", c->excludes[i]);
        for (size_t i = 0; i < c->ndocs; i++) {
            put(h, "doc", c->docs[i].name);
            put(h, "data", c->docs[i].data);
        }
        if (c->checksum != NULL) /* only when given: older keys stay valid */
            put(h, "checksum", c->checksum);
        if (c->keep_git_dir >= 0)
            put_int(h, "keep-git-dir", c->keep_git_dir);
        return;
    case INSTR_RUN:
        for (size_t i = 0; i < r->nmounts; i++)
            put_mount(h, &r->mounts[i]);
        put_int(h, "network", r->network);
        put(h, "security", r->security);
        return;
    case INSTR_WORKDIR:
        put(h, "path", cmd->u.path);
        return;
    case INSTR_HEALTHCHECK:
        put_int(h, "interval", hc->interval);
        put_int(h, "timeout", hc->timeout);
        put_int(h, "start-period", hc->start_period);
        put_int(h, "start-interval", hc->start_interval);
        put_int(h, "retries", hc->retries);
        break; /* and its command, in the text */
    default:
        break;
    }
    put(h, "text", in->original);
}

/* "COPY src/ lib/": what a reason about a COPY's files names. Caller frees. */
static char *
step_what(const struct command *cmd)
{
    const struct copy_cmd *c = &cmd->u.copy;
    struct lade_buf b = LADE_BUF_INIT;

    for (const char *k = cmd->in->keyword; *k; k++)
        lade_buf_appendc(&b, (char) toupper((unsigned char) *k));
    if (cmd->in->kind == INSTR_COPY || cmd->in->kind == INSTR_ADD)
        for (size_t i = 0; i < c->nsrcs; i++)
            lade_buf_appendf(&b, " %s", c->srcs[i]);
    return lade_buf_steal(&b);
}

void
cache_key_step(struct stage_state *ss, const struct command *cmd, char *const *view)
{
    struct keyer k = {.h = sha256_new()};
    cleanup_free char *what = step_what(cmd);
    digest_t parent;

    memcpy(parent, ss->key, sizeof(parent));
    sha256_update(k.h, ss->key, strlen(ss->key) + 1);
    put_command(&k, cmd);
    char **fields = k.fields;
    k.fields = NULL;
    for (size_t i = 0; view && view[i]; i++)
        put(&k, "view", view[i]);
    sha256_final(k.h, ss->key);
    sha256_free(k.h);
    strv_free(k.fields); /* the view's are kept as the view itself */
    cache_explain_inputs(ss, parent, what, fields, view);
    strv_free(fields);
}

static char *
record_name(const struct stage_state *ss)
{
    return xasprintf("cache/%s", digest_hex(ss->key));
}

bool
cache_lookup(struct build *b, const struct stage_state *ss, struct layer_state *l)
{
    cleanup_free char *name = record_name(ss), *text = NULL;
    struct lade_error miss = {0}; /* no record is a miss, not an error */
    json_error_t jerr;
    size_t len = 0;

    bool hit = false;

    memset(l, 0, sizeof(*l));
    if (b->opts->no_cache)
        return false;
    if (read_file_at(store_root_fd(b->st), name, 1 << 16, &text, &len, &miss) < 0)
        goto imported;
    json_t *rec = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *layer = json_object_get(rec, "layer");
    if (rec == NULL || layer == NULL) {
        json_decref(rec);
        goto imported; /* a damaged record is a miss */
    }
    if (json_is_null(layer)) {
        json_decref(rec);
        hit = true;
        goto out;
    }
    const char *diff_id = json_string_value(json_object_get(layer, "diff_id"));
    const char *digest = json_string_value(json_object_get(layer, "digest"));
    const char *mt = json_string_value(json_object_get(layer, "mediaType"));
    json_int_t size = json_integer_value(json_object_get(layer, "size"));
    if (digest_valid(diff_id) && digest_valid(digest) && mt != NULL &&
        store_blob_exists(b->st, digest)) {
        snprintf(l->diff_id, sizeof(l->diff_id), "%s", diff_id);
        snprintf(l->blob.digest, sizeof(l->blob.digest), "%s", digest);
        snprintf(l->blob.media_type, sizeof(l->blob.media_type), "%s", mt);
        l->blob.size = size;
        hit = true;
    }
    json_decref(rec);
out:
    /* the record's mtime is its last use, for prune --filter until and --keep-storage */
    if (hit)
        utimensat(store_root_fd(b->st), name, NULL, 0);
imported:
    /* --cache-from records come after the local ones (cache_transfer.h) */
    if (!hit)
        hit = cache_import_lookup(b, ss->key, l);
    if (hit)
        cache_transfer_note(b, ss, l);
    return hit;
}

int
cache_record(struct build *b, const struct stage_state *ss, const struct layer_state *l,
             struct lade_error *err)
{
    if (b->opts->no_cache_record)
        return 0;
    cleanup_free char *name = record_name(ss);
    json_t *rec = json_object();

    if (l == NULL)
        json_object_set_new(rec, "layer", json_null());
    else
        json_object_set_new(rec, "layer",
                            json_pack("{s:s, s:s, s:s, s:I}", "diff_id", l->diff_id, "digest",
                                      l->blob.digest, "mediaType", l->blob.media_type, "size",
                                      (json_int_t) l->blob.size));
    char *text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(rec);
    cache_transfer_note(b, ss, l);
    int rc = store_write_atomic(b->st, store_root_fd(b->st), name, text, strlen(text), err);
    free(text);
    if (rc == 0)
        cache_explain_record(b, ss);
    return rc;
}
