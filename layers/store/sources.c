/* SPDX-License-Identifier: Apache-2.0 */
/* Where blobs came from: ROOT/sources/HEX lists the repositories ("domain/path", newest first,
 * one per line) a blob is known to exist in, so a push to another repository of the same
 * registry can mount it instead of uploading it. A hint: a lost or stale line costs an upload. */
#include "store-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../builder/common/buf.h"
#include "../../builder/common/cleanup.h"
#include "../../builder/common/fsutil.h"
#include "../../builder/common/strv.h"

#define SOURCES_DIR "sources"
#define SOURCES_MAX 8 /* repositories kept per blob */
#define SOURCES_FILE_MAX 8192

static int
sources_dir(struct store *st, bool create, struct lade_error *err)
{
    int fd = openat(st->root_fd, SOURCES_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0 && errno == ENOENT && create) {
        if (mkdirat(st->root_fd, SOURCES_DIR, 0755) < 0 && errno != EEXIST)
            return lade_error_sys(err, "cannot create '%s/%s'", st->root, SOURCES_DIR);
        fd = openat(st->root_fd, SOURCES_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (fd < 0 && create)
        return lade_error_sys(err, "cannot open '%s/%s'", st->root, SOURCES_DIR);
    return fd;
}

/* The lines of the record, newest first; NULL when there is none. */
static char **
read_sources(int dirfd, const char *digest)
{
    cleanup_free char *data = NULL;
    struct lade_error ignored = {0};
    char **v = NULL, *save = NULL;

    if (dirfd < 0 ||
        read_file_at(dirfd, digest_hex(digest), SOURCES_FILE_MAX, &data, NULL, &ignored) < 0)
        return NULL;
    for (char *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        v = strv_push(v, l);
    return v;
}

char **
store_sources_get(struct store *st, const char *digest)
{
    cleanup_close int fd = -1;

    if (!digest_valid(digest))
        return NULL;
    fd = sources_dir(st, false, NULL);
    return read_sources(fd, digest);
}

int
store_source_add(struct store *st, const char *digest, const char *repo, struct lade_error *err)
{
    cleanup_close int fd = -1;
    struct lade_buf text = LADE_BUF_INIT;
    char **old = NULL;
    size_t kept = 1;
    int rc;

    if (!digest_valid(digest) || repo[0] == '\0' || strpbrk(repo, "\n\r") != NULL)
        return lade_error_set(err, LADE_ERR_OTHER, "invalid blob source '%.80s' for %.80s", repo,
                              digest);
    if ((fd = sources_dir(st, true, err)) < 0 || store_lock(st, err) < 0)
        return -1;
    old = read_sources(fd, digest);
    if (old != NULL && strcmp(old[0], repo) == 0) { /* already the newest: nothing to write */
        strv_free(old);
        store_unlock(st);
        return 0;
    }
    lade_buf_appendf(&text, "%s\n", repo);
    for (size_t i = 0; old != NULL && old[i] != NULL && kept < SOURCES_MAX; i++)
        if (strcmp(old[i], repo) != 0) {
            lade_buf_appendf(&text, "%s\n", old[i]);
            kept++;
        }
    rc = store_write_atomic(st, fd, digest_hex(digest), text.data, text.len, err);
    store_unlock(st);
    strv_free(old);
    lade_buf_release(&text);
    return rc;
}
