/* SPDX-License-Identifier: Apache-2.0 */
/* The checks BuildKit's instructions package runs on each parsed node (instructions/parse.go
 * and bflag.go): argument counts, flags per instruction, HEALTHCHECK options, ONBUILD
 * triggers, and that only ARG may come before the first FROM. Messages follow BuildKit's. */
#include "parser-internal.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../builder/common/cleanup.h"
#include "../builder/common/xalloc.h"

enum flag_type { FLAG_BOOL, FLAG_STRING, FLAG_STRINGS };

static const char *const flag_names[IFLAG_COUNT] = {
    [IFLAG_PLATFORM] = "platform",
    [IFLAG_MOUNT] = "mount",
    [IFLAG_NETWORK] = "network",
    [IFLAG_SECURITY] = "security",
    [IFLAG_CHOWN] = "chown",
    [IFLAG_FROM] = "from",
    [IFLAG_CHMOD] = "chmod",
    [IFLAG_LINK] = "link",
    [IFLAG_EXCLUDE] = "exclude",
    [IFLAG_PARENTS] = "parents",
    [IFLAG_KEEP_GIT_DIR] = "keep-git-dir",
    [IFLAG_CHECKSUM] = "checksum",
    [IFLAG_UNPACK] = "unpack",
    [IFLAG_INTERVAL] = "interval",
    [IFLAG_TIMEOUT] = "timeout",
    [IFLAG_START_PERIOD] = "start-period",
    [IFLAG_START_INTERVAL] = "start-interval",
    [IFLAG_RETRIES] = "retries",
};

/* A spec list ends with IFLAG_COUNT. */
struct flag_spec {
    enum instr_flag_id id;
    enum flag_type type;
};

static const struct flag_spec no_flags[] = {{IFLAG_COUNT, FLAG_BOOL}};
static const struct flag_spec from_flags[] = {{IFLAG_PLATFORM, FLAG_STRING},
                                              {IFLAG_COUNT, FLAG_BOOL}};
static const struct flag_spec run_flags[] = {
    {IFLAG_MOUNT, FLAG_STRINGS},
    {IFLAG_NETWORK, FLAG_STRING},
    {IFLAG_SECURITY, FLAG_STRING},
    {IFLAG_COUNT, FLAG_BOOL},
};
static const struct flag_spec copy_flags[] = {
    {IFLAG_CHOWN, FLAG_STRING}, {IFLAG_FROM, FLAG_STRING},     {IFLAG_CHMOD, FLAG_STRING},
    {IFLAG_LINK, FLAG_BOOL},    {IFLAG_EXCLUDE, FLAG_STRINGS}, {IFLAG_PARENTS, FLAG_BOOL},
    {IFLAG_COUNT, FLAG_BOOL},
};
static const struct flag_spec add_flags[] = {
    {IFLAG_EXCLUDE, FLAG_STRINGS}, {IFLAG_CHOWN, FLAG_STRING},      {IFLAG_CHMOD, FLAG_STRING},
    {IFLAG_LINK, FLAG_BOOL},       {IFLAG_KEEP_GIT_DIR, FLAG_BOOL}, {IFLAG_CHECKSUM, FLAG_STRING},
    {IFLAG_UNPACK, FLAG_BOOL},     {IFLAG_COUNT, FLAG_BOOL},
};
static const struct flag_spec health_flags[] = {
    {IFLAG_INTERVAL, FLAG_STRING},     {IFLAG_TIMEOUT, FLAG_STRING},
    {IFLAG_START_PERIOD, FLAG_STRING}, {IFLAG_START_INTERVAL, FLAG_STRING},
    {IFLAG_RETRIES, FLAG_STRING},      {IFLAG_COUNT, FLAG_BOOL},
};

const char *
instr_flag_name(enum instr_flag_id id)
{
    return id < IFLAG_COUNT ? flag_names[id] : "";
}

/* The value part of "--name=value" ("" for "--name"), or NULL when arg is another flag. */
static const char *
flag_value(const char *arg, const char *name)
{
    size_t n = strlen(name);

    if (strncmp(arg, "--", 2) != 0 || strncmp(arg + 2, name, n) != 0)
        return NULL;
    if (arg[2 + n] == '=')
        return arg + 3 + n;
    return arg[2 + n] == '\0' ? "" : NULL;
}

const char *
instr_flag_get(const struct instr *in, enum instr_flag_id id)
{
    const char *found = NULL, *v;

    for (size_t i = 0; i < in->nflags; i++)
        if ((v = flag_value(in->flags[i], flag_names[id])) != NULL)
            found = v;
    return found;
}

