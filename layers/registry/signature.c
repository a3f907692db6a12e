/* SPDX-License-Identifier: Apache-2.0 */
/* Signatures in the registry, where cosign keeps them (specs/SIGNATURE_SPEC.md, "Storage"): the
 * manifest tagged sha256-<hex>.sig in the image's repository, one layer per signature (the
 * payload blob, the signature in its annotation), and, on registries with the OCI 1.1 referrers
 * API (distribution-spec v1.1 "Listing Referrers"), a manifest whose subject is the image. */
#include "sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image-internal.h"
#include "../../builder/common/cleanup.h"
#include "../../builder/common/xalloc.h"

#define PAYLOAD_MAX (1u << 20) /* cosign's payloads are a few hundred bytes */
#define MANIFEST_ACCEPT MT_OCI_MANIFEST ", " MT_DOCKER_MANIFEST

/* What one signing or verification talks about. */
struct target {
    struct reg_client *c;
    const struct image_ref *ref;
    char *what;  /* "host/path:tag" for errors */
    char *repo;  /* "host/path": the payload's docker-reference */
    char *scope; /* pull (verify) or pull,push (sign) */
    char sig_tag[80];
    struct oci_desc image;
};

static void
target_release(struct target *t)
{
    reg_client_free(t->c);
    free(t->what);
    free(t->repo);
    free(t->scope);
}

/* Connects and resolves ref to the manifest (or index) digest it names now. */
static int
target_open(struct target *t, const struct image_ref *ref, const struct registry_opts *opts,
            bool push, struct lade_error *err)
{
    struct reg_manifest m = {0};

    t->ref = ref;
    t->what = image_ref_string(ref);
    t->repo = image_ref_repo(ref);
    t->scope = xasprintf("repository:%s:%s", ref->path, push ? "pull,push" : "pull");
    if (ref->tag == NULL && ref->digest == NULL)
        return lade_error_set(err, LADE_ERR_USAGE, "%s: no tag or digest", t->what);
    if (reg_client_new(ref->domain, opts, &t->c, err) < 0 ||
        reg_manifest_get(t->c, ref->path, ref->digest ? ref->digest : ref->tag, t->what, &m, err) <
            0)
        return -1;
    t->image = m.desc;
    reg_manifest_release(&m);
    /* the tag scheme: "sha256:HEX" -> "sha256-HEX.sig" */
    snprintf(t->sig_tag, sizeof(t->sig_tag), "sha256-%s.sig", t->image.digest + 7);
    return 0;
}

/* 1 when the repository has a manifest under reference, 0 when not (404), -1 on error. */
static int
manifest_exists(struct target *t, const char *reference, struct lade_error *err)
{
    cleanup_free char *url = xasprintf("/v2/%s/manifests/%s", t->ref->path, reference);
    struct reg_request rq = {
        .method = "HEAD", .url = url, .scope = t->scope, .accept = MANIFEST_ACCEPT, .body_fd = -1};
    struct reg_response r = {0};
    int rc;

    if (reg_do(t->c, &rq, &r, err) < 0)
        return lade_error_prefix(err, "%s: cannot look for %s", t->what, reference);
    rc = r.status == 200 ? 1 : r.status == 404 ? 0 : -1;
    if (rc < 0)
        reg_status_error(&r, err, "%s: cannot look for %s", t->what, reference);
    reg_response_release(&r);
    return rc;
}

/* A small blob into memory, checked against d's size and digest; caller frees *out. */
static int
blob_get(struct target *t, const struct oci_desc *d, char **out, struct lade_error *err)
{
    cleanup_free char *url = xasprintf("/v2/%s/blobs/%s", t->ref->path, d->digest);
    struct reg_request rq = {
        .method = "GET", .url = url, .scope = t->scope, .body_fd = -1, .follow = true};
    struct reg_response r = {0};
    digest_t got;
    int rc = -1;

    if (d->size < 0 || (uint64_t) d->size > PAYLOAD_MAX)
        return lade_error_set(err, LADE_ERR_AUTH, "payload %s: size %lld is out of bounds",
                              d->digest, (long long) d->size);
    if (reg_do(t->c, &rq, &r, err) < 0)
        return lade_error_prefix(err, "payload %s", d->digest);
    if (r.status != 200) {
        reg_status_error(&r, err, "cannot get payload %s", d->digest);
        goto out;
    }
    digest_of_mem(r.body ? r.body : "", r.body_len, got);
    if (r.body_len != (size_t) d->size || strcmp(got, d->digest) != 0) {
        lade_error_set(err, LADE_ERR_AUTH, "payload %s: the registry sent other bytes (%s)",
                       d->digest, got);
        goto out;
    }
    *out = r.body ? steal_ptr(&r.body) : xstrdup("");
    rc = 0;
out:
    reg_response_release(&r);
    return rc;
}

