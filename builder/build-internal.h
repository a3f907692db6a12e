/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Shared between the build driver (build.c), the config instructions (instr_config.c), RUN
 * (step_run.c) and COPY/ADD (copy.c). */

#include <jansson.h>

#include "build.h"
#include "progress.h"
#include "common/strv.h"
#include "../parser/parser.h"

struct layer_state {
    digest_t chain_id;
    digest_t diff_id;
    struct oci_desc blob; /* compressed blob: media type, digest, size */
    char *dir;            /* the extracted tree in the store, used as an overlay lower dir */
};

struct stage_state {
    const struct stage *stage;
    json_t *config;             /* the image config being built; owned */
    struct layer_state *layers; /* bottom first */
    size_t nlayers;
    struct envmap args;           /* "K=V" of the declared ARGs that have a value */
    struct envmap arg_names;      /* every ARG declared in the stage (or its parent stage), bare */
    struct envmap env;            /* the config's Env, indexed (stage_env) */
    const json_t *env_json;       /* the Env array that env mirrors */
    struct dockerfile **triggers; /* parsed ONBUILD triggers of the base, kept for positions */
    size_t ntriggers;
    digest_t key; /* build cache key after the last instruction */
    bool cmd_set; /* CMD given in this stage (ENTRYPOINT clears an inherited CMD only) */
    bool built;
    bool building; /* for cycle detection */
};

struct build {
    struct store *st;
    const struct build_opts *opts;
    struct plan *plan;
    struct stage_state *stages;
    struct dockerignore *ignore; /* NULL: no .dockerignore */
    int context_fd;
    struct progress progress;
    char created[40]; /* the build's time, RFC 3339 */
    int64_t clamp;    /* layer mtime clamp (< 0: none) */
    bool step_cached; /* the step just run was a cache hit */
    char **pulled;    /* base images pulled in this build (--pull pulls each once) */
};

/* ---- base.c ---- */
/* Fills ss (config, layers extracted in the store) from an image in the store, pulling it from
 * its registry when missing (or, with --pull, when the registry's tag may have moved). */
int stage_load_image(struct build *b, struct stage_state *ss, const char *name,
                     struct lade_error *err);
/* The empty base of FROM scratch, on the target platform. */
void stage_scratch_base(struct build *b, struct stage_state *ss);
/* o->build_args with BuildKit's automatic platform args (BUILDPLATFORM, TARGETARCH, ...) added
 * where not given; caller frees (strv_free). */
char **build_platform_args(const struct build_opts *o);
/* RUN needs the host's platform: lade does not emulate others. */
int build_check_run_platform(const struct build *b, struct lade_error *err);

/* ---- build.c ---- */
/* Builds stage idx (and what it depends on) once. */
int build_stage(struct build *b, size_t idx, struct lade_error *err);

void stage_state_release(struct stage_state *ss);
/* Expansion environment for a stage: its ENV (config) over its ARGs. */
void stage_expander(struct stage_state *ss, const struct dockerfile *df, struct expander *x);
/* Overlay lower dirs (top first) for a stage's layers; free the vector only (strings borrowed). */
char **stage_lowerdirs(const struct stage_state *ss);
/* Records the upper dir at upper_path as the stage's next layer, or as an empty-layer history
 * entry when the diff is empty. The tree is moved into the store; upper_path is gone after. */
int stage_commit_layer(struct build *b, struct stage_state *ss, const char *upper_path,
                       const char *created_by, struct lade_error *err);
void stage_add_history(struct build *b, struct stage_state *ss, const char *created_by, bool empty);
/* Sets err's position to the instruction and its source line; returns -1. */
int build_error_at(struct build *b, const struct instr *in, struct lade_error *err);

/* A step directory in the store's tmp/: STEP/{upper,work,merged}. */
struct fs_step {
    char *dir, *upper, *work, *merged;
    bool mounted;
};
/* Creates the directories and, when mount is true, mounts the stage's rootfs read-write on
 * merged (changes go to upper). */
