/* SPDX-License-Identifier: Apache-2.0 */
/* One tar entry extracted under the root (extract-internal.h): its name cleaned, its parent
 * directory opened with openat2 relative to the root (RESOLVE_BENEATH for layers,
 * RESOLVE_IN_ROOT for ADD), the last component created with *at calls that do not follow it,
 * then its owner, mode, xattrs and mtime. */
#include "extract-internal.h"

#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../builder/common/cleanup.h"
#include "../builder/common/fsutil.h"
#include "../builder/common/userns.h"
#include "../builder/common/xalloc.h"

static int
bad_layer(struct extractor *x, const char *fmt, const char *name)
{
    return lade_error_set(x->err, LADE_ERR_OTHER, fmt, name);
}

int
extract_tar_fail(struct extractor *x, const char *what)
{
    const char *msg = archive_error_string(x->a);

    if (lade_error_is_set(x->err)) /* the source failed: bad compression or read error */
        return lade_error_prefix(x->err, "%s", what);
    return lade_error_set(x->err, LADE_ERR_OTHER, "%s: %s", what,
                          msg != NULL ? msg : "unknown libarchive error");
}

/* ---- names and directories ---- */

/* Cleans name into out ("./a//b/" -> "a/b"). 1: the entry is the root itself; 0: out and
 * *dir_len, *base are set; -1: refused. */
static int
clean_name(struct extractor *x, const char *name, struct lade_buf *out, size_t *dir_len,
           const char **base)
{
    size_t last = 0;

    if (name[0] == '/' && !x->add)
        return bad_layer(x, "refusing absolute name '%s' in layer", name);
    out->len = 0;
    if (out->data != NULL)
        out->data[0] = '\0';
    for (const char *p = name; *p;) {
        const char *slash = strchr(p, '/');
        size_t n = slash != NULL ? (size_t) (slash - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.' && (!x->add || out->len == 0))
            return bad_layer(x, "refusing name with '..' in layer: '%s'", name);
        if (n == 2 && p[0] == '.' && p[1] == '.') { /* ADD: "a/../b" is "b", as Go's Clean */
            char *up = memrchr(out->data, '/', out->len);
            out->len = up != NULL ? (size_t) (up - out->data) : 0;
            out->data[out->len] = '\0';
            char *prev = out->len > 0 ? memrchr(out->data, '/', out->len) : NULL;
            last = prev != NULL ? (size_t) (prev - out->data) + 1 : 0;
        } else if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (out->len > 0)
                lade_buf_appendc(out, '/');
            last = out->len;
            lade_buf_append(out, p, n);
        }
        p += n;
        if (*p == '/')
            p++;
    }
    if (out->len == 0)
        return 1;
    *dir_len = last > 0 ? last - 1 : 0;
    *base = out->data + last;
    return 0;
}

static int
open_beneath(int root, const char *path, uint64_t resolve)
{
    struct open_how how = {
        .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
        .resolve = resolve | RESOLVE_NO_MAGICLINKS,
    };

    for (int tries = 0;; tries++) {
        int fd = (int) syscall(SYS_openat2, root, path, &how, sizeof(how));
        /* EAGAIN: a concurrent rename somewhere; the kernel asks us to retry */
        if (fd >= 0 || errno != EAGAIN || tries == 16)
            return fd;
    }
}

/* Opens dir, creating missing components (0755, as docker does) one at a time, each
 * resolved again from the root so a symlink made earlier cannot lead outside. */
static int
open_beneath_create(int root, char *dir, uint64_t resolve)
{
    int pfd = -1;

    for (size_t i = 0, start = 0;; i++) {
        if (dir[i] != '/' && dir[i] != '\0')
            continue;
        char c = dir[i];
        dir[i] = '\0';
        int fd = open_beneath(root, dir, resolve);
        if (fd < 0 && errno == ENOENT) {
            int at = pfd >= 0 ? pfd : root;
            /* chmod too: the mode is the image's, not the umask's */
            if (mkdirat(at, dir + start, 0755) == 0)
                fchmodat(at, dir + start, 0755, 0);
            else if (errno != EEXIST) {
                int saved = errno;
                if (pfd >= 0)
                    close(pfd);
                dir[i] = c;
                errno = saved;
                return -1;
            }
            fd = open_beneath(root, dir, resolve);
        }
        int saved = errno;
        if (pfd >= 0)
            close(pfd);
        dir[i] = c;
        errno = saved;
        if (fd < 0 || c == '\0')
            return fd;
        pfd = fd;
        start = i + 1;
    }
}

