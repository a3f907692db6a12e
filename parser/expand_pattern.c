/* SPDX-License-Identifier: Apache-2.0 */
/* Patterns of ${var#pat}, ${var%pat} and ${var/pat/repl}. BuildKit turns them into Go
 * regular expressions ('*' -> ".*" or ".*?", '?' -> '.', the rest literal) and lets Go's
 * leftmost-first engine decide. We run the same three-token language on a small Pike VM with
 * thread priorities, which gives the same answers without backtracking blow-ups. Like Go's
 * '.', neither '*' nor '?' matches a newline. */
#include "parser-internal.h"

#include <string.h>

#include "../builder/common/cleanup.h"
#include "../builder/common/xalloc.h"

enum tok_kind { TOK_LIT, TOK_ANY, TOK_STAR };

struct tok {
    enum tok_kind kind;
    uint32_t cp;
};

/* A subject as runes with their byte offsets (offs has n + 1 entries). */
struct subject {
    uint32_t *cps;
    size_t *offs;
    size_t n;
};

static void
subject_init(struct subject *s, const char *str)
{
    size_t len = strlen(str);

    s->cps = xcalloc(len + 1, sizeof(*s->cps));
    s->offs = xcalloc(len + 1, sizeof(*s->offs));
    s->n = 0;
    for (size_t i = 0; i < len;) {
        s->offs[s->n] = i;
        i += utf8_decode(str + i, len - i, &s->cps[s->n]);
        s->n++;
    }
    s->offs[s->n] = len;
}

static void
subject_release(struct subject *s)
{
    free(s->cps);
    free(s->offs);
}

/* convertShellPatternToRegex: '\' escapes '*', '?' and '\'; before '}' or '/' it is dropped
 * (those had to be escaped inside ${}); any other escape is an error. */
static int
compile(const uint32_t *p, size_t n, struct tok **out, size_t *nout, struct lade_error *err)
{
    struct tok *t = xcalloc(n + 1, sizeof(*t));
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        uint32_t c = p[i];
        if (c == '*') {
            if (k == 0 || t[k - 1].kind != TOK_STAR) /* ** is * */
                t[k++] = (struct tok){TOK_STAR, 0};
            continue;
        }
        if (c == '?') {
            t[k++] = (struct tok){TOK_ANY, 0};
            continue;
        }
        if (c == '\\') {
            if (i + 1 < n && (p[i + 1] == '}' || p[i + 1] == '/'))
                continue;
            if (i + 1 >= n) {
                free(t);
                return lade_error_set(err, LADE_ERR_PARSE,
                                      "invalid escape '\\' at the end of "
                                      "the pattern");
            }
            c = p[++i];
            if (c != '*' && c != '?' && c != '\\') {
                struct lade_buf b = LADE_BUF_INIT;
                utf8_append(&b, c);
                lade_error_set(err, LADE_ERR_PARSE, "invalid escape '\\%s'", b.data);
                lade_buf_release(&b);
                free(t);
                return -1;
            }
        }
        t[k++] = (struct tok){TOK_LIT, c};
    }
    *out = t;
    *nout = k;
    return 0;
}

struct vm {
    const struct tok *t;
    size_t nt;
    bool greedy;
    const struct subject *s;
    size_t *mark; /* per state: the step at which it was last added, plus one */
    size_t *cur, *nxt;
    size_t ncur, nnxt;
};

#define MATCH_STATE ((size_t) -1)

/* Adds state st (and what it reaches without input) to list, in priority order. */
static void
add_thread(struct vm *vm, size_t *list, size_t *n, size_t st, size_t step)
{
    if (st < vm->nt + 1) {
        if (vm->mark[st] == step + 1)
            return;
        vm->mark[st] = step + 1;
    }
    if (st == vm->nt) {
        list[(*n)++] = MATCH_STATE;
        return;
    }
    if (vm->t[st].kind == TOK_STAR) {
        if (vm->greedy) {
            list[(*n)++] = st;
            add_thread(vm, list, n, st + 1, step);
        } else {
            add_thread(vm, list, n, st + 1, step);
            list[(*n)++] = st;
        }
        return;
    }
    list[(*n)++] = st;
}

static bool
tok_accepts(const struct tok *t, uint32_t cp)
{
    if (t->kind == TOK_LIT)
        return t->cp == cp;
    return cp != '\n';
}

