/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The end of a build: the target stage written as an image (config, manifest) into the store,
 * tagged, exported to archives and pushed. */

#include "stage.h"

/* Writes the config (with --label values and the build's time) and the manifest of ss into
 * the store; *mdesc describes the manifest, config_digest names the config. */
int image_write(struct build *b, struct stage_state *ss, struct oci_desc *mdesc,
                digest_t config_digest, struct lade_error *err);
/* Tags, --iidfile (the -o outputs are output.c's). */
int image_export(struct build *b, const struct oci_desc *mdesc, const char *config_digest,
                 struct lade_error *err);
/* --push: every tag to its registry. */
int image_push_tags(struct build *b, const struct oci_desc *mdesc, struct lade_error *err);
