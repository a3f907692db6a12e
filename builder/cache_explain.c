/* SPDX-License-Identifier: Apache-2.0 */
/* Why a key missed (cache_explain.h): the inputs of a step against those of the same step in
 * the last build, compared from the most specific to the least: the instruction itself, the
 * files a COPY copies, what the step sees (its command, build args and ENV, USER, ...), and
 * last what came before it (the previous step, or the base). */
#include "cache_explain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

#define VALUE_MAX 40 /* longer values are cut in a reason */

/* value for a reason: "unset" for NULL, "" quoted, cut to VALUE_MAX characters. Caller frees. */
static char *
shown(const char *v)
{
    if (v == NULL)
        return xstrdup("unset");
    if (v[0] == '\0')
        return xstrdup("\"\"");
    if (strlen(v) <= VALUE_MAX)
        return xstrdup(v);
    return xasprintf("%.*s...", VALUE_MAX - 3, v);
}

/* "tag=value" split: the tag's length, and the value (NULL for a tag alone). */
static size_t
split(const char *entry, const char **value)
{
    const char *eq = strchr(entry, '=');

    *value = eq ? eq + 1 : NULL;
    return eq ? (size_t) (eq - entry) : strlen(entry);
}

static const char *
str_at(const json_t *a, size_t i)
{
    return json_string_value(json_array_get(a, i));
}

/* "--chown changed (1000 -> 2000)" */
static char *
changed(const char *what, const char *old, const char *new)
{
    cleanup_free char *o = shown(old), *n = shown(new);

    return xasprintf("%s changed (%s -> %s)", what, o, n);
}

/* The typed command: a field added, removed or changed. */
static char *
cmd_diff(const json_t *prev, const json_t *cur)
{
    const json_t *a = json_object_get(prev, "cmd"), *b = json_object_get(cur, "cmd");
    size_t na = json_array_size(a), nb = json_array_size(b);

    for (size_t i = 0; i < na || i < nb; i++) {
        const char *x = str_at(a, i), *y = str_at(b, i), *xv = NULL, *yv = NULL;
        if (x != NULL && y != NULL && strcmp(x, y) == 0)
            continue;
        const char *entry = y ? y : x;
        size_t tag = split(entry, &yv);
        if (x != NULL)
            split(x, &xv);
        if (y != NULL)
            split(y, &yv);
        else
            yv = NULL;
        cleanup_free char *name = xstrndup(entry, tag);
        if (x == NULL || y == NULL || strncmp(x, y, tag + 1) != 0 || strcmp(name, "kind") == 0 ||
            strcmp(name, "text") == 0 || strcmp(name, "src") == 0 || strcmp(name, "doc") == 0 ||
            strcmp(name, "data") == 0)
            return xstrdup("instruction changed");
        if (strcmp(name, "dest") == 0)
            return changed("destination", xv, yv);
        cleanup_free char *flag = xasprintf("--%s", name);
        return changed(flag, xv, yv);
    }
    return NULL;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The paths of an object's keys, sorted; free the vector only. */
static const char **
sorted_keys(const json_t *o, size_t *n)
{
    const char **v = xcalloc(json_object_size(o) + 1, sizeof(*v));
    const char *k;
    json_t *val;

    *n = 0;
    json_object_foreach((json_t *) o, k, val) v[(*n)++] = k;
    qsort(v, *n, sizeof(*v), cmp_str);
    return v;
}

/* A COPY's files: "COPY src/: src/main.c changed (and 2 more)". */
static char *
files_diff(const json_t *prev, const json_t *cur)
{
    const json_t *a = json_object_get(prev, "files"), *b = json_object_get(cur, "files");
    const char *what = json_string_value(json_object_get(cur, "what"));
    const char *first = NULL, *how = NULL;
    size_t count = 0, n;

    if (a == NULL || b == NULL) /* a listing past the bound: the view's content decides */
        return NULL;
    cleanup_free const char **ka = sorted_keys(a, &n);
    for (size_t i = 0; i < n; i++) {
        const char *hb = json_string_value(json_object_get(b, ka[i]));
        const char *ha = json_string_value(json_object_get(a, ka[i]));
        if (hb != NULL && ha != NULL && strcmp(ha, hb) == 0)
            continue;
        if (count++ == 0) {
            first = ka[i];
            how = hb == NULL ? "removed" : "changed";
        }
    }
    cleanup_free const char **kb = sorted_keys(b, &n);
    for (size_t i = 0; i < n; i++) {
        if (json_object_get(a, kb[i]) != NULL)
            continue;
        if (count++ == 0) {
            first = kb[i];
            how = "added";
        }
    }
    if (count == 0)
        return NULL;
    cleanup_free char *more = count > 1 ? xasprintf(" (and %zu more)", count - 1) : xstrdup("");
    return xasprintf("%s: %s %s%s", what ? what : "COPY", first[0] ? first : ".", how, more);
}

/* What a view entry is called in a reason, by its tag. */
static const char *
view_name(const char *tag)
{
    static const struct {
        const char *tag, *name;
    } names[] = {{"user", "USER"},
                 {"cwd", "WORKDIR"},
                 {"net", "network mode"},
                 {"path", "WORKDIR"},
                 {"dest", "destination"},
                 {"heredoc", "heredoc"},
                 {"remote", "remote source"},
                 {"stage", "--from stage"},
                 {"link", "copied files"},
                 {"content", "sources"}};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(tag, names[i].tag) == 0)
            return names[i].name;
    if (strncmp(tag, "mount", 5) == 0)
        return "--mount";
    return tag;
}

