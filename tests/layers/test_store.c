/* SPDX-License-Identifier: Apache-2.0 */
#include "../helpers/test.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../builder/common/fsutil.h"
#include "../../builder/common/xalloc.h"
#include "../../layers/store/store.h"

struct fixture {
    char *root;
    struct store *st;
};

static int
setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    struct lade_error err = {0};

    f->root = test_tmpdir();
    assert_ok(store_open(f->root, &f->st, &err), &err);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    store_free(f->st);
    test_rm_rf(f->root);
    free(f->root);
    free(f);
    return 0;
}

static char *
slurp(const char *root, const char *rel)
{
    struct lade_error err = {0};
    char *path = xasprintf("%s/%s", root, rel), *data = NULL;

    assert_ok(read_file_at(AT_FDCWD, path, 0, &data, NULL, &err), &err);
    free(path);
    return data;
}

/* index.json parses strictly, is an OCI index, and every entry is a named descriptor.
 * Returns the number of entries. */
static size_t
assert_index_valid(const char *root)
{
    struct lade_error err = {0};
    char *data = slurp(root, "oci/index.json");
    json_t *idx = oci_json_parse(data, strlen(data), "index.json", &err);

    if (idx == NULL)
        fail_msg("index.json: %s", err.msg);
    assert_int_equal(json_integer_value(json_object_get(idx, "schemaVersion")), 2);
    assert_string_equal(json_string_value(json_object_get(idx, "mediaType")), MT_OCI_INDEX);
    json_t *m = json_object_get(idx, "manifests");
    assert_true(json_is_array(m));
    for (size_t i = 0; i < json_array_size(m); i++) {
        struct oci_desc d;
        assert_ok(oci_desc_parse(json_array_get(m, i), "entry", &d, &err), &err);
        assert_non_null(json_string_value(json_object_get(
            json_object_get(json_array_get(m, i), "annotations"), OCI_ANNOT_REF_NAME)));
    }
    size_t n = json_array_size(m);
    json_decref(idx);
    free(data);
    return n;
}

/* The config bytes make_image stores for label; caller frees. */
static char *
config_bytes(const char *label, size_t n, const char *const *diff_ids, size_t *len)
{
    json_t *cfg = oci_config_new("linux", "amd64");

    oci_config_set_created(cfg, "2024-01-02T03:04:05Z");
    json_object_set_new(oci_config_container(cfg), "Labels", json_pack("{s:s}", "id", label));
    for (size_t i = 0; i < n; i++)
        oci_config_add_layer(cfg, diff_ids[i]);
    char *s = oci_json_dump(cfg, len);
    json_decref(cfg);
    return s;
}

/* Stores a config (made unique by label) and a manifest with the given layers; *out is the
 * manifest descriptor. */
static void
make_image(struct store *st, const char *label, const struct oci_desc *layers, size_t n,
           const char *const *diff_ids, struct oci_desc *out)
{
    struct lade_error err = {0};
    struct oci_desc cd = {MT_OCI_CONFIG, "", 0};
    size_t len;
    char *s = config_bytes(label, n, diff_ids, &len);

    assert_ok(store_blob_put(st, s, len, cd.digest, &err), &err);
    cd.size = (int64_t) len;
    free(s);
    json_t *m = oci_manifest_new(&cd, layers, n);
    s = oci_json_dump(m, &len);
    snprintf(out->media_type, sizeof(out->media_type), "%s", MT_OCI_MANIFEST);
    assert_ok(store_blob_put(st, s, len, out->digest, &err), &err);
    out->size = (int64_t) len;
    free(s);
    json_decref(m);
}

static void
test_open_creates_layout(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    struct store *again = NULL;
    struct stat sb;
    char *s;

    s = slurp(f->root, "oci/oci-layout");
    assert_string_equal(s, "{\"imageLayoutVersion\":\"1.0.0\"}");
    free(s);
    assert_int_equal(assert_index_valid(f->root), 0);
    const char *dirs[] = {"oci/blobs/sha256", "layers", "cache", "tmp"};
    for (size_t i = 0; i < 4; i++) {
        char *p = xasprintf("%s/%s", f->root, dirs[i]);
        assert_int_equal(stat(p, &sb), 0);
        assert_true(S_ISDIR(sb.st_mode));
        free(p);
    }
    assert_true(store_root(f->st)[0] == '/');
    assert_true(store_root_fd(f->st) >= 0);
    /* reopening keeps what is there */
    assert_ok(store_open(f->root, &again, &err), &err);
    store_free(again);
    assert_int_equal(assert_index_valid(f->root), 0);
}

