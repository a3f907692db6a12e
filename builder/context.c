/* SPDX-License-Identifier: Apache-2.0 */
/* The build context and the named contexts (context.h): local directories are used in place;
 * stdin, git and http(s) contexts are unpacked into a directory of the store's tmp/, which the
 * build removes when it ends. */
#include "context.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootfs.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

#define DOCKERFILE_MAX (64u << 20)

char *
context_default_dockerfile(const char *dir)
{
    static const char *const names[] = {"Dockerfile", "Containerfile", "dockerfile"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *p = xasprintf("%s/%s", dir, names[i]);
        if (access(p, F_OK) == 0)
            return p;
        free(p);
    }
    return xasprintf("%s/Dockerfile", dir);
}

/* Copies stdin into a file of tmp/ (it is read more than once). */
static int
stdin_to_file(struct store *st, int *out_fd, struct lade_error *err)
{
    cleanup_free char *path = NULL;
    cleanup_close int fd = -1;

    if (store_tmp_file(st, &path, &fd, err) < 0)
        return -1;
    unlink(path); /* the fd is enough; nothing stays behind */
    if (copy_fd(STDIN_FILENO, fd, err) < 0)
        return lade_error_prefix(err, "reading the context from stdin");
    *out_fd = steal_fd(&fd);
    return 0;
}

/* Unpacks the (possibly compressed) tar fd into a new directory DIR/sub, confined to it: no
 * name or symlink in the archive leads out (tarball_unpack, as ADD's archives). */
