/* SPDX-License-Identifier: Apache-2.0 */
/* From the files of an imported archive to tagged images. An OCI layout (index.json) names its
 * manifests directly and keeps their digests; a docker archive without one (docker < 25, skopeo's
 * docker-archive) lists Config and Layers paths in manifest.json, so an OCI manifest is built
 * for it. Everything is checked before the first tag is set. */
#include "archive-internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../builder/common/cleanup.h"
#include "../../builder/common/strv.h"
#include "../../builder/common/xalloc.h"

#define MANIFEST_MAX (4 << 20)
#define SMALL_CONFIG_MAX (32 << 20)

/* An image found in the archive and the names to give it. */
struct found {
    struct oci_desc manifest;
    char **names; /* full normalised names */
};

struct found_list {
    struct found *v;
    size_t n;
};

static struct found *
found_get(struct found_list *l, const struct oci_desc *m)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].manifest.digest, m->digest) == 0)
            return &l->v[i];
    l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
    l->v[l->n].manifest = *m;
    l->v[l->n].names = NULL;
    return &l->v[l->n++];
}

static void
found_add_name(struct found *f, const char *user_name)
{
    struct lade_error ignored = {0};
    struct image_ref ref = {0};
    char *full;

    /* names that do not parse, or carry only a digest, cannot be tags: skip them */
    if (user_name == NULL || image_ref_parse(user_name, &ref, &ignored) < 0)
        return;
    if (ref.tag == NULL) {
        image_ref_release(&ref);
        return;
    }
    full = image_ref_string(&ref);
    image_ref_release(&ref);
    for (size_t i = 0; f->names && f->names[i]; i++)
        if (strcmp(f->names[i], full) == 0) {
            free(full);
            return;
        }
    f->names = strv_push_take(f->names, full);
}

static void
found_list_release(struct found_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        strv_free(l->v[i].names);
    free(l->v);
}

/* The blob must be in the store with the size its descriptor gives. */
static int
check_blob(struct import *im, const struct oci_desc *d, const char *what, struct lade_error *err)
{
    cleanup_close int fd = -1;
    struct stat sb;

    if (!store_blob_exists(im->st, d->digest))
        return lade_error_set(err, LADE_ERR_OTHER, "%s %s is missing from the archive", what,
                              d->digest);
    fd = store_blob_open(im->st, d->digest, err);
    if (fd < 0 || fstat(fd, &sb) < 0)
        return fd < 0 ? -1 : lade_error_sys(err, "cannot stat blob %s", d->digest);
    if (sb.st_size != d->size)
        return lade_error_set(err, LADE_ERR_OTHER, "%s %s has %lld bytes, its descriptor says %lld",
                              what, d->digest, (long long) sb.st_size, (long long) d->size);
    return 0;
}

/* A manifest blob and everything it references are present and well-formed. */
static int
check_manifest(struct import *im, const struct oci_desc *d, struct oci_manifest *out,
               struct lade_error *err)
{
    cleanup_free char *data = NULL;
    size_t len = 0;
    struct oci_manifest m;

    if (check_blob(im, d, "manifest", err) < 0 ||
        store_blob_read(im->st, d->digest, MANIFEST_MAX, &data, &len, err) < 0)
        return -1;
    if (oci_manifest_parse(data, len, &m, err) < 0)
        return lade_error_prefix(err, "manifest %s", d->digest);
    if (check_blob(im, &m.config, "config", err) < 0)
        goto fail;
    for (size_t i = 0; i < m.nlayers; i++)
        if (check_blob(im, &m.layers[i], "layer", err) < 0)
            goto fail;
    if (out != NULL)
        *out = m;
    else
        oci_manifest_release(&m);
    return 0;
fail:
    oci_manifest_release(&m);
    return -1;
}

/* For an index entry: the platform manifest of this host (a multi-platform image), else the
 * entry itself. */
static int
pick_platform(struct import *im, const struct oci_desc *d, struct oci_desc *out,
              struct lade_error *err)
{
    cleanup_free char *data = NULL;
    size_t len = 0;
    json_auto_t *idx = NULL;
    const char *arch = oci_host_arch();

    if (!oci_media_type_is_index(d->media_type)) {
        *out = *d;
        return 0;
    }
    if (check_blob(im, d, "index", err) < 0 ||
        store_blob_read(im->st, d->digest, MANIFEST_MAX, &data, &len, err) < 0 ||
        (idx = oci_json_parse(data, len, "nested index", err)) == NULL)
        return -1;
    json_t *ms = json_object_get(idx, "manifests");
    for (size_t i = 0; i < json_array_size(ms); i++) {
        json_t *e = json_array_get(ms, i), *p = json_object_get(e, "platform");
        const char *os = json_string_value(json_object_get(p, "os"));
        const char *a = json_string_value(json_object_get(p, "architecture"));
        if (os && a && strcmp(os, "linux") == 0 && strcmp(a, arch) == 0 &&
            !oci_media_type_is_index(json_string_value(json_object_get(e, "mediaType"))))
            return oci_desc_parse(e, "nested index", out, err);
    }
    return lade_error_set(err, LADE_ERR_OTHER, "index %s has no image for linux/%s", d->digest,
                          arch);
}

