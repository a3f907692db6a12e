/* SPDX-License-Identifier: Apache-2.0 */
/* registry_pull: manifest (an index selects the platform), then the config and layers the store
 * lacks, in parallel, each hashed while it streams into tmp/. Blobs are committed only when all
 * of them arrived with the right size and digest, then the manifest, then its tag: a failed pull
 * leaves the store as it was, and the store is valid throughout. */
#include "image-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../builder/common/cleanup.h"
#include "../../builder/common/fsutil.h"
#include "../../builder/common/xalloc.h"

#define PROGRESS_STEP (256u << 10) /* bytes between two REG_EV_BYTES of one blob */

struct pull {
    struct store *st;
    struct reg_client *c;
    const struct registry_opts *opts;
    const char *path;
    const char *scope;
    struct oci_desc *blobs; /* config first, then the layers, without repeats */
    char **staged;          /* per blob: its verified tmp/ file, NULL when the store has it */
    size_t n;
};

/* One blob streaming from the registry into a tmp/ file. */
struct download {
    const struct pull *p;
    const struct oci_desc *d;
    struct reg_jobs *jobs;
    int fd;
    struct sha256 *h;
    uint64_t done, reported;
};

static int
download_sink(void *ctx, const void *data, size_t n, struct lade_error *err)
{
    struct download *dl = ctx;

    if (atomic_load(&dl->jobs->stop))
        return lade_error_set(err, LADE_ERR_NET, "blob %s: stopped", dl->d->digest);
    if (dl->done + n > (uint64_t) dl->d->size)
        return lade_error_set(err, LADE_ERR_NET,
                              "blob %s: the registry sent more than its %" PRId64 " bytes",
                              dl->d->digest, dl->d->size);
    if (write_all(dl->fd, data, n) < 0)
        return lade_error_sys(err, "cannot write blob %s", dl->d->digest);
    sha256_update(dl->h, data, n);
    dl->done += n;
    if (dl->done - dl->reported >= PROGRESS_STEP) {
        dl->reported = dl->done;
        reg_event(dl->p->opts, REG_EV_BYTES, dl->d->digest, dl->done, (uint64_t) dl->d->size, NULL);
    }
    return 0;
}

/* A retried GET starts over. */
static int
download_reset(void *ctx, struct lade_error *err)
{
    struct download *dl = ctx;
    digest_t ignored;

    if (ftruncate(dl->fd, 0) < 0 || lseek(dl->fd, 0, SEEK_SET) < 0)
        return lade_error_sys(err, "cannot rewind blob %s", dl->d->digest);
    sha256_final(dl->h, ignored);
    dl->done = dl->reported = 0;
    return 0;
}

/* GET the blob into fd; 0 when its size and digest are right. */
static int
download(struct download *dl, struct lade_error *err)
{
    const struct oci_desc *d = dl->d;
    cleanup_free char *url = xasprintf("/v2/%s/blobs/%s", dl->p->path, d->digest);
    struct reg_request rq = {.method = "GET",
                             .url = url,
                             .scope = dl->p->scope,
                             .body_fd = -1,
                             .sink = download_sink,
                             .sink_reset = download_reset,
                             .sink_ctx = dl,
                             .follow = true};
    struct reg_response r = {0};
    digest_t got;
    int rc = -1;

    if (reg_do(dl->p->c, &rq, &r, err) < 0)
        return lade_error_prefix(err, "cannot download blob %s", d->digest);
    if (r.status != 200) {
        reg_status_error(&r, err, "cannot download blob %s", d->digest);
        goto out;
    }
    sha256_final(dl->h, got);
    if (dl->done != (uint64_t) d->size)
        lade_error_set(err, LADE_ERR_NET,
                       "blob %s: size mismatch: expected %" PRId64 " bytes, the registry sent "
                       "%" PRIu64,
                       d->digest, d->size, dl->done);
    else if (strcmp(got, d->digest) != 0)
        lade_error_set(err, LADE_ERR_NET,
                       "blob %s: digest mismatch: the registry sent bytes hashing to %s", d->digest,
                       got);
    else
        rc = 0;
out:
    reg_response_release(&r);
    return rc;
}

static int
download_job(void *ctx, size_t i, struct reg_jobs *jobs, struct lade_error *err)
{
    struct pull *p = ctx;
    const struct oci_desc *d = &p->blobs[i];
    struct download dl = {.p = p, .d = d, .jobs = jobs, .fd = -1};
    cleanup_free char *tmp = NULL;
    int rc;

    if (store_blob_exists(p->st, d->digest)) {
        reg_event(p->opts, REG_EV_EXISTS, d->digest, (uint64_t) d->size, (uint64_t) d->size, NULL);
        return 0;
    }
    if (store_tmp_file(p->st, &tmp, &dl.fd, err) < 0)
        return -1;
    dl.h = sha256_new();
    reg_event(p->opts, REG_EV_START, d->digest, 0, (uint64_t) d->size, NULL);
    rc = download(&dl, err);
    sha256_free(dl.h);
    close(dl.fd);
    if (rc < 0) {
        unlink(tmp);
        return -1;
    }
    p->staged[i] = steal_ptr(&tmp);
    reg_event(p->opts, REG_EV_DONE, d->digest, dl.done, (uint64_t) d->size, NULL);
    return 0;
}

