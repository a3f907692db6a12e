/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The registry client inside: what the operations (level 6: resolve.c, pull.c, push.c,
 * login.c) use of the levels below them. One struct reg_client per registry host; requests go
 * through reg_do, which owns the transport rules, the auth handshake and the retries, so the
 * operations speak only the distribution API.
 *
 * The levels, lowest first; a file calls only its own level and lower ones, never up (make
 * layer-check, tests/layers/check-registry-layers.sh, holds the list and checks it):
 *   1 credentials  creds.c credhelper.c   config.json, credential helpers; no network (creds.h)
 *   2 client       client.c               hosts, TLS and certs.d, proxies, the handle pool
 *   3 http         http.c outcome.c       one exchange; what its outcome means, retry policy
 *   4 auth         challenge.c auth.c     WWW-Authenticate, tokens (fetched via level 3), Basic
 *   5 retry        retry.c                reg_do: the attempts of one request
 *   6 operations   jobs.c resolve.c pull.c push.c login.c urlget.c (image-internal.h)
 *                  sign.c signature.c (sign.h: image signatures)
 * client.h has the inside of levels 2 to 4 and reg_client itself. */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "registry.h"

#define REG_DEFAULT_RETRIES 3
#define REG_DEFAULT_PARALLEL 4
#define REG_BODY_CAP (4u << 20) /* responses kept in memory: manifests, errors, tokens */

/* ---- level 2, the client (client.c) ---- */

struct reg_client; /* opaque: base URL, TLS settings, credentials, token cache, mutex */

/* A client for domain ("docker.io", "localhost:5000", "[::1]:5000"): https, or http for loopback
 * and opts->insecure hosts; docker.io is spoken to at registry-1.docker.io. The credentials
 * for domain are looked up lazily, on the first challenge. */
int reg_client_new(const char *domain, const struct registry_opts *opts, struct reg_client **out,
                   struct lade_error *err);
void reg_client_free(struct reg_client *c);
const struct registry_opts *reg_client_opts(const struct reg_client *c);
/* Uses user/password instead of the saved credentials (login). */
void reg_client_set_credentials(struct reg_client *c, const char *user, const char *password);

/* ---- level 3, requests and responses (http.c, outcome.c) ---- */

struct reg_request {
    const char *method; /* "GET", "HEAD", "PUT", "POST", "PATCH", "DELETE" */
    /* "/v2/..." relative to the registry, or an absolute URL (an upload Location) */
    const char *url;
    const char *scope;  /* the token scope: "repository:library/app:pull,push"; NULL: none */
    const char *accept; /* Accept header value or NULL */
    const char *content_type;
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated, or NULL */

    /* The body: memory (body, body_len), or body_len bytes of body_fd from body_off. */
    const void *body;
    int body_fd; /* -1 when unused (set it: 0 is a valid fd) */
    off_t body_off;
    uint64_t body_len;

    /* Where a 2xx response body goes: sink, else memory (up to REG_BODY_CAP). Error bodies are
     * always kept in memory, for the message. sink returns < 0 to abort (with its err set). */
    int (*sink)(void *ctx, const void *data, size_t n, struct lade_error *err);
    /* Called before a retry after sink got bytes; NULL: such a request is not retried. */
    int (*sink_reset)(void *ctx, struct lade_error *err);
    void *sink_ctx;

    bool no_retry;      /* one attempt: the caller recovers (a chunked upload) */
    bool no_auth;       /* a plain URL, not the registry API: no credentials, a 401 is final */
    bool follow;        /* follow redirects (blob GETs); Authorization is not sent across hosts */
    uint64_t *progress; /* when set, bytes sent or received so far are stored here */
};

struct reg_response {
    long status;
    char *content_type;
    char *location; /* absolute (resolved against the request URL) */
    char *docker_content_digest;
    char *range; /* "0-1234" of an upload */
    char *docker_upload_uuid;
    char *etag, *last_modified; /* for plain URL downloads (registry_url_get) */
    int64_t content_length;     /* -1 when absent */
    char *body;                 /* NUL-terminated; NULL when sunk or empty */
    size_t body_len;
};
void reg_response_release(struct reg_response *r);

/* An error for an unexpected status: LADE_ERR_AUTH for 401/403, else LADE_ERR_NET; the text
 * says what was asked ("pushing blob sha256:..."), the status, and the registry's error
 * message from the JSON body ({"errors":[{"code","message","detail"}]}) in plain words. */
int reg_status_error(const struct reg_response *r, struct lade_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- level 5, retry (retry.c) ---- */

/* Performs rq. Answers a 401 challenge once (Bearer: token for rq->scope from the realm, with
 * credentials when there are some, cached until it expires; Basic: the credentials), then
 * retries with exponential backoff and jitter on connection errors, timeouts, 5xx and 429
 * (honouring Retry-After), opts->retries times. Returns 0 with *resp filled for any final HTTP
 * status, the caller judges it (reg_status_error); -1 with err set (LADE_ERR_NET) when no
 * response came after the retries, LADE_ERR_AUTH when the challenge could not be answered
 * (no or refused credentials). */
int reg_do(struct reg_client *c, const struct reg_request *rq, struct reg_response *resp,
           struct lade_error *err);
