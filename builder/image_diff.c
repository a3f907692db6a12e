/* SPDX-License-Identifier: Apache-2.0 */
/* The filesystem of an image as a sorted vector of paths, built layer by layer: each layer is
 * listed (layer_list), sorted, its whiteouts delete ranges of what is below (a subtree is a
 * contiguous range in bytewise order), then the two sorted vectors are merged. */
#include "image_diff.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

static void
file_release(struct fs_file *f)
{
    free(f->path);
    free(f->link);
    f->path = f->link = NULL;
}

static void
view_push(struct fs_view *v, const struct fs_file *f)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 256;
        v->files = xrealloc(v->files, v->cap * sizeof(*v->files));
    }
    v->files[v->n++] = *f;
}

void
fs_view_release(struct fs_view *v)
{
    for (size_t i = 0; i < v->n; i++)
        file_release(&v->files[i]);
    free(v->files);
    memset(v, 0, sizeof(*v));
}

static int
collect(void *ctx, const struct layer_entry *e, struct lade_error *err)
{
    struct fs_view *layer = ctx;
    struct fs_file f = {
        .type = e->type,
        .mode = e->mode,
        .uid = e->uid,
        .gid = e->gid,
        .mtime = e->mtime,
        .mtime_nsec = e->mtime_nsec,
        .size = e->size,
        .rdev_major = e->rdev_major,
        .rdev_minor = e->rdev_minor,
        /* the order it came in: a path named twice in one tar keeps its last entry */
        .layer = layer->n,
    };

    (void) err;
    if (e->path[0] == '\0') /* the root itself */
        return 0;
    f.path = xstrdup(e->path);
    f.link = e->link != NULL ? xstrdup(e->link) : NULL;
    memcpy(f.content, e->content, sizeof(digest_t));
    memcpy(f.xattrs, e->xattrs, sizeof(digest_t));
    view_push(layer, &f);
    return 0;
}

static int
by_path_then_order(const void *x, const void *y)
{
    const struct fs_file *a = x, *b = y;
    int c = strcmp(a->path, b->path);

    return c != 0 ? c : (a->layer < b->layer ? -1 : a->layer > b->layer);
}

/* First index whose path is >= key (deleted files keep their path until the merge). */
static size_t
lower_bound(const struct fs_view *v, const char *key)
{
    size_t lo = 0, hi = v->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(v->files[mid].path, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Marks path itself (when self) and everything under it deleted. The subtree is the range of
 * paths starting "path/" (not right after path: "a/b-c" sorts between "a/b" and "a/b/x"). */
static void
delete_tree(struct fs_view *v, const char *path, bool self)
{
    struct lade_buf prefix = LADE_BUF_INIT;
    size_t i = lower_bound(v, path);

    if (self && i < v->n && strcmp(v->files[i].path, path) == 0)
        v->files[i].gone = true;
    lade_buf_appends(&prefix, path);
    if (prefix.len > 0)
        lade_buf_appendc(&prefix, '/');
    for (i = lower_bound(v, prefix.data); i < v->n; i++) {
        if (strncmp(v->files[i].path, prefix.data, prefix.len) != 0)
            break;
        v->files[i].gone = true;
    }
    lade_buf_release(&prefix);
}

/* Applies the whiteouts of layer (sorted) to v and drops them from layer. */
static void
apply_whiteouts(struct fs_view *v, struct fs_view *layer)
{
    struct lade_buf target = LADE_BUF_INIT;
    size_t kept = 0;

    for (size_t i = 0; i < layer->n; i++) {
        struct fs_file *f = &layer->files[i];
        const char *slash = strrchr(f->path, '/');
        const char *base = slash != NULL ? slash + 1 : f->path;
        size_t dir_len = slash != NULL ? (size_t) (slash - f->path) : 0;

        if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) != 0) {
            layer->files[kept++] = *f;
            continue;
        }
        lade_buf_reset(&target);
        lade_buf_append(&target, f->path, dir_len);
        if (strcmp(base, WH_OPAQUE) == 0) {
            delete_tree(v, target.data, false);
        } else {
            if (dir_len > 0)
                lade_buf_appendc(&target, '/');
            lade_buf_appends(&target, base + strlen(WH_PREFIX));
            delete_tree(v, target.data, true);
        }
        file_release(f);
    }
    layer->n = kept;
    lade_buf_release(&target);
}

