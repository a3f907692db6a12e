/* SPDX-License-Identifier: Apache-2.0 */
/* Multi-platform builds: --platform linux/amd64,linux/arm64 builds the Dockerfile once per
 * platform (each a whole build_run_one, its automatic args and bases for that platform) and
 * joins the images in an OCI image index, which is tagged, exported and pushed instead of a
 * manifest, as BuildKit does. Stages whose platform is the same in each build (FROM
 * --platform=$BUILDPLATFORM) have the same cache keys, so the later platforms reuse them. One
 * platform keeps a plain manifest (BuildKit too). */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "output.h"
#include "stage.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"

/* The platforms of a comma-separated list, normalised, repeats dropped (BuildKit dedupes). */
static int
parse_platforms(const char *list, struct oci_platform **out, size_t *n, struct lade_error *err)
{
    cleanup_free char *copy = xstrdup(list);
    struct oci_platform *ps = xcalloc(strlen(list) / 2 + 2, sizeof(*ps));
    size_t k = 0;

    for (char *s = copy, *comma; s != NULL; s = comma ? comma + 1 : NULL) {
        struct oci_platform p;
        bool seen = false;
        if ((comma = strchr(s, ',')) != NULL)
            *comma = '\0';
        if (oci_platform_parse(s, &p, err) < 0) {
            free(ps);
            return lade_error_prefix(err, "--platform");
        }
        for (size_t i = 0; i < k; i++)
            seen = seen || oci_platform_equal(&ps[i], &p);
        if (!seen)
            ps[k++] = p;
    }
    *out = ps;
    *n = k;
    return 0;
}

/* The index entry of one platform's image: its manifest's descriptor and platform. */
static int
index_entry(struct store *st, const digest_t manifest, const struct oci_platform *p, json_t *arr,
            struct lade_error *err)
{
    cleanup_free char *data = NULL;
    size_t len = 0;

    if (store_blob_read(st, manifest, 4u << 20, &data, &len, err) < 0)
        return -1;
    struct oci_desc d = {.size = (int64_t) len};
    snprintf(d.media_type, sizeof(d.media_type), "%s", MT_OCI_MANIFEST);
    snprintf(d.digest, sizeof(d.digest), "%s", manifest);
    json_t *e = oci_desc_json(&d);
    json_t *pl = json_pack("{s:s, s:s}", "architecture", p->arch, "os", p->os);
    if (p->variant[0] != '\0')
        json_object_set_new(pl, "variant", json_string(p->variant));
    json_object_set_new(e, "platform", pl);
    json_array_append_new(arr, e);
    return 0;
}

/* Builds every platform (outputs off: they are the index's), then stores the index. */
static int
build_platforms(struct store *st, const struct build_opts *opts, const struct oci_platform *ps,
                size_t n, struct progress *pr, struct oci_desc *index, struct lade_error *err)
{
    json_auto_t *idx = oci_index_new();
    json_t *arr = json_object_get(idx, "manifests");
    cleanup_free char *bytes = NULL;
    size_t len = 0;

    for (size_t i = 0; i < n; i++) {
        struct registry_opts ro = *opts->reg;
        struct build_opts one = *opts;
        char plat[96];
        digest_t m;

        oci_platform_format(&ps[i], plat, sizeof(plat));
        ro.platform = plat;
        one.reg = &ro;
        one.tags = NULL;
        one.outputs = NULL;
        one.noutputs = 0;
        one.metadata_file = NULL;
        one.iidfile = NULL;
        one.push = false;
        progress_note(pr, "building for %s (%zu of %zu)", plat, i + 1, n);
        progress_done(pr);
        if (build_run_one(st, &one, m, err) < 0)
            return lade_error_prefix(err, "platform %s", plat);
        if (index_entry(st, m, &ps[i], arr, err) < 0)
            return -1;
    }
    bytes = oci_json_dump(idx, &len);
    if (store_blob_put(st, bytes, len, index->digest, err) < 0)
        return -1;
    snprintf(index->media_type, sizeof(index->media_type), "%s", MT_OCI_INDEX);
    index->size = (int64_t) len;
    return 0;
}

int
build_run(struct store *st, const struct build_opts *opts, digest_t manifest_out,
          struct lade_error *err)
{
    const char *list = opts->reg ? opts->reg->platform : NULL;
    cleanup_free struct oci_platform *ps = NULL;
    struct oci_desc index = {0};
    size_t n = 0;
    int rc;

    if (list == NULL || strchr(list, ',') == NULL)
        return build_run_one(st, opts, manifest_out, err);
    if (parse_platforms(list, &ps, &n, err) < 0)
        return -1;
    if (n == 1) { /* "linux/arm64,linux/arm64": one platform, a plain manifest */
        struct registry_opts ro = *opts->reg;
        struct build_opts one = *opts;
        char plat[96];
        oci_platform_format(&ps[0], plat, sizeof(plat));
        ro.platform = plat;
        one.reg = &ro;
        return build_run_one(st, &one, manifest_out, err);
    }
    for (size_t i = 0; i < opts->noutputs; i++) {
        if (opts->outputs[i].type == OUTPUT_DOCKER)
            return lade_error_set(err, LADE_ERR_USAGE,
                                  "-o type=docker with %zu platforms: docker archives hold one "
                                  "platform; use type=oci",
                                  n);
        if (opts->outputs[i].type == OUTPUT_LOCAL || opts->outputs[i].type == OUTPUT_TAR)
            return lade_error_set(err, LADE_ERR_USAGE,
                                  "-o type=local or tar with %zu platforms: not implemented yet "
                                  "(build one --platform at a time)",
                                  n);
    }
    if (opts->metadata_file != NULL)
        return lade_error_set(err, LADE_ERR_USAGE,
                              "--metadata-file with several platforms: not implemented yet");
    /* the index's own outputs go through image.c with a build of their own (no plan) */
    struct build_shared shared = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct build b = {.st = st, .opts = opts, .context_fd = -1, .shared = &shared};
    progress_init(&b.progress, opts->progress);
    rc = build_platforms(st, opts, ps, n, &b.progress, &index, err);
    if (rc == 0)
        rc = image_export(&b, &index, index.digest, err);
    if (rc == 0) /* archives only (local and tar were refused above): no stage needed */
        rc = outputs_write(&b, NULL, &index, err);
    if (rc == 0 && opts->push)
        rc = image_push_tags(&b, &index, err);
    if (rc == 0 && manifest_out != NULL)
        memcpy(manifest_out, index.digest, sizeof(digest_t));
    progress_release(&b.progress);
    return rc;
}
