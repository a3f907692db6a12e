/* SPDX-License-Identifier: Apache-2.0 */
/* --metadata-file (metadata.h). */
#include "metadata.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/fsutil.h"

static json_t *
steps_json(const struct build *b)
{
    json_t *steps = json_array();

    for (size_t i = 0; i < b->plan->nstages; i++) {
        const struct stage_state *ss = &b->stages[i];
        const struct stage *s = &b->plan->stages[i];
        for (size_t k = 0; k < ss->nsteps; k++) {
            const struct step_record *r = &ss->steps[k];
            json_t *j = json_object();
            json_object_set_new(j, "stage",
                                s->name ? json_string(s->name) : json_integer((json_int_t) i));
            json_object_set_new(j, "line", json_integer(r->line));
            json_object_set_new(j, "instruction", json_string(r->text));
            json_object_set_new(j, "cached", json_boolean(r->cached));
            json_object_set_new(j, "duration_ms", json_integer(r->ms));
            json_object_set_new(j, "layer", r->layer[0] ? json_string(r->layer) : json_null());
            json_array_append_new(steps, j);
        }
    }
    return steps;
}

json_t *
metadata_json(const struct build *b, const struct oci_desc *mdesc, const char *config_digest)
{
    json_t *doc = json_object();
    json_t *desc = json_object();
    struct lade_buf names;

    json_object_set_new(doc, "containerimage.digest", json_string(mdesc->digest));
    if (config_digest != NULL) /* an index of several platforms has no one config */
        json_object_set_new(doc, "containerimage.config.digest", json_string(config_digest));
    json_object_set_new(desc, "mediaType", json_string(mdesc->media_type));
    json_object_set_new(desc, "digest", json_string(mdesc->digest));
    json_object_set_new(desc, "size", json_integer(mdesc->size));
    json_object_set_new(doc, "containerimage.descriptor", desc);
    lade_buf_init(&names, 0);
    for (char **t = b->opts->typed_tags; t && *t; t++)
        lade_buf_appendf(&names, "%s%s", names.len ? "," : "", *t);
    if (names.len > 0)
        json_object_set_new(doc, "image.name", json_string(names.data));
    lade_buf_release(&names);
    if (b->plan != NULL) /* NULL: the index of several platforms, each built on its own */
        json_object_set_new(doc, "lade.steps", steps_json(b));
    return doc;
}

int
metadata_write(struct build *b, const struct oci_desc *mdesc, const char *config_digest,
               const char *path, struct lade_error *err)
{
    json_t *doc = metadata_json(b, mdesc, config_digest);
    /* as buildx writes it: indented by two spaces, keys sorted (Go's maps) */
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    int rc = write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0644, err);

    free(text);
    json_decref(doc);
    if (rc < 0)
        return lade_error_prefix(err, "--metadata-file");
    return 0;
}