/* Moves the staged blobs into the store (commit), or removes them (!commit). */
static int
staged_finish(struct pull *p, bool commit, struct lade_error *err)
{
    int rc = 0;

    for (size_t i = 0; i < p->n; i++) {
        if (p->staged[i] == NULL)
            continue;
        if (commit && rc == 0)
            rc = store_blob_commit(p->st, p->staged[i], p->blobs[i].digest, err);
        else
            unlink(p->staged[i]);
        free(p->staged[i]);
        p->staged[i] = NULL;
    }
    return rc;
}

/* The platform manifest of ref: the top manifest itself, or the one its index selects. */
static int
resolve_manifest(struct reg_client *c, const struct image_ref *ref, const char *what,
                 const struct registry_opts *opts, const struct oci_platform *plat,
                 struct reg_manifest *out, struct lade_error *err)
{
    struct reg_manifest top = {0};
    struct oci_desc d;
    char ptext[96];
    int rc;

    const char *reference = ref->digest        ? ref->digest
                            : opts->pin_digest ? opts->pin_digest
                                               : ref->tag;

    if (reg_manifest_get(c, ref->path, reference, what, &top, err) < 0)
        return -1;
    if (!oci_media_type_is_index(top.desc.media_type)) {
        *out = top;
        return 0;
    }
    rc = oci_index_select(top.data, top.len, plat, &d, err);
    reg_manifest_release(&top);
    if (rc < 0)
        return lade_error_prefix(err, "%s", what);
    oci_platform_format(plat, ptext, sizeof(ptext));
    cleanup_free char *note = xasprintf("%s: platform %s is %s", what, ptext, d.digest);
    reg_event(opts, REG_EV_NOTE, NULL, 0, 0, note);
    if (reg_manifest_get(c, ref->path, d.digest, what, out, err) < 0)
        return -1;
    if (oci_media_type_is_index(out->desc.media_type) || out->desc.size != d.size) {
        reg_manifest_release(out);
        return lade_error_set(err, LADE_ERR_NET,
                              "%s: the index entry for %s does not describe its manifest", what,
                              ptext);
    }
    return 0;
}

/* A single-platform image for another platform is pulled as docker does, with a warning. */
static void
warn_platform(struct pull *p, const char *config_digest, const struct oci_platform *want)
{
    cleanup_free char *data = NULL;
    json_auto_t *cfg = NULL;
    struct oci_platform have;
    char wtext[96], htext[96];
    size_t len = 0;

    if (store_blob_read(p->st, config_digest, 0, &data, &len, NULL) < 0 ||
        (cfg = oci_json_parse(data, len, "config", NULL)) == NULL)
        return;
    if (!oci_config_platform(cfg, &have))
        return;
    oci_platform_format(&have, htext, sizeof(htext));
    oci_platform_format(want, wtext, sizeof(wtext));
    if (strcmp(have.os, want->os) == 0 && strcmp(have.arch, want->arch) == 0)
        return;
    cleanup_free char *note =
        xasprintf("warning: the image's platform (%s) does not match the requested platform (%s)",
                  htext, wtext);
    reg_event(p->opts, REG_EV_NOTE, NULL, 0, 0, note);
}

/* Tags the stored manifest and records where its blobs live; the store is whole before. */
static int
finish(struct pull *p, const struct image_ref *ref, const struct reg_manifest *m,
       struct lade_error *err)
{
    cleanup_free char *name = image_ref_string(ref);
    cleanup_free char *repo = image_ref_repo(ref);
    digest_t stored;

    if (staged_finish(p, true, err) < 0 || store_blob_put(p->st, m->data, m->len, stored, err) < 0)
        return -1;
    if (store_tag_set(p->st, name, &m->desc, err) < 0)
        return -1;
    for (size_t i = 0; i < p->n; i++) {
        struct lade_error ignored = {0}; /* a hint for later pushes, not worth failing for */
        store_source_add(p->st, p->blobs[i].digest, repo, &ignored);
    }
    return 0;
}

int
registry_pull(struct store *st, const struct image_ref *ref, const struct registry_opts *opts,
              struct oci_desc *manifest_out, struct lade_error *err)
{
    cleanup_free char *what = image_ref_string(ref);
    cleanup_free char *scope = xasprintf("repository:%s:pull", ref->path);
    cleanup_free char *note = xasprintf("resolving %s", what);
    struct pull p = {.st = st, .opts = opts, .path = ref->path, .scope = scope};
    struct reg_manifest m = {0};
    struct oci_manifest man = {0};
    struct oci_platform plat;
    int rc = -1;

