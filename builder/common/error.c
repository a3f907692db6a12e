/* SPDX-License-Identifier: Apache-2.0 */
#include "error.h"

#include <errno.h>
#include <string.h>

static void
vset(struct lade_error *e, enum lade_errc code, int errnum, const char *fmt, va_list ap)
{
    if (e == NULL || e->code != 0)
        return; /* first error wins */
    e->code = code;
    e->sys_errno = errnum;
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    if (errnum != 0) {
        size_t n = strlen(e->msg);
        snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(errnum));
    }
}

int
lade_error_set(struct lade_error *e, enum lade_errc code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vset(e, code, 0, fmt, ap);
    va_end(ap);
    return -1;
}

int
lade_error_sys(struct lade_error *e, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    va_start(ap, fmt);
    vset(e, LADE_ERR_IO, saved, fmt, ap);
    va_end(ap);
    errno = saved;
    return -1;
}

int
lade_error_errno(struct lade_error *e, int errnum, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vset(e, LADE_ERR_IO, errnum, fmt, ap);
    va_end(ap);
    return -1;
}

int
lade_error_at(struct lade_error *e, const struct lade_pos *p, const char *fmt, ...)
{
    va_list ap;

    if (e == NULL || e->code != 0)
        return -1;
    va_start(ap, fmt);
    vset(e, LADE_ERR_PARSE, 0, fmt, ap);
    va_end(ap);
    if (p != NULL)
        e->pos = *p;
    return -1;
}

int
lade_error_prefix(struct lade_error *e, const char *fmt, ...)
{
    char ctx[512], old[sizeof(e->msg)];
    va_list ap;

    if (e == NULL)
        return -1;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof(ctx), fmt, ap);
    va_end(ap);
    /* Truncation keeps the outer context and the start of the cause; both are bounded. */
    memcpy(old, e->msg, sizeof(old));
    size_t n = strlen(ctx); /* < sizeof(ctx), which is smaller than msg */
    memcpy(e->msg, ctx, n);
    memcpy(e->msg + n, ": ", 2);
    size_t room = sizeof(e->msg) - n - 3;
    size_t ol = strnlen(old, room);
    memcpy(e->msg + n + 2, old, ol);
    e->msg[n + 2 + ol] = '\0';
    if (e->code == 0)
        e->code = LADE_ERR_OTHER;
    return -1;
}

int
lade_error_recode(struct lade_error *e, enum lade_errc code)
{
    if (e == NULL)
        return -1;
    if (e->code == 0)
        return lade_error_set(e, code, "unknown error");
    e->code = code;
    return -1;
}

void
lade_error_set_src_line(struct lade_error *e, const char *line, size_t len)
{
    if (e == NULL)
        return;
    if (len >= sizeof(e->src_line))
        len = sizeof(e->src_line) - 1;
    memcpy(e->src_line, line, len);
    e->src_line[len] = '\0';
}

void
lade_error_clear(struct lade_error *e)
{
    memset(e, 0, sizeof(*e));
}

void
lade_error_print(FILE *f, const struct lade_error *e)
{
    const struct lade_pos *p = &e->pos;

    if (p->line > 0 && p->col > 0)
        fprintf(f, "lade: error: %s:%u:%u: %s\n", p->file, p->line, p->col, e->msg);
    else if (p->line > 0)
        fprintf(f, "lade: error: %s:%u: %s\n", p->file, p->line, e->msg);
    else
        fprintf(f, "lade: error: %s\n", e->msg);
    if (p->line > 0 && e->src_line[0] != '\0') {
        int w = fprintf(f, "%4u | ", p->line) - 2;
        fprintf(f, "%s\n", e->src_line);
        fprintf(f, "%*s| %*s^\n", w, "", p->col > 1 ? (int) p->col - 1 : 0, "");
    }
}
