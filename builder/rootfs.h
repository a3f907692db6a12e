/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Paths inside an image's root, never escaping it. */

#include <sys/types.h>

#include "common/error.h"

/* openat2(RESOLVE_IN_ROOT) of path (absolute or relative, taken from the root) under rootfd. */
int rootfs_open(int rootfd, const char *path, int flags, mode_t mode, struct lade_error *err);
/* mkdir -p inside the root; created directories get mode and uid/gid. */
int rootfs_mkdir_p(int rootfd, const char *path, mode_t mode, uid_t uid, gid_t gid,
                   struct lade_error *err);
/* --chown / WORKDIR owner "USER[:GROUP]" as BuildKit resolves it: each part is "root", an id or
 * empty (0), which need no file, or a name looked up in the root's /etc/passwd or /etc/group.
 * Without a group a user name gets its primary group and an id gid = uid. Unknown names fail. */
int rootfs_lookup_user(int rootfd, const char *spec, uid_t *uid, gid_t *gid,
                       struct lade_error *err);
/* Cleans an absolute path ("/a/./b/../c/" -> "/a/c"); caller frees. */
char *path_clean_abs(const char *path);
