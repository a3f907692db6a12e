/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The state of one build and of its stages: what the step files (RUN, COPY/ADD, the config
 * instructions) read and change. The driver (build.c) creates it and orders the work; the steps
 * call down into the stage (config, expander, lower dirs, history, the overlay step, committing
 * a layer), the cache and layers/, never back into the driver. */

#include <jansson.h>

#include "build.h"
#include "context.h"
#include "digest_cache.h"
#include "progress.h"
#include "common/strv.h"
#include "../parser/parser.h"

struct layer_state {
    digest_t chain_id;
    digest_t diff_id;
    struct oci_desc blob; /* compressed blob: media type, digest, size */
    char *dir;            /* the extracted tree in the store, used as an overlay lower dir */
};

/* What one step did, for --metadata-file (metadata.c). */
struct step_record {
    unsigned line; /* the Dockerfile line of the instruction; 0 for an ONBUILD trigger */
    char *text;    /* the instruction as written; owned */
    bool cached;
    int64_t ms;     /* how long the step took */
    digest_t layer; /* the layer blob it added; "" when it added none */
};

struct stage_state {
    const struct stage *stage;
    json_t *config;             /* the image config being built; owned */
    struct layer_state *layers; /* bottom first */
    size_t nlayers;
    struct envmap args;      /* "K=V" of the declared ARGs that have a value */
    struct envmap arg_names; /* every ARG declared in the stage (or its parent stage), bare */
    struct envmap env;       /* the config's Env, indexed (stage_env) */
    /* BuildKit's state environment (stage_vars): the base's Env, then every ENV and every ARG
     * with a value in order, a later one replacing an earlier of the same name in place. What
     * words are expanded with and what RUN gets: an ARG after an ENV of its name wins there,
     * though the config's Env keeps the ENV. */
    struct envmap vars;
    bool vars_ready;              /* vars holds the base's Env */
    const json_t *env_json;       /* the Env array that env mirrors */
    struct dockerfile **triggers; /* parsed ONBUILD triggers of the base, kept for positions */
    size_t ntriggers;
    digest_t key;                  /* build cache key after the last instruction */
    struct cache_explain *explain; /* the inputs of its keys, for why one missed (cache.h) */
    /* The stage's platform: FROM --platform, else its base stage's, else the build's (--platform
     * or the host's). Bases are picked for it and RUN executes for it (emulated when foreign). */
    struct oci_platform platform;
    bool cmd_set; /* CMD given in this stage (ENTRYPOINT clears an inherited CMD only) */
    bool built;
    struct step_record *steps; /* this stage's steps, FROM first (not inherited) */
    size_t nsteps;
    struct base_tree *tree; /* its layers' listings while its base is not extracted; owned */
};

/* What the stages built at once (build.c's workers) share, guarded by mu. */
struct build_shared {
    pthread_mutex_t mu;
    char **pulled;               /* base images pulled in this build (--pull pulls each once) */
    struct cache_transfer *xfer; /* --cache-from/--cache-to (cache_transfer.h); NULL: none */
    char **bases; /* "NAME@MANIFEST-DIGEST" of every image loaded (FROM, COPY --from), for
                     provenance (attest_build.c) */
};

/* One build: shared by the driver and the steps. A worker building a stage alongside others
 * gets a copy of it with its own progress and step_cached; the rest is shared. */
struct build {
    struct store *st;
    const struct build_opts *opts;
    struct plan *plan;
    struct stage_state *stages;  /* plan->nstages; a stage is used only once built */
    struct dockerignore *ignore; /* NULL: no .dockerignore */
    int context_fd;
    struct progress progress;
    char created[40];    /* the build's time, RFC 3339 */
    int64_t clamp;       /* layer mtime clamp (< 0: none) */
    bool step_cached;    /* the step just run was a cache hit */
    enum isolation tier; /* how RUN is isolated (never AUTO once the build started) */
    struct build_shared *shared;
    struct named_contexts named; /* --build-context (read only once prepared) */
    struct digest_cache *hashes; /* the context's file digests (digest_cache.h), or NULL */
};

/* ---- stage.c ---- */
/* A stage built FROM another stage of this build starts as a copy of it (config, layers, key,
 * and the ARGs it declared, as BuildKit inherits them). src must be built. */
void stage_init_from(struct stage_state *ss, const struct stage_state *src);
void stage_state_release(struct stage_state *ss);
/* Records a step that has run: nlayers_before is the stage's layer count before it (a newer
 * top layer is the step's), start_ns its CLOCK_MONOTONIC start (stage_clock_ns). */
void stage_record_step(struct stage_state *ss, unsigned line, const char *text, bool cached,
                       int64_t start_ns, size_t nlayers_before);
int64_t stage_clock_ns(void);
/* Expansion environment for a stage: its ENV (config) over its ARGs. */
void stage_expander(struct stage_state *ss, const struct dockerfile *df, struct expander *x);
/* path made absolute against the stage's WORKDIR and cleaned (BuildKit's
 * pathRelativeToWorkingDir; "" is the working directory); caller frees. */
char *stage_abs_path(struct stage_state *ss, const char *path);
/* Overlay lower dirs (top first) for a stage's layers; free the vector only (strings borrowed). */
char **stage_lowerdirs(const struct stage_state *ss);
/* The built stage that a --from names (name or index), or NULL when it names no stage. */
const struct stage_state *stage_find_built(const struct build *b, const char *name);
/* Records the upper dir at upper_path as the stage's next layer and records it in the cache
 * under the stage's key. The tree is moved into the store; upper_path is gone after. */
int stage_commit_layer(struct build *b, struct stage_state *ss, const char *upper_path,
                       const char *created_by, struct lade_error *err);
