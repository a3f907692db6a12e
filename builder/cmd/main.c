/* SPDX-License-Identifier: Apache-2.0 */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/version.h"
#include "../sandbox/rootless.h"

#ifndef LADE_COMMIT /* the Makefile passes build/commit.h */
#define LADE_COMMIT "unknown"
#endif
#include "../common/xalloc.h"

enum { OPT_ROOT = 256, OPT_VERSION };

static const struct cli_opt global_opts[] = {
    {OPT_ROOT, "root", 0, "DIR",
     "The store (default /var/lib/lade as root, else $XDG_DATA_HOME/lade; env LADE_ROOT)"},
    CLI_REGISTRY_OPTIONS,
    {OPT_VERSION, "version", 0, NULL, "Print the version and the commit, as `lade version`"},
    {'h', "help", 'h', NULL, "Print this usage, as `lade help`"},
    {0},
};

static const struct cli_command global_command = {
    .name = "",
    .synopsis = "[GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]",
    .summary = "a daemonless Dockerfile image builder",
    .description =
        "lade builds OCI images from a Dockerfile as docker BuildKit does, without a daemon: the\n"
        "same Dockerfile gives the same image, and with --source-date-epoch the same digest. It\n"
        "runs, tags, saves, loads, pushes and pulls images of its store (--root).\n"
        "\n"
        "Options of a command may come anywhere among its arguments (lade build ctx -t app:1);\n"
        "-- ends the options. Long options are matched exactly, never abbreviated.\n"
        "\n"
        "Exit status: 0 success; 1 build failed for another reason; 2 bad options or arguments;\n"
        "3 invalid Dockerfile or .dockerignore; 4 a RUN step failed; 5 registry or network\n"
        "failure; 6 authentication refused; 7 local I/O failure.\n"
        "\n"
        "Environment: LADE_ROOT (the store), SOURCE_DATE_EPOCH (as --source-date-epoch),\n"
        "DOCKER_CONFIG (registry credentials, as docker), NO_COLOR.",
    .opts = global_opts,
    .options_before_operands = true,
};

static int cmd_help(struct cli *cli, int argc, char **argv, struct lade_error *err);
static int cmd_version(struct cli *cli, int argc, char **argv, struct lade_error *err);

static const struct cli_opt help_opts[] = {
    {'m', "man", 0, NULL, "Print the man page source (roff) of lade or of COMMAND"},
    {'w', "words", 0, NULL, "Print the commands, or COMMAND's options: for shell completion"},
    {0},
};
static const struct cli_command help_command = {
    .name = "help",
    .synopsis = "[--man | --words] [COMMAND]",
    .summary = "Show the usage of lade or of a command",
    .opts = help_opts,
    .run = cmd_help,
};
static const struct cli_command version_command = {
    .name = "version",
    .synopsis = "",
    .summary = "Show the version of lade and the commit it was built from",
    .run = cmd_version,
};

static const struct cli_command *const commands[] = {
    &build_command,   &plan_command,  &images_command,  &inspect_command,
    &tag_command,     &rmi_command,   &save_command,    &load_command,
    &run_command,     &pull_command,  &push_command,    &login_command,
    &logout_command,  &prune_command, &system_command,  &diff_command,
    &history_command, &sign_command,  &verify_command,  &info_command,
    &setup_command,   &help_command,  &version_command, NULL,
};

static const struct cli_command *
find_command(const char *name)
{
    for (size_t k = 0; commands[k] != NULL; k++)
        if (strcmp(commands[k]->name, name) == 0)
            return commands[k];
    return NULL;
}

