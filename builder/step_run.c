/* SPDX-License-Identifier: Apache-2.0 */
/* RUN: the command in the sandbox on the stage's layers; the upper dir becomes the layer. */
#include "steps.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cache.h"
#include "step_run_chroot.h"
#include "step_run_mounts.h"
#include "step_run_secret.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "sandbox/chroot.h"

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

/* RUN with heredocs, as dockerfile2llb's dispatchRun: a single heredoc that is the whole
 * command runs as a script on /dev/pipes when it starts with "#!" (its *script_name and
 * *script set), else as the shell command; otherwise the text is put back together (command
 * line, then each body and its name) for the shell to read the heredocs itself. */
static int
run_heredoc_argv(json_t *config, const struct instr *in, char ***argv, const char **script_name,
                 char **script, struct lade_error *err)
{
    const struct heredoc *h;
    struct lade_buf text = LADE_BUF_INIT;

    if (in->json || in->nargs != 1)
        return lade_error_set(err, LADE_ERR_PARSE,
                              "parsing produced an invalid run command: heredocs need the "
                              "shell form");
    h = instr_heredoc_for_arg(in, in->args[0]);
    if (h == NULL) {
        lade_buf_appends(&text, in->args[0]);
        for (size_t i = 0; i < in->nheredocs; i++)
            lade_buf_appendf(&text, "\n%s%s", in->heredocs[i].content, in->heredocs[i].name);
        cleanup_free char *t = lade_buf_steal(&text);
        *argv = shell_command(config, t);
        return 0;
    }
    cleanup_free char *data = h->chomp ? heredoc_chomp(h->content) : xstrdup(h->content);
    if (strncmp(data, "#!", 2) != 0) {
        *argv = shell_command(config, data);
        return 0;
    }
    cleanup_free char *path = xasprintf("/dev/pipes/%s", h->name);
    *argv = shell_command(config, path);
    *script_name = h->name;
    *script = steal_ptr(&data);
    return 0;
}

/* The view (cache.h): the command, the whole environment, USER, WORKDIR, network, the
 * heredocs' bodies (a script runs from /dev/pipes, so its text is not in the command) and
 * what each mount shows. */
static void
run_cache_key(struct stage_state *ss, const struct command *cmd, char *const *argv,
              char *const *envp, enum sandbox_net net, char *const *mount_view)
{
    json_t *c = oci_config_container(ss->config);
    const char *user = json_string_value(json_object_get(c, "User"));
    const char *cwd = json_string_value(json_object_get(c, "WorkingDir"));
    const struct instr *in = cmd->in;
    char **view = NULL;

    for (size_t i = 0; argv[i]; i++)
        view = strv_push_take(view, xasprintf("arg=%s", argv[i]));
    for (size_t i = 0; envp[i]; i++)
        view = strv_push_take(view, xasprintf("env=%s", envp[i]));
    view = strv_push_take(view, xasprintf("user=%s", user ? user : ""));
    view = strv_push_take(view, xasprintf("cwd=%s", cwd ? cwd : ""));
    view = strv_push_take(view, xasprintf("net=%d", (int) net));
    for (size_t i = 0; i < in->nheredocs; i++)
        view =
            strv_push_take(view, xasprintf("heredoc=%s:%d:%s", in->heredocs[i].name,
                                           (int) in->heredocs[i].chomp, in->heredocs[i].content));
    for (size_t i = 0; mount_view && mount_view[i]; i++)
        view = strv_push(view, mount_view[i]);
    cache_key_step(ss, cmd, view);
    strv_free(view);
}

/* Whether the filesystem holding path is full, blocks or inodes: a RUN that failed then most
 * likely failed for it (its writes go to the upper dir there), an I/O error of the build (exit
 * 7) rather than of the command. */
static bool
store_disk_full(const char *path)
{
    struct statvfs sv;

    if (path == NULL || statvfs(path, &sv) < 0)
        return false;
    return (uint64_t) sv.f_bavail * sv.f_frsize < (4u << 20) ||
           (sv.f_files > 0 && sv.f_favail == 0);
}

/* Runs argv in the sandbox on fs (chrooted in the tree chroot_root for the chroot tier, else
 * NULL), its output through the progress; 0 or -1 with err set (a non-zero exit is a
 * LADE_ERR_RUN error with the output's tail). */
