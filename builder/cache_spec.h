/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* --cache-to and --cache-from as BuildKit spells them: comma-separated key=value fields
 * ("type=registry,ref=host/app:cache,mode=max"), or a bare reference meaning
 * type=registry,ref=REFERENCE. Parsing only: cache_transfer.h moves the records. */

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

enum cache_spec_type { CACHE_SPEC_REGISTRY = 1, CACHE_SPEC_LOCAL };
enum cache_spec_mode { CACHE_MODE_MIN = 0, CACHE_MODE_MAX };

struct cache_spec {
    enum cache_spec_type type;
    char *ref;                 /* registry: the reference as given (checked by image_ref_parse) */
    char *dir;                 /* local: src= (--cache-from) or dest= (--cache-to) */
    char *tag;                 /* local: the layout's ref name; "latest" unless tag= */
    enum cache_spec_mode mode; /* --cache-to: min (default) or max */
    bool ignore_error;         /* --cache-to ignore-error=true: a failed export only warns */
};

/* Parses text for --cache-to (to) or --cache-from into *out (owned strings; release it).
 * LADE_ERR_USAGE naming the field for: an unknown key or type, a missing ref/src/dest, an
 * option of the other direction, the types lade does not support (inline, gha, s3, azblob). */
int cache_spec_parse(const char *text, bool to, struct cache_spec *out, struct lade_error *err);
void cache_spec_release(struct cache_spec *s);

/* The specs of every --cache-to or --cache-from given, in order. */
struct cache_specs {
    struct cache_spec *v;
    size_t n;
};
/* Parses text and appends it. */
int cache_specs_add(struct cache_specs *list, const char *text, bool to, struct lade_error *err);
void cache_specs_release(struct cache_specs *list);
