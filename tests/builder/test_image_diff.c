/* SPDX-License-Identifier: Apache-2.0 */
/* What lade diff and build --verify compare (builder/image_diff.c): layers listed from real
 * tar blobs in a store, whiteouts and opaque directories applied as an overlay shows them, the
 * fields of a changed file named, and configs compared field by field. */
#include "../helpers/test.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

#include "../../builder/common/buf.h"
#include "../../builder/image_diff.h"

struct tar_entry {
    const char *path;
    char type;        /* 'f', 'd', 'l' */
    const char *data; /* file content or symlink target */
    unsigned mode;
    int uid;
};

/* A plain tar of entries, stored as a blob; its descriptor in *desc. */
static void
put_layer(struct store *st, const struct tar_entry *entries, struct oci_desc *desc)
{
    struct archive *a = archive_write_new();
    char buf[1 << 14];
    size_t used = 0;
    struct lade_error err = {0};

    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_in_last_block(a, 1);
    assert_int_equal(archive_write_open_memory(a, buf, sizeof(buf), &used), ARCHIVE_OK);
    for (const struct tar_entry *t = entries; t->path != NULL; t++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, t->path);
        archive_entry_set_mode(e, (t->type == 'd'   ? AE_IFDIR
                                   : t->type == 'l' ? AE_IFLNK
                                                    : AE_IFREG) |
                                      (t->mode ? t->mode : 0644));
        archive_entry_set_uid(e, t->uid);
        if (t->type == 'l')
            archive_entry_set_symlink(e, t->data);
        if (t->type == 'f')
            archive_entry_set_size(e, strlen(t->data));
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (t->type == 'f')
            archive_write_data(a, t->data, strlen(t->data));
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    memset(desc, 0, sizeof(*desc));
    assert_ok(store_blob_put(st, buf, used, desc->digest, &err), &err);
    desc->size = (int64_t) used;
}

struct seen {
    struct lade_buf text;
};

static void
record(void *ctx, char kind, const struct fs_file *a, const struct fs_file *b, const char *what)
{
    struct seen *s = ctx;

    lade_buf_appendf(&s->text, "%c %s%s%s\n", kind, a ? a->path : b->path, *what ? ": " : "", what);
}

static void
record_field(void *ctx, const char *path, const char *old, const char *new)
{
    struct seen *s = ctx;

    lade_buf_appendf(&s->text, "%s %s %s\n", path, old ? old : "-", new ? new : "-");
}

static void
test_whiteouts_and_opaque_dirs_delete_what_is_below(void **state)
{
    static const struct tar_entry base[] = {
        {"a/", 'd', NULL, 0755, 0},   {"a/b", 'f', "1", 0, 0},   {"a/b-c", 'f', "2", 0, 0},
        {"a/b/", 'd', NULL, 0755, 0}, {"a/b/x", 'f', "3", 0, 0}, {"o/", 'd', NULL, 0755, 0},
        {"o/old", 'f', "4", 0, 0},    {"keep", 'f', "5", 0, 0},  {NULL, 0, NULL, 0, 0},
    };
    /* a/b (a directory by now) and its subtree go; "a/b-c" sorts between them and stays;
     * o is emptied of the lower layer's files, not of this layer's own */
    static const struct tar_entry top[] = {
        {"a/.wh.b", 'f', "", 0, 0}, {"o/", 'd', NULL, 0755, 0}, {"o/.wh..wh..opq", 'f', "", 0, 0},
        {"o/new", 'f', "6", 0, 0},  {NULL, 0, NULL, 0, 0},
    };
    struct lade_error err = {0};
    char *root = test_tmpdir();
    struct store *st = NULL;
    struct oci_desc d[2];
    struct fs_view v = {0};

    (void) state;
    assert_ok(store_open(root, &st, &err), &err);
    put_layer(st, base, &d[0]);
    put_layer(st, top, &d[1]);
    assert_ok(fs_view_add_layer(&v, st, &d[0], true, &err), &err);
    assert_ok(fs_view_add_layer(&v, st, &d[1], true, &err), &err);
    const char *want[] = {"a", "a/b-c", "keep", "o", "o/new"};
    assert_int_equal(v.n, 5);
    for (size_t i = 0; i < v.n; i++)
        assert_string_equal(v.files[i].path, want[i]);
    assert_int_equal(v.files[4].layer, 1);
    fs_view_release(&v);

    /* unmerged, a layer's whiteouts are files like any other */
    assert_ok(fs_view_add_layer(&v, st, &d[1], false, &err), &err);
    assert_int_equal(v.n, 4);
    assert_string_equal(v.files[0].path, "a/.wh.b");
    fs_view_release(&v);
    store_free(st);
    test_rm_rf(root);
    free(root);
}