static void
test_blobs(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    digest_t d, want;
    char *data = NULL, *tmp = NULL, *path;
    size_t len = 0;
    int fd;

    digest_of_mem("hello", 5, want);
    assert_false(store_blob_exists(f->st, want));
    assert_ok(store_blob_put(f->st, "hello", 5, d, &err), &err);
    assert_string_equal(d, want);
    assert_true(store_blob_exists(f->st, d));
    assert_ok(store_blob_read(f->st, d, 0, &data, &len, &err), &err);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "hello", 5);
    free(data);
    /* size cap */
    assert_int_equal(store_blob_read(f->st, d, 2, &data, &len, &err), -1);
    lade_error_clear(&err);
    /* put twice is fine */
    assert_ok(store_blob_put(f->st, "hello", 5, d, &err), &err);

    /* commit of a staged file; a second commit of the same digest drops the staged copy */
    assert_ok(store_tmp_file(f->st, &tmp, &fd, &err), &err);
    assert_int_equal(write_all(fd, "world", 5), 0);
    close(fd);
    digest_of_mem("world", 5, d);
    assert_ok(store_blob_commit(f->st, tmp, d, &err), &err);
    assert_int_equal(access(tmp, F_OK), -1);
    free(tmp);
    assert_ok(store_tmp_file(f->st, &tmp, &fd, &err), &err);
    close(fd);
    assert_ok(store_blob_commit(f->st, tmp, d, &err), &err);
    assert_int_equal(access(tmp, F_OK), -1);
    free(tmp);

    path = store_blob_path(f->st, d);
    assert_non_null(strstr(path, "/oci/blobs/sha256/"));
    assert_string_equal(strrchr(path, '/') + 1, digest_hex(d));
    free(path);
    assert_null(store_blob_path(f->st, "sha256:../../etc"));

    /* a missing blob is named */
    digest_of_mem("missing", 7, d);
    assert_int_equal(store_blob_open(f->st, d, &err), -1);
    assert_non_null(strstr(err.msg, d));
    lade_error_clear(&err);
    assert_int_equal(store_blob_open(f->st, "sha256:zz", &err), -1);
    lade_error_clear(&err);

    /* a corrupted blob is detected on read */
    digest_of_mem("hello", 5, d);
    path = store_blob_path(f->st, d);
    test_write_file(f->root, path + strlen(f->root) + 1, "jello", 0644);
    assert_int_equal(store_blob_read(f->st, d, 0, &data, &len, &err), -1);
    assert_non_null(strstr(err.msg, "corrupt"));
    free(path);
}

