/* SPDX-License-Identifier: Apache-2.0 */
/* registry_push: each blob is checked with HEAD, mounted from another repository of the same
 * registry when the store knows one that has it, else uploaded (one PUT for small blobs, PATCH
 * chunks resumed from the registry's offset for large ones); then the manifest's exact bytes
 * are PUT, so the pushed digest is the local one (OCI distribution spec, "Pushing blobs"). */
#include "image-internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../builder/common/cleanup.h"
#include "../../builder/common/strv.h"
#include "../../builder/common/xalloc.h"

#define MONOLITHIC_MAX (16u << 20) /* larger blobs go in chunks */
#define CHUNK_SIZE (8u << 20)
#define OCTET_STREAM "application/octet-stream"

struct push {
    struct store *st;
    struct reg_client *c;
    const struct registry_opts *opts;
    const struct image_ref *dest;
    const char *scope;
    struct oci_desc *blobs; /* config first, then the layers, without repeats */
    size_t n;
};

/* url plus "?q" or "&q". */
static char *
with_query(const char *url, const char *q)
{
    return xasprintf("%s%c%s", url, strchr(url, '?') ? '&' : '?', q);
}

static void
backoff(int attempt)
{
    struct timespec ts = {0, 250000000L};

    for (int i = 0; i < attempt && ts.tv_sec < 8; i++) {
        ts.tv_sec = ts.tv_sec * 2 + (ts.tv_nsec * 2) / 1000000000L;
        ts.tv_nsec = (ts.tv_nsec * 2) % 1000000000L;
    }
    nanosleep(&ts, NULL);
}

/* 1 when the registry has the blob, 0 when not, -1 on error. */
static int
blob_exists(struct push *p, const struct oci_desc *d, struct lade_error *err)
{
    cleanup_free char *url = xasprintf("/v2/%s/blobs/%s", p->dest->path, d->digest);
    struct reg_request rq = {.method = "HEAD", .url = url, .scope = p->scope, .body_fd = -1};
    struct reg_response r = {0};
    int rc;

    if (reg_do(p->c, &rq, &r, err) < 0)
        return lade_error_prefix(err, "cannot check blob %s", d->digest);
    if (r.status == 200)
        rc = 1;
    else if (r.status == 404)
        rc = 0;
    else
        rc = reg_status_error(&r, err, "cannot check blob %s", d->digest);
    reg_response_release(&r);
    return rc;
}

/* Another repository of the destination registry the store says has the blob, or NULL. */
static char *
mount_source(struct push *p, const char *digest)
{
    char **sources = store_sources_get(p->st, digest);
    size_t dn = strlen(p->dest->domain);
    char *found = NULL;

    for (size_t i = 0; sources != NULL && sources[i] != NULL && found == NULL; i++) {
        const char *s = sources[i];
        if (strncmp(s, p->dest->domain, dn) == 0 && s[dn] == '/' &&
            strcmp(s + dn + 1, p->dest->path) != 0)
            found = xstrdup(s + dn + 1);
    }
    strv_free(sources);
    return found;
}

/* A new upload session; its URL goes to *location. */
static int
upload_open(struct push *p, const struct oci_desc *d, char **location, struct lade_error *err)
{
    cleanup_free char *url = xasprintf("/v2/%s/blobs/uploads/", p->dest->path);
    struct reg_request rq = {.method = "POST", .url = url, .scope = p->scope, .body_fd = -1};
    struct reg_response r = {0};

    if (reg_do(p->c, &rq, &r, err) < 0)
        return lade_error_prefix(err, "cannot start the upload of blob %s", d->digest);
    if (r.status != 202 || r.location == NULL) {
        if (r.status == 202)
            lade_error_set(err, LADE_ERR_NET, "upload of blob %s: the registry sent no Location",
                           d->digest);
        else
            reg_status_error(&r, err, "cannot start the upload of blob %s", d->digest);
        reg_response_release(&r);
        return -1;
    }
    free(*location);
    *location = steal_ptr(&r.location);
    reg_response_release(&r);
    return 0;
}

/* Starts an upload: a mount from another repository when one is known (1: mounted, done), else
 * a new upload session whose URL goes to *location (0). */
