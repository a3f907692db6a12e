/* SPDX-License-Identifier: Apache-2.0 */
#include "strv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

size_t
strv_len(char *const *v)
{
    size_t n = 0;

    while (v != NULL && v[n] != NULL)
        n++;
    return n;
}

char **
strv_push_take(char **v, char *s)
{
    size_t n = strv_len(v);

    v = xrealloc(v, (n + 2) * sizeof(*v));
    v[n] = s;
    v[n + 1] = NULL;
    return v;
}

char **
strv_push(char **v, const char *s)
{
    return strv_push_take(v, xstrdup(s));
}

char **
strv_dup(char *const *v)
{
    size_t n = strv_len(v);
    char **r = xcalloc(n + 1, sizeof(*r));

    for (size_t i = 0; i < n; i++)
        r[i] = xstrdup(v[i]);
    return r;
}

void
strv_free(char **v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

static char **
env_find(char *const *v, const char *key)
{
    size_t kl = strlen(key);

    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        if (strncmp(v[i], key, kl) == 0 && v[i][kl] == '=')
            return (char **) &v[i];
    return NULL;
}

const char *
strv_env_get(char *const *v, const char *key)
{
    char **e = env_find(v, key);

    return e ? *e + strlen(key) + 1 : NULL;
}

char **
strv_env_set(char **v, const char *key, const char *value)
{
    char **e = env_find(v, key);
    char *kv = xasprintf("%s=%s", key, value);

    if (e != NULL) {
        free(*e);
        *e = kv;
        return v;
    }
    return strv_push_take(v, kv);
}

/* ---- envmap ---- */

static size_t
key_len(const char *entry)
{
    return strcspn(entry, "=");
}

/* FNV-1a: the index only needs short names spread over the slots. */
static size_t
hash_key(const char *key, size_t len)
{
    uint64_t h = 14695981039346656037u;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char) key[i];
        h *= 1099511628211u;
    }
    return (size_t) (h ^ (h >> 32));
}

/* The slot of key's (first) entry, or the free slot where it would go. */
static size_t *
slot_of(const struct envmap *m, const char *key, size_t len)
{
    size_t mask = m->nslots - 1;

    for (size_t i = hash_key(key, len) & mask;; i = (i + 1) & mask) {
        size_t *s = &m->slots[i];
        if (*s == 0)
            return s;
        const char *e = m->v[*s - 1];
        if (key_len(e) == len && memcmp(e, key, len) == 0)
            return s;
    }
}

static void
reindex(struct envmap *m, size_t nslots)
{
    free(m->slots);
    m->slots = xcalloc(nslots, sizeof(*m->slots));
    m->nslots = nslots;
    for (size_t i = 0; i < m->n; i++) {
        size_t *s = slot_of(m, m->v[i], key_len(m->v[i]));
        if (*s == 0)
            *s = i + 1;
    }
}

static size_t
append_take(struct envmap *m, char *entry)
{
    if (m->n + 2 > m->cap) {
        m->cap = m->cap ? 2 * m->cap : 8;
        m->v = xrealloc(m->v, m->cap * sizeof(*m->v));
    }
    m->v[m->n] = entry;
    m->v[m->n + 1] = NULL;
    m->bytes += strlen(entry);
    if (2 * (m->n + 1) > m->nslots) /* at most half full, so probes stay short */
        reindex(m, m->nslots ? 2 * m->nslots : 16);
    size_t *s = slot_of(m, entry, key_len(entry));
    if (*s == 0)
        *s = m->n + 1;
    return m->n++;
}

long
envmap_find(const struct envmap *m, const char *key)
{
    if (m->nslots == 0)
        return -1;
    size_t s = *slot_of(m, key, strlen(key));
    return s ? (long) s - 1 : -1;
}

const char *
envmap_get(const struct envmap *m, const char *key)
{
    long i = envmap_find(m, key);
    size_t kl = strlen(key);

    return i >= 0 && m->v[i][kl] == '=' ? m->v[i] + kl + 1 : NULL;
}

size_t
envmap_set(struct envmap *m, const char *key, const char *value)
{
    char *kv = value ? xasprintf("%s=%s", key, value) : xstrdup(key);
    long i = envmap_find(m, key);

    if (i < 0)
        return append_take(m, kv);
    m->bytes = m->bytes - strlen(m->v[i]) + strlen(kv);
    free(m->v[i]);
    m->v[i] = kv;
    return (size_t) i;
}

void
envmap_push(struct envmap *m, const char *entry)
{
    append_take(m, xstrdup(entry));
}

void
envmap_copy(struct envmap *dst, const struct envmap *src)
{
    *dst = *src;
    dst->v = src->v ? xcalloc(src->cap, sizeof(*dst->v)) : NULL;
    for (size_t i = 0; i < src->n; i++)
        dst->v[i] = xstrdup(src->v[i]);
    dst->slots = src->slots ? xcalloc(src->nslots, sizeof(*dst->slots)) : NULL;
    if (src->slots)
        memcpy(dst->slots, src->slots, src->nslots * sizeof(*dst->slots));
}

char **
envmap_steal(struct envmap *m)
{
    char **v = m->v ? m->v : xcalloc(1, sizeof(*v));

    free(m->slots);
    memset(m, 0, sizeof(*m));
    return v;
}

void
envmap_release(struct envmap *m)
{
    strv_free(envmap_steal(m));
}
