/* SPDX-License-Identifier: Apache-2.0 */
#include "build-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "../layers/archive/archive.h"

/* ---- expansion environment ---- */

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

char **
stage_lowerdirs(const struct stage_state *ss)
{
    char **v = xcalloc(ss->nlayers + 1, sizeof(*v));

    for (size_t i = 0; i < ss->nlayers; i++)
        v[i] = ss->layers[ss->nlayers - 1 - i].dir;
    return v;
}

int
build_error_at(struct build *b, const struct instr *in, struct lade_error *err)
{
    if (err->pos.line == 0) {
        snprintf(err->pos.file, sizeof(err->pos.file), "%s", b->plan->df->filename);
        err->pos.line = in->pos.line;
        err->pos.col = in->pos.col;
        dockerfile_error_at(b->plan->df, &err->pos, err);
    }
    return -1;
}

/* ---- layers ---- */

void
stage_add_history(struct build *b, struct stage_state *ss, const char *created_by, bool empty)
{
    oci_config_add_history(ss->config, b->created, created_by, "buildkit.dockerfile.v0", empty);
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
    for (size_t i = 0; i < ss->ntriggers; i++)
        dockerfile_free(ss->triggers[i]);
    free(ss->triggers);
    memset(ss, 0, sizeof(*ss));
}

int
stage_commit_layer(struct build *b, struct stage_state *ss, const char *upper_path,
                   const char *created_by, struct lade_error *err)
{
    struct layer_opts lo = {
        .epoch = b->clamp, .compression = b->opts->compression, .overlay_upper = true};
    struct layer_info info;
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

    struct layer_state l = {0};
    chain_id_next(ss->nlayers ? ss->layers[ss->nlayers - 1].chain_id : NULL, info.diff_id,
                  l.chain_id);
    memcpy(l.diff_id, info.diff_id, sizeof(l.diff_id));
    snprintf(l.blob.media_type, sizeof(l.blob.media_type), "%s",
             layer_media_type(b->opts->compression));
    memcpy(l.blob.digest, info.digest, sizeof(l.blob.digest));
    l.blob.size = (int64_t) info.size;
    if (store_layer_adopt(b->st, l.chain_id, l.diff_id, l.blob.digest, upper_path, &l.dir, err) < 0)
        return -1;
    ss->layers = xrealloc(ss->layers, (ss->nlayers + 1) * sizeof(*ss->layers));
    ss->layers[ss->nlayers++] = l;
    oci_config_add_layer(ss->config, l.diff_id);
    stage_add_history(b, ss, created_by, false);
    return cache_record(b, ss, &ss->layers[ss->nlayers - 1], err);
}

int
fs_step_begin(struct build *b, struct stage_state *ss, bool mount, struct fs_step *fs,
              struct lade_error *err)
{
    memset(fs, 0, sizeof(*fs));
    if (store_tmp_dir(b->st, &fs->dir, err) < 0)
        return -1;
    fs->upper = xasprintf("%s/upper", fs->dir);
    fs->work = xasprintf("%s/work", fs->dir);
    fs->merged = xasprintf("%s/merged", fs->dir);
    if (mkdir(fs->upper, 0755) < 0 || mkdir(fs->work, 0700) < 0 || mkdir(fs->merged, 0755) < 0)
        return lade_error_sys(err, "cannot create step directories in '%s'", fs->dir);
    if (!mount)
        return 0;
    cleanup_free char **lowers = stage_lowerdirs(ss);
    if (overlay_mount(lowers, ss->nlayers, fs->upper, fs->work, fs->merged, err) < 0)
        return -1;
    fs->mounted = true;
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
    if (commit)
        rc = stage_commit_layer(b, ss, fs->upper, created_by, err);
    rm_rf_at(AT_FDCWD, fs->dir, NULL);
    free(fs->dir);
    free(fs->upper);
    free(fs->work);
    free(fs->merged);
    memset(fs, 0, sizeof(*fs));
    return rc;
}

/* ---- stages ---- */

static int
base_from_stage(struct build *b, struct stage_state *ss, size_t base, struct lade_error *err)
{
    struct stage_state *src = &b->stages[base];

    if (build_stage(b, base, err) < 0)
        return -1;
    ss->config = json_deep_copy(src->config);
    ss->layers = xcalloc(src->nlayers + 1, sizeof(*ss->layers));
    for (size_t i = 0; i < src->nlayers; i++) {
        ss->layers[i] = src->layers[i];
        ss->layers[i].dir = xstrdup(src->layers[i].dir);
    }
    ss->nlayers = src->nlayers;
    memcpy(ss->key, src->key, sizeof(ss->key));
    /* A stage built FROM another inherits the ARGs that one declared (BuildKit). */
    envmap_copy(&ss->args, &src->args);
    envmap_copy(&ss->arg_names, &src->arg_names);
    return 0;
}

