/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The RUN sandbox (DESIGN.md "The sandbox for RUN"). The caller runs as root. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../common/error.h"

enum sandbox_mount_type {
    SANDBOX_MOUNT_BIND,  /* source: a host path (directory, file or socket) bound on target */
    SANDBOX_MOUNT_TMPFS, /* a fresh tmpfs on target; size in bytes, 0: the kernel's default */
};

/* One RUN --mount as the sandbox applies it. A target the sandbox had to create (and parents
 * it created for it) is removed after the run when still empty, as BuildKit >= 0.11 does: a
 * mount target never reaches the layer. Targets are resolved inside the rootfs (a symlink
 * cannot lead out of it); a missing target is created as a directory, or as an empty file
 * when source is not a directory. */
struct sandbox_mount {
    enum sandbox_mount_type type;
    const char *source; /* BIND: the host path */
    const char *target; /* absolute path inside the rootfs */
    bool readonly;
    unsigned long long size; /* TMPFS */
};

enum sandbox_net {
    /* A private network namespace with its own loopback and outbound access through
     * slirp4netns (which must be installed): the host's loopback services and interfaces are
     * out of reach, as in BuildKit's default. The zero value, so a forgotten field is private. */
    SANDBOX_NET_DEFAULT = 0,
    SANDBOX_NET_HOST, /* share the host's network namespace */
    SANDBOX_NET_NONE, /* a new, empty network namespace (loopback only) */
};

/* Resource limits of a RUN step (lade build --memory, --cpus, --pids-limit), applied with a
 * child cgroup of lade's own per step (cgroup v2, or the v1 controllers of a hybrid host). */
struct sandbox_limits {
    unsigned long long memory;    /* bytes, no swap on top; 0: no limit */
    unsigned long long cpu_quota; /* microseconds of CPU time per 100 ms; 0: no limit */
    long long pids;               /* processes and threads; 0: SANDBOX_DEFAULT_PIDS when the
                                     host allows it; < 0: no limit */
};
/* Bounds a fork bomb far below the kernel's pid_max and threads-max, while leaving room for
 * the largest parallel builds (make -j on a 256-CPU machine with a few threads per job). */
#define SANDBOX_DEFAULT_PIDS 4096

struct sandbox_spec {
    /* The rootfs: overlay of lowerdirs (index 0 is the top-most layer, as in overlay's
     * lowerdir= order) with upperdir/workdir receiving the changes. nlower may be 0 (scratch):
     * then an empty lower dir is used. upperdir and workdir must be on one filesystem. */
    char *const *lowerdirs;
    size_t nlower;
    const char *upperdir;
    const char *workdir;

    char *const *argv; /* argv[0] is looked up in the image's PATH from envp when it has no '/' */
    char *const *envp; /* the complete environment of the process */
    const char *cwd;   /* absolute path in the rootfs, created (0755) when missing; NULL: "/" */
    const char *user;  /* "", "name", "uid", "name:group", "uid:gid": looked up in the rootfs'
                          /etc/passwd and /etc/group; a missing name is an error */
    const char *hostname; /* NULL: "lade" */
    enum sandbox_net net;
    const struct sandbox_mount *mounts; /* applied in order after /proc, /dev, /etc/hosts... */
    size_t nmounts;
    /* RUN --security=insecure (BuildKit's security.insecure entitlement): every capability
     * (ambient: a USER other than root has them too), nothing masked or read-only in /proc, /sys
     * writable, the host's fuse, kvm, kmsg and cuse devices. The caller checks the entitlement. */
    bool insecure;
    const struct sandbox_limits *limits; /* NULL: the default pids limit only */
    /* Set by sandbox_chroot_run (chroot.h), the chroot tier: capabilities are docker's default
     * within what lade holds, and docker's seccomp profile is loaded only when lade holds
     * CAP_SYS_ADMIN (else the surrounding container's filter applies). */
    bool chroot;

    /* The process's stdio. stdin_fd < 0 means /dev/null (RUN steps pass -1). */
    int stdin_fd;
    int stdout_fd;
    int stderr_fd;
    /* lade run -t: the process gets a new pty of the sandbox's own devpts as its controlling
     * terminal and stdio (the three fds above are then unused), and the pty's master is sent
     * over the unix socket tty_socket (SCM_RIGHTS, one byte of data), as runc's
     * --console-socket does: a pty of the host's devpts would not be a tty inside. */
    bool tty;
    int tty_socket;
};