const char **
instr_flag_all(const struct instr *in, enum instr_flag_id id)
{
    const char **all = xcalloc(in->nflags + 1, sizeof(*all)), *v;
    size_t n = 0;

    for (size_t i = 0; i < in->nflags; i++)
        if ((v = flag_value(in->flags[i], flag_names[id])) != NULL)
            all[n++] = v;
    return all;
}

struct check {
    const struct dockerfile *df;
    const struct instr *in;
    struct lade_error *err;
};

static int fail(const struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(const struct check *c, const char *fmt, ...)
{
    char msg[800];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return parse_error_at(c->err, c->df->filename, c->df->lines, c->df->nlines, c->in->pos.line,
                          c->in->pos.col, "%s", msg);
}

/* BFlags.Parse over the instruction's flags. */
static int
parse_flags(const struct check *c, const struct flag_spec *spec)
{
    const struct instr *in = c->in;
    bool used[16] = {false};

    for (size_t i = 0; i < in->nflags; i++) {
        const char *arg = in->flags[i];
        if (strncmp(arg, "--", 2) != 0)
            return fail(c, "arg should start with -- : %s", arg);
        if (strcmp(arg, "--") == 0)
            return 0;
        arg += 2;
        const char *eq = strchr(arg, '=');
        size_t nlen = eq ? (size_t) (eq - arg) : strlen(arg);
        const char *value = eq ? eq + 1 : "";
        size_t k;
        for (k = 0; spec[k].id != IFLAG_COUNT; k++)
            if (strlen(flag_names[spec[k].id]) == nlen &&
                strncmp(flag_names[spec[k].id], arg, nlen) == 0)
                break;
        if (spec[k].id == IFLAG_COUNT)
            return fail(c, "unknown flag: --%.*s", (int) nlen, arg);
        if (used[k] && spec[k].type != FLAG_STRINGS)
            return fail(c, "duplicate flag specified: --%s", flag_names[spec[k].id]);
        used[k] = true;
        switch (spec[k].type) {
        case FLAG_BOOL:
            if (eq && value[0] == '\0')
                return fail(c, "missing a value on flag: --%s", flag_names[spec[k].id]);
            if (value[0] != '\0' && strcasecmp(value, "true") != 0 &&
                strcasecmp(value, "false") != 0)
                return fail(c, "expecting boolean value for flag --%s, not: %s",
                            flag_names[spec[k].id], value);
            break;
        case FLAG_STRING:
        case FLAG_STRINGS:
            if (eq == NULL)
                return fail(c, "missing a value on flag: --%s", flag_names[spec[k].id]);
            break;
        }
    }
    return 0;
}

static const char *
upper_name(const struct instr *in)
{
    static const char *const names[] = {
        [INSTR_FROM] = "FROM",
        [INSTR_RUN] = "RUN",
        [INSTR_CMD] = "CMD",
        [INSTR_ENTRYPOINT] = "ENTRYPOINT",
        [INSTR_COPY] = "COPY",
        [INSTR_ADD] = "ADD",
        [INSTR_ENV] = "ENV",
        [INSTR_ARG] = "ARG",
        [INSTR_LABEL] = "LABEL",
        [INSTR_EXPOSE] = "EXPOSE",
        [INSTR_WORKDIR] = "WORKDIR",
        [INSTR_USER] = "USER",
        [INSTR_VOLUME] = "VOLUME",
        [INSTR_SHELL] = "SHELL",
        [INSTR_STOPSIGNAL] = "STOPSIGNAL",
        [INSTR_HEALTHCHECK] = "HEALTHCHECK",
        [INSTR_ONBUILD] = "ONBUILD",
        [INSTR_MAINTAINER] = "MAINTAINER",
        [INSTR_UNKNOWN] = "",
    };
    return names[in->kind];
}

static int
key_values(const struct check *c)
{
    const struct instr *in = c->in;

    if (parse_flags(c, no_flags) < 0)
        return -1;
    if (in->nargs == 0)
        return fail(c, "%s requires at least one argument", upper_name(in));
    for (size_t i = 0; i < in->nargs; i += 3)
        if (in->args[i][0] == '\0')
            return fail(c, "%s names can not be blank", upper_name(in));
    return 0;
}

static int
copy_like(const struct check *c, const struct flag_spec *spec)
{
    const struct instr *in = c->in;

    if (in->nargs < 2)
        return fail(c,
                    "%s requires at least two arguments, but only one was provided. "
                    "Destination could not be determined",
                    upper_name(in));
    if (parse_flags(c, spec) < 0)
        return -1;
    struct heredoc h;
    struct lade_error ignored = {0};
    if (heredoc_parse_word(in->args[in->nargs - 1], &h, &ignored) == 1) {
        heredoc_release(&h);
        return fail(c, "%s cannot accept a heredoc as a destination", upper_name(in));
    }
    return 0;
}

static bool
valid_stage_name(const char *s)
{
    if (!(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr("-_.", *s)))
            return false;
    return true;
}

static int
from(const struct check *c)
{
    const struct instr *in = c->in;

    if (in->nargs == 3 && strcasecmp(in->args[1], "as") == 0) {
        cleanup_free char *lower = dup_lower(in->args[2]);
        if (!valid_stage_name(lower)) {
            struct lade_buf q = LADE_BUF_INIT;
            go_quote(&q, in->args[2], strlen(in->args[2]));
            fail(c,
                 "invalid name for build stage: %s, name can't start with a number or "
                 "contain symbols",
                 q.data);
            lade_buf_release(&q);
            return -1;
        }
    } else if (in->nargs != 1) {
        return fail(c, "FROM requires either one or three arguments");
    }
    return parse_flags(c, from_flags);
}

int
dockerfile_parse_duration(const char *s, long long *ns)
{
    static const struct {
        const char *unit;
        long long mult;
    } units[] = {
        {"ns", 1},       {"us", 1000},        {"\xC2\xB5s", 1000},  {"\xCE\xBCs", 1000},
        {"ms", 1000000}, {"s", 1000000000LL}, {"m", 60000000000LL}, {"h", 3600000000000LL}};
    bool neg = false;
    long double total = 0;

    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (strcmp(s, "0") == 0) {
        *ns = 0;
        return 0;
    }
    if (*s == '\0')
        return -1;
    while (*s) {
        long double v = 0, frac = 0, scale = 1;
        bool digits = false;
        for (; *s >= '0' && *s <= '9'; s++, digits = true)
            v = v * 10 + (*s - '0');
        if (*s == '.') {
            for (s++; *s >= '0' && *s <= '9'; s++, digits = true) {
                frac = frac * 10 + (*s - '0');
                scale *= 10;
            }
        }
        if (!digits)
            return -1;
        size_t ul = 0;
        while (s[ul] && s[ul] != '.' && !(s[ul] >= '0' && s[ul] <= '9'))
            ul++;
        size_t k, nunits = sizeof(units) / sizeof(units[0]);
        for (k = 0; k < nunits; k++)
            if (strlen(units[k].unit) == ul && strncmp(units[k].unit, s, ul) == 0)
                break;
        if (ul == 0 || k == nunits)
            return -1;
        total += (v + frac / scale) * (long double) units[k].mult;
        s += ul;
        if (total > (long double) LLONG_MAX)
            return -1;
    }
    *ns = (long long) (neg ? -total : total);
    return 0;
}

static int
health_options(const struct check *c)
{
    static const enum instr_flag_id intervals[] = {IFLAG_INTERVAL, IFLAG_TIMEOUT,
                                                   IFLAG_START_PERIOD, IFLAG_START_INTERVAL};

    for (size_t i = 0; i < sizeof(intervals) / sizeof(intervals[0]); i++) {
        const char *v = instr_flag_get(c->in, intervals[i]);
        long long ns;
        if (v == NULL || v[0] == '\0')
            continue;
        if (dockerfile_parse_duration(v, &ns) < 0)
            return fail(c, "time: invalid duration \"%s\"", v);
        if (ns != 0 && ns < 1000000)
            return fail(c, "Interval \"%s\" cannot be less than 1ms", flag_names[intervals[i]]);
    }
    const char *r = instr_flag_get(c->in, IFLAG_RETRIES);
    if (r != NULL && r[0] != '\0') {
        const char *digits = r + (r[0] == '+' || r[0] == '-');
        char *end;
        errno = 0;
        long long v = strtoll(r, &end, 10);
        if (!(digits[0] >= '0' && digits[0] <= '9') || *end != '\0')
            return fail(c, "strconv.ParseInt: parsing \"%s\": invalid syntax", r);
        if (errno == ERANGE || v > INT_MAX || v < INT_MIN)
            return fail(c, "strconv.ParseInt: parsing \"%s\": value out of range", r);
        if (v < 0)
            return fail(c, "--retries cannot be negative (%lld)", v);
    }
    return 0;
}

static int
healthcheck(const struct check *c)
{
    const struct instr *in = c->in;

    if (in->nargs == 0)
        return fail(c, "HEALTHCHECK requires at least one argument");
    cleanup_free char *type = xstrdup(in->args[0]);
    for (char *p = type; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char) (*p - 32);
    if (strcmp(type, "NONE") == 0) {
        if (in->nargs != 1)
            return fail(c, "HEALTHCHECK NONE takes no arguments");
        return 0;
    }
    if (parse_flags(c, health_flags) < 0)
        return -1;
    if (strcmp(type, "CMD") != 0) {
        struct lade_buf q = LADE_BUF_INIT;
        go_quote(&q, type, strlen(type));
        fail(c, "Unknown type %s in HEALTHCHECK (try CMD)", q.data);
        lade_buf_release(&q);
        return -1;
    }
    if (in->nargs == 1)
        return fail(c, "Missing command after HEALTHCHECK CMD");
    return health_options(c);
}

static int
onbuild(const struct check *c)
{
    const struct instr *in = c->in;

    if (in->sub == NULL)
        return fail(c, "ONBUILD requires at least one argument");
    if (parse_flags(c, no_flags) < 0)
        return -1;
    if (in->sub->kind == INSTR_ONBUILD)
        return fail(c, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if (in->sub->kind == INSTR_MAINTAINER || in->sub->kind == INSTR_FROM)
        return fail(c, "%s isn't allowed as an ONBUILD trigger", upper_name(in->sub));
    return 0;
}

static int
exactly_one(const struct check *c, bool flags)
{
    if (c->in->nargs != 1)
        return fail(c, "%s requires exactly one argument", upper_name(c->in));
    return flags ? parse_flags(c, no_flags) : 0;
}

/* BuildKit parses each --mount at parse time too, before any expansion (runMountPostHook). */
static int
run_check(const struct check *c)
{
    cleanup_free const char **mounts = NULL;
    struct lade_error merr = {0};

    if (parse_flags(c, run_flags) < 0)
        return -1;
    mounts = instr_flag_all(c->in, IFLAG_MOUNT);
    for (size_t i = 0; mounts[i]; i++) {
        struct run_mount m;
        int rc = run_mount_parse(mounts[i], NULL, &m, &merr);
        run_mount_release(&m);
        if (rc < 0)
            return fail(c, "%s", merr.msg);
    }
    return 0;
}

static int
check_instr(const struct check *c)
{
    const struct instr *in = c->in;

    switch (in->kind) {
    case INSTR_UNKNOWN: {
        /* the keyword as written, which in->keyword (lower-cased) no longer is */
        const char *kw = in->original + span_leading_space(in->original, strlen(in->original));
        return fail(c, "unknown instruction \"%.*s\"", (int) strcspn(kw, " \t\v\f\r"), kw);
    }
    case INSTR_ENV:
    case INSTR_LABEL:
        return key_values(c);
    case INSTR_MAINTAINER:
    case INSTR_WORKDIR:
    case INSTR_USER:
        return exactly_one(c, true);
    case INSTR_STOPSIGNAL:
        return exactly_one(c, false); /* BuildKit never parses STOPSIGNAL's flags */
    case INSTR_ADD:
        return copy_like(c, add_flags);
    case INSTR_COPY:
        return copy_like(c, copy_flags);
    case INSTR_FROM:
        return from(c);
    case INSTR_ONBUILD:
        return onbuild(c);
    case INSTR_RUN:
        return run_check(c);
    case INSTR_CMD:
    case INSTR_ENTRYPOINT:
        return parse_flags(c, no_flags);
    case INSTR_HEALTHCHECK:
        return healthcheck(c);
    case INSTR_EXPOSE:
    case INSTR_VOLUME:
        if (in->nargs == 0)
            return fail(c, "%s requires at least one argument", upper_name(in));
        if (parse_flags(c, no_flags) < 0)
            return -1;
        for (size_t i = 0; in->kind == INSTR_VOLUME && i < in->nargs; i++) {
            cleanup_free char *t = dup_trim_space(in->args[i], strlen(in->args[i]));
            if (t[0] == '\0')
                return fail(c, "VOLUME specified can not be an empty string");
        }
        return 0;
    case INSTR_ARG:
        if (in->nargs == 0)
            return fail(c, "ARG requires at least one argument");
        if (parse_flags(c, no_flags) < 0)
            return -1;
        for (size_t i = 0; i < in->nargs; i++)
            if (in->args[i][0] == '=')
                return fail(c, "ARG names can not be blank");
        return 0;
    case INSTR_SHELL:
        if (parse_flags(c, no_flags) < 0)
            return -1;
        if (in->nargs == 0)
            return fail(c, "SHELL requires at least one argument");
        if (!in->json)
            return fail(c, "SHELL requires the arguments to be in JSON form");
        return 0;
    }
    return 0;
}

int
dockerfile_validate(const struct dockerfile *df, struct lade_error *err)
{
    bool stage = false;

    for (size_t i = 0; i < df->n; i++) {
        struct check c = {df, &df->instrs[i], err};
        if (check_instr(&c) < 0)
            return -1;
        if (df->instrs[i].kind == INSTR_FROM)
            stage = true;
        else if (!stage && df->instrs[i].kind != INSTR_ARG)
            return fail(&c, "no build stage in current context");
    }
    return 0;
}
