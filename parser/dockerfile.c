/* SPDX-License-Identifier: Apache-2.0 */
/* Logical lines -> instructions, the way BuildKit's parser builds its nodes: keyword, flags
 * (splitCommand / extractBuilderFlags), then a per-keyword argument parser (line_parsers.go),
 * ONBUILD nesting and heredoc bodies. */
#include "parser-internal.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "../builder/common/cleanup.h"
#include "../builder/common/strv.h"
#include "../builder/common/xalloc.h"

/* BuildKit has no limit; ONBUILD ONBUILD ... is rejected by the checks anyway. */
#define MAX_ONBUILD_DEPTH 64

static const struct {
    const char *name;
    enum instr_kind kind;
} keywords[] = {
    {"from", INSTR_FROM},
    {"run", INSTR_RUN},
    {"cmd", INSTR_CMD},
    {"entrypoint", INSTR_ENTRYPOINT},
    {"copy", INSTR_COPY},
    {"add", INSTR_ADD},
    {"env", INSTR_ENV},
    {"arg", INSTR_ARG},
    {"label", INSTR_LABEL},
    {"expose", INSTR_EXPOSE},
    {"workdir", INSTR_WORKDIR},
    {"user", INSTR_USER},
    {"volume", INSTR_VOLUME},
    {"shell", INSTR_SHELL},
    {"stopsignal", INSTR_STOPSIGNAL},
    {"healthcheck", INSTR_HEALTHCHECK},
    {"onbuild", INSTR_ONBUILD},
    {"maintainer", INSTR_MAINTAINER},
};

struct parse_ctx {
    const struct dockerfile *df;
    char escape;
    unsigned line, col; /* where the instruction being parsed starts */
    struct lade_error *err;
};

