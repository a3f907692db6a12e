/* SPDX-License-Identifier: Apache-2.0 */
/* Garbage collection (lade prune, rmi, system df): what the index reaches is kept, with the
 * blobs a caller names (the build cache's layers); other blobs, the extracted layers of blobs
 * that are gone, and idle cache mounts are removed.
 *
 * Every lade process holds ROOT/use shared from store_open to store_free: a build writes blobs
 * before it tags or records them, and mounts extracted layers without the store lock. gc takes
 * ROOT/use exclusively, so it waits for those processes and never removes what one is using. */
#include "store-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../builder/common/cleanup.h"
#include "../../builder/common/fsutil.h"
#include "../../builder/common/strv.h"
#include "../../builder/common/xalloc.h"

#define CACHEMOUNTS_DIR "cachemounts"

int
store_use_shared(struct store *st, struct lade_error *err)
{
    int fd = openat(st->root_fd, "use", O_RDWR | O_CREAT | O_CLOEXEC, 0644);

    if (fd < 0)
        return lade_error_sys(err, "cannot open '%s/use'", st->root);
    while (flock(fd, LOCK_SH) < 0) {
        if (errno == EINTR)
            continue;
        close(fd);
        return lade_error_sys(err, "cannot lock '%s/use'", st->root);
    }
    st->use_fd = fd;
    return 0;
}

int
store_use_exclusive(struct store *st, bool wait, struct lade_error *err)
{
    if (st->use_fd < 0)
        return lade_error_set(err, LADE_ERR_OTHER, "store '%s' is not in use", st->root);
    if (flock(st->use_fd, LOCK_EX | LOCK_NB) == 0)
        return 1;
    if (!wait)
        return 0;
    fprintf(stderr, "lade: waiting for the other lade commands using %s to finish\n", st->root);
    while (flock(st->use_fd, LOCK_EX) < 0)
        if (errno != EINTR)
            return lade_error_sys(err, "cannot lock '%s/use'", st->root);
    return 1;
}

/* ---- what the index reaches ---- */

static void
keep_manifest(struct store *st, const char *digest, int depth, char ***keep)
{
    cleanup_free char *text = NULL;
    struct lade_error ignored = {0};
    size_t len;

    *keep = strv_push(*keep, digest);
    if (depth > 4 || store_blob_read(st, digest, 16u << 20, &text, &len, &ignored) < 0)
        return;
    json_auto_t *m = json_loadb(text, len, 0, NULL);
    json_t *config = json_object_get(m, "config"), *e;
    const char *d = json_string_value(json_object_get(config, "digest"));
    size_t i;

    if (d != NULL)
        *keep = strv_push(*keep, d);
    json_array_foreach(json_object_get(m, "layers"), i, e)
    {
        if ((d = json_string_value(json_object_get(e, "digest"))) != NULL)
            *keep = strv_push(*keep, d);
    }
    /* an image index: its manifests (other platforms, attestations) */
    json_array_foreach(json_object_get(m, "manifests"), i, e)
    {
        if ((d = json_string_value(json_object_get(e, "digest"))) != NULL)
            keep_manifest(st, d, depth + 1, keep);
    }
}

int
store_index_blobs(struct store *st, char ***keep, struct lade_error *err)
{
    cleanup_free char *text = NULL;
    size_t len, i;
    json_t *e;

    if (read_file_at(st->oci_fd, "index.json", 64u << 20, &text, &len, err) < 0)
        return -1;
    json_auto_t *idx = json_loadb(text, len, 0, NULL);
    if (!json_is_object(idx))
        return lade_error_set(err, LADE_ERR_OTHER, "%s/oci/index.json: not a JSON object",
                              st->root);
    json_array_foreach(json_object_get(idx, "manifests"), i, e)
    {
        const char *d = json_string_value(json_object_get(e, "digest"));
        if (d != NULL)
            keep_manifest(st, d, 0, keep);
    }
    return 0;
}

/* ---- the walk ---- */

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool
kept(char *const *sorted, size_t n, const char *digest)
{
    return n > 0 && bsearch(&digest, sorted, n, sizeof(char *), cmp_str) != NULL;
}

