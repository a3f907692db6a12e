/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes what the registry client parses from a server before trusting anything: the
 * WWW-Authenticate header, the JSON error bodies, and the server names users type. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/common/xalloc.h"
#include "layers/registry/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = xstrndup((const char *) data, size);
    struct reg_challenge ch;
    struct lade_error err = {0};

    if (reg_challenge_parse(s, &ch) == 0) {
        if (strcmp(ch.scheme, "bearer") == 0 && ch.realm == NULL)
            abort(); /* a Bearer challenge is only usable with a realm */
        reg_challenge_release(&ch);
    }
    free(reg_error_message((const char *) data, size));
    free(registry_server_name(s, &err));
    free(s);
    return 0;
}
