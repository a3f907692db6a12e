/* SPDX-License-Identifier: Apache-2.0 */
/* Physical lines -> logical lines, following BuildKit's parser.Parse: the BOM, parser
 * directives at the top, comments, escape-character continuations (with comment and blank
 * lines skipped inside them), and heredoc bodies read on request. */
#include "parser-internal.h"

#include <stdarg.h>
#include <string.h>

#include "../builder/common/cleanup.h"
#include "../builder/common/strv.h"
#include "../builder/common/xalloc.h"

/* bufio.Scanner's default limit: a line and its newline must fit in 64 KiB. */
#define MAX_LINE 65535

static const char bom[] = "\xEF\xBB\xBF";

int
parse_error_at(struct lade_error *err, const char *file, char *const *lines, size_t nlines,
               unsigned line, unsigned col, const char *fmt, ...)
{
    struct lade_pos pos = {.line = line, .col = col};
    char msg[900];
    va_list ap;

    if (err == NULL || err->code != 0)
        return -1;
    snprintf(pos.file, sizeof(pos.file), "%s", file ? file : "");
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    lade_error_at(err, &pos, "%s", msg);
    if (line >= 1 && line <= nlines)
        lade_error_set_src_line(err, lines[line - 1], strlen(lines[line - 1]));
    return -1;
}

/* Length without all trailing '\r' and '\n' (BuildKit's trimNewline). */
static size_t
trim_newline(const char *s, size_t n)
{
    while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    return n;
}

int
lexer_init(struct lexer *lx, const char *src, size_t len, const char *filename, char ***lines,
           size_t *nlines, struct lade_error *err)
{
    char **v = NULL;
    size_t count = 0;

    memset(lx, 0, sizeof(*lx));
    lx->src = src;
    lx->len = len;
    lx->escape = '\\';
    lx->filename = filename;
    if (len >= 3 && memcmp(src, bom, 3) == 0)
        lx->off = 3;
    for (size_t off = lx->off; off < len;) {
        const char *nl = memchr(src + off, '\n', len - off);
        size_t end = nl ? (size_t) (nl - src) : len;
        /* the BOM counts: Go strips it only after the scanner has read the line */
        size_t raw = end - off + (count == 0 ? lx->off : 0);
        v = strv_append_take(v, &count, xstrndup(src + off, trim_newline(src + off, end - off)));
        const char *nul = memchr(src + off, '\0', end - off);
        if (raw > MAX_LINE || nul != NULL) {
            *lines = v;
            *nlines = count;
            if (nul != NULL)
                return parse_error_at(err, filename, v, count, (unsigned) count,
                                      (unsigned) (nul - (src + off)) + 1,
                                      "dockerfile contains a NUL byte");
            return parse_error_at(err, filename, v, count, (unsigned) count, 1,
                                  "dockerfile line greater than max allowed size of %d", MAX_LINE);
        }
        off = nl ? end + 1 : len;
    }
    *lines = v ? v : xcalloc(1, sizeof(char *));
    *nlines = count;
    lx->lines = *lines;
    lx->nlines = count;
    return 0;
}

void
lexer_release(struct lexer *lx)
{
    free(lx->syntax);
    lx->syntax = NULL;
}

/* The next physical line with its newline; false at the end. */
static bool
next_physical(struct lexer *lx, const char **p, size_t *n)
{
    if (lx->off >= lx->len)
        return false;
    const char *start = lx->src + lx->off;
    const char *nl = memchr(start, '\n', lx->len - lx->off);
    *p = start;
    *n = nl ? (size_t) (nl - start) + 1 : lx->len - lx->off;
    lx->off += *n;
    lx->line++;
    return true;
}

static bool
is_go_regexp_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* ^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$ without a regexp engine. The lazy value and the
 * greedy \s* before it mean a value of only blanks keeps its last blank. */
