/* SPDX-License-Identifier: Apache-2.0 */
/* The build driver: loads the plan, builds the stages the target needs in dependency order
 * (a stage that COPY --from names is built before the stage that copies), dispatches each
 * instruction to its step with its typed command, and hands the target to image.c. It only
 * drives: the steps call down into the stage, the cache and layers/, never back here. */
#include "build.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attest_build.h"
#include "cache.h"
#include "cache_transfer.h"
#include "image.h"
#include "metadata.h"
#include "output.h"
#include "stage.h"
#include "steps.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"

/* Sets err's position to the instruction and its source line; returns -1. */
static int
error_at(struct build *b, const struct instr *in, struct lade_error *err)
{
    if (err->pos.line == 0) {
        snprintf(err->pos.file, sizeof(err->pos.file), "%s", b->plan->df->filename);
        err->pos.line = in->pos.line;
        err->pos.col = in->pos.col;
        dockerfile_error_at(b->plan->df, &err->pos, err);
    }
    return -1;
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
    struct command cmd;
    struct expander x;
    int rc;

    stage_expander(ss, b->plan->df, &x);
    if (command_expand(in, &x, &cmd, err) < 0) {
        command_release(&cmd);
        return -1;
    }
    switch (in->kind) {
    case INSTR_RUN:
        rc = build_check_run_platform(ss, err);
        if (rc == 0)
            rc = step_run(b, ss, &cmd, err);
        break;
    case INSTR_COPY:
    case INSTR_ADD:
        rc = step_copy(b, ss, &cmd, err);
        break;
    case INSTR_WORKDIR:
        rc = step_workdir(b, ss, &cmd, err);
        break;
    case INSTR_FROM:
    case INSTR_UNKNOWN:
        rc = lade_error_at(err, &in->pos, "unexpected instruction \"%s\"", in->keyword);
        break;
    default: /* config instructions: their key is the command alone (cache.h) */
        cache_key_step(ss, &cmd, NULL);
        rc = in->kind == INSTR_HEALTHCHECK ? step_healthcheck(b, ss, &cmd, err)
                                           : step_config(b, ss, in, err);
        break;
    }
    command_release(&cmd);
    return rc;
}

/* Where a step comes from, for the progress's events. */
static void
step_pos(const struct build *b, const struct stage *s, const struct instr *in, const char *step,
         char *stage_buf, size_t len, struct progress_pos *pos)
{
    if (s->name != NULL)
        snprintf(stage_buf, len, "%s", s->name);
    else
        snprintf(stage_buf, len, "stage-%zu", s->index);
    *pos = (struct progress_pos){.stage = stage_buf,
                                 .step = step,
                                 .file = b->plan->df->filename,
                                 .line = in->pos.line,
                                 .instruction = in->original};
}

/* Runs one instruction as a step of the progress: CACHED, DONE with the layer it made, or
 * ERROR. */
static int
run_step(struct build *b, struct stage_state *ss, const struct instr *in, struct lade_error *err)
{
    size_t nlayers = ss->nlayers;

    b->step_cached = false;
    if (dispatch(b, ss, in, err) < 0) {
        progress_error(&b->progress, err->msg);
        return -1;
    }
    if (ss->nlayers > nlayers)
        progress_layer(&b->progress, ss->layers[ss->nlayers - 1].blob.digest);
    if (b->step_cached)
        progress_cached(&b->progress);
    else
        progress_done(&b->progress);
    return 0;
}

/* The base's ONBUILD triggers run first, as instructions of this stage, and leave the new
 * image's config (BuildKit). Each is parsed as a one-line Dockerfile and is a step of its own,
 * CACHED or DONE as any other. */
