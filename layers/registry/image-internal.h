/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Level 6 of the registry client, the operations: what pull.c and push.c share (resolve.c,
 * jobs.c): fetching a verified manifest,
 * and the pool that moves blobs in parallel. These files may call each other and the levels
 * below as registry-internal.h offers them (reg_client_new, reg_do, reg_status_error), never
 * client.h's inside (the levels: registry-internal.h). */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "registry-internal.h"

/* ---- manifests (resolve.c) ---- */

#define REG_MANIFEST_MAX (4u << 20) /* containerd's limit too */

/* A manifest or index as the registry sent it. */
struct reg_manifest {
    char *data; /* the exact bytes, NUL-terminated */
    size_t len;
    struct oci_desc desc; /* media type, digest of data, size */
};
void reg_manifest_release(struct reg_manifest *m);
/* GETs /v2/PATH/manifests/REFERENCE (a tag or a digest) accepting OCI and docker schema 2
 * manifests and indexes, and verifies the bytes: a digest reference must be their digest, a
 * tag their Docker-Content-Digest when the registry sent one. Schema 1 is refused. what names
 * the image in errors. */
int reg_manifest_get(struct reg_client *c, const char *path, const char *reference,
                     const char *what, struct reg_manifest *out, struct lade_error *err);
/* The media type of manifest bytes: their "mediaType", else guessed from the fields ("manifests":
 * an OCI index, else an OCI manifest). NULL when it is no JSON object. */
const char *reg_manifest_media_type(const char *data, size_t len, char *buf, size_t buflen);

/* The blobs of m: the config, then the layers, each digest once; *n set, caller frees. */
struct oci_desc *reg_manifest_blobs(const struct oci_manifest *m, size_t *n);

/* ---- small uploads (push.c) ---- */

/* Uploads a blob held in memory (d: its digest and size) to dest's repository, unless the
 * registry has it already (HEAD first); one monolithic PUT. */
int reg_blob_put_mem(struct reg_client *c, const struct image_ref *dest, const struct oci_desc *d,
                     const void *data, struct lade_error *err);
/* PUTs manifest bytes (m: media type, digest) as dest's tag, or its digest when it has no tag;
 * the registry must store them as they are (its Docker-Content-Digest is checked). */
int reg_manifest_put(struct reg_client *c, const struct image_ref *dest, const char *data,
                     size_t len, const struct oci_desc *m, struct lade_error *err);

/* ---- parallel blob jobs (jobs.c) ---- */

/* Runs job(ctx, i) for i in [0, n) on up to parallel threads. The first failure wins: its error
 * goes to err, *stop is set so running jobs can give up early, and no new job starts. */
struct reg_jobs {
    atomic_bool stop;
};
typedef int (*reg_job_fn)(void *ctx, size_t i, struct reg_jobs *jobs, struct lade_error *err);
int reg_jobs_run(size_t n, unsigned parallel, reg_job_fn job, void *ctx, struct lade_error *err);

/* Reports an event to the progress callback of opts (when there is one). */
void reg_event(const struct registry_opts *opts, enum registry_event_kind kind, const char *digest,
               uint64_t done, uint64_t total, const char *text);
