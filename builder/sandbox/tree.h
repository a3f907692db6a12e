/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The chroot tier's filesystem (issue 9, tier 3): without mounts, a RUN or COPY works on a
 * plain directory tree built from the stage's layers, and the layer is what changed in that
 * tree, found by comparing it with a snapshot taken before the step (kaniko's approach). The
 * changes are written as an overlay upper dir (0/0 character devices for deletions, an
 * opaque mark on a replaced directory), so the layer writer makes the same bytes as from
 * tier 1's overlay. */

#include <stdbool.h>
#include <sys/stat.h>

#include "../common/error.h"
#include "../common/inomap.h"

/* ---- tree_copy.c ---- */

/* overlay_opaque_mark (common/userns.h) of dirfd, an error naming path when it fails. */
int tree_set_opaque(int dirfd, const char *path, struct lade_error *err);

/* Copies the entry name of src_dir (st its lstat) to dst_dir as the same kind of entry with
 * its content, owner, mode, xattrs and timestamps; a directory is created empty (its metadata
 * is set by tree_copy_dir_meta once its entries are written). A file whose inode links
 * already saw is hard-linked to the first copy (links keys the source's dev/ino to the
 * destination path relative to dst_root; NULL: every file copied). path is the entry's path
 * below dst_root. */
int tree_copy_entry(int src_dir, const char *name, const struct stat *st, int dst_root, int dst_dir,
                    const char *path, struct inomap *links, struct lade_error *err);
/* tree_copy_entry to the name dst_name, hard links not looked for. */
int tree_copy_entry_as(int src_dir, const char *name, const struct stat *st, int dst_dir,
                       const char *dst_name, const char *path, struct lade_error *err);
/* Sets owner, mode, xattrs and times of the directory dst (a copy) from src. */
int tree_copy_dir_meta(int src, const struct stat *st, int dst, const char *path,
                       struct lade_error *err);

/* Applies an overlay layer dir (a store's extracted layer, or an upper dir) onto the tree:
 * a 0/0 character device deletes its path, an opaque directory empties what was there,
 * everything else replaces what was there (a directory merges). Hard links of the layer are
 * copied as separate files, as overlay's copy-up breaks them. */
int tree_apply_layer(int tree_fd, int layer_fd, struct lade_error *err);

/* ---- tree_diff.c ---- */

struct tree_snapshot;

/* Records the metadata of every entry below root_fd (type, mode, owner, size, mtime, ctime,
 * inode and birth time), leaving out the paths in skip (NULL-terminated, relative: "dev",
 * "etc/hosts") with their subtrees. The ctime catches every change of content, mode, owner,
 * links or xattrs; the inode and birth time a path that was deleted and made again. After the
 * walk it waits for the coarse clock to tick, so a change made later cannot carry the same
 * ctime as one made before. */
int tree_snapshot_take(int root_fd, char *const *skip, struct tree_snapshot **out,
                       struct lade_error *err);
void tree_snapshot_free(struct tree_snapshot *s);

/* Writes into upper_fd (an empty directory) what changed below root_fd since s, as overlay
 * would have recorded it in an upper dir: a new or changed entry with its parent directories,
 * a whole new subtree where a path is new or was replaced (a replaced directory marked
 * opaque), a 0/0 character device for a path that is gone. Paths s skipped are left out. */
int tree_diff_to_upper(int root_fd, const struct tree_snapshot *s, int upper_fd,
                       struct lade_error *err);
