/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <sys/types.h>

/* (dev, ino) -> the first path seen for that inode: how a tree walk finds hard links. Used by
 * the layer writer (hardlink entries) and by COPY (links in the upper dir, and in its cache key).
 * A zero struct inomap is an empty map; release it with inomap_release. */
struct inomap_slot;
struct inomap {
    struct inomap_slot *slots;
    size_t cap, n; /* cap is 0 or a power of two */
};

/* The path recorded for (dev, ino), or NULL after recording a copy of path for it. */
const char *inomap_take(struct inomap *m, dev_t dev, ino_t ino, const char *path);
void inomap_release(struct inomap *m);
