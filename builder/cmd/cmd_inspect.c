/* SPDX-License-Identifier: Apache-2.0 */
/* lade inspect NAME: the image's identity, manifest and config as indented JSON. */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cleanup.h"
#include "../common/xalloc.h"
#include "image_info.h"
#include "template.h"

#define MANIFEST_MAX (4 << 20)

/* The name shown: what the user typed when it is a tag of the image, else the image's first tag
 * (it was given by ID), else NULL. */
static char *
shown_name(struct store *st, const char *typed, const char *manifest_digest)
{
    struct lade_error ignored = {0};
    struct store_tag *tags = NULL;
    struct oci_desc d;
    size_t n = 0;
    char *name = cli_normalise_name(typed, &ignored);

    if (name != NULL && store_tag_get(st, name, &d, &ignored) == 0 &&
        strcmp(d.digest, manifest_digest) == 0)
        return name;
    free(name);
    name = NULL;
    if (store_tags_list(st, &tags, &n, &ignored) < 0)
        return NULL;
    for (size_t i = 0; i < n && name == NULL; i++)
        if (strcmp(tags[i].manifest.digest, manifest_digest) == 0)
            name = xstrdup(tags[i].name);
    store_tags_free(tags, n);
    return name;
}

static int
cmd_inspect(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct store_image img = {0};
    cleanup_free char *name = NULL, *manifest = NULL, *out = NULL;
    json_auto_t *doc = NULL;
    struct store *st;
    size_t len = 0;
    const char *format = NULL;
    struct cli_args a;
    int c;

    cli_args_init(&a, &inspect_command, argc, argv);
    while ((c = cli_next(&a, err)) > 0)
        format = a.value;
    if ((c = cli_end(&a, c, 1, 1, err)) != 0)
        return c > 0 ? 0 : -1;
    if ((st = cli_store(cli, err)) == NULL || store_image_lookup(st, a.operands[0], &img, err) < 0)
        return -1;
    if (format != NULL) {
        /* docker image inspect's object, so {{.Config.Env}} means what it means to docker */
        json_t *d = image_docker_json(st, &img);
        out = template_render(format, d, err);
        json_decref(d);
        if (out != NULL)
            printf("%s\n", out);
        goto out;
    }
    name = shown_name(st, a.operands[0], store_image_top(&img)->digest);
    if (store_blob_read(st, img.manifest_desc.digest, MANIFEST_MAX, &manifest, &len, err) < 0)
        goto out;
    json_t *m = oci_json_parse(manifest, len, "manifest", err);
    if (m == NULL)
        goto out;
    /* insertion order is kept: identity first, then the documents as stored */
    doc = json_object();
    json_object_set_new(doc, "Name", name ? json_string(name) : json_null());
    json_object_set_new(doc, "Id", json_string(img.manifest.config.digest));
    json_object_set_new(doc, "Digest", json_string(img.manifest_desc.digest));
    /* a multi-platform image: the manifest above is the host's, picked from this index */
    if (img.index_desc.size > 0)
        json_object_set_new(doc, "Index", json_string(img.index_desc.digest));
    json_object_set_new(doc, "Manifest", m);
    json_object_set(doc, "Config", img.config);
    out = json_dumps(doc, JSON_INDENT(2));
    if (out != NULL)
        printf("%s\n", out);
out:
    store_image_release(&img);
    return lade_error_is_set(err) ? -1 : 0;
}

static const struct cli_opt inspect_opts[] = {
    {'f', "format", 'f', "TEMPLATE",
     "Print with a Go template over docker's image-inspect fields ({{.Config.Env}})"},
    {0},
};

const struct cli_command inspect_command = {
    .name = "inspect",
    .synopsis = "[OPTIONS] NAME",
    .opts = inspect_opts,
    .summary = "Show an image's name, ID, digest, manifest and config as JSON",
    .run = cmd_inspect,
};
