/* SPDX-License-Identifier: Apache-2.0 */
/* lade diff A B: the files added, removed and changed between two images (which fields of a
 * changed file), then the config fields that differ. Exit 0 when the images are the same, 1
 * when they differ, as diff(1). */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/cleanup.h"
#include "../common/strv.h"
#include "../image_diff.h"
#include "../../layers/archive/archive.h"

static const struct cli_opt diff_opts[] = {
    {'q', "quiet", 'q', NULL, "Print nothing; the exit status says whether they differ"},
    {0},
};

/* An archive's path: it exists as a regular file and looks like a path, so that an image
 * named like a file in the working directory is still found in the store. */
static bool
is_archive_path(const char *s)
{
    struct stat sb;

    return (strchr(s, '/') != NULL || strstr(s, ".tar") != NULL) && stat(s, &sb) == 0 &&
           S_ISREG(sb.st_mode);
}

static int
load_image(struct store *st, const char *what, struct store_image *img, struct lade_error *err)
{
    char **manifests = NULL;
    int rc;

    if (!is_archive_path(what))
        return store_image_lookup(st, what, img, err);
    if (archive_import_manifests(st, what, &manifests, err) < 0)
        return -1;
    if (strv_len(manifests) != 1)
        rc = lade_error_set(err, LADE_ERR_USAGE, "'%s' holds %zu images; lade diff wants one", what,
                            strv_len(manifests));
    else
        rc = store_image_load(st, manifests[0], img, err);
    strv_free(manifests);
    return rc;
}

struct printer {
    bool quiet;
};

static void
print_file(void *ctx, char kind, const struct fs_file *a, const struct fs_file *b, const char *what)
{
    struct printer *p = ctx;

    if (p->quiet)
        return;
    if (kind == 'C')
        printf("C /%s: %s\n", a->path, what);
    else
        printf("%c /%s\n", kind, kind == 'A' ? b->path : a->path);
}

static void
print_field(void *ctx, const char *path, const char *old, const char *new)
{
    struct printer *p = ctx;

    if (!p->quiet)
        printf("config %s: %s -> %s\n", path, old ? old : "(absent)", new ? new : "(absent)");
}

static int
diff_images(struct store *st, struct store_image *a, struct store_image *b, bool quiet,
            struct lade_error *err)
{
    struct fs_view va = {0}, vb = {0};
    struct printer p = {.quiet = quiet};
    size_t n = 0;
    int rc = -1;

    if (strcmp(a->manifest_desc.digest, b->manifest_desc.digest) == 0) {
        if (!quiet)
            printf("identical: %s\n", a->manifest_desc.digest);
        return 0;
    }
    if (fs_view_load(&va, st, &a->manifest, err) < 0 ||
        fs_view_load(&vb, st, &b->manifest, err) < 0)
        goto out;
    n = fs_view_diff(&va, &vb, print_file, &p);
    n += json_diff(a->config, b->config, print_field, &p);
    if (n == 0 && !quiet) /* same files and config: the manifests differ (compression) */
        printf("manifest: %s -> %s (same files and config; the layer blobs differ)\n",
               a->manifest_desc.digest, b->manifest_desc.digest);
    rc = 1;
out:
    fs_view_release(&va);
    fs_view_release(&vb);
    return rc;
}

static int
cmd_diff(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct store_image a = {0}, b = {0};
    bool quiet = false;
    struct store *st;
    struct cli_args args;
    int c, rc = -1;

    cli_args_init(&args, &diff_command, argc, argv);
    while ((c = cli_next(&args, err)) > 0)
        quiet = true;
    if ((c = cli_end(&args, c, 2, 2, err)) != 0)
        return c > 0 ? 0 : -1;
    const char *const *names = (const char *const *) args.operands;
    if ((st = cli_store(cli, err)) == NULL || load_image(st, names[0], &a, err) < 0 ||
        load_image(st, names[1], &b, err) < 0)
        goto out;
    rc = diff_images(st, &a, &b, quiet, err);
    fflush(stdout);
out:
    store_image_release(&a);
    store_image_release(&b);
    return rc;
}

const struct cli_command diff_command = {
    .name = "diff",
    .synopsis = "[-q] IMAGE_A IMAGE_B",
    .summary = "Show the files and config fields that differ between two images",
    .description = "IMAGE: a name or ID in the store, or the path of an OCI or docker archive.\n"
                   "Exit 0 when the images are the same, 1 when they differ, as diff(1).",
    .opts = diff_opts,
    .run = cmd_diff,
};
