/* SPDX-License-Identifier: Apache-2.0 */
/* --sbom, --provenance and --attest as buildx reads them: --sbom=V and --provenance=V are
 * shorthands of --attest type=sbom,V and --attest type=provenance,V, where a boolean V (Go's
 * strconv.ParseBool) means disabled=!V. The --attest value is comma-separated key=value: type
 * (sbom or provenance), disabled, and for provenance mode (min or max) and version (v1). What
 * lade does not implement (generator=, builder-id=, SLSA v0.2) is refused by name. */
#include "attest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

/* Go's strconv.ParseBool: 1 when true, 0 when false, -1 when neither. */
static int
parse_bool(const char *v)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcmp(v, yes[i]) == 0)
            return 1;
        if (strcmp(v, no[i]) == 0)
            return 0;
    }
    return -1;
}

struct attest_req {
    const char *type;
    bool disabled;
    enum provenance_mode mode;
};

static int
attest_key(const char *flag, const char *key, const char *v, struct attest_req *r,
           struct lade_error *err)
{
    bool prov = r->type != NULL && strcmp(r->type, "provenance") == 0;

    if (strcmp(key, "type") == 0) {
        if (strcmp(v, "sbom") != 0 && strcmp(v, "provenance") != 0)
            return lade_error_set(err, LADE_ERR_USAGE,
                                  "%s: type must be sbom or provenance, not \"%s\"", flag, v);
        r->type = strcmp(v, "sbom") == 0 ? "sbom" : "provenance"; /* v is freed after */
        return 0;
    }
    if (strcmp(key, "disabled") == 0) {
        int on = parse_bool(v);
        if (on < 0)
            return lade_error_set(err, LADE_ERR_USAGE,
                                  "%s: disabled must be true or false, not \"%s\"", flag, v);
        r->disabled = on == 1;
        return 0;
    }
    if (prov && strcmp(key, "mode") == 0) {
        if (strcmp(v, "min") != 0 && strcmp(v, "max") != 0)
            return lade_error_set(err, LADE_ERR_USAGE, "%s: mode must be min or max, not \"%s\"",
                                  flag, v);
        r->mode = strcmp(v, "max") == 0 ? PROVENANCE_MAX : PROVENANCE_MIN;
        return 0;
    }
    if (prov && strcmp(key, "version") == 0) {
        if (strcmp(v, "v1") != 0)
            return lade_error_set(err, LADE_ERR_USAGE,
                                  "%s: version=%s is not implemented yet (lade writes SLSA "
                                  "provenance v1: version=v1)",
                                  flag, v);
        return 0;
    }
    if (strcmp(key, "generator") == 0)
        return lade_error_set(err, LADE_ERR_USAGE,
                              "%s: generator= (an SBOM scanner image) is not implemented yet: "
                              "lade reads the package managers' records itself",
                              flag);
    return lade_error_set(err, LADE_ERR_USAGE,
                          "%s: \"%s\" is not supported (keys: type, disabled%s)", flag, key,
                          prov ? ", mode, version" : "");
}

/* One --attest value (after a shorthand's "type=T," is put in front). Two passes: type first,
 * as the keys allowed depend on it. */
static int
attest_parse(const char *flag, const char *value, struct attest_req *r, struct lade_error *err)
{
    memset(r, 0, sizeof(*r));
    r->mode = PROVENANCE_MIN;
    for (int pass = 0; pass < 2; pass++) {
        cleanup_free char *copy = xstrdup(value);
        char *save = NULL;
        for (char *f = strtok_r(copy, ",", &save); f != NULL; f = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(f, '=');
            if (eq == NULL)
                return lade_error_set(err, LADE_ERR_USAGE, "%s: \"%s\" is not key=value", flag, f);
            *eq = '\0';
            if ((strcmp(f, "type") == 0) == (pass == 0) && attest_key(flag, f, eq + 1, r, err) < 0)
                return -1;
        }
        if (r->type == NULL)
            return lade_error_set(err, LADE_ERR_USAGE, "%s: type= is required (sbom or provenance)",
                                  flag);
    }
    return 0;
}

int
attest_option(struct build_opts *o, const char *flag, const char *value, struct lade_error *err)
{
    cleanup_free char *csv = NULL;
    struct attest_req r;
    char shown[32];

    snprintf(shown, sizeof(shown), "--%s", flag);
    if (strcmp(flag, "attest") == 0) {
        csv = xstrdup(value != NULL ? value : "");
    } else {
        int on = parse_bool(value != NULL ? value : "true");
        csv = on >= 0 ? xasprintf("type=%s,disabled=%s", flag, on ? "false" : "true")
                      : xasprintf("type=%s,%s", flag, value);
    }
    if (attest_parse(shown, csv, &r, err) < 0)
        return -1;
    if (strcmp(r.type, "sbom") == 0)
        o->sbom = !r.disabled;
    else
        o->provenance = r.disabled ? PROVENANCE_OFF : r.mode;
    return 0;
}
