/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The content digests of a build context's files, kept in the store (ROOT/cache/.context/HEX,
 * HEX of the context's real path) and keyed by what stat says of a file: its path in the
 * context, size, mtime and ctime (ns), inode and device. A rebuild then reads only the files
 * whose metadata moved (an edit, a touch, a file put back with its old mtime: its ctime moved)
 * to hash COPY's sources (issue 12 goal 8), as git's index does. An entry recorded while the
 * file's times were not yet older than the recording ("racily clean": a write in the same
 * clock tick would keep them) is not kept. A damaged file is ignored as a whole and rewritten;
 * two builds at once each write a whole file (the last one stays). Entries of files a build
 * did not see are dropped once they outnumber the seen ones, so the file follows the context. */

#include <stdbool.h>
#include <sys/stat.h>

#include "common/error.h"
#include "../layers/layers.h"
#include "../layers/store/store.h"

struct digest_cache;

/* The digests recorded for context_dir (a local directory), or NULL when none can be kept
 * (a context unpacked into the store's tmp/). Never fails: a missing or damaged file starts
 * an empty set. */
struct digest_cache *digest_cache_open(struct store *st, const char *context_dir);
/* The digest recorded for the file rel (relative to the context) with stat st. */
bool digest_cache_get(struct digest_cache *h, const char *rel, const struct stat *st, digest_t out);
/* Records digest d of rel, whose stat st was taken before its content was read at read_ns
 * (CLOCK_REALTIME, ns) or later; an entry whose times are not older than that is not kept. */
void digest_cache_put(struct digest_cache *h, const char *rel, const struct stat *st, const char *d,
                      int64_t read_ns);
/* Writes the set back when it changed (errors ignored: it is only a cache) and frees it. */
void digest_cache_close(struct digest_cache *h);
/* CLOCK_REALTIME in ns: what digest_cache_put's read_ns is measured in. */
int64_t digest_cache_now(void);
