/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes .dockerignore reading and matching: the input is the file text, then a NUL, then
 * newline-separated paths to match. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/common/xalloc.h"
#include "parser/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t text_len = nul ? (size_t) (nul - data) : size;
    struct dockerignore *di = NULL;
    struct lade_error err = {0};

    if (dockerignore_parse((const char *) data, text_len, &di, &err) < 0)
        return 0;
    dockerignore_has_exceptions(di);
    if (nul != NULL) {
        char *paths = xstrndup((const char *) nul + 1, size - text_len - 1);
        for (char *line = paths, *next; line != NULL; line = next) {
            next = strchr(line, '\n');
            if (next != NULL)
                *next++ = '\0';
            bool ex;
            lade_error_clear(&err);
            dockerignore_matches(di, line, &ex, &err);
        }
        free(paths);
    } else {
        bool ex;
        dockerignore_matches(di, "a/b/c.txt", &ex, &err);
    }
    dockerignore_free(di);
    return 0;
}
