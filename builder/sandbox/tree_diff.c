/* SPDX-License-Identifier: Apache-2.0 */
/* The chroot tier's layer: a snapshot of a tree's metadata before a step, and after it the
 * changes written as an overlay upper dir (tree.h says what is compared and why). */
#include "tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fsutil.h"
#include "../common/strv.h"
#include "../common/xalloc.h"

struct snap_entry {
    char *path; /* relative, "etc/passwd" */
    mode_t mode;
    uid_t uid;
    gid_t gid;
    nlink_t nlink;
    uint64_t size, ino, dev;
    struct statx_timestamp mtime, ctime, btime;
};

struct tree_snapshot {
    struct snap_entry *v; /* sorted bytewise by path */
    size_t n, cap;
    char **skip;
};

static int
stat_entry(int dir, const char *name, struct statx *sx)
{
    return statx(dir, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, sx);
}

static bool
skipped(char *const *skip, const char *path)
{
    for (size_t i = 0; skip && skip[i]; i++)
        if (strcmp(skip[i], path) == 0)
            return true;
    return false;
}

static char *
child_path(const char *prefix, const char *name)
{
    return prefix[0] == '\0' ? xstrdup(name) : xasprintf("%s/%s", prefix, name);
}

static void
snap_add(struct tree_snapshot *s, char *path, const struct statx *sx)
{
    if (s->n == s->cap) {
        s->cap = s->cap * 2 + 256;
        s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = (struct snap_entry){
        .path = path,
        .mode = sx->stx_mode,
        .uid = sx->stx_uid,
        .gid = sx->stx_gid,
        .nlink = sx->stx_nlink,
        .size = sx->stx_size,
        .ino = sx->stx_ino,
        .dev = makedev(sx->stx_dev_major, sx->stx_dev_minor),
        .mtime = sx->stx_mtime,
        .ctime = sx->stx_ctime,
        .btime = (sx->stx_mask & STATX_BTIME) ? sx->stx_btime : (struct statx_timestamp){0},
    };
}

static int
snap_dir(struct tree_snapshot *s, int dir, const char *prefix, struct lade_error *err)
{
    struct dirent **list = NULL;
    int n = dir_entries_sorted(dir, &list), rc = 0;

    if (n < 0)
        return lade_error_sys(err, "cannot list '/%s'", prefix);
    for (int i = 0; rc == 0 && i < n; i++) {
        char *path = child_path(prefix, list[i]->d_name);
        struct statx sx;
        if (skipped(s->skip, path)) {
            free(path);
            continue;
        }
        if (stat_entry(dir, list[i]->d_name, &sx) < 0) {
            rc = lade_error_sys(err, "cannot stat '/%s'", path);
            free(path);
            break;
        }
        snap_add(s, path, &sx);
        if (!S_ISDIR(sx.stx_mode))
            continue;
        cleanup_close int fd =
            openat(dir, list[i]->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            rc = lade_error_sys(err, "cannot open '/%s'", path);
        else
            rc = snap_dir(s, fd, path, err);
    }
    dirents_free(list, n);
    return rc;
}

static int
cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct snap_entry *) a)->path, ((const struct snap_entry *) b)->path);
}

/* A change made after the snapshot gets a ctime from a later tick of the coarse clock than
 * any change before it (filesystems stamp ctime from that clock). */
static void
wait_clock_tick(void)
{
    struct timespec res = {0, 0};

    clock_getres(CLOCK_REALTIME_COARSE, &res);
    long ns = res.tv_sec > 0 ? 1000000000L : res.tv_nsec * 2;
    struct timespec d = {0, ns < 1000000L ? 1000000L : ns};
    while (nanosleep(&d, &d) < 0 && errno == EINTR)
        ;
}

int
tree_snapshot_take(int root_fd, char *const *skip, struct tree_snapshot **out,
                   struct lade_error *err)
{
    struct tree_snapshot *s = xcalloc(1, sizeof(*s));

    s->skip = strv_dup(skip);
    if (snap_dir(s, root_fd, "", err) < 0) {
        tree_snapshot_free(s);
        return -1;
    }
    qsort(s->v, s->n, sizeof(*s->v), cmp_entry);
    wait_clock_tick();
    *out = s;
    return 0;
}

void
tree_snapshot_free(struct tree_snapshot *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].path);
    free(s->v);
    strv_free(s->skip);
    free(s);
}

static const struct snap_entry *
snap_find(const struct tree_snapshot *s, const char *path)
{
    struct snap_entry key = {.path = (char *) path};

    return bsearch(&key, s->v, s->n, sizeof(*s->v), cmp_entry);
}

