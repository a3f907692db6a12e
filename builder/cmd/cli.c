/* SPDX-License-Identifier: Apache-2.0 */
#include "cmd.h"

#include <string.h>

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