/* The overlay is mounted (inside the sandbox's own mount namespace) on dirname(workdir)/merged,
 * created when missing; a RUN step's directory is then STEP/{upper,work,merged}.
 * sandbox_run also writes STEP/hosts and STEP/resolv.conf, the sources of the process's
 * /etc/hosts and /etc/resolv.conf (so the RUN may write them; nothing reaches the upper dir),
 * and, with nlower 0, uses an empty STEP/empty as the lower dir. The caller removes STEP.
 * The RUN rootfs is mounted nodev but not nosuid (setuid programs such as sudo work in RUN,
 * as in docker). Mount points the sandbox had to create (/proc, /sys, /dev, /etc,
 * /etc/hosts, /etc/resolv.conf) are removed after the run when still empty, their parent's
 * mtime restored, and a parent that overlay copied up only for them (/etc for a missing
 * /etc/hosts) removed from the upper dir again: a RUN that touches none of them leaves an
 * empty upper dir. */

/* Runs argv in the sandbox and waits for it. Returns 0 with *status the exit status (128+N for
 * a signal, as a shell reports it), or -1 when the sandbox could not be set up; errors from the
 * child before exec come back over a pipe ("exec: ...: no such file or directory").
 * SIGINT/SIGTERM received meanwhile are forwarded to the child. Leaves no mount behind.
 * Errors of the process itself (USER not found, exec failed, WORKDIR not creatable) have code
 * LADE_ERR_RUN, e.g. `exec: "foo": executable file not found in $PATH` or `unable to find
 * user app: no matching entries in passwd file`. SIGINT and SIGTERM are blocked in the calling
 * thread for the duration (other threads should block them too, or they may take them). When
 * the process exits, whatever it left running in the sandbox is killed. */
int sandbox_run(const struct sandbox_spec *spec, int *status, struct lade_error *err);

/* Whether this process can create the sandbox (root, overlayfs, namespaces); for tests. */
bool sandbox_available(void);
/* 1 when RUN steps get docker's default seccomp profile here (libseccomp knows this arch and
 * the kernel has seccomp filters), else 0; for `lade info` and tests. */
int sandbox_seccomp_available(void);
/* 1 when this host lets lade apply the limits l asks for (NULL: memory, pids and cpu), else 0
 * with why saying what is missing; for `lade build` and `lade info`. */
int cgroup_available(const struct sandbox_limits *l, char *why, size_t size);
/* Whether l holds a limit the user asked for (not only the default pids limit). */
bool sandbox_limits_requested(const struct sandbox_limits *l);
/* One build flag: "memory" (sandbox_parse_size), "cpus" (sandbox_parse_cpus), "cpu-quota"
 * (microseconds per 100 ms) or "pids-limit" (-1 or 0: none); usage error when invalid. */
int sandbox_limits_set(struct sandbox_limits *l, const char *flag, const char *value,
                       struct lade_error *err);
/* A usage error when l asks for limits this host cannot apply (no cgroup controller, not
 * delegated, read-only /sys/fs/cgroup). */
int sandbox_limits_check(const struct sandbox_limits *l, struct lade_error *err);
/* "512m", "1g", "1048576", "64k" (docker's binary units, optional b) into bytes; usage error. */
int sandbox_parse_size(const char *s, unsigned long long *out, struct lade_error *err);
/* "1.5" CPUs into microseconds of CPU time per 100 ms period; usage error. */
int sandbox_parse_cpus(const char *s, unsigned long long *quota_us, struct lade_error *err);

/* Overlay mounts for the builder's own use (COPY writes through one), with the new mount API so
 * that any number of lower dirs fits (fsconfig lowerdir+, kernel 6.8+), and always
 * redirect_dir=off,metacopy=off so the upper dir is a complete diff (DESIGN.md). With upperdir
 * NULL the mount is read-only (one lower dir: a read-only bind; none: an empty read-only tmpfs).
 * With upperdir but no lower dir, an empty dirname(workdir)/empty is created as the lower one.
 * Without overlay's lowerdir+ (kernels before 6.8), mount(2) is used while the options fit in
 * a page, else it fails with a clear error. Mounted nodev, nosuid. The caller should have a private
 * mount namespace (sandbox_unshare). */
int overlay_mount(char *const *lowerdirs, size_t nlower, const char *upperdir, const char *workdir,
                  const char *target, struct lade_error *err);
/* Lazy unmount of target (MNT_DETACH). */
int overlay_unmount(const char *target, struct lade_error *err);
/* Moves this process into a new mount namespace with / made recursively private, so every mount
 * lade makes disappears when it exits, even on a crash. */
int sandbox_unshare(struct lade_error *err);
