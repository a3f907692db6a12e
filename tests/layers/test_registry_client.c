/* SPDX-License-Identifier: Apache-2.0 */
/* The registry client's transport rules: which hosts speak plain HTTP, where docker.io is, which
 * proxy reaches a URL (docker's upper- and lower-case variables, NO_PROXY), which URLs may
 * receive the Authorization header, and certs.d client certificates. */
#include "../helpers/test.h"

#include <stdlib.h>
#include <string.h>

#include "../../builder/common/xalloc.h"
#include "../../layers/registry/client.h"

static const char *const proxy_vars[] = {"HTTP_PROXY",  "http_proxy", "HTTPS_PROXY",
                                         "https_proxy", "NO_PROXY",   "no_proxy"};

static int
clear_proxies(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof(proxy_vars) / sizeof(proxy_vars[0]); i++)
        unsetenv(proxy_vars[i]);
    return 0;
}

static struct reg_client *
client_for(const char *domain, const struct registry_opts *opts)
{
    struct reg_client *c = NULL;
    struct lade_error err = {0};

    assert_ok(reg_client_new(domain, opts, &c, &err), &err);
    return c;
}

static void
base_is(const char *domain, const struct registry_opts *opts, const char *want)
{
    struct reg_client *c = client_for(domain, opts);

    assert_string_equal(c->base, want);
    reg_client_free(c);
}

static void
test_plain_http_for_loopback_and_insecure(void **state)
{
    /* .invalid names never resolve, so the TLS probe of a listed host fails and it gets plain
     * HTTP without touching the network (t_registry_tls.sh covers a host that speaks TLS) */
    const char *insecure[] = {"reg.invalid:5000", "bare.invalid"};
    struct registry_opts opts = {.retries = -1, .insecure = insecure, .ninsecure = 2};

    (void) state;
    base_is("localhost:5000", NULL, "http://localhost:5000");
    base_is("localhost", NULL, "http://localhost");
    base_is("127.0.0.1:5000", NULL, "http://127.0.0.1:5000");
    base_is("127.10.0.3:443", NULL, "http://127.10.0.3:443");
    base_is("[::1]:5000", NULL, "http://[::1]:5000");
    base_is("ghcr.io", NULL, "https://ghcr.io");
    base_is("128.0.0.1:5000", NULL, "https://128.0.0.1:5000");
    base_is("localhost.example.com", NULL, "https://localhost.example.com");
    base_is("docker.io", NULL, "https://registry-1.docker.io");
    base_is("reg.invalid:5000", &opts, "http://reg.invalid:5000");
    base_is("reg.invalid:6000", &opts, "https://reg.invalid:6000");  /* the port counts */
    base_is("bare.invalid:5000", &opts, "http://bare.invalid:5000"); /* a bare host: any port */
}

static void
test_invalid_domain(void **state)
{
    struct reg_client *c = NULL;
    struct lade_error err = {0};

    (void) state;
    assert_int_equal(reg_client_new("host/path", NULL, &c, &err), -1);
    assert_int_equal(err.code, LADE_ERR_USAGE);
    lade_error_clear(&err);
    assert_int_equal(reg_client_new("", NULL, &c, &err), -1);
}

