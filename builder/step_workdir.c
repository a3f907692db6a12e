/* SPDX-License-Identifier: Apache-2.0 */
/* WORKDIR: sets the working directory and, as BuildKit does, creates it (owned by the USER in
 * force) in a layer of its own. */
#include "steps.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "rootfs.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

int
step_workdir(struct build *b, struct stage_state *ss, const struct command *cmd,
             struct lade_error *err)
{
    json_t *c = oci_config_container(ss->config);
    const char *user = json_string_value(json_object_get(c, "User"));
    cleanup_free char *clean = stage_abs_path(ss, cmd->u.path), *hist = NULL, *v_path = NULL,
                      *v_user = NULL;
    cleanup_close int rootfd = -1;
    struct fs_step fs;
    uid_t uid = 0;
    gid_t gid = 0;

    json_object_set_new(c, "WorkingDir", json_string(clean));
    hist = xasprintf("WORKDIR %s", clean); /* BuildKit's WORKDIR history has no "# buildkit" */
    /* the view (cache.h): the resolved path and the directory's owner */
    v_path = xasprintf("path=%s", clean);
    v_user = xasprintf("user=%s", user ? user : "");
    char *view[] = {v_path, v_user, NULL};
    cache_key_step(ss, cmd, view);
    if (strcmp(clean, "/") == 0) {
        stage_add_history(b, ss, hist, true);
        return 0;
    }
    if (stage_try_cache(b, ss, hist, &b->step_cached, err) < 0 || b->step_cached)
        return b->step_cached ? 0 : -1;
    const char *paths[] = {clean, NULL};
    int rc;
    do { /* again on the extracted base when the lazy one could not tell (fs_step_end) */
        if (fs_step_begin_adding(b, ss, paths, user && *user, &fs, err) < 0)
            goto fail;
        rootfd = open(fs.merged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0) {
            lade_error_sys(err, "open '%s'", fs.merged);
            goto fail;
        }
        if ((user && *user && fs_step_lookup_user(&fs, rootfd, user, &uid, &gid, err) < 0) ||
            rootfs_mkdir_p(rootfd, clean, 0755, uid, gid, err) < 0)
            goto fail;
        close(steal_fd(&rootfd));
        rc = fs_step_end(b, ss, &fs, true, hist, err);
    } while (rc > 0);
    return rc;
fail:
    fs_step_end(b, ss, &fs, false, NULL, NULL);
    return -1;
}
