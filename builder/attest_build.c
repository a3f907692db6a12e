/* SPDX-License-Identifier: Apache-2.0 */
/* The attestations of a build (attest_build.h). Everything in them comes from the build's
 * inputs and the image: no wall-clock time (the SBOM's created is the build's epoch), and the
 * bases in sorted order (stages built at once record them in any order), so the same build gives
 * the same index digest. */
#include "attest_build.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbom.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/version.h"
#include "common/xalloc.h"

bool
attest_wanted(const struct build_opts *o)
{
    return o->sbom || o->provenance != PROVENANCE_OFF;
}

int
attest_image_of(struct store *st, const struct oci_desc *top, struct oci_desc *image,
                struct lade_error *err)
{
    cleanup_free char *data = NULL;
    size_t len = 0, i;
    json_t *m;

    *image = *top;
    if (!oci_media_type_is_index(top->media_type))
        return 0;
    if (store_blob_read(st, top->digest, 4u << 20, &data, &len, err) < 0)
        return -1;
    json_auto_t *idx = oci_json_parse(data, len, top->digest, err);
    if (idx == NULL)
        return -1;
    json_array_foreach(json_object_get(idx, "manifests"), i, m)
    {
        const char *os = json_string_value(json_object_get(json_object_get(m, "platform"), "os"));
        if (os != NULL && strcmp(os, "unknown") != 0)
            return oci_desc_parse(m, top->digest, image, err);
    }
    return lade_error_set(err, LADE_ERR_OTHER, "index %s holds no image manifest", top->digest);
}

json_t *
attest_index_entry(const struct oci_desc *m, const struct oci_platform *p)
{
    json_t *e = oci_desc_json(m);
    json_t *pl = json_pack("{s:s, s:s}", "architecture", p->arch, "os", p->os);

    if (p->variant[0] != '\0')
        json_object_set_new(pl, "variant", json_string(p->variant));
    json_object_set_new(e, "platform", pl);
    return e;
}

/* The statements' subject: the first -t name as a package URL, or "_" without a name (as
 * BuildKit names them). */
static char *
subject_name(const struct build *b, const char *plat)
{
    char *const *names = b->opts->attest_names ? b->opts->attest_names : b->opts->tags;

    if (names == NULL || names[0] == NULL)
        return xstrdup("_");
    return attest_purl(names[0], plat);
}

/* sha256 of the Dockerfile's bytes, read again the way build_load_plan reads them. */
static int
dockerfile_digest(const struct build_opts *o, digest_t out, struct lade_error *err)
{
    cleanup_free char *path = NULL, *text = NULL;
    size_t len = 0;

    if (o->dockerfile_text != NULL) {
        digest_of_mem(o->dockerfile_text, o->dockerfile_len, out);
        return 0;
    }
    path = o->dockerfile ? xstrdup(o->dockerfile) : context_default_dockerfile(o->context);
    if (read_file_at(AT_FDCWD, path, 64u << 20, &text, &len, err) < 0)
        return lade_error_prefix(err, "provenance: cannot read the Dockerfile again");
    digest_of_mem(text, len, out);
    return 0;
}

/* mode=max adds the instructions of every stage the build ran, as written. */
static json_t *
build_config(const struct build *b)
{
    json_t *stages = json_array();

    for (size_t i = 0; i < b->plan->nstages; i++) {
        const struct stage *s = &b->plan->stages[i];
        if (!b->stages[i].built)
            continue;
        json_t *steps = json_pack("[s]", s->from->original);
        for (size_t k = 0; k < s->ninstrs; k++)
            json_array_append_new(steps, json_string(s->instrs[k]->original));
        json_array_append_new(stages,
                              json_pack("{s:s?, s:o}", "name", s->name, "instructions", steps));
    }
    return json_pack("{s:o}", "stages", stages);
}

static int
str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static int
provenance(const struct build *b, const char *plat, json_t **out, struct lade_error *err)
{
    digest_t df;

    if (dockerfile_digest(b->opts, df, err) < 0)
        return -1;
    pthread_mutex_lock(&b->shared->mu);
    char **bases = strv_dup(b->shared->bases);
    pthread_mutex_unlock(&b->shared->mu);
    size_t n = 0;
    while (bases && bases[n])
        n++;
    if (n > 1)
        qsort(bases, n, sizeof(*bases), str_cmp);
    struct provenance_input in = {
        .dockerfile_name = b->plan->df->filename,
        .dockerfile_digest = df,
        .build_args = b->opts->build_args,
        .target = b->opts->target,
        .platform = plat,
        .bases = bases,
        .version = LADE_VERSION,
    };
    *out = provenance_predicate(&in);
    strv_free(bases);
    if (b->opts->provenance == PROVENANCE_MAX)
        json_object_set_new(
            json_object_get(json_object_get(*out, "buildDefinition"), "internalParameters"),
            "buildConfig", build_config(b));
    return 0;
}

static int
sbom(const struct build *b, const struct oci_desc *mdesc, const char *subject, json_t **out,
     struct lade_error *err)
{
    struct store_image img = {0};
    struct sbom s = {0};

    if (store_image_load(b->st, mdesc->digest, &img, err) < 0)
        return -1;
    int rc = sbom_scan(b->st, &img.manifest, &s, err);
    store_image_release(&img);
    if (rc < 0) {
        sbom_release(&s);
        return lade_error_prefix(err, "--sbom");
    }
    *out = sbom_spdx(&s, subject, mdesc->digest, b->created, LADE_VERSION);
    sbom_release(&s);
    return 0;
}

int
attest_image(struct build *b, const struct stage_state *ss, const struct oci_desc *mdesc,
             struct oci_desc *index, struct lade_error *err)
{
    json_t *stmts[2], *pred = NULL, *att = NULL;
    json_auto_t *idx = oci_index_new();
    size_t n = 0;
    char plat[96];
    int rc = -1;

    oci_platform_format(&ss->platform, plat, sizeof(plat));
    cleanup_free char *subject = subject_name(b, plat);
    progress_note(&b->progress, "attaching%s%s attestations to %s", b->opts->sbom ? " sbom" : "",
                  b->opts->provenance ? " provenance" : "", mdesc->digest);
    if (b->opts->sbom) {
        if (sbom(b, mdesc, subject, &pred, err) < 0)
            goto out;
        stmts[n++] = attest_statement(subject, mdesc->digest, PREDICATE_SPDX, pred);
    }
    if (b->opts->provenance != PROVENANCE_OFF) {
        if (provenance(b, plat, &pred, err) < 0)
            goto out;
        stmts[n++] = attest_statement(subject, mdesc->digest, PREDICATE_SLSA1, pred);
    }
    if (attest_manifest(b->st, mdesc, stmts, n, &att, err) < 0)
        goto out;
    json_t *arr = json_object_get(idx, "manifests");
    json_array_append_new(arr, attest_index_entry(mdesc, &ss->platform));
    json_array_append_new(arr, att);
    rc = attest_json_put(b->st, idx, MT_OCI_INDEX, index, err);
out:
    for (size_t i = 0; i < n; i++)
        json_decref(stmts[i]);
    return rc;
}
