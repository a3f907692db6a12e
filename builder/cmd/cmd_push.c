/* SPDX-License-Identifier: Apache-2.0 */
/* lade push NAME: a stored image to the registry its name points at. */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>

#include "../progress.h"

#define USAGE "usage: lade push NAME[:TAG]"

int
cmd_push(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct store_image img = {0};
    struct image_ref ref;
    struct store *st;
    digest_t pushed;
    int rc;

    if ((rc = cli_transfer_args(cli, argc, argv, USAGE, false, &ref, err)) != 0)
        return rc > 0 ? 0 : -1;
    if ((st = cli_store(cli, err)) == NULL ||
        store_image_lookup(st, argv[argc - 1], &img, err) < 0) {
        image_ref_release(&ref);
        return -1;
    }
    struct transfer_progress tp;
    transfer_progress_init(&tp, PROGRESS_AUTO, NULL);
    cli->reg.progress = transfer_progress_event;
    cli->reg.progress_ctx = &tp;
    rc = registry_push(st, &img.manifest_desc, &ref, &cli->reg, pushed, err);
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
