/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Subcommands: one file each (cmd_<name>.c), dispatched by main.c. Each parses its own flags
 * from argv (argv[0] is the subcommand name) with getopt_long, and returns 0 or -1 with err set
 * (bad usage: LADE_ERR_USAGE). Only main prints errors. */

#include <stdbool.h>
#include <stdio.h>

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

/* ---- The option layer (cli.c): docker's command-line habits for every command ----
 * Options anywhere among the arguments (`lade build ctx -t app:1`), `--` ends them, long names
 * match exactly (no getopt abbreviations: `--no` is not `--no-cache`), `--opt=value` and
 * `--opt value`, short options bundled (`-qt app`, `-tapp`), a flag as `--flag=true|false`,
 * -h/--help on every command. The tables below are also the source of `--help`, of the man
 * pages (`lade help --man CMD`) and of the shell completion (cli_help.c). */

/* One option. id is what cli_next returns: the letter for an option with a short form, else a
 * value >= 256 from the command's own enum. */
struct cli_opt {
    int id;
    const char *name;  /* long name without "--", or NULL */
    char letter;       /* short form, or 0 */
    const char *value; /* placeholder of its value ("FILE"), NULL for a flag */
    const char *help;  /* one line for --help and the man page */
};

/* A docker/buildx option lade does not implement: refused ("lade build: --X is not supported
 * (REASON)"), or accepted and ignored where docker ignores it too (--rm under BuildKit). */
struct cli_foreign {
    const char *name;   /* long name, or NULL */
    char letter;        /* short form, or 0 */
    bool value;         /* takes a value (skipped with the option when ignored) */
    bool ignored;       /* accepted and ignored (with reason: a warning on stderr), else refused */
    const char *reason; /* why; NULL only for a silently ignored option */
    /* refused except as --name=VALUE with this value ("false": --provenance=false asks for
     * what lade does anyway); or NULL */
    const char *harmless;
};

struct cli_command {
    const char *name;                  /* "build" */
    const char *synopsis;              /* after "lade NAME ": "[OPTIONS] CONTEXT" */
    const char *summary;               /* one line */
    const char *description;           /* paragraphs for --help and man, "\n\n" between; or NULL */
    const struct cli_opt *opts;        /* ends with an entry whose id is 0; may be NULL */
    const struct cli_foreign *foreign; /* ends with an entry whose name and letter are 0; or NULL */
    /* options end at the first operand: `lade run IMG CMD -x` gives -x to CMD */
    bool options_before_operands;
    int (*run)(struct cli *cli, int argc, char **argv, struct lade_error *err);
};

/* The parse of one command line; argv is reordered in place (operands move to its front). */
struct cli_args {
    const struct cli_command *cmd;
    int argc;
    char **argv;
    int next;            /* argv index of the next word */
    const char *cluster; /* the rest of a bundle of short options ("-qt"), or NULL */
    bool only_operands;  /* after "--", or the first operand with options_before_operands */
    char *value;         /* the value of the option cli_next just returned (a word of argv) */
    char **operands;     /* once cli_next returned CLI_END: the operands, in order */
    int noperands;
};

enum { CLI_END = 0, CLI_HELP = -2 };

/* argv[0] is the command name. */
void cli_args_init(struct cli_args *a, const struct cli_command *cmd, int argc, char **argv);
/* The next option's id (a->value holds its value), CLI_END when none is left (the operands are
 * in a->operands), CLI_HELP when -h/--help printed the usage on stdout (the command returns 0),
 * -1 with a usage error set (unknown or refused option, missing value). */
int cli_next(struct cli_args *a, struct lade_error *err);
/* Checks min <= noperands <= max (max -1: no limit); a usage error naming the synopsis if not. */
int cli_operands(const struct cli_args *a, int min, int max, struct lade_error *err);
/* After the option loop, with c the last cli_next result: 1 when it printed the help (the
 * command returns 0), -1 on an error (also a wrong number of operands, see cli_operands), else 0.
 */
int cli_end(const struct cli_args *a, int c, int min, int max, struct lade_error *err);
/* The usage of one command (synopsis, summary, description, options) as --help prints it. */
void cli_print_help(FILE *f, const struct cli_command *cmd);

