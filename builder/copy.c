/* SPDX-License-Identifier: Apache-2.0 */
/* COPY and ADD: sources from the context (minus .dockerignore), a stage or an image, written
 * through an overlay of the stage so the upper dir is the layer. Both sides are opened relative
 * to their root with RESOLVE_IN_ROOT: neither a "../" nor a symlink in the context or the image
 * can reach the host. */
#include "steps.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cache.h"
#include "copy_links.h"
#include "rootfs.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"

struct copy_job {
    struct build *b;
    int src_root;                      /* context, or a stage's mounted rootfs */
    const struct dockerignore *ignore; /* only for the context */
    int dst_root;                      /* the step's merged rootfs */
    bool chown;
    uid_t uid;
    gid_t gid;
    bool chmod;
    mode_t mode;
    bool keep_owner; /* --from: entries keep their owners (the context's become 0:0) */
    /* Hash mode (for the cache key): nothing is written, the sources' paths, modes,
     * contents and hard links go into hash instead. */
    struct sha256 *hash;
    /* Hard links among the copied files (copy_links.h): source inode -> the first image path
     * (copying) or source path (hashing). NULL: copy_source keeps one per source; a caller
     * that shares one between sources links files across them. */
    struct inomap *links;
};

static void
hash_entry(const struct copy_job *j, const char *rel, const struct stat *st, const char *extra)
{
    char buf[128];
    int n = snprintf(buf, sizeof(buf), "%o %llu", (unsigned) st->st_mode,
                     (unsigned long long) st->st_rdev);

    sha256_update(j->hash, rel, strlen(rel) + 1);
    sha256_update(j->hash, buf, (size_t) n + 1);
    sha256_update(j->hash, extra, strlen(extra) + 1);
}

static bool
is_excluded(const struct copy_job *j, const char *rel, struct lade_error *err, int *rc)
{
    bool ex = false;

    *rc = 0;
    if (j->ignore == NULL || rel[0] == '\0')
        return false;
    if (dockerignore_matches(j->ignore, rel, &ex, err) < 0)
        *rc = -1;
    return ex;
}

static void
apply_meta(const struct copy_job *j, int dirfd, const char *name, const struct stat *st)
{
    struct timespec ts[2] = {st->st_mtim, st->st_mtim};
    uid_t uid = j->chown ? j->uid : j->keep_owner ? st->st_uid : 0;
    gid_t gid = j->chown ? j->gid : j->keep_owner ? st->st_gid : 0;

    fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
    if (!S_ISLNK(st->st_mode))
        fchmodat(dirfd, name, j->chmod ? j->mode : (st->st_mode & 07777), 0);
    utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
}

/* Removes whatever is at dirfd/name unless it is a directory and keep_dir. */
static int
clear_dest(int dirfd, const char *name, bool keep_dir, struct lade_error *err)
{
    struct stat st;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : lade_error_sys(err, "stat '%s'", name);
    if (S_ISDIR(st.st_mode))
        return keep_dir ? 0 : rm_rf_at(dirfd, name, err);
    if (unlinkat(dirfd, name, 0) < 0)
        return lade_error_sys(err, "cannot replace '%s'", name);
    return 0;
}

/* Opens a regular file for reading. O_NONBLOCK and the check after open: an entry swapped for a
 * FIFO after its stat must fail, not block (nothing else is ever opened). */
static int
open_regular(int dir, const char *name, int flags, const char *rel, struct lade_error *err)
{
    cleanup_close int fd = openat(dir, name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | flags);
    struct stat st;

    if (fd < 0 || fstat(fd, &st) < 0)
        return lade_error_sys(err, "cannot open '%s'", rel);
    if (!S_ISREG(st.st_mode))
        return lade_error_set(err, LADE_ERR_IO, "'%s' changed while being copied", rel);
    return steal_fd(&fd);
}

