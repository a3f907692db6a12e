/* SPDX-License-Identifier: Apache-2.0 */
/* RUN --mount: bind (the context, a stage or an image; read-only unless rw, whose writes are
 * thrown away), cache (a directory of the store that outlives the build) and tmpfs, as
 * BuildKit's dispatchRunMounts makes them. Nothing of a mount reaches the layer: the sandbox
 * binds each on its target and removes the targets it had to create. */
#include "step_run_mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "copy.h"
#include "rootfs.h"
#include "steps.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"

struct run_mount_state {
    const struct run_mount *m;
    char *target;                   /* absolute, clean */
    char *rel;                      /* source relative to what is mounted; "" is its root */
    const struct stage_state *from; /* from=: a built stage, or &image; NULL: none */
    struct stage_state image;       /* from= naming an image */
    struct fs_step from_fs;         /* from's rootfs, mounted read-only */
    /* from= naming a directory context (--build-context): read as the build context is */
    const struct named_context *named;
    int from_fd;
    struct fs_step rw_fs; /* rw bind of a stage's directory: overlay, upper thrown away */
    struct store_cache_mount cache;
};

static char *
tmp_dir(struct build *b, struct run_mounts *rm, mode_t mode, struct lade_error *err)
{
    char *dir = NULL;

    if (store_tmp_dir(b->st, &dir, err) < 0)
        return NULL;
    rm->tmpdirs = strv_push(rm->tmpdirs, dir);
    if (chmod(dir, mode) < 0) {
        lade_error_sys(err, "cannot chmod '%s'", dir);
        free(dir);
        return NULL;
    }
    return dir; /* caller frees; rm->tmpdirs has its own copy */
}

/* from=: a stage of this build (built first: the plan knows the edge), scratch or an image. */
static int
resolve_from(struct build *b, struct run_mount_state *s, struct lade_error *err)
{
    const char *from = s->m->from;
    const struct named_context *nc = named_context_find(&b->named, from);

    if (nc != NULL && nc->kind == NAMED_IMAGE) {
        s->from = &s->image;
        if (stage_load_image(b, &s->image, nc->image, err) < 0)
            return lade_error_prefix(err, "--build-context %s", nc->name);
        return 0;
    }
    if (nc != NULL) {
        if (s->m->type != RUN_MOUNT_BIND)
            return lade_error_set(err, LADE_ERR_OTHER,
                                  "RUN --mount from=%s: a cache from a directory context is not "
                                  "implemented yet",
                                  from);
        s->named = nc;
        return 0;
    }
    s->from = stage_find_built(b, from);
    if (s->from != NULL)
        return 0;
    if (plan_find_stage(b->plan, from) >= 0)
        return lade_error_set(err, LADE_ERR_OTHER,
                              "cannot mount from stage \"%s\" to \"%s\", stage needs to be "
                              "defined before current command",
                              from, s->target);
    s->from = &s->image;
    if (strcmp(from, "scratch") == 0) { /* BuildKit's emptyImageName: nothing */
        stage_scratch_base(b, &s->image);
        return 0;
    }
    return stage_load_image(b, &s->image, from, err);
}

/* The view of one mount: its resolved target and the identity of what it shows. */
static int
mount_view(struct build *b, struct run_mounts *rm, size_t i, struct lade_error *err)
{
    struct run_mount_state *s = &rm->st[i];
    digest_t d;

    rm->view = strv_push_take(rm->view, xasprintf("mount%zu.target=%s", i, s->target));
    if (s->from != NULL) {
        rm->view = strv_push_take(rm->view, xasprintf("mount%zu.from=%s", i, s->from->key));
        return 0;
    }
    if (s->m->type != RUN_MOUNT_BIND)
        return 0; /* a cache's contents are not in the key; a tmpfs starts empty */
    bool excluded = false;
    int root = s->named ? s->named->dir_fd : b->context_fd;
    const struct dockerignore *ignore = s->named ? s->named->ignore : b->ignore;
    cleanup_close int probe = rootfs_open(root, s->rel[0] ? s->rel : "/", O_PATH, 0, NULL);
    if (ignore != NULL && s->rel[0] != '\0' &&
        dockerignore_matches(ignore, s->rel, &excluded, err) < 0)
        return -1;
    if (probe < 0 || excluded)
        return lade_error_set(err, LADE_ERR_OTHER,
                              "RUN --mount: source \"/%s\" not found in the %s (or "
                              "excluded by .dockerignore)",
                              s->rel, s->named ? "named context" : "build context");
    struct copy_opts hash = {.src_root = root, .ignore = ignore, .dst_root = -1};
    hash.hash = sha256_new();
    int rc = copy_tree(&hash, s->rel, "/", true, err);
    sha256_final(hash.hash, d);
    sha256_free(hash.hash);
    if (rc < 0)
        return lade_error_prefix(err, "RUN --mount source \"/%s\"", s->rel);
    rm->view = strv_push_take(
        rm->view, xasprintf("mount%zu.%s=%s", i, s->named ? "named-context" : "context", d));
    return 0;
}