static void
test_tags(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    struct oci_desc a, b, got;
    struct store_tag *tags = NULL;
    size_t n = 0;

    make_image(f->st, "a", NULL, 0, NULL, &a);
    make_image(f->st, "b", NULL, 0, NULL, &b);
    assert_ok(store_tag_set(f->st, "docker.io/library/app:1", &a, &err), &err);
    assert_int_equal(assert_index_valid(f->root), 1);
    assert_ok(store_tag_set(f->st, "docker.io/library/app:2", &a, &err), &err);
    assert_ok(store_tag_set(f->st, "localhost:5000/x/y:latest", &b, &err), &err);
    assert_int_equal(assert_index_valid(f->root), 3);
    assert_ok(store_tag_get(f->st, "docker.io/library/app:1", &got, &err), &err);
    assert_string_equal(got.digest, a.digest);
    assert_string_equal(got.media_type, MT_OCI_MANIFEST);
    assert_int_equal(got.size, a.size);

    /* replace keeps the position */
    assert_ok(store_tag_set(f->st, "docker.io/library/app:1", &b, &err), &err);
    assert_int_equal(assert_index_valid(f->root), 3);
    assert_ok(store_tag_get(f->st, "docker.io/library/app:1", &got, &err), &err);
    assert_string_equal(got.digest, b.digest);
    assert_ok(store_tags_list(f->st, &tags, &n, &err), &err);
    assert_int_equal(n, 3);
    assert_string_equal(tags[0].name, "docker.io/library/app:1");
    assert_string_equal(tags[0].manifest.digest, b.digest);
    assert_string_equal(tags[1].name, "docker.io/library/app:2");
    assert_string_equal(tags[2].name, "localhost:5000/x/y:latest");
    store_tags_free(tags, n);

    /* remove */
    assert_ok(store_tag_remove(f->st, "docker.io/library/app:2", &err), &err);
    assert_int_equal(assert_index_valid(f->root), 2);
    assert_int_equal(store_tag_get(f->st, "docker.io/library/app:2", &got, &err), -1);
    assert_non_null(strstr(err.msg, "docker.io/library/app:2"));
    lade_error_clear(&err);
    assert_int_equal(store_tag_remove(f->st, "docker.io/library/nope:1", &err), -1);
    assert_non_null(strstr(err.msg, "docker.io/library/nope:1"));
    lade_error_clear(&err);
    assert_int_equal(assert_index_valid(f->root), 2);
    /* blobs stay after untagging */
    assert_true(store_blob_exists(f->st, a.digest));
    /* a name repeated by hand in index.json is replaced and removed as one tag */
    char *path = xasprintf("%s/oci/index.json", f->root);
    json_t *idx = json_load_file(path, 0, NULL);
    json_array_append(json_object_get(idx, "manifests"),
                      json_array_get(json_object_get(idx, "manifests"), 0));
    assert_int_equal(json_dump_file(idx, path, JSON_COMPACT), 0);
    json_decref(idx);
    free(path);
    assert_int_equal(assert_index_valid(f->root), 3);
    assert_ok(store_tag_set(f->st, "docker.io/library/app:1", &a, &err), &err);
    assert_int_equal(assert_index_valid(f->root), 2);
    assert_ok(store_tag_remove(f->st, "docker.io/library/app:1", &err), &err);
    assert_int_equal(store_tag_get(f->st, "docker.io/library/app:1", &got, &err), -1);
    lade_error_clear(&err);
    assert_int_equal(assert_index_valid(f->root), 1);
    /* a descriptor without a media type is refused */
    struct oci_desc bad = a;
    bad.media_type[0] = '\0';
    assert_int_equal(store_tag_set(f->st, "docker.io/library/bad:1", &bad, &err), -1);
    lade_error_clear(&err);
    /* nesting locks is allowed */
    assert_ok(store_lock(f->st, &err), &err);
    assert_ok(store_tag_set(f->st, "docker.io/library/app:3", &a, &err), &err);
    store_unlock(f->st);
    assert_int_equal(assert_index_valid(f->root), 2);
}

static void
test_image_load(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    struct oci_desc a, b;
    struct store_image img;
    char prefix[16];

    make_image(f->st, "a", NULL, 0, NULL, &a);
    make_image(f->st, "b", NULL, 0, NULL, &b);
    assert_ok(store_tag_set(f->st, "docker.io/library/a:1", &a, &err), &err);
    assert_ok(store_tag_set(f->st, "docker.io/library/b:1", &b, &err), &err);

    assert_ok(store_image_load(f->st, "docker.io/library/a:1", &img, &err), &err);
    assert_string_equal(img.manifest_desc.digest, a.digest);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(img.config, "config"), "Labels"), "id")),
        "a");
    char config_digest[DIGEST_LEN + 1];
    snprintf(config_digest, sizeof(config_digest), "%s", img.manifest.config.digest);
    store_image_release(&img);

    /* full manifest digest, manifest digest prefix, config digest prefix (docker's image ID) */
    assert_ok(store_image_load(f->st, b.digest, &img, &err), &err);
    assert_string_equal(img.manifest_desc.digest, b.digest);
    store_image_release(&img);
    snprintf(prefix, sizeof(prefix), "%.12s", digest_hex(b.digest));
    assert_ok(store_image_load(f->st, prefix, &img, &err), &err);
    assert_string_equal(img.manifest_desc.digest, b.digest);
    store_image_release(&img);
    snprintf(prefix, sizeof(prefix), "%.12s", digest_hex(config_digest));
    assert_ok(store_image_load(f->st, prefix, &img, &err), &err);
    assert_string_equal(img.manifest_desc.digest, a.digest);
    store_image_release(&img);

    /* untagged but present by full digest */
    assert_ok(store_tag_remove(f->st, "docker.io/library/b:1", &err), &err);
    assert_ok(store_image_load(f->st, b.digest, &img, &err), &err);
    store_image_release(&img);
    snprintf(prefix, sizeof(prefix), "%.12s", digest_hex(b.digest));
    assert_int_equal(store_image_load(f->st, prefix, &img, &err), -1);
    lade_error_clear(&err);

    /* too short a prefix, unknown name */
    assert_int_equal(store_image_load(f->st, "abc", &img, &err), -1);
    lade_error_clear(&err);
    assert_int_equal(store_image_load(f->st, "docker.io/library/zz:1", &img, &err), -1);
    assert_non_null(strstr(err.msg, "docker.io/library/zz:1"));
}

