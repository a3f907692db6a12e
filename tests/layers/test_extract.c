/* SPDX-License-Identifier: Apache-2.0 */
/* layer_extract: round trips through layer_write_dir, overlay whiteouts, and hostile tars
 * built here with libarchive. Runs as root (mknod, chown, trusted.* xattrs). */
#include "../helpers/test.h"

#include <archive.h>
#include <archive_entry.h>
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

#include "../../builder/common/fsutil.h"
#include "../../builder/common/xalloc.h"
#include "../../layers/layers.h"

static char *
pjoin(const char *dir, const char *rel)
{
    return xasprintf("%s/%s", dir, rel);
}

static void
mkd(const char *dir, const char *rel, mode_t mode)
{
    char *p = pjoin(dir, rel);
    if (mkdir(p, mode) < 0)
        fail_msg("mkdir %s: %s", p, strerror(errno));
    chmod(p, mode);
    free(p);
}

static void
set_mtime(const char *dir, const char *rel, time_t sec)
{
    char *p = pjoin(dir, rel);
    struct timespec ts[2] = {{sec, 0}, {sec, 0}};
    if (utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW) < 0)
        fail_msg("utimensat %s: %s", p, strerror(errno));
    free(p);
}

static struct layer_info
write_layer(const char *dir, const char *blob, enum compression c, bool overlay)
{
    struct layer_opts opts = {.epoch = -1, .compression = c, .overlay_upper = overlay};
    struct lade_error err = {0};
    struct layer_info info;
    int fd = open(blob, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    assert_true(fd >= 0 && dfd >= 0);
    assert_ok(layer_write_dir(dfd, &opts, fd, &info, &err), &err);
    close(fd);
    close(dfd);
    return info;
}

/* Extracts blob into a fresh dir; returns layer_extract's result, err filled. */
static int
extract(const char *blob, const char *dir, const char *expect, digest_t out, struct lade_error *err)
{
    int fd = open(blob, O_RDONLY | O_CLOEXEC);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        fail_msg("mkdir %s", dir);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0 && dfd >= 0);
    int rc = layer_extract(fd, dfd, expect, out, err);
    close(fd);
    close(dfd);
    return rc;
}

/* ---- hand-made tars ---- */

struct spec {
    char type; /* f file, d dir, l symlink, h hardlink, c char device, p fifo */
    const char *path;
    const char *arg; /* content, link target */
};

