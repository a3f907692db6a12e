/* SPDX-License-Identifier: Apache-2.0 */
/* A small Go text/template evaluator for --format (template.h). One pass over the text: an
 * action is evaluated where it stands; {{range}} renders its body once per element by
 * re-reading the body's text, so no syntax tree is kept. */
#include "template.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/xalloc.h"

#define MAX_ARGS 8

struct tmpl {
    const char *src;
    struct lade_error *err;
};

/* ---- printing values as Go's fmt %v does ---- */

static void print_value(struct lade_buf *out, json_t *v);

static int
cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static void
print_object(struct lade_buf *out, json_t *v)
{
    size_t n = json_object_size(v), i = 0;
    const char **keys = xcalloc(n + 1, sizeof(*keys));
    const char *k;
    json_t *e;

    json_object_foreach(v, k, e) keys[i++] = k;
    qsort(keys, n, sizeof(*keys), cmp_keys);
    lade_buf_appends(out, "map[");
    for (i = 0; i < n; i++) {
        lade_buf_appendf(out, "%s%s:", i ? " " : "", keys[i]);
        print_value(out, json_object_get(v, keys[i]));
    }
    lade_buf_appendc(out, ']');
    free(keys);
}

static void
print_value(struct lade_buf *out, json_t *v)
{
    size_t i;
    json_t *e;

    switch (json_typeof(v)) {
    case JSON_STRING:
        lade_buf_append(out, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        lade_buf_appendf(out, "%lld", (long long) json_integer_value(v));
        break;
    case JSON_REAL:
        lade_buf_appendf(out, "%g", json_real_value(v));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        lade_buf_appends(out, json_is_true(v) ? "true" : "false");
        break;
    case JSON_NULL:
        lade_buf_appends(out, "<nil>");
        break;
    case JSON_ARRAY:
        lade_buf_appendc(out, '[');
        json_array_foreach(v, i, e)
        {
            if (i > 0)
                lade_buf_appendc(out, ' ');
            print_value(out, e);
        }
        lade_buf_appendc(out, ']');
        break;
    case JSON_OBJECT:
        print_object(out, v);
        break;
    }
}

/* ---- arguments of an action ---- */

/* Splits an action's text into words; a "quoted string" is one word, quotes kept. */
static int
split_words(struct tmpl *t, char *s, char **words, int *n)
{
    *n = 0;
    while (*s != '\0') {
        while (isspace((unsigned char) *s))
            *s++ = '\0';
        if (*s == '\0')
            break;
        if (*n == MAX_ARGS)
            return lade_error_set(t->err, LADE_ERR_USAGE, "--format: too many arguments");
        words[(*n)++] = s;
        if (*s == '"') {
            for (s++; *s != '\0' && *s != '"'; s++)
                if (*s == '\\' && s[1] != '\0')
                    s++;
            if (*s != '"')
                return lade_error_set(t->err, LADE_ERR_USAGE, "--format: unterminated string");
            s++;
        } else {
            while (*s != '\0' && !isspace((unsigned char) *s))
                s++;
        }
    }
    return 0;
}

/* A word as a value: ".", ".A.B", "\"text\"", a number. *owned is set when the result is new.
 * A missing field gives NULL (Go's <no value>). */
static json_t *
word_value(struct tmpl *t, const char *w, json_t *dot, int *ok)
{
    *ok = 0;
    if (w[0] == '"') {
        struct lade_buf b;
        lade_buf_init(&b, 0);
        for (const char *p = w + 1; *p != '"'; p++) {
            if (*p == '\\')
                p++;
            lade_buf_appendc(&b, *p);
        }
        char *s = lade_buf_steal(&b);
        json_t *v = json_string(s);
        free(s);
        *ok = 1;
        return v;
    }
    if (isdigit((unsigned char) w[0]) || w[0] == '-') {
        *ok = 1;
        return json_integer(strtoll(w, NULL, 10));
    }
    if (w[0] != '.') {
        lade_error_set(t->err, LADE_ERR_USAGE, "--format: \"%s\" is not supported", w);
        *ok = -1;
        return NULL;
    }
    json_t *v = dot;
    char *copy = xstrdup(w + 1), *save = NULL;
    for (char *f = strtok_r(copy, ".", &save); f && v; f = strtok_r(NULL, ".", &save))
        v = json_is_object(v) ? json_object_get(v, f) : NULL;
    free(copy);
    return json_incref(v);
}

/* Evaluates an action's words (a function and its arguments, or one value): a new reference,
 * or NULL for <no value> (*failed set on an error). */
static json_t *
eval(struct tmpl *t, char **w, int n, json_t *dot, bool *failed)
{
    json_t *args[MAX_ARGS] = {0}, *r = NULL;
    const char *fn = w[0][0] == '.' || w[0][0] == '"' ? NULL : w[0];
    int first = fn ? 1 : 0, ok;

    *failed = false;
    if (n == 0 || (fn == NULL && n > 1) || (fn != NULL && n < 2)) {
        lade_error_set(t->err, LADE_ERR_USAGE, "--format: cannot evaluate \"%s\"", n ? w[0] : "");
        *failed = true;
        return NULL;
    }
    for (int i = first; i < n; i++) {
        args[i - first] = word_value(t, w[i], dot, &ok);
        if (ok < 0)
            goto fail;
    }
    if (fn == NULL)
        return args[0];
    json_t *a = args[0];
    if (strcmp(fn, "json") == 0) {
        char *s = json_dumps(a ? a : json_null(), JSON_ENCODE_ANY | JSON_COMPACT);
        r = json_string(s);
        free(s);
    } else if (strcmp(fn, "index") == 0 && n == 3) {
        json_t *k = args[1];
        r = json_is_string(k) ? json_object_get(a, json_string_value(k))
                              : json_array_get(a, (size_t) json_integer_value(k));
        r = json_incref(r);
    } else if (strcmp(fn, "join") == 0 && n == 3 && json_is_array(a)) {
        struct lade_buf b;
        size_t i;
        json_t *e;
        lade_buf_init(&b, 0);
        json_array_foreach(a, i, e)
        {
            if (i > 0)
                lade_buf_appends(&b, json_string_value(args[1]) ?: "");
            print_value(&b, e);
        }
        r = json_string(b.data ? b.data : "");
        lade_buf_release(&b);
    } else if ((strcmp(fn, "upper") == 0 || strcmp(fn, "lower") == 0) && n == 2) {
        char *s = xstrdup(json_string_value(a) ?: "");
        for (char *p = s; *p; p++)
            *p = (char) (fn[0] == 'u' ? toupper((unsigned char) *p) : tolower((unsigned char) *p));
        r = json_string(s);
        free(s);
    } else if (strcmp(fn, "len") == 0 && n == 2) {
        size_t len = json_is_array(a)    ? json_array_size(a)
                     : json_is_object(a) ? json_object_size(a)
                                         : strlen(json_string_value(a) ?: "");
        r = json_integer((json_int_t) len);
    } else {
        lade_error_set(t->err, LADE_ERR_USAGE, "--format: function \"%s\" is not supported", fn);
        goto fail;
    }
    for (int i = 0; i < MAX_ARGS; i++)
        json_decref(args[i]);
    return r;
fail:
    for (int i = 0; i < MAX_ARGS; i++)
        json_decref(args[i]);
    *failed = true;
    return NULL;
}

/* ---- the text ---- */

/* Renders from *p until the end or an {{end}} (*p then after it); out NULL: only skip. */
static int render(struct tmpl *t, const char **p, json_t *dot, struct lade_buf *out, bool nested);

static void
trim_tail(struct lade_buf *out)
{
    while (out && out->len > 0 && isspace((unsigned char) out->data[out->len - 1]))
        out->data[--out->len] = '\0';
}

static int
render_range(struct tmpl *t, const char **p, json_t *list, struct lade_buf *out)
{
    const char *body = *p, *after = NULL;
    size_t i;
    json_t *e;

    if (list != NULL && !json_is_array(list) && !json_is_object(list))
        return lade_error_set(t->err, LADE_ERR_USAGE, "--format: range over a non-list");
    if (json_is_object(list)) {
        const char *k;
        json_object_foreach(list, k, e)
        {
            const char *q = body;
            if (render(t, &q, e, out, true) < 0)
                return -1;
            after = q;
        }
    } else {
        json_array_foreach(list, i, e)
        {
            const char *q = body;
            if (render(t, &q, e, out, true) < 0)
                return -1;
            after = q;
        }
    }
    if (after == NULL) { /* no element: skip the body */
        const char *q = body;
        if (render(t, &q, NULL, NULL, true) < 0)
            return -1;
        after = q;
    }
    *p = after;
    return 0;
}

static int
render(struct tmpl *t, const char **p, json_t *dot, struct lade_buf *out, bool nested)
{
    bool trim_next = false;

    for (;;) {
        const char *open = strstr(*p, "{{");
        const char *text_end = open ? open : *p + strlen(*p);
        const char *s = *p;
        if (trim_next)
            while (s < text_end && isspace((unsigned char) *s))
                s++;
        if (out)
            lade_buf_append(out, s, (size_t) (text_end - s));
        if (open == NULL) {
            if (nested)
                return lade_error_set(t->err, LADE_ERR_USAGE, "--format: {{range}} lacks {{end}}");
            *p = text_end;
            return 0;
        }
        const char *close = strstr(open + 2, "}}");
        if (close == NULL)
            return lade_error_set(t->err, LADE_ERR_USAGE, "--format: unclosed action");
        const char *a = open + 2, *b = close;
        if (*a == '-' && isspace((unsigned char) a[1])) {
            trim_tail(out);
            a++;
        }
        trim_next = b - a >= 2 && b[-1] == '-' && isspace((unsigned char) b[-2]);
        if (trim_next)
            b--;
        char *text = xstrndup(a, (size_t) (b - a));
        char *w[MAX_ARGS];
        int n, rc = split_words(t, text, w, &n);
        *p = close + 2;
        if (rc == 0 && n == 1 && strcmp(w[0], "end") == 0) {
            free(text);
            if (!nested)
                return lade_error_set(t->err, LADE_ERR_USAGE, "--format: {{end}} without range");
            return 0;
        }
        bool range = rc == 0 && n >= 2 && strcmp(w[0], "range") == 0, failed = false;
        json_t *v = rc == 0 && out != NULL ? eval(t, w + range, n - range, dot, &failed) : NULL;
        free(text);
        if (rc < 0 || failed)
            return -1;
        if (range) {
            rc = render_range(t, p, out ? v : NULL, out);
            json_decref(v);
            if (rc < 0)
                return -1;
            continue;
        }
        if (out != NULL && v == NULL)
            lade_buf_appends(out, "<no value>");
        else if (out != NULL)
            print_value(out, v);
        json_decref(v);
    }
}

char *
template_render(const char *tmpl, json_t *data, struct lade_error *err)
{
    struct tmpl t = {.src = tmpl, .err = err};
    struct lade_buf out;
    const char *p = tmpl;

    lade_buf_init(&out, 0);
    if (render(&t, &p, data, &out, false) < 0) {
        lade_buf_release(&out);
        return NULL;
    }
    return lade_buf_steal(&out);
}
