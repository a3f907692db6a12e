/* SPDX-License-Identifier: Apache-2.0 */
/* lade pull [--platform OS/ARCH] [--verify-key PUB] NAME: an image from its registry into the
 * store; with --verify-key only when its signature verifies, and then the verified digest. */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>

#include "../progress.h"

static const struct cli_opt pull_opts[] = {
    {CLI_OPT_PLATFORM, "platform", 0, "OS/ARCH[/VARIANT]",
     "The image of this platform from a multi-platform index (default: this machine's)"},
    {CLI_OPT_VERIFY_KEY, "verify-key", 0, "PUB",
     "Pull only an image with a valid signature by this public key (lade sign), else exit 6"},
    CLI_REGISTRY_OPTIONS,
    {0},
};

static int
cmd_pull(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct image_ref ref;
    struct oci_desc desc;
    struct store *st;
    digest_t verified;
    int rc;

    if ((rc = cli_transfer_args(cli, &pull_command, argc, argv, &ref, err)) != 0)
        return rc > 0 ? 0 : -1;
    if ((st = cli_store(cli, err)) == NULL) {
        image_ref_release(&ref);
        return -1;
    }
    /* refused before anything is stored; then the digest verified is the one pulled, whatever
     * the tag says by now */
    if (cli->verify_key != NULL) {
        if (cli_verify_image(cli, &ref, cli->verify_key, verified, err) < 0) {
            image_ref_release(&ref);
            return -1;
        }
        cli->reg.pin_digest = verified;
    }
    struct transfer_progress tp;
    transfer_progress_init(&tp, PROGRESS_AUTO, NULL);
    cli->reg.progress = transfer_progress_event;
    cli->reg.progress_ctx = &tp;
    rc = registry_pull(st, &ref, &cli->reg, &desc, err);
    cli->reg.progress = NULL;
    cli->reg.pin_digest = NULL;
    transfer_progress_release(&tp);
    if (rc == 0) {
        char *name = image_ref_string(&ref);
        printf("%s: %s\n", name, desc.digest);
        free(name);
    }
    image_ref_release(&ref);
    return rc;
}

const struct cli_command pull_command = {
    .name = "pull",
    .synopsis = "[OPTIONS] NAME[:TAG|@DIGEST]",
    .summary = "Pull an image from a registry into the store",
    .opts = pull_opts,
    .run = cmd_pull,
};
