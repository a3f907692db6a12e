/* SPDX-License-Identifier: Apache-2.0 */
/* One HTTP exchange with a registry (http level, below auth: calls only client.c and creds.c;
 * libcurl easy API, one handle per call so threads never share one): the body from memory or a
 * file descriptor, the response body into a sink or a capped buffer, the headers the
 * distribution API needs. No redirect is followed here (retry.c follows them, so that the
 * Authorization header never leaves the registry's origin); retry.c, and auth.c for token
 * requests, drive the attempts. */
#include "client.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../../builder/common/buf.h"
#include "../../builder/common/cleanup.h"
#include "../../builder/common/xalloc.h"

#define ERROR_BODY_CAP (64u << 10) /* enough for any registry's error JSON */

struct transfer {
    const struct reg_request *rq;
    struct reg_response *resp;
    struct http_result *res;
    struct lade_buf body;
    uint64_t read_pos; /* of the request body */
    struct lade_error *err;
    bool failed; /* a callback set err */
};

static void
set_header(char **slot, const char *value, size_t len)
{
    free(*slot);
    *slot = xstrndup(value, len);
}

/* Records what reg_response and the retry logic need; a new status line (after a 1xx) starts
 * over. */
static size_t
on_header(char *data, size_t size, size_t n, void *ctx)
{
    struct transfer *t = ctx;
    size_t len = size * n, name_len;
    const char *colon, *v;

    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        const char *sp = memchr(data, ' ', len), *end = data + len;
        reg_response_release(t->resp);
        http_result_release(t->res);
        if (sp != NULL) {
            t->resp->status = strtol(sp + 1, NULL, 10);
            const char *reason = memchr(sp + 1, ' ', (size_t) (end - sp - 1));
            if (reason != NULL) {
                size_t rl = (size_t) (end - reason - 1);
                while (rl > 0 && isspace((unsigned char) reason[rl])) /* CRLF */
                    rl--;
                snprintf(t->res->reason, sizeof(t->res->reason), "%.*s", (int) rl, reason + 1);
            }
        }
        return len;
    }
    colon = memchr(data, ':', len);
    if (colon == NULL)
        return len;
    name_len = (size_t) (colon - data);
    v = colon + 1;
    while (v < data + len && (*v == ' ' || *v == '\t'))
        v++;
    size_t vl = (size_t) (data + len - v);
    while (vl > 0 && isspace((unsigned char) v[vl - 1]))
        vl--;
#define IS(name) (name_len == strlen(name) && strncasecmp(data, name, name_len) == 0)
    if (IS("Content-Type"))
        set_header(&t->resp->content_type, v, vl);
    else if (IS("Location"))
        set_header(&t->res->location_raw, v, vl);
    else if (IS("Docker-Content-Digest"))
        set_header(&t->resp->docker_content_digest, v, vl);
    else if (IS("Range"))
        set_header(&t->resp->range, v, vl);
    else if (IS("Docker-Upload-UUID"))
        set_header(&t->resp->docker_upload_uuid, v, vl);
    else if (IS("Content-Length"))
        t->resp->content_length = strtoll(v, NULL, 10);
    else if (IS("ETag"))
        set_header(&t->resp->etag, v, vl);
    else if (IS("Last-Modified"))
        set_header(&t->resp->last_modified, v, vl);
    else if (IS("Retry-After"))
        set_header(&t->res->retry_after, v, vl);
    else if (IS("WWW-Authenticate")) {
        /* several headers are one comma-separated list (RFC 9110 5.3) */
        char *prev = t->res->www_authenticate;
        t->res->www_authenticate =
            prev ? xasprintf("%s, %.*s", prev, (int) vl, v) : xstrndup(v, vl);
        free(prev);
    }
#undef IS
    return len;
}

static bool
is_success(long status)
{
    return status >= 200 && status < 300;
}

static size_t
on_body(char *data, size_t size, size_t n, void *ctx)
{
    struct transfer *t = ctx;
    size_t len = size * n;

    if (is_success(t->resp->status) && t->rq->sink != NULL) {
        if (t->rq->sink(t->rq->sink_ctx, data, len, t->err) < 0) {
            t->failed = true;
            return 0;
        }
        t->res->sunk += len;
        if (t->rq->progress != NULL)
            __atomic_store_n(t->rq->progress, t->res->sunk, __ATOMIC_RELAXED);
        return len;
    }
    if (is_success(t->resp->status)) {
        if (lade_buf_append(&t->body, data, len) < 0) {
            t->res->too_large = true;
            return 0;
        }
        return len;
    }
    if (t->body.len < ERROR_BODY_CAP) /* the rest of a huge error page is dropped */
        lade_buf_append(&t->body, data,
                        len < ERROR_BODY_CAP - t->body.len ? len : ERROR_BODY_CAP - t->body.len);
    return len;
}

