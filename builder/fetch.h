/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Remote sources: files behind http(s) URLs (fetch_url.c) and git repositories (fetch_git.c),
 * for ADD and for build contexts. They sit below the stage: they use the store and layers/ (the
 * registry client's transport for HTTP, the `git` program for git) and nothing of a build. */

#include <stdbool.h>
#include <stdint.h>

#include "../layers/layers.h"
#include "../layers/registry/registry.h"
#include "../layers/store/store.h"

/* ---- http(s) URLs (fetch_url.c) ---- */

/* "http://..." or "https://..." (case-insensitive scheme). */
bool fetch_is_http_url(const char *s);
/* The file name ADD gives a URL's content, as BuildKit's Dockerfile frontend does: the last
 * element of the URL's path, percent-decoded ("__unnamed__" when the path has none), made safe
 * ("download" for "", ".", ".." or a name with control characters). Caller frees. */
char *fetch_url_file_name(const char *url);
/* An HTTP date (RFC 1123, RFC 850 or asctime, as Go's http.ParseTime) as seconds since the
 * epoch; -1 when malformed. */
int64_t fetch_http_time(const char *s);

struct fetched_url {
    digest_t digest; /* sha256 of the content */
    char *path;      /* the content: a blob in the store (read only, never modify) */
    int64_t mtime;   /* Last-Modified, else 0 (BuildKit) */
    bool from_store; /* no new bytes came: 304 Not Modified, or --checksum found locally */
};
/* Downloads url into the store's blobs, remembering its ETag and Last-Modified in
 * ROOT/cache/http/HEX(sha256(url)). Next time the stored copy is revalidated (If-None-Match):
 * a 304 reuses it. checksum ("sha256:...", or NULL) is verified before the content is used; a
 * stored blob with that digest is used without asking the server (BuildKit). Failures of the
 * server or the network: LADE_ERR_NET naming the status and the URL. */
int fetch_url(struct store *st, const struct registry_opts *reg, const char *url,
              const char *checksum, struct fetched_url *out, struct lade_error *err);
void fetched_url_release(struct fetched_url *f);

/* ---- git repositories (fetch_git.c) ---- */

/* A git reference as BuildKit's Dockerfile frontend parses one: "https://host/repo.git#ref:dir",
 * "git@host:repo.git#ref", "git://host/repo#ref", "ssh://...", with the query forms ?ref=,
 * ?tag=, ?branch=, ?subdir=, ?keep-git-dir=. */
struct git_ref {
    char *remote;     /* what git clones: the URL without fragment and query */
    char *ref;        /* "" for the remote's HEAD */
    char *subdir;     /* "" for the top, else cleaned, without leading '/' */
    int keep_git_dir; /* -1 unset, 0, 1 */
};
/* 1 and *out filled when s is a git reference; 0 when it is not one (a local path, a plain
 * http URL without ".git"); -1 with err set when it is one but malformed. file:// URLs are
 * taken only with allow_file (lade: for the command line, never for a Dockerfile's ADD, which
 * must not reach the host's files). */
int git_ref_parse(const char *s, bool allow_file, struct git_ref *out, struct lade_error *err);
void git_ref_release(struct git_ref *r);
/* The commit r->ref names on the remote (git ls-remote; a full commit id is taken as is), as
 * 40 hex digits. LADE_ERR_NET when the remote cannot be read or has no such ref. */
int git_resolve(const struct git_ref *r, char commit[41], struct lade_error *err);
/* Checks out commit (resolved by git_resolve) of r into dir (which must not exist): a shallow
 * fetch where the server allows it, else a full one; submodules too. The .git directory is
 * removed unless keep_git_dir. Files are created with umask 022. */
int git_checkout(const struct git_ref *r, const char *commit, bool keep_git_dir, const char *dir,
                 struct lade_error *err);
