/* SPDX-License-Identifier: Apache-2.0 */
#include "../helpers/test.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../builder/common/fsutil.h"
#include "../../builder/common/strv.h"
#include "../../builder/common/xalloc.h"
#include "../../layers/archive/archive.h"

struct fixture {
    char *dir;         /* scratch: stores and archives */
    struct store *src; /* holds docker.io/library/app:1 */
    struct oci_desc manifest, config, layers[2];
};

/* A small tar in memory (gzip-compressed when gz); *len its size. Caller frees. */
static char *
make_tar(bool gz, const char *const *names, size_t n, size_t *len)
{
    size_t cap = 1 << 16;
    char *buf = xmalloc(cap);
    struct archive *a = archive_write_new();

    archive_write_set_format_pax_restricted(a);
    if (gz) {
        archive_write_add_filter_gzip(a);
        archive_write_set_filter_option(a, "gzip", "timestamp", NULL);
    }
    assert_int_equal(archive_write_open_memory(a, buf, cap, len), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        bool dir = names[i][strlen(names[i]) - 1] == '/';
        archive_entry_set_pathname(e, names[i]);
        archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
        archive_entry_set_perm(e, dir ? 0755 : 0644);
        archive_entry_set_size(e, dir ? 0 : (la_int64_t) strlen(names[i]));
        archive_write_header(a, e);
        if (!dir)
            archive_write_data(a, names[i], strlen(names[i]));
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    return buf;
}

static void
put(struct store *st, const char *data, size_t len, const char *mt, struct oci_desc *d)
{
    struct lade_error err = {0};

    assert_ok(store_blob_put(st, data, len, d->digest, &err), &err);
    snprintf(d->media_type, sizeof(d->media_type), "%s", mt);
    d->size = (int64_t) len;
}

/* An image with a gzip layer and a plain tar layer, tagged app:1 in st. */
static void
make_image(struct store *st, struct fixture *f)
{
    static const char *const l1[] = {"etc/", "etc/conf", "hello.txt"};
    static const char *const l2[] = {"second.txt"};
    struct lade_error err = {0};
    size_t len, tlen;
    char *tar, *gz, *s;
    digest_t diff;

    tar = make_tar(false, l1, 3, &tlen);
    digest_of_mem(tar, tlen, diff);
    gz = make_tar(true, l1, 3, &len);
    put(st, gz, len, MT_OCI_LAYER_GZIP, &f->layers[0]);
    json_t *cfg = oci_config_new("linux", "amd64");
    oci_config_set_created(cfg, "1970-01-01T00:00:00Z");
    oci_config_add_layer(cfg, diff);
    free(tar);
    free(gz);
    tar = make_tar(false, l2, 1, &tlen);
    put(st, tar, tlen, MT_OCI_LAYER_TAR, &f->layers[1]);
    oci_config_add_layer(cfg, f->layers[1].digest);
    free(tar);
    json_object_set_new(oci_config_container(cfg), "Cmd", json_pack("[s]", "/hello"));
    s = oci_json_dump(cfg, &len);
    put(st, s, len, MT_OCI_CONFIG, &f->config);
    free(s);
    json_decref(cfg);
    json_t *m = oci_manifest_new(&f->config, f->layers, 2);
    s = oci_json_dump(m, &len);
    put(st, s, len, MT_OCI_MANIFEST, &f->manifest);
    free(s);
    json_decref(m);
    assert_ok(store_tag_set(st, "docker.io/library/app:1", &f->manifest, &err), &err);
}

static int
setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    struct lade_error err = {0};
    char *root;

    f->dir = test_tmpdir();
    root = xasprintf("%s/src", f->dir);
    assert_ok(store_open(root, &f->src, &err), &err);
    free(root);
    make_image(f->src, f);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    store_free(f->src);
    test_rm_rf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static char *
path_in(struct fixture *f, const char *name)
{
    return xasprintf("%s/%s", f->dir, name);
}

static struct store *
new_store(struct fixture *f, const char *name)
{
    struct lade_error err = {0};
    struct store *st = NULL;
    char *root = path_in(f, name);

    assert_ok(store_open(root, &st, &err), &err);
    free(root);
    return st;
}

static void export(struct fixture *f, enum archive_format fmt, const char *file)
{
    struct lade_error err = {0};
    char **names = strv_push(NULL, "docker.io/library/app:1");
    char *out = path_in(f, file);

    assert_ok(archive_export(f->src, &f->manifest, names, fmt, out, &err), &err);
    strv_free(names);
    free(out);
}

/* The contents of one member of a tar (NULL when absent); caller frees. Also checks that every
 * entry is deterministic: mtime 0, owner 0:0, 0644 files, 0755 dirs, names in byte order. */
static char *
tar_member(const char *tarpath, const char *want)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    char *found = NULL, prev[256] = "";

    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_filename(a, tarpath, 10240), ARCHIVE_OK);
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        assert_true(strcmp(prev, name) < 0);
        snprintf(prev, sizeof(prev), "%s", name);
        assert_int_equal(archive_entry_mtime(e), 0);
        assert_int_equal(archive_entry_uid(e), 0);
        assert_int_equal(archive_entry_gid(e), 0);
        assert_int_equal(archive_entry_perm(e),
                         archive_entry_filetype(e) == AE_IFDIR ? 0755 : 0644);
        if (strcmp(name, want) == 0) {
            size_t n = (size_t) archive_entry_size(e);
            found = xmalloc(n + 1);
            assert_int_equal(archive_read_data(a, found, n), (la_ssize_t) n);
            found[n] = '\0';
        }
    }
    archive_read_free(a);
    return found;
}

