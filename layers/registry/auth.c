/* SPDX-License-Identifier: Apache-2.0 */
/* Answering a registry's 401 as docker does. Bearer: a token from the realm for the request's
 * scopes (GET with Basic credentials, or the OAuth2 refresh_token grant for an identity token),
 * cached per scope set until shortly before it expires and sent pre-emptively, so a pull or push
 * costs one 401 round trip, not one per request. Basic: the credentials on every request.
 * Credentials are looked up once per client, on the first challenge. */
#include "client.h"
#include "creds.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../../builder/common/buf.h"
#include "../../builder/common/cleanup.h"
#include "../../builder/common/xalloc.h"

#define TOKEN_MIN_LIFETIME 60 /* seconds; docker's floor for expires_in */
#define TOKEN_MARGIN_MAX 30   /* renew this long before expiry at most */

static bool
expired(const struct timespec *when)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > when->tv_sec ||
           (now.tv_sec == when->tv_sec && now.tv_nsec >= when->tv_nsec);
}

/* Caller holds c->mu. */
static const char *
cached_token(struct reg_client *c, const char *scope)
{
    for (struct reg_token *t = c->tokens; t != NULL; t = t->next)
        if (strcmp(t->scope, scope) == 0 && !expired(&t->expires))
            return t->token;
    return NULL;
}

static void
cache_token(struct reg_client *c, const char *scope, const char *token, long lifetime)
{
    struct reg_token **pp = &c->tokens, *t;
    long margin = lifetime / 5 < TOKEN_MARGIN_MAX ? lifetime / 5 : TOKEN_MARGIN_MAX;

    pthread_mutex_lock(&c->mu);
    while ((t = *pp) != NULL) { /* drop the old token of this scope and any expired one */
        if (strcmp(t->scope, scope) == 0 || expired(&t->expires)) {
            *pp = t->next;
            t->next = NULL;
            reg_tokens_free(t);
        } else {
            pp = &t->next;
        }
    }
    t = xcalloc(1, sizeof(*t));
    t->scope = xstrdup(scope);
    t->token = xstrdup(token);
    clock_gettime(CLOCK_MONOTONIC, &t->expires);
    t->expires.tv_sec += lifetime - margin;
    t->next = c->tokens;
    c->tokens = t;
    pthread_mutex_unlock(&c->mu);
}

