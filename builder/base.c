/* SPDX-License-Identifier: Apache-2.0 */
/* FROM: the base of a stage, from scratch, the store or a registry (pulled when missing, or
 * re-resolved with --pull), on the build's target platform. */
#include "stage.h"

#include "cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"

/* The build's target platform: --platform ("os/arch[/variant]"), else the host's. */
static void
platform_of(const struct registry_opts *reg, char *os, char *arch, char *variant, size_t n)
{
    const char *p = reg ? reg->platform : NULL;
    const char *slash = p ? strchr(p, '/') : NULL;

    snprintf(os, n, "linux");
    snprintf(arch, n, "%s", oci_host_arch());
    snprintf(variant, n, "%s", "");
    if (slash == NULL)
        return;
    snprintf(os, n, "%.*s", (int) (slash - p), p);
    snprintf(arch, n, "%.*s", (int) strcspn(slash + 1, "/"), slash + 1);
    const char *v = strchr(slash + 1, '/');
    if (v != NULL)
        snprintf(variant, n, "%s", v + 1);
}

static void
target_platform(const struct build *b, char *os, char *arch, size_t n)
{
    char variant[32];

    platform_of(b->opts->reg, os, arch, variant, n < sizeof(variant) ? n : sizeof(variant));
}

char **
build_platform_args(const struct build_opts *o)
{
    char os[32], arch[32], variant[32], plat[100];
    char **args = strv_dup(o->build_args);

    /* BuildKit's automatic args; a --build-arg of the same name wins. */
#define AUTO_ARG(k, v)                                                                             \
    do {                                                                                           \
        if (strv_env_get(args, k) == NULL)                                                         \
            args = strv_env_set(args, k, v);                                                       \
    } while (0)
    snprintf(plat, sizeof(plat), "linux/%s", oci_host_arch());
    AUTO_ARG("BUILDPLATFORM", plat);
    AUTO_ARG("BUILDOS", "linux");
    AUTO_ARG("BUILDARCH", oci_host_arch());
    AUTO_ARG("BUILDVARIANT", "");
    platform_of(o->reg, os, arch, variant, sizeof(os));
    snprintf(plat, sizeof(plat), "%s/%s%s%s", os, arch, *variant ? "/" : "", variant);
    AUTO_ARG("TARGETPLATFORM", plat);
    AUTO_ARG("TARGETOS", os);
    AUTO_ARG("TARGETARCH", arch);
    AUTO_ARG("TARGETVARIANT", variant);
#undef AUTO_ARG
    return args;
}

/* BuildKit's empty image: PATH set and WorkingDir "/", for the target platform. */
void
stage_scratch_base(struct build *b, struct stage_state *ss)
{
    char os[32], arch[32];
    bool host;
    json_t *c;

    target_platform(b, os, arch, sizeof(os));
    ss->config = oci_config_new(os, arch);
    c = oci_config_container(ss->config);
    json_object_set_new(c, "Env", json_pack("[s]", "PATH=" DEFAULT_PATH));
    json_object_set_new(c, "WorkingDir", json_string("/"));
    /* the platform is part of an empty base (its config names it); the host's keeps the old key */
    host = strcmp(os, "linux") == 0 && strcmp(arch, oci_host_arch()) == 0;
    cleanup_free char *identity = host ? xstrdup("scratch") : xasprintf("scratch %s/%s", os, arch);
    cache_key_init(b, ss, identity);
}

/* RUN executes the image's programs natively: another architecture would need an emulator,
 * which lade does not set up. Pulls and COPY work for any platform. */
int
build_check_run_platform(const struct build *b, struct lade_error *err)
{
    char os[32], arch[32];

    target_platform(b, os, arch, sizeof(os));
    if (strcmp(os, "linux") == 0 && strcmp(arch, oci_host_arch()) == 0)
        return 0;
    return lade_error_set(err, LADE_ERR_OTHER,
                          "RUN cannot execute for platform %s on this linux/%s host (lade does "
                          "not emulate other platforms; --platform works for builds without RUN)",
                          b->opts->reg->platform, oci_host_arch());
}

/* Pulls ref into the store, its progress shown under the running step. */
static int
pull_base(struct build *b, const struct image_ref *ref, const char *name, struct lade_error *err)
{
    struct registry_opts ro = *b->opts->reg;
    struct transfer_progress tp;
    int rc;

    transfer_progress_init(&tp, b->opts->progress, &b->progress);
    ro.progress = transfer_progress_event;
    ro.progress_ctx = &tp;
    rc = registry_pull(b->st, ref, &ro, NULL, err);
    transfer_progress_release(&tp);
    if (rc < 0)
        return lade_error_prefix(err, "base image \"%s\"", name);
    pthread_mutex_lock(&b->shared->mu);
    b->shared->pulled = strv_push_take(b->shared->pulled, image_ref_string(ref));
    pthread_mutex_unlock(&b->shared->mu);
    return 0;
}

/* False when --platform names another platform than the stored image's config: the name is
 * then resolved again for the platform asked for, as BuildKit does. */
static bool
platform_fits(const struct build *b, const json_t *config)
{
    char os[32], arch[32];
    const char *have_os = json_string_value(json_object_get(config, "os"));
    const char *have_arch = json_string_value(json_object_get(config, "architecture"));

    if (b->opts->reg == NULL || b->opts->reg->platform == NULL || have_os == NULL ||
        have_arch == NULL)
        return true;
    target_platform(b, os, arch, sizeof(os));
    return strcmp(os, have_os) == 0 && strcmp(arch, have_arch) == 0;
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

int
stage_load_image(struct build *b, struct stage_state *ss, const char *name, struct lade_error *err)
{
    struct store_image img = {0};
    cleanup_free char *full = NULL;
    struct lade_error lerr = {0};
    struct image_ref ref = {0};
    bool in_store;

    if (strncmp(name, "sha256:", 7) == 0) {
        full = xstrdup(name);
    } else {
        if (image_ref_parse(name, &ref, err) < 0)
            return -1;
        full = image_ref_string(&ref);
    }
    in_store = store_image_load(b->st, full, &img, &lerr) == 0;
    /* --pull asks the registry what a tag means now; a digest cannot change */
    bool repull =
        in_store && !pulled_already(b, full) &&
        ((b->opts->pull && ref.tag != NULL && ref.digest == NULL) || !platform_fits(b, img.config));
    if ((!in_store || repull) && ref.domain != NULL && b->opts->reg != NULL) {
        if (in_store)
            store_image_release(&img);
        int rc = pull_base(b, &ref, name, err);
        if (rc == 0)
            rc = store_image_load(b->st, full, &img, err);
        image_ref_release(&ref);
        if (rc < 0)
            return -1;
    } else {
        image_ref_release(&ref);
        if (!in_store)
            return lade_error_set(err, LADE_ERR_OTHER, "base image \"%s\" is not in the store (%s)",
                                  name, full);
    }
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
        if (store_layer_dir(b->st, l->chain_id, l->diff_id, l->blob.digest, &l->dir, err) < 0) {
            store_image_release(&img);
            return lade_error_prefix(err, "image \"%s\"", name);
        }
        ss->nlayers++;
    }
    cache_key_init(b, ss, img.manifest_desc.digest);
    store_image_release(&img);
    return 0;
}
