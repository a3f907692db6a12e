/* SPDX-License-Identifier: Apache-2.0 */
/* lade load [-i FILE]: images from an OCI or docker archive (stdin when no -i), as docker load. */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/strv.h"
#include "../../layers/archive/archive.h"

static const struct cli_opt load_opts[] = {
    {'i', "input", 'i', "FILE", "Read the archive from FILE (default: stdin)"},
    {'q', "quiet", 'q', NULL, "Print nothing"},
    {0},
};

static int
cmd_load(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    const char *in = NULL;
    char **names = NULL, **untagged = NULL;
    bool quiet = false;
    struct store *st;
    struct cli_args a;
    int c;

    cli_args_init(&a, &load_command, argc, argv);
    while ((c = cli_next(&a, err)) > 0) {
        if (c == 'i')
            in = a.value;
        else
            quiet = true;
    }
    if ((c = cli_end(&a, c, 0, 0, err)) != 0)
        return c > 0 ? 0 : -1;
    if (in == NULL) {
        if (isatty(STDIN_FILENO))
            return lade_error_set(err, LADE_ERR_USAGE,
                                  "no archive given: use -i FILE or pipe one to stdin");
        in = "/dev/stdin";
    }
    if ((st = cli_store(cli, err)) == NULL || archive_import_ex(st, in, &names, &untagged, err) < 0)
        return -1;
    for (size_t i = 0; !quiet && names && names[i]; i++) {
        cleanup_free char *familiar = cli_familiar_name(names[i]);
        printf("Loaded image: %s\n", familiar);
    }
    /* untagged images are reachable by manifest digest only */
    for (size_t i = 0; !quiet && untagged && untagged[i]; i++)
        printf("Loaded image ID: %s\n", untagged[i]);
    strv_free(names);
    strv_free(untagged);
    return 0;
}

const struct cli_command load_command = {
    .name = "load",
    .synopsis = "[-i FILE] [-q]",
    .summary = "Load images from an OCI or docker archive",
    .description = "Reads a tar archive as `docker save` or `lade save` write it (OCI layout or\n"
                   "docker format) and stores its images under their names.",
    .opts = load_opts,
    .run = cmd_load,
};