/* Extracts the stage's layers that a cache import left as blobs elsewhere (dir NULL): a step
 * is about to see the stage's filesystem. */
int stage_layers_ready(struct build *b, const struct stage_state *ss, struct lade_error *err);
/* The directory of l's tree when it is extracted already (or LADE_LAZY_BASE=0 asks every
 * layer extracted as the stage gets it), else NULL: stage_layers_ready extracts it when a step
 * reads the stage's whole tree. Caller frees. */
char *stage_layer_extracted(struct build *b, const struct layer_state *l);
bool stage_lazy_enabled(void);
/* Adds layer l (whose tree is in the store, or dir NULL: only in a cache import) on top of the
 * stage, with its history entry. */
void stage_push_layer(struct build *b, struct stage_state *ss, const struct layer_state *l,
                      const char *created_by);
void stage_add_history(struct build *b, struct stage_state *ss, const char *created_by, bool empty);
/* Looks the stage's current key up in the cache; on a hit (*hit) the recorded layer, or an
 * empty-layer history entry, is added with created_by. */
int stage_try_cache(struct build *b, struct stage_state *ss, const char *created_by, bool *hit,
                    struct lade_error *err);

/* A step directory in the store's tmp/: STEP/{upper,work,merged}. */
struct tree_snapshot;
struct fs_step {
    char *dir, *upper, *work, *merged;
    bool mounted;
    struct fs_lazy *lazy; /* fs_step_begin_adding on a base not extracted; merged is upper */
    /* the chroot tier: merged is a plain tree, and this its state before the step; the
     * layer is what changed since (stage_tree.c) */
    struct tree_snapshot *snap;
};
/* Creates the directories and, when mount is true, mounts the stage's rootfs read-write on
 * merged (changes go to upper). */
int fs_step_begin(struct build *b, struct stage_state *ss, bool mount, struct fs_step *fs,
                  struct lade_error *err);
/* fs_step_begin with the stage's rootfs for a step that only adds files at paths (absolute,
 * NULL-terminated), as COPY and WORKDIR do. While some layer of the stage is not extracted,
 * nothing is: merged then names the upper dir, holding what the step needs of the base along
 * paths (stage_lazy.c), and users=true readies the base's /etc/passwd and /etc/group for
 * fs_step_lookup_user. */
int fs_step_begin_adding(struct build *b, struct stage_state *ss, const char *const *paths,
                         bool users, struct fs_step *fs, struct lade_error *err);
/* rootfs_lookup_user for the step: in its root rootfd, or in the base's files when lazy. */
int fs_step_lookup_user(const struct fs_step *fs, int rootfd, const char *spec, uid_t *uid,
                        gid_t *gid, struct lade_error *err);
/* Unmounts, commits upper as a layer (when commit), removes the step directory. 1 (nothing
 * committed): a step begun lazily wrote a path of the base; the base is extracted now, and the
 * step is to be run again from fs_step_begin_adding. */
int fs_step_end(struct build *b, struct stage_state *ss, struct fs_step *fs, bool commit,
                const char *created_by, struct lade_error *err);
/* Mounts the layers of src read-only on a step directory of its own; *rootfd opens it (the
 * chroot tier copies them into a plain tree there instead). */
int fs_step_mount_ro(struct build *b, const struct stage_state *src, struct fs_step *fs,
                     int *rootfd, struct lade_error *err);

/* ---- stage_tree.c: the chroot tier's plain trees instead of overlay mounts ---- */
/* Builds the filesystem of ss (its layers applied bottom first) in the empty directory dir. */
int stage_tree_fill(const struct stage_state *ss, const char *dir, struct lade_error *err);
/* Records fs->merged's state before the step, leaving out skip (NULL: nothing). */
int fs_step_snapshot(struct fs_step *fs, char *const *skip, struct lade_error *err);
/* Writes what changed in fs->merged since the snapshot into fs->upper, as overlay would, and
 * drops the snapshot (fs_step_end then commits upper as it is; without this call it calls it). */
int fs_step_diff(struct fs_step *fs, struct lade_error *err);

/* ---- base.c ---- */
/* Fills ss (config, layers extracted in the store) from an image in the store, pulling it from
 * its registry when missing (or, with --pull, when the registry's tag may have moved). */
int stage_load_image(struct build *b, struct stage_state *ss, const char *name,
                     struct lade_error *err);
/* The empty base of FROM scratch, on the stage's platform. */
void stage_scratch_base(struct build *b, struct stage_state *ss);
/* Sets ss->platform for stage s (before its base is loaded): FROM --platform (expanded by the
 * plan), else the base stage's (built already), else the build's. A malformed one is an error. */
int stage_set_platform(struct build *b, struct stage_state *ss, const struct stage *s,
                       struct lade_error *err);
/* o->build_args with BuildKit's automatic platform args (BUILDPLATFORM, TARGETARCH, ...) added
 * where not given; caller frees (strv_free). */
char **build_platform_args(const struct build_opts *o);
/* RUN for the stage's platform: native, or emulated by a registered binfmt_misc interpreter
 * (binfmt.h); without one an error saying how to register it. */
int build_check_run_platform(const struct stage_state *ss, struct lade_error *err);

/* The config's Env as an index, rebuilt only when the config was replaced: after the base is
 * set, Env changes only through ENV (instr_config.c), which keeps both in step. */
const struct envmap *stage_env(struct stage_state *ss);
/* The state environment (stage_state.vars), taken from the base's Env on first use. */
struct envmap *stage_vars(struct stage_state *ss);
/* A variable as instructions see it (stage_vars); NULL when unset. */
const char *stage_var(struct stage_state *ss, const char *name);

/* "docker's default PATH" */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
