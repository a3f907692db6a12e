/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdarg.h>
#include <stdio.h>

/* Exit codes from DESIGN.md; the error code is the process exit status. */
enum lade_errc {
    LADE_ERR_OTHER = 1,
    LADE_ERR_USAGE = 2,
    LADE_ERR_PARSE = 3,
    LADE_ERR_RUN = 4,
    LADE_ERR_NET = 5,
    LADE_ERR_AUTH = 6,
    LADE_ERR_IO = 7,
};

struct lade_pos {
    char file[128];
    unsigned line, col; /* line 0 = no position */
};

/* Fixed size, caller-owned, never allocates, so it can cross a pipe from the sandbox child.
 * The first error set wins; lade_error_prefix only adds context to a set error. */
struct lade_error {
    enum lade_errc code; /* 0 while no error is set */
    int sys_errno;       /* errno where the failure happened, or 0 */
    struct lade_pos pos;
    char src_line[160]; /* that Dockerfile line, for the caret display */
    char msg[1024];     /* "outer context: inner context: cause" */
};

/* Each returns -1 so a failure site is one line: `return lade_error_sys(err, "open '%s'", p);`.
 * err may be NULL (the error is dropped). */
int lade_error_set(struct lade_error *e, enum lade_errc code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends ": strerror(errno)"; code LADE_ERR_IO. Saves errno first. */
int lade_error_sys(struct lade_error *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Like lade_error_sys with an explicit errno value (for APIs that return it). */
int lade_error_errno(struct lade_error *e, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A Dockerfile error at p, code LADE_ERR_PARSE. */
int lade_error_at(struct lade_error *e, const struct lade_pos *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepends "context: " to the message; keeps code, errno and position. */
int lade_error_prefix(struct lade_error *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The one way to change the code of an error already set (a bad reference given as an argument
 * is a usage error): keeps message, errno and position. An unset error gets a placeholder
 * message, so a caller's bug still prints something. Returns -1. */
int lade_error_recode(struct lade_error *e, enum lade_errc code);
/* Records the source line shown under the message (the caret display). */
void lade_error_set_src_line(struct lade_error *e, const char *line, size_t len);
void lade_error_clear(struct lade_error *e);
static inline int
lade_error_is_set(const struct lade_error *e)
{
    return e->code != 0;
}

/* "lade: error: FILE:LINE:COL: msg" plus the caret display when a source line is known. */
void lade_error_print(FILE *f, const struct lade_error *e);
