/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* RUN --mount=type=bind|cache|tmpfs (BuildKit's dockerfile2llb dispatchRunMounts): what each
 * mount binds, its share of the step's cache key, and the sandbox mounts for the run. */

#include "stage.h"

struct run_mount_state;

struct run_mounts {
    struct sandbox_mount *v; /* for sandbox_spec, after run_mounts_setup; n entries */
    size_t n;
    char **view;                /* the mounts' part of the cache key view (cache.h), strv */
    struct run_mount_state *st; /* one per --mount; private */
    size_t nst;
    char **tmpdirs; /* staged copies and inline files, removed by run_mounts_release */
    char **sources; /* what rm->v's sources point to */
};

/* Resolves every --mount of r against the stage (relative targets against WORKDIR) and
 * computes its view: for a bind of the context the content digest of what it binds
 * (.dockerignore applied), for a stage or an image its key; a cache mount's contents are not
 * in the key, as in BuildKit. Types secret and ssh are left to step_run_secret.h.
 * Release rm with run_mounts_release, also after a failure. */
int run_mounts_prepare(struct build *b, struct stage_state *ss, const struct run_cmd *r,
                       struct run_mounts *rm, struct lade_error *err);
/* For a step that runs: stages the context's files, mounts stages read-only (a writable bind
 * gets an overlay whose changes are thrown away), creates and locks cache directories in the
 * store, and fills rm->v. */
int run_mounts_setup(struct build *b, struct run_mounts *rm, struct lade_error *err);
/* Adds a read-only bind on target_dir of a new directory holding one file name (mode 0755)
 * with data: RUN's heredoc scripts on /dev/pipes. After run_mounts_setup. */
int run_mounts_add_inline(struct build *b, struct run_mounts *rm, const char *target_dir,
                          const char *name, const char *data, struct lade_error *err);
/* Unmounts, unlocks and removes what setup made. */
void run_mounts_release(struct build *b, struct run_mounts *rm);
