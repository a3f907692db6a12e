/* SPDX-License-Identifier: Apache-2.0 */
/* lade login and logout (operations level): the server name as docker spells it, the
 * credentials checked against the registry before anything is saved (a /v2/ request whose
 * challenge is answered with them; for Bearer a token request without a scope, as docker login
 * does), then stored or erased through creds.c. */
#include "registry-internal.h"
#include "creds.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../../builder/common/cleanup.h"
#include "../../builder/common/xalloc.h"

/* host[:port] with a DNS name, an IPv4 address or a bracketed IPv6 address. */
static bool
valid_hostport(const char *s)
{
    const char *p = s;

    if (*p == '[') {
        p++;
        while (isxdigit((unsigned char) *p) || *p == ':' || *p == '.' || *p == '%')
            p++;
        if (*p != ']' || p == s + 1)
            return false;
        p++;
    } else {
        while (isalnum((unsigned char) *p) || *p == '.' || *p == '-' || *p == '_')
            p++;
        if (p == s || *s == '.' || *s == '-')
            return false;
    }
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || *end != '\0' || port < 1 || port > 65535)
            return false;
        return isdigit((unsigned char) p[1]);
    }
    return *p == '\0';
}

char *
registry_server_name(const char *server, struct lade_error *err)
{
    const char *p = server ? server : "";
    const char *scheme = strstr(p, "://");
    char *host;

    if (scheme != NULL) {
        size_t n = (size_t) (scheme - p);
        if (!((n == 4 && strncmp(p, "http", 4) == 0) || (n == 5 && strncmp(p, "https", 5) == 0)))
            goto bad;
        p = scheme + 3;
    }
    host = xstrndup(p, strcspn(p, "/"));
    if (*host == '\0' || reg_is_hub(host)) {
        free(host);
        return xstrdup("docker.io");
    }
    for (char *h = host; *h && *h != ':'; h++) /* DNS names are case-insensitive */
        *h = (char) tolower((unsigned char) *h);
    if (valid_hostport(host))
        return host;
    free(host);
bad:
    lade_error_set(err, LADE_ERR_USAGE, "invalid registry server \"%s\"", server);
    return NULL;
}

int
registry_login(const char *server, const char *user, const char *password,
               const struct registry_opts *opts, struct lade_error *err)
{
    cleanup_free char *name = registry_server_name(server, err);
    struct reg_client *c = NULL;
    struct reg_response r;
    int rc;

    if (name == NULL)
        return -1;
    if (reg_client_new(name, opts, &c, err) < 0)
        return -1;
    reg_client_set_credentials(c, user, password);
    struct reg_request rq = {.method = "GET", .url = "/v2/", .body_fd = -1};
    rc = reg_do(c, &rq, &r, err);
    if (rc == 0) {
        if (r.status != 200)
            rc = reg_status_error(&r, err, "login to %s", name);
        reg_response_release(&r);
    }
    reg_client_free(c);
    if (rc < 0)
        return -1;
    if (reg_creds_store(opts, name, user, password, err) < 0)
        return lade_error_prefix(err, "saving the credentials for %s", name);
    return 0;
}

int
registry_logout(const char *server, const struct registry_opts *opts, struct lade_error *err)
{
    cleanup_free char *name = registry_server_name(server, err);
    int rc;

    if (name == NULL)
        return -1;
    rc = reg_creds_erase(opts, name, err);
    if (rc < 0)
        return lade_error_prefix(err, "removing the credentials for %s", name);
    if (rc == 1)
        return lade_error_set(err, LADE_ERR_OTHER, "not logged in to %s", name);
    return 0;
}
