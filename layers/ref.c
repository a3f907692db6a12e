/* SPDX-License-Identifier: Apache-2.0 */
/* Image references, normalised as docker does (the grammar of distribution/reference and its
 * ParseNormalizedNamed). Hand-written matchers instead of regular expressions: the grammar
 * has no ambiguity once the domain is split off, and ctype is avoided (locale-dependent). */
#include "layers.h"

#include <stdlib.h>
#include <string.h>

#include "../builder/common/xalloc.h"

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"
#define NAME_MAX_LEN 255 /* domain + "/" + path */
#define TAG_MAX_LEN 128

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || is_digit(c);
}

static bool
is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool
is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool
is_word(char c)
{
    return is_alnum(c) || c == '_';
}

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)*; separator := [_.] | "__" | "-"+ */
static bool
component_valid(const char *s, size_t n)
{
    size_t i = 0;

    for (;;) {
        size_t start = i;
        while (i < n && is_lower_alnum(s[i]))
            i++;
        if (i == start)
            return false;
        if (i == n)
            return true;
        if (s[i] == '.') {
            i++;
        } else if (s[i] == '_') {
            i += i + 1 < n && s[i + 1] == '_' ? 2 : 1;
        } else if (s[i] == '-') {
            while (i < n && s[i] == '-')
                i++;
        } else {
            return false;
        }
    }
}

static bool
path_valid(const char *s, size_t n)
{
    size_t start = 0;

    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '/')
            continue;
        if (!component_valid(s + start, i - start))
            return false;
        start = i + 1;
    }
    return true;
}

