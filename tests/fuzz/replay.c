/* SPDX-License-Identifier: Apache-2.0 */
/* Replays a fuzz target's corpus files without libFuzzer, so `make test` runs the corpora
 * under the normal (and sanitizer) builds. Usage: replay FILE... */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(int argc, char **argv)
{
    int n = 0;

    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL) {
            perror(argv[i]);
            return 1;
        }
        uint8_t *buf = NULL;
        size_t len = 0, cap = 0, r;
        do {
            if (cap - len < 4096)
                buf = realloc(buf, cap = cap * 2 + 8192);
            if (buf == NULL)
                abort();
            r = fread(buf + len, 1, cap - len, f);
            len += r;
        } while (r > 0);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
        n++;
    }
    printf("replay: %d inputs\n", n);
    return 0;
}
