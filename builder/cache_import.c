/* SPDX-License-Identifier: Apache-2.0 */
/* --cache-from: the records of each source, looked up after the local store, and the blobs
 * fetched from the source only when a step or the image needs them (cache_transfer.h). */
#include "cache_transfer.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"

struct cache_source {
    const struct cache_spec *spec;
    struct image_ref ref; /* type=registry */
};

struct cache_transfer {
    pthread_mutex_t mu; /* guards noted */
    struct cache_source *src;
    size_t nsrc;
    struct cache_rec *imported; /* sorted by key, read only once started */
    size_t nimported;
    struct cache_rec *noted;
    size_t nnoted;
};

static int
rec_cmp(const void *a, const void *b)
{
    return strcmp(((const struct cache_rec *) a)->key, ((const struct cache_rec *) b)->key);
}

/* By key, then by where: the first source's record of a key comes first. */
static int
rec_cmp_where(const void *a, const void *b)
{
    const struct cache_rec *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    return c != 0 ? c : (x->where > y->where) - (x->where < y->where);
}

void
cache_recs_sort_unique(struct cache_rec *v, size_t *n)
{
    size_t k = 0;

    if (*n == 0)
        return;
    qsort(v, *n, sizeof(*v), rec_cmp_where);
    for (size_t i = 1; i < *n; i++)
        if (strcmp(v[i].key, v[k].key) != 0)
            v[++k] = v[i];
    *n = k + 1;
}

static int
rec_from_json(const json_t *r, struct cache_rec *out, struct lade_error *err)
{
    const char *key = json_string_value(json_object_get(r, "key"));
    const json_t *layer = json_object_get(r, "layer");

    memset(out, 0, sizeof(*out));
    if (key == NULL || !digest_valid(key) || layer == NULL)
        return lade_error_set(err, LADE_ERR_OTHER, "a record without a valid key or layer");
    snprintf(out->key, sizeof(out->key), "%s", key);
    if (json_is_null(layer))
        return 0;
    const char *diff_id = json_string_value(json_object_get(layer, "diff_id"));
    if (diff_id == NULL || !digest_valid(diff_id))
        return lade_error_set(err, LADE_ERR_OTHER, "record %s: no valid diff_id", key);
    if (oci_desc_parse(layer, "record layer", &out->blob, err) < 0)
        return -1;
    snprintf(out->diff_id, sizeof(out->diff_id), "%s", diff_id);
    out->has_layer = true;
    return 0;
}

int
cache_recs_from_json(const json_t *root, struct cache_rec **recs, size_t *n, struct lade_error *err)
{
    const json_t *arr = json_object_get(root, "records");
    size_t i;
    const json_t *r;

    if (!json_is_array(arr))
        return lade_error_set(err, LADE_ERR_OTHER, "no \"records\" array");
    struct cache_rec *v = xcalloc(json_array_size(arr) + 1, sizeof(*v));
    json_array_foreach(arr, i, r)
    {
        if (rec_from_json(r, &v[i], err) < 0) {
            free(v);
            return -1;
        }
    }
    *recs = v;
    *n = json_array_size(arr);
    return 0;
}

static bool
manifest_has_layer(const struct oci_manifest *m, const char *digest)
{
    for (size_t i = 0; i < m->nlayers; i++)
        if (strcmp(m->layers[i].digest, digest) == 0)
            return true;
    return false;
}

/* Reads the stored artifact and adds its records (those whose blob it carries) to x. */
static int
add_records(struct build *b, struct cache_transfer *x, const struct oci_desc *mdesc, size_t where,
            struct lade_error *err)
{
    cleanup_free char *mdata = NULL, *cdata = NULL;
    cleanup_free struct cache_rec *recs = NULL;
    struct oci_manifest man = {0};
    json_auto_t *cfg = NULL;
    size_t mlen = 0, clen = 0, n = 0;
    int rc = -1;

