/* SPDX-License-Identifier: Apache-2.0 */
/* lade pull [--platform OS/ARCH] NAME: an image from its registry into the store. */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>

#include "../progress.h"

#define USAGE "usage: lade pull [--platform OS/ARCH[/VARIANT]] NAME[:TAG|@DIGEST]"

int
cmd_pull(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct image_ref ref;
    struct oci_desc desc;
    struct store *st;
    int rc;

    if ((rc = cli_transfer_args(cli, argc, argv, USAGE, true, &ref, err)) != 0)
        return rc > 0 ? 0 : -1;
    if ((st = cli_store(cli, err)) == NULL) {
        image_ref_release(&ref);
        return -1;
    }
    struct transfer_progress tp;
    transfer_progress_init(&tp, PROGRESS_AUTO, NULL);
    cli->reg.progress = transfer_progress_event;
    cli->reg.progress_ctx = &tp;
    rc = registry_pull(st, &ref, &cli->reg, &desc, err);
    cli->reg.progress = NULL;
    transfer_progress_release(&tp);
    if (rc == 0) {
        char *name = image_ref_string(&ref);
        printf("%s: %s\n", name, desc.digest);
        free(name);
    }
    image_ref_release(&ref);
    return rc;
}