static void
test_proxy_from_environment(void **state)
{
    struct reg_client *c;

    (void) state;
    setenv("HTTPS_PROXY", "http://upper:3128", 1);
    setenv("https_proxy", "http://lower:3128", 1);
    setenv("http_proxy", "http://plain:3128", 1); /* libcurl alone ignores HTTP_PROXY, not this */
    setenv("NO_PROXY", "internal.example.com,.corp,10.0.0.1:5000", 1);
    c = client_for("ghcr.io", NULL);
    assert_string_equal(reg_proxy_for(c, "https://ghcr.io/v2/"), "http://upper:3128");
    assert_string_equal(reg_proxy_for(c, "http://ghcr.io/v2/"), "http://plain:3128");
    assert_string_equal(reg_proxy_for(c, "https://internal.example.com/v2/"), "");
    assert_string_equal(reg_proxy_for(c, "https://a.internal.example.com/v2/"), "");
    assert_string_equal(reg_proxy_for(c, "https://x.corp/v2/"), "");
    assert_string_equal(reg_proxy_for(c, "https://corp.evil.com/v2/"), "http://upper:3128");
    assert_string_equal(reg_proxy_for(c, "https://10.0.0.1:5000/v2/"), "");
    assert_string_equal(reg_proxy_for(c, "https://10.0.0.1:6000/v2/"), "http://upper:3128");
    /* loopback is never proxied, as Go's net/http (docker) decides */
    assert_string_equal(reg_proxy_for(c, "http://127.0.0.1:5000/v2/"), "");
    assert_string_equal(reg_proxy_for(c, "http://localhost:5000/v2/"), "");
    assert_string_equal(reg_proxy_for(c, "http://[::1]:5000/v2/"), "");
    reg_client_free(c);

    clear_proxies(NULL);
    setenv("HTTP_PROXY", "http://upper-plain:3128", 1); /* docker reads the upper case too */
    c = client_for("ghcr.io", NULL);
    assert_string_equal(reg_proxy_for(c, "http://reg.example.com/v2/"), "http://upper-plain:3128");
    assert_string_equal(reg_proxy_for(c, "https://ghcr.io/v2/"), "");
    reg_client_free(c);
    setenv("NO_PROXY", "*", 1);
    c = client_for("ghcr.io", NULL);
    assert_string_equal(reg_proxy_for(c, "http://reg.example.com/v2/"), "");
    reg_client_free(c);
}

static void
test_same_origin(void **state)
{
    struct reg_client *c = client_for("localhost:5000", NULL);

    (void) state;
    assert_true(reg_same_origin(c, "http://localhost:5000/v2/a/blobs/uploads/x?_state=1"));
    assert_true(reg_same_origin(c, "http://LOCALHOST:5000/v2/"));
    assert_false(reg_same_origin(c, "http://localhost:5001/v2/"));
    assert_false(reg_same_origin(c, "https://localhost:5000/v2/"));
    assert_false(reg_same_origin(c, "http://localhost:5000.evil.com/v2/"));
    assert_false(reg_same_origin(c, "http://localhost:5000@evil.com/v2/"));
    assert_false(reg_same_origin(c, "not a url"));
    reg_client_free(c);
}

static void
test_certs_dir_client_certificate(void **state)
{
    char *dir = test_tmpdir();
    struct registry_opts opts = {.retries = -1, .certs_dir = dir};
    struct reg_client *c = NULL;
    struct lade_error err = {0};

    (void) state;
    test_write_file(dir, "reg.example.com:5443/client.cert", "cert", 0644);
    assert_int_equal(reg_client_new("reg.example.com:5443", &opts, &c, &err), -1);
    assert_non_null(strstr(err.msg, "missing key client.key"));
    lade_error_clear(&err);
    test_write_file(dir, "reg.example.com:5443/client.key", "key", 0600);
    test_write_file(dir, "reg.example.com:5443/ca.crt", "-----BEGIN CERTIFICATE-----\n", 0644);
    c = client_for("reg.example.com:5443", &opts);
    assert_non_null(strstr(c->client_cert, "reg.example.com:5443/client.cert"));
    assert_non_null(strstr(c->client_key, "reg.example.com:5443/client.key"));
    /* the extra CA comes first, then the system bundle */
    assert_non_null(c->ca_pem);
    assert_memory_equal(c->ca_pem, "-----BEGIN CERTIFICATE-----\n", 28);
    reg_client_free(c);
    c = client_for("other.example.com", &opts);
    assert_null(c->ca_pem);
    assert_null(c->client_cert);
    reg_client_free(c);
    test_rm_rf(dir);
    free(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_plain_http_for_loopback_and_insecure, clear_proxies),
        cmocka_unit_test_setup(test_invalid_domain, clear_proxies),
        cmocka_unit_test_setup(test_proxy_from_environment, clear_proxies),
        cmocka_unit_test_setup(test_same_origin, clear_proxies),
        cmocka_unit_test_setup(test_certs_dir_client_certificate, clear_proxies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