static int
upload_start(struct push *p, const struct oci_desc *d, char **location, struct lade_error *err)
{
    cleanup_free char *src = mount_source(p, d->digest);
    cleanup_free char *url = NULL, *scope = NULL;
    struct reg_response r = {0};

    if (src != NULL) {
        struct lade_error ignored = {0};
        url = xasprintf("/v2/%s/blobs/uploads/?mount=%s&from=%s", p->dest->path, d->digest, src);
        scope = xasprintf("%s repository:%s:pull", p->scope, src);
        struct reg_request rq = {.method = "POST", .url = url, .scope = scope, .body_fd = -1};
        /* a refused or failed mount is only a missed shortcut: upload instead */
        if (reg_do(p->c, &rq, &r, &ignored) == 0) {
            if (r.status == 201) {
                reg_response_release(&r);
                return 1;
            }
            if (r.status == 202 && r.location != NULL) {
                *location = steal_ptr(&r.location);
                reg_response_release(&r);
                return 0;
            }
        }
        reg_response_release(&r);
    }
    return upload_open(p, d, location, err);
}

/* The offset after a Range header "0-N" (N inclusive); "0-0" is taken as nothing received. */
static uint64_t
range_next(const char *range)
{
    const char *dash = range ? strchr(range, '-') : NULL;
    unsigned long long end;

    if (dash == NULL || sscanf(dash + 1, "%llu", &end) != 1 || end == 0)
        return 0;
    return (uint64_t) end + 1;
}

/* Asks the registry how much of the upload it has (GET on the upload URL): 0, or 1 when the
 * registry dropped the upload, or -1. distribution 2.8 drops an upload whose data moved past the
 * offset of the URL's state, which is what an interrupted PATCH leaves. */
static int
upload_status(struct push *p, char **location, uint64_t *offset, struct lade_error *err)
{
    struct reg_request rq = {.method = "GET", .url = *location, .scope = p->scope, .body_fd = -1};
    struct reg_response r = {0};

    if (reg_do(p->c, &rq, &r, err) < 0)
        return -1;
    if (r.status == 404) {
        reg_response_release(&r);
        return 1;
    }
    if (r.status != 204) {
        reg_status_error(&r, err, "cannot resume the upload");
        reg_response_release(&r);
        return -1;
    }
    *offset = range_next(r.range);
    if (r.location != NULL) {
        free(*location);
        *location = steal_ptr(&r.location);
    }
    reg_response_release(&r);
    return 0;
}

/* PATCHes the blob in chunks; after a failed PATCH the registry's offset says where to go on. */
static int
upload_chunks(struct push *p, const struct oci_desc *d, int fd, char **location,
              struct reg_jobs *jobs, struct lade_error *err)
{
    int retries = p->opts->retries < 0 ? REG_DEFAULT_RETRIES : p->opts->retries, failures = 0;
    uint64_t off = 0, size = (uint64_t) d->size;

    while (off < size) {
        if (atomic_load(&jobs->stop)) /* another blob failed: that error is reported */
            return lade_error_set(err, LADE_ERR_NET, "blob %s: stopped", d->digest);
        uint64_t len = size - off < CHUNK_SIZE ? size - off : CHUNK_SIZE;
        char range[80];
        const char *headers[] = {range, NULL};
        struct reg_response r = {0};
        struct lade_error perr = {0};

        snprintf(range, sizeof(range), "Content-Range: %" PRIu64 "-%" PRIu64, off, off + len - 1);
        struct reg_request rq = {.method = "PATCH",
                                 .url = *location,
                                 .scope = p->scope,
                                 .content_type = OCTET_STREAM,
                                 .headers = headers,
                                 .body_fd = fd,
                                 .body_off = (off_t) off,
                                 .body_len = len,
                                 .no_retry = true};
        int rc = reg_do(p->c, &rq, &r, &perr);
        if (rc == 0 && r.status == 202) {
            if (r.location != NULL) {
                free(*location);
                *location = steal_ptr(&r.location);
            }
            off = r.range ? range_next(r.range) : off + len;
            reg_event(p->opts, REG_EV_BYTES, d->digest, off, size, NULL);
            reg_response_release(&r);
            continue;
        }
        /* a refusal (4xx) ends the push; a lost connection or a 5xx is resumed */
        bool fatal =
            rc == 0 && r.status < 500 && r.status != 408 && r.status != 416 && r.status != 429;
        if (rc == 0)
            reg_status_error(&r, &perr, "cannot upload blob %s", d->digest);
        reg_response_release(&r);
        if (fatal || ++failures > retries) {
            *err = perr;
            return -1;
        }
        cleanup_free char *why = xasprintf("%s; resuming from the registry's offset", perr.msg);
        reg_event(p->opts, REG_EV_RETRY, d->digest, off, size, why);
        backoff(failures);
        int st = upload_status(p, location, &off, err);
        if (st > 0) { /* gone: start over in a new session */
            off = 0;
            reg_event(p->opts, REG_EV_RETRY, d->digest, 0, size,
                      "the registry dropped the upload; starting it again");
            st = upload_open(p, d, location, err);
        }
        if (st < 0)
            return lade_error_prefix(err, "blob %s", d->digest);
    }
    return 0;
}

