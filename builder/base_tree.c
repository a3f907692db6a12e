/* SPDX-License-Identifier: Apache-2.0 */
/* The merged tree of a stage's layers from their listings (base_tree.h): one hash table of
 * entries per layer, whiteouts and opaque directories kept as they are, and a lookup that
 * walks the layers from the top as overlay does. */
#include "base_tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

/* One layer's entries, by path (open addressing; slots hold index + 1). */
struct tree_layer {
    digest_t chain_id;
    struct base_node *nodes;
    size_t n, cap;
    uint32_t *slots;
    size_t nslots;
};

struct base_tree {
    struct tree_layer *layers; /* bottom first, as the stage's */
    size_t n;
};

static uint64_t
path_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */

    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char) s[i]) * 1099511628211ull;
    return h;
}

static struct base_node *
layer_find(const struct tree_layer *l, const char *path, size_t len)
{
    if (l->nslots == 0)
        return NULL;
    for (size_t i = path_hash(path, len) & (l->nslots - 1);; i = (i + 1) & (l->nslots - 1)) {
        uint32_t s = l->slots[i];
        if (s == 0)
            return NULL;
        struct base_node *e = &l->nodes[s - 1];
        if (strncmp(e->path, path, len) == 0 && e->path[len] == '\0')
            return e;
    }
}

static void
layer_rehash(struct tree_layer *l)
{
    free(l->slots);
    l->nslots = l->nslots ? l->nslots * 2 : 1024;
    l->slots = xcalloc(l->nslots, sizeof(*l->slots));
    for (size_t k = 0; k < l->n; k++) {
        size_t i = path_hash(l->nodes[k].path, strlen(l->nodes[k].path)) & (l->nslots - 1);
        while (l->slots[i] != 0)
            i = (i + 1) & (l->nslots - 1);
        l->slots[i] = (uint32_t) (k + 1);
    }
}

/* The node for path, created as an implied directory when the layer has none yet; its
 * missing parents are implied too (a tar may name "a/b" without "a"). */
static struct base_node *
layer_node(struct tree_layer *l, const char *path, size_t len)
{
    struct base_node *e = layer_find(l, path, len);

    if (e != NULL)
        return e;
    const char *slash = memrchr(path, '/', len);
    if (slash != NULL)
        layer_node(l, path, (size_t) (slash - path));
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->nodes = xrealloc(l->nodes, l->cap * sizeof(*l->nodes));
    }
    e = &l->nodes[l->n++];
    memset(e, 0, sizeof(*e));
    e->path = xstrndup(path, len);
    e->type = 'i';
    if (2 * l->n > l->nslots)
        layer_rehash(l);
    else {
        size_t i = path_hash(path, len) & (l->nslots - 1);
        while (l->slots[i] != 0)
            i = (i + 1) & (l->nslots - 1);
        l->slots[i] = (uint32_t) l->n;
    }
    return layer_find(l, path, len);
}

static bool
wanted_file(const char *path)
{
    return strcmp(path, "etc/passwd") == 0 || strcmp(path, "etc/group") == 0;
}

/* Records one entry: "D/.wh.NAME" as a whiteout of D/NAME, "D/.wh..wh..opq" as D opaque,
 * other ".wh..wh." names (aufs bookkeeping) skipped, as extraction does. */
static void
layer_add(struct tree_layer *l, const char *path, char type, const struct base_node *meta)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    size_t dir_len = slash ? (size_t) (slash - path) : 0;

    if (path[0] == '\0')
        return; /* the root: a layer never changes it */
    if (strncmp(name, ".wh.", 4) == 0) {
        if (strcmp(name, ".wh..wh..opq") == 0 && dir_len > 0)
            layer_node(l, path, dir_len)->opaque = true;
        if (strncmp(name, ".wh..wh.", 8) == 0)
            return;
        cleanup_free char *target =
            xasprintf("%.*s%s%s", (int) dir_len, path, slash ? "/" : "", name + 4);
        layer_node(l, target, strlen(target))->type = 'w';
        return;
    }
    struct base_node *e = layer_node(l, path, strlen(path));
    bool opaque = e->opaque;
    char *p = e->path;
    free(e->link);
    free(e->data);
    *e = *meta;
    e->path = p;
    e->type = type;
    e->opaque = opaque || meta->opaque;
    e->link = meta->link ? xstrdup(meta->link) : NULL;
    e->data = NULL;
    if (meta->data != NULL) {
        e->data = xmalloc(meta->data_len + 1);
        memcpy(e->data, meta->data, meta->data_len + 1);
    }
}

