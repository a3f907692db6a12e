/* SPDX-License-Identifier: Apache-2.0 */
/* lade prune: frees the store (docker builder prune's options); lade system df: what it holds. */
#include "cmd.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../cache.h"
#include "../progress.h"
#include "../../parser/parser.h"

/* "10GB", "512m", "1.5g", "1048576": binary units, as docker's --keep-storage. */
static int
parse_size(const char *s, int64_t *out, struct lade_error *err)
{
    char *end;
    double v = strtod(s, &end);
    double mul = 1;

    if (end == s || v < 0)
        goto bad;
    switch (tolower((unsigned char) *end)) {
    case 't':
        mul *= 1024; /* fall through */
    case 'g':
        mul *= 1024; /* fall through */
    case 'm':
        mul *= 1024; /* fall through */
    case 'k':
        mul *= 1024;
        end++;
        break;
    default:
        break;
    }
    if (strcasecmp(end, "ib") == 0 || strcasecmp(end, "b") == 0)
        end += strlen(end);
    if (*end != '\0' || v * mul > 9e18)
        goto bad;
    *out = (int64_t) (v * mul);
    return 0;
bad:
    return lade_error_set(err, LADE_ERR_USAGE, "--keep-storage: invalid size \"%s\"", s);
}

static int
parse_filter(const char *s, int64_t *until, struct lade_error *err)
{
    long long ns;

    if (strncmp(s, "until=", 6) != 0)
        return lade_error_set(err, LADE_ERR_USAGE,
                              "--filter: only until=DURATION is supported: \"%s\"", s);
    if (dockerfile_parse_duration(s + 6, &ns) < 0 || ns <= 0)
        return lade_error_set(err, LADE_ERR_USAGE,
                              "--filter until: a duration such as 24h or 90m, got \"%s\"", s + 6);
    *until = ns / 1000000000LL > 0 ? ns / 1000000000LL : 1;
    return 0;
}

static void
print_freed(const char *what, const struct store_usage *u)
{
    char size[32];

    if (u->count == 0)
        return;
    human_size(u->bytes, size, sizeof(size));
    printf("Deleted %s: %llu (%s)\n", what, (unsigned long long) u->count, size);
}

static const struct cli_opt prune_opts[] = {
    {'a', "all", 'a', NULL, "Remove all cache, not only what no image uses"},
    {'F', "filter", 0, "until=DURATION", "Only what was last used longer ago (24h, 30m, 7d)"},
    {'k', "keep-storage", 0, "SIZE", "Keep this much (10GB, 512MB), least recently used first out"},
    {'f', "force", 'f', NULL, "Do not ask (lade never asks; accepted as docker's)"},
    {0},
};

static int
cmd_prune(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct prune_opts o = {.keep_storage = -1};
    struct prune_report rep;
    struct store *st;
    char size[32];
    struct cli_args a;
    int c;

    cli_args_init(&a, &prune_command, argc, argv);
    while ((c = cli_next(&a, err)) > 0) {
        switch (c) {
        case 'a':
            o.all = true;
            break;
        case 'F':
            if (parse_filter(a.value, &o.until, err) < 0)
                return -1;
            break;
        case 'k':
            if (parse_size(a.value, &o.keep_storage, err) < 0)
                return -1;
            break;
        case 'f': /* docker asks for confirmation without it; lade never asks */
            break;
        default:
            return lade_error_set(err, LADE_ERR_USAGE, "unhandled option");
        }
    }
    if ((c = cli_end(&a, c, 0, 0, err)) != 0)
        return c > 0 ? 0 : -1;
    if ((st = cli_store(cli, err)) == NULL || cache_prune(st, &o, &rep, err) < 0)
        return -1;
    print_freed("build cache records", &rep.records_freed);
    print_freed("blobs", &rep.freed.blobs);
    print_freed("extracted layers", &rep.freed.layers);
    print_freed("cache mounts", &rep.freed.mounts);
    human_size(rep.records_freed.bytes + rep.freed.blobs.bytes + rep.freed.layers.bytes +
                   rep.freed.mounts.bytes,
               size, sizeof(size));
    printf("Total reclaimed space: %s\n", size);
    return 0;
}

static void
df_row(const char *type, const struct store_usage *total, const struct store_usage *freed)
{
    char size[32], reclaim[32];

    human_size(total->bytes, size, sizeof(size));
    human_size(freed->bytes, reclaim, sizeof(reclaim));
    printf("%-20s %-8llu %-10s %s\n", type, (unsigned long long) total->count, size, reclaim);
}

static int
cmd_system(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct prune_opts o = {.all = true, .keep_storage = -1, .dry = true};
    struct prune_report rep;
    struct store *st;
    struct cli_args a;
    int c;

    cli_args_init(&a, &system_command, argc, argv);
    if ((c = cli_end(&a, cli_next(&a, err), 1, -1, err)) != 0)
        return c > 0 ? 0 : -1;
    if (a.noperands >= 1 && strcmp(a.operands[0], "prune") == 0)
        return cmd_prune(cli, a.noperands, a.operands, err);
    if (a.noperands != 1 || strcmp(a.operands[0], "df") != 0)
        return lade_error_set(err, LADE_ERR_USAGE, "wants df or prune: lade %s %s",
                              system_command.name, system_command.synopsis);
    if ((st = cli_store(cli, err)) == NULL || cache_prune(st, &o, &rep, err) < 0)
        return -1;
    /* RECLAIMABLE: what lade prune --all would free */
    printf("%-20s %-8s %-10s %s\n", "TYPE", "TOTAL", "SIZE", "RECLAIMABLE");
    df_row("Blobs", &rep.total.blobs, &rep.freed.blobs);
    df_row("Extracted layers", &rep.total.layers, &rep.freed.layers);
    df_row("Build cache records", &rep.records_total, &rep.records_freed);
    df_row("Cache mounts", &rep.total.mounts, &rep.freed.mounts);
    return 0;
}

const struct cli_command prune_command = {
    .name = "prune",
    .synopsis = "[OPTIONS]",
    .summary = "Free build cache and unused blobs of the store",
    .description =
        "Without --all, what no image and no cache record uses; with --all, every cache\n"
        "record too. Images (and the blobs they use) are kept: remove them with rmi.",
    .opts = prune_opts,
    .run = cmd_prune,
};

const struct cli_command system_command = {
    .name = "system",
    .synopsis = "df | prune [OPTIONS]",
    .summary = "Show the space the store uses (df), or prune it",
    .options_before_operands = true,
    .run = cmd_system,
};
