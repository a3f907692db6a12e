/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes layer extraction: the input is a layer blob (tar, gzip or zstd). Each run extracts
 * into a fresh directory under $TMPDIR and removes it. Runs as root like lade, so devices,
 * owners and trusted.* xattrs are really created; nothing may appear outside the directory. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/common/fsutil.h"
#include "layers/layers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    struct lade_error err = {0};
    char top[4096];
    digest_t diff_id;

    int in = memfd_create("layer", MFD_CLOEXEC);
    if (in < 0 || write_all(in, data, size) < 0 || lseek(in, 0, SEEK_SET) < 0)
        abort();
    /* top/root is the layer dir; top must hold nothing else afterwards */
    snprintf(top, sizeof(top), "%s/lade-fuzz-XXXXXX", tmp);
    if (mkdtemp(top) == NULL)
        abort();
    int topfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (topfd < 0 || mkdirat(topfd, "root", 0755) < 0)
        abort();
    int dfd = openat(topfd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        abort();
    int rc = layer_extract(in, dfd, NULL, diff_id, &err);
    if (rc < 0 && (err.code == 0 || err.msg[0] == '\0'))
        abort(); /* every failure says why */
    if (rc == 0 && !digest_valid(diff_id))
        abort();
    close(dfd);
    close(in);
    struct lade_error rm_err = {0};
    if (rm_rf_at(topfd, "root", &rm_err) < 0)
        abort();
    close(topfd);
    if (rmdir(top) < 0)
        abort(); /* something was written beside root: outside the layer dir */
    return 0;
}
