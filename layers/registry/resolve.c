/* SPDX-License-Identifier: Apache-2.0 */
/* Fetching a manifest or index by tag or digest, verified against its digest before anything
 * reads it (OCI distribution spec, "Pulling manifests"). */
#include "image-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../builder/common/cleanup.h"
#include "../../builder/common/xalloc.h"

#define MT_DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

/* The formats lade reads, most wanted first; schema 1 is left out so that registries able to
 * convert send schema 2. */
static const char ACCEPT[] =
    MT_OCI_INDEX ", " MT_DOCKER_LIST ", " MT_OCI_MANIFEST ", " MT_DOCKER_MANIFEST;

void
reg_manifest_release(struct reg_manifest *m)
{
    free(m->data);
    m->data = NULL;
}

const char *
reg_manifest_media_type(const char *data, size_t len, char *buf, size_t buflen)
{
    json_error_t jerr;
    json_auto_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *mt;

    if (!json_is_object(root))
        return NULL;
    if (json_integer_value(json_object_get(root, "schemaVersion")) == 1)
        mt = MT_DOCKER_SCHEMA1;
    else if ((mt = json_string_value(json_object_get(root, "mediaType"))) == NULL)
        mt = json_object_get(root, "manifests") != NULL ? MT_OCI_INDEX : MT_OCI_MANIFEST;
    snprintf(buf, buflen, "%s", mt);
    return buf;
}

/* The media type without parameters ("application/json; charset=utf-8" -> "application/json"). */
static void
bare_content_type(const char *ct, char *out, size_t outlen)
{
    size_t n = ct ? strcspn(ct, "; \t") : 0;

    snprintf(out, outlen, "%.*s", (int) n, ct ? ct : "");
}

static bool
is_schema1(const char *mt)
{
    return strcmp(mt, MT_DOCKER_SCHEMA1) == 0 || strcmp(mt, MT_DOCKER_SCHEMA1_SIGNED) == 0;
}

static bool
is_known(const char *mt)
{
    return strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0 ||
           strcmp(mt, MT_OCI_MANIFEST) == 0 || strcmp(mt, MT_DOCKER_MANIFEST) == 0;
}

/* The body's digest against what the reference or the registry says it is. */
static int
verify(const struct reg_response *r, const char *reference, const char *what, digest_t got,
       struct lade_error *err)
{
    const char *want = NULL;

    digest_of_mem(r->body ? r->body : "", r->body_len, got);
    if (strncmp(reference, "sha256:", 7) == 0)
        want = reference;
    else if (r->docker_content_digest != NULL &&
             strncmp(r->docker_content_digest, "sha256:", 7) == 0)
        want = r->docker_content_digest; /* other algorithms: nothing lade can check */
    if (want != NULL && strcmp(want, got) != 0)
        return lade_error_set(err, LADE_ERR_NET,
                              "%s: manifest digest mismatch: expected %.80s, the registry sent "
                              "bytes hashing to %s",
                              what, want, got);
    return 0;
}

int
reg_manifest_get(struct reg_client *c, const char *path, const char *reference, const char *what,
                 struct reg_manifest *out, struct lade_error *err)
{
    cleanup_free char *url = xasprintf("/v2/%s/manifests/%s", path, reference);
    cleanup_free char *scope = xasprintf("repository:%s:pull", path);
    struct reg_request rq = {
        .method = "GET", .url = url, .scope = scope, .accept = ACCEPT, .body_fd = -1};
    struct reg_response r = {0};
    char ct[128], sniffed[128];
    const char *mt;
    digest_t got;
    int rc = -1;

    if (reg_do(c, &rq, &r, err) < 0)
        return lade_error_prefix(err, "%s", what);
    if (r.status != 200) {
        reg_status_error(&r, err, "%s: cannot get manifest", what);
        goto out;
    }
    if (r.body_len > REG_MANIFEST_MAX || r.body == NULL) {
        lade_error_set(err, LADE_ERR_NET, "%s: manifest %s", what,
                       r.body ? "is larger than 4 MiB" : "is empty");
        goto out;
    }
    if (verify(&r, reference, what, got, err) < 0)
        goto out;
    /* The body's own mediaType wins over Content-Type, which some registries get wrong. */
    bare_content_type(r.content_type, ct, sizeof(ct));
    mt = reg_manifest_media_type(r.body, r.body_len, sniffed, sizeof(sniffed));
    if (mt == NULL) {
        lade_error_set(err, LADE_ERR_NET, "%s: the manifest is not a JSON object", what);
        goto out;
    }
    if (strcmp(mt, MT_OCI_MANIFEST) == 0 && is_known(ct))
        mt = ct; /* guessed from the fields: the registry's word is better */
    if (is_schema1(mt) || is_schema1(ct)) {
        lade_error_set(err, LADE_ERR_OTHER,
                       "%s: docker schema 1 manifests are not supported (push the image again "
                       "with a current client to convert it)",
                       what);
        goto out;
    }
    if (!is_known(mt)) {
        lade_error_set(err, LADE_ERR_OTHER, "%s: unsupported manifest media type \"%.100s\"", what,
                       mt);
        goto out;
    }
    snprintf(out->desc.media_type, sizeof(out->desc.media_type), "%s", mt);
    memcpy(out->desc.digest, got, sizeof(got));
    out->desc.size = (int64_t) r.body_len;
    out->len = r.body_len;
    out->data = steal_ptr(&r.body);
    rc = 0;
out:
    reg_response_release(&r);
    return rc;
}

struct oci_desc *
reg_manifest_blobs(const struct oci_manifest *m, size_t *n)
{
    struct oci_desc *v = xcalloc(m->nlayers + 1, sizeof(*v));
    size_t k = 0;

    for (size_t i = 0; i <= m->nlayers; i++) {
        const struct oci_desc *d = i == 0 ? &m->config : &m->layers[i - 1];
        bool seen = false;
        for (size_t j = 0; j < k && !seen; j++)
            seen = strcmp(v[j].digest, d->digest) == 0;
        if (!seen)
            v[k++] = *d;
    }
    *n = k;
    return v;
}
