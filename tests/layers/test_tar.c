/* SPDX-License-Identifier: Apache-2.0 */
/* layer_write_dir: the reproducibility contract of DESIGN.md "Layers", checked by reading the
 * blobs back with libarchive. Runs as root (mknod, chown, trusted.* xattrs). */
#include "../helpers/test.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../../builder/common/xalloc.h"
#include "../../layers/layers.h"

/* ---- building trees ---- */

static char *
pjoin(const char *dir, const char *rel)
{
    return xasprintf("%s/%s", dir, rel);
}

static void
mkd(const char *dir, const char *rel)
{
    char *p = pjoin(dir, rel);
    if (mkdir(p, 0755) < 0)
        fail_msg("mkdir %s: %s", p, strerror(errno));
    free(p);
}

static void
put(const char *dir, const char *rel, const char *content)
{
    test_write_file(dir, rel, content, 0644);
}

static void
set_mtime(const char *dir, const char *rel, time_t sec, long nsec)
{
    char *p = pjoin(dir, rel);
    struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
    if (utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW) < 0)
        fail_msg("utimensat %s: %s", p, strerror(errno));
    free(p);
}

static void
set_xattr(const char *dir, const char *rel, const char *name, const void *v, size_t n)
{
    char *p = pjoin(dir, rel);
    if (lsetxattr(p, name, v, n, 0) < 0)
        fail_msg("setxattr %s %s: %s", p, name, strerror(errno));
    free(p);
}

static void
node(const char *dir, const char *rel, mode_t mode, dev_t dev)
{
    char *p = pjoin(dir, rel);
    if (mknod(p, mode, dev) < 0)
        fail_msg("mknod %s: %s", p, strerror(errno));
    chmod(p, mode & 07777); /* past the umask */
    free(p);
}

/* ---- writing and reading layers ---- */

struct blob {
    char *path;
    struct layer_info info;
};

static struct blob
write_layer(const char *dir, int64_t epoch, enum compression c, bool overlay)
{
    struct layer_opts opts = {.epoch = epoch, .compression = c, .overlay_upper = overlay};
    struct lade_error err = {0};
    struct blob b = {0};

    b.path = xasprintf("%s.blob", dir);
    int fd = open(b.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0 && dfd >= 0);
    assert_ok(layer_write_dir(dfd, &opts, fd, &b.info, &err), &err);
    close(fd);
    close(dfd);
    return b;
}

static void
blob_release(struct blob *b)
{
    unlink(b->path);
    free(b->path);
}

#define MAX_XATTRS 8
struct ent {
    char *path, *hardlink, *symlink;
    mode_t mode;
    int64_t uid, gid, mtime, size;
    long mtime_nsec;
    bool names_empty, times_extra;
    unsigned rmajor, rminor;
    size_t nx;
    char *xname[MAX_XATTRS];
    char *xval[MAX_XATTRS];
    size_t xlen[MAX_XATTRS];
};
struct ents {
    struct ent *v;
    size_t n;
};

