/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <pthread.h>

/* Shared by the files of layers/store/ only. */

#include "store.h"

struct store {
    char *root;     /* absolute */
    int root_fd;    /* ROOT */
    int oci_fd;     /* ROOT/oci */
    int blobs_fd;   /* ROOT/oci/blobs/sha256 */
    int layers_fd;  /* ROOT/layers */
    int tmp_fd;     /* ROOT/tmp */
    int lock_fd;    /* ROOT/lock while held, else -1 */
    int lock_depth; /* store_lock nests within one process */
    /* Held with the flock (recursive, as store_lock nests): a build's stages run in threads,
     * and the flock alone excludes other processes, not this one's threads. */
    pthread_mutex_t lock_mu;
    int use_fd;     /* ROOT/use, flocked shared (exclusive for gc) while the store is open */
    int owner_fd;   /* tmp/owner-TOKEN, flocked while this process stages, else -1 */
    char owner[16]; /* TOKEN, the prefix of this process's staging entries */
};

/* staging.c: removes what dead processes left in tmp/ (unmounting first), under the lock. */
void store_staging_sweep(struct store *st);
/* Drops this process's owner file: its leftovers become orphans for the next sweep. */
void store_staging_release(struct store *st);

/* renameat from a path (usually under ROOT/tmp) to to_dirfd/to_name. Paths under ROOT/tmp are
 * resolved from the store's tmp/ fd: after unshare(CLONE_NEWNS) (the builder does that before
 * RUN) a path resolves to a mount of the new namespace while the store's fds still point into
 * the old one, and rename(2) across the two fails with EXDEV. */
int store_rename_from(struct store *st, const char *from_path, int to_dirfd, const char *to_name);
