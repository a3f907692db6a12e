/* SPDX-License-Identifier: Apache-2.0 */
/* The byte streams around the tar code: hashing, compression (gzip: pgzip.c; zstd and all
 * decompression: libarchive's filters), and the blob file. Errors of libarchive are translated here
 * (STYLE.md section 4). */
#include "tar-internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../builder/common/fsutil.h"
#include "../builder/common/xalloc.h"

#define SINK_BUF (128 * 1024)     /* gathers small writes (tar headers) into few write(2)s */
#define SOURCE_BLOCK (128 * 1024) /* read(2) size of the compressed input */

const char *
layer_media_type(enum compression c)
{
    switch (c) {
    case COMPRESSION_GZIP:
        return "application/vnd.oci.image.layer.v1.tar+gzip";
    case COMPRESSION_ZSTD:
        return "application/vnd.oci.image.layer.v1.tar+zstd";
    case COMPRESSION_NONE:
        return "application/vnd.oci.image.layer.v1.tar";
    }
    return NULL;
}

/* ---- writing ---- */

struct layer_sink {
    struct sha256 *tar_sum;  /* the uncompressed stream: diff_id */
    struct sha256 *blob_sum; /* the compressed stream: digest (unused without compression) */
    struct archive *z;       /* zstd: format raw + libarchive's filter */
    struct pgzip *gz;        /* gzip: block-parallel deflate */
    int out_fd;
    uint64_t size;
    bool failed;
    struct lade_error *cb_err; /* where the callback reports, set around each libarchive call */
    size_t buf_len;
    unsigned char buf[SINK_BUF];
};

static int
sink_fail(struct layer_sink *s, struct lade_error *err, const char *what)
{
    s->failed = true;
    if (s->z != NULL && !lade_error_is_set(err))
        return lade_error_set(err, LADE_ERR_IO, "%s: %s", what,
                              archive_error_string(s->z) ? archive_error_string(s->z)
                                                         : "unknown libarchive error");
    if (!lade_error_is_set(err)) /* pgzip: zlib failed, which only lack of memory explains */
        return lade_error_set(err, LADE_ERR_OTHER, "%s: deflate failed", what);
    return lade_error_prefix(err, "%s", what);
}

static int
sink_flush(struct layer_sink *s, struct lade_error *err)
{
    if (s->buf_len > 0 && write_all(s->out_fd, s->buf, s->buf_len) < 0)
        return lade_error_sys(err, "cannot write layer blob");
    s->buf_len = 0;
    return 0;
}

/* The compressed bytes: counted, written; hashed by the caller. */
static int
sink_out(struct layer_sink *s, const void *data, size_t n, struct lade_error *err)
{
    s->size += n;
    if (s->buf_len + n <= SINK_BUF) {
        memcpy(s->buf + s->buf_len, data, n);
        s->buf_len += n;
        return s->buf_len == SINK_BUF ? sink_flush(s, err) : 0;
    }
    if (sink_flush(s, err) < 0)
        return -1;
    if (n >= SINK_BUF / 2) {
        if (write_all(s->out_fd, data, n) < 0)
            return lade_error_sys(err, "cannot write layer blob");
        return 0;
    }
    memcpy(s->buf, data, n);
    s->buf_len = n;
    return 0;
}

static la_ssize_t
sink_z_write(struct archive *a, void *ctx, const void *data, size_t n)
{
    struct layer_sink *s = ctx;

    (void) a;
    sha256_update(s->blob_sum, data, n);
    if (sink_out(s, data, n, s->cb_err) < 0)
        return -1;
    return (la_ssize_t) n;
}

/* pgzip's output: hashed and written on the caller's thread. */
static int
sink_gz_out(void *ctx, const void *data, size_t n)
{
    struct layer_sink *s = ctx;

    sha256_update(s->blob_sum, data, n);
    return sink_out(s, data, n, s->cb_err);
}

/* All cores but none extra: deflate is CPU-bound and the caller's thread tars and hashes. */
static unsigned
gzip_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n > 1 ? (unsigned) n : 0;
}

