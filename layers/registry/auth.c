/* SPDX-License-Identifier: Apache-2.0 */
/* TEMPORARY: anonymous only, until the challenge handling lands. */
#include "client.h"

#include <stdlib.h>

int
reg_auth_header(struct reg_client *c, const char *scope, char **out, struct lade_error *err)
{
    (void) c, (void) scope, (void) err;
    *out = NULL;
    return 0;
}

int
reg_auth_answer(struct reg_client *c, const char *challenge, const char *scope,
                struct lade_error *err)
{
    (void) challenge, (void) scope;
    return lade_error_set(err, LADE_ERR_AUTH, "%s: authentication is not implemented yet",
                          c->domain);
}

int
reg_auth_refused(struct reg_client *c, const struct reg_response *r, struct lade_error *err)
{
    (void) r;
    return lade_error_set(err, LADE_ERR_AUTH, "%s: authentication refused", c->domain);
}

void
reg_tokens_free(struct reg_token *t)
{
    while (t != NULL) {
        struct reg_token *next = t->next;
        free(t->scope);
        free(t->token);
        free(t);
        t = next;
    }
}
