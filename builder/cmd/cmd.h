/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Subcommands: one file each (cmd_<name>.c), dispatched by main.c. Each parses its own flags
 * from argv (argv[0] is the subcommand name) with getopt_long, and returns 0 or -1 with err set
 * (bad usage: LADE_ERR_USAGE). Only main prints errors. */

#include "../common/error.h"
#include "../../layers/store/store.h"

struct cli {
    const char *root;    /* --root, LADE_ROOT, or the default */
    struct store *store; /* opened on first use by cli_store */
};

/* The store at cli->root, opened once. */
struct store *cli_store(struct cli *cli, struct lade_error *err);
/* A user-given image name normalised ("app" -> "docker.io/library/app:latest"); caller frees.
 * A "sha256:..." digest is returned as it is. (To find an image by what a user typed, ID
 * prefixes included, use store_image_lookup.) */
char *cli_normalise_name(const char *name, struct lade_error *err);

int cmd_build(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_plan(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_images(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_inspect(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_tag(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_rmi(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_save(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_load(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_run(struct cli *cli, int argc, char **argv, struct lade_error *err);
