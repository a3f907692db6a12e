/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes image reference parsing. Besides not crashing, the normalised form of an accepted
 * reference must parse back to itself, and a refusal must be a usage error with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    struct image_ref r = {0}, again = {0};
    struct lade_error err = {0};

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (image_ref_parse(s, &r, &err) < 0) {
        if (err.code != LADE_ERR_USAGE || err.msg[0] == '\0' || r.domain != NULL)
            abort();
        free(s);
        return 0;
    }
    char *full = image_ref_string(&r), *familiar = image_ref_familiar(&r);
    char *repo = image_ref_repo(&r);
    if (r.domain == NULL || r.path == NULL || (r.tag == NULL && r.digest == NULL) ||
        strncmp(full, repo, strlen(repo)) != 0)
        abort();
    if (image_ref_parse(full, &again, &err) < 0)
        abort();
    char *full2 = image_ref_string(&again);
    if (strcmp(full, full2) != 0)
        abort();
    free(full2);
    free(full);
    free(familiar);
    free(repo);
    image_ref_release(&again);
    image_ref_release(&r);
    free(s);
    return 0;
}
