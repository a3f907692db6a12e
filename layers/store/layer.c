/* SPDX-License-Identifier: Apache-2.0 */
/* Extracted layers: ROOT/layers/HEX(chain id)/{diff/, diff_id, blob}. A layer directory is built
 * whole in tmp/ and renamed into place, so it exists complete or not at all; two processes that
 * extract the same layer both succeed and one copy is dropped. */
#include "store-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../builder/common/cleanup.h"
#include "../../builder/common/fsutil.h"
#include "../../builder/common/xalloc.h"

static int
check_ids(const char *chain_id, const char *diff_id, const char *blob_digest,
          struct lade_error *err)
{
    if (!digest_valid(chain_id))
        return lade_error_set(err, LADE_ERR_OTHER, "invalid chain id '%.80s'", chain_id);
    if (!digest_valid(diff_id))
        return lade_error_set(err, LADE_ERR_OTHER, "invalid diff id '%.80s'", diff_id);
    if (!digest_valid(blob_digest))
        return lade_error_set(err, LADE_ERR_OTHER, "invalid digest '%.80s'", blob_digest);
    return 0;
}

/* The diff dir of an existing layer, or NULL. */
static char *
existing(struct store *st, const char *chain_id)
{
    cleanup_free char *rel = xasprintf("%s/diff", digest_hex(chain_id));
    struct stat sb;

    if (fstatat(st->layers_fd, rel, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(sb.st_mode))
        return NULL;
    return xasprintf("%s/layers/%s", st->root, rel);
}

bool
store_layer_present(struct store *st, const char *chain_id)
{
    cleanup_free char *d = existing(st, chain_id);

    return d != NULL;
}

static int
write_small(int dirfd, const char *name, const char *text, struct lade_error *err)
{
    cleanup_close int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

    if (fd < 0 || write_all(fd, text, strlen(text)) < 0)
        return lade_error_sys(err, "cannot write '%s'", name);
    return 0;
}

/* Records diff_id and blob beside tmp_dir/diff, flushes the tree and renames tmp_dir to
 * layers/HEX. Losing the race to another process is success. */
static int
publish(struct store *st, const char *tmp_dir, const char *chain_id, const char *diff_id,
        const char *blob_digest, struct lade_error *err)
{
    cleanup_close int dfd = open(tmp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (dfd < 0)
        return lade_error_sys(err, "cannot open '%s'", tmp_dir);
    if (write_small(dfd, "diff_id", diff_id, err) < 0 ||
        write_small(dfd, "blob", blob_digest, err) < 0)
        return -1;
    /* One syncfs instead of an fsync per file: the tree must be on disk before its name is. */
    if (syncfs(dfd) < 0)
        return lade_error_sys(err, "cannot sync '%s'", tmp_dir);
    if (store_rename_from(st, tmp_dir, st->layers_fd, digest_hex(chain_id)) < 0) {
        if (errno == EEXIST || errno == ENOTEMPTY)
            return rm_rf_at(AT_FDCWD, tmp_dir, err);
        return lade_error_sys(err, "cannot move layer %s into place", chain_id);
    }
    if (fsync(st->layers_fd) < 0)
        return lade_error_sys(err, "cannot sync '%s/layers'", st->root);
    return 0;
}

static int
extract_into(struct store *st, const char *tmp_dir, const char *diff_id, const char *blob_digest,
             struct lade_error *err)
{
    cleanup_free char *diff = xasprintf("%s/diff", tmp_dir);
    cleanup_close int blob_fd = -1;
    cleanup_close int diff_fd = -1;

    if (mkdir(diff, 0755) < 0)
        return lade_error_sys(err, "cannot create '%s'", diff);
    diff_fd = open(diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (diff_fd < 0 || fchmod(diff_fd, 0755) < 0) /* the image's root: not the umask's mode */
        return lade_error_sys(err, "cannot open '%s'", diff);
    blob_fd = store_blob_open(st, blob_digest, err);
    if (blob_fd < 0)
        return -1;
    return layer_extract(blob_fd, diff_fd, diff_id, NULL, err);
}

int
store_layer_dir(struct store *st, const char *chain_id, const char *diff_id,
                const char *blob_digest, char **dir, struct lade_error *err)
{
    cleanup_free char *tmp = NULL;
    char *d;

    if (check_ids(chain_id, diff_id, blob_digest, err) < 0)
        return -1;
    if ((d = existing(st, chain_id)) != NULL) {
        *dir = d;
        return 0;
    }
    if (store_tmp_dir(st, &tmp, err) < 0)
        return -1;
    if (extract_into(st, tmp, diff_id, blob_digest, err) < 0 ||
        publish(st, tmp, chain_id, diff_id, blob_digest, err) < 0) {
        struct lade_error ignored = {0};
        rm_rf_at(AT_FDCWD, tmp, &ignored);
        return lade_error_prefix(err, "layer %s", blob_digest);
    }
    *dir = existing(st, chain_id);
    if (*dir == NULL)
        return lade_error_set(err, LADE_ERR_IO, "layer %s vanished after extraction", chain_id);
    return 0;
}

int
store_layer_adopt(struct store *st, const char *chain_id, const char *diff_id,
                  const char *blob_digest, const char *tree_path, char **dir,
                  struct lade_error *err)
{
    cleanup_free char *tmp = NULL;
    cleanup_free char *diff = NULL;
    char *d;

    if (check_ids(chain_id, diff_id, blob_digest, err) < 0)
        return -1;
    if ((d = existing(st, chain_id)) != NULL) {
        if (rm_rf_at(AT_FDCWD, tree_path, err) < 0) {
            free(d);
            return -1;
        }
        *dir = d;
        return 0;
    }
    if (store_tmp_dir(st, &tmp, err) < 0)
        return -1;
    diff = xasprintf("%s/diff", tmp);
    if (rename(tree_path, diff) < 0) {
        lade_error_sys(err, "cannot move '%s' into the store", tree_path);
        rmdir(tmp);
        return -1;
    }
    if (publish(st, tmp, chain_id, diff_id, blob_digest, err) < 0) {
        /* Give the tree back so the caller still owns what it passed in. */
        if (rename(diff, tree_path) == 0) {
            struct lade_error ignored = {0};
            rm_rf_at(AT_FDCWD, tmp, &ignored);
        }
        return lade_error_prefix(err, "layer %s", blob_digest);
    }
    *dir = existing(st, chain_id);
    if (*dir == NULL)
        return lade_error_set(err, LADE_ERR_IO, "layer %s vanished after adoption", chain_id);
    return 0;
}
