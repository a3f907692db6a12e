/* SPDX-License-Identifier: Apache-2.0 */
/* Copying entries between directory trees with all the metadata a layer holds, and applying
 * an overlay layer dir onto a plain tree: how the chroot tier builds a stage's filesystem
 * without mounting anything. */
#include "tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fsutil.h"
#include "../common/userns.h"
#include "../common/xalloc.h"

int
tree_set_opaque(int dirfd, const char *path, struct lade_error *err)
{
    return overlay_opaque_mark(dirfd) == 0 ? 0
                                           : lade_error_sys(err, "cannot mark '%s' opaque", path);
}

/* overlay's own bookkeeping and the host's SELinux label are not the image's */
static bool
xattr_kept(const char *name)
{
    return strncmp(name, "trusted.overlay.", 16) != 0 && strncmp(name, "user.overlay.", 13) != 0 &&
           strcmp(name, "security.selinux") != 0;
}

/* After the chown: a chown clears security.capability, so it is set last. */
static int
copy_xattrs(int src, int dst, const char *path, struct lade_error *err)
{
    ssize_t n = flistxattr(src, NULL, 0);

    if (n <= 0)
        return n < 0 && errno != ENOTSUP ? lade_error_sys(err, "cannot list xattrs of '%s'", path)
                                         : 0;
    cleanup_free char *names = xmalloc((size_t) n);
    n = flistxattr(src, names, (size_t) n);
    if (n < 0)
        return lade_error_sys(err, "cannot list xattrs of '%s'", path);
    for (char *xn = names; xn < names + n; xn += strlen(xn) + 1) {
        if (!xattr_kept(xn))
            continue;
        ssize_t v = fgetxattr(src, xn, NULL, 0);
        if (v < 0)
            return lade_error_sys(err, "cannot read xattr '%s' of '%s'", xn, path);
        cleanup_free char *val = xmalloc((size_t) v + 1);
        v = fgetxattr(src, xn, val, (size_t) v);
        if (v < 0 || fsetxattr(dst, xn, val, (size_t) v, 0) < 0)
            return lade_error_sys(err, "cannot copy xattr '%s' of '%s'", xn, path);
    }
    return 0;
}

static int
set_meta_fd(int src, const struct stat *st, int dst, const char *path, struct lade_error *err)
{
    struct timespec times[2] = {st->st_atim, st->st_mtim};

    /* owner before mode: a chown clears setuid and setgid bits */
    if (fchown(dst, st->st_uid, st->st_gid) < 0 || fchmod(dst, st->st_mode & 07777) < 0)
        return lade_error_sys(err, "cannot set owner and mode of '%s'", path);
    if (copy_xattrs(src, dst, path, err) < 0)
        return -1;
    if (futimens(dst, times) < 0)
        return lade_error_sys(err, "cannot set times of '%s'", path);
    return 0;
}

int
tree_copy_dir_meta(int src, const struct stat *st, int dst, const char *path,
                   struct lade_error *err)
{
    return set_meta_fd(src, st, dst, path, err);
}

