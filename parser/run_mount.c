/* SPDX-License-Identifier: Apache-2.0 */
/* RUN --mount values: a CSV record of key=value fields (Go's encoding/csv rules), each value
 * expanded on its own and checked in BuildKit's order (instructions/commands_runmount.go
 * parseMount), with its messages, so a Dockerfile fails here as it fails there. */
#include "parser-internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../builder/common/buf.h"
#include "../builder/common/cleanup.h"
#include "../builder/common/strv.h"
#include "../builder/common/xalloc.h"

static const char *const type_names[] = {
    [RUN_MOUNT_BIND] = "bind",     [RUN_MOUNT_CACHE] = "cache", [RUN_MOUNT_TMPFS] = "tmpfs",
    [RUN_MOUNT_SECRET] = "secret", [RUN_MOUNT_SSH] = "ssh",
};

const char *
run_mount_type_name(enum run_mount_type t)
{
    return type_names[t];
}

static int
csv_fail(struct lade_buf *f, char **v, const char *why, struct lade_error *err)
{
    lade_buf_release(f);
    strv_free(v);
    return lade_error_set(err, LADE_ERR_PARSE, "failed to parse csv mounts: %s", why);
}

/* One CSV record as Go's encoding/csv reads it (csvvalue.Fields): a field that starts with '"'
 * is quoted ("" is a quote); a quote anywhere else is an error. */
static int
csv_fields(const char *s, char ***out, struct lade_error *err)
{
    static const char quoted_bad[] = "extraneous or missing \" in quoted-field";
    char **v = NULL;

    for (;;) {
        struct lade_buf f = LADE_BUF_INIT;
        if (*s == '"') {
            for (s++; *s != '"' || s[1] == '"'; s++) {
                if (*s == '\0')
                    return csv_fail(&f, v, quoted_bad, err);
                s += *s == '"'; /* "" */
                lade_buf_appendc(&f, *s);
            }
            if (*++s != ',' && *s != '\0')
                return csv_fail(&f, v, quoted_bad, err);
        }
        for (; *s != ',' && *s != '\0'; s++) {
            if (*s == '"')
                return csv_fail(&f, v, "bare \" in non-quoted-field", err);
            lade_buf_appendc(&f, *s);
        }
        v = strv_push_take(v, lade_buf_steal(&f));
        if (*s == '\0')
            break;
        s++;
    }
    *out = v;
    return 0;
}

/* Go's strconv.ParseBool. */
static int
parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

    for (size_t i = 0; i < 6; i++) {
        if (strcmp(s, yes[i]) == 0)
            return *out = true, 0;
        if (strcmp(s, no[i]) == 0)
            return *out = false, 0;
    }
    return -1;
}

/* docker's units.RAMInBytes: "64m", "1.5g", "100", "2KiB" (binary multiples). */
static int
parse_ram(const char *s, unsigned long long *out)
{
    static const char units[] = "kmgtp";
    char *end;
    long double mult = 1;

    if (!isdigit((unsigned char) *s))
        return -1;
    errno = 0;
    long double n = strtold(s, &end);
    if (errno != 0 || end == s)
        return -1;
    if (*end == ' ')
        end++;
    const char *u = *end ? strchr(units, tolower((unsigned char) *end)) : NULL;
    if (u != NULL) {
        for (const char *p = units; p <= u; p++)
            mult *= 1024;
        end++;
    }
    if (tolower((unsigned char) *end) == 'i')
        end++;
    if (tolower((unsigned char) *end) == 'b')
        end++;
    if (*end != '\0' || n * mult > 18e18L)
        return -1;
    *out = (unsigned long long) (n * mult);
    return 0;
}

