/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Shared internals of the RUN sandbox: raw syscalls that glibc 2.36 may not wrap, small
 * helpers on the new mount API, and the steps each sandbox process runs (see run.c for the
 * process tree). Not part of sandbox.h's contract. */

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "sandbox.h"

/* Constants older C libraries lack; values from the kernel's uapi headers. <linux/mount.h>
 * clashes with glibc 2.36's <sys/mount.h>, so it is not included. */
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x00000001
#define FSCONFIG_SET_FLAG 0
#define FSCONFIG_SET_STRING 1
#define FSCONFIG_CMD_CREATE 6
#endif
#ifndef FSMOUNT_CLOEXEC
#define FSMOUNT_CLOEXEC 0x00000001
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#endif
#ifndef MOUNT_ATTR_SIZE_VER0
struct mount_attr {
    uint64_t attr_set;
    uint64_t attr_clr;
    uint64_t propagation;
    uint64_t userns_fd;
};
#define MOUNT_ATTR_SIZE_VER0 32
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef UMOUNT_NOFOLLOW
#define UMOUNT_NOFOLLOW 8
#endif

/* ---- raw syscalls (glibc may lack the wrappers) ---- */

static inline int
sys_fsopen(const char *fstype, unsigned flags)
{
    return (int) syscall(SYS_fsopen, fstype, flags);
}
static inline int
sys_fsconfig(int fd, unsigned cmd, const char *key, const void *value, int aux)
{
    return (int) syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}
static inline int
sys_fsmount(int fd, unsigned flags, unsigned attrs)
{
    return (int) syscall(SYS_fsmount, fd, flags, attrs);
}
static inline int
sys_move_mount(int from_dfd, const char *from, int to_dfd, const char *to, unsigned flags)
{
    return (int) syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags);
}
static inline int
sys_open_tree(int dfd, const char *path, unsigned flags)
{
    return (int) syscall(SYS_open_tree, dfd, path, flags);
}
static inline int
sys_mount_setattr(int dfd, const char *path, unsigned flags, struct mount_attr *attr)
{
    return (int) syscall(SYS_mount_setattr, dfd, path, flags, attr, sizeof(*attr));
}
static inline int
sys_openat2(int dfd, const char *path, uint64_t flags, uint64_t resolve)
{
    struct open_how how = {.flags = flags, .resolve = resolve};

    return (int) syscall(SYS_openat2, dfd, path, &how, sizeof(how));
}
static inline int
sys_pivot_root(const char *new_root, const char *put_old)
{
    return (int) syscall(SYS_pivot_root, new_root, put_old);
}
static inline int
sys_pidfd_open(pid_t pid, unsigned flags)
{
    return (int) syscall(SYS_pidfd_open, pid, flags);
}
static inline int
sys_close_range(unsigned first, unsigned last, unsigned flags)
{
    return (int) syscall(SYS_close_range, first, last, flags);
}

/* ---- run.c: waiting for the RUN process (the chroot tier's too) ---- */

/* The shell's status of a wait status: the exit code, or 128 + the signal. */
int sandbox_shell_status(int ws);
/* Waits for child, forwarding the signals in fwd (blocked by the caller) to it. Without
 * signalfd or pidfd it still waits, without forwarding. -1 when the child cannot be waited
 * for (SIGCHLD ignored: the kernel reaped it and its status is lost). */
int sandbox_wait_forwarding(pid_t child, const sigset_t *fwd, int *ws);

/* ---- mounts.c: the new mount API, one detached mount fd at a time ---- */

/* One fsconfig parameter: value NULL sets a flag ("newinstance"). */
struct mnt_opt {
    const char *key;
    const char *value;
};

/* fsopen + fsconfig + fsmount: a detached mount of a new fstype instance with the
 * MOUNT_ATTR_* attrs; returns its fd (O_CLOEXEC) or -1. Kernel log lines join the error. */
int mnt_new(const char *fstype, const struct mnt_opt *opts, size_t nopts, unsigned attrs,
            struct lade_error *err);
/* open_tree(OPEN_TREE_CLONE) of dirfd/path (AT_EMPTY_PATH when path is ""), then attrs set
 * on the copy with mount_setattr: a detached bind mount, or -1. */
