/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* RUN's hooks for the chroot isolation tier (step_run_chroot.c). */

#include "stage.h"

/* A clear error for what the chroot tier cannot do: RUN --mount=type=bind,rw (its writes go
 * to an overlay), --network none (RUN shares the container's network), resource limits (no
 * cgroup of lade's). */
int run_chroot_check(const struct build *b, const struct run_cmd *r, enum sandbox_net net,
                     struct lade_error *err);
/* The stage's tree in fs->merged with the RUN's /dev, /proc, /sys, /etc/hosts,
 * /etc/resolv.conf and mounts (chroot_mounts_place: *placed, for chroot_mounts_return), and
 * its snapshot (those paths left out of the layer). */
int run_chroot_prepare(const struct stage_state *ss, struct fs_step *fs,
                       const struct sandbox_mount *mounts, size_t nmounts, char ***placed,
                       struct lade_error *err);