static bool
match_directive(const char *s, size_t n, char *name, size_t name_size, char **value)
{
    size_t i = 1, k = 0;

    if (n == 0 || s[0] != '#')
        return false;
    while (i < n && is_go_regexp_space(s[i]))
        i++;
    if (i >= n || !(((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z')))
        return false;
    while (i < n &&
           (((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') || (s[i] >= '0' && s[i] <= '9'))) {
        if (k + 1 < name_size)
            name[k++] = (char) (s[i] | 0x20);
        i++;
    }
    name[k] = '\0';
    while (i < n && is_go_regexp_space(s[i]))
        i++;
    if (i >= n || s[i] != '=')
        return false;
    i++;
    size_t ws = i;
    while (i < n && is_go_regexp_space(s[i]))
        i++;
    if (i == n) {
        if (ws == n)
            return false;
        *value = xstrndup(s + n - 1, 1);
        return true;
    }
    size_t end = n;
    while (end > i && is_go_regexp_space(s[end - 1]))
        end--;
    *value = xstrndup(s + i, end - i);
    return true;
}

/* possibleParserDirective on a left-trimmed line; stops looking at the first non-directive. */
static int
check_directive(struct lexer *lx, const char *s, size_t n, struct lade_error *err)
{
    char name[32];
    cleanup_free char *value = NULL;
    bool *seen;

    if (lx->directives_done)
        return 0;
    if (!match_directive(s, n, name, sizeof(name), &value)) {
        lx->directives_done = true;
        return 0;
    }
    if (strcmp(name, "escape") == 0)
        seen = &lx->seen_escape;
    else if (strcmp(name, "syntax") == 0)
        seen = &lx->seen_syntax;
    else if (strcmp(name, "check") == 0)
        seen = &lx->seen_check;
    else {
        lx->directives_done = true;
        return 0;
    }
    if (*seen)
        return parse_error_at(err, lx->filename, lx->lines, lx->nlines, lx->line, 1,
                              "only one %s parser directive can be used", name);
    *seen = true;
    if (seen == &lx->seen_escape) {
        if (strcmp(value, "`") != 0 && strcmp(value, "\\") != 0)
            return parse_error_at(err, lx->filename, lx->lines, lx->nlines, lx->line, 1,
                                  "invalid escape token '%s' does not match ` or \\", value);
        lx->escape = value[0];
    } else if (seen == &lx->seen_syntax) {
        lx->syntax = steal_ptr(&value);
    }
    return 0;
}

/* trimContinuationCharacter: a line continues when it ends in the escape character and
 * blanks, and that escape is not itself escaped (or starts the line). */
static bool
continues(const struct lexer *lx, const char *s, size_t *n)
{
    size_t end = *n;

    while (end > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t'))
        end--;
    if (end == 0 || s[end - 1] != lx->escape)
        return false;
    if (end >= 2 && s[end - 2] == lx->escape)
        return false;
    *n = end - 1;
    return true;
}

static bool
is_comment(const char *s, size_t n)
{
    size_t lead = span_leading_space(s, n);

    return lead < n && s[lead] == '#';
}

int
lexer_next(struct lexer *lx, struct logical_line *out, struct lade_error *err)
{
    const char *raw;
    size_t rawlen;

    while (next_physical(lx, &raw, &rawlen)) {
        size_t n = trim_newline(raw, rawlen);
        size_t lead = span_leading_space(raw, n);
        const char *s = raw + lead;
        n -= lead;
        if (check_directive(lx, s, n, err) < 0)
            return -1;
        if (n > 0 && s[0] == '#')
            n = 0; /* a comment, even one ending in the escape character */

        struct lade_buf text = LADE_BUF_INIT;
        bool more = continues(lx, s, &n);
        if (!more && n == 0)
            continue;
        lade_buf_append(&text, s, n);
        out->start_line = lx->line;
        out->col = (unsigned) lead + 1;
        while (more && next_physical(lx, &raw, &rawlen)) {
            n = trim_newline(raw, rawlen);
            /* comment and blank lines inside a continuation are skipped (BuildKit warns
             * about the blank ones) */
            if (is_comment(raw, n) || span_leading_space(raw, n) == n)
                continue;
            more = continues(lx, raw, &n);
            lade_buf_append(&text, raw, n);
        }
        out->end_line = lx->line;
        out->text = lade_buf_steal(&text);
        return 1;
    }
    return 0;
}

int
lexer_heredoc_body(struct lexer *lx, const char *name, bool chomp, char **content)
{
    struct lade_buf body = LADE_BUF_INIT;
    const char *raw;
    size_t rawlen, namelen = strlen(name);

    while (next_physical(lx, &raw, &rawlen)) {
        size_t n = trim_newline(raw, rawlen), i = 0;
        if (chomp)
            while (i < n && raw[i] == '\t')
                i++;
        if (n - i == namelen && memcmp(raw + i, name, namelen) == 0) {
            *content = lade_buf_steal(&body);
            return 0;
        }
        lade_buf_append(&body, raw, rawlen);
    }
    lade_buf_release(&body);
    return -1;
}
