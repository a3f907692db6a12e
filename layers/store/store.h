/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The store under --root (DESIGN.md "The store"):
 *   oci/        an OCI image layout (oci-layout, index.json, blobs/sha256/HEX); tags are the
 *               org.opencontainers.image.ref.name annotation holding the full normalised name
 *   layers/ID/  extracted layer trees used as overlay lower dirs (ID: hex of the chain id), each
 *               with "diff" (the tree), "diff_id" and "blob" (the compressed digest) beside it
 *   cache/      build cache records
 *   sources/HEX the repositories a blob is known in (push mounts it from them)
 *   cachemounts/NAME[.N]/{data,lock}  RUN --mount=type=cache directories (cachemount.c);
 *               they persist between builds; lade prune removes idle ones (gc.c); an
 *               instance's mtime is its last use
 *   tmp/        staging: every write lands here and is renamed into place after fsync
 *   use         flocked shared by every lade process from store_open to store_free, and
 *               exclusively by garbage collection (gc.c)
 * Index updates take an exclusive flock on ROOT/lock; blobs are immutable. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../layers.h"
#include "../oci/oci.h"

struct store;

/* Opens (creating as needed) the store at root. */
int store_open(const char *root, struct store **out, struct lade_error *err);
void store_free(struct store *st);
const char *store_root(const struct store *st);
/* A directory fd for ROOT (borrowed). */
int store_root_fd(const struct store *st);

/* ---- staging ---- */
/* Creates a new empty file in tmp/; *path (absolute, caller frees) and *fd (caller closes). */
int store_tmp_file(struct store *st, char **path, int *fd, struct lade_error *err);
/* Creates a new empty directory in tmp/; *path absolute, caller frees (and removes). */
int store_tmp_dir(struct store *st, char **path, struct lade_error *err);
/* Writes data to a new file (0644) in tmp/, fsyncs it, renames it to dirfd/name (name may
 * hold slashes) and fsyncs dirfd. A kill at any moment leaves either the old file or the new
 * one, and at most a tmp/ entry that the next store_open sweeps: never a NAME.tmp file beside
 * the target, which nothing would remove. */
int store_write_atomic(struct store *st, int dirfd, const char *name, const void *data, size_t len,
                       struct lade_error *err);

/* ---- blobs ---- */
/* fsyncs the staged file at tmp_path and renames it to blobs/sha256/HEX of digest. If the blob
 * exists already the staged file is removed. The caller vouches for digest (it hashed the bytes
 * while writing them). The staged file is consumed: on failure it is removed too. */
int store_blob_commit(struct store *st, const char *tmp_path, const char *digest,
                      struct lade_error *err);
/* Stores bytes (configs, manifests), computing their digest into digest_out. */
int store_blob_put(struct store *st, const void *data, size_t len, digest_t digest_out,
                   struct lade_error *err);
bool store_blob_exists(struct store *st, const char *digest);
/* O_RDONLY fd of a blob; error naming the digest when missing. */
int store_blob_open(struct store *st, const char *digest, struct lade_error *err);
/* Reads a small blob (at most max bytes, 0: no cap) and checks it hashes to digest; *data is
 * NUL-terminated, caller frees. */
int store_blob_read(struct store *st, const char *digest, size_t max, char **data, size_t *len,
                    struct lade_error *err);
/* Absolute path of a blob (it may not exist); caller frees. NULL for an invalid digest. */
char *store_blob_path(struct store *st, const char *digest);

/* ---- tags (index.json) ---- */
/* Points name (a full normalised reference, "docker.io/library/app:1") at the manifest desc,
 * replacing an older entry of that name. */
int store_tag_set(struct store *st, const char *name, const struct oci_desc *manifest,
                  struct lade_error *err);
/* 0 and *out filled when found; -1 with an error naming the image when not. */
int store_tag_get(struct store *st, const char *name, struct oci_desc *out, struct lade_error *err);
int store_tag_remove(struct store *st, const char *name, struct lade_error *err);
struct store_tag {
    char *name;
    struct oci_desc manifest;
};
/* All tags, in index order; free with store_tags_free. */
int store_tags_list(struct store *st, struct store_tag **tags, size_t *n, struct lade_error *err);
void store_tags_free(struct store_tag *tags, size_t n);

/* ---- images ---- */
/* Loads the manifest and config of a tagged image (exact full name), of a manifest digest
 * ("sha256:..."; untagged ones too), or of a unique prefix (4+ hex digits, "sha256:" optional) of
 * a tagged image's manifest or config digest (docker's image ID is the config digest). */
struct store_image {
    struct oci_desc manifest_desc; /* the platform's manifest */
    struct oci_desc index_desc;    /* the index the name points at; size 0 when it names a
                                      manifest (a single-platform image) */
    struct oci_manifest manifest;
    json_t *config; /* owned */
};
int store_image_load(struct store *st, const char *name_or_digest, struct store_image *out,
                     struct lade_error *err);
/* store_image_load for an image whose name may point at an index (a multi-platform image): the
 * index's manifest for platform ("os/arch[/variant]"; NULL: the host's) is loaded, as docker
 * and podman pick the host's; none for it is an error listing the index's platforms. */