static int
run_onbuild_triggers(struct build *b, struct stage_state *ss, const char *label,
                     struct lade_error *err)
{
    json_t *c = oci_config_container(ss->config);
    json_t *ob = json_incref(json_object_get(c, "OnBuild"));
    const struct stage *s = ss->stage;
    char stage_name[80], step[32];
    struct progress_pos pos;
    size_t i, n = 0;
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
            snprintf(step, sizeof(step), "onbuild-%zu", ++n);
            step_pos(b, s, s->from, step, stage_name, sizeof(stage_name), &pos);
            pos.instruction = in->original;
            progress_step(&b->progress, &pos, "[%sONBUILD] %s", label, in->original);
            if (in->kind == INSTR_FROM || in->kind == INSTR_ONBUILD || in->kind == INSTR_MAINTAINER)
                rc = lade_error_set(err, LADE_ERR_PARSE, "%s isn't allowed as an ONBUILD trigger",
                                    in->keyword);
            else
                rc = run_step(b, ss, in, err);
            if (rc < 0) {
                progress_error(&b->progress, err->msg);
                lade_error_prefix(err, "base image ONBUILD trigger \"%s\"", text);
            }
        }
    }
    json_decref(ob);
    return rc;
}

/* Builds one stage; the stages it depends on are built already. */
static int
build_one_stage(struct build *b, size_t idx, struct lade_error *err)
{
    struct stage_state *ss = &b->stages[idx];
    const struct stage *s = &b->plan->stages[idx];
    char buf[80], stage_name[80], step[32];
    struct progress_pos pos;
    const char *label;
    int rc = 0;

    label = stage_label(b, s, buf, sizeof(buf));
    /* a named context replaces a stage of its name, or else the image FROM names (BuildKit) */
    const struct named_context *nc = s->name ? named_context_find(&b->named, s->name) : NULL;
    bool replaced = nc != NULL;
    if (nc == NULL && s->base_stage < 0)
        nc = named_context_find(&b->named, s->base);
    step_pos(b, s, s->from, "1", stage_name, sizeof(stage_name), &pos);
    progress_step(&b->progress, &pos, "[%s1/%zu] FROM %s%s", label, s->ninstrs + 1,
                  nc ? "context " : "", nc ? nc->name : s->base);
    b->step_cached = false;
    int64_t from_start = stage_clock_ns();
    if (stage_set_platform(b, ss, s, err) < 0)
        rc = -1;
    else if (nc != NULL)
        rc = step_from_named_context(b, ss, nc, err);
    else if (s->base_stage >= 0)
        stage_init_from(ss, &b->stages[s->base_stage]);
    else if (strcmp(s->base, "scratch") == 0)
        stage_scratch_base(b, ss);
    else
        rc = stage_load_image(b, ss, s->base, err);
    if (rc < 0) {
        progress_error(&b->progress, err->msg);
        return error_at(b, s->from, err);
    }
    /* the FROM ends before its base's triggers start (a directory context's layer may have
     * come from the cache) */
    if (b->step_cached)
        progress_cached(&b->progress);
    else
        progress_done(&b->progress);
    stage_record_step(ss, s->from->pos.line, s->from->original, b->step_cached, from_start, 0);
    if (run_onbuild_triggers(b, ss, label, err) < 0) {
        cache_explain_stage_end(b, ss, true);
        return error_at(b, s->from, err);
    }
    if (replaced) {
        cache_explain_stage_end(b, ss, false);
        ss->built = true;
        return 0;
    }

    for (size_t i = 0; i < s->ninstrs; i++) {
        const struct instr *in = s->instrs[i];
        snprintf(step, sizeof(step), "%zu", i + 2);
        step_pos(b, s, in, step, stage_name, sizeof(stage_name), &pos);
        progress_step(&b->progress, &pos, "[%s%zu/%zu] %s", label, i + 2, s->ninstrs + 1,
                      in->original);
        int64_t start = stage_clock_ns();
        size_t nlayers = ss->nlayers;
        if (run_step(b, ss, in, err) < 0) {
            cache_explain_stage_end(b, ss, true);
            return error_at(b, in, err);
        }
        stage_record_step(ss, in->pos.line, in->original, b->step_cached, start, nlayers);
    }
    cache_explain_stage_end(b, ss, false);
    ss->built = true;
    return 0;
}

/* The stages the target needs, dependencies first (an iterative depth-first walk: a chain of
 * 100,000 stages must not recurse that deep). */
