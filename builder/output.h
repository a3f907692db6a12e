/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* -o/--output as buildx reads it, and writing each output once the image is built:
 *   type=oci|docker,dest=F[,name=N]   an image archive (dest=- : stdout)
 *   type=local,dest=DIR               the target stage's filesystem tree
 *   type=tar,dest=F                   that tree as one tar (dest=- : stdout)
 *   type=image[,push=true] | type=registry[,name=N]   the store only, or pushed too
 *   PATH  (shorthand: type=local,dest=PATH)     -  (shorthand: type=tar,dest=-) */

#include "stage.h"

/* Parses one --output value into *out (release with output_release). Names (name=, a
 * comma-separated list when quoted: name="a,b") are normalised. Errors are LADE_ERR_USAGE. */
int output_parse(const char *spec, struct build_output *out, struct lade_error *err);
void output_release(struct build_output *out);
/* Checks a build's outputs together: at most one writes to stdout, and not to a terminal
 * (stdout_tty) for tar streams, as buildx refuses. */
int outputs_check(const struct build_output *outs, size_t n, bool stdout_tty,
                  struct lade_error *err);
/* Writes every output of b->opts for the target stage ss, whose image mdesc is stored. */
int outputs_write(struct build *b, struct stage_state *ss, const struct oci_desc *mdesc,
                  struct lade_error *err);

/* Several platforms (BuildKit's platform split): type=local and type=tar get one directory per
 * platform, named like linux_amd64 (dir). outputs_platform gives one platform's build its
 * outputs: each local one into DEST/dir, each tar one into TMP/K/dir (K its index in outs);
 * *nout of them, freed with outputs_platform_free. outputs_join then writes TMP/K as the tar. */
struct build_output *outputs_platform(const struct build_output *outs, size_t n, const char *tmp,
                                      const char *dir, size_t *nout);
void outputs_platform_free(struct build_output *outs, size_t n);
int outputs_join(struct build *b, const char *tmp, struct lade_error *err);
