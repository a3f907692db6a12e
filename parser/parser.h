/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The Dockerfile front end: text -> AST -> plan, shell-word expansion, .dockerignore matching.
 * Pure code: no I/O. Everything returned is owned by the returned object unless said otherwise. */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../builder/common/error.h"

enum instr_kind {
    INSTR_UNKNOWN = 0,
    INSTR_FROM,
    INSTR_RUN,
    INSTR_CMD,
    INSTR_ENTRYPOINT,
    INSTR_COPY,
    INSTR_ADD,
    INSTR_ENV,
    INSTR_ARG,
    INSTR_LABEL,
    INSTR_EXPOSE,
    INSTR_WORKDIR,
    INSTR_USER,
    INSTR_VOLUME,
    INSTR_SHELL,
    INSTR_STOPSIGNAL,
    INSTR_HEALTHCHECK,
    INSTR_ONBUILD,
    INSTR_MAINTAINER,
};

struct heredoc {
    char *name;
    char *content; /* the body lines verbatim with their '\n'; tabs kept even with chomp */
    bool expand;   /* false when any part of the name was quoted */
    bool chomp;    /* <<- */
    int fd;        /* 3<<EOF -> 3; default 0 */
};

/* One instruction. Arguments are as BuildKit's parser gives them (see the conformance README):
 * - FROM, EXPOSE: whitespace split; ADD/COPY/VOLUME: JSON array or whitespace split;
 * - RUN/CMD/ENTRYPOINT/SHELL: JSON array (json = true) or one node with the whole text;
 * - ENV/LABEL: triplets name, value, sep ("=" or "") so nargs is a multiple of 3;
 *   values keep their quotes; the builder expands them;
 * - ARG: words with quotes kept; HEALTHCHECK: type then as CMD; ONBUILD: sub holds the inner one;
 * - MAINTAINER/USER/WORKDIR/STOPSIGNAL: one node; unknown: one empty node. */
struct instr {
    enum instr_kind kind;
    char *keyword;       /* lower-cased as written ("from") */
    struct lade_pos pos; /* first physical line, column of the keyword (1-based) */
    unsigned end_line;   /* last physical line (heredoc bodies included) */
    char *original;      /* the logical line, continuations joined */
    char **flags;        /* "--from=x" as processed; nflags entries */
    size_t nflags;
    char **args;
    size_t *arglens; /* byte lengths of args: a JSON "\u0000" puts a NUL inside an argument */
    size_t nargs;
    bool json; /* exec form ["a","b"] */
    struct heredoc *heredocs;
    size_t nheredocs;
    struct instr *sub; /* ONBUILD's instruction, else NULL */
};

struct dockerfile {
    char *filename;
    struct instr *instrs;
    size_t n;
    char escape;  /* '\\' or '`' from the escape directive */
    char *syntax; /* the syntax directive or NULL */
    char **lines; /* physical lines (without newline), for error displays; nlines entries */
    size_t nlines;
};

/* Parses a whole Dockerfile held in memory. filename is used in positions.
 * Errors: LADE_ERR_PARSE with pos (and src_line) set. After parsing, the instructions are
 * checked as BuildKit's instructions package does (unknown instruction "FROBNICATE", argument
 * counts, unknown or malformed flags, ...) unless flags has DOCKERFILE_RAW. */
enum dockerfile_flags {
    /* conformance dump: keep unknown keywords as nodes and skip the instruction checks */
    DOCKERFILE_RAW = 1 << 0,
    DOCKERFILE_KEEP_UNKNOWN = DOCKERFILE_RAW, /* the former name */
};
int dockerfile_parse_mem(const char *src, size_t len, const char *filename, unsigned flags,
                         struct dockerfile **out, struct lade_error *err);
void dockerfile_free(struct dockerfile *df);
/* BuildKit's parse-tree dump ("(from \"x\")\n" per instruction), for the conformance suite. */
void dockerfile_dump(const struct dockerfile *df, FILE *f);
/* Sets err's src_line from df's line at pos->line (for errors found after parsing). */
void dockerfile_error_at(const struct dockerfile *df, const struct lade_pos *pos,
                         struct lade_error *err);
/* COPY/ADD: the heredoc an argument like "<<EOF" refers to (BuildKit's MustParseHeredoc plus
 * a lookup by name in in->heredocs), or NULL when the argument is a plain path. */
const struct heredoc *instr_heredoc_for_arg(const struct instr *in, const char *arg);
/* The content with leading tabs removed from every line (what <<- means); caller frees. */
char *heredoc_chomp(const char *content);
/* Go's time.ParseDuration (HEALTHCHECK --interval=30s): 0 and *ns, or -1 (invalid). */
int dockerfile_parse_duration(const char *s, long long *ns);

