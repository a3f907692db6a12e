/* SPDX-License-Identifier: Apache-2.0 */
#include "registry-internal.h"

#include <stdlib.h>
#include <string.h>

static void
wipe_free(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void
reg_creds_release(struct reg_creds *cr)
{
    free(cr->user);
    wipe_free(cr->secret);
    wipe_free(cr->identity_token);
    memset(cr, 0, sizeof(*cr));
}
