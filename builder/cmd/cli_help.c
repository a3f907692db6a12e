/* SPDX-License-Identifier: Apache-2.0 */
/* Help, man pages and completion words, all rendered from the commands' option tables (cmd.h),
 * so `--help`, `man lade-build` and the shell completion cannot disagree with the parser. */
#include "cmd.h"

#include <stdio.h>
#include <string.h>

#define HELP_COLUMN 30 /* where the help text of an option starts in --help */
#define WRAP_WIDTH 96

/* "-f, --file FILE" or "    --no-cache" */
static int
option_label(const struct cli_opt *o, char *buf, size_t size)
{
    int n = 0;

    if (o->letter != 0 && o->name != NULL)
        n = snprintf(buf, size, "-%c, --%s", o->letter, o->name);
    else if (o->letter != 0)
        n = snprintf(buf, size, "-%c", o->letter);
    else
        n = snprintf(buf, size, "    --%s", o->name);
    if (o->value != NULL && n >= 0 && (size_t) n < size)
        n += snprintf(buf + n, size - (size_t) n, o->value[0] == '[' ? "%s" : " %s", o->value);
    return n;
}

/* one option of --help: the label, then its help in a column (on the next line when the label
 * is too long) */
static void
print_option(FILE *f, const struct cli_opt *o)
{
    char label[128];
    int n = option_label(o, label, sizeof(label));

    if (n + 4 < HELP_COLUMN)
        fprintf(f, "  %-*s%s\n", HELP_COLUMN - 2, label, o->help);
    else
        fprintf(f, "  %s\n%*s%s\n", label, HELP_COLUMN, "", o->help);
}

static void
print_foreign_names(FILE *f, const struct cli_command *cmd, bool ignored, const char *title)
{
    int col = 0;

    for (const struct cli_foreign *x = cmd->foreign; x != NULL && (x->name || x->letter); x++) {
        if (x->ignored != ignored)
            continue;
        if (col == 0)
            col = fprintf(f, "%s", title);
        if (col > WRAP_WIDTH - 20) {
            fputs("\n", f);
            col = fprintf(f, "   ");
        }
        col += x->name ? fprintf(f, " --%s", x->name) : fprintf(f, " -%c", x->letter);
    }
    if (col > 0)
        fputs("\n", f);
}

void
cli_print_help(FILE *f, const struct cli_command *cmd)
{
    static const struct cli_opt help = {'h', "help", 'h', NULL, "Print this help"};

    fprintf(f, "Usage:  lade %s %s\n\n%s\n", cmd->name, cmd->synopsis, cmd->summary);
    if (cmd->description != NULL)
        fprintf(f, "\n%s\n", cmd->description);
    fputs("\nOptions:\n", f);
    for (const struct cli_opt *o = cmd->opts;; o++) {
        if (o == NULL || o->id == 0)
            o = &help;
        print_option(f, o);
        if (o == &help)
            break;
    }
    if (cmd->foreign != NULL) {
        fputs("\n", f);
        print_foreign_names(f, cmd, true, "Docker options accepted and ignored:");
        print_foreign_names(f, cmd, false, "Docker options refused, with the reason:");
        fprintf(f, "(reasons: `man lade-%s` or the README)\n", cmd->name);
    }
}

/* The global usage: every command with its summary and every option it has. */
void
cli_print_usage_all(FILE *f, const struct cli_command *global,
                    const struct cli_command *const *cmds)
{
    fprintf(f, "Usage:  lade %s\n\n%s\n\nCommands:\n", global->synopsis, global->summary);
    for (size_t i = 0; cmds[i] != NULL; i++)
        fprintf(f, "  %-10s%s\n", cmds[i]->name, cmds[i]->summary);
    fputs("\nGlobal options (before the command):\n", f);
    for (const struct cli_opt *o = global->opts; o->id != 0; o++)
        print_option(f, o);
    fputs("\nOptions of each command (-h, --help on all; details: lade help COMMAND):\n", f);
    for (size_t i = 0; cmds[i] != NULL; i++) {
        int col = fprintf(f, "  %-10s", cmds[i]->name);
        for (const struct cli_opt *o = cmds[i]->opts; o != NULL && o->id != 0; o++) {
            char word[64];
            if (o->letter && o->name)
                snprintf(word, sizeof(word), " -%c|--%s", o->letter, o->name);
            else if (o->name)
                snprintf(word, sizeof(word), " --%s", o->name);
            else
                snprintf(word, sizeof(word), " -%c", o->letter);
            if (col + (int) strlen(word) > WRAP_WIDTH)
                col = fprintf(f, "\n  %-10s", "");
            col += fprintf(f, "%s", word);
        }
        fputs("\n", f);
    }
}

/* roff-escaped text: '\' and '-' escaped, a leading '.' or '\'' made literal */
static void
man_text(FILE *f, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if ((i == 0 || s[i - 1] == '\n') && (s[i] == '.' || s[i] == '\''))
            fputs("\\&", f);
        if (s[i] == '\\')
            fputs("\\e", f);
        else if (s[i] == '-')
            fputs("\\-", f);
        else
            fputc(s[i], f);
    }
}

/* Paragraphs split on blank lines; a paragraph whose lines are indented is shown as it is
 * (examples). */
