/* SPDX-License-Identifier: Apache-2.0 */
/* lade tag SRC DST: another name for an image. */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cleanup.h"

static int
cmd_tag(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct store_image img = {0};
    cleanup_free char *dst = NULL;
    struct store *st;
    struct cli_args a;
    int rc;

    cli_args_init(&a, &tag_command, argc, argv);
    if ((rc = cli_end(&a, cli_next(&a, err), 2, 2, err)) != 0)
        return rc > 0 ? 0 : -1;
    if ((dst = cli_normalise_name(a.operands[1], err)) == NULL)
        return -1;
    /* a tag names a manifest; "name@digest" is a fixed reference, not something to move */
    if (strncmp(dst, "sha256:", 7) == 0 || strchr(dst, '@') != NULL)
        return lade_error_set(err, LADE_ERR_USAGE, "cannot use a digest as a tag: '%s'",
                              a.operands[1]);
    if ((st = cli_store(cli, err)) == NULL || store_image_lookup(st, a.operands[0], &img, err) < 0)
        return -1;
    rc = store_tag_set(st, dst, store_image_top(&img), err);
    store_image_release(&img);
    return rc;
}

const struct cli_command tag_command = {
    .name = "tag",
    .synopsis = "SOURCE[:TAG] TARGET[:TAG]",
    .summary = "Give an image another name",
    .run = cmd_tag,
};