/* Uploads a JSON value's canonical bytes as a blob of media type mt; *d describes it. */
static int
put_json_blob(struct target *t, const json_t *v, const char *mt, struct oci_desc *d,
              struct lade_error *err)
{
    size_t len = 0;
    cleanup_free char *data = oci_json_dump(v, &len);

    snprintf(d->media_type, sizeof(d->media_type), "%s", mt);
    digest_of_mem(data, len, d->digest);
    d->size = (int64_t) len;
    return reg_blob_put_mem(t->c, t->ref, d, data, err);
}

/* PUTs manifest m (a JSON object) under tag, or by its digest when tag is NULL. */
static int
put_manifest_json(struct target *t, const json_t *m, const char *tag, digest_t out,
                  struct lade_error *err)
{
    size_t len = 0;
    cleanup_free char *data = oci_json_dump(m, &len);
    struct oci_desc d = {.media_type = MT_OCI_MANIFEST, .size = (int64_t) len};
    struct image_ref dest = {.domain = t->ref->domain, .path = t->ref->path, .tag = (char *) tag};

    digest_of_mem(data, len, d.digest);
    if (tag == NULL)
        dest.digest = d.digest;
    if (reg_manifest_put(t->c, &dest, data, len, &d, err) < 0)
        return -1;
    memcpy(out, d.digest, sizeof(digest_t));
    return 0;
}

/* The layers array of the manifest under the .sig tag (a new reference), or an empty array when
 * there is none. */
static json_t *
existing_layers(struct target *t, struct lade_error *err)
{
    struct reg_manifest m = {0};
    int rc = manifest_exists(t, t->sig_tag, err);

    if (rc <= 0)
        return rc < 0 ? NULL : json_array();
    if (reg_manifest_get(t->c, t->ref->path, t->sig_tag, t->what, &m, err) < 0)
        return NULL;
    json_auto_t *root = oci_json_parse(m.data, m.len, t->sig_tag, err);
    reg_manifest_release(&m);
    json_t *layers = root ? json_object_get(root, "layers") : NULL;
    if (root != NULL && !json_is_array(layers))
        lade_error_set(err, LADE_ERR_NET, "%s: manifest %s has no layers", t->what, t->sig_tag);
    return json_is_array(layers) ? json_incref(layers) : NULL;
}

/* True when layers has a layer for the same payload with the same signature. */
static bool
has_signature(const json_t *layers, const char *digest, const char *b64sig)
{
    size_t i;
    json_t *l;

    json_array_foreach(layers, i, l)
    {
        const char *d = json_string_value(json_object_get(l, "digest"));
        const char *s = json_string_value(
            json_object_get(json_object_get(l, "annotations"), SIGN_ANNOT_SIGNATURE));
        if (d && s && strcmp(d, digest) == 0 && strcmp(s, b64sig) == 0)
            return true;
    }
    return false;
}

/* The .sig manifest over layers (its config first). */
static int
push_sig_manifest(struct target *t, json_t *layers, digest_t out, struct lade_error *err)
{
    json_auto_t *cfg = sign_config_new(layers);
    struct oci_desc cd;

    if (put_json_blob(t, cfg, MT_OCI_CONFIG, &cd, err) < 0)
        return -1;
    json_auto_t *m = sign_manifest_new(&cd, layers, NULL);
    return put_manifest_json(t, m, t->sig_tag, out, err);
}

/* GET /v2/NAME/referrers/DIGEST?artifactType=SIGN_ARTIFACT_TYPE: *status (200: the registry has
 * the API; distribution 2.8 answers 404) and, with 200, the index's "manifests" (a new
 * reference, NULL otherwise). -1 when no answer came. */
