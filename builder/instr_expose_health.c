/* SPDX-License-Identifier: Apache-2.0 */
/* EXPOSE and HEALTHCHECK: the two config instructions with a syntax of their own. Both write
 * BuildKit's history texts, which print Go values (%v of a list, a struct, time.Duration). */
#include "steps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool
parse_port(const char *s, size_t n, unsigned long *out)
{
    char buf[16], *end;

    if (n == 0 || n >= sizeof(buf) || strspn(s, "0123456789") < n)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    *out = strtoul(buf, &end, 10);
    return *out <= 65535;
}

/* One spec "[ip:][hostPort:]port[-end][/proto]" -> "port/proto" keys, appended to keys. */
static int
expose_spec(const char *spec, char ***keys, struct lade_error *err)
{
    const char *port = strrchr(spec, ':') ? strrchr(spec, ':') + 1 : spec;
    const char *slash = strchr(port, '/');
    size_t plen = slash ? (size_t) (slash - port) : strlen(port);
    char proto[8] = "tcp";
    unsigned long lo, hi;

    if (slash != NULL) {
        size_t n = strlen(slash + 1);
        if (n == 0 || n >= sizeof(proto))
            return lade_error_set(err, LADE_ERR_PARSE, "invalid proto: %s", slash + 1);
        for (size_t i = 0; i <= n; i++)
            proto[i] = (char) (slash[1 + i] >= 'A' && slash[1 + i] <= 'Z' ? slash[1 + i] + 32
                                                                          : slash[1 + i]);
        if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
            return lade_error_set(err, LADE_ERR_PARSE, "invalid proto: %s", slash + 1);
    }
    const char *dash = memchr(port, '-', plen);
    size_t lolen = dash ? (size_t) (dash - port) : plen;
    bool ok = parse_port(port, lolen, &lo);
    hi = lo;
    if (!ok || (dash && !parse_port(dash + 1, plen - lolen - 1, &hi)))
        return lade_error_set(err, LADE_ERR_PARSE, "invalid containerPort: %.*s", (int) plen, port);
    if (hi < lo)
        return lade_error_set(err, LADE_ERR_PARSE,
                              "invalid range specified for container port: "
                              "%.*s",
                              (int) plen, port);
    for (unsigned long p = lo; p <= hi; p++)
        *keys = strv_push_take(*keys, xasprintf("%lu/%s", p, proto));
    return 0;
}

int
step_expose(struct build *b, struct stage_state *ss, const struct instr *in, struct lade_error *err)
{
    json_t *c = oci_config_container(ss->config);
    json_t *ports = json_object_get(c, "ExposedPorts");
    char **raw = strv_dup(in->args), **keys = NULL;
    struct lade_buf hist = LADE_BUF_INIT;
    struct expander x;
    int rc = -1;

    /* BuildKit sorts the words as written, then expands each into specs. */
    qsort(raw, strv_len(raw), sizeof(char *), cmp_str);
    stage_expander(ss, b->plan->df, &x);
    for (size_t i = 0; raw[i]; i++) {
        char **words = NULL;
        if (expand_words(&x, raw[i], &words, err) < 0)
            goto out;
        for (size_t k = 0; words[k]; k++)
            if (expose_spec(words[k], &keys, err) < 0) {
                strv_free(words);
                goto out;
            }
        strv_free(words);
    }
    if (!json_is_object(ports))
        json_object_set_new(c, "ExposedPorts", ports = json_object());
    lade_buf_appends(&hist, "EXPOSE [");
    for (size_t i = 0; keys && keys[i]; i++) {
        json_object_set_new(ports, keys[i], json_object());
        lade_buf_appendf(&hist, "%s%s", i ? " " : "", keys[i]);
    }
    lade_buf_appendc(&hist, ']');
    stage_add_history(b, ss, hist.data, true);
    rc = 0;
out:
    strv_free(raw);
    strv_free(keys);
    lade_buf_release(&hist);
    return rc;
}

