/* SPDX-License-Identifier: Apache-2.0 */
/* Mount points inside the rootfs, and the files bound onto /etc. Runs in the sandbox's outer
 * child, on the overlay before and after the process. Image paths are resolved only inside
 * the rootfs (openat2 RESOLVE_IN_ROOT), never joined onto host paths (STYLE.md section 6). */
#include "sandbox-internal.h"

#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "../common/cleanup.h"
#include "../common/fsutil.h"
#include "../common/userns.h"
#include "../common/xalloc.h"

/* Where the sandbox mounts something; a parent ("etc") is created when missing too. */
const struct sandbox_mountpoint sandbox_mountpoints[] = {
    {"proc", true}, {"sys", true}, {"dev", true}, {"etc/hosts", false}, {"etc/resolv.conf", false},
};
const size_t sandbox_nmountpoints = sizeof(sandbox_mountpoints) / sizeof(sandbox_mountpoints[0]);

#define IN_ROOT (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

int
rootfs_open_mountpoint(int root_fd, const char *rel, bool dir, struct lade_error *err)
{
    struct stat st;
    cleanup_close int fd = sys_openat2(root_fd, rel, O_PATH | O_CLOEXEC, IN_ROOT);

    if (fd < 0)
        return lade_error_sys(err, "cannot open mount point '/%s'", rel);
    if (fstat(fd, &st) < 0)
        return lade_error_sys(err, "cannot stat mount point '/%s'", rel);
    if (S_ISDIR(st.st_mode) != dir)
        return lade_error_set(err, LADE_ERR_RUN, "cannot mount on '/%s': %s", rel,
                              dir ? "not a directory" : "is a directory");
    return steal_fd(&fd);
}

/* Splits "etc/hosts" into "etc" and "hosts"; the parent of "proc" is "."; parent is
 * PATH_MAX bytes. */
static void
split_path(const char *rel, char *parent, const char **name)
{
    const char *slash = strrchr(rel, '/');

    if (slash == NULL) {
        snprintf(parent, PATH_MAX, ".");
        *name = rel;
        return;
    }
    snprintf(parent, PATH_MAX, "%.*s", (int) (slash - rel), rel);
    *name = slash + 1;
}

static int
open_parent(int root_fd, const char *parent)
{
    return sys_openat2(root_fd, parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC, IN_ROOT);
}