    if (store_blob_read(b->st, mdesc->digest, 4u << 20, &mdata, &mlen, err) < 0 ||
        oci_manifest_parse(mdata, mlen, &man, err) < 0)
        return -1;
    if (strcmp(man.config.media_type, MT_LADE_CACHE) != 0) {
        lade_error_set(err, LADE_ERR_OTHER, "not a lade cache (its config is a %.100s)",
                       man.config.media_type);
        goto out;
    }
    if (store_blob_read(b->st, man.config.digest, 64u << 20, &cdata, &clen, err) < 0 ||
        (cfg = oci_json_parse(cdata, clen, "cache records", err)) == NULL ||
        cache_recs_from_json(cfg, &recs, &n, err) < 0)
        goto out;
    x->imported = xrealloc(x->imported, (x->nimported + n + 1) * sizeof(*x->imported));
    for (size_t i = 0; i < n; i++) {
        if (recs[i].has_layer && !manifest_has_layer(&man, recs[i].blob.digest))
            continue; /* a blob this source cannot give */
        recs[i].where = where;
        x->imported[x->nimported++] = recs[i];
    }
    rc = 0;
out:
    oci_manifest_release(&man);
    return rc;
}

static int
import_source(struct build *b, struct cache_transfer *x, size_t i, struct lade_error *err)
{
    struct cache_source *s = &x->src[i];
    struct oci_desc mdesc;

    if (s->spec->type == CACHE_SPEC_LOCAL) {
        if (cache_layout_load(b->st, s->spec->dir, s->spec->tag, &mdesc, err) < 0)
            return -1;
    } else {
        if (b->opts->reg == NULL)
            return lade_error_set(err, LADE_ERR_USAGE, "no registry access in this build");
        if (image_ref_parse(s->spec->ref, &s->ref, err) < 0 ||
            registry_artifact_pull(b->st, &s->ref, MT_LADE_CACHE, b->opts->reg, &mdesc, err) < 0)
            return -1;
    }
    return add_records(b, x, &mdesc, i, err);
}

int
cache_transfer_start(struct build *b, struct lade_error *err)
{
    const struct build_opts *o = b->opts;
    struct cache_transfer *x;

    (void) err; /* an import failure is a warning */
    if (o->cache_from.n == 0 && o->cache_to.n == 0)
        return 0;
    x = xcalloc(1, sizeof(*x));
    pthread_mutex_init(&x->mu, NULL);
    b->shared->xfer = x;
    x->src = xcalloc(o->cache_from.n + 1, sizeof(*x->src));
    x->nsrc = o->cache_from.n;
    for (size_t i = 0; i < x->nsrc; i++) {
        const struct cache_spec *s = &o->cache_from.v[i];
        struct lade_error e = {0};
        x->src[i].spec = s;
        if (o->no_cache) /* BuildKit: --no-cache leaves the imports unused */
            continue;
        progress_note(&b->progress, "importing cache manifest from %s",
                      s->type == CACHE_SPEC_LOCAL ? s->dir : s->ref);
        if (import_source(b, x, i, &e) < 0) {
            cleanup_free char *w = xasprintf("WARNING: cache import from %s failed: %s",
                                             s->type == CACHE_SPEC_LOCAL ? s->dir : s->ref, e.msg);
            progress_output_line(&b->progress, w, strlen(w));
        }
        progress_done(&b->progress);
    }
    cache_recs_sort_unique(x->imported, &x->nimported);
    return 0;
}

void
cache_transfer_free(struct cache_transfer *x)
{
    if (x == NULL)
        return;
    for (size_t i = 0; i < x->nsrc; i++)
        image_ref_release(&x->src[i].ref);
    free(x->src);
    free(x->imported);
    free(x->noted);
    pthread_mutex_destroy(&x->mu);
    free(x);
}