static void
test_image_prefix_ambiguous(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    struct store_image img;
    struct oci_desc d1, d2;
    int *seen = xcalloc(65536, sizeof(int));
    char l1[16], l2[16], p[8];

    /* Two configs whose IDs share 4 hex digits (a birthday search, a few hundred tries). */
    for (int i = 1;; i++) {
        size_t len;
        digest_t dg;
        char *s;
        snprintf(l2, sizeof(l2), "l%d", i);
        s = config_bytes(l2, 0, NULL, &len);
        digest_of_mem(s, len, dg);
        free(s);
        unsigned key = (unsigned) strtoul((char[5]){dg[7], dg[8], dg[9], dg[10], 0}, NULL, 16);
        if (seen[key] != 0) {
            snprintf(l1, sizeof(l1), "l%d", seen[key]);
            snprintf(p, sizeof(p), "%.4s", dg + 7);
            break;
        }
        seen[key] = i;
    }
    free(seen);
    make_image(f->st, l1, NULL, 0, NULL, &d1);
    make_image(f->st, l2, NULL, 0, NULL, &d2);
    assert_ok(store_tag_set(f->st, "docker.io/library/i:1", &d1, &err), &err);
    assert_ok(store_tag_set(f->st, "docker.io/library/i:2", &d2, &err), &err);
    assert_int_equal(store_image_load(f->st, p, &img, &err), -1);
    assert_non_null(strstr(err.msg, "ambiguous"));
    lade_error_clear(&err);
    /* one image under two tags is not ambiguous */
    assert_ok(store_tag_set(f->st, "docker.io/library/i:2", &d1, &err), &err);
    assert_ok(store_image_load(f->st, p, &img, &err), &err);
    assert_string_equal(img.manifest_desc.digest, d1.digest);
    store_image_release(&img);
}

static void
test_tmp_leftovers(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    struct store *st2 = NULL;
    struct oci_desc a;
    char *old = xasprintf("%s/tmp/file-old", f->root);
    char *young = xasprintf("%s/tmp/file-young", f->root);
    struct timespec ts[2] = {{.tv_sec = time(NULL) - 3 * 86400},
                             {.tv_sec = time(NULL) - 3 * 86400}};

    make_image(f->st, "a", NULL, 0, NULL, &a);
    assert_ok(store_tag_set(f->st, "docker.io/library/a:1", &a, &err), &err);
    test_write_file(f->root, "tmp/file-old", "partial", 0600);
    test_write_file(f->root, "tmp/file-young", "partial", 0600);
    test_write_file(f->root, "tmp/dir-old/x/y", "partial", 0600);
    assert_int_equal(utimensat(AT_FDCWD, old, ts, 0), 0);
    char *olddir = xasprintf("%s/tmp/dir-old", f->root);
    assert_int_equal(utimensat(AT_FDCWD, olddir, ts, 0), 0);
    assert_ok(store_open(f->root, &st2, &err), &err);
    assert_int_equal(access(old, F_OK), -1);
    assert_int_equal(access(olddir, F_OK), -1);
    assert_int_equal(access(young, F_OK), 0); /* may be another process's work in progress */
    assert_ok(store_tag_get(st2, "docker.io/library/a:1", &a, &err), &err);
    assert_int_equal(assert_index_valid(f->root), 1);
    store_free(st2);
    free(old);
    free(young);
    free(olddir);
}

/* A child that opens the store and tags (or writes blobs) in a loop until killed. It writes a
 * byte to *progress after each write, so a test can kill it after a number of writes whatever
 * the machine's speed (ASan, a loaded CI runner). */
