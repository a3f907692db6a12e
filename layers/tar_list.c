/* SPDX-License-Identifier: Apache-2.0 */
/* Reads a layer blob and reports each entry with the content digest of regular files, without
 * writing anything: what lade diff and build --verify compare. One pass through fixed buffers
 * (layer_source decompresses and hashes the stream; each file's data is hashed as it passes). */
#include "tar-internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../builder/common/buf.h"

struct lister {
    struct layer_source *src;
    struct lade_error *err;
    layer_want_fn want; /* NULL: no file's data is kept */
    bool skip_content;  /* layer_list_meta: files' data is skipped, not hashed */
};

/* The data of a wanted file is kept in memory for the callback: small metadata files (package
 * databases), never layer-sized data. */
#define KEPT_MAX (64u << 20)

static la_ssize_t
list_read_cb(struct archive *a, void *ctx, const void **buf)
{
    struct lister *l = ctx;
    size_t n;

    (void) a;
    if (layer_source_read(l->src, buf, &n, l->err) < 0)
        return -1;
    return (la_ssize_t) n;
}

/* "./a//b/" -> "a/b"; "." or "/" -> "". Not a security check: nothing is written. */
static void
clean_path(const char *name, struct lade_buf *out)
{
    lade_buf_reset(out);
    lade_buf_append(out, "", 0);
    for (const char *p = name; *p;) {
        const char *slash = strchr(p, '/');
        size_t n = slash != NULL ? (size_t) (slash - p) : strlen(p);
        if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (out->len > 0)
                lade_buf_appendc(out, '/');
            lade_buf_append(out, p, n);
        }
        p += n;
        if (*p == '/')
            p++;
    }
}

static char
entry_type(struct archive_entry *e)
{
    if (archive_entry_hardlink(e) != NULL)
        return 'h';
    switch (archive_entry_filetype(e)) {
    case AE_IFDIR:
        return 'd';
    case AE_IFLNK:
        return 'l';
    case AE_IFCHR:
        return 'c';
    case AE_IFBLK:
        return 'b';
    case AE_IFIFO:
        return 'p';
    default:
        return 'f';
    }
}

/* The digest of the entry's xattrs, in the order the tar holds them (writers sort them), or ""
 * when it has none. */
static void
xattrs_digest(struct archive_entry *e, struct sha256 *h, digest_t out)
{
    const char *name;
    const void *value;
    size_t size;

    out[0] = '\0';
    if (archive_entry_xattr_reset(e) == 0)
        return;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
        sha256_update(h, name, strlen(name) + 1);
        sha256_update(h, value, size);
        sha256_update(h, "\n", 1);
    }
    sha256_final(h, out);
}

/* Hashes the entry's data; keep (may be NULL) gets a copy of it too. */
static int
content_digest(struct archive *a, struct sha256 *h, digest_t out, struct lade_buf *keep,
               struct lade_error *err)
{
    const void *data;
    size_t n;
    la_int64_t off;
    int r;

    while ((r = archive_read_data_block(a, &data, &n, &off)) == ARCHIVE_OK) {
        sha256_update(h, data, n);
        if (keep != NULL)
            lade_buf_append(keep, data, n);
    }
    if (r != ARCHIVE_EOF && lade_error_is_set(err)) /* the source: compression or read */
        return lade_error_prefix(err, "bad layer");
    if (r != ARCHIVE_EOF)
        return lade_error_set(err, LADE_ERR_OTHER, "bad layer: %s", archive_error_string(a));
    sha256_final(h, out);
    return 0;
}

