/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* --metadata-file: what buildx writes (the keys of BuildKit's image exporter response) and
 * lade's own record of each step:
 *   containerimage.digest          the manifest digest (the index's with several platforms or
 *                                  attestations)
 *   containerimage.config.digest   the config digest (docker's image ID); absent for an index
 *                                  of several platforms (config_digest NULL)
 *   containerimage.descriptor      the manifest's (index's) {mediaType, digest, size}
 *   image.name                     the -t names as typed, comma-joined (absent without -t)
 *   lade.steps                     [{stage, line, instruction, cached, duration_ms, layer}],
 *                                  the stages in Dockerfile order, each step in order (absent
 *                                  for several platforms: b->plan NULL) */

#include "stage.h"

/* Writes the file atomically (a temporary file renamed over path). */
int metadata_write(struct build *b, const struct oci_desc *mdesc, const char *config_digest,
                   const char *path, struct lade_error *err);
/* The document metadata_write writes; caller decrefs. */
json_t *metadata_json(const struct build *b, const struct oci_desc *mdesc,
                      const char *config_digest);