/* The closing PUT ?digest=D, with the whole blob (monolithic: from mem when set, else fd) or
 * nothing (after chunks). */
static int
upload_finish(struct push *p, const struct oci_desc *d, int fd, const void *mem, bool whole,
              const char *location, struct lade_error *err)
{
    cleanup_free char *q = xasprintf("digest=%s", d->digest);
    cleanup_free char *url = with_query(location, q);
    struct reg_request rq = {.method = "PUT",
                             .url = url,
                             .scope = p->scope,
                             .content_type = OCTET_STREAM,
                             .body = whole ? mem : "",
                             .body_fd = whole && mem == NULL ? fd : -1,
                             .body_len = whole ? (uint64_t) d->size : 0};
    struct reg_response r = {0};
    struct lade_error put_err = {0}, ignored = {0};
    int rc = reg_do(p->c, &rq, &r, &put_err);

    if (rc == 0 && r.status != 201)
        rc = reg_status_error(&r, &put_err, "cannot upload blob %s", d->digest);
    else if (rc < 0)
        lade_error_prefix(&put_err, "cannot upload blob %s", d->digest);
    reg_response_release(&r);
    /* A PUT the registry completed before the connection broke was retried into a closed
     * session (404): the blob may well be there. */
    if (rc < 0 && blob_exists(p, d, &ignored) != 1) {
        *err = put_err;
        return -1;
    }
    return 0;
}

static int
push_job(void *ctx, size_t i, struct reg_jobs *jobs, struct lade_error *err)
{
    struct push *p = ctx;
    const struct oci_desc *d = &p->blobs[i];
    cleanup_free char *location = NULL;
    cleanup_close int fd = -1;
    uint64_t size = (uint64_t) d->size;
    int rc;

    if (atomic_load(&jobs->stop))
        return 0;
    if ((rc = blob_exists(p, d, err)) != 0) {
        if (rc > 0)
            reg_event(p->opts, REG_EV_EXISTS, d->digest, size, size, NULL);
        return rc < 0 ? -1 : 0;
    }
    if ((fd = store_blob_open(p->st, d->digest, err)) < 0)
        return -1;
    if ((rc = upload_start(p, d, &location, err)) != 0) {
        if (rc > 0)
            reg_event(p->opts, REG_EV_MOUNTED, d->digest, size, size, NULL);
        return rc < 0 ? -1 : 0;
    }
    reg_event(p->opts, REG_EV_START, d->digest, 0, size, NULL);
    if (size <= MONOLITHIC_MAX) {
        if (upload_finish(p, d, fd, NULL, true, location, err) < 0)
            return -1;
    } else if (upload_chunks(p, d, fd, &location, jobs, err) < 0 ||
               upload_finish(p, d, fd, NULL, false, location, err) < 0) {
        return -1;
    }
    reg_event(p->opts, REG_EV_DONE, d->digest, size, size, NULL);
    return 0;
}

static int
put_manifest(struct push *p, const char *data, size_t len, const struct oci_desc *m,
             struct lade_error *err)
{
    const char *reference = p->dest->tag ? p->dest->tag : p->dest->digest;
    cleanup_free char *url = xasprintf("/v2/%s/manifests/%s", p->dest->path, reference);
    struct reg_request rq = {.method = "PUT",
                             .url = url,
                             .scope = p->scope,
                             .content_type = m->media_type,
                             .body = data,
                             .body_fd = -1,
                             .body_len = len};
    struct reg_response r = {0};
    int rc = 0;

    reg_event(p->opts, REG_EV_NOTE, NULL, 0, 0, "pushing manifest");
    if (reg_do(p->c, &rq, &r, err) < 0)
        return lade_error_prefix(err, "cannot push manifest %s", m->digest);
    if (r.status != 201 && r.status != 200)
        rc = reg_status_error(&r, err, "cannot push manifest %s", m->digest);
    else if (r.docker_content_digest != NULL &&
             strncmp(r.docker_content_digest, "sha256:", 7) == 0 &&
             strcmp(r.docker_content_digest, m->digest) != 0)
        rc = lade_error_set(err, LADE_ERR_NET,
                            "the registry stored manifest %s as %.80s (it changed the bytes)",
                            m->digest, r.docker_content_digest);
    reg_response_release(&r);
    return rc;
}

