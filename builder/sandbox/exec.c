/* SPDX-License-Identifier: Apache-2.0 */
/* The RUN process from pivot_root to execve: signals, stdio, fds, user, working directory,
 * environment, capabilities, then exec with the image's PATH. */
#include "sandbox-internal.h"

#include <errno.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>

#include "../common/cleanup.h"
#include "../common/fsutil.h"
#include "../common/strv.h"
#include "../common/xalloc.h"

/* Docker's PATH when an image sets none (moby oci/defaults.go DefaultPathEnv). */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* lade's handlers and ignored signals (SIGPIPE) must not reach the RUN: an ignored signal
 * stays ignored across execve. */
static void
reset_signals(void)
{
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigset_t none;

    for (int s = 1; s < NSIG; s++)
        sigaction(s, &dfl, NULL); /* fails harmlessly for SIGKILL, SIGSTOP, libc's own */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Duplicates above 2 first, so that any permutation of 0, 1, 2 as sources works. */
static int
setup_stdio(const struct sandbox_spec *spec, struct lade_error *err)
{
    int src[3] = {spec->stdin_fd, spec->stdout_fd, spec->stderr_fd};
    int tmp[3];

    for (int i = 0; i < 3; i++) {
        if (src[i] < 0)
            tmp[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
        else
            tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3);
        if (tmp[i] < 0)
            return lade_error_sys(err, "cannot set up fd %d", i);
    }
    for (int i = 0; i < 3; i++)
        if (dup2(tmp[i], i) < 0)
            return lade_error_sys(err, "cannot set up fd %d", i);
    return 0;
}

/* A new pty of the sandbox's devpts (/dev/ptmx is pts/ptmx here) as the controlling
 * terminal; its master goes to lade over spec->tty_socket. Returns the slave's fd. */
static int
setup_tty(const struct sandbox_spec *spec, struct lade_error *err)
{
    cleanup_close int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    int slave;

    if (master < 0 || unlockpt(master) < 0)
        return lade_error_sys(err, "cannot allocate a terminal (/dev/ptmx)");
    slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        return lade_error_sys(err, "cannot open the terminal's slave");
    if (ioctl(slave, TIOCSCTTY, 0) < 0) {
        close(slave);
        return lade_error_sys(err, "cannot make the terminal the controlling one");
    }
    if (fd_send(spec->tty_socket, master) < 0) {
        close(slave);
        return lade_error_sys(err, "cannot send the terminal to lade");
    }
    return slave;
}

static int
close_range_compat(unsigned first, unsigned last)
{
    if (sys_close_range(first, last, 0) == 0)
        return 0;
    if (errno != ENOSYS)
        return -1;
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = first; fd <= (long) last && fd < max; fd++)
        close((int) fd);
    return 0;
}

int
sandbox_close_fds_except(const int *keep, size_t n)
{
    int sorted[16]; /* callers keep fewer; one beyond would be closed, not kept */
    size_t m = 0;
    unsigned next = 0;

    for (size_t i = 0; i < n && m < 16; i++) { /* insertion sort, negatives dropped */
        if (keep[i] < 0)
            continue;
        size_t j = m++;
        for (; j > 0 && sorted[j - 1] > keep[i]; j--)
            sorted[j] = sorted[j - 1];
        sorted[j] = keep[i];
    }
    for (size_t i = 0; i < m; i++) {
        unsigned k = (unsigned) sorted[i];
        if (k > next && close_range_compat(next, k - 1) < 0)
            return -1;
        if (k + 1 > next)
            next = k + 1;
    }
    return close_range_compat(next, ~0U);
}

/* runc's CVE-2024-21626: a host directory fd leaked into the container let a WORKDIR of
 * /proc/self/fd/N escape the rootfs. So every fd but stdio and the error pipe (O_CLOEXEC)
 * is closed before the working directory is resolved. */
static int
close_other_fds(int err_fd, struct lade_error *err)
{
    const int keep[] = {0, 1, 2, err_fd};

    if (sandbox_close_fds_except(keep, 4) < 0)
        return lade_error_sys(err, "close_range");
    return 0;
}

/* Created as root when missing (runc does so too), resolved inside the new root only. */
static int
enter_cwd(const char *cwd, struct lade_error *err)
{
    char buf[PATH_MAX];

    if (cwd == NULL || cwd[0] == '\0')
        cwd = "/";
    if (cwd[0] != '/')
        return lade_error_set(err, LADE_ERR_RUN, "working directory '%s' is not absolute", cwd);
    if (mkdir_p_at(AT_FDCWD, cwd, 0755, err) < 0)
        return lade_error_prefix(err, "cannot create working directory");
    cleanup_close int fd =
        sys_openat2(AT_FDCWD, cwd, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_NO_MAGICLINKS);
    if (fd < 0 || fchdir(fd) < 0)
        return lade_error_sys(err, "cannot enter working directory '%s'", cwd);
    /* The kernel prefixes "(unreachable)" to a cwd outside the root. */
    if (getcwd(buf, sizeof(buf)) == NULL || buf[0] != '/')
        return lade_error_set(err, LADE_ERR_RUN, "working directory '%s' is outside the rootfs",
                              cwd);
    return 0;
}

/* HOME from passwd when the environment has none (or an empty one), as runc sets it. */
static char **
build_env(char *const *envp, const char *home)
{
    char **env = strv_dup(envp);
    const char *h = strv_env_get(env, "HOME");

    if (h == NULL || h[0] == '\0')
        env = strv_env_set(env, "HOME", home);
    return env;
}

