/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Executing a plan: `lade build`. */

#include <stdbool.h>
#include <stdint.h>

#include "cache_spec.h"
#include "common/error.h"
#include "sandbox/isolation.h"
#include "sandbox/sandbox.h"
#include "../layers/layers.h"
#include "../layers/registry/registry.h"
#include "../layers/store/store.h"

/* --progress: auto (tty when stderr is a terminal, else plain), plain, tty, json (also
 * "rawjson"), quiet. progress_mode_parse (progress.h) maps the option's string. */
enum progress_mode {
    PROGRESS_INVALID = -1,
    PROGRESS_AUTO = 0,
    PROGRESS_PLAIN,
    PROGRESS_TTY,
    PROGRESS_JSON,
    PROGRESS_QUIET
};

/* One -o/--output (output.c parses it). */
enum output_type {
    OUTPUT_OCI = 0, /* an OCI image layout in a tar */
    OUTPUT_DOCKER,  /* a docker save archive */
    OUTPUT_LOCAL,   /* the target stage's filesystem tree in a directory */
    OUTPUT_TAR,     /* that tree as one tar */
    OUTPUT_IMAGE,   /* the store only (type=image; with push, type=registry) */
};
struct build_output {
    enum output_type type;
    char *dest;   /* file or directory; "-": stdout (oci, docker, tar); NULL for image */
    char **names; /* name=: full normalised names for archives and pushes; NULL: the -t names */
    bool push;
};

struct build_secrets; /* secrets.h */

struct build_opts {
    const char *context;         /* directory (context.h prepares remote and stdin contexts) */
    const char *dockerfile;      /* path; NULL: CONTEXT/Dockerfile, Containerfile or dockerfile */
    const char *dockerfile_text; /* the Dockerfile itself (stdin, remote): dockerfile unused */
    bool no_dockerignore;        /* the context's .dockerignore is not applied (a stdin tar) */
    size_t dockerfile_len;
    const char *dockerfile_name; /* for messages; NULL: from dockerfile */
    char **named_contexts;       /* --build-context "NAME=VALUE" */
    char **tags;                 /* full normalised names */
    char **build_args;           /* "K=V" (K alone resolved from the environment by the CLI) */
    char **labels;               /* --label "K=V" */
    const char *target;
    bool no_cache;
    bool no_cache_record; /* steps record no cache result (build --verify's rebuild) */
    const struct build_output *outputs; /* -o, in the order given */
    size_t noutputs;
    char **typed_tags;         /* -t as typed, for --metadata-file's image.name (buildx) */
    const char *metadata_file; /* --metadata-file: buildx's keys and lade.steps */
    const char *iidfile;
    enum progress_mode progress;
    int64_t epoch; /* < 0: now (no clamp) */
    enum compression compression;
    int compression_level; /* 0: the default of the compression (layer_default_level) */
    enum sandbox_net net;
    enum isolation isolation; /* --isolation: the tier asked for (AUTO: the best here) */
    bool allow_insecure;      /* --allow security.insecure: RUN --security=insecure may run */
    /* --memory, --cpus, --cpu-quota, --pids-limit: each RUN step's */
    struct sandbox_limits limits;
    /* Registries: a base image not in the store is pulled with reg (its platform selects from
     * multi-platform images); --pull pulls every base image's tag again; --push pushes every tag
     * after the build. reg NULL: no registry access. */
    const struct registry_opts *reg;
    bool pull;
    bool push;
    /* Stages that do not depend on each other are built at once, up to jobs (0: one per CPU;
     * 1: one after the other). The image is the same either way. */
    unsigned jobs;
    /* --secret and --ssh, for RUN --mount=type=secret|ssh; NULL: none given. Borrowed. */
    const struct build_secrets *secrets;
    /* --cache-from (imported records, looked up after the local store) and --cache-to
     * (exported after the image is written): cache_transfer.h. */
    struct cache_specs cache_from, cache_to;
    /* --sbom, --provenance, --attest (attest_opts.c): in-toto statements attached to the image
     * as BuildKit attaches them, which makes the result an OCI index. Off by default. */
    bool sbom;
    enum provenance_mode { PROVENANCE_OFF = 0, PROVENANCE_MIN, PROVENANCE_MAX } provenance;
    char **attest_names; /* the names their subject takes; NULL: tags (--verify's rebuild, which
                            tags nothing, names the first build's tags) */
};

struct plan;
/* Reads and parses the Dockerfile of opts (context, dockerfile, build_args, target). */
int build_load_plan(const struct build_opts *opts, struct plan **out, struct lade_error *err);

/* Builds the target stage, stores it (tagged with opts->tags), writes the outputs.
 * *image_digest_out (may be NULL) receives the manifest digest. A --platform list
 * ("linux/amd64,linux/arm64") builds each platform and makes an OCI image index of them
 * (platform.c): tagged, exported and pushed as one; *manifest_out is then the index's digest. */
int build_run(struct store *st, const struct build_opts *opts, digest_t manifest_out,
              struct lade_error *err);
/* build_run for one platform (opts->reg->platform names at most one). */
int build_run_one(struct store *st, const struct build_opts *opts, digest_t manifest_out,
                  struct lade_error *err);
/* --verify: builds opts again without the cache (tagging, exporting and recording nothing)
 * and compares with manifest, the first build's. Prints "reproducible: DIGEST" on stdout, or
 * fails naming the first step, files and fields that differ. */
int build_verify(struct store *st, const struct build_opts *opts, const char *manifest,
                 struct lade_error *err);