static struct ents
read_layer(const char *path)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    struct ents out = {xcalloc(4096, sizeof(struct ent)), 0};
    int r;

    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK)
        fail_msg("open %s: %s", path, archive_error_string(a));
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        struct ent *x = &out.v[out.n++];
        assert_true(out.n < 4096);
        x->path = xstrdup(archive_entry_pathname(e));
        x->hardlink = archive_entry_hardlink(e) ? xstrdup(archive_entry_hardlink(e)) : NULL;
        x->symlink = archive_entry_symlink(e) ? xstrdup(archive_entry_symlink(e)) : NULL;
        x->mode = archive_entry_mode(e);
        x->uid = archive_entry_uid(e);
        x->gid = archive_entry_gid(e);
        x->names_empty = (archive_entry_uname(e) == NULL || !*archive_entry_uname(e)) &&
                         (archive_entry_gname(e) == NULL || !*archive_entry_gname(e));
        x->mtime = archive_entry_mtime(e);
        x->mtime_nsec = archive_entry_mtime_nsec(e);
        x->times_extra = archive_entry_atime_is_set(e) || archive_entry_ctime_is_set(e) ||
                         archive_entry_birthtime_is_set(e);
        x->size = archive_entry_size(e);
        x->rmajor = archive_entry_rdevmajor(e);
        x->rminor = archive_entry_rdevminor(e);
        int n = archive_entry_xattr_reset(e);
        for (int i = 0; i < n && x->nx < MAX_XATTRS; i++) {
            const char *name;
            const void *v;
            size_t len;
            archive_entry_xattr_next(e, &name, &v, &len);
            x->xname[x->nx] = xstrdup(name);
            x->xval[x->nx] = xmalloc(len + 1);
            memcpy(x->xval[x->nx], v, len);
            x->xval[x->nx][len] = '\0';
            x->xlen[x->nx++] = len;
        }
    }
    if (r != ARCHIVE_EOF)
        fail_msg("read %s: %s", path, archive_error_string(a));
    archive_read_free(a);
    return out;
}

static void
ents_release(struct ents *l)
{
    for (size_t i = 0; i < l->n; i++) {
        struct ent *x = &l->v[i];
        free(x->path);
        free(x->hardlink);
        free(x->symlink);
        for (size_t j = 0; j < x->nx; j++) {
            free(x->xname[j]);
            free(x->xval[j]);
        }
    }
    free(l->v);
}

static const struct ent *
find(const struct ents *l, const char *path)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].path, path) == 0)
            return &l->v[i];
    fail_msg("no entry '%s' in the layer", path);
    return NULL;
}

static const char *
xattr_of(const struct ent *x, const char *name, size_t *len)
{
    for (size_t i = 0; i < x->nx; i++)
        if (strcmp(x->xname[i], name) == 0) {
            if (len)
                *len = x->xlen[i];
            return x->xval[i];
        }
    return NULL;
}

static void
assert_order(const struct ents *l, const char *const *want, size_t n)
{
    for (size_t i = 0; i < n && i < l->n; i++)
        if (strcmp(l->v[i].path, want[i]) != 0)
            fail_msg("entry %zu is '%s', want '%s'", i, l->v[i].path, want[i]);
    assert_int_equal(l->n, n);
}

/* The uncompressed stream of a blob, through libarchive's raw format, hashed. */
static void
digest_uncompressed(const char *path, digest_t out, uint64_t *len)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    struct sha256 *h = sha256_new();
    const void *p;
    size_t n;
    la_int64_t off;

    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    assert_int_equal(archive_read_open_filename(a, path, 65536), ARCHIVE_OK);
    assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
    *len = 0;
    while (archive_read_data_block(a, &p, &n, &off) == ARCHIVE_OK) {
        sha256_update(h, p, n);
        *len += n;
    }
    sha256_final(h, out);
    sha256_free(h);
    archive_read_free(a);
}

static long
maxrss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* ---- tests ---- */

/* First in the group, so earlier tests have not already raised the peak RSS. */
static void
test_tar_streams_big_file_with_bounded_memory(void **state)
{
    char *dir = test_tmpdir();
    struct layer_opts opts = {.epoch = 0, .compression = COMPRESSION_GZIP};
    struct lade_error err = {0};
    struct layer_info info;

    (void) state;
    char *p = pjoin(dir, "big");
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 200L << 20), 0); /* sparse: no disk, 200 MB of zeros */
    assert_int_equal(pwrite(fd, "end", 3, (200L << 20) - 3), 3);
    close(fd);
    int out = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    long before = maxrss_kib();
    assert_ok(layer_write_dir(dfd, &opts, out, &info, &err), &err);
    long growth = maxrss_kib() - before;
    print_message("200 MB file: max RSS grew by %ld KiB, blob %llu bytes\n", growth,
                  (unsigned long long) info.size);
    assert_true(growth < 32 * 1024);
    assert_int_equal(info.entries, 1);
    assert_true(info.size > 0 && info.size < (1 << 20));
    close(out);
    close(dfd);
    free(p);
    test_rm_rf(dir);
    free(dir);
}

