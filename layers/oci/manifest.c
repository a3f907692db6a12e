/* SPDX-License-Identifier: Apache-2.0 */
/* Canonical JSON bytes and strict parsing; descriptors, indexes and manifests (image-spec
 * descriptor.md, image-index.md, manifest.md; docker's schema2 has the same shape). */
#include "oci.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../builder/common/xalloc.h"

char *
oci_json_dump(const json_t *v, size_t *len)
{
    /* JSON_ENCODE_ANY only matters for scalars; objects and arrays dump the same bytes. */
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

    if (s == NULL) {
        /* jansson fails only on allocation or on a value it cannot encode (NaN): both bugs. */
        fprintf(stderr, "lade: fatal: cannot encode JSON\n");
        abort();
    }
    if (len != NULL)
        *len = strlen(s);
    return s;
}

json_t *
oci_json_parse(const char *data, size_t len, const char *what, struct lade_error *err)
{
    json_error_t jerr;
    json_t *v;

    /* Duplicate keys are refused: two readers could otherwise see different values in the
     * same hashed bytes (the image spec's canonical-JSON concern). */
    v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (v == NULL) {
        lade_error_set(err, LADE_ERR_OTHER, "invalid JSON in %s at line %d column %d: %s", what,
                       jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    return v;
}

json_t *
oci_desc_json(const struct oci_desc *d)
{
    return json_pack("{s:s, s:s, s:I}", "mediaType", d->media_type, "digest", d->digest, "size",
                     (json_int_t) d->size);
}

int
oci_desc_parse(const json_t *v, const char *what, struct oci_desc *out, struct lade_error *err)
{
    const char *mt, *dg;
    json_t *size;

    if (!json_is_object(v))
        return lade_error_set(err, LADE_ERR_OTHER, "%s: descriptor is not an object", what);
    mt = json_string_value(json_object_get(v, "mediaType"));
    dg = json_string_value(json_object_get(v, "digest"));
    size = json_object_get(v, "size");
    if (mt == NULL || *mt == '\0')
        return lade_error_set(err, LADE_ERR_OTHER, "%s: descriptor has no mediaType", what);
    if (strlen(mt) >= sizeof(out->media_type))
        return lade_error_set(err, LADE_ERR_OTHER, "%s: mediaType is too long", what);
    if (dg == NULL)
        return lade_error_set(err, LADE_ERR_OTHER, "%s: descriptor has no digest", what);
    if (!digest_valid(dg))
        return lade_error_set(err, LADE_ERR_OTHER, "%s: invalid digest '%.80s'", what, dg);
    if (!json_is_integer(size) || json_integer_value(size) < 0)
        return lade_error_set(err, LADE_ERR_OTHER, "%s: descriptor size is not a count of bytes",
                              what);
    snprintf(out->media_type, sizeof(out->media_type), "%s", mt);
    snprintf(out->digest, sizeof(out->digest), "%s", dg);
    out->size = json_integer_value(size);
    return 0;
}

json_t *
oci_index_new(void)
{
    return json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX,
                     "manifests");
}

bool
oci_media_type_is_index(const char *media_type)
{
    return media_type != NULL &&
           (strcmp(media_type, MT_OCI_INDEX) == 0 || strcmp(media_type, MT_DOCKER_LIST) == 0);
}

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