int mnt_clone(int dirfd, const char *path, unsigned attrs, bool recursive, struct lade_error *err);
/* move_mount of a detached mount onto the O_PATH target fd; what names it in errors. */
int mnt_attach(int mnt_fd, int target_fd, const char *what, struct lade_error *err);
/* The last message in an fs context's kernel log (fsopen fd), or "" when none. */
void mnt_fs_log(int fs_fd, char *buf, size_t size);

/* ---- overlay.c ---- */

/* overlay_mount with explicit MOUNT_ATTR_* attrs (the RUN rootfs is nodev but not nosuid:
 * setuid programs such as sudo must work in RUN, as in docker). */
int overlay_mount_attr(char *const *lowerdirs, size_t nlower, const char *upperdir,
                       const char *workdir, const char *target, unsigned attrs,
                       struct lade_error *err);

/* The mount(2) option string for kernels without lowerdir+; fails when it exceeds a page. */
int overlay_legacy_options(char *const *lowers, size_t nlower, const char *upper, const char *work,
                           char **out, struct lade_error *err);

/* ---- rootfs.c: mount points in the rootfs, run by the sandbox's outer child ---- */

/* A mount point the sandbox had to create; removed after the run when still empty, and its
 * parent's mtime restored when nothing else changed it (BuildKit removes such stubs too). */
struct mount_stub {
    char *path; /* relative to the rootfs: "proc", "etc/hosts"; owned */
    bool dir;
    struct timespec parent_atime, parent_mtime; /* before the stub was made */
    struct timespec parent_mtime_after;         /* right after */
    bool removed;                               /* by stubs_remove */
};
struct stub_list {
    struct mount_stub *v; /* owned; n entries */
    size_t n;
};
void stubs_release(struct stub_list *stubs);

/* The sandbox's own mount points, relative to the rootfs. */
struct sandbox_mountpoint {
    const char *path;
    bool dir;
};
extern const struct sandbox_mountpoint sandbox_mountpoints[];
extern const size_t sandbox_nmountpoints;

/* Makes every sandbox mount point exist in the rootfs (root_fd: O_PATH of its root),
 * recording those it created. Resolves paths inside the rootfs only (RESOLVE_IN_ROOT). */
int stubs_create(int root_fd, struct stub_list *stubs, struct lade_error *err);
/* The same for the RUN's own mounts (spec->mounts) on the rootfs itself; targets under /proc,
 * /sys and /dev are left to sandbox_mount_user, which makes them on the sandbox's own
 * filesystems there. A missing target is a directory, or a file when the bind source is not a
 * directory. */
int stubs_create_for_mounts(int root_fd, const struct sandbox_spec *spec, struct stub_list *stubs,
                            struct lade_error *err);
/* Whether a mount's target is a directory (tmpfs, or a bind of a directory). */
int sandbox_mount_is_dir(const struct sandbox_mount *m, bool *dir, struct lade_error *err);
/* Checks a target: absolute, not "/", no "." or ".." component; *rel is target without the
 * leading slashes. */
int sandbox_mount_target(const struct sandbox_mount *m, const char **rel, struct lade_error *err);
/* Makes rel exist inside the rootfs (its missing parents as directories), recording what it
 * created in stubs. */
int stub_ensure(int root_fd, const char *rel, bool dir, struct stub_list *stubs,
                struct lade_error *err);
/* Removes recorded stubs that are still empty, newest first. Best effort. */
void stubs_remove(int root_fd, struct stub_list *stubs);
/* Creating a stub made overlay copy its parent up (/etc for a missing /etc/hosts). Once the
 * stub is gone, such a copy that is empty, not opaque and identical to the visible lower dir
 * (mode, owner, mtime, xattrs but overlay's) is no change; left there, every RUN layer would
 * hold "etc/". The same holds for the parent's own parents (/usr for a /usr/share/x target).
 * Removed from the upper dir directly, so only after the overlay is unmounted. */
void stubs_prune_copy_ups(const char *upper, char *const *lowers, size_t nlower,
                          const struct stub_list *stubs);
/* O_PATH fd of rel inside the rootfs, checked to be a directory or not as dir says. */
int rootfs_open_mountpoint(int root_fd, const char *rel, bool dir, struct lade_error *err);
/* Writes STEP/hosts (BuildKit's content with the hostname) and STEP/resolv.conf (a copy
 * of the host's), the sources of the sandbox's /etc binds. */
