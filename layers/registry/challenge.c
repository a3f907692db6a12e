/* SPDX-License-Identifier: Apache-2.0 */
/* WWW-Authenticate (RFC 7235 / RFC 9110 11.6.1): a comma-separated list of challenges, each a
 * scheme followed by auth-params (name=token or name="quoted \"string\""), where a comma may
 * separate either two params or two challenges. Bearer is preferred over Basic, as docker's
 * authorizer tries its token handler first. The input comes from the network: every malformed
 * form is refused, nothing is read past the end. */
#include "client.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../builder/common/buf.h"
#include "../../builder/common/xalloc.h"

#define MAX_CHALLENGES 16

static bool
is_tchar(char ch)
{
    return isalnum((unsigned char) ch) || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static void
skip_ows(const char **p)
{
    while (**p == ' ' || **p == '\t')
        (*p)++;
}

static size_t
token_len(const char *p)
{
    size_t n = 0;
    while (is_tchar(p[n]))
        n++;
    return n;
}

/* A quoted-string at *p (which is '"'); the unescaped value, or NULL when unterminated or when
 * it holds control characters. */
static char *
quoted_string(const char **p)
{
    struct lade_buf b = LADE_BUF_INIT;
    const char *s = *p + 1;

    lade_buf_init(&b, 0);
    for (;; s++) {
        if (*s == '\\' && s[1] != '\0' && (unsigned char) s[1] >= 0x20 && s[1] != 0x7f)
            s++;
        else if (*s == '"')
            break;
        else if (*s == '\0' || ((unsigned char) *s < 0x20 && *s != '\t') || *s == 0x7f) {
            lade_buf_release(&b);
            return NULL;
        }
        lade_buf_appendc(&b, *s);
    }
    *p = s + 1;
    return lade_buf_steal(&b);
}

struct parsed {
    char scheme[16];
    char *realm, *service, *scope;
};

static void
keep_param(struct parsed *c, const char *name, size_t len, char *value)
{
    char **slot = NULL;

    if (len == 5 && strncasecmp(name, "realm", 5) == 0)
        slot = &c->realm;
    else if (len == 7 && strncasecmp(name, "service", 7) == 0)
        slot = &c->service;
    else if (len == 5 && strncasecmp(name, "scope", 5) == 0)
        slot = &c->scope;
    if (slot != NULL && *slot == NULL)
        *slot = value; /* the first of duplicates counts */
    else
        free(value);
}

/* token68 ("Negotiate abc/+=="): alnum and -._~+/ then '=' padding, alone before ',' or the
 * end. Its length, or 0. */
static size_t
token68_len(const char *p)
{
    size_t n = 0;

    while (isalnum((unsigned char) p[n]) || (p[n] != '\0' && strchr("-._~+/", p[n]) != NULL))
        n++;
    if (n == 0)
        return 0;
    while (p[n] == '=')
        n++;
    size_t end = n;
    while (p[end] == ' ' || p[end] == '\t')
        end++;
    return p[end] == ',' || p[end] == '\0' ? n : 0;
}

/* name = value, value being a token or a quoted-string. */
static bool
looks_like_param(const char *p)
{
    size_t n = token_len(p);
    const char *q = p + n;

    if (n == 0)
        return false;
    skip_ows(&q);
    if (*q != '=')
        return false;
    q++;
    skip_ows(&q);
    return *q == '"' || is_tchar(*q);
}

/* The params after a scheme, up to the next challenge or the end; -1 when malformed. */
static int
parse_params(const char **pp, struct parsed *c)
{
    const char *p = *pp;
    size_t t68 = token68_len(p);

    if (t68 > 0 && !looks_like_param(p)) {
        *pp = p + t68; /* a credential blob, not params: nothing we use */
        return 0;
    }
    for (;;) {
        const char *save = p;
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        size_t n = token_len(p);
        const char *name = p, *q = p + n;
        skip_ows(&q);
        if (n == 0)
            return -1;
        if (*q != '=') {
            p = save; /* a new challenge begins */
            break;
        }
        q++;
        skip_ows(&q);
        char *value;
        if (*q == '"') {
            if ((value = quoted_string(&q)) == NULL)
                return -1;
        } else {
            size_t vn = token_len(q);
            if (vn == 0)
                return -1;
            value = xstrndup(q, vn);
            q += vn;
        }
        keep_param(c, name, n, value);
        p = q;
        skip_ows(&p);
        if (*p != ',' && *p != '\0')
            return -1;
    }
    *pp = p;
    return 0;
}

static void
parsed_release(struct parsed *c)
{
    free(c->realm);
    free(c->service);
    free(c->scope);
    memset(c, 0, sizeof(*c));
}

int
reg_challenge_parse(const char *header, struct reg_challenge *out)
{
    struct parsed all[MAX_CHALLENGES];
    size_t n = 0;
    const char *p = header;
    int best = -1, rc = -1;

    memset(all, 0, sizeof(all));
    while (header != NULL) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        size_t len = token_len(p);
        if (len == 0 || n == MAX_CHALLENGES ||
            (p[len] != '\0' && p[len] != ' ' && p[len] != '\t' && p[len] != ','))
            goto out;
        struct parsed *c = &all[n++];
        snprintf(c->scheme, sizeof(c->scheme), "%.*s", (int) len, p);
        for (char *s = c->scheme; *s; s++)
            *s = (char) tolower((unsigned char) *s);
        p += len;
        skip_ows(&p);
        if (*p != '\0' && *p != ',' && parse_params(&p, c) < 0)
            goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(all[i].scheme, "bearer") == 0 && all[i].realm != NULL) {
            best = (int) i;
            break;
        }
        if (strcmp(all[i].scheme, "basic") == 0 && best < 0)
            best = (int) i;
    }
    if (best < 0)
        goto out;
    memset(out, 0, sizeof(*out));
    snprintf(out->scheme, sizeof(out->scheme), "%s", all[best].scheme);
    out->realm = all[best].realm;
    out->service = all[best].service;
    out->scope = all[best].scope;
    memset(&all[best], 0, sizeof(all[best]));
    rc = 0;
out:
    for (size_t i = 0; i < n; i++)
        parsed_release(&all[i]);
    return rc;
}

void
reg_challenge_release(struct reg_challenge *ch)
{
    free(ch->realm);
    free(ch->service);
    free(ch->scope);
    memset(ch, 0, sizeof(*ch));
}