static void
make_tar(const char *path, const struct spec *s, size_t n, bool gzip)
{
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();

    archive_write_set_format_pax_restricted(a);
    if (gzip)
        archive_write_add_filter_gzip(a);
    if (archive_write_open_filename(a, path) != ARCHIVE_OK)
        fail_msg("%s", archive_error_string(a));
    for (size_t i = 0; i < n; i++) {
        archive_entry_clear(e);
        archive_entry_copy_pathname(e, s[i].path);
        archive_entry_set_mtime(e, 1000, 0);
        size_t len = 0;
        switch (s[i].type) {
        case 'f':
            len = strlen(s[i].arg);
            archive_entry_set_mode(e, AE_IFREG | 0644);
            archive_entry_set_size(e, (la_int64_t) len);
            break;
        case 'd':
            archive_entry_set_mode(e, AE_IFDIR | 0755);
            break;
        case 'l':
            archive_entry_set_mode(e, AE_IFLNK | 0777);
            archive_entry_copy_symlink(e, s[i].arg);
            break;
        case 'h':
            archive_entry_set_mode(e, AE_IFREG | 0644);
            archive_entry_copy_hardlink(e, s[i].arg);
            break;
        case 'c':
            archive_entry_set_mode(e, AE_IFCHR | 0666);
            archive_entry_set_rdevmajor(e, 1);
            archive_entry_set_rdevminor(e, 3);
            break;
        case 'p':
            archive_entry_set_mode(e, AE_IFIFO | 0600);
            break;
        default:
            fail();
        }
        if (archive_write_header(a, e) != ARCHIVE_OK)
            fail_msg("%s: %s", s[i].path, archive_error_string(a));
        if (len > 0)
            assert_int_equal(archive_write_data(a, s[i].arg, len), (la_ssize_t) len);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    archive_entry_free(e);
}

static int
count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static char *
read_text(const char *dir, const char *rel)
{
    struct lade_error err = {0};
    char *p = pjoin(dir, rel), *out = NULL;
    size_t len;

    if (read_file_at(AT_FDCWD, p, 1 << 20, &out, &len, &err) < 0)
        out = NULL;
    free(p);
    return out;
}

/* ---- tests ---- */

static void
build_rich_tree(const char *d)
{
    static const unsigned char cap[20] = {1, 0, 0, 2, 0, 4, 0, 0, 0, 0,
                                          0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

    mkd(d, "etc", 0755);
    test_write_file(d, "etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0644);
    test_write_file(d, "empty", "", 0600);
    mkd(d, "tmp", 01777);
    mkd(d, "secret", 0700);
    test_write_file(d, "secret/key", "k", 0400);
    mkd(d, "usr", 0755);
    mkd(d, "usr/bin", 0755);
    test_write_file(d, "usr/bin/su", "#!/bin/true\n", 0755);
    char *p = pjoin(d, "usr/bin/su");
    assert_int_equal(lchown(p, 1000, 1001), 0);
    assert_int_equal(chmod(p, 04755), 0); /* after chown, which clears set-id bits */
    assert_int_equal(lsetxattr(p, "security.capability", cap, sizeof(cap), 0), 0);
    assert_int_equal(lsetxattr(p, "user.note", "hello", 5, 0), 0);
    char *q = pjoin(d, "usr/bin/su-link");
    assert_int_equal(link(p, q), 0);
    free(p);
    free(q);
    p = pjoin(d, "usr/bin/sh");
    assert_int_equal(symlink("/bin/busybox", p), 0);
    assert_int_equal(lchown(p, 7, 8), 0);
    free(p);
    p = pjoin(d, "usr/lib");
    assert_int_equal(symlink("../lib", p), 0);
    free(p);
    p = pjoin(d, "fifo");
    assert_int_equal(mkfifo(p, 0640), 0);
    chmod(p, 0640);
    free(p);
    p = pjoin(d, "null");
    assert_int_equal(mknod(p, S_IFCHR | 0666, makedev(1, 3)), 0);
    chmod(p, 0666);
    assert_int_equal(lsetxattr(d, "user.root", "r", 1, 0), 0);
    free(p);
    p = pjoin(d, "caf\xc3\xa9");
    assert_int_equal(mkdir(p, 0750), 0);
    chmod(p, 0750);
    assert_int_equal(lsetxattr(p, "user.dir", "1", 1, 0), 0);
    free(p);
    test_write_file(d, "caf\xc3\xa9/x", "x", 0644);
    static const char *const times[] = {"etc/passwd",    "usr/bin/su", "usr/bin/sh",  "fifo",
                                        "caf\xc3\xa9/x", "secret/key", "usr/bin",     "usr",
                                        "etc",           "secret",     "caf\xc3\xa9", "tmp"};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
        set_mtime(d, times[i], 1600000000 + (time_t) i * 1000);
}

static void
test_extract_round_trip(void **state)
{
    char *top = test_tmpdir();
    char *src = pjoin(top, "src"), *blob = pjoin(top, "blob"), *again = pjoin(top, "again");
    struct lade_error err = {0};
    struct stat st;
    digest_t d;

    (void) state;
    mkd(top, "src", 0755);
    build_rich_tree(src);
    for (int c = COMPRESSION_GZIP; c <= COMPRESSION_NONE; c++) {
        char *dst = xasprintf("%s/dst%d", top, c);
        struct layer_info info = write_layer(src, blob, (enum compression) c, false);
        assert_ok(extract(blob, dst, info.diff_id, d, &err), &err);
        assert_string_equal(d, info.diff_id);

        /* the extracted tree gives the same layer back: every entry, mode, owner, mtime,
         * xattr and link survived */
        struct layer_info info2 = write_layer(dst, again, COMPRESSION_NONE, false);
        assert_string_equal(info2.diff_id, info.diff_id);
        assert_int_equal(info2.entries, info.entries);

        char *p = pjoin(dst, "usr/bin/su");
        assert_int_equal(lstat(p, &st), 0);
        assert_int_equal(st.st_mode, S_IFREG | 04755); /* set-uid kept after chown */
        assert_int_equal(st.st_uid, 1000);
        assert_int_equal(st.st_gid, 1001);
        assert_int_equal(st.st_nlink, 2);
        assert_int_equal(st.st_mtime, 1600001000);
        assert_int_equal(lgetxattr(p, "security.capability", NULL, 0), 20);
        free(p);
        p = pjoin(dst, "usr");
        assert_int_equal(lstat(p, &st), 0);
        assert_int_equal(st.st_mtime, 1600007000); /* directories' times set after contents */
        free(p);
        p = pjoin(dst, "tmp");
        assert_int_equal(lstat(p, &st), 0);
        assert_int_equal(st.st_mode, S_IFDIR | 01777);
        free(p);
        p = pjoin(dst, "null");
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
        free(p);
        test_rm_rf(dst);
        free(dst);
    }
    unlink(blob);
    unlink(again);
    test_rm_rf(top);
    free(src);
    free(blob);
    free(again);
    free(top);
}

static void
test_extract_whiteouts_become_overlay_markers(void **state)
{
    char *top = test_tmpdir();
    char *up = pjoin(top, "upper"), *blob = pjoin(top, "blob"), *dst = pjoin(top, "dst");
    struct lade_error err = {0};
    struct stat st;
    char v[8];

    (void) state;
    mkd(top, "upper", 0755);
    char *p = pjoin(up, "gone");
    assert_int_equal(mknod(p, S_IFCHR, makedev(0, 0)), 0);
    free(p);
    mkd(up, "opq", 0755);
    test_write_file(up, "opq/keep", "k", 0644);
    p = pjoin(up, "opq");
    assert_int_equal(lsetxattr(p, "trusted.overlay.opaque", "y", 1, 0), 0);
    free(p);
    write_layer(up, blob, COMPRESSION_GZIP, true);
    assert_ok(extract(blob, dst, NULL, NULL, &err), &err);
    p = pjoin(dst, "gone");
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(0, 0));
    free(p);
    p = pjoin(dst, "opq");
    assert_int_equal(lgetxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
    assert_int_equal(v[0], 'y');
    free(p);
    p = pjoin(dst, "opq/.wh..wh..opq");
    assert_int_equal(lstat(p, &st), -1); /* the marker is not a file */
    free(p);
    assert_int_equal(count_entries(dst), 2);
    test_rm_rf(dst);

    /* hand-made: a whiteout replaces what the layer had; aufs metadata is skipped */
    static const struct spec s[] = {
        {'d', "d/", NULL},           {'f', "d/f", "x"},         {'f', "d/.wh.f", ""},
        {'f', ".wh.dir", ""},        {'f', ".wh..wh.plnk", ""}, {'d', ".wh..wh.aufs/", NULL},
        {'f', "e/.wh..wh..opq", ""},
    };
    make_tar(blob, s, sizeof(s) / sizeof(s[0]), false);
    assert_ok(extract(blob, dst, NULL, NULL, &err), &err);
    p = pjoin(dst, "d/f");
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISCHR(st.st_mode) && st.st_rdev == 0);
    free(p);
    p = pjoin(dst, "dir");
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISCHR(st.st_mode) && st.st_rdev == 0);
    free(p);
    p = pjoin(dst, "e");
    assert_int_equal(lgetxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
    free(p);
    assert_int_equal(count_entries(dst), 3); /* d, dir, e */
    test_rm_rf(dst);

    /* ".wh..." would whiteout ".." */
    static const struct spec bad[] = {{'d', "x/", NULL}, {'f', "x/.wh...", ""}};
    make_tar(blob, bad, 2, false);
    assert_int_equal(extract(blob, dst, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "whiteout"));

    unlink(blob);
    test_rm_rf(top);
    free(up);
    free(blob);
    free(dst);
    free(top);
}

struct hostile {
    const char *what;
    struct spec s[3];
    size_t n;
    const char *msg;
};

static void
test_extract_refuses_escapes(void **state)
{
    char *top = test_tmpdir();
    char *blob = pjoin(top, "blob"), *root = pjoin(top, "root");
    char escape[64], escape_hl[96];
    struct stat st;

    (void) state;
    test_write_file(top, "outside", "do not touch", 0644);
    /* a name unique to this run, under the real / */
    snprintf(escape, sizeof(escape), "lade-escape-%d", (int) getpid());
    snprintf(escape_hl, sizeof(escape_hl), "../%s/outside", strrchr(top, '/') + 1);
    const struct hostile cases[] = {
        {"dot-dot", {{'f', "../x", "evil"}}, 1, "'..'"},
        {"inner dot-dot", {{'d', "a/", NULL}, {'f', "a/../../x", "evil"}}, 2, "'..'"},
        {"absolute", {{'f', "/abs", "evil"}}, 1, "absolute"},
        /* symlinks are resolved inside the layer: these write a/escape and x in it */
        {"symlink to /", {{'l', "a", "/"}, {'f', "a/escape", "evil"}}, 2, NULL},
        {"symlink up", {{'l', "a", "../.."}, {'f', "a/x", "evil"}}, 2, NULL},
        {"symlink chain", {{'l', "a", "b/.."}, {'l', "b", "."}, {'f', "a/x", "evil"}}, 3, NULL},
        {"hardlink up", {{'h', "h", escape_hl}}, 1, "'..'"},
        {"hardlink absolute", {{'h', "h", "/etc/passwd"}}, 1, "absolute"},
        {"hardlink via symlink", {{'l', "s", "/etc"}, {'h', "h", "s/passwd"}}, 2, "not exist"},
    };
    /* "a -> /" is also the name the symlink-to-/ case would write outside */
    const char *escape_abs = "/escape";
    bool had_escape = access(escape_abs, F_OK) == 0;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct hostile *c = &cases[i];
        struct lade_error err = {0};
        make_tar(blob, c->s, c->n, i % 2 == 0);
        int rc = extract(blob, root, NULL, NULL, &err);
        if (c->msg != NULL) {
            if (rc == 0)
                fail_msg("%s: accepted", c->what);
            if (strstr(err.msg, c->msg) == NULL)
                fail_msg("%s: message '%s' lacks '%s'", c->what, err.msg, c->msg);
        }
        /* nothing outside the layer dir: top holds only outside, blob and root */
        assert_int_equal(count_entries(top), 3);
        char *o = read_text(top, "outside");
        assert_string_equal(o, "do not touch");
        free(o);
        char *x = pjoin(top, "x");
        assert_int_equal(lstat(x, &st), -1);
        free(x);
        test_rm_rf(root);
    }
    if (!had_escape)
        assert_int_equal(access(escape_abs, F_OK), -1);
    assert_int_equal(access("/x", F_OK), -1);
    assert_int_equal(access("/abs", F_OK), -1);
    unlink(blob);
    test_rm_rf(top);
    free(blob);
    free(root);
    free(top);
}

static void
test_extract_replaces_symlinks_without_following(void **state)
{
    char *top = test_tmpdir();
    char *blob = pjoin(top, "blob"), *root = pjoin(top, "root");
    char *victim = pjoin(top, "victim"), *victim_dir = pjoin(top, "vdir");
    struct lade_error err = {0};
    struct stat st;

    (void) state;
    test_write_file(top, "victim", "safe", 0644);
    mkd(top, "vdir", 0755);
    const struct spec s[] = {
        {'l', "s", victim},
        {'f', "s", "pwned"},
    };
    make_tar(blob, s, 2, false);
    assert_ok(extract(blob, root, NULL, NULL, &err), &err);
    char *t = read_text(top, "victim");
    assert_string_equal(t, "safe");
    free(t);
    t = read_text(root, "s");
    assert_string_equal(t, "pwned");
    free(t);
    test_rm_rf(root);

    const struct spec s2[] = {
        {'l', "d", victim_dir},
        {'d', "d/", NULL},
        {'f', "d/f", "inside"},
    };
    make_tar(blob, s2, 3, true);
    assert_ok(extract(blob, root, NULL, NULL, &err), &err);
    assert_int_equal(count_entries(victim_dir), 0);
    char *p = pjoin(root, "d");
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    free(p);
    test_rm_rf(root);

    /* a hardlink onto a symlink's name replaces the symlink, never writes through it */
    const struct spec s3[] = {
        {'f', "real", "data"},
        {'l', "s", victim},
        {'h', "s", "real"},
    };
    make_tar(blob, s3, 3, false);
    assert_ok(extract(blob, root, NULL, NULL, &err), &err);
    t = read_text(top, "victim");
    assert_string_equal(t, "safe");
    free(t);
    p = pjoin(root, "s");
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode) && st.st_nlink == 2);
    free(p);

    unlink(blob);
    test_rm_rf(top);
    free(blob);
    free(root);
    free(victim);
    free(victim_dir);
    free(top);
}