static int
make_node(int parent_fd, const char *name, bool dir)
{
    if (dir)
        return mkdirat(parent_fd, name, 0755);
    int fd = openat(parent_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* Creates the missing rel (its parent first) and records it. */
static int
stub_make(int root_fd, const char *rel, bool dir, struct stub_list *stubs, struct lade_error *err)
{
    char parent[PATH_MAX];
    const char *name;
    struct stat before, after;

    if (strlen(rel) >= sizeof(parent))
        return lade_error_set(err, LADE_ERR_RUN, "mount point '/%.64s...' is too long", rel);
    split_path(rel, parent, &name);
    if (strcmp(parent, ".") != 0 && stub_ensure(root_fd, parent, true, stubs, err) < 0)
        return -1;
    cleanup_close int pfd = open_parent(root_fd, parent);
    if (pfd < 0 || fstat(pfd, &before) < 0)
        return lade_error_sys(err, "cannot open '/%s'", parent);
    if (make_node(pfd, name, dir) < 0) {
        if (errno == EEXIST) /* openat2 said ENOENT, so it is a dangling symlink */
            return lade_error_set(err, LADE_ERR_RUN,
                                  "cannot mount on '/%s': dangling symbolic link", rel);
        return lade_error_sys(err, "cannot create mount point '/%s'", rel);
    }
    if (fstat(pfd, &after) < 0)
        return lade_error_sys(err, "cannot stat '/%s'", parent);
    stubs->v = xrealloc(stubs->v, (stubs->n + 1) * sizeof(*stubs->v));
    struct mount_stub *s = &stubs->v[stubs->n++];
    *s = (struct mount_stub){.path = xstrdup(rel), .dir = dir};
    s->parent_atime = before.st_atim;
    s->parent_mtime = before.st_mtim;
    s->parent_mtime_after = after.st_mtim;
    return 0;
}

int
stub_ensure(int root_fd, const char *rel, bool dir, struct stub_list *stubs, struct lade_error *err)
{
    int fd = sys_openat2(root_fd, rel, O_PATH | O_CLOEXEC, IN_ROOT);

    if (fd >= 0) {
        close(fd);
        return 0; /* its type is checked when mounting */
    }
    if (errno != ENOENT)
        return lade_error_sys(err, "cannot open mount point '/%s'", rel);
    return stub_make(root_fd, rel, dir, stubs, err);
}

void
stubs_release(struct stub_list *stubs)
{
    for (size_t i = 0; i < stubs->n; i++)
        free(stubs->v[i].path);
    free(stubs->v);
    memset(stubs, 0, sizeof(*stubs));
}

int
stubs_create(int root_fd, struct stub_list *stubs, struct lade_error *err)
{
    for (size_t i = 0; i < sandbox_nmountpoints; i++) {
        const struct sandbox_mountpoint *m = &sandbox_mountpoints[i];
        if (stub_ensure(root_fd, m->path, m->dir, stubs, err) < 0)
            return -1;
    }
    return 0;
}

int
sandbox_mount_target(const struct sandbox_mount *m, const char **rel, struct lade_error *err)
{
    const char *t = m->target;

    if (t == NULL || t[0] != '/')
        return lade_error_set(err, LADE_ERR_RUN, "mount target '%s' is not absolute", t ? t : "");
    while (*t == '/')
        t++;
    if (*t == '\0')
        return lade_error_set(err, LADE_ERR_RUN, "invalid mount target \"/\"");
    for (const char *c = t; *c;) {
        size_t n = strcspn(c, "/");
        if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return lade_error_set(err, LADE_ERR_RUN, "mount target '%s' is not clean", m->target);
        c += n;
        c += *c == '/';
    }
    *rel = t;
    return 0;
}

int
sandbox_mount_is_dir(const struct sandbox_mount *m, bool *dir, struct lade_error *err)
{
    struct stat st;

    switch (m->type) {
    case SANDBOX_MOUNT_TMPFS:
        *dir = true;
        return 0;
    case SANDBOX_MOUNT_BIND:
        break;
    }
    if (m->source == NULL || stat(m->source, &st) < 0)
        return lade_error_sys(err, "cannot mount '%s' on '%s'", m->source ? m->source : "",
                              m->target);
    *dir = S_ISDIR(st.st_mode);
    return 0;
}

/* /proc, /sys and /dev hold the sandbox's own filesystems when the mounts are made. */
static bool
under_special(const char *rel)
{
    static const char *const special[] = {"proc", "sys", "dev"};

    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(special[i]);
        if (strncmp(rel, special[i], n) == 0 && (rel[n] == '/' || rel[n] == '\0'))
            return true;
    }
    return false;
}

int
stubs_create_for_mounts(int root_fd, const struct sandbox_spec *spec, struct stub_list *stubs,
                        struct lade_error *err)
{
    for (size_t i = 0; i < spec->nmounts; i++) {
        const struct sandbox_mount *m = &spec->mounts[i];
        const char *rel;
        bool dir;
        if (sandbox_mount_target(m, &rel, err) < 0 || sandbox_mount_is_dir(m, &dir, err) < 0)
            return -1;
        if (!under_special(rel) && stub_ensure(root_fd, rel, dir, stubs, err) < 0)
            return -1;
    }
    return 0;
}

static bool
timespec_eq(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* Removes an empty stub; a RUN that put something there keeps it, as BuildKit does. */
static bool
stub_unlink(int pfd, const char *name, bool dir)
{
    struct stat st;

    if (dir)
        return unlinkat(pfd, name, AT_REMOVEDIR) == 0;
    if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) || st.st_size != 0)
        return false;
    return unlinkat(pfd, name, 0) == 0;
}

/* Undoes the stub's change to its parent's mtime, unless the RUN changed the parent too:
 * then the mtime it left is the one to keep. */
static void
stub_remove(int root_fd, struct mount_stub *s)
{
    char parent[PATH_MAX];
    const char *name;
    struct stat now;

    split_path(s->path, parent, &name);
    cleanup_close int pfd = open_parent(root_fd, parent);
    if (pfd < 0 || fstat(pfd, &now) < 0)
        return;
    if (!stub_unlink(pfd, name, s->dir))
        return;
    s->removed = true;
    if (timespec_eq(now.st_mtim, s->parent_mtime_after)) {
        struct timespec times[2] = {s->parent_atime, s->parent_mtime};
        futimens(pfd, times);
    }
}

void
stubs_remove(int root_fd, struct stub_list *stubs)
{
    for (size_t i = stubs->n; i > 0; i--)
        stub_remove(root_fd, &stubs->v[i - 1]);
}

/* ---- copy-ups the stubs caused ---- */

#define BENEATH_NO_LINKS (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)

static bool
dir_is_empty(int fd)
{
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    cleanup_dir DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    struct dirent *de;

    if (d == NULL) {
        if (dup_fd >= 0)
            close(dup_fd);
        return false;
    }
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            return false;
    return true;
}