/* Hashes one non-directory entry src_dir/name (stat st) for the cache key. */
static int
hash_leaf(const struct copy_job *j, int src_dir, const char *name, const char *rel,
          const struct stat *st, struct lade_error *err)
{
    char d[PATH_MAX] = "";
    const char *first = copy_link_first(j->links, st, rel);

    if (first != NULL) {
        cleanup_free char *link = xasprintf("hardlink %s", first);
        hash_entry(j, rel, st, link);
        return 0;
    }
    if (S_ISREG(st->st_mode)) {
        cleanup_close int in = open_regular(src_dir, name, 0, rel, err);
        if (in < 0 || digest_of_fd(in, d, err) < 0)
            return lade_error_prefix(err, "cannot read '%s'", rel);
    } else if (S_ISLNK(st->st_mode)) {
        ssize_t n = readlinkat(src_dir, name, d, sizeof(d) - 1);
        d[n > 0 ? n : 0] = '\0';
    }
    hash_entry(j, rel, st, d);
    return 0;
}

/* Copies one non-directory entry src_dir/name (stat st) to dst_dir/dst_name (dst_dir's image path
 * dst_path). FIFOs and devices
 * are made anew, never opened (BuildKit's context transfer and copy recreate FIFOs too);
 * sockets are skipped: a tar cannot hold them. */
static int
copy_leaf(const struct copy_job *j, int src_dir, const char *name, const struct stat *st,
          const char *dst_path, int dst_dir, const char *dst_name, struct lade_error *err)
{
    int linked;

    if (S_ISSOCK(st->st_mode))
        return 0;
    if (clear_dest(dst_dir, dst_name, false, err) < 0 ||
        (linked = copy_link_earlier(j->links, j->dst_root, st, dst_path, dst_dir, dst_name, err)) <
            0)
        return -1;
    if (linked)
        return 0; /* the first copy has the metadata already */
    if (S_ISREG(st->st_mode)) {
        cleanup_close int in = open_regular(src_dir, name, O_NOFOLLOW, name, err);
        if (in < 0)
            return -1;
        cleanup_close int out =
            openat(dst_dir, dst_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
            return lade_error_sys(err, "cannot create '%s'", dst_name);
        if (copy_fd(in, out, err) < 0)
            return lade_error_prefix(err, "copy '%s'", name);
    } else if (S_ISLNK(st->st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(src_dir, name, target, sizeof(target) - 1);
        if (n < 0)
            return lade_error_sys(err, "readlink '%s'", name);
        target[n] = '\0';
        if (symlinkat(target, dst_dir, dst_name) < 0)
            return lade_error_sys(err, "symlink '%s'", dst_name);
    } else if (S_ISFIFO(st->st_mode) || S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
        if (mknodat(dst_dir, dst_name, st->st_mode, st->st_rdev) < 0)
            return lade_error_sys(err, "mknod '%s'", dst_name);
    } else {
        return 0;
    }
    apply_meta(j, dst_dir, dst_name, st);
    return 0;
}

static int
dirent_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int
not_dots(const struct dirent *d)
{
    return strcmp(d->d_name, ".") && strcmp(d->d_name, "..");
}

/* Copies the contents of src_dir (source-relative path rel) into dst_dir (image path dpath, NULL
 * in hash mode), in name order: the hash needs a stable order, and the first of several hard
 * links is then the first in Go's filepath.Walk order, as in BuildKit. */
static int
copy_dir_contents(const struct copy_job *j, int src_dir, const char *rel, int dst_dir,
                  const char *dpath, struct lade_error *err)
{
    struct dirent **list = NULL;
    int n = scandirat(src_dir, ".", &list, not_dots, dirent_cmp), rc = 0;

    if (n < 0)
        return lade_error_sys(err, "cannot read directory '%s'", rel[0] ? rel : ".");
    for (int i = 0; i < n && rc == 0; i++) {
        const char *name = list[i]->d_name;
        cleanup_free char *crel = rel[0] ? xasprintf("%s/%s", rel, name) : xstrdup(name);
        struct stat st;
        int xrc;
        bool ex = is_excluded(j, crel, err, &xrc);

        if (xrc < 0 || fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            rc = xrc < 0 ? -1 : lade_error_sys(err, "stat '%s'", crel);
            break;
        }
        if (ex && !(S_ISDIR(st.st_mode) && dockerignore_has_exceptions(j->ignore)))
            continue;
        if (!S_ISDIR(st.st_mode)) {
            rc = j->hash ? hash_leaf(j, src_dir, name, crel, &st, err)
                         : copy_leaf(j, src_dir, name, &st, dpath, dst_dir, name, err);
            continue;
        }
        cleanup_close int sub_src =
            openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub_src < 0) {
            rc = lade_error_sys(err, "cannot open '%s'", crel);
            break;
        }
        if (j->hash) {
            hash_entry(j, crel, &st, ex ? "excluded" : "");
            rc = copy_dir_contents(j, sub_src, crel, -1, NULL, err);
            continue;
        }
        if (clear_dest(dst_dir, name, true, err) < 0 ||
            (mkdirat(dst_dir, name, 0755) < 0 && errno != EEXIST)) {
            rc = lade_error_sys(err, "cannot create directory '%s'", crel);
            break;
        }
        cleanup_close int sub_dst =
            openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub_dst < 0) {
            rc = lade_error_sys(err, "cannot open '%s'", crel);
            break;
        }
        cleanup_free char *sub_path = copy_path_join(dpath, name);
        rc = copy_dir_contents(j, sub_src, crel, sub_dst, sub_path, err);
        if (rc == 0)
            apply_meta(j, dst_dir, name, &st);
        /* An excluded directory walked only for its exceptions stays only if it got any. */
        if (rc == 0 && ex)
            unlinkat(dst_dir, name, AT_REMOVEDIR);
    }
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
    return rc;
}

