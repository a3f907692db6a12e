/* SPDX-License-Identifier: Apache-2.0 */
/* lade images: the tagged images of the store, as `docker images` shows them. */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fnmatch.h>
#include <time.h>

#include "../progress.h"
#include "../common/cleanup.h"
#include "../common/strv.h"
#include "../common/xalloc.h"
#include "image_info.h"
#include "template.h"

struct row {
    char *repo, *tag, *id, *digest, *created_at;
    int64_t created; /* -1: unknown */
    int64_t size;
};

struct images_opts {
    bool quiet, no_trunc, digests;
    const char *format;
    char **filters;        /* "reference=PATTERN", "dangling=BOOL", "before=IMAGE", "since=IMAGE" */
    int64_t before, since; /* creation times of before= and since= images; -1: none */
};

static void
row_free(struct row *r)
{
    free(r->repo);
    free(r->tag);
    free(r->id);
    free(r->digest);
    free(r->created_at);
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

    memset(r, 0, sizeof(*r));
    r->created = -1;
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
    r->digest = xstrdup(t->manifest.digest);
    if (store_image_load(st, t->name, &img, &ignored) < 0) {
        /* a multi-platform image without the host's platform: its index names it */
        const char *d = t->manifest.digest;
        r->id = !oci_media_type_is_index(t->manifest.media_type) ? xstrdup("<missing>")
                : no_trunc                                       ? xstrdup(d)
                           : xasprintf("%.12s", digest_hex(d));
        r->created_at = xstrdup("");
        return;
    }
    const char *cfg = img.manifest.config.digest;
    const char *created = json_string_value(json_object_get(img.config, "created"));
    r->id = no_trunc ? xstrdup(cfg) : xasprintf("%.12s", digest_hex(cfg));
    r->created = image_parse_time(created);
    r->created_at = xstrdup(created ? created : "");
    r->size = image_size(st, &img); /* uncompressed, as docker counts it */
    store_image_release(&img);
}

/* The creation time of the image a before=/since= filter names. */
static int
filter_time(struct store *st, const char *name, int64_t *out, struct lade_error *err)
{
    struct store_image img;

    if (store_image_lookup(st, name, &img, err) < 0)
        return lade_error_recode(err, LADE_ERR_USAGE);
    *out = image_parse_time(json_string_value(json_object_get(img.config, "created")));
    store_image_release(&img);
    return 0;
}

/* docker's filters: all must match. REPOSITORY[:TAG] operand first. */
static bool
row_matches(const struct row *r, const char *filter_repo, const char *filter_tag,
            const struct images_opts *o)
{
    char ref[1024];

    if (filter_repo != NULL &&
        (strcmp(r->repo, filter_repo) != 0 || (filter_tag && strcmp(r->tag, filter_tag) != 0)))
        return false;
    snprintf(ref, sizeof(ref), "%s:%s", r->repo, r->tag);
    for (char **f = o->filters; f && *f; f++) {
        const char *v = strchr(*f, '=') + 1;
        if (strncmp(*f, "reference=", 10) == 0 && fnmatch(v, r->repo, 0) != 0 &&
            fnmatch(v, ref, 0) != 0)
            return false;
        if (strcmp(*f, "dangling=true") == 0) /* the store lists tagged images only */
            return false;
    }
    if (o->before >= 0 && (r->created < 0 || r->created >= o->before))
        return false;
    if (o->since >= 0 && (r->created < 0 || r->created <= o->since))
        return false;
    return true;
}

static json_t *
row_json(const struct row *r)
{
    char age[64], size[32];

    image_format_age(r->created, age, sizeof(age));
    human_size((uint64_t) r->size, size, sizeof(size));
    return json_pack("{ssssssssssssss}", "Repository", r->repo, "Tag", r->tag, "ID", r->id,
                     "Digest", r->digest, "CreatedSince", age, "CreatedAt", r->created_at, "Size",
                     size);
}