static void
man_paragraphs(FILE *f, const char *s)
{
    while (s != NULL && *s != '\0') {
        const char *end = strstr(s, "\n\n");
        size_t len = end ? (size_t) (end - s) : strlen(s);
        bool literal = s[0] == ' ';
        fputs(literal ? ".PP\n.nf\n.RS 4\n" : ".PP\n", f);
        man_text(f, s, len);
        fputs(literal ? "\n.RE\n.fi\n" : "\n", f);
        s = end ? end + 2 : NULL;
    }
}

static void
man_options(FILE *f, const struct cli_opt *opts)
{
    for (const struct cli_opt *o = opts; o != NULL && o->id != 0; o++) {
        fputs(".TP\n", f);
        if (o->letter != 0)
            fprintf(f, "\\fB\\-%c\\fR%s", o->letter, o->name ? ", " : "");
        if (o->name != NULL) {
            fputs("\\fB\\-\\-", f);
            man_text(f, o->name, strlen(o->name));
            fputs("\\fR", f);
        }
        if (o->value != NULL) {
            fputs(" \\fI", f);
            man_text(f, o->value, strlen(o->value));
            fputs("\\fR", f);
        }
        fputs("\n", f);
        man_text(f, o->help, strlen(o->help));
        fputs("\n", f);
    }
}

static void
man_header(FILE *f, const char *page, const char *summary)
{
    fprintf(f, ".TH %s 1 \"\" \"lade\" \"lade manual\"\n.SH NAME\n", page);
    man_text(f, page, strlen(page));
    fputs(" \\- ", f);
    man_text(f, summary, strlen(summary));
    fputs("\n.SH SYNOPSIS\n", f);
}

/* man page lade(1) when cmd is NULL, else lade-CMD(1) */
void
cli_print_man(FILE *f, const struct cli_command *global, const struct cli_command *const *cmds,
              const struct cli_command *cmd)
{
    if (cmd == NULL) {
        man_header(f, "lade", global->summary);
        fputs("\\fBlade\\fR ", f);
        man_text(f, global->synopsis, strlen(global->synopsis));
        fputs("\n.SH DESCRIPTION\n", f);
        man_paragraphs(f, global->description);
        fputs(".SH COMMANDS\n", f);
        for (size_t i = 0; cmds[i] != NULL; i++) {
            fprintf(f, ".TP\n\\fBlade %s\\fR ", cmds[i]->name);
            man_text(f, cmds[i]->synopsis, strlen(cmds[i]->synopsis));
            fputs("\n", f);
            man_text(f, cmds[i]->summary, strlen(cmds[i]->summary));
            fprintf(f, "; see \\fBlade\\-%s\\fR(1).\n", cmds[i]->name);
        }
        fputs(".SH GLOBAL OPTIONS\n", f);
        man_options(f, global->opts);
        fputs(".SH SEE ALSO\n", f);
        for (size_t i = 0; cmds[i] != NULL; i++)
            fprintf(f, "\\fBlade\\-%s\\fR(1)%s\n", cmds[i]->name, cmds[i + 1] ? "," : "");
        return;
    }
    char page[64];
    snprintf(page, sizeof(page), "lade-%s", cmd->name);
    man_header(f, page, cmd->summary);
    fprintf(f, "\\fBlade %s\\fR ", cmd->name);
    man_text(f, cmd->synopsis, strlen(cmd->synopsis));
    fputs("\n.SH DESCRIPTION\n", f);
    man_paragraphs(f, cmd->description ? cmd->description : cmd->summary);
    fputs(".SH OPTIONS\n", f);
    man_options(f, cmd->opts);
    fputs(".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nPrint the usage and exit.\n", f);
    if (cmd->foreign != NULL) {
        fputs(".SH DOCKER OPTIONS NOT IMPLEMENTED\n", f);
        for (const struct cli_foreign *x = cmd->foreign; x->name || x->letter; x++) {
            if (x->name != NULL)
                fprintf(f, ".TP\n\\fB\\-\\-%s\\fR\n", x->name);
            else
                fprintf(f, ".TP\n\\fB\\-%c\\fR\n", x->letter);
            const char *why = x->reason ? x->reason : "accepted and ignored, as docker does";
            man_text(f, why, strlen(why));
            fputs("\n", f);
        }
    }
    fputs(".SH SEE ALSO\n\\fBlade\\fR(1)\n", f);
}

/* For the completion scripts: the commands (cmd NULL), or a command's options one a line,
 * "--file\tFILE" (a tab and the value's placeholder when it takes one). */
void
cli_print_words(FILE *f, const struct cli_command *const *cmds, const struct cli_command *cmd)
{
    if (cmd == NULL) {
        for (size_t i = 0; cmds[i] != NULL; i++)
            fprintf(f, "%s\n", cmds[i]->name);
        return;
    }
    for (const struct cli_opt *o = cmd->opts; o != NULL && o->id != 0; o++) {
        const char *v = o->value ? o->value : "";
        if (o->name != NULL)
            fprintf(f, "--%s\t%s\n", o->name, v);
        if (o->letter != 0)
            fprintf(f, "-%c\t%s\n", o->letter, v);
    }
    fputs("--help\t\n", f);
}
