/* SPDX-License-Identifier: Apache-2.0 */
/* ADD of an http(s) URL and remote build contexts: the content is downloaded through the
 * registry client's transport (proxies, CA certificates, retries) into the store's blobs, and
 * its ETag and Last-Modified are remembered per URL so a rebuild revalidates with
 * If-None-Match instead of downloading again (BuildKit's http source does the same). */
#include "fetch.h"

#include <ctype.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

#define RECORD_DIR "cache/http"
#define RECORD_MAX (64u << 10)

bool
fetch_is_http_url(const char *s)
{
    return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char) tolower((unsigned char) c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Go's url.Parse keeps a malformed escape as an error; here it stays as written. */
static char *
percent_decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1), *o = out;

    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hex_value(s[i + 1])) >= 0 &&
            (lo = hex_value(s[i + 2])) >= 0) {
            *o++ = (char) (hi << 4 | lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

/* BuildKit's pathutil.SafeFileName. */
static char *
safe_file_name(char *name)
{
    char *start = name, *end = name + strlen(name);

    while (*start && isspace((unsigned char) *start))
        start++;
    while (end > start && isspace((unsigned char) end[-1]))
        *--end = '\0';
    while (end > start + 1 && end[-1] == '/')
        *--end = '\0';
    char *slash = strrchr(start, '/');
    if (slash != NULL && slash[1] != '\0')
        start = slash + 1;
    bool bad = *start == '\0' || strcmp(start, ".") == 0 || strcmp(start, "..") == 0 ||
               strcmp(start, "/") == 0;
    for (const unsigned char *p = (const unsigned char *) start; !bad && *p; p++)
        bad = *p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f);
    char *out = xstrdup(bad ? "download" : start);
    free(name);
    return out;
}

char *
fetch_url_file_name(const char *url)
{
    const char *p = strstr(url, "://");

    p = p ? p + 3 : url;
    p += strcspn(p, "/?#"); /* past the host */
    size_t n = *p == '/' ? strcspn(p, "?#") : 0;
    cleanup_free char *path = percent_decode(p, n);
    /* path.Base: trailing slashes go; "" is ".", only slashes is "/" */
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        path[--len] = '\0';
    const char *base = strrchr(path, '/');
    base = base ? (base[1] ? base + 1 : base) : path;
    if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "/") == 0)
        return xstrdup("__unnamed__");
    return safe_file_name(xstrdup(base));
}

int64_t
fetch_http_time(const char *s)
{
    static const char *const formats[] = {
        "%a, %d %b %Y %H:%M:%S GMT", /* RFC 1123 */
        "%A, %d-%b-%y %H:%M:%S GMT", /* RFC 850 */
        "%a %b %e %H:%M:%S %Y",      /* asctime */
    };

    for (size_t i = 0; s != NULL && i < sizeof(formats) / sizeof(formats[0]); i++) {
        struct tm tm = {0};
        const char *end = strptime(s, formats[i], &tm);
        if (end != NULL && *end == '\0')
            return (int64_t) timegm(&tm);
    }
    return -1;
}

/* ---- the per-URL record: {"url", "digest", "etag", "last_modified"} ---- */

struct url_record {
    digest_t digest;
    char *etag, *last_modified;
};

static char *
record_name(const char *url)
{
    digest_t d;

    digest_of_mem(url, strlen(url), d);
    return xasprintf(RECORD_DIR "/%s", digest_hex(d));
}

/* A missing or damaged record is no record. */
static bool
record_load(struct store *st, const char *url, struct url_record *r)
{
    cleanup_free char *name = record_name(url), *text = NULL;
    struct lade_error ignored = {0};
    size_t len;

    memset(r, 0, sizeof(*r));
    if (read_file_at(store_root_fd(st), name, RECORD_MAX, &text, &len, &ignored) < 0)
        return false;
    json_auto_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    const char *u = json_string_value(json_object_get(j, "url"));
    const char *d = json_string_value(json_object_get(j, "digest"));
    const char *etag = json_string_value(json_object_get(j, "etag"));
    const char *lm = json_string_value(json_object_get(j, "last_modified"));
    if (u == NULL || strcmp(u, url) != 0 || d == NULL || !digest_valid(d) ||
        !store_blob_exists(st, d))
        return false;
    snprintf(r->digest, sizeof(r->digest), "%s", d);
    r->etag = etag ? xstrdup(etag) : NULL;
    r->last_modified = lm ? xstrdup(lm) : NULL;
    return true;
}

static int
record_save(struct store *st, const char *url, const struct url_record *r, struct lade_error *err)
{
    cleanup_free char *name = record_name(url);
    json_auto_t *j = json_pack("{s:s, s:s}", "url", url, "digest", r->digest);

    if (r->etag != NULL)
        json_object_set_new(j, "etag", json_string(r->etag));
    if (r->last_modified != NULL)
        json_object_set_new(j, "last_modified", json_string(r->last_modified));
    cleanup_free char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    if (mkdir_p_at(store_root_fd(st), RECORD_DIR, 0755, err) < 0)
        return -1;
    return store_write_atomic(st, store_root_fd(st), name, text, strlen(text), err);
}

