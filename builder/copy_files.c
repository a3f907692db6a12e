/* SPDX-License-Identifier: Apache-2.0 */
/* One regular file of COPY and ADD: its copy into the destination and its content digest, on the
 * caller's thread or as a job of o->pool (copy_files.h). */
#include "copy_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

#define COPY_CHUNK (1 << 20) /* read(2)/write(2) size when sendfile(2) cannot copy */
/* Smaller files are copied and hashed on the walk's thread: their cost is creating the file
 * (which holds its directory's lock, so workers would only queue on it) and the hand-off
 * would cost more than the copy. Measured on 100,000 files of 8-310 bytes: the pool added a
 * quarter to the system time. */
#define COPY_POOLED_SIZE (64 * 1024)

bool
copy_file_pooled(const struct copy_opts *o, const struct stat *st)
{
    return o->pool != NULL && S_ISREG(st->st_mode) && st->st_nlink == 1 &&
           st->st_size >= COPY_POOLED_SIZE;
}

/* The owner an entry gets: --chown's, the source's (COPY --from), or 0:0 (the context). In
 * hash mode --chown is not resolved yet; its spec is in the step's key. */
void
copy_entry_owner(const struct copy_opts *o, const struct stat *st, uid_t *uid, gid_t *gid)
{
    *uid = o->chown ? o->uid : o->keep_owner ? st->st_uid : 0;
    *gid = o->chown ? o->gid : o->keep_owner ? st->st_gid : 0;
}

/* Opens a regular file for reading. O_NONBLOCK and the check after open: an entry swapped for a
 * FIFO after its stat must fail, not block (nothing else is ever opened). */
int
copy_open_regular(int dir, const char *name, int flags, const char *rel, struct lade_error *err)
{
    cleanup_close int fd = openat(dir, name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | flags);
    struct stat st;

    if (fd < 0 || fstat(fd, &st) < 0)
        return lade_error_sys(err, "cannot open '%s'", rel);
    if (!S_ISREG(st.st_mode))
        return lade_error_set(err, LADE_ERR_IO, "'%s' changed while being copied", rel);
    return steal_fd(&fd);
}

/* apply_meta through the new file's fd: no path lookup (in an overlay, each is a lookup in every
 * layer). The same order: chown clears set-id bits, so the mode comes after it. */
static int
apply_meta_fd(const struct copy_opts *o, int fd, const struct stat *st, const char *name,
              struct lade_error *err)
{
    struct timespec ts[2] = {st->st_mtim, st->st_mtim};
    uid_t uid;
    gid_t gid;

    copy_entry_owner(o, st, &uid, &gid);
    if (fchown(fd, uid, gid) < 0 || fchmod(fd, o->chmod ? o->mode : (st->st_mode & 07777)) < 0 ||
        futimens(fd, ts) < 0)
        return lade_error_sys(err, "cannot set the metadata of '%s'", name);
    return 0;
}

/* Copies size bytes (the size the walk's stat saw; a file that shrinks copies what is left) from
 * in to out: sendfile(2) copies in the kernel, with no round trip through a buffer here. */
static int
copy_content(int in, int out, off_t size, const char *name, struct lade_error *err)
{
    off_t done = 0;

    while (done < size) {
        ssize_t n = sendfile(out, in, NULL, (size_t) (size - done));
        if (n > 0) {
            done += n;
            continue;
        }
        if (n == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EINVAL && errno != ENOSYS)
            return lade_error_sys(err, "cannot copy '%s'", name);
        break;
    }
    if (done >= size)
        return 0;
    cleanup_free char *buf = xmalloc(COPY_CHUNK);
    for (;;) {
        ssize_t r = read(in, buf, COPY_CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return lade_error_sys(err, "cannot read '%s'", name);
        if (r == 0)
            return 0;
        if (write_all(out, buf, (size_t) r) < 0)
            return lade_error_sys(err, "cannot write '%s'", name);
    }
}

/* A regular file's copy: new, then its content, then its metadata. */
int
copy_regular_file(const struct copy_opts *o, int src_dir, const char *name, int open_flags,
                  const struct stat *st, int dst_dir, const char *dst_name, struct lade_error *err)
{
    cleanup_close int in = copy_open_regular(src_dir, name, open_flags, name, err);
    if (in < 0)
        return -1;
    cleanup_close int out =
        openat(dst_dir, dst_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return lade_error_sys(err, "cannot create '%s'", dst_name);
    if (copy_content(in, out, st->st_size, name, err) < 0 ||
        apply_meta_fd(o, out, st, dst_name, err) < 0)
        return lade_error_prefix(err, "copy '%s'", name);
    return 0;
}

/* The directory fds are borrowed: the walk waits for the pool before it closes them. */
struct file_job {
    const struct copy_opts *o;
    int src_dir, dst_dir;
    struct stat st;
    char *digest;    /* hash mode: where the content digest goes (a digest_t) */
    const char *rel; /* for messages: the path from the source root, in names[] */
    char names[];    /* the entry's name, then rel */
};

static struct file_job *
file_job_new(const struct copy_opts *o, int src_dir, int dst_dir, const char *name, const char *rel,
             const struct stat *st)
{
    size_t len = strlen(name) + 1, rlen = strlen(rel) + 1;
    struct file_job *j = xcalloc(1, sizeof(*j) + len + rlen);

    j->o = o;
    j->src_dir = src_dir;
    j->dst_dir = dst_dir;
    j->st = *st;
    j->digest = NULL;
    memcpy(j->names, name, len);
    memcpy(j->names + len, rel, rlen);
    j->rel = j->names + len;
    return j;
}

static int
file_job_copy(void *arg, struct lade_error *err)
{
    struct file_job *j = arg;

    return copy_regular_file(j->o, j->src_dir, j->names, O_NOFOLLOW, &j->st, j->dst_dir, j->names,
                             err);
}

int
copy_digest_regular(int src_dir, const char *name, const char *rel, off_t size, char *digest,
                    struct lade_error *err)
{
    cleanup_close int in = copy_open_regular(src_dir, name, 0, rel, err);
    char buf[64 * 1024];
    off_t done = 0;

    if (in < 0)
        return lade_error_prefix(err, "cannot read '%s'", rel);
    struct sha256 *h = sha256_new();
    while (done < size) {
        size_t want = size - done < (off_t) sizeof(buf) ? (size_t) (size - done) : sizeof(buf);
        ssize_t r = read(in, buf, want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            sha256_free(h);
            return lade_error_sys(err, "cannot read '%s'", rel);
        }
        if (r == 0)
            break;
        sha256_update(h, buf, (size_t) r);
        done += r;
    }
    sha256_final(h, digest);
    sha256_free(h);
    return 0;
}

static int
file_job_digest(void *arg, struct lade_error *err)
{
    struct file_job *j = arg;

    return copy_digest_regular(j->src_dir, j->names, j->rel, j->st.st_size, j->digest, err);
}

int
copy_submit_file(const struct copy_opts *o, int src_dir, const char *name, const struct stat *st,
                 int dst_dir, struct lade_error *err)
{
    return taskpool_submit(o->pool, file_job_copy,
                           file_job_new(o, src_dir, dst_dir, name, name, st), free, err);
}

int
copy_submit_digest(const struct copy_opts *o, int src_dir, const char *name, const char *rel,
                   const struct stat *st, char *digest, struct lade_error *err)
{
    struct file_job *j = file_job_new(o, src_dir, -1, name, rel, st);

    j->digest = digest;
    return taskpool_submit(o->pool, file_job_digest, j, free, err);
}
