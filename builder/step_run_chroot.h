/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* RUN's hooks for the chroot isolation tier (step_run_chroot.c). */

#include "stage.h"

/* A clear error for what the chroot tier cannot do: RUN --mount (no mounts at all), a
 * heredoc script (it runs from a /dev/pipes mount), --network none (RUN shares the
 * container's network), resource limits (no cgroup). */
int run_chroot_check(const struct build *b, const struct run_cmd *r, bool script,
                     enum sandbox_net net, struct lade_error *err);
/* The stage's tree in fs->merged with the RUN's /dev, /proc, /sys, /etc/hosts and
 * /etc/resolv.conf, and its snapshot (those paths left out of the layer). */
int run_chroot_prepare(const struct stage_state *ss, struct fs_step *fs, struct lade_error *err);