static int
parse_uint(const char *s, int base, unsigned *out)
{
    char *end;

    if (*s == '\0' || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    if (errno != 0 || *end != '\0' || v > 0xffffffffULL)
        return -1;
    *out = (unsigned) v;
    return 0;
}

/* A field without '=': ro, rw, required, else an error. */
static int
mount_flag(struct run_mount *m, const char *key, bool *ro_auto, struct lade_error *err)
{
    if (strcmp(key, "readonly") == 0 || strcmp(key, "ro") == 0) {
        m->readonly = true;
        *ro_auto = false;
    } else if (strcmp(key, "readwrite") == 0 || strcmp(key, "rw") == 0) {
        m->readonly = false;
        *ro_auto = false;
    } else if (strcmp(key, "required") == 0) {
        if (m->type != RUN_MOUNT_SECRET && m->type != RUN_MOUNT_SSH)
            return lade_error_set(err, LADE_ERR_PARSE, "unexpected key '%s' for mount type '%s'",
                                  key, type_names[m->type]);
        m->required = true;
    } else {
        return lade_error_set(err, LADE_ERR_PARSE, "invalid field '%s' must be a key=value pair",
                              key);
    }
    return 0;
}

static void
set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = xstrdup(v);
}

static int
mount_type(struct run_mount *m, const char *v, struct lade_error *err)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
        if (strcasecmp(v, type_names[i]) == 0)
            return m->type = (enum run_mount_type) i, 0;
    return lade_error_set(err, LADE_ERR_PARSE, "unsupported mount type \"%s\"", v);
}

static int
mount_sharing(struct run_mount *m, const char *v, struct lade_error *err)
{
    static const char *const names[] = {"shared", "private", "locked"};

    for (size_t i = 0; i < 3; i++)
        if (strcasecmp(v, names[i]) == 0)
            return m->sharing = (enum run_mount_sharing)(i + 1), 0;
    return lade_error_set(err, LADE_ERR_PARSE, "unsupported sharing value \"%s\"", v);
}

static int
only_for(const struct run_mount *m, const char *key, bool ok, struct lade_error *err)
{
    if (ok)
        return 0;
    return lade_error_set(err, LADE_ERR_PARSE, "unexpected key '%s' for mount type '%s'", key,
                          type_names[m->type]);
}

/* One key=value field, value already expanded. */
static int
mount_field(struct run_mount *m, const char *key, const char *v, const char *field, bool *ro_auto,
            struct lade_error *err)
{
    bool b;
    bool secret_or_ssh = m->type == RUN_MOUNT_SECRET || m->type == RUN_MOUNT_SSH;

    if (strcmp(key, "type") == 0)
        return mount_type(m, v, err);
    if (strcmp(key, "from") == 0)
        return set_str(&m->from, v), 0;
    if (strcmp(key, "source") == 0 || strcmp(key, "src") == 0)
        return set_str(&m->source, v), 0;
    if (strcmp(key, "target") == 0 || strcmp(key, "dst") == 0 || strcmp(key, "destination") == 0)
        return set_str(&m->target, v), 0;
    if (strcmp(key, "id") == 0)
        return set_str(&m->id, v), 0;
    if (strcmp(key, "env") == 0)
        return set_str(&m->env, v), 0;
    if (strcmp(key, "sharing") == 0)
        return mount_sharing(m, v, err);
    if (strcmp(key, "readonly") == 0 || strcmp(key, "ro") == 0 || strcmp(key, "readwrite") == 0 ||
        strcmp(key, "rw") == 0 || strcmp(key, "required") == 0) {
        if (strcmp(key, "required") == 0 && only_for(m, key, secret_or_ssh, err) < 0)
            return -1;
        if (parse_bool(v, &b) < 0)
            return lade_error_set(err, LADE_ERR_PARSE, "invalid value for %s: %s", key, v);
        if (strcmp(key, "required") == 0)
            return m->required = b, 0;
        bool rw = strcmp(key, "readwrite") == 0 || strcmp(key, "rw") == 0;
        m->readonly = rw ? !b : b;
        *ro_auto = false;
        return 0;
    }
    if (strcmp(key, "size") == 0) {
        if (only_for(m, key, m->type == RUN_MOUNT_TMPFS, err) < 0)
            return -1;
        if (parse_ram(v, &m->size) < 0)
            return lade_error_set(err, LADE_ERR_PARSE, "invalid value for %s: %s", key, v);
        return 0;
    }
    if (strcmp(key, "mode") == 0 || strcmp(key, "uid") == 0 || strcmp(key, "gid") == 0) {
        bool mode = key[0] == 'm';
        unsigned *dst = mode ? &m->mode : key[0] == 'u' ? &m->uid : &m->gid;
        if (parse_uint(v, mode ? 8 : 10, dst) < 0)
            return lade_error_set(err, LADE_ERR_PARSE, "invalid value %s for %s", v, key);
        *(mode ? &m->has_mode : key[0] == 'u' ? &m->has_uid : &m->has_gid) = true;
        return 0;
    }
    return lade_error_set(err, LADE_ERR_PARSE, "unexpected key '%s' in '%s'", key, field);
}