static size_t
on_read(char *buf, size_t size, size_t n, void *ctx)
{
    struct transfer *t = ctx;
    const struct reg_request *rq = t->rq;
    uint64_t left = rq->body_len - t->read_pos;
    size_t want = size * n < left ? size * n : (size_t) left;

    if (want == 0)
        return 0;
    if (rq->body != NULL) {
        memcpy(buf, (const char *) rq->body + t->read_pos, want);
    } else {
        ssize_t got;
        do
            got = pread(rq->body_fd, buf, want, rq->body_off + (off_t) t->read_pos);
        while (got < 0 && errno == EINTR);
        if (got <= 0) {
            if (got == 0)
                errno = EIO; /* the file is shorter than body_len */
            lade_error_sys(t->err, "reading the request body");
            t->failed = true;
            return CURL_READFUNC_ABORT;
        }
        want = (size_t) got;
    }
    t->read_pos += want;
    if (rq->progress != NULL)
        __atomic_store_n(rq->progress, t->read_pos, __ATOMIC_RELAXED);
    return want;
}

static int
on_seek(void *ctx, curl_off_t offset, int origin)
{
    struct transfer *t = ctx;

    if (origin != SEEK_SET || offset < 0 || (uint64_t) offset > t->rq->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    t->read_pos = (uint64_t) offset;
    return CURL_SEEKFUNC_OK;
}

static void
set_method(CURL *h, const char *method, uint64_t body_len)
{
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "DELETE") == 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    } else {
        /* PUT, POST, PATCH: always a Content-Length, even 0, as registries require */
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t) body_len);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
}

static struct curl_slist *
request_headers(const struct reg_request *rq, const char *auth_line)
{
    struct curl_slist *l = NULL;
    cleanup_free char *accept = NULL, *ctype = NULL;

    if (rq->accept != NULL)
        l = curl_slist_append(l, accept = xasprintf("Accept: %s", rq->accept));
    if (rq->content_type != NULL)
        l = curl_slist_append(l, ctype = xasprintf("Content-Type: %s", rq->content_type));
    for (const char *const *hp = rq->headers; hp != NULL && *hp != NULL; hp++)
        l = curl_slist_append(l, *hp);
    l = curl_slist_append(l, "Expect:"); /* no 100-continue pause before bodies */
    if (auth_line != NULL)
        l = curl_slist_append(l, auth_line);
    return l;
}

/* An absolute URL for ref resolved against base (upload Locations are often relative). */
char *
http_resolve_url(const char *base, const char *ref)
{
    CURLU *u = curl_url();
    char *s = NULL, *out = NULL;

    if (u != NULL && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, ref, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK)
        out = xstrdup(s);
    curl_free(s);
    curl_url_cleanup(u);
    return out;
}

void
http_result_release(struct http_result *res)
{
    free(res->location_raw);
    free(res->retry_after);
    free(res->www_authenticate);
    memset(res, 0, sizeof(*res));
}

int
http_exchange(struct reg_client *c, CURL *h, const struct reg_request *rq, const char *method,
              const char *url, const char *auth_line, struct reg_response *resp,
              struct http_result *res, struct lade_error *err)
{
    struct transfer t = {.rq = rq, .resp = resp, .res = res, .err = err};
    struct curl_slist *headers = request_headers(rq, auth_line);
    bool has_body =
        strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 && strcmp(method, "DELETE") != 0;

    reg_response_release(resp);
    http_result_release(res);
    lade_buf_init(&t.body, REG_BODY_CAP);
    curl_easy_reset(h);
    reg_client_setup_handle(c, h, url);
    curl_easy_setopt(h, CURLOPT_URL, url);
    set_method(h, method, has_body ? rq->body_len : 0);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    if (has_body) {
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, &t);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, &t);
    }
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, res->curl_msg);
    res->curl_msg[0] = '\0';

    res->code = curl_easy_perform(h);
    curl_slist_free_all(headers);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    if (t.failed) {
        lade_buf_release(&t.body);
        return -1;
    }
    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &res->os_errno);
    if (res->code == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
        if (res->location_raw != NULL)
            resp->location = http_resolve_url(url, res->location_raw);
        if (t.body.len > 0) {
            resp->body_len = t.body.len;
            resp->body = lade_buf_steal(&t.body);
        }
    }
    lade_buf_release(&t.body);
    return 0;
}

void
reg_response_release(struct reg_response *r)
{
    free(r->content_type);
    free(r->location);
    free(r->docker_content_digest);
    free(r->range);
    free(r->docker_upload_uuid);
    free(r->etag);
    free(r->last_modified);
    free(r->body);
    memset(r, 0, sizeof(*r));
    r->content_length = -1;
}
