/* SPDX-License-Identifier: Apache-2.0 */
#include "../helpers/test.h"

#include <stdlib.h>
#include <string.h>

#include "../../layers/oci/oci.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static void
assert_dump(const json_t *v, const char *want)
{
    size_t len = 0;
    char *s = oci_json_dump(v, &len);

    assert_string_equal(s, want);
    assert_int_equal(len, strlen(want));
    free(s);
}

static void
test_config_new_is_canonical(void **state)
{
    (void) state;
    json_t *cfg = oci_config_new("linux", "amd64");

    assert_dump(cfg, "{\"architecture\":\"amd64\",\"config\":{},\"history\":[],\"os\":\"linux\","
                     "\"rootfs\":{\"diff_ids\":[],\"type\":\"layers\"}}");
    json_decref(cfg);
}

static void
test_config_layers_history_created(void **state)
{
    char t[32];

    (void) state;
    json_t *cfg = oci_config_new("linux", "arm64");
    oci_time_format(0, t, sizeof(t));
    assert_string_equal(t, "1970-01-01T00:00:00Z");
    oci_config_set_created(cfg, t);
    oci_config_add_layer(cfg, D1);
    oci_config_add_history(cfg, t, "COPY a /a # buildkit", "buildkit.dockerfile.v0", false);
    oci_config_add_history(cfg, t, "ENV A=b", NULL, true);
    json_object_set_new(oci_config_container(cfg), "Env", json_pack("[s]", "A=b"));
    assert_int_equal(oci_config_nlayers(cfg), 1);
    assert_string_equal(oci_config_diff_id(cfg, 0), D1);
    assert_null(oci_config_diff_id(cfg, 1));
    assert_dump(cfg, "{\"architecture\":\"arm64\",\"config\":{\"Env\":[\"A=b\"]},"
                     "\"created\":\"1970-01-01T00:00:00Z\",\"history\":["
                     "{\"comment\":\"buildkit.dockerfile.v0\",\"created\":\"1970-01-01T00:00:00Z\","
                     "\"created_by\":\"COPY a /a # buildkit\"},"
                     "{\"created\":\"1970-01-01T00:00:00Z\",\"created_by\":\"ENV A=b\","
                     "\"empty_layer\":true}],\"os\":\"linux\","
                     "\"rootfs\":{\"diff_ids\":[\"" D1 "\"],\"type\":\"layers\"}}");
    json_decref(cfg);
}

static void
test_time_format(void **state)
{
    char t[32];

    (void) state;
    oci_time_format(1700000000, t, sizeof(t));
    assert_string_equal(t, "2023-11-14T22:13:20Z");
}

static void
test_host_arch_is_goarch(void **state)
{
    const char *a = oci_host_arch();

    (void) state;
    assert_non_null(a);
    assert_null(strchr(a, '_')); /* never x86_64 or aarch64 */
#if defined(__x86_64__)
    assert_string_equal(a, "amd64");
#endif
}

static void
test_manifest_bytes(void **state)
{
    struct oci_desc cfg = {MT_OCI_CONFIG, D1, 2};
    struct oci_desc layers[] = {{MT_OCI_LAYER_GZIP, D2, 30}, {MT_OCI_LAYER_TAR, D3, 1024}};

    (void) state;
    json_t *m = oci_manifest_new(&cfg, layers, 2);
    assert_dump(m, "{\"config\":{\"digest\":\"" D1 "\",\"mediaType\":\"" MT_OCI_CONFIG
                   "\",\"size\":2},\"layers\":[{\"digest\":\"" D2
                   "\",\"mediaType\":\"" MT_OCI_LAYER_GZIP "\",\"size\":30},{\"digest\":\"" D3
                   "\",\"mediaType\":\"" MT_OCI_LAYER_TAR
                   "\",\"size\":1024}],\"mediaType\":\"" MT_OCI_MANIFEST "\",\"schemaVersion\":2}");
    json_decref(m);
}

static void
test_manifest_roundtrip(void **state)
{
    struct oci_desc cfg = {MT_OCI_CONFIG, D1, 2};
    struct oci_desc layers[] = {{MT_OCI_LAYER_GZIP, D2, 30}};
    struct lade_error err = {0};
    struct oci_manifest pm;
    size_t len;

    (void) state;
    json_t *m = oci_manifest_new(&cfg, layers, 1);
    char *s = oci_json_dump(m, &len);
    assert_ok(oci_manifest_parse(s, len, &pm, &err), &err);
    assert_string_equal(pm.config.digest, D1);
    assert_string_equal(pm.config.media_type, MT_OCI_CONFIG);
    assert_int_equal(pm.config.size, 2);
    assert_int_equal(pm.nlayers, 1);
    assert_string_equal(pm.layers[0].digest, D2);
    assert_int_equal(pm.layers[0].size, 30);
    oci_manifest_release(&pm);
    free(s);
    json_decref(m);
}

