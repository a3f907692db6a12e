/* SPDX-License-Identifier: Apache-2.0 */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strv.h"
#include "../common/xalloc.h"
#include "../../layers/layers.h"

struct store *
cli_store(struct cli *cli, struct lade_error *err)
{
    if (cli->store == NULL && store_open(cli->root, &cli->store, err) < 0)
        return NULL;
    return cli->store;
}

char *
cli_normalise_name(const char *name, struct lade_error *err)
{
    struct image_ref ref;

    if (strncmp(name, "sha256:", 7) == 0)
        return xstrdup(name);
    if (image_ref_parse(name, &ref, err) < 0)
        return NULL;
    char *s = image_ref_string(&ref);
    image_ref_release(&ref);
    return s;
}

int
cli_registry_option(struct cli *cli, int opt, const char *arg, struct lade_error *err)
{
    char *end;

    switch (opt) {
    case CLI_OPT_INSECURE_REGISTRY:
        if (*arg == '\0' || strchr(arg, '/') != NULL)
            return lade_error_set(err, LADE_ERR_USAGE,
                                  "--insecure-registry wants HOST or HOST:PORT, not \"%s\"", arg);
        cli->insecure = strv_push(cli->insecure, arg);
        cli->reg.insecure = (const char *const *) cli->insecure;
        cli->reg.ninsecure = strv_len(cli->insecure);
        return 0;
    case CLI_OPT_RETRIES: {
        long v = strtol(arg, &end, 10);
        if (*arg == '\0' || *end != '\0' || v < 0 || v > 100)
            return lade_error_set(err, LADE_ERR_USAGE, "--retries wants 0 to 100, not \"%s\"", arg);
        cli->reg.retries = (int) v;
        return 0;
    }
    default:
        return lade_error_set(err, LADE_ERR_USAGE, "invalid registry option");
    }
}

void
cli_release(struct cli *cli)
{
    if (cli->store != NULL)
        store_free(cli->store);
    cli->store = NULL;
    strv_free(cli->insecure);
    cli->insecure = NULL;
}

int
cli_transfer_args(struct cli *cli, const struct cli_command *cmd, int argc, char **argv,
                  struct image_ref *ref, struct lade_error *err)
{
    struct cli_args a;
    int c;

    cli_args_init(&a, cmd, argc, argv);
    while ((c = cli_next(&a, err)) > 0) {
        if (c == CLI_OPT_PLATFORM)
            cli->reg.platform = a.value;
        else if (c == CLI_OPT_VERIFY_KEY) /* in pull's table only */
            cli->verify_key = a.value;
        else if (cli_registry_option(cli, c, a.value, err) < 0)
            return -1;
    }
    if ((c = cli_end(&a, c, 1, 1, err)) != 0)
        return c;
    if (image_ref_parse(a.operands[0], ref, err) < 0)
        return lade_error_recode(err, LADE_ERR_USAGE);
    return 0;
}

char *
cli_familiar_name(const char *full)
{
    struct lade_error ignored = {0};
    struct image_ref ref = {0};

    if (image_ref_parse(full, &ref, &ignored) < 0)
        return xstrdup(full);
    char *s = image_ref_familiar(&ref);
    image_ref_release(&ref);
    return s;
}

/* ---- the option layer ---- */

void
cli_args_init(struct cli_args *a, const struct cli_command *cmd, int argc, char **argv)
{
    *a = (struct cli_args){.cmd = cmd, .argc = argc, .argv = argv, .next = 1};
}

