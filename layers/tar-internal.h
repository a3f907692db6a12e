/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Internals shared by layers/tar.c, walk.c, compress.c and extract.c; not a public header. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "layers.h"

/* gzip level of the layers lade writes. Part of the digest, so fixed for a lade version.
 * 1 as go-containerregistry (crane, ko) uses: on layer-sized inputs zlib -6 costs about
 * 2.3x the time of -1 for a blob about 10% smaller. */
#define LAYER_GZIP_LEVEL 1
#define LAYER_ZSTD_LEVEL 3

/* ---- byte streams (compress.c) ---- */

/* tar bytes -> sha256 (diff_id) -> compressor -> sha256 (digest) -> out_fd, in one pass with
 * fixed buffers. After a failed write the sink refuses further writes. */
struct layer_sink;
/* level 0: layer_default_level(c). */
struct layer_sink *layer_sink_new(enum compression c, int level, int out_fd,
                                  struct lade_error *err);
int layer_sink_write(struct layer_sink *s, const void *data, size_t n, struct lade_error *err);
/* Flushes the compressor and fills info's digests and size (not entries). */
int layer_sink_finish(struct layer_sink *s, struct layer_info *info, struct lade_error *err);
void layer_sink_free(struct layer_sink *s);

/* Block-parallel gzip (pgzip.c): the same bytes for any number of threads. out gets the gzip
 * stream in order, always on the caller's thread; it returns < 0 to fail the stream. After a
 * failed call only pgzip_free is allowed. */
typedef int (*pgzip_out_fn)(void *ctx, const void *data, size_t n);
struct pgzip;
/* nthreads 0: deflate on the caller's thread. */
struct pgzip *pgzip_new(int level, unsigned nthreads, pgzip_out_fn out, void *out_ctx);
int pgzip_write(struct pgzip *z, const void *data, size_t n);
/* The last block and the trailer (CRC-32, size). */
int pgzip_finish(struct pgzip *z);
void pgzip_free(struct pgzip *z);

/* in_fd -> decompressor (gzip, zstd or none, detected) -> sha256 -> the tar bytes.
 * archive_filters adds bzip2 and xz, which docker's DecompressStream also reads for ADD. */
struct layer_source;
struct layer_source *layer_source_new(int in_fd, bool archive_filters, struct lade_error *err);
/* The next chunk of the uncompressed stream, valid until the next call; *n == 0 at the end. */
int layer_source_read(struct layer_source *s, const void **data, size_t *n, struct lade_error *err);
/* Reads what is left (trailing blocks count too) and gives the digest of the whole stream. */
int layer_source_finish(struct layer_source *s, digest_t diff_id, struct lade_error *err);
void layer_source_free(struct layer_source *s);

/* ---- the directory walk (walk.c) ---- */

/* Depth first, names sorted bytewise within each directory, a directory right before its
 * contents: the order of Go's filepath.Walk, which containerd and BuildKit write. */
struct walk_entry {
    const char *path; /* relative, "etc/" or "etc/passwd"; valid until the next walk_next */
    size_t path_len;
    const char *name; /* the last component, without the '/' of directories */
    int parent_fd;    /* the directory holding name; borrowed */
    int fd;           /* directories: open O_RDONLY, borrowed until the next call; else -1 */
    struct stat st;   /* from fstatat(AT_SYMLINK_NOFOLLOW), the only stat of the entry */
};
struct walk;
struct walk *walk_new(int dirfd, struct lade_error *err);
/* 1 with e filled, 0 at the end, -1 on error. */
int walk_next(struct walk *w, struct walk_entry *e, struct lade_error *err);
void walk_free(struct walk *w);
