/* SPDX-License-Identifier: Apache-2.0 */
/* --cache-to / --cache-from parsing (builder/cache_spec.h) as BuildKit spells the fields, and
 * the cache artifact's records (builder/cache_transfer.h) written and read back. */
#include "../helpers/test.h"

#include <stdlib.h>
#include <string.h>

#include "../../builder/cache_transfer.h"

static void
parse_ok(const char *text, bool to, struct cache_spec *s)
{
    struct lade_error err = {0};

    assert_ok(cache_spec_parse(text, to, s, &err), &err);
}

/* The usage error for text, whose message must contain want. */
static void
parse_fails(const char *text, bool to, const char *want)
{
    struct lade_error err = {0};
    struct cache_spec s = {0};

    assert_int_equal(cache_spec_parse(text, to, &s, &err), -1);
    assert_int_equal(err.code, LADE_ERR_USAGE);
    if (strstr(err.msg, want) == NULL)
        fail_msg("\"%s\": message \"%s\" lacks \"%s\"", text, err.msg, want);
    assert_null(s.ref);
}

static void
test_cache_spec_registry_fields(void **state)
{
    struct cache_spec s;

    (void) state;
    parse_ok("type=registry,ref=127.0.0.1:5000/app:cache,mode=max,ignore-error=true", true, &s);
    assert_int_equal(s.type, CACHE_SPEC_REGISTRY);
    assert_string_equal(s.ref, "127.0.0.1:5000/app:cache");
    assert_int_equal(s.mode, CACHE_MODE_MAX);
    assert_true(s.ignore_error);
    cache_spec_release(&s);
    /* the defaults: mode=min, errors are errors */
    parse_ok("type=registry,ref=app:cache", true, &s);
    assert_int_equal(s.mode, CACHE_MODE_MIN);
    assert_false(s.ignore_error);
    cache_spec_release(&s);
    /* BuildKit's image-manifest and oci-mediatypes say what lade always does */
    parse_ok("type=registry,ref=app:cache,image-manifest=true,oci-mediatypes=1", true, &s);
    cache_spec_release(&s);
}

static void
test_cache_spec_bare_reference_is_registry(void **state)
{
    struct cache_spec s;

    (void) state;
    parse_ok("registry.example:5000/app:cache", false, &s);
    assert_int_equal(s.type, CACHE_SPEC_REGISTRY);
    assert_string_equal(s.ref, "registry.example:5000/app:cache");
    cache_spec_release(&s);
}

static void
test_cache_spec_local_fields(void **state)
{
    struct cache_spec s;

    (void) state;
    parse_ok("type=local,dest=/tmp/c,mode=max", true, &s);
    assert_int_equal(s.type, CACHE_SPEC_LOCAL);
    assert_string_equal(s.dir, "/tmp/c");
    assert_string_equal(s.tag, "latest");
    cache_spec_release(&s);
    parse_ok("type=local,src=/tmp/c,tag=v2", false, &s);
    assert_string_equal(s.dir, "/tmp/c");
    assert_string_equal(s.tag, "v2");
    cache_spec_release(&s);
}

static void
test_cache_spec_refusals_name_the_cause(void **state)
{
    (void) state;
    parse_fails("type=inline", true, "type=inline is not supported: use type=registry");
    parse_fails("type=gha", true, "type=gha is not supported");
    parse_fails("type=s3,region=x", false, "unknown key \"region\"");
    parse_fails("type=s3", false, "type=s3 is not supported");
    parse_fails("type=azblob", true, "type=azblob is not supported");
    parse_fails("type=floppy", true, "unknown type \"floppy\"");
    parse_fails("type=registry", true, "needs ref=NAME");
    parse_fails("ref=app:cache", true, "needs type=registry or type=local");
    parse_fails("type=registry,ref=app:cache,mode=huge", true, "mode must be min or max");
    parse_fails("type=registry,ref=app:cache,ignore-error=maybe", true, "true or false");
    parse_fails("type=registry,ref=app:cache,image-manifest=false", true, "always exports");
    parse_fails("type=registry,ref=app:cache,compression=zstd", true, "not implemented yet");
    parse_fails("type=registry,ref=Bad/Name", false, "ref=Bad/Name");
    parse_fails("type=local", true, "needs dest=DIR");
    parse_fails("type=local,dest=/x", false, "unknown key \"dest\""); /* dest is --cache-to's */
}

static void
test_cache_spec_direction_options(void **state)
{
    (void) state;
    parse_fails("type=registry,ref=app:c,mode=max", false, "unknown key \"mode\"");
    parse_fails("type=registry,ref=app:c,ignore-error=true", false, "unknown key");
    parse_fails("type=local,src=/x", true, "unknown key \"src\"");
    parse_fails("type=registry,ref=app:c,tag=x", true, "takes no tag=");
}

static void
test_cache_records_round_trip_sorted_unique(void **state)
{
    struct cache_rec in[3] = {0}, *out = NULL;
    struct lade_error err = {0};
    size_t n = 3, nout = 0;

    (void) state;
    snprintf(in[0].key, sizeof(in[0].key), "sha256:%064d", 2);
    snprintf(in[1].key, sizeof(in[1].key), "sha256:%064d", 1);
    snprintf(in[2].key, sizeof(in[2].key), "sha256:%064d", 2);
    in[1].has_layer = true;
    snprintf(in[1].diff_id, sizeof(in[1].diff_id), "sha256:%064d", 9);
    snprintf(in[1].blob.digest, sizeof(in[1].blob.digest), "sha256:%064d", 8);
    snprintf(in[1].blob.media_type, sizeof(in[1].blob.media_type), "%s", MT_OCI_LAYER_GZIP);
    in[1].blob.size = 1234;
    in[2].where = 5; /* the same key from a later source: dropped */
    cache_recs_sort_unique(in, &n);
    assert_int_equal(n, 2);
    assert_int_equal(in[1].where, 0);

    json_t *j = cache_recs_to_json(in, n);
    assert_ok(cache_recs_from_json(j, &out, &nout, &err), &err);
    json_decref(j);
    assert_int_equal(nout, 2);
    assert_string_equal(out[0].key, in[0].key);
    assert_true(out[0].has_layer);
    assert_string_equal(out[0].diff_id, in[0].diff_id);
    assert_string_equal(out[0].blob.digest, in[0].blob.digest);
    assert_int_equal(out[0].blob.size, 1234);
    assert_false(out[1].has_layer);
    free(out);
}

static void
test_cache_records_damaged_are_refused(void **state)
{
    struct lade_error err = {0};
    struct cache_rec *out = NULL;
    size_t n = 0;

    (void) state;
    json_t *j = json_pack("{s:[{s:s, s:n}]}", "records", "key", "not-a-digest", "layer");
    assert_int_equal(cache_recs_from_json(j, &out, &n, &err), -1);
    json_decref(j);
    j = json_pack("{s:s}", "records", "x");
    struct lade_error err2 = {0};
    assert_int_equal(cache_recs_from_json(j, &out, &n, &err2), -1);
    json_decref(j);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_spec_registry_fields),
        cmocka_unit_test(test_cache_spec_bare_reference_is_registry),
        cmocka_unit_test(test_cache_spec_local_fields),
        cmocka_unit_test(test_cache_spec_refusals_name_the_cause),
        cmocka_unit_test(test_cache_spec_direction_options),
        cmocka_unit_test(test_cache_records_round_trip_sorted_unique),
        cmocka_unit_test(test_cache_records_damaged_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