/* host [":" port]; host := domain-name | "[" ipv6 "]"; domain-name := label ("." label)*;
 * label := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool
domain_valid(const char *s, size_t n)
{
    size_t i = 0;

    if (n > 0 && s[0] == '[') {
        for (i = 1; i < n && (is_hex(s[i]) || s[i] == ':'); i++)
            ;
        if (i == 1 || i == n || s[i] != ']')
            return false;
        i++;
    } else {
        for (;;) {
            size_t start = i;
            while (i < n && (is_alnum(s[i]) || s[i] == '-'))
                i++;
            if (i == start || s[start] == '-' || s[i - 1] == '-')
                return false;
            if (i < n && s[i] == '.') {
                i++;
                continue;
            }
            break;
        }
    }
    if (i < n && s[i] == ':') {
        size_t start = ++i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == start)
            return false;
    }
    return i == n;
}

/* [\w][\w.-]{0,127} */
static bool
tag_valid(const char *s, size_t n)
{
    if (n == 0 || n > TAG_MAX_LEN || !is_word(s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_word(s[i]) && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

/* The reference grammar's digest (algorithm ":" 32+ hex), then go-digest's check of it. */
static int
digest_check(const char *s, struct lade_error *err)
{
    const char *colon = strchr(s, ':');
    size_t i = 0;

    if (colon == NULL || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        goto bad;
    for (i = 1; s + i < colon; i++) {
        char c = s[i];
        bool sep = c == '-' || c == '_' || c == '+' || c == '.';
        if (!is_alnum(c) && !sep)
            goto bad;
        /* a separator is followed by a letter */
        if (sep && !((s[i + 1] >= 'a' && s[i + 1] <= 'z') || (s[i + 1] >= 'A' && s[i + 1] <= 'Z')))
            goto bad;
    }
    size_t hex = strlen(colon + 1);
    for (i = 1; colon[i]; i++)
        if (!is_hex(colon[i]))
            goto bad;
    if (hex < 32)
        goto bad;
    if ((size_t) (colon - s) != 6 || strncmp(s, "sha256", 6) != 0)
        return lade_error_set(err, LADE_ERR_USAGE,
                              "invalid reference format: unsupported digest algorithm");
    if (hex != 64)
        return lade_error_set(err, LADE_ERR_USAGE,
                              "invalid reference format: invalid checksum digest length");
    if (!digest_valid(s))
        return lade_error_set(err, LADE_ERR_USAGE,
                              "invalid reference format: invalid checksum digest format");
    return 0;
bad:
    return lade_error_set(err, LADE_ERR_USAGE, "invalid reference format");
}

static bool
has_upper(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            return true;
    return false;
}

static bool
is_identifier(const char *s)
{
    size_t n = strlen(s);

    if (n != 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
            return false;
    return true;
}

int
image_ref_parse(const char *s, struct image_ref *out, struct lade_error *err)
{
    const char *rest = s;
    char *domain;

    /* an image ID is not a name (docker: "cannot specify 64-byte hexadecimal strings") */
    if (is_identifier(s))
        return lade_error_set(err, LADE_ERR_USAGE,
                              "invalid repository name (%s), cannot specify 64-byte hexadecimal "
                              "strings",
                              s);
    /* the first component names a registry when it looks like a host: it has a dot or a
     * port, is localhost, or has upper case (which a path never has) */
    const char *slash = strchr(s, '/');
    if (slash != NULL) {
        size_t n = (size_t) (slash - s);
        bool hostlike = memchr(s, '.', n) != NULL || memchr(s, ':', n) != NULL ||
                        (n == 9 && strncmp(s, "localhost", 9) == 0) || has_upper(s, n);
        if (hostlike) {
            rest = slash + 1;
            domain = xstrndup(s, n);
        } else {
            domain = xstrdup(DEFAULT_DOMAIN);
        }
    } else {
        domain = xstrdup(DEFAULT_DOMAIN);
    }
    if (strcmp(domain, LEGACY_DOMAIN) == 0) {
        free(domain);
        domain = xstrdup(DEFAULT_DOMAIN);
    }

    /* rest is path [":" tag] ["@" digest]; neither ':' nor '@' occurs in a path */
    size_t path_len = strcspn(rest, ":@");
    const char *tag = NULL, *digest = NULL;
    size_t tag_len = 0;
    if (rest[path_len] == ':') {
        tag = rest + path_len + 1;
        tag_len = strcspn(tag, "@");
        if (tag[tag_len] == '@')
            digest = tag + tag_len + 1;
    } else if (rest[path_len] == '@') {
        digest = rest + path_len + 1;
    }

    bool official = strcmp(domain, DEFAULT_DOMAIN) == 0 && memchr(rest, '/', path_len) == NULL;
    char *path = official ? xasprintf("%s%.*s", OFFICIAL_PREFIX, (int) path_len, rest)
                          : xstrndup(rest, path_len);
    int rc = -1;
    if (has_upper(path, strlen(path))) {
        lade_error_set(err, LADE_ERR_USAGE,
                       "invalid reference format: repository name must be lowercase");
    } else if (!domain_valid(domain, strlen(domain)) || !path_valid(path, strlen(path)) ||
               (tag != NULL && !tag_valid(tag, tag_len))) {
        lade_error_set(err, LADE_ERR_USAGE, "invalid reference format");
    } else if (strlen(domain) + 1 + strlen(path) > NAME_MAX_LEN) {
        lade_error_set(err, LADE_ERR_USAGE,
                       "invalid reference format: repository name must not be more than %d "
                       "characters",
                       NAME_MAX_LEN);
    } else if (digest == NULL || digest_check(digest, err) == 0) {
        rc = 0;
    }
    if (rc < 0) {
        free(domain);
        free(path);
        return -1;
    }
    out->domain = domain;
    out->path = path;
    out->tag = tag != NULL ? xstrndup(tag, tag_len) : digest == NULL ? xstrdup("latest") : NULL;
    out->digest = digest != NULL ? xstrdup(digest) : NULL;
    return 0;
}

void
image_ref_release(struct image_ref *r)
{
    if (r == NULL)
        return;
    free(r->domain);
    free(r->path);
    free(r->tag);
    free(r->digest);
    r->domain = r->path = r->tag = r->digest = NULL;
}

/* domain (may be "") + name + [":" tag] + ["@" digest] */
static char *
format_ref(const struct image_ref *r, const char *domain, const char *name)
{
    return xasprintf("%s%s%s%s%s%s%s", domain, *domain ? "/" : "", name, r->tag ? ":" : "",
                     r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "");
}

char *
image_ref_string(const struct image_ref *r)
{
    return format_ref(r, r->domain, r->path);
}

char *
image_ref_familiar(const struct image_ref *r)
{
    if (strcmp(r->domain, DEFAULT_DOMAIN) != 0)
        return format_ref(r, r->domain, r->path);
    const char *name = r->path;
    size_t n = strlen(OFFICIAL_PREFIX);
    if (strncmp(name, OFFICIAL_PREFIX, n) == 0 && strchr(name + n, '/') == NULL)
        name += n;
    return format_ref(r, "", name);
}

char *
image_ref_repo(const struct image_ref *r)
{
    return xasprintf("%s/%s", r->domain, r->path);
}
