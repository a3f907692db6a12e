/* SPDX-License-Identifier: Apache-2.0 */
/* Named contexts (buildx --build-context NAME=VALUE): a local directory (with its own
 * .dockerignore), docker-image://REF, a git reference or an http(s) URL (BuildKit keeps the
 * download as one file named "context"). A FROM or --from naming one uses it instead of an image
 * or a stage of that name. */
#include "context.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootfs.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/xalloc.h"

#define IGNORE_MAX (16u << 20)

/* BuildKit's key for a name: the familiar image name without ":latest"; a name that is no
 * image reference is compared as written. */
static char *
named_context_key(const char *name)
{
    struct image_ref ref = {0};
    struct lade_error ignored = {0};

    if (image_ref_parse(name, &ref, &ignored) < 0)
        return xstrdup(name);
    char *fam = image_ref_familiar(&ref);
    image_ref_release(&ref);
    size_t n = strlen(fam);
    if (n > 7 && strcmp(fam + n - 7, ":latest") == 0)
        fam[n - 7] = '\0';
    return fam;
}

static int
load_ignore(struct named_context *c, struct lade_error *err)
{
    cleanup_free char *text = NULL;
    size_t len = 0;
    struct stat st;

    if (fstatat(c->dir_fd, ".dockerignore", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
        return 0;
    if (read_file_at(c->dir_fd, ".dockerignore", IGNORE_MAX, &text, &len, err) < 0 ||
        dockerignore_parse(text, len, &c->ignore, err) < 0) {
        lade_error_recode(err, LADE_ERR_PARSE);
        return lade_error_prefix(err, "%s/.dockerignore", c->dir);
    }
    return 0;
}

/* An http(s) named context: TMP/context holds the download as the file "context" (0600). */
static int
prepare_url(struct store *st, const struct registry_opts *reg, struct named_context *c,
            const char *url, struct lade_error *err)
{
    struct fetched_url f = {0};
    cleanup_close int in = -1, out = -1;

    c->dir = xasprintf("%s/context", c->tmp);
    if (mkdir(c->dir, 0755) < 0)
        return lade_error_sys(err, "cannot create '%s'", c->dir);
    if (fetch_url(st, reg, url, NULL, &f, err) < 0)
        return -1;
    cleanup_free char *dest = xasprintf("%s/context", c->dir);
    in = open(f.path, O_RDONLY | O_CLOEXEC);
    out = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int rc = in < 0 || out < 0 ? lade_error_sys(err, "cannot copy the download of %s", url)
                               : copy_fd(in, out, err);
    struct timespec ts[2] = {{.tv_sec = f.mtime}, {.tv_sec = f.mtime}};
    if (rc == 0)
        futimens(out, ts);
    fetched_url_release(&f);
    return rc;
}

static int
prepare_one(struct store *st, const struct registry_opts *reg, const char *spec,
            struct named_context *c, struct lade_error *err)
{
    const char *eq = strchr(spec, '=');
    struct git_ref g = {0};
    int rc = 0;

    if (eq == NULL || eq == spec || eq[1] == '\0')
        return lade_error_set(err, LADE_ERR_USAGE, "--build-context must be NAME=VALUE: \"%s\"",
                              spec);
    c->name = xstrndup(spec, (size_t) (eq - spec));
    c->match = named_context_key(c->name);
    c->dir_fd = -1;
    const char *v = eq + 1;
    if (strncmp(v, "docker-image://", 15) == 0) {
        c->kind = NAMED_IMAGE;
        c->image = xstrdup(v + 15);
        return 0;
    }
    if (strncmp(v, "oci-layout://", 13) == 0 || strncmp(v, "target:", 7) == 0)
        return lade_error_set(err, LADE_ERR_USAGE,
                              "--build-context %s: \"%.*s\" contexts are not implemented yet",
                              c->name, (int) strcspn(v, ":"), v);
    c->kind = NAMED_DIR;
    int git = git_ref_parse(v, true, &g, err);
    if (git < 0)
        return lade_error_recode(err, LADE_ERR_USAGE);
    if (git > 0 || fetch_is_http_url(v)) {
        char commit[41];
        if (store_tmp_dir(st, &c->tmp, err) < 0)
            rc = -1;
        else if (git > 0) {
            cleanup_free char *repo = xasprintf("%s/repo", c->tmp);
            bool keep = g.keep_git_dir == 1;
            rc = git_resolve(&g, commit, err) < 0 || git_checkout(&g, commit, keep, repo, err) < 0
                     ? -1
                     : 0;
            if (rc == 0) {
                cleanup_close int rfd = open(repo, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                cleanup_close int sfd = rfd < 0 ? -1
                                                : rootfs_open(rfd, g.subdir[0] ? g.subdir : "/",
                                                              O_RDONLY | O_DIRECTORY, 0, err);
                c->dir = xasprintf("%s/%s", repo, g.subdir);
                c->dir_fd = steal_fd(&sfd);
                rc = c->dir_fd < 0 ? -1 : 0;
            }
        } else {
            rc = prepare_url(st, reg, c, v, err);
        }
        git_ref_release(&g);
        if (rc == 0 && c->dir_fd < 0)
            c->dir_fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rc < 0 || c->dir_fd < 0)
            return rc < 0 ? lade_error_prefix(err, "--build-context %s", c->name)
                          : lade_error_sys(err, "open '%s'", c->dir);
        return 0;
    }
    c->dir = xstrdup(v);
    c->dir_fd = open(v, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (c->dir_fd < 0)
        return lade_error_sys(err, "--build-context %s: cannot open directory '%s'", c->name, v);
    return load_ignore(c, err);
}

int
named_contexts_prepare(struct store *st, const struct registry_opts *reg, char *const *specs,
                       struct named_contexts *out, struct lade_error *err)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; specs && specs[i]; i++) {
        out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
        struct named_context *c = &out->v[out->n++];
        memset(c, 0, sizeof(*c));
        c->dir_fd = -1;
        if (prepare_one(st, reg, specs[i], c, err) < 0) {
            named_contexts_release(out);
            return -1;
        }
        for (size_t k = 0; k + 1 < out->n; k++)
            if (strcmp(out->v[k].match, c->match) == 0) {
                lade_error_set(err, LADE_ERR_USAGE, "--build-context %s given twice", c->name);
                named_contexts_release(out);
                return -1;
            }
    }
    return 0;
}

const struct named_context *
named_context_find(const struct named_contexts *nc, const char *name)
{
    if (nc == NULL || nc->n == 0 || name == NULL)
        return NULL;
    cleanup_free char *key = named_context_key(name);
    for (size_t i = 0; i < nc->n; i++)
        if (strcmp(nc->v[i].match, key) == 0)
            return &nc->v[i];
    return NULL;
}

void
named_contexts_release(struct named_contexts *nc)
{
    for (size_t i = 0; i < nc->n; i++) {
        struct named_context *c = &nc->v[i];
        if (c->dir_fd >= 0)
            close(c->dir_fd);
        if (c->ignore != NULL)
            dockerignore_free(c->ignore);
        if (c->tmp != NULL)
            rm_rf_at(AT_FDCWD, c->tmp, NULL);
        free(c->name);
        free(c->match);
        free(c->image);
        free(c->dir);
        free(c->tmp);
    }
    free(nc->v);
    memset(nc, 0, sizeof(*nc));
}
