/* SPDX-License-Identifier: Apache-2.0 */
/* --cache-to: the records this build used or made, as the cache artifact (cache_transfer.h),
 * pushed to a registry or written to an OCI layout directory. mode=min keeps the records of the
 * stages whose layers are the image's (BuildKit: "only layers for the resulting image"). */
#include "cache_transfer.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"

json_t *
cache_recs_to_json(const struct cache_rec *recs, size_t n)
{
    json_t *arr = json_array();

    for (size_t i = 0; i < n; i++) {
        const struct cache_rec *r = &recs[i];
        json_t *layer = json_null();
        if (r->has_layer) {
            layer = oci_desc_json(&r->blob);
            json_object_set_new(layer, "diff_id", json_string(r->diff_id));
        }
        json_array_append_new(arr, json_pack("{s:s, s:o}", "key", r->key, "layer", layer));
    }
    return json_pack("{s:o}", "records", arr);
}

/* The target stage and the stages it is built FROM: their layers are the image's. */
static bool *
image_stages(const struct build *b)
{
    bool *in = xcalloc(b->plan->nstages + 1, sizeof(*in));

    for (long i = (long) b->plan->target; i >= 0 && !in[i]; i = b->plan->stages[i].base_stage)
        in[i] = true;
    return in;
}

/* The blobs must be in the store to be copied or pushed, except those a registry export finds
 * at its destination already: the source it was imported from (push checks with a HEAD). */
static int
blobs_ready(struct build *b, const struct cache_spec *s, const struct cache_rec *recs, size_t n,
            struct lade_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!recs[i].has_layer || store_blob_exists(b->st, recs[i].blob.digest))
            continue;
        if (s->type == CACHE_SPEC_REGISTRY && cache_import_same_repo(b, &recs[i].blob, s->ref))
            continue;
        if (cache_import_fetch(b, &recs[i].blob, err) < 0)
            return -1;
    }
    return 0;
}

/* Stores the config and the manifest of the artifact; *mdesc describes the manifest. */
static int
artifact_write(struct build *b, const struct cache_rec *recs, size_t n, struct oci_desc *mdesc,
               struct lade_error *err)
{
    cleanup_free struct oci_desc *layers = xcalloc(n + 1, sizeof(*layers));
    struct oci_desc cdesc = {.media_type = MT_LADE_CACHE};
    cleanup_free char *cbytes = NULL, *mbytes = NULL;
    size_t nl = 0, clen = 0, mlen = 0;

    json_t *cfg = cache_recs_to_json(recs, n);
    cbytes = oci_json_dump(cfg, &clen);
    json_decref(cfg);
    if (store_blob_put(b->st, cbytes, clen, cdesc.digest, err) < 0)
        return -1;
    cdesc.size = (int64_t) clen;
    for (size_t i = 0; i < n; i++) {
        bool seen = !recs[i].has_layer;
        for (size_t k = 0; k < nl && !seen; k++)
            seen = strcmp(layers[k].digest, recs[i].blob.digest) == 0;
        if (!seen)
            layers[nl++] = recs[i].blob;
    }
    json_t *m = oci_manifest_new(&cdesc, layers, nl);
    json_object_set_new(m, "artifactType", json_string(MT_LADE_CACHE));
    mbytes = oci_json_dump(m, &mlen);
    json_decref(m);
    memset(mdesc, 0, sizeof(*mdesc));
    snprintf(mdesc->media_type, sizeof(mdesc->media_type), "%s", MT_OCI_MANIFEST);
    mdesc->size = (int64_t) mlen;
    return store_blob_put(b->st, mbytes, mlen, mdesc->digest, err);
}

static int
push_artifact(struct build *b, const struct cache_spec *s, const struct oci_desc *mdesc,
              struct lade_error *err)
{
    if (b->opts->reg == NULL)
        return lade_error_set(err, LADE_ERR_USAGE, "no registry access in this build");
    return transfer_push(b->st, mdesc, s->ref, b->opts->reg, &b->progress, err);
}

static int
export_one(struct build *b, const struct cache_spec *s, const struct cache_rec *recs, size_t n,
           struct lade_error *err)
{
    struct oci_desc mdesc;

    if (blobs_ready(b, s, recs, n, err) < 0 || artifact_write(b, recs, n, &mdesc, err) < 0)
        return -1;
    if (s->type == CACHE_SPEC_LOCAL)
        return cache_layout_save(b->st, s->dir, s->tag, &mdesc, err);
    return push_artifact(b, s, &mdesc, err);
}

int
cache_export(struct build *b, struct lade_error *err)
{
    const struct cache_specs *to = &b->opts->cache_to;
    cleanup_free struct cache_rec *noted = NULL, *recs = NULL;
    cleanup_free bool *in_image = NULL;
    size_t nnoted = 0;

    if (to->n == 0 || b->shared->xfer == NULL)
        return 0;
    noted = cache_transfer_noted(b, &nnoted);
    in_image = image_stages(b);
    recs = xcalloc(nnoted + 1, sizeof(*recs));
    for (size_t i = 0; i < to->n; i++) {
        const struct cache_spec *s = &to->v[i];
        const char *where = s->type == CACHE_SPEC_LOCAL ? s->dir : s->ref;
        struct lade_error e = {0};
        size_t n = 0;

        for (size_t k = 0; k < nnoted; k++)
            if (s->mode == CACHE_MODE_MAX ||
                (noted[k].where < b->plan->nstages && in_image[noted[k].where]))
                recs[n++] = noted[k];
        cache_recs_sort_unique(recs, &n);
        progress_note(&b->progress, "exporting cache to %s (mode=%s, %zu records)", where,
                      s->mode == CACHE_MODE_MAX ? "max" : "min", n);
        if (export_one(b, s, recs, n, &e) == 0) {
            progress_done(&b->progress);
            continue;
        }
        if (!s->ignore_error) {
            progress_error(&b->progress, e.msg);
            *err = e;
            return lade_error_prefix(err, "cache export to %s", where);
        }
        cleanup_free char *w =
            xasprintf("WARNING: cache export to %s failed (ignore-error=true): %s", where, e.msg);
        progress_output_line(&b->progress, w, strlen(w));
        progress_done(&b->progress);
    }
    return 0;
}