/* Shell-word expansion as BuildKit's shell lexer does it ($VAR, ${VAR}, ${VAR:-x}, ${VAR:+x},
 * ${VAR-x}, ${VAR+x}, ${VAR:?msg}, ${VAR#pat} ## % %% / //, quotes, escapes).
 * lookup returns the value of a variable or NULL when it is unset. */
typedef const char *(*expand_lookup_fn)(void *ud, const char *name);
struct expander {
    char escape;
    expand_lookup_fn lookup;
    void *ud;
};
/* One word: quotes removed, variables expanded, no field splitting. *out: caller frees. */
int expand_word(const struct expander *x, const char *word, char **out, struct lade_error *err);
/* Splits text into words the way the shell lexer does (quotes group; unquoted whitespace
 * splits, including whitespace inside the value of an unquoted $VAR), expanding each.
 * *out: NULL-terminated strv. */
int expand_words(const struct expander *x, const char *text, char ***out, struct lade_error *err);
/* Heredoc bodies (COPY <<EOF with expansion): expands variables, leaves quotes alone and
 * processes backslash escapes ("\$" -> "$"), always with a backslash whatever x->escape
 * says, as BuildKit's raw expander does. */
int expand_raw(const struct expander *x, const char *text, char **out, struct lade_error *err);
/* Bounds against hostile Dockerfiles (values doubling at every line, lines of $BIG
 * references): what one expansion gives (a word, or expand_words' whole text), and a stage's
 * ENV and ARG values with those of the instruction being run (the meta ARGs on their own).
 * Beyond them: LADE_ERR_PARSE. */
#define EXPAND_MAX_WORD (1u << 20)
#define EXPAND_MAX_ENV (16u << 20)

/* Typed instructions (command.c): an instruction's flags and words expanded once, with the
 * stage's environment at the time its step runs, into the fields the step and its cache key
 * both read (BuildKit's instructions/commands.go). Only the parser knows flag spellings. */
enum run_network { RUN_NET_UNSET = 0, RUN_NET_DEFAULT, RUN_NET_NONE, RUN_NET_HOST };

/* COPY <<NAME / ADD <<NAME: an inline file, BuildKit's SourceContent. */
struct copy_doc {
    char *name; /* the file's name, as written (never expanded) */
    char *data; /* the body, with <<- tabs stripped and, unless the name was quoted, expanded */
};

struct copy_cmd {
    char **srcs; /* expanded source paths (the heredocs are in docs), NULL-terminated */
    size_t nsrcs;
    struct copy_doc *docs; /* heredoc sources, in order; they come after srcs, as in BuildKit */
    size_t ndocs;
    char *dest;       /* expanded destination as written; "" means the working directory */
    char *from;       /* --from expanded, or NULL: the build context */
    char *chown;      /* --chown expanded, or NULL */
    char *chmod;      /* --chmod expanded, or NULL */
    unsigned mode;    /* --chmod as an octal mode (when chmod != NULL) */
    bool link;        /* --link */
    bool parents;     /* COPY --parents */
    char **excludes;  /* --exclude patterns as written (BuildKit does not expand them), or NULL */
    int unpack;       /* ADD --unpack: -1 not given, else 0 or 1 */
    char *checksum;   /* ADD --checksum expanded, or NULL */
    int keep_git_dir; /* ADD --keep-git-dir: -1 when not given, else 0 or 1 */
    /* A flag the parser accepts but lade does not implement yet, or NULL (none now). */
    const char *unsupported;
};

/* RUN --mount=... (BuildKit's instructions/commands_runmount.go): one CSV of key=value per
 * flag, each value expanded on its own, checked as BuildKit's parseMount checks it. */
enum run_mount_type {
    RUN_MOUNT_BIND = 0, /* the default type */
    RUN_MOUNT_CACHE,
    RUN_MOUNT_TMPFS,
    RUN_MOUNT_SECRET,
    RUN_MOUNT_SSH,
};
enum run_mount_sharing {
    RUN_SHARING_UNSET = 0, /* shared */
    RUN_SHARING_SHARED,
    RUN_SHARING_PRIVATE,
    RUN_SHARING_LOCKED,
};
struct run_mount {
    enum run_mount_type type;
    char *from;    /* from=: a stage name or index, or an image; NULL: absent */
    char *source;  /* source=/src=; NULL: absent (the root of what is mounted) */
    char *target;  /* target=/dst=/destination= as written; NULL: absent (secret, ssh) */
    char *id;      /* id= (cache id, secret or ssh id); NULL: absent */
    char *env;     /* env= (secret: the variable to set); NULL: absent */
    bool readonly; /* ro/readonly/rw/readwrite, else read-only for bind, secret and ssh */
    bool required; /* secret, ssh */
    enum run_mount_sharing sharing;
    unsigned long long size; /* tmpfs size= in bytes (docker's units: 64m, 1g); 0: default */
    bool has_mode, has_uid, has_gid;
    unsigned mode, uid, gid;
};
/* The name of a mount type as BuildKit spells it ("bind"). */
const char *run_mount_type_name(enum run_mount_type t);

