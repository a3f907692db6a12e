/* SPDX-License-Identifier: Apache-2.0 */
/* BuildKit's shell-word processor (frontend/dockerfile/shell): quotes, the escape character,
 * $VAR and ${VAR...} expansion, and word splitting. It reads runes as Go's text/scanner
 * does, so invalid UTF-8 comes out as U+FFFD exactly like BuildKit's output. */
#include "parser-internal.h"

#include <string.h>

#include "../builder/common/cleanup.h"
#include "../builder/common/strv.h"
#include "../builder/common/xalloc.h"

#define SH_EOF (-1)
/* ${a:-${b:-...}} recurses; Go's growable stacks have no limit, ours do. */
#define SH_MAX_DEPTH 512

struct sh {
    const struct shell_lex *lx;
    const char *s;
    size_t n, pos;
    bool raw_escapes;
    unsigned depth;
    char msg[256]; /* the first error, without the "failed to process" context */
};

/* Collects words the way BuildKit's wordsStruct does. */
struct words {
    struct lade_buf cur;
    bool in_word;
    char **list;
    size_t n;
};

static int32_t
peek(const struct sh *sh)
{
    uint32_t cp;

    if (sh->pos >= sh->n)
        return SH_EOF;
    utf8_decode(sh->s + sh->pos, sh->n - sh->pos, &cp);
    return (int32_t) cp;
}

static int32_t
next(struct sh *sh)
{
    uint32_t cp;

    if (sh->pos >= sh->n)
        return SH_EOF;
    sh->pos += utf8_decode(sh->s + sh->pos, sh->n - sh->pos, &cp);
    return (int32_t) cp;
}

