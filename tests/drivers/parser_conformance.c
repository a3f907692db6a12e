/* SPDX-License-Identifier: Apache-2.0 */
/* Conformance driver for parser/: one binary, one mode per kind of upstream vector.
 *   dump FILE                 BuildKit's parse-tree dump (raw mode); exit 1 on a parse error
 *   heredocs FILE             instructions with lines, original text and heredocs, as JSON
 *   lex word|words INPUT [K=V]...   expansion result as JSON {result|words, matched,
 *                             unmatched} or {error}; exactly the given variables are set
 *   heredoc-word WORD         name=NAME | none | error
 *   heredoc-line LINE         names=A,B (the heredocs a RUN line announces)
 *   ignore PATH [PATTERN]...  true | false | error (MatchesOrParentMatches) */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/common/cleanup.h"
#include "builder/common/strv.h"
#include "builder/common/xalloc.h"
#include "parser/parser-internal.h" /* heredoc word recognition is internal */

static char *
read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0, r;

    if (f == NULL) {
        perror(path);
        exit(2);
    }
    do {
        if (cap - n < 4096)
            buf = xrealloc(buf, cap = cap * 2 + 8192);
        r = fread(buf + n, 1, cap - n, f);
        n += r;
    } while (r > 0);
    fclose(f);
    *len = n;
    return buf;
}

static int
parse_file(const char *path, struct dockerfile **df)
{
    size_t len;
    cleanup_free char *src = read_all(path, &len);
    struct lade_error err = {0};

    if (dockerfile_parse_mem(src, len, path, DOCKERFILE_RAW, df, &err) < 0) {
        lade_error_print(stderr, &err);
        return -1;
    }
    return 0;
}

static int
mode_dump(const char *path)
{
    struct dockerfile *df;

    if (parse_file(path, &df) < 0)
        return 1;
    dockerfile_dump(df, stdout);
    dockerfile_free(df);
    return 0;
}

static int
mode_heredocs(const char *path)
{
    struct dockerfile *df;
    json_t *arr = json_array();

    if (parse_file(path, &df) < 0)
        return 1;
    for (size_t i = 0; i < df->n; i++) {
        const struct instr *in = &df->instrs[i];
        json_t *o = json_object(), *docs = json_null();
        json_object_set_new(o, "index", json_integer((json_int_t) i));
        json_object_set_new(o, "start_line", json_integer(in->pos.line));
        json_object_set_new(o, "end_line", json_integer(in->end_line));
        json_object_set_new(o, "original", json_string(in->original));
        if (in->nheredocs > 0) {
            docs = json_array();
            for (size_t k = 0; k < in->nheredocs; k++) {
                const struct heredoc *h = &in->heredocs[k];
                json_array_append_new(docs, json_pack("{s:s, s:s, s:b, s:b, s:i}", "name", h->name,
                                                      "content", h->content, "expand", h->expand,
                                                      "chomp", h->chomp, "fd", h->fd));
            }
        }
        json_object_set_new(o, "heredocs", docs);
        json_array_append_new(arr, o);
    }
    json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    putchar('\n');
    json_decref(arr);
    dockerfile_free(df);
    return 0;
}

struct lex_env {
    char **vars;
    json_t *matched, *unmatched;
};

static void
add_unique(json_t *arr, const char *name)
{
    size_t i;
    json_t *v;

    json_array_foreach(arr, i, v) if (strcmp(json_string_value(v), name) == 0) return;
    json_array_append_new(arr, json_string(name));
}

static const char *
lex_lookup(void *ud, const char *name)
{
    struct lex_env *e = ud;
    const char *v = strv_env_get(e->vars, name);

    add_unique(v ? e->matched : e->unmatched, name);
    return v;
}

static int
mode_lex(int argc, char **argv)
{
    struct lex_env env = {NULL, json_array(), json_array()};
    struct expander x = {'\\', lex_lookup, &env};
    struct lade_error err = {0};
    json_t *out = json_object();
    int rc;

    for (int i = 4; i < argc; i++)
        env.vars = strv_push(env.vars, argv[i]);
    if (strcmp(argv[2], "word") == 0) {
        char *word = NULL;
        rc = expand_word(&x, argv[3], &word, &err);
        if (rc == 0)
            json_object_set_new(out, "result", json_string(word));
        free(word);
    } else {
        char **words = NULL;
        rc = expand_words(&x, argv[3], &words, &err);
        if (rc == 0) {
            json_t *a = json_array();
            for (size_t i = 0; words[i]; i++)
                json_array_append_new(a, json_string(words[i]));
            json_object_set_new(out, "words", a);
        }
        strv_free(words);
    }
    if (rc < 0) {
        json_object_set_new(out, "error", json_string(err.msg));
        json_decref(env.matched);
        json_decref(env.unmatched);
    } else {
        json_object_set_new(out, "matched", env.matched);
        json_object_set_new(out, "unmatched", env.unmatched);
    }
    json_dumpf(out, stdout, JSON_COMPACT | JSON_SORT_KEYS);
    putchar('\n');
    json_decref(out);
    strv_free(env.vars);
    return 0;
}

static int
mode_heredoc_word(const char *word)
{
    struct heredoc h;
    struct lade_error err = {0};
    int rc = heredoc_parse_word(word, &h, &err);

    if (rc < 0)
        puts("error");
    else if (rc == 0)
        puts("none");
    else
        printf("name=%s\n", h.name);
    if (rc == 1)
        heredoc_release(&h);
    return 0;
}

static int
mode_heredoc_line(const char *line)
{
    struct heredoc *docs;
    size_t n;
    struct lade_error err = {0};

    if (heredocs_from_line(line, &docs, &n, &err) < 0) {
        puts("error");
        return 0;
    }
    fputs("names=", stdout);
    for (size_t k = 0; k < n; k++) {
        printf("%s%s", k ? "," : "", docs[k].name);
        heredoc_release(&docs[k]);
    }
    putchar('\n');
    free(docs);
    return 0;
}

static int
mode_ignore(int argc, char **argv)
{
    struct dockerignore *di;
    struct lade_error err = {0};
    bool excluded;

    if (dockerignore_new(argv + 3, &di, &err) < 0) {
        puts("error");
        return 0;
    }
    if (dockerignore_matches(di, argv[2], &excluded, &err) < 0)
        puts("error");
    else
        puts(excluded ? "true" : "false");
    dockerignore_free(di);
    (void) argc;
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "dump") == 0)
        return mode_dump(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "heredocs") == 0)
        return mode_heredocs(argv[2]);
    if (argc >= 4 && strcmp(argv[1], "lex") == 0)
        return mode_lex(argc, argv);
    if (argc >= 3 && strcmp(argv[1], "heredoc-word") == 0)
        return mode_heredoc_word(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "heredoc-line") == 0)
        return mode_heredoc_line(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "ignore") == 0)
        return mode_ignore(argc, argv);
    fprintf(stderr,
            "usage: %s dump|heredocs FILE | lex word|words INPUT [K=V]... | "
            "heredoc-word WORD | heredoc-line LINE | ignore PATH [PATTERN]...\n",
            argv[0]);
    return 2;
}