static void
test_oci_roundtrip(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    struct store *dst = new_store(f, "dst");
    char *file = path_in(f, "app.oci.tar"), **names = NULL, *s;
    struct oci_desc got;

    export(f, ARCHIVE_OCI, "app.oci.tar");
    s = tar_member(file, "oci-layout");
    assert_string_equal(s, "{\"imageLayoutVersion\":\"1.0.0\"}");
    free(s);
    assert_null(tar_member(file, "manifest.json"));
    s = tar_member(file, "index.json");
    assert_non_null(strstr(s, "\"org.opencontainers.image.ref.name\":\"1\""));
    assert_non_null(strstr(s, "\"io.containerd.image.name\":\"docker.io/library/app:1\""));
    free(s);
    assert_ok(archive_import(dst, file, &names, &err), &err);
    assert_int_equal(strv_len(names), 1);
    assert_string_equal(names[0], "docker.io/library/app:1");
    assert_ok(store_tag_get(dst, "docker.io/library/app:1", &got, &err), &err);
    assert_string_equal(got.digest, f->manifest.digest);
    for (size_t i = 0; i < 2; i++)
        assert_true(store_blob_exists(dst, f->layers[i].digest));
    strv_free(names);
    /* a second import of the same archive is a no-op that succeeds */
    assert_ok(archive_import(dst, file, NULL, &err), &err);
    store_free(dst);
    free(file);
}

static void
test_export_is_deterministic(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    char *a = path_in(f, "a.tar"), *b = path_in(f, "b.tar"), *da, *db;
    size_t la, lb;

    export(f, ARCHIVE_DOCKER, "a.tar");
    export(f, ARCHIVE_DOCKER, "b.tar");
    assert_ok(read_file_at(AT_FDCWD, a, 0, &da, &la, &err), &err);
    assert_ok(read_file_at(AT_FDCWD, b, 0, &db, &lb, &err), &err);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la);
    /* no temporary file is left beside the output */
    char *tmp = xasprintf("%s.tmp", a);
    assert_int_equal(access(tmp, F_OK), -1);
    free(tmp);
    free(da);
    free(db);
    free(a);
    free(b);
}

