/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The packages an image holds, read from the package managers' own records in its layers
 * (whiteouts applied): dpkg's status (and distroless status.d), apk's installed database,
 * Python's *.dist-info/METADATA and npm's node_modules/NAME/package.json; written as an SPDX 2.3
 * JSON document (build --sbom). Files no package manager records (a static binary COPYed in)
 * are not listed: nothing is guessed. */

#include <jansson.h>
#include <stddef.h>

#include "../layers/store/store.h"

struct sbom_package {
    char *type; /* purl type: "deb", "apk", "pypi", "npm" */
    char *name, *version;
    char *arch;    /* or NULL */
    char *license; /* declared by the package manager (apk, npm, Python), or NULL */
};

struct sbom {
    struct sbom_package *pkgs;
    size_t n, cap;
    char *distro_id, *distro_version; /* os-release ID and VERSION_ID, or NULL */
};

/* Reads every layer of m (bottom up) for the package records. */
int sbom_scan(struct store *st, const struct oci_manifest *m, struct sbom *out,
              struct lade_error *err);
void sbom_release(struct sbom *s);

/* The record parsers, on a file's bytes (text need not be NUL-terminated). */
void sbom_parse_dpkg(struct sbom *s, const char *text, size_t len);
void sbom_parse_apk(struct sbom *s, const char *text, size_t len);
void sbom_parse_os_release(struct sbom *s, const char *text, size_t len);
void sbom_parse_python_metadata(struct sbom *s, const char *text, size_t len);
void sbom_parse_npm_package(struct sbom *s, const char *text, size_t len);

/* The SPDX 2.3 document: packages sorted (type, name, version) so the same image gives the same
 * bytes; created is the build's time (the epoch by default); subject names the image. */
json_t *sbom_spdx(const struct sbom *s, const char *subject_name, const char *subject_digest,
                  const char *created, const char *tool_version);
