/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The steps the driver dispatches: each reads its typed command (or, for the instructions
 * without flags, the instruction) and the stage, and calls down into the stage, the cache and
 * layers/. b->step_cached tells the driver whether the step was a cache hit. */

#include "stage.h"

/* step_run.c */
int step_run(struct build *b, struct stage_state *ss, const struct command *cmd,
             struct lade_error *err);
/* step_copy.c: COPY and ADD */
int step_copy(struct build *b, struct stage_state *ss, const struct command *cmd,
              struct lade_error *err);
/* step_from.c: the root a --from names (COPY --from, RUN --mount from=): a named context (a
 * directory is used in place, with its .dockerignore), a built stage or an image, both mounted
 * read-only. fd and path stay valid until from_root_close. */
struct from_root {
    int fd;                            /* the root directory */
    const char *path;                  /* its path, for a bind mount */
    const struct dockerignore *ignore; /* a directory context's .dockerignore, or NULL */
    bool keep_owner;                   /* a stage or image: files keep their owners */
    struct fs_step fs;                 /* private: the read-only mount */
    struct stage_state image;          /* private: an image's state */
    int own_fd;                        /* private: fs's root fd (0: none) */
};
int from_root_open(struct build *b, const char *from, struct from_root *r, struct lade_error *err);
void from_root_close(struct build *b, struct stage_state *ss, struct from_root *r);
/* step_context.c: a stage's base (FROM NAME) or a whole stage replaced by a named context
 * (--build-context): an image, or a directory as one layer on scratch. */
int step_from_named_context(struct build *b, struct stage_state *ss, const struct named_context *nc,
                            struct lade_error *err);
/* step_run_mounts.c: RUN --mount */
struct run_mounts;
/* step_workdir.c: sets the working directory and creates it in a layer */
int step_workdir(struct build *b, struct stage_state *ss, const struct command *cmd,
                 struct lade_error *err);
/* instr_expose_health.c */
int step_healthcheck(struct build *b, struct stage_state *ss, const struct command *cmd,
                     struct lade_error *err);
int step_expose(struct build *b, struct stage_state *ss, const struct instr *in,
                struct lade_error *err);
/* instr_config.c: ENV ARG LABEL EXPOSE USER CMD ENTRYPOINT VOLUME SHELL STOPSIGNAL ONBUILD
 * MAINTAINER (HEALTHCHECK through step_healthcheck). */
int step_config(struct build *b, struct stage_state *ss, const struct instr *in,
                struct lade_error *err);
/* The command of RUN/CMD/ENTRYPOINT: exec form as is, shell form prefixed by the SHELL. */
char **instr_command(json_t *config, const struct instr *in);
/* text run by the SHELL in force (BuildKit's withShell). */
char **shell_command(json_t *config, const char *text);
/* The process environment of a RUN: the stage's state environment (stage_vars), PATH defaulted. */
char **stage_run_env(struct stage_state *ss);