/* The registry flags every registry-speaking command accepts (and main accepts before the
 * command): put CLI_REGISTRY_OPTIONS in its option table and pass those cases to
 * cli_registry_option. */
enum { CLI_OPT_INSECURE_REGISTRY = 1000, CLI_OPT_RETRIES, CLI_OPT_PLATFORM, CLI_OPT_VERIFY_KEY };
#define CLI_REGISTRY_OPTIONS                                                                       \
    {CLI_OPT_INSECURE_REGISTRY, "insecure-registry", 0, "HOST[:PORT]",                             \
     "Talk plain HTTP to this registry (repeatable)"},                                             \
    {                                                                                              \
        CLI_OPT_RETRIES, "retries", 0, "N", "Retries of a failed registry request (default 3)"     \
    }
int cli_registry_option(struct cli *cli, int opt, const char *arg, struct lade_error *err);
void cli_release(struct cli *cli);
/* The short form docker shows for a stored name ("app:1" for "docker.io/library/app:1"), or the
 * name itself when it does not parse; caller frees. */
char *cli_familiar_name(const char *full);
/* pull/push arguments: CLI_REGISTRY_OPTIONS, CLI_OPT_PLATFORM and CLI_OPT_VERIFY_KEY
 * (cli->verify_key) when cmd has them, and exactly one NAME, parsed into *ref (caller
 * releases). 0, 1 when -h printed usage, -1 on error. */
int cli_transfer_args(struct cli *cli, const struct cli_command *cmd, int argc, char **argv,
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
 * whatever it resolves to) and prints what was pushed to out. */
int cli_sign_image(struct cli *cli, const char *name, const char *digest,
                   const struct sign_key *key, FILE *out, struct lade_error *err);
/* Verifies ref's signatures with the public key at pub_path and prints what was verified;
 * *verified_out (may be NULL) gets the verified manifest digest. */
int cli_verify_image(struct cli *cli, const struct image_ref *ref, const char *pub_path,
                     digest_t verified_out, struct lade_error *err);

/* ---- build and plan (cmd_build_args.c) ---- */
struct build_opts;
struct build_context;
/* A --build-arg: "K=V" as it is, K alone from the environment (dropped when unset). */
char **build_arg_push(char **args, const char *value);
/* The prepared context (context.h) as the build's options. */
void build_opts_use_context(struct build_opts *o, const struct build_context *bc);
/* o->epoch from --source-date-epoch (flag, or NULL), else --build-arg SOURCE_DATE_EPOCH, else
 * the environment's SOURCE_DATE_EPOCH (then also set as that build arg, as buildx does). */
int build_epoch_resolve(struct build_opts *o, const char *flag, struct lade_error *err);
/* docker's warning on stderr for build args that no ARG of the Dockerfile declares. */
void build_args_warn_unused(const struct build_opts *o);

/* docker build's and buildx build's options lade does not implement (cmd_build_docker.c). */
extern const struct cli_foreign build_docker_flags[];

/* Each command file defines its table (its run function is static there); main.c lists them. */
extern const struct cli_command build_command, plan_command, images_command, inspect_command,
    tag_command, rmi_command, save_command, load_command, run_command, pull_command, push_command,
    login_command, logout_command, prune_command, system_command, diff_command, sign_command,
    verify_command, history_command, info_command, setup_command;

/* cli_help.c. The global usage: every command with its summary and every option (cmds ends with
 * NULL). */
void cli_print_usage_all(FILE *f, const struct cli_command *global,
                         const struct cli_command *const *cmds);
/* roff source of lade(1) when cmd is NULL, else of lade-CMD(1). */
void cli_print_man(FILE *f, const struct cli_command *global, const struct cli_command *const *cmds,
                   const struct cli_command *cmd);
/* The command names (cmd NULL), or cmd's options one a line as "--file\tFILE" (empty after the
 * tab for a flag): what the completion scripts read. */
void cli_print_words(FILE *f, const struct cli_command *const *cmds, const struct cli_command *cmd);
