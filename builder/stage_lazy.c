/* SPDX-License-Identifier: Apache-2.0 */
/* A step that only adds files (COPY, ADD, WORKDIR) on a base that is not extracted: its upper
 * dir alone is its root. Before the step, the base's directories and symlinks along the paths
 * it writes are mirrored there ("stubs": owner, mode and times as overlay's copy-up keeps
 * them), so the step resolves its paths as on the whole tree. After it, the stubs the step did
 * not touch are removed again (overlay would not have copied them up), and if the step wrote a
 * path the base has (replacing or merging into a file of the base, which only the whole tree
 * can do right), the base is extracted and the step runs again on the overlay. The layer is
 * then byte for byte the one the overlay gives. */
#include "base_tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootfs.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

struct lazy_stub {
    char *path; /* "/a/b"; "/" for the upper dir itself, always kept */
    bool dir;
    bool kept;
    ino_t ino;
    struct timespec base_mtime; /* the base's (directories) */
    struct timespec ctime, mtime;
};

struct fs_lazy {
    const struct base_tree *tree; /* the stage's (stage_state.tree) */
    int upper_fd;
    struct lazy_stub *stubs; /* parents before children */
    size_t n;
    char *users; /* a root holding the base's etc/passwd and etc/group, or NULL */
};

void
fs_lazy_free(struct fs_lazy *lz)
{
    if (lz == NULL)
        return;
    for (size_t i = 0; i < lz->n; i++)
        free(lz->stubs[i].path);
    free(lz->stubs);
    if (lz->upper_fd >= 0)
        close(lz->upper_fd);
    free(lz->users);
    free(lz);
}

static struct lazy_stub *
stub_find(struct fs_lazy *lz, const char *path, size_t len)
{
    for (size_t i = lz->n; i-- > 0;)
        if (strncmp(lz->stubs[i].path, path, len) == 0 && lz->stubs[i].path[len] == '\0')
            return &lz->stubs[i];
    return NULL;
}

static void
stub_push(struct fs_lazy *lz, const char *path, bool dir)
{
    lz->stubs = xrealloc(lz->stubs, (lz->n + 1) * sizeof(*lz->stubs));
    lz->stubs[lz->n++] = (struct lazy_stub){.path = xstrdup(path), .dir = dir};
}