static void
test_docker_archive_content(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    char *file = path_in(f, "app.docker.tar"), *s, *want, **names = NULL;
    struct store *dst = new_store(f, "dst");
    struct oci_desc got;

    export(f, ARCHIVE_DOCKER, "app.docker.tar");
    s = tar_member(file, "manifest.json");
    want = xasprintf("[{\"Config\":\"blobs/sha256/%s\",\"RepoTags\":[\"app:1\"],"
                     "\"Layers\":[\"blobs/sha256/%s\",\"blobs/sha256/%s\"]}]",
                     digest_hex(f->config.digest), digest_hex(f->layers[0].digest),
                     digest_hex(f->layers[1].digest));
    assert_string_equal(s, want);
    free(s);
    free(want);
    s = tar_member(file, "repositories");
    want = xasprintf("{\"app\":{\"1\":\"%s\"}}", digest_hex(f->layers[1].digest));
    assert_string_equal(s, want);
    free(s);
    free(want);
    /* the OCI layout is there too */
    s = tar_member(file, "oci-layout");
    assert_non_null(s);
    free(s);
    char *member = xasprintf("blobs/sha256/%s", digest_hex(f->manifest.digest));
    s = tar_member(file, member);
    assert_non_null(s);
    free(s);
    free(member);
    /* and it imports back to the same manifest */
    assert_ok(archive_import(dst, file, &names, &err), &err);
    assert_int_equal(strv_len(names), 1);
    assert_ok(store_tag_get(dst, "docker.io/library/app:1", &got, &err), &err);
    assert_string_equal(got.digest, f->manifest.digest);
    strv_free(names);
    store_free(dst);
    free(file);
}

/* Copies the tar at in to out, flipping one byte of the member named victim. */
static void
tamper(const char *in, const char *out, const char *victim)
{
    struct archive *r = archive_read_new(), *w = archive_write_new();
    struct archive_entry *e;
    char *buf = xmalloc(1 << 20);

    archive_read_support_format_tar(r);
    assert_int_equal(archive_read_open_filename(r, in, 10240), ARCHIVE_OK);
    archive_write_set_format_pax_restricted(w);
    assert_int_equal(archive_write_open_filename(w, out), ARCHIVE_OK);
    while (archive_read_next_header(r, &e) == ARCHIVE_OK) {
        la_ssize_t n = archive_read_data(r, buf, 1 << 20);
        if (strcmp(archive_entry_pathname(e), victim) == 0)
            buf[n / 2] ^= 0x55;
        archive_write_header(w, e);
        if (n > 0)
            archive_write_data(w, buf, (size_t) n);
    }
    archive_write_close(w);
    archive_write_free(w);
    archive_read_free(r);
    free(buf);
}

static void
test_tampered_blob_fails(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    struct store *dst = new_store(f, "dst");
    char *good = path_in(f, "good.tar"), *bad = path_in(f, "bad.tar"), *victim;
    char *before = NULL, *after = NULL, *idx = path_in(f, "dst/oci/index.json");
    struct oci_desc other = f->manifest;

    /* the destination already has a tag, which must survive unchanged */
    assert_ok(store_tag_set(dst, "docker.io/library/other:1", &other, &err), &err);
    assert_ok(read_file_at(AT_FDCWD, idx, 0, &before, NULL, &err), &err);
    export(f, ARCHIVE_DOCKER, "good.tar");
    victim = xasprintf("blobs/sha256/%s", digest_hex(f->layers[0].digest));
    tamper(good, bad, victim);
    assert_int_equal(archive_import(dst, bad, NULL, &err), -1);
    if (strstr(err.msg, f->layers[0].digest) == NULL)
        fail_msg("error does not name the digest: %s", err.msg);
    assert_false(store_blob_exists(dst, f->layers[0].digest));
    assert_ok(read_file_at(AT_FDCWD, idx, 0, &after, NULL, &err), &err);
    assert_string_equal(before, after);
    free(victim);
    free(before);
    free(after);
    free(idx);
    free(good);
    free(bad);
    store_free(dst);
}

