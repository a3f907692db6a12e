/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers on the new mount API (fsopen/fsconfig/fsmount, open_tree, mount_setattr,
 * move_mount). Mounts are built detached and attached onto O_PATH fds, so no path is
 * resolved twice and no symlink in an image can redirect a mount (STYLE.md section 6). */
#include "sandbox-internal.h"

#include <errno.h>
#include <string.h>

#include "../common/cleanup.h"

void
mnt_fs_log(int fs_fd, char *buf, size_t size)
{
    char line[512];

    buf[0] = '\0';
    /* Each read returns one "e msg" / "w msg" / "i msg" line; ENODATA when drained. */
    for (int i = 0; i < 16; i++) {
        ssize_t n = read(fs_fd, line, sizeof(line) - 1);
        if (n <= 0)
            break;
        line[n] = '\0';
        if (n > 0 && line[n - 1] == '\n')
            line[n - 1] = '\0';
        snprintf(buf, size, "%s", n > 2 && line[1] == ' ' ? line + 2 : line);
    }
}

static int
fs_error(int fs_fd, const char *fstype, const char *what, struct lade_error *err)
{
    int saved = errno;
    char log[512];

    mnt_fs_log(fs_fd, log, sizeof(log));
    if (log[0] != '\0')
        return lade_error_errno(err, saved, "cannot mount %s: %s (%s)", fstype, what, log);
    return lade_error_errno(err, saved, "cannot mount %s: %s", fstype, what);
}

static int
fs_configure(int fs_fd, const char *fstype, const struct mnt_opt *opts, size_t nopts,
             struct lade_error *err)
{
    /* The source names the mount in /proc/self/mounts ("proc /proc proc ..."), as mount(8)
     * would; without it the kernel shows "none". */
    if (sys_fsconfig(fs_fd, FSCONFIG_SET_STRING, "source", fstype, 0) < 0)
        return fs_error(fs_fd, fstype, "source", err);
    for (size_t i = 0; i < nopts; i++) {
        const struct mnt_opt *o = &opts[i];
        unsigned cmd = o->value != NULL ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG;
        if (sys_fsconfig(fs_fd, cmd, o->key, o->value, 0) < 0)
            return fs_error(fs_fd, fstype, o->key, err);
    }
    if (sys_fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return fs_error(fs_fd, fstype, "create", err);
    return 0;
}

int
mnt_new(const char *fstype, const struct mnt_opt *opts, size_t nopts, unsigned attrs,
        struct lade_error *err)
{
    cleanup_close int fs_fd = sys_fsopen(fstype, FSOPEN_CLOEXEC);

    if (fs_fd < 0)
        return lade_error_sys(err, "cannot mount %s: fsopen", fstype);
    if (fs_configure(fs_fd, fstype, opts, nopts, err) < 0)
        return -1;
    int mnt_fd = sys_fsmount(fs_fd, FSMOUNT_CLOEXEC, attrs);
    if (mnt_fd < 0)
        return fs_error(fs_fd, fstype, "fsmount", err);
    return mnt_fd;
}

int
mnt_clone(int dirfd, const char *path, unsigned attrs, bool recursive, struct lade_error *err)
{
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
    struct mount_attr attr = {.attr_set = attrs};

    if (path[0] == '\0')
        flags |= AT_EMPTY_PATH;
    cleanup_close int fd = sys_open_tree(dirfd, path, flags);
    if (fd < 0)
        return lade_error_sys(err, "cannot bind '%s'", path);
    if (attrs != 0 &&
        sys_mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr) < 0)
        return lade_error_sys(err, "cannot set mount attributes of '%s'", path);
    return steal_fd(&fd);
}

int
mnt_attach(int mnt_fd, int target_fd, const char *what, struct lade_error *err)
{
    if (sys_move_mount(mnt_fd, "", target_fd, "",
                       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return lade_error_sys(err, "cannot mount '%s'", what);
    return 0;
}
