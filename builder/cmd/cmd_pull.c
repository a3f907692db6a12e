/* SPDX-License-Identifier: Apache-2.0 */
/* lade pull [--platform OS/ARCH] NAME: an image from its registry into the store. */
#include "cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../progress.h"

#define USAGE "usage: lade pull [--platform OS/ARCH[/VARIANT]] NAME[:TAG|@DIGEST]"

enum { OPT_PLATFORM = 256 };

int
cmd_pull(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    static const struct option opts[] = {
        {"platform", required_argument, NULL, OPT_PLATFORM},
        {"help", no_argument, NULL, 'h'},
        CLI_REGISTRY_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    struct image_ref ref;
    struct oci_desc desc;
    struct store *st;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_PLATFORM:
            cli->reg.platform = optarg;
            break;
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