static int
resolve_fail(struct extractor *x, const char *dir)
{
    switch (errno) {
    case EXDEV:
        return bad_layer(x, "refusing layer: a symlink on the path '%s' leads outside it", dir);
    case ELOOP:
        return bad_layer(x, "refusing layer: too many symlinks on the path '%s'", dir);
    case ENOTDIR:
        return bad_layer(x, "bad layer: '%s' is not a directory", dir);
    default:
        return lade_error_sys(x->err, "cannot open directory '%s'", dir);
    }
}

void
extract_drop_cache(struct extractor *x)
{
    if (x->cached_fd >= 0)
        close(x->cached_fd);
    x->cached_fd = -1;
    free(x->cached_dir);
    x->cached_dir = NULL;
}

/* A borrowed O_PATH fd of the directory path[0..len), valid until the next call. */
static int
resolve_dir(struct extractor *x, const char *path, size_t len, bool create)
{
    if (len == 0)
        return x->root;
    if (x->cached_dir != NULL && strlen(x->cached_dir) == len &&
        memcmp(x->cached_dir, path, len) == 0)
        return x->cached_fd;
    extract_drop_cache(x);
    cleanup_free char *dir = xstrndup(path, len);
    int fd = open_beneath(x->root, dir, x->resolve);
    if (fd < 0 && errno == ENOENT && create)
        fd = open_beneath_create(x->root, dir, x->resolve);
    if (fd < 0)
        return resolve_fail(x, dir);
    x->cached_dir = steal_ptr(&dir);
    x->cached_fd = fd;
    return fd;
}

/* Removes whatever is at pfd/base (a directory with its contents). */
static int
remove_existing(struct extractor *x, int pfd, const char *base, const struct stat *st)
{
    if (!S_ISDIR(st->st_mode)) {
        if (unlinkat(pfd, base, 0) < 0 && errno != ENOENT)
            return lade_error_sys(x->err, "cannot replace '%s'", x->path.data);
        return 0;
    }
    /* the cached directory may be this one or below it */
    if (x->cached_dir != NULL) {
        size_t n = x->path.len;
        if (strncmp(x->cached_dir, x->path.data, n) == 0 &&
            (x->cached_dir[n] == '\0' || x->cached_dir[n] == '/'))
            extract_drop_cache(x);
    }
    if (rm_rf_at(pfd, base, x->err) < 0)
        return lade_error_prefix(x->err, "cannot replace '%s'", x->path.data);
    return 0;
}

/* After EEXIST: keep an existing directory when keep_dir (1), else remove the entry (0). */
static int
make_room(struct extractor *x, int pfd, const char *base, bool keep_dir)
{
    struct stat st;

    if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : lade_error_sys(x->err, "cannot stat '%s'", x->path.data);
    if (keep_dir && S_ISDIR(st.st_mode))
        return 1;
    return remove_existing(x, pfd, base, &st);
}

/* ---- metadata ---- */

static const char *
proc_path(struct extractor *x, int pfd, const char *base)
{
    x->scratch.len = 0;
    lade_buf_appendf(&x->scratch, "/proc/self/fd/%d/%s", pfd, base);
    return x->scratch.data;
}

/* Overlay's own xattrs from a layer could redirect or hide lower dirs; the host's SELinux
 * label is not the image's. */
static bool
xattr_refused(const char *name)
{
    return userns_overlay_xattr(name) || strcmp(name, "security.selinux") == 0;
}

