/* SPDX-License-Identifier: Apache-2.0 */
/* type=local: the cache artifact in an OCI image layout directory (oci-layout, index.json,
 * blobs/sha256/HEX), as BuildKit's local cache keeps it; index.json names it with tag=. */
#include "cache_transfer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

static char *
blob_name(const char *digest)
{
    return xasprintf("blobs/sha256/%s", digest_hex(digest));
}

/* dirfd's blob d into the store: its size and digest checked before it is committed. */
static int
blob_in(struct store *st, int dirfd, const char *dir, const struct oci_desc *d,
        struct lade_error *err)
{
    cleanup_free char *name = blob_name(d->digest), *tmp = NULL;
    cleanup_close int in = -1, out = -1;
    struct stat sb;
    digest_t got;

    if (store_blob_exists(st, d->digest))
        return 0;
    in = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0 || fstat(in, &sb) < 0)
        return lade_error_sys(err, "cannot open '%s/%s'", dir, name);
    if (sb.st_size != d->size)
        return lade_error_set(err, LADE_ERR_IO, "'%s/%s' has %lld bytes, its descriptor says %lld",
                              dir, name, (long long) sb.st_size, (long long) d->size);
    if (store_tmp_file(st, &tmp, &out, err) < 0)
        return -1;
    if (copy_fd(in, out, err) < 0 || lseek(out, 0, SEEK_SET) < 0 ||
        digest_of_fd(out, got, err) < 0) {
        unlink(tmp);
        return err->msg[0] ? -1 : lade_error_sys(err, "cannot copy '%s/%s'", dir, name);
    }
    if (strcmp(got, d->digest) != 0) {
        unlink(tmp);
        return lade_error_set(err, LADE_ERR_IO, "'%s/%s' does not hash to its name (%s)", dir, name,
                              got);
    }
    return store_blob_commit(st, tmp, d->digest, err);
}

static int
open_layout(const char *dir, struct lade_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        lade_error_sys(err, "cannot open cache directory '%s'", dir);
    return fd;
}

static const char *
ref_name(const json_t *entry)
{
    return json_string_value(
        json_object_get(json_object_get(entry, "annotations"), OCI_ANNOT_REF_NAME));
}

int
cache_layout_load(struct store *st, const char *dir, const char *tag, struct oci_desc *manifest,
                  struct lade_error *err)
{
    cleanup_close int dirfd = open_layout(dir, err);
    cleanup_free char *text = NULL, *mdata = NULL;
    struct oci_manifest man = {0};
    json_auto_t *index = NULL;
    const json_t *pick = NULL, *e;
    size_t len = 0, i;

    if (dirfd < 0 || read_file_at(dirfd, "index.json", 4u << 20, &text, &len, err) < 0 ||
        (index = oci_json_parse(text, len, "index.json", err)) == NULL)
        return -1;
    const json_t *list = json_object_get(index, "manifests");
    json_array_foreach(list, i, e)
    {
        const char *name = ref_name(e);
        if (name != NULL && strcmp(name, tag) == 0)
            pick = e;
    }
    if (pick == NULL && strcmp(tag, "latest") == 0 && json_array_size(list) == 1)
        pick = json_array_get(list, 0);
    if (pick == NULL)
        return lade_error_set(err, LADE_ERR_IO, "'%s/index.json' names no manifest \"%s\"", dir,
                              tag);
    if (oci_desc_parse(pick, "index.json manifest", manifest, err) < 0 ||
        blob_in(st, dirfd, dir, manifest, err) < 0 ||
        store_blob_read(st, manifest->digest, 4u << 20, &mdata, &len, err) < 0 ||
        oci_manifest_parse(mdata, len, &man, err) < 0)
        return -1;
    int rc = blob_in(st, dirfd, dir, &man.config, err);
    oci_manifest_release(&man);
    return rc;
}

int
cache_layout_blob_in(struct store *st, const char *dir, const struct oci_desc *d,
                     struct lade_error *err)
{
    cleanup_close int dirfd = open_layout(dir, err);

