/* SPDX-License-Identifier: Apache-2.0 */
/* BuildKit's parse-tree dump (Node.Dump), the format of the conformance suite's `result`
 * files, and Go's strconv.Quote that it and BuildKit's messages use. */
#include "parser-internal.h"

#include <string.h>

/* Code points strconv.IsPrint rejects above ASCII: controls, format characters, separators
 * other than U+0020, surrogates, private use and noncharacters. Unassigned code points are
 * not listed (Go rejects them too). */
static const struct range not_printable[] = {
    {0x0080, 0x00A0},   {0x00AD, 0x00AD},   {0x0600, 0x0605},   {0x061C, 0x061C},
    {0x06DD, 0x06DD},   {0x070F, 0x070F},   {0x0890, 0x0891},   {0x08E2, 0x08E2},
    {0x1680, 0x1680},   {0x180E, 0x180E},   {0x2000, 0x200F},   {0x2028, 0x202F},
    {0x205F, 0x2064},   {0x2066, 0x206F},   {0x3000, 0x3000},   {0xD800, 0xF8FF},
    {0xFDD0, 0xFDEF},   {0xFEFF, 0xFEFF},   {0xFFF9, 0xFFFB},   {0xFFFE, 0xFFFF},
    {0x110BD, 0x110BD}, {0x110CD, 0x110CD}, {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3},
    {0x1D173, 0x1D17A}, {0xE0001, 0xE0001}, {0xE0020, 0xE007F}, {0xF0000, 0x10FFFF},
};

static bool
is_print(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= 0x20 && cp < 0x7F;
    if ((cp & 0xFFFE) == 0xFFFE)
        return false;
    return !in_ranges(cp, not_printable, sizeof(not_printable) / sizeof(not_printable[0]));
}

void
go_quote(struct lade_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    /* Go's short escapes for these controls, in strconv.Quote's order */
    static const char ctrl[] = "\a\b\f\n\r\t\v", ctrl_letter[] = "abfnrtv";

    lade_buf_appendc(b, '"');
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t w = utf8_decode(s + i, n - i, &cp);
        const char *esc = cp != 0 && cp < 0x80 ? strchr(ctrl, (int) cp) : NULL;
        if (cp == RUNE_ERROR && w == 1) {
            unsigned char c = (unsigned char) s[i];
            lade_buf_appendf(b, "\\x%c%c", hex[c >> 4], hex[c & 15]);
        } else if (cp == '"' || cp == '\\') {
            lade_buf_appendc(b, '\\');
            lade_buf_appendc(b, (char) cp);
        } else if (is_print(cp)) {
            lade_buf_append(b, s + i, w);
        } else if (esc != NULL) {
            lade_buf_appendc(b, '\\');
            lade_buf_appendc(b, ctrl_letter[esc - ctrl]);
        } else if (cp < 0x20 || cp == 0x7F) {
            lade_buf_appendf(b, "\\x%c%c", hex[cp >> 4], hex[cp & 15]);
        } else if (cp < 0x10000) {
            lade_buf_appendf(b, "\\u%04x", (unsigned) cp);
        } else {
            lade_buf_appendf(b, "\\U%08x", (unsigned) cp);
        }
        i += w;
    }
    lade_buf_appendc(b, '"');
}

static void
dump_instr(struct lade_buf *b, const struct instr *in)
{
    struct lade_buf s = LADE_BUF_INIT;

    lade_buf_appends(&s, in->keyword);
    if (in->nflags > 0) {
        lade_buf_appends(&s, " [");
        for (size_t i = 0; i < in->nflags; i++) {
            if (i > 0)
                lade_buf_appendc(&s, ' ');
            go_quote(&s, in->flags[i], strlen(in->flags[i]));
        }
        lade_buf_appendc(&s, ']');
    }
    for (size_t i = 0; i < in->nargs; i++) {
        lade_buf_appendc(&s, ' ');
        go_quote(&s, in->args[i], in->arglens[i]);
    }
    if (in->sub != NULL) {
        lade_buf_appends(&s, " (");
        dump_instr(&s, in->sub);
        lade_buf_appendc(&s, ')');
    }
    /* Go's Dump ends with strings.TrimSpace */
    const char *d = s.data ? s.data : "";
    size_t lead = span_leading_space(d, s.len);
    lade_buf_append(b, d + lead, len_without_trailing_space(d + lead, s.len - lead));
    lade_buf_release(&s);
}

void
dockerfile_dump(const struct dockerfile *df, FILE *f)
{
    for (size_t i = 0; i < df->n; i++) {
        struct lade_buf b = LADE_BUF_INIT;
        lade_buf_appendc(&b, '(');
        dump_instr(&b, &df->instrs[i]);
        lade_buf_appends(&b, ")\n");
        fwrite(b.data, 1, b.len, f);
        lade_buf_release(&b);
    }
}
