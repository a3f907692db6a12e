/* SPDX-License-Identifier: Apache-2.0 */
/* The package managers' record formats (dpkg status paragraphs, apk's installed database,
 * os-release, Python core metadata, npm's package.json) and the SPDX 2.3 document. */
#include "sbom.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

#define FIELDS_MAX 5

static void
add_package(struct sbom *s, const char *type, const char *name, const char *version,
            const char *arch, const char *license)
{
    if (name == NULL || *name == '\0' || version == NULL || *version == '\0')
        return;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->pkgs = xrealloc(s->pkgs, s->cap * sizeof(*s->pkgs));
    }
    s->pkgs[s->n++] = (struct sbom_package){
        xstrdup(type),
        xstrdup(name),
        xstrdup(version),
        arch && *arch ? xstrdup(arch) : NULL,
        license && *license ? xstrdup(license) : NULL,
    };
}

/* "Key: value" (sep ':') paragraphs separated by blank lines; continuation lines (leading
 * blank) are skipped. For each paragraph emit gets the values of keys (NULL when absent).
 * first_only: one paragraph (Python's metadata headers, then the description). */
static void
paragraphs(struct sbom *s, const char *text, size_t len, const char *const keys[FIELDS_MAX],
           bool first_only, void (*emit)(struct sbom *, char *const vals[FIELDS_MAX]))
{
    char *vals[FIELDS_MAX] = {0};
    const char *p = text, *end = text + len;
    bool any = false;

    while (p < end || any) {
        const char *nl = p < end ? memchr(p, '\n', (size_t) (end - p)) : NULL;
        const char *eol = nl != NULL ? nl : end;
        size_t n = p < end ? (size_t) (eol - p) : 0;
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n == 0) { /* a blank line or the end: the paragraph is complete */
            if (any) {
                emit(s, vals);
                for (size_t k = 0; k < FIELDS_MAX; k++) {
                    free(vals[k]);
                    vals[k] = NULL;
                }
                if (first_only)
                    break;
                any = false;
            }
            p = nl != NULL ? nl + 1 : end;
            continue;
        }
        const char *colon = isspace((unsigned char) p[0]) ? NULL : memchr(p, ':', n);
        for (size_t k = 0; colon != NULL && k < FIELDS_MAX && keys[k] != NULL; k++) {
            if (vals[k] != NULL || strlen(keys[k]) != (size_t) (colon - p) ||
                strncmp(p, keys[k], (size_t) (colon - p)) != 0)
                continue;
            const char *v = colon + 1;
            while (v < p + n && (*v == ' ' || *v == '\t'))
                v++;
            vals[k] = xstrndup(v, (size_t) (p + n - v));
            any = true;
        }
        p = nl != NULL ? nl + 1 : end;
    }
    for (size_t k = 0; k < FIELDS_MAX; k++)
        free(vals[k]);
}

/* Package, Version, Architecture, Status, License (none in dpkg: always NULL) */
static void
emit_dpkg(struct sbom *s, char *const v[FIELDS_MAX])
{
    /* "install ok installed"; status.d files (distroless) have no Status */
    if (v[3] != NULL && !(strlen(v[3]) >= 9 && strcmp(v[3] + strlen(v[3]) - 9, "installed") == 0 &&
                          strstr(v[3], "not-installed") == NULL))
        return;
    add_package(s, "deb", v[0], v[1], v[2], NULL);
}

void
sbom_parse_dpkg(struct sbom *s, const char *text, size_t len)
{
    static const char *const keys[FIELDS_MAX] = {"Package", "Version", "Architecture", "Status"};

    paragraphs(s, text, len, keys, false, emit_dpkg);
}

static void
emit_apk(struct sbom *s, char *const v[FIELDS_MAX])
{
    add_package(s, "apk", v[0], v[1], v[2], v[3]);
}

void
sbom_parse_apk(struct sbom *s, const char *text, size_t len)
{
    static const char *const keys[FIELDS_MAX] = {"P", "V", "A", "L"};

    paragraphs(s, text, len, keys, false, emit_apk);
}

static void
emit_python(struct sbom *s, char *const v[FIELDS_MAX])
{
    add_package(s, "pypi", v[0], v[1], NULL, v[2]);
}

void
sbom_parse_python_metadata(struct sbom *s, const char *text, size_t len)
{
    static const char *const keys[FIELDS_MAX] = {"Name", "Version", "License"};

    paragraphs(s, text, len, keys, true, emit_python);
}

void
sbom_parse_npm_package(struct sbom *s, const char *text, size_t len)
{
    json_t *j = json_loadb(text, len, 0, NULL);
    const json_t *lic = json_object_get(j, "license");

    add_package(s, "npm", json_string_value(json_object_get(j, "name")),
                json_string_value(json_object_get(j, "version")), NULL,
                json_is_string(lic) ? json_string_value(lic) : NULL);
    json_decref(j);
}

