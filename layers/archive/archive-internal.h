/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Shared by the files of layers/archive/ only. */

#include <archive.h>
#include <archive_entry.h>

#include "archive.h"

/* Blob streaming buffer: archives are copied through this, never held whole in memory. */
#define ARCHIVE_BUF_SIZE (128 * 1024)

static inline void
cleanup_archive_writep(struct archive **a)
{
    if (*a != NULL)
        archive_write_free(*a);
}
static inline void
cleanup_archive_readp(struct archive **a)
{
    if (*a != NULL)
        archive_read_free(*a);
}
#define cleanup_archive_write __attribute__((cleanup(cleanup_archive_writep)))
#define cleanup_archive_read __attribute__((cleanup(cleanup_archive_readp)))

/* libarchive's message for a, prefixed with the formatted context. */
int archive_lib_error(struct lade_error *err, struct archive *a, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The parts of a full normalised name docker's archives record: familiar "app:1" (RepoTags),
 * familiar repository "app" (repositories) and the tag "1" (ref.name). Caller frees each. */
struct name_parts {
    char *full, *familiar, *familiar_repo, *tag;
};
int name_parts_get(const char *full, struct name_parts *out, struct lade_error *err);
void name_parts_release(struct name_parts *p);

/* ---- import (import.c reads the tar, images.c turns what it found into tagged images) ---- */

/* A file of the archive: stored as a blob, or a link to another path. */
struct import_file {
    char *path;      /* normalised: no leading "./" or "/" */
    char *link;      /* target path (normalised) for symlinks and hardlinks, else NULL */
    digest_t digest; /* of the stored blob (when link is NULL) */
};

/* A small JSON file held in memory (index.json, manifest.json, top-level configs). */
struct import_small {
    char *path;
    char *data;
    size_t len;
};

struct import {
    struct store *st;
    const char *archive_path;
    bool no_tags; /* store the images only: every manifest goes to untagged_out */
    struct import_file *files;
    size_t nfiles, files_cap;
    struct import_small *smalls;
    size_t nsmalls, smalls_cap, small_bytes;
};

void import_release(struct import *im);
/* The blob digest stored for path (following links), or NULL. */
const char *import_lookup(const struct import *im, const char *path);
/* The small file at path, or NULL. */
const struct import_small *import_small_get(const struct import *im, const char *path);
/* Turns index.json / manifest.json into manifests in the store, then tags them. */
int import_images(struct import *im, char ***names_out, char ***untagged_out,
                  struct lade_error *err);