static int
run_sandboxed(struct build *b, struct sandbox_spec *spec, const char *chroot_root,
              struct lade_error *err)
{
    int pipefd[2], status = 0, rc;

    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return lade_error_sys(err, "pipe");
    spec->stdin_fd = -1;
    spec->stdout_fd = spec->stderr_fd = pipefd[1];
    struct output_pump *pump = output_pump_start(&b->progress, pipefd[0]);
    rc = chroot_root != NULL ? sandbox_chroot_run(spec, chroot_root, &status, err)
                             : sandbox_run(spec, &status, err);
    close(pipefd[1]);
    output_pump_finish(pump); /* closes pipefd[0] */
    if (rc == 0 && status != 0) {
        progress_exit_code(&b->progress, status);
        cleanup_free char *tail = progress_tail_text(&b->progress);
        cleanup_free char *line = NULL;
        struct lade_buf cb = LADE_BUF_INIT;
        for (size_t i = 0; spec->argv[i]; i++)
            lade_buf_appendf(&cb, "%s%s", i ? " " : "", spec->argv[i]);
        line = lade_buf_steal(&cb);
        if (store_disk_full(spec->upperdir))
            return lade_error_set(err, LADE_ERR_IO,
                                  "process \"%s\" did not complete successfully: exit status %d: "
                                  "no space left on the store's disk (%s)%s",
                                  line, status, spec->upperdir, tail);
        return lade_error_set(err, LADE_ERR_RUN,
                              "process \"%s\" did not complete successfully: exit status %d%s",
                              line, status, tail);
    }
    if (rc < 0)
        lade_error_recode(err, LADE_ERR_RUN);
    return rc;
}

int
step_run(struct build *b, struct stage_state *ss, const struct command *cmd, struct lade_error *err)
{
    const struct instr *in = cmd->in;
    const struct run_cmd *r = &cmd->u.run;
    json_t *c = oci_config_container(ss->config);
    char **argv = NULL, **envp = NULL, **lowers = NULL, **placed = NULL;
    cleanup_free char *hist = NULL, *script = NULL;
    cleanup_free struct sandbox_mount *mounts = NULL;
    const char *script_name = NULL;
    struct fs_step fs = {0};
    struct run_mounts rm = {0};
    struct run_secret_mounts secrets = {0};
    size_t nmounts = 0;
    enum sandbox_net net = run_network(b, r);
    bool insecure = r->security != NULL && strcmp(r->security, "insecure") == 0;
    int rc = -1;

    if (insecure && !b->opts->allow_insecure)
        return lade_error_set(err, LADE_ERR_OTHER,
                              "RUN --security=insecure needs the security.insecure entitlement: "
                              "lade build --allow security.insecure");
    if (in->nheredocs > 0) {
        if (run_heredoc_argv(ss->config, in, &argv, &script_name, &script, err) < 0)
            return -1;
    } else {
        argv = instr_command(ss->config, in);
    }
    if (argv[0] == NULL) {
        strv_free(argv);
        return lade_error_set(err, LADE_ERR_PARSE, "RUN requires a command");
    }
    envp = run_ssh_env(r, stage_run_env(ss));
    hist = run_history(b, ss, argv);
    if (run_mounts_prepare(b, ss, r, &rm, err) < 0)
        goto out;
    run_cache_key(ss, cmd, argv, envp, net, rm.view);
    envp = run_proxy_env(b, envp);
    if (stage_try_cache(b, ss, hist, &b->step_cached, err) < 0 || b->step_cached) {
        rc = b->step_cached ? 0 : -1;
        goto out;
    }
    bool chroot = b->tier == ISOLATION_CHROOT;
    if (chroot && run_chroot_check(b, r, net, err) < 0)
        goto out;
    if (fs_step_begin(b, ss, false, &fs, err) < 0 || run_mounts_setup(b, &rm, err) < 0 ||
        (script != NULL &&
         run_mounts_add_inline(b, &rm, "/dev/pipes", script_name, script, err) < 0) ||
        run_secrets_prepare(b, r, fs.dir, &envp, &secrets, err) < 0 || /* after the key */
        stage_layers_ready(b, ss, err) < 0)
        goto out;
    mounts = run_mounts_join(rm.v, rm.n, secrets.mounts, secrets.nmounts, &nmounts);
    if (chroot && run_chroot_prepare(ss, &fs, mounts, nmounts, &placed, err) < 0)
        goto out;
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
        .mounts = mounts,
        .nmounts = nmounts,
        .insecure = insecure,
        .limits = &b->opts->limits,
    };
    rc = run_sandboxed(b, &spec, chroot ? fs.merged : NULL, err);
    if (chroot && rc == 0) /* the layer, before moving the caches out changes the tree */
        rc = fs_step_diff(&fs, err);
    if (chroot) /* the caches back, before they are unlocked and the tree goes */
        chroot_mounts_return(fs.merged, mounts, placed);
    run_mounts_release(b, &rm);    /* unlocks the caches before the layer is written */
    run_secrets_release(&secrets); /* before the step directory goes */
    if (rc == 0)
        rc = fs_step_end(b, ss, &fs, true, hist, err);
out:
    if (placed != NULL && fs.merged != NULL)
        chroot_mounts_return(fs.merged, mounts, placed);
    strv_free(placed);
    run_mounts_release(b, &rm);
    run_secrets_release(&secrets);
    fs_step_end(b, ss, &fs, false, NULL, NULL);
    free(lowers);
    strv_free(argv);
    run_secrets_wipe_env(envp); /* it may hold secret env= values */
    strv_free(envp);
    return rc;
}