static void
test_changed_files_name_their_fields(void **state)
{
    static const struct tar_entry one[] = {
        {"same", 'f', "x", 0, 0},  {"content", 'f', "ab", 0, 0}, {"mode", 'f', "m", 0644, 0},
        {"owner", 'f', "o", 0, 0}, {"gone", 'f', "g", 0, 0},     {"link", 'l', "t1", 0777, 0},
        {NULL, 0, NULL, 0, 0},
    };
    static const struct tar_entry two[] = {
        {"same", 'f', "x", 0, 0},     {"content", 'f', "abc", 0, 0}, {"mode", 'f', "m", 0755, 0},
        {"owner", 'f', "o", 0, 1000}, {"link", 'l', "t2", 0777, 0},  {"new", 'd', NULL, 0755, 0},
        {NULL, 0, NULL, 0, 0},
    };
    struct lade_error err = {0};
    char *root = test_tmpdir();
    struct store *st = NULL;
    struct oci_desc d[2];
    struct fs_view a = {0}, b = {0};
    struct seen s = {LADE_BUF_INIT};

    (void) state;
    assert_ok(store_open(root, &st, &err), &err);
    put_layer(st, one, &d[0]);
    put_layer(st, two, &d[1]);
    assert_ok(fs_view_add_layer(&a, st, &d[0], true, &err), &err);
    assert_ok(fs_view_add_layer(&b, st, &d[1], true, &err), &err);
    assert_int_equal(fs_view_diff(&a, &b, record, &s), 6);
    assert_string_equal(s.text.data, "C content: content, size 2 -> 3\n"
                                     "D gone\n"
                                     "C link: link t1 -> t2\n"
                                     "C mode: mode 0644 -> 0755\n"
                                     "A new\n"
                                     "C owner: owner 0:0 -> 1000:0\n");
    lade_buf_release(&s.text);
    fs_view_release(&a);
    fs_view_release(&b);
    store_free(st);
    test_rm_rf(root);
    free(root);
}

static void
test_configs_differ_by_field(void **state)
{
    json_t *a = json_pack("{s:{s:[s,s]}, s:[{s:s}], s:s}", "config", "Env", "A=1", "B=2", "history",
                          "created_by", "RUN x", "os", "linux");
    json_t *b = json_pack("{s:{s:[s,s,s]}, s:[{s:s}], s:s}", "config", "Env", "A=1", "B=3", "C=4",
                          "history", "created_by", "RUN x", "architecture", "arm64");
    struct seen s = {LADE_BUF_INIT};

    (void) state;
    assert_int_equal(json_diff(a, a, record_field, &s), 0);
    assert_int_equal(json_diff(a, b, record_field, &s), 4);
    assert_string_equal(s.text.data, ".config.Env[1] \"B=2\" \"B=3\"\n"
                                     ".config.Env[2] - \"C=4\"\n"
                                     ".os \"linux\" -\n"
                                     ".architecture - \"arm64\"\n");
    lade_buf_release(&s.text);
    json_decref(a);
    json_decref(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whiteouts_and_opaque_dirs_delete_what_is_below),
        cmocka_unit_test(test_changed_files_name_their_fields),
        cmocka_unit_test(test_configs_differ_by_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
