/* SPDX-License-Identifier: Apache-2.0 */
/* lade run: a command in an image's sandbox, on a throw-away upper dir. */
#include "cmd.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fsutil.h"
#include "../common/strv.h"
#include "../common/xalloc.h"
#include "../sandbox/sandbox.h"
#include "run_tty.h"

static char **
json_strv(json_t *a)
{
    char **v = NULL;
    size_t i;
    json_t *e;

    json_array_foreach(a, i, e) v = strv_push(v, json_string_value(e) ?: "");
    return v;
}

enum { OPT_ENTRYPOINT = 256 };

static const struct cli_opt run_opts[] = {
    {'r', "rm", 0, NULL, "Remove the container afterwards (always: lade keeps no containers)"},
    {'n', "network", 0, "MODE", "default (private, through slirp4netns), host or none"},
    {'e', "env", 'e', "K=V", "Set an environment variable (K alone: from lade's environment)"},
    {'v', "volume", 'v', "HOST:PATH[:ro]", "Bind a host file or directory (repeatable)"},
    {'u', "user", 'u', "USER[:GROUP]", "Run as this user (a name or a number)"},
    {'w', "workdir", 'w', "DIR", "Working directory in the image"},
    {OPT_ENTRYPOINT, "entrypoint", 0, "CMD", "Replace the image's ENTRYPOINT (\"\": none)"},
    {'i', "interactive", 'i', NULL, "Keep stdin open (else the command reads /dev/null)"},
    {'t', "tty", 't', NULL, "Allocate a terminal (a pty; with -i the caller's terminal goes raw)"},
    {0},
};

struct run_opts {
    enum sandbox_net net;
    char **env; /* -e, "K=V" */
    struct sandbox_mount *mounts;
    size_t nmounts;
    const char *user, *workdir, *entrypoint;
    bool interactive, tty;
};

/* -v HOST:CTR[:ro|rw]: a bind mount; HOST must exist and CTR be absolute, as docker wants. */
static int
add_volume(struct run_opts *o, char *spec, struct lade_error *err)
{
    char *host = spec, *ctr = strchr(spec, ':'), *mode;

    if (ctr == NULL || ctr == spec)
        return lade_error_set(err, LADE_ERR_USAGE, "-v wants HOST:PATH[:ro], not \"%s\"", spec);
    *ctr++ = '\0';
    mode = strchr(ctr, ':');
    if (mode != NULL)
        *mode++ = '\0';
    if (*ctr != '/' || (mode && strcmp(mode, "ro") && strcmp(mode, "rw")))
        return lade_error_set(err, LADE_ERR_USAGE,
                              "-v: the path in the image must be absolute and the mode ro or rw");
    if (access(host, F_OK) < 0)
        return lade_error_sys(err, "-v: cannot use '%s'", host);
    o->mounts = xrealloc(o->mounts, (o->nmounts + 1) * sizeof(*o->mounts));
    /* copies: the sandbox's child renames itself over lade's argv, where spec points */
    o->mounts[o->nmounts++] = (struct sandbox_mount){
        .type = SANDBOX_MOUNT_BIND,
        .source = xstrdup(host),
        .target = xstrdup(ctr),
        .readonly = mode != NULL && strcmp(mode, "ro") == 0,
    };
    return 0;
}

static int
run_option(int c, char *v, struct run_opts *o, struct lade_error *err)
{
    switch (c) {
    case 'r':
        return 0; /* the container is always removed: lade keeps no containers */
    case 'n':
        if (strcmp(v, "none") == 0)
            o->net = SANDBOX_NET_NONE;
        else if (strcmp(v, "host") == 0)
            o->net = SANDBOX_NET_HOST;
        else if (strcmp(v, "default") == 0)
            o->net = SANDBOX_NET_DEFAULT;
        else
            return lade_error_set(err, LADE_ERR_USAGE, "--network must be default, host or none");
        return 0;
    case 'e':
        if (strchr(v, '=') != NULL)
            o->env = strv_push(o->env, v);
        else if (getenv(v) != NULL) /* docker: K alone passes lade's own K, if set */
            o->env = strv_env_set(o->env, v, getenv(v));
        return 0;
    case 'v':
        return add_volume(o, v, err);
    case 'u':
        o->user = v;
        return 0;
    case 'w':
        if (*v != '/')
            return lade_error_set(err, LADE_ERR_USAGE,
                                  "-w: the working directory must be absolute");
        o->workdir = v;
        return 0;
    case OPT_ENTRYPOINT:
        o->entrypoint = v;
        return 0;
    case 'i':
        o->interactive = true;
        return 0;
    case 't':
        o->tty = true;
        return 0;
    default:
        return lade_error_set(err, LADE_ERR_USAGE, "run: unknown option");
    }
}