static int
copy_file(int src_dir, const char *name, const struct stat *st, int dst_dir, const char *dst_name,
          const char *path, struct lade_error *err)
{
    cleanup_close int in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return lade_error_sys(err, "cannot open '%s'", path);
    cleanup_close int out =
        openat(dst_dir, dst_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return lade_error_sys(err, "cannot create '%s'", path);
    if (copy_fd(in, out, err) < 0)
        return lade_error_prefix(err, "copy '%s'", path);
    return set_meta_fd(in, st, out, path, err);
}

static int
copy_symlink(int src_dir, const char *name, const struct stat *st, int dst_dir,
             const char *dst_name, const char *path, struct lade_error *err)
{
    cleanup_free char *target = xmalloc((size_t) st->st_size + 1);
    ssize_t n = readlinkat(src_dir, name, target, (size_t) st->st_size + 1);
    struct timespec times[2] = {st->st_atim, st->st_mtim};

    if (n < 0 || n > st->st_size)
        return lade_error_sys(err, "cannot read symlink '%s'", path);
    target[n] = '\0';
    if (symlinkat(target, dst_dir, dst_name) < 0 ||
        fchownat(dst_dir, dst_name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
        utimensat(dst_dir, dst_name, times, AT_SYMLINK_NOFOLLOW) < 0)
        return lade_error_sys(err, "cannot copy symlink '%s'", path);
    return 0;
}

/* FIFOs and device nodes (a device needs CAP_MKNOD). */
static int
copy_node(int dst_dir, const char *name, const struct stat *st, const char *path,
          struct lade_error *err)
{
    struct timespec times[2] = {st->st_atim, st->st_mtim};

    if (mknodat(dst_dir, name, st->st_mode & (S_IFMT | 0700), st->st_rdev) < 0 ||
        fchownat(dst_dir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
        fchmodat(dst_dir, name, st->st_mode & 07777, 0) < 0 ||
        utimensat(dst_dir, name, times, AT_SYMLINK_NOFOLLOW) < 0)
        return lade_error_sys(err, "cannot create node '%s'", path);
    return 0;
}

int
tree_copy_entry_as(int src_dir, const char *name, const struct stat *st, int dst_dir,
                   const char *dst_name, const char *path, struct lade_error *err)
{
    switch (st->st_mode & S_IFMT) {
    case S_IFDIR:
        if (mkdirat(dst_dir, dst_name, 0700) < 0)
            return lade_error_sys(err, "cannot create '%s'", path);
        return 0;
    case S_IFREG:
        return copy_file(src_dir, name, st, dst_dir, dst_name, path, err);
    case S_IFLNK:
        return copy_symlink(src_dir, name, st, dst_dir, dst_name, path, err);
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
        return copy_node(dst_dir, dst_name, st, path, err);
    default:
        return 0; /* sockets: a layer cannot hold them */
    }
}

int
tree_copy_entry(int src_dir, const char *name, const struct stat *st, int dst_root, int dst_dir,
                const char *path, struct inomap *links, struct lade_error *err)
{
    if (links != NULL && !S_ISDIR(st->st_mode) && st->st_nlink > 1) {
        const char *first = inomap_take(links, st->st_dev, st->st_ino, path);
        if (first != NULL) {
            if (linkat(dst_root, first, dst_dir, name, 0) < 0)
                return lade_error_sys(err, "cannot link '%s' to '%s'", path, first);
            return 0;
        }
    }
    return tree_copy_entry_as(src_dir, name, st, dst_dir, name, path, err);
}

static char *
child_path(const char *prefix, const char *name)
{
    return prefix[0] == '\0' ? xstrdup(name) : xasprintf("%s/%s", prefix, name);
}

static int apply_dir(int tree_root, int tree_dir, int layer_dir, const char *prefix,
                     struct inomap *links, struct lade_error *err);

/* One entry of the layer onto the tree. */
static int
apply_entry(int tree_root, int tree_dir, int layer_dir, const char *name, const char *path,
            struct inomap *links, struct lade_error *err)
{
    struct stat st, tst;

    if (fstatat(layer_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return lade_error_sys(err, "cannot stat '%s' in the layer", path);
    bool there = fstatat(tree_dir, name, &tst, AT_SYMLINK_NOFOLLOW) == 0;
    if (S_ISCHR(st.st_mode) && st.st_rdev == 0) /* a whiteout */
        return there ? rm_rf_at(tree_dir, name, err) : 0;
    if (!S_ISDIR(st.st_mode)) {
        if (there && rm_rf_at(tree_dir, name, err) < 0)
            return -1;
        return tree_copy_entry(layer_dir, name, &st, tree_root, tree_dir, path, links, err);
    }
    cleanup_close int lfd =
        openat(layer_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (lfd < 0)
        return lade_error_sys(err, "cannot open '%s' in the layer", path);
    if (there && (!S_ISDIR(tst.st_mode) || overlay_opaque_marked(lfd))) {
        if (rm_rf_at(tree_dir, name, err) < 0)
            return -1;
        there = false;
    }
    if (!there && mkdirat(tree_dir, name, 0700) < 0)
        return lade_error_sys(err, "cannot create '%s'", path);
    cleanup_close int tfd = openat(tree_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (tfd < 0)
        return lade_error_sys(err, "cannot open '%s'", path);
    if (apply_dir(tree_root, tfd, lfd, path, links, err) < 0)
        return -1;
    return tree_copy_dir_meta(lfd, &st, tfd, path, err);
}

static int
apply_dir(int tree_root, int tree_dir, int layer_dir, const char *prefix, struct inomap *links,
          struct lade_error *err)
{
    struct dirent **list = NULL;
    int n = dir_entries_sorted(layer_dir, &list), rc = 0;

    if (n < 0)
        return lade_error_sys(err, "cannot list '%s' in the layer", prefix[0] ? prefix : "/");
    for (int i = 0; rc == 0 && i < n; i++) {
        cleanup_free char *path = child_path(prefix, list[i]->d_name);
        rc = apply_entry(tree_root, tree_dir, layer_dir, list[i]->d_name, path, links, err);
    }
    dirents_free(list, n);
    return rc;
}

/* Hard links of the layer become separate files in the tree: overlay (index=off, as lade
 * mounts it) breaks such a link when one path is copied up, so a change through one path,
 * or removing one, leaves the others as they were in tier 1's layer; a shared inode here
 * would put every path in the layer. */
int
tree_apply_layer(int tree_fd, int layer_fd, struct lade_error *err)
{
    return apply_dir(tree_fd, tree_fd, layer_fd, "", NULL, err);
}
