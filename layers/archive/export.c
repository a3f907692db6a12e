/* SPDX-License-Identifier: Apache-2.0 */
/* Writing OCI and docker archives. Both carry the same OCI image layout (image-layout.md:
 * oci-layout, index.json, blobs/sha256/HEX); the docker one adds manifest.json and repositories
 * beside it, as docker 25 `docker save` does, so OCI tools and docker/podman loaders accept it.
 * The tar is deterministic: entries in byte order, mtime 0, owner 0:0, no user or group names. */
#include "archive-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../builder/common/cleanup.h"
#include "../../builder/common/strv.h"
#include "../../builder/common/xalloc.h"

#define MANIFEST_MAX (4 << 20)

int
archive_lib_error(struct lade_error *err, struct archive *a, const char *fmt, ...)
{
    char ctx[512];
    va_list ap;
    int errnum = archive_errno(a);
    const char *msg = archive_error_string(a);

    va_start(ap, fmt);
    vsnprintf(ctx, sizeof(ctx), fmt, ap);
    va_end(ap);
    /* bad input is not an I/O failure: libarchive reports format errors as EILSEQ, misuse as
     * EINVAL and other trouble as -1 (archive_private.h) */
    bool io = errnum > 0 && errnum != EILSEQ && errnum != EINVAL;
    if (io)
        return lade_error_errno(err, errnum, "%s: %s", ctx, msg ? msg : "libarchive");
    return lade_error_set(err, LADE_ERR_OTHER, "%s: %s", ctx,
                          msg ? msg : "unknown libarchive error");
}

int
name_parts_get(const char *full, struct name_parts *out, struct lade_error *err)
{
    struct image_ref ref = {0};
    char *tag, *digest;

    if (image_ref_parse(full, &ref, err) < 0)
        return -1;
    out->full = image_ref_string(&ref);
    out->familiar = image_ref_familiar(&ref);
    out->tag = ref.tag ? xstrdup(ref.tag) : NULL;
    /* the familiar repository: the familiar form without tag or digest */
    tag = ref.tag;
    digest = ref.digest;
    ref.tag = ref.digest = NULL;
    out->familiar_repo = image_ref_familiar(&ref);
    ref.tag = tag;
    ref.digest = digest;
    image_ref_release(&ref);
    return 0;
}

void
name_parts_release(struct name_parts *p)
{
    free(p->full);
    free(p->familiar);
    free(p->familiar_repo);
    free(p->tag);
    memset(p, 0, sizeof(*p));
}

struct exporter {
    struct store *st;
    struct archive *a;
    char buf[ARCHIVE_BUF_SIZE];
};

