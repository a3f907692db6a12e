/* SPDX-License-Identifier: Apache-2.0 */
/* One client per registry host: where it is (https, or http for loopback and --insecure-registry
 * hosts; docker.io at registry-1.docker.io), how to trust it (system CAs plus docker's
 * /etc/docker/certs.d/HOST[:PORT]/), which proxy reaches it, and the curl share handle that
 * lets concurrent requests reuse connections, DNS answers and TLS sessions. */
#include "client.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../../builder/common/buf.h"
#include "../../builder/common/cleanup.h"
#include "../../builder/common/fsutil.h"
#include "../../builder/common/version.h"
#include "../../builder/common/xalloc.h"

#define CONNECT_TIMEOUT 30L      /* seconds, as docker's dialer */
#define DEFAULT_STALL_TIMEOUT 30 /* seconds without a byte: LADE_STALL_TIMEOUT overrides */
#define CERTS_DIR "/etc/docker/certs.d"
#define PEM_MAX (8u << 20)

/* The host without port or brackets: "::1" for "[::1]:5000", "localhost" for "localhost:5000". */
static char *
domain_host(const char *domain)
{
    if (domain[0] == '[') {
        const char *end = strchr(domain, ']');
        return end ? xstrndup(domain + 1, (size_t) (end - domain - 1)) : xstrdup(domain);
    }
    const char *colon = strchr(domain, ':');
    return colon ? xstrndup(domain, (size_t) (colon - domain)) : xstrdup(domain);
}

static bool
host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (strcasecmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static bool
domain_is_loopback(const char *domain)
{
    cleanup_free char *host = domain_host(domain);

    return host_is_loopback(host);
}

static bool
domain_is_listed_insecure(const char *domain, const struct registry_opts *opts)
{
    cleanup_free char *host = domain_host(domain);

    for (size_t i = 0; i < opts->ninsecure; i++)
        if (strcasecmp(opts->insecure[i], domain) == 0 || strcasecmp(opts->insecure[i], host) == 0)
            return true;
    return false;
}

static char *
getenv_dup(const char *upper, const char *lower)
{
    const char *v = getenv(upper);

    if (v == NULL || *v == '\0')
        v = getenv(lower);
    return v != NULL && *v != '\0' ? xstrdup(v) : NULL;
}

static long
stall_seconds(void)
{
    const char *s = getenv("LADE_STALL_TIMEOUT");
    char *end;
    long v;

    if (s == NULL || *s == '\0')
        return DEFAULT_STALL_TIMEOUT;
    v = strtol(s, &end, 10);
    return *end == '\0' && v > 0 ? v : DEFAULT_STALL_TIMEOUT;
}

static bool
has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The system bundle curl would use, then every certs.d/DOMAIN/ *.crt, as one PEM blob: curl
 * takes either a CA file or a blob, and docker trusts both. */
static int
load_ca_blob(struct reg_client *c, int dirfd, DIR *d, struct lade_error *err)
{
    struct lade_buf pem = LADE_BUF_INIT;
    struct dirent *de;
    bool extra = false;

    while ((de = readdir(d)) != NULL) {
        cleanup_free char *data = NULL;
        size_t len;

        if (de->d_name[0] == '.' || !has_suffix(de->d_name, ".crt"))
            continue;
        if (read_file_at(dirfd, de->d_name, PEM_MAX, &data, &len, err) < 0) {
            lade_buf_release(&pem);
            return lade_error_prefix(err, "CA certificates of %s", c->domain);
        }
        lade_buf_append(&pem, data, len);
        lade_buf_appendc(&pem, '\n');
        extra = true;
    }
    if (!extra)
        return 0;

    CURL *h = curl_easy_init();
    char *sys_ca = NULL;
    if (h != NULL)
        curl_easy_getinfo(h, CURLINFO_CAINFO, &sys_ca);
    cleanup_free char *sys = NULL;
    size_t sys_len = 0;
    struct lade_error ignored = {0};
    if (sys_ca != NULL && read_file_at(AT_FDCWD, sys_ca, PEM_MAX, &sys, &sys_len, &ignored) == 0) {
        lade_buf_appendc(&pem, '\n');
        lade_buf_append(&pem, sys, sys_len);
    }
    if (h != NULL)
        curl_easy_cleanup(h);
    c->ca_len = pem.len;
    c->ca_pem = lade_buf_steal(&pem);
    return 0;
}

const char *
reg_certs_dir(const struct reg_client *c)
{
    return c->opts.certs_dir ? c->opts.certs_dir : CERTS_DIR;
}

/* docker's certs.d layout: *.crt are extra CAs, X.cert with X.key a client certificate. */
static int
load_certs_dir(struct reg_client *c, struct lade_error *err)
{
    cleanup_free char *dir = xasprintf("%s/%s", reg_certs_dir(c), c->domain);
    cleanup_dir DIR *d = opendir(dir);
    struct dirent *de;

    if (d == NULL)
        return 0;
    if (load_ca_blob(c, dirfd(d), d, err) < 0)
        return -1;
    rewinddir(d);
    while ((de = readdir(d)) != NULL && c->client_cert == NULL) {
        if (de->d_name[0] == '.' || !has_suffix(de->d_name, ".cert"))
            continue;
        cleanup_free char *stem = xstrndup(de->d_name, strlen(de->d_name) - 5);
        cleanup_free char *key = xasprintf("%s.key", stem);
        if (faccessat(dirfd(d), key, R_OK, 0) < 0)
            return lade_error_set(err, LADE_ERR_IO, "%s/%s: missing key %s for the certificate",
                                  dir, de->d_name, key);
        c->client_cert = xasprintf("%s/%s", dir, de->d_name);
        c->client_key = xasprintf("%s/%s", dir, key);
    }
    return 0;
}

static void
share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ctx)
{
    struct reg_client *c = ctx;
    (void) h, (void) access;
    pthread_mutex_lock(&c->share_locks[data]);
}

