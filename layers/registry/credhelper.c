/* SPDX-License-Identifier: Apache-2.0 */
/* docker's credential helper protocol: docker-credential-NAME (found on PATH) with one verb as
 * its argument. get: stdin the server URL, stdout {"ServerURL","Username","Secret"}; store:
 * stdin that JSON; erase: stdin the server URL. A helper that has nothing says "credentials not
 * found" and exits non-zero. Secrets only ever travel through the pipes, never argv. */
#include "creds.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../builder/common/cleanup.h"
#include "../../builder/common/fsutil.h"
#include "../../builder/common/xalloc.h"

#define HELPER_OUTPUT_MAX (64u << 10)
#define NOT_FOUND "credentials not found"

extern char **environ;

static int
spawn_helper(const char *prog, const char *verb, int in_fd, int out_fd, pid_t *pid,
             struct lade_error *err)
{
    posix_spawn_file_actions_t fa;
    char *argv[] = {(char *) prog, (char *) verb, NULL};
    int rc;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_fd, STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
    rc = posix_spawnp(pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc == ENOENT)
        return lade_error_set(err, LADE_ERR_OTHER,
                              "credential helper %s not found in PATH (configured in "
                              "config.json's credsStore or credHelpers)",
                              prog);
    if (rc != 0)
        return lade_error_errno(err, rc, "cannot run %s", prog);
    return 0;
}

/* Runs the helper with input on stdin; *output gets its stdout (trimmed), *ok whether it
 * exited 0. stdin is a socket so that a helper exiting early cannot kill us with SIGPIPE. */
static int
run_helper(const char *name, const char *verb, const char *input, char **output, bool *ok,
           struct lade_error *err)
{
    cleanup_free char *prog = xasprintf("docker-credential-%s", name);
    int in[2] = {-1, -1}, out[2] = {-1, -1}, status, rc = -1;
    pid_t pid = -1;
    char *data = NULL;
    size_t len = 0, sent = 0, n = strlen(input);

    if (*name == '\0' || strchr(name, '/') != NULL)
        return lade_error_set(err, LADE_ERR_OTHER, "invalid credential helper name \"%s\"", name);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 || pipe2(out, O_CLOEXEC) < 0) {
        lade_error_sys(err, "cannot run %s", prog);
        goto out;
    }
    if (spawn_helper(prog, verb, in[1], out[1], &pid, err) < 0)
        goto out;
    close(in[1]);
    close(out[1]);
    in[1] = out[1] = -1;
    while (sent < n) {
        ssize_t w = send(in[0], input + sent, n - sent, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* the helper stopped reading: its exit status tells */
        sent += (size_t) w;
    }
    shutdown(in[0], SHUT_WR);
    int read_rc = read_fd_all(out[0], prog, HELPER_OUTPUT_MAX, &data, &len, err);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    pid = -1;
    if (read_rc < 0)
        goto out;
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
        data[--len] = '\0';
    *ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    *output = steal_ptr(&data);
    rc = 0;
out:
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (out[i] >= 0)
            close(out[i]);
    }
    if (pid > 0)
        waitpid(pid, &status, 0);
    reg_wipe_free(data);
    return rc;
}

static int
helper_failed(const char *name, const char *verb, const char *output, struct lade_error *err)
{
    return lade_error_set(err, LADE_ERR_OTHER, "docker-credential-%s %s failed: %.300s", name, verb,
                          *output ? output : "(no message)");
}

int
reg_helper_get(const char *name, const char *server_url, struct reg_creds *out,
               struct lade_error *err)
{
    char *output = NULL;
    bool ok;
    json_auto_t *root = NULL;

    memset(out, 0, sizeof(*out));
    if (run_helper(name, "get", server_url, &output, &ok, err) < 0)
        return -1;
    if (!ok) {
        int rc = strstr(output, NOT_FOUND) ? 1 : helper_failed(name, "get", output, err);
        reg_wipe_free(output);
        return rc;
    }
    root = json_loads(output, 0, NULL);
    reg_wipe_free(output);
    const char *user = json_string_value(json_object_get(root, "Username"));
    const char *secret = json_string_value(json_object_get(root, "Secret"));
    if (root == NULL)
        return lade_error_set(err, LADE_ERR_OTHER, "docker-credential-%s get: invalid JSON", name);
    if (secret == NULL || *secret == '\0')
        return 1;
    out->user = xstrdup(user ? user : "");
    out->secret = xstrdup(secret);
    json_object_set_new(root, "Secret", json_string("")); /* wipe what we can */
    return 0;
}

int
reg_helper_store(const char *name, const char *server_url, const char *user, const char *secret,
                 struct lade_error *err)
{
    json_auto_t *msg =
        json_pack("{s:s, s:s, s:s}", "ServerURL", server_url, "Username", user, "Secret", secret);
    char *input = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    char *output = NULL;
    bool ok;
    int rc;

    if (input == NULL)
        return lade_error_set(err, LADE_ERR_OTHER, "cannot encode credentials for %s", name);
    rc = run_helper(name, "store", input, &output, &ok, err);
    reg_wipe_free(input);
    if (rc == 0 && !ok)
        rc = helper_failed(name, "store", output, err);
    reg_wipe_free(output);
    return rc;
}

int
reg_helper_erase(const char *name, const char *server_url, struct lade_error *err)
{
    char *output = NULL;
    bool ok;
    int rc = run_helper(name, "erase", server_url, &output, &ok, err);

    if (rc == 0 && !ok)
        rc = strstr(output, NOT_FOUND) ? 1 : helper_failed(name, "erase", output, err);
    reg_wipe_free(output);
    return rc;
}
