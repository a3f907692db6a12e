/* SPDX-License-Identifier: Apache-2.0 */
/* lade save NAME... -o FILE [--format oci|docker]: an image as a tar archive (docker's format by
 * default, as `docker save`). Without -o the archive goes to stdout when it is not a terminal. */
#include "cmd.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fsutil.h"
#include "../common/strv.h"
#include "../common/xalloc.h"
#include "../../layers/archive/archive.h"

/* The tag to record for what the user typed: the normalised name when it is a tag of the image;
 * an image given by ID is saved without names, as docker does. */
static void
add_name(struct store *st, const char *typed, const char *manifest_digest, char ***names)
{
    struct lade_error ignored = {0};
    cleanup_free char *name = cli_normalise_name(typed, &ignored);
    struct oci_desc d;

    if (name != NULL && store_tag_get(st, name, &d, &ignored) == 0 &&
        strcmp(d.digest, manifest_digest) == 0)
        *names = strv_push(*names, name);
}

/* Exports to a staging file of the store and copies it to stdout. */
static int
save_to_stdout(struct store *st, const struct oci_desc *m, char **names, enum archive_format fmt,
               struct lade_error *err)
{
    cleanup_free char *tmp = NULL;
    cleanup_close int fd = -1;
    cleanup_close int in = -1;
    int rc;

    if (store_tmp_file(st, &tmp, &fd, err) < 0)
        return -1;
    rc = archive_export(st, m, names, fmt, tmp, err);
    if (rc == 0 && (in = open(tmp, O_RDONLY | O_CLOEXEC)) < 0)
        rc = lade_error_sys(err, "cannot open '%s'", tmp);
    if (rc == 0 && copy_fd(in, STDOUT_FILENO, err) < 0)
        rc = lade_error_prefix(err, "cannot write the archive to stdout");
    unlink(tmp);
    return rc;
}

static const struct cli_opt save_opts[] = {
    {'o', "output", 'o', "FILE", "Write the archive to FILE (default: stdout, not a terminal)"},
    {'F', "format", 0, "oci|docker", "Archive format (default: docker)"},
    {0},
};

static int
cmd_save(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    enum archive_format fmt = ARCHIVE_DOCKER;
    const char *out = NULL;
    struct oci_desc manifest = {0};
    char **names = NULL;
    struct store *st;
    struct cli_args a;
    int c, rc = -1;

    cli_args_init(&a, &save_command, argc, argv);
    while ((c = cli_next(&a, err)) > 0) {
        if (c == 'o')
            out = a.value;
        else if (strcmp(a.value, "oci") == 0)
            fmt = ARCHIVE_OCI;
        else if (strcmp(a.value, "docker") == 0)
            fmt = ARCHIVE_DOCKER;
        else
            return lade_error_set(err, LADE_ERR_USAGE, "unknown format '%s' (oci or docker)",
                                  a.value);
    }
    if ((c = cli_end(&a, c, 1, -1, err)) != 0)
        return c > 0 ? 0 : -1;
    argc = a.noperands;
    argv = a.operands;
    if (out == NULL && isatty(STDOUT_FILENO))
        return lade_error_set(err, LADE_ERR_USAGE,
                              "refusing to write an archive to a terminal: use -o FILE");
    if ((st = cli_store(cli, err)) == NULL)
        return -1;
    for (int i = 0; i < argc; i++) {
        struct store_image img;
        if (store_image_lookup(st, argv[i], &img, err) < 0)
            goto out;
        /* an archive here holds one image, under any number of its names */
        /* docker archives hold one platform (the host's); an OCI one the whole index */
        const struct oci_desc *chosen =
            fmt == ARCHIVE_OCI ? store_image_top(&img) : &img.manifest_desc;
        if (manifest.digest[0] != '\0' && strcmp(manifest.digest, chosen->digest) != 0) {
            store_image_release(&img);
            lade_error_set(err, LADE_ERR_USAGE,
                           "'%s' and '%s' are different images: save one image per archive",
                           argv[0], argv[i]);
            goto out;
        }
        manifest = *chosen;
        add_name(st, argv[i], store_image_top(&img)->digest, &names);
        store_image_release(&img);
    }
    rc = out ? archive_export(st, &manifest, names, fmt, out, err)
             : save_to_stdout(st, &manifest, names, fmt, err);
out:
    strv_free(names);
    return rc;
}

const struct cli_command save_command = {
    .name = "save",
    .synopsis = "[-o FILE] [--format oci|docker] NAME...",
    .summary = "Write an image to a tar archive",
    .description = "One image per archive, under every NAME given (names of the same image).\n"
                   "The docker format loads with `docker load`, the OCI format with skopeo,\n"
                   "podman and umoci.",
    .opts = save_opts,
    .run = cmd_save,
};