static void
append_frac(struct lade_buf *b, int64_t v, int64_t unit)
{
    char frac[16];
    int n = 0;

    lade_buf_appendf(b, "%lld", (long long) (v / unit));
    for (int64_t r = v % unit, u = unit / 10; r > 0 && u > 0; u /= 10) {
        frac[n++] = (char) ('0' + r / u);
        r %= u;
    }
    if (n > 0)
        lade_buf_appendf(b, ".%.*s", n, frac);
}

/* time.Duration.String(): "0s", "1.5ms", "30s", "1m30s", "1h0m0s". */
static void
append_go_duration(struct lade_buf *b, int64_t d)
{
    if (d == 0) {
        lade_buf_appends(b, "0s");
        return;
    }
    if (d < 1000) {
        lade_buf_appendf(b, "%lldns", (long long) d);
    } else if (d < 1000000) {
        append_frac(b, d, 1000);
        lade_buf_appends(b, "µs");
    } else if (d < 1000000000) {
        append_frac(b, d, 1000000);
        lade_buf_appends(b, "ms");
    } else {
        int64_t h = d / 3600000000000LL, m = (d / 60000000000LL) % 60;
        if (h > 0)
            lade_buf_appendf(b, "%lldh", (long long) h);
        if (h > 0 || m > 0)
            lade_buf_appendf(b, "%lldm", (long long) m);
        append_frac(b, d % 60000000000LL, 1000000000);
        lade_buf_appendc(b, 's');
    }
}

int
step_healthcheck(struct build *b, struct stage_state *ss, const struct command *cmd,
                 struct lade_error *err)
{
    static const char *const names[] = {"Interval", "Timeout", "StartPeriod", "StartInterval"};
    const struct instr *in = cmd->in;
    const struct health_cmd *h = &cmd->u.health;
    const long long given[4] = {h->interval, h->timeout, h->start_period, h->start_interval};
    json_t *hc = json_object(), *test = json_array();
    struct lade_buf hist = LADE_BUF_INIT;
    json_int_t vals[4] = {0}, retries = h->retries > 0 ? h->retries : 0;

    json_object_set_new(hc, "Test", test);
    if (in->nargs < 1 || strcasecmp(in->args[0], "NONE") == 0) {
        json_array_append_new(test, json_string("NONE"));
    } else if (strcasecmp(in->args[0], "CMD") == 0 && in->nargs >= 2) {
        json_array_append_new(test, json_string(in->json ? "CMD" : "CMD-SHELL"));
        for (size_t i = 1; i < in->nargs; i++)
            json_array_append_new(test, json_string(in->args[i]));
        for (size_t i = 0; i < 4; i++) {
            vals[i] = given[i] > 0 ? given[i] : 0;
            if (vals[i] > 0)
                json_object_set_new(hc, names[i], json_integer(vals[i]));
        }
        if (retries > 0)
            json_object_set_new(hc, "Retries", json_integer(retries));
    } else {
        json_decref(hc);
        return lade_error_set(err, LADE_ERR_PARSE, "HEALTHCHECK requires CMD or NONE");
    }
    /* %+v of BuildKit's health config struct */
    lade_buf_appends(&hist, "HEALTHCHECK {Test:[");
    size_t i;
    json_t *e;
    json_array_foreach(test, i, e)
        lade_buf_appendf(&hist, "%s%s", i ? " " : "", json_string_value(e));
    lade_buf_appendc(&hist, ']');
    for (i = 0; i < 4; i++) {
        lade_buf_appendf(&hist, " %s:", names[i]);
        append_go_duration(&hist, vals[i]);
    }
    lade_buf_appendf(&hist, " Retries:%lld}", (long long) retries);
    json_object_set_new(oci_config_container(ss->config), "Healthcheck", hc);
    stage_add_history(b, ss, hist.data, true);
    lade_buf_release(&hist);
    return 0;
}