/* A pre-25 docker archive: <config hex>.json, <id>/layer.tar (one a symlink), manifest.json. */
static void
write_legacy(const char *path, const char *cfg, size_t cfglen, const char *cfgname,
             const char *layer, size_t llen, const char *manifest)
{
    struct archive *w = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    struct {
        const char *name, *data;
        size_t len;
        const char *link;
    } files[] = {
        {cfgname, cfg, cfglen, NULL},
        {"aaa/VERSION", "1.0", 3, NULL},
        {"aaa/json", "{}", 2, NULL},
        {"aaa/layer.tar", layer, llen, NULL},
        {"bbb/layer.tar", NULL, 0, "../aaa/layer.tar"},
        {"manifest.json", manifest, strlen(manifest), NULL},
    };

    archive_write_set_format_pax_restricted(w);
    assert_int_equal(archive_write_open_filename(w, path), ARCHIVE_OK);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        archive_entry_clear(e);
        archive_entry_set_pathname(e, files[i].name);
        archive_entry_set_perm(e, 0644);
        if (files[i].link) {
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_symlink(e, files[i].link);
        } else {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_size(e, (la_int64_t) files[i].len);
        }
        archive_write_header(w, e);
        if (files[i].data)
            archive_write_data(w, files[i].data, files[i].len);
    }
    archive_entry_free(e);
    archive_write_close(w);
    archive_write_free(w);
}

static void
test_legacy_docker_archive(void **state)
{
    static const char *const l[] = {"legacy.txt"};
    struct fixture *f = *state;
    struct lade_error err = {0};
    struct store *dst = new_store(f, "dst");
    size_t llen, clen;
    char *layer = make_tar(false, l, 1, &llen), *cfgname, *manifest, **names = NULL;
    char *file = path_in(f, "legacy.tar");
    digest_t diff, cfgd;
    struct store_image img;

    digest_of_mem(layer, llen, diff);
    json_t *cfg = oci_config_new("linux", "amd64");
    oci_config_add_layer(cfg, diff);
    char *cfgs = oci_json_dump(cfg, &clen);
    json_decref(cfg);
    digest_of_mem(cfgs, clen, cfgd);
    cfgname = xasprintf("%s.json", digest_hex(cfgd));
    manifest = xasprintf("[{\"Config\":\"%s\",\"RepoTags\":[\"legacy:2\",\"x.io/a/b:c\"],"
                         "\"Layers\":[\"bbb/layer.tar\"]}]",
                         cfgname);
    write_legacy(file, cfgs, clen, cfgname, layer, llen, manifest);
    assert_ok(archive_import(dst, file, &names, &err), &err);
    assert_int_equal(strv_len(names), 2);
    assert_string_equal(names[0], "docker.io/library/legacy:2");
    assert_string_equal(names[1], "x.io/a/b:c");
    assert_ok(store_image_load(dst, "docker.io/library/legacy:2", &img, &err), &err);
    assert_string_equal(img.manifest.config.digest, cfgd);
    assert_string_equal(img.manifest.config.media_type, MT_OCI_CONFIG);
    assert_int_equal(img.manifest.nlayers, 1);
    assert_string_equal(img.manifest.layers[0].digest, diff);
    assert_string_equal(img.manifest.layers[0].media_type, MT_OCI_LAYER_TAR);
    assert_int_equal(img.manifest.layers[0].size, (int64_t) llen);
    store_image_release(&img);
    strv_free(names);

    /* a layer that does not match the config's diff_id is refused */
    layer[llen / 3] ^= 1;
    write_legacy(file, cfgs, clen, cfgname, layer, llen, manifest);
    assert_int_equal(archive_import(dst, file, NULL, &err), -1);
    assert_non_null(strstr(err.msg, diff));
    free(layer);
    free(cfgs);
    free(cfgname);
    free(manifest);
    free(file);
    store_free(dst);
}

