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

static char **
json_strv(json_t *a)
{
    char **v = NULL;
    size_t i;
    json_t *e;

    json_array_foreach(a, i, e) v = strv_push(v, json_string_value(e) ?: "");
    return v;
}

static const struct cli_opt run_opts[] = {
    {'r', "rm", 0, NULL, "Remove the container afterwards (always: lade keeps no containers)"},
    {'n', "network", 0, "MODE", "default (private, through slirp4netns), host or none"},
    {0},
};

static int
cmd_run(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct store_image img = {0};
    struct store *st;
    enum sandbox_net net = SANDBOX_NET_DEFAULT;
    cleanup_free char *dir = NULL, *upper = NULL, *work = NULL;
    char **lowers = NULL, **cmd = NULL, **env = NULL;
    struct cli_args a;
    int c, status = 0, rc = -1;

    cli_args_init(&a, &run_command, argc, argv);
    while ((c = cli_next(&a, err)) > 0) {
        if (c == 'r')
            continue; /* the container is always removed: lade keeps no containers */
        if (strcmp(a.value, "none") == 0)
            net = SANDBOX_NET_NONE;
        else if (strcmp(a.value, "host") == 0)
            net = SANDBOX_NET_HOST;
        else if (strcmp(a.value, "default") != 0)
            return lade_error_set(err, LADE_ERR_USAGE, "--network must be default, host or none");
    }
    if ((c = cli_end(&a, c, 1, -1, err)) != 0)
        return c > 0 ? 0 : -1;
    /* the image, then its command: argc and argv from here are the operands */
    argc = a.noperands;
    argv = a.operands;
    if ((st = cli_store(cli, err)) == NULL || store_image_lookup(st, argv[0], &img, err) < 0)
        return -1;
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
    if (argc > 1) {
        cmd = json_strv(json_object_get(cfg, "Entrypoint"));
        for (int i = 1; i < argc; i++)
            cmd = strv_push(cmd, argv[i]);
    } else {
        cmd = json_strv(json_object_get(cfg, "Entrypoint"));
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
        .cwd = json_string_value(json_object_get(cfg, "WorkingDir")),
        .user = json_string_value(json_object_get(cfg, "User")),
        .net = net,
        .stdin_fd = 0,
        .stdout_fd = 1,
        .stderr_fd = 2,
    };
    fflush(stdout);
    if (sandbox_run(&spec, &status, err) < 0)
        goto out;
    rc = 0;
out:
    if (dir != NULL)
        rm_rf_at(AT_FDCWD, dir, NULL);
    for (size_t i = 0; lowers && i < img.manifest.nlayers; i++)
        free(lowers[i]);
    free(lowers);
    strv_free(cmd);
    strv_free(env);
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