static int
strcmp_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool
has_wildcard(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* Expands one source pattern (relative to the source root) into matching relative paths. */
static int
glob_sources(const struct copy_job *j, const char *pattern, char ***out, struct lade_error *err)
{
    cleanup_free char *clean = path_clean_abs(pattern);
    char **cur = strv_push(NULL, "");

    /* Walk component by component; only wildcard components read directories. */
    for (char *p = clean + 1; *p;) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        char **next = NULL;
        for (size_t i = 0; cur[i]; i++) {
            if (!has_wildcard(p)) {
                next = strv_push_take(next, cur[i][0] ? xasprintf("%s/%s", cur[i], p) : xstrdup(p));
                continue;
            }
            cleanup_close int dfd =
                rootfs_open(j->src_root, cur[i][0] ? cur[i] : "/", O_RDONLY | O_DIRECTORY, 0, NULL);
            DIR *d = dfd >= 0 ? fdopendir(steal_fd(&dfd)) : NULL;
            struct dirent *de;
            char **names = NULL;
            while (d && (de = readdir(d)) != NULL)
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
                    fnmatch(p, de->d_name, 0) == 0)
                    names = strv_push(names, de->d_name);
            if (d)
                closedir(d);
            if (names != NULL) /* qsort's array is nonnull: GCC drops NULL checks after it */
                qsort(names, strv_len(names), sizeof(char *), strcmp_ptr);
            for (size_t k = 0; names && names[k]; k++)
                next = strv_push_take(next, cur[i][0] ? xasprintf("%s/%s", cur[i], names[k])
                                                      : xstrdup(names[k]));
            strv_free(names);
        }
        strv_free(cur);
        cur = next ? next : xcalloc(1, sizeof(char *));
        if (!slash)
            break;
        p = slash + 1;
    }
    (void) err;
    *out = cur;
    return 0;
}

/* Copies the source rel (a file or a directory's contents) to dest (absolute in the image). */
static int
copy_one_source(const struct copy_job *j, const char *rel, const char *dest, bool dest_is_dir,
                struct lade_error *err)
{
    cleanup_close int src = -1, parent = -1;
    struct stat st;
    uid_t uid = j->chown ? j->uid : 0;
    gid_t gid = j->chown ? j->gid : 0;

