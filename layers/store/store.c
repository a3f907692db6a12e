/* SPDX-License-Identifier: Apache-2.0 */
/* The store's directories, staging in tmp/, the lock, and blobs. Every file is written in tmp/,
 * fsynced and renamed into place, and the target directory is fsynced, so a process killed at
 * any moment leaves either nothing or a whole file (DESIGN.md "The store"). */
#include "store-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../builder/common/cleanup.h"
#include "../../builder/common/fsutil.h"
#include "../../builder/common/xalloc.h"

#define OCI_LAYOUT "{\"imageLayoutVersion\":\"1.0.0\"}"

static int
open_dir(int dirfd, const char *path, struct lade_error *err)
{
    int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return lade_error_sys(err, "cannot open directory '%s'", path);
    return fd;
}

int
store_rename_from(struct store *st, const char *from_path, int to_dirfd, const char *to_name)
{
    size_t n = strlen(st->root);

    if (strncmp(from_path, st->root, n) == 0 && strncmp(from_path + n, "/tmp/", 5) == 0 &&
        from_path[n + 5] != '\0')
        return renameat(st->tmp_fd, from_path + n + 5, to_dirfd, to_name);
    return renameat(AT_FDCWD, from_path, to_dirfd, to_name);
}

int
store_write_atomic(struct store *st, int dirfd, const char *name, const void *data, size_t len,
                   struct lade_error *err)
{
    cleanup_free char *tmp = NULL;
    cleanup_close int fd = -1;

    if (store_tmp_file(st, &tmp, &fd, err) < 0)
        return -1;
    if (write_all(fd, data, len) < 0 || fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
        lade_error_sys(err, "cannot write '%s'", tmp);
        unlink(tmp);
        return -1;
    }
    if (store_rename_from(st, tmp, dirfd, name) < 0) {
        lade_error_sys(err, "cannot rename '%s' to '%s'", tmp, name);
        unlink(tmp);
        return -1;
    }
    if (fsync(dirfd) < 0)
        return lade_error_sys(err, "cannot sync the directory of '%s'", name);
    return 0;
}

/* oci-layout and an empty index.json, written once under the lock so that concurrent first
 * opens do not race. */
static int
init_layout(struct store *st, struct lade_error *err)
{
    int rc = 0;

    if (faccessat(st->oci_fd, "oci-layout", F_OK, 0) == 0 &&
        faccessat(st->oci_fd, "index.json", F_OK, 0) == 0)
        return 0;
    if (store_lock(st, err) < 0)
        return -1;
    if (faccessat(st->oci_fd, "oci-layout", F_OK, 0) < 0)
        rc = store_write_atomic(st, st->oci_fd, "oci-layout", OCI_LAYOUT, strlen(OCI_LAYOUT), err);
    if (rc == 0 && faccessat(st->oci_fd, "index.json", F_OK, 0) < 0) {
        json_auto_t *idx = oci_index_new();
        size_t len;
        cleanup_free char *s = oci_json_dump(idx, &len);
        rc = store_write_atomic(st, st->oci_fd, "index.json", s, len, err);
    }
    store_unlock(st);
    return rc;
}

int
store_open(const char *root, struct store **out, struct lade_error *err)
{
    struct store *st;
    char real[PATH_MAX];

    if (mkdir_p_at(AT_FDCWD, root, 0755, err) < 0)
        return lade_error_prefix(err, "store '%s'", root);
    if (realpath(root, real) == NULL)
        return lade_error_sys(err, "store '%s'", root);
    st = xcalloc(1, sizeof(*st));
    st->root = xstrdup(real);
    st->root_fd = st->oci_fd = st->blobs_fd = st->layers_fd = st->tmp_fd = st->lock_fd = -1;
    st->owner_fd = st->use_fd = -1;
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&st->lock_mu, &ma);
    pthread_mutexattr_destroy(&ma);
    if ((st->root_fd = open_dir(AT_FDCWD, st->root, err)) < 0 ||
        mkdir_p_at(st->root_fd, "oci/blobs/sha256", 0755, err) < 0 ||
        mkdir_p_at(st->root_fd, "layers", 0755, err) < 0 ||
        mkdir_p_at(st->root_fd, "cache", 0755, err) < 0 ||
        mkdir_p_at(st->root_fd, "tmp", 0700, err) < 0 ||
        (st->oci_fd = open_dir(st->root_fd, "oci", err)) < 0 ||
        (st->blobs_fd = open_dir(st->root_fd, "oci/blobs/sha256", err)) < 0 ||
        (st->layers_fd = open_dir(st->root_fd, "layers", err)) < 0 ||
        (st->tmp_fd = open_dir(st->root_fd, "tmp", err)) < 0 || init_layout(st, err) < 0 ||
        store_use_shared(st, err) < 0) {
        lade_error_prefix(err, "store '%s'", st->root);
        store_free(st);
        return -1;
    }
    store_staging_sweep(st);
    *out = st;
    return 0;
}

void
store_free(struct store *st)
{
    if (st == NULL)
        return;
    store_staging_release(st);
    int fds[] = {st->root_fd, st->oci_fd,  st->blobs_fd, st->layers_fd,
                 st->tmp_fd,  st->lock_fd, st->use_fd};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    pthread_mutex_destroy(&st->lock_mu);
    free(st->root);
    free(st);
}

const char *
store_root(const struct store *st)
{
    return st->root;
}