/* ---- a layer's blob, read without extracting ---- */

static bool
want_cb(void *ctx, const char *path, uint64_t size)
{
    (void) ctx;
    (void) size;
    return wanted_file(path);
}

static int
list_cb(void *ctx, const struct layer_entry *le, struct lade_error *err)
{
    struct base_node meta = {.mode = le->mode,
                             .uid = (uint32_t) le->uid,
                             .gid = (uint32_t) le->gid,
                             .mtime = le->mtime,
                             .mtime_nsec = le->mtime_nsec,
                             .xattrs = le->xattrs[0] != '\0',
                             .link = le->type == 'l' ? (char *) le->link : NULL,
                             .data = (char *) le->data,
                             .data_len = le->data_len};
    char type = le->type == 'd' || le->type == 'l' ? le->type : 'f';

    (void) err;
    if (le->type == 'h')
        meta.data = NULL; /* a hardlink's data is its target's: not read here */
    layer_add(ctx, le->path, type, &meta);
    return 0;
}

/* ---- a blob's listing kept in the store (ROOT/cache/.listing/HEX of the blob digest) ----
 * Reading a blob costs its decompression, every build; the listing is read back instead. One
 * buffer: a header line, the nodes (a fixed part, then path, link and data), a sha256 of it all;
 * a damaged file is listed again. Written without fsync, as the context's digests are. */

#define LISTING_MAGIC "lade layer listing 1\n"
#define NONE UINT32_MAX

struct node_rec {
    char type;
    uint8_t opaque, xattrs, pad;
    uint32_t mode, uid, gid;
    int64_t mtime, mtime_nsec;
    uint32_t path_len, link_len, data_len;
    uint32_t pad2;
};

static char *
listing_name(const struct layer_state *ls)
{
    return xasprintf("cache/.listing/%s", digest_hex(ls->blob.digest));
}

static void
listing_save(struct build *b, const struct layer_state *ls, const struct tree_layer *l)
{
    struct lade_buf buf = LADE_BUF_INIT;
    struct lade_error ignored = {0}; /* only a cache: the next build lists the blob again */
    cleanup_free char *name = listing_name(ls);
    cleanup_free char *tmp = xasprintf("%s.tmp-%d", name, (int) getpid());
    digest_t sum;

    lade_buf_appends(&buf, LISTING_MAGIC);
    for (size_t i = 0; i < l->n; i++) {
        const struct base_node *e = &l->nodes[i];
        struct node_rec r = {.type = e->type,
                             .opaque = e->opaque,
                             .xattrs = e->xattrs,
                             .mode = e->mode,
                             .uid = e->uid,
                             .gid = e->gid,
                             .mtime = e->mtime,
                             .mtime_nsec = e->mtime_nsec,
                             .path_len = (uint32_t) strlen(e->path),
                             .link_len = e->link ? (uint32_t) strlen(e->link) : NONE,
                             .data_len = e->data ? (uint32_t) e->data_len : NONE};
        lade_buf_append(&buf, &r, sizeof(r));
        lade_buf_append(&buf, e->path, r.path_len);
        if (e->link != NULL)
            lade_buf_append(&buf, e->link, r.link_len);
        if (e->data != NULL)
            lade_buf_append(&buf, e->data, e->data_len);
    }
    struct sha256 *h = sha256_new();
    sha256_update(h, buf.data, buf.len);
    sha256_final(h, sum);
    sha256_free(h);
    lade_buf_append(&buf, sum, sizeof(sum));
    int dfd = store_root_fd(b->st);
    if (mkdir_p_at(dfd, "cache/.listing", 0755, &ignored) == 0) {
        cleanup_close int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0 && (write_all(fd, buf.data, buf.len) < 0 || renameat(dfd, tmp, dfd, name) < 0))
            unlinkat(dfd, tmp, 0);
    }
    lade_buf_release(&buf);
}