/* The visible lower copy of rel: the top-most layer that has it (index 0 is the top). */
static int
open_lower_dir(char *const *lowers, size_t nlower, const char *rel)
{
    for (size_t i = 0; i < nlower; i++) {
        cleanup_close int top = open(lowers[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (top < 0)
            return -1;
        int fd = sys_openat2(top, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC, BENEATH_NO_LINKS);
        if (fd >= 0 || errno != ENOENT)
            return fd; /* ENOTDIR: a whiteout or a file hides it */
    }
    return -1;
}

/* Extended attributes other than overlay's own (trusted.overlay.*, user.overlay.*), name and
 * value. */
static bool
xattr_subset(int a, int b)
{
    char names[4096], va[1024], vb[1024];
    ssize_t n = flistxattr(a, names, sizeof(names));

    if (n < 0)
        return false;
    for (char *k = names; k < names + n; k += strlen(k) + 1) {
        if (userns_overlay_xattr(k))
            continue;
        ssize_t la = fgetxattr(a, k, va, sizeof(va)), lb = fgetxattr(b, k, vb, sizeof(vb));
        if (la < 0 || la != lb || memcmp(va, vb, (size_t) la) != 0)
            return false;
    }
    return true;
}

static bool
same_dir(int upper_fd, int lower_fd)
{
    struct stat u, l;

    if (fstat(upper_fd, &u) < 0 || fstat(lower_fd, &l) < 0)
        return false;
    if (u.st_mode != l.st_mode || u.st_uid != l.st_uid || u.st_gid != l.st_gid ||
        !timespec_eq(u.st_mtim, l.st_mtim))
        return false;
    return xattr_subset(upper_fd, lower_fd) && xattr_subset(lower_fd, upper_fd);
}

static bool
prune_copy_up(int upper_fd, char *const *lowers, size_t nlower, const char *rel)
{
    char parent[PATH_MAX];
    const char *name;
    cleanup_close int fd =
        sys_openat2(upper_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC, BENEATH_NO_LINKS);
    cleanup_close int lower_fd = -1, pfd = -1;

    /* an opaque directory hides its lower contents: emptied by the RUN, a real change */
    if (fd < 0 || !dir_is_empty(fd) || overlay_opaque_marked(fd))
        return false;
    lower_fd = open_lower_dir(lowers, nlower, rel);
    if (lower_fd < 0 || !same_dir(fd, lower_fd))
        return false;
    split_path(rel, parent, &name);
    pfd = sys_openat2(upper_fd, parent, O_PATH | O_DIRECTORY | O_CLOEXEC, BENEATH_NO_LINKS);
    return pfd >= 0 && unlinkat(pfd, name, AT_REMOVEDIR) == 0;
}

void
stubs_prune_copy_ups(const char *upper, char *const *lowers, size_t nlower,
                     const struct stub_list *stubs)
{
    cleanup_close int upper_fd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char parent[PATH_MAX], up[PATH_MAX];
    const char *name;

    for (size_t i = stubs->n; upper_fd >= 0 && i > 0; i--) {
        const struct mount_stub *s = &stubs->v[i - 1];
        if (!s->removed)
            continue;
        split_path(s->path, parent, &name);
        /* each pruned directory may have been its parent's only reason to be copied up */
        while (strcmp(parent, ".") != 0 && prune_copy_up(upper_fd, lowers, nlower, parent)) {
            snprintf(up, sizeof(up), "%s", parent);
            split_path(up, parent, &name);
        }
    }
}

/* BuildKit writes its own hosts file rather than copying the host's (executor/oci/hosts.go);
 * its sandbox name becomes the RUN's hostname here. */
static int
write_hosts(const char *path, const char *hostname, struct lade_error *err)
{
    char text[256];
    int n =
        snprintf(text, sizeof(text),
                 "127.0.0.1\tlocalhost %s\n::1\tlocalhost ip6-localhost ip6-loopback\n", hostname);
    cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0 || write_all(fd, text, (size_t) n) < 0)
        return lade_error_sys(err, "cannot write '%s'", path);
    return 0;
}

/* A copy, so that a RUN writing /etc/resolv.conf never touches the host's. */
static int
copy_resolv_conf(const char *path, struct lade_error *err)
{
    cleanup_close int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cleanup_close int in = -1;

    if (out < 0)
        return lade_error_sys(err, "cannot write '%s'", path);
    in = open("/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return errno == ENOENT ? 0 : lade_error_sys(err, "cannot open '/etc/resolv.conf'");
    return copy_fd(in, out, err);
}

int
etc_files_write(const char *hosts_path, const char *resolv_path, const char *hostname,
                struct lade_error *err)
{
    if (write_hosts(hosts_path, hostname, err) < 0)
        return -1;
    return copy_resolv_conf(resolv_path, err);
}