static void
share_unlock(CURL *h, curl_lock_data data, void *ctx)
{
    struct reg_client *c = ctx;
    (void) h;
    pthread_mutex_unlock(&c->share_locks[data]);
}

static void
setup_share(struct reg_client *c)
{
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->share_locks[i], NULL);
    c->share = curl_share_init();
    if (c->share == NULL)
        return;
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    /* not CURL_LOCK_DATA_CONNECT: libcurl does not support sharing connections between
     * concurrent threads; the handle pool below keeps connections alive instead */
}

CURL *
reg_handle_get(struct reg_client *c)
{
    CURL *h = NULL;

    pthread_mutex_lock(&c->mu);
    if (c->nidle > 0)
        h = c->idle[--c->nidle];
    pthread_mutex_unlock(&c->mu);
    return h != NULL ? h : curl_easy_init();
}

void
reg_handle_put(struct reg_client *c, CURL *h)
{
    if (h == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    if (c->nidle < REG_IDLE_HANDLES) {
        c->idle[c->nidle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (h != NULL)
        curl_easy_cleanup(h);
}

/* docker's rule for an --insecure-registry host: HTTPS without checking the certificate when
 * the host speaks TLS, else plain HTTP. One probe of /v2/ decides. */
static void
choose_insecure_scheme(struct reg_client *c, const char *origin)
{
    cleanup_free char *url = xasprintf("https://%s/v2/", origin);
    CURL *h = curl_easy_init();

    c->tls_noverify = true;
    if (h != NULL) {
        reg_client_setup_handle(c, h, url);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
        if (curl_easy_perform(h) == CURLE_OK) {
            curl_easy_cleanup(h);
            return;
        }
        curl_easy_cleanup(h);
    }
    c->tls_noverify = false;
    free(c->base);
    c->base = xasprintf("http://%s", origin);
}

int
reg_client_new(const char *domain, const struct registry_opts *opts, struct reg_client **out,
               struct lade_error *err)
{
    static const struct registry_opts defaults = {.retries = -1};
    struct reg_client *c;

    if (curl_dl_load(err) < 0)
        return -1;
    if (domain == NULL || *domain == '\0' || strpbrk(domain, "/ \t\r\n?#@") != NULL)
        return lade_error_set(err, LADE_ERR_USAGE, "invalid registry host \"%s\"",
                              domain ? domain : "");
    c = xcalloc(1, sizeof(*c));
    c->opts = opts ? *opts : defaults;
    c->domain = xstrdup(domain);
    c->retries = c->opts.retries < 0 ? REG_DEFAULT_RETRIES : c->opts.retries;
    c->stall_seconds = stall_seconds();
    const char *origin = strcmp(domain, "docker.io") == 0 ? "registry-1.docker.io" : domain;
    c->origin_host = xstrdup(origin);
    bool loopback = domain_is_loopback(domain);
    c->base = xasprintf("%s://%s", loopback ? "http" : "https", origin);
    c->http_proxy = getenv_dup("HTTP_PROXY", "http_proxy");
    c->https_proxy = getenv_dup("HTTPS_PROXY", "https_proxy");
    c->no_proxy = getenv_dup("NO_PROXY", "no_proxy");
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->auth_mu, NULL);
    setup_share(c);
    if (load_certs_dir(c, err) < 0) {
        reg_client_free(c);
        return -1;
    }
    if (!loopback && domain_is_listed_insecure(domain, &c->opts))
        choose_insecure_scheme(c, origin);
    *out = c;
    return 0;
}

/* The token cache is a field of the client (auth.c fills it); the client frees it. */
void
reg_tokens_free(struct reg_token *t)
{
    while (t != NULL) {
        struct reg_token *next = t->next;
        free(t->scope);
        reg_wipe_free(t->token);
        free(t);
        t = next;
    }
}

void
reg_client_free(struct reg_client *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nidle; i++)
        curl_easy_cleanup(c->idle[i]);
    if (c->share != NULL)
        curl_share_cleanup(c->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&c->share_locks[i]);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->auth_mu);
    reg_creds_release(&c->creds);
    reg_tokens_free(c->tokens);
    free(c->realm);
    free(c->service);
    free(c->domain);
    free(c->base);
    free(c->origin_host);
    free(c->ca_pem);
    free(c->client_cert);
    free(c->client_key);
    free(c->http_proxy);
    free(c->https_proxy);
    free(c->no_proxy);
    free(c);
}