static void
record_release(struct url_record *r)
{
    free(r->etag);
    free(r->last_modified);
    memset(r, 0, sizeof(*r));
}

/* ---- downloading ---- */

struct download {
    int fd;
    struct sha256 *sum;
};

static int
download_sink(void *ctx, const void *data, size_t n, struct lade_error *err)
{
    struct download *d = ctx;

    if (write_all(d->fd, data, n) < 0)
        return lade_error_sys(err, "writing the download");
    sha256_update(d->sum, data, n);
    return 0;
}

static int
download_reset(void *ctx, struct lade_error *err)
{
    struct download *d = ctx;
    digest_t drop;

    if (ftruncate(d->fd, 0) < 0 || lseek(d->fd, 0, SEEK_SET) < 0)
        return lade_error_sys(err, "restarting the download");
    sha256_final(d->sum, drop); /* resets */
    return 0;
}

static int
fill_result(struct store *st, const struct url_record *r, bool from_store, struct fetched_url *out)
{
    int64_t t = fetch_http_time(r->last_modified);

    memset(out, 0, sizeof(*out));
    snprintf(out->digest, sizeof(out->digest), "%s", r->digest);
    out->path = store_blob_path(st, r->digest);
    out->mtime = t > 0 ? t : 0;
    out->from_store = from_store;
    return 0;
}

static int
check_checksum(const char *url, const char *checksum, const char *got, struct lade_error *err)
{
    if (checksum == NULL || strcmp(checksum, got) == 0)
        return 0;
    return lade_error_set(err, LADE_ERR_OTHER, "digest mismatch for %s: %s (expected: %s)", url,
                          got, checksum);
}

int
fetch_url(struct store *st, const struct registry_opts *reg, const char *url, const char *checksum,
          struct fetched_url *out, struct lade_error *err)
{
    struct url_record have = {0}, got = {0};
    struct url_got res = {0};
    cleanup_free char *tmp = NULL;
    cleanup_close int fd = -1;
    bool known = record_load(st, url, &have);
    int rc = -1;

    if (checksum != NULL && !digest_valid(checksum)) {
        record_release(&have);
        return lade_error_set(err, LADE_ERR_PARSE, "invalid checksum \"%s\" (sha256:HEX)",
                              checksum);
    }
    if (checksum != NULL && store_blob_exists(st, checksum)) {
        struct url_record pinned = {.last_modified = NULL};
        snprintf(pinned.digest, sizeof(pinned.digest), "%s", checksum);
        if (known && strcmp(have.digest, checksum) == 0)
            pinned.last_modified = have.last_modified;
        fill_result(st, &pinned, true, out);
        record_release(&have);
        return 0;
    }
    if (store_tmp_file(st, &tmp, &fd, err) < 0)
        goto out;
    struct download d = {.fd = fd, .sum = sha256_new()};
    struct url_get rq = {
        .url = url,
        .if_none_match = known ? have.etag : NULL,
        .sink = download_sink,
        .sink_reset = download_reset,
        .sink_ctx = &d,
    };
    rc = registry_url_get(&rq, reg, &res, err);
    sha256_final(d.sum, got.digest);
    sha256_free(d.sum);
    if (rc < 0)
        goto out;
    rc = -1;
    if (res.status == 304 && !known) {
        lade_error_set(err, LADE_ERR_NET, "GET %s: 304 Not Modified to a request without a copy",
                       url);
        goto out;
    }
    if (res.status == 304) {
        if (check_checksum(url, checksum, have.digest, err) < 0)
            goto out;
        fill_result(st, &have, true, out);
        rc = 0;
        goto out;
    }
    if (check_checksum(url, checksum, got.digest, err) < 0)
        goto out;
    if (fsync(fd) < 0) {
        lade_error_sys(err, "writing the download of %s", url);
        goto out;
    }
    rc = store_blob_commit(st, tmp, got.digest, err);
    free(tmp);
    tmp = NULL;
    if (rc < 0)
        goto out;
    got.etag = steal_ptr(&res.etag);
    got.last_modified = steal_ptr(&res.last_modified);
    /* the record is a cache hint: failing to write it costs a download next time, no more */
    struct lade_error ignored = {0};
    record_save(st, url, &got, &ignored);
    fill_result(st, &got, false, out);
    rc = 0;
out:
    if (tmp != NULL)
        unlink(tmp);
    url_got_release(&res);
    record_release(&have);
    record_release(&got);
    return rc;
}

void
fetched_url_release(struct fetched_url *f)
{
    free(f->path);
    memset(f, 0, sizeof(*f));
}