static const struct cli_opt *
find_long(const struct cli_command *cmd, const char *name, size_t len)
{
    for (const struct cli_opt *o = cmd->opts; o != NULL && o->id != 0; o++)
        if (o->name != NULL && strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

static const struct cli_opt *
find_short(const struct cli_command *cmd, char letter)
{
    for (const struct cli_opt *o = cmd->opts; o != NULL && o->id != 0; o++)
        if (o->letter == letter)
            return o;
    return NULL;
}

static const struct cli_foreign *
find_foreign(const struct cli_command *cmd, const char *name, size_t len, char letter)
{
    for (const struct cli_foreign *f = cmd->foreign; f != NULL && (f->name || f->letter); f++) {
        if (letter != 0
                ? f->letter == letter
                : f->name != NULL && strlen(f->name) == len && strncmp(f->name, name, len) == 0)
            return f;
    }
    return NULL;
}

static int
usage_error(struct lade_error *err, const char *fmt, const char *what, size_t len)
{
    return lade_error_set(err, LADE_ERR_USAGE, fmt, (int) len, what);
}

/* A docker option lade knows but does not implement: refused with its reason, or skipped (with
 * its value) where docker ignores it too. inline_value: the value after '=' (or the rest of a
 * short bundle), else NULL. 0 when skipped. */
static int
foreign_option(struct cli_args *a, const struct cli_foreign *f, const char *inline_value,
               struct lade_error *err)
{
    char shown[64];

    if (f->name != NULL)
        snprintf(shown, sizeof(shown), "--%s", f->name);
    else
        snprintf(shown, sizeof(shown), "-%c", f->letter);
    if (!f->ignored &&
        (f->harmless == NULL || inline_value == NULL || strcmp(inline_value, f->harmless) != 0))
        return lade_error_set(err, LADE_ERR_USAGE, "%s is not supported (%s)", shown, f->reason);
    if (f->value && inline_value == NULL) {
        if (a->next >= a->argc)
            return lade_error_set(err, LADE_ERR_USAGE, "option %s needs a value", shown);
        a->next++;
    }
    if (f->ignored && f->reason != NULL)
        fprintf(stderr, "lade %s: warning: %s is ignored (%s)\n", a->cmd->name, shown, f->reason);
    return 0;
}

/* `--flag=true` is the flag, `--flag=false` its absence (pflag's boolean syntax). */
static int
flag_value(const struct cli_opt *o, const char *v, struct lade_error *err)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
        return 1;
    if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        return 0;
    return lade_error_set(err, LADE_ERR_USAGE, "option --%s takes no value (or true|false): \"%s\"",
                          o->name, v);
}

static int
long_option(struct cli_args *a, const char *word, struct lade_error *err)
{
    const char *name = word + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t) (eq - name) : strlen(name);
    const struct cli_opt *o = find_long(a->cmd, name, len);

    if (o == NULL) {
        const struct cli_foreign *f = find_foreign(a->cmd, name, len, 0);
        if (f == NULL && len == 4 && strncmp(name, "help", 4) == 0)
            return CLI_HELP;
        if (f == NULL)
            return usage_error(err, "unknown option --%.*s", name, len);
        return foreign_option(a, f, eq ? eq + 1 : NULL, err);
    }
    if (o->value == NULL) {
        int on = eq ? flag_value(o, eq + 1, err) : 1;
        return on <= 0 ? on : o->id;
    }
    if (o->value[0] == '[') { /* an optional value, only as --name=VALUE (pflag's NoOptDefVal) */
        a->value = eq ? (char *) eq + 1 : NULL;
        return o->id;
    }
    if (eq != NULL)
        a->value = (char *) eq + 1;
    else if (a->next < a->argc)
        a->value = a->argv[a->next++];
    else
        return lade_error_set(err, LADE_ERR_USAGE, "option --%s needs a value", o->name);
    return o->id;
}

/* The next letter of a bundle: "-qt NAME", "-tNAME", "-t=NAME" (pflag strips the '='). */
static int
short_option(struct cli_args *a, struct lade_error *err)
{
    char letter = *a->cluster++;
    const struct cli_opt *o = find_short(a->cmd, letter);

    if (o == NULL) {
        const struct cli_foreign *f = find_foreign(a->cmd, NULL, 0, letter);
        if (f == NULL && letter == 'h')
            return CLI_HELP;
        if (f == NULL)
            return usage_error(err, "unknown shorthand option -%.*s", &letter, 1);
        const char *rest = f->value && *a->cluster != '\0' ? a->cluster : NULL;
        if (rest != NULL)
            a->cluster = NULL;
        return foreign_option(a, f, rest, err);
    }
    if (o->value == NULL)
        return o->id;
    if (*a->cluster != '\0')
        a->value = (char *) a->cluster + (*a->cluster == '=');
    else if (a->next < a->argc)
        a->value = a->argv[a->next++];
    else
        return lade_error_set(err, LADE_ERR_USAGE, "option -%c needs a value", letter);
    a->cluster = NULL;
    return o->id;
}

int
cli_next(struct cli_args *a, struct lade_error *err)
{
    int c;

    a->value = NULL;
    for (;;) {
        if (a->cluster != NULL && *a->cluster != '\0')
            c = short_option(a, err);
        else if (a->next >= a->argc) {
            a->operands = a->argv + 1;
            return CLI_END;
        } else {
            char *word = a->argv[a->next++];
            a->cluster = NULL;
            if (a->only_operands || word[0] != '-' || word[1] == '\0') {
                /* operands move to the front of argv, over words already read */
                a->argv[1 + a->noperands++] = word;
                a->only_operands = a->only_operands || a->cmd->options_before_operands;
                continue;
            }
            if (strcmp(word, "--") == 0) {
                a->only_operands = true;
                continue;
            }
            if (word[1] == '-') {
                c = long_option(a, word, err);
            } else {
                a->cluster = word + 1;
                continue;
            }
        }
        if (c == 0)
            continue; /* an ignored option, or a flag set to false */
        if (c == CLI_HELP)
            cli_print_help(stdout, a->cmd);
        return c;
    }
}

int
cli_operands(const struct cli_args *a, int min, int max, struct lade_error *err)
{
    if (a->noperands >= min && (max < 0 || a->noperands <= max))
        return 0;
    if (min == max)
        return lade_error_set(err, LADE_ERR_USAGE, "wants %d argument%s: lade %s %s", min,
                              min == 1 ? "" : "s", a->cmd->name, a->cmd->synopsis);
    return lade_error_set(err, LADE_ERR_USAGE, "wrong number of arguments: lade %s %s",
                          a->cmd->name, a->cmd->synopsis);
}

int
cli_end(const struct cli_args *a, int c, int min, int max, struct lade_error *err)
{
    if (c == CLI_HELP)
        return 1;
    if (c != CLI_END)
        return -1;
    return cli_operands(a, min, max, err);
}
