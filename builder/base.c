/* SPDX-License-Identifier: Apache-2.0 */
/* FROM: the base of a stage, from scratch, the store or a registry (pulled when missing, or
 * re-resolved with --pull), on the build's target platform. */
#include "stage.h"

#include "binfmt.h"
#include "cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"

/* The build's target platform: --platform (one "os/arch[/variant]": platform.c builds a list
 * one platform at a time), else the host's; normalised as containerd does (BuildKit too). */
static void
target_platform(const struct build_opts *o, struct oci_platform *p)
{
    if (oci_platform_parse(o->reg ? o->reg->platform : NULL, p, NULL) < 0)
        oci_platform_parse(NULL, p, NULL);
}

char **
build_platform_args(const struct build_opts *o)
{
    struct oci_platform build, target;
    char plat[96];
    char **args = strv_dup(o->build_args);

    /* BuildKit's automatic args; a --build-arg of the same name wins. */
#define AUTO_ARG(k, v)                                                                             \
    do {                                                                                           \
        if (strv_env_get(args, k) == NULL)                                                         \
            args = strv_env_set(args, k, v);                                                       \
    } while (0)
    oci_platform_parse(NULL, &build, NULL);
    oci_platform_format(&build, plat, sizeof(plat));
    AUTO_ARG("BUILDPLATFORM", plat);
    AUTO_ARG("BUILDOS", build.os);
    AUTO_ARG("BUILDARCH", build.arch);
    AUTO_ARG("BUILDVARIANT", build.variant);
    target_platform(o, &target);
    oci_platform_format(&target, plat, sizeof(plat));
    AUTO_ARG("TARGETPLATFORM", plat);
    AUTO_ARG("TARGETOS", target.os);
    AUTO_ARG("TARGETARCH", target.arch);
    AUTO_ARG("TARGETVARIANT", target.variant);
#undef AUTO_ARG
    return args;
}

int
stage_set_platform(struct build *b, struct stage_state *ss, const struct stage *s,
                   struct lade_error *err)
{
    if (s->platform != NULL) {
        if (oci_platform_parse(s->platform, &ss->platform, err) < 0)
            return lade_error_prefix(err, "FROM --platform");
    } else if (s->base_stage >= 0) {
        ss->platform = b->stages[s->base_stage].platform; /* BuildKit: the stage's platform */
    } else {
        target_platform(b->opts, &ss->platform);
    }
    return 0;
}

/* BuildKit's empty image: PATH set and WorkingDir "/", for the stage's platform. */
void
stage_scratch_base(struct build *b, struct stage_state *ss)
{
    const struct oci_platform *p = &ss->platform;
    json_t *c;
    char plat[96];

    ss->config = oci_config_new(p->os, p->arch);
    if (p->variant[0] != '\0')
        json_object_set_new(ss->config, "variant", json_string(p->variant));
    c = oci_config_container(ss->config);
    json_object_set_new(c, "Env", json_pack("[s]", "PATH=" DEFAULT_PATH));
    json_object_set_new(c, "WorkingDir", json_string("/"));
    /* the platform is part of an empty base (its config names it); the host's keeps the old key */
    oci_platform_format(p, plat, sizeof(plat));
    cleanup_free char *identity =
        oci_platform_is_host(p) ? xstrdup("scratch") : xasprintf("scratch %s", plat);
    cache_key_init(b, ss, identity);
}

int
build_check_run_platform(const struct stage_state *ss, struct lade_error *err)
{
    char plat[96], host[96];
    struct oci_platform h;

    if (oci_platform_is_host(&ss->platform) || binfmt_can_run(&ss->platform))
        return 0;
    oci_platform_parse(NULL, &h, NULL);
    oci_platform_format(&ss->platform, plat, sizeof(plat));
    oci_platform_format(&h, host, sizeof(host));
    return lade_error_set(err, LADE_ERR_OTHER,
                          "RUN cannot execute for platform %s on this %s host: no emulator is "
                          "registered for it in binfmt_misc with the fix-binary (F) flag%s",
                          plat, host, binfmt_fix_hint(&ss->platform));
}

/* Pulls ref into the store, its progress shown under the running step. */
static int
pull_base(struct build *b, const struct image_ref *ref, const char *name, const char *platform,
          struct lade_error *err)
{
    struct registry_opts ro = *b->opts->reg;
    struct transfer_progress tp;
    int rc;

    transfer_progress_init(&tp, b->opts->progress, &b->progress);
    ro.progress = transfer_progress_event;
    ro.progress_ctx = &tp;
    ro.platform = platform;
    rc = registry_pull(b->st, ref, &ro, NULL, err);
    transfer_progress_release(&tp);
    if (rc < 0)
        return lade_error_prefix(err, "base image \"%s\"", name);
    pthread_mutex_lock(&b->shared->mu);
    b->shared->pulled = strv_push_take(b->shared->pulled, image_ref_string(ref));
    pthread_mutex_unlock(&b->shared->mu);
    return 0;
}

/* False when the stage's platform (asked for with --platform or FROM --platform) is not the
 * stored image's: the name is then resolved again for it, as BuildKit does. */
static bool
platform_fits(const struct build *b, const struct stage_state *ss, const json_t *config)
{
    struct oci_platform have;
    bool asked = (ss->stage != NULL && ss->stage->platform != NULL) ||
                 (b->opts->reg && b->opts->reg->platform);

    if (!asked || !oci_config_platform(config, &have))
        return true;
    return strcmp(have.os, ss->platform.os) == 0 && strcmp(have.arch, ss->platform.arch) == 0;
}

