/* SPDX-License-Identifier: Apache-2.0 */
/* WWW-Authenticate parsing, registry error bodies and login server names. */
#include "../helpers/test.h"

#include <stdlib.h>
#include <string.h>

#include "../../layers/registry/client.h"

static void
parse_ok(const char *header, const char *scheme, const char *realm, const char *service,
         const char *scope)
{
    struct reg_challenge ch;

    if (reg_challenge_parse(header, &ch) != 0)
        fail_msg("refused: %s", header);
    assert_string_equal(ch.scheme, scheme);
#define CHECK(field)                                                                               \
    do {                                                                                           \
        if (field == NULL)                                                                         \
            assert_null(ch.field);                                                                 \
        else if (ch.field == NULL || strcmp(ch.field, field) != 0)                                 \
            fail_msg("%s: " #field " is \"%s\", not \"%s\"", header,                               \
                     ch.field ? ch.field : "(null)", field);                                       \
    } while (0)
    CHECK(realm);
    CHECK(service);
    CHECK(scope);
#undef CHECK
    reg_challenge_release(&ch);
}

static void
parse_refused(const char *header)
{
    struct reg_challenge ch;

    if (reg_challenge_parse(header, &ch) == 0) {
        reg_challenge_release(&ch);
        fail_msg("accepted: %s", header ? header : "(null)");
    }
}

static void
test_challenge_bearer(void **state)
{
    (void) state;
    parse_ok("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
             "scope=\"repository:library/alpine:pull\"",
             "bearer", "https://auth.docker.io/token", "registry.docker.io",
             "repository:library/alpine:pull");
    parse_ok("Bearer realm=\"https://ghcr.io/token\",service=\"ghcr.io\",scope=\"repository:a/b:"
             "pull,push\"",
             "bearer", "https://ghcr.io/token", "ghcr.io", "repository:a/b:pull,push");
}

static void
test_challenge_basic(void **state)
{
    (void) state;
    parse_ok("Basic realm=\"Registry Realm\"", "basic", "Registry Realm", NULL, NULL);
    parse_ok("basic", "basic", NULL, NULL, NULL);
    parse_ok("Basic realm=simple", "basic", "simple", NULL, NULL);
}

static void
test_challenge_case_and_whitespace(void **state)
{
    (void) state;
    parse_ok("BEARER Realm=\"r\" , SERVICE = s ,scope=\"x\"", "bearer", "r", "s", "x");
    parse_ok("  Bearer   realm=\"r\"  ", "bearer", "r", NULL, NULL);
}

static void
test_challenge_quoting(void **state)
{
    (void) state;
    /* commas and escaped quotes inside quoted strings are data */
    parse_ok("Bearer realm=\"https://a/t?x=1,2\",service=\"a \\\"q\\\" b\",scope=\"s\\\\t\"",
             "bearer", "https://a/t?x=1,2", "a \"q\" b", "s\\t");
    parse_ok("Bearer realm=\"\"", "bearer", "", NULL, NULL);
}

static void
test_challenge_several(void **state)
{
    (void) state;
    /* Bearer wins over Basic whatever the order */
    parse_ok("Basic realm=\"b\", Bearer realm=\"https://a/t\",service=\"s\"", "bearer",
             "https://a/t", "s", NULL);
    parse_ok("Bearer realm=\"https://a/t\", Basic realm=\"b\"", "bearer", "https://a/t", NULL,
             NULL);
    parse_ok("Negotiate abc/+==, Basic realm=\"b\"", "basic", "b", NULL, NULL);
    parse_ok("Digest realm=\"d\", nonce=\"n, m\", Basic realm=\"b\"", "basic", "b", NULL, NULL);
    parse_ok("Basic, Bearer realm=\"r\"", "bearer", "r", NULL, NULL);
    /* duplicates: the first counts */
    parse_ok("Bearer realm=\"one\", realm=\"two\"", "bearer", "one", NULL, NULL);
}