static int
from_index(struct import *im, const struct import_small *s, struct found_list *l,
           struct lade_error *err)
{
    json_auto_t *idx = oci_json_parse(s->data, s->len, "index.json", err);

    if (idx == NULL)
        return -1;
    json_t *ms = json_object_get(idx, "manifests");
    if (!json_is_array(ms))
        return lade_error_set(err, LADE_ERR_OTHER, "index.json has no manifests array");
    for (size_t i = 0; i < json_array_size(ms); i++) {
        json_t *e = json_array_get(ms, i), *ann = json_object_get(e, "annotations");
        struct oci_desc d, m;
        if (oci_desc_parse(e, "index.json", &d, err) < 0 || pick_platform(im, &d, &m, err) < 0 ||
            check_manifest(im, &m, NULL, err) < 0)
            return -1;
        struct found *f = found_get(l, &m);
        const char *full = json_string_value(json_object_get(ann, OCI_ANNOT_IMAGE_NAME));
        const char *ref = json_string_value(json_object_get(ann, OCI_ANNOT_REF_NAME));
        /* the full name when there is one; a ref.name that is only a tag ("1") names nothing */
        if (full != NULL)
            found_add_name(f, full);
        else if (ref != NULL && strpbrk(ref, "/:") != NULL)
            found_add_name(f, ref);
    }
    return 0;
}

/* The media type of a layer file, from its first bytes: docker archives do not say. */
static const char *
sniff_layer(struct import *im, const char *digest, struct lade_error *err)
{
    cleanup_close int fd = store_blob_open(im->st, digest, err);
    unsigned char b[4] = {0};

    if (fd < 0)
        return NULL;
    if (pread(fd, b, sizeof(b), 0) < 0) {
        lade_error_sys(err, "cannot read blob %s", digest);
        return NULL;
    }
    if (b[0] == 0x1f && b[1] == 0x8b)
        return MT_OCI_LAYER_GZIP;
    if (b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
        return MT_OCI_LAYER_ZSTD;
    return MT_OCI_LAYER_TAR;
}

static int
blob_desc(struct import *im, const char *digest, const char *mt, struct oci_desc *d,
          struct lade_error *err)
{
    cleanup_close int fd = store_blob_open(im->st, digest, err);
    struct stat sb;

    if (fd < 0 || fstat(fd, &sb) < 0)
        return fd < 0 ? -1 : lade_error_sys(err, "cannot stat blob %s", digest);
    snprintf(d->media_type, sizeof(d->media_type), "%s", mt);
    snprintf(d->digest, sizeof(d->digest), "%s", digest);
    d->size = sb.st_size;
    return 0;
}

/* The config of a manifest.json item: a blob (docker 25) or a top-level <hex>.json file (older
 * docker, skopeo), stored now. */
static int
item_config(struct import *im, const char *path, struct oci_desc *d, json_t **cfg,
            struct lade_error *err)
{
    const struct import_small *s = import_small_get(im, path);
    const char *dg = import_lookup(im, path);
    cleanup_free char *data = NULL;
    size_t len = 0;
    digest_t stored;

    if (s != NULL) {
        if (store_blob_put(im->st, s->data, s->len, stored, err) < 0)
            return -1;
        dg = stored;
    }
    if (dg == NULL)
        return lade_error_set(err, LADE_ERR_OTHER, "config '%s' is missing from the archive", path);
    if (blob_desc(im, dg, MT_OCI_CONFIG, d, err) < 0 ||
        store_blob_read(im->st, dg, SMALL_CONFIG_MAX, &data, &len, err) < 0 ||
        (*cfg = oci_json_parse(data, len, path, err)) == NULL)
        return -1;
    return 0;
}

static int
from_manifest_item(struct import *im, const json_t *item, struct found_list *l,
                   struct lade_error *err)
{
    const char *cpath = json_string_value(json_object_get(item, "Config"));
    const json_t *lpaths = json_object_get(item, "Layers");
    const json_t *tags = json_object_get(item, "RepoTags");
    json_auto_t *cfg = NULL;
    struct oci_desc cd, md = {MT_OCI_MANIFEST, "", 0};
    size_t n = json_array_size(lpaths);
    cleanup_free struct oci_desc *layers = xcalloc(n + 1, sizeof(*layers));

    if (cpath == NULL || !json_is_array(lpaths))
        return lade_error_set(err, LADE_ERR_OTHER,
                              "manifest.json: an entry lacks Config or Layers");
    if (item_config(im, cpath, &cd, &cfg, err) < 0)
        return -1;
    if (oci_config_nlayers(cfg) != n)
        return lade_error_set(err, LADE_ERR_OTHER,
                              "manifest.json: %zu layers for a config with %zu diff_ids", n,
                              oci_config_nlayers(cfg));
    for (size_t i = 0; i < n; i++) {
        const char *p = json_string_value(json_array_get(lpaths, i));
        const char *dg = p ? import_lookup(im, p) : NULL;
        const char *mt;
        if (dg == NULL)
            return lade_error_set(err, LADE_ERR_OTHER, "layer '%s' is missing from the archive",
                                  p ? p : "?");
        if ((mt = sniff_layer(im, dg, err)) == NULL || blob_desc(im, dg, mt, &layers[i], err) < 0)
            return -1;
        /* An uncompressed layer is its own diff: legacy layer files carry no digest in their
         * name, so this is their integrity check. */
        if (strcmp(mt, MT_OCI_LAYER_TAR) == 0 && strcmp(dg, oci_config_diff_id(cfg, i)) != 0)
            return lade_error_set(err, LADE_ERR_OTHER,
                                  "layer '%s' hashes to %s but the config expects %s", p, dg,
                                  oci_config_diff_id(cfg, i));
    }
    /* docker 25 archives also have index.json with the manifest itself; prefer its digest */
    json_auto_t *mj = oci_manifest_new(&cd, layers, n);
    size_t len;
    cleanup_free char *bytes = oci_json_dump(mj, &len);
    if (store_blob_put(im->st, bytes, len, md.digest, err) < 0)
        return -1;
    md.size = (int64_t) len;
    struct found *f = found_get(l, &md);
    for (size_t i = 0; i < json_array_size(tags); i++)
        found_add_name(f, json_string_value(json_array_get(tags, i)));
    return 0;
}

/* docker 25 archives: RepoTags of manifest.json name the index's manifests (matched by config). */
static int
add_repo_tags(struct import *im, const json_t *items, struct found_list *l, struct lade_error *err)
{
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *item = json_array_get(items, i);
        const char *cpath = json_string_value(json_object_get(item, "Config"));
        const char *cdg = cpath ? import_lookup(im, cpath) : NULL;
        const json_t *tags = json_object_get(item, "RepoTags");
        if (cdg == NULL)
            continue;
        for (size_t k = 0; k < l->n; k++) {
            struct oci_manifest m;
            if (check_manifest(im, &l->v[k].manifest, &m, err) < 0)
                return -1;
            if (strcmp(m.config.digest, cdg) == 0)
                for (size_t t = 0; t < json_array_size(tags); t++)
                    found_add_name(&l->v[k], json_string_value(json_array_get(tags, t)));
            oci_manifest_release(&m);
        }
    }
    return 0;
}

