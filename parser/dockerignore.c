/* SPDX-License-Identifier: Apache-2.0 */
/* .dockerignore as BuildKit reads it: moby/patternmatcher v0.6.1 (ignorefile.ReadAll, New,
 * MatchesOrParentMatches). Patterns are checked with Go's filepath.Match syntax rules, then
 * translated to regular expressions exactly as patternmatcher does and run by PCRE2 in UTF
 * mode (Go's regexp works on runes). Plain, prefix and suffix patterns skip the regexp. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "parser-internal.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "../builder/common/cleanup.h"
#include "../builder/common/strv.h"
#include "../builder/common/xalloc.h"

enum match_type { MATCH_EXACT, MATCH_PREFIX, MATCH_SUFFIX, MATCH_REGEXP };

struct pattern {
    char *cleaned;
    bool exclusion;
    enum match_type type;
    bool bad; /* the regexp does not compile: an error when the pattern is first used */
    pcre2_code *re;
};

struct dockerignore {
    struct pattern *patterns;
    size_t n;
    bool exclusions;
};

/* getEsc from Go's filepath.Match: one (possibly escaped) rune of a character class. */
static bool
class_char(const char **p)
{
    const char *s = *p;

    if (*s == '\0' || *s == '-' || *s == ']')
        return false;
    if (*s == '\\') {
        s++;
        if (*s == '\0')
            return false;
    }
    uint32_t cp;
    size_t w = utf8_decode(s, strlen(s), &cp);
    if (cp == RUNE_ERROR && w == 1)
        return false;
    s += w;
    if (*s == '\0')
        return false;
    *p = s;
    return true;
}

/* The syntax half of Go's filepath.Match (which New calls with "."): malformed classes and
 * a trailing backslash are errors. */
static bool
match_syntax_ok(const char *p)
{
    while (*p) {
        if (*p == '[') {
            p++;
            if (*p == '^')
                p++;
            for (int nrange = 0;; nrange++) {
                if (*p == ']' && nrange > 0) {
                    p++;
                    break;
                }
                if (!class_char(&p))
                    return false;
                if (*p == '-') {
                    p++;
                    if (!class_char(&p))
                        return false;
                }
            }
        } else if (*p == '\\') {
            if (*++p == '\0')
                return false;
            p++;
        } else {
            p++;
        }
    }
    return true;
}

