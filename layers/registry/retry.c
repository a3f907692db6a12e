/* SPDX-License-Identifier: Apache-2.0 */
/* reg_do: the attempts of one registry request (retry level, above auth). Before each attempt
 * the Authorization line for the request's scope (auth.c); a 401 is answered once (auth.c);
 * redirects are followed without the Authorization header leaving the origin; whether a failed
 * attempt is repeated, after how long, and the error when it is not, are outcome.c's. */
#include "client.h"

#include <stdlib.h>
#include <string.h>

#include "../../builder/common/cleanup.h"
#include "../../builder/common/xalloc.h"

#define MAX_REDIRECTS 10

static bool
is_redirect(long s)
{
    return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

int
reg_do(struct reg_client *c, const struct reg_request *rq, struct reg_response *resp,
       struct lade_error *err)
{
    cleanup_free char *start =
        rq->url[0] == '/' ? xasprintf("%s%s", c->base, rq->url) : xstrdup(rq->url);
    char *url = xstrdup(start);
    const char *method = rq->method;
    int attempt = 0, hops = 0, rc = -1;
    bool answered = false;
    char *auth = NULL; /* the Authorization line of the last attempt */
    struct http_result res = {0};
    CURL *h = reg_handle_get(c);

    memset(resp, 0, sizeof(*resp));
    resp->content_length = -1;
    if (h == NULL) {
        lade_error_set(err, LADE_ERR_OTHER, "libcurl: cannot create a handle");
        goto out;
    }
    for (;;) {
        reg_wipe_free(auth);
        auth = NULL;
        if (!rq->no_auth && reg_same_origin(c, url) &&
            reg_auth_header(c, rq->scope, &auth, err) < 0)
            goto out;
        int xrc = http_exchange(c, h, rq, method, url, auth, resp, &res, err);
        if (xrc < 0)
            goto out;

        long s = resp->status;
        if (res.code == CURLE_OK) {
            if (s == 401 && !rq->no_auth && res.www_authenticate != NULL &&
                reg_same_origin(c, url)) {
                if (answered) {
                    reg_auth_refused(c, resp, err);
                    goto out;
                }
                answered = true;
                if (reg_auth_answer(c, res.www_authenticate, rq->scope, auth, err) < 0)
                    goto out;
                continue;
            }
            if (rq->follow && is_redirect(s) && resp->location != NULL && hops < MAX_REDIRECTS) {
                free(url);
                url = xstrdup(resp->location);
                hops++;
                if (s == 303)
                    method = "GET";
                continue;
            }
        }
        int wrc = http_retry_wait(c, rq, url, &res, resp, &attempt, err);
        if (wrc <= 0) {
            rc = wrc;
            goto out;
        }
        free(url);
        url = xstrdup(start);
        method = rq->method;
        hops = 0;
    }
out:
    reg_wipe_free(auth);
    if (rc < 0)
        reg_response_release(resp);
    http_result_release(&res);
    free(url);
    reg_handle_put(c, h);
    return rc;
}
