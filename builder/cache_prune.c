/* SPDX-License-Identifier: Apache-2.0 */
/* lade prune and lade system df: which build cache records go (damaged ones and those whose
 * layer is gone always; all, those not used for a while, or the least recently used beyond a
 * size), then the store's garbage collection keeps what the images and the remaining records
 * reach. A record's mtime is when it was last written or hit (cache_lookup touches it). */
#include "cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"

struct record {
    char *name; /* HEX of the key */
    time_t used;
    uint64_t bytes;
    char *blob; /* the layer's blob digest, or NULL for a step without a layer */
    bool damaged, remove;
};

static int
cmp_used(const void *a, const void *b)
{
    const struct record *x = a, *y = b;
    return x->used < y->used ? -1 : x->used > y->used;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
read_record(struct store *st, int dir, struct record *r)
{
    cleanup_free char *text = NULL;
    struct lade_error ignored = {0};
    struct stat sb;
    size_t len;

    if (fstatat(dir, r->name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(sb.st_mode) ||
        read_file_at(dir, r->name, 1 << 16, &text, &len, &ignored) < 0) {
        r->damaged = true;
        return;
    }
    r->used = sb.st_mtime;
    r->bytes = (uint64_t) sb.st_blocks * 512;
    json_auto_t *rec = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *layer = json_object_get(rec, "layer");
    if (!json_is_object(rec) || layer == NULL) {
        r->damaged = true;
        return;
    }
    if (json_is_null(layer))
        return;
    const char *digest = json_string_value(json_object_get(layer, "digest"));
    if (digest == NULL || !digest_valid(digest)) {
        r->damaged = true;
        return;
    }
    r->blob = xstrdup(digest);
    /* a record whose layer is gone can only miss */
    r->damaged = !store_blob_exists(st, digest);
}

static struct record *
list_records(struct store *st, int dir, size_t *n)
{
    DIR *d = fdopendir(dup(dir));
    struct record *v = NULL;
    size_t cap = 0;

    *n = 0;
    for (struct dirent *de; d != NULL && (de = readdir(d)) != NULL;) {
        if (de->d_name[0] == '.')
            continue;
        if (*n == cap)
            v = xrealloc(v, (cap = cap ? 2 * cap : 64) * sizeof(*v));
        v[*n] = (struct record){.name = xstrdup(de->d_name)};
        read_record(st, dir, &v[*n]);
        (*n)++;
    }
    if (d != NULL)
        closedir(d);
    return v;
}

/* Marks the least recently used records (they are sorted so) until what the store holds fits
 * in limit; *mounts_too when the records alone cannot make it fit. */
static void
choose_by_size(struct store *st, struct record *r, size_t n, char *const *index_blobs,
               uint64_t mounts_bytes, int64_t limit, bool *mounts_too)
{
    cleanup_strv char **digests = NULL;
    cleanup_free uint64_t *bytes = NULL;
    struct lade_error ignored = {0};
    uint64_t usage = mounts_bytes;

    *mounts_too = false;
    if (store_blob_footprints(st, &digests, &bytes, &ignored) < 0)
        return;
    size_t nd = strv_len(digests);
    cleanup_free size_t *refs = xcalloc(nd + 1, sizeof(size_t));
#define REF(digest, delta)                                                                         \
    do {                                                                                           \
        const char *k_ = (digest);                                                                 \
        char **h_ = nd ? bsearch(&k_, digests, nd, sizeof(char *), cmp_str) : NULL;                \
        if (h_ != NULL)                                                                            \
            refs[h_ - digests] += (delta);                                                         \
    } while (0)
    for (size_t i = 0; i < nd; i++)
        usage += bytes[i];
    for (char *const *b = index_blobs; b && *b; b++)
        REF(*b, 1);
    for (size_t i = 0; i < n; i++) {
        usage += r[i].bytes;
        if (!r[i].remove && r[i].blob)
            REF(r[i].blob, 1);
    }
    for (size_t i = 0; i < n; i++) /* already chosen: their share goes */
        if (r[i].remove)
            usage -= r[i].bytes;
    for (size_t i = 0; i < nd; i++)
        if (refs[i] == 0)
            usage -= bytes[i];
    for (size_t i = 0; i < n && usage > (uint64_t) limit; i++) {
        if (r[i].remove)
            continue;
        r[i].remove = true;
        usage -= r[i].bytes;
        const char *k = r[i].blob;
        char **h = k && nd ? bsearch(&k, digests, nd, sizeof(char *), cmp_str) : NULL;
        if (h != NULL && --refs[h - digests] == 0)
            usage -= bytes[h - digests];
    }
#undef REF
    *mounts_too = usage > (uint64_t) limit;
}

int
cache_prune(struct store *st, const struct prune_opts *o, struct prune_report *rep,
            struct lade_error *err)
{
    cleanup_strv char **keep = NULL;
    struct store_gc_result mtotal = {0}, mfreed = {0};
    time_t now = time(NULL), mounts_before = 0;
    struct record *r = NULL;
    size_t n = 0;
    int rc = -1;

    memset(rep, 0, sizeof(*rep));
    if (!o->dry) {
        int held = store_use_exclusive(st, !o->nowait, err);
        if (held <= 0) {
            rep->skipped = held == 0;
            return held;
        }
    }
    cleanup_close int dir = openat(store_root_fd(st), "cache", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return lade_error_sys(err, "cannot open '%s/cache'", store_root(st));
    if (store_index_blobs(st, &keep, err) < 0)
        return -1;
    r = list_records(st, dir, &n);
    if (n > 0) /* r is NULL when there is no record */
        qsort(r, n, sizeof(*r), cmp_used);
    for (size_t i = 0; i < n; i++)
        r[i].remove = r[i].damaged || o->all || (o->until > 0 && r[i].used < now - o->until);
    if (o->all)
        mounts_before = now + 1;
    else if (o->until > 0)
        mounts_before = now - o->until;
    if (o->keep_storage >= 0) {
        bool mounts_too;
        if (store_cachemounts_prune(st, 0, true, &mtotal, &mfreed, err) < 0)
            goto out;
        choose_by_size(st, r, n, keep, mtotal.mounts.bytes, o->keep_storage, &mounts_too);
        if (mounts_too)
            mounts_before = now + 1;
        memset(&mtotal, 0, sizeof(mtotal));
    }
    for (size_t i = 0; i < n; i++) {
        rep->records_total.count++;
        rep->records_total.bytes += r[i].bytes;
        if (r[i].remove) {
            if (!o->dry && unlinkat(dir, r[i].name, 0) < 0 && errno != ENOENT) {
                lade_error_sys(err, "cannot remove cache record %s", r[i].name);
                goto out;
            }
            if (!o->dry) { /* its inputs, kept for why a key missed (cache_explain_store.c) */
                cleanup_free char *inputs = xasprintf(".explain/%s", r[i].name);
                unlinkat(dir, inputs, 0);
            }
            rep->records_freed.count++;
            rep->records_freed.bytes += r[i].bytes;
        } else if (r[i].blob != NULL) {
            keep = strv_push(keep, r[i].blob);
        }
    }
    if (store_gc(st, keep, o->dry, &rep->total, &rep->freed, err) < 0 ||
        store_cachemounts_prune(st, mounts_before, o->dry, &mtotal, &mfreed, err) < 0)
        goto out;
    rep->total.mounts = mtotal.mounts;
    rep->freed.mounts = mfreed.mounts;
    rc = 0;
out:
    for (size_t i = 0; i < n; i++) {
        free(r[i].name);
        free(r[i].blob);
    }
    free(r);
    return rc;
}