    /* The source path itself is followed (inside its root), as docker does. */
    src = rootfs_open(j->src_root, rel[0] ? rel : "/", O_PATH, 0, err);
    if (src < 0 || fstat(src, &st) < 0)
        return lade_error_prefix(err, "cannot stat source '%s'", rel);
    if (S_ISSOCK(st.st_mode))
        return lade_error_set(err, LADE_ERR_OTHER, "cannot copy \"%s\": it is a socket", rel);
    if (j->hash != NULL) {
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", src);
        if (!S_ISDIR(st.st_mode))
            return hash_leaf(j, AT_FDCWD, proc, rel, &st, err);
        hash_entry(j, rel, &st, "");
        cleanup_close int sdir = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sdir < 0)
            return lade_error_sys(err, "cannot open '%s'", rel);
        return copy_dir_contents(j, sdir, rel, -1, NULL, err);
    }
    if (S_ISDIR(st.st_mode)) {
        if (rootfs_mkdir_p(j->dst_root, dest, 0755, uid, gid, err) < 0)
            return -1;
        cleanup_close int dst = rootfs_open(j->dst_root, dest, O_RDONLY | O_DIRECTORY, 0, err);
        cleanup_close int sdir =
            rootfs_open(j->src_root, rel[0] ? rel : "/", O_RDONLY | O_DIRECTORY, 0, err);
        if (dst < 0 || sdir < 0)
            return -1;
        return copy_dir_contents(j, sdir, rel, dst, dest, err);
    }

    /* A file: into dest when dest is (or names) a directory, else as dest. */
    cleanup_free char *target = NULL;
    struct stat dst_st;
    cleanup_close int probe = rootfs_open(j->dst_root, dest, O_PATH, 0, NULL);
    if (dest_is_dir || (probe >= 0 && fstat(probe, &dst_st) == 0 && S_ISDIR(dst_st.st_mode))) {
        const char *base = strrchr(rel, '/');
        target = xasprintf("%s/%s", dest, base ? base + 1 : rel);
    } else {
        target = xstrdup(dest);
    }
    cleanup_free char *clean = path_clean_abs(target);
    char *slash = strrchr(clean, '/');
    *slash = '\0';
    const char *pdir = clean[0] ? clean : "/";
    if (rootfs_mkdir_p(j->dst_root, pdir, 0755, uid, gid, err) < 0)
        return -1;
    parent = rootfs_open(j->dst_root, pdir, O_RDONLY | O_DIRECTORY, 0, err);
    if (parent < 0)
        return -1;
    char *sep = strrchr(rel, '/');
    cleanup_free char *sdir_path = sep ? xstrndup(rel, (size_t) (sep - rel)) : xstrdup("/");
    cleanup_close int sdir = rootfs_open(j->src_root, sdir_path, O_RDONLY | O_DIRECTORY, 0, err);
    if (sdir < 0)
        return -1;
    /* A followed top-level symlink is copied as its target: the content is read through src. */
    if (!S_ISREG(st.st_mode))
        return copy_leaf(j, sdir, sep ? sep + 1 : rel, &st, pdir, parent, slash + 1, err);
    if (clear_dest(parent, slash + 1, false, err) < 0)
        return -1;
    int linked = copy_link_earlier(j->links, j->dst_root, &st, pdir, parent, slash + 1, err);
    if (linked != 0)
        return linked < 0 ? -1 : 0;
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", src);
    cleanup_close int content = open_regular(AT_FDCWD, proc, 0, rel, err);
    if (content < 0)
        return -1;
    cleanup_close int out =
        openat(parent, slash + 1, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return lade_error_sys(err, "cannot create '%s'", target);
    if (copy_fd(content, out, err) < 0)
        return lade_error_prefix(err, "copy '%s'", rel);
    apply_meta(j, parent, slash + 1, &st);
    return 0;
}

static int
copy_source(const struct copy_job *j, const char *rel, const char *dest, bool dest_is_dir,
            struct lade_error *err)
{
    struct inomap own = {0};
    struct copy_job one = *j;

    if (one.links == NULL)
        one.links = &own;
    int rc = copy_one_source(&one, rel, dest, dest_is_dir, err);
    inomap_release(&own);
    return rc;
}

/* The rootfs of COPY --from: a stage of this build (built before this one: the plan knows the
 * edge) or an image in the store, mounted read-only on a step directory of its own. */
static int
mount_from(struct build *b, const char *from, struct fs_step *fs, int *rootfd,
           struct stage_state *tmp_state, struct lade_error *err)
{
    const struct stage_state *src = stage_find_built(b, from);

    if (src == NULL && plan_find_stage(b->plan, from) >= 0)
        return lade_error_set(err, LADE_ERR_OTHER,
                              "internal: stage \"%s\" is not built before the step that needs it",
                              from);
    if (src == NULL) {
        if (stage_load_image(b, tmp_state, from, err) < 0)
            return -1;
        src = tmp_state;
    }
    return fs_step_mount_ro(b, src, fs, rootfd, err);
}