static void
test_extract_follows_symlinks_inside_the_layer(void **state)
{
    char *top = test_tmpdir();
    char *blob = pjoin(top, "blob"), *root = pjoin(top, "root");
    struct lade_error err = {0};
    struct stat st;

    (void) state;
    const struct spec s[] = {
        {'d', "usr/lib/", NULL},
        {'l', "lib", "usr/lib"},
        {'f', "lib/x", "via link"},
    };
    make_tar(blob, s, 3, false);
    assert_ok(extract(blob, root, NULL, NULL, &err), &err);
    char *t = read_text(root, "usr/lib/x");
    assert_string_equal(t, "via link");
    free(t);
    char *p = pjoin(root, "lib");
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    free(p);
    unlink(blob);
    test_rm_rf(top);
    free(blob);
    free(root);
    free(top);
}

/* Absolute symlinks and ".." in symlinks resolve inside the layer, as containerd's RootPath:
 * what docker and containerd accept is accepted, and lands where they put it. */
static void
test_extract_resolves_symlinks_in_root(void **state)
{
    char *top = test_tmpdir();
    char *blob = pjoin(top, "blob"), *root = pjoin(top, "root");
    struct lade_error err = {0};

    (void) state;
    const struct spec s[] = {
        {'d', "usr/lib/", NULL},         {'l', "lib", "/usr/lib"},   {'f', "lib/x", "via /usr/lib"},
        {'l', "up", "../../.."},         {'f', "up/top", "clamped"}, {'l', "abs", "/"},
        {'f', "abs/usr/lib/y", "again"}, {'h', "hard", "lib/x"},
    };
    make_tar(blob, s, sizeof(s) / sizeof(s[0]), true);
    assert_ok(extract(blob, root, NULL, NULL, &err), &err);
    char *t = read_text(root, "usr/lib/x");
    assert_string_equal(t, "via /usr/lib");
    free(t);
    t = read_text(root, "top");
    assert_string_equal(t, "clamped");
    free(t);
    t = read_text(root, "usr/lib/y");
    assert_string_equal(t, "again");
    free(t);
    t = read_text(root, "hard");
    assert_string_equal(t, "via /usr/lib");
    free(t);
    assert_int_equal(count_entries(top), 2); /* blob and root: nothing beside them */
    unlink(blob);
    test_rm_rf(top);
    free(blob);
    free(root);
    free(top);
}

