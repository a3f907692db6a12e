/* SPDX-License-Identifier: Apache-2.0 */
/* A stage's state: its config and expansion environment, its layers as overlay lower dirs, its
 * history, the overlay step of a filesystem instruction and the commit of its upper dir. */
#include "stage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include "base_tree.h"
#include "cache.h"
#include "cache_transfer.h"
#include "rootfs.h"
#include "sandbox/tree.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"

/* ---- expansion environment ---- */

const struct envmap *
stage_env(struct stage_state *ss)
{
    json_t *env = json_object_get(oci_config_container(ss->config), "Env");
    size_t i;
    json_t *e;

    if (env != ss->env_json || ss->env.n != json_array_size(env)) {
        envmap_release(&ss->env);
        json_array_foreach(env, i, e) envmap_push(&ss->env, json_string_value(e) ?: "");
        ss->env_json = env;
    }
    return &ss->env;
}

struct envmap *
stage_vars(struct stage_state *ss)
{
    if (!ss->vars_ready) {
        envmap_copy(&ss->vars, stage_env(ss));
        ss->vars_ready = true;
    }
    return &ss->vars;
}

const char *
stage_var(struct stage_state *ss, const char *name)
{
    return envmap_get(stage_vars(ss), name);
}

static const char *
stage_lookup(void *ud, const char *name)
{
    return stage_var(ud, name);
}

void
stage_expander(struct stage_state *ss, const struct dockerfile *df, struct expander *x)
{
    x->escape = df->escape;
    x->lookup = stage_lookup;
    x->ud = ss;
}

char *
stage_abs_path(struct stage_state *ss, const char *path)
{
    const char *wd =
        json_string_value(json_object_get(oci_config_container(ss->config), "WorkingDir"));
    cleanup_free char *joined =
        path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", wd && *wd ? wd : "/", path);

    return path_clean_abs(joined);
}

char **
stage_lowerdirs(const struct stage_state *ss)
{
    char **v = xcalloc(ss->nlayers + 1, sizeof(*v));

    for (size_t i = 0; i < ss->nlayers; i++)
        v[i] = ss->layers[ss->nlayers - 1 - i].dir;
    return v;
}

const struct stage_state *
stage_find_built(const struct build *b, const char *name)
{
    long idx = plan_find_stage(b->plan, name);

    if (idx < 0 || !b->stages[idx].built)
        return NULL;
    return &b->stages[idx];
}

void
stage_init_from(struct stage_state *ss, const struct stage_state *src)
{
    ss->config = json_deep_copy(src->config);
    ss->layers = xcalloc(src->nlayers + 1, sizeof(*ss->layers));
    for (size_t i = 0; i < src->nlayers; i++) {
        ss->layers[i] = src->layers[i];
        ss->layers[i].dir = src->layers[i].dir ? xstrdup(src->layers[i].dir) : NULL;
    }
    ss->nlayers = src->nlayers;
    memcpy(ss->key, src->key, sizeof(ss->key));
    cleanup_free char *base = xasprintf("stage %s", src->key);
    cache_explain_base(ss, base, "");
    envmap_copy(&ss->args, &src->args);
    envmap_copy(&ss->arg_names, &src->arg_names);
    envmap_copy(&ss->vars, &src->vars);
    ss->vars_ready = src->vars_ready;
}

void
stage_state_release(struct stage_state *ss)
{
    for (size_t k = 0; k < ss->nlayers; k++)
        free(ss->layers[k].dir);
    free(ss->layers);
    json_decref(ss->config);
    envmap_release(&ss->args);
    envmap_release(&ss->arg_names);
    envmap_release(&ss->env);
    envmap_release(&ss->vars);
    for (size_t i = 0; i < ss->ntriggers; i++)
        dockerfile_free(ss->triggers[i]);
    free(ss->triggers);
    cache_explain_free(ss->explain);
    base_tree_free(ss->tree);
    for (size_t i = 0; i < ss->nsteps; i++)
        free(ss->steps[i].text);
    free(ss->steps);
    memset(ss, 0, sizeof(*ss));
}