const struct registry_opts *
reg_client_opts(const struct reg_client *c)
{
    return &c->opts;
}

void
reg_client_set_credentials(struct reg_client *c, const char *user, const char *password)
{
    pthread_mutex_lock(&c->mu);
    reg_creds_release(&c->creds);
    c->creds.user = xstrdup(user);
    c->creds.secret = xstrdup(password);
    c->creds_loaded = c->creds_found = true;
    pthread_mutex_unlock(&c->mu);
}

/* Splits url into lower-case scheme and host[:port] (brackets kept); false when malformed. */
static bool
url_origin(const char *url, char *scheme, size_t scheme_size, char **hostport)
{
    const char *sep = strstr(url, "://");
    if (sep == NULL || (size_t) (sep - url) >= scheme_size)
        return false;
    for (size_t i = 0; url + i < sep; i++)
        scheme[i] = (char) tolower((unsigned char) url[i]);
    scheme[sep - url] = '\0';
    const char *h = sep + 3, *end = h + strcspn(h, "/?#");
    const char *at = memchr(h, '@', (size_t) (end - h));
    if (at != NULL)
        h = at + 1;
    *hostport = xstrndup(h, (size_t) (end - h));
    for (char *p = *hostport; *p; p++)
        *p = (char) tolower((unsigned char) *p);
    return true;
}

/* Go's net/http rules, which docker follows: NO_PROXY entries are hosts, domains (".x" or
 * "x" matching subdomains), host:port, or "*". */
static bool
no_proxy_matches(const char *no_proxy, const char *host, const char *hostport)
{
    cleanup_free char *list = xstrdup(no_proxy);
    size_t hl = strlen(host);

    for (char *save = NULL, *e = strtok_r(list, ", ", &save); e; e = strtok_r(NULL, ", ", &save)) {
        if (strcmp(e, "*") == 0 || strcasecmp(e, host) == 0 || strcasecmp(e, hostport) == 0)
            return true;
        const char *dom = e[0] == '.' ? e + 1 : e;
        size_t dl = strlen(dom);
        if (dl > 0 && hl > dl && host[hl - dl - 1] == '.' && strcasecmp(host + hl - dl, dom) == 0)
            return true;
    }
    return false;
}

const char *
reg_proxy_for(const struct reg_client *c, const char *url)
{
    char scheme[16];
    cleanup_free char *hostport = NULL;

    if (!url_origin(url, scheme, sizeof(scheme), &hostport))
        return "";
    const char *proxy = strcmp(scheme, "https") == 0 ? c->https_proxy : c->http_proxy;
    if (proxy == NULL)
        return "";
    cleanup_free char *host = domain_host(hostport);
    if (host_is_loopback(host) || (c->no_proxy && no_proxy_matches(c->no_proxy, host, hostport)))
        return "";
    return proxy;
}

bool
reg_same_origin(const struct reg_client *c, const char *url)
{
    char s1[16], s2[16];
    cleanup_free char *h1 = NULL, *h2 = NULL;

    if (!url_origin(url, s1, sizeof(s1), &h1) || !url_origin(c->base, s2, sizeof(s2), &h2))
        return false;
    return strcmp(s1, s2) == 0 && strcmp(h1, h2) == 0;
}

void
reg_client_setup_handle(struct reg_client *c, CURL *h, const char *url)
{
    curl_easy_setopt(h, CURLOPT_USERAGENT, "lade/" LADE_VERSION);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
    /* a stalled transfer fails (and is retried) instead of hanging */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->stall_seconds);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L); /* http.c follows, keeping auth on-origin */
    curl_easy_setopt(h, CURLOPT_PROXY, reg_proxy_for(c, url));
    if (c->share != NULL)
        curl_easy_setopt(h, CURLOPT_SHARE, c->share);
    if (c->ca_pem != NULL) {
        struct curl_blob blob = {.data = c->ca_pem, .len = c->ca_len, .flags = CURL_BLOB_NOCOPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (c->tls_noverify && reg_same_origin(c, url)) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->client_cert != NULL && reg_same_origin(c, url)) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, c->client_cert);
        curl_easy_setopt(h, CURLOPT_SSLKEY, c->client_key);
    }
}