/* The end (rune index) of the preferred match anchored at start, or -1. */
static long
match_at(struct vm *vm, size_t start)
{
    long found = -1;
    size_t step = start * 2; /* two marks per position keep the lists apart */

    memset(vm->mark, 0, (vm->nt + 1) * sizeof(*vm->mark));
    vm->ncur = 0;
    add_thread(vm, vm->cur, &vm->ncur, 0, step);
    for (size_t pos = start;; pos++) {
        vm->nnxt = 0;
        step++;
        for (size_t i = 0; i < vm->ncur; i++) {
            size_t st = vm->cur[i];
            if (st == MATCH_STATE) {
                found = (long) pos;
                break; /* lower-priority threads lose to this match */
            }
            if (pos < vm->s->n && tok_accepts(&vm->t[st], vm->s->cps[pos]))
                add_thread(vm, vm->nxt, &vm->nnxt, vm->t[st].kind == TOK_STAR ? st : st + 1, step);
        }
        if (vm->nnxt == 0 || pos >= vm->s->n)
            return found;
        size_t *tmp = vm->cur;
        vm->cur = vm->nxt;
        vm->nxt = tmp;
        vm->ncur = vm->nnxt;
    }
}

static int
vm_init(struct vm *vm, const char *pattern, bool greedy, const struct subject *s,
        struct lade_error *err)
{
    struct subject p;

    subject_init(&p, pattern);
    memset(vm, 0, sizeof(*vm));
    int rc = compile(p.cps, p.n, (struct tok **) &vm->t, &vm->nt, err);
    subject_release(&p);
    if (rc < 0)
        return -1;
    vm->greedy = greedy;
    vm->s = s;
    vm->mark = xcalloc(vm->nt + 2, sizeof(*vm->mark));
    vm->cur = xcalloc(2 * (vm->nt + 2), sizeof(*vm->cur));
    vm->nxt = xcalloc(2 * (vm->nt + 2), sizeof(*vm->nxt));
    return 0;
}

static void
vm_release(struct vm *vm)
{
    free((void *) vm->t);
    free(vm->mark);
    free(vm->cur);
    free(vm->nxt);
}

static int
bad_pattern(const char *pattern, struct lade_error *err)
{
    char inner[sizeof(err->msg)];

    snprintf(inner, sizeof(inner), "%s", err->msg);
    lade_error_clear(err);
    return lade_error_set(err, LADE_ERR_PARSE, "invalid pattern (%s) in substitution: %s", pattern,
                          inner);
}

/* reversePattern: reverses runes but keeps each "\x" pair in order. */
static char *
reverse_pattern(const char *pattern)
{
    struct subject p;
    struct lade_buf b = LADE_BUF_INIT;
    uint32_t *out;

    subject_init(&p, pattern);
    out = xcalloc(p.n + 1, sizeof(*out));
    for (size_t i = 0; i < p.n;) {
        size_t o = p.n - 1 - i;
        if (p.cps[i] == '\\' && i + 1 < p.n) {
            out[o - 1] = '\\';
            out[o] = p.cps[i + 1];
            i += 2;
        } else {
            out[o] = p.cps[i];
            i++;
        }
    }
    for (size_t i = 0; i < p.n; i++)
        utf8_append(&b, out[i]);
    free(out);
    subject_release(&p);
    return lade_buf_steal(&b);
}

/* Go's []rune round trip: reversed runes, invalid bytes becoming U+FFFD. */
static char *
reverse_runes(const char *s)
{
    struct subject sub;
    struct lade_buf b = LADE_BUF_INIT;

    subject_init(&sub, s);
    for (size_t i = sub.n; i > 0; i--)
        utf8_append(&b, sub.cps[i - 1]);
    subject_release(&sub);
    return lade_buf_steal(&b);
}

static int
trim_prefix(const char *pattern, const char *value, bool greedy, char **out, struct lade_error *err)
{
    struct subject s;
    struct vm vm;

    subject_init(&s, value);
    if (vm_init(&vm, pattern, greedy, &s, err) < 0) {
        subject_release(&s);
        return bad_pattern(pattern, err);
    }
    long end = match_at(&vm, 0);
    *out = xstrdup(value + (end >= 0 ? s.offs[end] : 0));
    vm_release(&vm);
    subject_release(&s);
    return 0;
}