/* The checks after all fields (parseMount's tail). */
static int
mount_check(struct run_mount *m, bool ro_auto, struct lade_error *err)
{
    const char *t = type_names[m->type];
    bool file_info =
        m->type == RUN_MOUNT_SECRET || m->type == RUN_MOUNT_SSH || m->type == RUN_MOUNT_CACHE;

    if (!file_info && (m->has_mode || m->has_uid || m->has_gid))
        return lade_error_set(err, LADE_ERR_PARSE, "%s not allowed for \"%s\" type mounts",
                              m->has_mode  ? "mode"
                              : m->has_uid ? "uid"
                                           : "gid",
                              t);
    if (ro_auto)
        m->readonly = m->type != RUN_MOUNT_CACHE && m->type != RUN_MOUNT_TMPFS;
    if (m->type == RUN_MOUNT_SECRET) {
        if (m->from != NULL && m->from[0] != '\0')
            return lade_error_set(err, LADE_ERR_PARSE, "secret mount should not have a from");
        if (m->sharing != RUN_SHARING_UNSET)
            return lade_error_set(err, LADE_ERR_PARSE, "secret mount should not define sharing");
        bool src = m->source && m->source[0], dst = m->target && m->target[0],
             id = m->id && m->id[0];
        if (!src && !dst && !id)
            return lade_error_set(err, LADE_ERR_PARSE,
                                  "invalid secret mount. one of source, target required");
        if (src && id)
            return lade_error_set(err, LADE_ERR_PARSE, "both source and id can't be set");
    }
    if (m->sharing != RUN_SHARING_UNSET && m->type != RUN_MOUNT_CACHE)
        return lade_error_set(err, LADE_ERR_PARSE, "invalid cache sharing set for %s mount", t);
    return 0;
}

int
run_mount_parse(const char *spec, const struct expander *x, struct run_mount *m,
                struct lade_error *err)
{
    char **fields = NULL;
    bool ro_auto = true;
    int rc = 0;

    memset(m, 0, sizeof(*m));
    if (csv_fields(spec, &fields, err) < 0)
        return -1;
    for (size_t i = 0; rc == 0 && fields[i]; i++) {
        char *field = fields[i], *eq = strchr(field, '=');
        cleanup_free char *key = xstrndup(field, eq ? (size_t) (eq - field) : strlen(field));
        cleanup_free char *value = NULL;

        for (char *k = key; *k; k++)
            *k = (char) tolower((unsigned char) *k);
        if (x == NULL) {
            /* At parse time only from= is checked: the rest waits for the expander. */
            const char *d = eq && strcmp(key, "from") == 0 ? strchr(eq + 1, '$') : NULL;
            if (d != NULL && d[1] != '\0')
                rc = lade_error_set(err, LADE_ERR_PARSE,
                                    "'%s' doesn't support variable expansion, define alias "
                                    "stage instead",
                                    key);
            continue;
        }
        if (eq == NULL) {
            rc = mount_flag(m, key, &ro_auto, err);
            continue;
        }
        rc = expand_word(x, eq + 1, &value, err);
        if (rc == 0)
            rc = mount_field(m, key, value, field, &ro_auto, err);
    }
    strv_free(fields);
    if (rc == 0 && x != NULL)
        rc = mount_check(m, ro_auto, err);
    return rc;
}

void
run_mount_release(struct run_mount *m)
{
    free(m->from);
    free(m->source);
    free(m->target);
    free(m->id);
    free(m->env);
    memset(m, 0, sizeof(*m));
}
