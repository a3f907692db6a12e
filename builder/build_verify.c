/* SPDX-License-Identifier: Apache-2.0 */
/* lade build --verify: the build is done again without the cache (bases and context as they
 * are) and the two images compared. Equal manifests: reproducible. Else the first layer whose
 * diff_id differs is named by its history entry, with the files and fields that differ in it;
 * or, when every layer is equal, the first config field. The rebuild records nothing in the
 * cache and tags nothing: its blobs are unreferenced, for lade prune. */
#include "build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "image_diff.h"

#define SHOWN_MAX 10 /* files listed for the differing layer */

/* The history text of the non-empty layer at index, without BuildKit's " # buildkit". */
static char *
layer_step(const json_t *config, size_t index)
{
    const json_t *h = json_object_get(config, "history"), *e;
    size_t i, n = 0;

    json_array_foreach(h, i, e)
    {
        if (json_is_true(json_object_get(e, "empty_layer")))
            continue;
        if (n++ != index)
            continue;
        const char *by = json_string_value(json_object_get(e, "created_by"));
        if (by == NULL)
            break;
        size_t len = strlen(by);
        const char *tail = " # buildkit";
        if (len >= strlen(tail) && strcmp(by + len - strlen(tail), tail) == 0)
            len -= strlen(tail);
        return xstrndup(by, len);
    }
    return xasprintf("layer %zu", index + 1);
}

struct found {
    struct lade_buf text;
    size_t n;
};

static void
note_file(void *ctx, char kind, const struct fs_file *a, const struct fs_file *b, const char *what)
{
    struct found *f = ctx;

    if (f->n++ >= SHOWN_MAX)
        return;
    lade_buf_appends(&f->text, f->n > 1 ? "; " : "");
    if (kind == 'C')
        lade_buf_appendf(&f->text, "/%s %s differs", a->path, what);
    else if (kind == 'A')
        lade_buf_appendf(&f->text, "/%s only in the rebuild", b->path);
    else
        lade_buf_appendf(&f->text, "/%s missing in the rebuild", a->path);
}

static void
note_field(void *ctx, const char *path, const char *old, const char *new)
{
    struct found *f = ctx;

    if (f->n++ == 0)
        lade_buf_appendf(&f->text, "config %s differs: %s -> %s", path, old ? old : "(absent)",
                         new ? new : "(absent)");
}

/* Fills f with what differs between the images a and b (manifests differ). */
static int
explain(struct store *st, const struct store_image *a, const struct store_image *b, struct found *f,
        struct lade_error *err)
{
    const json_t *ida = json_object_get(json_object_get(a->config, "rootfs"), "diff_ids");
    const json_t *idb = json_object_get(json_object_get(b->config, "rootfs"), "diff_ids");
    size_t n =
        a->manifest.nlayers < b->manifest.nlayers ? a->manifest.nlayers : b->manifest.nlayers;

    for (size_t i = 0; i < n; i++) {
        if (json_equal(json_array_get(ida, i), json_array_get(idb, i)))
            continue;
        struct fs_view va = {0}, vb = {0};
        cleanup_free char *step = layer_step(b->config, i);
        int rc = fs_view_add_layer(&va, st, &a->manifest.layers[i], false, err);
        if (rc == 0)
            rc = fs_view_add_layer(&vb, st, &b->manifest.layers[i], false, err);
        if (rc == 0) {
            lade_buf_appendf(&f->text, "%s: ", step);
            if (fs_view_diff(&va, &vb, note_file, f) == 0) /* same files, other tar bytes */
                lade_buf_appends(&f->text, "the layer's tar differs (entry order or headers)");
            else if (f->n > SHOWN_MAX)
                lade_buf_appendf(&f->text, "; and %zu more", f->n - SHOWN_MAX);
        }
        fs_view_release(&va);
        fs_view_release(&vb);
        return rc;
    }
    if (a->manifest.nlayers != b->manifest.nlayers) {
        lade_buf_appendf(&f->text, "%zu layers, %zu in the rebuild", a->manifest.nlayers,
                         b->manifest.nlayers);
        return 0;
    }
    if (json_diff(a->config, b->config, note_field, f) == 0)
        lade_buf_appends(&f->text, "the layer blobs differ (compression), their content not");
    return 0;
}

int
build_verify(struct store *st, const struct build_opts *opts, const char *manifest,
             struct lade_error *err)
{
    struct build_opts again = *opts;
    struct store_image a = {0}, b = {0};
    struct found f = {LADE_BUF_INIT, 0};
    digest_t rebuilt;
    int rc = -1;

    /* the same inputs, nothing reused, nothing recorded, nothing written anywhere */
    again.no_cache = true;
    again.no_cache_record = true;
    again.attest_names = opts->tags; /* the attestations name the same image */
    again.tags = NULL;
    again.outputs = NULL;
    again.noutputs = 0;
    again.metadata_file = NULL;
    again.iidfile = NULL;
    again.push = false;
    again.pull = false;
    fprintf(stderr, "verify: building again without the cache\n");
    if (build_run(st, &again, rebuilt, err) < 0)
        return lade_error_prefix(err, "verify: the rebuild failed");
    if (strcmp(rebuilt, manifest) == 0) {
        printf("reproducible: %s\n", manifest);
        return 0;
    }
    if (store_image_load(st, manifest, &a, err) < 0 || store_image_load(st, rebuilt, &b, err) < 0 ||
        explain(st, &a, &b, &f, err) < 0)
        goto out;
    rc = lade_error_set(err, LADE_ERR_OTHER, "not reproducible: %s (%s, rebuilt %s)",
                        f.text.data ? f.text.data : "", manifest, rebuilt);
out:
    lade_buf_release(&f.text);
    store_image_release(&a);
    store_image_release(&b);
    return rc;
}