static void
test_tar_walk_order_is_filepath_walk(void **state)
{
    char *dir = test_tmpdir();

    (void) state;
    /* created in an order unlike the expected one, so readdir order cannot pass by chance */
    put(dir, "a0/x", "");
    put(dir, "a.b", "");
    put(dir, "a-c", "");
    put(dir, "a/b/c", "");
    put(dir, "a/b-", "");
    put(dir, "B", "");
    put(dir, "\xc3\xa9", ""); /* UTF-8 sorts after ASCII, bytewise */
    struct blob b = write_layer(dir, 0, COMPRESSION_NONE, false);
    struct ents l = read_layer(b.path);
    /* Go's filepath.Walk: names sorted within each directory, a directory right before its
     * contents; so "a/..." comes before "a-c" although '-' < '/' */
    static const char *const want[] = {"B",   "a/",  "a/b/", "a/b/c", "a/b-",
                                       "a-c", "a.b", "a0/",  "a0/x",  "\xc3\xa9"};
    assert_order(&l, want, sizeof(want) / sizeof(want[0]));
    assert_int_equal(b.info.entries, l.n);
    assert_int_equal(find(&l, "a/")->mode, AE_IFDIR | 0755);
    ents_release(&l);
    blob_release(&b);
    test_rm_rf(dir);
    free(dir);
}

static void
test_tar_overlay_whiteouts_and_opaque_dirs(void **state)
{
    char *dir = test_tmpdir();

    (void) state;
    node(dir, "gone", S_IFCHR | 0, makedev(0, 0));
    mkd(dir, "opq");
    put(dir, "opq/keep", "k");
    put(dir, "opq/-x", "x"); /* sorts before ".wh..wh..opq"; the marker still comes first */
    set_xattr(dir, "opq", "trusted.overlay.opaque", "y", 1);
    set_xattr(dir, "opq", "trusted.overlay.origin", "zz", 2);
    mkd(dir, "notopq");
    set_xattr(dir, "notopq", "trusted.overlay.opaque", "n", 1);
    mkd(dir, "sub");
    node(dir, "sub/old", S_IFCHR | 0, makedev(0, 0));
    /* overlayfs shares one whiteout inode between many names (nlink > 1): still whiteouts,
     * never hardlink entries */
    char *g = pjoin(dir, "gone"), *g2 = pjoin(dir, "sub/old2");
    assert_int_equal(link(g, g2), 0);
    free(g);
    free(g2);
    node(dir, "null", S_IFCHR | 0666, makedev(1, 3)); /* a real device stays a device */
    set_mtime(dir, "gone", 5000, 0);
    set_mtime(dir, "opq", 2000, 0);

    struct blob b = write_layer(dir, 3000, COMPRESSION_GZIP, true);
    struct ents l = read_layer(b.path);
    static const char *const want[] = {".wh.gone",         "notopq/",     "null",     "opq/",
                                       "opq/.wh..wh..opq", "opq/-x",      "opq/keep", "sub/",
                                       "sub/.wh.old",      "sub/.wh.old2"};
    assert_order(&l, want, sizeof(want) / sizeof(want[0]));
    const struct ent *w = find(&l, ".wh.gone");
    assert_int_equal(w->mode, AE_IFREG);
    assert_int_equal(w->uid, 0);
    assert_int_equal(w->size, 0);
    assert_int_equal(w->mtime, 3000);
    const struct ent *o = find(&l, "opq/.wh..wh..opq");
    assert_int_equal(o->mode, AE_IFREG);
    assert_int_equal(o->mtime, 2000);
    /* overlay's own xattrs never reach the layer */
    assert_int_equal(find(&l, "opq/")->nx, 0);
    assert_int_equal(find(&l, "notopq/")->nx, 0);
    const struct ent *n = find(&l, "null");
    assert_int_equal(n->mode, AE_IFCHR | 0666);
    assert_int_equal(n->rmajor, 1);
    assert_int_equal(n->rminor, 3);
    ents_release(&l);
    blob_release(&b);

    /* not an upper dir: a 0/0 device is just a device, no markers */
    b = write_layer(dir, 3000, COMPRESSION_NONE, false);
    l = read_layer(b.path);
    assert_int_equal(find(&l, "gone")->mode, AE_IFCHR);
    for (size_t i = 0; i < l.n; i++)
        assert_null(strstr(l.v[i].path, ".wh."));
    ents_release(&l);
    blob_release(&b);
    test_rm_rf(dir);
    free(dir);
}