/* The base's directory at path (absolute), as extraction left it in its layer. */
static int
stub_dir(struct fs_lazy *lz, const char *path, const struct base_node *e, struct lade_error *err)
{
    if (stub_find(lz, path, strlen(path)) != NULL)
        return 0;
    if (mkdirat(lz->upper_fd, path + 1, 0700) < 0 ||
        fchownat(lz->upper_fd, path + 1, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
        fchmodat(lz->upper_fd, path + 1, e->mode, 0) < 0)
        return lade_error_sys(err, "cannot mirror the base's directory '%s'", path);
    stub_push(lz, path, true);
    lz->stubs[lz->n - 1].base_mtime = (struct timespec){e->mtime, e->mtime_nsec};
    return 0;
}

static int
stub_link(struct fs_lazy *lz, const char *path, const char *target, struct lade_error *err)
{
    if (stub_find(lz, path, strlen(path)) != NULL)
        return 0;
    if (symlinkat(target, lz->upper_fd, path + 1) < 0)
        return lade_error_sys(err, "cannot mirror the base's symlink '%s'", path);
    stub_push(lz, path, false);
    return 0;
}

/* Mirrors the base along path, one component at a time; a symlink is mirrored and the walk
 * restarts at its target (resolved in the root, as RESOLVE_IN_ROOT does). The walk ends at the
 * first component the base does not have as a directory. 1: the base's tree cannot be known
 * without extracting it. */
static int
stub_path(struct fs_lazy *lz, const char *path, struct lade_error *err)
{
    cleanup_free char *todo = path_clean_abs(path);

    for (int links = 0; links < 40; links++) {
        const struct base_node *e = NULL;
        char *p = todo + 1;
        bool restarted = false;
        while (*p != '\0' && !restarted) {
            char *end = p + strcspn(p, "/");
            char saved = *end;
            *end = '\0';
            switch (base_tree_lookup(lz->tree, todo + 1, &e)) {
            case BASE_ABSENT:
            case BASE_OTHER:
                return 0; /* the step creates it: a conflict with a file shows after */
            case BASE_UNKNOWN:
                return 1;
            case BASE_DIR:
                if (e->xattrs)
                    return 1; /* copy-up copies xattrs: not mirrored */
                if (stub_dir(lz, todo, e, err) < 0)
                    return -1;
                break;
            case BASE_SYMLINK: {
                if (stub_link(lz, todo, e->link, err) < 0)
                    return -1;
                *(p - 1) = '\0'; /* the link's directory */
                cleanup_free char *joined =
                    xasprintf("%s/%s%s%s", e->link[0] == '/' ? "" : todo, e->link, saved ? "/" : "",
                              saved ? end + 1 : "");
                free(todo);
                todo = path_clean_abs(joined);
                restarted = true;
                continue;
            }
            }
            *end = saved;
            p = saved ? end + 1 : end;
        }
        if (!restarted)
            return 0;
    }
    return 1; /* a symlink loop: the whole tree gives the step its error */
}

/* The base's etc/passwd and etc/group in a root of their own, for rootfs_lookup_user. */
static int
users_root(struct fs_lazy *lz, const char *dir, struct lade_error *err)
{
    static const char *const names[] = {"passwd", "group"};

    lz->users = xasprintf("%s/users", dir);
    cleanup_free char *etc = xasprintf("%s/etc", lz->users);
    if (mkdir(lz->users, 0755) < 0 || mkdir(etc, 0755) < 0)
        return lade_error_sys(err, "cannot create '%s'", etc);
    for (size_t i = 0; i < 2; i++) {
        const struct base_node *e = NULL;
        cleanup_free char *rel = xasprintf("etc/%s", names[i]);
        enum base_kind k = base_tree_lookup(lz->tree, rel, &e);
        if (k == BASE_ABSENT)
            continue;
        if (k != BASE_OTHER || e->data == NULL)
            return 1; /* a link, a hardlink or not a file: the whole tree answers */
        cleanup_free char *file = xasprintf("%s/%s", etc, names[i]);
        cleanup_close int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 || write_all(fd, e->data, e->data_len) < 0)
            return lade_error_sys(err, "cannot write '%s'", file);
    }
    return 0;
}

static int
stub_stat(struct fs_lazy *lz, const struct lazy_stub *s, struct stat *st)
{
    return fstatat(lz->upper_fd, s->path[1] ? s->path + 1 : ".", st, AT_SYMLINK_NOFOLLOW);
}

int
fs_lazy_begin(struct build *b, struct stage_state *ss, const char *upper, const char *dir,
              const char *const *paths, bool users, struct fs_lazy **out, struct lade_error *err)
{
    struct fs_lazy *lz;
    struct stat st;
    int rc = 0;

    *out = NULL;
    if (base_tree_update(b, ss, &ss->tree, err) < 0)
        return -1;
    lz = xcalloc(1, sizeof(*lz));
    lz->tree = ss->tree;
    lz->upper_fd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lz->upper_fd < 0)
        rc = lade_error_sys(err, "open '%s'", upper);
    if (rc == 0)
        stub_push(lz, "/", true);
    for (size_t i = 0; rc == 0 && paths[i] != NULL; i++)
        rc = stub_path(lz, paths[i], err);
    if (rc == 0 && users)
        rc = users_root(lz, dir, err);
    /* the times once every stub is made (making one moves its parent's); what the step
     * changes from here on shows in ctime: the stubs it touched are kept */
    for (size_t i = 1; rc == 0 && i < lz->n; i++) {
        struct lazy_stub *s = &lz->stubs[i];
        struct timespec ts[2] = {s->base_mtime, s->base_mtime};
        if (s->dir && utimensat(lz->upper_fd, s->path + 1, ts, AT_SYMLINK_NOFOLLOW) < 0)
            rc = lade_error_sys(err, "cannot set times of '%s'", s->path);
    }
    for (size_t i = 0; rc == 0 && i < lz->n; i++) {
        if (stub_stat(lz, &lz->stubs[i], &st) < 0)
            rc = lade_error_sys(err, "cannot stat '%s'", lz->stubs[i].path);
        lz->stubs[i].ino = st.st_ino;
        lz->stubs[i].ctime = st.st_ctim;
    }
    if (rc != 0) {
        fs_lazy_free(lz);
        return rc;
    }
    *out = lz;
    return 0;
}