static int
check_add_source(const struct copy_job *j, const char *rel, struct lade_error *err)
{
    static const unsigned char magics[][6] = {
        {0x1f, 0x8b}, {'B', 'Z', 'h'}, {0xfd, '7', 'z', 'X', 'Z', 0}, {0x28, 0xb5, 0x2f, 0xfd}};
    static const size_t lens[] = {2, 3, 6, 4};
    unsigned char head[512] = {0};
    struct stat st;
    cleanup_close int fd = rootfs_open(j->src_root, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, NULL);
    ssize_t n =
        fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, head, sizeof(head)) : 0;
    bool archive = n >= 262 && memcmp(head + 257, "ustar", 5) == 0;

    for (size_t i = 0; !archive && i < 4; i++)
        archive = n >= (ssize_t) lens[i] && memcmp(head, magics[i], lens[i]) == 0;
    if (archive)
        return lade_error_set(err, LADE_ERR_OTHER,
                              "ADD of the local archive \"%s\": extraction is not implemented yet "
                              "(use COPY and RUN tar)",
                              rel);
    return 0;
}

/* The view of the key (cache.h): the resolved destination, and the content of the sources or,
 * for --from=stage, that stage's key. The typed command itself (sources, dest, --chown, --chmod,
 * --link, --from as expanded) goes in through cache_key_step. */
static int
copy_cache_key(struct build *b, struct stage_state *ss, struct copy_job *j,
               const struct command *cmd, char *const *sources, const char *dest, bool dest_is_dir,
               struct lade_error *err)
{
    const struct copy_cmd *c = &cmd->u.copy;
    const struct stage_state *from = c->from ? stage_find_built(b, c->from) : NULL;
    cleanup_free char *v_dest = xasprintf("dest=%s%s", dest, dest_is_dir ? "/" : "");
    char content[sizeof(digest_t) + 16];
    digest_t d;
    char *view[3] = {v_dest, content, NULL};

    if (from != NULL) {
        snprintf(content, sizeof(content), "stage=%s", from->key);
    } else {
        j->hash = sha256_new();
        int rc = 0;
        for (size_t i = 0; rc == 0 && sources && sources[i]; i++) {
            sha256_update(j->hash, sources[i], strlen(sources[i]) + 1);
            rc = copy_source(j, sources[i], dest, dest_is_dir, err);
        }
        sha256_final(j->hash, d);
        sha256_free(j->hash);
        j->hash = NULL;
        if (rc < 0)
            return -1;
        snprintf(content, sizeof(content), "content=%s", d);
    }
    cache_key_step(ss, cmd, view);
    return 0;
}

/* The destination against the WORKDIR; it is a directory when written as "", "." or with a
 * trailing slash (BuildKit's dispatchCopy). */
static char *
copy_dest(struct stage_state *ss, const char *raw, bool *is_dir)
{
    size_t n = strlen(raw);

    *is_dir = n == 0 || strcmp(raw, ".") == 0 || raw[n - 1] == '/';
    return stage_abs_path(ss, raw);
}

int
step_copy(struct build *b, struct stage_state *ss, const struct command *cmd,
          struct lade_error *err)
{
    const struct copy_cmd *c = &cmd->u.copy;
    const struct instr *in = cmd->in;
    bool is_add = in->kind == INSTR_ADD;
    const char *what = is_add ? "ADD" : "COPY";
    struct copy_job j = {.b = b, .src_root = b->context_fd, .ignore = b->ignore, .dst_root = -1};
    struct fs_step fs = {0}, from_fs = {0};
    struct stage_state from_state = {0};
    char **sources = NULL;
    cleanup_free char *dest = NULL, *hist = NULL;
    cleanup_close int from_fd = -1;
    struct lade_buf hb = LADE_BUF_INIT;
    bool dest_is_dir = false;
    int rc = -1;

