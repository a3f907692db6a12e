/* SPDX-License-Identifier: Apache-2.0 */
/* Manifests come from registries and archives: hostile bytes. Parse them as a manifest and as
 * generic JSON, and check that what parses dumps back to bytes that parse the same way. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../layers/oci/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lade_error err = {0};
    struct oci_manifest m;

    if (oci_manifest_parse((const char *) data, size, &m, &err) == 0) {
        json_t *again = oci_manifest_new(&m.config, m.layers, m.nlayers);
        size_t len;
        char *s = oci_json_dump(again, &len);
        struct oci_manifest m2;
        struct lade_error err2 = {0};
        if (oci_manifest_parse(s, len, &m2, &err2) != 0 || m2.nlayers != m.nlayers ||
            strcmp(m2.config.digest, m.config.digest) != 0)
            abort();
        oci_manifest_release(&m2);
        free(s);
        json_decref(again);
        oci_manifest_release(&m);
    }
    lade_error_clear(&err);
    json_t *v = oci_json_parse((const char *) data, size, "input", &err);
    if (v != NULL) {
        struct oci_desc d;
        struct lade_error err3 = {0};
        oci_desc_parse(v, "input", &d, &err3);
        free(oci_json_dump(v, NULL));
        json_decref(v);
    }
    return 0;
}
