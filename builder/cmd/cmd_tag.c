/* SPDX-License-Identifier: Apache-2.0 */
/* lade tag SRC DST: another name for an image. */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cleanup.h"

#define USAGE "usage: lade tag SOURCE[:TAG] TARGET[:TAG]"

int
cmd_tag(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct store_image img = {0};
    cleanup_free char *dst = NULL;
    struct store *st;
    int rc;

    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("%s\n", USAGE);
        return 0;
    }
    if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-')
        return lade_error_set(err, LADE_ERR_USAGE, "%s", USAGE);
    if ((dst = cli_normalise_name(argv[2], err)) == NULL)
        return -1;
    /* a tag names a manifest; "name@digest" is a fixed reference, not something to move */
    if (strncmp(dst, "sha256:", 7) == 0 || strchr(dst, '@') != NULL)
        return lade_error_set(err, LADE_ERR_USAGE, "cannot use a digest as a tag: '%s'", argv[2]);
    if ((st = cli_store(cli, err)) == NULL || store_image_lookup(st, argv[1], &img, err) < 0)
        return -1;
    rc = store_tag_set(st, dst, &img.manifest_desc, err);
    store_image_release(&img);
    return rc;
}