int fs_step_begin(struct build *b, struct stage_state *ss, bool mount, struct fs_step *fs,
                  struct lade_error *err);
/* Unmounts, commits upper as a layer (when commit), removes the step directory. */
int fs_step_end(struct build *b, struct stage_state *ss, struct fs_step *fs, bool commit,
                const char *created_by, struct lade_error *err);

/* ---- cache.c ---- */
/* Starts a stage's key from its base (an image's manifest digest, "scratch", a stage's key). */
void cache_key_init(struct build *b, struct stage_state *ss, const char *base_identity);
/* Chains text and the extra strings (may be NULL) into the stage's key. */
void cache_key_step(struct stage_state *ss, const char *text, char *const *extra);
/* Looks the stage's key up: on a hit the recorded layer (or none) is added with created_by and
 * *hit is set. --no-cache makes every lookup a miss. */
int cache_try(struct build *b, struct stage_state *ss, const char *created_by, bool *hit,
              struct lade_error *err);
/* Records the result of the step whose key is ss->key: layer l, or NULL for no layer. */
int cache_record(struct build *b, const struct stage_state *ss, const struct layer_state *l,
                 struct lade_error *err);

/* ---- instr_config.c ---- */
/* ENV ARG LABEL EXPOSE USER CMD ENTRYPOINT VOLUME SHELL STOPSIGNAL HEALTHCHECK ONBUILD
 * MAINTAINER, and WORKDIR's config part. */
int step_config(struct build *b, struct stage_state *ss, const struct instr *in,
                struct lade_error *err);
/* The command of RUN/CMD/ENTRYPOINT: exec form as is, shell form prefixed by the SHELL. */
char **instr_command(json_t *config, const struct instr *in);
/* The process environment of a RUN: config Env + build args in scope (ENV wins), PATH defaulted. */
char **stage_run_env(struct stage_state *ss);
/* The config's Env as an index, rebuilt only when the config was replaced: after the base is
 * set, Env changes only through ENV (instr_config.c), which keeps both in step. */
const struct envmap *stage_env(struct stage_state *ss);
/* A variable as instructions see it: the stage's ENV, else its ARG value; NULL when unset. */
const char *stage_var(struct stage_state *ss, const char *name);
/* "docker's default PATH" */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* WORKDIR: resolves the path, sets it and creates the directory in a layer. */
int step_workdir(struct build *b, struct stage_state *ss, const struct instr *in,
                 struct lade_error *err);

/* ---- rootfs.c: paths inside an image's root, never escaping it ---- */
/* openat2(RESOLVE_IN_ROOT) of path (absolute or relative, taken from the root) under rootfd. */
int rootfs_open(int rootfd, const char *path, int flags, mode_t mode, struct lade_error *err);
/* mkdir -p inside the root; created directories get mode and uid/gid. */
int rootfs_mkdir_p(int rootfd, const char *path, mode_t mode, uid_t uid, gid_t gid,
                   struct lade_error *err);
/* --chown / WORKDIR-owner syntax ("name", "uid", "name:group", "uid:gid") resolved with the
 * root's /etc/passwd and /etc/group; numeric ids need no files; no group means gid = uid. */
int rootfs_lookup_user(int rootfd, const char *spec, uid_t *uid, gid_t *gid,
                       struct lade_error *err);
/* Cleans an absolute path ("/a/./b/../c/" -> "/a/c"); caller frees. */
char *path_clean_abs(const char *path);

/* ---- instr_expose_health.c ---- */
int step_expose(struct build *b, struct stage_state *ss, const struct instr *in,
                struct lade_error *err);
int step_healthcheck(struct build *b, struct stage_state *ss, const struct instr *in,
                     struct lade_error *err);

/* ---- step_run.c ---- */
int step_run(struct build *b, struct stage_state *ss, const struct instr *in,
             struct lade_error *err);

/* ---- copy.c ---- */
int step_copy(struct build *b, struct stage_state *ss, const struct instr *in,
              struct lade_error *err);
