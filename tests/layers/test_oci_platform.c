/* SPDX-License-Identifier: Apache-2.0 */
#include "../helpers/test.h"

#include <stdio.h>
#include <string.h>

#include "../../layers/oci/oci.h"

#define D(c)                                                                                       \
    "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c  \
        c c c c c c c c c c c c c c c c c c c c c c
#define DA D("a")
#define DB D("b")
#define DC D("c")
#define DD D("d")
#define DE D("e")

/* A docker manifest list as `docker manifest inspect` shows them for busybox. */
static const char DOCKER_LIST[] =
    "{\"schemaVersion\":2,\"mediaType\":\"application/"
    "vnd.docker.distribution.manifest.list.v2+json\","
    "\"manifests\":["
    "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"size\":527,"
    "\"digest\":\"" DA "\",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
    "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"size\":527,"
    "\"digest\":\"" DB
    "\",\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v6\"}},"
    "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"size\":527,"
    "\"digest\":\"" DC
    "\",\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"}},"
    "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"size\":527,"
    "\"digest\":\"" DD
    "\",\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}}"
    "]}";

/* An OCI index as buildx writes it: images plus attestation manifests (unknown/unknown), and a
 * nested index that must not be chosen. */
static const char OCI_INDEX[] =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
    "{\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"size\":300,"
    "\"digest\":\"" DE "\",\"platform\":{\"architecture\":\"ppc64le\",\"os\":\"linux\"}},"
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":480,"
    "\"digest\":\"" DA "\",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":480,"
    "\"digest\":\"" DB "\",\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\"}},"
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":566,"
    "\"digest\":\"" DC "\",\"platform\":{\"architecture\":\"unknown\",\"os\":\"unknown\"},"
    "\"annotations\":{\"vnd.docker.reference.type\":\"attestation-manifest\"}}"
    "]}";

static const char *
select_digest(const char *index, const char *platform, struct lade_error *err)
{
    static struct oci_desc d;
    struct oci_platform p;

    assert_ok(oci_platform_parse(platform, &p, err), err);
    if (oci_index_select(index, strlen(index), &p, &d, err) < 0)
        return NULL;
    return d.digest;
}

static void
expect_platform(const char *text, const char *want)
{
    struct lade_error err = {0};
    struct oci_platform p;
    char got[96];

    assert_ok(oci_platform_parse(text, &p, &err), &err);
    oci_platform_format(&p, got, sizeof(got));
    assert_string_equal(got, want);
}

static void
test_platform_parse_normalises_like_containerd(void **state)
{
    (void) state;
    expect_platform("linux/amd64", "linux/amd64");
    expect_platform("Linux/x86_64", "linux/amd64");
    expect_platform("linux/aarch64", "linux/arm64");
    expect_platform("linux/arm64/v8", "linux/arm64");
    expect_platform("linux/arm", "linux/arm/v7");
    expect_platform("linux/arm/6", "linux/arm/v6");
    expect_platform("linux/armhf", "linux/arm/v7");
    expect_platform("linux/i386", "linux/386");
}

static void
test_platform_parse_rejects_malformed(void **state)
{
    const char *bad[] = {"", "linux", "linux/", "/amd64", "linux/amd64/v1/x", "linux/am d64"};
    (void) state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct lade_error err = {0};
        struct oci_platform p;
        assert_int_equal(oci_platform_parse(bad[i], &p, &err), -1);
        assert_int_equal(err.code, LADE_ERR_USAGE);
        assert_non_null(strstr(err.msg, "invalid platform"));
    }
}

static void
test_platform_default_is_the_host(void **state)
{
    struct lade_error err = {0};
    struct oci_platform p;

    (void) state;
    assert_ok(oci_platform_parse(NULL, &p, &err), &err);
    assert_string_equal(p.os, "linux");
    assert_string_equal(p.arch, oci_host_arch());
}

static void
test_select_from_docker_list(void **state)
{
    struct lade_error err = {0};

    (void) state;
    assert_string_equal(select_digest(DOCKER_LIST, "linux/amd64", &err), DA);
    /* arm64/v8 in the list is plain arm64 */
    assert_string_equal(select_digest(DOCKER_LIST, "linux/arm64", &err), DD);
    assert_string_equal(select_digest(DOCKER_LIST, "linux/arm64/v8", &err), DD);
    assert_string_equal(select_digest(DOCKER_LIST, "linux/arm", &err), DC);
    assert_string_equal(select_digest(DOCKER_LIST, "linux/arm/v6", &err), DB);
}

static void
test_select_arm_falls_back_to_older_variant(void **state)
{
    struct lade_error err = {0};

    (void) state;
    /* an arm/v8 (32-bit) host runs v7 images: the newest older variant wins */
    assert_string_equal(select_digest(DOCKER_LIST, "linux/arm/v8", &err), DC);
    /* nothing runs on v5 */
    assert_null(select_digest(DOCKER_LIST, "linux/arm/v5", &err));
}

static void
test_select_from_oci_index_skips_attestations_and_nested(void **state)
{
    struct lade_error err = {0};

    (void) state;
    assert_string_equal(select_digest(OCI_INDEX, "linux/amd64", &err), DA);
    assert_string_equal(select_digest(OCI_INDEX, "linux/arm64/v8", &err), DB);
    assert_null(select_digest(OCI_INDEX, "linux/ppc64le", &err));
    assert_non_null(strstr(err.msg, "linux/ppc64le"));
}

static void
test_no_match_lists_the_platforms(void **state)
{
    struct lade_error err = {0};

    (void) state;
    assert_null(select_digest(OCI_INDEX, "linux/s390x", &err));
    assert_int_equal(err.code, LADE_ERR_OTHER);
    assert_string_equal(
        err.msg, "no image for platform linux/s390x (the index has linux/amd64, linux/arm64)");
    lade_error_clear(&err);
    assert_null(select_digest(DOCKER_LIST, "windows/amd64", &err));
    assert_non_null(strstr(err.msg, "linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64"));
}

static void
test_select_rejects_non_index(void **state)
{
    struct lade_error err = {0};

    (void) state;
    assert_null(select_digest("{\"schemaVersion\":2}", "linux/amd64", &err));
    assert_non_null(strstr(err.msg, "no manifests"));
    lade_error_clear(&err);
    assert_null(select_digest("[1,", "linux/amd64", &err));
    assert_int_not_equal(err.code, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_platform_parse_normalises_like_containerd),
        cmocka_unit_test(test_platform_parse_rejects_malformed),
        cmocka_unit_test(test_platform_default_is_the_host),
        cmocka_unit_test(test_select_from_docker_list),
        cmocka_unit_test(test_select_arm_falls_back_to_older_variant),
        cmocka_unit_test(test_select_from_oci_index_skips_attestations_and_nested),
        cmocka_unit_test(test_no_match_lists_the_platforms),
        cmocka_unit_test(test_select_rejects_non_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
