/* SPDX-License-Identifier: Apache-2.0 */
/* lade login [-u USER] [--password-stdin] [SERVER] and lade logout [SERVER]: credentials shared
 * with docker through $DOCKER_CONFIG/config.json and its credential helpers. */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fsutil.h"
#include "../common/xalloc.h"

enum { OPT_PASSWORD_STDIN = 256 };

/* Reads one line from the terminal (echo off when hidden); caller frees and wipes. */
static char *
prompt_line(const char *prompt, bool hidden, struct lade_error *err)
{
    FILE *tty = fopen("/dev/tty", "r+");
    struct termios old, quiet;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    if (tty == NULL)
        return lade_error_set(err, LADE_ERR_USAGE,
                              "no terminal to ask on: give -u and --password-stdin"),
               NULL;
    fputs(prompt, tty);
    fflush(tty);
    bool restore = hidden && tcgetattr(fileno(tty), &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t) ECHO;
        tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
    }
    n = getline(&line, &cap, tty);
    if (restore) {
        tcsetattr(fileno(tty), TCSAFLUSH, &old);
        fputc('\n', tty);
    }
    fclose(tty);
    if (n < 0) {
        free(line);
        return lade_error_set(err, LADE_ERR_USAGE, "no input"), NULL;
    }
    line[strcspn(line, "\r\n")] = '\0';
    return line;
}

/* --password-stdin: all of stdin, without the trailing newline (as docker trims it). */
static char *
read_stdin_password(struct lade_error *err)
{
    char *s = NULL;
    size_t len;

    if (read_fd_all(STDIN_FILENO, "--password-stdin", 4096, &s, &len, err) < 0)
        return NULL;
    s[strcspn(s, "\r\n")] = '\0';
    return s;
}

static void
wipe_free(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

static const struct cli_opt login_opts[] = {
    {'u', "username", 'u', "USER", "User name (default: asked on the terminal)"},
    {'p', "password", 'p', "PASSWORD", "Password (insecure: others see it; use --password-stdin)"},
    {OPT_PASSWORD_STDIN, "password-stdin", 0, NULL, "Read the password from stdin"},
    CLI_REGISTRY_OPTIONS,
    {0},
};

static int
cmd_login(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    cleanup_free char *user = NULL;
    char *password = NULL;
    bool from_stdin = false;
    struct cli_args a;
    int c, rc = -1;

    cli_args_init(&a, &login_command, argc, argv);
    while ((c = cli_next(&a, err)) > 0) {
        switch (c) {
        case 'u':
            free(user);
            user = xstrdup(a.value);
            break;
        case 'p':
            wipe_free(password);
            password = xstrdup(a.value);
            /* hide it from ps as far as we can; docker warns the same way */
            explicit_bzero(a.value, strlen(a.value));
            fputs("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n",
                  stderr);
            break;
        case OPT_PASSWORD_STDIN:
            from_stdin = true;
            break;
        case CLI_OPT_INSECURE_REGISTRY:
        case CLI_OPT_RETRIES:
            if (cli_registry_option(cli, c, a.value, err) < 0)
                goto out;
            break;
        default:
            lade_error_set(err, LADE_ERR_USAGE, "unhandled option");
            goto out;
        }
    }
    if ((c = cli_end(&a, c, 0, 1, err)) != 0) {
        rc = c > 0 ? 0 : -1;
        goto out;
    }
    if (from_stdin && password != NULL) {
        lade_error_set(err, LADE_ERR_USAGE, "--password and --password-stdin are exclusive");
        goto out;
    }
    if (from_stdin && user == NULL) {
        lade_error_set(err, LADE_ERR_USAGE, "--password-stdin needs -u USER");
        goto out;
    }
    const char *server = a.noperands == 1 ? a.operands[0] : "docker.io";
    if (user == NULL && (user = prompt_line("Username: ", false, err)) == NULL)
        goto out;
    if (password == NULL)
        password = from_stdin ? read_stdin_password(err) : prompt_line("Password: ", true, err);
    if (password == NULL)
        goto out;
    if (*user == '\0' || *password == '\0') {
        lade_error_set(err, LADE_ERR_USAGE, "login: user name and password must not be empty");
        goto out;
    }
    if (registry_login(server, user, password, &cli->reg, err) < 0)
        goto out;
    puts("Login Succeeded");
    rc = 0;
out:
    wipe_free(password);
    return rc;
}

static int
cmd_logout(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct cli_args a;
    int c;

    cli_args_init(&a, &logout_command, argc, argv);
    if ((c = cli_end(&a, cli_next(&a, err), 0, 1, err)) != 0)
        return c > 0 ? 0 : -1;
    cleanup_free char *server = registry_server_name(a.noperands ? a.operands[0] : "", err);
    if (server == NULL || registry_logout(server, &cli->reg, err) < 0)
        return -1;
    printf("Removing login credentials for %s\n", server);
    return 0;
}

const struct cli_command login_command = {
    .name = "login",
    .synopsis = "[OPTIONS] [SERVER]",
    .summary = "Log in to a registry (default: docker.io)",
    .description =
        "The credentials go where docker keeps them: $DOCKER_CONFIG/config.json, or its\n"
        "credential helper (credsStore, credHelpers), so docker and lade share them.",
    .opts = login_opts,
    .run = cmd_login,
};

const struct cli_command logout_command = {
    .name = "logout",
    .synopsis = "[SERVER]",
    .summary = "Remove the credentials of a registry (default: docker.io)",
    .run = cmd_logout,
};
