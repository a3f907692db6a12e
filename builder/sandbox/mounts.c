/* SPDX-License-Identifier: Apache-2.0 */
/* The sandbox's own mounts inside the rootfs: /proc, /sys, /dev and the /etc binds, then
 * pivot_root. Runs in the sandbox's init, in a mount namespace of its own, so all of it
 * vanishes with the last process (and never reaches the layer: see rootfs.c).
 * Every mount is built detached with the new mount API (fsopen/fsconfig/fsmount, open_tree,
 * mount_setattr) and attached onto an O_PATH fd with move_mount, so no path is resolved
 * twice and no symlink in an image can redirect a mount (STYLE.md section 6). */
#include "sandbox-internal.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/cleanup.h"

/* ---- the new mount API, one detached mount at a time ---- */

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

/* "cannot mount overlay: upperdir '/x' (kernel log line): No such file or directory" */
static int
fs_error(int fs_fd, const char *fstype, const char *key, const char *value, struct lade_error *err)
{
    int saved = errno;
    char log[512], what[512];

    if (value != NULL)
        snprintf(what, sizeof(what), "%s '%s'", key, value);
    else
        snprintf(what, sizeof(what), "%s", key);
    mnt_fs_log(fs_fd, log, sizeof(log));
    if (log[0] != '\0')
        return lade_error_errno(err, saved, "cannot mount %s: %s (%s)", fstype, what, log);
    /* overlay explains most refusals (upper and work on two mounts...) only in dmesg */
    return lade_error_errno(err, saved, "cannot mount %s: %s%s", fstype, what,
                            value == NULL ? " (see dmesg)" : "");
}

