/* SPDX-License-Identifier: Apache-2.0 */
/* RUN --mount=type=cache directories: ROOT/cachemounts/NAME[.N]/{data,lock}. An instance is
 * made whole in tmp/ (its data initialised by the caller) and renamed into place, so a crash
 * leaves either no instance or a complete one; a process that loses the race to create it
 * uses the winner's. Sharing is flock(2) on the instance's lock file, held while the RUN
 * runs: shared users hold it shared, a locked one exclusively (waiting for the others, as
 * BuildKit's sharing=locked does), a private one exclusively without waiting, moving on to
 * instance .1, .2, ... when it is held. */
#include "store-internal.h"

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
#include "../../builder/common/xalloc.h"

#define CACHE_DIR "cachemounts"
#define PRIVATE_MAX 1000

static int
open_area(struct store *st, struct lade_error *err)
{
    int fd;

    if (mkdirat(st->root_fd, CACHE_DIR, 0700) < 0 && errno != EEXIST)
        return lade_error_sys(err, "cannot create '%s/%s'", st->root, CACHE_DIR);
    fd = openat(st->root_fd, CACHE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return lade_error_sys(err, "cannot open '%s/%s'", st->root, CACHE_DIR);
    return fd;
}

/* Makes instance name in tmp/ (data initialised by init) and renames it into place; losing
 * the race to another process is fine: its instance is as good. */
static int
create_instance(struct store *st, int area_fd, const char *name, store_cache_init_fn init, void *ud,
                struct lade_error *err)
{
    cleanup_free char *tmp = NULL, *data = NULL, *lock = NULL;
    int rc = -1;

    if (store_tmp_dir(st, &tmp, err) < 0)
        return -1;
    data = xasprintf("%s/data", tmp);
    lock = xasprintf("%s/lock", tmp);
    int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || close(fd) < 0 || mkdir(data, 0755) < 0 || chmod(data, 0755) < 0) {
        lade_error_sys(err, "cannot create cache mount in '%s'", tmp);
        goto out;
    }
    if (init != NULL && init(ud, data, err) < 0)
        goto out;
    if (store_rename_from(st, tmp, area_fd, name) < 0 && errno != EEXIST && errno != ENOTEMPTY) {
        lade_error_sys(err, "cannot rename '%s' to '%s/%s/%s'", tmp, st->root, CACHE_DIR, name);
        goto out;
    }
    fsync(area_fd);
    rc = 0;
out:
    rm_rf_at(AT_FDCWD, tmp, NULL); /* gone already when renamed */
    return rc;
}

/* Opens instance name (creating it when missing) and takes its lock; 1 when it is held by
 * another process and wait is false. */
static int
lock_instance(struct store *st, int area_fd, const char *name, int how, store_cache_init_fn init,
              void *ud, struct store_cache_mount *out, struct lade_error *err)
{
    cleanup_free char *lock = xasprintf("%s/lock", name);
    cleanup_close int fd = openat(area_fd, lock, O_RDWR | O_CLOEXEC);

    if (fd < 0 && errno == ENOENT) {
        if (create_instance(st, area_fd, name, init, ud, err) < 0)
            return -1;
        fd = openat(area_fd, lock, O_RDWR | O_CLOEXEC);
    }
    if (fd < 0)
        return lade_error_sys(err, "cannot open '%s/%s/%s'", st->root, CACHE_DIR, lock);
    while (flock(fd, how) < 0) {
        if (errno == EWOULDBLOCK)
            return 1;
        if (errno != EINTR)
            return lade_error_sys(err, "cannot lock '%s/%s/%s'", st->root, CACHE_DIR, lock);
    }
    /* The instance's mtime is its last use: lade prune --filter until=... reads it (gc.c). */
    struct timespec now[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_nsec = UTIME_NOW}};
    if (utimensat(area_fd, name, now, AT_SYMLINK_NOFOLLOW) < 0)
        return lade_error_sys(err, "cannot touch '%s/%s/%s'", st->root, CACHE_DIR, name);
    out->dir = xasprintf("%s/%s/%s/data", st->root, CACHE_DIR, name);
    out->lock_fd = steal_fd(&fd);
    return 0;
}

int
store_cache_mount_acquire(struct store *st, const char *name, enum store_cache_sharing sharing,
                          store_cache_init_fn init, void *ud, struct store_cache_mount *out,
                          struct lade_error *err)
{
    cleanup_close int area_fd = open_area(st, err);
    int rc;

    out->dir = NULL;
    out->lock_fd = -1;
    if (area_fd < 0)
        return -1;
    if (strchr(name, '/') != NULL || name[0] == '.' || name[0] == '\0')
        return lade_error_set(err, LADE_ERR_OTHER, "invalid cache mount name '%s'", name);
    switch (sharing) {
    case STORE_CACHE_SHARED:
        return lock_instance(st, area_fd, name, LOCK_SH, init, ud, out, err);
    case STORE_CACHE_LOCKED:
        return lock_instance(st, area_fd, name, LOCK_EX, init, ud, out, err);
    case STORE_CACHE_PRIVATE:
        break;
    }
    for (int i = 0; i < PRIVATE_MAX; i++) {
        cleanup_free char *inst = i == 0 ? xstrdup(name) : xasprintf("%s.%d", name, i);
        rc = lock_instance(st, area_fd, inst, LOCK_EX | LOCK_NB, init, ud, out, err);
        if (rc <= 0)
            return rc;
    }
    return lade_error_set(err, LADE_ERR_OTHER, "cache mount '%s': %d private instances in use",
                          name, PRIVATE_MAX);
}

void
store_cache_mount_release(struct store_cache_mount *m)
{
    if (m->lock_fd >= 0)
        close(m->lock_fd); /* drops the flock */
    free(m->dir);
    m->dir = NULL;
    m->lock_fd = -1;
}
