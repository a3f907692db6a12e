/* SPDX-License-Identifier: Apache-2.0 */
/* RUN in the chroot tier (sandbox/chroot.h): what it cannot do is refused before anything
 * runs, then the stage's tree is made, snapshotted and handed to the chrooted process; the
 * step's fs_step_end turns the changes into the layer. */
#include "step_run_chroot.h"

#include "sandbox/chroot.h"

int
run_chroot_check(const struct build *b, const struct run_cmd *r, bool script, enum sandbox_net net,
                 struct lade_error *err)
{
    if (r->nmounts > 0 || script)
        return lade_error_set(err, LADE_ERR_OTHER,
                              "%s in the chroot isolation tier is not implemented yet: it has "
                              "no bind or tmpfs mounts (an unprivileged container cannot "
                              "mount); use --isolation namespaces where lade may mount",
                              script ? "a RUN heredoc script (#!)" : "RUN --mount");
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
run_chroot_prepare(const struct stage_state *ss, struct fs_step *fs, struct lade_error *err)
{
    if (stage_tree_fill(ss, fs->merged, err) < 0 ||
        chroot_prepare(fs->merged, fs->dir, NULL, err) < 0)
        return -1;
    return fs_step_snapshot(fs, chroot_run_skip, err);
}
