/* SPDX-License-Identifier: Apache-2.0 */
/* Platforms ("linux/arm64/v8") and the choice of one manifest from an index or manifest list,
 * normalised and matched as containerd does (containerd/platforms: Normalize and Only), so that
 * lade picks the image docker would. */
#include "oci.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../builder/common/buf.h"
#include "../../builder/common/cleanup.h"

static void
lower_copy(char *dst, size_t n, const char *src, size_t len)
{
    size_t i;

    for (i = 0; i < len && i + 1 < n; i++)
        dst[i] = (char) tolower((unsigned char) src[i]);
    dst[i] = '\0';
}

/* The variant as "vN" when it is a bare number ("7" -> "v7"). */
static void
variant_v(char *variant, size_t n)
{
    size_t len = strlen(variant);

    if (isdigit((unsigned char) variant[0]) && len + 2 <= n) {
        memmove(variant + 1, variant, len + 1);
        variant[0] = 'v';
    }
}

static void
normalise(struct oci_platform *p)
{
    variant_v(p->variant, sizeof(p->variant));
    if (strcmp(p->os, "macos") == 0)
        snprintf(p->os, sizeof(p->os), "darwin");
    if (strcmp(p->arch, "i386") == 0) {
        snprintf(p->arch, sizeof(p->arch), "386");
        p->variant[0] = '\0';
    } else if (strcmp(p->arch, "x86_64") == 0 || strcmp(p->arch, "x86-64") == 0 ||
               strcmp(p->arch, "amd64") == 0) {
        snprintf(p->arch, sizeof(p->arch), "amd64");
        if (strcmp(p->variant, "v1") == 0)
            p->variant[0] = '\0';
    } else if (strcmp(p->arch, "aarch64") == 0 || strcmp(p->arch, "arm64") == 0) {
        snprintf(p->arch, sizeof(p->arch), "arm64");
        if (strcmp(p->variant, "v8") == 0)
            p->variant[0] = '\0';
    } else if (strcmp(p->arch, "armhf") == 0) {
        snprintf(p->arch, sizeof(p->arch), "arm");
        snprintf(p->variant, sizeof(p->variant), "v7");
    } else if (strcmp(p->arch, "armel") == 0) {
        snprintf(p->arch, sizeof(p->arch), "arm");
        snprintf(p->variant, sizeof(p->variant), "v6");
    } else if (strcmp(p->arch, "arm") == 0 && p->variant[0] == '\0') {
        snprintf(p->variant, sizeof(p->variant), "v7");
    }
}

static bool
part_ok(const char *s, size_t len, size_t max)
{
    if (len == 0 || len >= max)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char) s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
            return false;
    return true;
}

int
oci_platform_parse(const char *text, struct oci_platform *out, struct lade_error *err)
{
    struct oci_platform p = {"linux", "", ""};
    const char *parts[3] = {0};
    size_t lens[3] = {0}, n = 0;

    if (text == NULL) {
        snprintf(p.arch, sizeof(p.arch), "%s", oci_host_arch());
        normalise(&p);
        *out = p;
        return 0;
    }
    for (const char *s = text;; n++) {
        const char *slash = strchr(s, '/');
        size_t len = slash ? (size_t) (slash - s) : strlen(s);
        size_t max = n == 0 ? sizeof(p.os) : n == 1 ? sizeof(p.arch) : sizeof(p.variant);
        if (n == 3 || !part_ok(s, len, max))
            return lade_error_set(err, LADE_ERR_USAGE,
                                  "invalid platform \"%s\": expected OS/ARCH[/VARIANT]", text);
        parts[n] = s;
        lens[n] = len;
        if (slash == NULL)
            break;
        s = slash + 1;
    }
    if (n == 0)
        return lade_error_set(err, LADE_ERR_USAGE,
                              "invalid platform \"%s\": expected OS/ARCH[/VARIANT]", text);
    lower_copy(p.os, sizeof(p.os), parts[0], lens[0]);
    lower_copy(p.arch, sizeof(p.arch), parts[1], lens[1]);
    if (n == 2)
        lower_copy(p.variant, sizeof(p.variant), parts[2], lens[2]);
    normalise(&p);
    *out = p;
    return 0;
}

void
oci_platform_format(const struct oci_platform *p, char *out, size_t outlen)
{
    if (p->variant[0] != '\0')
        snprintf(out, outlen, "%s/%s/%s", p->os, p->arch, p->variant);
    else
        snprintf(out, outlen, "%s/%s", p->os, p->arch);
}

/* os/architecture/variant of an object (an index entry's platform, an image config),
 * normalised; false when it names none. */
