/* SPDX-License-Identifier: Apache-2.0 */
/* SBOM: the package managers' records found in an image's layers, parsed, as SPDX 2.3. The
 * layers are read bottom up with layer_list_data, which hands over only the wanted files'
 * bytes; a whiteout in a higher layer removes what lower layers recorded. */
#include "sbom.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

static bool
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* ---- what is read ---- */

enum record_kind { REC_NONE, REC_DPKG, REC_APK, REC_OS, REC_PYTHON, REC_NPM };

static enum record_kind
record_kind(const char *path)
{
    if (strcmp(path, "var/lib/dpkg/status") == 0 ||
        strncmp(path, "var/lib/dpkg/status.d/", 22) == 0)
        return REC_DPKG;
    if (strcmp(path, "lib/apk/db/installed") == 0)
        return REC_APK;
    if (strcmp(path, "etc/os-release") == 0 || strcmp(path, "usr/lib/os-release") == 0)
        return REC_OS;
    if (ends_with(path, ".dist-info/METADATA") &&
        (strstr(path, "/site-packages/") != NULL || strstr(path, "/dist-packages/") != NULL))
        return REC_PYTHON;
    const char *nm = strstr(path, "node_modules/");
    if (nm != NULL && ends_with(path, "/package.json")) {
        const char *last;
        while ((last = strstr(nm + 1, "/node_modules/")) != NULL) /* the innermost one */
            nm = last + 1;
        const char *name = nm + strlen("node_modules/");
        size_t slashes = 0;
        for (const char *p = name; *p; p++)
            slashes += *p == '/';
        if (slashes == 1 || (slashes == 2 && name[0] == '@'))
            return REC_NPM;
    }
    return REC_NONE;
}

struct record {
    char *path;
    char *data;
    size_t len;
    size_t layer;
};

struct scan {
    struct record *v;
    size_t n, cap;
    size_t layer; /* the layer being read */
};

static void
record_drop(struct scan *sc, size_t i)
{
    free(sc->v[i].path);
    free(sc->v[i].data);
    sc->v[i] = sc->v[--sc->n];
}

/* Removes what lower layers recorded at path (self) and under it. */
static void
whiteout(struct scan *sc, const char *path, size_t len, bool self)
{
    for (size_t i = 0; i < sc->n;) {
        const char *p = sc->v[i].path;
        bool hit = sc->v[i].layer < sc->layer &&
                   ((self && strlen(p) == len && strncmp(p, path, len) == 0) ||
                    (strncmp(p, path, len) == 0 && (len == 0 || p[len] == '/')));
        if (hit)
            record_drop(sc, i);
        else
            i++;
    }
}

static bool
want(void *ctx, const char *path, uint64_t size)
{
    (void) ctx, (void) size;
    return record_kind(path) != REC_NONE;
}

static int
collect(void *ctx, const struct layer_entry *e, struct lade_error *err)
{
    struct scan *sc = ctx;
    const char *slash = strrchr(e->path, '/');
    const char *base = slash != NULL ? slash + 1 : e->path;
    size_t dir_len = slash != NULL ? (size_t) (slash - e->path) : 0;

    (void) err;
    if (strcmp(base, WH_OPAQUE) == 0) {
        whiteout(sc, e->path, dir_len, false);
        return 0;
    }
    if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0) {
        cleanup_free char *target =
            xasprintf("%.*s%s%s", (int) dir_len, e->path, dir_len ? "/" : "", base + 4);
        whiteout(sc, target, strlen(target), true);
        return 0;
    }
    /* a file replaced by anything (or a directory replacing it) hides the old record */
    for (size_t i = 0; i < sc->n; i++)
        if (strcmp(sc->v[i].path, e->path) == 0) {
            record_drop(sc, i);
            break;
        }
    if (e->data == NULL)
        return 0;
    if (sc->n == sc->cap) {
        sc->cap = sc->cap ? sc->cap * 2 : 16;
        sc->v = xrealloc(sc->v, sc->cap * sizeof(*sc->v));
    }
    sc->v[sc->n++] =
        (struct record){xstrdup(e->path), xstrndup(e->data, e->data_len), e->data_len, sc->layer};
    return 0;
}

static int
by_path(const void *a, const void *b)
{
    return strcmp(((const struct record *) a)->path, ((const struct record *) b)->path);
}

int
sbom_scan(struct store *st, const struct oci_manifest *m, struct sbom *out, struct lade_error *err)
{
    struct scan sc = {0};
    int rc = -1;

    memset(out, 0, sizeof(*out));
    for (sc.layer = 0; sc.layer < m->nlayers; sc.layer++) {
        cleanup_close int fd = store_blob_open(st, m->layers[sc.layer].digest, err);
        if (fd < 0 || layer_list_data(fd, want, collect, &sc, NULL, err) < 0)
            goto out;
    }
    /* os-release first: the deb purls name the distribution */
    if (sc.n > 0)
        qsort(sc.v, sc.n, sizeof(*sc.v), by_path);
    for (size_t i = 0; i < sc.n; i++)
        if (record_kind(sc.v[i].path) == REC_OS) /* etc/ first; a field found stays */
            sbom_parse_os_release(out, sc.v[i].data, sc.v[i].len);
    for (size_t i = 0; i < sc.n; i++) {
        const struct record *r = &sc.v[i];
        switch (record_kind(r->path)) {
        case REC_DPKG:
            sbom_parse_dpkg(out, r->data, r->len);
            break;
        case REC_APK:
            sbom_parse_apk(out, r->data, r->len);
            break;
        case REC_PYTHON:
            sbom_parse_python_metadata(out, r->data, r->len);
            break;
        case REC_NPM:
            sbom_parse_npm_package(out, r->data, r->len);
            break;
        default:
            break;
        }
    }
    rc = 0;
out:
    while (sc.n > 0)
        record_drop(&sc, sc.n - 1);
    free(sc.v);
    return rc;
}

void
sbom_release(struct sbom *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->pkgs[i].type);
        free(s->pkgs[i].name);
        free(s->pkgs[i].version);
        free(s->pkgs[i].arch);
        free(s->pkgs[i].license);
    }
    free(s->pkgs);
    free(s->distro_id);
    free(s->distro_version);
    memset(s, 0, sizeof(*s));
}
