/* SPDX-License-Identifier: Apache-2.0 */
/* UTF-8, the Unicode properties BuildKit's Go code depends on, Go's strconv.Quote and
 * path.Clean. Go decides whitespace, letters and printability per rune, so byte-wise C
 * classification would split or quote differently. */
#include "parser-internal.h"

#include <string.h>

#include "../builder/common/xalloc.h"

static bool
is_cont(unsigned char c)
{
    return c >= 0x80 && c <= 0xBF;
}

size_t
utf8_decode(const char *str, size_t n, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *) str;
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t need;

    *cp = RUNE_ERROR;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF)
        need = 1;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 2;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 3;
    else
        return 1;
    /* Overlong forms, surrogates and values above U+10FFFF are invalid (Go's acceptRanges). */
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (n < need + 1 || s[1] < lo || s[1] > hi)
        return 1;
    for (size_t i = 2; i <= need; i++)
        if (!is_cont(s[i]))
            return 1;
    if (need == 1)
        *cp = ((uint32_t) (c & 0x1F) << 6) | (s[1] & 0x3F);
    else if (need == 2)
        *cp = ((uint32_t) (c & 0x0F) << 12) | ((uint32_t) (s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    else
        *cp = ((uint32_t) (c & 0x07) << 18) | ((uint32_t) (s[1] & 0x3F) << 12) |
              ((uint32_t) (s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    return need + 1;
}

void
utf8_append(struct lade_buf *b, uint32_t cp)
{
    char t[4];
    size_t n;

    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = RUNE_ERROR;
    if (cp < 0x80) {
        t[0] = (char) cp;
        n = 1;
    } else if (cp < 0x800) {
        t[0] = (char) (0xC0 | (cp >> 6));
        t[1] = (char) (0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        t[0] = (char) (0xE0 | (cp >> 12));
        t[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
        t[2] = (char) (0x80 | (cp & 0x3F));
        n = 3;
    } else {
        t[0] = (char) (0xF0 | (cp >> 18));
        t[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
        t[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
        t[3] = (char) (0x80 | (cp & 0x3F));
        n = 4;
    }
    lade_buf_append(b, t, n);
}

bool
uni_is_space(uint32_t cp)
{
    switch (cp) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
        return true;
    default:
        return cp >= 0x2000 && cp <= 0x200A;
    }
}

bool
in_ranges(uint32_t cp, const struct range *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (cp >= r[i].lo && cp <= r[i].hi)
            return true;
    return false;
}

/* Code points above Latin-1 that are not letters: marks, punctuation, symbols, spaces,
 * private use. Everything else is taken for a letter (a small table, not Unicode's). */
static const struct range not_letters[] = {
    {0x02C2, 0x02C5},    {0x02D2, 0x02DF}, {0x02E5, 0x02EB}, {0x02ED, 0x02ED}, {0x02EF, 0x036F},
    {0x0482, 0x0489},    {0x055A, 0x055F}, {0x0589, 0x05CF}, {0x0600, 0x061F}, {0x064B, 0x066D},
    {0x06D4, 0x06D4},    {0x06D6, 0x06E4}, {0x0900, 0x0903}, {0x093A, 0x094F}, {0x0964, 0x0970},
    {0x1680, 0x1680},    {0x2000, 0x206F}, {0x20A0, 0x20FF}, {0x2100, 0x2101}, {0x2103, 0x2106},
    {0x2108, 0x2109},    {0x2114, 0x2114}, {0x2116, 0x2118}, {0x211E, 0x2123}, {0x2125, 0x2125},
    {0x2127, 0x2127},    {0x2129, 0x2129}, {0x212E, 0x212E}, {0x213A, 0x213B}, {0x2140, 0x2144},
    {0x214A, 0x214D},    {0x214F, 0x218F}, {0x2190, 0x2BFF}, {0x2E00, 0x2E7F}, {0x2FF0, 0x3004},
    {0x3007, 0x3030},    {0x3036, 0x303A}, {0x303D, 0x303F}, {0x3099, 0x309C}, {0x30A0, 0x30A0},
    {0x30FB, 0x30FB},    {0xD800, 0xF8FF}, {0xFD3E, 0xFD4F}, {0xFE00, 0xFE6F}, {0xFEFF, 0xFEFF},
    {0xFF00, 0xFF20},    {0xFF3B, 0xFF40}, {0xFF5B, 0xFF65}, {0xFFE0, 0xFFFF}, {0x1F000, 0x1FBFF},
    {0xE0000, 0x10FFFF},
};

bool
uni_is_digit(uint32_t cp)
{
    return (cp >= '0' && cp <= '9') || (cp >= 0x0660 && cp <= 0x0669) ||
           (cp >= 0x06F0 && cp <= 0x06F9) || (cp >= 0x0966 && cp <= 0x096F) ||
           (cp >= 0xFF10 && cp <= 0xFF19);
}

bool
uni_is_letter(uint32_t cp)
{
    if (cp < 0x80)
        return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
    if (cp < 0x100)
        return cp == 0xAA || cp == 0xB5 || cp == 0xBA || (cp >= 0xC0 && cp != 0xD7 && cp != 0xF7);
    if (uni_is_digit(cp))
        return false;
    return !in_ranges(cp, not_letters, sizeof(not_letters) / sizeof(not_letters[0]));
}

uint32_t
uni_to_lower(uint32_t cp)
{
    if ((cp >= 'A' && cp <= 'Z') || (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) ||
        (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) || (cp >= 0x410 && cp <= 0x42F))
        return cp + 0x20;
    if (cp >= 0x400 && cp <= 0x40F)
        return cp + 0x50;
    if (cp == 0x178)
        return 0xFF;
    if (cp >= 0x100 && cp <= 0x17F && cp != 0x130 && cp != 0x131 && cp != 0x138 && cp != 0x149 &&
        cp != 0x17F) {
        /* Latin Extended-A pairs upper/lower, with a phase shift in 0x139..0x148 and
         * 0x179..0x17E. */
        bool odd_upper = (cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E);
        if ((cp % 2 == 1) == odd_upper)
            return cp + 1;
    }
    return cp;
}

void *
array_grow(void *p, size_t n, size_t size)
{
    if (n == 0 || (n & (n - 1)) == 0)
        p = xrealloc(p, (n ? 2 * n : 1) * size);
    return p;
}

char **
strv_append_take(char **v, size_t *n, char *s)
{
    v = array_grow(v, *n + 1, sizeof(*v));
    v[(*n)++] = s;
    v[*n] = NULL;
    return v;
}

bool
is_token_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

size_t
span_leading_space(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint32_t cp;
        size_t w = utf8_decode(s + i, n - i, &cp);
        if (!uni_is_space(cp))
            break;
        i += w;
    }
    return i;
}

size_t
len_without_trailing_space(const char *s, size_t n)
{
    /* Walk forward so that multi-byte spaces are recognised exactly. */
    size_t i = 0, end = 0;

    while (i < n) {
        uint32_t cp;
        size_t w = utf8_decode(s + i, n - i, &cp);
        i += w;
        if (!uni_is_space(cp))
            end = i;
    }
    return end;
}

char *
dup_trim_space(const char *s, size_t n)
{
    size_t lead = span_leading_space(s, n);

    return xstrndup(s + lead, len_without_trailing_space(s + lead, n - lead));
}

char *
utf8_map(const char *s, uint32_t (*map)(uint32_t), bool fix_invalid)
{
    struct lade_buf b = LADE_BUF_INIT;
    size_t n = strlen(s);

    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t w = utf8_decode(s + i, n - i, &cp);
        if (cp == RUNE_ERROR && w == 1 && !fix_invalid)
            lade_buf_appendc(&b, s[i]);
        else
            utf8_append(&b, map ? map(cp) : cp);
        i += w;
    }
    return lade_buf_steal(&b);
}

char *
dup_lower(const char *s)
{
    return utf8_map(s, uni_to_lower, false); /* keep invalid bytes as they are */
}

char *
go_path_clean(const char *path)
{
    size_t n = strlen(path), r = 0, dotdot = 0;
    bool rooted = n > 0 && path[0] == '/';
    struct lade_buf out = LADE_BUF_INIT;

    if (n == 0)
        return xstrdup(".");
    if (rooted) {
        lade_buf_appendc(&out, '/');
        r = dotdot = 1;
    }
    while (r < n) {
        if (path[r] == '/') {
            r++;
        } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
            r++;
        } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
            r += 2;
            if (out.len > dotdot) {
                /* back up to the previous separator */
                size_t w = out.len - 1;
                while (w > dotdot && out.data[w] != '/')
                    w--;
                out.len = w;
                out.data[w] = '\0';
            } else if (!rooted) {
                if (out.len > 0)
                    lade_buf_appendc(&out, '/');
                lade_buf_appends(&out, "..");
                dotdot = out.len;
            }
        } else {
            if ((rooted && out.len != 1) || (!rooted && out.len != 0))
                lade_buf_appendc(&out, '/');
            for (; r < n && path[r] != '/'; r++)
                lade_buf_appendc(&out, path[r]);
        }
    }
    if (out.len == 0)
        lade_buf_appendc(&out, '.');
    return lade_buf_steal(&out);
}
