/* SPDX-License-Identifier: Apache-2.0 */
/* The confined tree copy of COPY and ADD (copy.h), and its hash mode for the cache key: the
 * same walk either writes the entries into the destination root or hashes what it would
 * write. Both sides are opened relative to their root: neither a "../" nor a symlink in the
 * source or the image can reach the host. */
#include "copy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "copy_files.h"
#include "copy_links.h"
#include "rootfs.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/taskpool.h"
#include "common/xalloc.h"

/* One entry as the key sees it: path, mode, device, and the owner it will get, since two
 * sources differing only in their owners give different layers (issue 7). */
static void
hash_entry(const struct copy_opts *o, const char *rel, const struct stat *st, const char *extra)
{
    char buf[128];
    uid_t uid;
    gid_t gid;

    copy_entry_owner(o, st, &uid, &gid);
    int n = snprintf(buf, sizeof(buf), "%o %llu %u:%u", (unsigned) st->st_mode,
                     (unsigned long long) st->st_rdev, (unsigned) uid, (unsigned) gid);

    sha256_update(o->hash, rel, strlen(rel) + 1);
    sha256_update(o->hash, buf, (size_t) n + 1);
    sha256_update(o->hash, extra, strlen(extra) + 1);
    if (o->on_entry != NULL)
        o->on_entry(o->on_entry_ctx, rel, buf, extra);
}

int
copy_is_ignored(const struct copy_opts *o, const char *rel, bool *excluded, struct lade_error *err)
{
    *excluded = false;
    if (o->ignore == NULL || rel[0] == '\0')
        return 0;
    return dockerignore_matches(o->ignore, rel, excluded, err);
}