static void
test_tar_hardlinks_stored_once(void **state)
{
    char *dir = test_tmpdir();

    (void) state;
    put(dir, "z/g", "shared content");
    mkd(dir, "a");
    char *z = pjoin(dir, "z/g"), *a = pjoin(dir, "a/f"), *b0 = pjoin(dir, "b");
    assert_int_equal(link(z, a), 0);
    assert_int_equal(link(z, b0), 0);
    struct blob b = write_layer(dir, 0, COMPRESSION_GZIP, false);
    struct ents l = read_layer(b.path);
    static const char *const want[] = {"a/", "a/f", "b", "z/", "z/g"};
    assert_order(&l, want, 5);
    /* the first path in walk order holds the data, the others link to it */
    assert_int_equal(find(&l, "a/f")->size, 14);
    assert_null(find(&l, "a/f")->hardlink);
    assert_string_equal(find(&l, "b")->hardlink, "a/f");
    assert_string_equal(find(&l, "z/g")->hardlink, "a/f");
    assert_int_equal(find(&l, "z/g")->size, 0);
    ents_release(&l);
    blob_release(&b);
    free(z);
    free(a);
    free(b0);
    test_rm_rf(dir);
    free(dir);
}

static void
test_tar_mtimes_whole_seconds_and_clamped(void **state)
{
    char *dir = test_tmpdir();

    (void) state;
    put(dir, "new", "");
    put(dir, "old", "");
    set_mtime(dir, "new", 2000000000, 0);
    set_mtime(dir, "old", 500, 700000000);
    struct blob b = write_layer(dir, 1000, COMPRESSION_NONE, false);
    struct ents l = read_layer(b.path);
    assert_int_equal(find(&l, "new")->mtime, 1000);
    assert_int_equal(find(&l, "old")->mtime, 500);
    assert_int_equal(find(&l, "old")->mtime_nsec, 0);
    for (size_t i = 0; i < l.n; i++)
        assert_false(l.v[i].times_extra); /* no atime, ctime, birthtime */
    ents_release(&l);
    blob_release(&b);

    b = write_layer(dir, -1, COMPRESSION_NONE, false); /* no clamp */
    l = read_layer(b.path);
    assert_int_equal(find(&l, "new")->mtime, 2000000000);
    ents_release(&l);
    blob_release(&b);
    test_rm_rf(dir);
    free(dir);
}