static int fail(struct parse_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(struct parse_ctx *c, const char *fmt, ...)
{
    char msg[800];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return parse_error_at(c->err, c->df->filename, c->df->lines, c->df->nlines, c->line, c->col,
                          "%s", msg);
}

static void
add_arg(struct instr *in, const char *s, size_t len)
{
    in->args = array_grow(in->args, in->nargs + 1, sizeof(*in->args));
    in->arglens = array_grow(in->arglens, in->nargs, sizeof(*in->arglens));
    in->args[in->nargs] = xmalloc(len + 1); /* not strndup: JSON strings may hold NULs */
    memcpy(in->args[in->nargs], s, len);
    in->args[in->nargs][len] = '\0';
    in->arglens[in->nargs] = len;
    in->args[++in->nargs] = NULL;
}

static void
add_args(struct instr *in, char *const *v)
{
    for (size_t i = 0; v && v[i]; i++)
        add_arg(in, v[i], strlen(v[i]));
}

/* unicode.IsSpace(rune(b)) on a single byte, as BuildKit's byte-wise loops test it. */
static bool
byte_is_space(unsigned char b)
{
    return (b >= '\t' && b <= '\r') || b == ' ' || b == 0x85 || b == 0xA0;
}

/* extractBuilderFlags: works on bytes, so each byte of a flag becomes one code point (a
 * non-ASCII flag value comes out as UTF-8-encoded Latin-1, as in BuildKit). The escape is
 * always a backslash here: BuildKit does not pass the escape directive to this function. */
static const char *
extract_flags(const char *line, struct instr *in)
{
    struct lade_buf word = LADE_BUF_INIT;
    size_t len = strlen(line);
    enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
    bool blank_ok = false;
    char quote = 0;

    for (size_t pos = 0; pos <= len; pos++) {
        unsigned char ch = pos < len ? (unsigned char) line[pos] : 0;
        if (phase == IN_SPACES) {
            if (pos == len)
                break;
            if (byte_is_space(ch))
                continue;
            if (ch != '-' || pos + 1 == len || line[pos + 1] != '-') {
                lade_buf_release(&word);
                return line + pos;
            }
            phase = IN_WORD;
        }
        if (pos == len) {
            if ((word.len != 2 || memcmp(word.data, "--", 2) != 0) && (blank_ok || word.len))
                in->flags = strv_append_take(in->flags, &in->nflags, lade_buf_steal(&word));
            break;
        }
        if (phase == IN_WORD) {
            if (byte_is_space(ch)) {
                phase = IN_SPACES;
                if (word.len == 2 && memcmp(word.data, "--", 2) == 0) {
                    lade_buf_release(&word);
                    return line + pos;
                }
                if (blank_ok || word.len > 0)
                    in->flags = strv_append_take(in->flags, &in->nflags, lade_buf_steal(&word));
                lade_buf_reset(&word);
                blank_ok = false;
                continue;
            }
            if (ch == '\'' || ch == '"') {
                quote = (char) ch;
                blank_ok = true;
                phase = IN_QUOTE;
                continue;
            }
        } else if (ch == (unsigned char) quote) {
            phase = IN_WORD;
            continue;
        }
        if (ch == '\\') {
            if (pos + 1 == len) {
                phase = IN_WORD;
                continue; /* a trailing backslash is dropped */
            }
            ch = (unsigned char) line[++pos];
        }
        utf8_append(&word, ch);
    }
    lade_buf_release(&word);
    return line + len;
}

/* parseWords: words separated by unquoted whitespace; quotes and escapes stay in the word.
 * Runes are re-encoded, so invalid UTF-8 becomes U+FFFD as with Go's string(rune). */
static char **
parse_words(const char *rest, char escape)
{
    size_t len = strlen(rest);
    enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
    struct lade_buf word = LADE_BUF_INIT;
    char **words = NULL;
    bool blank_ok = false;
    uint32_t quote = 0, ch = 0;
    size_t w = 0, nwords = 0;

    for (size_t pos = 0; pos <= len; pos += w) {
        if (pos != len)
            w = utf8_decode(rest + pos, len - pos, &ch);
        if (phase == IN_SPACES) {
            if (pos == len)
                break;
            if (uni_is_space(ch))
                continue;
            phase = IN_WORD;
        }
        if (pos == len) {
            if (blank_ok || word.len > 0)
                words = strv_append_take(words, &nwords, lade_buf_steal(&word));
            break;
        }
        if (phase == IN_WORD) {
            if (uni_is_space(ch)) {
                phase = IN_SPACES;
                if (blank_ok || word.len > 0)
                    words = strv_append_take(words, &nwords, lade_buf_steal(&word));
                lade_buf_reset(&word);
                blank_ok = false;
                continue;
            }
            if (ch == '\'' || ch == '"') {
                quote = ch;
                blank_ok = true;
                phase = IN_QUOTE;
            }
            if (ch == (uint32_t) escape) {
                if (pos + w == len)
                    continue; /* an escape at the very end is dropped */
                /* the escape and the next character are both kept */
                utf8_append(&word, ch);
                pos += w;
                w = utf8_decode(rest + pos, len - pos, &ch);
            }
            utf8_append(&word, ch);
            continue;
        }
        if (ch == quote)
            phase = IN_WORD;
        if (ch == (uint32_t) escape && quote != '\'') {
            if (pos + w == len) {
                phase = IN_WORD;
                continue;
            }
            utf8_append(&word, ch);
            pos += w;
            w = utf8_decode(rest + pos, len - pos, &ch);
        }
        utf8_append(&word, ch);
    }
    lade_buf_release(&word);
    return words;
}

/* Splits on runs of [\t\v\f\r ] (parseStringsWhitespaceDelimited). */
static void
split_ws(struct instr *in, const char *rest)
{
    if (rest[0] == '\0')
        return;
    for (const char *p = rest;;) {
        const char *q = p;
        while (*q && !is_token_ws(*q))
            q++;
        add_arg(in, p, (size_t) (q - p));
        if (*q == '\0')
            break;
        while (is_token_ws(*q))
            q++;
        p = q;
    }
}

/* parseJSON: 1 when rest is a JSON array of strings (args set), 0 when it is not JSON,
 * -1 (error set) for an array with other values. */
static int
parse_json(struct parse_ctx *c, struct instr *in, const char *rest)
{
    size_t lead = span_leading_space(rest, strlen(rest));
    char **v = NULL;
    size_t *lens = NULL, n = 0;

    rest += lead;
    if (rest[0] != '[')
        return 0;
    switch (json_parse_string_array(rest, strlen(rest), &v, &lens, &n)) {
    case JSON_NOT_ARRAY:
        return 0;
    case JSON_NOT_STRINGS:
        return fail(c, "when using JSON array syntax, arrays must be comprised of strings only");
    case JSON_STRINGS:
        break;
    }
    for (size_t i = 0; i < n; i++)
        add_arg(in, v[i], lens[i]);
    strv_free(v);
    free(lens);
    in->json = true;
    return 1;
}

/* parseMaybeJSON: a JSON array, else the whole text as one argument. */
static int
maybe_json(struct parse_ctx *c, struct instr *in, const char *rest)
{
    int rc;

    if (rest[0] == '\0')
        return 0;
    if ((rc = parse_json(c, in, rest)) != 0)
        return rc < 0 ? -1 : 0;
    add_arg(in, rest, strlen(rest));
    return 0;
}

static int
maybe_json_to_list(struct parse_ctx *c, struct instr *in, const char *rest)
{
    int rc = parse_json(c, in, rest);

    if (rc != 0)
        return rc < 0 ? -1 : 0;
    split_ws(in, rest);
    return 0;
}

/* parseNameVal: ENV/LABEL as name, value, separator triplets. */
static int
name_val(struct parse_ctx *c, struct instr *in, const char *rest, const char *key)
{
    char **words = parse_words(rest, c->escape);
    int rc = 0;

    if (words == NULL)
        return 0;
    if (strchr(words[0], '=') == NULL) {
        /* the old form KEY name value: one split at the first whitespace run */
        const char *sep = rest;
        while (*sep && !is_token_ws(*sep))
            sep++;
        if (*sep == '\0') {
            strv_free(words);
            return fail(c, "%s must have two arguments", key);
        }
        const char *value = sep;
        while (is_token_ws(*value))
            value++;
        add_arg(in, rest, (size_t) (sep - rest));
        add_arg(in, value, strlen(value));
        add_arg(in, "", 0);
        strv_free(words);
        return 0;
    }
    for (size_t i = 0; words[i]; i++) {
        char *eq = strchr(words[i], '=');
        if (eq == NULL) {
            struct lade_buf q = LADE_BUF_INIT;
            go_quote(&q, words[i], strlen(words[i]));
            rc = fail(c, "Syntax error - can't find = in %s. Must be of the form: name=value",
                      q.data);
            lade_buf_release(&q);
            break;
        }
        add_arg(in, words[i], (size_t) (eq - words[i]));
        add_arg(in, eq + 1, strlen(eq + 1));
        add_arg(in, "=", 1);
    }
    strv_free(words);
    return rc;
}

/* parseHealthConfig: the type up to the first (byte-wise) space, then as CMD. */
static int
health(struct parse_ctx *c, struct instr *in, const char *rest)
{
    size_t sep = 0, next;

    while (rest[sep] && !byte_is_space((unsigned char) rest[sep]))
        sep++;
    for (next = sep; rest[next] && byte_is_space((unsigned char) rest[next]); next++)
        ;
    if (sep == 0)
        return 0;
    add_arg(in, rest, sep);
    return maybe_json(c, in, rest + next);
}

static int parse_instr(struct parse_ctx *c, const char *line, struct instr *in, unsigned depth);

static int
parse_args(struct parse_ctx *c, struct instr *in, const char *rest, unsigned depth)
{
    switch (in->kind) {
    case INSTR_FROM:
    case INSTR_EXPOSE:
        split_ws(in, rest);
        return 0;
    case INSTR_ADD:
    case INSTR_COPY:
    case INSTR_VOLUME:
        return maybe_json_to_list(c, in, rest);
    case INSTR_RUN:
    case INSTR_CMD:
    case INSTR_ENTRYPOINT:
    case INSTR_SHELL:
        return maybe_json(c, in, rest);
    case INSTR_MAINTAINER:
    case INSTR_USER:
    case INSTR_WORKDIR:
    case INSTR_STOPSIGNAL:
        if (rest[0] != '\0')
            add_arg(in, rest, strlen(rest));
        return 0;
    case INSTR_ENV:
        return name_val(c, in, rest, "ENV");
    case INSTR_LABEL:
        return name_val(c, in, rest, "LABEL");
    case INSTR_ARG: {
        char **words = parse_words(rest, c->escape);
        add_args(in, words);
        strv_free(words);
        return 0;
    }
    case INSTR_HEALTHCHECK:
        return health(c, in, rest);
    case INSTR_ONBUILD:
        if (rest[0] == '\0')
            return 0;
        if (depth >= MAX_ONBUILD_DEPTH)
            return fail(c, "ONBUILD nested too deeply");
        in->sub = xcalloc(1, sizeof(*in->sub));
        in->sub->pos = in->pos;
        in->sub->end_line = in->end_line;
        return parse_instr(c, rest, in->sub, depth + 1);
    case INSTR_UNKNOWN:
        add_arg(in, "", 0); /* BuildKit ignores the arguments of unknown keywords */
        return 0;
    }
    return 0;
}

/* newNodeFromLine: keyword, flags, then the keyword's argument parser. */
static int
parse_instr(struct parse_ctx *c, const char *line, struct instr *in, unsigned depth)
{
    cleanup_free char *trimmed = dup_trim_space(line, strlen(line));
    cleanup_free char *rest = NULL;
    size_t kw = 0;

    in->original = xstrdup(line);
    while (trimmed[kw] && !is_token_ws(trimmed[kw]))
        kw++;
    cleanup_free char *written = xstrndup(trimmed, kw);
    in->keyword = dup_lower(written);
    in->kind = INSTR_UNKNOWN;
    for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
        if (strcmp(in->keyword, keywords[i].name) == 0)
            in->kind = keywords[i].kind;
    if (trimmed[kw] != '\0') {
        const char *after = trimmed + kw;
        while (is_token_ws(*after))
            after++;
        const char *args = extract_flags(after, in);
        rest = dup_trim_space(args, strlen(args));
    } else {
        rest = xstrdup("");
    }
    return parse_args(c, in, rest, depth);
}

static bool
can_contain_heredoc(const struct instr *in)
{
    if (in->kind == INSTR_ONBUILD && in->sub != NULL)
        in = in->sub;
    return (in->kind == INSTR_RUN || in->kind == INSTR_COPY || in->kind == INSTR_ADD) && !in->json;
}

static int
read_heredocs(struct parse_ctx *c, struct lexer *lx, struct instr *in)
{
    struct heredoc *docs = NULL;
    size_t n = 0;

    if (heredocs_from_line(in->original, &docs, &n, c->err) < 0) {
        dockerfile_error_at(c->df, &in->pos, c->err);
        return -1;
    }
    in->heredocs = docs;
    in->nheredocs = n;
    for (size_t i = 0; i < n; i++) {
        if (lexer_heredoc_body(lx, docs[i].name, docs[i].chomp, &docs[i].content) < 0)
            return fail(c, "unterminated heredoc");
        in->end_line = lx->line;
    }
    return 0;
}

void
instr_release(struct instr *in)
{
    free(in->keyword);
    free(in->original);
    strv_free(in->flags);
    strv_free(in->args);
    free(in->arglens);
    for (size_t i = 0; i < in->nheredocs; i++)
        heredoc_release(&in->heredocs[i]);
    free(in->heredocs);
    if (in->sub != NULL) {
        instr_release(in->sub);
        free(in->sub);
    }
    memset(in, 0, sizeof(*in));
}

void
dockerfile_free(struct dockerfile *df)
{
    if (df == NULL)
        return;
    for (size_t i = 0; i < df->n; i++)
        instr_release(&df->instrs[i]);
    free(df->instrs);
    free(df->filename);
    free(df->syntax);
    strv_free(df->lines);
    free(df);
}

static int
parse_all(struct dockerfile *df, struct lexer *lx, struct lade_error *err)
{
    struct logical_line ll;
    int rc;

    while ((rc = lexer_next(lx, &ll, err)) > 0) {
        cleanup_free char *text = ll.text;
        struct parse_ctx c = {df, lx->escape, ll.start_line, ll.col, err};
        struct instr in = {0};

        snprintf(in.pos.file, sizeof(in.pos.file), "%s", df->filename);
        in.pos.line = ll.start_line;
        in.pos.col = ll.col;
        in.end_line = ll.end_line;
        rc = parse_instr(&c, text, &in, 0);
        if (rc == 0 && can_contain_heredoc(&in))
            rc = read_heredocs(&c, lx, &in);
        if (rc < 0) {
            instr_release(&in);
            return -1;
        }
        df->instrs = array_grow(df->instrs, df->n, sizeof(*df->instrs));
        df->instrs[df->n++] = in;
    }
    if (rc < 0)
        return -1;
    if (df->n == 0)
        return parse_error_at(err, df->filename, df->lines, df->nlines, 0, 0,
                              "file with no instructions");
    return 0;
}

int
dockerfile_parse_mem(const char *src, size_t len, const char *filename, unsigned flags,
                     struct dockerfile **out, struct lade_error *err)
{
    struct dockerfile *df = xcalloc(1, sizeof(*df));
    struct lexer lx;
    int rc;

    df->filename = xstrdup(filename ? filename : "Dockerfile");
    rc = lexer_init(&lx, src, len, df->filename, &df->lines, &df->nlines, err);
    if (rc == 0)
        rc = parse_all(df, &lx, err);
    df->escape = lx.escape;
    df->syntax = steal_ptr(&lx.syntax);
    lexer_release(&lx);
    if (rc == 0 && !(flags & DOCKERFILE_RAW))
        rc = dockerfile_validate(df, err);
    if (rc < 0) {
        dockerfile_free(df);
        return -1;
    }
    *out = df;
    return 0;
}

void
dockerfile_error_at(const struct dockerfile *df, const struct lade_pos *pos, struct lade_error *err)
{
    if (err == NULL || df == NULL || pos == NULL)
        return;
    if (pos != &err->pos)
        err->pos = *pos;
    if (err->pos.file[0] == '\0')
        snprintf(err->pos.file, sizeof(err->pos.file), "%s", df->filename);
    if (pos->line >= 1 && pos->line <= df->nlines)
        lade_error_set_src_line(err, df->lines[pos->line - 1], strlen(df->lines[pos->line - 1]));
}
