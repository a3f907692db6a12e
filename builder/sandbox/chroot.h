/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The chroot tier's RUN (issue 9, tier 3): for a default docker or podman container, where
 * lade can neither mount nor create namespaces. The command runs chrooted in a plain tree
 * (tree.h), with the surrounding container's network, PID namespace and seccomp filter;
 * what lade provides instead of its mounts is said at each function. */

#include "sandbox.h"

/* The paths of a RUN's tree that never reach its layer, as tier 1's mounts never do: /dev,
 * /proc, /sys, /etc/hosts, /etc/resolv.conf. NULL-terminated, relative. */
extern char *const chroot_run_skip[];

/* Prepares root for a RUN: /proc and /sys as empty directories (nothing can be mounted
 * there: tools that read /proc fail as they do without it), /dev with the nodes mknod
 * can make (null, zero, full, random, urandom, tty: none without CAP_MKNOD, which podman
 * drops by default), /etc/hosts and /etc/resolv.conf written from step_dir's hosts and
 * resolv.conf, made first (the container's own resolver). Symlinks in root lead nowhere
 * outside it. Call it before the snapshot. */
int chroot_prepare(const char *root, const char *step_dir, const char *hostname,
                   struct lade_error *err);

/* sandbox_run's contract in the chrooted tree root instead of an overlay: spec->lowerdirs,
 * upperdir and workdir are unused; mounts must be empty (the caller refuses RUN --mount);
 * net is the container's whatever it says (the caller refuses none); limits are not applied
 * (the caller refuses them). Capabilities are docker's default set within what this process
 * holds; docker's seccomp profile is loaded when lade holds CAP_SYS_ADMIN, else the
 * container's own filter (docker's and podman's default) is what confines RUN. */
int sandbox_chroot_run(const struct sandbox_spec *spec, const char *root, int *status,
                       struct lade_error *err);