static int
build_order(const struct plan *p, size_t **out, size_t *n, struct lade_error *err)
{
    enum { NEW, OPEN, DONE };
    cleanup_free unsigned char *mark = xcalloc(p->nstages, 1);
    cleanup_free size_t *stack = xcalloc(p->nstages, sizeof(*stack));
    cleanup_free size_t *next = xcalloc(p->nstages, sizeof(*next)); /* next dep to visit */
    size_t *order = xcalloc(p->nstages, sizeof(*order)), depth = 0, k = 0;

    stack[depth++] = p->target;
    mark[p->target] = OPEN;
    while (depth > 0) {
        size_t cur = stack[depth - 1];
        const struct stage *s = &p->stages[cur];
        if (next[cur] == s->ndeps) {
            mark[cur] = DONE;
            order[k++] = cur;
            depth--;
            continue;
        }
        long d = s->deps[next[cur]++];
        if (d < 0 || (size_t) d == cur || mark[d] == DONE)
            continue;
        if (mark[d] == OPEN) {
            free(order);
            return lade_error_at(err, &s->from->pos, "circular dependency on stage %ld", d);
        }
        mark[d] = OPEN;
        stack[depth++] = (size_t) d;
    }
    *out = order;
    *n = k;
    return 0;
}

/* ---- stages built at once ---- */

/* Workers take the stages whose dependencies are built, in build order, from a queue; each
 * builds its stage with a copy of the build (its own progress and step_cached). A failure stops
 * them from taking more; the first one is the build's error. */
struct scheduler {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct build *b;
    size_t *pending;   /* by stage index: dependency edges not built yet */
    size_t *rev_start; /* the stages that depend on stage i: rev[rev_start[i]..rev_start[i+1]) */
    size_t *rev;
    size_t *queue; /* ready stages; [qhead, qtail) not taken yet */
    size_t qhead, qtail, left;
    bool failed;
    struct lade_error err;
};

static bool
dep_edge(const struct stage *s, long d)
{
    return d >= 0 && (size_t) d != s->index;
}

static void
scheduler_init(struct scheduler *sc, struct build *b, const size_t *order, size_t n)
{
    const struct plan *p = b->plan;

    memset(sc, 0, sizeof(*sc));
    pthread_mutex_init(&sc->mu, NULL);
    pthread_cond_init(&sc->cv, NULL);
    sc->b = b;
    sc->left = n;
    sc->pending = xcalloc(p->nstages, sizeof(size_t));
    sc->rev_start = xcalloc(p->nstages + 1, sizeof(size_t));
    sc->queue = xcalloc(n, sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        const struct stage *s = &p->stages[order[i]];
        for (size_t k = 0; k < s->ndeps; k++)
            if (dep_edge(s, s->deps[k])) {
                sc->pending[s->index]++;
                sc->rev_start[s->deps[k] + 1]++;
            }
    }
    for (size_t i = 0; i < p->nstages; i++)
        sc->rev_start[i + 1] += sc->rev_start[i];
    cleanup_free size_t *fill = xcalloc(p->nstages, sizeof(size_t));
    sc->rev = xcalloc(sc->rev_start[p->nstages] + 1, sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        const struct stage *s = &p->stages[order[i]];
        for (size_t k = 0; k < s->ndeps; k++)
            if (dep_edge(s, s->deps[k])) {
                size_t d = (size_t) s->deps[k];
                sc->rev[sc->rev_start[d] + fill[d]++] = s->index;
            }
        if (sc->pending[s->index] == 0)
            sc->queue[sc->qtail++] = s->index;
    }
}

static void
scheduler_release(struct scheduler *sc)
{
    pthread_mutex_destroy(&sc->mu);
    pthread_cond_destroy(&sc->cv);
    free(sc->pending);
    free(sc->rev_start);
    free(sc->rev);
    free(sc->queue);
}