    if (c->unsupported != NULL)
        return lade_error_set(err, LADE_ERR_OTHER, "%s --%s is not implemented yet", what,
                              c->unsupported);
    if (in->nheredocs > 0)
        return lade_error_set(err, LADE_ERR_OTHER, "%s with a heredoc is not implemented yet",
                              what);
    dest = copy_dest(ss, c->dest, &dest_is_dir);
    dest_is_dir = dest_is_dir || c->nsrcs > 1;
    if (c->chmod != NULL) {
        j.chmod = true;
        j.mode = (mode_t) c->mode;
    }
    if (c->from != NULL) {
        if (mount_from(b, c->from, &from_fs, &from_fd, &from_state, err) < 0)
            goto out;
        j.src_root = from_fd;
        j.ignore = NULL;
        j.keep_owner = true;
    }
    for (size_t i = 0; i < c->nsrcs; i++) {
        const char *src = c->srcs[i];
        char **m = NULL;
        if (is_add && (strncmp(src, "http://", 7) == 0 || strncmp(src, "https://", 8) == 0 ||
                       strncmp(src, "git@", 4) == 0)) {
            lade_error_set(err, LADE_ERR_OTHER, "ADD from a URL (\"%s\") is not implemented yet",
                           src);
            goto out;
        }
        glob_sources(&j, src, &m, err);
        size_t found = 0;
        for (size_t k = 0; m[k]; k++) {
            int xrc;
            struct stat st;
            cleanup_close int probe =
                rootfs_open(j.src_root, m[k][0] ? m[k] : "/", O_PATH, 0, NULL);
            if (probe < 0 || fstat(probe, &st) < 0 || is_excluded(&j, m[k], err, &xrc))
                continue;
            if (xrc < 0) {
                strv_free(m);
                goto out;
            }
            sources = strv_push(sources, m[k]);
            found++;
        }
        strv_free(m);
        if (found == 0 && has_wildcard(src))
            continue; /* BuildKit: a wildcard matching nothing copies nothing */
        if (found == 0) {
            lade_error_set(err, LADE_ERR_OTHER, "\"%s\": not found%s", src,
                           c->from ? "" : " in the build context (or excluded by .dockerignore)");
            goto out;
        }
        /* Several sources go into dest as a directory (docker's rule, which BuildKit does not
         * enforce with an error). */
        dest_is_dir = dest_is_dir || found > 1;
    }
    for (size_t i = 0; is_add && sources && sources[i]; i++)
        if (check_add_source(&j, sources[i], err) < 0)
            goto out;

    lade_buf_appendf(&hb, "%s ", what);
    /* BuildKit records the flags as expanded, and not at all when they expand to "" */
    if (c->chown && c->chown[0])
        lade_buf_appendf(&hb, "--chown=%s ", c->chown);
    if (c->chmod && c->chmod[0])
        lade_buf_appendf(&hb, "--chmod=%s ", c->chmod);
    for (size_t i = 0; i < c->nsrcs; i++)
        lade_buf_appendf(&hb, "%s ", c->srcs[i]);
    lade_buf_appendf(&hb, "%s # buildkit", c->dest);
    hist = lade_buf_steal(&hb);
    if (copy_cache_key(b, ss, &j, cmd, sources, dest, dest_is_dir, err) < 0 ||
        stage_try_cache(b, ss, hist, &b->step_cached, err) < 0)
        goto out;
    if (b->step_cached) {
        rc = 0;
        goto out;
    }

    if (fs_step_begin(b, ss, true, &fs, err) < 0)
        goto out;
    j.dst_root = open(fs.merged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (j.dst_root < 0) {
        lade_error_sys(err, "open '%s'", fs.merged);
        goto out;
    }
    if (c->chown != NULL) {
        if (rootfs_lookup_user(j.dst_root, c->chown, &j.uid, &j.gid, err) < 0)
            goto out;
        j.chown = true;
    }
    for (size_t i = 0; sources && sources[i]; i++)
        if (copy_source(&j, sources[i], dest, dest_is_dir, err) < 0)
            goto out;
    close(j.dst_root);
    j.dst_root = -1;
    rc = fs_step_end(b, ss, &fs, true, hist, err);
out:
    if (j.dst_root >= 0 && j.dst_root != b->context_fd)
        close(j.dst_root);
    fs_step_end(b, ss, &fs, false, NULL, NULL);
    if (from_fd >= 0)
        close(steal_fd(&from_fd));
    fs_step_end(b, ss, &from_fs, false, NULL, NULL);
    stage_state_release(&from_state);
    lade_buf_release(&hb);
    strv_free(sources);
    return rc;
}