int etc_files_write(const char *hosts_path, const char *resolv_path, const char *hostname,
                    struct lade_error *err);

/* ---- mounts.c: the special mounts, run by the sandbox's init in its mount namespace ---- */

/* /proc (masked and read-only paths), /sys, /dev, /etc/hosts and /etc/resolv.conf. insecure
 * (RUN --security=insecure): nothing masked or read-only in /proc, /sys writable, and the
 * host's fuse, kvm, kmsg and cuse devices bound into /dev, as BuildKit's insecure entitlement. */
int sandbox_mount_all(int root_fd, const char *hosts_path, const char *resolv_path, bool insecure,
                      struct lade_error *err);
/* The RUN's own mounts (spec->mounts), in order, after sandbox_mount_all. */
int sandbox_mount_user(int root_fd, const struct sandbox_spec *spec, struct lade_error *err);
/* pivot_root(".", ".") into root_fd and detach the old root (runc's way: no put_old dir). */
int sandbox_pivot_root(int root_fd, struct lade_error *err);

/* mount --make-rprivate / (overlay.c, shared with sandbox_unshare and run.c). */
int make_mounts_private(struct lade_error *err);

/* ---- user.c ---- */

struct sandbox_user {
    uid_t uid;
    gid_t gid;
    gid_t *groups; /* supplementary groups, owned */
    size_t ngroups;
    char *home; /* owned; "/" when passwd has none */
};
/* Resolves a USER spec ("", "name", "uid", "name:group", "uid:gid") against the text of
 * /etc/passwd and /etc/group (either may be NULL: file missing), as runc does. */
int sandbox_user_parse(const char *spec, const char *passwd, const char *group,
                       struct sandbox_user *u, struct lade_error *err);
/* Reads the current root's /etc/passwd and /etc/group and calls sandbox_user_parse. */
int sandbox_user_lookup(const char *spec, struct sandbox_user *u, struct lade_error *err);
void sandbox_user_release(struct sandbox_user *u);
/* setgroups, setgid, setuid. */
int sandbox_user_switch(const struct sandbox_user *u, struct lade_error *err);

/* ---- user.c: capabilities ---- */

/* Docker's default capability set (moby oci/caps/defaults.go), as a bit mask. */
#define SANDBOX_DEFAULT_CAPS 0x00000000a80425fbULL
/* Drops every capability outside keep from the bounding set. */
int caps_drop_bounding(uint64_t keep, struct lade_error *err);
/* Sets effective = permitted = caps, inheritable and ambient empty. */
int caps_set(uint64_t caps, struct lade_error *err);
/* Sets effective = permitted = inheritable = ambient = caps: they survive exec for any user
 * (RUN --security=insecure, BuildKit's WithInsecureSpec). */
int caps_set_ambient(uint64_t caps, struct lade_error *err);

/* ---- exec.c: the process itself ---- */

/* Closes every fd but those in keep (negative entries ignored, at most 8). */
int sandbox_close_fds_except(const int *keep, size_t n);

/* Everything after pivot_root up to execve, in the order DESIGN.md fixes; returns -1 with
 * err set when something before or at exec fails. err_fd is kept open (it is O_CLOEXEC). */
int sandbox_exec(const struct sandbox_spec *spec, int err_fd, struct lade_error *err);

/* ---- seccomp.c: docker's default seccomp profile ---- */

/* The arches a profile covers (a 64-bit kernel runs its compat ABIs too). */
enum profile_arch {
    PROFILE_ARCH_X86_64 = 1 << 0,
    PROFILE_ARCH_X86 = 1 << 1,
    PROFILE_ARCH_X32 = 1 << 2,
    PROFILE_ARCH_AARCH64 = 1 << 3,
    PROFILE_ARCH_ARM = 1 << 4,
    PROFILE_ARCH_S390X = 1 << 5,
    PROFILE_ARCH_S390 = 1 << 6,
    PROFILE_ARCH_RISCV64 = 1 << 7,
    PROFILE_ARCH_PPC64LE = 1 << 8,
};
/* This machine's arch and its compat arches; 0 when the profile has none for it. */
unsigned profile_native_arches(void);
#define PROFILE_ALLOW 0
#define PROFILE_ALLOW_IF_ARGS (-1) /* allowed when its arguments pass (clone, socket...) */
/* What the profile does with the syscall name on arch (one PROFILE_ARCH_* bit) for a process
 * with the capability mask caps: PROFILE_ALLOW, PROFILE_ALLOW_IF_ARGS, or the errno it fails
 * with (EPERM for anything not listed). */