static int
fs_configure(int fs_fd, const char *fstype, const struct mnt_opt *opts, size_t nopts,
             struct lade_error *err)
{
    /* The source names the mount in /proc/self/mounts ("proc /proc proc ..."), as mount(8)
     * would; without it the kernel shows "none". */
    if (sys_fsconfig(fs_fd, FSCONFIG_SET_STRING, "source", fstype, 0) < 0)
        return fs_error(fs_fd, fstype, "source", NULL, err);
    for (size_t i = 0; i < nopts; i++) {
        const struct mnt_opt *o = &opts[i];
        unsigned cmd = o->value != NULL ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG;
        if (sys_fsconfig(fs_fd, cmd, o->key, o->value, 0) < 0)
            return fs_error(fs_fd, fstype, o->key, o->value, err);
    }
    if (sys_fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return fs_error(fs_fd, fstype, "create", NULL, err);
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
        return fs_error(fs_fd, fstype, "fsmount", NULL, err);
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
        return lade_error_sys(err, "cannot bind '%s'", path[0] != '\0' ? path : "(fd)");
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

/* ---- the sandbox's mounts ---- */

/* Docker's masked and read-only paths (moby oci/defaults.go): kernel memory, keys and
 * timers leak host state; /proc/sys and friends would let root retune the host kernel. */
static const char *const proc_masked[] = {
    "acpi",       "asound",      "kcore",       "keys", "latency_stats",
    "timer_list", "timer_stats", "sched_debug", "scsi",
};
static const char *const sys_masked[] = {"firmware", "devices/virtual/powercap"};
static const char *const proc_readonly[] = {"bus", "fs", "irq", "sys", "sysrq-trigger"};

/* Bound from the host; read-only binds still open for writing (the kernel skips the mount's
 * write check for device files) but refuse chmod/chown of the host's inodes. */
static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
/* What BuildKit's insecure entitlement adds (util/entitlements/security), when the host has it. */
static const char *const dev_insecure_nodes[] = {"kmsg", "cuse", "fuse", "kvm"};
static const char *const dev_links[][2] = {
    {"ptmx", "pts/ptmx"},          {"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"},
    {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define KERNEL_FS_ATTRS (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)
#define RO_BIND_ATTRS (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC)
/* Beneath a fresh kernel fs, with no symlink or mount crossing to follow. */
#define BENEATH (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV)

/* Attaches a new mount of fstype on rel inside the rootfs; returns the mount's fd. */
static int
mount_fs_at(int root_fd, const char *rel, const char *fstype, const struct mnt_opt *opts,
            size_t nopts, unsigned attrs, struct lade_error *err)
{
    cleanup_close int target = rootfs_open_mountpoint(root_fd, rel, true, err);
    cleanup_close int fd = -1;

    if (target < 0)
        return -1;
    fd = mnt_new(fstype, opts, nopts, attrs, err);
    if (fd < 0 || mnt_attach(fd, target, rel, err) < 0)
        return -1;
    return steal_fd(&fd);
}

/* A file is masked by /dev/null, a directory by an empty read-only tmpfs (as runc does). */
static int
mask_path(int base_fd, const char *base, const char *rel, struct lade_error *err)
{
    static const struct mnt_opt empty_opts[] = {{"mode", "0755"}};
    cleanup_close int target = sys_openat2(base_fd, rel, O_PATH | O_CLOEXEC, BENEATH);
    cleanup_close int fd = -1;
    struct stat st;

    if (target < 0 && errno == ENOENT)
        return 0;
    if (target < 0 || fstat(target, &st) < 0)
        return lade_error_sys(err, "cannot mask '%s/%s'", base, rel);
    if (S_ISDIR(st.st_mode))
        fd = mnt_new("tmpfs", empty_opts, N(empty_opts), MOUNT_ATTR_RDONLY | KERNEL_FS_ATTRS, err);
    else
        fd = mnt_clone(AT_FDCWD, "/dev/null", RO_BIND_ATTRS, false, err);
    if (fd < 0)
        return -1;
    return mnt_attach(fd, target, rel, err);
}

static int
readonly_path(int base_fd, const char *base, const char *rel, struct lade_error *err)
{
    cleanup_close int target = sys_openat2(base_fd, rel, O_PATH | O_CLOEXEC, BENEATH);
    cleanup_close int fd = -1;

    if (target < 0 && errno == ENOENT)
        return 0;
    if (target < 0)
        return lade_error_sys(err, "cannot open '%s/%s'", base, rel);
    fd = mnt_clone(target, "", MOUNT_ATTR_RDONLY | KERNEL_FS_ATTRS, true, err);
    if (fd < 0)
        return -1;
    return mnt_attach(fd, target, rel, err);
}

static int
mount_proc(int root_fd, bool insecure, struct lade_error *err)
{
    /* A proc of the new PID namespace: the process sees only its own tree. */
    cleanup_close int fd = mount_fs_at(root_fd, "proc", "proc", NULL, 0, KERNEL_FS_ATTRS, err);

    if (fd < 0)
        return -1;
    if (insecure)
        return 0;
    for (size_t i = 0; i < N(proc_masked); i++)
        if (mask_path(fd, "/proc", proc_masked[i], err) < 0)
            return -1;
    for (size_t i = 0; i < N(proc_readonly); i++)
        if (readonly_path(fd, "/proc", proc_readonly[i], err) < 0)
            return -1;
    return 0;
}

/* sysfs may be refused (it shows the mounting network namespace); /sys is then left empty,
 * which is what a RUN step can live with. */
static void
mount_sys(int root_fd, bool insecure)
{
    struct lade_error ignored = {0};
    cleanup_close int fd =
        mount_fs_at(root_fd, "sys", "sysfs", NULL, 0,
                    (insecure ? 0 : MOUNT_ATTR_RDONLY) | KERNEL_FS_ATTRS, &ignored);

    if (fd < 0 || insecure)
        return;
    for (size_t i = 0; i < N(sys_masked); i++)
        mask_path(fd, "/sys", sys_masked[i], &ignored);
}

static int
dev_bind_node(int dev_fd, const char *name, struct lade_error *err)
{
    char src[32];
    struct stat st;
    cleanup_close int target = -1, fd = -1;

    snprintf(src, sizeof(src), "/dev/%s", name);
    if (stat(src, &st) < 0 && errno == ENOENT && strcmp(name, "null") != 0)
        return 0; /* e.g. no /dev/tty on the host */
    int made = openat(dev_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (made < 0)
        return lade_error_sys(err, "cannot create '/dev/%s'", name);
    close(made);
    target = openat(dev_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (target < 0)
        return lade_error_sys(err, "cannot open '/dev/%s'", name);
    fd = mnt_clone(AT_FDCWD, src, RO_BIND_ATTRS, false, err);
    if (fd < 0)
        return -1;
    return mnt_attach(fd, target, src, err);
}

static int
dev_mount_sub(int dev_fd, const char *name, mode_t mode, const char *fstype,
              const struct mnt_opt *opts, size_t nopts, unsigned attrs, struct lade_error *err)
{
    cleanup_close int target = -1, fd = -1;

    if (mkdirat(dev_fd, name, mode) < 0)
        return lade_error_sys(err, "cannot create '/dev/%s'", name);
    target = openat(dev_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (target < 0)
        return lade_error_sys(err, "cannot open '/dev/%s'", name);
    fd = mnt_new(fstype, opts, nopts, attrs, err);
    if (fd < 0)
        return -1;
    return mnt_attach(fd, target, name, err);
}

/* A private devpts instance: ptys of the host stay invisible. gid 5 is "tty", as docker has. */
static int
dev_mount_pts_shm(int dev_fd, struct lade_error *err)
{
    static const struct mnt_opt pts_opts[] = {
        {"newinstance", NULL}, {"ptmxmode", "0666"}, {"mode", "0620"}, {"gid", "5"}};
    static const struct mnt_opt shm_opts[] = {{"mode", "1777"}, {"size", "65536k"}};

    if (dev_mount_sub(dev_fd, "pts", 0755, "devpts", pts_opts, N(pts_opts),
                      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err) < 0)
        return -1;
    return dev_mount_sub(dev_fd, "shm", 0755, "tmpfs", shm_opts, N(shm_opts), KERNEL_FS_ATTRS, err);
}

/* nodev on /dev itself matters: RUN keeps CAP_MKNOD (docker's default) and there is no
 * device cgroup here, so a node made in a dev-enabled tmpfs would open a host disk. */
static int
mount_dev(int root_fd, bool insecure, struct lade_error *err)
{
    static const struct mnt_opt opts[] = {{"mode", "0755"}, {"size", "65536k"}};
    cleanup_close int fd = mount_fs_at(root_fd, "dev", "tmpfs", opts, N(opts),
                                       MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, err);

    if (fd < 0)
        return -1;
    for (size_t i = 0; i < N(dev_nodes); i++)
        if (dev_bind_node(fd, dev_nodes[i], err) < 0)
            return -1;
    for (size_t i = 0; insecure && i < N(dev_insecure_nodes); i++)
        if (dev_bind_node(fd, dev_insecure_nodes[i], err) < 0)
            return -1;
    if (dev_mount_pts_shm(fd, err) < 0)
        return -1;
    for (size_t i = 0; i < N(dev_links); i++)
        if (symlinkat(dev_links[i][1], fd, dev_links[i][0]) < 0)
            return lade_error_sys(err, "cannot create '/dev/%s'", dev_links[i][0]);
    return 0;
}

static int
bind_file(int root_fd, const char *rel, const char *src, struct lade_error *err)
{
    cleanup_close int target = rootfs_open_mountpoint(root_fd, rel, false, err);
    cleanup_close int fd = -1;

    if (target < 0)
        return -1;
    fd = mnt_clone(AT_FDCWD, src, KERNEL_FS_ATTRS, false, err);
    if (fd < 0)
        return -1;
    return mnt_attach(fd, target, rel, err);
}

int
sandbox_mount_all(int root_fd, const char *hosts_path, const char *resolv_path, bool insecure,
                  struct lade_error *err)
{
    if (mount_proc(root_fd, insecure, err) < 0)
        return -1;
    mount_sys(root_fd, insecure);
    if (mount_dev(root_fd, insecure, err) < 0)
        return -1;
    if (bind_file(root_fd, "etc/hosts", hosts_path, err) < 0)
        return -1;
    return bind_file(root_fd, "etc/resolv.conf", resolv_path, err);
}

/* One RUN mount, its target made when missing: the keeper made those on the rootfs already
 * (and removes them after), so what is made here lies on a filesystem of the sandbox (/dev)
 * or inside an earlier mount of the RUN (a tmpfs), as runc makes them. */
static int
mount_user_one(int root_fd, const struct sandbox_mount *m, struct lade_error *err)
{
    struct stub_list made = {0};
    cleanup_close int target = -1, fd = -1;
    const char *rel;
    bool dir;
    char size[32];

    if (sandbox_mount_target(m, &rel, err) < 0 || sandbox_mount_is_dir(m, &dir, err) < 0)
        return -1;
    int rc = stub_ensure(root_fd, rel, dir, &made, err);
    stubs_release(&made);
    if (rc < 0 || (target = rootfs_open_mountpoint(root_fd, rel, dir, err)) < 0)
        return -1;
    switch (m->type) {
    case SANDBOX_MOUNT_BIND:
        /* nodev as the rootfs; recursive: a stage's rootfs is an overlay with mounts beneath */
        fd = mnt_clone(AT_FDCWD, m->source,
                       MOUNT_ATTR_NODEV | (m->readonly ? MOUNT_ATTR_RDONLY : 0), true, err);
        break;
    case SANDBOX_MOUNT_TMPFS: {
        struct mnt_opt opt = {"size", size};
        snprintf(size, sizeof(size), "%llu", m->size);
        fd = mnt_new("tmpfs", &opt, m->size > 0,
                     MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (m->readonly ? MOUNT_ATTR_RDONLY : 0),
                     err);
        break;
    }
    }
    if (fd < 0 || mnt_attach(fd, target, m->target, err) < 0)
        return lade_error_prefix(err, "cannot mount on '%s'", m->target);
    return 0;
}

int
sandbox_mount_user(int root_fd, const struct sandbox_spec *spec, struct lade_error *err)
{
    for (size_t i = 0; i < spec->nmounts; i++)
        if (mount_user_one(root_fd, &spec->mounts[i], err) < 0)
            return -1;
    return 0;
}

int
sandbox_pivot_root(int root_fd, struct lade_error *err)
{
    if (fchdir(root_fd) < 0)
        return lade_error_sys(err, "cannot enter the rootfs");
    /* With new_root == put_old the old root ends up stacked on "."; detaching it leaves no
     * host path reachable and needs no directory in the image (runc's pivotRoot). */
    if (sys_pivot_root(".", ".") < 0)
        return lade_error_sys(err, "pivot_root");
    if (umount2(".", MNT_DETACH) < 0)
        return lade_error_sys(err, "cannot detach the old root");
    if (chdir("/") < 0)
        return lade_error_sys(err, "chdir /");
    return 0;
}
