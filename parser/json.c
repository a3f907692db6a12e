/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON (exec) form test. BuildKit decodes with Go's encoding/json, so validity follows
 * Go's grammar: invalid UTF-8 and lone surrogates become U+FFFD, control characters in
 * strings are errors, numbers that overflow a float64 are errors, nesting stops at 10000. */
#include "parser-internal.h"

#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../builder/common/cleanup.h"
#include "../builder/common/strv.h"
#include "../builder/common/xalloc.h"

#define JSON_MAX_DEPTH 10000

struct json_cursor {
    const char *s;
    size_t n, i;
    unsigned depth;
};

static void
skip_ws(struct json_cursor *c)
{
    while (c->i < c->n &&
           (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' || c->s[c->i] == '\r'))
        c->i++;
}

static int
hex4(const char *s, uint32_t *v)
{
    *v = 0;
    for (int k = 0; k < 4; k++) {
        char h = s[k];
        *v <<= 4;
        if (h >= '0' && h <= '9')
            *v |= (uint32_t) (h - '0');
        else if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f')
            *v |= (uint32_t) ((h | 0x20) - 'a' + 10);
        else
            return -1;
    }
    return 0;
}

/* Decodes the string at c->i (the opening quote) into out (may be NULL). */
static int
parse_string(struct json_cursor *c, struct lade_buf *out)
{
    c->i++;
    while (c->i < c->n) {
        unsigned char ch = (unsigned char) c->s[c->i];
        if (ch == '"') {
            c->i++;
            return 0;
        }
        if (ch < 0x20)
            return -1;
        if (ch != '\\') {
            uint32_t cp;
            size_t w = utf8_decode(c->s + c->i, c->n - c->i, &cp);
            if (out)
                utf8_append(out, cp);
            c->i += w;
            continue;
        }
        if (c->i + 1 >= c->n)
            return -1;
        char e = c->s[c->i + 1];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e != '\0' && simple != NULL) {
            static const char decoded[] = "\"\\/\b\f\n\r\t";
            if (out)
                lade_buf_appendc(out, decoded[simple - "\"\\/bfnrt"]);
            c->i += 2;
            continue;
        }
        uint32_t cp, lo;
        if (e != 'u' || c->i + 6 > c->n || hex4(c->s + c->i + 2, &cp) < 0)
            return -1;
        c->i += 6;
        if (cp >= 0xD800 && cp < 0xDC00) {
            /* a high surrogate combines with a following \uDC00..\uDFFF, else it is U+FFFD */
            if (c->i + 6 <= c->n && c->s[c->i] == '\\' && c->s[c->i + 1] == 'u' &&
                hex4(c->s + c->i + 2, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                c->i += 6;
            } else {
                cp = RUNE_ERROR;
            }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            cp = RUNE_ERROR;
        }
        if (out)
            utf8_append(out, cp);
    }
    return -1;
}

static bool
is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static int
parse_number(struct json_cursor *c)
{
    size_t start = c->i;

    if (c->i < c->n && c->s[c->i] == '-')
        c->i++;
    if (c->i >= c->n || !is_digit(c->s[c->i]))
        return -1;
    if (c->s[c->i] == '0')
        c->i++;
    else
        while (c->i < c->n && is_digit(c->s[c->i]))
            c->i++;
    if (c->i < c->n && c->s[c->i] == '.') {
        c->i++;
        if (c->i >= c->n || !is_digit(c->s[c->i]))
            return -1;
        while (c->i < c->n && is_digit(c->s[c->i]))
            c->i++;
    }
    if (c->i < c->n && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
        c->i++;
        if (c->i < c->n && (c->s[c->i] == '+' || c->s[c->i] == '-'))
            c->i++;
        if (c->i >= c->n || !is_digit(c->s[c->i]))
            return -1;
        while (c->i < c->n && is_digit(c->s[c->i]))
            c->i++;
    }
    /* Go decodes numbers into float64 and fails when they overflow it. */
    cleanup_free char *num = xstrndup(c->s + start, c->i - start);
    locale_t cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t) 0);
    double v = cloc ? strtod_l(num, NULL, cloc) : strtod(num, NULL);
    if (cloc)
        freelocale(cloc);
    return isinf(v) ? -1 : 0;
}

static int parse_value(struct json_cursor *c);

static int
parse_container(struct json_cursor *c, char close)
{
    bool object = close == '}';

    if (++c->depth > JSON_MAX_DEPTH)
        return -1;
    c->i++;
    skip_ws(c);
    if (c->i < c->n && c->s[c->i] == close) {
        c->i++;
        c->depth--;
        return 0;
    }
    for (;;) {
        skip_ws(c);
        if (object) {
            if (c->i >= c->n || c->s[c->i] != '"' || parse_string(c, NULL) < 0)
                return -1;
            skip_ws(c);
            if (c->i >= c->n || c->s[c->i] != ':')
                return -1;
            c->i++;
        }
        if (parse_value(c) < 0)
            return -1;
        skip_ws(c);
        if (c->i >= c->n)
            return -1;
        if (c->s[c->i] == close) {
            c->i++;
            c->depth--;
            return 0;
        }
        if (c->s[c->i] != ',')
            return -1;
        c->i++;
    }
}

static int
literal(struct json_cursor *c, const char *word)
{
    size_t l = strlen(word);

    if (c->n - c->i < l || memcmp(c->s + c->i, word, l) != 0)
        return -1;
    c->i += l;
    return 0;
}

static int
parse_value(struct json_cursor *c)
{
    skip_ws(c);
    if (c->i >= c->n)
        return -1;
    switch (c->s[c->i]) {
    case '[':
        return parse_container(c, ']');
    case '{':
        return parse_container(c, '}');
    case '"':
        return parse_string(c, NULL);
    case 't':
        return literal(c, "true");
    case 'f':
        return literal(c, "false");
    case 'n':
        return literal(c, "null");
    default:
        return parse_number(c);
    }
}

enum json_array_kind
json_parse_string_array(const char *text, size_t len, char ***out, size_t **lens, size_t *n)
{
    struct json_cursor c = {text, len, 0, 0};
    char **v = NULL;
    size_t *l = NULL, count = 0;
    bool all_strings = true;

    /* Validate the whole text first: any syntax error means "not JSON", even after a
     * non-string element. */
    if (parse_value(&c) < 0)
        return JSON_NOT_ARRAY;
    skip_ws(&c);
    if (c.i != len || len == 0 || text[0] != '[')
        return JSON_NOT_ARRAY;

    c.i = 1;
    skip_ws(&c);
    if (text[c.i] != ']') {
        for (;;) {
            skip_ws(&c);
            if (text[c.i] == '"') {
                struct lade_buf b = LADE_BUF_INIT;
                parse_string(&c, &b);
                l = array_grow(l, count, sizeof(*l));
                l[count] = b.len;
                v = strv_append_take(v, &count, lade_buf_steal(&b));
            } else {
                all_strings = false;
                parse_value(&c);
            }
            skip_ws(&c);
            if (text[c.i] == ']')
                break;
            c.i++; /* the comma */
        }
    }
    if (!all_strings) {
        strv_free(v);
        free(l);
        return JSON_NOT_STRINGS;
    }
    *out = v ? v : xcalloc(1, sizeof(char *));
    *lens = l;
    *n = count;
    return JSON_STRINGS;
}
