/* SPDX-License-Identifier: Apache-2.0 */
#include "../helpers/test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../layers/registry/sign.h"
#include "../../builder/common/xalloc.h"

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define OTHER "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define REPO "127.0.0.1:5000/lade/app"

struct keys {
    char *dir, *prefix, *key_path, *pub_path;
    struct sign_key *priv, *pub;
};

/* A fresh unencrypted pair in a temporary directory. */
static int
setup_keys(void **state)
{
    struct keys *k = xcalloc(1, sizeof(*k));
    struct lade_error err = {0};

    k->dir = test_tmpdir();
    k->prefix = xasprintf("%s/k", k->dir);
    k->key_path = xasprintf("%s.key", k->prefix);
    k->pub_path = xasprintf("%s.pub", k->prefix);
    assert_ok(sign_key_generate(k->prefix, NULL, &err), &err);
    assert_ok(sign_key_load_private(k->key_path, NULL, &k->priv, &err), &err);
    assert_ok(sign_key_load_public(k->pub_path, &k->pub, &err), &err);
    *state = k;
    return 0;
}

static int
teardown_keys(void **state)
{
    struct keys *k = *state;

    sign_key_free(k->priv);
    sign_key_free(k->pub);
    test_rm_rf(k->dir);
    free(k->dir);
    free(k->prefix);
    free(k->key_path);
    free(k->pub_path);
    free(k);
    return 0;
}

static void
test_payload_is_cosigns_simple_signing_json(void **state)
{
    size_t len = 0;
    char *p = sign_payload_new(REPO, DIGEST, &len);

    (void) state;
    assert_string_equal(p, "{\"critical\":{\"identity\":{\"docker-reference\":\"" REPO "\"},"
                           "\"image\":{\"docker-manifest-digest\":\"" DIGEST "\"},"
                           "\"type\":\"cosign container image signature\"},\"optional\":null}");
    assert_int_equal(len, strlen(p));
    free(p);
}

static void
test_payload_check_names_the_difference(void **state)
{
    struct lade_error err = {0};
    size_t len = 0;
    char *p = sign_payload_new(REPO, DIGEST, &len);

    (void) state;
    assert_ok(sign_payload_check(p, len, REPO, DIGEST, &err), &err);
    assert_int_equal(sign_payload_check(p, len, REPO, OTHER, &err), -1);
    assert_int_equal(err.code, LADE_ERR_AUTH);
    assert_non_null(strstr(err.msg, "signs manifest " DIGEST ", not the image's " OTHER));
    lade_error_clear(&err);
    assert_int_equal(sign_payload_check(p, len, "127.0.0.1:5000/lade/evil", DIGEST, &err), -1);
    assert_non_null(strstr(err.msg, "names repository"));
    free(p);
}

static void
test_payload_check_reads_cosign_spellings(void **state)
{
    struct lade_error err = {0};
    /* the spec's example spells Docker-manifest-digest; Go matches keys without case, and
     * cosign writes Hub repositories as index.docker.io */
    const char *p = "{\"critical\":{\"identity\":{\"docker-reference\":\"index.docker.io/library/"
                    "app\"},\"image\":{\"Docker-manifest-digest\":\"" DIGEST "\"},\"type\":"
                    "\"cosign container image signature\"},\"optional\":{\"creator\":\"x\"}}";

    (void) state;
    assert_ok(sign_payload_check(p, strlen(p), "docker.io/library/app", DIGEST, &err), &err);
    const char *t = "{\"critical\":{\"identity\":{\"docker-reference\":\"" REPO "\"},\"image\":"
                    "{\"docker-manifest-digest\":\"" DIGEST "\"},\"type\":\"atomic container "
                    "signature\"}}";
    assert_int_equal(sign_payload_check(t, strlen(t), REPO, DIGEST, &err), -1);
    assert_int_equal(err.code, LADE_ERR_AUTH);
    lade_error_clear(&err);
    assert_int_equal(sign_payload_check("{", 1, REPO, DIGEST, &err), -1);
    assert_int_equal(err.code, LADE_ERR_AUTH);
}

