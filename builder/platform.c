/* SPDX-License-Identifier: Apache-2.0 */
/* Multi-platform builds: --platform linux/amd64,linux/arm64 builds the Dockerfile once per
 * platform (each a whole build_run_one, its automatic args and bases for that platform) and
 * joins the images in an OCI image index, which is tagged, exported and pushed instead of a
 * manifest, as BuildKit does. Stages whose platform is the same in each build (FROM
 * --platform=$BUILDPLATFORM) have the same cache keys, so the later platforms reuse them. One
 * platform keeps a plain manifest (BuildKit too). */
#include "build.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest_build.h"
#include "image.h"
#include "metadata.h"
#include "output.h"
#include "stage.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
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

/* The index entries of one platform's build: its manifest with the platform, or, when the
 * build made an index (attestations), that index's entries (the image and its attestation
 * manifest). */
static int
index_entries(struct store *st, const digest_t top, const struct oci_platform *p, json_t *arr,
              struct lade_error *err)
{
    cleanup_free char *data = NULL;
    size_t len = 0;

    if (store_blob_read(st, top, 4u << 20, &data, &len, err) < 0)
        return -1;
    json_auto_t *doc = oci_json_parse(data, len, top, err);
    if (doc == NULL)
        return -1;
    const char *mt = json_string_value(json_object_get(doc, "mediaType"));
    if (mt != NULL && oci_media_type_is_index(mt)) {
        json_array_extend(arr, json_object_get(doc, "manifests"));
        return 0;
    }
    struct oci_desc d = {.size = (int64_t) len};
    snprintf(d.media_type, sizeof(d.media_type), "%s", MT_OCI_MANIFEST);
    snprintf(d.digest, sizeof(d.digest), "%s", top);
    json_array_append_new(arr, attest_index_entry(&d, p));
    return 0;
}

/* Builds every platform (outputs off: they are the index's, but for the trees of type=local
 * and tar, which each platform writes under its own directory), then stores the index. */
static int
build_platforms(struct store *st, const struct build_opts *opts, const struct oci_platform *ps,
                size_t n, const char *tmp, struct progress *pr, struct oci_desc *index,
                struct lade_error *err)
{
    json_auto_t *idx = oci_index_new();
    json_t *arr = json_object_get(idx, "manifests");

    for (size_t i = 0; i < n; i++) {
        struct registry_opts ro = *opts->reg;
        struct build_opts one = *opts;
        char plat[96];
        digest_t m;
        size_t nout = 0;

        oci_platform_format(&ps[i], plat, sizeof(plat));
        cleanup_free char *dir = xstrdup(plat);
        for (char *c = dir; *c; c++)
            *c = *c == '/' ? '_' : *c; /* BuildKit's platform split: linux_arm64 */
        ro.platform = plat;
        one.reg = &ro;
        one.tags = NULL;
        struct build_output *outs =
            outputs_platform(opts->outputs, opts->noutputs, tmp, dir, &nout);
        one.outputs = outs;
        one.noutputs = nout;
        one.metadata_file = NULL;
        one.iidfile = NULL;
        one.push = false;
        progress_note(pr, "building for %s (%zu of %zu)", plat, i + 1, n);
        progress_done(pr);
        int rc = build_run_one(st, &one, m, err);
        outputs_platform_free(outs, nout);
        if (rc < 0)
            return lade_error_prefix(err, "platform %s", plat);
        if (index_entries(st, m, &ps[i], arr, err) < 0)
            return -1;
    }
    return attest_json_put(st, idx, MT_OCI_INDEX, index, err);
}

/* Outputs a build of several platforms cannot write. */
static int
check_outputs(const struct build_opts *opts, size_t n, struct lade_error *err)
{
    for (size_t i = 0; i < opts->noutputs; i++)
        if (opts->outputs[i].type == OUTPUT_DOCKER)
            return lade_error_set(err, LADE_ERR_USAGE,
                                  "-o type=docker with %zu platforms: docker archives hold one "
                                  "platform; use type=oci",
                                  n);
    return 0;
}

/* A directory for the per-platform trees of -o type=tar, or NULL when there is none. */
static char *
tar_tmpdir(const struct build_opts *opts, struct lade_error *err)
{
    const char *base = getenv("TMPDIR");

    for (size_t i = 0; i < opts->noutputs; i++)
        if (opts->outputs[i].type == OUTPUT_TAR) {
            char *t = xasprintf("%s/lade-tar-XXXXXX", base && *base ? base : "/var/tmp");
            if (mkdtemp(t) != NULL)
                return t;
            lade_error_sys(err, "cannot create '%s'", t);
            free(t);
            return NULL;
        }
    return NULL;
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
    if (check_outputs(opts, n, err) < 0)
        return -1;
    cleanup_free char *tmp = tar_tmpdir(opts, err);
    if (tmp == NULL && lade_error_is_set(err))
        return -1;
    /* the index's own outputs go through image.c with a build of their own (no plan) */
    struct build_shared shared = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct build b = {
        .st = st, .opts = opts, .context_fd = -1, .shared = &shared, .clamp = opts->epoch};
    progress_init(&b.progress, opts->progress);
    rc = build_platforms(st, opts, ps, n, tmp, &b.progress, &index, err);
    if (rc == 0)
        rc = image_export(&b, &index, index.digest, err);
    if (rc == 0) /* archives (the trees were written by each platform's build) */
        rc = outputs_write(&b, NULL, &index, err);
    if (rc == 0 && tmp != NULL)
        rc = outputs_join(&b, tmp, err);
    if (rc == 0 && opts->push)
        rc = image_push_tags(&b, &index, err);
    if (rc == 0 && opts->metadata_file != NULL)
        rc = metadata_write(&b, &index, NULL, opts->metadata_file, err);
    if (rc == 0 && manifest_out != NULL)
        memcpy(manifest_out, index.digest, sizeof(digest_t));
    if (tmp != NULL) {
        struct lade_error rerr = {0};
        rm_rf_at(AT_FDCWD, tmp, &rerr);
    }
    progress_release(&b.progress);
    return rc;
}
