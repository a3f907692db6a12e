/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

/* Out of memory is not an error to handle: these print a message and abort (git xmalloc). */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
