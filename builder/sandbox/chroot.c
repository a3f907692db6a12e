/* SPDX-License-Identifier: Apache-2.0 */
/* RUN in a chroot (chroot.h): the tree's special paths, then fork, chroot, and the same exec
 * path as the namespaced sandbox (exec.c). */
#include "chroot.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox-internal.h"
#include "../common/cleanup.h"
#include "../common/fsutil.h"
#include "../common/xalloc.h"

char *const chroot_run_skip[] = {(char *) "dev",
                                 (char *) "proc",
                                 (char *) "sys",
                                 (char *) "etc/hosts",
                                 (char *) "etc/resolv.conf",
                                 NULL};

/* A directory of root, opened without leaving it (a symlink is resolved inside root). */
static int
open_dir_in(int root_fd, const char *rel, struct lade_error *err)
{
    struct stat st;

    if (fstatat(root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT &&
        mkdirat(root_fd, rel, 0755) < 0)
        return lade_error_sys(err, "cannot create '/%s' in the RUN tree", rel);
    int fd = (int) sys_openat2(root_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC, RESOLVE_IN_ROOT);
    if (fd < 0)
        return lade_error_sys(err, "cannot open '/%s' in the RUN tree", rel);
    return fd;
}

static int
devices_make(int dev_fd)
{
    static const struct {
        const char *name;
        unsigned major, minor;
    } nodes[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
                 {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
    int made = 0;

    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        unlinkat(dev_fd, nodes[i].name, 0);
        if (mknodat(dev_fd, nodes[i].name, S_IFCHR | 0666,
                    makedev(nodes[i].major, nodes[i].minor)) == 0 &&
            fchmodat(dev_fd, nodes[i].name, 0666, 0) == 0)
            made++;
    }
    return made;
}

/* Copies the file at src over name in dir_fd, replacing whatever entry is there. */
static int
file_put(int dir_fd, const char *name, const char *src, struct lade_error *err)
{
    struct stat st;

    if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && rm_rf_at(dir_fd, name, err) < 0)
        return -1;
    cleanup_close int in = open(src, O_RDONLY | O_CLOEXEC);
    cleanup_close int out =
        openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (in < 0 || out < 0)
        return lade_error_sys(err, "cannot write /etc/%s in the RUN tree", name);
    return copy_fd(in, out, err);
}

int
chroot_prepare(const char *root, const char *step_dir, const char *hostname, struct lade_error *err)
{
    cleanup_close int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cleanup_free char *hosts = xasprintf("%s/hosts", step_dir);
    cleanup_free char *resolv = xasprintf("%s/resolv.conf", step_dir);

    if (root_fd < 0)
        return lade_error_sys(err, "cannot open '%s'", root);
    if (etc_files_write(hosts, resolv, hostname ? hostname : "lade", err) < 0)
        return -1;
    for (const char *d = "proc\0sys\0"; *d; d += strlen(d) + 1) {
        int fd = open_dir_in(root_fd, d, err);
        if (fd < 0)
            return -1;
        close(fd);
    }
    cleanup_close int dev_fd = open_dir_in(root_fd, "dev", err);
    cleanup_close int etc_fd = dev_fd < 0 ? -1 : open_dir_in(root_fd, "etc", err);
    if (etc_fd < 0)
        return -1;
    devices_make(dev_fd);
    if (file_put(etc_fd, "hosts", hosts, err) < 0 ||
        file_put(etc_fd, "resolv.conf", resolv, err) < 0)
        return -1;
    return 0;
}

static void
chroot_child(const struct sandbox_spec *spec, const char *root, int err_fd)
{
    struct lade_error err = {0};

    if (chroot(root) < 0)
        lade_error_sys(&err, "chroot '%s'", root);
    else if (chdir("/") < 0)
        lade_error_sys(&err, "chdir /");
    else
        sandbox_exec(spec, err_fd, &err);
    lade_error_recode(&err, LADE_ERR_RUN);
    if (write(err_fd, &err, sizeof(err)) < 0) {
        /* the parent then sees exit 127 without a report */
    }
    _exit(127);
}

int
sandbox_chroot_run(const struct sandbox_spec *spec, const char *root, int *status,
                   struct lade_error *err)
{
    struct sandbox_spec s = *spec;
    struct lade_error child = {0};
    int p[2], ws = 0;
    pid_t pid;

    /* /dev/null of the container: the tree may have none (no CAP_MKNOD) */
    cleanup_close int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (s.stdin_fd < 0)
        s.stdin_fd = devnull;
    s.chroot = true;
    s.mounts = NULL; /* in the tree already */
    s.nmounts = 0;
    if (pipe2(p, O_CLOEXEC) < 0)
        return lade_error_sys(err, "pipe");
    /* blocked from before the fork, so none is lost; sandbox_exec unblocks them in the child */
    sigset_t fwd, old;
    sigemptyset(&fwd);
    sigaddset(&fwd, SIGINT);
    sigaddset(&fwd, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &fwd, &old);
    pid = fork();
    if (pid == 0) {
        close(p[0]);
        chroot_child(&s, root, p[1]);
    }
    close(p[1]);
    cleanup_close int rd = p[0];
    int rc = pid < 0 ? -1 : sandbox_wait_forwarding(pid, &fwd, &ws);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0)
        return lade_error_sys(err, "fork");
    if (rc < 0)
        return lade_error_sys(err, "cannot wait for the RUN process");
    kill(-pid, SIGKILL); /* what it left running in its session */
    if (read(rd, &child, sizeof(child)) == (ssize_t) sizeof(child)) {
        child.msg[sizeof(child.msg) - 1] = '\0';
        *err = child;
        return -1;
    }
    *status = sandbox_shell_status(ws);
    return 0;
}
