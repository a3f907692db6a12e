/* SPDX-License-Identifier: Apache-2.0 */
/* sandbox_run: the process tree of one RUN step.
 *
 *   lade (caller)     forks; forwards SIGINT/SIGTERM; reads the error pipe; starts and ends
 *    │                slirp4netns for --network default (network.c)
 *    └ keeper         new mount/PID/IPC/UTS(/net) namespaces; overlay; mount stubs; after
 *      │              the run, removes the stubs it made (the overlay is mounted only here)
 *      └ init (pid 1) its own mount namespace: /proc, /sys, /dev, /etc binds; pivot_root;
 *        │            reaps, forwards signals, kills what is left when the process ends
 *        └ process    user, cwd, capabilities, exec
 *
 * A plain fork() comes first, so the caller may have threads; namespaces are entered with
 * unshare() in the single-threaded child. The special mounts live in init's namespace only,
 * so they are gone when the last process exits, and the keeper can remove the stubs from
 * beneath them without unmounting anything. Each child reports a failure by writing one
 * fixed-size lade_error into an O_CLOEXEC pipe and exiting 127; a successful exec closes it. */
#include "sandbox-internal.h"

#include <errno.h>
#include <libgen.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "../common/cleanup.h"
#include "../common/fsutil.h"
#include "../common/strv.h"
#include "../common/xalloc.h"

#define DEFAULT_HOSTNAME "lade"
#define HOSTNAME_MAX 64

struct sandbox_ctx {
    const struct sandbox_spec *spec;
    const char *hostname;
    char *merged; /* STEP/merged: the overlay's mount point */
    char *hosts;  /* STEP/hosts and STEP/resolv.conf: sources of the /etc binds */
    char *resolv;
    int err_fd;   /* write end of the error pipe, above 2 so that stdio setup keeps it */
    sigset_t fwd; /* SIGINT, SIGTERM: blocked from before the fork, forwarded */
    /* the step's resource limits (cgroup.c); the keeper enters it */
    struct cgroup_step cg;
    struct net_link net;
};

static void
ctx_release(struct sandbox_ctx *c)
{
    free(c->merged);
    free(c->hosts);
    free(c->resolv);
    net_link_release(&c->net);
}

int
sandbox_shell_status(int ws)
{
    if (WIFSIGNALED(ws))
        return 128 + WTERMSIG(ws);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 1;
}

static _Noreturn void
child_fail(int err_fd, const struct lade_error *err)
{
    write_all(err_fd, err, sizeof(*err)); /* < PIPE_BUF: one atomic write */
    _exit(127);
}

/* ---- namespaces ---- */

static int
sandbox_set_hostname(const char *name, struct lade_error *err)
{
    if (sethostname(name, strlen(name)) < 0)
        return lade_error_sys(err, "cannot set hostname '%s'", name);
    return 0;
}

/* A new network namespace starts with lo down; --network none still has loopback, as in
 * docker, so that services bound to 127.0.0.1 work inside one RUN. */
static int
sandbox_loopback_up(struct lade_error *err)
{
    struct ifreq ifr = {0};
    cleanup_close int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return lade_error_sys(err, "cannot open a socket for lo");
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        return lade_error_sys(err, "cannot read flags of lo");
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
        return lade_error_sys(err, "cannot bring lo up");
    return 0;
}

/* ---- waiting ---- */

static int
wait_plain(pid_t child, int *ws)
{
    while (waitpid(child, ws, 0) < 0)
        if (errno != EINTR)
            return -1;
    return 0;
}

