/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Import and export of image archives with libarchive, streamed blob by blob. */

#include "../store/store.h"

enum archive_format {
    ARCHIVE_OCI = 0, /* an OCI image layout in a tar (oci-archive) */
    ARCHIVE_DOCKER,  /* docker save format: manifest.json + repositories, with the OCI layout
                        beside it as docker 25 writes it, so both loaders accept it */
};

/* Writes the image named by manifest (and its config and layers from the store) to the tar at
 * path (written to a temporary name and renamed). names: full normalised references to record
 * (index annotations / RepoTags); may be NULL. */
int archive_export(struct store *st, const struct oci_desc *manifest, char *const *names,
                   enum archive_format fmt, const char *path, struct lade_error *err);
/* archive_export to an open fd (a pipe or stdout too), streamed; nothing else is written. */
int archive_export_fd(struct store *st, const struct oci_desc *manifest, char *const *names,
                      enum archive_format fmt, int fd, struct lade_error *err);
/* Reads an OCI or docker archive (detected), stores every blob (verified against its digest),
 * and tags the images it names. names_out (may be NULL): strv of the tags set; caller frees. */
int archive_import(struct store *st, const char *path, char ***names_out, struct lade_error *err);
/* archive_import, also giving (untagged_out, may be NULL) the manifest digests of the images
 * found that no name was given to: the only handle on them, as the store lists tagged images
 * only. Caller frees both strvs. */
int archive_import_ex(struct store *st, const char *path, char ***names_out, char ***untagged_out,
                      struct lade_error *err);
/* Stores the archive's images without tagging any (nothing in the store is renamed): their
 * manifest digests in manifests_out (strv, caller frees). lade prune removes them later. */
int archive_import_manifests(struct store *st, const char *path, char ***manifests_out,
                             struct lade_error *err);