    if (ref->tag == NULL && ref->digest == NULL)
        return lade_error_set(err, LADE_ERR_USAGE, "%s: no tag or digest to pull", what);
    if (oci_platform_parse(opts->platform, &plat, err) < 0 ||
        reg_client_new(ref->domain, opts, &p.c, err) < 0)
        return -1;
    reg_event(opts, REG_EV_NOTE, NULL, 0, 0, note);
    if (resolve_manifest(p.c, ref, what, opts, &plat, &m, err) < 0)
        goto out;
    if (oci_manifest_parse(m.data, m.len, &man, err) < 0) {
        lade_error_prefix(err, "%s: manifest %s", what, m.desc.digest);
        goto out;
    }
    /* artifacts (Helm charts, signatures) share the format but are no images to run */
    if (strcmp(man.config.media_type, MT_OCI_CONFIG) != 0 &&
        strcmp(man.config.media_type, MT_DOCKER_CONFIG) != 0) {
        lade_error_set(err, LADE_ERR_OTHER,
                       "%s is not a container image (its config's media type is \"%.100s\")", what,
                       man.config.media_type);
        goto out;
    }
    p.blobs = reg_manifest_blobs(&man, &p.n);
    p.staged = xcalloc(p.n + 1, sizeof(*p.staged));
    if (reg_jobs_run(p.n, opts->parallel, download_job, &p, err) < 0) {
        lade_error_prefix(err, "%s", what);
        goto out;
    }
    if (finish(&p, ref, &m, err) < 0)
        goto out;
    warn_platform(&p, man.config.digest, &plat);
    if (manifest_out != NULL)
        *manifest_out = m.desc;
    rc = 0;
out:
    if (p.staged != NULL)
        staged_finish(&p, false, NULL);
    free(p.staged);
    free(p.blobs);
    oci_manifest_release(&man);
    reg_manifest_release(&m);
    reg_client_free(p.c);
    return rc;
}

/* ---- artifacts: a manifest and the blobs asked for (the build cache) ---- */

/* Downloads the blobs of p the store lacks and commits them once all arrived. */
static int
fetch_blobs(struct pull *p, const char *what, struct lade_error *err)
{
    int rc = 0;

    p->staged = xcalloc(p->n + 1, sizeof(*p->staged));
    if (reg_jobs_run(p->n, p->opts->parallel, download_job, p, err) < 0)
        rc = lade_error_prefix(err, "%s", what);
    else
        rc = staged_finish(p, true, err);
    staged_finish(p, false, NULL);
    free(p->staged);
    p->staged = NULL;
    return rc;
}

int
registry_artifact_pull(struct store *st, const struct image_ref *ref, const char *config_type,
                       const struct registry_opts *opts, struct oci_desc *manifest_out,
                       struct lade_error *err)
{
    cleanup_free char *what = image_ref_string(ref);
    cleanup_free char *scope = xasprintf("repository:%s:pull", ref->path);
    struct pull p = {.st = st, .opts = opts, .path = ref->path, .scope = scope};
    struct reg_manifest m = {0};
    struct oci_manifest man = {0};
    digest_t stored;
    int rc = -1;

    if (reg_client_new(ref->domain, opts, &p.c, err) < 0)
        return -1;
    if (reg_manifest_get(p.c, ref->path, ref->digest ? ref->digest : ref->tag, what, &m, err) < 0)
        goto out;
    if (oci_media_type_is_index(m.desc.media_type) ||
        oci_manifest_parse(m.data, m.len, &man, err) < 0 ||
        strcmp(man.config.media_type, config_type) != 0) {
        if (err->msg[0] == '\0')
            lade_error_set(err, LADE_ERR_OTHER, "%s is not a %s artifact (it is a %.100s)", what,
                           config_type,
                           man.config.media_type[0] ? man.config.media_type : m.desc.media_type);
        goto out;
    }
    p.blobs = &man.config;
    p.n = 1;
    if (fetch_blobs(&p, what, err) < 0 || store_blob_put(st, m.data, m.len, stored, err) < 0)
        goto out;
    *manifest_out = m.desc;
    rc = 0;
out:
    oci_manifest_release(&man);
    reg_manifest_release(&m);
    reg_client_free(p.c);
    return rc;
}

int
registry_blobs_fetch(struct store *st, const struct image_ref *ref, const struct oci_desc *blobs,
                     size_t n, const struct registry_opts *opts, struct lade_error *err)
{
    cleanup_free char *what = image_ref_string(ref);
    cleanup_free char *scope = xasprintf("repository:%s:pull", ref->path);
    struct pull p = {.st = st, .opts = opts, .path = ref->path, .scope = scope, .n = n};
    int rc;

    /* download_job reads the descriptors only */
    p.blobs = (struct oci_desc *) blobs;
    if (reg_client_new(ref->domain, opts, &p.c, err) < 0)
        return -1;
    rc = fetch_blobs(&p, what, err);
    reg_client_free(p.c);
    return rc;
}
