/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Image signatures in cosign's format (sigstore/cosign specs/SIGNATURE_SPEC.md): an ECDSA P-256
 * signature (SHA-256, ASN.1 DER, base64) over a "simple signing" payload that names the image's
 * repository and manifest digest. The payload is a blob of the image's repository; the
 * signature is the annotation dev.cosignproject.cosign/signature of the layer that references
 * it, in the manifest tagged sha256-<hex>.sig (one layer per signature), and, where the registry
 * has the OCI 1.1 referrers API, also in a manifest whose subject is the image.
 *
 * sign.c: keys, the payload and the signature itself (no network); signature.c: pushing and
 * fetching signatures (a registry operation, level 6: registry-internal.h).
 *
 * Verification failures (no signature, none valid, a payload for another image) are
 * LADE_ERR_AUTH (exit 6: refused); unreadable keys LADE_ERR_USAGE or LADE_ERR_IO. */

#include <stdbool.h>
#include <stddef.h>

#include "registry.h"

#define SIGN_PAYLOAD_MEDIA_TYPE "application/vnd.dev.cosign.simplesigning.v1+json"
#define SIGN_ANNOT_SIGNATURE "dev.cosignproject.cosign/signature"
#define SIGN_PAYLOAD_TYPE "cosign container image signature"
/* The artifactType cosign gives signatures attached as OCI 1.1 referrers. */
#define SIGN_ARTIFACT_TYPE "application/vnd.dev.cosign.artifact.sig.v1+json"
/* The OCI 1.1 empty descriptor's media type (its blob is "{}"), a referrer's config. */
#define SIGN_MT_EMPTY "application/vnd.oci.empty.v1+json"
/* "sha256:" and 64 hex digits. */
#define SIGN_FINGERPRINT_LEN 72

/* ---- keys (sign.c) ---- */

struct sign_key; /* an ECDSA P-256 key: private (can sign) or public only */
void sign_key_free(struct sign_key *k);

/* Writes a new P-256 key pair: PREFIX.key (PKCS#8 PEM, mode 0600; encrypted with AES-256-CBC
 * and PBKDF2 when password is non-empty) and PREFIX.pub (SubjectPublicKeyInfo PEM, what cosign
 * and openssl read as a public key). Refuses to replace an existing file. */
int sign_key_generate(const char *prefix, const char *password, struct lade_error *err);
/* Reads a private key written by sign_key_generate (or any PKCS#8 / SEC1 PEM P-256 key);
 * password may be NULL. An encrypted key without a password, or with a wrong one, is an error
 * that says so; another curve or algorithm is LADE_ERR_USAGE. */
int sign_key_load_private(const char *path, const char *password, struct sign_key **out,
                          struct lade_error *err);
/* Reads a public key PEM (PREFIX.pub, cosign.pub). */
int sign_key_load_public(const char *path, struct sign_key **out, struct lade_error *err);
/* "sha256:" + hex SHA-256 of the DER public key (as `openssl pkey -pubout -outform DER |
 * sha256sum` prints it); out >= SIGN_FINGERPRINT_LEN bytes. */
void sign_key_fingerprint(const struct sign_key *k, char *out, size_t outlen);

/* ---- payload and signature (sign.c) ---- */

/* The simple signing payload for the image repo@digest, as cosign writes it (compact, keys in
 * cosign's order, "optional": null); caller frees, *len set. */
char *sign_payload_new(const char *repo, const char *digest, size_t *len);
/* Checks a payload against the image: its type, that its docker-manifest-digest is digest and
 * its docker-reference is repo (docker.io and index.docker.io are one registry). Keys are
 * matched without regard to case, as cosign's Go decoder does. LADE_ERR_AUTH naming the
 * difference otherwise. */
int sign_payload_check(const char *data, size_t len, const char *repo, const char *digest,
                       struct lade_error *err);
/* The base64 of the DER ECDSA-SHA256 signature of data with a private key; caller frees. */
char *sign_data(const struct sign_key *k, const void *data, size_t len, struct lade_error *err);
/* 0 when b64sig is a valid signature of data by k; -1 with LADE_ERR_AUTH otherwise (also for a
 * signature that is not base64 or not DER). */
int sign_data_verify(const struct sign_key *k, const void *data, size_t len, const char *b64sig,
                     struct lade_error *err);

/* ---- the manifests (sign.c; pushed by signature.c) ---- */

/* A signature layer: the payload's descriptor with the signature in its annotation. */
json_t *sign_layer_new(const struct oci_desc *payload, const char *b64sig);
/* The config of a .sig manifest: empty os and architecture, go's zero time, the payloads'
 * digests as rootfs.diff_ids (they are uncompressed layers), as cosign's images have it. */
json_t *sign_config_new(const json_t *layers);
/* An OCI image manifest over config and layers (borrowed: the result takes its own reference);
 * with subject, an OCI 1.1 referrer of it, artifactType SIGN_ARTIFACT_TYPE. */
json_t *sign_manifest_new(const struct oci_desc *config, json_t *layers,
                          const struct oci_desc *subject);

/* ---- in the registry (signature.c) ---- */

struct sign_result {
    struct oci_desc image; /* the signed manifest (or index): what the reference resolved to */
    digest_t sig_manifest; /* the manifest pushed to the sha256-<hex>.sig tag */
    size_t nsignatures;    /* layers of that manifest, the new one included */
    bool appended;         /* an existing .sig manifest was extended (false: a new one) */
    bool duplicate;        /* the same signature was already there: nothing was added */
    bool referrer;         /* also pushed as an OCI 1.1 referrer */
    long referrers_status; /* the status of GET /v2/NAME/referrers/DIGEST (404: unsupported) */
    digest_t referrer_manifest;
};
/* Signs what ref names (a tag is resolved to its manifest digest first; with digest set, that
 * digest is signed and must be what ref resolves to) and pushes the signature to ref's
 * repository: the payload blob, the .sig manifest (an existing one keeps its signatures and gets
 * this one appended, as cosign does), and the referrer when the registry supports the referrers
 * API. */
int registry_sign(const struct image_ref *ref, const char *digest, const struct sign_key *key,
                  const struct registry_opts *opts, struct sign_result *out,
                  struct lade_error *err);

struct verify_result {
    struct oci_desc image; /* what ref resolves to now, the digest the signatures must name */
    size_t nvalid;         /* signatures by the key whose payload names this image */
    size_t ntotal;         /* signatures in the .sig manifest */
    char fingerprint[SIGN_FINGERPRINT_LEN];
};
/* Verifies the signatures of what ref names with the public key: resolves ref, fetches the
 * sha256-<hex>.sig manifest and each payload (checked against its digest), and counts the
 * signatures that verify and whose payload names this digest and repository. 0 when at least
 * one does; LADE_ERR_AUTH otherwise, saying why each signature failed; LADE_ERR_NET when the
 * registry could not be asked. */
int registry_verify(const struct image_ref *ref, const struct sign_key *key,
                    const struct registry_opts *opts, struct verify_result *out,
                    struct lade_error *err);
