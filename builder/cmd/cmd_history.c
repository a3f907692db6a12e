/* SPDX-License-Identifier: Apache-2.0 */
/* lade history NAME: the image's history entries, newest first, as `docker history` shows
 * them (IMAGE CREATED CREATED BY SIZE COMMENT). */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../progress.h"
#include "../common/cleanup.h"
#include "../common/xalloc.h"
#include "image_info.h"
#include "template.h"

enum { OPT_NO_TRUNC = 256, OPT_FORMAT, OPT_HUMAN };

static const struct cli_opt history_opts[] = {
    {OPT_NO_TRUNC, "no-trunc", 0, NULL, "Do not truncate IDs and commands"},
    {'q', "quiet", 'q', NULL, "Print only the image ID"},
    {OPT_FORMAT, "format", 0, "TEMPLATE",
     "Print with a Go template ({{.ID}} {{.CreatedSince}} {{.CreatedBy}} {{.Size}} {{.Comment}})"},
    {'H', "human", 'H', NULL, "Sizes and dates in human-readable form (the default)"},
    {0},
};

/* docker's Ellipsis: at most max characters, the last one "…" when cut. */
static char *
ellipsis(const char *s, size_t max)
{
    if (strlen(s) <= max)
        return xstrdup(s);
    return xasprintf("%.*s…", (int) (max - 1), s);
}

static json_t *
entry_json(struct store *st, const struct store_image *img, json_t *h, size_t *layer, bool top,
           bool no_trunc)
{
    const char *by = json_string_value(json_object_get(h, "created_by"));
    const char *created = json_string_value(json_object_get(h, "created"));
    const char *comment = json_string_value(json_object_get(h, "comment"));
    int64_t size = 0;
    char age[64], hsize[32];

    if (!json_is_true(json_object_get(h, "empty_layer")) && *layer > 0) {
        size = image_layer_size(st, img, --*layer);
        size = size < 0 ? 0 : size;
    }
    const char *cfg = img->manifest.config.digest;
    cleanup_free char *id = !top       ? xstrdup("<missing>")
                            : no_trunc ? xstrdup(cfg)
                                       : xasprintf("%.12s", digest_hex(cfg));
    cleanup_free char *shown_by = no_trunc ? xstrdup(by ? by : "") : ellipsis(by ? by : "", 45);
    image_format_age(image_parse_time(created), age, sizeof(age));
    human_size((uint64_t) size, hsize, sizeof(hsize));
    return json_pack("{ssssssssssss}", "ID", id, "CreatedSince", age, "CreatedAt",
                     created ? created : "", "CreatedBy", shown_by, "Size", hsize, "Comment",
                     comment ? comment : "");
}

/* s padded to width display columns (UTF-8 continuation bytes take none). */
static void
print_cell(const char *s, size_t width)
{
    size_t cols = 0;

    for (const char *p = s; *p; p++)
        cols += ((unsigned char) *p & 0xC0) != 0x80;
    printf("%s%*s", s, (int) (cols < width ? width - cols : 1), "");
}

static int
cmd_history(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct store_image img = {0};
    const char *format = NULL;
    bool quiet = false, no_trunc = false;
    struct store *st;
    struct cli_args a;
    int c, rc = -1;

    cli_args_init(&a, &history_command, argc, argv);
    while ((c = cli_next(&a, err)) > 0) {
        if (c == 'q')
            quiet = true;
        else if (c == OPT_NO_TRUNC)
            no_trunc = true;
        else if (c == OPT_FORMAT)
            format = a.value;
    }
    if ((c = cli_end(&a, c, 1, 1, err)) != 0)
        return c > 0 ? 0 : -1;
    if ((st = cli_store(cli, err)) == NULL || store_image_lookup(st, a.operands[0], &img, err) < 0)
        return -1;
    json_t *hist = json_object_get(img.config, "history");
    size_t n = json_array_size(hist), layer = img.manifest.nlayers;
    if (format == NULL && !quiet)
        format = "table";
    if (quiet)
        format = "{{.ID}}";
    bool table = strcmp(format, "table") == 0;
    if (table)
        printf("%-15s%-16s%-48s%-10s%s\n", "IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT");
    for (size_t i = n; i-- > 0;) {
        json_t *row = entry_json(st, &img, json_array_get(hist, i), &layer, i == n - 1, no_trunc);
        if (table) {
            static const char *const keys[] = {"ID", "CreatedSince", "CreatedBy", "Size"};
            static const size_t widths[] = {15, 16, 48, 10};
            for (size_t k = 0; k < 4; k++)
                print_cell(json_string_value(json_object_get(row, keys[k])), widths[k]);
            printf("%s\n", json_string_value(json_object_get(row, "Comment")));
        } else {
            char *line = template_render(format, row, err);
            if (line != NULL && (!quiet || i == n - 1))
                printf("%s\n", line);
            free(line);
            if (line == NULL) {
                json_decref(row);
                goto out;
            }
        }
        json_decref(row);
    }
    rc = 0;
out:
    store_image_release(&img);
    return rc;
}

const struct cli_command history_command = {
    .name = "history",
    .synopsis = "[OPTIONS] NAME",
    .summary = "Show the history of an image",
    .opts = history_opts,
    .run = cmd_history,
};
