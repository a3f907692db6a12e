/* SPDX-License-Identifier: Apache-2.0 */
/* The sandbox's own mounts inside the rootfs: /proc, /sys, /dev and the /etc binds, then
 * pivot_root. Runs in the sandbox's init, in a mount namespace of its own, so all of it
 * vanishes with the last process (and never reaches the layer: see rootfs.c). */
#include "sandbox-internal.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/cleanup.h"

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
mount_proc(int root_fd, struct lade_error *err)
{
    /* A proc of the new PID namespace: the process sees only its own tree. */
    cleanup_close int fd = mount_fs_at(root_fd, "proc", "proc", NULL, 0, KERNEL_FS_ATTRS, err);

    if (fd < 0)
        return -1;
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
mount_sys(int root_fd)
{
    struct lade_error ignored = {0};
    cleanup_close int fd = mount_fs_at(root_fd, "sys", "sysfs", NULL, 0,
                                       MOUNT_ATTR_RDONLY | KERNEL_FS_ATTRS, &ignored);

    if (fd < 0)
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
mount_dev(int root_fd, struct lade_error *err)
{
    static const struct mnt_opt opts[] = {{"mode", "0755"}, {"size", "65536k"}};
    cleanup_close int fd = mount_fs_at(root_fd, "dev", "tmpfs", opts, N(opts),
                                       MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, err);

    if (fd < 0)
        return -1;
    for (size_t i = 0; i < N(dev_nodes); i++)
        if (dev_bind_node(fd, dev_nodes[i], err) < 0)
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
sandbox_mount_all(int root_fd, const char *hosts_path, const char *resolv_path,
                  struct lade_error *err)
{
    if (mount_proc(root_fd, err) < 0)
        return -1;
    mount_sys(root_fd);
    if (mount_dev(root_fd, err) < 0)
        return -1;
    if (bind_file(root_fd, "etc/hosts", hosts_path, err) < 0)
        return -1;
    return bind_file(root_fd, "etc/resolv.conf", resolv_path, err);
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
