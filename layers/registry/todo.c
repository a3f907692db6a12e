/* SPDX-License-Identifier: Apache-2.0 */
/* TEMPORARY (this session only): the registry entry points not written yet. Each is deleted
 * from here by the change that implements it; this file must be gone before the session ends. */
#include "registry.h"

int
registry_login(const char *server, const char *user, const char *password,
               const struct registry_opts *opts, struct lade_error *err)
{
    (void) server, (void) user, (void) password, (void) opts;
    return lade_error_set(err, LADE_ERR_OTHER, "login is not implemented yet");
}

int
registry_logout(const char *server, const struct registry_opts *opts, struct lade_error *err)
{
    (void) server, (void) opts;
    return lade_error_set(err, LADE_ERR_OTHER, "logout is not implemented yet");
}