/* Sorts layer's files by path, keeping the last entry of a path named twice. */
static void
sort_layer(struct fs_view *layer, size_t layer_index)
{
    size_t kept = 0;

    qsort(layer->files, layer->n, sizeof(*layer->files), by_path_then_order);
    for (size_t i = 0; i < layer->n; i++) {
        if (i + 1 < layer->n && strcmp(layer->files[i].path, layer->files[i + 1].path) == 0) {
            file_release(&layer->files[i]);
            continue;
        }
        layer->files[i].layer = layer_index;
        layer->files[kept++] = layer->files[i];
    }
    layer->n = kept;
}

/* v := v (without deleted files) merged with layer; layer's file wins on the same path. */
static void
merge(struct fs_view *v, struct fs_view *layer)
{
    struct fs_view out = {.nlayers = v->nlayers};
    size_t i = 0, j = 0;

    while (i < v->n || j < layer->n) {
        if (i < v->n && v->files[i].gone) {
            file_release(&v->files[i++]);
            continue;
        }
        int c = i == v->n ? 1 : j == layer->n ? -1 : strcmp(v->files[i].path, layer->files[j].path);
        if (c == 0)
            file_release(&v->files[i++]);
        if (c < 0)
            view_push(&out, &v->files[i++]);
        else
            view_push(&out, &layer->files[j++]);
    }
    free(v->files);
    free(layer->files);
    *v = out;
}

int
fs_view_add_layer(struct fs_view *v, struct store *st, const struct oci_desc *desc, bool merge_wh,
                  struct lade_error *err)
{
    struct fs_view layer = {0};
    cleanup_close int fd = store_blob_open(st, desc->digest, err);

    if (fd < 0)
        return -1;
    if (layer_list(fd, collect, &layer, NULL, err) < 0) {
        fs_view_release(&layer);
        return lade_error_prefix(err, "layer %s", desc->digest);
    }
    sort_layer(&layer, v->nlayers);
    if (merge_wh)
        apply_whiteouts(v, &layer);
    merge(v, &layer);
    v->nlayers++;
    return 0;
}

int
fs_view_load(struct fs_view *v, struct store *st, const struct oci_manifest *m,
             struct lade_error *err)
{
    for (size_t i = 0; i < m->nlayers; i++)
        if (fs_view_add_layer(v, st, &m->layers[i], true, err) < 0)
            return -1;
    return 0;
}

/* ---- comparing ---- */

static const char *
type_name(char t)
{
    switch (t) {
    case 'f':
        return "file";
    case 'd':
        return "directory";
    case 'l':
        return "symlink";
    case 'h':
        return "hardlink";
    case 'c':
        return "char device";
    case 'b':
        return "block device";
    default:
        return "fifo";
    }
}

static void
format_time(int64_t s, long ns, char *out, size_t n)
{
    time_t t = (time_t) s;
    struct tm tm;
    size_t len = strftime(out, n, "%Y-%m-%dT%H:%M:%S", gmtime_r(&t, &tm));

    if (ns != 0)
        snprintf(out + len, n - len, ".%09ldZ", ns);
    else
        snprintf(out + len, n - len, "Z");
}