static int
unpack_into(int fd, const char *dir, const char *sub, char **out, struct lade_error *err)
{
    cleanup_free char *path = xasprintf("%s/%s", dir, sub);
    cleanup_close int dfd = -1;

    if (mkdir(path, 0755) < 0 || (dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return lade_error_sys(err, "cannot create '%s'", path);
    struct unpack_opts uo = {0};
    if (lseek(fd, 0, SEEK_SET) < 0 || tarball_unpack(fd, dfd, &uo, err) < 0)
        return lade_error_prefix(err, "cannot unpack the context");
    *out = steal_ptr(&path);
    return 0;
}

/* A stdin or downloaded context: a tar (unpacked into TMP/context) or else a Dockerfile (then
 * the context is an empty TMP/context, as docker build - does). */
static int
context_from_fd(struct build_context *c, int fd, const char *what, struct lade_error *err)
{
    if (lseek(fd, 0, SEEK_SET) < 0)
        return lade_error_sys(err, "reading %s", what);
    if (tarball_detect(fd)) /* plain, gzip, bzip2, xz or zstd */
        return unpack_into(fd, c->tmp, "context", &c->dir, err);
    c->dir = xasprintf("%s/context", c->tmp);
    if (mkdir(c->dir, 0755) < 0)
        return lade_error_sys(err, "cannot create '%s'", c->dir);
    free(c->text);
    c->text = NULL;
    if (lseek(fd, 0, SEEK_SET) < 0 ||
        read_fd_all(fd, what, DOCKERFILE_MAX, &c->text, &c->len, err) < 0)
        return -1;
    c->name = xstrdup("Dockerfile");
    return 1; /* the Dockerfile is known */
}

/* The directory subdir inside root (a checked-out repository), resolved without leaving it. */
static int
subdir_in(const char *root, const char *subdir, char **out, struct lade_error *err)
{
    cleanup_close int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cleanup_close int fd = -1;
    char proc[64], real[PATH_MAX];

    if (rfd < 0)
        return lade_error_sys(err, "open '%s'", root);
    fd = rootfs_open(rfd, subdir[0] ? subdir : "/", O_PATH | O_DIRECTORY, 0, err);
    if (fd < 0)
        return lade_error_prefix(err, "subdirectory \"%s\" of the repository", subdir);
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(proc, real, sizeof(real) - 1);
    if (n < 0)
        return lade_error_sys(err, "readlink '%s'", proc);
    real[n] = '\0';
    *out = xstrdup(real);
    return 0;
}

/* Clones a git reference into TMP/repo; *dir is its (sub)directory. */
static int
context_from_git(const struct git_ref *g, const char *tmp, bool keep_default, char **dir,
                 struct lade_error *err)
{
    char commit[41];
    cleanup_free char *repo = xasprintf("%s/repo", tmp);
    bool keep = g->keep_git_dir >= 0 ? g->keep_git_dir == 1 : keep_default;

    if (git_resolve(g, commit, err) < 0 || git_checkout(g, commit, keep, repo, err) < 0)
        return -1;
    return subdir_in(repo, g->subdir, dir, err);
}

/* Reads the Dockerfile path inside the context directory (a remote context's -f). */
static int
read_dockerfile_in(struct build_context *c, const char *path, struct lade_error *err)
{
    cleanup_close int dfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cleanup_free char *found = NULL;
    const char *name = path;

    if (dfd < 0)
        return lade_error_sys(err, "open '%s'", c->dir);
    if (name == NULL) {
        found = context_default_dockerfile(c->dir);
        name = strrchr(found, '/') + 1;
    }
    cleanup_close int fd = rootfs_open(dfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, err);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            lade_error_set(err, LADE_ERR_PARSE, "'%s' is not a regular file", name);
        lade_error_recode(err, LADE_ERR_PARSE);
        return lade_error_prefix(err, "cannot read Dockerfile");
    }
    c->name = xstrdup(name);
    return read_fd_all(fd, name, DOCKERFILE_MAX, &c->text, &c->len, err);
}

static int
read_stdin_dockerfile(struct build_context *c, struct lade_error *err)
{
    if (read_fd_all(STDIN_FILENO, "stdin", DOCKERFILE_MAX, &c->text, &c->len, err) < 0)
        return lade_error_prefix(err, "cannot read the Dockerfile from stdin");
    c->name = xstrdup("Dockerfile");
    return 0;
}

int
context_prepare(struct store *st, const struct registry_opts *reg, const char *spec,
                const char *dockerfile, struct build_context *out, struct lade_error *err)
{
    struct build_context c = {0};
    struct git_ref g = {0};
    bool df_stdin = dockerfile != NULL && strcmp(dockerfile, "-") == 0;
    int kind, rc = -1;

    memset(out, 0, sizeof(*out));
    if (df_stdin && strcmp(spec, "-") == 0)
        return lade_error_set(err, LADE_ERR_USAGE,
                              "cannot read both the context and the Dockerfile from stdin");
    /* docker's order: stdin, an existing directory, a git reference, a URL */
    struct stat sb;
    bool local = strcmp(spec, "-") != 0 && stat(spec, &sb) == 0 && S_ISDIR(sb.st_mode);
    kind = strcmp(spec, "-") == 0 || local ? 1 : git_ref_parse(spec, true, &g, err);
    if (kind < 0)
        return lade_error_recode(err, LADE_ERR_USAGE);
    if (local || (kind == 0 && !fetch_is_http_url(spec))) { /* a local directory */
        c.dir = xstrdup(spec);
        if (df_stdin)
            rc = read_stdin_dockerfile(&c, err);
        else {
            c.dockerfile = dockerfile ? xstrdup(dockerfile) : context_default_dockerfile(spec);
            c.name = xstrdup(dockerfile ? dockerfile : strrchr(c.dockerfile, '/') + 1);
            rc = 0;
        }
        goto out;
    }
    if (store_tmp_dir(st, &c.tmp, err) < 0)
        goto out;
    int known = 0;
    if (strcmp(spec, "-") == 0) {
        cleanup_close int fd = -1;
        if (stdin_to_file(st, &fd, err) < 0 || (known = context_from_fd(&c, fd, "stdin", err)) < 0)
            goto out;
        c.no_ignore = true;
    } else if (g.remote != NULL) {
        if (context_from_git(&g, c.tmp, false, &c.dir, err) < 0)
            goto out;
    } else {
        struct fetched_url f = {0};
        cleanup_close int fd = -1;
        if (fetch_url(st, reg, spec, NULL, &f, err) < 0)
            goto out;
        fd = open(f.path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            lade_error_sys(err, "open '%s'", f.path);
        known = fd < 0 ? -1 : context_from_fd(&c, fd, spec, err);
        fetched_url_release(&f);
        if (known < 0)
            goto out;
    }
    if (df_stdin) {
        free(c.text);
        c.text = NULL;
        free(c.name);
        rc = read_stdin_dockerfile(&c, err);
    } else if (known == 0) {
        free(c.text);
        c.text = NULL;
        free(c.name);
        c.name = NULL;
        rc = read_dockerfile_in(&c, dockerfile, err);
    } else {
        rc = 0;
    }
out:
    git_ref_release(&g);
    if (rc < 0) {
        context_release(&c);
        return -1;
    }
    *out = c;
    return 0;
}

void
context_release(struct build_context *c)
{
    if (c->tmp != NULL)
        rm_rf_at(AT_FDCWD, c->tmp, NULL);
    free(c->tmp);
    free(c->dir);
    free(c->dockerfile);
    free(c->text);
    free(c->name);
    memset(c, 0, sizeof(*c));
}
