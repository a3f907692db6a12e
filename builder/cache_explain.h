/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Why a step's cache key missed, in plain words, against the last build of the same stage
 * (cache_explain.c). While keys are made, the named inputs of each (the typed command's
 * fields, the view, a COPY's files with a short hash each) are kept in memory; a record
 * written on a miss gets them beside it (ROOT/cache/.explain/HEX), and a stage that missed
 * writes which keys its steps had (ROOT/cache/.last/HEX of the stage's identity: context,
 * Dockerfile, stage). A fully cached build reads and writes neither. */

#include <jansson.h>
#include <stdbool.h>

#include "common/strv.h"

/* A COPY past this many files keeps only their number: its reason then says the sources
 * changed without naming files. */
#define CACHE_EXPLAIN_MAX_FILES 10000

/* The reason for a miss of the step whose inputs are cur, against prev (the same step of the
 * last build) and the stages' bases (each {"base": identity, "build": clamp and compression}).
 * earlier_miss: a step before it missed in this build. arg_names (may be NULL) tells a build
 * arg from an ENV. Caller frees. Inputs are {"parent", "what", "cmd": ["tag=value"...],
 * "view": ["name=value"...], "files": {path: hash}, "nfiles": N}. */
char *cache_explain_diff(const json_t *prev, const json_t *cur, const json_t *prev_base,
                         const json_t *cur_base, bool earlier_miss, const struct envmap *arg_names);
