/* SPDX-License-Identifier: Apache-2.0 */
/* lade login [-u USER] [--password-stdin] [SERVER] and lade logout [SERVER]: credentials shared
 * with docker through $DOCKER_CONFIG/config.json and its credential helpers. */
#include "cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fsutil.h"
#include "../common/xalloc.h"

#define LOGIN_USAGE "usage: lade login [-u USER] [-p PASSWORD | --password-stdin] [SERVER]"
#define LOGOUT_USAGE "usage: lade logout [SERVER]"

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

int
cmd_login(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    static const struct option opts[] = {
        {"username", required_argument, NULL, 'u'},
        {"password", required_argument, NULL, 'p'},
        {"password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN},
        {"help", no_argument, NULL, 'h'},
        CLI_REGISTRY_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    cleanup_free char *user = NULL;
    char *password = NULL;
    bool from_stdin = false;
    int c, rc = -1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+u:p:h", opts, NULL)) != -1) {
        switch (c) {
        case 'u':
            free(user);
            user = xstrdup(optarg);
            break;
        case 'p':
            wipe_free(password);
            password = xstrdup(optarg);
            /* hide it from ps as far as we can; docker warns the same way */
            explicit_bzero(optarg, strlen(optarg));
            fputs("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n",
                  stderr);
            break;
        case OPT_PASSWORD_STDIN:
            from_stdin = true;
            break;
        case 'h':
            printf("%s\n", LOGIN_USAGE);
            return 0;
        case CLI_OPT_INSECURE_REGISTRY:
        case CLI_OPT_RETRIES:
            if (cli_registry_option(cli, c, optarg, err) < 0)
                goto out;
            break;
        default:
            lade_error_set(err, LADE_ERR_USAGE, "%s", LOGIN_USAGE);
            goto out;
        }
    }
    if (argc - optind > 1 || (from_stdin && password != NULL)) {
        lade_error_set(err, LADE_ERR_USAGE, "%s", LOGIN_USAGE);
        goto out;
    }
    if (from_stdin && user == NULL) {
        lade_error_set(err, LADE_ERR_USAGE, "--password-stdin needs -u USER");
        goto out;
    }
    const char *server = optind < argc ? argv[optind] : "docker.io";
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

int
cmd_logout(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("%s\n", LOGOUT_USAGE);
        return 0;
    }
    if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
        return lade_error_set(err, LADE_ERR_USAGE, "%s", LOGOUT_USAGE);
    cleanup_free char *server = registry_server_name(argc == 2 ? argv[1] : "", err);
    if (server == NULL || registry_logout(server, &cli->reg, err) < 0)
        return -1;
    printf("Removing login credentials for %s\n", server);
    return 0;
}