/* A copy of n bytes at p, NUL-terminated. */
static char *
dup_bytes(const char *p, size_t n)
{
    char *s = xmalloc(n + 1);

    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* The nodes of a whole, undamaged listing file into l; false (l left empty) otherwise. */
static bool
listing_load(struct build *b, const struct layer_state *ls, struct tree_layer *l)
{
    struct lade_error ignored = {0};
    cleanup_free char *name = listing_name(ls), *buf = NULL;
    size_t len = 0, mlen = strlen(LISTING_MAGIC), off = mlen;
    digest_t sum;

    if (read_file_at(store_root_fd(b->st), name, SIZE_MAX / 2, &buf, &len, &ignored) < 0 ||
        len < mlen + sizeof(digest_t) || memcmp(buf, LISTING_MAGIC, mlen) != 0)
        return false;
    len -= sizeof(digest_t);
    struct sha256 *h = sha256_new();
    sha256_update(h, buf, len);
    sha256_final(h, sum);
    sha256_free(h);
    if (memcmp(sum, buf + len, sizeof(sum)) != 0)
        return false;
    while (off < len) {
        struct node_rec r;
        if (len - off < sizeof(r))
            break;
        memcpy(&r, buf + off, sizeof(r));
        off += sizeof(r);
        size_t need = (size_t) r.path_len + (r.link_len != NONE ? r.link_len : 0) +
                      (r.data_len != NONE ? r.data_len : 0);
        if (need > len - off || r.path_len == 0)
            break;
        struct base_node *e = layer_node(l, buf + off, r.path_len);
        off += r.path_len;
        free(e->link);
        free(e->data);
        char *path = e->path;
        *e = (struct base_node){.path = path,
                                .type = r.type,
                                .opaque = r.opaque,
                                .xattrs = r.xattrs,
                                .mode = r.mode,
                                .uid = r.uid,
                                .gid = r.gid,
                                .mtime = r.mtime,
                                .mtime_nsec = (long) r.mtime_nsec};
        if (r.link_len != NONE) {
            e->link = dup_bytes(buf + off, r.link_len);
            off += r.link_len;
        }
        if (r.data_len != NONE) {
            e->data = dup_bytes(buf + off, r.data_len);
            e->data_len = r.data_len;
            off += r.data_len;
        }
    }
    return off == len;
}

static void layer_release(struct tree_layer *l);

static int
list_blob(struct build *b, const struct layer_state *ls, struct tree_layer *l,
          struct lade_error *err)
{
    if (listing_load(b, ls, l))
        return 0;
    layer_release(l);
    memset(l, 0, sizeof(*l));
    memcpy(l->chain_id, ls->chain_id, sizeof(l->chain_id));
    layer_rehash(l);
    cleanup_close int fd = store_blob_open(b->st, ls->blob.digest, err);
    if (fd < 0)
        return -1;
    if (layer_list_meta(fd, want_cb, list_cb, l, err) < 0)
        return lade_error_prefix(err, "cannot list layer %s", ls->blob.digest);
    listing_save(b, ls, l);
    return 0;
}

/* ---- an extracted layer: overlay's whiteouts (0/0 devices) and opaque xattr ---- */

/* Whether the directory has xattrs other than overlay's; *opaque: trusted.overlay.opaque=y. */
static void
dir_xattrs(int fd, bool *opaque, bool *other)
{
    char names[4096], v[4];
    ssize_t n = flistxattr(fd, names, sizeof(names));

    *opaque = fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y';
    *other = n < 0 && errno == ERANGE;
    for (ssize_t i = 0; i < n; i += (ssize_t) strlen(names + i) + 1)
        if (strncmp(names + i, "trusted.overlay.", 16) != 0)
            *other = true;
}

/* A small file's content, NUL-terminated (etc/passwd: read whole, as rootfs_lookup_user does). */
static int
read_small(int dfd, const char *name, char **data, size_t *len)
{
    cleanup_close int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct lade_buf b = LADE_BUF_INIT;
    char chunk[8192];
    ssize_t n;

    if (fd < 0)
        return -1;
    lade_buf_append(&b, "", 0);
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        lade_buf_append(&b, chunk, (size_t) n);
    if (n < 0) {
        lade_buf_release(&b);
        return -1;
    }
    *len = b.len;
    *data = lade_buf_steal(&b);
    return 0;
}

static int
walk_dir(struct tree_layer *l, int dfd, struct lade_buf *path, struct lade_error *err)
{
    DIR *d = fdopendir(dfd);
    struct dirent *de;
    int rc = 0;

    if (d == NULL) {
        close(dfd);
        return lade_error_sys(err, "cannot read '%s'", path->data);
    }
    size_t len = path->len;
    while (rc == 0 && (errno = 0, de = readdir(d)) != NULL) {
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        path->len = len;
        if (len > 0)
            lade_buf_appendc(path, '/');
        lade_buf_append(path, de->d_name, strlen(de->d_name));
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            rc = lade_error_sys(err, "cannot stat '%s'", path->data);
            break;
        }
        struct base_node meta = {.mode = st.st_mode & 07777,
                                 .uid = st.st_uid,
                                 .gid = st.st_gid,
                                 .mtime = st.st_mtim.tv_sec,
                                 .mtime_nsec = st.st_mtim.tv_nsec};
        char link[4096];
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
            layer_node(l, path->data, path->len)->type = 'w';
        } else if (S_ISLNK(st.st_mode)) {
            ssize_t n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
            link[n > 0 ? n : 0] = '\0';
            meta.link = link;
            layer_add(l, path->data, 'l', &meta);
        } else if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                rc = lade_error_sys(err, "open '%s'", path->data);
                break;
            }
            dir_xattrs(sub, &meta.opaque, &meta.xattrs);
            layer_add(l, path->data, 'd', &meta);
            rc = walk_dir(l, sub, path, err);
        } else {
            cleanup_free char *data = NULL;
            if (S_ISREG(st.st_mode) && wanted_file(path->data)) {
                if (read_small(dirfd(d), de->d_name, &data, &meta.data_len) < 0) {
                    rc = lade_error_sys(err, "cannot read '%s'", path->data);
                    break;
                }
                meta.data = data;
            }
            layer_add(l, path->data, 'f', &meta);
        }
    }
    if (rc == 0 && errno != 0)
        rc = lade_error_sys(err, "cannot read '%s'", path->data);
    path->len = len;
    if (path->data != NULL)
        path->data[len] = '\0';
    closedir(d);
    return rc;
}