/* PATH is the image's (from envp), never lade's. EACCES on one entry lets the search go
 * on, as execvp does; it is reported when nothing else is found. */
static int
exec_search(char *const *argv, char *const *envp, struct lade_error *err)
{
    const char *path = strv_env_get(envp, "PATH");
    cleanup_free char *copy = xstrdup(path != NULL ? path : DEFAULT_PATH);
    char *rest = copy, buf[PATH_MAX];
    bool denied = false;

    while (rest != NULL) {
        char *dir = strsep(&rest, ":");
        int n = snprintf(buf, sizeof(buf), "%s/%s", dir[0] != '\0' ? dir : ".", argv[0]);
        if (n < 0 || (size_t) n >= sizeof(buf))
            continue;
        execve(buf, argv, envp);
        if (errno == EACCES)
            denied = true;
        else if (errno != ENOENT && errno != ENOTDIR)
            return lade_error_sys(err, "exec: \"%s\"", buf);
    }
    if (denied)
        return lade_error_errno(err, EACCES, "exec: \"%s\"", argv[0]);
    return lade_error_set(err, LADE_ERR_RUN, "exec: \"%s\": executable file not found in $PATH",
                          argv[0]);
}

static int
exec_argv(char *const *argv, char *const *envp, struct lade_error *err)
{
    if (strchr(argv[0], '/') != NULL) {
        execve(argv[0], argv, envp);
        return lade_error_sys(err, "exec: \"%s\"", argv[0]);
    }
    return exec_search(argv, envp, err);
}

/* Every capability in this process's bounding set (what BuildKit's getAllCaps grants an
 * insecure RUN): root's full set, up to the last one this kernel knows. */
static uint64_t
current_bounding_caps(void)
{
    uint64_t caps = 0;

    for (unsigned cap = 0; cap < 64; cap++)
        if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
            caps |= 1ULL << cap;
    return caps;
}

/* From here on the setup runs with what a root RUN process has: docker's capabilities only
 * (all of them for --security=insecure). Without CAP_SYS_PTRACE, pid 1's /proc entries (which
 * lead to lade's fds and the host) stay closed while the image's paths (/etc/passwd, WORKDIR)
 * are resolved. */
static int
enter_caps(bool insecure, bool chroot, struct lade_error *err)
{
    uint64_t caps = insecure ? current_bounding_caps() : SANDBOX_DEFAULT_CAPS;

    if (chroot) /* a container's root may hold fewer (podman drops CAP_MKNOD) */
        caps &= current_bounding_caps();

    if (caps_drop_bounding(caps, err) < 0)
        return -1;
    return caps_set(caps, err);
}

/* Root keeps docker's set across setuid(0); any other user gets none (moby clears them for
 * non-root), only the bounding set. An insecure RUN's user keeps every capability: BuildKit's
 * entitlement puts them in the ambient set too, so they survive the setuid and the exec.
 * PR_SET_NO_NEW_PRIVS stays off: docker's RUN lets setuid programs such as sudo work. */
static int
switch_user(const struct sandbox_user *u, bool insecure, struct lade_error *err)
{
    bool keep = insecure && u->uid != 0;

    if (keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return lade_error_sys(err, "cannot keep capabilities across setuid");
    if (sandbox_user_switch(u, err) < 0)
        return -1;
    if (keep)
        return caps_set_ambient(current_bounding_caps(), err);
    return u->uid == 0 ? 0 : caps_set(0, err);
}

int
sandbox_exec(const struct sandbox_spec *spec, int err_fd, struct lade_error *err)
{
    struct sandbox_user u = {0};
    char **env = NULL;
    int rc = -1;

    reset_signals();
    if (setsid() < 0)
        return lade_error_sys(err, "setsid");
    if (spec->tty) {
        struct sandbox_spec with_tty = *spec;
        int slave = setup_tty(spec, err);
        if (slave < 0)
            return -1;
        with_tty.stdin_fd = with_tty.stdout_fd = with_tty.stderr_fd = slave;
        rc = setup_stdio(&with_tty, err);
        close(slave);
        if (rc < 0)
            return -1;
        rc = -1;
    } else if (setup_stdio(spec, err) < 0) {
        return -1;
    }
    if (close_other_fds(err_fd, err) < 0)
        return -1;
    /* Docker's seccomp profile, loaded at the last point this process still has
     * CAP_SYS_ADMIN (loading needs it, or PR_SET_NO_NEW_PRIVS, which would break setuid
     * programs); the setup calls after it are all ones the profile allows, as in runc
     * without NoNewPrivileges. --security=insecure runs unconfined, as in BuildKit. */
    bool own_filter = !spec->chroot || prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 1;
    if (!spec->insecure && own_filter && sandbox_seccomp_load(SANDBOX_DEFAULT_CAPS, err) < 0)
        return -1;
    if (enter_caps(spec->insecure, spec->chroot, err) < 0 ||
        sandbox_user_lookup(spec->user, &u, err) < 0)
        return -1;
    if (enter_cwd(spec->cwd, err) < 0)
        goto out;
    env = build_env(spec->envp, u.home);
    if (switch_user(&u, spec->insecure, err) < 0)
        goto out;
    rc = exec_argv(spec->argv, env, err);
out:
    strv_free(env);
    sandbox_user_release(&u);
    return rc;
}
