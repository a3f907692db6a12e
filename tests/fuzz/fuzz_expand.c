/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes shell-word expansion and heredoc recognition. The first byte picks the escape
 * character and the lexer modes; the rest is the word. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/common/strv.h"
#include "builder/common/xalloc.h"
#include "parser/parser-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *const env[] = {(char *) "A=a",    (char *) "EMPTY=",     (char *) "SP=x  y",
                            (char *) "PAT=*/", (char *) "DOLLAR=$$0", NULL};

static const char *
lookup(void *ud, const char *name)
{
    return strv_env_get(ud, name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char *word = xstrndup((const char *) data + 1, size - 1);

    struct shell_lex lx = {(data[0] & 1) ? '`' : '\\', (unsigned) (data[0] >> 1) & 15u, lookup,
                           (void *) env};
    struct expander x = {lx.escape, lookup, (void *) env};
    struct lade_error err = {0};
    char *out = NULL, **words = NULL;

    if (shell_process(&lx, word, &out, &words, &err) == 0) {
        free(out);
        strv_free(words);
    }
    lade_error_clear(&err);
    if (expand_word(&x, word, &out, &err) == 0)
        free(out);
    lade_error_clear(&err);
    if (expand_raw(&x, word, &out, &err) == 0)
        free(out);
    lade_error_clear(&err);

    struct heredoc *docs = NULL;
    size_t n = 0;
    if (heredocs_from_line(word, &docs, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++)
            heredoc_release(&docs[i]);
        free(docs);
    }
    lade_error_clear(&err);
    struct heredoc h;
    if (heredoc_parse_word(word, &h, &err) == 1)
        heredoc_release(&h);
    free(word);
    return 0;
}