    return dirfd < 0 ? -1 : blob_in(st, dirfd, dir, d, err);
}

/* A store blob into dirfd (kept when there already: blobs are named by their content). */
static int
blob_out(struct store *st, int dirfd, const char *dir, const char *digest, struct lade_error *err)
{
    cleanup_free char *name = blob_name(digest);
    cleanup_free char *tmp = xasprintf("%s.tmp-%d", name, (int) getpid());
    cleanup_close int in = -1, out = -1;

    if (faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return 0;
    if ((in = store_blob_open(st, digest, err)) < 0)
        return -1;
    out = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (out < 0)
        return lade_error_sys(err, "cannot create '%s/%s'", dir, tmp);
    if (copy_fd(in, out, err) < 0 || fsync(out) < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
        int saved = errno;
        unlinkat(dirfd, tmp, 0);
        errno = saved;
        return err->msg[0] ? -1 : lade_error_sys(err, "cannot write '%s/%s'", dir, name);
    }
    return 0;
}

/* index.json with the entries of other tags kept and tag pointing at manifest. */
static int
write_index(int dirfd, const char *dir, const char *tag, const struct oci_desc *manifest,
            struct lade_error *err)
{
    cleanup_free char *old = NULL, *bytes = NULL;
    json_auto_t *index = NULL, *prev = NULL;
    size_t len = 0, i;
    json_t *e;

    index = oci_index_new();
    if (read_file_at(dirfd, "index.json", 4u << 20, &old, &len, NULL) == 0 &&
        (prev = oci_json_parse(old, len, "index.json", NULL)) != NULL) {
        json_array_foreach(json_object_get(prev, "manifests"), i, e)
        {
            const char *name = ref_name(e);
            if (name != NULL && strcmp(name, tag) != 0)
                json_array_append(json_object_get(index, "manifests"), e);
        }
    }
    json_t *entry = oci_desc_json(manifest);
    json_object_set_new(entry, "annotations", json_pack("{s:s}", OCI_ANNOT_REF_NAME, tag));
    json_array_append_new(json_object_get(index, "manifests"), entry);
    bytes = oci_json_dump(index, &len);
    if (write_file_atomic_at(dirfd, "index.json", bytes, len, 0644, err) < 0)
        return lade_error_prefix(err, "cache directory '%s'", dir);
    return 0;
}

int
cache_layout_save(struct store *st, const char *dir, const char *tag,
                  const struct oci_desc *manifest, struct lade_error *err)
{
    static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
    cleanup_free char *mdata = NULL;
    cleanup_close int dirfd = -1;
    struct oci_manifest man = {0};
    size_t len = 0;
    int rc = -1;

    if (mkdir_p_at(AT_FDCWD, dir, 0755, err) < 0 || (dirfd = open_layout(dir, err)) < 0 ||
        mkdir_p_at(dirfd, "blobs/sha256", 0755, err) < 0)
        return lade_error_prefix(err, "cache directory '%s'", dir);
    if (faccessat(dirfd, "oci-layout", F_OK, 0) < 0 &&
        write_file_atomic_at(dirfd, "oci-layout", layout, strlen(layout), 0644, err) < 0)
        return -1;
    if (store_blob_read(st, manifest->digest, 4u << 20, &mdata, &len, err) < 0 ||
        oci_manifest_parse(mdata, len, &man, err) < 0)
        return -1;
    if (blob_out(st, dirfd, dir, man.config.digest, err) < 0)
        goto out;
    for (size_t i = 0; i < man.nlayers; i++)
        if (blob_out(st, dirfd, dir, man.layers[i].digest, err) < 0)
            goto out;
    if (blob_out(st, dirfd, dir, manifest->digest, err) < 0 ||
        write_index(dirfd, dir, tag, manifest, err) < 0)
        goto out;
    rc = 0;
out:
    oci_manifest_release(&man);
    return rc;
}
