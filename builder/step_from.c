/* SPDX-License-Identifier: Apache-2.0 */
/* What a --from names (COPY --from, and RUN --mount from= when it lands), as BuildKit resolves
 * it: a named context (--build-context) first, then a stage of this build (built before the
 * step: the plan knows the edge), then an image (from the store or its registry). Stages and
 * images are mounted read-only on a step directory of their own; a directory context is used in
 * place. */
#include "steps.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int
from_root_open(struct build *b, const char *from, struct from_root *r, struct lade_error *err)
{
    const struct named_context *nc = named_context_find(&b->named, from);
    const struct stage_state *src = NULL;

    memset(r, 0, sizeof(*r));
    r->fd = -1;
    if (nc != NULL && nc->kind == NAMED_DIR) { /* read as the build context is */
        r->fd = nc->dir_fd;
        r->path = nc->dir;
        r->ignore = nc->ignore;
        return 0;
    }
    r->keep_owner = true;
    if (nc != NULL) {
        if (stage_load_image(b, &r->image, nc->image, err) < 0)
            return lade_error_prefix(err, "--build-context %s", nc->name);
        src = &r->image;
    } else if ((src = stage_find_built(b, from)) == NULL) {
        if (plan_find_stage(b->plan, from) >= 0)
            return lade_error_set(
                err, LADE_ERR_OTHER,
                "internal: stage \"%s\" is not built before the step that needs it", from);
        if (stage_load_image(b, &r->image, from, err) < 0)
            return -1;
        src = &r->image;
    }
    if (fs_step_mount_ro(b, src, &r->fs, &r->own_fd, err) < 0)
        return -1;
    r->fd = r->own_fd;
    r->path = r->fs.merged;
    return 0;
}

void
from_root_close(struct build *b, struct stage_state *ss, struct from_root *r)
{
    if (r->own_fd > 0)
        close(r->own_fd);
    fs_step_end(b, ss, &r->fs, false, NULL, NULL);
    stage_state_release(&r->image);
    memset(r, 0, sizeof(*r));
    r->fd = -1;
}
