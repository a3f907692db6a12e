/* SPDX-License-Identifier: Apache-2.0 */
/* Entering the rootless tier: the user and mount namespaces a non-root lade runs its command
 * in. The process tree is lade (the caller, waits) -> lade (root in the namespace, runs the
 * command). A process cannot map its own subordinate ids: newuidmap writes the child's
 * uid_map from outside, as in buildah's unshare and rootlesskit. */
#include "rootless.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Runs "TOOL PID 0 ID 1 1 START COUNT": the caller is root in the namespace, its subordinate
 * range is 1..COUNT. The helper's own complaints go to stderr. */
static int
run_map_tool(const char *tool, pid_t pid, unsigned long id, const struct subid_range *r,
             const sigset_t *mask, struct lade_error *err)
{
    char spid[32], sid[32], sstart[32], scount[32];
    posix_spawnattr_t attr;
    pid_t helper;
    int status, rc;

    snprintf(spid, sizeof(spid), "%d", (int) pid);
    snprintf(sid, sizeof(sid), "%lu", id);
    snprintf(sstart, sizeof(sstart), "%lu", r->start);
    snprintf(scount, sizeof(scount), "%lu", r->count);
    char zero[] = "0", one[] = "1";
    char *const argv[] = {(char *) tool, spid, zero, sid, one, one, sstart, scount, NULL};
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, mask);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    rc = posix_spawn(&helper, tool, NULL, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        return lade_error_errno(err, rc, "cannot run '%s'", tool);
    while (waitpid(helper, &status, 0) < 0)
        if (errno != EINTR)
            return lade_error_sys(err, "cannot wait for '%s'", tool);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return lade_error_set(err, LADE_ERR_OTHER,
                              "cannot map ids into lade's user namespace: '%s %s 0 %s 1 1 %s %s' "
                              "failed (see its message above)",
                              tool, spid, sid, sstart, scount);
    return 0;
}

/* In the child, once mapped: uid and gid 0 with no supplementary groups, killed with the
 * parent, and mounts that never propagate back to the caller's namespace. */
static int
become_root(pid_t parent, struct lade_error *err)
{
    if (setresgid(0, 0, 0) < 0 || setgroups(0, NULL) < 0 || setresuid(0, 0, 0) < 0)
        return lade_error_sys(err, "cannot become root in lade's user namespace");
    /* set after the uid change, which clears it */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
        return lade_error_sys(err, "lade's parent process is gone");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return lade_error_sys(err, "cannot make mounts private in lade's namespace");
    return 0;
}

static int
child_enter(pid_t parent, int ready_fd, int go_fd, struct lade_error *err)
{
    char c = 0;

    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
        lade_error_sys(err, "cannot create a user namespace (is "
                            "/proc/sys/user/max_user_namespaces 0, or a seccomp filter "
                            "refusing it?)");
        close(ready_fd); /* EOF: the parent maps nothing and waits for our exit */
        return -1;
    }
    if (write(ready_fd, "1", 1) != 1)
        return lade_error_sys(err, "cannot signal lade's parent process");
    close(ready_fd);
    while (read(go_fd, &c, 1) < 0 && errno == EINTR)
        ;
    close(go_fd);
    if (c != '1')
        _exit(125); /* the parent failed to map us and reports why */
    return become_root(parent, err);
}

/* Waits for the child, passing on the signals that were sent to this process alone (a
 * terminal's ^C reaches the whole process group, the child too). */
static int
parent_wait(pid_t child, const sigset_t *fwd)
{
    siginfo_t si;
    int status;

    for (;;) {
        pid_t w = waitpid(child, &status, WNOHANG);
        if (w == child)
            break;
        if (w < 0 && errno != EINTR)
            return 1;
        if (sigwaitinfo(fwd, &si) < 0 || si.si_signo == SIGCHLD)
            continue;
        if (si.si_code <= 0) /* SI_USER, SI_QUEUE, SI_TKILL: kill(2), not the terminal */
            kill(child, si.si_signo);
    }
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

int
rootless_enter(int *status, struct lade_error *err)
{
    struct rootless_ids ids;
    int ready[2], go[2];
    sigset_t fwd, old;
    char c = 0;

    if (rootless_ids_load(&ids, err) < 0)
        return -1;
    if (pipe2(ready, O_CLOEXEC) < 0)
        return lade_error_sys(err, "pipe");
    if (pipe2(go, O_CLOEXEC) < 0) {
        close(ready[0]);
        close(ready[1]);
        return lade_error_sys(err, "pipe");
    }
    sigemptyset(&fwd);
    sigaddset(&fwd, SIGCHLD);
    sigaddset(&fwd, SIGINT);
    sigaddset(&fwd, SIGTERM);
    sigaddset(&fwd, SIGHUP);
    sigaddset(&fwd, SIGQUIT);
    sigprocmask(SIG_BLOCK, &fwd, &old);
    pid_t parent = getpid(), child = fork();
    if (child == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        close(ready[0]);
        close(go[1]);
        return child_enter(parent, ready[1], go[0], err);
    }
    close(ready[1]);
    close(go[0]);
    if (child < 0) {
        lade_error_sys(err, "fork");
        close(go[1]);
    } else {
        while (read(ready[0], &c, 1) < 0 && errno == EINTR)
            ;
        /* c != '1': the child could not unshare and reports that itself */
        bool mapped =
            c != '1' || (run_map_tool(ids.newuidmap, child, ids.uid, &ids.uids, &old, err) == 0 &&
                         run_map_tool(ids.newgidmap, child, ids.gid, &ids.gids, &old, err) == 0);
        if (mapped && c == '1' && write(go[1], "1", 1) != 1)
            mapped = lade_error_sys(err, "cannot signal lade's child process") == 0;
        close(go[1]); /* EOF before "1": the child exits quietly */
        if (mapped) {
            close(ready[0]);
            *status = parent_wait(child, &fwd);
            sigprocmask(SIG_SETMASK, &old, NULL);
            return 1;
        }
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    close(ready[0]);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return -1;
}