int profile_verdict(const char *name, unsigned arch, uint64_t caps);
/* Loads the profile for caps (the capabilities the RUN will have) into this thread, without
 * PR_SET_NO_NEW_PRIVS: the caller must still have CAP_SYS_ADMIN. */
int sandbox_seccomp_load(uint64_t caps, struct lade_error *err);
/* Compiles the profile for SANDBOX_DEFAULT_CAPS once per process, for sandbox_seccomp_load in
 * the children forked after it (thread safe). False when it could not: the loads then compile
 * it themselves, and report the failure. */
bool sandbox_seccomp_prepare(void);

/* ---- cgroup.c: a RUN step's own cgroup ---- */

struct cgroup_step {
    char *dirs[3]; /* owned: one (v2) or one per controller (v1) */
    size_t n;
    bool v2;
    const char *memory_dir; /* one of dirs, or NULL: no memory limit */
    const char *pids_dir;   /* one of dirs, or NULL: no pids limit */
};
/* Creates the step's cgroup(s) with the limits written (nothing when none apply). Explicit
 * limits that cannot be applied are an error; the default pids limit is dropped silently. */
int cgroup_step_create(const struct sandbox_limits *l, struct cgroup_step *cg,
                       struct lade_error *err);
/* Moves the calling process into the step's cgroups (the keeper, before it forks). */
int cgroup_step_enter(const struct cgroup_step *cg, struct lade_error *err);
/* For a step that failed with status: -1 with err saying so when the kernel killed one of
 * its processes for the memory limit, or a fork failed at the pids limit; else 0. */
int cgroup_step_explain(const struct cgroup_step *cg, const struct sandbox_limits *l, int status,
                        struct lade_error *err);
/* Removes the step's cgroups (they must be empty) and frees cg. */
void cgroup_step_remove(struct cgroup_step *cg);

/* ---- network.c: --network default, a private namespace behind slirp4netns ---- */

/* Between the caller, which starts slirp4netns in the host's namespace, and the keeper, which
 * owns the new namespace. Everything is -1/0/NULL for the host and none networks. */
struct net_link {
    char *slirp; /* slirp4netns' path */
    char *log;   /* STEP/slirp4netns.log: its output, quoted when it fails */
    int sock[2]; /* socketpair: [0] the caller's end, [1] the keeper's */
    int exit_w;  /* slirp4netns' --exit-fd: it ends when this closes */
    pid_t pid;   /* slirp4netns, 0 when not running */
};
void net_link_init(struct net_link *l);
/* In the caller, before the fork: finds slirp4netns (a clear error naming the package when it is
 * missing: never a silent fallback to the host's network), rewrites the RUN's resolv.conf (see
 * net_resolv_conf_filter) and opens the socketpair. Nothing for other modes. */
int net_link_prepare(struct net_link *l, enum sandbox_net mode, const char *step,
                     const char *resolv, struct lade_error *err);
/* The keeper's fd to keep open (-1 when none). */
int net_keeper_fd(const struct net_link *l);
/* In the keeper, right after unshare(CLONE_NEWNET): tells the caller to start slirp4netns. */
void net_keeper_unshared(const struct net_link *l);
/* In the keeper, before the RUN's processes are forked: waits until tap0 is configured. -1
 * when the caller gave up (it reports the error). Closes the keeper's end. */
int net_keeper_wait(const struct net_link *l);
/* In the caller, after forking keeper: starts slirp4netns for the keeper's namespace and
 * answers the keeper once it is up. 0 also when the keeper failed first (it reports why). */
int net_link_start(struct net_link *l, pid_t keeper, struct lade_error *err);
/* Ends and reaps slirp4netns (closing its exit fd; SIGKILL if it lingers). */
void net_link_stop(struct net_link *l);
void net_link_release(struct net_link *l);
/* The host's resolv.conf text for the private namespace: loopback and IPv6 nameservers (which
 * the namespace cannot reach) are dropped, and slirp's forwarder 10.0.2.3 is used when no
 * nameserver is left. Caller frees. */
char *net_resolv_conf_filter(const char *host);
