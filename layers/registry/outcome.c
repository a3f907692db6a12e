/* SPDX-License-Identifier: Apache-2.0 */
/* What the outcome of one HTTP exchange means (http level, beside http.c): a registry's error
 * in plain words ("pushing blob sha256:...: 404 Not Found: blob unknown to registry"), a failed
 * transport in plain words ("connection refused by 127.0.0.1:5000"), and whether another attempt
 * is worth it and when: connection failures, timeouts, stalls, 5xx and 429 are retried with
 * exponential backoff and jitter, honouring Retry-After (http_retry_wait, which retry.c and
 * auth.c's token requests ask after every attempt). */
#include "client.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "../../builder/common/buf.h"
#include "../../builder/common/cleanup.h"
#include "../../builder/common/xalloc.h"

#define BACKOFF_FIRST_MS 500L
#define BACKOFF_MAX_MS 8000L
#define RETRY_AFTER_MAX_MS 60000L /* a registry asking for longer is treated as asking for 60s */

static bool
retryable_status(long s)
{
    return s == 408 || s == 429 || (s >= 500 && s != 501 && s != 505);
}

static bool
retryable_code(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
        return true;
    default:
        return false;
    }
}

static const char *
reason_phrase(long s)
{
    switch (s) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 416:
        return "Range Not Satisfiable";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "";
    }
}

/* The TLS alerts a server sends when it wants a (valid) client certificate. */
static bool
client_cert_refused(const char *why)
{
    return strstr(why, "alert bad certificate") != NULL ||
           strstr(why, "alert certificate required") != NULL ||
           strstr(why, "alert unknown ca") != NULL;
}

static char *
describe_failure(const struct reg_client *c, const struct http_result *res, const char *hostport)
{
    const char *why = res->curl_msg[0] ? res->curl_msg : curl_easy_strerror(res->code);

    switch (res->code) {
    case CURLE_COULDNT_CONNECT:
        if (res->os_errno == ECONNREFUSED)
            return xasprintf("connection refused by %s", hostport);
        if (strstr(why, "imeout") || strstr(why, "timed out"))
            return xasprintf("timed out connecting to %s", hostport);
        return xasprintf("cannot connect to %s: %s", hostport, why);
    case CURLE_COULDNT_RESOLVE_HOST:
        return xasprintf("cannot resolve the host name of %s", hostport);
    case CURLE_OPERATION_TIMEDOUT:
        if (strstr(why, "too slow"))
            return xasprintf("timed out: no data from %s for %lds", hostport, c->stall_seconds);
        return xasprintf("timed out connecting to %s", hostport);
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
        if (client_cert_refused(why))
            return xasprintf("%s refused the TLS connection (%s): it wants a client "
                             "certificate, %s/%s/client.cert and client.key",
                             hostport, why, reg_certs_dir(c), hostport);
        if (res->os_errno == ECONNRESET || res->os_errno == EPIPE)
            return xasprintf("connection reset by %s", hostport);
        return xasprintf("connection to %s broken: %s", hostport, why);
    case CURLE_GOT_NOTHING:
        return xasprintf("%s closed the connection without a reply", hostport);
    case CURLE_PARTIAL_FILE:
        return xasprintf("%s closed the connection before the end of the response", hostport);
    case CURLE_PEER_FAILED_VERIFICATION:
        return xasprintf("the TLS certificate of %s is not trusted (%s); add its CA to "
                         "%s/%s/ca.crt or use --insecure-registry",
                         hostport, why, reg_certs_dir(c), hostport);
    default:
        return xasprintf("%s: %s", hostport, why);
    }
}

/* Retry-After: delay-seconds or an HTTP date. */
static long
retry_after_ms(const char *v)
{
    char *end;
    long secs = strtol(v, &end, 10);

    if (end == v || *end != '\0') {
        time_t when = curl_getdate(v, NULL);
        secs = when < 0 ? 0 : (long) (when - time(NULL));
    }
    if (secs <= 0)
        return 0;
    return secs > RETRY_AFTER_MAX_MS / 1000 ? RETRY_AFTER_MAX_MS : secs * 1000;
}

/* 0.5s, 1s, 2s, ... capped, each scaled by a random 0.75..1.25 so that clients do not retry in
 * step. */
