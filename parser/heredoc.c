/* SPDX-License-Identifier: Apache-2.0 */
/* Heredoc recognition as BuildKit's parser does it: the logical line is split by the shell
 * lexer in a raw mode (quotes and escapes kept, unset variables kept), and each word matching
 * ^(\d*)<<(-?)\s*([^<]*)$ whose rest is exactly one shell word announces a heredoc. */
#include "parser-internal.h"

#include <stdlib.h>
#include <string.h>

#include "../builder/common/cleanup.h"
#include "../builder/common/strv.h"
#include "../builder/common/xalloc.h"

static size_t
count_quotes(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += *s == '\'' || *s == '"';
    return n;
}

int
heredoc_parse_word(const char *word, struct heredoc *h, struct lade_error *err)
{
    const char *p = word;
    unsigned long fd = 0;
    bool chomp = false;

    while (*p >= '0' && *p <= '9') {
        if (fd < 1000000)
            fd = fd * 10 + (unsigned long) (*p - '0');
        p++;
    }
    if (p[0] != '<' || p[1] != '<')
        return 0;
    p += 2;
    if (*p == '-') {
        chomp = true;
        p++;
    }
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\f' || *p == '\r')
        p++;
    if (*p == '\0' || strchr(p, '<') != NULL)
        return 0;

    /* The rest must be one word; quoting any part of it turns expansion off, which shows
     * as a different quote count between the plain and the raw-quotes lexing. */
    struct shell_lex plain = {'\\', SHELL_SKIP_UNSET, NULL, NULL};
    struct shell_lex raw = {'\\', SHELL_SKIP_UNSET | SHELL_RAW_QUOTES, NULL, NULL};
    char **words = NULL, **raw_words = NULL;

    if (shell_process(&plain, p, NULL, &words, err) < 0)
        return -1;
    if (strv_len(words) != 1) {
        strv_free(words);
        return 0;
    }
    if (shell_process(&raw, p, NULL, &raw_words, err) < 0) {
        strv_free(words);
        return -1;
    }
    if (strv_len(raw_words) != 1) {
        strv_free(words);
        strv_free(raw_words);
        return lade_error_set(err, LADE_ERR_PARSE,
                              "internal lexing of heredoc produced inconsistent results: %s", p);
    }
    memset(h, 0, sizeof(*h));
    h->expand = count_quotes(words[0]) == count_quotes(raw_words[0]);
    h->chomp = chomp;
    h->fd = (int) fd;
    h->name = xstrdup(words[0]);
    strv_free(words);
    strv_free(raw_words);
    return 1;
}

int
heredocs_from_line(const char *line, struct heredoc **out, size_t *n, struct lade_error *err)
{
    struct shell_lex lx = {'\\', SHELL_RAW_QUOTES | SHELL_RAW_ESCAPES | SHELL_SKIP_UNSET, NULL,
                           NULL};
    struct lade_error ignored = {0};
    char **words = NULL;
    struct heredoc *docs = NULL;
    size_t count = 0;

    *out = NULL;
    *n = 0;
    if (strstr(line, "<<") == NULL)
        return 0;
    /* BuildKit ignores lexing errors here: such a line announces no heredoc. */
    if (shell_process(&lx, line, NULL, &words, &ignored) < 0)
        return 0;
    for (size_t i = 0; words[i]; i++) {
        struct heredoc h;
        int rc = heredoc_parse_word(words[i], &h, err);
        if (rc < 0) {
            for (size_t k = 0; k < count; k++)
                heredoc_release(&docs[k]);
            free(docs);
            strv_free(words);
            return -1;
        }
        if (rc == 0)
            continue;
        docs = array_grow(docs, count, sizeof(*docs));
        docs[count++] = h;
    }
    strv_free(words);
    *out = docs;
    *n = count;
    return 0;
}

void
heredoc_release(struct heredoc *h)
{
    free(h->name);
    free(h->content);
    memset(h, 0, sizeof(*h));
}

const struct heredoc *
instr_heredoc_for_arg(const struct instr *in, const char *arg)
{
    struct heredoc h;
    struct lade_error ignored = {0};
    const struct heredoc *found = NULL;

    if (heredoc_parse_word(arg, &h, &ignored) != 1)
        return NULL;
    for (size_t i = 0; i < in->nheredocs; i++)
        if (strcmp(in->heredocs[i].name, h.name) == 0)
            found = &in->heredocs[i]; /* the last one wins, as in BuildKit's name map */
    heredoc_release(&h);
    return found;
}

char *
heredoc_chomp(const char *content)
{
    struct lade_buf b = LADE_BUF_INIT;
    bool line_start = true;

    for (const char *p = content; *p; p++) {
        if (line_start && *p == '\t')
            continue;
        line_start = *p == '\n';
        lade_buf_appendc(&b, *p);
    }
    return lade_buf_steal(&b);
}