static int
list_all(struct lister *l, struct archive *a, layer_list_fn fn, void *ctx, digest_t diff_id)
{
    struct lade_buf path, kept;
    struct sha256 *h = sha256_new();
    struct archive_entry *e;
    int r, rc = -1;

    lade_buf_init(&path, 0);
    lade_buf_init(&kept, 0);
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        struct layer_entry le = {.type = entry_type(e)};
        clean_path(archive_entry_pathname(e), &path);
        le.path = path.data;
        le.mode = archive_entry_perm(e) & 07777;
        le.uid = archive_entry_uid(e);
        le.gid = archive_entry_gid(e);
        le.mtime = archive_entry_mtime(e);
        le.mtime_nsec = archive_entry_mtime_nsec(e);
        le.size = archive_entry_size_is_set(e) ? (uint64_t) archive_entry_size(e) : 0;
        le.rdev_major = archive_entry_rdevmajor(e);
        le.rdev_minor = archive_entry_rdevminor(e);
        le.link = le.type == 'h' ? archive_entry_hardlink(e) : archive_entry_symlink(e);
        xattrs_digest(e, h, le.xattrs);
        bool keep = le.type == 'f' && le.size <= KEPT_MAX && l->want != NULL &&
                    l->want(ctx, le.path, le.size);
        lade_buf_reset(&kept);
        if (le.type == 'f' && l->skip_content && !keep && archive_read_data_skip(a) != ARCHIVE_OK) {
            if (!lade_error_is_set(l->err))
                lade_error_set(l->err, LADE_ERR_OTHER, "bad layer: %s", archive_error_string(a));
            goto out;
        }
        if (le.type == 'f' && (!l->skip_content || keep) &&
            content_digest(a, h, le.content, keep ? &kept : NULL, l->err) < 0)
            goto out;
        if (keep) {
            le.data = kept.data != NULL ? kept.data : "";
            le.data_len = kept.len;
        }
        if (fn(ctx, &le, l->err) < 0)
            goto out;
    }
    if (r != ARCHIVE_EOF) {
        if (lade_error_is_set(l->err))
            lade_error_prefix(l->err, "bad layer");
        else
            lade_error_set(l->err, LADE_ERR_OTHER, "bad layer: %s", archive_error_string(a));
        goto out;
    }
    rc = layer_source_finish(l->src, diff_id, l->err);
out:
    sha256_free(h);
    lade_buf_release(&path);
    lade_buf_release(&kept);
    return rc;
}

int
layer_list(int in_fd, layer_list_fn fn, void *ctx, digest_t diff_id_out, struct lade_error *err)
{
    return layer_list_data(in_fd, NULL, fn, ctx, diff_id_out, err);
}

static int list_layer(struct lister *l, int in_fd, layer_list_fn fn, void *ctx,
                      digest_t diff_id_out);

int
layer_list_data(int in_fd, layer_want_fn want, layer_list_fn fn, void *ctx, digest_t diff_id_out,
                struct lade_error *err)
{
    struct lister l = {.err = err, .want = want};

    return list_layer(&l, in_fd, fn, ctx, diff_id_out);
}

int
layer_list_meta(int in_fd, layer_want_fn want, layer_list_fn fn, void *ctx, struct lade_error *err)
{
    struct lister l = {.err = err, .want = want, .skip_content = true};

    return list_layer(&l, in_fd, fn, ctx, NULL);
}

static int
list_layer(struct lister *lp, int in_fd, layer_list_fn fn, void *ctx, digest_t diff_id_out)
{
    struct lister l = *lp;
    struct lade_error *err = l.err;
    digest_t diff_id;
    struct archive *a = NULL;
    int rc = -1;

    l.src = layer_source_new(in_fd, false, err);
    if (l.src == NULL)
        return -1;
    a = archive_read_new();
    if (a == NULL) {
        lade_error_set(err, LADE_ERR_OTHER, "cannot create tar reader");
        goto out;
    }
    if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
        archive_read_open(a, &l, NULL, list_read_cb, NULL) != ARCHIVE_OK) {
        lade_error_set(err, LADE_ERR_OTHER, "cannot read layer: %s", archive_error_string(a));
        goto out;
    }
    rc = list_all(&l, a, fn, ctx, diff_id);
    if (rc == 0 && diff_id_out != NULL)
        memcpy(diff_id_out, diff_id, sizeof(digest_t));
out:
    if (a != NULL)
        archive_read_free(a);
    layer_source_free(l.src);
    return rc;
}