static void
test_manifest_parse_docker_schema2(void **state)
{
    const char *s =
        "{\n \"schemaVersion\": 2,\n \"mediaType\": \"" MT_DOCKER_MANIFEST "\",\n"
        " \"config\": {\"mediaType\": \"" MT_DOCKER_CONFIG "\", \"size\": 7, "
        "\"digest\": \"" D1 "\"},\n \"layers\": [{\"mediaType\": \"" MT_DOCKER_LAYER_GZIP
        "\", \"size\": 9, \"digest\": \"" D2 "\"}]\n}\n";
    struct lade_error err = {0};
    struct oci_manifest pm;

    (void) state;
    assert_ok(oci_manifest_parse(s, strlen(s), &pm, &err), &err);
    assert_string_equal(pm.config.media_type, MT_DOCKER_CONFIG);
    assert_string_equal(pm.layers[0].media_type, MT_DOCKER_LAYER_GZIP);
    oci_manifest_release(&pm);
}

static void
expect_parse_error(const char *s, const char *needle)
{
    struct lade_error err = {0};
    struct oci_manifest pm;

    assert_int_equal(oci_manifest_parse(s, strlen(s), &pm, &err), -1);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("error '%s' does not contain '%s'", err.msg, needle);
}

static void
test_manifest_parse_rejects(void **state)
{
    (void) state;
    /* duplicate keys: the error names what and where */
    expect_parse_error("{\"schemaVersion\":2,\n\"schemaVersion\":2}", "line 2");
    expect_parse_error("{\"schemaVersion\":2,\n\"schemaVersion\":2}", "duplicate");
    expect_parse_error("{\"schemaVersion\":2,\n\"schemaVersion\":2}", "manifest");
    expect_parse_error("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"size\":1,"
                       "\"digest\":\"sha256:1234\"},\"layers\":[]}",
                       "invalid digest 'sha256:1234'");
    expect_parse_error("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"size\":1,"
                       "\"digest\":\"" D1 "\"},\"layers\":[{\"mediaType\":\"x\",\"size\":1,"
                       "\"digest\":\"sha256:"
                       "AAAA111111111111111111111111111111111111111111111111111111111111\"}]}",
                       "manifest layer 0: invalid digest");
    expect_parse_error("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"size\":-1,"
                       "\"digest\":\"" D1 "\"},\"layers\":[]}",
                       "size");
    expect_parse_error("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"size\":\"1\","
                       "\"digest\":\"" D1 "\"},\"layers\":[]}",
                       "size");
    expect_parse_error("{\"schemaVersion\":1}", "schemaVersion");
    expect_parse_error("{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\",\"manifests\":[]}",
                       "index");
    expect_parse_error("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"size\":1,"
                       "\"digest\":\"" D1 "\"}}",
                       "layers");
    expect_parse_error("[]", "not a JSON object");
    expect_parse_error("", "invalid JSON in manifest at line 1");
}

static void
test_json_parse_names_what(void **state)
{
    struct lade_error err = {0};
    const char *s = "{\"a\": 1,\n  \"a\": 2}";

    (void) state;
    assert_null(oci_json_parse(s, strlen(s), "index.json", &err));
    assert_non_null(strstr(err.msg, "index.json"));
    assert_non_null(strstr(err.msg, "line 2 column"));
}

static void
test_desc_and_index(void **state)
{
    struct oci_desc d = {MT_OCI_MANIFEST, D3, 5}, back;
    struct lade_error err = {0};

    (void) state;
    json_t *idx = oci_index_new();
    json_array_append_new(json_object_get(idx, "manifests"), oci_desc_json(&d));
    assert_dump(idx, "{\"manifests\":[{\"digest\":\"" D3 "\",\"mediaType\":\"" MT_OCI_MANIFEST
                     "\",\"size\":5}],\"mediaType\":\"" MT_OCI_INDEX "\",\"schemaVersion\":2}");
    assert_ok(
        oci_desc_parse(json_array_get(json_object_get(idx, "manifests"), 0), "x", &back, &err),
        &err);
    assert_string_equal(back.digest, D3);
    assert_int_equal(back.size, 5);
    assert_true(oci_media_type_is_index(MT_DOCKER_LIST));
    assert_false(oci_media_type_is_index(MT_OCI_MANIFEST));
    json_decref(idx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_new_is_canonical),
        cmocka_unit_test(test_config_layers_history_created),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_host_arch_is_goarch),
        cmocka_unit_test(test_manifest_bytes),
        cmocka_unit_test(test_manifest_roundtrip),
        cmocka_unit_test(test_manifest_parse_docker_schema2),
        cmocka_unit_test(test_manifest_parse_rejects),
        cmocka_unit_test(test_json_parse_names_what),
        cmocka_unit_test(test_desc_and_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
