/* SPDX-License-Identifier: Apache-2.0 */
/* --cache-to / --cache-from fields, with BuildKit's names (docs.docker.com/build/cache/backends):
 * registry takes ref, mode, ignore-error, oci-mediatypes, image-manifest; local takes src or
 * dest, tag, mode, ignore-error. */
#include "cache_spec.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "../layers/layers.h"

static const char *
flag_name(bool to)
{
    return to ? "--cache-to" : "--cache-from";
}

/* BuildKit reads these with Go's strconv.ParseBool. */
static int
parse_bool(const char *key, const char *v, bool *out, bool to, struct lade_error *err)
{
    static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return lade_error_set(err, LADE_ERR_USAGE, "%s: %s must be true or false: \"%s\"",
                          flag_name(to), key, v);
}

static int
parse_type(const char *v, bool to, struct cache_spec *out, struct lade_error *err)
{
    if (strcmp(v, "registry") == 0)
        out->type = CACHE_SPEC_REGISTRY;
    else if (strcmp(v, "local") == 0)
        out->type = CACHE_SPEC_LOCAL;
    else if (strcmp(v, "inline") == 0)
        /* BuildKit's inline cache writes its metadata into the image config, so the image ID
         * would depend on a cache option; lade keeps the image the same with or without cache. */
        return lade_error_set(err, LADE_ERR_USAGE,
                              "%s type=inline is not supported: use type=registry,ref=NAME "
                              "(a separate cache artifact; the image stays the same)",
                              flag_name(to));
    else if (strcmp(v, "gha") == 0 || strcmp(v, "s3") == 0 || strcmp(v, "azblob") == 0)
        return lade_error_set(err, LADE_ERR_USAGE,
                              "%s type=%s is not supported: use type=registry or type=local",
                              flag_name(to), v);
    else
        return lade_error_set(err, LADE_ERR_USAGE, "%s: unknown type \"%s\" (registry or local)",
                              flag_name(to), v);
    return 0;
}

/* One "key=value" field. */
static int
parse_field(char *kv, bool to, struct cache_spec *out, char **type, struct lade_error *err)
{
    char *eq = strchr(kv, '=');
    const char *f = flag_name(to);
    bool b;

    if (eq == NULL)
        return lade_error_set(err, LADE_ERR_USAGE, "%s: expected key=value, got \"%s\"", f, kv);
    *eq = '\0';
    const char *key = kv, *v = eq + 1;
    if (strcmp(key, "type") == 0) {
        free(*type);
        *type = xstrdup(v);
    } else if (strcmp(key, "ref") == 0) {
        free(out->ref);
        out->ref = xstrdup(v);
    } else if ((strcmp(key, "src") == 0 && !to) || (strcmp(key, "dest") == 0 && to)) {
        free(out->dir);
        out->dir = xstrdup(v);
    } else if (strcmp(key, "tag") == 0) {
        free(out->tag);
        out->tag = xstrdup(v);
    } else if (strcmp(key, "mode") == 0 && to) {
        if (strcmp(v, "min") != 0 && strcmp(v, "max") != 0)
            return lade_error_set(err, LADE_ERR_USAGE, "%s: mode must be min or max: \"%s\"", f, v);
        out->mode = strcmp(v, "max") == 0 ? CACHE_MODE_MAX : CACHE_MODE_MIN;
    } else if (strcmp(key, "ignore-error") == 0 && to) {
        return parse_bool(key, v, &out->ignore_error, to, err);
    } else if ((strcmp(key, "oci-mediatypes") == 0 || strcmp(key, "image-manifest") == 0) && to) {
        /* lade's cache always is an OCI image manifest: only the value that says so */
        if (parse_bool(key, v, &b, to, err) < 0)
            return -1;
        if (!b)
            return lade_error_set(err, LADE_ERR_USAGE,
                                  "%s: %s=false is not supported: lade always exports an OCI "
                                  "image manifest",
                                  f, key);
    } else if (strcmp(key, "compression") == 0 || strcmp(key, "compression-level") == 0 ||
               strcmp(key, "force-compression") == 0 || strcmp(key, "digest") == 0) {
        return lade_error_set(err, LADE_ERR_USAGE, "%s: %s= is not implemented yet", f, key);
    } else {
        return lade_error_set(err, LADE_ERR_USAGE, "%s: unknown key \"%s\"", f, key);
    }
    return 0;
}

