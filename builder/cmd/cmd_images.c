/* SPDX-License-Identifier: Apache-2.0 */
/* lade images: the tagged images of the store, as `docker images` shows them. */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../progress.h"
#include "../common/cleanup.h"
#include "../common/xalloc.h"

struct row {
    char *repo, *tag, *id;
    int64_t created; /* -1: unknown */
    int64_t size;
};

/* RFC 3339 ("2024-01-02T03:04:05.5+01:00") to epoch seconds; -1 when it does not parse. */
static int64_t
parse_time(const char *s)
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

/* docker's "About an hour ago" style (go-units HumanDuration). */
static void
format_age(int64_t created, char *out, size_t n)
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

static int
cmp_rows(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    int c;

    if (x->created != y->created)
        return x->created > y->created ? -1 : 1; /* newest first, as docker */
    if ((c = strcmp(x->repo, y->repo)) != 0)
        return c;
    return strcmp(x->tag, y->tag);
}

/* One row per tag; tags whose image cannot be loaded are shown with what is known. */
static void
row_fill(struct store *st, const struct store_tag *t, bool no_trunc, struct row *r)
{
    struct lade_error ignored = {0};
    struct image_ref ref = {0};
    struct store_image img;

    r->created = -1;
    r->size = 0;
    if (image_ref_parse(t->name, &ref, &ignored) == 0) {
        r->tag = xstrdup(ref.tag ? ref.tag : "<none>");
        free(ref.tag);
        ref.tag = NULL;
        r->repo = image_ref_familiar(&ref);
        image_ref_release(&ref);
    } else {
        r->repo = xstrdup(t->name);
        r->tag = xstrdup("<none>");
    }
    if (store_image_load(st, t->name, &img, &ignored) < 0) {
        /* a multi-platform image without the host's platform: its index names it */
        const char *d = t->manifest.digest;
        r->id = !oci_media_type_is_index(t->manifest.media_type) ? xstrdup("<missing>")
                : no_trunc                                       ? xstrdup(d)
                           : xasprintf("%.12s", digest_hex(d));
        return;
    }
    const char *cfg = img.manifest.config.digest;
    r->id = no_trunc ? xstrdup(cfg) : xasprintf("%.12s", digest_hex(cfg));
    r->created = parse_time(json_string_value(json_object_get(img.config, "created")));
    r->size = img.manifest.config.size;
    for (size_t i = 0; i < img.manifest.nlayers; i++)
        r->size += img.manifest.layers[i].size;
    store_image_release(&img);
}

/* docker's filter: REPOSITORY matches the repository, with :TAG also the tag. */
static bool
row_matches(const struct row *r, const char *filter_repo, const char *filter_tag)
{
    if (filter_repo == NULL)
        return true;
    return strcmp(r->repo, filter_repo) == 0 &&
           (filter_tag == NULL || strcmp(r->tag, filter_tag) == 0);
}

static void
print_table(const struct row *rows, size_t n)
{
    const char *head[5] = {"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"};
    char age[64], size[32];
    size_t w[4];

    /* like docker's tabwriter: columns at least 10 wide, 3 spaces of padding */
    for (int c = 0; c < 4; c++)
        w[c] = strlen(head[c]);
    for (size_t i = 0; i < n; i++) {
        format_age(rows[i].created, age, sizeof(age));
        const char *cells[4] = {rows[i].repo, rows[i].tag, rows[i].id, age};
        for (int c = 0; c < 4; c++)
            if (strlen(cells[c]) > w[c])
                w[c] = strlen(cells[c]);
    }
    for (int c = 0; c < 4; c++)
        w[c] = w[c] + 3 < 10 ? 10 : w[c] + 3;
    printf("%-*s%-*s%-*s%-*s%s\n", (int) w[0], head[0], (int) w[1], head[1], (int) w[2], head[2],
           (int) w[3], head[3], head[4]);
    for (size_t i = 0; i < n; i++) {
        format_age(rows[i].created, age, sizeof(age));
        human_size((uint64_t) rows[i].size, size, sizeof(size));
        printf("%-*s%-*s%-*s%-*s%s\n", (int) w[0], rows[i].repo, (int) w[1], rows[i].tag,
               (int) w[2], rows[i].id, (int) w[3], age, size);
    }
}

static const struct cli_opt images_opts[] = {
    {'q', "quiet", 'q', NULL, "Print only the image IDs"},
    {'T', "no-trunc", 0, NULL, "Print whole image IDs"},
    {0},
};

static int
cmd_images(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    bool quiet = false, no_trunc = false;
    struct store_tag *tags = NULL;
    struct row *rows = NULL;
    cleanup_free char *filter_repo = NULL;
    const char *filter_tag = NULL;
    struct store *st;
    size_t n = 0, nrows = 0;
    struct cli_args a;
    int c;

    cli_args_init(&a, &images_command, argc, argv);
    while ((c = cli_next(&a, err)) > 0) {
        if (c == 'q')
            quiet = true;
        else
            no_trunc = true;
    }
    if ((c = cli_end(&a, c, 0, 1, err)) != 0)
        return c > 0 ? 0 : -1;
    if (a.noperands == 1) {
        /* the filter is compared with the familiar form the table shows */
        struct image_ref ref = {0};
        const char *arg = a.operands[0], *slash = strrchr(arg, '/');
        const char *colon = strrchr(slash ? slash : arg, ':');
        if (image_ref_parse(arg, &ref, err) < 0)
            return -1;
        if (colon != NULL)
            filter_tag = colon + 1;
        free(ref.tag);
        ref.tag = NULL;
        filter_repo = image_ref_familiar(&ref);
        image_ref_release(&ref);
    }
    if ((st = cli_store(cli, err)) == NULL || store_tags_list(st, &tags, &n, err) < 0)
        return -1;
    rows = xcalloc(n + 1, sizeof(*rows));
    for (size_t i = 0; i < n; i++) {
        row_fill(st, &tags[i], no_trunc, &rows[nrows]);
        if (row_matches(&rows[nrows], filter_repo, filter_tag)) {
            nrows++;
            continue;
        }
        free(rows[nrows].repo);
        free(rows[nrows].tag);
        free(rows[nrows].id);
    }
    qsort(rows, nrows, sizeof(*rows), cmp_rows);
    if (quiet) {
        /* one line per image, not per tag */
        for (size_t i = 0; i < nrows; i++) {
            bool seen = false;
            for (size_t k = 0; k < i && !seen; k++)
                seen = strcmp(rows[k].id, rows[i].id) == 0;
            if (!seen)
                printf("%s\n", rows[i].id);
        }
    } else {
        print_table(rows, nrows);
    }
    for (size_t i = 0; i < nrows; i++) {
        free(rows[i].repo);
        free(rows[i].tag);
        free(rows[i].id);
    }
    free(rows);
    store_tags_free(tags, n);
    return 0;
}

const struct cli_command images_command = {
    .name = "images",
    .synopsis = "[OPTIONS] [REPOSITORY[:TAG]]",
    .summary = "List the images of the store",
    .opts = images_opts,
    .run = cmd_images,
};