static void
apply_meta(const struct copy_opts *o, int dirfd, const char *name, const struct stat *st)
{
    struct timespec ts[2] = {st->st_mtim, st->st_mtim};
    uid_t uid;
    gid_t gid;

    copy_entry_owner(o, st, &uid, &gid);

    fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
    if (!S_ISLNK(st->st_mode))
        fchmodat(dirfd, name, o->chmod ? o->mode : (st->st_mode & 07777), 0);
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

/* Hashes one non-directory entry src_dir/name (stat st) for the cache key; digest is its
 * content digest when the pool computed it already (read_ns: when it began reading, for the
 * digest cache; 0 when the digest cache knew it), else NULL. */
static int
hash_leaf(const struct copy_opts *o, int src_dir, const char *name, const char *rel,
          const struct stat *st, const char *digest, int64_t read_ns, struct lade_error *err)
{
    char d[PATH_MAX] = "";
    const char *first = copy_link_first(o->links, st, rel);

    if (first != NULL) {
        cleanup_free char *link = xasprintf("hardlink %s", first);
        hash_entry(o, rel, st, link);
        return 0;
    }
    if (S_ISREG(st->st_mode) && digest != NULL && digest[0] != '\0') {
        snprintf(d, sizeof(d), "%s", digest);
        if (read_ns != 0)
            digest_cache_put(o->hashes, rel, st, d, read_ns);
    } else if (S_ISREG(st->st_mode) && !digest_cache_get(o->hashes, rel, st, d)) {
        read_ns = digest_cache_now();
        if (copy_digest_regular(src_dir, name, rel, st->st_size, d, err) < 0)
            return -1;
        digest_cache_put(o->hashes, rel, st, d, read_ns);
    } else if (S_ISLNK(st->st_mode)) {
        ssize_t n = readlinkat(src_dir, name, d, sizeof(d) - 1);
        d[n > 0 ? n : 0] = '\0';
    }
    hash_entry(o, rel, st, d);
    return 0;
}

/* Copies one non-directory entry src_dir/name (stat st) to dst_dir/dst_name (dst_dir's image path
 * dst_path). FIFOs and devices
 * are made anew, never opened (BuildKit's context transfer and copy recreate FIFOs too);
 * sockets are skipped: a tar cannot hold them. */
/* fresh: dst_dir was made by this copy, so nothing is in the way. A regular file with one link
 * goes to o->pool when there is one (a file with several may be linked to by a later entry, which
 * needs it complete). */
static int
copy_leaf(const struct copy_opts *o, int src_dir, const char *name, const struct stat *st,
          const char *dst_path, int dst_dir, const char *dst_name, bool fresh,
          struct lade_error *err)
{
    int linked = 0;

    if (S_ISSOCK(st->st_mode))
        return 0;
    if ((!fresh && clear_dest(dst_dir, dst_name, false, err) < 0) ||
        (st->st_nlink > 1 && (linked = copy_link_earlier(o->links, o->dst_root, st, dst_path,
                                                         dst_dir, dst_name, err)) < 0))
        return -1;
    if (linked)
        return 0; /* the first copy has the metadata already */
    if (copy_file_pooled(o, st) && dst_name == name)
        return copy_submit_file(o, src_dir, name, st, dst_dir, err);
    if (S_ISREG(st->st_mode)) {
        return copy_regular_file(o, src_dir, name, O_NOFOLLOW, st, dst_dir, dst_name, err);
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
    apply_meta(o, dst_dir, dst_name, st);
    return 0;
}

/* Copies the contents of src_dir (source-relative path rel) into dst_dir (image path dpath, NULL
 * in hash mode), in name order: the hash needs a stable order, and the first of several hard
 * links is then the first in Go's filepath.Walk order, as in BuildKit. */
/* Whether the entry crel (source-root relative; crel + sub is relative to the source being
 * copied) is left out: 1 skipped, 0 copied, 2 a directory walked only for the exceptions of
 * the pattern that excludes it ("!keep/this"), -1 on error. .dockerignore matches paths from
 * the source root, --exclude from the source (fsutil's copy matches srcComponents). */
static int
left_out(const struct copy_opts *o, const char *crel, size_t sub, bool is_dir,
         struct lade_error *err)
{
    bool ign = false, exc = false;

    if (copy_is_ignored(o, crel, &ign, err) < 0 ||
        (o->exclude != NULL && dockerignore_matches(o->exclude, crel + sub, &exc, err) < 0))
        return -1;
    if ((ign && !(is_dir && dockerignore_has_exceptions(o->ignore))) ||
        (exc && !(is_dir && dockerignore_has_exceptions(o->exclude))))
        return 1;
    return ign || exc ? 2 : 0;
}

/* A directory's entry, read before any is copied or hashed. */
struct dir_entry {
    struct stat st;
    int out;         /* left_out's answer; -1 not asked (stat failed) */
    digest_t digest; /* hash mode: the content digest the pool computed (or the digest cache
                        knew), or "" */
    int64_t read_ns; /* the pool read the file from then: hash_leaf records its digest */
};

/* Hash mode: the content digests of the directory's regular files (one link each: the others
 * may be hashed as links), computed on the pool while the walk waits; hash_entry then runs in
 * name order as before, so the key is the same for any number of threads. */
static int
digest_files(const struct copy_opts *o, int src_dir, const char *rel, struct dirent **list,
             struct dir_entry *ents, int n, struct lade_error *err)
{
    int64_t read_ns = digest_cache_now();

    for (int i = 0; i < n; i++) {
        if (ents[i].out != 0 || !copy_file_pooled(o, &ents[i].st))
            continue;
        cleanup_free char *crel =
            rel[0] ? xasprintf("%s/%s", rel, list[i]->d_name) : xstrdup(list[i]->d_name);
        if (digest_cache_get(o->hashes, crel, &ents[i].st, ents[i].digest))
            continue;
        ents[i].read_ns = read_ns;
        if (copy_submit_digest(o, src_dir, list[i]->d_name, crel, &ents[i].st, ents[i].digest,
                               err) < 0)
            return -1;
    }
    return taskpool_wait(o->pool, err);
}

static int
stat_entries(const struct copy_opts *o, int src_dir, const char *rel, size_t sub,
             struct dirent **list, struct dir_entry *ents, int n, struct lade_error *err)
{
    for (int i = 0; i < n; i++) {
        const char *name = list[i]->d_name;
        cleanup_free char *crel = rel[0] ? xasprintf("%s/%s", rel, name) : xstrdup(name);

        ents[i].out = -1;
        if (fstatat(src_dir, name, &ents[i].st, AT_SYMLINK_NOFOLLOW) < 0)
            return lade_error_sys(err, "stat '%s'", crel);
        ents[i].out = left_out(o, crel, sub, S_ISDIR(ents[i].st.st_mode), err);
        if (ents[i].out < 0)
            return -1;
    }
    return 0;
}

/* fresh: dst_dir was made by this copy (empty when the walk began). */
static int
copy_dir_contents(const struct copy_opts *o, int src_dir, const char *rel, size_t sub, int dst_dir,
                  const char *dpath, bool fresh, struct lade_error *err)
{
    struct dirent **list = NULL;
    int n = dir_entries_sorted(src_dir, &list), rc = 0;

    if (n < 0)
        return lade_error_sys(err, "cannot read directory '%s'", rel[0] ? rel : ".");
    struct dir_entry *ents = xcalloc((size_t) n + 1, sizeof(*ents));
    rc = stat_entries(o, src_dir, rel, sub, list, ents, n, err);
    if (rc == 0 && o->hash != NULL && o->pool != NULL)
        rc = digest_files(o, src_dir, rel, list, ents, n, err);
    for (int i = 0; i < n && rc == 0; i++) {
        const char *name = list[i]->d_name;
        cleanup_free char *crel = rel[0] ? xasprintf("%s/%s", rel, name) : xstrdup(name);
        const struct stat *st = &ents[i].st;
        bool ex = ents[i].out == 2;

        if (ents[i].out == 1)
            continue;
        if (!S_ISDIR(st->st_mode)) {
            rc = o->hash
                     ? hash_leaf(o, src_dir, name, crel, st, ents[i].digest, ents[i].read_ns, err)
                     : copy_leaf(o, src_dir, name, st, dpath, dst_dir, name, fresh, err);
            continue;
        }
        cleanup_close int sub_src =
            openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub_src < 0) {
            rc = lade_error_sys(err, "cannot open '%s'", crel);
            break;
        }
        if (o->hash) {
            hash_entry(o, crel, st, ex ? "excluded" : "");
            rc = copy_dir_contents(o, sub_src, crel, sub, -1, NULL, false, err);
            continue;
        }
        int made = -1;
        if ((!fresh && clear_dest(dst_dir, name, true, err) < 0) ||
            ((made = mkdirat(dst_dir, name, 0755)) < 0 && errno != EEXIST)) {
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
        rc = copy_dir_contents(o, sub_src, crel, sub, sub_dst, sub_path, made == 0, err);
        if (rc == 0)
            apply_meta(o, dst_dir, name, st);
        /* An excluded directory walked only for its exceptions stays only if it got any. */
        if (rc == 0 && ex)
            unlinkat(dst_dir, name, AT_REMOVEDIR);
    }
    /* the jobs use src_dir and dst_dir, which the caller closes after this; and the caller
     * sets dst_dir's mtime, which creating its entries would change again */
    if (o->pool != NULL && taskpool_wait(o->pool, rc < 0 ? &(struct lade_error){0} : err) < 0)
        rc = -1;
    free(ents);
    dirents_free(list, n);
    return rc;
}

/* Copies the source rel (a file or a directory's contents) to dest (absolute in the image). */
static int
copy_one_source(const struct copy_opts *o, const char *rel, const char *dest, bool dest_is_dir,
                struct lade_error *err)
{
    cleanup_close int src = -1, parent = -1;
    struct stat st;
    uid_t uid = o->chown ? o->uid : 0;
    gid_t gid = o->chown ? o->gid : 0;

    /* The source path itself is followed (inside its root), as docker does. */
    src = rootfs_open(o->src_root, rel[0] ? rel : "/", O_PATH, 0, err);
    if (src < 0 || fstat(src, &st) < 0)
        return lade_error_prefix(err, "cannot stat source '%s'", rel);
    if (S_ISSOCK(st.st_mode))
        return lade_error_set(err, LADE_ERR_OTHER, "cannot copy \"%s\": it is a socket", rel);
    if (o->hash != NULL) {
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", src);
        if (!S_ISDIR(st.st_mode))
            return hash_leaf(o, AT_FDCWD, proc, rel, &st, NULL, 0, err);
        hash_entry(o, rel, &st, "");
        cleanup_close int sdir = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sdir < 0)
            return lade_error_sys(err, "cannot open '%s'", rel);
        return copy_dir_contents(o, sdir, rel, rel[0] ? strlen(rel) + 1 : 0, -1, NULL, false, err);
    }
    if (S_ISDIR(st.st_mode)) {
        if (rootfs_mkdir_p(o->dst_root, dest, 0755, uid, gid, err) < 0)
            return -1;
        cleanup_close int dst = rootfs_open(o->dst_root, dest, O_RDONLY | O_DIRECTORY, 0, err);
        cleanup_close int sdir =
            rootfs_open(o->src_root, rel[0] ? rel : "/", O_RDONLY | O_DIRECTORY, 0, err);
        if (dst < 0 || sdir < 0)
            return -1;
        return copy_dir_contents(o, sdir, rel, rel[0] ? strlen(rel) + 1 : 0, dst, dest, false, err);
    }

    /* A file: into dest when dest is (or names) a directory, else as dest. */
    cleanup_free char *target = NULL;
    struct stat dst_st;
    cleanup_close int probe = rootfs_open(o->dst_root, dest, O_PATH, 0, NULL);
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
    if (rootfs_mkdir_p(o->dst_root, pdir, 0755, uid, gid, err) < 0)
        return -1;
    parent = rootfs_open(o->dst_root, pdir, O_RDONLY | O_DIRECTORY, 0, err);
    if (parent < 0)
        return -1;
    char *sep = strrchr(rel, '/');
    cleanup_free char *sdir_path = sep ? xstrndup(rel, (size_t) (sep - rel)) : xstrdup("/");
    cleanup_close int sdir = rootfs_open(o->src_root, sdir_path, O_RDONLY | O_DIRECTORY, 0, err);
    if (sdir < 0)
        return -1;
    /* A followed top-level symlink is copied as its target: the content is read through src. */
    if (!S_ISREG(st.st_mode))
        return copy_leaf(o, sdir, sep ? sep + 1 : rel, &st, pdir, parent, slash + 1, false, err);
    if (clear_dest(parent, slash + 1, false, err) < 0)
        return -1;
    int linked = copy_link_earlier(o->links, o->dst_root, &st, pdir, parent, slash + 1, err);
    if (linked != 0)
        return linked < 0 ? -1 : 0;
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", src);
    cleanup_close int content = copy_open_regular(AT_FDCWD, proc, 0, rel, err);
    if (content < 0)
        return -1;
    cleanup_close int out =
        openat(parent, slash + 1, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return lade_error_sys(err, "cannot create '%s'", target);
    if (copy_fd(content, out, err) < 0)
        return lade_error_prefix(err, "copy '%s'", rel);
    apply_meta(o, parent, slash + 1, &st);
    return 0;
}

int
copy_tree(const struct copy_opts *o, const char *rel, const char *dest, bool dest_is_dir,
          struct lade_error *err)
{
    struct inomap own = {0};
    struct copy_opts one = *o;

    if (one.links == NULL)
        one.links = &own;
    /* the files of a tree copy (or hash) on every core; every job is done when this returns */
    unsigned nthreads = taskpool_default_threads();
    if (one.pool == NULL && nthreads > 0)
        one.pool = taskpool_new(nthreads);
    int rc = copy_one_source(&one, rel, dest, dest_is_dir, err);
    if (one.pool != o->pool)
        taskpool_free(one.pool);
    inomap_release(&own);
    return rc;
}

/* Gives dest (an existing directory in the image) the metadata of the source directory st. */
static int
dir_meta_at(const struct copy_opts *o, const char *dest, const struct stat *st,
            struct lade_error *err)
{
    cleanup_free char *clean = path_clean_abs(dest);
    char *slash = strrchr(clean, '/');

    if (slash[1] == '\0')
        return 0; /* the root keeps its own */
    *slash = '\0';
    cleanup_close int pfd =
        rootfs_open(o->dst_root, clean[0] ? clean : "/", O_PATH | O_DIRECTORY, 0, err);
    if (pfd < 0)
        return -1;
    apply_meta(o, pfd, slash + 1, st);
    return 0;
}

int
copy_parents(const struct copy_opts *o, const char *base, const char *kept, const char *dest,
             struct lade_error *err)
{
    cleanup_free char *src = base[0] ? xasprintf("%s/%s", base, kept) : xstrdup(kept);
    cleanup_free char *target = copy_path_join(dest, kept);
    size_t nprefix = 0;
    struct stat st;

    /* the directories on the way, deepest last, each with its source's metadata */
    for (const char *p = strchr(kept, '/'); p != NULL; p = strchr(p + 1, '/'))
        nprefix++;
    for (size_t i = 0, k = 0; i <= nprefix; i++) {
        bool self = i == nprefix; /* the match itself: a directory keeps its metadata too */
        const char *end = self ? kept + strlen(kept) : strchr(kept + k, '/');
        cleanup_free char *p = xstrndup(kept, (size_t) (end - kept));
        cleanup_free char *srel = base[0] ? xasprintf("%s/%s", base, p) : xstrdup(p);
        cleanup_free char *dpath = copy_path_join(dest, p);
        cleanup_close int fd = rootfs_open(o->src_root, srel, O_PATH, 0, err);
        k = (size_t) (end - kept) + 1;
        if (fd < 0 || fstat(fd, &st) < 0)
            return lade_error_prefix(err, "cannot stat source '%s'", srel);
        if (!S_ISDIR(st.st_mode) && self)
            break;
        if (o->hash != NULL) {
            hash_entry(o, srel, &st, "parent");
            continue;
        }
        if (rootfs_mkdir_p(o->dst_root, dpath, 0755, 0, 0, err) < 0 ||
            dir_meta_at(o, dpath, &st, err) < 0)
            return -1;
    }
    if (copy_tree(o, src, target, false, err) < 0)
        return -1;
    /* copying the contents changed the directory's mtime again */
    if (o->hash == NULL && S_ISDIR(st.st_mode) && dir_meta_at(o, target, &st, err) < 0)
        return -1;
    return 0;
}

int
copy_unpack(const struct copy_opts *o, const char *rel, const char *dest, struct lade_error *err)
{
    struct stat st;
    cleanup_close int in =
        rootfs_open(o->src_root, rel[0] ? rel : "/", O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, NULL);

    /* docker's isArchivePath: a regular file whose (decompressed) content starts as a tar */
    if (in < 0 || fstat(in, &st) < 0 || !S_ISREG(st.st_mode) || !tarball_detect(in))
        return 0;
    if (lseek(in, 0, SEEK_SET) < 0)
        return lade_error_sys(err, "cannot read '%s'", rel);
    /* the destination is always a directory, made as BuildKit's MkdirAll with the owner */
    if (rootfs_mkdir_p(o->dst_root, dest, 0755, o->chown ? o->uid : 0, o->chown ? o->gid : 0, err) <
        0)
        return -1;
    cleanup_close int dir = rootfs_open(o->dst_root, dest, O_RDONLY | O_DIRECTORY, 0, err);
    if (dir < 0)
        return lade_error_prefix(err, "cannot unpack '%s'", rel);
    struct unpack_opts uo = {.chown = o->chown, .uid = o->uid, .gid = o->gid};
    if (tarball_unpack(in, dir, &uo, err) < 0)
        return lade_error_prefix(err, "cannot unpack '%s' into '%s'", rel, dest);
    return 1;
}
