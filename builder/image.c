/* SPDX-License-Identifier: Apache-2.0 */
/* The target stage as an image: config and manifest into the store, tags, archives, push. */
#include "image.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

int
image_write(struct build *b, struct stage_state *ss, struct oci_desc *mdesc, digest_t config_digest,
            struct lade_error *err)
{
    json_t *c = oci_config_container(ss->config);
    cleanup_free char *cfg_bytes = NULL, *man_bytes = NULL;
    cleanup_free struct oci_desc *layers = xcalloc(ss->nlayers + 1, sizeof(*layers));
    struct oci_desc cdesc = {0};
    size_t clen = 0, mlen = 0;
    digest_t manifest;

    for (char **l = b->opts->labels; l && *l; l++) {
        char *eq = strchr(*l, '=');
        json_t *labels = json_object_get(c, "Labels");
        if (labels == NULL)
            json_object_set_new(c, "Labels", labels = json_object());
        cleanup_free char *k = xstrndup(*l, eq ? (size_t) (eq - *l) : strlen(*l));
        json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
    }
    oci_config_set_created(ss->config, b->created);
    oci_config_omit_empty(ss->config);
    cfg_bytes = oci_json_dump(ss->config, &clen);
    if (store_blob_put(b->st, cfg_bytes, clen, config_digest, err) < 0)
        return -1;
    snprintf(cdesc.media_type, sizeof(cdesc.media_type), "%s", MT_OCI_CONFIG);
    memcpy(cdesc.digest, config_digest, sizeof(cdesc.digest));
    cdesc.size = (int64_t) clen;
    for (size_t i = 0; i < ss->nlayers; i++)
        layers[i] = ss->layers[i].blob;
    json_t *m = oci_manifest_new(&cdesc, layers, ss->nlayers);
    man_bytes = oci_json_dump(m, &mlen);
    json_decref(m);
    if (store_blob_put(b->st, man_bytes, mlen, manifest, err) < 0)
        return -1;
    snprintf(mdesc->media_type, sizeof(mdesc->media_type), "%s", MT_OCI_MANIFEST);
    memcpy(mdesc->digest, manifest, sizeof(mdesc->digest));
    mdesc->size = (int64_t) mlen;
    return 0;
}

int
image_export(struct build *b, const struct oci_desc *mdesc, const char *config_digest,
             struct lade_error *err)
{
    const struct build_opts *o = b->opts;

    progress_note(&b->progress, "writing image %s", config_digest);
    for (char **t = o->tags; t && *t; t++) {
        if (store_tag_set(b->st, *t, mdesc, err) < 0)
            return -1;
        progress_note(&b->progress, "naming to %s", *t);
    }
    if (o->iidfile != NULL && write_file_atomic_at(AT_FDCWD, o->iidfile, config_digest,
                                                   strlen(config_digest), 0644, err) < 0)
        return lade_error_prefix(err, "--iidfile");
    return 0;
}

/* --push: every tag to its registry, the blobs shown under one step per name. */
int
image_push_tags(struct build *b, const struct oci_desc *mdesc, struct lade_error *err)
{
    for (char **t = b->opts->tags; t && *t; t++) {
        progress_note(&b->progress, "pushing %s", *t);
        if (transfer_push(b->st, mdesc, *t, b->opts->reg, &b->progress, err) < 0) {
            progress_error(&b->progress, err->msg);
            return -1;
        }
        progress_done(&b->progress);
    }
    return 0;
}
