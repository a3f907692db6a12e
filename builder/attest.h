/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* build --sbom and --provenance: in-toto statements about an image, stored as an attestation
 * manifest the way BuildKit attaches them, so `docker buildx imagetools inspect` finds them: a
 * manifest whose layers are the statements (application/vnd.in-toto+json, annotated with their
 * predicate type), listed in the image index beside the image with platform unknown/unknown and
 * vnd.docker.reference.type=attestation-manifest, vnd.docker.reference.digest=the image. */

#include <jansson.h>
#include <stdbool.h>

#include "../layers/store/store.h"

#define MT_IN_TOTO "application/vnd.in-toto+json"
#define PREDICATE_SPDX "https://spdx.dev/Document"
#define PREDICATE_SLSA1 "https://slsa.dev/provenance/v1"

/* What provenance records. Times are left out (SLSA makes them optional): the statement, like
 * the image, depends on the inputs only. */
struct provenance_input {
    const char *dockerfile_name;   /* "Dockerfile" */
    const char *dockerfile_digest; /* sha256 of its bytes */
    char *const *build_args;       /* "K=V" */
    const char *target;            /* or NULL */
    const char *platform;          /* "linux/amd64" */
    char *const *bases;            /* "NAME@sha256:..." of each FROM image (not stages) */
    const char *version;           /* lade's */
};

struct build_opts;
/* One --sbom, --provenance (flag "sbom", "provenance"; value NULL when given alone) or
 * --attest (flag "attest") option, as buildx reads it, into o->sbom and o->provenance.
 * Errors are LADE_ERR_USAGE. (attest_opts.c) */
int attest_option(struct build_opts *o, const char *flag, const char *value,
                  struct lade_error *err);

/* An image's package URL as BuildKit writes it: pkg:docker/NAME@TAG?platform=linux%2Famd64
 * (name "NAME:TAG", "NAME@DIGEST" or "NAME"); caller frees. */
char *attest_purl(const char *name, const char *platform);

/* The SLSA provenance v1 predicate. */
json_t *provenance_predicate(const struct provenance_input *in);

/* An in-toto statement (v1, as BuildKit writes since v0.22) about subject (name "pkg:docker/...")
 * with predicate (reference stolen). */
json_t *attest_statement(const char *subject_name, const char *subject_digest,
                         const char *predicate_type, json_t *predicate);

/* Stores v's canonical bytes; *d gets the descriptor with media type mt. */
int attest_json_put(struct store *st, const json_t *v, const char *mt, struct oci_desc *d,
                    struct lade_error *err);

/* Stores the statements (each {predicateType, ...} as from attest_statement) as an attestation
 * manifest; *entry gets its index entry (descriptor, unknown/unknown platform, the reference
 * annotations naming image), caller decrefs. */
int attest_manifest(struct store *st, const struct oci_desc *image, json_t *const *statements,
                    size_t n, json_t **entry, struct lade_error *err);
