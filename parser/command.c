/* SPDX-License-Identifier: Apache-2.0 */
/* Typed instructions: each instruction's words and flags expanded once, in BuildKit's order
 * (instructions/commands.go Expand), into the struct its step and its cache key both read. */
#include "parser-internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../builder/common/cleanup.h"
#include "../builder/common/strv.h"
#include "../builder/common/xalloc.h"

/* An optional flag value expanded; *out stays NULL when the flag is absent. */
static int
expand_flag(const struct instr *in, enum instr_flag_id id, const struct expander *x, char **out,
            struct lade_error *err)
{
    const char *v = instr_flag_get(in, id);

    *out = NULL;
    return v == NULL ? 0 : expand_word(x, v, out, err);
}

/* BFlags' bool: "--link" and "--link=true" are true (validation refused other spellings). */
static bool
flag_true(const struct instr *in, enum instr_flag_id id)
{
    const char *v = instr_flag_get(in, id);

    return v != NULL && (v[0] == '\0' || strcasecmp(v, "true") == 0);
}

static int
parse_mode(const char *s, unsigned *mode, struct lade_error *err)
{
    char *end;
    unsigned long m = strtoul(s, &end, 8);

    if (*s == '\0' || *end != '\0' || m > 07777)
        return lade_error_set(err, LADE_ERR_PARSE, "invalid --chmod \"%s\": octal mode expected",
                              s);
    *mode = (unsigned) m;
    return 0;
}

/* A heredoc source as BuildKit's parseSourcesAndDest and ExpandRaw make it: <<- strips
 * leading tabs, and the body is expanded unless the name was quoted. */
static int
copy_doc_expand(const struct heredoc *h, const struct expander *x, struct copy_doc *d,
                struct lade_error *err)
{
    cleanup_free char *chomped = h->chomp ? heredoc_chomp(h->content) : NULL;
    const char *body = chomped != NULL ? chomped : h->content ? h->content : "";

    d->name = xstrdup(h->name);
    if (!h->expand) {
        d->data = xstrdup(body);
        return 0;
    }
    return expand_raw(x, body, &d->data, err);
}

static int
copy_expand(const struct instr *in, const struct expander *x, struct copy_cmd *c,
            struct lade_error *err)
{
    const char *kw = in->kind == INSTR_ADD ? "ADD" : "COPY";
    const char *unpack = instr_flag_get(in, IFLAG_UNPACK);

    if (in->nargs < 2)
        return lade_error_set(err, LADE_ERR_PARSE, "%s requires at least two arguments", kw);
    c->srcs = xcalloc(in->nargs, sizeof(*c->srcs));
    for (size_t i = 0; i + 1 < in->nargs; i++) {
        /* A heredoc's name is not expanded; its body is (raw), after the words. */
        if (instr_heredoc_for_arg(in, in->args[i]) != NULL)
            continue;
        if (expand_word(x, in->args[i], &c->srcs[c->nsrcs], err) < 0)
            return -1;
        c->nsrcs++;
    }
    if (expand_word(x, in->args[in->nargs - 1], &c->dest, err) < 0 ||
        expand_flag(in, IFLAG_FROM, x, &c->from, err) < 0 ||
        expand_flag(in, IFLAG_CHOWN, x, &c->chown, err) < 0 ||
        expand_flag(in, IFLAG_CHMOD, x, &c->chmod, err) < 0 ||
        expand_flag(in, IFLAG_CHECKSUM, x, &c->checksum, err) < 0)
        return -1;
    if (c->chmod != NULL && parse_mode(c->chmod, &c->mode, err) < 0)
        return -1;
    for (size_t i = 0; i + 1 < in->nargs; i++) {
        const struct heredoc *h = instr_heredoc_for_arg(in, in->args[i]);
        if (h == NULL)
            continue;
        c->docs = array_grow(c->docs, c->ndocs, sizeof(*c->docs));
        memset(&c->docs[c->ndocs], 0, sizeof(*c->docs));
        if (copy_doc_expand(h, x, &c->docs[c->ndocs++], err) < 0)
            return -1;
    }
    c->link = flag_true(in, IFLAG_LINK);
    c->parents = flag_true(in, IFLAG_PARENTS);
    cleanup_free const char **ex = instr_flag_all(in, IFLAG_EXCLUDE);
    for (size_t i = 0; ex[i]; i++)
        c->excludes = strv_push(c->excludes, ex[i]);
    c->unpack = unpack == NULL ? -1 : flag_true(in, IFLAG_UNPACK);
    c->keep_git_dir =
        instr_flag_get(in, IFLAG_KEEP_GIT_DIR) == NULL ? -1 : flag_true(in, IFLAG_KEEP_GIT_DIR);
    return 0;
}

