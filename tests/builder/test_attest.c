/* SPDX-License-Identifier: Apache-2.0 */
/* Attestations (builder/attest.c): the provenance predicate's fields, statements, and the
 * attestation manifest stored as BuildKit lays it out. */
#include "../helpers/test.h"

#include <stdlib.h>
#include <string.h>

#include "../../builder/attest.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static void
test_provenance_names_inputs(void **state)
{
    char v[] = "V=2", noval[] = "noval", base[] = "docker.io/library/debian:12@" D1;
    char *args[] = {v, noval, NULL}, *bases[] = {base, NULL};
    struct provenance_input in = {"Dockerfile", D2, args, "final", "linux/arm64", bases, "0.9"};
    json_t *p = provenance_predicate(&in);
    json_error_t jerr;

    (void) state;
    const char *uri = NULL, *dig = NULL, *arg = NULL, *target = NULL, *cfg = NULL;
    assert_int_equal(
        json_unpack_ex(p, &jerr, 0, "{s:{s:{s:{s:{s:s}}, s:{s:{s:s, s:s}}}, s:[{s:s, s:{s:s}}]}}",
                       "buildDefinition", "externalParameters", "configSource", "digest", "sha256",
                       &cfg, "request", "args", "build-arg:V", &arg, "target", &target,
                       "resolvedDependencies", "uri", &uri, "digest", "sha256", &dig),
        0);
    assert_string_equal(cfg, D2 + 7);
    assert_string_equal(arg, "2");
    assert_string_equal(target, "final");
    assert_string_equal(uri, "pkg:docker/docker.io/library/debian@12?platform=linux%2Farm64");
    assert_string_equal(dig, D1 + 7);
    json_decref(p);
}

static void
test_attestation_manifest_layout(void **state)
{
    struct lade_error err = {0};
    char *root = test_tmpdir();
    struct store *st = NULL;
    struct oci_desc image = {MT_OCI_MANIFEST, D1, 100};
    json_t *stmt[2], *entry = NULL;
    char *text = NULL;
    size_t len = 0;
    struct oci_manifest m = {0};

    (void) state;
    assert_ok(store_open(root, &st, &err), &err);
    stmt[0] = attest_statement("pkg:docker/app@1", D1, PREDICATE_SPDX, json_object());
    stmt[1] = attest_statement("pkg:docker/app@1", D1, PREDICATE_SLSA1, json_object());
    assert_ok(attest_manifest(st, &image, stmt, 2, &entry, &err), &err);
    json_t *ann = json_object_get(entry, "annotations");
    assert_string_equal(json_string_value(json_object_get(ann, "vnd.docker.reference.digest")), D1);
    assert_string_equal(json_string_value(json_object_get(ann, "vnd.docker.reference.type")),
                        "attestation-manifest");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(entry, "platform"), "os")), "unknown");
    const char *mdigest = json_string_value(json_object_get(entry, "digest"));
    assert_ok(store_blob_read(st, mdigest, 0, &text, &len, &err), &err);
    assert_ok(oci_manifest_parse(text, len, &m, &err), &err);
    assert_int_equal(m.nlayers, 2);
    assert_string_equal(m.layers[0].media_type, MT_IN_TOTO);
    json_t *doc = json_loads(text, 0, NULL);
    json_t *l1 = json_array_get(json_object_get(doc, "layers"), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(l1, "annotations"),
                                                          "in-toto.io/predicate-type")),
                        PREDICATE_SLSA1);
    json_decref(doc);
    oci_manifest_release(&m);
    free(text);
    json_decref(entry);
    json_decref(stmt[0]);
    json_decref(stmt[1]);
    store_free(st);
    test_rm_rf(root);
    free(root);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provenance_names_inputs),
        cmocka_unit_test(test_attestation_manifest_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
