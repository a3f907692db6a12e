/* SPDX-License-Identifier: Apache-2.0 */
/* --sbom, --provenance and --attest as buildx reads them (builder/attest_opts.c), and the
 * package URLs the statements name images by (attest_purl). */
#include "../helpers/test.h"

#include <stdlib.h>
#include <string.h>

#include "../../builder/attest.h"
#include "../../builder/build.h"

static struct build_opts
opts_of(const char *const *flags)
{
    struct build_opts o = {0};
    struct lade_error err = {0};

    /* flags: pairs of flag and value (value "" means NULL: the flag given alone) */
    for (size_t i = 0; flags[i] != NULL; i += 2) {
        const char *v = flags[i + 1][0] ? flags[i + 1] : NULL;
        if (attest_option(&o, flags[i], v, &err) < 0)
            fail_msg("--%s=%s: %s", flags[i], v ? v : "(none)", err.msg);
    }
    return o;
}

static void
refused(const char *flag, const char *value, const char *msg_part)
{
    struct build_opts o = {0};
    struct lade_error err = {0};

    assert_int_equal(attest_option(&o, flag, value, &err), -1);
    assert_int_equal(err.code, LADE_ERR_USAGE);
    if (strstr(err.msg, msg_part) == NULL)
        fail_msg("--%s=%s: \"%s\" lacks \"%s\"", flag, value, err.msg, msg_part);
}

static void
test_shorthands_as_buildx(void **state)
{
    (void) state;
    struct build_opts o = opts_of((const char *[]){"sbom", "", "provenance", "", NULL});
    assert_true(o.sbom);
    assert_int_equal(o.provenance, PROVENANCE_MIN); /* BuildKit's default mode */
    o = opts_of((const char *[]){"sbom", "true", "sbom", "false", "provenance", "1", NULL});
    assert_false(o.sbom); /* the last one wins */
    assert_int_equal(o.provenance, PROVENANCE_MIN);
    o = opts_of((const char *[]){"provenance", "mode=max", NULL});
    assert_int_equal(o.provenance, PROVENANCE_MAX);
    o = opts_of((const char *[]){"provenance", "mode=max", "provenance", "False", NULL});
    assert_int_equal(o.provenance, PROVENANCE_OFF);
    o = opts_of((const char *[]){"provenance", "mode=min,version=v1", NULL});
    assert_int_equal(o.provenance, PROVENANCE_MIN);
}

static void
test_attest_values(void **state)
{
    (void) state;
    struct build_opts o = opts_of(
        (const char *[]){"attest", "type=sbom", "attest", "mode=max,type=provenance", NULL});
    assert_true(o.sbom);
    assert_int_equal(o.provenance, PROVENANCE_MAX); /* type may come after the other keys */
    o = opts_of((const char *[]){"attest", "type=sbom", "attest", "type=sbom,disabled=true", NULL});
    assert_false(o.sbom);
    o = opts_of((const char *[]){"attest", "type=provenance,disabled=false", NULL});
    assert_int_equal(o.provenance, PROVENANCE_MIN);
}

static void
test_unsupported_refused_by_name(void **state)
{
    (void) state;
    refused("attest", "type=sbom,generator=docker/buildkit-syft-scanner",
            "generator= (an SBOM scanner image) is not implemented yet");
    refused("sbom", "generator=x", "generator=");
    refused("provenance", "version=v0.2", "version=v0.2 is not implemented yet");
    refused("provenance", "mode=medium", "mode must be min or max");
    refused("provenance", "builder-id=https://ci.invalid/1", "\"builder-id\" is not supported");
    refused("sbom", "mode=max", "\"mode\" is not supported (keys: type, disabled)");
    refused("sbom", "maybe", "\"maybe\" is not key=value");
    refused("attest", "type=vex", "type must be sbom or provenance");
    refused("attest", "mode=max", "type= is required");
    refused("attest", "type=sbom,disabled=perhaps", "disabled must be true or false");
}

static void
test_purl_as_buildkit(void **state)
{
    (void) state;
    char *p = attest_purl("docker.io/library/debian:12", "linux/arm/v7");
    assert_string_equal(p, "pkg:docker/docker.io/library/debian@12?platform=linux%2Farm%2Fv7");
    free(p);
    p = attest_purl("localhost:5000/app", "linux/amd64"); /* the port is no tag */
    assert_string_equal(p, "pkg:docker/localhost:5000/app?platform=linux%2Famd64");
    free(p);
    p = attest_purl("localhost:5000/app@sha256:abc", "linux/amd64");
    assert_string_equal(p, "pkg:docker/localhost:5000/app@sha256:abc?platform=linux%2Famd64");
    free(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shorthands_as_buildx),
        cmocka_unit_test(test_attest_values),
        cmocka_unit_test(test_unsupported_refused_by_name),
        cmocka_unit_test(test_purl_as_buildkit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