static int
run_expand(const struct instr *in, const struct expander *x, struct run_cmd *r,
           struct lade_error *err)
{
    cleanup_free const char **mounts = instr_flag_all(in, IFLAG_MOUNT);
    const char *net = instr_flag_get(in, IFLAG_NETWORK);
    const char *sec = instr_flag_get(in, IFLAG_SECURITY);
    size_t n = 0;

    while (mounts[n])
        n++;
    r->mounts = n ? xcalloc(n, sizeof(*r->mounts)) : NULL;
    for (; r->nmounts < n; r->nmounts++)
        if (run_mount_parse(mounts[r->nmounts], x, &r->mounts[r->nmounts], err) < 0) {
            r->nmounts++; /* released by command_release */
            return -1;
        }
    if (net == NULL)
        r->network = RUN_NET_UNSET;
    else if (strcmp(net, "default") == 0)
        r->network = RUN_NET_DEFAULT;
    else if (strcmp(net, "none") == 0)
        r->network = RUN_NET_NONE;
    else if (strcmp(net, "host") == 0)
        r->network = RUN_NET_HOST;
    else
        return lade_error_set(err, LADE_ERR_PARSE, "unsupported network mode \"%s\"", net);
    if (sec != NULL && strcmp(sec, "sandbox") != 0 && strcmp(sec, "insecure") != 0)
        return lade_error_set(err, LADE_ERR_PARSE, "unsupported security mode \"%s\"", sec);
    r->security = sec ? xstrdup(sec) : NULL;
    return 0;
}

/* Validation accepted these; an absent option is -1. */
static void
health_parse(const struct instr *in, struct health_cmd *h)
{
    static const enum instr_flag_id ids[] = {IFLAG_INTERVAL, IFLAG_TIMEOUT, IFLAG_START_PERIOD,
                                             IFLAG_START_INTERVAL};
    long long *out[] = {&h->interval, &h->timeout, &h->start_period, &h->start_interval};
    const char *r = instr_flag_get(in, IFLAG_RETRIES);

    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        const char *v = instr_flag_get(in, ids[i]);
        *out[i] = -1;
        if (v != NULL && v[0] != '\0' && dockerfile_parse_duration(v, out[i]) < 0)
            *out[i] = -1;
    }
    h->retries = r != NULL && r[0] != '\0' ? atoi(r) : -1;
}

int
command_expand(const struct instr *in, const struct expander *x, struct command *cmd,
               struct lade_error *err)
{
    memset(cmd, 0, sizeof(*cmd));
    cmd->in = in;
    switch (in->kind) {
    case INSTR_COPY:
    case INSTR_ADD:
        return copy_expand(in, x, &cmd->u.copy, err);
    case INSTR_RUN:
        return run_expand(in, x, &cmd->u.run, err);
    case INSTR_WORKDIR:
        if (in->nargs < 1)
            return lade_error_set(err, LADE_ERR_PARSE, "WORKDIR requires exactly one argument");
        return expand_word(x, in->args[0], &cmd->u.path, err);
    case INSTR_HEALTHCHECK:
        health_parse(in, &cmd->u.health);
        return 0;
    default:
        break; /* no flags: their steps expand their words (instr_config.c) */
    }
    return 0;
}

void
command_release(struct command *cmd)
{
    if (cmd->in == NULL)
        return;
    switch (cmd->in->kind) {
    case INSTR_COPY:
    case INSTR_ADD:
        strv_free(cmd->u.copy.srcs); /* NULL-terminated: calloc'd one longer */
        free(cmd->u.copy.dest);
        free(cmd->u.copy.from);
        free(cmd->u.copy.chown);
        free(cmd->u.copy.chmod);
        strv_free(cmd->u.copy.excludes);
        for (size_t i = 0; i < cmd->u.copy.ndocs; i++) {
            free(cmd->u.copy.docs[i].name);
            free(cmd->u.copy.docs[i].data);
        }
        free(cmd->u.copy.docs);
        free(cmd->u.copy.checksum);
        break;
    case INSTR_RUN:
        for (size_t i = 0; i < cmd->u.run.nmounts; i++)
            run_mount_release(&cmd->u.run.mounts[i]);
        free(cmd->u.run.mounts);
        free(cmd->u.run.security);
        break;
    case INSTR_WORKDIR:
        free(cmd->u.path);
        break;
    default:
        break;
    }
    memset(cmd, 0, sizeof(*cmd));
}