int
store_root_fd(const struct store *st)
{
    return st->root_fd;
}

/* ---- locking ---- */

int
store_lock(struct store *st, struct lade_error *err)
{
    /* Opened per lock, not at store_open: a forked child sharing the open file description
     * would otherwise share the lock too and exclude nothing. */
    pthread_mutex_lock(&st->lock_mu);
    if (st->lock_depth++ > 0)
        return 0;
    int fd = openat(st->root_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        st->lock_depth = 0;
        pthread_mutex_unlock(&st->lock_mu);
        return lade_error_sys(err, "cannot open '%s/lock'", st->root);
    }
    while (flock(fd, LOCK_EX) < 0) {
        if (errno == EINTR)
            continue;
        lade_error_sys(err, "cannot lock '%s/lock'", st->root);
        close(fd);
        st->lock_depth = 0;
        pthread_mutex_unlock(&st->lock_mu);
        return -1;
    }
    st->lock_fd = fd;
    return 0;
}

void
store_unlock(struct store *st)
{
    if (st->lock_depth == 0)
        return;
    if (--st->lock_depth == 0) {
        close(st->lock_fd); /* releases the flock */
        st->lock_fd = -1;
    }
    pthread_mutex_unlock(&st->lock_mu);
}

/* ---- blobs ---- */

static int
check_digest(const char *digest, struct lade_error *err)
{
    if (!digest_valid(digest))
        return lade_error_set(err, LADE_ERR_OTHER, "invalid digest '%.80s'",
                              digest ? digest : "(null)");
    return 0;
}

int
store_blob_commit(struct store *st, const char *tmp_path, const char *digest,
                  struct lade_error *err)
{
    cleanup_close int fd = -1;

    if (check_digest(digest, err) < 0)
        goto fail;
    if (store_blob_exists(st, digest)) {
        unlink(tmp_path);
        return 0;
    }
    fd = open(tmp_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        lade_error_sys(err, "cannot open '%s'", tmp_path);
        goto fail;
    }
    /* Blobs are read by other tools (skopeo, umoci) running as other users. */
    if (fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
        lade_error_sys(err, "cannot sync '%s'", tmp_path);
        goto fail;
    }
    /* rename replaces atomically: a concurrent writer of the same digest wrote the same bytes. */
    if (store_rename_from(st, tmp_path, st->blobs_fd, digest_hex(digest)) < 0) {
        lade_error_sys(err, "cannot store blob %s", digest);
        goto fail;
    }
    if (fsync(st->blobs_fd) < 0)
        return lade_error_sys(err, "cannot sync the blob directory");
    return 0;
fail:
    unlink(tmp_path);
    return -1;
}

int
store_blob_put(struct store *st, const void *data, size_t len, digest_t digest_out,
               struct lade_error *err)
{
    cleanup_free char *tmp = NULL;
    cleanup_close int fd = -1;
    digest_t d;

    digest_of_mem(data, len, d);
    if (!store_blob_exists(st, d)) {
        if (store_tmp_file(st, &tmp, &fd, err) < 0)
            return -1;
        if (write_all(fd, data, len) < 0) {
            lade_error_sys(err, "cannot write '%s'", tmp);
            unlink(tmp);
            return -1;
        }
        if (store_blob_commit(st, tmp, d, err) < 0)
            return -1;
    }
    memcpy(digest_out, d, sizeof(d));
    return 0;
}

bool
store_blob_exists(struct store *st, const char *digest)
{
    struct stat sb;

    return digest_valid(digest) &&
           fstatat(st->blobs_fd, digest_hex(digest), &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISREG(sb.st_mode);
}

int
store_blob_open(struct store *st, const char *digest, struct lade_error *err)
{
    int fd;

    if (check_digest(digest, err) < 0)
        return -1;
    fd = openat(st->blobs_fd, digest_hex(digest), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT)
        return lade_error_set(err, LADE_ERR_OTHER, "blob %s is not in the store", digest);
    if (fd < 0)
        return lade_error_sys(err, "cannot open blob %s", digest);
    return fd;
}

int
store_blob_read(struct store *st, const char *digest, size_t max, char **data, size_t *len,
                struct lade_error *err)
{
    cleanup_close int fd = store_blob_open(st, digest, err);
    cleanup_free char *buf = NULL;
    size_t n = 0, cap = 0;
    digest_t got;

    if (fd < 0)
        return -1;
    for (;;) {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 8192;
            buf = xrealloc(buf, cap + 1);
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return lade_error_sys(err, "cannot read blob %s", digest);
        if (r == 0)
            break;
        n += (size_t) r;
        if (max > 0 && n > max)
            return lade_error_set(err, LADE_ERR_OTHER, "blob %s is larger than %zu bytes", digest,
                                  max);
    }
    buf[n] = '\0';
    /* Small blobs are parsed and trusted afterwards: check them on every read. */
    digest_of_mem(buf, n, got);
    if (strcmp(got, digest) != 0)
        return lade_error_set(err, LADE_ERR_IO, "blob %s is corrupt (its content hashes to %s)",
                              digest, got);
    *data = steal_ptr(&buf);
    if (len != NULL)
        *len = n;
    return 0;
}

char *
store_blob_path(struct store *st, const char *digest)
{
    if (!digest_valid(digest))
        return NULL;
    return xasprintf("%s/oci/blobs/sha256/%s", st->root, digest_hex(digest));
}