/* The fields of a and b that differ, as "content, mode 0644 -> 0755"; empty when none. */
static void
describe(const struct fs_file *a, const struct fs_file *b, struct lade_buf *what)
{
    const char *sep = "";

#define ADD(...) (lade_buf_appends(what, sep), lade_buf_appendf(what, __VA_ARGS__), sep = ", ")
    lade_buf_reset(what);
    if (a->type != b->type) {
        ADD("type %s -> %s", type_name(a->type), type_name(b->type));
    } else {
        if (strcmp(a->content, b->content) != 0)
            ADD("content");
        if (a->size != b->size && a->type == 'f')
            ADD("size %" PRIu64 " -> %" PRIu64, a->size, b->size);
    }
    if ((a->link || b->link) && (!a->link || !b->link || strcmp(a->link, b->link) != 0))
        ADD("link %s -> %s", a->link ? a->link : "(none)", b->link ? b->link : "(none)");
    if (a->mode != b->mode)
        ADD("mode %04o -> %04o", a->mode, b->mode);
    if (a->uid != b->uid || a->gid != b->gid)
        ADD("owner %" PRId64 ":%" PRId64 " -> %" PRId64 ":%" PRId64, a->uid, a->gid, b->uid,
            b->gid);
    if (a->rdev_major != b->rdev_major || a->rdev_minor != b->rdev_minor)
        ADD("device %lu:%lu -> %lu:%lu", a->rdev_major, a->rdev_minor, b->rdev_major,
            b->rdev_minor);
    if (strcmp(a->xattrs, b->xattrs) != 0)
        ADD("xattrs");
    if (a->mtime != b->mtime || a->mtime_nsec != b->mtime_nsec) {
        char ta[48], tb[48];
        format_time(a->mtime, a->mtime_nsec, ta, sizeof(ta));
        format_time(b->mtime, b->mtime_nsec, tb, sizeof(tb));
        ADD("mtime %s -> %s", ta, tb);
    }
#undef ADD
}

size_t
fs_view_diff(const struct fs_view *a, const struct fs_view *b, fs_change_fn fn, void *ctx)
{
    struct lade_buf what = LADE_BUF_INIT;
    size_t i = 0, j = 0, count = 0;

    while (i < a->n || j < b->n) {
        int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->files[i].path, b->files[j].path);
        if (c < 0) {
            fn(ctx, 'D', &a->files[i++], NULL, "");
            count++;
        } else if (c > 0) {
            fn(ctx, 'A', NULL, &b->files[j++], "");
            count++;
        } else {
            describe(&a->files[i], &b->files[j], &what);
            if (what.len > 0) {
                fn(ctx, 'C', &a->files[i], &b->files[j], what.data);
                count++;
            }
            i++, j++;
        }
    }
    lade_buf_release(&what);
    return count;
}

/* ---- configs ---- */

static size_t json_diff_at(const json_t *a, const json_t *b, struct lade_buf *path,
                           json_change_fn fn, void *ctx);

static size_t
json_diff_child(const json_t *a, const json_t *b, struct lade_buf *path, json_change_fn fn,
                void *ctx, const char *fmt, const void *key)
{
    size_t len = path->len, n;

    if (fmt[0] == '.')
        lade_buf_appendf(path, ".%s", (const char *) key);
    else
        lade_buf_appendf(path, "[%zu]", *(const size_t *) key);
    n = json_diff_at(a, b, path, fn, ctx);
    path->len = len;
    path->data[len] = '\0';
    return n;
}

static size_t
json_diff_at(const json_t *a, const json_t *b, struct lade_buf *path, json_change_fn fn, void *ctx)
{
    const char *key;
    json_t *va, *vb;
    size_t n = 0;

    if (a != NULL && b != NULL && json_equal(a, b))
        return 0;
    if (json_is_object(a) && json_is_object(b)) {
        json_object_foreach((json_t *) a, key, va) n +=
            json_diff_child(va, json_object_get(b, key), path, fn, ctx, ".", key);
        json_object_foreach((json_t *) b, key, vb) if (json_object_get(a, key) == NULL) n +=
            json_diff_child(NULL, vb, path, fn, ctx, ".", key);
        return n;
    }
    if (json_is_array(a) && json_is_array(b)) { /* elements past the shorter one are absent */
        size_t na = json_array_size(a), nb = json_array_size(b);
        for (size_t i = 0; i < (na > nb ? na : nb); i++)
            n +=
                json_diff_child(json_array_get(a, i), json_array_get(b, i), path, fn, ctx, "[", &i);
        return n;
    }
    cleanup_free char *sa = a ? json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    cleanup_free char *sb = b ? json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    fn(ctx, path->len > 0 ? path->data : ".", sa, sb);
    return 1;
}

size_t
json_diff(const json_t *a, const json_t *b, json_change_fn fn, void *ctx)
{
    struct lade_buf path = LADE_BUF_INIT;

    lade_buf_append(&path, "", 0);
    size_t n = json_diff_at(a, b, &path, fn, ctx);
    lade_buf_release(&path);
    return n;
}
