/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The merged tree of a stage's layers as overlay shows it, known from each layer's listing
 * (an extracted layer's directory, else its blob read without extracting anything): what a
 * step that only adds files needs to know of its base (stage_lazy.c), so that the base's
 * layers are extracted only when a step reads the whole tree (RUN, COPY --from, -o local). */

#include <stdbool.h>
#include <stdint.h>

#include "stage.h"

enum base_kind { BASE_ABSENT, BASE_DIR, BASE_SYMLINK, BASE_OTHER, BASE_UNKNOWN };

struct base_node {
    char *path; /* "a/b" */
    char *link; /* symlink target, else NULL */
    char type;  /* 'd', 'l', 'f' (any other non-directory), 'w' whiteout, 'i' implied directory */
    bool opaque;
    bool xattrs; /* has xattrs of its own (overlay's bookkeeping aside) */
    unsigned mode;
    uint32_t uid, gid;
    int64_t mtime;
    long mtime_nsec;
    char *data; /* the content of etc/passwd and etc/group (regular files only), else NULL */
    size_t data_len;
};

struct base_tree;

/* Lists the stage's layers that the tree does not hold yet (*t NULL: all of them), so a stage
 * that grows by a layer is listed once per layer. */
int base_tree_update(struct build *b, const struct stage_state *ss, struct base_tree **t,
                     struct lade_error *err);
void base_tree_free(struct base_tree *t);
/* What the merged tree holds at path ("a/b": relative, cleaned). *node (may be NULL) gets the
 * entry for BASE_DIR, BASE_SYMLINK and BASE_OTHER. BASE_UNKNOWN: a directory only implied by
 * its entries, whose metadata only extraction knows. */
enum base_kind base_tree_lookup(const struct base_tree *t, const char *path,
                                const struct base_node **node);

/* ---- stage_lazy.c: a step that only adds files, on a base not extracted ---- */
/* Mirrors the base's directories and symlinks along paths (absolute) in upper, the step's
 * root; with users, the base's etc/passwd and etc/group go into a root of their own under
 * dir (fs_lazy_users). 1: only the extracted tree can answer (nothing to free then). */
int fs_lazy_begin(struct build *b, struct stage_state *ss, const char *upper, const char *dir,
                  const char *const *paths, bool users, struct fs_lazy **out,
                  struct lade_error *err);
const char *fs_lazy_users(const struct fs_lazy *lz);
/* After the step: removes the mirrored entries it did not change, restoring the times of
 * those it did. 1: the step wrote a path the base has, so upper is not the layer; the step is
 * to be run again on the extracted tree. */
int fs_lazy_finish(struct fs_lazy *lz, struct lade_error *err);
void fs_lazy_free(struct fs_lazy *lz);