static void
test_generated_key_files(void **state)
{
    struct keys *k = *state;
    struct stat st;
    struct lade_error err = {0};
    char fp1[SIGN_FINGERPRINT_LEN], fp2[SIGN_FINGERPRINT_LEN];

    assert_int_equal(stat(k->key_path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(stat(k->pub_path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    sign_key_fingerprint(k->priv, fp1, sizeof(fp1));
    sign_key_fingerprint(k->pub, fp2, sizeof(fp2));
    assert_string_equal(fp1, fp2);
    assert_int_equal(strlen(fp1), 71);
    /* never replaced */
    assert_int_equal(sign_key_generate(k->prefix, NULL, &err), -1);
    assert_int_equal(err.code, LADE_ERR_USAGE);
    /* a public key cannot sign */
    lade_error_clear(&err);
    assert_null(sign_data(k->pub, "x", 1, &err));
}

static void
test_sign_verify_round_trip(void **state)
{
    struct keys *k = *state;
    struct lade_error err = {0};
    size_t len = 0;
    char *p = sign_payload_new(REPO, DIGEST, &len);
    char *sig = sign_data(k->priv, p, len, &err);

    assert_non_null(sig);
    assert_ok(sign_data_verify(k->pub, p, len, sig, &err), &err);
    /* the private key's public half verifies too */
    assert_ok(sign_data_verify(k->priv, p, len, sig, &err), &err);
    free(sig);
    free(p);
}

static void
test_tampering_is_detected(void **state)
{
    struct keys *k = *state;
    struct lade_error err = {0};
    size_t len = 0;
    char *p = sign_payload_new(REPO, DIGEST, &len);
    char *sig = sign_data(k->priv, p, len, &err);
    char *other_payload = sign_payload_new(REPO, OTHER, &len);

    assert_non_null(sig);
    /* another payload of the same length */
    assert_int_equal(sign_data_verify(k->pub, other_payload, len, sig, &err), -1);
    assert_int_equal(err.code, LADE_ERR_AUTH);
    /* a changed signature: still base64, another DER value */
    lade_error_clear(&err);
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    assert_int_equal(sign_data_verify(k->pub, p, len, sig, &err), -1);
    assert_int_equal(err.code, LADE_ERR_AUTH);
    /* not base64 at all */
    lade_error_clear(&err);
    assert_int_equal(sign_data_verify(k->pub, p, len, "not base64!", &err), -1);
    assert_non_null(strstr(err.msg, "not base64"));
    lade_error_clear(&err);
    assert_int_equal(sign_data_verify(k->pub, p, len, "QQ=A", &err), -1);
    free(sig);
    free(p);
    free(other_payload);
}

static void
test_another_key_does_not_verify(void **state)
{
    struct keys *k = *state;
    struct lade_error err = {0};
    char *prefix = xasprintf("%s/other", k->dir);
    char *pub_path = xasprintf("%s.pub", prefix);
    struct sign_key *other = NULL;
    char *sig = sign_data(k->priv, "payload", 7, &err);

    assert_ok(sign_key_generate(prefix, NULL, &err), &err);
    assert_ok(sign_key_load_public(pub_path, &other, &err), &err);
    assert_int_equal(sign_data_verify(other, "payload", 7, sig, &err), -1);
    assert_int_equal(err.code, LADE_ERR_AUTH);
    sign_key_free(other);
    free(sig);
    free(prefix);
    free(pub_path);
}

static void
test_encrypted_key_needs_its_password(void **state)
{
    struct keys *k = *state;
    struct lade_error err = {0};
    char *prefix = xasprintf("%s/enc", k->dir);
    char *key_path = xasprintf("%s.key", prefix);
    struct sign_key *key = NULL;

    assert_ok(sign_key_generate(prefix, "pw", &err), &err);
    assert_int_equal(sign_key_load_private(key_path, NULL, &key, &err), -1);
    assert_non_null(strstr(err.msg, "is encrypted"));
    lade_error_clear(&err);
    assert_int_equal(sign_key_load_private(key_path, "wrong", &key, &err), -1);
    assert_non_null(strstr(err.msg, "wrong LADE_SIGN_PASSWORD"));
    lade_error_clear(&err);
    assert_ok(sign_key_load_private(key_path, "pw", &key, &err), &err);
    sign_key_free(key);
    free(prefix);
    free(key_path);
}

static void
test_other_key_kinds_refused(void **state)
{
    struct keys *k = *state;
    struct lade_error err = {0};
    struct sign_key *key = NULL;

    /* a P-384 key, as openssl writes it: the curve is named in the error */
    test_need_tool("openssl");
    char *path = xasprintf("%s/p384.key", k->dir);
    char *cmd = xasprintf("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 "
                          "-out '%s' 2>/dev/null",
                          path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(sign_key_load_private(path, NULL, &key, &err), -1);
    assert_int_equal(err.code, LADE_ERR_USAGE);
    assert_non_null(strstr(err.msg, "not an ECDSA P-256 key"));
    lade_error_clear(&err);
    /* the public file where a private key is wanted */
    assert_int_equal(sign_key_load_private(k->pub_path, NULL, &key, &err), -1);
    assert_non_null(strstr(err.msg, "is a public key"));
    lade_error_clear(&err);
    assert_int_equal(sign_key_load_public(path, &key, &err), -1);
    free(cmd);
    free(path);
}

static void
test_sig_manifest_and_referrer(void **state)
{
    struct oci_desc payload = {.media_type = SIGN_PAYLOAD_MEDIA_TYPE, .digest = DIGEST, .size = 9};
    struct oci_desc config = {.media_type = MT_OCI_CONFIG, .digest = OTHER, .size = 2};
    struct oci_desc image = {.media_type = MT_OCI_INDEX, .digest = OTHER, .size = 300};
    json_t *layers = json_array();
    size_t len = 0;

    (void) state;
    json_array_append_new(layers, sign_layer_new(&payload, "c2ln"));
    json_t *cfg = sign_config_new(layers);
    char *text = oci_json_dump(cfg, &len);
    assert_string_equal(text, "{\"architecture\":\"\",\"config\":{},\"created\":\"0001-01-01T00:"
                              "00:00Z\",\"os\":\"\",\"rootfs\":{\"diff_ids\":[\"" DIGEST
                              "\"],\"type\":\"layers\"}}");
    free(text);

    json_t *m = sign_manifest_new(&config, layers, NULL);
    text = oci_json_dump(m, &len);
    assert_string_equal(
        text, "{\"config\":{\"digest\":\"" OTHER "\",\"mediaType\":\"" MT_OCI_CONFIG
              "\",\"size\":2},\"layers\":[{\"annotations\":{\"" SIGN_ANNOT_SIGNATURE
              "\":\"c2ln\"},\"digest\":\"" DIGEST "\",\"mediaType\":\"" SIGN_PAYLOAD_MEDIA_TYPE
              "\",\"size\":9}],\"mediaType\":\"" MT_OCI_MANIFEST "\",\"schemaVersion\":2}");
    free(text);
    json_decref(m);

    /* the referrer: artifactType and subject on top; the layers are shared, not copied */
    m = sign_manifest_new(&config, layers, &image);
    assert_string_equal(json_string_value(json_object_get(m, "artifactType")), SIGN_ARTIFACT_TYPE);
    json_t *subject = json_object_get(m, "subject");
    assert_string_equal(json_string_value(json_object_get(subject, "digest")), OTHER);
    assert_string_equal(json_string_value(json_object_get(subject, "mediaType")), MT_OCI_INDEX);
    assert_int_equal(json_integer_value(json_object_get(subject, "size")), 300);
    assert_ptr_equal(json_object_get(m, "layers"), layers);
    json_decref(m);
    json_decref(cfg);
    json_decref(layers);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_payload_is_cosigns_simple_signing_json),
        cmocka_unit_test(test_payload_check_names_the_difference),
        cmocka_unit_test(test_payload_check_reads_cosign_spellings),
        cmocka_unit_test(test_sig_manifest_and_referrer),
        cmocka_unit_test_setup_teardown(test_generated_key_files, setup_keys, teardown_keys),
        cmocka_unit_test_setup_teardown(test_sign_verify_round_trip, setup_keys, teardown_keys),
        cmocka_unit_test_setup_teardown(test_tampering_is_detected, setup_keys, teardown_keys),
        cmocka_unit_test_setup_teardown(test_another_key_does_not_verify, setup_keys,
                                        teardown_keys),
        cmocka_unit_test_setup_teardown(test_encrypted_key_needs_its_password, setup_keys,
                                        teardown_keys),
        cmocka_unit_test_setup_teardown(test_other_key_kinds_refused, setup_keys, teardown_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