static const char *
stage_label(const struct build *b, const struct stage *s, char *buf, size_t len)
{
    size_t needed = 0;

    for (size_t i = 0; i < b->plan->nstages; i++)
        needed += b->plan->stages[i].needed;
    if (needed <= 1)
        return "";
    if (s->name != NULL)
        snprintf(buf, len, "%s ", s->name);
    else
        snprintf(buf, len, "stage-%zu ", s->index);
    return buf;
}

static int
dispatch(struct build *b, struct stage_state *ss, const struct instr *in, struct lade_error *err)
{
    switch (in->kind) {
    case INSTR_RUN:
        if (build_check_run_platform(b, err) < 0)
            return -1;
        return step_run(b, ss, in, err);
    case INSTR_COPY:
    case INSTR_ADD:
        return step_copy(b, ss, in, err);
    case INSTR_WORKDIR:
        return step_workdir(b, ss, in, err);
    case INSTR_FROM:
    case INSTR_UNKNOWN:
        return lade_error_at(err, &in->pos, "unexpected instruction \"%s\"", in->keyword);
    case INSTR_CMD:
    case INSTR_ENTRYPOINT:
    case INSTR_ENV:
    case INSTR_ARG:
    case INSTR_LABEL:
    case INSTR_EXPOSE:
    case INSTR_USER:
    case INSTR_VOLUME:
    case INSTR_SHELL:
    case INSTR_STOPSIGNAL:
    case INSTR_HEALTHCHECK:
    case INSTR_ONBUILD:
    case INSTR_MAINTAINER:
        cache_key_step(ss, in->original, NULL);
        return step_config(b, ss, in, err);
    }
    return lade_error_at(err, &in->pos, "unsupported instruction \"%s\"", in->keyword);
}

/* The base's ONBUILD triggers run first, as instructions of this stage, and leave the new
 * image's config (BuildKit). Each is parsed as a one-line Dockerfile. */
static int
run_onbuild_triggers(struct build *b, struct stage_state *ss, const char *label,
                     struct lade_error *err)
{
    json_t *c = oci_config_container(ss->config);
    json_t *ob = json_incref(json_object_get(c, "OnBuild"));
    size_t i;
    json_t *t;
    int rc = 0;

    json_object_del(c, "OnBuild");
    json_array_foreach(ob, i, t)
    {
        const char *text = json_string_value(t);
        struct dockerfile *df = NULL;
        if (text == NULL)
            continue;
        /* Behind a FROM line, so the trigger gets the full validation of an instruction. */
        cleanup_free char *src = xasprintf("FROM scratch\n%s\n", text);
        if (dockerfile_parse_mem(src, strlen(src), "ONBUILD trigger", 0, &df, err) < 0) {
            rc = lade_error_prefix(err, "base image ONBUILD trigger \"%s\"", text);
            break;
        }
        ss->triggers = xrealloc(ss->triggers, (ss->ntriggers + 1) * sizeof(*ss->triggers));
        ss->triggers[ss->ntriggers++] = df;
        for (size_t k = 1; rc == 0 && k < df->n; k++) {
            const struct instr *in = &df->instrs[k];
            progress_done(&b->progress);
            progress_step(&b->progress, "[%sONBUILD] %s", label, in->original);
            if (in->kind == INSTR_FROM || in->kind == INSTR_ONBUILD || in->kind == INSTR_MAINTAINER)
                rc = lade_error_set(err, LADE_ERR_PARSE, "%s isn't allowed as an ONBUILD trigger",
                                    in->keyword);
            else
                rc = dispatch(b, ss, in, err);
            if (rc < 0)
                lade_error_prefix(err, "base image ONBUILD trigger \"%s\"", text);
        }
    }
    json_decref(ob);
    return rc;
}