static bool
ts_eq(struct statx_timestamp a, struct statx_timestamp b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* The same file (not one deleted and made again at the path) */
static bool
same_identity(const struct snap_entry *e, const struct statx *sx)
{
    return e->ino == sx->stx_ino && ts_eq(e->btime, sx->stx_btime) &&
           (e->mode & S_IFMT) == (sx->stx_mode & S_IFMT);
}

static bool
changed(const struct snap_entry *e, const struct statx *sx)
{
    return e->mode != sx->stx_mode || e->uid != sx->stx_uid || e->gid != sx->stx_gid ||
           e->size != sx->stx_size || e->nlink != sx->stx_nlink ||
           !ts_eq(e->mtime, sx->stx_mtime) || !ts_eq(e->ctime, sx->stx_ctime);
}

/* One directory level of the walk; its copy in the upper dir is made on first need, with
 * every parent that lacks one. */
struct level {
    struct level *parent;
    const char *name; /* in the parent; NULL for the root */
    const char *path;
    int tree_fd;
    int upper_fd; /* -1 until made */
};

struct diff {
    int root_fd, upper_root;
    const struct tree_snapshot *s;
    struct inomap links;
    struct lade_error *err;
};

static int
ensure_upper(struct level *l, struct lade_error *err)
{
    if (l->upper_fd >= 0)
        return 0;
    if (ensure_upper(l->parent, err) < 0)
        return -1;
    if (mkdirat(l->parent->upper_fd, l->name, 0700) < 0)
        return lade_error_sys(err, "cannot create '%s' in the upper dir", l->path);
    l->upper_fd = openat(l->parent->upper_fd, l->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (l->upper_fd < 0)
        return lade_error_sys(err, "cannot open '%s' in the upper dir", l->path);
    return 0;
}

static void
to_stat(const struct statx *sx, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_mode = sx->stx_mode;
    st->st_uid = sx->stx_uid;
    st->st_gid = sx->stx_gid;
    st->st_nlink = sx->stx_nlink;
    st->st_size = (off_t) sx->stx_size;
    st->st_ino = sx->stx_ino;
    st->st_dev = makedev(sx->stx_dev_major, sx->stx_dev_minor);
    st->st_rdev = makedev(sx->stx_rdev_major, sx->stx_rdev_minor);
    st->st_atim = (struct timespec){sx->stx_atime.tv_sec, sx->stx_atime.tv_nsec};
    st->st_mtim = (struct timespec){sx->stx_mtime.tv_sec, sx->stx_mtime.tv_nsec};
}

static int diff_level(struct diff *d, struct level *l, bool fresh);

/* An entry into the upper dir of l; a directory with everything in it when fresh, or else
 * with what changed below it. opaque: it replaced a path of the snapshot. */
static int
diff_entry(struct diff *d, struct level *l, const char *name, const char *path,
           const struct statx *sx, bool copy, bool fresh, bool opaque)
{
    struct stat st;

    to_stat(sx, &st);
    if (copy &&
        (ensure_upper(l, d->err) < 0 || tree_copy_entry(l->tree_fd, name, &st, d->upper_root,
                                                        l->upper_fd, path, &d->links, d->err) < 0))
        return -1;
    if (!S_ISDIR(sx->stx_mode))
        return 0;
    struct level c = {.parent = l, .name = name, .path = path, .upper_fd = -1};
    c.tree_fd = openat(l->tree_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (c.tree_fd < 0)
        return lade_error_sys(d->err, "cannot open '/%s'", path);
    if (copy)
        c.upper_fd = openat(l->upper_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = copy && c.upper_fd < 0 ? lade_error_sys(d->err, "cannot open '%s'", path) : 0;
    if (rc == 0 && opaque)
        rc = tree_set_opaque(c.upper_fd, path, d->err);
    if (rc == 0)
        rc = diff_level(d, &c, fresh);
    if (rc == 0 && c.upper_fd >= 0)
        rc = tree_copy_dir_meta(c.tree_fd, &st, c.upper_fd, path, d->err);
    close(c.tree_fd);
    if (c.upper_fd >= 0)
        close(c.upper_fd);
    return rc;
}

/* Whiteouts for the snapshot's entries directly below l that are gone. */
static int
diff_deleted(struct diff *d, struct level *l)
{
    const struct tree_snapshot *s = d->s;
    cleanup_free char *pre = l->name == NULL ? xstrdup("") : xasprintf("%s/", l->path);
    size_t plen = strlen(pre), lo = 0, hi = s->n;

    while (lo < hi) { /* the first entry >= pre: the children follow it */
        size_t mid = (lo + hi) / 2;
        if (strcmp(s->v[mid].path, pre) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < s->n && strncmp(s->v[i].path, pre, plen) == 0; i++) {
        const char *name = s->v[i].path + plen;
        struct stat st;
        if (strchr(name, '/') != NULL || fstatat(l->tree_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
            continue;
        if (errno != ENOENT)
            return lade_error_sys(d->err, "cannot stat '/%s'", s->v[i].path);
        if (ensure_upper(l, d->err) < 0)
            return -1;
        if (mknodat(l->upper_fd, name, S_IFCHR | 0, 0) < 0)
            return lade_error_sys(d->err, "cannot create a whiteout for '/%s'", s->v[i].path);
    }
    return 0;
}

static int
diff_level(struct diff *d, struct level *l, bool fresh)
{
    struct dirent **list = NULL;
    int n = dir_entries_sorted(l->tree_fd, &list), rc = 0;

    if (n < 0)
        return lade_error_sys(d->err, "cannot list '/%s'", l->path);
    for (int i = 0; rc == 0 && i < n; i++) {
        const char *name = list[i]->d_name;
        cleanup_free char *path = child_path(l->name == NULL ? "" : l->path, name);
        struct statx sx;
        if (skipped(d->s->skip, path))
            continue;
        if (stat_entry(l->tree_fd, name, &sx) < 0) {
            rc = lade_error_sys(d->err, "cannot stat '/%s'", path);
            break;
        }
        const struct snap_entry *e = fresh ? NULL : snap_find(d->s, path);
        bool is_new = e == NULL || !same_identity(e, &sx);
        bool opaque = !fresh && e != NULL && is_new && S_ISDIR(sx.stx_mode);
        rc = diff_entry(d, l, name, path, &sx, is_new || changed(e, &sx), is_new, opaque);
    }
    dirents_free(list, n);
    if (rc == 0 && !fresh)
        rc = diff_deleted(d, l);
    return rc;
}

int
tree_diff_to_upper(int root_fd, const struct tree_snapshot *s, int upper_fd, struct lade_error *err)
{
    struct diff d = {.root_fd = root_fd, .upper_root = upper_fd, .s = s, .err = err};
    struct level root = {.path = "", .tree_fd = root_fd, .upper_fd = upper_fd};
    int rc = diff_level(&d, &root, false);

    inomap_release(&d.links);
    return rc;
}