/* Escapes Go's regexp accepts; the PCRE2-only ones (\e, \h, \K, \R...) are Go errors. */
static bool
go_escape_ok(const char *s)
{
    uint32_t cp;

    utf8_decode(s, strlen(s), &cp);
    if (cp >= 0x80)
        return false;
    if (!((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') && !(cp >= '0' && cp <= '9'))
        return true; /* escaped punctuation is literal in both */
    if (cp == '0')
        return true;
    if (cp >= '1' && cp <= '7')
        return s[1] >= '0' && s[1] <= '7'; /* octal; a single digit is a backreference */
    return strchr("afnrtvdDsSwWpPbBAzxQE", (int) cp) != NULL;
}

/* Pattern.compile: the regexp text, and the match type it implies. */
static int
translate(struct pattern *pt, struct lade_buf *re)
{
    const char *s = pt->cleaned;
    size_t n = strlen(s);
    enum match_type type = MATCH_EXACT;

    lade_buf_appendc(re, '^');
    for (size_t i = 0, k = 0; i < n; k++) {
        char ch = s[i];
        if (ch == '*' && s[i + 1] == '*') {
            i += 2;
            if (s[i] == '/')
                i++; /* "**\/" is "**" */
            if (i >= n) {
                if (type == MATCH_EXACT)
                    type = MATCH_PREFIX;
                else {
                    lade_buf_appends(re, ".*");
                    type = MATCH_REGEXP;
                }
            } else {
                lade_buf_appends(re, "(.*/)?");
                type = MATCH_REGEXP;
            }
            if (k == 0)
                type = MATCH_SUFFIX;
        } else if (ch == '*') {
            lade_buf_appends(re, "[^/]*");
            type = MATCH_REGEXP;
            i++;
        } else if (ch == '?') {
            lade_buf_appends(re, "[^/]");
            type = MATCH_REGEXP;
            i++;
        } else if (strchr(".+()|{}$", ch) != NULL) {
            lade_buf_appendc(re, '\\');
            lade_buf_appendc(re, ch);
            i++;
        } else if (ch == '\\') {
            i++;
            if (i >= n) {
                lade_buf_appends(re, "\\\\");
                continue;
            }
            if (!go_escape_ok(s + i))
                return -1;
            uint32_t cp;
            size_t w = utf8_decode(s + i, n - i, &cp);
            /* Go's \v is a vertical tab, PCRE2's a class */
            lade_buf_appends(re, cp == 'v' ? "\\x0B" : "\\");
            if (cp != 'v')
                lade_buf_append(re, s + i, w);
            i += w;
            type = MATCH_REGEXP;
        } else if (ch == '[' || ch == ']') {
            lade_buf_appendc(re, ch);
            type = MATCH_REGEXP;
            i++;
        } else {
            /* '^' too: patternmatcher leaves it unescaped. Go's scanner turns invalid UTF-8
             * into U+FFFD. */
            uint32_t cp;
            i += utf8_decode(s + i, n - i, &cp);
            utf8_append(re, cp);
        }
    }
    lade_buf_appendc(re, '$');
    pt->type = type;
    return 0;
}

static void
compile(struct pattern *pt)
{
    struct lade_buf re = LADE_BUF_INIT;
    int errcode;
    PCRE2_SIZE erroff;

    if (translate(pt, &re) < 0) {
        pt->bad = true;
    } else if (pt->type == MATCH_REGEXP) {
        pt->re = pcre2_compile((PCRE2_SPTR) re.data, re.len,
                               PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NO_AUTO_CAPTURE, &errcode,
                               &erroff, NULL);
        pt->bad = pt->re == NULL;
    }
    lade_buf_release(&re);
}

/* Pattern.match: -1 for a pattern whose regexp does not compile (ErrBadPattern). */
static int
pattern_match(const struct pattern *pt, const char *path)
{
    if (pt->bad)
        return -1;
    switch (pt->type) {
    case MATCH_EXACT:
        return strcmp(path, pt->cleaned) == 0;
    case MATCH_PREFIX:
        return strncmp(path, pt->cleaned, strlen(pt->cleaned) - 2) == 0;
    case MATCH_SUFFIX: {
        const char *suffix = pt->cleaned + 2;
        size_t pl = strlen(path), sl = strlen(suffix);
        if (pl >= sl && strcmp(path + pl - sl, suffix) == 0)
            return 1;
        return suffix[0] == '/' && strcmp(path, suffix + 1) == 0;
    }
    case MATCH_REGEXP: {
        /* Go matches invalid UTF-8 bytes as U+FFFD; PCRE2 in UTF mode rejects them. */
        cleanup_free char *subject = utf8_map(path, NULL, true);
        pcre2_match_data *md = pcre2_match_data_create(1, NULL);
        int ws[64];
        /* the DFA matcher cannot backtrack exponentially on patterns like a*a*a*a*b */
        int rc = pcre2_dfa_match(pt->re, (PCRE2_SPTR) subject, strlen(subject), 0, 0, md, NULL, ws,
                                 sizeof(ws) / sizeof(ws[0]));
        for (size_t size = 128; rc == PCRE2_ERROR_DFA_WSSIZE && size <= 65536; size *= 2) {
            cleanup_free int *big = xcalloc(size, sizeof(int));
            rc = pcre2_dfa_match(pt->re, (PCRE2_SPTR) subject, strlen(subject), 0, 0, md, NULL, big,
                                 size);
        }
        pcre2_match_data_free(md);
        if (rc == PCRE2_ERROR_NOMATCH)
            return 0;
        return rc >= 0 ? 1 : -1;
    }
    }
    return 0;
}

static void
add_pattern(struct dockerignore *di, char *cleaned, bool exclusion)
{
    di->patterns = array_grow(di->patterns, di->n, sizeof(*di->patterns));
    di->patterns[di->n] = (struct pattern){.cleaned = cleaned, .exclusion = exclusion};
    compile(&di->patterns[di->n++]);
    di->exclusions |= exclusion;
}

int
dockerignore_new(char *const *patterns, struct dockerignore **out, struct lade_error *err)
{
    struct dockerignore *di = xcalloc(1, sizeof(*di));

    for (size_t i = 0; patterns && patterns[i]; i++) {
        cleanup_free char *trimmed = dup_trim_space(patterns[i], strlen(patterns[i]));
        if (trimmed[0] == '\0')
            continue;
        char *p = go_path_clean(trimmed);
        bool exclusion = p[0] == '!';
        if (exclusion && p[1] == '\0') {
            free(p);
            dockerignore_free(di);
            return lade_error_set(err, LADE_ERR_PARSE, "illegal exclusion pattern: \"!\"");
        }
        if (exclusion)
            memmove(p, p + 1, strlen(p));
        if (!match_syntax_ok(p)) {
            lade_error_set(err, LADE_ERR_PARSE, "syntax error in pattern '%s'", p);
            free(p);
            dockerignore_free(di);
            return -1;
        }
        add_pattern(di, p, exclusion);
    }
    *out = di;
    return 0;
}

int
dockerignore_parse(const char *text, size_t len, struct dockerignore **out, struct lade_error *err)
{
    char **patterns = NULL;
    size_t off = 0, npatterns = 0;

    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        off = 3;
    while (off < len) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t end = nl ? (size_t) (nl - text) : len;
        if (end - off > 65535) {
            strv_free(patterns);
            return lade_error_set(err, LADE_ERR_PARSE,
                                  "error reading .dockerignore: bufio.Scanner: token too long");
        }
        cleanup_free char *raw = xstrndup(text + off, end - off);
        off = end + 1;
        /* ignorefile.ReadAll: '#' in the first column is a comment */
        if (raw[0] == '#')
            continue;
        cleanup_free char *line = dup_trim_space(raw, strlen(raw));
        if (line[0] == '\0')
            continue;
        bool invert = line[0] == '!';
        const char *rest = line + invert;
        if (invert)
            rest += span_leading_space(rest, strlen(rest));
        if (rest[0] != '\0') {
            cleanup_free char *clean = go_path_clean(rest);
            const char *c = clean;
            if (c[0] == '/' && c[1] != '\0')
                c++;
            patterns =
                strv_append_take(patterns, &npatterns, xasprintf("%s%s", invert ? "!" : "", c));
        } else {
            patterns = strv_append_take(patterns, &npatterns, xstrdup(invert ? "!" : ""));
        }
    }
    int rc = dockerignore_new(patterns, out, err);
    strv_free(patterns);
    return rc;
}

void
dockerignore_free(struct dockerignore *di)
{
    if (di == NULL)
        return;
    for (size_t i = 0; i < di->n; i++) {
        free(di->patterns[i].cleaned);
        if (di->patterns[i].re)
            pcre2_code_free(di->patterns[i].re);
    }
    free(di->patterns);
    free(di);
}

/* Go's filepath.Dir. */
static char *
go_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    cleanup_free char *head = xstrndup(path, slash ? (size_t) (slash - path) + 1 : 0);

    return go_path_clean(head);
}

int
dockerignore_matches(const struct dockerignore *di, const char *path, bool *excluded,
                     struct lade_error *err)
{
    bool matched = false;

    *excluded = false;
    /* the context root itself is never excluded (patternmatcher's free functions) */
    if (di == NULL || path[0] == '\0' || strcmp(path, ".") == 0)
        return 0;
    cleanup_free char *parent = go_dir(path);
    for (size_t i = 0; i < di->n; i++) {
        const struct pattern *pt = &di->patterns[i];
        if (pt->exclusion != matched)
            continue; /* only an earlier match can be undone, and a match stays */
        int m = pattern_match(pt, path);
        if (m < 0)
            return lade_error_set(err, LADE_ERR_PARSE, "syntax error in pattern '%s'", pt->cleaned);
        if (!m && strcmp(parent, ".") != 0) {
            /* a pattern naming a directory covers what is below it */
            for (char *p = parent;; p++) {
                if (*p != '/' && *p != '\0')
                    continue;
                char saved = *p;
                *p = '\0';
                m = pattern_match(pt, parent) == 1;
                *p = saved;
                if (m || saved == '\0')
                    break;
            }
        }
        if (m)
            matched = !pt->exclusion;
    }
    *excluded = matched;
    return 0;
}

bool
dockerignore_has_exceptions(const struct dockerignore *di)
{
    return di != NULL && di->exclusions;
}
