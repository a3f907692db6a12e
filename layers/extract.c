/* SPDX-License-Identifier: Apache-2.0 */
/* Safe extraction of a tar stream: a layer blob into an overlay lower dir (layer_extract), or
 * ADD's local archive into its destination (tarball_unpack). The entries are made by
 * extract_entry.c, confined to the root: every name is cleaned, every parent directory is
 * opened with openat2 relative to the root, and the last component created with *at calls
 * that do not follow it. Both resolve symlinks inside the root (RESOLVE_IN_ROOT), as
 * containerd's RootPath and docker's chrooted extraction do: "lib -> /usr/lib" then "lib/x"
 * writes usr/lib/x in the layer; "a -> /" or "a -> ../.." then "a/x" writes x, never outside. */
#include "extract-internal.h"

#include <archive_entry.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>

static la_ssize_t
extract_read_cb(struct archive *a, void *ctx, const void **buf)
{
    struct extractor *x = ctx;
    size_t n;

    (void) a;
    if (layer_source_read(x->src, buf, &n, x->err) < 0)
        return -1;
    return (la_ssize_t) n;
}

static int
extract_all(struct extractor *x, int in_fd, const char *expect_diff_id, digest_t diff_id)
{
    int r;

    x->src = layer_source_new(in_fd, x->add, x->err);
    if (x->src == NULL)
        return -1;
    x->a = archive_read_new();
    if (x->a == NULL)
        return lade_error_set(x->err, LADE_ERR_OTHER, "cannot create tar reader");
    if (archive_read_support_format_tar(x->a) != ARCHIVE_OK ||
        archive_read_open(x->a, x, NULL, extract_read_cb, NULL) != ARCHIVE_OK)
        return extract_tar_fail(x, "cannot read layer");
    /* ARCHIVE_WARN: a name libarchive could not convert to the locale; its bytes are kept */
    while ((r = archive_read_next_header(x->a, &x->e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
        if (extract_entry(x) < 0)
            return -1;
    if (r != ARCHIVE_EOF)
        return extract_tar_fail(x, "bad layer");
    extract_apply_dir_times(x);
    if (layer_source_finish(x->src, diff_id, x->err) < 0)
        return -1;
    if (expect_diff_id != NULL && strcmp(expect_diff_id, diff_id) != 0)
        return lade_error_set(x->err, LADE_ERR_OTHER,
                              "layer content does not match its diff_id: expected %s, got %s",
                              expect_diff_id, diff_id);
    return 0;
}

static int
extract(struct extractor *x, int in_fd, const char *expect_diff_id, digest_t diff_id_out)
{
    digest_t diff_id;

    x->cached_fd = -1;
    lade_buf_init(&x->path, 0);
    lade_buf_init(&x->scratch, 0);
    int rc = extract_all(x, in_fd, expect_diff_id, diff_id);
    if (x->a != NULL)
        archive_read_free(x->a);
    layer_source_free(x->src);
    extract_drop_cache(x);
    for (size_t i = 0; i < x->ndirs; i++)
        free(x->dirs[i].path);
    free(x->dirs);
    lade_buf_release(&x->path);
    lade_buf_release(&x->scratch);
    if (rc == 0 && diff_id_out != NULL)
        memcpy(diff_id_out, diff_id, sizeof(digest_t));
    return rc;
}

int
layer_extract(int in_fd, int dirfd, const char *expect_diff_id, digest_t diff_id_out,
              struct lade_error *err)
{
    struct extractor x = {.root = dirfd, .err = err, .resolve = RESOLVE_IN_ROOT};

    return extract(&x, in_fd, expect_diff_id, diff_id_out);
}

bool
tarball_detect(int fd)
{
    struct lade_error ignored = {0};
    struct layer_source *src = layer_source_new(fd, true, &ignored);
    struct extractor x = {.src = src, .err = &ignored};
    struct archive_entry *e;
    bool tar = false;

    /* docker's isArchivePath: the decompressed stream starts with one valid tar header */
    x.a = src != NULL ? archive_read_new() : NULL;
    if (x.a != NULL && archive_read_support_format_tar(x.a) == ARCHIVE_OK &&
        archive_read_open(x.a, &x, NULL, extract_read_cb, NULL) == ARCHIVE_OK) {
        int r = archive_read_next_header(x.a, &e);
        tar = r == ARCHIVE_OK || r == ARCHIVE_WARN;
    }
    if (x.a != NULL)
        archive_read_free(x.a);
    layer_source_free(src);
    return tar;
}

int
tarball_unpack(int in_fd, int dirfd, const struct unpack_opts *o, struct lade_error *err)
{
    struct extractor x = {
        .root = dirfd,
        .err = err,
        .add = true,
        .chown = o->chown,
        .uid = o->uid,
        .gid = o->gid,
        .resolve = RESOLVE_IN_ROOT,
    };

    return extract(&x, in_fd, NULL, NULL);
}