static int
list_dir(const struct layer_state *ls, struct tree_layer *l, struct lade_error *err)
{
    struct lade_buf path = LADE_BUF_INIT;
    int fd = open(ls->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return lade_error_sys(err, "open '%s'", ls->dir);
    lade_buf_append(&path, "", 0);
    int rc = walk_dir(l, fd, &path, err);
    lade_buf_release(&path);
    return rc;
}

/* ---- the tree ---- */

static void
layer_release(struct tree_layer *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->nodes[i].path);
        free(l->nodes[i].link);
        free(l->nodes[i].data);
    }
    free(l->nodes);
    free(l->slots);
}

void
base_tree_free(struct base_tree *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        layer_release(&t->layers[i]);
    free(t->layers);
    free(t);
}

int
base_tree_update(struct build *b, const struct stage_state *ss, struct base_tree **tp,
                 struct lade_error *err)
{
    struct base_tree *t = *tp;

    /* a tree of other layers (not the stage's bottom ones) is listed again */
    for (size_t i = 0; t != NULL && i < t->n; i++)
        if (i >= ss->nlayers || strcmp(t->layers[i].chain_id, ss->layers[i].chain_id) != 0) {
            base_tree_free(t);
            t = *tp = NULL;
        }
    if (t == NULL)
        t = *tp = xcalloc(1, sizeof(*t));
    if (t->n < ss->nlayers)
        t->layers = xrealloc(t->layers, ss->nlayers * sizeof(*t->layers));
    while (t->n < ss->nlayers) {
        const struct layer_state *ls = &ss->layers[t->n];
        struct tree_layer *l = &t->layers[t->n];
        memset(l, 0, sizeof(*l));
        memcpy(l->chain_id, ls->chain_id, sizeof(l->chain_id));
        layer_rehash(l);
        int rc = ls->dir != NULL ? list_dir(ls, l, err) : list_blob(b, ls, l, err);
        if (rc < 0) {
            layer_release(l);
            return -1;
        }
        t->n++;
    }
    return 0;
}

enum base_kind
base_tree_lookup(const struct base_tree *t, const char *path, const struct base_node **node)
{
    size_t len = strlen(path);

    for (size_t k = t->n; k-- > 0;) {
        const struct tree_layer *l = &t->layers[k];
        bool hidden_below = false;
        /* an ancestor in this layer that is a whiteout or a non-directory hides path; an
         * opaque one hides what the lower layers have below it */
        for (size_t i = 0; i < len; i++) {
            if (path[i] != '/')
                continue;
            const struct base_node *a = layer_find(l, path, i);
            if (a == NULL)
                continue;
            if (a->type != 'd' && a->type != 'i')
                return BASE_ABSENT;
            hidden_below = hidden_below || a->opaque;
        }
        const struct base_node *e = layer_find(l, path, len);
        if (e != NULL) {
            if (node != NULL)
                *node = e;
            switch (e->type) {
            case 'w':
                return BASE_ABSENT;
            case 'i':
                return BASE_UNKNOWN;
            case 'd':
                return BASE_DIR;
            case 'l':
                return BASE_SYMLINK;
            default:
                return BASE_OTHER;
            }
        }
        if (hidden_below)
            return BASE_ABSENT;
    }
    return BASE_ABSENT;
}