/* Lines of cells separated by tabs, aligned as docker's tabwriter does (3 spaces between). */
static void
print_aligned(char **lines, size_t n)
{
    size_t w[16] = {0};

    for (size_t i = 0; i < n; i++) {
        size_t c = 0;
        for (char *p = lines[i], *tab; c < 16; p = tab + 1, c++) {
            tab = strchr(p, '\t');
            size_t len = tab ? (size_t) (tab - p) : strlen(p);
            if (tab == NULL)
                break;
            if (len > w[c])
                w[c] = len;
        }
    }
    for (size_t i = 0; i < n; i++) {
        size_t c = 0;
        char *p = lines[i], *tab;
        for (; (tab = strchr(p, '\t')) != NULL && c < 16; p = tab + 1, c++)
            printf("%-*.*s", (int) (w[c] + 3 < 10 ? 10 : w[c] + 3), (int) (tab - p), p);
        printf("%s\n", p);
    }
}

/* --format: a Go template per row; "table TEMPLATE" adds the header and aligns columns. */
static int
print_format(const struct row *rows, size_t n, const char *format, struct lade_error *err)
{
    bool table = strncmp(format, "table", 5) == 0 && (format[5] == ' ' || format[5] == '\0');
    const char *tmpl = table ? format + 5 + (format[5] == ' ') : format;
    char **lines = xcalloc(n + 2, sizeof(*lines));
    size_t nl = 0;
    int rc = 0;
    cleanup_free char *unescaped = xstrdup(tmpl);

    /* docker's formatter: \t and \n as typed mean a tab and a newline */
    char *w = unescaped;
    for (const char *p = tmpl; *p; p++) {
        if (p[0] == '\\' && (p[1] == 't' || p[1] == 'n')) {
            *w++ = p[1] == 't' ? '\t' : '\n';
            p++;
        } else
            *w++ = *p;
    }
    *w = '\0';
    tmpl = unescaped;

    if (table && *tmpl == '\0')
        tmpl = "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
    if (table) {
        json_t *h = json_pack("{ssssssssssssss}", "Repository", "REPOSITORY", "Tag", "TAG", "ID",
                              "IMAGE ID", "Digest", "DIGEST", "CreatedSince", "CREATED",
                              "CreatedAt", "CREATED AT", "Size", "SIZE");
        lines[nl++] = template_render(tmpl, h, err);
        json_decref(h);
    }
    for (size_t i = 0; i < n && (nl == 0 || lines[nl - 1] != NULL); i++) {
        json_t *j = row_json(&rows[i]);
        lines[nl++] = template_render(tmpl, j, err);
        json_decref(j);
    }
    if (nl > 0 && lines[nl - 1] == NULL)
        rc = -1;
    else if (table)
        print_aligned(lines, nl);
    else
        for (size_t i = 0; i < nl; i++)
            printf("%s\n", lines[i]);
    for (size_t i = 0; i < nl; i++)
        free(lines[i]);
    free(lines);
    return rc;
}

static void
print_table(const struct row *rows, size_t n, bool digests)
{
    const char *base = digests ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t"
                                 "{{.CreatedSince}}\t{{.Size}}"
                               : "table";
    struct lade_error ignored = {0};

    print_format(rows, n, base, &ignored);
}

enum { OPT_DIGESTS = 256, OPT_FORMAT, OPT_FILTER };

static const struct cli_opt images_opts[] = {
    {'q', "quiet", 'q', NULL, "Print only the image IDs"},
    {'T', "no-trunc", 0, NULL, "Print whole image IDs"},
    {OPT_DIGESTS, "digests", 0, NULL, "Show the manifest digests"},
    {OPT_FORMAT, "format", 0, "TEMPLATE",
     "Print with a Go template ({{.Repository}}:{{.Tag}}; \"table ...\" for columns)"},
    {'f', "filter", 'f', "KEY=VALUE",
     "reference=PATTERN, dangling=true|false, before=IMAGE, since=IMAGE (repeatable)"},
    {0},
};

