/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* A growable byte buffer, always NUL-terminated. With max > 0 it refuses to grow past max
 * (for network reads, as curl's dynbuf does): lade_buf_append then returns -1. */
struct lade_buf {
    char *data; /* NULL until the first append; owned */
    size_t len, cap, max;
};

#define LADE_BUF_INIT                                                                              \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

void lade_buf_init(struct lade_buf *b, size_t max);
int lade_buf_append(struct lade_buf *b, const void *data, size_t n);
int lade_buf_appends(struct lade_buf *b, const char *s);
int lade_buf_appendvf(struct lade_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
int lade_buf_appendf(struct lade_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int lade_buf_appendc(struct lade_buf *b, char c);
void lade_buf_reset(struct lade_buf *b);
/* Returns the NUL-terminated data (never NULL) and leaves b empty; caller frees. */
char *lade_buf_steal(struct lade_buf *b);
void lade_buf_release(struct lade_buf *b);