static int
referrers_list(struct target *t, long *status, json_t **manifests, struct lade_error *err)
{
    cleanup_free char *url = xasprintf("/v2/%s/referrers/%s?artifactType=%s", t->ref->path,
                                       t->image.digest, SIGN_ARTIFACT_TYPE);
    struct reg_request rq = {
        .method = "GET", .url = url, .scope = t->scope, .accept = MT_OCI_INDEX, .body_fd = -1};
    struct reg_response r = {0};
    struct lade_error ignored = {0};

    if (reg_do(t->c, &rq, &r, err) < 0)
        return lade_error_prefix(err, "%s: referrers API", t->what);
    *status = r.status;
    *manifests = NULL;
    if (r.status == 200 && r.body != NULL) {
        json_auto_t *index = oci_json_parse(r.body, r.body_len, "referrers", &ignored);
        json_t *m = json_object_get(index, "manifests");
        if (json_is_array(m)) /* a malformed list is no signature, not an error */
            *manifests = json_incref(m);
    }
    reg_response_release(&r);
    return 0;
}

/* The signature as an OCI 1.1 referrer: the empty config, subject the image. */
static int
push_referrer(struct target *t, json_t *layer, digest_t out, struct lade_error *err)
{
    json_auto_t *empty = json_object();
    json_auto_t *layers = json_pack("[O]", layer);
    struct oci_desc cd;

    if (put_json_blob(t, empty, SIGN_MT_EMPTY, &cd, err) < 0)
        return -1;
    json_auto_t *m = sign_manifest_new(&cd, layers, &t->image);
    return put_manifest_json(t, m, NULL, out, err);
}

static int
sign_target(struct target *t, const char *digest, const struct sign_key *key,
            struct sign_result *out, struct lade_error *err)
{
    struct oci_desc pd = {.media_type = SIGN_PAYLOAD_MEDIA_TYPE};
    size_t plen = 0;

    if (digest != NULL && strcmp(digest, t->image.digest) != 0)
        return lade_error_set(err, LADE_ERR_NET,
                              "%s is now %s, not the pushed %s: not signing what someone else "
                              "pushed",
                              t->what, t->image.digest, digest);
    cleanup_free char *payload = sign_payload_new(t->repo, t->image.digest, &plen);
    cleanup_free char *sig = sign_data(key, payload, plen, err);
    if (sig == NULL)
        return -1;
    digest_of_mem(payload, plen, pd.digest);
    pd.size = (int64_t) plen;
    if (reg_blob_put_mem(t->c, t->ref, &pd, payload, err) < 0)
        return lade_error_prefix(err, "%s: signature payload", t->what);
    json_auto_t *layer = sign_layer_new(&pd, sig);
    json_auto_t *layers = existing_layers(t, err);
    if (layers == NULL)
        return -1;
    out->image = t->image;
    out->appended = json_array_size(layers) > 0;
    out->duplicate = has_signature(layers, pd.digest, sig);
    if (!out->duplicate)
        json_array_append(layers, layer);
    out->nsignatures = json_array_size(layers);
    if (push_sig_manifest(t, layers, out->sig_manifest, err) < 0)
        return lade_error_prefix(err, "%s: signature manifest", t->what);
    json_auto_t *listed = NULL;
    long status = 0;
    if (referrers_list(t, &status, &listed, err) < 0)
        return -1;
    out->referrers_status = status;
    if (status == 200) {
        if (push_referrer(t, layer, out->referrer_manifest, err) < 0)
            return lade_error_prefix(err, "%s: signature referrer", t->what);
        out->referrer = true;
    }
    return 0;
}

int
registry_sign(const struct image_ref *ref, const char *digest, const struct sign_key *key,
              const struct registry_opts *opts, struct sign_result *out, struct lade_error *err)
{
    struct target t = {0};
    struct sign_result res = {0};
    int rc = -1;

    if (target_open(&t, ref, opts, true, err) == 0 &&
        sign_target(&t, digest, key, &res, err) == 0) {
        *out = res;
        rc = 0;
    }
    target_release(&t);
    return rc;
}

/* Appends to layers the layers of the signature referrers of t's image (a registry where only
 * those were written, as cosign's OCI 1.1 mode does); *status is the referrers API's. Each
 * listed manifest is fetched by digest (so verified) and must have the image as its subject. */
