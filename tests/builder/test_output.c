/* SPDX-License-Identifier: Apache-2.0 */
/* output.c's parser: buildx's -o forms. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "../../builder/output.h"

static void
parse_ok(const char *spec, struct build_output *out)
{
    struct lade_error err = {0};

    if (output_parse(spec, out, &err) < 0)
        fail_msg("%s: %s", spec, err.msg);
}

static void
parse_fails(const char *spec, const char *msg_part)
{
    struct lade_error err = {0};
    struct build_output out;

    assert_int_equal(output_parse(spec, &out, &err), -1);
    assert_int_equal(err.code, LADE_ERR_USAGE);
    if (strstr(err.msg, msg_part) == NULL)
        fail_msg("%s: \"%s\" lacks \"%s\"", spec, err.msg, msg_part);
}

static void
test_output_types_and_dest(void **state)
{
    struct build_output o;

    (void) state;
    parse_ok("type=local,dest=out", &o);
    assert_int_equal(o.type, OUTPUT_LOCAL);
    assert_string_equal(o.dest, "out");
    output_release(&o);
    parse_ok("type=tar,dest=-", &o);
    assert_int_equal(o.type, OUTPUT_TAR);
    assert_string_equal(o.dest, "-");
    output_release(&o);
    parse_ok("dest=x.tar,type=docker", &o);
    assert_int_equal(o.type, OUTPUT_DOCKER);
    output_release(&o);
}

static void
test_output_shorthands_as_buildx(void **state)
{
    struct build_output o;

    (void) state;
    parse_ok("outdir", &o);
    assert_int_equal(o.type, OUTPUT_LOCAL);
    assert_string_equal(o.dest, "outdir");
    output_release(&o);
    parse_ok("-", &o);
    assert_int_equal(o.type, OUTPUT_TAR);
    assert_string_equal(o.dest, "-");
    output_release(&o);
    /* buildx: one field not starting with type= is a path, even "dest=x" */
    parse_ok("dest=x", &o);
    assert_int_equal(o.type, OUTPUT_LOCAL);
    assert_string_equal(o.dest, "dest=x");
    output_release(&o);
}

static void
test_output_names_quoted_and_normalised(void **state)
{
    struct build_output o;

    (void) state;
    parse_ok("type=oci,dest=o.tar,\"name=app:1,reg.example:5000/x/y:2\"", &o);
    assert_non_null(o.names);
    assert_string_equal(o.names[0], "docker.io/library/app:1");
    assert_string_equal(o.names[1], "reg.example:5000/x/y:2");
    assert_null(o.names[2]);
    output_release(&o);
    parse_ok("type=registry,name=app:3", &o);
    assert_int_equal(o.type, OUTPUT_IMAGE);
    assert_true(o.push);
    output_release(&o);
    parse_ok("type=image,push=false", &o);
    assert_false(o.push);
    output_release(&o);
}

static void
test_output_errors(void **state)
{
    (void) state;
    parse_fails("type=local", "needs dest=DIR");
    parse_fails("type=oci", "needs dest=FILE");
    parse_fails("type=local,dest=-", "needs a directory");
    parse_fails("type=cacheonly,dest=x", "type must be");
    parse_fails("dest=a,name=b:1", "type is required");
    parse_fails("type=oci,dest=x,compression=zstd", "not supported");
    parse_fails("type=oci,\"dest=x", "unterminated quote");
    parse_fails("type=oci,dest=x,name=UPPER:1", "name=");
}

static void
test_outputs_one_stdout(void **state)
{
    struct build_output o[2];
    struct lade_error err = {0};

    (void) state;
    parse_ok("-", &o[0]);
    parse_ok("type=oci,dest=-", &o[1]);
    assert_int_equal(outputs_check(o, 1, false, &err), 0);
    assert_int_equal(outputs_check(o, 1, true, &err), -1);
    memset(&err, 0, sizeof(err));
    assert_int_equal(outputs_check(o, 2, false, &err), -1);
    assert_non_null(strstr(err.msg, "only one output"));
    output_release(&o[0]);
    output_release(&o[1]);
}

/* Several platforms: local outputs go under DEST/linux_arm64, tar ones under TMP/INDEX/... to be
 * joined after; archives and the store are the index's (not given to a platform's build). */
static void
test_outputs_platform_split(void **state)
{
    struct build_output outs[4];
    size_t n = 0;

    (void) state;
    parse_ok("type=oci,dest=o.tar", &outs[0]);
    parse_ok("type=local,dest=out", &outs[1]);
    parse_ok("-", &outs[2]);
    parse_ok("type=registry", &outs[3]);
    struct build_output *one = outputs_platform(outs, 4, "/tmp/T", "linux_arm64", &n);
    assert_int_equal(n, 2);
    assert_int_equal(one[0].type, OUTPUT_LOCAL);
    assert_string_equal(one[0].dest, "out/linux_arm64");
    assert_int_equal(one[1].type, OUTPUT_LOCAL);
    assert_string_equal(one[1].dest, "/tmp/T/2/linux_arm64");
    outputs_platform_free(one, n);
    for (size_t i = 0; i < 4; i++)
        output_release(&outs[i]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_types_and_dest),
        cmocka_unit_test(test_output_shorthands_as_buildx),
        cmocka_unit_test(test_output_names_quoted_and_normalised),
        cmocka_unit_test(test_output_errors),
        cmocka_unit_test(test_outputs_one_stdout),
        cmocka_unit_test(test_outputs_platform_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
