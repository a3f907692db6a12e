/* SPDX-License-Identifier: Apache-2.0 */
/* registry_url_get: a plain download through the registry client's transport (operations level:
 * uses reg_do), so ADD of a URL and remote build contexts get the same proxies, CA
 * certificates, redirects and retries as pulls, without ever sending credentials. */
#include "registry-internal.h"

#include <stdlib.h>
#include <string.h>

#include "../../builder/common/cleanup.h"
#include "../../builder/common/xalloc.h"

/* host[:port] of an http(s) URL, without user info; NULL when it is not one. */
static char *
url_domain(const char *url)
{
    const char *h;

    if (strncmp(url, "http://", 7) == 0)
        h = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        h = url + 8;
    else
        return NULL;
    size_t n = strcspn(h, "/?#");
    const char *at = memchr(h, '@', n);
    if (at != NULL) {
        n -= (size_t) (at + 1 - h);
        h = at + 1;
    }
    return n > 0 ? xstrndup(h, n) : NULL;
}

int
registry_url_get(const struct url_get *rq, const struct registry_opts *opts, struct url_got *out,
                 struct lade_error *err)
{
    cleanup_free char *domain = url_domain(rq->url);
    cleanup_free char *inm = NULL;
    const char *headers[2] = {NULL, NULL};
    struct reg_client *c = NULL;
    struct reg_response resp = {0};
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (domain == NULL)
        return lade_error_set(err, LADE_ERR_USAGE, "invalid URL \"%s\"", rq->url);
    if (reg_client_new(domain, opts, &c, err) < 0)
        return lade_error_prefix(err, "%s", rq->url);
    if (rq->if_none_match != NULL)
        headers[0] = inm = xasprintf("If-None-Match: %s", rq->if_none_match);
    struct reg_request req = {
        .method = "GET",
        .url = rq->url,
        .headers = headers,
        .body_fd = -1,
        .sink = rq->sink,
        .sink_reset = rq->sink_reset,
        .sink_ctx = rq->sink_ctx,
        .follow = true,
        .no_auth = true,
    };
    if (reg_do(c, &req, &resp, err) < 0) {
        lade_error_prefix(err, "GET %s", rq->url);
        goto out;
    }
    if (!(resp.status >= 200 && resp.status < 300) && resp.status != 304) {
        /* the body of an error page is no registry JSON: only the status is worth saying */
        free(resp.body);
        resp.body = NULL;
        resp.body_len = 0;
        reg_status_error(&resp, err, "GET %s", rq->url);
        lade_error_recode(err, LADE_ERR_NET);
        goto out;
    }
    out->status = resp.status;
    out->etag = resp.etag ? xstrdup(resp.etag) : NULL;
    out->last_modified = resp.last_modified ? xstrdup(resp.last_modified) : NULL;
    rc = 0;
out:
    reg_response_release(&resp);
    reg_client_free(c);
    return rc;
}

void
url_got_release(struct url_got *g)
{
    free(g->etag);
    free(g->last_modified);
    memset(g, 0, sizeof(*g));
}
