/* SPDX-License-Identifier: Apache-2.0 */
/* lade push NAME: a stored image to the registry its name points at. */
#include "cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../progress.h"

#define USAGE "usage: lade push NAME[:TAG]"

int
cmd_push(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        CLI_REGISTRY_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    struct store_image img = {0};
    struct image_ref ref;
    struct store *st;
    digest_t pushed;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            printf("%s\n", USAGE);
            return 0;
        case CLI_OPT_INSECURE_REGISTRY:
        case CLI_OPT_RETRIES:
            if (cli_registry_option(cli, c, optarg, err) < 0)
                return -1;
            break;
        default:
            return lade_error_set(err, LADE_ERR_USAGE, "%s", USAGE);
        }
    }
    if (optind != argc - 1)
        return lade_error_set(err, LADE_ERR_USAGE, "%s", USAGE);
    if (image_ref_parse(argv[optind], &ref, err) < 0) {
        err->code = LADE_ERR_USAGE;
        return -1;
    }
    if ((st = cli_store(cli, err)) == NULL || store_image_lookup(st, argv[optind], &img, err) < 0) {
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
