/* SPDX-License-Identifier: Apache-2.0 */
/* Stored images as docker shows them (image_info.h). */
#include "image_info.h"

#include <fts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../common/cleanup.h"
#include "../common/xalloc.h"

int64_t
image_parse_time(const char *s)
{
    struct tm tm = {0};
    const char *p;
    int64_t t;

    if (s == NULL || (p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
        return -1;
    t = (int64_t) timegm(&tm);
    if (*p == '.')
        while (*++p >= '0' && *p <= '9')
            ;
    if (*p == 'Z' || *p == 'z')
        return t;
    int hh, mm;
    if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &hh, &mm) == 2)
        return t - (*p == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
    return -1;
}

void
image_format_age(int64_t created, char *out, size_t n)
{
    int64_t s = (int64_t) time(NULL) - created, h = (s + 1800) / 3600;

    if (created < 0)
        snprintf(out, n, "N/A");
    else if (s < 1)
        snprintf(out, n, "Less than a second ago");
    else if (s == 1)
        snprintf(out, n, "1 second ago");
    else if (s < 60)
        snprintf(out, n, "%lld seconds ago", (long long) s);
    else if (s / 60 == 1)
        snprintf(out, n, "About a minute ago");
    else if (s < 3600)
        snprintf(out, n, "%lld minutes ago", (long long) (s / 60));
    else if (h == 1)
        snprintf(out, n, "About an hour ago");
    else if (h < 48)
        snprintf(out, n, "%lld hours ago", (long long) h);
    else if (h < 24 * 7 * 2)
        snprintf(out, n, "%lld days ago", (long long) (h / 24));
    else if (h < 24 * 30 * 2)
        snprintf(out, n, "%lld weeks ago", (long long) (h / 24 / 7));
    else if (h < 24 * 365 * 2)
        snprintf(out, n, "%lld months ago", (long long) (h / 24 / 30));
    else
        snprintf(out, n, "%lld years ago", (long long) (s / 3600 / 24 / 365));
}

/* moby's directory.Size: every entry but directories, a hardlinked file counted once (here:
 * its other links, with st_nlink > 1, by inode among those seen). */
static int64_t
tree_size(const char *dir)
{
    char *paths[] = {(char *) dir, NULL};
    FTS *f = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
    ino_t *seen = NULL;
    size_t nseen = 0;
    int64_t total = 0;
    FTSENT *e;

    if (f == NULL)
        return -1;
    while ((e = fts_read(f)) != NULL) {
        if (e->fts_info == FTS_D || e->fts_info == FTS_DP || e->fts_info == FTS_DNR)
            continue;
        if (e->fts_statp == NULL)
            continue;
        if (e->fts_statp->st_nlink > 1 && !S_ISDIR(e->fts_statp->st_mode)) {
            bool dup = false;
            for (size_t i = 0; i < nseen && !dup; i++)
                dup = seen[i] == e->fts_statp->st_ino;
            if (dup)
                continue;
            seen = xrealloc(seen, (nseen + 1) * sizeof(*seen));
            seen[nseen++] = e->fts_statp->st_ino;
        }
        total += e->fts_statp->st_size;
    }
    fts_close(f);
    free(seen);
    return total;
}

int64_t
image_layer_size(struct store *st, const struct store_image *img, size_t i)
{
    struct lade_error ignored = {0};
    cleanup_free char *dir = NULL;
    digest_t chain = "";

    for (size_t k = 0; k <= i; k++)
        chain_id_next(k ? chain : NULL, oci_config_diff_id(img->config, k), chain);
    if (store_layer_dir(st, chain, oci_config_diff_id(img->config, i),
                        img->manifest.layers[i].digest, &dir, &ignored) < 0)
        return -1;
    return tree_size(dir);
}

int64_t
image_size(struct store *st, const struct store_image *img)
{
    int64_t total = 0;

    for (size_t i = 0; i < img->manifest.nlayers; i++) {
        int64_t s = image_layer_size(st, img, i);
        total += s > 0 ? s : 0;
    }
    return total;
}

/* The familiar names of the tags that point at img's manifest. */
static json_t *
repo_tags(struct store *st, const struct store_image *img)
{
    struct lade_error ignored = {0};
    struct store_tag *tags = NULL;
    json_t *a = json_array();
    size_t n = 0;

    if (store_tags_list(st, &tags, &n, &ignored) < 0)
        return a;
    for (size_t i = 0; i < n; i++)
        if (strcmp(tags[i].manifest.digest, img->manifest_desc.digest) == 0) {
            cleanup_free char *name = cli_familiar_name(tags[i].name);
            json_array_append_new(a, json_string(name));
        }
    store_tags_free(tags, n);
    return a;
}

json_t *
image_docker_json(struct store *st, const struct store_image *img)
{
    static const char *const config_keys[] = {
        "User",       "ExposedPorts", "Env",     "Cmd",    "Healthcheck", "Volumes",
        "WorkingDir", "Entrypoint",   "OnBuild", "Labels", "StopSignal",  "Shell",
    };
    json_t *oci = img->config, *c = json_object_get(oci, "config");
    json_t *doc = json_object(), *cfg = json_object(), *rootfs = json_object();
    json_t *diff_ids = json_object_get(json_object_get(oci, "rootfs"), "diff_ids");
    const char *s;

    json_object_set_new(doc, "Id", json_string(img->manifest.config.digest));
    json_object_set_new(doc, "RepoTags", repo_tags(st, img));
    json_object_set_new(doc, "RepoDigests", json_array());
    json_object_set_new(doc, "Parent", json_string(""));
    s = json_string_value(json_object_get(oci, "comment"));
    json_object_set_new(doc, "Comment", json_string(s ? s : ""));
    s = json_string_value(json_object_get(oci, "created"));
    json_object_set_new(doc, "Created", json_string(s ? s : ""));
    s = json_string_value(json_object_get(oci, "author"));
    json_object_set_new(doc, "Author", json_string(s ? s : ""));
    for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
        json_t *v = json_object_get(c, config_keys[i]);
        if (strcmp(config_keys[i], "User") == 0 || strcmp(config_keys[i], "WorkingDir") == 0)
            json_object_set_new(cfg, config_keys[i], json_string(json_string_value(v) ?: ""));
        else if (v != NULL || strcmp(config_keys[i], "Shell") != 0)
            json_object_set_new(cfg, config_keys[i], v ? json_incref(v) : json_null());
    }
    json_object_set_new(doc, "Config", cfg);
    s = json_string_value(json_object_get(oci, "architecture"));
    json_object_set_new(doc, "Architecture", json_string(s ? s : ""));
    if ((s = json_string_value(json_object_get(oci, "variant"))) != NULL)
        json_object_set_new(doc, "Variant", json_string(s));
    s = json_string_value(json_object_get(oci, "os"));
    json_object_set_new(doc, "Os", json_string(s ? s : ""));
    json_object_set_new(doc, "Size", json_integer(image_size(st, img)));
    json_object_set_new(rootfs, "Type", json_string("layers"));
    json_object_set_new(rootfs, "Layers", diff_ids ? json_incref(diff_ids) : json_array());
    json_object_set_new(doc, "RootFS", rootfs);
    json_object_set_new(doc, "Metadata", json_object());
    return doc;
}