int
build_stage(struct build *b, size_t idx, struct lade_error *err)
{
    struct stage_state *ss = &b->stages[idx];
    const struct stage *s = &b->plan->stages[idx];
    char buf[80];
    const char *label;
    int rc;

    if (ss->built)
        return 0;
    if (ss->building)
        return lade_error_at(err, &s->from->pos, "circular dependency on stage %zu", idx);
    ss->building = true;
    for (size_t i = 0; i < s->ndeps; i++)
        if (s->deps[i] != (long) idx && s->deps[i] != s->base_stage &&
            build_stage(b, (size_t) s->deps[i], err) < 0)
            return -1;

    label = stage_label(b, s, buf, sizeof(buf));
    progress_step(&b->progress, "[%s1/%zu] FROM %s", label, s->ninstrs + 1, s->base);
    if (s->base_stage >= 0)
        rc = base_from_stage(b, ss, (size_t) s->base_stage, err);
    else if (strcmp(s->base, "scratch") == 0) {
        stage_scratch_base(b, ss);
        rc = 0;
    } else
        rc = stage_load_image(b, ss, s->base, err);
    if (rc < 0 || run_onbuild_triggers(b, ss, label, err) < 0)
        return build_error_at(b, s->from, err);
    progress_done(&b->progress);

    for (size_t i = 0; i < s->ninstrs; i++) {
        const struct instr *in = s->instrs[i];
        progress_step(&b->progress, "[%s%zu/%zu] %s", label, i + 2, s->ninstrs + 1, in->original);
        b->step_cached = false;
        if (dispatch(b, ss, in, err) < 0) {
            progress_error(&b->progress, err->msg);
            return build_error_at(b, in, err);
        }
        if (b->step_cached)
            progress_cached(&b->progress);
        else
            progress_done(&b->progress);
    }
    ss->building = false;
    ss->built = true;
    return 0;
}

/* ---- the whole build ---- */

int
build_load_plan(const struct build_opts *o, struct plan **out, struct lade_error *err)
{
    cleanup_free char *path =
        o->dockerfile ? xstrdup(o->dockerfile) : xasprintf("%s/Dockerfile", o->context);
    cleanup_free char *text = NULL;
    struct dockerfile *df = NULL;
    size_t len = 0;

    if (read_file_at(AT_FDCWD, path, 64u << 20, &text, &len, err) < 0) {
        err->code = LADE_ERR_PARSE;
        return lade_error_prefix(err, "cannot read Dockerfile");
    }
    const char *name = o->dockerfile ? o->dockerfile : "Dockerfile";
    if (dockerfile_parse_mem(text, len, name, 0, &df, err) < 0)
        return -1;
    char **args = build_platform_args(o);
    int rc = plan_new(df, args, o->target, out, err);
    strv_free(args);
    return rc;
}

static int
load_dockerignore(const struct build_opts *o, struct dockerignore **out, struct lade_error *err)
{
    cleanup_free char *per_file =
        o->dockerfile ? xasprintf("%s.dockerignore", o->dockerfile) : NULL;
    cleanup_free char *path = xasprintf("%s/.dockerignore", o->context);
    cleanup_free char *text = NULL;
    size_t len = 0;
    const char *use = path;

    *out = NULL;
    /* BuildKit prefers Dockerfile-specific ignore files (FILE.dockerignore next to FILE). */
    if (per_file != NULL && access(per_file, F_OK) == 0)
        use = per_file;
    else if (access(path, F_OK) < 0)
        return 0;
    if (read_file_at(AT_FDCWD, use, 16u << 20, &text, &len, err) < 0)
        return -1;
    if (dockerignore_parse(text, len, out, err) < 0) {
        err->code = LADE_ERR_PARSE;
        return lade_error_prefix(err, "%s", use);
    }
    return 0;
}

static int
write_image(struct build *b, struct stage_state *ss, digest_t manifest_out, struct oci_desc *mdesc,
            digest_t config_digest, struct lade_error *err)
{
    json_t *c = oci_config_container(ss->config);
    cleanup_free char *cfg_bytes = NULL, *man_bytes = NULL;
    cleanup_free struct oci_desc *layers = xcalloc(ss->nlayers + 1, sizeof(*layers));
    struct oci_desc cdesc = {0};
    size_t clen = 0, mlen = 0;

    for (char **l = b->opts->labels; l && *l; l++) {
        char *eq = strchr(*l, '=');
        json_t *labels = json_object_get(c, "Labels");
        if (labels == NULL)
            json_object_set_new(c, "Labels", labels = json_object());
        cleanup_free char *k = xstrndup(*l, eq ? (size_t) (eq - *l) : strlen(*l));
        json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
    }
    oci_config_set_created(ss->config, b->created);
    cfg_bytes = oci_json_dump(ss->config, &clen);
    if (store_blob_put(b->st, cfg_bytes, clen, config_digest, err) < 0)
        return -1;
    snprintf(cdesc.media_type, sizeof(cdesc.media_type), "%s", MT_OCI_CONFIG);
    memcpy(cdesc.digest, config_digest, sizeof(cdesc.digest));
    cdesc.size = (int64_t) clen;
    for (size_t i = 0; i < ss->nlayers; i++)
        layers[i] = ss->layers[i].blob;
    json_t *m = oci_manifest_new(&cdesc, layers, ss->nlayers);
    man_bytes = oci_json_dump(m, &mlen);
    json_decref(m);
    if (store_blob_put(b->st, man_bytes, mlen, manifest_out, err) < 0)
        return -1;
    snprintf(mdesc->media_type, sizeof(mdesc->media_type), "%s", MT_OCI_MANIFEST);
    memcpy(mdesc->digest, manifest_out, sizeof(mdesc->digest));
    mdesc->size = (int64_t) mlen;
    return 0;
}