static int fail(struct sh *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(struct sh *sh, const char *fmt, ...)
{
    va_list ap;

    if (sh->msg[0] == '\0') {
        va_start(ap, fmt);
        vsnprintf(sh->msg, sizeof(sh->msg), fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Variables only grow a word through $ expansions, so checking after each keeps a Dockerfile
 * whose values double at every line from taking all memory. */
static int
check_size(struct sh *sh, const struct lade_buf *b)
{
    if (b->len <= EXPAND_MAX_WORD)
        return 0;
    return fail(sh, "expanded word longer than %u MiB", EXPAND_MAX_WORD >> 20);
}

static void
words_push(struct words *w)
{
    w->list = strv_append_take(w->list, &w->n, lade_buf_steal(&w->cur));
    w->in_word = false;
}

static void
words_add_char(struct words *w, uint32_t cp)
{
    if (w == NULL)
        return;
    if (uni_is_space(cp)) {
        if (w->in_word && w->cur.len != 0)
            words_push(w);
        return;
    }
    utf8_append(&w->cur, cp);
    w->in_word = true;
}

static void
words_add_raw_char(struct words *w, uint32_t cp)
{
    if (w == NULL)
        return;
    utf8_append(&w->cur, cp);
    w->in_word = true;
}

/* Text from a $ expansion splits on whitespace; quoted text does not. */
static void
words_add_string(struct words *w, const char *s, size_t n)
{
    for (size_t i = 0; w != NULL && i < n;) {
        uint32_t cp;
        i += utf8_decode(s + i, n - i, &cp);
        words_add_char(w, cp);
    }
}

static void
words_add_raw_string(struct words *w, const char *s, size_t n)
{
    if (w == NULL)
        return;
    lade_buf_append(&w->cur, s, n);
    w->in_word = true;
}

static void
words_release(struct words *w)
{
    lade_buf_release(&w->cur);
    strv_free(w->list);
}

static int process_stop_on(struct sh *sh, int32_t stop, bool raw_escapes, struct lade_buf *out,
                           struct words *w);

static const char *
lookup(struct sh *sh, const char *name)
{
    return sh->lx->lookup ? sh->lx->lookup(sh->lx->ud, name) : NULL;
}

static int
single_quote(struct sh *sh, struct lade_buf *out)
{
    bool raw = sh->lx->mode & SHELL_RAW_QUOTES;
    int32_t ch = next(sh);

    if (raw)
        utf8_append(out, (uint32_t) ch);
    for (;;) {
        ch = next(sh);
        if (ch == SH_EOF)
            return fail(sh, "unexpected end of statement while looking for matching "
                            "single-quote");
        if (ch == '\'') {
            if (raw)
                utf8_append(out, (uint32_t) ch);
            return 0;
        }
        utf8_append(out, (uint32_t) ch);
    }
}

static int dollar(struct sh *sh, struct lade_buf *out);

static int
double_quote(struct sh *sh, struct lade_buf *out)
{
    bool raw = sh->lx->mode & SHELL_RAW_QUOTES;
    int32_t ch = next(sh);

    if (raw)
        utf8_append(out, (uint32_t) ch);
    for (;;) {
        int32_t p = peek(sh);
        if (p == SH_EOF)
            return fail(sh, "unexpected end of statement while looking for matching "
                            "double-quote");
        if (p == '"') {
            ch = next(sh);
            if (raw)
                utf8_append(out, (uint32_t) ch);
            return 0;
        }
        if (p == '$') {
            if (dollar(sh, out) < 0 || check_size(sh, out) < 0)
                return -1;
            continue;
        }
        ch = next(sh);
        if (ch == sh->lx->escape) {
            if (sh->raw_escapes)
                utf8_append(out, (uint32_t) ch);
            p = peek(sh);
            if (p == SH_EOF)
                continue; /* a trailing escape is dropped; the missing quote fails next */
            /* Only these can be escaped inside double quotes; other escapes stay as is. */
            if (p == '"' || p == '$' || p == sh->lx->escape)
                ch = next(sh);
        }
        utf8_append(out, (uint32_t) ch);
    }
}

static bool
is_special_param(int32_t ch)
{
    return ch == '@' || ch == '*' || ch == '#' || ch == '?' || ch == '-' || ch == '$' ||
           ch == '!' || ch == '0';
}

/* A name is letters, digits and '_'; a leading digit takes only digits; one special
 * parameter character is a name of its own. */
static char *
process_name(struct sh *sh)
{
    struct lade_buf name = LADE_BUF_INIT;

    for (int32_t ch = peek(sh); ch != SH_EOF; ch = peek(sh)) {
        if (name.len == 0 && uni_is_digit((uint32_t) ch)) {
            while ((ch = peek(sh)) != SH_EOF && uni_is_digit((uint32_t) ch))
                utf8_append(&name, (uint32_t) next(sh));
            break;
        }
        if (name.len == 0 && is_special_param(ch)) {
            utf8_append(&name, (uint32_t) next(sh));
            break;
        }
        if (!uni_is_letter((uint32_t) ch) && !uni_is_digit((uint32_t) ch) && ch != '_')
            break;
        utf8_append(&name, (uint32_t) next(sh));
    }
    return lade_buf_steal(&name);
}

/* The text up to stop (consumed) as a new string, or NULL; at end of input the error is
 * "syntax error: missing <what>" in place of the inner one. */
static char *
process_until(struct sh *sh, int32_t stop, bool raw, const char *what)
{
    struct lade_buf word = LADE_BUF_INIT;

    if (process_stop_on(sh, stop, raw, &word, NULL) < 0) {
        lade_buf_release(&word);
        if (peek(sh) == SH_EOF) {
            sh->msg[0] = '\0';
            fail(sh, "syntax error: missing %s", what);
        }
        return NULL;
    }
    return lade_buf_steal(&word);
}

static int
modifier(struct sh *sh, const char *name, int32_t op, bool null_is_unset, const char *chs,
         struct lade_buf *out)
{
    bool raw = op == '#' || op == '%';

    if (null_is_unset && raw)
        return fail(sh, "unsupported modifier (%s) in substitution", chs);
    cleanup_free char *w = process_until(sh, '}', raw, "'}'");
    if (w == NULL)
        return -1;
    const char *value = lookup(sh, name);
    bool set = value != NULL;
    bool empty_or_unset = !set || (null_is_unset && value[0] == '\0');

    if (!set && (sh->lx->mode & SHELL_SKIP_UNSET)) {
        lade_buf_appendf(out, "${%s%s%s}", name, chs, w);
        return 0;
    }
    switch (op) {
    case '-':
        lade_buf_appends(out, empty_or_unset ? w : value);
        return 0;
    case '+':
        lade_buf_appends(out, empty_or_unset ? "" : w);
        return 0;
    case '?':
        if (!set)
            return fail(sh, "%s: %s", name, w[0] ? w : "is not allowed to be unset");
        if (null_is_unset && value[0] == '\0')
            return fail(sh, "%s: %s", name, w[0] ? w : "is not allowed to be empty");
        lade_buf_appends(out, value);
        return 0;
    case '#':
    case '%': {
        /* ## and %% (the operator repeated) ask for the longest match */
        bool greedy = w[0] == (char) op;
        cleanup_free char *r = NULL;
        struct lade_error perr = {0};
        if (pattern_trim(w + greedy, value ? value : "", op == '%', greedy, &r, &perr) < 0)
            return fail(sh, "%s", perr.msg);
        lade_buf_appends(out, r);
        return 0;
    }
    default:
        return fail(sh, "unsupported modifier (%s) in substitution", chs);
    }
}

static int
replace(struct sh *sh, const char *name, struct lade_buf *out)
{
    bool all = peek(sh) == '/';
    struct lade_error perr = {0};

    if (all)
        next(sh);
    cleanup_free char *p = process_until(sh, '/', true, "'/' in ${}");
    if (p == NULL)
        return -1;
    cleanup_free char *r = process_until(sh, '}', true, "'}'");
    if (r == NULL)
        return -1;
    const char *value = lookup(sh, name);
    if (value == NULL && (sh->lx->mode & SHELL_SKIP_UNSET)) {
        lade_buf_appendf(out, "${%s/%s/%s}", name, p, r);
        return 0;
    }
    cleanup_free char *res = NULL;
    if (pattern_replace(p, value ? value : "", r, all, &res, &perr) < 0)
        return fail(sh, "%s", perr.msg);
    lade_buf_appends(out, res);
    return 0;
}

static int
dollar(struct sh *sh, struct lade_buf *out)
{
    next(sh); /* '$' */
    if (peek(sh) != '{') {
        cleanup_free char *name = process_name(sh);
        if (name[0] == '\0') {
            lade_buf_appendc(out, '$');
            return 0;
        }
        const char *v = lookup(sh, name);
        if (v == NULL && (sh->lx->mode & SHELL_SKIP_UNSET))
            lade_buf_appendf(out, "$%s", name);
        else if (v != NULL)
            lade_buf_appends(out, v);
        return 0;
    }
    next(sh); /* '{' */
    int32_t p = peek(sh);
    if (p == SH_EOF)
        return fail(sh, "syntax error: missing '}'");
    if (p == '{' || p == '}' || p == ':')
        return fail(sh, "syntax error: bad substitution");

    cleanup_free char *name = process_name(sh);
    struct lade_buf chs = LADE_BUF_INIT;
    int32_t ch = next(sh);
    int rc;

    if (ch == SH_EOF)
        return fail(sh, "syntax error: missing '}'");
    if (++sh->depth > SH_MAX_DEPTH)
        return fail(sh, "substitution nested too deeply");
    utf8_append(&chs, (uint32_t) ch);
    switch (ch) {
    case '}': {
        const char *v = lookup(sh, name);
        if (v == NULL && (sh->lx->mode & SHELL_SKIP_UNSET))
            lade_buf_appendf(out, "${%s}", name);
        else if (v != NULL)
            lade_buf_appends(out, v);
        rc = 0;
        break;
    }
    case ':':
        ch = next(sh);
        if (ch != SH_EOF)
            utf8_append(&chs, (uint32_t) ch);
        rc = modifier(sh, name, ch, true, chs.data, out);
        break;
    case '+':
    case '-':
    case '?':
    case '#':
    case '%':
        rc = modifier(sh, name, ch, false, chs.data, out);
        break;
    case '/':
        rc = replace(sh, name, out);
        break;
    default:
        rc = fail(sh, "unsupported modifier (%s) in substitution", chs.data);
    }
    sh->depth--;
    lade_buf_release(&chs);
    return rc;
}

/* The core loop: reads until stop (or the end when stop is SH_EOF). */
static int
process_stop_on(struct sh *sh, int32_t stop, bool raw_escapes, struct lade_buf *out,
                struct words *w)
{
    bool saved = sh->raw_escapes;
    bool quotes = !(sh->lx->mode & SHELL_SKIP_QUOTES);
    int rc = 0;

    sh->raw_escapes = raw_escapes;
    for (int32_t ch = peek(sh); ch != SH_EOF; ch = peek(sh)) {
        if (stop != SH_EOF && ch == stop) {
            next(sh);
            goto done;
        }
        if (ch == '$' || (quotes && (ch == '\'' || ch == '"'))) {
            struct lade_buf tmp = LADE_BUF_INIT;
            if (ch == '$')
                rc = dollar(sh, &tmp);
            else if (ch == '\'')
                rc = single_quote(sh, &tmp);
            else
                rc = double_quote(sh, &tmp);
            if (rc == 0) {
                lade_buf_append(out, tmp.data ? tmp.data : "", tmp.len);
                rc = check_size(sh, out);
            }
            if (rc < 0) {
                lade_buf_release(&tmp);
                goto done;
            }
            if (ch == '$')
                words_add_string(w, tmp.data, tmp.len);
            else
                words_add_raw_string(w, tmp.data, tmp.len);
            lade_buf_release(&tmp);
            continue;
        }
        ch = next(sh);
        if (ch == sh->lx->escape) {
            if (sh->raw_escapes) {
                words_add_raw_char(w, (uint32_t) ch);
                utf8_append(out, (uint32_t) ch);
            }
            ch = next(sh);
            if (ch == SH_EOF)
                break; /* a trailing escape is dropped */
            words_add_raw_char(w, (uint32_t) ch);
            utf8_append(out, (uint32_t) ch);
            continue;
        }
        words_add_char(w, (uint32_t) ch);
        utf8_append(out, (uint32_t) ch);
        if (ch == '<' && peek(sh) == '<') {
            /* "<< EOF": blanks right after << stay in the word, for heredoc detection */
            ch = next(sh);
            words_add_char(w, (uint32_t) ch);
            utf8_append(out, (uint32_t) ch);
            while ((ch = peek(sh)) == ' ' || ch == '\t') {
                next(sh);
                words_add_raw_char(w, (uint32_t) ch);
                utf8_append(out, (uint32_t) ch);
            }
        }
    }
    if (stop != SH_EOF)
        rc = fail(sh, "unexpected end of statement while looking for matching %c", (char) stop);
done:
    sh->raw_escapes = saved;
    return rc;
}

int
shell_process(const struct shell_lex *lx, const char *text, char **word, char ***words,
              struct lade_error *err)
{
    struct sh sh = {.lx = lx, .s = text, .n = strlen(text)};
    struct lade_buf out = LADE_BUF_INIT;
    struct words w = {LADE_BUF_INIT, false, NULL, 0};

    sh.raw_escapes = lx->mode & SHELL_RAW_ESCAPES;
    if (process_stop_on(&sh, SH_EOF, sh.raw_escapes, &out, words ? &w : NULL) < 0) {
        lade_buf_release(&out);
        words_release(&w);
        return lade_error_set(err, LADE_ERR_PARSE, "failed to process \"%s\": %s", text, sh.msg);
    }
    if (words != NULL) {
        if (w.cur.len > 0)
            words_push(&w);
        lade_buf_release(&w.cur);
        *words = w.list ? w.list : xcalloc(1, sizeof(char *));
    }
    if (word != NULL)
        *word = lade_buf_steal(&out);
    else
        lade_buf_release(&out);
    return 0;
}

int
expand_word(const struct expander *x, const char *word, char **out, struct lade_error *err)
{
    struct shell_lex lx = {x->escape ? x->escape : '\\', 0, x->lookup, x->ud};

    return shell_process(&lx, word, out, NULL, err);
}

int
expand_words(const struct expander *x, const char *text, char ***out, struct lade_error *err)
{
    struct shell_lex lx = {x->escape ? x->escape : '\\', 0, x->lookup, x->ud};

    return shell_process(&lx, text, NULL, out, err);
}

int
expand_raw(const struct expander *x, const char *text, char **out, struct lade_error *err)
{
    /* BuildKit expands heredoc bodies with a fresh backslash lexer whatever the escape
     * directive says, and with quotes left alone. */
    struct shell_lex lx = {'\\', SHELL_SKIP_QUOTES, x->lookup, x->ud};

    return shell_process(&lx, text, out, NULL, err);
}