static int
tag_all(struct import *im, struct found_list *l, char ***names_out, char ***untagged_out,
        struct lade_error *err)
{
    char **names = NULL, **untagged = NULL;

    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].names == NULL || im->no_tags) {
            untagged = strv_push(untagged, l->v[i].manifest.digest);
            continue;
        }
        for (size_t k = 0; l->v[i].names[k]; k++) {
            if (store_tag_set(im->st, l->v[i].names[k], &l->v[i].manifest, err) < 0) {
                strv_free(names);
                strv_free(untagged);
                return -1;
            }
            names = strv_push(names, l->v[i].names[k]);
        }
    }
    if (names_out != NULL)
        *names_out = names;
    else
        strv_free(names);
    if (untagged_out != NULL)
        *untagged_out = untagged;
    else
        strv_free(untagged);
    return 0;
}

int
import_images(struct import *im, char ***names_out, char ***untagged_out, struct lade_error *err)
{
    const struct import_small *index = import_small_get(im, "index.json");
    const struct import_small *mf = import_small_get(im, "manifest.json");
    json_auto_t *items = NULL;
    struct found_list l = {0};
    int rc = -1;

    if (index == NULL && mf == NULL)
        return lade_error_set(err, LADE_ERR_OTHER,
                              "not an image archive: it has neither index.json nor manifest.json");
    if (mf != NULL) {
        items = oci_json_parse(mf->data, mf->len, "manifest.json", err);
        if (items == NULL)
            return -1;
        if (!json_is_array(items))
            return lade_error_set(err, LADE_ERR_OTHER, "manifest.json is not an array");
    }
    if (index != NULL) {
        if (from_index(im, index, &l, err) < 0 || (items && add_repo_tags(im, items, &l, err) < 0))
            goto out;
    } else {
        for (size_t i = 0; i < json_array_size(items); i++)
            if (from_manifest_item(im, json_array_get(items, i), &l, err) < 0)
                goto out;
    }
    rc = tag_all(im, &l, names_out, untagged_out, err);
out:
    found_list_release(&l);
    return rc;
}
