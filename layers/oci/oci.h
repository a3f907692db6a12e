/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* OCI image JSON with jansson: configs, manifests, indexes. Dumped once with
 * JSON_COMPACT | JSON_SORT_KEYS and those exact bytes are hashed and stored. Loaded with
 * JSON_REJECT_DUPLICATES. Configs are kept as json_t so fields lade does not know (from base
 * images) survive untouched. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "../layers.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_OCI_LAYER_TAR "application/vnd.oci.image.layer.v1.tar"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_DOCKER_LAYER_TAR "application/vnd.docker.image.rootfs.diff.tar"

/* Index annotations: the OCI tag, and the full name containerd and docker 25+ record. */
#define OCI_ANNOT_REF_NAME "org.opencontainers.image.ref.name"
#define OCI_ANNOT_IMAGE_NAME "io.containerd.image.name"

struct oci_desc {
    char media_type[128];
    digest_t digest;
    int64_t size;
};

/* {"mediaType", "digest", "size"} of d (a new reference). */
json_t *oci_desc_json(const struct oci_desc *d);
/* Reads a descriptor object: mediaType (fits media_type), a valid digest, size >= 0. Errors name
 * what. */
int oci_desc_parse(const json_t *v, const char *what, struct oci_desc *out, struct lade_error *err);
/* An empty index: {"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": []}. */
json_t *oci_index_new(void);
/* True for the OCI index and docker manifest list media types. */
bool oci_media_type_is_index(const char *media_type);

/* Canonical bytes of a JSON value (compact, sorted keys); caller frees; *len set. */
char *oci_json_dump(const json_t *v, size_t *len);
/* Parses with JSON_REJECT_DUPLICATES; errors name `what` and the line/column. */
json_t *oci_json_parse(const char *data, size_t len, const char *what, struct lade_error *err);

/* A new config for an empty (scratch) image: architecture, os, config: {}, rootfs: {type: layers,
 * diff_ids: []}, history: []. created is set by oci_config_set_created. */
json_t *oci_config_new(const char *os, const char *arch);
/* The host's GOARCH-style architecture ("amd64", "arm64", ...). */
const char *oci_host_arch(void);
/* RFC 3339 UTC text of epoch seconds ("1970-01-01T00:00:00Z"). out >= 32 bytes. */
void oci_time_format(int64_t epoch, char *out, size_t outlen);
void oci_config_set_created(json_t *cfg, const char *created);
/* Appends to rootfs.diff_ids. */
void oci_config_add_layer(json_t *cfg, const char *diff_id);
/* Appends a history entry {created, created_by, comment?, empty_layer: true?}. */
void oci_config_add_history(json_t *cfg, const char *created, const char *created_by,
                            const char *comment, bool empty_layer);
/* Drops the container config's keys that docker's and BuildKit's config types mark omitempty
 * when their value is empty ("", [], {}, false, null): CMD [] leaves no "Cmd", as there. */
void oci_config_omit_empty(json_t *cfg);
/* The "config" object of cfg (created when missing); borrowed. */
json_t *oci_config_container(json_t *cfg);
/* Number of rootfs.diff_ids and the i-th (borrowed, NULL if out of range). */
size_t oci_config_nlayers(const json_t *cfg);
const char *oci_config_diff_id(const json_t *cfg, size_t i);

/* A manifest (schemaVersion 2, mediaType MT_OCI_MANIFEST) for config and layers. */
json_t *oci_manifest_new(const struct oci_desc *config, const struct oci_desc *layers, size_t n);
/* A parsed manifest: the config descriptor and the layers, in order (OCI or docker v2). */
struct oci_manifest {
    struct oci_desc config;
    struct oci_desc *layers;
    size_t nlayers;
};
int oci_manifest_parse(const char *data, size_t len, struct oci_manifest *out,
                       struct lade_error *err);
void oci_manifest_release(struct oci_manifest *m);

/* ---- platforms (platform.c) ---- */

/* "os/arch[/variant]", normalised as containerd does: arch aliases (x86_64 -> amd64, aarch64 ->
 * arm64), arm64's variant v8 is the default and dropped, arm's default variant is v7. */
struct oci_platform {
    char os[32];
    char arch[32];
    char variant[16]; /* "" when none */
};
/* Parses text (NULL: the host's, linux + oci_host_arch()); LADE_ERR_USAGE when malformed. */
int oci_platform_parse(const char *text, struct oci_platform *out, struct lade_error *err);
/* "linux/arm64", "linux/arm/v7"; out >= 96 bytes. */
void oci_platform_format(const struct oci_platform *p, char *out, size_t outlen);
/* The platform of an image config (os, architecture, variant), normalised; false when the config
 * names none. */
bool oci_config_platform(const json_t *config, struct oci_platform *out);
/* True when the two (normalised) platforms are the same. */
bool oci_platform_equal(const struct oci_platform *a, const struct oci_platform *b);
/* True when p is the host's platform ("linux/" + oci_host_arch(), normalised). */
bool oci_platform_is_host(const struct oci_platform *p);
/* The manifest of the index (its bytes) for p: an exact match, else (arm) the newest older
 * variant. An error listing the index's platforms when none matches (LADE_ERR_OTHER). */
int oci_index_select(const char *data, size_t len, const struct oci_platform *p,
                     struct oci_desc *out, struct lade_error *err);
