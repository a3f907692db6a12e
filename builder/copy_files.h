/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Regular files of a tree copy (copy_files.c), shared by copy_tree.c's walk. The submit calls
 * queue a job on o->pool (which must be set): the fds they are given are borrowed and must stay
 * open until taskpool_wait(o->pool) returns. */

#include <stdbool.h>
#include <sys/stat.h>

#include "copy.h"

/* Whether the walk hands this entry to o->pool: a regular file with one link (a later entry
 * may link to a file with several, which must then be complete) big enough to be worth it. */
bool copy_file_pooled(const struct copy_opts *o, const struct stat *st);

/* The owner an entry gets: --chown's, the source's (COPY --from), or 0:0 (the context). In
 * hash mode --chown is not resolved yet; its spec is in the step's key. */
void copy_entry_owner(const struct copy_opts *o, const struct stat *st, uid_t *uid, gid_t *gid);

/* Opens dir/name, a regular file, for reading (flags are added to O_RDONLY); rel names it in
 * messages. Fails on anything but a regular file, without blocking on a FIFO. */
int copy_open_regular(int dir, const char *name, int flags, const char *rel,
                      struct lade_error *err);

/* Copies src_dir/name (opened with open_flags, stat st) to the new file dst_dir/dst_name: the
 * st_size bytes it had when stat'ed, then the owner, mode and mtime o gives it. */
int copy_regular_file(const struct copy_opts *o, int src_dir, const char *name, int open_flags,
                      const struct stat *st, int dst_dir, const char *dst_name,
                      struct lade_error *err);

/* copy_regular_file(o, src_dir, name, O_NOFOLLOW, st, dst_dir, name) as a job. */
int copy_submit_file(const struct copy_opts *o, int src_dir, const char *name,
                     const struct stat *st, int dst_dir, struct lade_error *err);

/* Hash mode: the content digest (a digest_t) of the regular file src_dir/name (rel in messages)
 * over the size bytes its stat saw, the bytes the copy copies; a file that shrank since gives
 * what is left. */
int copy_digest_regular(int src_dir, const char *name, const char *rel, off_t size, char *digest,
                        struct lade_error *err);

/* copy_digest_regular with st's size as a job; digest must live until the pool is waited for. */
int copy_submit_digest(const struct copy_opts *o, int src_dir, const char *name, const char *rel,
                       const struct stat *st, char *digest, struct lade_error *err);
