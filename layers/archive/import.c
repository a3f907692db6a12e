/* SPDX-License-Identifier: Apache-2.0 */
/* Reading OCI and docker archives in one pass. A tar is sequential and the files that say what
 * it holds (index.json, manifest.json) may come last, so every blob is streamed into the store
 * as it passes, hashed on the way and checked against its name; small JSON files are kept in
 * capped buffers; images.c then assembles and tags the images. A tampered blob is never
 * committed, and tags are only set once everything has been checked. */
#include "archive-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../builder/common/buf.h"
#include "../../builder/common/cleanup.h"
#include "../../builder/common/fsutil.h"
#include "../../builder/common/xalloc.h"

/* Caps for what is held in memory. Real index.json/manifest.json files are kilobytes; configs
 * of images with long histories reach a few hundred. */
#define SMALL_FILE_MAX (32 << 20)
#define SMALL_TOTAL_MAX (128 << 20)
/* Blobs, layer files and links tracked (lookups are linear): far more than any image has. */
#define FILES_MAX 10000

void
import_release(struct import *im)
{
    for (size_t i = 0; i < im->nfiles; i++) {
        free(im->files[i].path);
        free(im->files[i].link);
    }
    free(im->files);
    for (size_t i = 0; i < im->nsmalls; i++) {
        free(im->smalls[i].path);
        free(im->smalls[i].data);
    }
    free(im->smalls);
    memset(im, 0, sizeof(*im));
}

/* Lexically normalised path inside the archive ("./a//b/../c" -> "a/c"), relative to base (a
 * directory inside the archive, or NULL for its top). NULL when it would leave the archive. */
static char *
norm_path(const char *base, const char *p)
{
    cleanup_free char *joined = xasprintf("%s%s%s", (base && *p != '/') ? base : "",
                                          (base && *base && *p != '/') ? "/" : "", p);
    char *out = xmalloc(strlen(joined) + 1), *save = NULL;
    size_t n = 0;

    for (char *c = strtok_r(joined, "/", &save); c != NULL; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0) {
            if (n == 0) {
                free(out);
                return NULL;
            }
            while (n > 0 && out[n - 1] != '/')
                n--;
            if (n > 0)
                n--; /* the slash */
            continue;
        }
        if (n > 0)
            out[n++] = '/';
        memcpy(out + n, c, strlen(c));
        n += strlen(c);
    }
    out[n] = '\0';
    return out;
}

static struct import_file *
add_file(struct import *im, char *path, struct lade_error *err)
{
    /* a later entry of the same name replaces an earlier one, as when extracting */
    for (size_t i = 0; i < im->nfiles; i++)
        if (strcmp(im->files[i].path, path) == 0) {
            free(path);
            free(im->files[i].link);
            im->files[i].link = NULL;
            return &im->files[i];
        }
    if (im->nfiles >= FILES_MAX) {
        free(path);
        lade_error_set(err, LADE_ERR_OTHER, "too many files");
        return NULL;
    }
    if (im->nfiles == im->files_cap) {
        im->files_cap = im->files_cap ? im->files_cap * 2 : 64;
        im->files = xrealloc(im->files, im->files_cap * sizeof(*im->files));
    }
    struct import_file *f = &im->files[im->nfiles++];
    memset(f, 0, sizeof(*f));
    f->path = path;
    return f;
}

const char *
import_lookup(const struct import *im, const char *path)
{
    cleanup_free char *p = norm_path(NULL, path);

    /* a bounded number of hops, so link cycles end */
    for (int hops = 0; p != NULL && hops < 16; hops++) {
        const struct import_file *f = NULL;
        for (size_t i = 0; i < im->nfiles && f == NULL; i++)
            if (strcmp(im->files[i].path, p) == 0)
                f = &im->files[i];
        if (f == NULL)
            return NULL;
        if (f->link == NULL)
            return f->digest;
        free(p);
        p = xstrdup(f->link);
    }
    return NULL;
}

const struct import_small *
import_small_get(const struct import *im, const char *path)
{
    for (size_t i = 0; i < im->nsmalls; i++)
        if (strcmp(im->smalls[i].path, path) == 0)
            return &im->smalls[i];
    return NULL;
}