static int
cmd_help(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct cli_args a;
    bool man = false, words = false;
    int c;

    (void) cli;
    cli_args_init(&a, &help_command, argc, argv);
    while ((c = cli_next(&a, err)) > 0)
        *(c == 'm' ? &man : &words) = true;
    if ((c = cli_end(&a, c, 0, 1, err)) != 0)
        return c > 0 ? 0 : -1;
    const struct cli_command *cmd = NULL;
    if (a.noperands == 1 && (cmd = find_command(a.operands[0])) == NULL)
        return lade_error_set(err, LADE_ERR_USAGE, "unknown command '%s'", a.operands[0]);
    if (man)
        cli_print_man(stdout, &global_command, commands, cmd);
    else if (words)
        cli_print_words(stdout, commands, cmd);
    else if (cmd != NULL)
        cli_print_help(stdout, cmd);
    else
        cli_print_usage_all(stdout, &global_command, commands);
    return 0;
}

static int
cmd_version(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct cli_args a;
    int c;

    (void) cli;
    cli_args_init(&a, &version_command, argc, argv);
    if ((c = cli_end(&a, cli_next(&a, err), 0, 0, err)) != 0)
        return c > 0 ? 0 : -1;
    printf("lade version %s (commit %s)\n", LADE_VERSION, LADE_COMMIT);
    return 0;
}

static char *
default_root(void)
{
    const char *env = getenv("LADE_ROOT");

    if (env != NULL && *env != '\0')
        return xstrdup(env);
    if (geteuid() == 0)
        return xstrdup("/var/lib/lade");
    /* the XDG base directory spec: unset or empty means $HOME/.local/share */
    const char *data = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (data != NULL && *data != '\0')
        return xasprintf("%s/lade", data);
    return xasprintf("%s/.local/share/lade", home != NULL && *home != '\0' ? home : "/tmp");
}

/* A usage error of a command as docker prints it: the command, the cause, where to look. */
static void
print_usage_error(const struct cli_command *cmd, const struct lade_error *err)
{
    fprintf(stderr, "lade %s: %s\nSee 'lade %s --help'.\n", cmd->name, err->msg, cmd->name);
}

/* Parses the global options and runs the command; returns the exit status. Errors are printed
 * here, once. */
static int
dispatch(struct cli *cli, char **root, int argc, char **argv)
{
    struct lade_error err = {0};
    const struct cli_command *cmd = NULL;
    struct cli_args a;
    int c, rc = -1;

    /* Global options come before the command: its name is the first operand. */
    cli_args_init(&a, &global_command, argc, argv);
    while ((c = cli_next(&a, &err)) > 0) {
        if (c == OPT_ROOT) {
            free(*root);
            *root = xstrdup(a.value);
        } else if (c == OPT_VERSION) {
            return cmd_version(cli, 1, argv, &err);
        } else if (c == 'h') {
            cli_print_usage_all(stdout, &global_command, commands);
            return 0;
        } else if (cli_registry_option(cli, c, a.value, &err) < 0) {
            goto out;
        }
    }
    if (c < 0)
        goto out;
    if (a.noperands == 0) {
        cli_print_usage_all(stderr, &global_command, commands);
        return LADE_ERR_USAGE;
    }
    if ((cmd = find_command(a.operands[0])) == NULL) {
        lade_error_set(&err, LADE_ERR_USAGE, "unknown command '%s' (see 'lade help')",
                       a.operands[0]);
        goto out;
    }
    cli->root = *root ? *root : (*root = default_root());
    /* the store path is the caller's: chosen before becoming root in the namespace */
    if (geteuid() != 0 && rootless_command_needs_userns(cmd->name)) {
        int status, entered = rootless_enter(&status, &err);
        if (entered < 0)
            goto out;
        if (entered > 0)
            return status;
    }
    /* the command sees its name as argv[0], as a program does */
    rc = cmd->run(cli, a.noperands, a.operands, &err);
out:
    if (rc == 0)
        return 0;
    if (rc > 0 && !lade_error_is_set(&err)) /* a status the command chose: lade diff's 1 */
        return rc;
    if (!lade_error_is_set(&err))
        lade_error_set(&err, LADE_ERR_OTHER, "failed");
    fflush(stdout);
    if (cmd != NULL && err.code == LADE_ERR_USAGE && err.pos.line == 0)
        print_usage_error(cmd, &err);
    else
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