int
pattern_trim(const char *pattern, const char *value, bool suffix, bool greedy, char **out,
             struct lade_error *err)
{
    if (!suffix)
        return trim_prefix(pattern, value, greedy, out, err);
    /* A leftmost engine cannot find the shortest rightmost match, so BuildKit reverses both
     * the pattern and the value. */
    cleanup_free char *rp = reverse_pattern(pattern);
    cleanup_free char *rv = reverse_runes(value);
    cleanup_free char *r = NULL;
    if (trim_prefix(rp, rv, greedy, &r, err) < 0) {
        /* report the pattern as written */
        char inner[sizeof(err->msg)];
        const char *colon = strstr(err->msg, "substitution: ");
        snprintf(inner, sizeof(inner), "%s", colon ? colon + 14 : err->msg);
        lade_error_clear(err);
        return lade_error_set(err, LADE_ERR_PARSE, "invalid pattern (%s) in substitution: %s",
                              pattern, inner);
    }
    *out = reverse_runes(r);
    return 0;
}

/* Go's Regexp.Expand on the replacement of ReplaceAllString: $$ is '$', $0 and ${0} the
 * whole match, other $name references name groups that do not exist, so they vanish. */
static void
expand_template(struct lade_buf *b, const char *tpl, const char *match, size_t mlen)
{
    size_t n = strlen(tpl);

    for (size_t i = 0; i < n;) {
        if (tpl[i] != '$') {
            lade_buf_appendc(b, tpl[i++]);
            continue;
        }
        i++;
        if (i < n && tpl[i] == '$') {
            lade_buf_appendc(b, '$');
            i++;
            continue;
        }
        bool brace = i < n && tpl[i] == '{';
        size_t j = i + brace, name_start = j;
        while (j < n) {
            uint32_t cp;
            size_t w = utf8_decode(tpl + j, n - j, &cp);
            if (!uni_is_letter(cp) && !uni_is_digit(cp) && cp != '_')
                break;
            j += w;
        }
        size_t name_len = j - name_start;
        if (name_len == 0 || (brace && (j >= n || tpl[j] != '}'))) {
            lade_buf_appendc(b, '$'); /* malformed: the '$' is literal */
            continue;
        }
        bool zero = true;
        for (size_t k = name_start; k < j; k++)
            if (tpl[k] != '0')
                zero = false;
        if (zero)
            lade_buf_append(b, match, mlen);
        i = j + brace;
    }
}

int
pattern_replace(const char *pattern, const char *value, const char *replacement, bool all,
                char **out, struct lade_error *err)
{
    struct subject s;
    struct vm vm;
    struct lade_buf b = LADE_BUF_INIT;

    subject_init(&s, value);
    if (vm_init(&vm, pattern, true, &s, err) < 0) {
        subject_release(&s);
        return bad_pattern(pattern, err);
    }
    size_t last_end = 0; /* rune indexes */
    /* past EXPAND_MAX_WORD the caller rejects the word: stop before a 1 MiB value times a
     * 1 MiB replacement is built */
    for (size_t search = 0; search <= s.n && b.len <= EXPAND_MAX_WORD;) {
        long a = -1, e = -1;
        for (size_t start = search; start <= s.n && e < 0; start++)
            if ((e = match_at(&vm, start)) >= 0)
                a = (long) start;
        if (e < 0)
            break;
        lade_buf_append(&b, value + s.offs[last_end], s.offs[a] - s.offs[last_end]);
        if (!all) {
            /* a single replacement is plain concatenation in BuildKit */
            lade_buf_appends(&b, replacement);
            last_end = (size_t) e;
            break;
        }
        /* ReplaceAllString: no replacement for an empty match right after a match */
        if ((size_t) e > last_end || a == 0)
            expand_template(&b, replacement, value + s.offs[a], s.offs[e] - s.offs[a]);
        last_end = (size_t) e;
        if (search + 1 > (size_t) e)
            search++;
        else
            search = (size_t) e;
    }
    lade_buf_appends(&b, value + s.offs[last_end]);
    vm_release(&vm);
    subject_release(&s);
    *out = lade_buf_steal(&b);
    return 0;
}