static void *
worker_main(void *arg)
{
    struct scheduler *sc = arg;

    pthread_mutex_lock(&sc->mu);
    for (;;) {
        while (!sc->failed && sc->left > 0 && sc->qhead == sc->qtail)
            pthread_cond_wait(&sc->cv, &sc->mu);
        if (sc->failed || sc->left == 0)
            break;
        size_t idx = sc->queue[sc->qhead++];
        pthread_mutex_unlock(&sc->mu);

        struct build local = *sc->b;
        struct lade_error err = {0};
        progress_fork(&local.progress, &sc->b->progress);
        int rc = build_one_stage(&local, idx, &err);
        progress_release(&local.progress);

        pthread_mutex_lock(&sc->mu);
        if (rc < 0 && !sc->failed) {
            sc->failed = true;
            sc->err = err;
        } else if (rc == 0) {
            sc->left--;
            for (size_t k = sc->rev_start[idx]; k < sc->rev_start[idx + 1]; k++)
                if (--sc->pending[sc->rev[k]] == 0)
                    sc->queue[sc->qtail++] = sc->rev[k];
        }
        pthread_cond_broadcast(&sc->cv);
    }
    pthread_mutex_unlock(&sc->mu);
    return NULL;
}

/* Builds the stages of order, up to opts->jobs at once. One job, or one stage, builds in this
 * thread as before, so SIGINT/SIGTERM reach a running RUN (the sandbox forwards them); with
 * workers, a signal ends lade and the sandboxes with it (they die with their parent). */
