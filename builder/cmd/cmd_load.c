/* SPDX-License-Identifier: Apache-2.0 */
/* lade load [-i FILE]: images from an OCI or docker archive (stdin when no -i), as docker load. */
#include "cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/strv.h"
#include "../../layers/archive/archive.h"

#define USAGE "usage: lade load [-q|--quiet] [-i FILE]"

static const struct option options[] = {
    {"input", required_argument, NULL, 'i'},
    {"quiet", no_argument, NULL, 'q'},
    {NULL, 0, NULL, 0},
};

int
cmd_load(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    const char *in = NULL;
    char **names = NULL, **untagged = NULL;
    bool quiet = false;
    struct store *st;
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "i:q", options, NULL)) != -1) {
        if (c == 'i')
            in = optarg;
        else if (c == 'q')
            quiet = true;
        else
            return lade_error_set(err, LADE_ERR_USAGE, "bad option '%s'\n%s", argv[optind - 1],
                                  USAGE);
    }
    if (optind != argc)
        return lade_error_set(err, LADE_ERR_USAGE, "%s", USAGE);
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
