/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Build contexts as docker build and buildx take them: a directory, "-" (a tar, plain or
 * compressed, or a bare Dockerfile on stdin), a git reference or an http(s) URL of a tarball
 * or of a Dockerfile; and the named contexts of --build-context NAME=VALUE. Remote and stdin
 * contexts are unpacked into the store's tmp/ (confined as ADD's archives are) and
 * removed with the build. */

#include <stdbool.h>
#include <stddef.h>

#include "fetch.h"
#include "../parser/parser.h"

struct build_context {
    char *dir;        /* the context directory */
    char *dockerfile; /* the Dockerfile's path, or NULL when text holds it */
    char *text;       /* the Dockerfile read from stdin or from inside a remote context */
    size_t len;
    char *name;     /* the Dockerfile's name for messages */
    char *tmp;      /* a directory of the store's tmp/ to remove, or NULL */
    bool no_ignore; /* a tar on stdin: used as it is, its .dockerignore not applied (BuildKit) */
};
/* spec: the CONTEXT argument; dockerfile: -f (NULL: Dockerfile, else Containerfile, else
 * dockerfile in the context; "-": stdin). For a local directory -f is a path from here, for a
 * remote context a path inside it. */
int context_prepare(struct store *st, const struct registry_opts *reg, const char *spec,
                    const char *dockerfile, struct build_context *out, struct lade_error *err);
void context_release(struct build_context *c);
/* The default Dockerfile of a directory: DIR/Dockerfile, else Containerfile (podman, buildah),
 * else dockerfile; DIR/Dockerfile when none exists (the error then names it). Caller frees. */
char *context_default_dockerfile(const char *dir);

enum named_kind { NAMED_DIR, NAMED_IMAGE };
struct named_context {
    char *name;  /* as given: "base", "alpine:3" */
    char *match; /* what FROM and --from names are compared with (named_context_key) */
    enum named_kind kind;
    char *image; /* NAMED_IMAGE: the reference after docker-image:// */
    char *dir;   /* NAMED_DIR: the directory (local, or unpacked in tmp/) */
    int dir_fd;
    struct dockerignore *ignore; /* a local directory's .dockerignore, or NULL */
    char *tmp;
};
struct named_contexts {
    struct named_context *v;
    size_t n;
};
/* Parses and prepares --build-context values "NAME=DIR|docker-image://REF|GIT|URL". */
int named_contexts_prepare(struct store *st, const struct registry_opts *reg, char *const *specs,
                           struct named_contexts *out, struct lade_error *err);
void named_contexts_release(struct named_contexts *nc);
/* The named context that a FROM or a --from name refers to, or NULL. Names compare as BuildKit
 * compares them: normalised image names, familiar form without ":latest" ("alpine" and
 * "docker.io/library/alpine:latest" are one). */
const struct named_context *named_context_find(const struct named_contexts *nc, const char *name);