/* An index (a multi-platform image): each of its manifests first, by digest, with their blobs,
 * so the registry has everything the index names when it is PUT (the distribution spec lets a
 * registry refuse an index whose manifests it lacks). */
static int
push_index_manifests(struct store *st, const char *data, size_t len, const struct image_ref *dest,
                     const struct registry_opts *opts, struct lade_error *err)
{
    json_auto_t *idx = oci_json_parse(data, len, "index", err);
    json_t *e;
    size_t i;

    if (idx == NULL)
        return -1;
    json_array_foreach(json_object_get(idx, "manifests"), i, e)
    {
        struct image_ref by_digest = *dest;
        struct oci_desc d;
        if (oci_desc_parse(e, "index entry", &d, err) < 0)
            return -1;
        by_digest.tag = NULL;
        by_digest.digest = d.digest;
        if (registry_push(st, &d, &by_digest, opts, NULL, err) < 0)
            return -1;
    }
    return 0;
}

int
reg_blob_put_mem(struct reg_client *c, const struct image_ref *dest, const struct oci_desc *d,
                 const void *data, struct lade_error *err)
{
    cleanup_free char *scope = xasprintf("repository:%s:pull,push", dest->path);
    cleanup_free char *location = NULL;
    struct push p = {.opts = reg_client_opts(c), .c = c, .dest = dest, .scope = scope};
    int rc;

    if ((rc = blob_exists(&p, d, err)) != 0)
        return rc < 0 ? -1 : 0;
    if (upload_open(&p, d, &location, err) < 0)
        return -1;
    return upload_finish(&p, d, -1, data, true, location, err);
}

int
reg_manifest_put(struct reg_client *c, const struct image_ref *dest, const char *data, size_t len,
                 const struct oci_desc *m, struct lade_error *err)
{
    cleanup_free char *scope = xasprintf("repository:%s:pull,push", dest->path);
    struct push p = {.opts = reg_client_opts(c), .c = c, .dest = dest, .scope = scope};

    return put_manifest(&p, data, len, m, err);
}

int
registry_push(struct store *st, const struct oci_desc *manifest, const struct image_ref *dest,
              const struct registry_opts *opts, digest_t pushed_out, struct lade_error *err)
{
    cleanup_free char *what = image_ref_string(dest);
    cleanup_free char *repo = image_ref_repo(dest);
    cleanup_free char *scope = xasprintf("repository:%s:pull,push", dest->path);
    cleanup_free char *data = NULL;
    struct push p = {.st = st, .opts = opts, .dest = dest, .scope = scope};
    struct oci_manifest man = {0};
    struct oci_desc m = *manifest;
    char mt[128];
    size_t len = 0;
    int rc = -1;

    if (dest->digest != NULL && dest->tag == NULL && strcmp(dest->digest, manifest->digest) != 0)
        return lade_error_set(err, LADE_ERR_USAGE, "cannot push %s as %s: the digests differ",
                              manifest->digest, what);
    if (store_blob_read(st, manifest->digest, REG_MANIFEST_MAX, &data, &len, err) < 0)
        return lade_error_prefix(err, "%s", what);
    /* the bytes say what they are (a stored descriptor may not: an untagged lookup) */
    if (reg_manifest_media_type(data, len, mt, sizeof(mt)) != NULL)
        snprintf(m.media_type, sizeof(m.media_type), "%s", mt);
    if (oci_media_type_is_index(m.media_type)) {
        if (push_index_manifests(st, data, len, dest, opts, err) < 0)
            return -1;
    } else if (oci_manifest_parse(data, len, &man, err) < 0) {
        return lade_error_prefix(err, "%s", what);
    }
    if (reg_client_new(dest->domain, opts, &p.c, err) < 0)
        goto out;
    p.blobs = oci_media_type_is_index(m.media_type) ? NULL : reg_manifest_blobs(&man, &p.n);
    if (reg_jobs_run(p.n, opts->parallel, push_job, &p, err) < 0 ||
        put_manifest(&p, data, len, &m, err) < 0) {
        lade_error_prefix(err, "%s", what);
        goto out;
    }
    for (size_t i = 0; i < p.n; i++) {
        struct lade_error ignored = {0}; /* a hint for later mounts */
        store_source_add(st, p.blobs[i].digest, repo, &ignored);
    }
    if (pushed_out != NULL)
        memcpy(pushed_out, m.digest, sizeof(digest_t));
    rc = 0;
out:
    free(p.blobs);
    oci_manifest_release(&man);
    reg_client_free(p.c);
    return rc;
}
