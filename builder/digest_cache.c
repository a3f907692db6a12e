/* SPDX-License-Identifier: Apache-2.0 */
/* The context's content digests by file metadata (digest_cache.h). The file is one buffer:
 * a header line, then records (dev, ino, size, mtime, ctime, digest, path NUL-terminated), then
 * the sha256 of all of it. Loaded records point into the buffer; one hash table of indexes
 * finds them by path, so memory is the file's size plus a few bytes a record. */
#include "digest_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

#define MAGIC "lade context digests 1\n"
#define DIR "cache/.context"
/* A file changed within this long before its content was read may change again within the
 * same tick of the filesystem's clock and keep its times: such an entry is not kept. */
#define RACY_NS 1000000000LL
#define MAX_ENTRIES 4000000u

struct rec {
    uint64_t dev, ino;
    int64_t size, mtime, ctime;
    char digest[sizeof(digest_t)];
};

struct entry {
    struct rec r;
    const char *path; /* into the loaded buffer, or owned (new) */
    bool owned;
    bool seen; /* looked up or recorded by this build */
};

struct digest_cache {
    pthread_mutex_t mu; /* stages built at once hash the context at once */
    int root_fd;        /* the store's, borrowed */
    char *name;         /* DIR/HEX */
    char *buf;          /* the loaded file */
    struct entry *v;
    size_t n, cap;
    uint32_t *slots; /* index + 1 */
    size_t nslots;
    bool dirty;
    size_t nseen;
};

static uint64_t
hash_path(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    while (*s)
        h = (h ^ (unsigned char) *s++) * 1099511628211ull;
    return h;
}

static struct entry *
find(const struct digest_cache *h, const char *path)
{
    if (h->nslots == 0)
        return NULL;
    for (size_t i = hash_path(path) & (h->nslots - 1);; i = (i + 1) & (h->nslots - 1)) {
        if (h->slots[i] == 0)
            return NULL;
        if (strcmp(h->v[h->slots[i] - 1].path, path) == 0)
            return &h->v[h->slots[i] - 1];
    }
}

static void
slot_insert(struct digest_cache *h, size_t idx)
{
    size_t i = hash_path(h->v[idx].path) & (h->nslots - 1);

    while (h->slots[i] != 0)
        i = (i + 1) & (h->nslots - 1);
    h->slots[i] = (uint32_t) (idx + 1);
}

static void
add(struct digest_cache *h, const struct rec *r, const char *path, bool owned)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 1024;
        h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
    }
    h->v[h->n] = (struct entry){.r = *r, .path = path, .owned = owned};
    h->n++;
    if (2 * h->n > h->nslots) {
        free(h->slots);
        h->nslots = h->nslots ? h->nslots * 2 : 4096;
        h->slots = xcalloc(h->nslots, sizeof(*h->slots));
        for (size_t i = 0; i < h->n; i++)
            slot_insert(h, i);
    } else {
        slot_insert(h, h->n - 1);
    }
}

/* The records of a whole, undamaged file; anything else leaves the set empty. */
static void
load(struct digest_cache *h, char *buf, size_t len)
{
    size_t mlen = strlen(MAGIC), off = mlen;
    digest_t sum;

    if (len < mlen + sizeof(digest_t) || memcmp(buf, MAGIC, mlen) != 0)
        return;
    len -= sizeof(digest_t);
    struct sha256 *s = sha256_new();
    sha256_update(s, buf, len);
    sha256_final(s, sum);
    sha256_free(s);
    if (memcmp(sum, buf + len, sizeof(digest_t)) != 0)
        return; /* damaged or cut short: never a wrong digest */
    while (off < len && h->n < MAX_ENTRIES) {
        struct rec r;
        if (len - off < sizeof(r) + 1)
            break;
        memcpy(&r, buf + off, sizeof(r));
        off += sizeof(r);
        const char *path = buf + off;
        const char *nul = memchr(path, '\0', len - off);
        if (nul == NULL || r.digest[sizeof(r.digest) - 1] != '\0' || find(h, path) != NULL)
            break;
        off += (size_t) (nul - path) + 1;
        add(h, &r, path, false);
    }
}

