/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The inside of the request machinery: struct reg_client and levels 2 to 4 of the registry
 * client, one section each, lowest first (the levels: registry-internal.h). A file may call its
 * own section, the earlier ones and creds.h (level 1); never a later section, nor reg_do
 * (level 5, retry.c, which calls them all). Levels 2 to 5 and their tests include this header;
 * the operations see registry-internal.h only. */

#include "curl_dl.h"
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "creds.h"
#include "registry-internal.h"

struct reg_token {
    char *scope; /* the scope set it was issued for ("" for none) */
    char *token;
    struct timespec expires; /* CLOCK_MONOTONIC; unusable from then on */
    struct reg_token *next;
};

#define REG_IDLE_HANDLES 16 /* easy handles kept with their open connections */

struct reg_client {
    struct registry_opts opts; /* a shallow copy: the strings belong to the caller */
    char *domain;              /* as given: "localhost:5000", "docker.io" */
    char *base;                /* "http://localhost:5000", "https://registry-1.docker.io" */
    char *origin_host;         /* host[:port] of base, compared against redirect targets */
    bool tls_noverify; /* an --insecure-registry host that speaks TLS: certificates unchecked */
    int retries;
    long stall_seconds;

    /* TLS: system CAs plus certs.d/DOMAIN/ *.crt (ca_pem holds both, NULL when no extras),
     * and certs.d/DOMAIN/X.cert + X.key as the client certificate */
    char *ca_pem;
    size_t ca_len;
    char *client_cert, *client_key;

    /* proxies as docker reads them (upper case first, then lower case); NULL: none */
    char *http_proxy, *https_proxy, *no_proxy;

    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

    /* level 4 (auth.c) state, freed by client.c: held while a token is fetched, so that
     * concurrent requests wait for one token rather than each fetching their own */
    pthread_mutex_t auth_mu;
    /* everything below is guarded by mu */
    pthread_mutex_t mu;
    bool creds_loaded; /* creds_found and creds are final */
    bool creds_found;
    struct reg_creds creds;
    bool basic;            /* the registry asked for Basic: send it on every request */
    bool bearer;           /* the registry asked for Bearer at realm/service */
    char *realm, *service; /* of the Bearer challenge */
    struct reg_token *tokens;
    CURL *idle[REG_IDLE_HANDLES];
    size_t nidle;
};

/* ---- level 2, the client (client.c): hosts, TLS and certs.d, proxies, the handle pool ---- */

/* An easy handle for one request (from the pool, which keeps its connections open), and its
 * return to the pool. A handle is used by one thread at a time. */
CURL *reg_handle_get(struct reg_client *c);
void reg_handle_put(struct reg_client *c, CURL *h);
/* opts->certs_dir or /etc/docker/certs.d. */
const char *reg_certs_dir(const struct reg_client *c);
/* The proxy for url ("" for none: loopback hosts and no_proxy matches are never proxied). */
const char *reg_proxy_for(const struct reg_client *c, const char *url);
/* Applies the transport settings (TLS, proxy, timeouts, share handle, user agent) to h. */
void reg_client_setup_handle(struct reg_client *c, CURL *h, const char *url);
/* True when url is on the registry's own origin (scheme, host and port), so it may receive
 * the Authorization header. */
bool reg_same_origin(const struct reg_client *c, const char *url);
/* Frees a token list (and wipes the tokens). */
void reg_tokens_free(struct reg_token *t);

/* ---- level 3, one exchange (http.c: no auth handshake, no retry, no redirect) and what its
 * outcome means (outcome.c: errors in plain words, the retry policy) ---- */

struct http_result {
    CURLcode code; /* CURLE_OK: an HTTP response came (resp->status) */
    long os_errno;
    char curl_msg[CURL_ERROR_SIZE];
    char reason[64]; /* of the status line: "Service Unavailable" */
    char *location_raw, *retry_after, *www_authenticate;
    uint64_t sunk;  /* bytes given to rq->sink */
    bool too_large; /* a 2xx body over REG_BODY_CAP without a sink */
};
void http_result_release(struct http_result *res);
/* -1 only when a callback failed (the sink, reading the body) with err set; transport failures
 * return 0 with res->code set. */
int http_exchange(struct reg_client *c, CURL *h, const struct reg_request *rq, const char *method,
                  const char *url, const char *auth_line, struct reg_response *resp,
                  struct http_result *res, struct lade_error *err);
char *http_resolve_url(const char *base, const char *ref);

/* After exchange number *attempt (0 for the first) of rq to url, with res and resp as
 * http_exchange left them: 0 when resp is final (a status not worth repeating, or the retries
 * are spent: the caller judges it); 1 when another attempt is due: the failure was reported
 * (REG_EV_RETRY), a sink that got bytes reset, the backoff (or Retry-After) waited and *attempt
 * counted; -1 with err set (LADE_ERR_NET) when the body was too large or no response came
 * (after the retries: opts->retries, none for rq->no_retry or a sink without sink_reset). */
int http_retry_wait(struct reg_client *c, const struct reg_request *rq, const char *url,
                    const struct http_result *res, const struct reg_response *resp, int *attempt,
                    struct lade_error *err);
/* The registry's message in a JSON error body ("errors":[{message, detail}], "details",
 * "error_description"), or NULL; caller frees. */
char *reg_error_message(const char *body, size_t len);

/* ---- level 4, auth: WWW-Authenticate (challenge.c, pure parsing) and answering it (auth.c:
 * Bearer tokens fetched through level 3, never reg_do; Basic) ---- */

/* One parsed WWW-Authenticate challenge. */
struct reg_challenge {
    char scheme[16]; /* "bearer" or "basic" (lower case) */
    char *realm, *service, *scope;
};
/* Parses a header value (auth-param quoting per RFC 7235); 0, or -1 when malformed. */
int reg_challenge_parse(const char *header, struct reg_challenge *out);
void reg_challenge_release(struct reg_challenge *ch);

/* The Authorization header line for a request of scope ("Authorization: Bearer ..."), or NULL
 * when nothing is known yet; fetches a token first when the registry is known to want one.
 * Caller frees (and should wipe) the string. */
int reg_auth_header(struct reg_client *c, const char *scope, char **out, struct lade_error *err);
/* Answers a 401 to a request sent with Authorization line sent (or NULL) whose WWW-Authenticate
 * header value is challenge: records the scheme and, for Bearer, fetches a fresh token for scope
 * (unless another thread already replaced the refused one). -1 with LADE_ERR_AUTH when there are
 * no usable credentials or they are refused. */
int reg_auth_answer(struct reg_client *c, const char *challenge, const char *scope,
                    const char *sent, struct lade_error *err);
/* The error for a request still refused (401) after the challenge was answered. */
int reg_auth_refused(struct reg_client *c, const struct reg_response *r, struct lade_error *err);
