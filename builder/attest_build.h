/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Attestations of a build (--sbom, --provenance): once the image is stored, its statements are
 * made from the build (the Dockerfile, args, the images it used) and the image's own tree, and
 * the image with its attestation manifest becomes an OCI index, as BuildKit returns it even
 * for one platform. The index is what is tagged, exported (oci) and pushed. */

#include "attest.h"
#include "stage.h"

/* True when opts ask for any attestation. */
bool attest_wanted(const struct build_opts *o);
/* The image manifest of top: top itself, or the image of an index made for attestations (the
 * entry whose platform is not unknown/unknown). A docker archive takes it alone. */
int attest_image_of(struct store *st, const struct oci_desc *top, struct oci_desc *image,
                    struct lade_error *err);
/* Stores the statements about image mdesc (the target stage ss), their attestation manifest
 * and the index [image, attestation manifest]; *index describes the index. */
int attest_image(struct build *b, const struct stage_state *ss, const struct oci_desc *mdesc,
                 struct oci_desc *index, struct lade_error *err);
/* An index's entry for a platform's image manifest m. */
json_t *attest_index_entry(const struct oci_desc *m, const struct oci_platform *p);