bool
cache_import_lookup(struct build *b, const char *key, struct layer_state *l)
{
    struct cache_transfer *x = b->shared->xfer;
    struct cache_rec want;

    if (x == NULL || x->nimported == 0)
        return false;
    snprintf(want.key, sizeof(want.key), "%s", key);
    const struct cache_rec *r = bsearch(&want, x->imported, x->nimported, sizeof(want), rec_cmp);
    if (r == NULL)
        return false;
    memset(l, 0, sizeof(*l));
    if (r->has_layer) {
        memcpy(l->diff_id, r->diff_id, sizeof(l->diff_id));
        l->blob = r->blob;
    }
    return true;
}

/* The imported record that lists blob (its source: x->src[r->where]), or NULL. */
static const struct cache_rec *
record_of_blob(const struct cache_transfer *x, const char *digest)
{
    for (size_t i = 0; x != NULL && i < x->nimported; i++)
        if (x->imported[i].has_layer && strcmp(x->imported[i].blob.digest, digest) == 0)
            return &x->imported[i];
    return NULL;
}

int
cache_import_fetch(struct build *b, const struct oci_desc *blob, struct lade_error *err)
{
    struct cache_transfer *x = b->shared->xfer;
    const struct cache_rec *r;
    int rc;

    if (store_blob_exists(b->st, blob->digest))
        return 0;
    if ((r = record_of_blob(x, blob->digest)) == NULL)
        return lade_error_set(err, LADE_ERR_IO,
                              "layer blob %s is neither in the store nor in a cache", blob->digest);
    const struct cache_spec *s = x->src[r->where].spec;
    if (s->type == CACHE_SPEC_LOCAL)
        rc = cache_layout_blob_in(b->st, s->dir, &r->blob, err);
    else
        rc = registry_blobs_fetch(b->st, &x->src[r->where].ref, &r->blob, 1, b->opts->reg, err);
    if (rc < 0)
        return lade_error_prefix(err, "cannot fetch a cached layer from %s",
                                 s->type == CACHE_SPEC_LOCAL ? s->dir : s->ref);
    return 0;
}

bool
cache_import_same_repo(struct build *b, const struct oci_desc *blob, const char *ref)
{
    const struct cache_transfer *x = b->shared->xfer;
    const struct cache_rec *r = record_of_blob(x, blob->digest);
    struct image_ref dest;
    bool same;

    if (r == NULL || x->src[r->where].spec->type != CACHE_SPEC_REGISTRY ||
        image_ref_parse(ref, &dest, NULL) < 0)
        return false;
    const struct image_ref *from = &x->src[r->where].ref;
    same = strcmp(from->domain, dest.domain) == 0 && strcmp(from->path, dest.path) == 0;
    image_ref_release(&dest);
    return same;
}

void
cache_transfer_note(struct build *b, const struct stage_state *ss, const struct layer_state *l)
{
    struct cache_transfer *x = b->shared->xfer;
    struct cache_rec r = {0};

    if (x == NULL || b->opts->cache_to.n == 0)
        return;
    snprintf(r.key, sizeof(r.key), "%s", ss->key);
    if (l != NULL && l->diff_id[0] != '\0') {
        r.has_layer = true;
        memcpy(r.diff_id, l->diff_id, sizeof(r.diff_id));
        r.blob = l->blob;
    }
    /* a stage of the plan; anything else (none records today) counts for mode=max only */
    bool planned = ss >= b->stages && ss < b->stages + b->plan->nstages;
    r.where = planned ? (size_t) (ss - b->stages) : SIZE_MAX;
    pthread_mutex_lock(&x->mu);
    x->noted = xrealloc(x->noted, (x->nnoted + 1) * sizeof(*x->noted));
    x->noted[x->nnoted++] = r;
    pthread_mutex_unlock(&x->mu);
}

struct cache_rec *
cache_transfer_noted(struct build *b, size_t *n)
{
    struct cache_transfer *x = b->shared->xfer;
    struct cache_rec *v;

    pthread_mutex_lock(&x->mu);
    *n = x->nnoted;
    v = xcalloc(*n + 1, sizeof(*v));
    if (*n > 0)
        memcpy(v, x->noted, *n * sizeof(*v));
    pthread_mutex_unlock(&x->mu);
    return v;
}
