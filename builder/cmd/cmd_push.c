/* SPDX-License-Identifier: Apache-2.0 */
/* lade push NAME: a stored image to the registry its name points at. */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>

#include "../progress.h"

static const struct cli_opt push_opts[] = {
    CLI_REGISTRY_OPTIONS,
    {0},
};

static int
cmd_push(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct store_image img = {0};
    struct image_ref ref;
    struct store *st;
    digest_t pushed;
    int rc;

    if ((rc = cli_transfer_args(cli, &push_command, argc, argv, &ref, err)) != 0)
        return rc > 0 ? 0 : -1;
    /* the option layer moved NAME to argv[1] */
    if ((st = cli_store(cli, err)) == NULL || store_image_lookup(st, argv[1], &img, err) < 0) {
        image_ref_release(&ref);
        return -1;
    }
    struct transfer_progress tp;
    transfer_progress_init(&tp, PROGRESS_AUTO, NULL);
    cli->reg.progress = transfer_progress_event;
    cli->reg.progress_ctx = &tp;
    rc = registry_push(st, store_image_top(&img), &ref, &cli->reg, pushed, err);
    cli->reg.progress = NULL;
    transfer_progress_release(&tp);
    if (rc == 0) {
        char *name = image_ref_string(&ref);
        printf("%s: %s\n", name, pushed);
        free(name);
    }
    store_image_release(&img);
    image_ref_release(&ref);
    return rc;
}

const struct cli_command push_command = {
    .name = "push",
    .synopsis = "[OPTIONS] NAME[:TAG]",
    .summary = "Push an image to the registry its name points at",
    .description = "Credentials come from lade login or docker's config.json and credential\n"
                   "helpers. Loopback registries are spoken to in plain HTTP, as docker does.",
    .opts = push_opts,
    .run = cmd_push,
};