static void
test_extract_replace_and_merge(void **state)
{
    char *top = test_tmpdir();
    char *blob = pjoin(top, "blob"), *root = pjoin(top, "root");
    struct lade_error err = {0};
    struct stat st;

    (void) state;
    const struct spec s[] = {
        {'d', "./", NULL}, /* the root itself: nothing to create */
        {'d', "d/", NULL},          {'f', "d/f", "1"}, {'d', "./d/", NULL}, /* merge */
        {'d', "e/", NULL},          {'f', "e/g", "2"}, {'f', "e", "file now"},
        {'f', "f", "was a file"},   {'d', "f/", NULL}, {'f', "f/inner", "3"},
        {'f', "deep/er/x//y", "4"}, /* parents made on the way, slashes collapsed */
        {'f', "g", "old"},          {'f', "g", "new"},
    };
    make_tar(blob, s, sizeof(s) / sizeof(s[0]), false);
    assert_ok(extract(blob, root, NULL, NULL, &err), &err);
    char *t = read_text(root, "d/f");
    assert_string_equal(t, "1");
    free(t);
    t = read_text(root, "e");
    assert_string_equal(t, "file now");
    free(t);
    t = read_text(root, "f/inner");
    assert_string_equal(t, "3");
    free(t);
    t = read_text(root, "deep/er/x/y");
    assert_string_equal(t, "4");
    free(t);
    t = read_text(root, "g");
    assert_string_equal(t, "new");
    free(t);
    char *p = pjoin(root, "deep/er");
    assert_int_equal(lstat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    free(p);
    assert_int_equal(count_entries(root), 5);
    unlink(blob);
    test_rm_rf(top);
    free(blob);
    free(root);
    free(top);
}

static void
test_extract_checks_diff_id(void **state)
{
    char *top = test_tmpdir();
    char *blob = pjoin(top, "blob"), *root = pjoin(top, "root");
    struct lade_error err = {0};
    digest_t d, want;

    (void) state;
    const struct spec s[] = {{'f', "a", "content"}};
    make_tar(blob, s, 1, true);
    assert_ok(extract(blob, root, NULL, d, &err), &err);
    /* the digest of the uncompressed stream, trailing blocks included */
    char *tar = pjoin(top, "plain");
    make_tar(tar, s, 1, false);
    int fd = open(tar, O_RDONLY);
    assert_ok(digest_of_fd(fd, want, &err), &err);
    close(fd);
    assert_string_equal(d, want);
    test_rm_rf(root);
    assert_ok(extract(blob, root, want, NULL, &err), &err);
    test_rm_rf(root);

    const char *wrong = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    digest_t untouched = "unchanged";
    assert_int_equal(extract(blob, root, wrong, untouched, &err), -1);
    assert_non_null(strstr(err.msg, "does not match"));
    assert_non_null(strstr(err.msg, want));
    assert_string_equal(untouched, "unchanged");
    unlink(tar);
    free(tar);
    unlink(blob);
    test_rm_rf(top);
    free(blob);
    free(root);
    free(top);
}

static void
write_bytes(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t) n);
    close(fd);
}

