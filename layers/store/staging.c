/* SPDX-License-Identifier: Apache-2.0 */
/* Staging in ROOT/tmp and the removal of what killed processes left there.
 *
 * A process that stages registers an owner file, tmp/owner-TOKEN, and holds an flock on it for
 * its lifetime; its staging entries are named TOKEN.dir-XXXXXX and TOKEN.file-XXXXXX. The kernel
 * drops the flock when the last holder dies (kill -9 included), so a sweeper that can take it
 * knows the owner is gone, whatever its pid became: no pid reuse, no pid namespace can fool it.
 * Forked helpers (the sandbox's keeper) inherit the descriptor and keep the entries alive while
 * they run. Registration and the sweep both run under the store lock, so a sweeper never sees an
 * owner file before its flock is taken. */
#include "store-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../builder/common/cleanup.h"
#include "../../builder/common/fsutil.h"
#include "../../builder/common/strv.h"
#include "../../builder/common/xalloc.h"

#define OWNER_PREFIX "owner-"
/* Entries in the format of older versions (dir-XXXXXX, file-XXXXXX, no owner) are removed once
 * they are this old; younger ones may belong to a running older lade. */
#define LEGACY_MAX_AGE (24 * 60 * 60)

/* ---- registration ---- */

static int
register_owner(struct store *st, struct lade_error *err)
{
    cleanup_free char *p = xasprintf("%s/tmp/" OWNER_PREFIX "XXXXXX", st->root);
    int fd, rc = -1;

    if (store_lock(st, err) < 0)
        return -1;
    if (st->owner_fd >= 0) { /* another thread registered meanwhile */
        store_unlock(st);
        return 0;
    }
    fd = mkostemp(p, O_CLOEXEC);
    if (fd < 0) {
        lade_error_sys(err, "cannot create a file in '%s/tmp'", st->root);
    } else if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        lade_error_sys(err, "cannot lock '%s'", p);
        unlink(p);
        close(fd);
    } else {
        snprintf(st->owner, sizeof(st->owner), "%s", strrchr(p, '/') + 1 + strlen(OWNER_PREFIX));
        __atomic_store_n(&st->owner_fd, fd, __ATOMIC_RELEASE);
        rc = 0;
    }
    store_unlock(st);
    return rc;
}

void
store_staging_release(struct store *st)
{
    if (st->owner_fd < 0)
        return;
    /* Whatever this process left in tmp/ is now an orphan the next sweep removes. */
    cleanup_free char *name = xasprintf(OWNER_PREFIX "%s", st->owner);
    unlinkat(st->tmp_fd, name, 0);
    close(st->owner_fd);
    st->owner_fd = -1;
}

/* tmp/TOKEN.KIND-XXXXXX as an absolute path, caller frees. */
static char *
staging_template(struct store *st, const char *kind, struct lade_error *err)
{
    /* owner_fd and owner are set once, under the lock, and never change while the store is
     * open; a racing reader of -1 just takes the lock and finds it set */
    if (__atomic_load_n(&st->owner_fd, __ATOMIC_ACQUIRE) < 0 && register_owner(st, err) < 0)
        return NULL;
    return xasprintf("%s/tmp/%s.%s-XXXXXX", st->root, st->owner, kind);
}

int
store_tmp_file(struct store *st, char **path, int *fd, struct lade_error *err)
{
    char *p = staging_template(st, "file", err);
    int f = p != NULL ? mkostemp(p, O_CLOEXEC) : -1;

    if (f < 0) {
        if (p != NULL)
            lade_error_sys(err, "cannot create a file in '%s/tmp'", st->root);
        free(p);
        return -1;
    }
    *path = p;
    *fd = f;
    return 0;
}

int
store_tmp_dir(struct store *st, char **path, struct lade_error *err)
{
    char *p = staging_template(st, "dir", err);

    if (p == NULL || mkdtemp(p) == NULL) {
        if (p != NULL)
            lade_error_sys(err, "cannot create a directory in '%s/tmp'", st->root);
        free(p);
        return -1;
    }
    *path = p;
    return 0;
}

/* ---- leftover mounts ---- */

