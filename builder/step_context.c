/* SPDX-License-Identifier: Apache-2.0 */
/* FROM a named context (--build-context NAME=...), as BuildKit's Dockerfile frontend resolves
 * one: docker-image://REF is that image; a directory (local, git or downloaded) is the root
 * filesystem of an otherwise empty image, so its tree becomes one layer on scratch. The layer
 * is keyed on the tree's content like a COPY, so an unchanged directory is a cache hit. */
#include "steps.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cache.h"
#include "copy.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

int
step_from_named_context(struct build *b, struct stage_state *ss, const struct named_context *nc,
                        struct lade_error *err)
{
    struct fs_step fs = {0};
    cleanup_close int dst = -1;
    digest_t content;
    bool hit = false;
    int rc;

    if (nc->kind == NAMED_IMAGE) {
        if (stage_load_image(b, ss, nc->image, err) < 0)
            return lade_error_prefix(err, "--build-context %s", nc->name);
        return 0;
    }
    stage_scratch_base(b, ss);
    struct copy_opts o = {.src_root = nc->dir_fd, .ignore = nc->ignore, .dst_root = -1};
    o.hash = sha256_new();
    rc = copy_tree(&o, "", "/", true, err);
    sha256_final(o.hash, content);
    sha256_free(o.hash);
    o.hash = NULL;
    if (rc < 0)
        return lade_error_prefix(err, "--build-context %s", nc->name);
    cleanup_free char *identity = xasprintf("context %s", content);
    cleanup_free char *created_by = xasprintf("context %s", nc->name);
    cache_key_init(b, ss, identity);
    if (stage_try_cache(b, ss, created_by, &hit, err) < 0)
        return -1;
    b->step_cached = hit;
    if (hit)
        return 0;
    if (fs_step_begin(b, ss, false, &fs, err) < 0)
        goto fail;
    dst = open(fs.upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dst < 0) {
        lade_error_sys(err, "open '%s'", fs.upper);
        goto fail;
    }
    o.dst_root = dst;
    if (copy_tree(&o, "", "/", true, err) < 0)
        goto fail;
    return fs_step_end(b, ss, &fs, true, created_by, err);
fail:
    fs_step_end(b, ss, &fs, false, NULL, NULL);
    return lade_error_prefix(err, "--build-context %s", nc->name);
}