static int
build_stages(struct build *b, const size_t *order, size_t n, struct lade_error *err)
{
    unsigned jobs = b->opts->jobs;
    struct scheduler sc;

    if (jobs == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = cpus > 0 ? (unsigned) cpus : 1;
    }
    if (jobs > n)
        jobs = (unsigned) n;
    if (jobs <= 1) {
        for (size_t i = 0; i < n; i++)
            if (build_one_stage(b, order[i], err) < 0)
                return -1;
        return 0;
    }
    scheduler_init(&sc, b, order, n);
    pthread_t *threads = xcalloc(jobs, sizeof(*threads));
    unsigned started = 0;
    for (; started < jobs; started++)
        if (pthread_create(&threads[started], NULL, worker_main, &sc) != 0)
            break;
    if (started == 0) /* no thread at all: build here */
        worker_main(&sc);
    for (unsigned i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    int rc = sc.failed ? -1 : 0;
    if (sc.failed)
        *err = sc.err;
    scheduler_release(&sc);
    return rc;
}

/* ---- the whole build ---- */

/* The image's layer blobs that a cache hit left in a --cache-from only are fetched now: the
 * image is stored (and exported) whole. */
static int
image_blobs_ready(struct build *b, const struct stage_state *ss, struct lade_error *err)
{
    for (size_t i = 0; i < ss->nlayers; i++)
        if (cache_import_fetch(b, &ss->layers[i].blob, err) < 0)
            return -1;
    return 0;
}

int
build_load_plan(const struct build_opts *o, struct plan **out, struct lade_error *err)
{
    cleanup_free char *path = NULL, *text = NULL;
    struct dockerfile *df = NULL;
    size_t len = o->dockerfile_len;
    const char *name = o->dockerfile_name;

    if (o->dockerfile_text == NULL) {
        path = o->dockerfile ? xstrdup(o->dockerfile) : context_default_dockerfile(o->context);
        if (read_file_at(AT_FDCWD, path, 64u << 20, &text, &len, err) < 0) {
            lade_error_recode(err, LADE_ERR_PARSE);
            return lade_error_prefix(err, "cannot read Dockerfile");
        }
        if (name == NULL)
            name = o->dockerfile ? o->dockerfile : strrchr(path, '/') + 1;
    }
    if (dockerfile_parse_mem(text ? text : o->dockerfile_text, len, name ? name : "Dockerfile", 0,
                             &df, err) < 0)
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
        o->dockerfile && !o->dockerfile_text ? xasprintf("%s.dockerignore", o->dockerfile) : NULL;
    cleanup_free char *path = xasprintf("%s/.dockerignore", o->context);
    cleanup_free char *text = NULL;
    size_t len = 0;
    const char *use = path;

    *out = NULL;
    if (o->no_dockerignore)
        return 0;
    /* BuildKit prefers Dockerfile-specific ignore files (FILE.dockerignore next to FILE). */
    if (per_file != NULL && access(per_file, F_OK) == 0)
        use = per_file;
    else if (access(path, F_OK) < 0)
        return 0;
    /* O_NONBLOCK and a type check: a FIFO named .dockerignore must not hang the build. */
    cleanup_close int fd = open(use, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return lade_error_sys(err, "cannot open '%s'", use);
    if (!S_ISREG(st.st_mode))
        return lade_error_set(err, LADE_ERR_OTHER, "'%s' is not a regular file", use);
    if (read_fd_all(fd, use, 16u << 20, &text, &len, err) < 0)
        return -1;
    if (dockerignore_parse(text, len, out, err) < 0) {
        lade_error_recode(err, LADE_ERR_PARSE);
        return lade_error_prefix(err, "%s", use);
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
    strv_free(b->shared->pulled);
    strv_free(b->shared->bases);
    cache_transfer_free(b->shared->xfer);
    named_contexts_release(&b->named);
    digest_cache_close(b->hashes);
    progress_release(&b->progress);
}

int
build_run_one(struct store *st, const struct build_opts *opts, digest_t manifest_out,
              struct lade_error *err)
{
    struct build_shared shared = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct build b = {.st = st, .opts = opts, .context_fd = -1, .shared = &shared};
    struct oci_desc mdesc = {0};
    cleanup_free size_t *order = NULL;
    digest_t config_digest;
    size_t norder = 0;
    int rc = -1;

    progress_init(&b.progress, opts->progress);
    if (build_load_plan(opts, &b.plan, err) < 0 || load_dockerignore(opts, &b.ignore, err) < 0)
        goto out;
    b.context_fd = open(opts->context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (b.context_fd < 0) {
        lade_error_sys(err, "cannot open build context '%s'", opts->context);
        goto out;
    }
    b.hashes = digest_cache_open(st, opts->context);
    if (named_contexts_prepare(st, opts->reg, opts->named_contexts, &b.named, err) < 0 ||
        isolation_choose(opts->isolation, &b.tier, err) < 0 ||
        (b.tier != ISOLATION_CHROOT && sandbox_unshare(err) < 0))
        goto out;
    b.clamp = opts->epoch;
    oci_time_format(opts->epoch >= 0 ? opts->epoch : (int64_t) time(NULL), b.created,
                    sizeof(b.created));
    b.stages = xcalloc(b.plan->nstages, sizeof(*b.stages));
    for (size_t i = 0; i < b.plan->nstages; i++)
        b.stages[i].stage = &b.plan->stages[i];
    if (build_order(b.plan, &order, &norder, err) < 0 || cache_transfer_start(&b, err) < 0)
        goto out;
    if (build_stages(&b, order, norder, err) < 0)
        goto out;
    struct stage_state *target = &b.stages[b.plan->target];
    if (image_blobs_ready(&b, target, err) < 0 ||
        image_write(&b, target, &mdesc, config_digest, err) < 0)
        goto out;
    /* with attestations, the image is an index of it and its attestation manifest */
    struct oci_desc result = mdesc;
    if (attest_wanted(opts) && attest_image(&b, target, &mdesc, &result, err) < 0)
        goto out;
    if (image_export(&b, &result, config_digest, err) < 0 ||
        outputs_write(&b, target, &result, err) < 0 ||
        (opts->push && image_push_tags(&b, &result, err) < 0) || cache_export(&b, err) < 0)
        goto out;
    if (opts->metadata_file != NULL &&
        metadata_write(&b, &result, config_digest, opts->metadata_file, err) < 0)
        goto out;
    if (manifest_out != NULL)
        memcpy(manifest_out, result.digest, sizeof(digest_t));
    rc = 0;
out:
    if (b.progress.sink != NULL)
        progress_build_done(&b.progress, rc < 0 ? err : NULL);
    build_release(&b);
    return rc;
}
