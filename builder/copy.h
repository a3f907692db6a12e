/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The copy engine of COPY and ADD (copy_tree.c, copy_sources.c): resolving the sources inside
 * a source root, and copying one source (a file or a directory's contents) into a destination
 * root, or hashing what such a copy would write. Both roots are directory fds opened on trees
 * of the host (the context, a mounted stage or image, a fetched file's directory, a step's
 * merged rootfs); every path is resolved inside its root (RESOLVE_IN_ROOT), so neither "../"
 * nor a symlink in a source or in the image can reach the host. Nothing here knows the
 * Dockerfile or the stage: step_copy.c reads the typed command and fills struct copy_opts. */

#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"
#include "digest_cache.h"
#include "common/inomap.h"
#include "common/taskpool.h"
#include "../layers/layers.h"
#include "../parser/parser.h"

struct copy_opts {
    int src_root;                      /* borrowed */
    const struct dockerignore *ignore; /* .dockerignore (sources from the context), or NULL */
    /* --exclude patterns, matched against each entry's path relative to the source given
     * (BuildKit's ExcludePatterns), or NULL */
    const struct dockerignore *exclude;
    int dst_root; /* borrowed; unused in hash mode */
    bool chown;   /* every entry gets uid:gid */
    uid_t uid;
    gid_t gid;
    bool chmod; /* every entry (directories too) gets mode */
    mode_t mode;
    /* Without chown: entries keep their owners (COPY --from) or become 0:0 (the context). */
    bool keep_owner;
    /* Hash mode (the cache key): nothing is written; each entry's path, mode, owner as it
     * will be set, content digest or link target, and hard links go into hash. */
    struct sha256 *hash;
    /* Hash mode: each entry is also told here, with what of it went into the hash (the cache
     * explanations name the files that changed); NULL: not told. */
    void (*on_entry)(void *ctx, const char *rel, const char *meta, const char *extra);
    void *on_entry_ctx;
    /* Hard links among the copied files (copy_links.h). NULL: one map per copy_tree call; a
     * caller that shares one between sources links files across them, as BuildKit does. */
    struct inomap *links;
    /* Workers for the files' copies and digests (common/taskpool.h). NULL: copy_tree makes one
     * of the machine's size for its call (LADE_COPY_THREADS=0: none, all on this thread). */
    struct taskpool *pool;
    /* Hash mode, sources from the build context: the digests known by file metadata
     * (digest_cache.h), so unchanged files are not read again; NULL: every file is read. */
    struct digest_cache *hashes;
};

/* Copies (or hashes) the source rel, a path relative to o->src_root ("" is the root itself),
 * to dest, an absolute path in o->dst_root. A directory source copies its contents into dest
 * (created with missing parents, 0755, owned as the entries are); a file goes into dest when
 * dest_is_dir or dest is an existing directory, else it becomes dest. The source path itself
 * is followed (inside its root), as docker does; symlinks below it are copied as symlinks.
 * Sockets are skipped. Ownership, mode and mtime follow o; mtimes are kept. */
int copy_tree(const struct copy_opts *o, const char *rel, const char *dest, bool dest_is_dir,
              struct lade_error *err);

/* COPY --parents: copies base/kept to dest/kept (BuildKit 1.7: the part of the source after
 * its "/./" pivot, or all of it, is kept under dest). The directories of kept on the way, and
 * kept itself when a directory, get their source directory's metadata (fsutil's
 * createParentDirs copies their file info), owner and mode following o. base may be "". */
int copy_parents(const struct copy_opts *o, const char *base, const char *kept, const char *dest,
                 struct lade_error *err);

/* ADD of a local source: when rel is a regular file holding a tar archive (plain, gzip, bzip2,
 * xz or zstd; by content, as docker decides), unpacks it into the directory dest (made with
 * missing parents, owned as --chown says) and returns 1; 0 when rel is anything else (the
 * caller copies it), -1 on error. --chmod does not apply to unpacked entries (BuildKit's
 * unpack takes only the owner). Not for hash mode: the file's content digest covers it. */
int copy_unpack(const struct copy_opts *o, const char *rel, const char *dest,
                struct lade_error *err);

/* Whether rel is excluded by o->ignore (paths relative to the source root). */
int copy_is_ignored(const struct copy_opts *o, const char *rel, bool *excluded,
                    struct lade_error *err);

/* ---- copy_sources.c: source resolution ---- */

/* A source pattern has wildcards (*, ? or [) as BuildKit's containsWildcards sees them. */
bool copy_has_wildcard(const char *s);

/* The destination as written names a directory: "", "." or a trailing slash (BuildKit's
 * dispatchCopy); COPY with several sources needs one, which the caller adds. */
bool copy_dest_names_dir(const char *raw);

/* COPY --parents with a wildcard after the pivot (BuildKit passes it as an include pattern, in
 * .dockerignore syntax, so "**" crosses directories): the paths below base (relative to the
 * source root, "" for the root) whose part below base matches pattern, in walk order; the
 * contents of a matching directory come with it. A missing base matches nothing. *out is a
 * NULL-terminated vector (strv_free). */
int copy_match_below(const struct copy_opts *o, const char *base, const char *pattern, char ***out,
                     struct lade_error *err);

/* Writes each heredoc source as the file dirfd/NAME, mode 0644 (BuildKit's Mkfile in a
 * scratch state, owned 0:0; its mtime is the time of writing, clamped like any other in the
 * layer). The step then copies them from dirfd like files of a context. A name that is not a
 * single file name fails. */
int copy_write_docs(int dirfd, const struct copy_doc *docs, size_t n, struct lade_error *err);

/* Resolves the source patterns inside o->src_root into relative paths ("" for the root),
 * sorted within each pattern and in pattern order: a wildcard matching nothing contributes
 * nothing (BuildKit's AllowEmptyWildcard), a path that does not exist or that o->ignore
 * excludes fails with "\"SRC\": not found" (naming the context when in_context). *out is a
 * NULL-terminated vector (strv_free), *nfound its length. *several is set when any pattern
 * matched more than one path: the destination is then a directory. */
int copy_resolve_sources(const struct copy_opts *o, char *const *patterns, size_t npatterns,
                         bool in_context, char ***out, size_t *nfound, bool *several,
                         struct lade_error *err);
