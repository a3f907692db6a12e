/* SPDX-License-Identifier: Apache-2.0 */
#include "cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strv.h"
#include "../common/xalloc.h"
#include "../../layers/layers.h"

struct store *
cli_store(struct cli *cli, struct lade_error *err)
{
    if (cli->store == NULL && store_open(cli->root, &cli->store, err) < 0)
        return NULL;
    return cli->store;
}

char *
cli_normalise_name(const char *name, struct lade_error *err)
{
    struct image_ref ref;

    if (strncmp(name, "sha256:", 7) == 0)
        return xstrdup(name);
    if (image_ref_parse(name, &ref, err) < 0)
        return NULL;
    char *s = image_ref_string(&ref);
    image_ref_release(&ref);
    return s;
}

int
cli_registry_option(struct cli *cli, int opt, const char *arg, struct lade_error *err)
{
    char *end;

    switch (opt) {
    case CLI_OPT_INSECURE_REGISTRY:
        if (*arg == '\0' || strchr(arg, '/') != NULL)
            return lade_error_set(err, LADE_ERR_USAGE,
                                  "--insecure-registry wants HOST or HOST:PORT, not \"%s\"", arg);
        cli->insecure = strv_push(cli->insecure, arg);
        cli->reg.insecure = (const char *const *) cli->insecure;
        cli->reg.ninsecure = strv_len(cli->insecure);
        return 0;
    case CLI_OPT_RETRIES: {
        long v = strtol(arg, &end, 10);
        if (*arg == '\0' || *end != '\0' || v < 0 || v > 100)
            return lade_error_set(err, LADE_ERR_USAGE, "--retries wants 0 to 100, not \"%s\"", arg);
        cli->reg.retries = (int) v;
        return 0;
    }
    default:
        return lade_error_set(err, LADE_ERR_USAGE, "invalid registry option");
    }
}

void
cli_release(struct cli *cli)
{
    if (cli->store != NULL)
        store_free(cli->store);
    cli->store = NULL;
    strv_free(cli->insecure);
    cli->insecure = NULL;
}

int
cli_transfer_args(struct cli *cli, int argc, char **argv, const char *usage, bool platform,
                  struct image_ref *ref, struct lade_error *err)
{
    enum { OPT_PLATFORM = 256, OPT_VERIFY_KEY };
    static const struct option opts[] = {
        {"platform", required_argument, NULL, OPT_PLATFORM},
        {"verify-key", required_argument, NULL, OPT_VERIFY_KEY},
        {"help", no_argument, NULL, 'h'},
        CLI_REGISTRY_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_PLATFORM:
            if (!platform)
                return lade_error_set(err, LADE_ERR_USAGE, "%s", usage);
            cli->reg.platform = optarg;
            break;
        case OPT_VERIFY_KEY: /* pull only, as --platform */
            if (!platform)
                return lade_error_set(err, LADE_ERR_USAGE, "%s", usage);
            cli->verify_key = optarg;
            break;
        case 'h':
            printf("%s\n", usage);
            return 1;
        case CLI_OPT_INSECURE_REGISTRY:
        case CLI_OPT_RETRIES:
            if (cli_registry_option(cli, c, optarg, err) < 0)
                return -1;
            break;
        default:
            return lade_error_set(err, LADE_ERR_USAGE, "%s", usage);
        }
    }
    if (optind != argc - 1)
        return lade_error_set(err, LADE_ERR_USAGE, "%s", usage);
    if (image_ref_parse(argv[optind], ref, err) < 0)
        return lade_error_recode(err, LADE_ERR_USAGE);
    return 0;
}

char *
cli_familiar_name(const char *full)
{
    struct lade_error ignored = {0};
    struct image_ref ref = {0};

    if (image_ref_parse(full, &ref, &ignored) < 0)
        return xstrdup(full);
    char *s = image_ref_familiar(&ref);
    image_ref_release(&ref);
    return s;
}
