/* SPDX-License-Identifier: Apache-2.0 */
/* Image manifests (image-spec manifest.md, and docker's schema2 which has the same shape). */
#include "oci.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../builder/common/xalloc.h"

json_t *
oci_manifest_new(const struct oci_desc *config, const struct oci_desc *layers, size_t n)
{
    json_t *arr = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, oci_desc_json(&layers[i]));
    return json_pack("{s:i, s:s, s:o, s:o}", "schemaVersion", 2, "mediaType", MT_OCI_MANIFEST,
                     "config", oci_desc_json(config), "layers", arr);
}

static int
manifest_from_json(const json_t *root, struct oci_manifest *out, struct lade_error *err)
{
    const json_t *sv = json_object_get(root, "schemaVersion");
    const json_t *layers = json_object_get(root, "layers");
    const char *mt = json_string_value(json_object_get(root, "mediaType"));
    struct oci_manifest m = {0};
    char what[64];

    if (!json_is_object(root))
        return lade_error_set(err, LADE_ERR_OTHER, "manifest is not a JSON object");
    if (!json_is_integer(sv) || json_integer_value(sv) != 2)
        return lade_error_set(err, LADE_ERR_OTHER, "manifest schemaVersion is not 2");
    /* The OCI spec makes mediaType optional in manifests; docker schema2 requires it. */
    if (oci_media_type_is_index(mt))
        return lade_error_set(err, LADE_ERR_OTHER, "expected a manifest, got an index (%s)", mt);
    if (mt != NULL && strcmp(mt, MT_OCI_MANIFEST) != 0 && strcmp(mt, MT_DOCKER_MANIFEST) != 0)
        return lade_error_set(err, LADE_ERR_OTHER, "unsupported manifest mediaType '%.128s'", mt);
    if (json_object_get(root, "manifests") != NULL)
        return lade_error_set(err, LADE_ERR_OTHER, "expected a manifest, got an index");
    if (oci_desc_parse(json_object_get(root, "config"), "manifest config", &m.config, err) < 0)
        return -1;
    if (!json_is_array(layers))
        return lade_error_set(err, LADE_ERR_OTHER, "manifest has no layers array");
    m.nlayers = json_array_size(layers);
    m.layers = xcalloc(m.nlayers ? m.nlayers : 1, sizeof(*m.layers));
    for (size_t i = 0; i < m.nlayers; i++) {
        snprintf(what, sizeof(what), "manifest layer %zu", i);
        if (oci_desc_parse(json_array_get(layers, i), what, &m.layers[i], err) < 0) {
            free(m.layers);
            return -1;
        }
    }
    *out = m;
    return 0;
}

int
oci_manifest_parse(const char *data, size_t len, struct oci_manifest *out, struct lade_error *err)
{
    json_auto_t *root = oci_json_parse(data, len, "manifest", err);

    if (root == NULL)
        return -1;
    return manifest_from_json(root, out, err);
}

void
oci_manifest_release(struct oci_manifest *m)
{
    free(m->layers);
    m->layers = NULL;
    m->nlayers = 0;
}