void
sbom_parse_os_release(struct sbom *s, const char *text, size_t len)
{
    const char *end = text + len;

    for (const char *p = text; p < end;) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        const char *eol = nl != NULL ? nl : end;
        char **dst = strncmp(p, "ID=", 3) == 0            ? &s->distro_id
                     : strncmp(p, "VERSION_ID=", 11) == 0 ? &s->distro_version
                                                          : NULL;
        if (dst != NULL && *dst == NULL) {
            const char *v = memchr(p, '=', (size_t) (eol - p)) + 1;
            size_t n = (size_t) (eol - v);
            if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0])
                v++, n -= 2;
            *dst = xstrndup(v, n);
        }
        p = nl != NULL ? nl + 1 : end;
    }
}

/* ---- SPDX 2.3 ---- */

/* purl's percent-encoding of a name or version: unreserved characters and '+' stay. */
static void
purl_part(struct lade_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char) *s;
        if (isalnum(c) || strchr("-._~+", c) != NULL)
            lade_buf_appendc(b, (char) c);
        else
            lade_buf_appendf(b, "%%%02X", c);
    }
}

static char *
purl(const struct sbom *s, const struct sbom_package *p)
{
    struct lade_buf b = LADE_BUF_INIT;
    const char *ns = NULL;

    if (strcmp(p->type, "deb") == 0)
        ns = s->distro_id ? s->distro_id : "debian";
    else if (strcmp(p->type, "apk") == 0)
        ns = s->distro_id ? s->distro_id : "alpine";
    lade_buf_appendf(&b, "pkg:%s/", p->type);
    if (ns != NULL)
        lade_buf_appendf(&b, "%s/", ns);
    if (strcmp(p->type, "npm") == 0 && p->name[0] == '@' && strchr(p->name, '/') != NULL) {
        const char *slash = strchr(p->name, '/'); /* the scope is the namespace */
        lade_buf_appends(&b, "%40");
        lade_buf_append(&b, p->name + 1, (size_t) (slash - p->name - 1));
        lade_buf_appendc(&b, '/');
        purl_part(&b, slash + 1);
    } else {
        purl_part(&b, p->name);
    }
    lade_buf_appendc(&b, '@');
    purl_part(&b, p->version);
    const char *sep = "?";
    if (p->arch != NULL && ns != NULL) {
        lade_buf_appendf(&b, "%sarch=", sep);
        purl_part(&b, p->arch);
        sep = "&";
    }
    if (ns != NULL && s->distro_id != NULL && s->distro_version != NULL)
        lade_buf_appendf(&b, "%sdistro=%s-%s", sep, s->distro_id, s->distro_version);
    return lade_buf_steal(&b);
}

static int
by_type_name_version(const void *x, const void *y)
{
    const struct sbom_package *a = *(const struct sbom_package *const *) x;
    const struct sbom_package *b = *(const struct sbom_package *const *) y;
    int c = strcmp(a->type, b->type);

    if (c == 0)
        c = strcmp(a->name, b->name);
    return c != 0 ? c : strcmp(a->version, b->version);
}

json_t *
sbom_spdx(const struct sbom *s, const char *subject_name, const char *subject_digest,
          const char *created, const char *tool_version)
{
    cleanup_free const struct sbom_package **order = xcalloc(s->n + 1, sizeof(*order));
    json_t *pkgs = json_array(), *rels = json_array();

    for (size_t i = 0; i < s->n; i++)
        order[i] = &s->pkgs[i];
    if (s->n > 0)
        qsort(order, s->n, sizeof(*order), by_type_name_version);
    for (size_t i = 0; i < s->n; i++) {
        const struct sbom_package *p = order[i];
        cleanup_free char *id = xasprintf("SPDXRef-Package-%s-%zu", p->type, i + 1);
        cleanup_free char *locator = purl(s, p);
        json_array_append_new(
            pkgs,
            json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:[{s:s, s:s, s:s}]}", "name", p->name,
                      "SPDXID", id, "versionInfo", p->version, "downloadLocation", "NOASSERTION",
                      "filesAnalyzed", 0, "licenseConcluded", "NOASSERTION", "licenseDeclared",
                      "NOASSERTION", "externalRefs", "referenceCategory", "PACKAGE-MANAGER",
                      "referenceType", "purl", "referenceLocator", locator));
        if (p->license != NULL) /* free text, not an SPDX expression: kept as a comment */
            json_object_set_new(json_array_get(pkgs, i), "comment",
                                json_sprintf("declared license: %s", p->license));
        json_array_append_new(rels,
                              json_pack("{s:s, s:s, s:s}", "spdxElementId", "SPDXRef-DOCUMENT",
                                        "relationshipType", "DESCRIBES", "relatedSpdxElement", id));
    }
    cleanup_free char *ns = xasprintf("https://lade.invalid/spdx/%s", subject_digest);
    cleanup_free char *tool = xasprintf("Tool: lade-%s", tool_version);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:[s]}, s:o, s:o}", "spdxVersion",
                     "SPDX-2.3", "dataLicense", "CC0-1.0", "SPDXID", "SPDXRef-DOCUMENT", "name",
                     subject_name, "documentNamespace", ns, "creationInfo", "created", created,
                     "creators", tool, "packages", pkgs, "relationships", rels);
}
