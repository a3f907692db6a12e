/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Internals of tar extraction shared by layers/extract.c (the read loop, layers and ADD's
 * archives) and layers/extract_entry.c (names, directories, metadata, one entry); not a
 * public header. */

#include <archive.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "tar-internal.h"
#include "../builder/common/buf.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_META ".wh..wh."
#define OPAQUE_MARKER ".wh..wh..opq"

struct dir_time {
    char *path;
    struct timespec mtime;
};

struct extractor {
    int root; /* the layer directory; borrowed */
    /* ADD of a local archive (tarball_unpack) rather than a layer: no whiteouts, names
     * cleaned as docker's Untar does, symlinks resolved inside root as in its chroot, owners
     * replaced when chown, xattrs best effort. */
    bool add;
    bool chown;
    uid_t uid;
    gid_t gid;
    uint64_t resolve; /* RESOLVE_BENEATH (layers) or RESOLVE_IN_ROOT (ADD) */
    struct archive *a;
    struct layer_source *src;
    struct lade_error *err; /* where the read callback reports */
    struct archive_entry *e;
    struct lade_buf path; /* the cleaned name of the current entry: "a/b/c" */
    size_t dir_len;       /* path[0..dir_len) is its directory ("" or "a/b") */
    const char *base;     /* its last component, in path */
    /* the last parent directory opened, as entries mostly share theirs */
    char *cached_dir;
    int cached_fd;
    struct lade_buf scratch;
    /* directory mtimes are set last: creating their contents changes them */
    struct dir_time *dirs;
    size_t ndirs, dirs_cap;
};

/* Creates one entry (x->e) under x->root; 0 also for an entry skipped on purpose. */
int extract_entry(struct extractor *x);
/* Sets the directory mtimes recorded while extracting, last. */
void extract_apply_dir_times(struct extractor *x);
/* Closes the cached parent directory. */
void extract_drop_cache(struct extractor *x);
/* The libarchive error (or the source's, already set) as x->err, prefixed with what; -1. */
int extract_tar_fail(struct extractor *x, const char *what);