static long
backoff_ms(int n)
{
    long base = BACKOFF_FIRST_MS << (n < 5 ? n : 5);
    unsigned r = 0;

    if (base > BACKOFF_MAX_MS)
        base = BACKOFF_MAX_MS;
    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
        r = (unsigned) clock();
    return base * 3 / 4 + (long) (r % (unsigned) (base / 2 + 1));
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void
report_retry(const struct reg_client *c, const char *cause, long wait_ms, int n, int total)
{
    if (c->opts.progress == NULL)
        return;
    cleanup_free char *text = xasprintf("%s; retrying in %ld.%lds (%d/%d)", cause, wait_ms / 1000,
                                        (wait_ms % 1000) / 100, n, total);
    struct registry_event ev = {.kind = REG_EV_RETRY, .text = text};
    c->opts.progress(c->opts.progress_ctx, &ev);
}

/* "host:port" of url for messages. */
static char *
url_hostport(const char *url)
{
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    return xstrndup(h, strcspn(h, "/?#"));
}

/* One error object in plain words: "message (detail)" or the code. */
static void
append_error(struct lade_buf *b, json_t *e)
{
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *detail = json_string_value(json_object_get(e, "detail"));

    if (msg == NULL && code == NULL)
        return;
    if (b->len > 0)
        lade_buf_appends(b, "; ");
    lade_buf_appends(b, msg ? msg : code);
    if (detail != NULL && *detail != '\0')
        lade_buf_appendf(b, " (%s)", detail);
}

char *
reg_error_message(const char *body, size_t len)
{
    json_auto_t *root = NULL;
    struct lade_buf b = LADE_BUF_INIT;
    json_t *e;
    size_t i;

    if (body == NULL || len == 0)
        return NULL;
    root = json_loadb(body, len, 0, NULL);
    if (root == NULL) {
        /* a short plain-text body (a proxy's or a token server's) is shown as it is */
        size_t n = 0;
        while (n < len && n <= 200 && body[n] != '\r' && body[n] != '\n' && body[n] != '<' &&
               body[n] != '\0')
            n++;
        if (n == 0 || n > 200 || (n < len && body[n] == '<'))
            return NULL;
        return xstrndup(body, n);
    }
    json_array_foreach(json_object_get(root, "errors"), i, e) append_error(&b, e);
    if (b.len == 0) {
        const char *d = json_string_value(json_object_get(root, "details"));
        if (d == NULL)
            d = json_string_value(json_object_get(root, "error_description"));
        if (d == NULL)
            d = json_string_value(json_object_get(root, "error"));
        if (d == NULL)
            d = json_string_value(json_object_get(root, "message"));
        if (d != NULL)
            lade_buf_appends(&b, d);
    }
    if (b.len == 0)
        return NULL;
    return lade_buf_steal(&b);
}

int
reg_status_error(const struct reg_response *r, struct lade_error *err, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    cleanup_free char *msg = reg_error_message(r->body, r->body_len);

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (r->status == 403)
        return lade_error_set(err, LADE_ERR_AUTH, "%s: denied: %s", what,
                              msg ? msg : "requested access to the resource is denied");
    const char *reason = reason_phrase(r->status);
    return lade_error_set(err, r->status == 401 ? LADE_ERR_AUTH : LADE_ERR_NET, "%s: %ld%s%s%s%s",
                          what, r->status, *reason ? " " : "", reason, msg ? ": " : "",
                          msg ? msg : "");
}

int
http_retry_wait(struct reg_client *c, const struct reg_request *rq, const char *url,
                const struct http_result *res, const struct reg_response *resp, int *attempt,
                struct lade_error *err)
{
    int retries = rq->no_retry ? 0 : c->retries;
    cleanup_free char *hostport = url_hostport(url);
    cleanup_free char *cause = NULL;
    long wait = 0, s = resp->status;

    if (res->too_large)
        return lade_error_set(err, LADE_ERR_NET, "the response from %s is larger than %u MiB",
                              hostport, REG_BODY_CAP >> 20);
    if (res->code == CURLE_OK) {
        if (!retryable_status(s))
            return 0;
        cause = xasprintf("%ld %s from %s", s, res->reason[0] ? res->reason : reason_phrase(s),
                          hostport);
        if (res->retry_after != NULL && (s == 429 || s == 503))
            wait = retry_after_ms(res->retry_after);
    } else {
        cause = describe_failure(c, res, hostport);
        if (!retryable_code(res->code) || client_cert_refused(res->curl_msg))
            retries = *attempt;
    }
    if (*attempt >= retries || (res->sunk > 0 && rq->sink_reset == NULL)) {
        if (res->code == CURLE_OK)
            return 0; /* the final status is the caller's to judge */
        if (*attempt > 0)
            return lade_error_set(err, LADE_ERR_NET, "%s (gave up after %d attempts)", cause,
                                  *attempt + 1);
        return lade_error_set(err, LADE_ERR_NET, "%s", cause);
    }
    (*attempt)++;
    long b = backoff_ms(*attempt - 1);
    wait = wait > b ? wait : b;
    report_retry(c, cause, wait, *attempt, retries);
    if (res->sunk > 0 && rq->sink_reset(rq->sink_ctx, err) < 0)
        return -1;
    sleep_ms(wait);
    return 1;
}
