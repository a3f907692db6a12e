/* SPDX-License-Identifier: Apache-2.0 */
/* ADD's local archives (layers/extract.c tarball_detect, tarball_unpack): detection by content
 * with every compression docker reads, unpacking with docker's Untar rules (names cleaned, no
 * whiteouts, --chown), and confinement. Runs as root (chown). */
#include "../helpers/test.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../builder/common/xalloc.h"
#include "../../layers/layers.h"

enum filter { F_NONE, F_GZIP, F_BZIP2, F_XZ, F_ZSTD };

struct ent {
    char type; /* f file, d dir, l symlink */
    const char *path;
    const char *arg; /* content or link target */
};

static void
make_tar(const char *path, enum filter f, const struct ent *s, size_t n)
{
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    int (*const add[])(struct archive *) = {
        NULL, archive_write_add_filter_gzip, archive_write_add_filter_bzip2,
        archive_write_add_filter_xz, archive_write_add_filter_zstd};

    archive_write_set_format_pax_restricted(a);
    if (add[f] != NULL && add[f](a) != ARCHIVE_OK)
        fail_msg("filter %d: %s", f, archive_error_string(a));
    if (archive_write_open_filename(a, path) != ARCHIVE_OK)
        fail_msg("%s", archive_error_string(a));
    for (size_t i = 0; i < n; i++) {
        size_t len = s[i].type == 'f' ? strlen(s[i].arg) : 0;
        archive_entry_clear(e);
        archive_entry_copy_pathname(e, s[i].path);
        archive_entry_set_mtime(e, 1000, 0);
        archive_entry_set_uid(e, 1234);
        archive_entry_set_gid(e, 5678);
        archive_entry_set_mode(e, s[i].type == 'f'   ? AE_IFREG | 0640
                                  : s[i].type == 'd' ? AE_IFDIR | 0750
                                                     : AE_IFLNK | 0777);
        archive_entry_set_size(e, (la_int64_t) len);
        if (s[i].type == 'l')
            archive_entry_copy_symlink(e, s[i].arg);
        if (archive_write_header(a, e) != ARCHIVE_OK)
            fail_msg("%s: %s", s[i].path, archive_error_string(a));
        if (len > 0)
            assert_int_equal(archive_write_data(a, s[i].arg, len), (la_ssize_t) len);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    archive_entry_free(e);
}

static bool
detect(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    bool r = tarball_detect(fd);
    close(fd);
    return r;
}

static int
unpack(const char *tar, const char *dir, const struct unpack_opts *o, struct lade_error *err)
{
    int in = open(tar, O_RDONLY | O_CLOEXEC), dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(in >= 0 && dfd >= 0);
    int rc = tarball_unpack(in, dfd, o, err);
    close(in);
    close(dfd);
    return rc;
}

static const struct ent simple[] = {{'d', "dir", NULL}, {'f', "dir/file", "hello\n"}};

/* Every compression docker's DecompressStream reads, decided by content, not by name. */
static void
test_tarball_detect_by_content(void **state)
{
    char *d = test_tmpdir();
    const char *names[] = {"a.txt", "b.bin", "c", "d.zip", "e"};

    (void) state;
    for (enum filter f = F_NONE; f <= F_ZSTD; f++) {
        char *p = xasprintf("%s/%s", d, names[f]);
        make_tar(p, f, simple, 2);
        if (!detect(p))
            fail_msg("filter %d not detected", f);
        free(p);
    }
    test_write_file(d, "text.tar.gz", "not a tar at all\n", 0644);
    test_write_file(d, "empty.tar", "", 0644);
    char *t = xasprintf("%s/text.tar.gz", d), *e = xasprintf("%s/empty.tar", d);
    assert_false(detect(t));
    assert_false(detect(e));
    free(t), free(e);
    test_rm_rf(d);
    free(d);
}

/* The archive's owners and modes; with --chown, every entry gets the given owner. */
static void
test_tarball_unpack_owners(void **state)
{
    char *d = test_tmpdir(), *out = test_tmpdir(), *out2 = test_tmpdir();
    char *tar = xasprintf("%s/x.tar.xz", d);
    struct lade_error err = {0};
    struct unpack_opts keep = {0}, chown = {.chown = true, .uid = 7, .gid = 8};
    struct stat st;

    (void) state;
    make_tar(tar, F_XZ, simple, 2);
    assert_ok(unpack(tar, out, &keep, &err), &err);
    char *f = xasprintf("%s/dir/file", out), *f2 = xasprintf("%s/dir/file", out2);
    assert_int_equal(lstat(f, &st), 0);
    assert_int_equal(st.st_uid, 1234);
    assert_int_equal(st.st_gid, 5678);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(st.st_mtime, 1000);
    assert_ok(unpack(tar, out2, &chown, &err), &err);
    assert_int_equal(lstat(f2, &st), 0);
    assert_int_equal(st.st_uid, 7);
    assert_int_equal(st.st_gid, 8);
    assert_int_equal(st.st_mode & 07777, 0640);
    free(f), free(f2), free(tar);
    test_rm_rf(d), test_rm_rf(out), test_rm_rf(out2);
    free(d), free(out), free(out2);
}

/* docker's Untar: "/abs" is "abs", "a/../b" is "b", ".wh." names are plain files. */
static void
test_tarball_unpack_cleans_names_no_whiteouts(void **state)
{
    static const struct ent ents[] = {
        {'f', "/abs", "a"}, {'f', "x/../b", "b"}, {'f', ".wh.gone", "w"}};
    char *d = test_tmpdir(), *out = test_tmpdir();
    char *tar = xasprintf("%s/n.tar", d);
    struct lade_error err = {0};
    struct unpack_opts o = {0};
    struct stat st;

    (void) state;
    test_write_file(out, "gone", "still here", 0644);
    make_tar(tar, F_GZIP, ents, 3);
    assert_ok(unpack(tar, out, &o, &err), &err);
    char *a = xasprintf("%s/abs", out), *b = xasprintf("%s/b", out);
    char *w = xasprintf("%s/.wh.gone", out), *g = xasprintf("%s/gone", out);
    assert_int_equal(lstat(a, &st), 0);
    assert_int_equal(lstat(b, &st), 0);
    assert_int_equal(lstat(w, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(lstat(g, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    free(a), free(b), free(w), free(g), free(tar);
    test_rm_rf(d), test_rm_rf(out);
    free(d), free(out);
}

/* A name climbing above the destination fails; a symlink in the archive (absolute, or one
 * that climbs) resolves inside the destination, as in docker's chroot, so nothing outside is
 * written: through a link to a host directory the write fails (no such directory inside). */
static void
test_tarball_unpack_stays_inside(void **state)
{
    static const struct ent climb[] = {{'f', "a/../../evil", "x"}};
    static const struct ent links[] = {{'l', "abs", "/"},
                                       {'l', "rel", "../../../../.."},
                                       {'f', "abs/in1", "1"},
                                       {'f', "rel/in2", "2"}};
    char *d = test_tmpdir(), *out = test_tmpdir(), *outside = test_tmpdir();
    const struct ent host[] = {{'l', "host", outside}, {'f', "host/leak", "x"}};
    char *t1 = xasprintf("%s/climb.tar", d), *t2 = xasprintf("%s/links.tar", d);
    char *t3 = xasprintf("%s/host.tar", d);
    struct lade_error err = {0};
    struct unpack_opts o = {0};
    struct stat st;

    (void) state;
    make_tar(t1, F_NONE, climb, 1);
    assert_int_equal(unpack(t1, out, &o, &err), -1);
    assert_non_null(strstr(err.msg, ".."));
    memset(&err, 0, sizeof(err));
    make_tar(t2, F_BZIP2, links, 4);
    assert_ok(unpack(t2, out, &o, &err), &err);
    char *in1 = xasprintf("%s/in1", out), *in2 = xasprintf("%s/in2", out);
    assert_int_equal(lstat(in1, &st), 0);
    assert_int_equal(lstat(in2, &st), 0);
    make_tar(t3, F_ZSTD, host, 2);
    assert_int_equal(unpack(t3, out, &o, &err), -1);
    char *leak = xasprintf("%s/leak", outside);
    assert_int_not_equal(lstat(leak, &st), 0);
    free(leak), free(in1), free(in2), free(t1), free(t2), free(t3);
    test_rm_rf(d), test_rm_rf(out), test_rm_rf(outside);
    free(d), free(out), free(outside);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tarball_detect_by_content),
        cmocka_unit_test(test_tarball_unpack_owners),
        cmocka_unit_test(test_tarball_unpack_cleans_names_no_whiteouts),
        cmocka_unit_test(test_tarball_unpack_stays_inside),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