/* Streams the current entry into a store blob. With expect set (the entry is named
 * blobs/sha256/HEX) the content must hash to it. */
static int
stream_blob(struct import *im, struct archive *a, const char *name, const char *expect,
            digest_t out, struct lade_error *err)
{
    cleanup_free char *tmp = NULL;
    cleanup_free char *buf = NULL;
    cleanup_close int fd = -1;
    struct sha256 *h;
    digest_t got;
    la_ssize_t n;

    if (expect != NULL && store_blob_exists(im->st, expect)) {
        /* content-addressed and already verified when it was stored */
        memcpy(out, expect, sizeof(digest_t));
        return archive_read_data_skip(a) == ARCHIVE_OK
                   ? 0
                   : archive_lib_error(err, a, "cannot read '%s'", name);
    }
    if (store_tmp_file(im->st, &tmp, &fd, err) < 0)
        return -1;
    buf = xmalloc(ARCHIVE_BUF_SIZE);
    h = sha256_new();
    while ((n = archive_read_data(a, buf, ARCHIVE_BUF_SIZE)) > 0) {
        sha256_update(h, buf, (size_t) n);
        if (write_all(fd, buf, (size_t) n) < 0) {
            lade_error_sys(err, "cannot write '%s'", tmp);
            break;
        }
    }
    if (n < 0)
        archive_lib_error(err, a, "cannot read '%s'", name);
    sha256_final(h, got);
    sha256_free(h);
    if (n == 0 && expect != NULL && strcmp(got, expect) != 0)
        lade_error_set(err, LADE_ERR_OTHER, "blob %s is corrupt: its content hashes to %s", expect,
                       got);
    if (lade_error_is_set(err)) {
        unlink(tmp);
        return -1;
    }
    if (store_blob_commit(im->st, tmp, got, err) < 0)
        return -1;
    memcpy(out, got, sizeof(digest_t));
    return 0;
}

static int
keep_small(struct import *im, struct archive *a, char *path, int64_t size, struct lade_error *err)
{
    struct lade_buf b = LADE_BUF_INIT;
    char chunk[16384];
    la_ssize_t n;

    if (size > SMALL_FILE_MAX || im->small_bytes + (size_t) size > SMALL_TOTAL_MAX) {
        lade_error_set(err, LADE_ERR_OTHER, "'%s' is too large (%lld bytes)", path,
                       (long long) size);
        free(path);
        return -1;
    }
    lade_buf_init(&b, SMALL_FILE_MAX);
    while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0)
        if (lade_buf_append(&b, chunk, (size_t) n) < 0) {
            n = 0;
            lade_error_set(err, LADE_ERR_OTHER, "'%s' is too large", path);
            break;
        }
    if (n < 0)
        archive_lib_error(err, a, "cannot read '%s'", path);
    if (lade_error_is_set(err)) {
        lade_buf_release(&b);
        free(path);
        return -1;
    }
    for (size_t i = 0; i < im->nsmalls; i++)
        if (strcmp(im->smalls[i].path, path) == 0) { /* a later entry wins */
            free(im->smalls[i].data);
            free(path);
            im->smalls[i].len = b.len;
            im->smalls[i].data = lade_buf_steal(&b);
            im->small_bytes += im->smalls[i].len;
            return 0;
        }
    if (im->nsmalls == im->smalls_cap) {
        im->smalls_cap = im->smalls_cap ? im->smalls_cap * 2 : 8;
        im->smalls = xrealloc(im->smalls, im->smalls_cap * sizeof(*im->smalls));
    }
    struct import_small *s = &im->smalls[im->nsmalls++];
    s->path = path;
    s->len = b.len;
    s->data = lade_buf_steal(&b);
    im->small_bytes += s->len;
    return 0;
}

