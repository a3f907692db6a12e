/* SPDX-License-Identifier: Apache-2.0 */
#include "cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/version.h"

#ifndef LADE_COMMIT /* the Makefile passes build/commit.h */
#define LADE_COMMIT "unknown"
#endif
#include "../common/xalloc.h"

static const char usage_text[] =
    "usage: lade [--root DIR] COMMAND [ARGS]\n"
    "\n"
    "  build [-f FILE] [-t NAME[:TAG]]... [--build-arg K[=V]]... [--target STAGE] [--no-cache]\n"
    "        [-o type=oci,dest=F | type=docker,dest=F | type=registry] [--iidfile F]\n"
    "        [--progress plain|tty] [--pull] [--push] [--platform OS/ARCH[/VARIANT]]\n"
    "        [--secret id=ID[,src=PATH|,env=VAR]]... [--ssh default|ID[=SOCKET|KEYFILE]]...\n"
    "        [--allow security.insecure] [--sign KEY] CONTEXT\n"
    "  plan [-f FILE] [--build-arg K=V]... [--target STAGE] CONTEXT\n"
    "  images | inspect NAME | tag SRC DST | rmi NAME...\n"
    "  save NAME -o FILE [--format oci|docker] | load -i FILE\n"
    "  run [--rm] NAME [CMD...]\n"
    "  pull [--platform OS/ARCH] [--verify-key PUB] NAME | push NAME\n"
    "  sign --key KEY NAME | sign --generate-key PREFIX | verify --key PUB NAME\n"
    "  login [-u USER] [--password-stdin] [SERVER] | logout [SERVER]\n"
    "  prune [--all] [--filter until=DURATION] [--keep-storage SIZE] | system df\n"
    "  diff [-q] IMAGE_A IMAGE_B  (names, IDs or archive paths; exit 1 when they differ)\n"
    "  version | help\n"
    "\n"
    "global: --root DIR (default /var/lib/lade as root, else $XDG_DATA_HOME/lade); env LADE_ROOT\n"
    "        --insecure-registry HOST[:PORT] (plain HTTP)  --retries N (registry requests, "
    "default 3)\n";

struct subcommand {
    const char *name;
    int (*fn)(struct cli *, int, char **, struct lade_error *);
};

static const struct subcommand subcommands[] = {
    {"build", cmd_build},     {"plan", cmd_plan},   {"images", cmd_images},
    {"inspect", cmd_inspect}, {"tag", cmd_tag},     {"rmi", cmd_rmi},
    {"save", cmd_save},       {"load", cmd_load},   {"run", cmd_run},
    {"pull", cmd_pull},       {"push", cmd_push},   {"login", cmd_login},
    {"logout", cmd_logout},   {"prune", cmd_prune}, {"system", cmd_system},
    {"diff", cmd_diff},       {"sign", cmd_sign},   {"verify", cmd_verify},
};

static char *
default_root(void)
{
    const char *env = getenv("LADE_ROOT");

    if (env != NULL && *env != '\0')
        return xstrdup(env);
    if (geteuid() == 0)
        return xstrdup("/var/lib/lade");
    if (getenv("XDG_DATA_HOME") != NULL)
        return xasprintf("%s/lade", getenv("XDG_DATA_HOME"));
    return xasprintf("%s/.local/share/lade", getenv("HOME") ? getenv("HOME") : "/tmp");
}

/* Parses the global options and runs the command; returns the exit status. Errors are printed
 * here, once. */
static int
dispatch(struct cli *cli, char **root, int argc, char **argv)
{
    struct lade_error err = {0};
    int i = 1, rc = -1;

    /* Global options come before the subcommand. */
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
            free(*root);
            *root = xstrdup(argv[i + 1]);
            i += 2;
        } else if (strncmp(argv[i], "--root=", 7) == 0) {
            free(*root);
            *root = xstrdup(argv[i] + 7);
            i++;
        } else if ((strcmp(argv[i], "--insecure-registry") == 0 ||
                    strcmp(argv[i], "--retries") == 0) &&
                   i + 1 < argc) {
            int opt = argv[i][2] == 'i' ? CLI_OPT_INSECURE_REGISTRY : CLI_OPT_RETRIES;
            if (cli_registry_option(cli, opt, argv[i + 1], &err) < 0)
                goto out;
            i += 2;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("lade version %s (commit %s)\n", LADE_VERSION, LADE_COMMIT);
            return 0;
        } else {
            fprintf(stderr, "lade: error: unknown global option '%s'\n%s", argv[i], usage_text);
            return LADE_ERR_USAGE;
        }
    }
    if (i >= argc) {
        fputs(usage_text, stderr);
        return LADE_ERR_USAGE;
    }
    const char *name = argv[i];
    if (strcmp(name, "help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(name, "version") == 0) {
        printf("lade version %s (commit %s)\n", LADE_VERSION, LADE_COMMIT);
        return 0;
    }
    cli->root = *root ? *root : (*root = default_root());
    for (size_t k = 0; k < sizeof(subcommands) / sizeof(subcommands[0]); k++) {
        if (strcmp(subcommands[k].name, name) == 0) {
            rc = subcommands[k].fn(cli, argc - i, argv + i, &err);
            goto out;
        }
    }
    lade_error_set(&err, LADE_ERR_USAGE, "unknown command '%s' (see 'lade help')", name);
out:
    if (rc == 0)
        return 0;
    if (rc > 0 && !lade_error_is_set(&err)) /* a status the command chose: lade diff's 1 */
        return rc;
    if (!lade_error_is_set(&err))
        lade_error_set(&err, LADE_ERR_OTHER, "failed");
    fflush(stdout);
    lade_error_print(stderr, &err);
    return err.code;
}

int
main(int argc, char **argv)
{
    struct cli cli = {.reg.retries = -1};
    char *root = NULL;

    /* The caller's umask must not reach a result (DESIGN.md: the same inputs give the same
     * image): modes lade creates without an explicit chmod (step and layer dirs, the store,
     * libarchive's files) get what BuildKit's daemon and runc give them, whoever runs lade. */
    umask(022);
    int status = dispatch(&cli, &root, argc, argv);
    cli_release(&cli);
    free(root);
    return status;
}