int
layer_default_level(enum compression c)
{
    return c == COMPRESSION_GZIP ? LAYER_GZIP_LEVEL : c == COMPRESSION_ZSTD ? LAYER_ZSTD_LEVEL : 0;
}

bool
layer_level_valid(enum compression c, int level)
{
    if (c == COMPRESSION_GZIP)
        return level >= 1 && level <= 9;
    if (c == COMPRESSION_ZSTD)
        return level >= 1 && level <= 19;
    return false;
}

static int
sink_open_zstd(struct layer_sink *s, int level, struct lade_error *err)
{
    char opts[64];
    int r;

    s->z = archive_write_new();
    if (s->z == NULL)
        return lade_error_set(err, LADE_ERR_OTHER, "cannot create compressor");
    /* Anything but ARCHIVE_OK means libarchive fell back to an external program, whose output
     * we do not control (a gzip header with a name and a time). */
    r = archive_write_add_filter_zstd(s->z);
    snprintf(opts, sizeof(opts), "zstd:compression-level=%d", level);
    if (r != ARCHIVE_OK)
        return sink_fail(s, err, "cannot set up the layer compressor");
    if (archive_write_set_options(s->z, opts) != ARCHIVE_OK ||
        archive_write_set_format_raw(s->z) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(s->z, 0) != ARCHIVE_OK)
        return sink_fail(s, err, "cannot set up the layer compressor");
    s->cb_err = err;
    if (archive_write_open(s->z, s, NULL, sink_z_write, NULL) != ARCHIVE_OK)
        return sink_fail(s, err, "cannot set up the layer compressor");

    struct archive_entry *e = archive_entry_new();
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_copy_pathname(e, "layer.tar");
    r = archive_write_header(s->z, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK)
        return sink_fail(s, err, "cannot set up the layer compressor");
    return 0;
}

struct layer_sink *
layer_sink_new(enum compression c, int level, int out_fd, struct lade_error *err)
{
    struct layer_sink *s = xcalloc(1, sizeof(*s));

    if (level == 0)
        level = layer_default_level(c);

    s->out_fd = out_fd;
    s->tar_sum = sha256_new();
    switch (c) {
    case COMPRESSION_GZIP:
        s->blob_sum = sha256_new();
        s->gz = pgzip_new(level, gzip_threads(), sink_gz_out, s);
        break;
    case COMPRESSION_ZSTD:
        s->blob_sum = sha256_new();
        if (sink_open_zstd(s, level, err) < 0) {
            layer_sink_free(s);
            return NULL;
        }
        break;
    case COMPRESSION_NONE:
        break;
    default:
        layer_sink_free(s);
        lade_error_set(err, LADE_ERR_USAGE, "unknown layer compression %d", (int) c);
        return NULL;
    }
    return s;
}

int
layer_sink_write(struct layer_sink *s, const void *data, size_t n, struct lade_error *err)
{
    if (s->failed)
        return lade_error_set(err, LADE_ERR_IO, "layer stream already failed");
    sha256_update(s->tar_sum, data, n);
    if (s->gz != NULL) {
        s->cb_err = err;
        if (pgzip_write(s->gz, data, n) < 0)
            return sink_fail(s, err, "cannot compress layer");
        return 0;
    }
    if (s->z == NULL) {
        if (sink_out(s, data, n, err) < 0) {
            s->failed = true;
            return -1;
        }
        return 0;
    }
    s->cb_err = err;
    la_ssize_t w = archive_write_data(s->z, data, n);
    if (w < 0 || (size_t) w != n)
        return sink_fail(s, err, "cannot compress layer");
    return 0;
}

int
layer_sink_finish(struct layer_sink *s, struct layer_info *info, struct lade_error *err)
{
    if (s->failed)
        return lade_error_set(err, LADE_ERR_IO, "layer stream already failed");
    s->cb_err = err;
    if (s->gz != NULL && pgzip_finish(s->gz) < 0)
        return sink_fail(s, err, "cannot compress layer");
    if (s->z != NULL) {
        /* close flushes the compressor and writes its trailer; free would hide its error */
        if (archive_write_close(s->z) != ARCHIVE_OK)
            return sink_fail(s, err, "cannot compress layer");
    }
    if (sink_flush(s, err) < 0) {
        s->failed = true;
        return -1;
    }
    sha256_final(s->tar_sum, info->diff_id);
    if (s->blob_sum != NULL)
        sha256_final(s->blob_sum, info->digest);
    else
        memcpy(info->digest, info->diff_id, sizeof(digest_t));
    info->size = s->size;
    return 0;
}

