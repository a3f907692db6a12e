/* SPDX-License-Identifier: Apache-2.0 */
/* ADD of remote sources, as BuildKit's Dockerfile frontend turns them into sources: an
 * http(s) URL becomes one file named after the URL's last path element, mode 0600, owned by
 * 0:0, its mtime the Last-Modified header (else 0), never extracted; a git reference becomes
 * the checked-out tree (its subdir), .git removed unless --keep-git-dir. Resolving (the
 * download, or for git the commit) comes first because the step's cache key depends on it;
 * the tree the copy reads from is made only when the step is not cached. */
#include "step_add_remote.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

/* A line under the running step, as BuildKit shows what a source resolved to. */
__attribute__((format(printf, 2, 3))) static void
say(struct build *b, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > 0)
        progress_output_line(&b->progress, line, strlen(line));
}

bool
add_source_is_remote(const char *src)
{
    struct git_ref g = {0};
    struct lade_error ignored = {0};

    if (fetch_is_http_url(src))
        return true;
    int git = git_ref_parse(src, false, &g, &ignored);
    git_ref_release(&g);
    return git != 0;
}

int
remote_source_resolve(struct build *b, const char *src, const struct copy_cmd *c,
                      struct remote_source *rs, struct lade_error *err)
{
    memset(rs, 0, sizeof(*rs));
    int git = git_ref_parse(src, false, &rs->git, err);
    if (git < 0)
        return -1;
    if (git > 0) {
        if (c->keep_git_dir >= 0 && rs->git.keep_git_dir >= 0 &&
            c->keep_git_dir != rs->git.keep_git_dir)
            return lade_error_set(err, LADE_ERR_PARSE, "inconsistent keep-git-dir configuration");
        rs->is_git = true;
        rs->keep_git_dir = (c->keep_git_dir >= 0 ? c->keep_git_dir : rs->git.keep_git_dir) == 1;
        if (git_resolve(&rs->git, rs->commit, err) < 0)
            return -1;
        if (c->checksum != NULL && strncmp(rs->commit, c->checksum, strlen(c->checksum)) != 0)
            return lade_error_set(err, LADE_ERR_OTHER,
                                  "%s: commit %s does not match the checksum %s", src, rs->commit,
                                  c->checksum);
        say(b, "%s#%s: commit %s", rs->git.remote, rs->git.ref, rs->commit);
        rs->rel = xstrdup(rs->git.subdir);
        rs->key = xasprintf("git=%s commit=%s subdir=%s keep-git-dir=%d", rs->git.remote,
                            rs->commit, rs->git.subdir, rs->keep_git_dir);
        return 0;
    }
    rs->url = xstrdup(src);
    if (fetch_url(b->st, b->opts->reg, src, c->checksum, &rs->file, err) < 0)
        return -1;
    say(b, "%s: %s %s", src, rs->file.from_store ? "unchanged, stored copy" : "downloaded",
        rs->file.digest);
    rs->rel = fetch_url_file_name(src);
    /* BuildKit's key: the file name, its mode, the content digest and Last-Modified */
    rs->key = xasprintf("url name=%s mode=0600 digest=%s mtime=%lld", rs->rel, rs->file.digest,
                        (long long) rs->file.mtime);
    return 0;
}

static int
write_url_file(const struct remote_source *rs, struct lade_error *err)
{
    cleanup_close int in = open(rs->file.path, O_RDONLY | O_CLOEXEC);
    cleanup_close int dir = open(rs->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cleanup_close int out = -1;
    struct timespec ts[2] = {{.tv_sec = rs->file.mtime}, {.tv_sec = rs->file.mtime}};

    if (in < 0 || dir < 0)
        return lade_error_sys(err, "cannot read the download of %s", rs->url);
    /* the name has no '/' (fetch_url_file_name) */
    out = openat(dir, rs->rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0 || fchmod(out, 0600) < 0)
        return lade_error_sys(err, "cannot create '%s'", rs->rel);
    if (copy_fd(in, out, err) < 0)
        return lade_error_prefix(err, "%s", rs->url);
    if (futimens(out, ts) < 0)
        return lade_error_sys(err, "cannot set the time of '%s'", rs->rel);
    return 0;
}

int
remote_source_materialize(struct build *b, struct remote_source *rs, struct lade_error *err)
{
    if (store_tmp_dir(b->st, &rs->tmp, err) < 0)
        return -1;
    if (!rs->is_git) {
        rs->root = xstrdup(rs->tmp);
        return write_url_file(rs, err);
    }
    rs->root = xasprintf("%s/repo", rs->tmp);
    return git_checkout(&rs->git, rs->commit, rs->keep_git_dir, rs->root, err);
}

void
remote_source_release(struct remote_source *rs)
{
    if (rs->tmp != NULL)
        rm_rf_at(AT_FDCWD, rs->tmp, NULL);
    free(rs->tmp);
    git_ref_release(&rs->git);
    fetched_url_release(&rs->file);
    free(rs->root);
    free(rs->rel);
    free(rs->key);
    free(rs->url);
    memset(rs, 0, sizeof(*rs));
}