int64_t
stage_clock_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
stage_record_step(struct stage_state *ss, unsigned line, const char *text, bool cached,
                  int64_t start_ns, size_t nlayers_before)
{
    struct step_record *r;

    ss->steps = xrealloc(ss->steps, (ss->nsteps + 1) * sizeof(*ss->steps));
    r = &ss->steps[ss->nsteps++];
    memset(r, 0, sizeof(*r));
    r->line = line;
    r->text = xstrdup(text);
    r->cached = cached;
    r->ms = (stage_clock_ns() - start_ns) / 1000000;
    if (ss->nlayers > nlayers_before)
        memcpy(r->layer, ss->layers[ss->nlayers - 1].blob.digest, sizeof(r->layer));
}

/* ---- layers and history ---- */

void
stage_add_history(struct build *b, struct stage_state *ss, const char *created_by, bool empty)
{
    oci_config_add_history(ss->config, b->created, created_by, "buildkit.dockerfile.v0", empty);
}

void
stage_push_layer(struct build *b, struct stage_state *ss, const struct layer_state *l,
                 const char *created_by)
{
    ss->layers = xrealloc(ss->layers, (ss->nlayers + 1) * sizeof(*ss->layers));
    ss->layers[ss->nlayers++] = *l;
    oci_config_add_layer(ss->config, l->diff_id);
    stage_add_history(b, ss, created_by, false);
}

