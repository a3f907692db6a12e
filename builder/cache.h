/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The local build cache (DESIGN.md "Build cache"): ROOT/cache/HEX(key) records the layer a
 * filesystem step produced, or that it produced none. It looks up and records; the stage adds
 * what a hit gives (layers, history). */

#include "stage.h"

/* Starts a stage's key from its base: an image's manifest digest, "scratch" (with the platform
 * when not the host's) or, for FROM stage, that stage's key (copied, not through here). The
 * build's clamp and compression enter too: they change the layer bytes. So does the stage's
 * platform (ss->platform) when it is not the host's, so that two platforms never share a step
 * even on the same base image (one used for another platform than its own). A stage whose platform
 * is the same in every platform of a multi-platform build (FROM --platform=$BUILDPLATFORM) has the
 * same keys in each: built once. */
void cache_key_init(struct build *b, struct stage_state *ss, const char *base_identity);

/* Chains one step into the stage's key. The key of a step is SHA-256 over:
 *   - the parent key (the base's identity, clamp and compression at the start of a stage);
 *   - the instruction kind and its typed command after expansion (command_expand): for COPY/ADD
 *     every source and the destination as expanded, --from, --chown, --chmod, --link,
 *     --parents, --exclude, --unpack, each heredoc's name and body as expanded; for RUN
 *     every option of every --mount (type, from, source, target, id, env, ro, required,
 *     sharing, size, mode, uid, gid), --network and --security; WORKDIR's path; HEALTHCHECK's
 *     options; for the instructions without flags, the text as written (their expanded effect
 *     reaches later steps through the config, which those steps put in their view);
 *   - view: what the step can see and that changes its result, as "name=value" strings the step
 *     supplies: RUN its command after the SHELL prefix, its whole environment (ENV and the build
 *     args in scope), USER, WORKDIR and network mode, its heredocs' bodies, and per mount the
 *     resolved target and what it shows: for a bind of the context the content digest of the
 *     bound files (.dockerignore applied, as COPY's), for from= a stage or an image its key (a
 *     cache mount's contents are never in the key, as in BuildKit); COPY/ADD the resolved
 *     destination, the content digest of its sources (paths, modes, owners as they will be
 *     set, hardlinks, file digests; never mtimes) or the key of the --from stage; WORKDIR the
 *     resolved path and USER.
 * Build args that no ARG declares are not in any view, so they never change a key. */
void cache_key_step(struct stage_state *ss, const struct command *cmd, char *const *view);

/* Looks the stage's key up (--no-cache: always a miss): true on a hit, with *l the recorded
 * layer without its dir, or zeroed (l->diff_id[0] == '\0') for "no layer". A damaged record or
 * a missing blob is a miss, never an error. */
bool cache_lookup(struct build *b, const struct stage_state *ss, struct layer_state *l);
/* Records the result of the step whose key is ss->key: layer l, or NULL for no layer. */
int cache_record(struct build *b, const struct stage_state *ss, const struct layer_state *l,
                 struct lade_error *err);

/* ---- why a key missed (cache_explain_store.c; cache_explain.h has the comparison) ---- */
struct cache_explain;
void cache_explain_free(struct cache_explain *x);
/* The stage's base, for "base image changed": the first call of a stage counts (the key's
 * init calls it; a stage FROM a stage gives "stage KEY"). */
void cache_explain_base(struct stage_state *ss, const char *identity, const char *build);
/* The named inputs of the key cache_key_step just made (it calls this). */
void cache_explain_inputs(struct stage_state *ss, const char *parent, const char *what, char **cmd,
                          char *const *view);
/* For copy_opts.on_entry (ctx: the stage_state): a COPY's entry, listed in the next key's
 * inputs (up to CACHE_EXPLAIN_MAX_FILES). */
void cache_explain_copy_entry(void *ctx, const char *rel, const char *meta, const char *extra);
/* After a lookup of ss's key: on a miss, why, in plain words (caller frees); NULL on a hit. */
char *cache_explain_lookup(struct build *b, struct stage_state *ss, bool hit);
/* Beside the record of ss's key (cache_record calls it): its inputs. */
void cache_explain_record(struct build *b, const struct stage_state *ss);
/* At a stage's end, built or failed: when a step missed, its keys become the stage's last
 * build. */
void cache_explain_stage_end(struct build *b, struct stage_state *ss, bool failed);

/* ---- lade prune, lade system df (cache_prune.c) ---- */
struct prune_opts {
    bool all;             /* every cache record and idle cache mount */
    int64_t until;        /* > 0: the records and cache mounts not used for this many seconds */
    int64_t keep_storage; /* >= 0: then the least recently used records (then the idle cache
                             mounts) until the store takes at most this many bytes */
    bool dry;             /* count only (system df): nothing removed, no exclusive use */
    bool nowait;          /* when another lade process uses the store, remove nothing */
};
struct prune_report {
    struct store_usage records_total, records_freed;
    struct store_gc_result total, freed; /* blobs, extracted layers, cache mounts */
    bool skipped;                        /* nowait, and the store was in use */
};
/* Removes the chosen records, damaged ones (and those whose layer is gone) always, then what
 * neither an image nor a remaining record reaches (store_gc). Waits for other lade processes
 * using the store. */
int cache_prune(struct store *st, const struct prune_opts *o, struct prune_report *rep,
                struct lade_error *err);