int
sandbox_wait_forwarding(pid_t child, const sigset_t *fwd, int *ws)
{
    cleanup_close int sfd = signalfd(-1, fwd, SFD_CLOEXEC);
    cleanup_close int pfd = sys_pidfd_open(child, 0);
    struct signalfd_siginfo si;

    while (sfd >= 0 && pfd >= 0) {
        struct pollfd p[2] = {{.fd = sfd, .events = POLLIN}, {.fd = pfd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if ((p[0].revents & POLLIN) && read(sfd, &si, sizeof(si)) == sizeof(si))
            kill(child, (int) si.ssi_signo);
        if (p[1].revents & (POLLIN | POLLHUP))
            break;
    }
    return wait_plain(child, ws);
}

/* pid 1's loop: reaps every zombie (orphans are re-parented to it), forwards signals to the
 * process, and when the process ends, kills what it left behind, as docker ends a container
 * with its main process. Returns the process's shell status. */
static int
init_wait(pid_t proc, const sigset_t *mask)
{
    cleanup_close int sfd = signalfd(-1, mask, SFD_CLOEXEC);
    struct signalfd_siginfo si;
    int ws = 0, code = -1;
    pid_t pid;

    while (sfd >= 0 && code < 0) {
        /* A SIGCHLD that never reaches the signalfd (seen as a rare hang of pid 1 under ASan,
         * cause unproven) must not stall the step: every second the children are reaped
         * whether or not a signal came. */
        struct pollfd pfd = {.fd = sfd, .events = POLLIN};
        int r = poll(&pfd, 1, 1000);
        if (r < 0 && errno != EINTR)
            break;
        if (r > 0) {
            if (read(sfd, &si, sizeof(si)) != sizeof(si)) {
                if (errno == EINTR)
                    continue;
                break;
            }
            if (si.ssi_signo != SIGCHLD) {
                kill(proc, (int) si.ssi_signo);
                continue;
            }
        }
        while ((pid = waitpid(-1, &ws, WNOHANG)) > 0)
            if (pid == proc)
                code = sandbox_shell_status(ws);
    }
    if (code < 0) { /* no signalfd: wait without forwarding */
        while ((pid = waitpid(-1, &ws, 0)) != proc)
            if (pid < 0 && errno != EINTR)
                return 1;
        code = sandbox_shell_status(ws);
    }
    kill(-1, SIGKILL);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
        ;
    return code;
}

/* ---- the process, init, keeper ---- */

static _Noreturn void
process_main(const struct sandbox_ctx *c)
{
    struct lade_error err = {0};

    sandbox_exec(c->spec, c->err_fd, &err);
    lade_error_recode(&err, LADE_ERR_RUN); /* the step itself failed, not lade */
    child_fail(c->err_fd, &err);
}

static int
init_setup(const struct sandbox_ctx *c, struct lade_error *err)
{
    /* Not dumpable: the process (root, fewer capabilities) cannot ptrace pid 1 or open its
     * /proc/1/{root,cwd,fd}, which lead to the host. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        return lade_error_sys(err, "prctl");
    if (unshare(CLONE_NEWNS) < 0)
        return lade_error_sys(err, "cannot create a mount namespace");
    if (make_mounts_private(err) < 0)
        return -1;
    cleanup_close int root_fd = open(c->merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        return lade_error_sys(err, "cannot open '%s'", c->merged);
    if (sandbox_mount_all(root_fd, c->hosts, c->resolv, c->spec->insecure, err) < 0 ||
        sandbox_mount_user(root_fd, c->spec, err) < 0)
        return -1;
    return sandbox_pivot_root(root_fd, err);
}

/* arg_start and arg_end, fields 48 and 49 of /proc/self/stat (proc(5)); the name before
 * them is in parentheses and may hold spaces, so counting starts after the last ')'. */
static bool
cmdline_area(unsigned long long *start, unsigned long long *end)
{
    cleanup_free char *stat = NULL;
    char *p;

    if (read_file_at(AT_FDCWD, "/proc/self/stat", 1 << 16, &stat, NULL, NULL) < 0 ||
        (p = strrchr(stat, ')')) == NULL)
        return false;
    for (int field = 3; field <= 48 && p != NULL; field++) /* p: the space before field */
        p = strchr(p + 1, ' ');
    return p != NULL && sscanf(p, " %llu %llu", start, end) == 2 && *end > *start &&
           *end - *start < (1u << 20);
}

/* /proc/1/cmdline is readable by any process in the sandbox and pid 1 is a fork of lade: it
 * would show lade's command line, build args included. The strings the process needs are
 * copied first, then this copy of lade's argv memory is blanked. */
static void
init_hide_cmdline(struct sandbox_spec *s, char ***argv, char ***envp)
{
    unsigned long long start, end;

    *argv = strv_dup(s->argv);
    *envp = strv_dup(s->envp);
    s->argv = *argv;
    s->envp = *envp;
    s->user = s->user != NULL ? xstrdup(s->user) : NULL;
    s->cwd = s->cwd != NULL ? xstrdup(s->cwd) : NULL;
    if (cmdline_area(&start, &end))
        memset((void *) (uintptr_t) start, 0, (size_t) (end - start));
    prctl(PR_SET_NAME, "lade-init", 0, 0, 0);
}

static _Noreturn void
init_main(const struct sandbox_ctx *parent_ctx)
{
    struct lade_error err = {0};
    struct sandbox_ctx ctx = *parent_ctx;
    struct sandbox_spec spec = *parent_ctx->spec;
    const struct sandbox_ctx *c = &ctx;
    char **argv, **envp; /* owned until _exit */
    sigset_t mask = c->fwd;

    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    init_hide_cmdline(&spec, &argv, &envp);
    ctx.spec = &spec;
    /* lade's own fds (store, layers) must not sit in pid 1, where /proc/1/fd would show them
     * to anything that gains CAP_SYS_PTRACE. */
    const int keep[] = {
        0, 1, 2, c->err_fd, spec.stdin_fd, spec.stdout_fd, spec.stderr_fd, spec.tty_socket};
    if (sandbox_close_fds_except(keep, sizeof(keep) / sizeof(keep[0])) < 0)
        lade_error_sys(&err, "close_range");
    if (lade_error_is_set(&err) || init_setup(c, &err) < 0)
        child_fail(c->err_fd, &err);
    /* SIGCHLD is blocked before the fork so that none is lost before signalfd exists. */
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    pid_t pid = fork();
    if (pid < 0) {
        lade_error_sys(&err, "fork");
        child_fail(c->err_fd, &err);
    }
    if (pid == 0)
        process_main(c);
    close(c->err_fd);
    _exit(init_wait(pid, &mask));
}

static int
keeper_namespaces(const struct sandbox_ctx *c, struct lade_error *err)
{
    int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;

    if (c->spec->net != SANDBOX_NET_HOST)
        flags |= CLONE_NEWNET;
    if (unshare(flags) < 0)
        return lade_error_sys(err, "cannot create namespaces");
    net_keeper_unshared(&c->net); /* slirp4netns starts while the rootfs is mounted */
    if (make_mounts_private(err) < 0 || sandbox_set_hostname(c->hostname, err) < 0)
        return -1;
    if (c->spec->net != SANDBOX_NET_HOST)
        return sandbox_loopback_up(err);
    return 0;
}

/* The RUN rootfs is nodev (an image's device node must never open a host device) but not
 * nosuid: setuid programs such as sudo work in docker's RUN. */
static int
keeper_rootfs(const struct sandbox_ctx *c, struct lade_error *err)
{
    const struct sandbox_spec *s = c->spec;

    if (overlay_mount_attr(s->lowerdirs, s->nlower, s->upperdir, s->workdir, c->merged,
                           MOUNT_ATTR_NODEV, err) < 0)
        return -1;
    int root_fd = open(c->merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        return lade_error_sys(err, "cannot open '%s'", c->merged);
    return root_fd;
}

/* Removes the stubs; then, the overlay being mounted only in this namespace (init's is gone),
 * unmounts it so the upper dir may be edited directly. */
static void
keeper_cleanup(const struct sandbox_ctx *c, int root_fd, struct stub_list *stubs)
{
    stubs_remove(root_fd, stubs);
    close(root_fd);
    if (umount2(c->merged, 0) == 0)
        stubs_prune_copy_ups(c->spec->upperdir, c->spec->lowerdirs, c->spec->nlower, stubs);
    stubs_release(stubs);
}

static _Noreturn void
keeper_main(const struct sandbox_ctx *c, pid_t parent)
{
    struct lade_error err = {0};
    struct stub_list stubs = {0};
    int root_fd = -1, ws = 0;

    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
        _exit(127);
    if (cgroup_step_enter(&c->cg, &err) < 0) /* before any fork: every process is limited */
        child_fail(c->err_fd, &err);
    /* lade's other fds stay with lade: a flock held through one (a cache mount another
     * thread's RUN holds) would otherwise last as long as this sandbox. */
    const int keep[] = {
        c->err_fd, c->spec->stdin_fd,      c->spec->stdout_fd, c->spec->stderr_fd, 0, 1,
        2,         net_keeper_fd(&c->net), c->spec->tty_socket};
    if (sandbox_close_fds_except(keep, sizeof(keep) / sizeof(keep[0])) < 0) {
        lade_error_sys(&err, "close_range");
        child_fail(c->err_fd, &err);
    }
    umask(022);               /* the process's umask, as runc's; also the stubs' modes */
    signal(SIGCHLD, SIG_DFL); /* an ignored SIGCHLD (inherited) would let no one reap */
    /* Out of lade's process group: a terminal's Ctrl-C then reaches the RUN once, forwarded
     * by lade, rather than once per sandbox process. */
    setpgid(0, 0);
    if (keeper_namespaces(c, &err) < 0 || (root_fd = keeper_rootfs(c, &err)) < 0)
        child_fail(c->err_fd, &err);
    if (stubs_create(root_fd, &stubs, &err) < 0 ||
        stubs_create_for_mounts(root_fd, c->spec, &stubs, &err) < 0) {
        keeper_cleanup(c, root_fd, &stubs);
        child_fail(c->err_fd, &err);
    }
    if (net_keeper_wait(&c->net) < 0) { /* the caller reports why */
        keeper_cleanup(c, root_fd, &stubs);
        _exit(127);
    }
    pid_t pid = fork(); /* pid 1 of the new PID namespace */
    if (pid < 0) {
        lade_error_sys(&err, "fork");
        keeper_cleanup(c, root_fd, &stubs);
        child_fail(c->err_fd, &err);
    }
    if (pid == 0)
        init_main(c);
    if (sandbox_wait_forwarding(pid, &c->fwd, &ws) < 0)
        ws = 127 << 8;
    keeper_cleanup(c, root_fd, &stubs);
    _exit(sandbox_shell_status(ws));
}

/* ---- the caller's side ---- */

static int
spec_check(const struct sandbox_spec *s, struct lade_error *err)
{
    if (s->argv == NULL || s->argv[0] == NULL || s->argv[0][0] == '\0')
        return lade_error_set(err, LADE_ERR_OTHER, "sandbox: no command");
    if (s->upperdir == NULL || s->workdir == NULL)
        return lade_error_set(err, LADE_ERR_OTHER, "sandbox: no upper or work dir");
    if (s->nlower > 0 && s->lowerdirs == NULL)
        return lade_error_set(err, LADE_ERR_OTHER, "sandbox: no lower dirs");
    if (s->hostname != NULL && (s->hostname[0] == '\0' || strlen(s->hostname) > HOSTNAME_MAX))
        return lade_error_set(err, LADE_ERR_OTHER, "sandbox: invalid hostname '%s'", s->hostname);
    for (size_t i = 0; i < s->nmounts; i++) {
        const char *rel;
        bool dir;
        if (sandbox_mount_target(&s->mounts[i], &rel, err) < 0 ||
            sandbox_mount_is_dir(&s->mounts[i], &dir, err) < 0)
            return -1;
    }
    return 0;
}

static int
ctx_init(struct sandbox_ctx *c, const struct sandbox_spec *s, struct lade_error *err)
{
    cleanup_free char *copy = xstrdup(s->workdir);
    const char *step = dirname(copy);

    c->spec = s;
    c->hostname = s->hostname != NULL ? s->hostname : DEFAULT_HOSTNAME;
    c->merged = xasprintf("%s/merged", step);
    c->hosts = xasprintf("%s/hosts", step);
    c->resolv = xasprintf("%s/resolv.conf", step);
    c->err_fd = -1;
    sigemptyset(&c->fwd);
    sigaddset(&c->fwd, SIGINT);
    sigaddset(&c->fwd, SIGTERM);
    net_link_init(&c->net);
    if (mkdir(c->merged, 0755) < 0 && errno != EEXIST)
        return lade_error_sys(err, "cannot create '%s'", c->merged);
    if (etc_files_write(c->hosts, c->resolv, c->hostname, err) < 0)
        return -1;
    return net_link_prepare(&c->net, s->net, step, c->resolv, err);
}

/* 1 with err set from the child's report, 0 when the pipe is empty. */
static int
read_child_error(int fd, struct lade_error *err)
{
    struct lade_error child;
    ssize_t n;

    do
        n = read(fd, &child, sizeof(child));
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return 0;
    if (n != (ssize_t) sizeof(child)) {
        lade_error_set(err, LADE_ERR_OTHER, "sandbox: truncated error report");
        return 1;
    }
    child.msg[sizeof(child.msg) - 1] = '\0';
    child.src_line[sizeof(child.src_line) - 1] = '\0';
    child.pos.file[sizeof(child.pos.file) - 1] = '\0';
    if (err != NULL && !lade_error_is_set(err))
        *err = child;
    return 1;
}

/* Forks the keeper with SIGINT/SIGTERM blocked (in this thread) from before the fork to
 * the end of the wait, so none is lost and each is forwarded. A failure to set up the
 * network goes to net_err: the keeper's own report, when it has one, comes first. */
static int
run_keeper(struct sandbox_ctx *c, int *ws, struct lade_error *net_err, struct lade_error *err)
{
    sigset_t old;
    pid_t parent = getpid();

    pthread_sigmask(SIG_BLOCK, &c->fwd, &old);
    pid_t pid = fork();
    if (pid == 0)
        keeper_main(c, parent);
    if (pid > 0)
        net_link_start(&c->net, pid, net_err);
    int rc = pid < 0 ? -1 : sandbox_wait_forwarding(pid, &c->fwd, ws);
    net_link_stop(&c->net);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0)
        return lade_error_sys(err, "fork");
    if (rc < 0)
        return lade_error_sys(err, "cannot wait for the sandbox");
    return 0;
}

static int
run_with_pipe(struct sandbox_ctx *c, int *status, struct lade_error *err)
{
    struct lade_error net_err = {0};
    int p[2], ws = 0;

    /* O_NONBLOCK: reading after the wait must not hang on a straggling writer. */
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
        return lade_error_sys(err, "pipe");
    cleanup_close int rd = p[0];
    c->err_fd = fcntl(p[1], F_DUPFD_CLOEXEC, 3);
    close(p[1]);
    if (c->err_fd < 0)
        return lade_error_sys(err, "dup");
    int rc = run_keeper(c, &ws, &net_err, err);
    close(c->err_fd);
    if (rc < 0)
        return -1;
    if (read_child_error(rd, err))
        return -1;
    if (lade_error_is_set(&net_err)) {
        if (err != NULL)
            *err = net_err;
        return -1;
    }
    *status = sandbox_shell_status(ws);
    return 0;
}

int
sandbox_run(const struct sandbox_spec *spec, int *status, struct lade_error *err)
{
    struct sandbox_ctx c = {0};
    int rc;

    if (spec_check(spec, err) < 0 || cgroup_step_create(spec->limits, &c.cg, err) < 0)
        return -1;
    if (!spec->insecure)
        (void) sandbox_seccomp_prepare(); /* once per process, not in every RUN's child */
    rc = ctx_init(&c, spec, err);
    if (rc == 0)
        rc = run_with_pipe(&c, status, err);
    if (rc == 0 && *status != 0)
        rc = cgroup_step_explain(&c.cg, spec->limits, *status, err);
    cgroup_step_remove(&c.cg);
    ctx_release(&c);
    return rc;
}
