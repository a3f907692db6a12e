/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

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
};

/* Writes data to a new file in tmp/, fsyncs it, renames it to dirfd/name and fsyncs dirfd. */
int store_write_atomic(struct store *st, int dirfd, const char *name, const void *data, size_t len,
                       struct lade_error *err);
