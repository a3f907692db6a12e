/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* ADD's remote sources (step_add_remote.c), for copy.c: resolved first (the cache key needs
 * their identity), then, on a cache miss, made into a directory the copy reads from like any
 * local tree. */

#include "fetch.h"
#include "stage.h"

struct remote_source {
    bool is_git;
    char *url;               /* http(s): the URL */
    struct fetched_url file; /* http(s): the download */
    struct git_ref git;      /* git: the reference */
    char commit[41];         /* git: the resolved commit */
    bool keep_git_dir;
    char *key;  /* the source's identity for the step's cache key */
    char *tmp;  /* the directory of the store's tmp/ that remote_source_release removes */
    char *root; /* after remote_source_materialize: the directory to copy from (in tmp) */
    char *rel;  /* the source inside root: the file name, or the repository's subdir ("" top) */
};

/* An http(s) URL or a git reference (file:// is not taken from a Dockerfile). */
bool add_source_is_remote(const char *src);
/* Downloads a URL (with c->checksum verified), or resolves a git reference to its commit
 * (c->checksum, when given, must be a prefix of it; c->keep_git_dir applies). */
int remote_source_resolve(struct build *b, const char *src, const struct copy_cmd *c,
                          struct remote_source *rs, struct lade_error *err);
/* Makes rs->root: a directory in tmp/ holding the file, or the checked-out repository. */
int remote_source_materialize(struct build *b, struct remote_source *rs, struct lade_error *err);
void remote_source_release(struct remote_source *rs);