static void
test_challenge_malformed(void **state)
{
    (void) state;
    parse_refused(NULL);
    parse_refused("");
    parse_refused("   ");
    parse_refused(", , ,");
    parse_refused("Bearer realm=\"unterminated");
    parse_refused("Bearer realm=\"ends in a backslash\\");
    parse_refused("Bearer realm=\"r\" service=\"s\"");    /* no comma between params */
    parse_refused("Bearer realm=\"a\x01z\"");             /* control character */
    parse_refused("Bearer realm=\"r\",service=");         /* no value */
    parse_refused("Bearer realm=\"r\",service=,scope=x"); /* no value */
    parse_refused("realm=\"x\"");                         /* params without a scheme */
    parse_refused("Bearer service=\"s\"");                /* Bearer without a realm */
    parse_refused("Digest realm=\"x\"");                  /* nothing we speak */
    parse_refused("Bea\"rer realm=\"x\"");
    parse_refused("Bearer realm=\"x\"\"y\"");
}

static void
test_error_message(void **state)
{
    const char *reg = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication "
                      "required\",\"detail\":[{\"Type\":\"repository\"}]}]}";
    const char *two = "{\"errors\":[{\"code\":\"BLOB_UNKNOWN\",\"message\":\"blob unknown\","
                      "\"detail\":\"sha256:ab\"},{\"code\":\"DENIED\"}]}";
    const char *hub = "{\"details\":\"incorrect username or password\"}";
    const char *html = "<html><body>502 Bad Gateway</body></html>";
    char *m;

    (void) state;
    m = reg_error_message(reg, strlen(reg));
    assert_string_equal(m, "authentication required");
    free(m);
    m = reg_error_message(two, strlen(two));
    assert_string_equal(m, "blob unknown (sha256:ab); DENIED");
    free(m);
    m = reg_error_message(hub, strlen(hub));
    assert_string_equal(m, "incorrect username or password");
    free(m);
    m = reg_error_message("upstream timed out\n", 19);
    assert_string_equal(m, "upstream timed out");
    free(m);
    assert_null(reg_error_message(html, strlen(html)));
    assert_null(reg_error_message(NULL, 0));
    assert_null(reg_error_message("{}", 2));
}

static void
server_is(const char *typed, const char *want)
{
    struct lade_error err = {0};
    char *got = registry_server_name(typed, &err);

    if (got == NULL)
        fail_msg("\"%s\" refused: %s", typed ? typed : "(null)", err.msg);
    assert_string_equal(got, want);
    free(got);
}

static void
server_refused(const char *typed)
{
    struct lade_error err = {0};
    char *got = registry_server_name(typed, &err);

    if (got != NULL)
        fail_msg("\"%s\" accepted as \"%s\"", typed, got);
    assert_int_equal(err.code, LADE_ERR_USAGE);
    assert_non_null(strstr(err.msg, typed));
}

static void
test_server_name(void **state)
{
    (void) state;
    server_is(NULL, "docker.io");
    server_is("", "docker.io");
    server_is("docker.io", "docker.io");
    server_is("index.docker.io", "docker.io");
    server_is("registry-1.docker.io", "docker.io");
    server_is("https://index.docker.io/v1/", "docker.io");
    server_is("localhost:5000", "localhost:5000");
    server_is("https://Localhost:5000/v2/", "localhost:5000");
    server_is("http://127.0.0.1:5000", "127.0.0.1:5000");
    server_is("ghcr.io/owner/repo", "ghcr.io");
    server_is("myregistry.azurecr.io", "myregistry.azurecr.io");
    server_is("[::1]:5000", "[::1]:5000");
    server_is("reg.example.com:443", "reg.example.com:443");
}

static void
test_server_name_malformed(void **state)
{
    (void) state;
    server_refused("ftp://host");
    server_refused("a b");
    server_refused("host:99999");
    server_refused("host:");
    server_refused("host:x1");
    server_refused("-bad.example.com");
    server_refused("[::1");
    server_refused("user@host");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_challenge_bearer),
        cmocka_unit_test(test_challenge_basic),
        cmocka_unit_test(test_challenge_case_and_whitespace),
        cmocka_unit_test(test_challenge_quoting),
        cmocka_unit_test(test_challenge_several),
        cmocka_unit_test(test_challenge_malformed),
        cmocka_unit_test(test_error_message),
        cmocka_unit_test(test_server_name),
        cmocka_unit_test(test_server_name_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
