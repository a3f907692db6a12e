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

/* RUN --mount without mounting: before the snapshot, each mount's content is put at its
 * target in root (whatever the tree had there is removed first, as a mount hides it): a
 * cache directory (a writable bind) is moved in, a read-only bind's file or directory is
 * copied (writes to the copy are dropped with the tree), a socket (SSH agent) hard-linked, a
 * tmpfs an empty 1777 directory. Missing targets and parents are created inside root.
 * *placed gets each target's path in the tree, symlinks resolved (for the snapshot's skip
 * list), in the order of mounts; on failure those placed so far. */
int chroot_mounts_place(const char *root, const struct sandbox_mount *mounts, size_t n,
                        char ***placed, struct lade_error *err);
/* Moves the caches that chroot_mounts_place moved in back to their sources (an empty one
 * when the RUN removed it). Call it after the run, before the tree is removed. */
void chroot_mounts_return(const char *root, const struct sandbox_mount *mounts,
                          char *const *placed);

/* sandbox_run's contract in the chrooted tree root instead of an overlay: spec->lowerdirs,
 * upperdir and workdir are unused; mounts are ignored (chroot_mounts_place put them in);
 * net is the container's whatever it says (the caller refuses none); limits are not applied
 * (the caller refuses them). Capabilities are docker's default set within what this process
 * holds; docker's seccomp profile is loaded when lade holds CAP_SYS_ADMIN, else the
 * container's own filter (docker's and podman's default) is what confines RUN. */
int sandbox_chroot_run(const struct sandbox_spec *spec, const char *root, int *status,
                       struct lade_error *err);
