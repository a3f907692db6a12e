/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What differs between two images (lade diff) or two layers (build --verify): the filesystem
 * an image's layers make, whiteouts applied, compared path by path with every field a layer
 * tar records; and the config compared field by field. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "../layers/layers.h"
#include "../layers/store/store.h"

struct fs_file {
    char *path; /* "etc/passwd" */
    char type;  /* as struct layer_entry */
    unsigned mode;
    int64_t uid, gid, mtime;
    long mtime_nsec;
    uint64_t size;
    char *link;
    unsigned long rdev_major, rdev_minor;
    digest_t content, xattrs;
    size_t layer; /* index of the layer that wrote it last */
    bool gone;    /* deleted by a whiteout above; dropped by the merge */
};

/* Paths sorted bytewise. */
struct fs_view {
    struct fs_file *files;
    size_t n, cap;
    size_t nlayers; /* layers added so far */
};

/* Adds the layer blob desc from the store on top of v. merge: whiteouts and opaque markers
 * delete what lower layers put there, as an overlay mount shows it; !merge: the layer's own
 * entries, whiteouts kept as files (comparing two layers). */
int fs_view_add_layer(struct fs_view *v, struct store *st, const struct oci_desc *desc, bool merge,
                      struct lade_error *err);
/* Every layer of m, merged. */
int fs_view_load(struct fs_view *v, struct store *st, const struct oci_manifest *m,
                 struct lade_error *err);
void fs_view_release(struct fs_view *v);

/* kind: 'A' only in b, 'D' only in a, 'C' in both with the fields in what ("content",
 * "mode 0644 -> 0755", ...). a or b is NULL for A and D. */
typedef void (*fs_change_fn)(void *ctx, char kind, const struct fs_file *a, const struct fs_file *b,
                             const char *what);
/* Calls fn for each difference in path order; returns how many there were. */
size_t fs_view_diff(const struct fs_view *a, const struct fs_view *b, fs_change_fn fn, void *ctx);

/* path: ".config.Env", ".history[2].created_by"; old or new NULL when the field is missing on
 * that side. Values are compact JSON. */
typedef void (*json_change_fn)(void *ctx, const char *path, const char *old, const char *new);
/* Objects compared key by key, arrays element by element (an element past the end of the
 * shorter array is absent there), anything else as a whole. Returns how many differences fn got. */
size_t json_diff(const json_t *a, const json_t *b, json_change_fn fn, void *ctx);
