/* SPDX-License-Identifier: Apache-2.0 */
/* Tags: the manifests of ROOT/oci/index.json, each named by its org.opencontainers.image.ref.name
 * annotation (the full normalised name). The index holds tagged manifests only. Updates are a
 * read-modify-write under the store lock, written to tmp/ and renamed, so readers need no lock
 * and always see a whole index. */
#include "store-internal.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../../builder/common/cleanup.h"
#include "../../builder/common/fsutil.h"
#include "../../builder/common/xalloc.h"

#define INDEX_MAX (64 << 20)

static json_t *
index_load(struct store *st, struct lade_error *err)
{
    cleanup_free char *data = NULL;
    size_t len = 0;
    json_t *idx;

    if (read_file_at(st->oci_fd, "index.json", INDEX_MAX, &data, &len, err) < 0)
        return NULL;
    idx = oci_json_parse(data, len, "index.json", err);
    if (idx == NULL)
        return NULL;
    if (!json_is_object(idx) || !json_is_array(json_object_get(idx, "manifests"))) {
        json_decref(idx);
        lade_error_set(err, LADE_ERR_OTHER, "index.json has no manifests array");
        return NULL;
    }
    return idx;
}

static int
index_save(struct store *st, const json_t *idx, struct lade_error *err)
{
    size_t len;
    cleanup_free char *s = oci_json_dump(idx, &len);

    return store_write_atomic(st, st->oci_fd, "index.json", s, len, err);
}

static const char *
entry_name(const json_t *entry)
{
    return json_string_value(
        json_object_get(json_object_get(entry, "annotations"), OCI_ANNOT_REF_NAME));
}

/* Index of the entry named name in manifests, or -1. */
static ssize_t
find_entry(const json_t *manifests, const char *name)
{
    for (size_t i = 0; i < json_array_size(manifests); i++) {
        const char *n = entry_name(json_array_get(manifests, i));
        if (n != NULL && strcmp(n, name) == 0)
            return (ssize_t) i;
    }
    return -1;
}

/* Removes the entries named name from position from on. lade lists a name once; an index
 * edited by hand may repeat one, and the tag must still go away entirely. */
static size_t
remove_later(json_t *manifests, const char *name, size_t from)
{
    size_t removed = 0;

    for (size_t i = from; i < json_array_size(manifests);) {
        const char *n = entry_name(json_array_get(manifests, i));
        if (n != NULL && strcmp(n, name) == 0) {
            json_array_remove(manifests, i);
            removed++;
        } else {
            i++;
        }
    }
    return removed;
}

static int
no_such_image(const char *name, struct lade_error *err)
{
    return lade_error_set(err, LADE_ERR_OTHER, "no such image '%s'", name);
}

int
store_tag_set(struct store *st, const char *name, const struct oci_desc *manifest,
              struct lade_error *err)
{
    json_auto_t *idx = NULL;
    json_t *entry;
    int rc = -1;

    if (name == NULL || *name == '\0')
        return lade_error_set(err, LADE_ERR_USAGE, "empty image name");
    if (!digest_valid(manifest->digest) || manifest->media_type[0] == '\0')
        return lade_error_set(err, LADE_ERR_OTHER, "tag '%s': invalid manifest descriptor", name);
    entry = oci_desc_json(manifest);
    json_object_set_new(entry, "annotations", json_pack("{s:s}", OCI_ANNOT_REF_NAME, name));
    if (store_lock(st, err) < 0) {
        json_decref(entry);
        return -1;
    }
    idx = index_load(st, err);
    if (idx != NULL) {
        json_t *manifests = json_object_get(idx, "manifests");
        ssize_t i = find_entry(manifests, name);
        /* A rebuild that changed nothing tags the same manifest again: no write and no fsync
         * then, which were most of a no-op build's I/O. */
        bool same = i >= 0 && json_equal(json_array_get(manifests, (size_t) i), entry);
        /* In place, so `lade images` keeps its order when a tag moves. */
        if (i >= 0)
            json_array_set_new(manifests, (size_t) i, entry);
        else
            json_array_append_new(manifests, entry);
        entry = NULL;
        if (remove_later(manifests, name, i >= 0 ? (size_t) i + 1 : json_array_size(manifests)) > 0)
            same = false;
        rc = same ? 0 : index_save(st, idx, err);
    }
    json_decref(entry);
    store_unlock(st);
    if (rc < 0)
        lade_error_prefix(err, "cannot tag '%s'", name);
    return rc;
}

int
store_tag_get(struct store *st, const char *name, struct oci_desc *out, struct lade_error *err)
{
    json_auto_t *idx = index_load(st, err);

    if (idx == NULL)
        return -1;
    json_t *manifests = json_object_get(idx, "manifests");
    ssize_t i = find_entry(manifests, name);
    if (i < 0)
        return no_such_image(name, err);
    if (oci_desc_parse(json_array_get(manifests, (size_t) i), "index.json", out, err) < 0)
        return lade_error_prefix(err, "image '%s'", name);
    return 0;
}

int
store_tag_remove(struct store *st, const char *name, struct lade_error *err)
{
    json_auto_t *idx = NULL;
    int rc = -1;

    if (store_lock(st, err) < 0)
        return -1;
    idx = index_load(st, err);
    if (idx != NULL) {
        json_t *manifests = json_object_get(idx, "manifests");
        ssize_t i = find_entry(manifests, name);
        if (i < 0) {
            no_such_image(name, err);
        } else {
            /* Blobs stay: removing unreferenced ones is garbage collection's job. */
            remove_later(manifests, name, (size_t) i);
            rc = index_save(st, idx, err);
        }
    }
    store_unlock(st);
    return rc;
}

int
store_tags_list(struct store *st, struct store_tag **tags, size_t *n, struct lade_error *err)
{
    json_auto_t *idx = index_load(st, err);
    struct store_tag *t;
    size_t k = 0;

    if (idx == NULL)
        return -1;
    json_t *manifests = json_object_get(idx, "manifests");
    t = xcalloc(json_array_size(manifests) + 1, sizeof(*t));
    for (size_t i = 0; i < json_array_size(manifests); i++) {
        const json_t *e = json_array_get(manifests, i);
        const char *name = entry_name(e);
        struct lade_error ignored = {0};

        /* Entries other tools added without a name are not tags; skip them. */
        if (name == NULL || oci_desc_parse(e, "index.json", &t[k].manifest, &ignored) < 0)
            continue;
        t[k++].name = xstrdup(name);
    }
    *tags = t;
    *n = k;
    return 0;
}

void
store_tags_free(struct store_tag *tags, size_t n)
{
    if (tags == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(tags[i].name);
    free(tags);
}
