/* SPDX-License-Identifier: Apache-2.0 */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void
lade_buf_init(struct lade_buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

static int
reserve(struct lade_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;

    if (b->max > 0 && b->len + extra > b->max)
        return -1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
    return 0;
}

int
lade_buf_append(struct lade_buf *b, const void *data, size_t n)
{
    if (reserve(b, n) < 0)
        return -1;
    if (n > 0)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int
lade_buf_appends(struct lade_buf *b, const char *s)
{
    return lade_buf_append(b, s, strlen(s));
}

int
lade_buf_appendc(struct lade_buf *b, char c)
{
    return lade_buf_append(b, &c, 1);
}

int
lade_buf_appendvf(struct lade_buf *b, const char *fmt, va_list ap)
{
    va_list again;
    int n;

    va_copy(again, ap);
    n = vsnprintf(NULL, 0, fmt, ap);
    if (n < 0 || reserve(b, (size_t) n) < 0) {
        va_end(again);
        return -1;
    }
    vsnprintf(b->data + b->len, (size_t) n + 1, fmt, again);
    va_end(again);
    b->len += (size_t) n;
    return 0;
}

int
lade_buf_appendf(struct lade_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = lade_buf_appendvf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void
lade_buf_reset(struct lade_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

char *
lade_buf_steal(struct lade_buf *b)
{
    char *p = b->data ? b->data : xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void
lade_buf_release(struct lade_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
