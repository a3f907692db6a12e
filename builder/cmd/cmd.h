/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Subcommands: one file each (cmd_<name>.c), dispatched by main.c. Each parses its own flags
 * from argv (argv[0] is the subcommand name) with getopt_long, and returns 0 or -1 with err set
 * (bad usage: LADE_ERR_USAGE). Only main prints errors. */

#include "../common/error.h"
#include "../../layers/registry/registry.h"
#include "../../layers/store/store.h"

struct cli {
    const char *root;         /* --root, LADE_ROOT, or the default */
    struct store *store;      /* opened on first use by cli_store */
    struct registry_opts reg; /* --insecure-registry, --retries (global or per command) */
    char **insecure;          /* owns reg.insecure's strings */
    const char *verify_key;   /* pull --verify-key PUB */
};

/* The registry flags every registry-speaking command accepts (and main accepts before the
 * command): put CLI_REGISTRY_OPTIONS in its getopt_long table and pass those cases to
 * cli_registry_option. */
enum { CLI_OPT_INSECURE_REGISTRY = 1000, CLI_OPT_RETRIES };
#define CLI_REGISTRY_OPTIONS                                                                       \
    {"insecure-registry", required_argument, NULL, CLI_OPT_INSECURE_REGISTRY},                     \
    {                                                                                              \
        "retries", required_argument, NULL, CLI_OPT_RETRIES                                        \
    }
int cli_registry_option(struct cli *cli, int opt, const char *arg, struct lade_error *err);
void cli_release(struct cli *cli);
/* The short form docker shows for a stored name ("app:1" for "docker.io/library/app:1"), or the
 * name itself when it does not parse; caller frees. */
char *cli_familiar_name(const char *full);
/* pull/push arguments: -h, CLI_REGISTRY_OPTIONS, --platform and --verify-key (cli->verify_key)
 * when platform is set (pull), and exactly
 * one NAME, parsed into *ref (caller releases). 0, 1 when -h printed usage, -1 on error. */
int cli_transfer_args(struct cli *cli, int argc, char **argv, const char *usage, bool platform,
                      struct image_ref *ref, struct lade_error *err);

/* The store at cli->root, opened once. */
struct store *cli_store(struct cli *cli, struct lade_error *err);
/* A user-given image name normalised ("app" -> "docker.io/library/app:latest"); caller frees.
 * A "sha256:..." digest is returned as it is. (To find an image by what a user typed, ID
 * prefixes included, use store_image_lookup.) */
char *cli_normalise_name(const char *name, struct lade_error *err);

/* Signing (cmd_sign.c), also for build --sign and pull --verify-key. The private key at path,
 * with the password from LADE_SIGN_PASSWORD when it is encrypted. */
struct sign_key;
int cli_sign_key_load(const char *path, struct sign_key **out, struct lade_error *err);
/* Signs name (digest: the manifest just pushed, which the name must still resolve to; NULL:
 * whatever it resolves to) and prints what was pushed. */
int cli_sign_image(struct cli *cli, const char *name, const char *digest,
                   const struct sign_key *key, struct lade_error *err);
/* Verifies ref's signatures with the public key at pub_path and prints what was verified;
 * *verified_out (may be NULL) gets the verified manifest digest. */
int cli_verify_image(struct cli *cli, const struct image_ref *ref, const char *pub_path,
                     digest_t verified_out, struct lade_error *err);

int cmd_build(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_plan(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_images(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_inspect(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_tag(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_rmi(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_save(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_load(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_run(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_pull(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_push(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_login(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_logout(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_prune(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_diff(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_system(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_sign(struct cli *cli, int argc, char **argv, struct lade_error *err);
int cmd_verify(struct cli *cli, int argc, char **argv, struct lade_error *err);
