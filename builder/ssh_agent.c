/* SPDX-License-Identifier: Apache-2.0 */
/* An ssh-agent for the key files given to --ssh (BuildKit loads them into an agent of its own,
 * sshprovider's keyring; lade runs OpenSSH's). */
#include "ssh_agent.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"

extern char **environ;

struct ssh_agent {
    char *dir, *socket;
    pid_t pid;
};

const char *
ssh_agent_socket(const struct ssh_agent *a)
{
    return a->socket;
}

void
ssh_agent_stop(struct ssh_agent *a)
{
    if (a == NULL)
        return;
    if (a->pid > 0) {
        kill(a->pid, SIGTERM);
        while (waitpid(a->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (a->dir != NULL)
        rm_rf_at(AT_FDCWD, a->dir, NULL);
    free(a->dir);
    free(a->socket);
    free(a);
}

/* Forks argv with stdin and stdout on /dev/null and stderr on err_fd (-1: /dev/null) and env
 * as its environment. die_with_parent: SIGTERM when lade dies (the agent must not outlive
 * the build). */
static pid_t
spawn(char *const *argv, char *const *env, int err_fd, bool die_with_parent)
{
    pid_t parent = getpid();
    pid_t pid = fork();

    if (pid != 0)
        return pid;
    int null = open("/dev/null", O_RDWR);
    if (die_with_parent && (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent))
        _exit(127);
    /* lade blocks signals in some threads; the tools get a clean mask */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
        dup2(err_fd >= 0 ? err_fd : null, 2) < 0)
        _exit(127);
    execvpe(argv[0], argv, env);
    _exit(127);
}

/* Waits until the agent accepts connections on its socket (it creates it after forking). */
static int
wait_for_socket(struct ssh_agent *a, struct lade_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", a->socket);
    for (int i = 0; i < 500; i++) {
        cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0)
            return 0;
        if (waitpid(a->pid, NULL, WNOHANG) == a->pid) {
            a->pid = -1;
            return lade_error_set(err, LADE_ERR_USAGE,
                                  "ssh-agent exited at once (is openssh-client installed?)");
        }
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
    return lade_error_set(err, LADE_ERR_USAGE, "ssh-agent did not open '%s' within 5 s", a->socket);
}

/* ssh-add KEY...: never asks for a passphrase (no terminal, SSH_ASKPASS_REQUIRE=never). */
static int
add_keys(struct ssh_agent *a, char *const *keyfiles, struct lade_error *err)
{
    char **argv = strv_push(NULL, "ssh-add");
    char **env = strv_dup(environ);
    cleanup_free char *msg = NULL;
    size_t len = 0;
    int pipefd[2], status = 0;

    for (size_t i = 0; keyfiles[i]; i++)
        argv = strv_push(argv, keyfiles[i]);
    env = strv_env_set(env, "SSH_AUTH_SOCK", a->socket);
    env = strv_env_set(env, "SSH_ASKPASS_REQUIRE", "never");
    env = strv_env_set(env, "DISPLAY", "");
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        strv_free(argv);
        strv_free(env);
        return lade_error_sys(err, "pipe");
    }
    pid_t pid = spawn(argv, env, pipefd[1], false);
    close(pipefd[1]);
    strv_free(argv);
    strv_free(env);
    if (pid < 0) {
        close(pipefd[0]);
        return lade_error_sys(err, "cannot run ssh-add");
    }
    struct lade_error ignored = {0}; /* the exit status decides; the text only explains */
    read_fd_all(pipefd[0], "ssh-add", 4096, &msg, &len, &ignored);
    close(pipefd[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
        msg[--len] = '\0';
    for (size_t i = 0; i < len; i++) /* one line for the error message */
        if (msg[i] == '\n' || msg[i] == '\r')
            msg[i] = ' ';
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && len == 0)
        return lade_error_set(err, LADE_ERR_USAGE,
                              "cannot run ssh-add (is openssh-client installed?)");
    return lade_error_set(err, LADE_ERR_USAGE, "ssh-add refused the key: %s",
                          len ? msg : "no message");
}

int
ssh_agent_start(char *const *keyfiles, struct ssh_agent **out, struct lade_error *err)
{
    const char *tmp = getenv("TMPDIR");
    struct ssh_agent *a = xcalloc(1, sizeof(*a));

    a->pid = -1;
    a->dir = xasprintf("%s/lade-ssh-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(a->dir) == NULL) {
        lade_error_sys(err, "cannot create a directory for ssh-agent in '%s'", a->dir);
        free(a->dir);
        a->dir = NULL;
        goto fail;
    }
    a->socket = xasprintf("%s/agent.sock", a->dir);
    if (strlen(a->socket) >= sizeof(((struct sockaddr_un *) 0)->sun_path)) {
        lade_error_set(err, LADE_ERR_USAGE, "ssh-agent socket path too long: '%s'", a->socket);
        goto fail;
    }
    char *argv[] = {(char *) "ssh-agent", (char *) "-D", (char *) "-a", a->socket, NULL};
    a->pid = spawn(argv, environ, -1, true);
    if (a->pid < 0) {
        lade_error_sys(err, "cannot run ssh-agent");
        goto fail;
    }
    if (wait_for_socket(a, err) < 0 || add_keys(a, keyfiles, err) < 0)
        goto fail;
    *out = a;
    return 0;
fail:
    ssh_agent_stop(a);
    return -1;
}