/* Bytes a tree takes on disk (blocks, as du counts them). */
static uint64_t
tree_bytes(int parent, const char *name)
{
    struct stat sb;
    uint64_t total = 0;

    if (fstatat(parent, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
        return 0;
    total = (uint64_t) sb.st_blocks * 512;
    if (!S_ISDIR(sb.st_mode))
        return total;
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return total;
    }
    for (struct dirent *de; (de = readdir(d)) != NULL;)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            total += tree_bytes(dirfd(d), de->d_name);
    closedir(d);
    return total;
}

static char **
list_dir(int parent, const char *path)
{
    int fd = openat(parent, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    char **names = NULL;

    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    for (struct dirent *de; (de = readdir(d)) != NULL;)
        if (de->d_name[0] != '.')
            names = strv_push(names, de->d_name);
    closedir(d);
    return names;
}

static void
count(struct store_usage *u, uint64_t bytes)
{
    u->count++;
    u->bytes += bytes;
}

int
store_gc(struct store *st, char *const *keep, bool dry, struct store_gc_result *total,
         struct store_gc_result *freed, struct lade_error *err)
{
    cleanup_strv char **sorted = strv_dup(keep);
    size_t n = strv_len(sorted);
    cleanup_strv char **blobs = list_dir(st->blobs_fd, ".");
    cleanup_strv char **layers = list_dir(st->layers_fd, ".");

    if (n > 0) /* NULL vectors when empty */
        qsort(sorted, n, sizeof(char *), cmp_str);
    memset(total, 0, sizeof(*total));
    memset(freed, 0, sizeof(*freed));
    for (size_t i = 0; blobs && blobs[i]; i++) {
        cleanup_free char *digest = xasprintf("sha256:%s", blobs[i]);
        struct stat sb;
        if (fstatat(st->blobs_fd, blobs[i], &sb, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        count(&total->blobs, (uint64_t) sb.st_blocks * 512);
        if (kept(sorted, n, digest))
            continue;
        if (!dry && unlinkat(st->blobs_fd, blobs[i], 0) < 0 && errno != ENOENT)
            return lade_error_sys(err, "cannot remove blob %s", digest);
        count(&freed->blobs, (uint64_t) sb.st_blocks * 512);
        if (!dry) {
            cleanup_free char *src = xasprintf("sources/%s", blobs[i]);
            unlinkat(st->root_fd, src, 0);
        }
    }
    for (size_t i = 0; layers && layers[i]; i++) {
        cleanup_free char *blob_file = xasprintf("%s/blob", layers[i]);
        cleanup_free char *blob = NULL;
        struct lade_error ignored = {0};
        size_t len;
        bool keep_it = false;
        if (read_file_at(st->layers_fd, blob_file, 256, &blob, &len, &ignored) == 0) {
            blob[strcspn(blob, "\n")] = '\0';
            keep_it = kept(sorted, n, blob);
        }
        /* walking a tree to size it costs: only for system df, or a tree that goes */
        uint64_t bytes = dry || !keep_it ? tree_bytes(st->layers_fd, layers[i]) : 0;
        count(&total->layers, bytes);
        if (keep_it)
            continue;
        if (!dry && rm_rf_at(st->layers_fd, layers[i], err) < 0)
            return lade_error_prefix(err, "cannot remove extracted layer %s", layers[i]);
        count(&freed->layers, bytes);
    }
    return 0;
}

/* ---- cache mounts ---- */

int
store_cachemounts_prune(struct store *st, time_t used_before, bool dry,
                        struct store_gc_result *total, struct store_gc_result *freed,
                        struct lade_error *err)
{
    cleanup_strv char **names = list_dir(st->root_fd, CACHEMOUNTS_DIR);
    int dir = openat(st->root_fd, CACHEMOUNTS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    for (size_t i = 0; dir >= 0 && names && names[i]; i++) {
        cleanup_free char *lock = xasprintf("%s/lock", names[i]);
        uint64_t bytes = tree_bytes(dir, names[i]);
        struct stat sb;
        count(&total->mounts, bytes);
        if (fstatat(dir, names[i], &sb, AT_SYMLINK_NOFOLLOW) < 0 || sb.st_mtime >= used_before)
            continue;
        /* a build that has it mounted holds its lock */
        cleanup_close int lfd = openat(dir, lock, O_RDWR | O_CLOEXEC);
        if (lfd >= 0 && flock(lfd, LOCK_EX | LOCK_NB) < 0)
            continue;
        if (!dry && rm_rf_at(dir, names[i], err) < 0) {
            close(dir);
            return lade_error_prefix(err, "cannot remove cache mount %s", names[i]);
        }
        count(&freed->mounts, bytes);
    }
    if (dir >= 0)
        close(dir);
    return 0;
}

int
store_blob_footprints(struct store *st, char ***digests, uint64_t **bytes, struct lade_error *err)
{
    cleanup_strv char **blobs = list_dir(st->blobs_fd, ".");
    cleanup_strv char **layers = list_dir(st->layers_fd, ".");
    size_t n = strv_len(blobs);
    char **d = xcalloc(n + 1, sizeof(char *));
    uint64_t *b = xcalloc(n + 1, sizeof(uint64_t));

    (void) err;
    if (n > 0)
        qsort(blobs, n, sizeof(char *), cmp_str);
    for (size_t i = 0; i < n; i++) {
        struct stat sb;
        d[i] = xasprintf("sha256:%s", blobs[i]);
        if (fstatat(st->blobs_fd, blobs[i], &sb, AT_SYMLINK_NOFOLLOW) == 0)
            b[i] = (uint64_t) sb.st_blocks * 512;
    }
    for (size_t i = 0; layers && layers[i]; i++) {
        cleanup_free char *blob_file = xasprintf("%s/blob", layers[i]);
        cleanup_free char *blob = NULL;
        struct lade_error ignored = {0};
        size_t len;
        if (read_file_at(st->layers_fd, blob_file, 256, &blob, &len, &ignored) < 0)
            continue;
        blob[strcspn(blob, "\n")] = '\0';
        const char *key = blob;
        char **hit = n ? bsearch(&key, d, n, sizeof(char *), cmp_str) : NULL;
        if (hit != NULL)
            b[hit - d] += tree_bytes(st->layers_fd, layers[i]);
    }
    *digests = d;
    *bytes = b;
    return 0;
}
