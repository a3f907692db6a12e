/* SPDX-License-Identifier: Apache-2.0 */
#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

/* Image paths are resolved by the kernel as if rootfd were "/": symlinks in an image can then
 * never reach the host (STYLE.md "Rootfs paths"). */
int
rootfs_open(int rootfd, const char *path, int flags, mode_t mode, struct lade_error *err)
{
    struct open_how how = {
        .flags = (uint64_t) (flags | O_CLOEXEC),
        .mode = (flags & O_CREAT) ? mode : 0,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    while (*path == '/')
        path++;
    if (*path == '\0')
        path = ".";
    long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
    if (fd < 0)
        return lade_error_sys(err, "cannot open '/%s'", path);
    return (int) fd;
}

char *
path_clean_abs(const char *path)
{
    size_t cap = strlen(path) + 2, n = 0;
    char *out = xmalloc(cap);

    /* out holds "/c1/c2..." without a trailing slash; ".." pops, never above "/". */
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            while (n > 0 && out[n - 1] != '/')
                n--;
            if (n > 0)
                n--;
        } else if (len > 0 && !(len == 1 && p[0] == '.')) {
            out[n++] = '/';
            memcpy(out + n, p, len);
            n += len;
        }
        p += len;
    }
    if (n == 0)
        out[n++] = '/';
    out[n] = '\0';
    return out;
}

/* mkdir -p by hand: each component is looked at without following it; a symlink is replaced by
 * its target (read as if the root were "/") and the walk restarts, so the directories a link
 * points to are created inside the root, never outside (as continuity's RootPath does). */
int
rootfs_mkdir_p(int rootfd, const char *path, mode_t mode, uid_t uid, gid_t gid,
               struct lade_error *err)
{
    cleanup_free char *todo = path_clean_abs(path);
    cleanup_free char *done = xstrdup("");
    cleanup_close int cur = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int links = 0;

    if (cur < 0)
        return lade_error_sys(err, "open root");
    for (char *p = todo + 1; *p;) {
        size_t len = strcspn(p, "/");
        cleanup_free char *comp = xstrndup(p, len);
        const char *rest = p[len] ? p + len + 1 : "";
        struct stat st;

        if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT)
                return lade_error_sys(err, "cannot stat '%s/%s'", done, comp);
            if (mkdirat(cur, comp, mode) < 0 ||
                fchownat(cur, comp, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
                fchmodat(cur, comp, mode, 0) < 0)
                return lade_error_sys(err, "cannot create directory '%s/%s'", done, comp);
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = readlinkat(cur, comp, target, sizeof(target) - 1);
            if (n < 0 || ++links > 40)
                return lade_error_errno(err, n < 0 ? errno : ELOOP, "cannot resolve '%s/%s'", done,
                                        comp);
            target[n] = '\0';
            char *joined = target[0] == '/' ? xasprintf("%s/%s", target, rest)
                                            : xasprintf("%s/%s/%s", done, target, rest);
            free(todo);
            todo = path_clean_abs(joined);
            free(joined);
            free(done);
            done = xstrdup("");
            close(cur);
            cur = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            p = todo + 1;
            continue;
        } else if (!S_ISDIR(st.st_mode)) {
            return lade_error_set(err, LADE_ERR_OTHER,
                                  "cannot create directory '%s': '%s/%s' is not a directory", path,
                                  done, comp);
        }
        int next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0)
            return lade_error_sys(err, "cannot open '%s/%s'", done, comp);
        close(cur);
        cur = next;
        char *d = xasprintf("%s/%s", done, comp);
        free(done);
        done = d;
        p = (char *) rest;
    }
    return 0;
}

/* Finds the line of /etc/passwd or /etc/group whose name (field 0) is name, as BuildKit's
 * readUser does (never by id). fields receives up to 4 fields (pointers into buf). */
static bool
db_find(char *buf, const char *name, char **fields, size_t nfields)
{
    char *save = NULL;

    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t n = 0;
        char *f = line;
        for (; n < nfields; n++) {
            fields[n] = f;
            char *c = f ? strchr(f, ':') : NULL;
            if (c)
                *c = '\0';
            f = c ? c + 1 : NULL;
        }
        if (fields[0] && fields[nfields - 1] && strcmp(fields[0], name) == 0)
            return true;
    }
    return false;
}

/* *out NULL when the file is missing. O_NONBLOCK and a type check: a FIFO planted as
 * /etc/passwd must not hang the step. */
static int
read_root_file(int rootfd, const char *path, char **out, struct lade_error *err)
{
    cleanup_close int fd = rootfs_open(rootfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, NULL);
    struct stat st;

    *out = NULL;
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return lade_error_set(err, LADE_ERR_OTHER, "'%s' in the image is not a regular file", path);
    return read_fd_all(fd, path, 16u << 20, out, NULL, err);
}

/* Decimal digits only, as Go's strconv (no sign, no spaces). */
static bool
parse_id(const char *s, unsigned long *out)
{
    char *end;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    *out = strtoul(s, &end, 10);
    return errno == 0 && *end == '\0' && *out < 0xfffffffful;
}

/* A part of a --chown spec that needs no file: "root", an id, or empty (BuildKit's UserOpt
 * with neither name nor id, which is id 0). */
static bool
spec_id(const char *s, unsigned long *out)
{
    if (*s == '\0' || strcmp(s, "root") == 0) {
        *out = 0;
        return true;
    }
    return parse_id(s, out);
}

int
rootfs_lookup_user(int rootfd, const char *spec, uid_t *uid, gid_t *gid, struct lade_error *err)
{
    cleanup_free char *user = xstrdup(spec);
    char *group = strchr(user, ':');
    unsigned long id, gid_id;
    char *f[4] = {0};

    if (group)
        *group++ = '\0';
    if (spec_id(user, &id)) {
        gid_id = id; /* an id without a group: gid = uid */
    } else {
        cleanup_free char *pw = NULL;
        if (read_root_file(rootfd, "/etc/passwd", &pw, err) < 0)
            return -1;
        if (pw == NULL || !db_find(pw, user, f, 4) || !parse_id(f[2], &id) ||
            !parse_id(f[3], &gid_id))
            return lade_error_set(err, LADE_ERR_OTHER,
                                  "unable to find user %s: no matching entries in passwd file",
                                  user);
    }
    if (group != NULL && !spec_id(group, &gid_id)) {
        cleanup_free char *gr = NULL;
        if (read_root_file(rootfd, "/etc/group", &gr, err) < 0)
            return -1;
        if (gr == NULL || !db_find(gr, group, f, 3) || !parse_id(f[2], &gid_id))
            return lade_error_set(err, LADE_ERR_OTHER,
                                  "unable to find group %s: no matching entries in group file",
                                  group);
    }
    *uid = (uid_t) id;
    *gid = (gid_t) gid_id;
    return 0;
}
