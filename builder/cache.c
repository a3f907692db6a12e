/* SPDX-License-Identifier: Apache-2.0 */
/* The local build cache (DESIGN.md "Build cache"): ROOT/cache/HEX(key) records the layer a
 * filesystem step produced, or that it produced none. Keys chain: a step's key hashes its
 * parent's key, the instruction as written and what the step can see (environment, user, working
 * directory, shell, the content of COPY sources; never mtimes). Metadata instructions only chain
 * their text: they are cheap to replay and their effect reaches later steps through the config. */
#include "build-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

void
cache_key_init(struct build *b, struct stage_state *ss, const char *base_identity)
{
    struct sha256 *h = sha256_new();
    char buf[64];

    sha256_update(h, "lade-cache-v1\n", 14);
    sha256_update(h, base_identity, strlen(base_identity) + 1);
    /* The layer bytes depend on the clamp and the compression. */
    int n = snprintf(buf, sizeof(buf), "%lld/%d", (long long) b->clamp, (int) b->opts->compression);
    sha256_update(h, buf, (size_t) n + 1);
    sha256_final(h, ss->key);
    sha256_free(h);
}

void
cache_key_step(struct stage_state *ss, const char *text, char *const *extra)
{
    struct sha256 *h = sha256_new();

    sha256_update(h, ss->key, strlen(ss->key) + 1);
    sha256_update(h, text, strlen(text) + 1);
    for (size_t i = 0; extra && extra[i]; i++)
        sha256_update(h, extra[i], strlen(extra[i]) + 1);
    sha256_final(h, ss->key);
    sha256_free(h);
}

static char *
record_name(const struct stage_state *ss)
{
    return xasprintf("cache/%s", digest_hex(ss->key));
}

int
cache_try(struct build *b, struct stage_state *ss, const char *created_by, bool *hit,
          struct lade_error *err)
{
    cleanup_free char *name = record_name(ss), *text = NULL;
    struct lade_error lerr = {0};
    json_error_t jerr;
    size_t len = 0;

    *hit = false;
    if (b->opts->no_cache ||
        read_file_at(store_root_fd(b->st), name, 1 << 16, &text, &len, &lerr) < 0)
        return 0;
    json_t *rec = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *layer = json_object_get(rec, "layer");
    if (rec == NULL || layer == NULL) {
        json_decref(rec);
        return 0; /* a damaged record is a miss */
    }
    if (json_is_null(layer)) {
        stage_add_history(b, ss, created_by, true);
        json_decref(rec);
        *hit = true;
        return 0;
    }
    const char *diff_id = json_string_value(json_object_get(layer, "diff_id"));
    const char *digest = json_string_value(json_object_get(layer, "digest"));
    const char *mt = json_string_value(json_object_get(layer, "mediaType"));
    json_int_t size = json_integer_value(json_object_get(layer, "size"));
    if (!digest_valid(diff_id) || !digest_valid(digest) || mt == NULL ||
        !store_blob_exists(b->st, digest)) {
        json_decref(rec);
        return 0;
    }
    struct layer_state l = {0};
    chain_id_next(ss->nlayers ? ss->layers[ss->nlayers - 1].chain_id : NULL, diff_id, l.chain_id);
    snprintf(l.diff_id, sizeof(l.diff_id), "%s", diff_id);
    snprintf(l.blob.digest, sizeof(l.blob.digest), "%s", digest);
    snprintf(l.blob.media_type, sizeof(l.blob.media_type), "%s", mt);
    l.blob.size = size;
    json_decref(rec);
    if (store_layer_dir(b->st, l.chain_id, l.diff_id, l.blob.digest, &l.dir, err) < 0)
        return -1;
    ss->layers = xrealloc(ss->layers, (ss->nlayers + 1) * sizeof(*ss->layers));
    ss->layers[ss->nlayers++] = l;
    oci_config_add_layer(ss->config, l.diff_id);
    stage_add_history(b, ss, created_by, false);
    *hit = true;
    return 0;
}

int
cache_record(struct build *b, const struct stage_state *ss, const struct layer_state *l,
             struct lade_error *err)
{
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
    int rc = write_file_atomic_at(store_root_fd(b->st), name, text, strlen(text), 0644, err);
    free(text);
    return rc;
}
