/* SPDX-License-Identifier: Apache-2.0 */
/* Image configs (image-spec config.md). Kept as json_t so fields written by other tools in a base
 * image's config survive untouched; only the fields lade sets are touched here. */
#include "oci.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

json_t *
oci_config_new(const char *os, const char *arch)
{
    return json_pack("{s:s, s:s, s:{}, s:{s:s, s:[]}, s:[]}", "architecture",
                     arch ? arch : oci_host_arch(), "os", os ? os : "linux", "config", "rootfs",
                     "type", "layers", "diff_ids", "history");
}

/* The architecture lade itself was compiled for, used when uname names something unknown. */
static const char *
compiled_arch(void)
{
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__arm__)
    return "arm";
#elif defined(__i386__)
    return "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return "ppc64le";
#elif defined(__s390x__)
    return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
    return "riscv64";
#else
    return "unknown";
#endif
}

const char *
oci_host_arch(void)
{
    /* uname's machine names mapped to Go's GOARCH, which image configs use. */
    static const struct {
        const char *machine, *goarch;
    } map[] = {
        {"x86_64", "amd64"},
        {"amd64", "amd64"},
        {"aarch64", "arm64"},
        {"arm64", "arm64"},
        {"armv8l", "arm"},
        {"armv7l", "arm"},
        {"armv6l", "arm"},
        {"armv5tel", "arm"},
        {"i386", "386"},
        {"i486", "386"},
        {"i586", "386"},
        {"i686", "386"},
        {"ppc64le", "ppc64le"},
        {"s390x", "s390x"},
        {"riscv64", "riscv64"},
        {"mips64", "mips64le"},
        {"loongarch64", "loong64"},
    };
    struct utsname u;

    if (uname(&u) == 0)
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
            if (strcmp(u.machine, map[i].machine) == 0)
                return map[i].goarch;
    return compiled_arch();
}

void
oci_time_format(int64_t epoch, char *out, size_t outlen)
{
    time_t t = (time_t) epoch;
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, outlen, "1970-01-01T00:00:00Z");
}

void
oci_config_set_created(json_t *cfg, const char *created)
{
    json_object_set_new(cfg, "created", json_string(created));
}

/* cfg.rootfs.diff_ids, created (with type "layers") when missing. */
static json_t *
diff_ids(json_t *cfg)
{
    json_t *rootfs = json_object_get(cfg, "rootfs");
    json_t *ids;

    if (!json_is_object(rootfs)) {
        rootfs = json_pack("{s:s}", "type", "layers");
        json_object_set_new(cfg, "rootfs", rootfs);
    }
    ids = json_object_get(rootfs, "diff_ids");
    if (!json_is_array(ids)) {
        ids = json_array();
        json_object_set_new(rootfs, "diff_ids", ids);
    }
    return ids;
}

void
oci_config_add_layer(json_t *cfg, const char *diff_id)
{
    json_array_append_new(diff_ids(cfg), json_string(diff_id));
}

void
oci_config_add_history(json_t *cfg, const char *created, const char *created_by,
                       const char *comment, bool empty_layer)
{
    json_t *hist = json_object_get(cfg, "history");
    json_t *h = json_object();

    if (!json_is_array(hist)) {
        hist = json_array();
        json_object_set_new(cfg, "history", hist);
    }
    /* docker writes empty_layer only when true and omits an absent comment. */
    if (created != NULL)
        json_object_set_new(h, "created", json_string(created));
    if (created_by != NULL)
        json_object_set_new(h, "created_by", json_string(created_by));
    if (comment != NULL && *comment != '\0')
        json_object_set_new(h, "comment", json_string(comment));
    if (empty_layer)
        json_object_set_new(h, "empty_layer", json_true());
    json_array_append_new(hist, h);
}

void
oci_config_omit_empty(json_t *cfg)
{
    static const char *const keys[] = {"User",       "ExposedPorts", "Env",         "Entrypoint",
                                       "Cmd",        "Volumes",      "WorkingDir",  "Labels",
                                       "StopSignal", "ArgsEscaped",  "Healthcheck", "Shell"};
    json_t *c = json_object_get(cfg, "config");

    for (size_t i = 0; json_is_object(c) && i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *v = json_object_get(c, keys[i]);
        bool empty = json_is_null(v) || json_is_false(v) ||
                     (json_is_string(v) && json_string_length(v) == 0) ||
                     (json_is_array(v) && json_array_size(v) == 0) ||
                     (json_is_object(v) && json_object_size(v) == 0);
        if (v != NULL && empty)
            json_object_del(c, keys[i]);
    }
}

json_t *
oci_config_container(json_t *cfg)
{
    json_t *c = json_object_get(cfg, "config");

    if (!json_is_object(c)) {
        c = json_object();
        json_object_set_new(cfg, "config", c);
    }
    return c;
}

size_t
oci_config_nlayers(const json_t *cfg)
{
    return json_array_size(json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"));
}

const char *
oci_config_diff_id(const json_t *cfg, size_t i)
{
    const json_t *ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");

    return json_string_value(json_array_get(ids, i));
}
