/* SPDX-License-Identifier: Apache-2.0 */
/* RUN --mount in the chroot tier (chroot.h): nothing can be mounted, so each mount's content
 * is put at its target in the step's throw-away tree before the snapshot and the target is
 * left out of the layer, as a mount point's content is in tier 1. */
#include "chroot.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox-internal.h"
#include "tree.h"
#include "../common/cleanup.h"
#include "../common/fsutil.h"
#include "../common/strv.h"
#include "../common/xalloc.h"

/* A cache mount (the only writable directory source: a read-write bind's source would be an
 * overlay, which the chroot tier cannot mount) is moved in and back out. */
static bool
moved(const struct sandbox_mount *m, const struct stat *src)
{
    return m->type == SANDBOX_MOUNT_BIND && !m->readonly && S_ISDIR(src->st_mode);
}

/* The target's path in the tree once its symlinked parents are resolved inside root: what
 * the snapshot must leave out. */
static char *
resolved_rel(int root_fd, const char *root_real, const char *rel, struct lade_error *err)
{
    char proc[64], real[PATH_MAX];
    cleanup_close int fd = (int) sys_openat2(root_fd, rel, O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT);
    ssize_t n;

    if (fd < 0)
        return lade_error_sys(err, "cannot open mount target '/%s'", rel), NULL;
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    n = readlink(proc, real, sizeof(real) - 1);
    size_t rl = strlen(root_real);
    if (n < 0 || (size_t) n <= rl || strncmp(real, root_real, rl) != 0 || real[rl] != '/')
        return lade_error_set(err, LADE_ERR_RUN, "mount target '/%s' is not inside the tree", rel),
               NULL;
    real[n] = '\0';
    return xstrdup(real + rl + 1);
}

/* Puts m's content at rel (its parent dir parent_fd, its name base), replacing what is there. */
static int
place_one(const struct sandbox_mount *m, int parent_fd, const char *base, const char *rel,
          struct lade_error *err)
{
    struct stat st;

    if (rm_rf_at(parent_fd, base, err) < 0)
        return -1;
    if (m->type == SANDBOX_MOUNT_TMPFS) {
        if (mkdirat(parent_fd, base, 01777) < 0 || fchmodat(parent_fd, base, 01777, 0) < 0)
            return lade_error_sys(err, "cannot create '/%s'", rel);
        return 0;
    }
    if (lstat(m->source, &st) < 0)
        return lade_error_sys(err, "cannot stat mount source '%s'", m->source);
    if (moved(m, &st)) {
        if (renameat(AT_FDCWD, m->source, parent_fd, base) < 0)
            return lade_error_sys(err, "cannot move the cache '%s' to '/%s'", m->source, rel);
        return 0;
    }
    if (S_ISSOCK(st.st_mode)) { /* an SSH agent's socket: a link to it works like a bind */
        if (linkat(AT_FDCWD, m->source, parent_fd, base, 0) < 0)
            return lade_error_sys(err, "cannot link the socket '%s' to '/%s'", m->source, rel);
        return 0;
    }
    cleanup_free char *sdir = xstrdup(m->source), *sname = xstrdup(m->source);
    cleanup_close int src_parent = open(dirname(sdir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (src_parent < 0)
        return lade_error_sys(err, "cannot open '%s'", m->source);
    int rc = tree_copy_entry_as(src_parent, basename(sname), &st, parent_fd, base, rel, err);
    if (rc < 0 || !S_ISDIR(st.st_mode))
        return rc;
    /* a read-only directory (a bind from the context or a stage): a copy; writes to it are
     * dropped with the tree, as the mount's would be */
    cleanup_close int dst =
        openat(parent_fd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    cleanup_close int src = open(m->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dst < 0 || src < 0)
        return lade_error_sys(err, "cannot open '/%s' to fill it", rel);
    return tree_apply_layer(dst, src, err) < 0 ? -1 : tree_copy_dir_meta(src, &st, dst, rel, err);
}

int
chroot_mounts_place(const char *root, const struct sandbox_mount *mounts, size_t n, char ***placed,
                    struct lade_error *err)
{
    cleanup_close int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cleanup_free char *root_real = realpath(root, NULL);

    if (root_fd < 0 || root_real == NULL)
        return lade_error_sys(err, "cannot open '%s'", root);
    for (size_t i = 0; i < n; i++) {
        const struct sandbox_mount *m = &mounts[i];
        struct stub_list stubs = {0};
        const char *rel;
        bool dir;
        if (sandbox_mount_target(m, &rel, err) < 0 || sandbox_mount_is_dir(m, &dir, err) < 0)
            return -1;
        int rc = stub_ensure(root_fd, rel, dir, &stubs, err);
        stubs_release(&stubs); /* created before the snapshot: never in the layer */
        if (rc < 0)
            return -1;
        cleanup_free char *real = resolved_rel(root_fd, root_real, rel, err);
        if (real == NULL)
            return -1;
        cleanup_free char *pdir = xstrdup(real), *pbase = xstrdup(real);
        const char *parent = strchr(real, '/') ? dirname(pdir) : ".";
        cleanup_close int parent_fd =
            openat(root_fd, parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (parent_fd < 0)
            return lade_error_sys(err, "cannot open '/%s'", parent);
        if (place_one(m, parent_fd, basename(pbase), real, err) < 0)
            return lade_error_prefix(err, "RUN --mount at '%s'", m->target);
        *placed = strv_push(*placed, real);
    }
    return 0;
}

void
chroot_mounts_return(const char *root, const struct sandbox_mount *mounts, char *const *placed)
{
    struct stat st;

    for (size_t i = 0; placed != NULL && placed[i] != NULL; i++) {
        const struct sandbox_mount *m = &mounts[i];
        if (m->type != SANDBOX_MOUNT_BIND || m->readonly || lstat(m->source, &st) == 0)
            continue; /* not moved in */
        cleanup_free char *in_tree = xasprintf("%s/%s", root, placed[i]);
        if (lstat(in_tree, &st) == 0 && S_ISDIR(st.st_mode) && rename(in_tree, m->source) == 0)
            continue;
        mkdir(m->source, 0755); /* the RUN removed it: the cache is empty now */
    }
}
