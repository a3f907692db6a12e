/* SPDX-License-Identifier: Apache-2.0 */
/* Platforms in the builder: the ELF headers binfmt_misc is given per architecture (binfmt.c),
 * BuildKit's automatic platform args per target (base.c) and the stage's platform in the cache
 * key (cache.c). */
#include "../helpers/test.h"

#include <stdio.h>
#include <string.h>

#include "../../builder/binfmt.h"
#include "../../builder/cache.h"

static void
hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static const struct binfmt_arch *
arch_of(const char *text)
{
    struct oci_platform p;
    struct lade_error err = {0};

    assert_ok(oci_platform_parse(text, &p, &err), &err);
    return binfmt_arch_find(&p);
}

/* The magic and mask as /proc/sys/fs/binfmt_misc/NAME shows them: ELF, class, byte order,
 * version, any OS/ABI, ET_EXEC or ET_DYN, then e_machine in the file's byte order. */
static void
test_binfmt_headers(void **state)
{
    unsigned char magic[BINFMT_HEADER], mask[BINFMT_HEADER];
    char m[2 * BINFMT_HEADER + 1], k[2 * BINFMT_HEADER + 1];

    (void) state;
    binfmt_header(arch_of("linux/arm64"), magic, mask);
    hex(magic, BINFMT_HEADER, m);
    hex(mask, BINFMT_HEADER, k);
    assert_string_equal(m, "7f454c460201010000000000000000000200b700");
    assert_string_equal(k, "ffffffffffffff00fffffffffffffffffeffffff");
    binfmt_header(arch_of("linux/arm/v7"), magic, mask);
    hex(magic, BINFMT_HEADER, m);
    assert_string_equal(m, "7f454c460101010000000000000000000200"
                           "2800");
    /* big-endian: e_type and e_machine high byte first, the mask's 0xfe on e_type's low byte */
    binfmt_header(arch_of("linux/s390x"), magic, mask);
    hex(magic, BINFMT_HEADER, m);
    hex(mask, BINFMT_HEADER, k);
    assert_string_equal(m, "7f454c460202010000000000000000000002"
                           "0016");
    assert_string_equal(k, "ffffffffffffff00ffffffffffffffffff"
                           "feffff");
}

static void
test_binfmt_arch_table(void **state)
{
    (void) state;
    assert_string_equal(arch_of("linux/aarch64")->qemu, "aarch64");
    assert_string_equal(arch_of("linux/riscv64")->qemu, "riscv64");
    assert_null(arch_of("linux/mips64le"));
    assert_null(arch_of("windows/arm64"));
}

static const char *
arg(char **args, const char *k)
{
    const char *v = strv_env_get(args, k);
    assert_non_null(v);
    return v;
}

/* BuildKit's values: the target normalised (arm gets v7, arm64's v8 is dropped), the build
 * platform the host's; a --build-arg of the same name wins. */
static void
test_platform_args_per_target(void **state)
{
    struct registry_opts reg = {.platform = "linux/arm"};
    char mine[] = "TARGETOS=mine";
    char *given[] = {mine, NULL};
    struct build_opts o = {.reg = &reg, .build_args = given};
    char host[96];

    (void) state;
    snprintf(host, sizeof(host), "linux/%s", oci_host_arch());
    char **a = build_platform_args(&o);
    assert_string_equal(arg(a, "TARGETPLATFORM"), "linux/arm/v7");
    assert_string_equal(arg(a, "TARGETARCH"), "arm");
    assert_string_equal(arg(a, "TARGETVARIANT"), "v7");
    assert_string_equal(arg(a, "TARGETOS"), "mine");
    assert_string_equal(arg(a, "BUILDPLATFORM"), host);
    assert_string_equal(arg(a, "BUILDARCH"), oci_host_arch());
    strv_free(a);
    reg.platform = "linux/arm64/v8";
    o.build_args = NULL;
    a = build_platform_args(&o);
    assert_string_equal(arg(a, "TARGETPLATFORM"), "linux/arm64");
    assert_string_equal(arg(a, "TARGETVARIANT"), "");
    strv_free(a);
}

/* A stage on another platform than the host's never shares a key with the host's; the host's
 * key is what it was before stages had a platform. */
static void
test_cache_key_has_foreign_platform(void **state)
{
    struct build_opts o = {0};
    struct build b = {.opts = &o, .clamp = 0};
    struct stage_state none = {0}, host = {0}, arm = {0}, arm2 = {0};
    struct lade_error err = {0};

    (void) state;
    assert_ok(oci_platform_parse(NULL, &host.platform, &err), &err);
    assert_ok(oci_platform_parse("linux/arm64", &arm.platform, &err), &err);
    assert_ok(oci_platform_parse("linux/arm64/v8", &arm2.platform, &err), &err);
    cache_key_init(&b, &none, "sha256:base");
    cache_key_init(&b, &host, "sha256:base");
    cache_key_init(&b, &arm, "sha256:base");
    cache_key_init(&b, &arm2, "sha256:base");
    assert_string_equal(none.key, host.key);
    assert_string_not_equal(host.key, arm.key);
    assert_string_equal(arm.key, arm2.key);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binfmt_headers),
        cmocka_unit_test(test_binfmt_arch_table),
        cmocka_unit_test(test_platform_args_per_target),
        cmocka_unit_test(test_cache_key_has_foreign_platform),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
