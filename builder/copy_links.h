/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Hard links inside one COPY (copy_links.c): a source file with several links is copied once and
 * its other names among the copied files become links to that first copy, in the upper dir and
 * so in the layer, as BuildKit's copy (fsutil) does. Only regular files are linked. */

#include <stdbool.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/inomap.h"

/* Copy mode. 1 after linking dst_dir/name to the earlier copy of st's inode, 0 when there is
 * none (dir_path/name, the entry's image path, is then recorded as the first), -1 on error.
 * Recorded paths are resolved inside dst_root, never outside. */
int copy_link_earlier(struct inomap *links, int dst_root, const struct stat *st,
                      const char *dir_path, int dst_dir, const char *name, struct lade_error *err);

/* Hash mode. The source path of the earlier entry for st's inode, or NULL after recording
 * rel: the cache key then holds the hardlink structure, not only the contents. */
const char *copy_link_first(struct inomap *links, const struct stat *st, const char *rel);

/* dir/name for image paths ("/" + "a" is "/a"); caller frees. */
char *copy_path_join(const char *dir, const char *name);