int
stage_commit_layer(struct build *b, struct stage_state *ss, const char *upper_path,
                   const char *created_by, struct lade_error *err)
{
    struct layer_opts lo = {.epoch = b->clamp,
                            .compression = b->opts->compression,
                            .level = b->opts->compression_level,
                            .overlay_upper = true};
    struct layer_info info;
    struct layer_state l = {0};
    cleanup_free char *tmp = NULL;
    cleanup_close int fd = -1, dirfd = -1;

    dirfd = open(upper_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return lade_error_sys(err, "open '%s'", upper_path);
    if (store_tmp_file(b->st, &tmp, &fd, err) < 0)
        return -1;
    if (layer_write_dir(dirfd, &lo, fd, &info, err) < 0) {
        unlink(tmp);
        return lade_error_prefix(err, "cannot write layer");
    }
    /* An empty diff still becomes an (empty tar) layer, as BuildKit exports it. */
    if (store_blob_commit(b->st, tmp, info.digest, err) < 0)
        return -1;
    chain_id_next(ss->nlayers ? ss->layers[ss->nlayers - 1].chain_id : NULL, info.diff_id,
                  l.chain_id);
    memcpy(l.diff_id, info.diff_id, sizeof(l.diff_id));
    snprintf(l.blob.media_type, sizeof(l.blob.media_type), "%s",
             layer_media_type(b->opts->compression));
    memcpy(l.blob.digest, info.digest, sizeof(l.blob.digest));
    l.blob.size = (int64_t) info.size;
    if (store_layer_adopt(b->st, l.chain_id, l.diff_id, l.blob.digest, upper_path, &l.dir, err) < 0)
        return -1;
    stage_push_layer(b, ss, &l, created_by);
    return cache_record(b, ss, &l, err);
}

int
stage_try_cache(struct build *b, struct stage_state *ss, const char *created_by, bool *hit,
                struct lade_error *err)
{
    struct layer_state l = {0};

    *hit = cache_lookup(b, ss, &l);
    cleanup_free char *why = cache_explain_lookup(b, ss, *hit);
    if (why != NULL)
        progress_reason(&b->progress, why);
    if (!*hit)
        return 0;
    if (l.diff_id[0] == '\0') {
        stage_add_history(b, ss, created_by, true);
        return 0;
    }
    chain_id_next(ss->nlayers ? ss->layers[ss->nlayers - 1].chain_id : NULL, l.diff_id, l.chain_id);
    /* a layer only in a --cache-from, or not extracted yet, is made ready when a step needs
     * its tree (stage_layers_ready) */
    l.dir = stage_layer_extracted(b, &l);
    (void) err;
    stage_push_layer(b, ss, &l, created_by);
    return 0;
}

int
stage_layers_ready(struct build *b, const struct stage_state *ss, struct lade_error *err)
{
    int rc = 0;

    /* stages built at once may mount the same stage (COPY --from): one fetch at a time */
    pthread_mutex_lock(&b->shared->mu);
    for (size_t i = 0; rc == 0 && ss != NULL && i < ss->nlayers; i++) {
        struct layer_state *l = &ss->layers[i];
        if (l->dir != NULL)
            continue;
        if (cache_import_fetch(b, &l->blob, err) < 0 ||
            store_layer_dir(b->st, l->chain_id, l->diff_id, l->blob.digest, &l->dir, err) < 0)
            rc = -1;
    }
    pthread_mutex_unlock(&b->shared->mu);
    return rc;
}

/* ---- the overlay step ---- */

bool
stage_lazy_enabled(void)
{
    const char *v = getenv("LADE_LAZY_BASE");

    return v == NULL || strcmp(v, "0") != 0;
}

char *
stage_layer_extracted(struct build *b, const struct layer_state *l)
{
    char *dir = NULL;
    struct lade_error ignored = {0};

    if (!stage_lazy_enabled() || store_layer_present(b->st, l->chain_id)) {
        if (store_blob_exists(b->st, l->blob.digest) &&
            store_layer_dir(b->st, l->chain_id, l->diff_id, l->blob.digest, &dir, &ignored) < 0)
            return NULL; /* stage_layers_ready tries again and reports it */
    }
    return dir;
}

static int
fs_step_dirs(struct build *b, struct fs_step *fs, bool rw, struct lade_error *err)
{
    memset(fs, 0, sizeof(*fs));
    if (store_tmp_dir(b->st, &fs->dir, err) < 0)
        return -1;
    fs->merged = xasprintf("%s/merged", fs->dir);
    if (mkdir(fs->merged, 0755) < 0 || chmod(fs->merged, 0755) < 0)
        return lade_error_sys(err, "cannot create '%s'", fs->merged);
    if (!rw)
        return 0;
    fs->upper = xasprintf("%s/upper", fs->dir);
    fs->work = xasprintf("%s/work", fs->dir);
    /* explicit modes: the caller's umask must not reach the layer's root directory */
    if (mkdir(fs->upper, 0755) < 0 || chmod(fs->upper, 0755) < 0 || mkdir(fs->work, 0700) < 0)
        return lade_error_sys(err, "cannot create step directories in '%s'", fs->dir);
    return 0;
}

static int
fs_step_mount_rw(struct build *b, struct stage_state *ss, struct fs_step *fs,
                 struct lade_error *err)
{
    if (stage_layers_ready(b, ss, err) < 0)
        return -1;
    if (b->tier == ISOLATION_CHROOT)
        return stage_tree_fill(ss, fs->merged, err) < 0 ? -1 : fs_step_snapshot(fs, NULL, err);
    cleanup_free char **lowers = stage_lowerdirs(ss);
    if (overlay_mount(lowers, ss->nlayers, fs->upper, fs->work, fs->merged, err) < 0)
        return -1;
    fs->mounted = true;
    return 0;
}

int
fs_step_begin(struct build *b, struct stage_state *ss, bool mount, struct fs_step *fs,
              struct lade_error *err)
{
    if (fs_step_dirs(b, fs, true, err) < 0)
        return -1;
    return mount ? fs_step_mount_rw(b, ss, fs, err) : 0;
}

int
fs_step_begin_adding(struct build *b, struct stage_state *ss, const char *const *paths, bool users,
                     struct fs_step *fs, struct lade_error *err)
{
    bool extracted = true;

    for (size_t i = 0; i < ss->nlayers; i++)
        extracted = extracted && ss->layers[i].dir != NULL;
    if (extracted)
        return fs_step_begin(b, ss, true, fs, err);
    /* a layer only in a --cache-from is fetched: its listing reads the blob */
    int fetched = 0;
    pthread_mutex_lock(&b->shared->mu);
    for (size_t i = 0; fetched == 0 && i < ss->nlayers; i++)
        if (ss->layers[i].dir == NULL)
            fetched = cache_import_fetch(b, &ss->layers[i].blob, err);
    pthread_mutex_unlock(&b->shared->mu);
    if (fetched < 0 || fs_step_dirs(b, fs, true, err) < 0)
        return -1;
    int rc = fs_lazy_begin(b, ss, fs->upper, fs->dir, paths, users, &fs->lazy, err);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        free(fs->merged);
        fs->merged = xstrdup(fs->upper);
        return 0;
    }
    /* the base's tree is needed after all: a clean upper dir on the overlay */
    if (rm_rf_at(AT_FDCWD, fs->upper, err) < 0 || mkdir(fs->upper, 0755) < 0 ||
        chmod(fs->upper, 0755) < 0)
        return lade_error_sys(err, "cannot create '%s'", fs->upper);
    return fs_step_mount_rw(b, ss, fs, err);
}