/* What the type needs, and nothing of the other type. */
static int
check_spec(const struct cache_spec *s, bool to, struct lade_error *err)
{
    const char *f = flag_name(to);
    struct image_ref ref;

    if (s->type == CACHE_SPEC_REGISTRY) {
        if (s->ref == NULL || *s->ref == '\0')
            return lade_error_set(err, LADE_ERR_USAGE, "%s type=registry needs ref=NAME", f);
        if (s->dir != NULL || s->tag != NULL)
            return lade_error_set(err, LADE_ERR_USAGE, "%s type=registry takes no %s", f,
                                  s->dir ? (to ? "dest=" : "src=") : "tag=");
        if (image_ref_parse(s->ref, &ref, err) < 0) {
            lade_error_recode(err, LADE_ERR_USAGE);
            return lade_error_prefix(err, "%s ref=%s", f, s->ref);
        }
        image_ref_release(&ref);
        return 0;
    }
    if (s->dir == NULL || *s->dir == '\0')
        return lade_error_set(err, LADE_ERR_USAGE, "%s type=local needs %s=DIR", f,
                              to ? "dest" : "src");
    if (s->ref != NULL)
        return lade_error_set(err, LADE_ERR_USAGE, "%s type=local takes no ref=", f);
    return 0;
}

int
cache_spec_parse(const char *text, bool to, struct cache_spec *out, struct lade_error *err)
{
    cleanup_free char *copy = xstrdup(text), *type = NULL;
    struct cache_spec s = {0};
    char *save = NULL;
    int rc = 0;

    /* a bare reference is type=registry,ref=REFERENCE (buildx) */
    if (strchr(text, '=') == NULL && strchr(text, ',') == NULL && *text != '\0') {
        s.type = CACHE_SPEC_REGISTRY;
        s.ref = xstrdup(text);
    } else {
        for (char *kv = strtok_r(copy, ",", &save); kv && rc == 0; kv = strtok_r(NULL, ",", &save))
            rc = parse_field(kv, to, &s, &type, err);
        if (rc == 0 && type == NULL)
            rc = lade_error_set(err, LADE_ERR_USAGE, "%s needs type=registry or type=local: \"%s\"",
                                flag_name(to), text);
        if (rc == 0)
            rc = parse_type(type, to, &s, err);
    }
    if (rc == 0)
        rc = check_spec(&s, to, err);
    if (rc < 0) {
        cache_spec_release(&s);
        return -1;
    }
    if (s.type == CACHE_SPEC_LOCAL && s.tag == NULL)
        s.tag = xstrdup("latest");
    *out = s;
    return 0;
}

void
cache_spec_release(struct cache_spec *s)
{
    free(s->ref);
    free(s->dir);
    free(s->tag);
    memset(s, 0, sizeof(*s));
}

int
cache_specs_add(struct cache_specs *list, const char *text, bool to, struct lade_error *err)
{
    struct cache_spec s;

    if (cache_spec_parse(text, to, &s, err) < 0)
        return -1;
    list->v = xrealloc(list->v, (list->n + 1) * sizeof(*list->v));
    list->v[list->n++] = s;
    return 0;
}

void
cache_specs_release(struct cache_specs *list)
{
    for (size_t i = 0; i < list->n; i++)
        cache_spec_release(&list->v[i]);
    free(list->v);
    memset(list, 0, sizeof(*list));
}
