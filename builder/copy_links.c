/* SPDX-License-Identifier: Apache-2.0 */
#include "copy_links.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "rootfs.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

static bool
linkable(const struct stat *st)
{
    return S_ISREG(st->st_mode) && st->st_nlink > 1;
}

char *
copy_path_join(const char *dir, const char *name)
{
    return strcmp(dir, "/") == 0 ? xasprintf("/%s", name) : xasprintf("%s/%s", dir, name);
}

int
copy_link_earlier(struct inomap *links, int dst_root, const struct stat *st, const char *dir_path,
                  int dst_dir, const char *name, struct lade_error *err)
{
    if (!linkable(st))
        return 0;
    cleanup_free char *path = copy_path_join(dir_path, name);
    const char *first = inomap_take(links, st->st_dev, st->st_ino, path);
    if (first == NULL)
        return 0;
    /* The first copy's directory, opened inside the root: a symlink met on the way resolves
     * as in the image. */
    const char *slash = strrchr(first, '/');
    cleanup_free char *parent = xstrndup(first, (size_t) (slash - first));
    cleanup_close int pfd =
        rootfs_open(dst_root, parent[0] ? parent : "/", O_PATH | O_DIRECTORY, 0, err);
    if (pfd < 0)
        return lade_error_prefix(err, "hard link '%s'", path);
    if (linkat(pfd, slash + 1, dst_dir, name, 0) < 0)
        return lade_error_sys(err, "cannot link '%s' to '%s'", path, first);
    return 1;
}

const char *
copy_link_first(struct inomap *links, const struct stat *st, const char *rel)
{
    return linkable(st) ? inomap_take(links, st->st_dev, st->st_ino, rel) : NULL;
}