struct run_cmd {
    struct run_mount *mounts; /* --mount values, parsed and expanded; nmounts entries */
    size_t nmounts;
    enum run_network network;
    char *security; /* --security value, or NULL */
};

/* HEALTHCHECK's options as validated (durations in ns; -1: not given). */
struct health_cmd {
    long long interval, timeout, start_period, start_interval;
    int retries; /* -1: not given */
};

struct command {
    const struct instr *in; /* borrowed */
    union {
        struct copy_cmd copy;     /* COPY, ADD */
        struct run_cmd run;       /* RUN */
        char *path;               /* WORKDIR: expanded */
        struct health_cmd health; /* HEALTHCHECK */
    } u;
};
/* Fills cmd from in, expanding with x. Errors: an expansion error, a malformed --chmod or
 * --network (LADE_ERR_PARSE). Release with command_release, also after a failure. */
int command_expand(const struct instr *in, const struct expander *x, struct command *cmd,
                   struct lade_error *err);
void command_release(struct command *cmd);

/* The build plan: stages in file order, the chosen target, which stages it needs. */
struct stage {
    size_t index;
    char *name;      /* "AS name", lower-cased, or NULL */
    char *base;      /* FROM argument after meta-ARG expansion ("scratch", "alpine:3", "builder") */
    long base_stage; /* index of the stage base names, or -1 */
    char *platform;  /* --platform of FROM, expanded, or NULL */
    const struct instr *from;    /* the FROM instruction */
    const struct instr **instrs; /* the stage's instructions after FROM, in order */
    size_t ninstrs;
    bool needed; /* the target depends on it (FROM or COPY --from) */
    long *deps;  /* stage indexes this stage uses (base and COPY --from / --mount from) */
    size_t ndeps;
};

struct plan {
    struct dockerfile *df; /* owned */
    struct stage *stages;
    size_t nstages;
    size_t target;     /* index of the target stage (the last one unless --target) */
    char **meta_args;  /* "K=V" of ARGs before the first FROM, after --build-arg overrides */
    char **build_args; /* the --build-arg values "K=V" as given (K alone takes it from env) */
    struct plan_index *index; /* private to plan.c: stage names and meta args, hashed */
};

/* Takes ownership of df, also on failure. build_args: strv of "K=V" (entries without '='
 * are kept in build_args but override nothing). target may be NULL. As in BuildKit, FROM also
 * sees TARGETSTAGE and, when build_args has them, BUILDPLATFORM, BUILDOS, BUILDARCH,
 * BUILDVARIANT, TARGETPLATFORM, TARGETOS, TARGETARCH, TARGETVARIANT without an ARG (the
 * caller passes the platform values); they are in meta_args too.
 * Errors: no FROM, an instruction before the first FROM other than ARG, a bad stage index,
 * unknown --target (LADE_ERR_USAGE), dependency cycles. A FROM naming a later stage names an
 * image, as in BuildKit. */
int plan_new(struct dockerfile *df, char *const *build_args, const char *target, struct plan **out,
             struct lade_error *err);
void plan_free(struct plan *p);
/* The stage named name (case-insensitive) or with that number, or -1. */
long plan_find_stage(const struct plan *p, const char *name_or_index);
/* The value of meta arg key (in meta_args), or NULL. */
const char *plan_meta_arg(const struct plan *p, const char *key);
/* The plan as JSON text (for `lade plan`); caller frees. */
char *plan_to_json(const struct plan *p);

/* .dockerignore */
struct dockerignore;
/* Parses the file text (ignorefile.ReadAll + patternmatcher.New semantics). */
int dockerignore_parse(const char *text, size_t len, struct dockerignore **out,
                       struct lade_error *err);
/* From a list of patterns as given (no ReadAll cleaning: patternmatcher.New). */
int dockerignore_new(char *const *patterns, struct dockerignore **out, struct lade_error *err);
void dockerignore_free(struct dockerignore *di);
/* MatchesOrParentMatches: true when path (slash-separated, relative to the context) is
 * excluded. */
int dockerignore_matches(const struct dockerignore *di, const char *path, bool *excluded,
                         struct lade_error *err);
/* Whether any pattern is an exception (!): then excluded dirs must still be walked. */
bool dockerignore_has_exceptions(const struct dockerignore *di);