/* The value of "env=NAME=..." entries of a view with NAME, or NULL; *found when present. */
static const char *
env_value(const json_t *view, const char *name, size_t len, bool *found)
{
    for (size_t i = 0; i < json_array_size(view); i++) {
        const char *e = str_at(view, i);
        if (strncmp(e, "env=", 4) == 0 && strncmp(e + 4, name, len) == 0 && e[4 + len] == '=') {
            *found = true;
            return e + 5 + len;
        }
    }
    *found = false;
    return NULL;
}

/* A build arg or ENV the step sees, changed, added or removed: "ARG V changed (1 -> 2)". */
static char *
env_diff(const json_t *a, const json_t *b, const struct envmap *arg_names)
{
    for (int pass = 0; pass < 2; pass++) {
        const json_t *v = pass ? a : b, *other = pass ? b : a;
        for (size_t i = 0; i < json_array_size(v); i++) {
            const char *e = str_at(v, i);
            if (strncmp(e, "env=", 4) != 0)
                continue;
            const char *name = e + 4, *eq = strchr(name, '=');
            size_t len = eq ? (size_t) (eq - name) : strlen(name);
            bool found;
            const char *mine = eq ? eq + 1 : "", *theirs = env_value(other, name, len, &found);
            if (found && strcmp(mine, theirs) == 0)
                continue;
            cleanup_free char *key = xstrndup(name, len);
            cleanup_free char *what = xasprintf(
                "%s %s", arg_names && envmap_find(arg_names, key) >= 0 ? "ARG" : "ENV", key);
            return pass ? changed(what, mine, NULL) : changed(what, theirs, mine);
        }
    }
    return NULL;
}