int store_image_load_platform(struct store *st, const char *name_or_digest, const char *platform,
                              struct store_image *out, struct lade_error *err);
/* What the image's name points at: the index of a multi-platform image, else the manifest. */
const struct oci_desc *store_image_top(const struct store_image *img);
/* What a user typed ("app:1", "sha256:...", an ID prefix like "3f2a1b"): the name normalised as
 * docker does (image_ref_parse) first, then the text as given. Errors name the text typed. */
int store_image_lookup(struct store *st, const char *user_text, struct store_image *out,
                       struct lade_error *err);
void store_image_release(struct store_image *img);

/* ---- extracted layers ---- */
/* Ensures layers/HEX(chain_id)/diff holds the extracted layer whose compressed blob is
 * blob_digest and whose diff_id is diff_id (verified while extracting); extraction goes to tmp/
 * and is renamed into place, so a crash never leaves a half tree. *dir (absolute path of the
 * "diff" directory) caller frees. */
int store_layer_dir(struct store *st, const char *chain_id, const char *diff_id,
                    const char *blob_digest, char **dir, struct lade_error *err);
/* Whether layers/HEX(chain_id)/diff holds the layer's tree, without extracting anything. */
bool store_layer_present(struct store *st, const char *chain_id);
/* Moves an already extracted tree (e.g. an overlay upper dir just committed as a layer) into
 * layers/HEX(chain_id)/diff, recording diff_id and blob beside it. If that layer exists, the
 * tree at tree_path is removed instead. *dir as above. */
int store_layer_adopt(struct store *st, const char *chain_id, const char *diff_id,
                      const char *blob_digest, const char *tree_path, char **dir,
                      struct lade_error *err);

/* ---- blob sources (sources.c) ---- */
/* Records that blob digest exists in repository repo ("domain/path"), for cross-repository
 * mounts on push. Newest first, a few kept per blob; a hint, never trusted for content. */
int store_source_add(struct store *st, const char *digest, const char *repo,
                     struct lade_error *err);
/* The repositories digest is known in, newest first: a NULL-terminated vector (strv_free), or
 * NULL when none is known. */
char **store_sources_get(struct store *st, const char *digest);

/* ---- garbage collection (gc.c) ---- */
/* Taken by store_open: the store is in use by this process until store_free. */
int store_use_shared(struct store *st, struct lade_error *err);
/* Waits (wait false: does not wait) until no other lade process uses the store, saying so on
 * stderr when it has to, then holds it alone until store_free: call before store_gc. 1 when
 * held, 0 when not (only without wait), -1 on error. */
int store_use_exclusive(struct store *st, bool wait, struct lade_error *err);
/* Appends to *keep the digests the index reaches: every manifest (and an index's manifests),
 * config and layer blob. */
int store_index_blobs(struct store *st, char ***keep, struct lade_error *err);
struct store_usage {
    uint64_t count, bytes; /* bytes on disk */
};
struct store_gc_result {
    struct store_usage blobs, layers, mounts;
};
/* Removes (dry: only counts) the blobs whose digest is not in keep, with their sources, and the
 * extracted layers whose blob is not in keep. *total: what there was (the bytes of kept
 * extracted layers only when dry); *freed: what went. */
int store_gc(struct store *st, char *const *keep, bool dry, struct store_gc_result *total,
             struct store_gc_result *freed, struct lade_error *err);
/* Every blob's digest (sorted, a strv) and the bytes it takes with the extracted layers made
 * from it, for choosing what to remove under a size limit. Caller frees both. */
int store_blob_footprints(struct store *st, char ***digests, uint64_t **bytes,
                          struct lade_error *err);
/* Removes the cache mounts (ROOT/cachemounts/NAME) last used before used_before that no build
 * holds; counts into *total and *freed as store_gc. */
int store_cachemounts_prune(struct store *st, time_t used_before, bool dry,
                            struct store_gc_result *total, struct store_gc_result *freed,
                            struct lade_error *err);

/* ---- RUN --mount=type=cache directories (cachemount.c) ---- */
enum store_cache_sharing { STORE_CACHE_SHARED = 0, STORE_CACHE_PRIVATE, STORE_CACHE_LOCKED };
struct store_cache_mount {
    char *dir;   /* absolute path of the instance's data directory; owned */
    int lock_fd; /* holds the instance's flock until store_cache_mount_release */
};
/* Fills a new instance's data directory dir (mode 0755, root-owned when called). */
typedef int (*store_cache_init_fn)(void *ud, const char *dir, struct lade_error *err);
/* The cache directory named name (a file name: the caller's hash of the mount's identity),
 * created when missing (init fills it first; may be NULL), locked as sharing says: SHARED
 * alongside other shared users, LOCKED alone (waits), PRIVATE alone without waiting (another
 * instance when this one is held). Release with store_cache_mount_release. */
int store_cache_mount_acquire(struct store *st, const char *name, enum store_cache_sharing sharing,
                              store_cache_init_fn init, void *ud, struct store_cache_mount *out,
                              struct lade_error *err);
void store_cache_mount_release(struct store_cache_mount *m);

/* ---- locking ---- */
/* Exclusive lock on ROOT/lock for index updates and gc; released by store_unlock. */
int store_lock(struct store *st, struct lade_error *err);
void store_unlock(struct store *st);