static bool
is_hex64(const char *s, size_t n)
{
    if (n != 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static bool
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* One tar entry: blobs go to the store, small JSON to memory, links are recorded; anything
 * else (legacy <id>/json and VERSION files, unknown extras) is skipped. */
static int
import_entry(struct import *im, struct archive *a, struct archive_entry *e, struct lade_error *err)
{
    const char *raw = archive_entry_pathname(e);
    char *path = raw ? norm_path(NULL, raw) : NULL;
    mode_t type = archive_entry_filetype(e);
    struct import_file *f;

    if (path == NULL || *path == '\0' || type == AE_IFDIR) {
        free(path);
        return 0;
    }
    if (archive_entry_hardlink(e) != NULL || type == AE_IFLNK) {
        const char *target = archive_entry_hardlink(e);
        char *dir = xstrdup(path), *slash = strrchr(dir, '/');
        char *resolved;
        if (slash != NULL)
            *slash = '\0';
        else
            *dir = '\0';
        /* hardlink targets are archive paths; symlink targets are relative to the link */
        if (target == NULL && archive_entry_symlink(e) == NULL) {
            free(dir);
            free(path);
            return 0;
        }
        resolved = target ? norm_path(NULL, target) : norm_path(dir, archive_entry_symlink(e));
        free(dir);
        if (resolved == NULL) {
            free(path);
            return 0; /* points outside the archive: never used */
        }
        if ((f = add_file(im, path, err)) == NULL) {
            free(resolved);
            return -1;
        }
        f->link = resolved;
        return 0;
    }
    if (type != AE_IFREG) {
        free(path);
        return 0;
    }
    if (strncmp(path, "blobs/sha256/", 13) == 0 && is_hex64(path + 13, strlen(path + 13))) {
        char expect[DIGEST_LEN + 1];
        snprintf(expect, sizeof(expect), "sha256:%s", path + 13);
        if ((f = add_file(im, path, err)) == NULL)
            return -1;
        return stream_blob(im, a, f->path, expect, f->digest, err);
    }
    if (strchr(path, '/') == NULL &&
        (ends_with(path, ".json") || strcmp(path, "repositories") == 0 ||
         strcmp(path, "oci-layout") == 0))
        return keep_small(im, a, path, archive_entry_size(e), err);
    if (ends_with(path, ".tar")) {
        /* legacy docker layers (<id>/layer.tar) and skopeo's <hex>.tar: not named by their
         * digest, so they are checked against the config's diff_ids later */
        if ((f = add_file(im, path, err)) == NULL)
            return -1;
        return stream_blob(im, a, f->path, NULL, f->digest, err);
    }
    free(path);
    return 0;
}

static int
import_archive(struct store *st, const char *path, bool no_tags, char ***names_out,
               char ***untagged_out, struct lade_error *err)
{
    cleanup_archive_read struct archive *a = archive_read_new();
    struct import im = {.st = st, .archive_path = path, .no_tags = no_tags};
    struct archive_entry *e;
    int r, rc = -1;

    /* `docker save | gzip` archives are common and docker load takes them */
    archive_read_support_format_tar(a);
    archive_read_support_filter_all(a);
    if (archive_read_open_filename(a, path, ARCHIVE_BUF_SIZE) != ARCHIVE_OK) {
        archive_lib_error(err, a, "cannot open '%s'", path);
        return -1;
    }
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
        if (import_entry(&im, a, e, err) < 0)
            goto out;
    if (r != ARCHIVE_EOF) {
        archive_lib_error(err, a, "cannot read '%s'", path);
        goto out;
    }
    rc = import_images(&im, names_out, untagged_out, err);
out:
    if (rc < 0)
        lade_error_prefix(err, "cannot load '%s'", path);
    import_release(&im);
    return rc;
}

int
archive_import_ex(struct store *st, const char *path, char ***names_out, char ***untagged_out,
                  struct lade_error *err)
{
    return import_archive(st, path, false, names_out, untagged_out, err);
}

int
archive_import_manifests(struct store *st, const char *path, char ***manifests_out,
                         struct lade_error *err)
{
    return import_archive(st, path, true, NULL, manifests_out, err);
}

int
archive_import(struct store *st, const char *path, char ***names_out, struct lade_error *err)
{
    return archive_import_ex(st, path, names_out, NULL, err);
}