int
run_mounts_prepare(struct build *b, struct stage_state *ss, const struct run_cmd *r,
                   struct run_mounts *rm, struct lade_error *err)
{
    memset(rm, 0, sizeof(*rm));
    rm->st = xcalloc(r->nmounts ? r->nmounts : 1, sizeof(*rm->st));
    for (size_t i = 0; i < r->nmounts; i++) {
        struct run_mount_state *s = &rm->st[rm->nst++];
        const struct run_mount *m = &r->mounts[i];
        s->m = m;
        s->from_fd = -1;
        s->cache.lock_fd = -1;
        if (m->type == RUN_MOUNT_SECRET || m->type == RUN_MOUNT_SSH)
            continue; /* step_run_secret.c makes them; cache.c keys their options */
        s->target = stage_abs_path(ss, m->target ? m->target : "");
        if (strcmp(s->target, "/") == 0)
            return lade_error_set(err, LADE_ERR_PARSE, "invalid mount target \"/\"");
        cleanup_free char *src = path_clean_abs(m->source ? m->source : "/");
        s->rel = xstrdup(src + 1);
        if (m->type != RUN_MOUNT_TMPFS && m->from != NULL && m->from[0] != '\0' &&
            resolve_from(b, s, err) < 0)
            return -1;
        if (mount_view(b, rm, i, err) < 0)
            return -1;
    }
    return 0;
}

/* ---- setup ---- */

static int
mount_from_rootfs(struct build *b, struct run_mount_state *s, struct lade_error *err)
{
    if (s->from_fd >= 0)
        return 0;
    return fs_step_mount_ro(b, s->from, &s->from_fs, &s->from_fd, err);
}

/* The host path of rel inside the mounted from rootfs, resolved inside it. */
static char *
from_path(struct run_mount_state *s, struct lade_error *err)
{
    char proc[64], buf[PATH_MAX];
    cleanup_close int fd = rootfs_open(s->from_fd, s->rel[0] ? s->rel : "/", O_PATH, 0, err);

    if (fd < 0) {
        lade_error_prefix(err, "RUN --mount from \"%s\": source \"/%s\"", s->m->from, s->rel);
        return NULL;
    }
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(proc, buf, sizeof(buf) - 1);
    if (n < 0) {
        lade_error_sys(err, "readlink '%s'", proc);
        return NULL;
    }
    buf[n] = '\0';
    return xstrdup(buf);
}

/* A copy of rel in a staging dir: the context's files as COPY sees them (ignored ones left
 * out, owners 0:0), or a single file of a stage for a writable bind. */
static char *
stage_copy(struct build *b, struct run_mounts *rm, int src_root, const char *rel,
           const struct dockerignore *ignore, bool keep_owner, struct lade_error *err)
{
    struct stat st;
    cleanup_close int src = rootfs_open(src_root, rel[0] ? rel : "/", O_PATH, 0, err);
    cleanup_free char *dir = NULL;

    if (src < 0 || fstat(src, &st) < 0)
        return NULL;
    dir = tmp_dir(b, rm, S_ISDIR(st.st_mode) ? st.st_mode & 07777 : 0755, err);
    if (dir == NULL)
        return NULL;
    cleanup_close int dst = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    cleanup_free char *dest = S_ISDIR(st.st_mode) ? xstrdup("/") : xasprintf("/%s", base);
    struct copy_opts o = {
        .src_root = src_root, .ignore = ignore, .dst_root = dst, .keep_owner = keep_owner};
    if (dst < 0 || copy_tree(&o, rel, dest, false, err) < 0)
        return NULL;
    if (S_ISDIR(st.st_mode) && !keep_owner && fchown(dst, 0, 0) < 0)
        lade_error_sys(err, "cannot chown '%s'", dir);
    if (S_ISDIR(st.st_mode))
        return steal_ptr(&dir);
    return xasprintf("%s%s", dir, dest);
}