/* BuildKit's InvalidBaseImagePlatform: a base for another platform than the stage's is used
 * as it is, with a warning. */
static void
warn_base_platform(struct build *b, const struct stage_state *ss, const char *name,
                   const json_t *config)
{
    struct oci_platform have;
    char h[96], w[96];

    if (platform_fits(b, ss, config) || !oci_config_platform(config, &have))
        return;
    oci_platform_format(&have, h, sizeof(h));
    oci_platform_format(&ss->platform, w, sizeof(w));
    progress_note(&b->progress,
                  "WARNING: InvalidBaseImagePlatform: base image %s was pulled with platform "
                  "\"%s\", expected \"%s\" for current build",
                  name, h, w);
}

static bool
pulled_already(const struct build *b, const char *full)
{
    bool found = false;

    pthread_mutex_lock(&b->shared->mu);
    for (char **p = b->shared->pulled; p && *p && !found; p++)
        found = strcmp(*p, full) == 0;
    pthread_mutex_unlock(&b->shared->mu);
    return found;
}

/* Remembers an image the build used, once, for provenance. */
static void
record_base(struct build *b, const char *full, const char *digest)
{
    cleanup_free char *ref = xasprintf("%s@%s", full, digest);
    bool seen = false;

    pthread_mutex_lock(&b->shared->mu);
    for (char **p = b->shared->bases; p && *p && !seen; p++)
        seen = strcmp(*p, ref) == 0;
    if (!seen)
        b->shared->bases = strv_push(b->shared->bases, ref);
    pthread_mutex_unlock(&b->shared->mu);
}

int
stage_load_image(struct build *b, struct stage_state *ss, const char *name, struct lade_error *err)
{
    struct store_image img = {0};
    cleanup_free char *full = NULL;
    struct lade_error lerr = {0};
    struct image_ref ref = {0};
    struct oci_desc top;
    char plat[96];
    bool in_store;

    if (strncmp(name, "sha256:", 7) == 0) {
        full = xstrdup(name);
    } else {
        if (image_ref_parse(name, &ref, err) < 0)
            return -1;
        full = image_ref_string(&ref);
    }
    /* an image of COPY --from or RUN --mount from=, outside any stage: the build's platform */
    if (ss->platform.os[0] == '\0')
        target_platform(b->opts, &ss->platform);
    oci_platform_format(&ss->platform, plat, sizeof(plat));
    in_store = store_image_load_platform(b->st, full, plat, &img, &lerr) == 0;
    /* --pull asks the registry what a tag means now; a digest cannot change */
    bool forced = b->opts->pull && ref.tag != NULL && ref.digest == NULL;
    bool repull =
        in_store && !pulled_already(b, full) && (forced || !platform_fits(b, ss, img.config));
    if ((!in_store || repull) && ref.domain != NULL && b->opts->reg != NULL) {
        struct lade_error perr = {0};
        int rc = pull_base(b, &ref, name, plat, &perr);
        if (rc == 0 && in_store)
            store_image_release(&img);
        if (rc == 0)
            rc = store_image_load_platform(b->st, full, plat, &img, &perr);
        image_ref_release(&ref);
        if (rc < 0 && in_store && !forced) {
            /* the stored image for another platform is used (warned about below) */
            progress_note(&b->progress, "%s; using the stored image", perr.msg);
        } else if (rc < 0) {
            if (in_store)
                store_image_release(&img);
            /* a local multi-platform image without this platform says so, not the registry */
            if (store_tag_get(b->st, full, &top, NULL) < 0) {
                *err = perr;
                return -1;
            }
            *err = lerr;
            return lade_error_prefix(err, "base image \"%s\"", name);
        }
    } else {
        image_ref_release(&ref);
        if (!in_store && store_tag_get(b->st, full, &top, NULL) == 0) {
            *err = lerr;
            return lade_error_prefix(err, "base image \"%s\"", name);
        }
        if (!in_store)
            return lade_error_set(err, LADE_ERR_OTHER, "base image \"%s\" is not in the store (%s)",
                                  name, full);
    }
    warn_base_platform(b, ss, name, img.config);
    if (img.manifest.nlayers != oci_config_nlayers(img.config)) {
        store_image_release(&img);
        return lade_error_set(err, LADE_ERR_OTHER,
                              "image \"%s\": manifest has %zu layers, config %zu", name,
                              img.manifest.nlayers, oci_config_nlayers(img.config));
    }
    ss->config = json_incref(img.config);
    ss->layers = xcalloc(img.manifest.nlayers + 1, sizeof(*ss->layers));
    for (size_t i = 0; i < img.manifest.nlayers; i++) {
        struct layer_state *l = &ss->layers[i];
        snprintf(l->diff_id, sizeof(l->diff_id), "%s", oci_config_diff_id(img.config, i));
        chain_id_next(i ? ss->layers[i - 1].chain_id : NULL, l->diff_id, l->chain_id);
        l->blob = img.manifest.layers[i];
        /* extracted when a step reads the whole tree (stage_lazy.c: COPY and WORKDIR don't) */
        l->dir = stage_layer_extracted(b, l);
        ss->nlayers++;
    }
    cache_key_init(b, ss, img.manifest_desc.digest);
    record_base(b, full, img.manifest_desc.digest);
    store_image_release(&img);
    return 0;
}
