/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The build cache beyond this store (--cache-from, --cache-to): records as an OCI artifact.
 *
 * The artifact is an OCI image manifest whose config (media type MT_LADE_CACHE, also its
 * artifactType) lists records {"key", "layer": {diff_id, digest, mediaType, size} | null}
 * sorted by key, and whose layers are the layer blobs those records name. It lives in a
 * registry (type=registry, pushed and pulled with layers/registry) or in an OCI layout
 * directory (type=local, index.json naming it with its tag).
 *
 * Imported records are one more source of key -> layer after the local store (cache.c); the
 * keys are the local ones, unchanged. A hit on an imported record needs no blob: the layer's
 * blob is fetched when a later step mounts the stage (stage_layers_ready) or when the image is
 * written (cache_import_fetch), so a fully cached build downloads the final image's layers
 * and nothing of other stages. */

#include "cache_spec.h"
#include "stage.h"

#define MT_LADE_CACHE "application/vnd.lade.cache.v1+json"

/* Build-wide state: the imported records and where they came from, and the records this build
 * used or made (for --cache-to). Thread-safe. */
struct cache_transfer;

/* ---- cache_import.c ---- */
/* Creates b->shared->xfer when there is a --cache-from or a --cache-to, and imports every
 * --cache-from. A source that cannot be read (missing ref, network, damaged) is a warning on
 * the progress output, as BuildKit warns; the build goes on without it. */
int cache_transfer_start(struct build *b, struct lade_error *err);
void cache_transfer_free(struct cache_transfer *x);
/* An imported record for key (a digest): true with *l as cache_lookup gives it (l->dir NULL;
 * the blob may be in a source only). */
bool cache_import_lookup(struct build *b, const char *key, struct layer_state *l);
/* Makes sure the blob is in the store, fetched from the --cache-from that lists it when not. */
int cache_import_fetch(struct build *b, const struct oci_desc *blob, struct lade_error *err);
/* Notes that the stage's record (its key -> l, NULL for no layer) was used or made. */
void cache_transfer_note(struct build *b, const struct stage_state *ss,
                         const struct layer_state *l);

/* ---- cache_export.c ---- */
/* Writes every --cache-to: mode=min the records of the target stage and of the stages it is
 * built FROM, mode=max every record of the build. A failed export is an error (its registry
 * exit code) unless ignore-error=true, then a warning. */
int cache_export(struct build *b, struct lade_error *err);

/* Internal to cache_import.c and cache_export.c. */
struct cache_rec {
    digest_t key;
    bool has_layer;
    digest_t diff_id;
    struct oci_desc blob;
    size_t where; /* import: the source's index; export: the stage's index */
};
/* Sorts by key and keeps each key once (of equal keys, the one with the lowest where). */
void cache_recs_sort_unique(struct cache_rec *v, size_t *n);
/* The records this build noted, in no order, a key maybe more than once; caller frees. */
struct cache_rec *cache_transfer_noted(struct build *b, size_t *n);
/* Records as the artifact's config JSON (new reference), and back. */
json_t *cache_recs_to_json(const struct cache_rec *recs, size_t n);
int cache_recs_from_json(const json_t *root, struct cache_rec **recs, size_t *n,
                         struct lade_error *err);

/* ---- cache_layout.c: an OCI layout directory (type=local) ---- */
/* Copies the manifest that dir's index.json names tag (or its only manifest, for "latest")
 * and its config into the store, each verified; *manifest describes it. */
int cache_layout_load(struct store *st, const char *dir, const char *tag, struct oci_desc *manifest,
                      struct lade_error *err);
/* Copies dir/blobs/sha256/HEX of d into the store, verified. */
int cache_layout_blob_in(struct store *st, const char *dir, const struct oci_desc *d,
                         struct lade_error *err);
/* Writes the manifest (in the store) and every blob it names into dir (created as an OCI
 * layout when missing; blobs there already are kept) and names it tag in index.json. */
int cache_layout_save(struct store *st, const char *dir, const char *tag,
                      const struct oci_desc *manifest, struct lade_error *err);
/* True when blob came from a --cache-from registry repository that is ref's (the blob is
 * there already, for an export to ref). */
bool cache_import_same_repo(struct build *b, const struct oci_desc *blob, const char *ref);
