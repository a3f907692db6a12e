/* SPDX-License-Identifier: Apache-2.0 */
/* Provenance predicates, in-toto statements and the attestation manifest (attest.h). Every
 * document is dumped canonically (oci_json_dump) so the same inputs give the same digests. */
#include "attest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

/* {"sha256": HEX} of "sha256:HEX" */
static json_t *
digest_set(const char *digest)
{
    return json_pack("{s:s}", "sha256", digest_valid(digest) ? digest_hex(digest) : "");
}

char *
attest_purl(const char *name, const char *platform)
{
    const char *slash = strrchr(name, '/'), *at = strchr(name, '@'), *colon = strrchr(name, ':');
    struct lade_buf b;

    lade_buf_init(&b, 0);
    if (at != NULL) /* NAME@sha256:...: the digest is the version */
        lade_buf_appendf(&b, "pkg:docker/%.*s@%s", (int) (at - name), name, at + 1);
    else if (colon != NULL && (slash == NULL || colon > slash))
        lade_buf_appendf(&b, "pkg:docker/%.*s@%s", (int) (colon - name), name, colon + 1);
    else
        lade_buf_appendf(&b, "pkg:docker/%s", name);
    lade_buf_appendf(&b, "?platform=");
    for (const char *p = platform; *p != '\0'; p++)
        lade_buf_appendf(&b, *p == '/' ? "%%2F" : "%c", *p);
    return lade_buf_steal(&b);
}

json_t *
provenance_predicate(const struct provenance_input *in)
{
    json_t *args = json_object(), *deps = json_array();

    for (size_t i = 0; in->build_args != NULL && in->build_args[i] != NULL; i++) {
        const char *eq = strchr(in->build_args[i], '=');
        if (eq == NULL)
            continue;
        cleanup_free char *key =
            xasprintf("build-arg:%.*s", (int) (eq - in->build_args[i]), in->build_args[i]);
        json_object_set_new(args, key, json_string(eq + 1));
    }
    if (in->target != NULL)
        json_object_set_new(args, "target", json_string(in->target));
    for (size_t i = 0; in->bases != NULL && in->bases[i] != NULL; i++) {
        const char *at = strrchr(in->bases[i], '@');
        if (at == NULL)
            continue;
        cleanup_free char *name = xstrndup(in->bases[i], (size_t) (at - in->bases[i]));
        cleanup_free char *uri = attest_purl(name, in->platform);
        json_array_append_new(deps,
                              json_pack("{s:s, s:o}", "uri", uri, "digest", digest_set(at + 1)));
    }
    return json_pack(
        "{s:{s:s, s:{s:{s:s, s:o}, s:{s:s, s:o}}, s:{s:s}, s:o}, s:{s:{s:s, s:{s:s}}}}",
        "buildDefinition", "buildType", "https://lade.invalid/dockerfile@v1", "externalParameters",
        "configSource", "path", in->dockerfile_name, "digest", digest_set(in->dockerfile_digest),
        "request", "frontend", "dockerfile.v0", "args", args, "internalParameters", "platform",
        in->platform, "resolvedDependencies", deps, "runDetails", "builder", "id",
        "https://lade.invalid/lade", "version", "lade", in->version);
}

json_t *
attest_statement(const char *subject_name, const char *subject_digest, const char *predicate_type,
                 json_t *predicate)
{
    return json_pack("{s:s, s:s, s:[{s:s, s:o}], s:o}", "_type", "https://in-toto.io/Statement/v1",
                     "predicateType", predicate_type, "subject", "name", subject_name, "digest",
                     digest_set(subject_digest), "predicate", predicate);
}

int
attest_json_put(struct store *st, const json_t *v, const char *mt, struct oci_desc *d,
                struct lade_error *err)
{
    size_t len = 0;
    cleanup_free char *bytes = oci_json_dump(v, &len);

    memset(d, 0, sizeof(*d));
    snprintf(d->media_type, sizeof(d->media_type), "%s", mt);
    d->size = (int64_t) len;
    return store_blob_put(st, bytes, len, d->digest, err);
}

int
attest_manifest(struct store *st, const struct oci_desc *image, json_t *const *statements, size_t n,
                json_t **entry, struct lade_error *err)
{
    json_auto_t *layers = json_array(), *diff_ids = json_array(), *config = NULL, *manifest = NULL;
    struct oci_desc d, cdesc, mdesc;

    for (size_t i = 0; i < n; i++) {
        if (attest_json_put(st, statements[i], MT_IN_TOTO, &d, err) < 0)
            return -1;
        json_t *layer = oci_desc_json(&d);
        json_object_set_new(layer, "annotations",
                            json_pack("{s:O}", "in-toto.io/predicate-type",
                                      json_object_get(statements[i], "predicateType")));
        json_array_append_new(layers, layer);
        json_array_append_new(diff_ids, json_string(d.digest));
    }
    config = json_pack("{s:s, s:s, s:{}, s:{s:s, s:O}}", "architecture", "unknown", "os", "unknown",
                       "config", "rootfs", "type", "layers", "diff_ids", diff_ids);
    if (attest_json_put(st, config, MT_OCI_CONFIG, &cdesc, err) < 0)
        return -1;
    manifest = json_pack("{s:i, s:s, s:o, s:O}", "schemaVersion", 2, "mediaType", MT_OCI_MANIFEST,
                         "config", oci_desc_json(&cdesc), "layers", layers);
    if (attest_json_put(st, manifest, MT_OCI_MANIFEST, &mdesc, err) < 0)
        return -1;
    *entry = oci_desc_json(&mdesc);
    json_object_set_new(*entry, "annotations",
                        json_pack("{s:s, s:s}", "vnd.docker.reference.digest", image->digest,
                                  "vnd.docker.reference.type", "attestation-manifest"));
    json_object_set_new(*entry, "platform",
                        json_pack("{s:s, s:s}", "architecture", "unknown", "os", "unknown"));
    return 0;
}
