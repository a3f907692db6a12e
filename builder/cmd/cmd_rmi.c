/* SPDX-License-Identifier: Apache-2.0 */
/* lade rmi NAME...: removes tags, then frees the blobs and extracted layers that no other image
 * and no build cache record uses (when no other lade process is using the store; else they
 * stay until lade prune). */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cache.h"
#include "../progress.h"
#include "../common/cleanup.h"
#include "../common/xalloc.h"

static void
print_untagged(const char *full)
{
    cleanup_free char *familiar = cli_familiar_name(full);

    printf("Untagged: %s\n", familiar);
}

/* An image given by ID or digest loses all its tags; with several, only when forced (docker:
 * "image is referenced in multiple repositories"). */
static int
untag_image(struct store *st, const char *typed, bool force, struct lade_error *err)
{
    struct store_image img = {0};
    struct store_tag *tags = NULL;
    size_t n = 0, hits = 0;
    int rc = -1;

    if (store_image_lookup(st, typed, &img, err) < 0)
        return -1;
    if (store_tags_list(st, &tags, &n, err) < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        hits += strcmp(tags[i].manifest.digest, store_image_top(&img)->digest) == 0;
    if (hits == 0) {
        lade_error_set(err, LADE_ERR_OTHER, "image '%s' has no tags to remove", typed);
        goto out;
    }
    if (hits > 1 && !force) {
        lade_error_set(err, LADE_ERR_OTHER,
                       "cannot remove '%s': the image has %zu tags (name one, or use --force)",
                       typed, hits);
        goto out;
    }
    rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        if (strcmp(tags[i].manifest.digest, store_image_top(&img)->digest) == 0 &&
            (rc = store_tag_remove(st, tags[i].name, err)) == 0)
            print_untagged(tags[i].name);
out:
    store_tags_free(tags, n);
    store_image_release(&img);
    return rc;
}

static int
rmi_one(struct store *st, const char *typed, bool force, struct lade_error *err)
{
    struct lade_error name_err = {0};
    cleanup_free char *name = cli_normalise_name(typed, &name_err);
    struct oci_desc d;

    /* a tag first, as docker resolves names before IDs */
    if (name != NULL && store_tag_get(st, name, &d, NULL) == 0) {
        if (store_tag_remove(st, name, err) < 0)
            return -1;
        print_untagged(name);
        return 0;
    }
    return untag_image(st, typed, force, err);
}

static const struct cli_opt rmi_opts[] = {
    {'f', "force", 'f', NULL,
     "Remove the image even when a name is not given for each of its tags"},
    {0},
};

static int
cmd_rmi(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct store *st;
    bool force = false;
    struct cli_args a;
    int c, rc = 0;

    cli_args_init(&a, &rmi_command, argc, argv);
    while ((c = cli_next(&a, err)) > 0)
        force = true;
    if ((c = cli_end(&a, c, 1, -1, err)) != 0)
        return c > 0 ? 0 : -1;
    if ((st = cli_store(cli, err)) == NULL)
        return -1;
    /* like docker: go on with the other names; the error lists every failure */
    for (int i = 0; i < a.noperands; i++) {
        struct lade_error one = {0};
        if (rmi_one(st, a.operands[i], force, &one) == 0)
            continue;
        if (rc == 0) {
            *err = one;
        } else {
            size_t n = strlen(err->msg);
            snprintf(err->msg + n, sizeof(err->msg) - n, "; %s", one.msg);
        }
        rc = -1;
    }
    struct prune_opts po = {.keep_storage = -1, .nowait = true};
    struct prune_report rep;
    struct lade_error gc_err = {0};
    if (cache_prune(st, &po, &rep, &gc_err) < 0) {
        fprintf(stderr, "lade: warning: blobs not freed: %s\n", gc_err.msg);
    } else if (rep.skipped) {
        fprintf(stderr, "lade: the store is in use: its blobs are freed by a later lade prune\n");
    } else {
        if (rep.freed.blobs.count > 0) {
            char size[32];
            human_size(rep.freed.blobs.bytes + rep.freed.layers.bytes, size, sizeof(size));
            printf("Deleted: %llu blobs (%s)\n", (unsigned long long) rep.freed.blobs.count, size);
        }
    }
    return rc;
}

const struct cli_command rmi_command = {
    .name = "rmi",
    .synopsis = "[-f] NAME...",
    .summary = "Remove image names, and the images no name is left on",
    .description =
        "NAME is a name (app:1) or an image ID or its prefix. The blobs only that image\n"
        "used are freed at once when the store is not in use, else by lade prune.",
    .opts = rmi_opts,
    .run = cmd_rmi,
};