int64_t
digest_cache_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct digest_cache *
digest_cache_open(struct store *st, const char *context_dir)
{
    char real[PATH_MAX];
    const char *root = store_root(st);
    size_t rlen = strlen(root);
    struct lade_error ignored = {0};
    struct digest_cache *h;
    digest_t id;
    char *buf = NULL;
    size_t len = 0;

    if (realpath(context_dir, real) == NULL ||
        (strncmp(real, root, rlen) == 0 && (real[rlen] == '/' || real[rlen] == '\0')))
        return NULL; /* unpacked remote contexts live in tmp/ once */
    struct sha256 *s = sha256_new();
    sha256_update(s, real, strlen(real));
    sha256_final(s, id);
    sha256_free(s);
    h = xcalloc(1, sizeof(*h));
    pthread_mutex_init(&h->mu, NULL);
    h->root_fd = store_root_fd(st);
    h->name = xasprintf(DIR "/%s", digest_hex(id));
    if (read_file_at(h->root_fd, h->name, SIZE_MAX / 2, &buf, &len, &ignored) == 0) {
        h->buf = buf;
        load(h, buf, len);
    }
    return h;
}

static void
rec_of(const struct stat *st, struct rec *r)
{
    memset(r, 0, sizeof(*r));
    r->dev = st->st_dev;
    r->ino = st->st_ino;
    r->size = st->st_size;
    r->mtime = (int64_t) st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    r->ctime = (int64_t) st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

static bool
same_file(const struct rec *a, const struct rec *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime == b->mtime &&
           a->ctime == b->ctime;
}

bool
digest_cache_get(struct digest_cache *h, const char *rel, const struct stat *st, digest_t out)
{
    struct rec r;
    bool hit = false;

    if (h == NULL)
        return false;
    rec_of(st, &r);
    pthread_mutex_lock(&h->mu);
    struct entry *e = find(h, rel);
    if (e != NULL && !e->seen) {
        e->seen = true;
        h->nseen++;
    }
    if (e != NULL && same_file(&e->r, &r)) {
        memcpy(out, e->r.digest, sizeof(digest_t));
        hit = true;
    }
    pthread_mutex_unlock(&h->mu);
    return hit;
}

void
digest_cache_put(struct digest_cache *h, const char *rel, const struct stat *st, const char *d,
                 int64_t read_ns)
{
    struct rec r;

    if (h == NULL)
        return;
    rec_of(st, &r);
    /* racily clean: the times must be older than the read by more than a clock tick */
    if (r.mtime > read_ns - RACY_NS || r.ctime > read_ns - RACY_NS || strlen(d) >= sizeof(r.digest))
        return;
    memcpy(r.digest, d, strlen(d) + 1);
    pthread_mutex_lock(&h->mu);
    struct entry *e = find(h, rel);
    if (e != NULL) {
        e->r = r;
    } else if (h->n < MAX_ENTRIES) {
        add(h, &r, xstrdup(rel), true);
        h->v[h->n - 1].seen = true;
        h->nseen++;
    }
    h->dirty = true;
    pthread_mutex_unlock(&h->mu);
}

/* tmp file and rename, without fsync: a file a crash leaves cut or empty fails its checksum and
 * is ignored, and a rebuild calls no fsync for a cache (t_noop_rebuild). */
static void
write_unsynced(int dirfd, const char *name, const void *data, size_t len)
{
    cleanup_free char *tmp = xasprintf("%s.tmp-%d", name, (int) getpid());
    cleanup_close int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0)
        return;
    if (write_all(fd, data, len) < 0 || renameat(dirfd, tmp, dirfd, name) < 0)
        unlinkat(dirfd, tmp, 0);
}

void
digest_cache_close(struct digest_cache *h)
{
    struct lade_error ignored = {0}; /* only a cache: the next build hashes again */
    struct lade_buf b = LADE_BUF_INIT;
    digest_t sum;

    if (h == NULL)
        return;
    if (h->dirty && mkdir_p_at(h->root_fd, DIR, 0755, &ignored) == 0) {
        /* files gone from the context would pile up: once the unseen outnumber the seen, only
         * the seen are kept */
        bool all = h->n <= 2 * h->nseen;
        lade_buf_appends(&b, MAGIC);
        for (size_t i = 0; i < h->n; i++) {
            if (!all && !h->v[i].seen)
                continue;
            lade_buf_append(&b, &h->v[i].r, sizeof(h->v[i].r));
            lade_buf_append(&b, h->v[i].path, strlen(h->v[i].path) + 1);
        }
        struct sha256 *s = sha256_new();
        sha256_update(s, b.data, b.len);
        sha256_final(s, sum);
        sha256_free(s);
        lade_buf_append(&b, sum, sizeof(sum));
        write_unsynced(h->root_fd, h->name, b.data, b.len);
        lade_buf_release(&b);
    }
    for (size_t i = 0; i < h->n; i++)
        if (h->v[i].owned)
            free((char *) h->v[i].path);
    free(h->v);
    free(h->slots);
    free(h->buf);
    free(h->name);
    pthread_mutex_destroy(&h->mu);
    free(h);
}
