/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Which user namespace lade runs in, and what that changes for overlay. libc only. */

#include <stdbool.h>

/* Whether this process is in the initial user namespace (its uid_map is the identity over
 * all 2^32-1 ids). lade's rootless tier runs it in a namespace of its own instead. */
bool userns_is_initial(void);

/* The xattr overlay marks an opaque directory with. trusted.* needs CAP_SYS_ADMIN in the
 * initial user namespace, so a user namespace's overlay is mounted with userxattr and uses
 * user.overlay.* (kernel 5.11+, Documentation/filesystems/overlayfs.rst). */
const char *userns_overlay_opaque_xattr(void);

/* Marks the directory dirfd opaque for overlay: with the name above, or user.overlay.opaque
 * where trusted.* cannot be set (EPERM: no CAP_SYS_ADMIN, as lade inside a container, the
 * chroot tier). -1 with errno when neither can be set. */
int overlay_opaque_mark(int dirfd);
/* Whether xattr name is an opaque mark (trusted.overlay.opaque or user.overlay.opaque): the
 * layer writer and the trees read either, whoever wrote it. */
bool overlay_opaque_name(const char *name);
/* Whether the directory dirfd carries either opaque mark with the value "y". */
bool overlay_opaque_marked(int dirfd);

/* Whether name is overlay's own bookkeeping (trusted.overlay.* or user.overlay.*): never part of
 * a layer, whichever namespace wrote it. */
bool userns_overlay_xattr(const char *name);