static int
set_xattrs(struct extractor *x, int fd, int pfd, const char *base)
{
    const char *name;
    const void *value;
    size_t size;
    int n = archive_entry_xattr_reset(x->e);

    for (int i = 0; i < n; i++) {
        if (archive_entry_xattr_next(x->e, &name, &value, &size) != ARCHIVE_OK)
            break;
        if (xattr_refused(name))
            continue;
        int r = fd >= 0 ? fsetxattr(fd, name, value, size, 0)
                        : lsetxattr(proc_path(x, pfd, base), name, value, size, 0);
        if (r < 0 && !x->add) /* docker's Untar for ADD: BestEffortXattrs */
            return lade_error_sys(x->err, "cannot set xattr '%s' on '%s'", name, x->path.data);
    }
    return 0;
}

/* Owner, then mode (chown clears set-id bits), then xattrs (chown clears
 * security.capability), then mtime unless deferred (directories). fd may be -1. */
static int
set_meta(struct extractor *x, int fd, int pfd, const char *base, bool is_symlink, bool is_dir)
{
    struct archive_entry *e = x->e;
    la_int64_t uid = x->chown ? x->uid : archive_entry_uid(e);
    la_int64_t gid = x->chown ? x->gid : archive_entry_gid(e);

    /* (uid_t) -1 would mean "leave unchanged" */
    if (uid < 0 || uid >= UINT32_MAX || gid < 0 || gid >= UINT32_MAX)
        return bad_layer(x, "bad layer: '%s' has an invalid owner", x->path.data);
    int r = fd >= 0 ? fchown(fd, (uid_t) uid, (gid_t) gid)
                    : fchownat(pfd, base, (uid_t) uid, (gid_t) gid, AT_SYMLINK_NOFOLLOW);
    if (r < 0)
        return lade_error_sys(x->err, "cannot chown '%s' to %lld:%lld", x->path.data,
                              (long long) uid, (long long) gid);
    if (!is_symlink) {
        mode_t mode = archive_entry_perm(e) & 07777;
        r = fd >= 0 ? fchmod(fd, mode) : fchmodat(pfd, base, mode, 0);
        if (r < 0)
            return lade_error_sys(x->err, "cannot chmod '%s'", x->path.data);
    }
    if (set_xattrs(x, fd, pfd, base) < 0)
        return -1;
    if (!archive_entry_mtime_is_set(e))
        return 0;
    struct timespec ts[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                             {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
    if (archive_entry_atime_is_set(e))
        ts[0] = (struct timespec){archive_entry_atime(e), archive_entry_atime_nsec(e)};
    if (is_dir) {
        if (x->ndirs == x->dirs_cap) {
            x->dirs_cap = x->dirs_cap * 2 + 64;
            x->dirs = xrealloc(x->dirs, x->dirs_cap * sizeof(*x->dirs));
        }
        x->dirs[x->ndirs++] = (struct dir_time){xstrdup(x->path.data), ts[1]};
        return 0;
    }
    r = fd >= 0 ? futimens(fd, ts) : utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
    if (r < 0)
        return lade_error_sys(x->err, "cannot set times of '%s'", x->path.data);
    return 0;
}

/* ---- entries ---- */

static int
write_data(struct extractor *x, int fd)
{
    const void *buf;
    size_t len;
    la_int64_t off;
    int64_t end = 0;

    for (;;) {
        int r = archive_read_data_block(x->a, &buf, &len, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK)
            return extract_tar_fail(x, "cannot read layer data");
        if (off < 0)
            return bad_layer(x, "bad layer: negative data offset in '%s'", x->path.data);
        /* offsets jump over the holes of sparse entries: pwrite leaves them as holes */
        for (size_t done = 0; done < len;) {
            ssize_t w = pwrite(fd, (const char *) buf + done, len - done, off + (off_t) done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return lade_error_sys(x->err, "cannot write '%s'", x->path.data);
            done += (size_t) w;
        }
        end = off + (int64_t) len;
    }
    if (archive_entry_size_is_set(x->e) && archive_entry_size(x->e) > end &&
        ftruncate(fd, archive_entry_size(x->e)) < 0)
        return lade_error_sys(x->err, "cannot write '%s'", x->path.data);
    return 0;
}

static int
make_file(struct extractor *x, int pfd, const char *base)
{
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    cleanup_close int fd = openat(pfd, base, flags, 0600);

    if (fd < 0 && errno == EEXIST) {
        if (make_room(x, pfd, base, false) < 0)
            return -1;
        fd = openat(pfd, base, flags, 0600);
    }
    if (fd < 0)
        return lade_error_sys(x->err, "cannot create '%s'", x->path.data);
    if (write_data(x, fd) < 0)
        return -1;
    return set_meta(x, fd, pfd, base, false, false);
}

static int
make_dir(struct extractor *x, int pfd, const char *base)
{
    if (mkdirat(pfd, base, 0700) < 0) {
        int r = errno == EEXIST ? make_room(x, pfd, base, true) : -1;
        if (r < 0 && !lade_error_is_set(x->err))
            return lade_error_sys(x->err, "cannot create directory '%s'", x->path.data);
        if (r < 0)
            return -1;
        if (r == 0 && mkdirat(pfd, base, 0700) < 0)
            return lade_error_sys(x->err, "cannot create directory '%s'", x->path.data);
    }
    return set_meta(x, -1, pfd, base, false, true);
}

static int
make_symlink(struct extractor *x, int pfd, const char *base)
{
    const char *target = archive_entry_symlink(x->e);

    if (target == NULL)
        return bad_layer(x, "bad layer: symlink '%s' has no target", x->path.data);
    if (symlinkat(target, pfd, base) < 0) {
        if (errno != EEXIST || make_room(x, pfd, base, false) < 0 ||
            symlinkat(target, pfd, base) < 0) {
            if (lade_error_is_set(x->err))
                return -1;
            return lade_error_sys(x->err, "cannot create symlink '%s'", x->path.data);
        }
    }
    return set_meta(x, -1, pfd, base, true, false);
}

static int
make_node(struct extractor *x, int pfd, const char *base, mode_t type)
{
    dev_t dev = 0;

    if (type != S_IFIFO)
        dev = makedev(archive_entry_rdevmajor(x->e), archive_entry_rdevminor(x->e));
    if (mknodat(pfd, base, type | 0600, dev) < 0) {
        if (errno == EEXIST) {
            if (make_room(x, pfd, base, false) < 0)
                return -1;
            if (mknodat(pfd, base, type | 0600, dev) == 0)
                return set_meta(x, -1, pfd, base, false, false);
        }
        /* device nodes only where we may create them (DESIGN.md), as docker in a userns */
        if (errno == EPERM && type != S_IFIFO)
            return 0;
        return lade_error_sys(x->err, "cannot create '%s'", x->path.data);
    }
    return set_meta(x, -1, pfd, base, false, false);
}

static int
make_hardlink(struct extractor *x, int pfd, const char *base, const char *target)
{
    struct lade_buf tpath = LADE_BUF_INIT;
    size_t tdir_len;
    const char *tbase;
    int rc = -1, tfd = -1;

    int r = clean_name(x, target, &tpath, &tdir_len, &tbase);
    if (r != 0) {
        if (r > 0)
            bad_layer(x, "bad layer: hardlink '%s' points at the root", x->path.data);
        goto out;
    }
    if (strcmp(tpath.data, x->path.data) == 0) { /* a link to itself: nothing to do */
        rc = 0;
        goto out;
    }
    /* not through the cache: pfd must stay open */
    if (tdir_len == 0) {
        tfd = x->root;
    } else {
        cleanup_free char *tdir = xstrndup(tpath.data, tdir_len);
        tfd = open_beneath(x->root, tdir, x->resolve);
        if (tfd < 0) {
            if (errno == ENOENT)
                bad_layer(x, "bad layer: hardlink target '%s' does not exist", tpath.data);
            else
                resolve_fail(x, tdir);
            goto out;
        }
    }
    /* flags 0: a symlink target is linked itself, never followed */
    if (linkat(tfd, tbase, pfd, base, 0) < 0) {
        if (errno == EEXIST) {
            struct stat a, b;
            if (fstatat(tfd, tbase, &a, AT_SYMLINK_NOFOLLOW) == 0 &&
                fstatat(pfd, base, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev &&
                a.st_ino == b.st_ino) {
                rc = 0;
                goto out;
            }
            if (make_room(x, pfd, base, false) < 0)
                goto out;
            if (linkat(tfd, tbase, pfd, base, 0) == 0) {
                rc = 0;
                goto out;
            }
        }
        if (errno == ENOENT)
            bad_layer(x, "bad layer: hardlink target '%s' does not exist", tpath.data);
        else
            lade_error_sys(x->err, "cannot link '%s' to '%s'", x->path.data, tpath.data);
        goto out;
    }
    rc = 0;
out:
    if (tfd >= 0 && tfd != x->root)
        close(tfd);
    lade_buf_release(&tpath);
    return rc;
}

/* ".wh.NAME" -> a 0/0 character device NAME; ".wh..wh..opq" -> its directory is opaque. */
static int
make_whiteout(struct extractor *x, int pfd, const char *base)
{
    if (strcmp(base, OPAQUE_MARKER) == 0) {
        cleanup_close int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || overlay_opaque_mark(dfd) < 0)
            return lade_error_sys(x->err, "cannot mark '%.*s' opaque", (int) x->dir_len,
                                  x->path.data);
        return 0;
    }
    if (strncmp(base, WHITEOUT_META, strlen(WHITEOUT_META)) == 0)
        return 0; /* aufs bookkeeping (.wh..wh.plnk, ...), as docker skips it */
    /* from here on the entry is NAME itself: path "a/.wh.b" becomes "a/b" */
    size_t skip = strlen(WHITEOUT_PREFIX);
    char *name = x->path.data + (x->path.len - strlen(base)); /* base, writable */
    memmove(name, name + skip, strlen(name + skip) + 1);
    x->path.len -= skip;
    if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return bad_layer(x, "refusing layer: bad whiteout in '%s'", x->path.data);
    if (mknodat(pfd, name, S_IFCHR, makedev(0, 0)) == 0)
        return 0;
    if (errno != EEXIST || make_room(x, pfd, name, false) < 0 ||
        mknodat(pfd, name, S_IFCHR, makedev(0, 0)) < 0) {
        if (lade_error_is_set(x->err))
            return -1;
        return lade_error_sys(x->err, "cannot create whiteout for '%s'", x->path.data);
    }
    return 0;
}

int
extract_entry(struct extractor *x)
{
    const char *name = archive_entry_pathname(x->e);

    if (name == NULL)
        return bad_layer(x, "bad layer: %s", "an entry has no name");
    int r = clean_name(x, name, &x->path, &x->dir_len, &x->base);
    if (r != 0)
        return r < 0 ? -1 : 0; /* the root itself: the layer dir is already there */
    int pfd = resolve_dir(x, x->path.data, x->dir_len, true);
    if (pfd < 0)
        return -1;
    if (!x->add && strncmp(x->base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0)
        return make_whiteout(x, pfd, x->base);
    const char *link = archive_entry_hardlink(x->e);
    if (link != NULL)
        return make_hardlink(x, pfd, x->base, link);
    switch (archive_entry_filetype(x->e)) {
    case AE_IFREG:
        return make_file(x, pfd, x->base);
    case AE_IFDIR:
        return make_dir(x, pfd, x->base);
    case AE_IFLNK:
        return make_symlink(x, pfd, x->base);
    case AE_IFCHR:
        return make_node(x, pfd, x->base, S_IFCHR);
    case AE_IFBLK:
        return make_node(x, pfd, x->base, S_IFBLK);
    case AE_IFIFO:
        return make_node(x, pfd, x->base, S_IFIFO);
    default:
        return 0; /* sockets and unknown types: nothing to create */
    }
}

/* Last, so creating the contents did not change them again. */
void
extract_apply_dir_times(struct extractor *x)
{
    for (size_t i = 0; i < x->ndirs; i++) {
        struct lade_error ignored = {0};
        struct lade_error *saved = x->err;
        const char *base;
        size_t dir_len;
        struct stat st;

        x->err = &ignored; /* a directory replaced or removed later has no time to set */
        if (clean_name(x, x->dirs[i].path, &x->path, &dir_len, &base) == 0) {
            int pfd = resolve_dir(x, x->path.data, dir_len, false);
            struct timespec ts[2] = {x->dirs[i].mtime, x->dirs[i].mtime};
            if (pfd >= 0 && fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISDIR(st.st_mode))
                utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
        }
        x->err = saved;
    }
}