/* What the step sees: its command first, then its build args and ENV, then the rest. */
static char *
view_diff(const json_t *prev, const json_t *cur, const struct envmap *arg_names)
{
    const json_t *a = json_object_get(prev, "view"), *b = json_object_get(cur, "view");
    const char *what = json_string_value(json_object_get(cur, "what"));
    struct lade_buf ca = LADE_BUF_INIT, cb = LADE_BUF_INIT;
    char *r = NULL;

    for (size_t i = 0; i < json_array_size(a); i++)
        if (strncmp(str_at(a, i), "arg=", 4) == 0)
            lade_buf_appendf(&ca, "%s ", str_at(a, i) + 4);
    for (size_t i = 0; i < json_array_size(b); i++)
        if (strncmp(str_at(b, i), "arg=", 4) == 0)
            lade_buf_appendf(&cb, "%s ", str_at(b, i) + 4);
    bool cmd_changed = ca.len != cb.len || (ca.len && memcmp(ca.data, cb.data, ca.len) != 0);
    lade_buf_release(&ca);
    lade_buf_release(&cb);
    if (cmd_changed)
        return xstrdup("command changed");
    if ((r = env_diff(a, b, arg_names)) != NULL)
        return r;
    size_t na = json_array_size(a), nb = json_array_size(b);
    for (size_t i = 0, j = 0; i < na || j < nb; i++, j++) {
        const char *x = str_at(a, i), *y = str_at(b, j), *xv = NULL, *yv = NULL;
        if (x != NULL && y != NULL && strcmp(x, y) == 0)
            continue;
        const char *entry = y ? y : x;
        cleanup_free char *tag = xstrndup(entry, split(entry, &yv));
        if (strcmp(tag, "arg") == 0 || strcmp(tag, "env") == 0)
            continue; /* compared above, so the lists only shifted */
        if (x != NULL)
            split(x, &xv);
        yv = NULL;
        if (y != NULL)
            split(y, &yv);
        json_int_t nfiles = json_integer_value(json_object_get(cur, "nfiles"));
        if (strcmp(tag, "content") == 0 && nfiles > CACHE_EXPLAIN_MAX_FILES)
            return xasprintf("%s: sources changed (%lld files, too many to compare one by one)",
                             what ? what : "COPY", (long long) nfiles);
        if (strcmp(tag, "content") == 0 || strcmp(tag, "link") == 0 || strcmp(tag, "stage") == 0 ||
            strcmp(tag, "remote") == 0)
            return xasprintf("%s: %s changed", what ? what : "COPY", view_name(tag));
        if (strcmp(tag, "heredoc") == 0 || strncmp(tag, "mount", 5) == 0 || strcmp(tag, "net") == 0)
            return xasprintf("%s changed", view_name(tag));
        return changed(view_name(tag), xv, yv);
    }
    return NULL;
}

/* A step whose own inputs are the same missed for what came before it. */
static char *
parent_diff(const json_t *prev, const json_t *cur, const json_t *prev_base, const json_t *cur_base,
            bool earlier_miss)
{
    const char *pa = json_string_value(json_object_get(prev, "parent"));
    const char *pb = json_string_value(json_object_get(cur, "parent"));

    if (pa != NULL && pb != NULL && strcmp(pa, pb) == 0)
        return NULL;
    if (!earlier_miss && prev_base != NULL && cur_base != NULL) {
        const char *ba = json_string_value(json_object_get(prev_base, "base"));
        const char *bb = json_string_value(json_object_get(cur_base, "base"));
        const char *xa = json_string_value(json_object_get(prev_base, "build"));
        const char *xb = json_string_value(json_object_get(cur_base, "build"));
        if (ba && bb && strcmp(ba, bb) != 0)
            return xstrdup(strncmp(bb, "stage ", 6) == 0 ? "base stage changed"
                                                         : "base image changed");
        if (xa && xb && strcmp(xa, xb) != 0)
            return xstrdup("--source-date-epoch or --compression changed");
    }
    return xstrdup("previous step changed");
}

char *
cache_explain_diff(const json_t *prev, const json_t *cur, const json_t *prev_base,
                   const json_t *cur_base, bool earlier_miss, const struct envmap *arg_names)
{
    char *r;

    if ((r = cmd_diff(prev, cur)) != NULL || (r = files_diff(prev, cur)) != NULL ||
        (r = view_diff(prev, cur, arg_names)) != NULL ||
        (r = parent_diff(prev, cur, prev_base, cur_base, earlier_miss)) != NULL)
        return r;
    return xstrdup("same inputs as the last build, whose cache record is gone");
}