static bool
object_platform(const json_t *o, struct oci_platform *out)
{
    const char *os = json_string_value(json_object_get(o, "os"));
    const char *arch = json_string_value(json_object_get(o, "architecture"));
    const char *variant = json_string_value(json_object_get(o, "variant"));

    if (os == NULL || arch == NULL)
        return false;
    memset(out, 0, sizeof(*out));
    lower_copy(out->os, sizeof(out->os), os, strlen(os));
    lower_copy(out->arch, sizeof(out->arch), arch, strlen(arch));
    if (variant != NULL)
        lower_copy(out->variant, sizeof(out->variant), variant, strlen(variant));
    normalise(out);
    return true;
}

static bool
entry_platform(const json_t *entry, struct oci_platform *out)
{
    return object_platform(json_object_get(entry, "platform"), out);
}

bool
oci_config_platform(const json_t *config, struct oci_platform *out)
{
    return object_platform(config, out);
}

bool
oci_platform_equal(const struct oci_platform *a, const struct oci_platform *b)
{
    return strcmp(a->os, b->os) == 0 && strcmp(a->arch, b->arch) == 0 &&
           strcmp(a->variant, b->variant) == 0;
}

bool
oci_platform_is_host(const struct oci_platform *p)
{
    struct oci_platform host;

    oci_platform_parse(NULL, &host, NULL);
    return oci_platform_equal(p, &host);
}

/* An arm variant's number ("v7" -> 7), 0 when it is none. */
static int
arm_level(const char *variant)
{
    return variant[0] == 'v' && isdigit((unsigned char) variant[1]) ? atoi(variant + 1) : 0;
}

/* How well have fits want: 0 not at all, else higher is better (an exact match is best). As
 * containerd's Only: an arm/vN host also runs arm/v(N-1) down to v5. */
static int
match_rank(const struct oci_platform *want, const struct oci_platform *have)
{
    if (strcmp(want->os, have->os) != 0 || strcmp(want->arch, have->arch) != 0)
        return 0;
    if (strcmp(want->variant, have->variant) == 0)
        return 100;
    if (strcmp(want->arch, "arm") == 0) {
        int w = arm_level(want->variant), h = arm_level(have->variant);
        if (h >= 5 && h < w)
            return h;
    }
    return 0;
}

/* An entry that names a platform and is a manifest: a nested index is not followed (docker does
 * not either). */
static bool
selectable(const json_t *entry, struct oci_platform *out)
{
    const char *mt = json_string_value(json_object_get(entry, "mediaType"));

    return entry_platform(entry, out) && !(mt != NULL && oci_media_type_is_index(mt));
}

static int
no_match(const json_t *manifests, const struct oci_platform *p, struct lade_error *err)
{
    struct lade_buf list = LADE_BUF_INIT;
    char want[96];
    size_t i;
    json_t *e;

    json_array_foreach(manifests, i, e)
    {
        struct oci_platform have;
        char name[96];
        /* buildx's attestation manifests say unknown/unknown */
        if (!selectable(e, &have) || strcmp(have.os, "unknown") == 0)
            continue;
        oci_platform_format(&have, name, sizeof(name));
        lade_buf_appendf(&list, "%s%s", list.len ? ", " : "", name);
    }
    oci_platform_format(p, want, sizeof(want));
    lade_error_set(err, LADE_ERR_OTHER, "no image for platform %s (the index has %s)", want,
                   list.len ? list.data : "none");
    lade_buf_release(&list);
    return -1;
}

int
oci_index_select(const char *data, size_t len, const struct oci_platform *p, struct oci_desc *out,
                 struct lade_error *err)
{
    json_auto_t *idx = oci_json_parse(data, len, "index", err);
    json_t *manifests, *e, *best = NULL;
    int best_rank = 0;
    size_t i;

    if (idx == NULL)
        return -1;
    manifests = json_object_get(idx, "manifests");
    if (!json_is_array(manifests))
        return lade_error_set(err, LADE_ERR_OTHER, "index has no manifests array");
    json_array_foreach(manifests, i, e)
    {
        struct oci_platform have;
        int rank;
        if (!selectable(e, &have))
            continue;
        rank = match_rank(p, &have);
        if (rank > best_rank) {
            best = e;
            best_rank = rank;
        }
    }
    if (best == NULL)
        return no_match(manifests, p, err);
    if (oci_desc_parse(best, "index entry", out, err) < 0)
        return -1;
    if (out->media_type[0] == '\0')
        snprintf(out->media_type, sizeof(out->media_type), "%s", MT_OCI_MANIFEST);
    return 0;
}