static void
test_not_an_image_archive(void **state)
{
    static const char *const l[] = {"just/a/file"};
    struct fixture *f = *state;
    struct lade_error err = {0};
    size_t len;
    char *tar = make_tar(false, l, 1, &len), *file = path_in(f, "plain.tar");

    test_write_file(f->dir, "plain.tar", "", 0644);
    int fd = open(file, O_WRONLY | O_TRUNC);
    assert_int_equal(write_all(fd, tar, len), 0);
    close(fd);
    assert_int_equal(archive_import(f->src, file, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "index.json"));
    lade_error_clear(&err);
    char *missing = path_in(f, "missing.tar");
    assert_int_equal(archive_import(f->src, missing, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "missing.tar"));
    free(missing);
    free(tar);
    free(file);
}

static int
run(const char *fmt, const char *a, const char *b, const char *c)
{
    char *cmd = xasprintf(fmt, a, b, c);
    int rc = system(cmd);

    if (rc != 0)
        print_error("command failed (%d): %s\n", rc, cmd);
    free(cmd);
    return rc;
}

static void
test_skopeo_reads_archives(void **state)
{
    struct fixture *f = *state;
    char *oci = path_in(f, "s.oci.tar"), *docker = path_in(f, "s.docker.tar");

    test_need_tool("skopeo");
    export(f, ARCHIVE_OCI, "s.oci.tar");
    export(f, ARCHIVE_DOCKER, "s.docker.tar");
    assert_int_equal(
        run("skopeo inspect oci-archive:%s | grep -q '%s'%s", oci, f->layers[0].digest, ""), 0);
    assert_int_equal(
        run("skopeo inspect --raw oci-archive:%s:%s | grep -q '%s'", oci, "1", f->config.digest),
        0);
    assert_int_equal(run("skopeo inspect docker-archive:%s | grep -q '\"Architecture\": \"%s\"'%s",
                         docker, "amd64", ""),
                     0);
    assert_int_equal(run("skopeo inspect docker-archive:%s:%s >/dev/null%s", docker,
                         "docker.io/library/app:1", ""),
                     0);
    free(oci);
    free(docker);
}

static void
test_umoci_unpacks_oci_archive(void **state)
{
    struct fixture *f = *state;
    char *tar = path_in(f, "u.tar"), *layout = path_in(f, "layout"), *bundle = path_in(f, "bundle");

    test_need_tool("umoci");
    test_need_tool("oci-image-tool");
    export(f, ARCHIVE_OCI, "u.tar");
    assert_int_equal(run("mkdir -p %s && tar -xf %s -C %s", layout, tar, layout), 0);
    assert_int_equal(run("umoci unpack --image %s:%s %s >/dev/null", layout, "1", bundle), 0);
    /* oci-image-tool checks the layout against the spec's schemas (it cannot read tars) */
    assert_int_equal(
        run("oci-image-tool validate --type image --ref name=%s %s >/dev/null%s", "1", layout, ""),
        0);
    assert_int_equal(
        run("test -f %s/rootfs/hello.txt && test -f %s/rootfs/second.txt%s", bundle, bundle, ""),
        0);
    free(tar);
    free(layout);
    free(bundle);
}

static void
test_podman_loads_docker_archive(void **state)
{
    struct fixture *f = *state;
    char *tar = path_in(f, "p.tar"), *root = path_in(f, "podman");

    test_need_tool("podman");
    export(f, ARCHIVE_DOCKER, "p.tar");
    assert_int_equal(run("podman --root %s/root --runroot %s/run --storage-driver vfs load -i %s "
                         "2>&1 | grep -q 'Loaded image.*app:1'",
                         root, root, tar),
                     0);
    free(tar);
    free(root);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_oci_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_is_deterministic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_docker_archive_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_blob_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_docker_archive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_an_image_archive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skopeo_reads_archives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_umoci_unpacks_oci_archive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_podman_loads_docker_archive, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
