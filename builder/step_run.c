/* SPDX-License-Identifier: Apache-2.0 */
/* RUN: the command in the sandbox on the stage's layers; the upper dir becomes the layer. */
#include "steps.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cache.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"

/* BuildKit's history text: "RUN |2 A=1 B= /bin/sh -c make # buildkit": every ARG declared in
 * the stage with its current value (an ENV of that name wins; no value gives "B="). */
static char *
run_history(struct build *b, struct stage_state *ss, char *const *argv)
{
    struct lade_buf hb = LADE_BUF_INIT;
    size_t nargs = ss->arg_names.n;
    struct expander x;

    stage_expander(ss, b->plan->df, &x);
    lade_buf_appends(&hb, "RUN");
    if (nargs > 0) {
        lade_buf_appendf(&hb, " |%zu", nargs);
        for (size_t i = 0; i < nargs; i++) {
            const char *v = x.lookup(x.ud, ss->arg_names.v[i]);
            lade_buf_appendf(&hb, " %s=%s", ss->arg_names.v[i], v ? v : "");
        }
    }
    for (size_t i = 0; argv[i]; i++)
        lade_buf_appendf(&hb, " %s", argv[i]);
    lade_buf_appends(&hb, " # buildkit");
    return lade_buf_steal(&hb);
}

/* BuildKit's proxy environment: a --build-arg named like a proxy variable (any case) reaches
 * every RUN as both spellings, after the step's own environment, whether declared or not. It is
 * left out of the cache key and the history, so a changed proxy rebuilds nothing. */
static char **
run_proxy_env(const struct build *b, char **envp)
{
    static const char *const names[] = {"HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY",
                                        "ALL_PROXY"};

    for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
        const char *val = NULL, *best = NULL;
        /* among the spellings given, the last in byte order wins, as BuildKit's sorted walk */
        for (char *const *a = b->plan->build_args; a && *a; a++) {
            size_t klen = strcspn(*a, "=");
            if ((*a)[klen] != '=' || klen != strlen(names[n]) ||
                strncasecmp(*a, names[n], klen) != 0)
                continue;
            if (best == NULL || strncmp(*a, best, klen) >= 0) {
                best = *a;
                val = *a + klen + 1;
            }
        }
        if (val == NULL || *val == '\0')
            continue;
        cleanup_free char *lower = xstrdup(names[n]);
        for (char *p = lower; *p; p++)
            *p = (char) tolower((unsigned char) *p);
        envp = strv_push_take(envp, xasprintf("%s=%s", names[n], val));
        envp = strv_push_take(envp, xasprintf("%s=%s", lower, val));
    }
    return envp;
}

/* The network a RUN gets: its --network, else (and for "default") the build's --network. */
static enum sandbox_net
run_network(const struct build *b, const struct run_cmd *r)
{
    switch (r->network) {
    case RUN_NET_NONE:
        return SANDBOX_NET_NONE;
    case RUN_NET_HOST:
        return SANDBOX_NET_HOST;
    case RUN_NET_DEFAULT:
    case RUN_NET_UNSET:
        break;
    }
    return b->opts->net;
}

int
step_run(struct build *b, struct stage_state *ss, const struct command *cmd, struct lade_error *err)
{
    const struct instr *in = cmd->in;
    const struct run_cmd *r = &cmd->u.run;
    json_t *c = oci_config_container(ss->config);
    char **argv = NULL, **envp = NULL, **lowers = NULL;
    cleanup_free char *hist = NULL;
    struct fs_step fs;
    enum sandbox_net net = run_network(b, r);
    int pipefd[2] = {-1, -1}, status = 0, rc = -1;

    if (in->nheredocs > 0)
        return lade_error_set(err, LADE_ERR_OTHER, "RUN with a heredoc is not implemented yet");
    if (r->nmounts > 0)
        return lade_error_set(err, LADE_ERR_OTHER, "RUN --mount is not implemented yet");
    if (r->security != NULL && strcmp(r->security, "insecure") == 0)
        return lade_error_set(err, LADE_ERR_OTHER,
                              "RUN --security=insecure is not implemented yet");
    argv = instr_command(ss->config, in);
    if (argv[0] == NULL) {
        strv_free(argv);
        return lade_error_set(err, LADE_ERR_PARSE, "RUN requires a command");
    }
    envp = stage_run_env(ss);
    hist = run_history(b, ss, argv);
    {
        /* the view (cache.h): the command, the whole environment, USER, WORKDIR, network */
        const char *user = json_string_value(json_object_get(c, "User"));
        const char *cwd = json_string_value(json_object_get(c, "WorkingDir"));
        char **view = NULL;
        for (size_t i = 0; argv[i]; i++)
            view = strv_push_take(view, xasprintf("arg=%s", argv[i]));
        for (size_t i = 0; envp[i]; i++)
            view = strv_push_take(view, xasprintf("env=%s", envp[i]));
        view = strv_push_take(view, xasprintf("user=%s", user ? user : ""));
        view = strv_push_take(view, xasprintf("cwd=%s", cwd ? cwd : ""));
        view = strv_push_take(view, xasprintf("net=%d", (int) net));
        cache_key_step(ss, cmd, view);
        strv_free(view);
    }
    envp = run_proxy_env(b, envp);
    memset(&fs, 0, sizeof(fs));
    if (stage_try_cache(b, ss, hist, &b->step_cached, err) < 0 || b->step_cached) {
        rc = b->step_cached ? 0 : -1;
        goto out;
    }
    if (fs_step_begin(b, ss, false, &fs, err) < 0)
        goto out;
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        lade_error_sys(err, "pipe");
        goto out;
    }
    lowers = stage_lowerdirs(ss);
    struct sandbox_spec spec = {
        .lowerdirs = lowers,
        .nlower = ss->nlayers,
        .upperdir = fs.upper,
        .workdir = fs.work,
        .argv = argv,
        .envp = envp,
        .cwd = json_string_value(json_object_get(c, "WorkingDir")),
        .user = json_string_value(json_object_get(c, "User")),
        .hostname = NULL,
        .net = net,
        .stdin_fd = -1,
        .stdout_fd = pipefd[1],
        .stderr_fd = pipefd[1],
    };
    struct output_pump *pump = output_pump_start(&b->progress, pipefd[0]);
    rc = sandbox_run(&spec, &status, err);
    close(pipefd[1]);
    output_pump_finish(pump); /* closes pipefd[0] */
    pipefd[0] = pipefd[1] = -1;
    if (rc == 0 && status != 0) {
        cleanup_free char *tail = progress_tail_text(&b->progress);
        cleanup_free char *line = NULL;
        struct lade_buf cb = LADE_BUF_INIT;
        for (size_t i = 0; argv[i]; i++)
            lade_buf_appendf(&cb, "%s%s", i ? " " : "", argv[i]);
        line = lade_buf_steal(&cb);
        rc = lade_error_set(err, LADE_ERR_RUN,
                            "process \"%s\" did not complete successfully: exit status %d%s", line,
                            status, tail);
    } else if (rc < 0) {
        lade_error_recode(err, LADE_ERR_RUN);
    }
    if (rc == 0)
        rc = fs_step_end(b, ss, &fs, true, hist, err);
out:
    fs_step_end(b, ss, &fs, false, NULL, NULL);
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    free(lowers);
    strv_free(argv);
    strv_free(envp);
    return rc;
}