const char *
fs_lazy_users(const struct fs_lazy *lz)
{
    return lz->users;
}

/* The stub of s's parent directory (the root's is itself): the walk mirrored it first. */
static struct lazy_stub *
stub_parent(struct fs_lazy *lz, const struct lazy_stub *s)
{
    const char *slash = strrchr(s->path, '/');
    struct lazy_stub *p = stub_find(lz, s->path, slash > s->path ? (size_t) (slash - s->path) : 1);

    return p != NULL ? p : &lz->stubs[0];
}

static bool
same_time(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* Whether a directory the step wrote into holds an entry (not a kept stub) that the base has:
 * only the whole tree gives the step's result then. Entries below a new directory are new. */
static int
conflicts_in(struct fs_lazy *lz, const struct lazy_stub *s, struct lade_error *err)
{
    int fd = openat(lz->upper_fd, s->path[1] ? s->path + 1 : ".",
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    cleanup_dir DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;

    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return lade_error_sys(err, "open '%s'", s->path);
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        cleanup_free char *child = xasprintf("%s/%s", s->path[1] ? s->path : "", de->d_name);
        const struct lazy_stub *c = stub_find(lz, child, strlen(child));
        if (c != NULL && c->kept)
            continue;
        if (base_tree_lookup(lz->tree, child + 1, NULL) != BASE_ABSENT)
            return 1;
    }
    return 0;
}

int
fs_lazy_finish(struct fs_lazy *lz, struct lade_error *err)
{
    struct stat st;

    /* kept: a directory the step changed (its ctime moved) and the parents of one */
    for (size_t i = lz->n; i-- > 0;) {
        struct lazy_stub *s = &lz->stubs[i];
        if (stub_stat(lz, s, &st) < 0 || st.st_ino != s->ino || S_ISDIR(st.st_mode) != s->dir)
            continue; /* replaced: no more a stub, the conflict check sees it */
        s->kept = s->kept || (s->dir && (i == 0 || !same_time(st.st_ctim, s->ctime)));
        s->mtime = st.st_mtim;
        if (!s->kept)
            continue;
        stub_parent(lz, s)->kept = true;
    }
    for (size_t i = lz->n; i-- > 1;) {
        struct lazy_stub *s = &lz->stubs[i];
        if (s->kept || stub_stat(lz, s, &st) < 0 || st.st_ino != s->ino)
            continue;
        if (unlinkat(lz->upper_fd, s->path + 1, s->dir ? AT_REMOVEDIR : 0) == 0)
            continue;
        if (errno != ENOTEMPTY)
            return lade_error_sys(err, "cannot remove '%s'", s->path);
        /* the step wrote in it within one tick of the clock: changed all the same */
        s->kept = true;
        stub_parent(lz, s)->kept = true;
    }
    /* removing a stub moved its parent's mtime: the times are the step's again */
    for (size_t i = 0; i < lz->n; i++) {
        struct lazy_stub *s = &lz->stubs[i];
        struct timespec ts[2] = {s->mtime, s->mtime};
        if (s->kept &&
            utimensat(lz->upper_fd, s->path[1] ? s->path + 1 : ".", ts, AT_SYMLINK_NOFOLLOW) < 0)
            return lade_error_sys(err, "cannot set times of '%s'", s->path);
    }
    for (size_t i = 0; i < lz->n; i++) {
        int rc = lz->stubs[i].kept ? conflicts_in(lz, &lz->stubs[i], err) : 0;
        if (rc != 0)
            return rc;
    }
    return 0;
}