static void
test_extract_malformed_input_is_an_error(void **state)
{
    char *top = test_tmpdir();
    char *blob = pjoin(top, "blob"), *root = pjoin(top, "root"), *good = pjoin(top, "good");
    struct lade_error err = {0};
    char buf[65536];

    (void) state;
    /* garbage */
    for (size_t i = 0; i < 4096; i++)
        buf[i] = (char) (i * 131 + 7);
    write_bytes(blob, buf, 4096);
    assert_int_equal(extract(blob, root, NULL, NULL, &err), -1);
    assert_true(err.msg[0] != '\0');
    test_rm_rf(root);

    /* empty */
    write_bytes(blob, "", 0);
    lade_error_clear(&err);
    assert_int_equal(extract(blob, root, NULL, NULL, &err), -1);
    test_rm_rf(root);

    /* truncated: in the gzip stream, and in the middle of a tar entry's data */
    char big[20000];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    const struct spec s[] = {{'f', "a", big}, {'f', "b", "x"}};
    for (int gz = 0; gz <= 1; gz++) {
        make_tar(good, s, 2, gz);
        int fd = open(good, O_RDONLY);
        ssize_t n = read(fd, buf, sizeof(buf));
        close(fd);
        assert_true(n > 100);
        write_bytes(blob, buf, gz ? (size_t) n / 2 : 5000);
        lade_error_clear(&err);
        assert_int_equal(extract(blob, root, NULL, NULL, &err), -1);
        assert_int_equal(err.code, LADE_ERR_OTHER);
        test_rm_rf(root);
    }
    unlink(good);
    unlink(blob);
    test_rm_rf(top);
    free(good);
    free(blob);
    free(root);
    free(top);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extract_round_trip),
        cmocka_unit_test(test_extract_whiteouts_become_overlay_markers),
        cmocka_unit_test(test_extract_refuses_escapes),
        cmocka_unit_test(test_extract_replaces_symlinks_without_following),
        cmocka_unit_test(test_extract_follows_symlinks_inside_the_layer),
        cmocka_unit_test(test_extract_resolves_symlinks_in_root),
        cmocka_unit_test(test_extract_replace_and_merge),
        cmocka_unit_test(test_extract_checks_diff_id),
        cmocka_unit_test(test_extract_malformed_input_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
