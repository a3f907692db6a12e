/* SPDX-License-Identifier: Apache-2.0 */
/* RUN in the chroot tier (sandbox/chroot.h): what it cannot do is refused before anything
 * runs, then the stage's tree is made with the step's mounts put in, snapshotted and handed
 * to the chrooted process; the step's fs_step_end turns the changes into the layer. */
#include "step_run_chroot.h"

#include "sandbox/chroot.h"
#include "common/strv.h"

int
run_chroot_check(const struct build *b, const struct run_cmd *r, enum sandbox_net net,
                 struct lade_error *err)
{
    for (size_t i = 0; i < r->nmounts; i++) {
        if (r->mounts[i].type == RUN_MOUNT_BIND && !r->mounts[i].readonly)
            return lade_error_set(err, LADE_ERR_OTHER,
                                  "RUN --mount=type=bind,rw in the chroot isolation tier is "
                                  "not implemented yet (its writes go to an overlay, which an "
                                  "unprivileged container cannot mount)");
    }
    if (net == SANDBOX_NET_NONE)
        return lade_error_set(err, LADE_ERR_OTHER,
                              "--network none is not available in the chroot isolation tier: "
                              "RUN uses the surrounding container's network");
    if (sandbox_limits_requested(&b->opts->limits))
        return lade_error_set(err, LADE_ERR_USAGE,
                              "--memory, --cpus, --cpu-quota and --pids-limit are not "
                              "available in the chroot isolation tier (no cgroup of lade's)");
    return 0;
}

int
run_chroot_prepare(const struct stage_state *ss, struct fs_step *fs,
                   const struct sandbox_mount *mounts, size_t nmounts, char ***placed,
                   struct lade_error *err)
{
    if (stage_tree_fill(ss, fs->merged, err) < 0 ||
        chroot_prepare(fs->merged, fs->dir, NULL, err) < 0 ||
        chroot_mounts_place(fs->merged, mounts, nmounts, placed, err) < 0)
        return -1;
    char **skip = strv_dup(chroot_run_skip);
    for (size_t i = 0; *placed != NULL && (*placed)[i] != NULL; i++)
        skip = strv_push(skip, (*placed)[i]);
    int rc = fs_step_snapshot(fs, skip, err);
    strv_free(skip);
    return rc;
}