static int
cmd_run(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct store_image img = {0};
    struct store *st;
    struct run_opts o = {.net = SANDBOX_NET_DEFAULT};
    cleanup_free char *dir = NULL, *upper = NULL, *work = NULL;
    char **lowers = NULL, **cmd = NULL, **env = NULL;
    struct cli_args a;
    struct run_tty tty;
    bool tty_started = false;
    int c, status = 0, rc = -1;

    cli_args_init(&a, &run_command, argc, argv);
    while ((c = cli_next(&a, err)) > 0)
        if (run_option(c, a.value, &o, err) < 0)
            goto out;
    if ((c = cli_end(&a, c, 1, -1, err)) != 0) {
        rc = c > 0 ? 0 : -1;
        goto out;
    }
    /* the image, then its command: argc and argv from here are the operands */
    argc = a.noperands;
    argv = a.operands;
    if ((st = cli_store(cli, err)) == NULL || store_image_lookup(st, argv[0], &img, err) < 0)
        goto out;
    if (sandbox_unshare(err) < 0)
        goto out;

    size_t n = img.manifest.nlayers;
    lowers = xcalloc(n + 1, sizeof(char *));
    digest_t chain = "";
    for (size_t i = 0; i < n; i++) {
        chain_id_next(i ? chain : NULL, oci_config_diff_id(img.config, i), chain);
        if (store_layer_dir(st, chain, oci_config_diff_id(img.config, i),
                            img.manifest.layers[i].digest, &lowers[n - 1 - i], err) < 0)
            goto out;
    }
    json_t *cfg = json_object_get(img.config, "config");
    /* docker: --entrypoint replaces ENTRYPOINT and drops the image's CMD */
    char **entry = o.entrypoint == NULL ? json_strv(json_object_get(cfg, "Entrypoint"))
                   : *o.entrypoint      ? strv_push(NULL, o.entrypoint)
                                        : NULL;
    if (argc > 1) {
        cmd = entry;
        for (int i = 1; i < argc; i++)
            cmd = strv_push(cmd, argv[i]);
    } else if (o.entrypoint != NULL) {
        cmd = entry;
    } else {
        cmd = entry;
        char **c2 = json_strv(json_object_get(cfg, "Cmd"));
        for (size_t i = 0; c2 && c2[i]; i++)
            cmd = strv_push(cmd, c2[i]);
        strv_free(c2);
    }
    if (strv_len(cmd) == 0) {
        lade_error_set(err, LADE_ERR_USAGE, "no command given and the image has no CMD");
        goto out;
    }
    env = json_strv(json_object_get(cfg, "Env"));
    for (char **e = o.env; e && *e; e++) {
        char *eq = strchr(*e, '=');
        cleanup_free char *k = xstrndup(*e, (size_t) (eq - *e));
        env = strv_env_set(env, k, eq + 1);
    }
    if (store_tmp_dir(st, &dir, err) < 0)
        goto out;
    upper = xasprintf("%s/upper", dir);
    work = xasprintf("%s/work", dir);
    if (mkdir_p_at(AT_FDCWD, upper, 0755, err) < 0 || mkdir_p_at(AT_FDCWD, work, 0700, err) < 0)
        goto out;
    struct sandbox_spec spec = {
        .lowerdirs = lowers,
        .nlower = n,
        .upperdir = upper,
        .workdir = work,
        .argv = cmd,
        .envp = env,
        .cwd = o.workdir ? o.workdir : json_string_value(json_object_get(cfg, "WorkingDir")),
        .user = o.user ? o.user : json_string_value(json_object_get(cfg, "User")),
        .net = o.net,
        .mounts = o.mounts,
        .nmounts = o.nmounts,
        .stdin_fd = o.interactive ? 0 : -1,
        .stdout_fd = 1,
        .stderr_fd = 2,
    };
    fflush(stdout);
    if (o.tty) {
        tty_started = true;
        if (run_tty_start(&tty, o.interactive, err) < 0)
            goto out;
        spec.tty = true;
        spec.tty_socket = tty.sock[1];
    }
    if (sandbox_run(&spec, &status, err) < 0)
        goto out;
    rc = 0;
out:
    if (tty_started)
        run_tty_finish(&tty);
    if (dir != NULL)
        rm_rf_at(AT_FDCWD, dir, NULL);
    for (size_t i = 0; lowers && i < img.manifest.nlayers; i++)
        free(lowers[i]);
    free(lowers);
    strv_free(cmd);
    strv_free(env);
    strv_free(o.env);
    for (size_t i = 0; i < o.nmounts; i++) {
        free((char *) o.mounts[i].source);
        free((char *) o.mounts[i].target);
    }
    free(o.mounts);
    store_image_release(&img);
    if (rc == 0 && status != 0) {
        /* The container's exit status is lade run's, as with docker run. */
        fflush(stdout);
        exit(status);
    }
    return rc;
}

const struct cli_command run_command = {
    .name = "run",
    .synopsis = "[OPTIONS] NAME [COMMAND [ARG...]]",
    .summary = "Run a command in an image, in lade's sandbox",
    .description = "The command runs as a RUN step would, on a throw-away copy of the image's\n"
                   "files. Options must come before NAME: what follows it is the command's.",
    .opts = run_opts,
    .options_before_operands = true,
    .run = cmd_run,
};