static int
referrer_layers(struct target *t, json_t *layers, long *status, struct lade_error *err)
{
    json_auto_t *listed = NULL;
    size_t i;
    json_t *entry;

    if (referrers_list(t, status, &listed, err) < 0)
        return -1;
    json_array_foreach(listed, i, entry)
    {
        const char *digest = json_string_value(json_object_get(entry, "digest"));
        const char *at = json_string_value(json_object_get(entry, "artifactType"));
        struct reg_manifest m = {0};
        if (digest == NULL || at == NULL || strcmp(at, SIGN_ARTIFACT_TYPE) != 0)
            continue; /* the registry may not filter */
        if (reg_manifest_get(t->c, t->ref->path, digest, t->what, &m, err) < 0)
            return -1;
        json_auto_t *root = oci_json_parse(m.data, m.len, digest, NULL);
        reg_manifest_release(&m);
        const char *subject =
            json_string_value(json_object_get(json_object_get(root, "subject"), "digest"));
        json_t *ls = json_object_get(root, "layers");
        if (subject != NULL && strcmp(subject, t->image.digest) == 0 && json_is_array(ls))
            json_array_extend(layers, ls);
    }
    return 0;
}

/* Why signature number n failed, appended to the list in why. */
static void
note_failure(char *why, size_t whylen, size_t n, const struct lade_error *e)
{
    size_t used = strlen(why);

    /* a long list is cut: the first reasons are the ones a user reads */
    if (used + 8 < whylen && snprintf(why + used, whylen - used, "%ssignature %zu: %.300s",
                                      used ? "; " : "", n, e->msg) < 0)
        why[used] = '\0';
}

/* 0 when the layer is a signature by key of t's image, else -1 with err saying why. */
static int
check_layer(struct target *t, const json_t *layer, const struct sign_key *key,
            struct lade_error *err)
{
    struct oci_desc d;
    cleanup_free char *payload = NULL;
    const char *sig = json_string_value(
        json_object_get(json_object_get(layer, "annotations"), SIGN_ANNOT_SIGNATURE));

    if (oci_desc_parse(layer, "layer", &d, err) < 0)
        return lade_error_recode(err, LADE_ERR_AUTH);
    if (strcmp(d.media_type, SIGN_PAYLOAD_MEDIA_TYPE) != 0)
        return lade_error_set(err, LADE_ERR_AUTH, "media type \"%s\" is no simple signing payload",
                              d.media_type);
    if (sig == NULL)
        return lade_error_set(err, LADE_ERR_AUTH, "no %s annotation", SIGN_ANNOT_SIGNATURE);
    if (blob_get(t, &d, &payload, err) < 0 ||
        sign_data_verify(key, payload, (size_t) d.size, sig, err) < 0)
        return -1;
    return sign_payload_check(payload, (size_t) d.size, t->repo, t->image.digest, err);
}

static int
verify_target(struct target *t, const struct sign_key *key, struct verify_result *out,
              struct lade_error *err)
{
    char why[700] = "";
    size_t i;
    json_t *l;

    long status = 0;
    json_auto_t *layers = existing_layers(t, err);
    if (layers == NULL ||
        (json_array_size(layers) == 0 && referrer_layers(t, layers, &status, err) < 0))
        return -1;
    out->image = t->image;
    out->ntotal = json_array_size(layers);
    sign_key_fingerprint(key, out->fingerprint, sizeof(out->fingerprint));
    if (out->ntotal == 0)
        return lade_error_set(err, LADE_ERR_AUTH,
                              "%s (%s) is not signed: the repository has no tag %s%s", t->what,
                              t->image.digest, t->sig_tag,
                              status == 200 ? " and the registry lists no signature referrer" : "");
    json_array_foreach(layers, i, l)
    {
        struct lade_error e = {0};
        if (check_layer(t, l, key, &e) == 0)
            out->nvalid++;
        else if (e.code != LADE_ERR_AUTH) { /* the registry failed: no verdict */
            *err = e;
            return lade_error_prefix(err, "%s: signature %zu", t->what, i + 1);
        } else
            note_failure(why, sizeof(why), i + 1, &e);
    }
    if (out->nvalid == 0)
        return lade_error_set(err, LADE_ERR_AUTH,
                              "%s (%s): no valid signature by key %s among %zu: %s", t->what,
                              t->image.digest, out->fingerprint, out->ntotal, why);
    return 0;
}

int
registry_verify(const struct image_ref *ref, const struct sign_key *key,
                const struct registry_opts *opts, struct verify_result *out, struct lade_error *err)
{
    struct target t = {0};
    struct verify_result res = {0};
    int rc = -1;

    if (target_open(&t, ref, opts, false, err) == 0 && verify_target(&t, key, &res, err) == 0) {
        *out = res;
        rc = 0;
    }
    target_release(&t);
    return rc;
}