static int
images_option(int c, const char *v, struct images_opts *o, struct lade_error *err)
{
    if (c == 'q')
        o->quiet = true;
    else if (c == 'T')
        o->no_trunc = true;
    else if (c == OPT_DIGESTS)
        o->digests = true;
    else if (c == OPT_FORMAT)
        o->format = v;
    else if (strncmp(v, "reference=", 10) == 0 || strncmp(v, "before=", 7) == 0 ||
             strncmp(v, "since=", 6) == 0 || strcmp(v, "dangling=true") == 0 ||
             strcmp(v, "dangling=false") == 0)
        o->filters = strv_push(o->filters, v);
    else
        return lade_error_set(err, LADE_ERR_USAGE,
                              "images: --filter \"%s\" is not supported (reference=, dangling=, "
                              "before=, since=)",
                              v);
    return 0;
}

static void
print_quiet(const struct row *rows, size_t n)
{
    /* one line per image, not per tag */
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(rows[k].id, rows[i].id) == 0;
        if (!seen)
            printf("%s\n", rows[i].id);
    }
}

static int
cmd_images(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct images_opts o = {.before = -1, .since = -1};
    struct store_tag *tags = NULL;
    struct row *rows = NULL;
    cleanup_free char *filter_repo = NULL;
    const char *filter_tag = NULL;
    struct store *st;
    size_t n = 0, nrows = 0;
    struct cli_args a;
    int c, rc = -1;

    cli_args_init(&a, &images_command, argc, argv);
    while ((c = cli_next(&a, err)) > 0)
        if (images_option(c, a.value, &o, err) < 0)
            goto out;
    if ((c = cli_end(&a, c, 0, 1, err)) != 0) {
        rc = c > 0 ? 0 : -1;
        goto out;
    }
    if (a.noperands == 1) {
        /* the filter is compared with the familiar form the table shows */
        struct image_ref ref = {0};
        const char *arg = a.operands[0], *slash = strrchr(arg, '/');
        const char *colon = strrchr(slash ? slash : arg, ':');
        if (image_ref_parse(arg, &ref, err) < 0)
            goto out;
        if (colon != NULL)
            filter_tag = colon + 1;
        free(ref.tag);
        ref.tag = NULL;
        filter_repo = image_ref_familiar(&ref);
        image_ref_release(&ref);
    }
    if ((st = cli_store(cli, err)) == NULL)
        goto out;
    for (char **f = o.filters; f && *f; f++)
        if ((strncmp(*f, "before=", 7) == 0 && filter_time(st, *f + 7, &o.before, err) < 0) ||
            (strncmp(*f, "since=", 6) == 0 && filter_time(st, *f + 6, &o.since, err) < 0))
            goto out;
    if (store_tags_list(st, &tags, &n, err) < 0)
        goto out;
    rows = xcalloc(n + 1, sizeof(*rows));
    for (size_t i = 0; i < n; i++) {
        row_fill(st, &tags[i], o.no_trunc, &rows[nrows]);
        if (row_matches(&rows[nrows], filter_repo, filter_tag, &o))
            nrows++;
        else
            row_free(&rows[nrows]);
    }
    qsort(rows, nrows, sizeof(*rows), cmp_rows);
    rc = 0;
    if (o.quiet)
        print_quiet(rows, nrows);
    else if (o.format != NULL)
        rc = print_format(rows, nrows, o.format, err);
    else
        print_table(rows, nrows, o.digests);
out:
    for (size_t i = 0; i < nrows; i++)
        row_free(&rows[i]);
    free(rows);
    store_tags_free(tags, n);
    strv_free(o.filters);
    return rc;
}

const struct cli_command images_command = {
    .name = "images",
    .synopsis = "[OPTIONS] [REPOSITORY[:TAG]]",
    .summary = "List the images of the store",
    .opts = images_opts,
    .run = cmd_images,
};
