/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

/* NULL-terminated vectors of owned strings (char **), as used for argv and envp.
 * A NULL vector is a valid empty one. */
size_t strv_len(char *const *v);
/* Appends a copy of s; returns the (possibly moved) vector. */
char **strv_push(char **v, const char *s);
/* Appends s itself, taking ownership. */
char **strv_push_take(char **v, char *s);
char **strv_dup(char *const *v);
void strv_free(char **v);
/* Env-style lookup: the value of "KEY=value" in v, or NULL. */
const char *strv_env_get(char *const *v, const char *key);
/* Sets KEY=value, replacing an existing entry in place (order kept, as docker keeps it). */
char **strv_env_set(char **v, const char *key, const char *value);

/* An environment with a hash index on the keys, so that a stage of n ENV or ARG lines is
 * built in O(n) where strv_env_set would take O(n^2). Entries are "K=V" or a bare "K" (a
 * declared name without a value) in insertion order. A zeroed struct is an empty map. */
struct envmap {
    char **v;      /* NULL-terminated entries (NULL while empty); owned */
    size_t n;      /* entries */
    size_t bytes;  /* total length of the entries, for size limits */
    size_t cap;    /* room in v, the NULL included */
    size_t *slots; /* open addressing: entry index + 1, or 0 for a free slot */
    size_t nslots; /* 0 or a power of two above 2 * n */
};
/* The value of key, or NULL when key is absent or bare. */
const char *envmap_get(const struct envmap *m, const char *key);
/* The index of key's entry, or -1. */
long envmap_find(const struct envmap *m, const char *key);
/* Sets key to value (NULL: bare), replacing key's entry in place (order kept, as docker keeps
 * it) or appending. Returns the entry's index. */
size_t envmap_set(struct envmap *m, const char *key, const char *value);
/* Appends a copy of entry even when its key is present (an image's Env may repeat a name);
 * lookups find the first, as strv_env_get does. */
void envmap_push(struct envmap *m, const char *entry);
void envmap_copy(struct envmap *dst, const struct envmap *src);
/* The entries as a strv (never NULL); m is left empty. */
char **envmap_steal(struct envmap *m);
void envmap_release(struct envmap *m);

static inline void
cleanup_strvp(char ***v)
{
    strv_free(*v);
}
/* A strv freed when it goes out of scope. */
#define cleanup_strv __attribute__((cleanup(cleanup_strvp)))