static void
entry_init(struct archive_entry *e, const char *name, mode_t type, mode_t perm, int64_t size)
{
    archive_entry_clear(e);
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_size(e, size);
    archive_entry_set_mtime(e, 0, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
}

static int
write_dir(struct exporter *x, const char *name, struct lade_error *err)
{
    struct archive_entry *e = archive_entry_new();
    int r;

    entry_init(e, name, AE_IFDIR, 0755, 0);
    r = archive_write_header(x->a, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK)
        return archive_lib_error(err, x->a, "cannot write '%s'", name);
    return 0;
}

static int
write_mem(struct exporter *x, const char *name, const char *data, size_t len,
          struct lade_error *err)
{
    struct archive_entry *e = archive_entry_new();
    int r;

    entry_init(e, name, AE_IFREG, 0644, (int64_t) len);
    r = archive_write_header(x->a, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK || archive_write_data(x->a, data, len) != (la_ssize_t) len)
        return archive_lib_error(err, x->a, "cannot write '%s'", name);
    return 0;
}

/* Streams one blob from the store, checking its size and digest on the way: a store damaged on
 * disk must not produce an archive that only fails in someone else's loader. */
static int
write_blob(struct exporter *x, const struct oci_desc *d, struct lade_error *err)
{
    cleanup_close int fd = store_blob_open(x->st, d->digest, err);
    char name[96];
    struct stat sb;
    struct archive_entry *e;
    struct sha256 *h;
    digest_t got;
    int64_t left;
    int r;

    if (fd < 0)
        return -1;
    if (fstat(fd, &sb) < 0)
        return lade_error_sys(err, "cannot stat blob %s", d->digest);
    if (sb.st_size != d->size)
        return lade_error_set(err, LADE_ERR_OTHER,
                              "blob %s has %lld bytes, its descriptor says %lld", d->digest,
                              (long long) sb.st_size, (long long) d->size);
    snprintf(name, sizeof(name), "blobs/sha256/%s", digest_hex(d->digest));
    e = archive_entry_new();
    entry_init(e, name, AE_IFREG, 0644, sb.st_size);
    r = archive_write_header(x->a, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK)
        return archive_lib_error(err, x->a, "cannot write '%s'", name);
    h = sha256_new();
    for (left = sb.st_size; left > 0;) {
        ssize_t n = read(fd, x->buf, sizeof(x->buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            sha256_free(h);
            return n < 0 ? lade_error_sys(err, "cannot read blob %s", d->digest)
                         : lade_error_set(err, LADE_ERR_IO, "blob %s shrank while reading",
                                          d->digest);
        }
        if ((int64_t) n > left)
            n = (ssize_t) left;
        sha256_update(h, x->buf, (size_t) n);
        if (archive_write_data(x->a, x->buf, (size_t) n) != n) {
            sha256_free(h);
            return archive_lib_error(err, x->a, "cannot write '%s'", name);
        }
        left -= n;
    }
    sha256_final(h, got);
    sha256_free(h);
    if (strcmp(got, d->digest) != 0)
        return lade_error_set(err, LADE_ERR_IO, "blob %s in the store is corrupt (hashes to %s)",
                              d->digest, got);
    return 0;
}

static int
cmp_desc(const void *a, const void *b)
{
    return strcmp(((const struct oci_desc *) a)->digest, ((const struct oci_desc *) b)->digest);
}

/* index.json: one entry per name, annotated as docker 25 and containerd do: the full name in
 * io.containerd.image.name and the tag in org.opencontainers.image.ref.name, which is what
 * `skopeo ...oci-archive:F:TAG` and `umoci --image DIR:TAG` select by. */
static char *
index_json(const struct oci_desc *m, const struct name_parts *names, size_t n, size_t *len)
{
    json_auto_t *idx = oci_index_new();
    json_t *arr = json_object_get(idx, "manifests");

    for (size_t i = 0; i < n; i++) {
        json_t *e = oci_desc_json(m);
        json_t *ann = json_pack("{s:s}", OCI_ANNOT_IMAGE_NAME, names[i].full);
        if (names[i].tag != NULL)
            json_object_set_new(ann, OCI_ANNOT_REF_NAME, json_string(names[i].tag));
        json_object_set_new(e, "annotations", ann);
        json_array_append_new(arr, e);
    }
    if (n == 0)
        json_array_append_new(arr, oci_desc_json(m));
    return oci_json_dump(idx, len);
}

/* docker's manifest.json: [{"Config", "RepoTags", "Layers"}], paths into the OCI layout, in
 * docker's key order. Layer files are the (possibly compressed) layer blobs: docker, podman and
 * skopeo detect compression when loading. */
static char *
manifest_json(const struct oci_manifest *m, const struct name_parts *names, size_t n)
{
    json_auto_t *arr = json_array();
    json_t *tags = json_array(), *layers = json_array();
    char path[96];

    for (size_t i = 0; i < n; i++)
        json_array_append_new(tags, json_string(names[i].familiar));
    for (size_t i = 0; i < m->nlayers; i++) {
        snprintf(path, sizeof(path), "blobs/sha256/%s", digest_hex(m->layers[i].digest));
        json_array_append_new(layers, json_string(path));
    }
    snprintf(path, sizeof(path), "blobs/sha256/%s", digest_hex(m->config.digest));
    json_array_append_new(
        arr, json_pack("{s:s, s:o, s:o}", "Config", path, "RepoTags", tags, "Layers", layers));
    return json_dumps(arr, JSON_COMPACT);
}

/* docker's legacy repositories file: {"repo": {"tag": "<top layer id>"}}. */
static char *
repositories_json(const struct oci_manifest *m, const struct name_parts *names, size_t n)
{
    json_auto_t *repos = json_object();
    const char *top;

    if (m->nlayers == 0)
        return NULL;
    top = digest_hex(m->layers[m->nlayers - 1].digest);
    for (size_t i = 0; i < n; i++) {
        if (names[i].tag == NULL)
            continue;
        json_t *r = json_object_get(repos, names[i].familiar_repo);
        if (r == NULL) {
            r = json_object();
            json_object_set_new(repos, names[i].familiar_repo, r);
        }
        json_object_set_new(r, names[i].tag, json_string(top));
    }
    if (json_object_size(repos) == 0)
        return NULL;
    return json_dumps(repos, JSON_COMPACT | JSON_SORT_KEYS);
}

/* blobs/sha256/ with each blob once (a layer two images share is stored once), in digest order. */
static int
write_blobs(struct exporter *x, struct oci_desc *blobs, size_t nblobs, struct lade_error *err)
{
    qsort(blobs, nblobs, sizeof(*blobs), cmp_desc);
    if (write_dir(x, "blobs/", err) < 0 || write_dir(x, "blobs/sha256/", err) < 0)
        return -1;
    for (size_t i = 0; i < nblobs; i++) {
        if (i > 0 && strcmp(blobs[i].digest, blobs[i - 1].digest) == 0)
            continue;
        if (write_blob(x, &blobs[i], err) < 0)
            return -1;
    }
    return 0;
}

/* The blobs of one image manifest m (its own descriptor md): manifest, config, layers. */
static void
add_image_blobs(struct oci_desc **blobs, size_t *n, const struct oci_desc *md,
                const struct oci_manifest *m)
{
    *blobs = xrealloc(*blobs, (*n + m->nlayers + 2) * sizeof(**blobs));
    (*blobs)[(*n)++] = *md;
    (*blobs)[(*n)++] = m->config;
    for (size_t i = 0; i < m->nlayers; i++)
        (*blobs)[(*n)++] = m->layers[i];
}

/* The blobs of an index (its bytes): itself, then each of its manifests' blobs (a nested
 * index or a manifest the store lacks is an error: the archive must be whole). */
static int
index_blobs(struct store *st, const struct oci_desc *top, const char *data, size_t len,
            struct oci_desc **blobs, size_t *n, struct lade_error *err)
{
    json_auto_t *idx = oci_json_parse(data, len, "index", err);
    json_t *e;
    size_t i;

    if (idx == NULL)
        return -1;
    *blobs = xrealloc(*blobs, (*n + 1) * sizeof(**blobs));
    (*blobs)[(*n)++] = *top;
    json_array_foreach(json_object_get(idx, "manifests"), i, e)
    {
        cleanup_free char *mdata = NULL;
        struct oci_manifest m = {0};
        struct oci_desc md;
        size_t mlen = 0;
        if (oci_desc_parse(e, "index entry", &md, err) < 0 ||
            store_blob_read(st, md.digest, MANIFEST_MAX, &mdata, &mlen, err) < 0 ||
            oci_manifest_parse(mdata, mlen, &m, err) < 0)
            return -1;
        add_image_blobs(blobs, n, &md, &m);
        oci_manifest_release(&m);
    }
    return 0;
}

static int
write_all_entries(struct exporter *x, const struct oci_desc *mdesc, const struct oci_manifest *m,
                  const struct name_parts *names, size_t nnames, enum archive_format fmt,
                  struct lade_error *err)
{
    size_t nblobs = 0, len = 0;
    struct oci_desc *blobs = NULL;
    cleanup_free char *index = NULL, *manifest = NULL, *repos = NULL;

    if (m != NULL) {
        add_image_blobs(&blobs, &nblobs, mdesc, m);
    } else {
        cleanup_free char *data = NULL;
        if (store_blob_read(x->st, mdesc->digest, MANIFEST_MAX, &data, &len, err) < 0 ||
            index_blobs(x->st, mdesc, data, len, &blobs, &nblobs, err) < 0) {
            free(blobs);
            return -1;
        }
    }
    int rc = write_blobs(x, blobs, nblobs, err);
    free(blobs);
    if (rc < 0)
        return -1;
    index = index_json(mdesc, names, nnames, &len);
    if (write_mem(x, "index.json", index, len, err) < 0)
        return -1;
    if (fmt == ARCHIVE_DOCKER) {
        manifest = manifest_json(m, names, nnames);
        if (write_mem(x, "manifest.json", manifest, strlen(manifest), err) < 0)
            return -1;
    }
    if (write_mem(x, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30, err) < 0)
        return -1;
    if (fmt == ARCHIVE_DOCKER && (repos = repositories_json(m, names, nnames)) != NULL)
        return write_mem(x, "repositories", repos, strlen(repos), err);
    return 0;
}

static int
write_tar(struct store *st, int fd, const struct oci_desc *mdesc, const struct oci_manifest *m,
          const struct name_parts *names, size_t nnames, enum archive_format fmt,
          struct lade_error *err)
{
    cleanup_archive_write struct archive *a = archive_write_new();
    cleanup_free struct exporter *x = xmalloc(sizeof(*x));

    x->st = st;
    x->a = a;
    /* ustar headers whenever they suffice (all names here are short), which every reader takes */
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_open_fd(a, fd) != ARCHIVE_OK)
        return archive_lib_error(err, a, "cannot start the archive");
    if (write_all_entries(x, mdesc, m, names, nnames, fmt, err) < 0)
        return -1;
    /* close before free: free drops the error of the final flush */
    if (archive_write_close(a) != ARCHIVE_OK)
        return archive_lib_error(err, a, "cannot finish the archive");
    return 0;
}

/* The manifest (or index: *is_index, m left empty) and the names the archive records; *parts
 * (nnames entries) caller releases. */
static int
export_prepare(struct store *st, const struct oci_desc *manifest, char *const *names,
               enum archive_format fmt, struct oci_manifest *m, struct oci_desc *mdesc,
               bool *is_index, struct name_parts **parts, struct lade_error *err)
{
    cleanup_free char *data = NULL;
    size_t len = 0, nnames = strv_len(names);

    *parts = xcalloc(nnames + 1, sizeof(**parts));
    *mdesc = *manifest;
    /* a multi-platform image (an index) goes whole into an OCI archive; m stays empty */
    *is_index = oci_media_type_is_index(manifest->media_type);
    if (*is_index && fmt == ARCHIVE_DOCKER)
        return lade_error_set(
            err, LADE_ERR_USAGE,
            "docker archives hold one platform; use type=oci for a multi-platform image");
    if (store_blob_read(st, manifest->digest, MANIFEST_MAX, &data, &len, err) < 0 ||
        (!*is_index && oci_manifest_parse(data, len, m, err) < 0))
        return -1;
    mdesc->size = (int64_t) len;
    for (size_t i = 0; i < nnames; i++)
        if (name_parts_get(names[i], &(*parts)[i], err) < 0)
            return -1;
    return 0;
}

static void
export_release(struct oci_manifest *m, struct name_parts *parts, size_t nnames)
{
    for (size_t i = 0; i < nnames; i++)
        name_parts_release(&parts[i]);
    free(parts);
    oci_manifest_release(m);
}

int
archive_export_fd(struct store *st, const struct oci_desc *manifest, char *const *names,
                  enum archive_format fmt, int fd, struct lade_error *err)
{
    struct oci_manifest m = {0};
    struct oci_desc mdesc;
    struct name_parts *parts = NULL;
    size_t nnames = strv_len(names);
    bool is_index = false;
    int rc = -1;

    if (export_prepare(st, manifest, names, fmt, &m, &mdesc, &is_index, &parts, err) == 0 &&
        write_tar(st, fd, &mdesc, is_index ? NULL : &m, parts, nnames, fmt, err) == 0)
        rc = 0;
    export_release(&m, parts, nnames);
    return rc;
}

int
archive_export(struct store *st, const struct oci_desc *manifest, char *const *names,
               enum archive_format fmt, const char *path, struct lade_error *err)
{
    cleanup_free char *tmp = NULL, *dir = NULL;
    struct oci_manifest m = {0};
    struct oci_desc mdesc;
    size_t nnames = strv_len(names);
    struct name_parts *parts = NULL;
    cleanup_close int fd = -1;
    bool is_index = false;
    int rc = -1;

    if (export_prepare(st, manifest, names, fmt, &m, &mdesc, &is_index, &parts, err) < 0)
        goto out;
    tmp = xasprintf("%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        lade_error_sys(err, "cannot create '%s'", tmp);
        goto out;
    }
    if (write_tar(st, fd, &mdesc, is_index ? NULL : &m, parts, nnames, fmt, err) < 0)
        goto fail;
    if (fsync(fd) < 0) {
        lade_error_sys(err, "cannot write '%s'", tmp);
        goto fail;
    }
    if (rename(tmp, path) < 0) {
        lade_error_sys(err, "cannot rename '%s' to '%s'", tmp, path);
        goto fail;
    }
    dir = xstrdup(path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    rc = 0;
    goto out;
fail:
    unlink(tmp);
out:
    if (rc < 0)
        lade_error_prefix(err, "cannot export %s to '%s'", manifest->digest, path);
    export_release(&m, parts, nnames);
    return rc;
}