/* A writable bind of a stage's directory: an overlay on it whose upper dir is thrown away
 * (BuildKit's ForceNoOutput). A file is copied instead. */
static char *
rw_overlay(struct build *b, struct run_mounts *rm, struct run_mount_state *s, char *path,
           struct lade_error *err)
{
    struct stat st;

    if (stat(path, &st) < 0) {
        lade_error_sys(err, "stat '%s'", path);
        return NULL;
    }
    if (!S_ISDIR(st.st_mode))
        return stage_copy(b, rm, s->from_fd, s->rel, NULL, true, err);
    if (fs_step_begin(b, NULL, false, &s->rw_fs, err) < 0)
        return NULL;
    char *lowers[] = {path, NULL};
    if (overlay_mount(lowers, 1, s->rw_fs.upper, s->rw_fs.work, s->rw_fs.merged, err) < 0)
        return NULL;
    s->rw_fs.mounted = true;
    return xstrdup(s->rw_fs.merged);
}

static char *
bind_source(struct build *b, struct run_mounts *rm, struct run_mount_state *s,
            struct lade_error *err)
{
    if (s->named != NULL)
        return stage_copy(b, rm, s->named->dir_fd, s->rel, s->named->ignore, false, err);
    if (s->from == NULL)
        return stage_copy(b, rm, b->context_fd, s->rel, b->ignore, false, err);
    if (mount_from_rootfs(b, s, err) < 0)
        return NULL;
    cleanup_free char *path = from_path(s, err);
    if (path == NULL || s->m->readonly)
        return steal_ptr(&path);
    return rw_overlay(b, rm, s, path, err);
}

struct cache_init {
    struct build *b;
    struct run_mount_state *s;
};

/* A new cache directory: from='s source as its first contents (owners kept), else empty with
 * mode (0755), uid and gid (BuildKit applies them only without a source). */
static int
cache_init(void *ud, const char *dir, struct lade_error *err)
{
    struct cache_init *ci = ud;
    struct run_mount_state *s = ci->s;
    const struct run_mount *m = s->m;

    if (s->from != NULL) {
        cleanup_close int dst = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dst < 0)
            return lade_error_sys(err, "cannot open '%s'", dir);
        if (mount_from_rootfs(ci->b, s, err) < 0)
            return -1;
        struct copy_opts o = {.src_root = s->from_fd, .dst_root = dst, .keep_owner = true};
        if (copy_tree(&o, s->rel, "/", true, err) < 0)
            return -1;
    }
    if (s->rel[0] != '\0')
        return 0;
    if (chmod(dir, m->has_mode ? m->mode : 0755) < 0 ||
        chown(dir, m->has_uid ? m->uid : 0, m->has_gid ? m->gid : 0) < 0)
        return lade_error_sys(err, "cannot set the owner and mode of '%s'", dir);
    return 0;
}

/* The cache's name in the store: its id (default: the target as written, cleaned, as
 * BuildKit's path.Clean(mount.Target)) and, as in BuildKit, what it starts from (from=,
 * source=, mode, uid, gid). */
static void
cache_name(const struct run_mount_state *s, digest_t out)
{
    const struct run_mount *m = s->m;
    const char *t = m->target ? m->target : "";
    cleanup_free char *id = m->id && m->id[0] ? xstrdup(m->id)
                            : t[0] == '/'     ? path_clean_abs(t)
                                              : xstrdup(t);
    cleanup_free char *text =
        xasprintf("id=%s\nfrom=%s\nsource=%s\nmode=%d\nuid=%lld\ngid=%lld\n", id,
                  s->from ? s->from->key : "", s->rel, m->has_mode ? (int) m->mode : -1,
                  m->has_uid ? (long long) m->uid : -1LL, m->has_gid ? (long long) m->gid : -1LL);

    digest_of_mem(text, strlen(text), out);
}

