/* SPDX-License-Identifier: Apache-2.0 */
/* Finding an image by tag, manifest digest or ID prefix, and loading its manifest and config. */
#include "store-internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../builder/common/cleanup.h"
#include "../../builder/common/xalloc.h"

#define MANIFEST_MAX (4 << 20)
#define CONFIG_MAX (32 << 20)
/* docker refuses image ID prefixes this short too: they match too much. */
#define MIN_PREFIX 4

/* The hex of "sha256:HEX", "HEX" or a prefix of either, or NULL when s is not one. */
static const char *
hex_part(const char *s)
{
    const char *h = strncmp(s, "sha256:", 7) == 0 ? s + 7 : s;
    size_t n = strlen(h);

    if (n < MIN_PREFIX || n > 64)
        return NULL;
    for (const char *p = h; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return NULL;
    return h;
}

static bool is_index(const char *data, size_t len);

static int
read_manifest(struct store *st, const struct oci_desc *d, struct oci_manifest *m,
              struct lade_error *err)
{
    cleanup_free char *data = NULL;
    size_t len = 0;

    if (store_blob_read(st, d->digest, MANIFEST_MAX, &data, &len, err) < 0)
        return -1;
    if (oci_manifest_parse(data, len, m, err) < 0)
        return lade_error_prefix(err, "manifest %s", d->digest);
    return 0;
}

/* A full manifest digest whose blob is in the store, tagged or not (an untagged build result). */
static int
untagged_manifest(struct store *st, const char *hex, struct oci_desc *out)
{
    struct lade_error ignored = {0};
    struct oci_desc d = {MT_OCI_MANIFEST, "", 0};
    struct oci_manifest m;
    struct stat sb;
    cleanup_close int fd = -1;

    snprintf(d.digest, sizeof(d.digest), "sha256:%s", hex);
    fd = store_blob_open(st, d.digest, &ignored);
    if (fd < 0 || fstat(fd, &sb) < 0)
        return -1;
    d.size = sb.st_size;
    if (read_manifest(st, &d, &m, &ignored) == 0) {
        oci_manifest_release(&m);
    } else {
        cleanup_free char *data = NULL;
        size_t len = 0;
        if (store_blob_read(st, d.digest, MANIFEST_MAX, &data, &len, &ignored) < 0 ||
            !is_index(data, len))
            return -1;
        snprintf(d.media_type, sizeof(d.media_type), "%s", MT_OCI_INDEX);
    }
    *out = d;
    return 0;
}

/* The tagged manifest whose digest or config digest starts with hex; ambiguity is an error. */
static int
find_by_prefix(struct store *st, const char *s, const char *hex, struct oci_desc *out,
               struct lade_error *err)
{
    struct store_tag *tags = NULL;
    size_t n = 0, found = 0, hlen = strlen(hex);
    struct oci_desc match = {0};

    if (store_tags_list(st, &tags, &n, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct oci_desc *d = &tags[i].manifest;
        struct lade_error ignored = {0};
        struct oci_manifest m;
        bool hit = strncmp(digest_hex(d->digest), hex, hlen) == 0;

        if (!hit && read_manifest(st, d, &m, &ignored) == 0) {
            /* docker's image ID is the config digest */
            hit = strncmp(digest_hex(m.config.digest), hex, hlen) == 0;
            oci_manifest_release(&m);
        }
        if (!hit || (found > 0 && strcmp(match.digest, d->digest) == 0))
            continue;
        match = *d;
        found++;
    }
    store_tags_free(tags, n);
    if (found > 1)
        return lade_error_set(err, LADE_ERR_OTHER, "image ID prefix '%s' is ambiguous", s);
    if (found == 0)
        return lade_error_set(err, LADE_ERR_OTHER, "no such image '%s'", s);
    *out = match;
    return 0;
}

static int
resolve(struct store *st, const char *s, struct oci_desc *out, struct lade_error *err)
{
    struct lade_error tag_err = {0};
    const char *hex;

    if (store_tag_get(st, s, out, &tag_err) == 0)
        return 0;
    hex = hex_part(s);
    if (hex == NULL) {
        *err = tag_err;
        return -1;
    }
    if (strlen(hex) == 64 && untagged_manifest(st, hex, out) == 0)
        return 0;
    return find_by_prefix(st, s, hex, out, err);
}

/* True when the JSON bytes are an index: its mediaType says so, or it has no mediaType and a
 * "manifests" array (the OCI spec makes the field optional). */
static bool
is_index(const char *data, size_t len)
{
    json_auto_t *doc = oci_json_parse(data, len, "manifest", NULL);
    const char *mt = json_string_value(json_object_get(doc, "mediaType"));

    return mt ? oci_media_type_is_index(mt) : json_is_array(json_object_get(doc, "manifests"));
}

/* When top is an index (a multi-platform image lade built or imported), *m becomes its manifest
 * for platform (NULL: the host's) and *index top; otherwise *m is top and *index zeroed. */
static int
select_platform(struct store *st, const struct oci_desc *top, const char *platform,
                struct oci_desc *m, struct oci_desc *index, struct lade_error *err)
{
    cleanup_free char *data = NULL;
    struct oci_platform want;
    size_t len = 0;

    *m = *top;
    memset(index, 0, sizeof(*index));
    if (top->media_type[0] != '\0' && !oci_media_type_is_index(top->media_type))
        return 0;
    if (store_blob_read(st, top->digest, MANIFEST_MAX, &data, &len, err) < 0)
        return -1;
    if (!is_index(data, len))
        return 0;
    if (oci_platform_parse(platform, &want, err) < 0 ||
        oci_index_select(data, len, &want, m, err) < 0)
        return -1;
    *index = *top;
    if (!oci_media_type_is_index(index->media_type))
        snprintf(index->media_type, sizeof(index->media_type), "%s", MT_OCI_INDEX);
    return 0;
}

int
store_image_load_platform(struct store *st, const char *name_or_digest, const char *platform,
                          struct store_image *out, struct lade_error *err)
{
    struct store_image img = {0};
    cleanup_free char *cfg = NULL;
    size_t len = 0;

    struct oci_desc top;

    if (resolve(st, name_or_digest, &top, err) < 0)
        return -1;
    if (select_platform(st, &top, platform, &img.manifest_desc, &img.index_desc, err) < 0)
        return lade_error_prefix(err, "image '%s'", name_or_digest);
    if (read_manifest(st, &img.manifest_desc, &img.manifest, err) < 0)
        return lade_error_prefix(err, "image '%s'", name_or_digest);
    if (store_blob_read(st, img.manifest.config.digest, CONFIG_MAX, &cfg, &len, err) < 0 ||
        (img.config = oci_json_parse(cfg, len, "image config", err)) == NULL) {
        oci_manifest_release(&img.manifest);
        return lade_error_prefix(err, "image '%s'", name_or_digest);
    }
    if (!json_is_object(img.config)) {
        store_image_release(&img);
        return lade_error_set(err, LADE_ERR_OTHER, "image '%s': config is not an object",
                              name_or_digest);
    }
    *out = img;
    return 0;
}

int
store_image_load(struct store *st, const char *name_or_digest, struct store_image *out,
                 struct lade_error *err)
{
    return store_image_load_platform(st, name_or_digest, NULL, out, err);
}

const struct oci_desc *
store_image_top(const struct store_image *img)
{
    return img->index_desc.size > 0 ? &img->index_desc : &img->manifest_desc;
}

int
store_image_lookup(struct store *st, const char *user_text, struct store_image *out,
                   struct lade_error *err)
{
    struct lade_error name_err = {0};
    struct image_ref ref = {0};
    struct oci_desc d;
    bool parsed = image_ref_parse(user_text, &ref, &name_err) == 0;

    if (parsed) {
        cleanup_free char *name = image_ref_string(&ref);
        image_ref_release(&ref);
        int rc = store_image_load(st, name, out, &name_err);
        /* a tag that exists but does not load is that error, not "no such image" */
        if (rc == 0 || store_tag_get(st, name, &d, NULL) == 0) {
            if (rc < 0)
                *err = name_err;
            return rc;
        }
    }
    if (store_image_load(st, user_text, out, err) == 0)
        return 0;
    /* for what is no ID either, the reference error says more than "no such image" */
    if (!parsed && hex_part(user_text) == NULL) {
        lade_error_clear(err);
        *err = name_err;
    }
    return -1;
}

void
store_image_release(struct store_image *img)
{
    oci_manifest_release(&img->manifest);
    json_decref(img->config);
    img->config = NULL;
}