static pid_t
spawn_writer(const char *root, int blobs, int *progress)
{
    int p[2];

    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid > 0) {
        close(p[1]);
        *progress = p[0];
        return pid;
    }
    close(p[0]);
    struct lade_error err = {0};
    struct store *st = NULL;
    if (store_open(root, &st, &err) < 0)
        _exit(1);
    char *big = xmalloc(1 << 20);
    memset(big, 'x', 1 << 20);
    for (unsigned i = 0;; i++) {
        if (blobs) {
            digest_t d;
            memcpy(big, &i, sizeof(i));
            if (store_blob_put(st, big, 1 << 20, d, &err) < 0)
                _exit(1);
        } else {
            char name[64];
            struct oci_desc desc = {MT_OCI_MANIFEST, "", (int64_t) i};
            digest_of_mem(&i, sizeof(i), desc.digest);
            snprintf(name, sizeof(name), "docker.io/library/k:%u", i % 40);
            if (store_tag_set(st, name, &desc, &err) < 0)
                _exit(1);
        }
        if (write(p[1], "w", 1) != 1)
            _exit(1);
    }
}

/* Waits until the writer reading from progress has done n writes. */
static void
wait_writes(int progress, int n)
{
    char buf[64];

    while (n > 0) {
        ssize_t r = read(progress, buf, (size_t) n < sizeof(buf) ? (size_t) n : sizeof(buf));
        assert_true(r > 0);
        n -= (int) r;
    }
}

static void
kill_after(pid_t pid, long usec)
{
    int status;

    usleep((useconds_t) usec);
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    /* it must have been killed, not have failed on its own */
    assert_true(WIFSIGNALED(status));
}