int
fs_step_lookup_user(const struct fs_step *fs, int rootfd, const char *spec, uid_t *uid, gid_t *gid,
                    struct lade_error *err)
{
    cleanup_close int users = -1;

    if (fs->lazy != NULL && fs_lazy_users(fs->lazy) != NULL) {
        users = open(fs_lazy_users(fs->lazy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (users < 0)
            return lade_error_sys(err, "open '%s'", fs_lazy_users(fs->lazy));
        rootfd = users;
    }
    return rootfs_lookup_user(rootfd, spec, uid, gid, err);
}

int
fs_step_mount_ro(struct build *b, const struct stage_state *src, struct fs_step *fs, int *rootfd,
                 struct lade_error *err)
{
    if (fs_step_dirs(b, fs, false, err) < 0 || stage_layers_ready(b, src, err) < 0)
        return -1;
    if (b->tier == ISOLATION_CHROOT && stage_tree_fill(src, fs->merged, err) < 0)
        return -1;
    cleanup_free char **lowers = b->tier == ISOLATION_CHROOT ? NULL : stage_lowerdirs(src);
    if (lowers != NULL && overlay_mount(lowers, src->nlayers, NULL, NULL, fs->merged, err) < 0)
        return -1;
    fs->mounted = lowers != NULL;
    *rootfd = open(fs->merged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*rootfd < 0)
        return lade_error_sys(err, "open '%s'", fs->merged);
    return 0;
}

int
fs_step_end(struct build *b, struct stage_state *ss, struct fs_step *fs, bool commit,
            const char *created_by, struct lade_error *err)
{
    int rc = 0;

    if (fs->dir == NULL)
        return 0;
    if (fs->mounted) {
        overlay_unmount(fs->merged, NULL);
        fs->mounted = false;
    }
    if (commit && fs->lazy != NULL)
        rc = fs_lazy_finish(fs->lazy, err);
    /* the step wrote over the base's files: only the extracted tree gives its layer */
    if (rc > 0 && stage_layers_ready(b, ss, err) < 0)
        rc = -1;
    if (commit && rc == 0 && fs->snap != NULL)
        rc = fs_step_diff(fs, err);
    if (commit && rc == 0)
        rc = stage_commit_layer(b, ss, fs->upper, created_by, err);
    fs_lazy_free(fs->lazy);
    tree_snapshot_free(fs->snap);
    rm_rf_at(AT_FDCWD, fs->dir, NULL);
    free(fs->dir);
    free(fs->upper);
    free(fs->work);
    free(fs->merged);
    memset(fs, 0, sizeof(*fs));
    return rc;
}
