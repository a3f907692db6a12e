/* SPDX-License-Identifier: Apache-2.0 */
#include "strv.h"

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