static int
count_tmp(const char *root)
{
    char *dir = xasprintf("%s/tmp", root);
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    while (d != NULL && (de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    if (d != NULL)
        closedir(d);
    free(dir);
    return n;
}

/* Staging of a process killed with SIGKILL goes at the next open; a live owner's stays, also a
 * second store handle's in this very process. */
static void
test_killed_stager_leftovers_swept(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    struct store *st2 = NULL;
    char *mine = NULL, *dir = NULL;
    int fd, ready[2];
    char c;

    assert_ok(store_tmp_file(f->st, &mine, &fd, &err), &err);
    close(fd);
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct store *st = NULL;
        char *p = NULL;
        int cfd;
        if (store_open(f->root, &st, &err) < 0 || store_tmp_dir(st, &p, &err) < 0 ||
            store_tmp_file(st, &p, &cfd, &err) < 0 || write(ready[1], "x", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    close(ready[1]);
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    assert_int_equal(count_tmp(f->root), 5); /* two owners, two entries, mine */
    assert_ok(store_open(f->root, &st2, &err), &err);
    assert_int_equal(count_tmp(f->root), 5); /* the child lives */
    store_free(st2);
    kill_after(pid, 0);
    assert_ok(store_open(f->root, &st2, &err), &err);
    assert_int_equal(count_tmp(f->root), 2); /* my owner file and my entry */
    assert_int_equal(access(mine, F_OK), 0);
    assert_ok(store_tmp_dir(st2, &dir, &err), &err);
    store_free(st2); /* st2 exits leaving dir: an orphan now */
    assert_int_equal(count_tmp(f->root), 3);
    assert_ok(store_open(f->root, &st2, &err), &err);
    assert_int_equal(count_tmp(f->root), 2);
    store_free(st2);
    free(mine);
    free(dir);
}

static void
test_killed_writer_leaves_store_valid(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    struct oci_desc a, got;

    make_image(f->st, "a", NULL, 0, NULL, &a);
    assert_ok(store_tag_set(f->st, "docker.io/library/keep:1", &a, &err), &err);
    test_write_file(f->root, "tmp/stray", "half a blob", 0600);
    for (int round = 0; round < 8; round++) {
        int progress;
        pid_t pid = spawn_writer(f->root, 0, &progress);
        wait_writes(progress, 2 + round);
        kill_after(pid, round * 700); /* then at varying points of the next writes */
        close(progress);
        assert_true(assert_index_valid(f->root) >= 1);
        assert_ok(store_tag_get(f->st, "docker.io/library/keep:1", &got, &err), &err);
        assert_string_equal(got.digest, a.digest);
    }
    /* the writers got far enough to be killed between (or inside) index updates */
    assert_true(assert_index_valid(f->root) > 1);
    for (int round = 0; round < 4; round++) {
        int progress;
        pid_t pid = spawn_writer(f->root, 1, &progress);
        wait_writes(progress, 1 + round);
        kill_after(pid, round * 1100);
        close(progress);
    }
    /* every blob in place is whole: its bytes hash to its name */
    char *bdir = xasprintf("%s/oci/blobs/sha256", f->root);
    DIR *d = opendir(bdir);
    free(bdir);
    struct dirent *de;
    int nblobs = 0;
    while ((de = readdir(d)) != NULL) {
        char *data = NULL;
        char dg[DIGEST_LEN + 1];
        size_t len;
        if (de->d_name[0] == '.')
            continue;
        snprintf(dg, sizeof(dg), "sha256:%.64s", de->d_name);
        assert_ok(store_blob_read(f->st, dg, 0, &data, &len, &err), &err);
        free(data);
        nblobs++;
    }
    closedir(d);
    assert_true(nblobs > 2);
    /* the store is still usable */
    assert_ok(store_tag_set(f->st, "docker.io/library/after:1", &a, &err), &err);
    assert_true(assert_index_valid(f->root) >= 2);
}

static void
test_concurrent_taggers_lose_nothing(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    struct store_tag *tags = NULL;
    pid_t pids[2];
    size_t n = 0;
    struct oci_desc a;

    make_image(f->st, "a", NULL, 0, NULL, &a);
    for (int p = 0; p < 2; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            struct store *st = NULL;
            if (store_open(f->root, &st, &err) < 0)
                _exit(1);
            for (int i = 0; i < 50; i++) {
                char name[64];
                snprintf(name, sizeof(name), "docker.io/library/p%d:%d", p, i);
                if (store_tag_set(st, name, &a, &err) < 0)
                    _exit(2);
            }
            store_free(st);
            _exit(0);
        }
    }
    for (int p = 0; p < 2; p++) {
        int status;
        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(assert_index_valid(f->root), 100);
    assert_ok(store_tags_list(f->st, &tags, &n, &err), &err);
    assert_int_equal(n, 100);
    for (int p = 0; p < 2; p++)
        for (int i = 0; i < 50; i++) {
            char name[64];
            struct oci_desc got;
            snprintf(name, sizeof(name), "docker.io/library/p%d:%d", p, i);
            assert_ok(store_tag_get(f->st, name, &got, &err), &err);
        }
    store_tags_free(tags, n);
}

/* A plain tar with one file, as a layer blob; *diff_id = digest of the tar. */
static void
make_tar_layer(struct store *st, struct oci_desc *desc)
{
    struct lade_error err = {0};
    char buf[10240];
    size_t used = 0;
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();

    archive_write_set_format_pax_restricted(a);
    archive_write_open_memory(a, buf, sizeof(buf), &used);
    archive_entry_set_pathname(e, "hello.txt");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, 3);
    archive_write_header(a, e);
    archive_write_data(a, "hi\n", 3);
    archive_entry_free(e);
    archive_write_close(a);
    archive_write_free(a);
    snprintf(desc->media_type, sizeof(desc->media_type), "%s", MT_OCI_LAYER_TAR);
    assert_ok(store_blob_put(st, buf, used, desc->digest, &err), &err);
    desc->size = (int64_t) used;
}

static void
test_layer_dir(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    struct oci_desc layer;
    digest_t chain, bad;
    char *dir = NULL, *dir2 = NULL, *s;

    make_tar_layer(f->st, &layer);
    chain_id_next(NULL, layer.digest, chain);
    /* a wrong diff_id fails and leaves no layer behind */
    digest_of_mem("x", 1, bad);
    assert_int_equal(store_layer_dir(f->st, chain, bad, layer.digest, &dir, &err), -1);
    lade_error_clear(&err);
    s = xasprintf("%s/layers/%s", f->root, digest_hex(chain));
    assert_int_equal(access(s, F_OK), -1);
    free(s);

    assert_ok(store_layer_dir(f->st, chain, layer.digest, layer.digest, &dir, &err), &err);
    s = xasprintf("%s/hello.txt", dir);
    char *data = NULL;
    assert_ok(read_file_at(AT_FDCWD, s, 0, &data, NULL, &err), &err);
    assert_string_equal(data, "hi\n");
    free(data);
    free(s);
    s = xasprintf("layers/%s/diff_id", digest_hex(chain));
    data = slurp(f->root, s);
    assert_string_equal(data, layer.digest);
    free(data);
    free(s);
    s = xasprintf("layers/%s/blob", digest_hex(chain));
    data = slurp(f->root, s);
    assert_string_equal(data, layer.digest);
    free(data);
    free(s);
    /* second call finds it */
    assert_ok(store_layer_dir(f->st, chain, layer.digest, layer.digest, &dir2, &err), &err);
    assert_string_equal(dir, dir2);
    free(dir2);
    free(dir);
}

static void
test_layer_adopt(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    char *tree = NULL, *dir = NULL, *s;
    digest_t chain, diff, blob;

    digest_of_mem("diff", 4, diff);
    digest_of_mem("blob", 4, blob);
    chain_id_next(NULL, diff, chain);
    assert_ok(store_tmp_dir(f->st, &tree, &err), &err);
    test_write_file(tree, "etc/conf", "x=1\n", 0644);
    assert_ok(store_layer_adopt(f->st, chain, diff, blob, tree, &dir, &err), &err);
    assert_int_equal(access(tree, F_OK), -1);
    s = xasprintf("%s/etc/conf", dir);
    assert_int_equal(access(s, F_OK), 0);
    free(s);
    free(dir);
    free(tree);
    /* adopting an existing layer removes the new tree */
    assert_ok(store_tmp_dir(f->st, &tree, &err), &err);
    test_write_file(tree, "other", "y", 0644);
    assert_ok(store_layer_adopt(f->st, chain, diff, blob, tree, &dir, &err), &err);
    assert_int_equal(access(tree, F_OK), -1);
    s = xasprintf("%s/other", dir);
    assert_int_equal(access(s, F_OK), -1);
    free(s);
    free(dir);
    free(tree);
}

/* The builder unshares its mount namespace before RUN steps, after opening the store: every
 * write must still work (renames between an old-namespace fd and a new-namespace path fail with
 * EXDEV). Runs in a child so the test process keeps its namespace. */
static void
test_writes_after_unshare(void **state)
{
    struct fixture *f = *state;
    struct oci_desc layer;
    int status;

    make_tar_layer(f->st, &layer);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct lade_error err = {0};
        char *dir = NULL, *tree = NULL;
        digest_t chain, d;
        if (unshare(CLONE_NEWNS) < 0)
            _exit(77);
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
            _exit(77);
        chain_id_next(NULL, layer.digest, chain);
        if (store_layer_dir(f->st, chain, layer.digest, layer.digest, &dir, &err) < 0 ||
            store_blob_put(f->st, "after unshare", 13, d, &err) < 0 ||
            store_tag_set(f->st, "docker.io/library/ns:1", &layer, &err) < 0 ||
            store_tmp_dir(f->st, &tree, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            _exit(1);
        }
        chain_id_next(chain, d, chain);
        free(dir);
        if (store_layer_adopt(f->st, chain, d, d, tree, &dir, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            _exit(1);
        }
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        test_skip("cannot unshare a mount namespace (needs CAP_SYS_ADMIN)");
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(assert_index_valid(f->root), 1);
}

/* The store is an OCI layout any tool reads (DESIGN.md): skopeo finds an image by its full name. */
static void
test_skopeo_reads_store(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    struct oci_desc layer, m;

    test_need_tool("skopeo");
    make_tar_layer(f->st, &layer);
    const char *ids[] = {layer.digest};
    make_image(f->st, "sk", &layer, 1, ids, &m);
    assert_ok(store_tag_set(f->st, "docker.io/library/app:1", &m, &err), &err);
    char *cmd = xasprintf("skopeo inspect --raw oci:%s/oci:docker.io/library/app:1 >/dev/null "
                          "&& skopeo inspect oci:%s/oci:docker.io/library/app:1 | grep -q '\"%s\"'",
                          f->root, f->root, layer.digest);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_prefix_ambiguous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tmp_leftovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_stager_leftovers_swept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_writer_leaves_store_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_taggers_lose_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layer_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layer_adopt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writes_after_unshare, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skopeo_reads_store, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