/* A mountinfo path with its octal escapes (\040 for a space, ...) decoded, in place. */
static void
unescape_mountinfo(char *s)
{
    char *o = s;

    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *o++ = (char) ((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
            s += 3;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
}

/* The newest mount point at or under dir, or NULL; caller frees. */
static char *
last_mount_under(const char *dir)
{
    cleanup_file FILE *f = fopen("/proc/self/mountinfo", "re");
    cleanup_free char *line = NULL;
    size_t cap = 0, n = strlen(dir);
    char *found = NULL;

    while (f != NULL && getline(&line, &cap, f) > 0) {
        char *save = NULL, *mp = strtok_r(line, " ", &save);
        for (int i = 0; mp != NULL && i < 4; i++)
            mp = strtok_r(NULL, " ", &save);
        if (mp == NULL)
            continue;
        unescape_mountinfo(mp);
        if (strncmp(mp, dir, n) == 0 && (mp[n] == '\0' || mp[n] == '/')) {
            free(found);
            found = xstrdup(mp);
        }
    }
    return found;
}

/* Unmounts everything at or under dir, newest first. -1 when one stays (no privilege). */
static int
unmount_under(const char *dir)
{
    char *mp;

    for (int guard = 0; (mp = last_mount_under(dir)) != NULL; guard++) {
        int rc = guard < 4096 ? umount2(mp, MNT_DETACH | UMOUNT_NOFOLLOW) : -1;
        free(mp);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- the sweep ---- */

/* Removes tmp/name, unmounting first: rm -rf through a mounted overlay would write whiteouts
 * into an upper dir, or fail on a read-only one. */
static void
remove_entry(struct store *st, const char *name, bool mounts)
{
    struct lade_error ignored = {0};

    if (mounts) {
        cleanup_free char *path = xasprintf("%s/tmp/%s", st->root, name);
        if (unmount_under(path) < 0)
            return;
    }
    rm_rf_at(st->tmp_fd, name, &ignored);
}

static char **
list_tmp(struct store *st)
{
    cleanup_dir DIR *d = NULL;
    int fd = dup(st->tmp_fd);
    struct dirent *de;
    char **names = NULL;

    if (fd < 0 || (d = fdopendir(fd)) == NULL) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            names = strv_push(names, de->d_name);
    return names;
}

/* Whether owner file name is held by no process. *fd keeps it locked (caller closes). */
static bool
owner_gone(struct store *st, const char *name, int *fd)
{
    *fd = openat(st->tmp_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (*fd >= 0 && flock(*fd, LOCK_EX | LOCK_NB) == 0)
        return true;
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
    return false;
}

/* Whether staging entry name has lost its owner file: removed by the owner on exit or by the
 * pass over dead owners (or an earlier sweep's). */
static bool
entry_orphaned(struct store *st, const char *name, size_t token_len)
{
    cleanup_free char *owner = xasprintf(OWNER_PREFIX "%.*s", (int) token_len, name);

    return faccessat(st->tmp_fd, owner, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
}

static bool
legacy_expired(struct store *st, const char *name, time_t now)
{
    struct stat sb;

    return fstatat(st->tmp_fd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
           now - sb.st_mtime > LEGACY_MAX_AGE;
}

void
store_staging_sweep(struct store *st)
{
    struct lade_error ignored = {0};
    cleanup_free char *tmp_path = xasprintf("%s/tmp", st->root);
    cleanup_free char *mine = st->owner_fd >= 0 ? xasprintf(OWNER_PREFIX "%s", st->owner) : NULL;
    cleanup_free char *mp = last_mount_under(tmp_path);
    time_t now = time(NULL);
    char **names;

    if (store_lock(st, &ignored) < 0)
        return;
    names = list_tmp(st);
    /* Owners first: an owner found gone is unlinked (its lock held meanwhile), which makes
     * its entries orphans for the pass below. */
    for (size_t i = 0; names && names[i]; i++) {
        int fd;
        if (strncmp(names[i], OWNER_PREFIX, strlen(OWNER_PREFIX)) != 0 ||
            (mine && strcmp(names[i], mine) == 0) || !owner_gone(st, names[i], &fd))
            continue;
        unlinkat(st->tmp_fd, names[i], 0);
        close(fd);
    }
    for (size_t i = 0; names && names[i]; i++) {
        const char *dot = strchr(names[i], '.');
        size_t token_len = dot ? (size_t) (dot - names[i]) : 0;
        bool ours = dot && st->owner_fd >= 0 && strlen(st->owner) == token_len &&
                    strncmp(names[i], st->owner, token_len) == 0;
        if (strncmp(names[i], OWNER_PREFIX, strlen(OWNER_PREFIX)) == 0 || ours)
            continue;
        if (dot ? entry_orphaned(st, names[i], token_len) : legacy_expired(st, names[i], now))
            remove_entry(st, names[i], mp != NULL);
    }
    strv_free(names);
    store_unlock(st);
}