static int
export_image(struct build *b, const struct oci_desc *mdesc, const char *config_digest,
             struct lade_error *err)
{
    const struct build_opts *o = b->opts;

    progress_note(&b->progress, "writing image %s", config_digest);
    for (char **t = o->tags; t && *t; t++) {
        if (store_tag_set(b->st, *t, mdesc, err) < 0)
            return -1;
        progress_note(&b->progress, "naming to %s", *t);
    }
    if (o->output != OUTPUT_NONE) {
        progress_note(&b->progress, "exporting to %s archive %s",
                      o->output == OUTPUT_OCI ? "oci" : "docker", o->output_dest);
        if (archive_export(b->st, mdesc, o->tags,
                           o->output == OUTPUT_OCI ? ARCHIVE_OCI : ARCHIVE_DOCKER, o->output_dest,
                           err) < 0)
            return -1;
    }
    if (o->iidfile != NULL && write_file_atomic_at(AT_FDCWD, o->iidfile, config_digest,
                                                   strlen(config_digest), 0644, err) < 0)
        return lade_error_prefix(err, "--iidfile");
    return 0;
}

/* --push: every tag to its registry, the blobs shown under one step per name. */
static int
push_tags(struct build *b, const struct oci_desc *mdesc, struct lade_error *err)
{
    for (char **t = b->opts->tags; t && *t; t++) {
        struct registry_opts ro = *b->opts->reg;
        struct transfer_progress tp;
        struct image_ref ref;
        int rc;

        if (image_ref_parse(*t, &ref, err) < 0)
            return -1;
        progress_note(&b->progress, "pushing %s", *t);
        transfer_progress_init(&tp, b->opts->progress, &b->progress);
        ro.progress = transfer_progress_event;
        ro.progress_ctx = &tp;
        rc = registry_push(b->st, mdesc, &ref, &ro, NULL, err);
        transfer_progress_release(&tp);
        image_ref_release(&ref);
        if (rc < 0) {
            progress_error(&b->progress, err->msg);
            return -1;
        }
        progress_done(&b->progress);
    }
    return 0;
}

static void
build_release(struct build *b)
{
    for (size_t i = 0; b->stages && i < b->plan->nstages; i++)
        stage_state_release(&b->stages[i]);
    free(b->stages);
    if (b->ignore)
        dockerignore_free(b->ignore);
    if (b->context_fd >= 0)
        close(b->context_fd);
    plan_free(b->plan);
    strv_free(b->pulled);
    progress_release(&b->progress);
}

int
build_run(struct store *st, const struct build_opts *opts, digest_t manifest_out,
          struct lade_error *err)
{
    struct build b = {.st = st, .opts = opts, .context_fd = -1};
    struct oci_desc mdesc = {0};
    digest_t manifest, config_digest;
    int rc = -1;

    progress_init(&b.progress, opts->progress);
    if (build_load_plan(opts, &b.plan, err) < 0 || load_dockerignore(opts, &b.ignore, err) < 0)
        goto out;
    b.context_fd = open(opts->context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (b.context_fd < 0) {
        lade_error_sys(err, "cannot open build context '%s'", opts->context);
        goto out;
    }
    if (sandbox_unshare(err) < 0)
        goto out;
    b.clamp = opts->epoch;
    oci_time_format(opts->epoch >= 0 ? opts->epoch : (int64_t) time(NULL), b.created,
                    sizeof(b.created));
    b.stages = xcalloc(b.plan->nstages, sizeof(*b.stages));
    for (size_t i = 0; i < b.plan->nstages; i++)
        b.stages[i].stage = &b.plan->stages[i];
    if (build_stage(&b, b.plan->target, err) < 0)
        goto out;
    if (write_image(&b, &b.stages[b.plan->target], manifest, &mdesc, config_digest, err) < 0 ||
        export_image(&b, &mdesc, config_digest, err) < 0 ||
        (opts->push && push_tags(&b, &mdesc, err) < 0))
        goto out;
    if (manifest_out != NULL)
        memcpy(manifest_out, manifest, sizeof(digest_t));
    rc = 0;
out:
    build_release(&b);
    return rc;
}
