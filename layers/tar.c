/* SPDX-License-Identifier: Apache-2.0 */
/* A directory tree -> one reproducible layer (DESIGN.md "Layers: the reproducibility
 * contract"). Each archive_entry is built by hand from the walk's single lstat, because
 * archive_read_disk adds metadata the contract excludes (atime, ctime, names, ACLs). */
#include "tar-internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../builder/common/buf.h"
#include "../builder/common/cleanup.h"
#include "../builder/common/inomap.h"
#include "../builder/common/userns.h"
#include "../builder/common/xalloc.h"

#define DATA_CHUNK (256 * 1024)
#define WHITEOUT_PREFIX ".wh."
#define OPAQUE_MARKER ".wh..wh..opq"

struct tar_writer {
    const struct layer_opts *opts;
    struct archive *a;
    struct archive_entry *e;
    struct layer_sink *sink;
    struct lade_error *err;  /* where the write callback reports */
    struct inomap links;     /* files with several links -> the first path written */
    struct lade_buf scratch; /* whiteout names, /proc paths */
    char *data;
    char *xnames, *xval, *target;
    size_t xnames_cap, xval_cap, target_cap;
    char **xsorted;
    size_t xsorted_cap;
    uint64_t entries;
};

/* path may be NULL */
static int
tar_error(struct tar_writer *t, const char *what, const char *path)
{
    const char *msg = archive_error_string(t->a);

    if (lade_error_is_set(t->err)) /* the callback saw the cause (disk full, ...) */
        return path != NULL ? lade_error_prefix(t->err, "%s '%s'", what, path)
                            : lade_error_prefix(t->err, "%s", what);
    if (msg == NULL)
        msg = "unknown libarchive error";
    return path != NULL ? lade_error_set(t->err, LADE_ERR_IO, "%s '%s': %s", what, path, msg)
                        : lade_error_set(t->err, LADE_ERR_IO, "%s: %s", what, msg);
}

static la_ssize_t
tar_write_cb(struct archive *a, void *ctx, const void *data, size_t n)
{
    struct tar_writer *t = ctx;

    (void) a;
    if (layer_sink_write(t->sink, data, n, t->err) < 0)
        return -1;
    return (la_ssize_t) n;
}

/* ---- xattrs ---- */

static void
grow(char **buf, size_t *cap, size_t need)
{
    if (need > *cap) {
        *cap = need + 256;
        *buf = xrealloc(*buf, *cap);
    }
}

static ssize_t
xlist(int fd, const char *path, char *buf, size_t size)
{
    return fd >= 0 ? flistxattr(fd, buf, size) : llistxattr(path, buf, size);
}