void
layer_sink_free(struct layer_sink *s)
{
    if (s == NULL)
        return;
    if (s->z != NULL) {
        /* after an error, do not let free try to flush into a failed stream */
        archive_write_fail(s->z);
        archive_write_free(s->z);
    }
    pgzip_free(s->gz);
    sha256_free(s->tar_sum);
    sha256_free(s->blob_sum);
    free(s);
}

/* ---- reading ---- */

struct layer_source {
    struct archive *z; /* format raw over the detected filter */
    struct sha256 *sum;
    bool eof;
};

static int
source_error(struct layer_source *s, struct lade_error *err, const char *what)
{
    const char *msg = archive_error_string(s->z);

    /* malformed input, mostly; a failed read(2) also says so in msg ("Error reading fd") */
    return lade_error_set(err, LADE_ERR_OTHER, "%s: %s", what,
                          msg != NULL ? msg : "unknown libarchive error");
}

struct layer_source *
layer_source_new(int in_fd, bool archive_filters, struct lade_error *err)
{
    struct layer_source *s = xcalloc(1, sizeof(*s));
    struct archive_entry *e;

    s->sum = sha256_new();
    s->z = archive_read_new();
    if (s->z == NULL) {
        layer_source_free(s);
        lade_error_set(err, LADE_ERR_OTHER, "cannot create decompressor");
        return NULL;
    }
    /* only gzip and zstd (and none): the OCI layer media types. Not ARCHIVE_OK means an
     * external program would be run. */
    if (archive_read_support_filter_gzip(s->z) != ARCHIVE_OK ||
        archive_read_support_filter_zstd(s->z) != ARCHIVE_OK ||
        (archive_filters && (archive_read_support_filter_bzip2(s->z) != ARCHIVE_OK ||
                             archive_read_support_filter_xz(s->z) != ARCHIVE_OK)) ||
        archive_read_support_format_raw(s->z) != ARCHIVE_OK) {
        source_error(s, err, "cannot set up the layer decompressor");
        layer_source_free(s);
        return NULL;
    }
    if (archive_read_open_fd(s->z, in_fd, SOURCE_BLOCK) != ARCHIVE_OK ||
        archive_read_next_header(s->z, &e) != ARCHIVE_OK) {
        /* libarchive's raw reader also lands here for an empty stream */
        source_error(s, err, "cannot read layer blob");
        layer_source_free(s);
        return NULL;
    }
    return s;
}

int
layer_source_read(struct layer_source *s, const void **data, size_t *n, struct lade_error *err)
{
    const void *p;
    size_t len = 0;
    la_int64_t off;

    while (!s->eof) {
        int r = archive_read_data_block(s->z, &p, &len, &off);
        if (r == ARCHIVE_EOF) {
            s->eof = true;
            break;
        }
        if (r != ARCHIVE_OK)
            return source_error(s, err, "cannot decompress layer");
        if (len == 0)
            continue;
        sha256_update(s->sum, p, len);
        *data = p;
        *n = len;
        return 0;
    }
    *data = NULL;
    *n = 0;
    return 0;
}

int
layer_source_finish(struct layer_source *s, digest_t diff_id, struct lade_error *err)
{
    const void *p;
    size_t n;

    do {
        if (layer_source_read(s, &p, &n, err) < 0)
            return -1;
    } while (n > 0);
    sha256_final(s->sum, diff_id);
    return 0;
}

void
layer_source_free(struct layer_source *s)
{
    if (s == NULL)
        return;
    if (s->z != NULL)
        archive_read_free(s->z);
    sha256_free(s->sum);
    free(s);
}