static char *
cache_source(struct build *b, struct run_mount_state *s, struct lade_error *err)
{
    static const enum store_cache_sharing sharing[] = {
        [RUN_SHARING_UNSET] = STORE_CACHE_SHARED,
        [RUN_SHARING_SHARED] = STORE_CACHE_SHARED,
        [RUN_SHARING_PRIVATE] = STORE_CACHE_PRIVATE,
        [RUN_SHARING_LOCKED] = STORE_CACHE_LOCKED,
    };
    struct cache_init ci = {b, s};
    digest_t d;

    cache_name(s, d);
    const char *hex = strchr(d, ':') ? strchr(d, ':') + 1 : d;
    if (store_cache_mount_acquire(b->st, hex, sharing[s->m->sharing], cache_init, &ci, &s->cache,
                                  err) < 0)
        return NULL;
    return xstrdup(s->cache.dir);
}

/* BuildKit's ExecOp sorts its mounts by target (client/llb/exec.go), so /a is mounted before
 * /a/b whatever the order of the --mount flags. Stable: equal targets keep their order. */
static void
sort_by_target(struct run_mounts *rm)
{
    for (size_t i = 1; i < rm->n; i++) {
        struct sandbox_mount m = rm->v[i];
        size_t j = i;
        for (; j > 0 && strcmp(rm->v[j - 1].target, m.target) > 0; j--)
            rm->v[j] = rm->v[j - 1];
        rm->v[j] = m;
    }
}

int
run_mounts_setup(struct build *b, struct run_mounts *rm, struct lade_error *err)
{
    rm->v = xcalloc(rm->nst + 1, sizeof(*rm->v));
    for (size_t i = 0; i < rm->nst; i++) {
        struct run_mount_state *s = &rm->st[i];
        struct sandbox_mount *v = &rm->v[rm->n];
        char *source = NULL;
        v->target = s->target;
        v->readonly = s->m->readonly;
        switch (s->m->type) {
        case RUN_MOUNT_TMPFS:
            v->type = SANDBOX_MOUNT_TMPFS;
            v->size = s->m->size;
            rm->n++;
            continue;
        case RUN_MOUNT_BIND:
            source = bind_source(b, rm, s, err);
            v->readonly = s->m->readonly;
            break;
        case RUN_MOUNT_CACHE:
            source = cache_source(b, s, err);
            break;
        case RUN_MOUNT_SECRET:
        case RUN_MOUNT_SSH:
            continue; /* step_run_secret.c */
        }
        if (source == NULL)
            return -1;
        rm->sources = strv_push_take(rm->sources, source);
        v->type = SANDBOX_MOUNT_BIND;
        v->source = source;
        rm->n++;
    }
    sort_by_target(rm);
    return 0;
}

int
run_mounts_add_inline(struct build *b, struct run_mounts *rm, const char *target_dir,
                      const char *name, const char *data, struct lade_error *err)
{
    cleanup_free char *dir = tmp_dir(b, rm, 0755, err);
    cleanup_close int dfd = -1;

    if (dir == NULL || (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return dir == NULL ? -1 : lade_error_sys(err, "cannot open '%s'", dir);
    cleanup_close int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
    if (fd < 0 || write_all(fd, data, strlen(data)) < 0 || fchmod(fd, 0755) < 0)
        return lade_error_sys(err, "cannot write '%s/%s'", dir, name);
    rm->v = xrealloc(rm->v, (rm->n + 1) * sizeof(*rm->v));
    rm->sources = strv_push(rm->sources, dir);
    rm->v[rm->n++] = (struct sandbox_mount){
        .type = SANDBOX_MOUNT_BIND,
        .source = rm->sources[strv_len(rm->sources) - 1],
        .target = target_dir,
        .readonly = true,
    };
    sort_by_target(rm);
    return 0;
}

void
run_mounts_release(struct build *b, struct run_mounts *rm)
{
    for (size_t i = 0; i < rm->nst; i++) {
        struct run_mount_state *s = &rm->st[i];
        store_cache_mount_release(&s->cache);
        fs_step_end(b, NULL, &s->rw_fs, false, NULL, NULL); /* above from_fs: first */
        if (s->from_fd >= 0)
            close(s->from_fd);
        fs_step_end(b, NULL, &s->from_fs, false, NULL, NULL);
        stage_state_release(&s->image);
        free(s->target);
        free(s->rel);
    }
    for (size_t i = 0; rm->tmpdirs && rm->tmpdirs[i]; i++)
        rm_rf_at(AT_FDCWD, rm->tmpdirs[i], NULL);
    strv_free(rm->tmpdirs);
    strv_free(rm->sources);
    strv_free(rm->view);
    free(rm->st);
    free(rm->v);
    memset(rm, 0, sizeof(*rm));
}
