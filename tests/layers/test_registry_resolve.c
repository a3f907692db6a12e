/* SPDX-License-Identifier: Apache-2.0 */
#include "../helpers/test.h"

#include <stdlib.h>
#include <string.h>

#include "../../layers/registry/image-internal.h"

#define D(c) "sha256:" c c c c c c c c c c c c c c c c
#define DA D("aaaa")
#define DB D("bbbb")

static const char *
media_type(const char *json)
{
    static char buf[128];

    return reg_manifest_media_type(json, strlen(json), buf, sizeof(buf));
}

static void
test_media_type_from_the_bytes(void **state)
{
    (void) state;
    assert_string_equal(
        media_type("{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"config\":{}}"),
        MT_DOCKER_MANIFEST);
    /* OCI allows leaving mediaType out: the fields tell */
    assert_string_equal(media_type("{\"schemaVersion\":2,\"manifests\":[]}"), MT_OCI_INDEX);
    assert_string_equal(media_type("{\"schemaVersion\":2,\"config\":{},\"layers\":[]}"),
                        MT_OCI_MANIFEST);
    /* schema 1 is recognised, so pull can refuse it by name */
    assert_string_equal(media_type("{\"schemaVersion\":1,\"fsLayers\":[]}"),
                        "application/vnd.docker.distribution.manifest.v1+json");
    assert_null(media_type("[1]"));
    assert_null(media_type("{\"a\":1,\"a\":2}"));
}

static void
test_blobs_config_first_each_once(void **state)
{
    struct lade_error err = {0};
    const char *json =
        "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\","
        "\"config\":{\"mediaType\":\"" MT_OCI_CONFIG "\",\"digest\":\"" DA "\",\"size\":10},"
        "\"layers\":[{\"mediaType\":\"" MT_OCI_LAYER_GZIP "\",\"digest\":\"" DB
        "\",\"size\":20},{\"mediaType\":\"" MT_OCI_LAYER_GZIP "\",\"digest\":\"" DB
        "\",\"size\":20}]}";
    struct oci_manifest m;
    struct oci_desc *v;
    size_t n = 0;

    (void) state;
    assert_ok(oci_manifest_parse(json, strlen(json), &m, &err), &err);
    v = reg_manifest_blobs(&m, &n);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].digest, DA);
    assert_string_equal(v[1].digest, DB);
    assert_int_equal(v[1].size, 20);
    free(v);
    oci_manifest_release(&m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_media_type_from_the_bytes),
        cmocka_unit_test(test_blobs_config_first_each_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