static ssize_t
xget(int fd, const char *path, const char *name, char *buf, size_t size)
{
    return fd >= 0 ? fgetxattr(fd, name, buf, size) : lgetxattr(path, name, buf, size);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Not part of a layer: overlay's own bookkeeping (origin, impure, opaque, ...) and the host's
 * SELinux label, which is the build machine's, not the image's. */
static bool
xattr_skipped(const char *name)
{
    return userns_overlay_xattr(name) || strcmp(name, "security.selinux") == 0;
}

/* Adds the xattrs of the entry to t->e sorted by name (listxattr order depends on the
 * filesystem). fd >= 0 reads through it, else through the /proc path of parent_fd/name,
 * which does not follow a final symlink and needs no open(2) of a device. */
static int
add_xattrs(struct tar_writer *t, int fd, int parent_fd, const char *name, const char *path,
           bool *opaque)
{
    const char *p = NULL;
    ssize_t n;

    if (fd < 0) {
        t->scratch.len = 0;
        lade_buf_appendf(&t->scratch, "/proc/self/fd/%d/%s", parent_fd, name);
        p = t->scratch.data;
    }
    while ((n = xlist(fd, p, t->xnames, t->xnames_cap)) < 0 && errno == ERANGE) {
        n = xlist(fd, p, NULL, 0);
        if (n < 0)
            break;
        grow(&t->xnames, &t->xnames_cap, (size_t) n);
    }
    if (n < 0) {
        if (errno == ENOTSUP || errno == ENODATA)
            return 0;
        return lade_error_sys(t->err, "cannot list xattrs of '%s'", path);
    }
    size_t count = 0;
    for (ssize_t off = 0; off < n; off += (ssize_t) strlen(t->xnames + off) + 1) {
        if (count == t->xsorted_cap) {
            t->xsorted_cap = t->xsorted_cap * 2 + 16;
            t->xsorted = xrealloc(t->xsorted, t->xsorted_cap * sizeof(char *));
        }
        t->xsorted[count++] = t->xnames + off;
    }
    if (count == 0)
        return 0;
    qsort(t->xsorted, count, sizeof(char *), cmp_str);
    /* libarchive emits an entry's xattrs last-added first: add them in reverse so the pax
     * records come out sorted, as Go's archive/tar writes them */
    for (size_t i = count; i-- > 0;) {
        const char *xn = t->xsorted[i];
        bool want_opaque = opaque != NULL && overlay_opaque_name(xn);
        if (xattr_skipped(xn) && !want_opaque)
            continue;
        ssize_t v;
        while ((v = xget(fd, p, xn, t->xval, t->xval_cap)) < 0 && errno == ERANGE) {
            v = xget(fd, p, xn, NULL, 0);
            if (v < 0)
                break;
            grow(&t->xval, &t->xval_cap, (size_t) v);
        }
        if (v < 0) {
            if (errno == ENODATA)
                continue;
            return lade_error_sys(t->err, "cannot read xattr '%s' of '%s'", xn, path);
        }
        if (want_opaque) {
            *opaque = *opaque || (v == 1 && t->xval[0] == 'y');
            continue;
        }
        archive_entry_xattr_add_entry(t->e, xn, t->xval, (size_t) v);
    }
    return 0;
}

/* ---- entries ---- */

static int64_t
clamp_mtime(const struct tar_writer *t, int64_t mtime)
{
    return t->opts->epoch >= 0 && mtime > t->opts->epoch ? t->opts->epoch : mtime;
}

static void
entry_from_stat(struct tar_writer *t, const char *path, const struct stat *st)
{
    struct archive_entry *e = t->e;

    archive_entry_clear(e);
    archive_entry_copy_pathname(e, path);
    archive_entry_set_mode(e, st->st_mode);
    archive_entry_set_uid(e, st->st_uid);
    archive_entry_set_gid(e, st->st_gid);
    archive_entry_set_mtime(e, clamp_mtime(t, st->st_mtim.tv_sec), 0);
    archive_entry_set_size(e, 0);
}

static int
write_header(struct tar_writer *t, const char *path)
{
    /* ARCHIVE_WARN: a name that is not valid UTF-8 went out with hdrcharset=BINARY, as
     * written; the entry is complete */
    if (archive_write_header(t->a, t->e) < ARCHIVE_WARN)
        return tar_error(t, "cannot write tar header for", path);
    t->entries++;
    return 0;
}

/* An empty regular file, mode 0, owned by 0:0: the OCI whiteout and opaque markers. */
static int
write_marker(struct tar_writer *t, const char *path, int64_t mtime)
{
    archive_entry_clear(t->e);
    archive_entry_copy_pathname(t->e, path);
    archive_entry_set_mode(t->e, AE_IFREG);
    archive_entry_set_uid(t->e, 0);
    archive_entry_set_gid(t->e, 0);
    archive_entry_set_size(t->e, 0);
    archive_entry_set_mtime(t->e, clamp_mtime(t, mtime), 0);
    return write_header(t, path);
}

static int
write_whiteout(struct tar_writer *t, const struct walk_entry *we)
{
    size_t dir_len = we->path_len - strlen(we->name);

    t->scratch.len = 0;
    lade_buf_append(&t->scratch, we->path, dir_len);
    lade_buf_appends(&t->scratch, WHITEOUT_PREFIX);
    lade_buf_appends(&t->scratch, we->name);
    return write_marker(t, t->scratch.data, we->st.st_mtim.tv_sec);
}

static int
copy_data(struct tar_writer *t, int fd, uint64_t size, const char *path)
{
    for (uint64_t done = 0; done < size;) {
        size_t want = size - done < DATA_CHUNK ? (size_t) (size - done) : DATA_CHUNK;
        ssize_t r = read(fd, t->data, want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return lade_error_sys(t->err, "cannot read '%s'", path);
        if (r == 0)
            return lade_error_set(t->err, LADE_ERR_IO, "'%s' shrank while being read", path);
        la_ssize_t w = archive_write_data(t->a, t->data, (size_t) r);
        if (w != r)
            return tar_error(t, "cannot write data of", path);
        done += (uint64_t) r;
    }
    return 0;
}

static int
write_regular(struct tar_writer *t, const struct walk_entry *we)
{
    cleanup_close int fd = openat(we->parent_fd, we->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return lade_error_sys(t->err, "cannot open '%s'", we->path);
    archive_entry_set_size(t->e, we->st.st_size);
    if (add_xattrs(t, fd, -1, NULL, we->path, NULL) < 0 || write_header(t, we->path) < 0)
        return -1;
    return copy_data(t, fd, (uint64_t) we->st.st_size, we->path);
}

static int
write_symlink(struct tar_writer *t, const struct walk_entry *we)
{
    ssize_t n;

    grow(&t->target, &t->target_cap, (size_t) we->st.st_size + 1);
    while ((n = readlinkat(we->parent_fd, we->name, t->target, t->target_cap)) >= 0 &&
           (size_t) n >= t->target_cap)
        grow(&t->target, &t->target_cap, t->target_cap * 2);
    if (n < 0)
        return lade_error_sys(t->err, "cannot read symlink '%s'", we->path);
    t->target[n] = '\0';
    archive_entry_copy_symlink(t->e, t->target);
    if (add_xattrs(t, -1, we->parent_fd, we->name, we->path, NULL) < 0)
        return -1;
    return write_header(t, we->path);
}

static int
write_dir(struct tar_writer *t, const struct walk_entry *we)
{
    bool opaque = false;

    if (add_xattrs(t, we->fd, -1, NULL, we->path, t->opts->overlay_upper ? &opaque : NULL) < 0 ||
        write_header(t, we->path) < 0)
        return -1;
    if (!opaque)
        return 0;
    /* right after its directory, before the entries of the layer itself */
    t->scratch.len = 0;
    lade_buf_append(&t->scratch, we->path, we->path_len);
    lade_buf_appends(&t->scratch, OPAQUE_MARKER);
    return write_marker(t, t->scratch.data, we->st.st_mtim.tv_sec);
}

static int
write_entry(struct tar_writer *t, const struct walk_entry *we)
{
    const struct stat *st = &we->st;

    switch (st->st_mode & S_IFMT) {
    case S_IFSOCK:
        return 0; /* tar cannot hold sockets; containerd skips them too */
    case S_IFCHR:
        if (t->opts->overlay_upper && st->st_rdev == 0)
            return write_whiteout(t, we);
        break;
    case S_IFDIR:
    case S_IFREG:
    case S_IFLNK:
    case S_IFBLK:
    case S_IFIFO:
        break;
    default:
        return 0;
    }
    entry_from_stat(t, we->path, st);
    if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
        const char *first = inomap_take(&t->links, st->st_dev, st->st_ino, we->path);
        if (first != NULL) {
            archive_entry_copy_hardlink(t->e, first);
            return write_header(t, we->path);
        }
    }
    switch (st->st_mode & S_IFMT) {
    case S_IFDIR:
        return write_dir(t, we);
    case S_IFREG:
        return write_regular(t, we);
    case S_IFLNK:
        return write_symlink(t, we);
    case S_IFCHR:
    case S_IFBLK:
        archive_entry_set_rdevmajor(t->e, major(st->st_rdev));
        archive_entry_set_rdevminor(t->e, minor(st->st_rdev));
        break;
    default:
        break;
    }
    if (add_xattrs(t, -1, we->parent_fd, we->name, we->path, NULL) < 0)
        return -1;
    return write_header(t, we->path);
}

static int
write_tree(struct tar_writer *t, int dirfd, struct layer_info *info)
{
    struct walk_entry we;
    struct walk *w;
    int r;

    if (archive_write_set_format_pax_restricted(t->a) != ARCHIVE_OK ||
        /* SCHILY.xattr.* only, as Go's archive/tar, not also LIBARCHIVE.xattr.* */
        archive_write_set_options(t->a, "xattrheader=SCHILY") != ARCHIVE_OK ||
        /* no 10 KiB blocking: the stream ends after the two zero blocks, as Go's tar */
        archive_write_set_bytes_per_block(t->a, 0) != ARCHIVE_OK ||
        archive_write_open(t->a, t, NULL, tar_write_cb, NULL) != ARCHIVE_OK)
        return tar_error(t, "cannot set up the tar writer", NULL);
    w = walk_new(dirfd, t->err);
    if (w == NULL)
        return -1;
    while ((r = walk_next(w, &we, t->err)) > 0)
        if (write_entry(t, &we) < 0) {
            r = -1;
            break;
        }
    walk_free(w);
    if (r < 0)
        return -1;
    if (archive_write_close(t->a) != ARCHIVE_OK)
        return tar_error(t, "cannot finish the tar stream", NULL);
    if (layer_sink_finish(t->sink, info, t->err) < 0)
        return -1;
    info->entries = t->entries;
    return 0;
}

int
layer_write_dir(int dirfd, const struct layer_opts *opts, int out_fd, struct layer_info *info,
                struct lade_error *err)
{
    struct tar_writer t = {.opts = opts, .err = err};
    struct layer_info out = {0};
    int rc = -1;

    t.sink = layer_sink_new(opts->compression, opts->level, out_fd, err);
    if (t.sink == NULL)
        return lade_error_prefix(err, "layer");
    t.a = archive_write_new();
    t.e = archive_entry_new();
    if (t.a == NULL || t.e == NULL) {
        lade_error_set(err, LADE_ERR_OTHER, "cannot create tar writer");
    } else {
        lade_buf_init(&t.scratch, 0);
        t.data = xmalloc(DATA_CHUNK);
        t.xnames_cap = t.xval_cap = 4096;
        t.xnames = xmalloc(t.xnames_cap);
        t.xval = xmalloc(t.xval_cap);
        rc = write_tree(&t, dirfd, &out);
    }
    if (t.a != NULL) {
        if (rc < 0)
            archive_write_fail(t.a); /* free must not flush into the failed sink */
        archive_write_free(t.a);
    }
    archive_entry_free(t.e);
    layer_sink_free(t.sink);
    inomap_release(&t.links);
    lade_buf_release(&t.scratch);
    free(t.data);
    free(t.xnames);
    free(t.xval);
    free(t.target);
    free(t.xsorted);
    if (rc == 0)
        *info = out;
    return rc;
}