static void
test_tar_xattrs_kept_sorted(void **state)
{
    char *dir = test_tmpdir();
    /* file capability v2: cap_net_bind_service, binary with NUL bytes */
    static const unsigned char cap[20] = {1, 0, 0, 2, 0, 4, 0, 0, 0, 0,
                                          0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    size_t len;

    (void) state;
    put(dir, "bin", "");
    set_xattr(dir, "bin", "user.z", "last", 4);
    set_xattr(dir, "bin", "security.capability", cap, sizeof(cap));
    set_xattr(dir, "bin", "user.a", "", 0);
    set_xattr(dir, "bin", "trusted.overlay.origin", "o", 1);
    char *p = pjoin(dir, "bin");
    bool selinux = lsetxattr(p, "security.selinux", "host_t", 6, 0) == 0;
    free(p);
    mkd(dir, "d");
    set_xattr(dir, "d", "user.dir", "1", 1);
    struct blob b = write_layer(dir, 0, COMPRESSION_ZSTD, false);
    struct ents l = read_layer(b.path);
    const struct ent *x = find(&l, "bin");
    assert_int_equal(x->nx, 3);
    const char *v = xattr_of(x, "security.capability", &len);
    assert_non_null(v);
    assert_int_equal(len, sizeof(cap));
    assert_memory_equal(v, cap, sizeof(cap));
    assert_non_null(xattr_of(x, "user.a", &len));
    assert_int_equal(len, 0);
    assert_string_equal(xattr_of(x, "user.z", NULL), "last");
    assert_null(xattr_of(x, "trusted.overlay.origin", NULL));
    if (selinux)
        assert_null(xattr_of(x, "security.selinux", NULL));
    assert_string_equal(xattr_of(find(&l, "d/"), "user.dir", NULL), "1");
    ents_release(&l);

    /* pax records are sorted by name, whatever order the filesystem lists them in */
    char *raw = NULL;
    size_t rawlen = 0;
    struct blob u = write_layer(dir, 0, COMPRESSION_NONE, false);
    FILE *f = fopen(u.path, "rb");
    assert_non_null(f);
    raw = xmalloc(1 << 16);
    rawlen = fread(raw, 1, 1 << 16, f);
    fclose(f);
    char *s = memmem(raw, rawlen, "SCHILY.xattr.security.capability", 32);
    char *a = memmem(raw, rawlen, "SCHILY.xattr.user.a=", 20);
    char *z = memmem(raw, rawlen, "SCHILY.xattr.user.z=", 20);
    assert_true(s != NULL && a != NULL && z != NULL && s < a && a < z);
    assert_null(memmem(raw, rawlen, "LIBARCHIVE.xattr", 16));
    free(raw);
    blob_release(&u);
    blob_release(&b);
    test_rm_rf(dir);
    free(dir);
}

static void
test_tar_numeric_ids_without_names(void **state)
{
    char *dir = test_tmpdir();

    (void) state;
    put(dir, "f", "x");
    char *p = pjoin(dir, "f");
    assert_int_equal(lchown(p, 1234, 5678), 0);
    free(p);
    struct blob b = write_layer(dir, 0, COMPRESSION_NONE, false);
    struct ents l = read_layer(b.path);
    const struct ent *x = find(&l, "f");
    assert_int_equal(x->uid, 1234);
    assert_int_equal(x->gid, 5678);
    assert_true(x->names_empty);
    ents_release(&l);
    /* the ustar uname/gname fields (offsets 265 and 297) are empty */
    unsigned char hdr[512];
    int fd = open(b.path, O_RDONLY);
    assert_int_equal(read(fd, hdr, 512), 512);
    close(fd);
    assert_int_equal(hdr[265], 0);
    assert_int_equal(hdr[297], 0);
    assert_memory_equal(hdr + 257, "ustar", 5);
    blob_release(&b);
    test_rm_rf(dir);
    free(dir);
}

static void
test_tar_symlinks_fifos_devices(void **state)
{
    char *dir = test_tmpdir();
    char target[300];

    (void) state;
    memset(target, 'x', sizeof(target) - 1); /* longer than the 100 bytes of ustar */
    target[sizeof(target) - 1] = '\0';
    char *p = pjoin(dir, "long");
    assert_int_equal(symlink(target, p), 0);
    free(p);
    p = pjoin(dir, "abs");
    assert_int_equal(symlink("/etc/passwd", p), 0);
    free(p);
    node(dir, "fifo", S_IFIFO | 0600, 0);
    node(dir, "blk", S_IFBLK | 0660, makedev(7, 3));
    /* a socket cannot be in a tar: skipped, as containerd does */
    p = pjoin(dir, "sock");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p);
    int sfd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(sfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
    struct blob b = write_layer(dir, 0, COMPRESSION_GZIP, true);
    close(sfd);
    struct ents l = read_layer(b.path);
    assert_string_equal(find(&l, "abs")->symlink, "/etc/passwd");
    assert_int_equal(find(&l, "abs")->mode & AE_IFMT, AE_IFLNK);
    assert_string_equal(find(&l, "long")->symlink, target);
    assert_int_equal(find(&l, "fifo")->mode, AE_IFIFO | 0600);
    const struct ent *x = find(&l, "blk");
    assert_int_equal(x->mode, AE_IFBLK | 0660);
    assert_int_equal(x->rmajor, 7);
    assert_int_equal(x->rminor, 3);
    assert_int_equal(l.n, 4);
    free(p);
    ents_release(&l);
    blob_release(&b);
    test_rm_rf(dir);
    free(dir);
}

static void
test_tar_long_and_deep_names(void **state)
{
    char *dir = test_tmpdir();
    char rel[8192] = "";
    int depth = 200; /* deeper than the walk keeps descriptors open for */

    (void) state;
    size_t n = 0;
    for (int i = 0; i < depth; i++) {
        n += (size_t) snprintf(rel + n, sizeof(rel) - n, "%sd%03d", i ? "/" : "", i);
        mkd(dir, rel);
        if (i == 100) {
            char f[8300];
            snprintf(f, sizeof(f), "%s/side", rel);
            put(dir, f, "s");
        }
    }
    char leaf[8300];
    snprintf(leaf, sizeof(leaf), "%s/leaf-with-a-rather-long-name-%0150d", rel, 7);
    put(dir, leaf, "deep");
    DIR *fds = opendir("/proc/self/fd");
    int nfd_before = 0;
    while (readdir(fds))
        nfd_before++;
    closedir(fds);

    struct blob b = write_layer(dir, 0, COMPRESSION_NONE, false);
    struct ents l = read_layer(b.path);
    assert_int_equal(l.n, depth + 2);
    assert_string_equal(l.v[l.n - 2].path, leaf);
    /* the side file of d100 comes after everything below d100/d101 ("d101" < "side") */
    char side[8300];
    size_t off = strlen("d000") + 100 * strlen("/d000");
    snprintf(side, sizeof(side), "%.*s/side", (int) off, rel);
    assert_string_equal(l.v[l.n - 1].path, side);
    ents_release(&l);

    fds = opendir("/proc/self/fd");
    int nfd_after = 0;
    while (readdir(fds))
        nfd_after++;
    closedir(fds);
    assert_int_equal(nfd_before, nfd_after); /* no descriptor leaked */
    blob_release(&b);
    test_rm_rf(dir);
    free(dir);
}

/* The same tree built twice, in another order, with other atimes and ctimes. */
static void
build_tree(const char *dir, bool reverse)
{
    static const char *files[] = {"etc/passwd", "etc/group", "usr/bin/tool", "usr/lib/x.so",
                                  "README"};
    for (int k = 0; k < 5; k++) {
        int i = reverse ? 4 - k : k;
        put(dir, files[i], files[i]);
        set_mtime(dir, files[i], 1700000000 + i, 123);
    }
    char *p = pjoin(dir, "usr/bin/tool");
    chmod(p, 04755);
    free(p);
    set_xattr(dir, "usr/bin/tool", "user.k", "v", 1);
    static const char *dirs[] = {"usr/lib", "usr/bin", "usr", "etc"};
    for (int i = 0; i < 4; i++)
        set_mtime(dir, dirs[i], 1600000000 + i, 0);
}

static void
test_tar_deterministic(void **state)
{
    char *d1 = test_tmpdir();

    (void) state;
    build_tree(d1, false);
    struct blob a = write_layer(d1, -1, COMPRESSION_GZIP, false);
    struct blob b = write_layer(d1, -1, COMPRESSION_GZIP, false);
    assert_string_equal(a.info.diff_id, b.info.diff_id);
    assert_string_equal(a.info.digest, b.info.digest);
    assert_int_equal(a.info.size, b.info.size);
    blob_release(&b);

    usleep(20000);
    char *d2 = test_tmpdir();
    build_tree(d2, true);
    /* other atimes (reading a file does not count on relatime mounts) */
    char *p = pjoin(d2, "etc/passwd");
    struct timespec ts[2] = {{12345, 0}, {0, UTIME_OMIT}};
    utimensat(AT_FDCWD, p, ts, 0);
    free(p);
    b = write_layer(d2, -1, COMPRESSION_GZIP, false);
    assert_string_equal(a.info.diff_id, b.info.diff_id);
    assert_string_equal(a.info.digest, b.info.digest);
    blob_release(&b);

    /* and each compression is deterministic on its own */
    for (int c = COMPRESSION_ZSTD; c <= COMPRESSION_NONE; c++) {
        struct blob x = write_layer(d1, -1, (enum compression) c, false);
        struct blob y = write_layer(d2, -1, (enum compression) c, false);
        assert_string_equal(x.info.digest, y.info.digest);
        assert_string_equal(x.info.diff_id, a.info.diff_id); /* same tar whatever compression */
        blob_release(&x);
        blob_release(&y);
    }
    blob_release(&a);
    test_rm_rf(d1);
    test_rm_rf(d2);
    free(d1);
    free(d2);
}

static void
test_tar_digests_describe_the_blob(void **state)
{
    char *dir = test_tmpdir();
    struct lade_error err = {0};
    digest_t d;
    uint64_t len;

    (void) state;
    build_tree(dir, false);
    for (int c = COMPRESSION_GZIP; c <= COMPRESSION_NONE; c++) {
        struct blob b = write_layer(dir, 0, (enum compression) c, false);
        int fd = open(b.path, O_RDONLY);
        struct stat st;
        fstat(fd, &st);
        assert_int_equal(b.info.size, st.st_size);
        assert_ok(digest_of_fd(fd, d, &err), &err);
        assert_string_equal(b.info.digest, d); /* digest: the blob as stored */
        digest_uncompressed(b.path, d, &len);
        assert_string_equal(b.info.diff_id, d); /* diff_id: the tar inside */
        assert_int_equal(len % 512, 0);
        if (c == COMPRESSION_GZIP) {
            unsigned char h[10];
            assert_int_equal(pread(fd, h, 10, 0), 10);
            assert_int_equal(h[0], 0x1f);
            assert_int_equal(h[1], 0x8b);
            assert_int_equal(h[3], 0);                 /* no FNAME, no other flags */
            assert_memory_equal(h + 4, "\0\0\0\0", 4); /* no MTIME */
        }
        if (c == COMPRESSION_NONE)
            assert_string_equal(b.info.diff_id, b.info.digest);
        close(fd);
        blob_release(&b);
    }
    assert_string_equal(layer_media_type(COMPRESSION_GZIP),
                        "application/vnd.oci.image.layer.v1.tar+gzip");
    assert_string_equal(layer_media_type(COMPRESSION_ZSTD),
                        "application/vnd.oci.image.layer.v1.tar+zstd");
    assert_string_equal(layer_media_type(COMPRESSION_NONE),
                        "application/vnd.oci.image.layer.v1.tar");
    test_rm_rf(dir);
    free(dir);
}

static void
test_tar_gzip_readable_by_gzip(void **state)
{
    char *dir = test_tmpdir();
    char cmd[512];
    digest_t d;
    uint64_t len;

    (void) state;
    build_tree(dir, false);
    struct blob b = write_layer(dir, 0, COMPRESSION_GZIP, false);
    char *tar = xasprintf("%s.tar", dir);
    snprintf(cmd, sizeof(cmd), "gzip -dc '%s' > '%s'", b.path, tar);
    if (system(cmd) != 0)
        fail_msg("gzip cannot read the layer: %s", cmd);
    digest_uncompressed(tar, d, &len);
    assert_string_equal(d, b.info.diff_id);
    unlink(tar);
    free(tar);
    blob_release(&b);
    test_rm_rf(dir);
    free(dir);
}

static void
test_tar_empty_tree_has_no_entries(void **state)
{
    char *dir = test_tmpdir();
    digest_t d;
    uint64_t len;

    (void) state;
    struct blob b = write_layer(dir, 0, COMPRESSION_GZIP, true);
    assert_int_equal(b.info.entries, 0);
    digest_uncompressed(b.path, d, &len);
    assert_int_equal(len, 1024); /* just the end-of-archive blocks */
    assert_string_equal(d, b.info.diff_id);
    blob_release(&b);
    test_rm_rf(dir);
    free(dir);
}

static void
test_tar_utf8_and_binary_names(void **state)
{
    char *dir = test_tmpdir();

    (void) state;
    put(dir, "caf\xc3\xa9", "");
    put(dir, "bad\xff\xfe", "");
    struct blob b = write_layer(dir, 0, COMPRESSION_NONE, false);
    struct ents l = read_layer(b.path);
    static const char *const want[] = {"bad\xff\xfe", "caf\xc3\xa9"};
    assert_order(&l, want, 2);
    ents_release(&l);
    blob_release(&b);
    test_rm_rf(dir);
    free(dir);
}

static void
test_tar_write_error_is_reported(void **state)
{
    char *dir = test_tmpdir();
    struct layer_opts opts = {.epoch = 0, .compression = COMPRESSION_GZIP};
    struct lade_error err = {0};
    struct layer_info info = {.entries = 42};
    char data[100000];

    (void) state;
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char) (i * 7919 % 251); /* poorly compressible */
    char *p = pjoin(dir, "f");
    int fd = open(p, O_WRONLY | O_CREAT, 0644);
    for (int i = 0; i < 20; i++)
        assert_int_equal(write(fd, data, sizeof(data)), sizeof(data));
    close(fd);
    free(p);
    int out = open("/dev/full", O_WRONLY | O_CLOEXEC);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_int_equal(layer_write_dir(dfd, &opts, out, &info, &err), -1);
    assert_int_equal(err.code, LADE_ERR_IO);
    assert_int_equal(err.sys_errno, ENOSPC);
    assert_non_null(strstr(err.msg, "No space left on device"));
    assert_int_equal(info.entries, 42); /* untouched on failure */
    close(out);
    close(dfd);
    test_rm_rf(dir);
    free(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tar_streams_big_file_with_bounded_memory),
        cmocka_unit_test(test_tar_walk_order_is_filepath_walk),
        cmocka_unit_test(test_tar_overlay_whiteouts_and_opaque_dirs),
        cmocka_unit_test(test_tar_hardlinks_stored_once),
        cmocka_unit_test(test_tar_mtimes_whole_seconds_and_clamped),
        cmocka_unit_test(test_tar_xattrs_kept_sorted),
        cmocka_unit_test(test_tar_numeric_ids_without_names),
        cmocka_unit_test(test_tar_symlinks_fifos_devices),
        cmocka_unit_test(test_tar_long_and_deep_names),
        cmocka_unit_test(test_tar_deterministic),
        cmocka_unit_test(test_tar_digests_describe_the_blob),
        cmocka_unit_test(test_tar_gzip_readable_by_gzip),
        cmocka_unit_test(test_tar_empty_tree_has_no_entries),
        cmocka_unit_test(test_tar_utf8_and_binary_names),
        cmocka_unit_test(test_tar_write_error_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