/* A copy of the client's credentials, looked up on first use; 1 when there are none. */
static int
get_creds(struct reg_client *c, struct reg_creds *out, struct lade_error *err)
{
    int rc = 0;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&c->mu);
    if (!c->creds_loaded) {
        rc = reg_creds_get(&c->opts, c->domain, &c->creds, err);
        if (rc >= 0) {
            c->creds_loaded = true;
            c->creds_found = rc == 0;
        }
    }
    if (rc >= 0) {
        rc = c->creds_found ? 0 : 1;
        if (c->creds_found) {
            out->user = c->creds.user ? xstrdup(c->creds.user) : NULL;
            out->secret = c->creds.secret ? xstrdup(c->creds.secret) : NULL;
            out->identity_token = c->creds.identity_token ? xstrdup(c->creds.identity_token) : NULL;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* The refresh token of creds, if they are one: config.json's identitytoken, or a helper's
 * "<token>" user. */
static const char *
refresh_token(const struct reg_creds *cr)
{
    if (cr->identity_token != NULL && *cr->identity_token != '\0')
        return cr->identity_token;
    if (cr->user != NULL && strcmp(cr->user, "<token>") == 0)
        return cr->secret;
    return NULL;
}

static bool
has_password(const struct reg_creds *cr)
{
    return cr->user != NULL && *cr->user != '\0' && strcmp(cr->user, "<token>") != 0 &&
           cr->secret != NULL && *cr->secret != '\0';
}

static char *
basic_line(const struct reg_creds *cr)
{
    cleanup_free char *b64 = reg_basic_credentials(cr->user, cr->secret);
    char *line = xasprintf("Authorization: Basic %s", b64);
    explicit_bzero(b64, strlen(b64));
    return line;
}

static int
need_login(const struct reg_client *c, struct lade_error *err)
{
    return lade_error_set(err, LADE_ERR_AUTH, "%s: authentication required (run 'lade login %s')",
                          c->domain, c->domain);
}

/* The scopes of the request and of the challenge, each once, space-separated. */
static char *
scope_union(const char *a, const char *b)
{
    struct lade_buf out = LADE_BUF_INIT;
    const char *lists[2] = {a, b};

    for (int i = 0; i < 2; i++) {
        cleanup_free char *copy = lists[i] ? xstrdup(lists[i]) : NULL;
        for (char *save = NULL, *s = copy ? strtok_r(copy, " ", &save) : NULL; s != NULL;
             s = strtok_r(NULL, " ", &save)) {
            size_t n = strlen(s);
            const char *hit = out.data ? strstr(out.data, s) : NULL;
            while (hit != NULL &&
                   !((hit == out.data || hit[-1] == ' ') && (hit[n] == ' ' || hit[n] == '\0')))
                hit = strstr(hit + 1, s);
            if (hit != NULL)
                continue;
            if (out.len > 0)
                lade_buf_appendc(&out, ' ');
            lade_buf_appends(&out, s);
        }
    }
    return out.len > 0 ? lade_buf_steal(&out) : NULL;
}

static char *
escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    char *out = xstrdup(e ? e : "");
    curl_free(e);
    return out;
}

/* {token | access_token, expires_in, issued_at}: the token and how long it may be used. */
static int
parse_token(const struct reg_client *c, const struct reg_response *r, char **token, long *lifetime,
            struct lade_error *err)
{
    json_auto_t *root = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    const char *tok = json_string_value(json_object_get(root, "token"));
    json_t *exp = json_object_get(root, "expires_in");

    if (tok == NULL || *tok == '\0')
        tok = json_string_value(json_object_get(root, "access_token"));
    if (tok == NULL || *tok == '\0')
        return lade_error_set(err, LADE_ERR_NET, "%s: the token server's answer has no token",
                              c->domain);
    *lifetime = json_is_integer(exp) ? (long) json_integer_value(exp) : 0;
    if (*lifetime < TOKEN_MIN_LIFETIME)
        *lifetime = TOKEN_MIN_LIFETIME;
    const char *issued = json_string_value(json_object_get(root, "issued_at"));
    time_t at = issued ? curl_getdate(issued, NULL) : -1, now = time(NULL);
    if (at > 0 && at < now && now - at < *lifetime) /* a token issued a while ago lives less */
        *lifetime -= (long) (now - at);
    *token = xstrdup(tok);
    return 0;
}

/* The realm's URL for a GET with the scopes as repeated params (docker's form). */
static char *
token_get_url(const char *realm, const char *service, const char *scopes, const char *account)
{
    struct lade_buf u = LADE_BUF_INIT;
    char sep = strchr(realm, '?') ? '&' : '?';

    lade_buf_appends(&u, realm);
    if (service != NULL) {
        cleanup_free char *e = escape(service);
        lade_buf_appendf(&u, "%cservice=%s", sep, e);
        sep = '&';
    }
    cleanup_free char *copy = scopes ? xstrdup(scopes) : NULL;
    for (char *save = NULL, *s = copy ? strtok_r(copy, " ", &save) : NULL; s != NULL;
         s = strtok_r(NULL, " ", &save)) {
        cleanup_free char *e = escape(s);
        lade_buf_appendf(&u, "%cscope=%s", sep, e);
        sep = '&';
    }
    if (account != NULL) {
        cleanup_free char *e = escape(account);
        lade_buf_appendf(&u, "%caccount=%s", sep, e);
    }
    return lade_buf_steal(&u);
}

/* The OAuth2 refresh_token grant docker uses for identity tokens (a POSTed form). */
static char *
token_post_form(const char *service, const char *scopes, const char *refresh)
{
    cleanup_free char *s = escape(service ? service : ""), *r = escape(refresh);
    cleanup_free char *sc = scopes ? escape(scopes) : NULL;
    char *form =
        xasprintf("grant_type=refresh_token&client_id=lade&service=%s&refresh_token=%s%s%s", s, r,
                  sc ? "&scope=" : "", sc ? sc : "");
    explicit_bzero(r, strlen(r));
    return form;
}

static int
token_refused(const struct reg_client *c, const struct reg_creds *cr, const struct reg_response *r,
              struct lade_error *err)
{
    cleanup_free char *msg = reg_error_message(r->body, r->body_len);

    if (cr->user == NULL && refresh_token(cr) == NULL)
        return need_login(c, err);
    return lade_error_set(err, LADE_ERR_AUTH, "%s: login refused by the token server: %s",
                          c->domain, msg ? msg : "unauthorized");
}

/* One request to the token server, below the retry level: exchanges (http.c) repeated while
 * outcome.c finds the failure transient, as for any request; auth_line (or none) is sent as it
 * is, no challenge is answered and no redirect followed. */
static int
token_request(struct reg_client *c, const struct reg_request *rq, const char *auth_line,
              struct reg_response *resp, struct lade_error *err)
{
    struct http_result res = {0};
    CURL *h = reg_handle_get(c);
    int attempt = 0, rc;

    memset(resp, 0, sizeof(*resp));
    resp->content_length = -1;
    if (h == NULL)
        return lade_error_set(err, LADE_ERR_OTHER, "libcurl: cannot create a handle");
    do {
        rc = http_exchange(c, h, rq, rq->method, rq->url, auth_line, resp, &res, err);
        if (rc == 0)
            rc = http_retry_wait(c, rq, rq->url, &res, resp, &attempt, err);
    } while (rc == 1);
    if (rc < 0)
        reg_response_release(resp);
    http_result_release(&res);
    reg_handle_put(c, h);
    return rc;
}

/* Fetches a token for scopes (space-separated, or NULL) from the realm. */
static int
fetch_token(struct reg_client *c, const char *realm, const char *service, const char *scopes,
            char **token, long *lifetime, struct lade_error *err)
{
    struct reg_creds cr;
    struct reg_response r;
    int rc = get_creds(c, &cr, err), status;

    if (rc < 0)
        return -1;
    if (strncmp(realm, "https://", 8) != 0 && strncmp(realm, "http://", 7) != 0) {
        reg_creds_release(&cr);
        return lade_error_set(err, LADE_ERR_NET, "%s: unusable token realm \"%s\"", c->domain,
                              realm);
    }
    const char *refresh = refresh_token(&cr);
    rc = 404;
    if (refresh != NULL) {
        char *form = token_post_form(service, scopes, refresh);
        struct reg_request rq = {.method = "POST",
                                 .url = realm,
                                 .content_type = "application/x-www-form-urlencoded",
                                 .body = form,
                                 .body_len = strlen(form),
                                 .body_fd = -1};
        rc = token_request(c, &rq, NULL, &r, err);
        reg_wipe_free(form);
        if (rc == 0 && (rc = (int) r.status) == 404) /* no OAuth2 here: the GET below */
            reg_response_release(&r);
    }
    if (rc == 404) {
        cleanup_free char *url =
            token_get_url(realm, service, scopes, has_password(&cr) ? cr.user : NULL);
        char *auth = has_password(&cr) ? basic_line(&cr) : NULL;
        struct reg_request rq = {.method = "GET", .url = url, .body_fd = -1};
        rc = token_request(c, &rq, auth, &r, err);
        reg_wipe_free(auth);
    }
    if (rc < 0) {
        reg_creds_release(&cr);
        return lade_error_prefix(err, "%s: token request", c->domain);
    }
    status = (int) r.status;
    if (status == 200)
        rc = parse_token(c, &r, token, lifetime, err);
    else if (status == 401 || status == 403)
        rc = token_refused(c, &cr, &r, err);
    else
        rc = reg_status_error(&r, err, "%s: token request", c->domain);
    reg_response_release(&r);
    reg_creds_release(&cr);
    return rc;
}

/* "Authorization: Bearer ..." from the cache, or NULL. */
static char *
cached_line(struct reg_client *c, const char *key)
{
    char *line = NULL;

    pthread_mutex_lock(&c->mu);
    const char *token = c->bearer ? cached_token(c, key) : NULL;
    if (token != NULL)
        line = xasprintf("Authorization: Bearer %s", token);
    pthread_mutex_unlock(&c->mu);
    return line;
}

/* A new token for scope from the known realm, cached. Caller holds auth_mu. */
static int
renew_token(struct reg_client *c, const char *realm, const char *service, const char *scopes,
            const char *scope, struct lade_error *err)
{
    char *token = NULL;
    long lifetime;

    if (fetch_token(c, realm, service, scopes, &token, &lifetime, err) < 0)
        return -1;
    cache_token(c, scope ? scope : "", token, lifetime);
    reg_wipe_free(token);
    return 0;
}

int
reg_auth_header(struct reg_client *c, const char *scope, char **out, struct lade_error *err)
{
    const char *key = scope ? scope : "";
    struct reg_creds cr;
    int rc = 0;

    *out = cached_line(c, key);
    pthread_mutex_lock(&c->mu);
    bool bearer = c->bearer, basic = c->basic;
    pthread_mutex_unlock(&c->mu);
    if (*out != NULL || (!bearer && !basic))
        return 0;
    if (bearer) { /* the registry wants tokens: get one now rather than after a 401 */
        pthread_mutex_lock(&c->auth_mu);
        *out = cached_line(c, key); /* another thread may have got it meanwhile */
        if (*out == NULL) {
            pthread_mutex_lock(&c->mu);
            cleanup_free char *realm = xstrdup(c->realm);
            cleanup_free char *service = c->service ? xstrdup(c->service) : NULL;
            pthread_mutex_unlock(&c->mu);
            rc = renew_token(c, realm, service, scope, scope, err);
            if (rc == 0)
                *out = cached_line(c, key);
        }
        pthread_mutex_unlock(&c->auth_mu);
        return rc;
    }
    rc = get_creds(c, &cr, err);
    if (rc == 0 && has_password(&cr))
        *out = basic_line(&cr);
    reg_creds_release(&cr);
    return rc < 0 ? -1 : 0;
}

static int
answer_basic(struct reg_client *c, struct lade_error *err)
{
    struct reg_creds cr;
    int rc = get_creds(c, &cr, err);

    if (rc == 0 && !has_password(&cr))
        rc = 1;
    reg_creds_release(&cr);
    if (rc != 0)
        return rc < 0 ? -1 : need_login(c, err);
    pthread_mutex_lock(&c->mu);
    c->basic = true;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

/* Whether another thread has replaced the credentials the refused request carried. */
static bool
answered_meanwhile(struct reg_client *c, const char *scope, const char *sent)
{
    cleanup_free char *now = cached_line(c, scope ? scope : "");

    if (now != NULL)
        return sent == NULL || strcmp(now, sent) != 0;
    pthread_mutex_lock(&c->mu);
    bool basic = c->basic;
    pthread_mutex_unlock(&c->mu);
    return basic && sent == NULL;
}

int
reg_auth_answer(struct reg_client *c, const char *header, const char *scope, const char *sent,
                struct lade_error *err)
{
    struct reg_challenge ch;
    int rc = 0;

    if (reg_challenge_parse(header, &ch) < 0)
        return lade_error_set(err, LADE_ERR_NET, "%s: unusable authentication challenge: %.200s",
                              c->domain, header);
    pthread_mutex_lock(&c->auth_mu);
    if (!answered_meanwhile(c, scope, sent)) {
        if (strcmp(ch.scheme, "basic") == 0) {
            rc = answer_basic(c, err);
        } else {
            cleanup_free char *scopes = scope_union(scope, ch.scope);
            rc = renew_token(c, ch.realm, ch.service, scopes, scope, err);
            if (rc == 0) {
                pthread_mutex_lock(&c->mu);
                c->bearer = true;
                free(c->realm);
                free(c->service);
                c->realm = steal_ptr(&ch.realm);
                c->service = steal_ptr(&ch.service);
                pthread_mutex_unlock(&c->mu);
            }
        }
    }
    pthread_mutex_unlock(&c->auth_mu);
    reg_challenge_release(&ch);
    return rc;
}

int
reg_auth_refused(struct reg_client *c, const struct reg_response *r, struct lade_error *err)
{
    cleanup_free char *msg = reg_error_message(r->body, r->body_len);
    struct reg_creds cr;
    int rc = get_creds(c, &cr, err);

    if (rc < 0)
        return -1;
    if (rc == 1 || (!has_password(&cr) && refresh_token(&cr) == NULL)) {
        reg_creds_release(&cr);
        return need_login(c, err);
    }
    lade_error_set(err, LADE_ERR_AUTH, "%s: the credentials of %s were refused: %s", c->domain,
                   has_password(&cr) ? cr.user : "the identity token", msg ? msg : "unauthorized");
    reg_creds_release(&cr);
    return -1;
}
