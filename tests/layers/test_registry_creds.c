/* SPDX-License-Identifier: Apache-2.0 */
/* docker's config.json and credential helpers, in a temporary directory: lookups under every
 * key form docker writes, atomic 0600 writes that keep unknown fields, and the
 * docker-credential-NAME get/store/erase protocol with a real helper script on PATH. */
#include "../helpers/test.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../builder/common/fsutil.h"
#include "../../builder/common/xalloc.h"
#include "../../layers/registry/creds.h"

/* A helper keeping one "ServerURL Username Secret" line per server in $HELPER_STORE. */
static const char helper_script[] =
    "#!/bin/sh\n"
    "in=$(cat)\n"
    "case $1 in\n"
    "get)\n"
    "  line=$(grep -F \"\\\"ServerURL\\\":\\\"$in\\\"\" \"$HELPER_STORE\" 2>/dev/null)\n"
    "  [ -n \"$line\" ] || { echo 'credentials not found in native keychain'; exit 1; }\n"
    "  echo \"$line\";;\n"
    "store) echo \"$in\" >>\"$HELPER_STORE\";;\n"
    "erase)\n"
    "  grep -qF \"\\\"ServerURL\\\":\\\"$in\\\"\" \"$HELPER_STORE\" 2>/dev/null ||\n"
    "    { echo 'credentials not found in native keychain'; exit 1; }\n"
    "  grep -vF \"\\\"ServerURL\\\":\\\"$in\\\"\" \"$HELPER_STORE\" >\"$HELPER_STORE.n\"\n"
    "  mv \"$HELPER_STORE.n\" \"$HELPER_STORE\";;\n"
    "*) echo \"keychain locked\"; exit 3;;\n"
    "esac\n";

struct fixture {
    char *dir;
    char *config; /* dir/docker/config.json */
    struct registry_opts opts;
};

static int
setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));

    f->dir = test_tmpdir();
    f->config = xasprintf("%s/docker/config.json", f->dir);
    f->opts.docker_config = xasprintf("%s/docker", f->dir);
    f->opts.retries = -1;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    test_rm_rf(f->dir);
    free(f->dir);
    free(f->config);
    free((char *) f->opts.docker_config);
    free(f);
    return 0;
}

static void
write_config(struct fixture *f, const char *json)
{
    test_write_file(f->dir, "docker/config.json", json, 0644);
}

static json_t *
load_config(struct fixture *f)
{
    json_error_t jerr;
    json_t *root = json_load_file(f->config, 0, &jerr);

    if (root == NULL)
        fail_msg("%s: %s", f->config, jerr.text);
    return root;
}

static void
expect_creds(struct fixture *f, const char *server, const char *user, const char *secret)
{
    struct reg_creds cr;
    struct lade_error err = {0};
    int rc = reg_creds_get(&f->opts, server, &cr, &err);

    if (rc != 0)
        fail_msg("%s: rc %d: %s", server, rc, err.msg);
    assert_string_equal(cr.user, user);
    assert_string_equal(cr.secret, secret);
    reg_creds_release(&cr);
}

static void
expect_none(struct fixture *f, const char *server)
{
    struct reg_creds cr;
    struct lade_error err = {0};

    assert_int_equal(reg_creds_get(&f->opts, server, &cr, &err), 1);
}

static void
test_config_path(void **state)
{
    struct fixture *f = *state;
    char *p;

    p = reg_config_path(&f->opts);
    assert_string_equal(p, f->config);
    free(p);
    setenv("DOCKER_CONFIG", "/elsewhere", 1);
    p = reg_config_path(NULL);
    assert_string_equal(p, "/elsewhere/config.json");
    free(p);
    unsetenv("DOCKER_CONFIG");
    setenv("HOME", "/home/someone", 1);
    p = reg_config_path(NULL);
    assert_string_equal(p, "/home/someone/.docker/config.json");
    free(p);
}

static void
test_auths_lookup(void **state)
{
    struct fixture *f = *state;

    /* dXNlcjpwYXNz = user:pass, aHViOmh1YnB3 = hub:hubpw, YTpiOmM= = a:b:c */
    write_config(f, "{\"auths\": {"
                    "\"https://index.docker.io/v1/\": {\"auth\": \"aHViOmh1YnB3\"},"
                    "\"https://reg.example.com\": {\"auth\": \"dXNlcjpwYXNz\"},"
                    "\"http://plain.example.com:5000/v2/\": {\"auth\": \"dXNlcjpwYXNz\"},"
                    "\"colon.example.com\": {\"auth\": \"YTpiOmM=\"},"
                    "\"fields.example.com\": {\"username\": \"u2\", \"password\": \"p2\"},"
                    "\"broken.example.com\": {\"auth\": \"not base64!\"},"
                    "\"idt.example.com\": {\"auth\": \"\", \"identitytoken\": \"refresh-me\"},"
                    "\"empty.example.com\": {}}}");
    expect_creds(f, "docker.io", "hub", "hubpw");
    expect_creds(f, "reg.example.com", "user", "pass");
    expect_creds(f, "plain.example.com:5000", "user", "pass");
    expect_creds(f, "colon.example.com", "a", "b:c"); /* the password may hold colons */
    expect_creds(f, "fields.example.com", "u2", "p2");
    expect_none(f, "broken.example.com");
    expect_none(f, "empty.example.com");
    expect_none(f, "plain.example.com"); /* the port is part of the name */
    expect_none(f, "example.com");

    struct reg_creds cr;
    struct lade_error err = {0};
    assert_int_equal(reg_creds_get(&f->opts, "idt.example.com", &cr, &err), 0);
    assert_null(cr.user);
    assert_string_equal(cr.identity_token, "refresh-me");
    reg_creds_release(&cr);
}

static void
test_missing_and_invalid_config(void **state)
{
    struct fixture *f = *state;
    struct reg_creds cr;
    struct lade_error err = {0};

    expect_none(f, "reg.example.com"); /* no file at all */
    write_config(f, "{\"auths\": ");
    assert_int_equal(reg_creds_get(&f->opts, "reg.example.com", &cr, &err), -1);
    assert_non_null(strstr(err.msg, "config.json"));
    lade_error_clear(&err);
    write_config(f, "[1]");
    assert_int_equal(reg_creds_get(&f->opts, "reg.example.com", &cr, &err), -1);
}

static void
test_store_creates_private_file(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    struct stat sb;

    assert_ok(reg_creds_store(&f->opts, "localhost:5000", "user", "pass", &err), &err);
    assert_int_equal(stat(f->config, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal(stat(f->opts.docker_config, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0700);
    json_t *root = load_config(f);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(root, "auths"), "localhost:5000"), "auth")),
        "dXNlcjpwYXNz");
    json_decref(root);
    expect_creds(f, "localhost:5000", "user", "pass");

    /* Docker Hub is stored under its v1 URL, as docker does */
    assert_ok(reg_creds_store(&f->opts, "docker.io", "hub", "hubpw", &err), &err);
    root = load_config(f);
    assert_non_null(json_object_get(json_object_get(root, "auths"), "https://index.docker.io/v1/"));
    json_decref(root);
}

static void
test_store_keeps_other_fields(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    struct stat sb;

    write_config(f, "{\"auths\": {\"https://reg.example.com\": {\"auth\": \"b2xkOm9sZA==\"},"
                    "\"other.example.com\": {\"auth\": \"eDp5\", \"email\": \"a@b\"}},"
                    "\"proxies\": {\"default\": {\"httpProxy\": \"http://p:3128\"}},"
                    "\"psFormat\": \"table {{.ID}}\"}");
    assert_ok(reg_creds_store(&f->opts, "reg.example.com", "new", "pw", &err), &err);
    assert_int_equal(stat(f->config, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    json_t *root = load_config(f), *auths = json_object_get(root, "auths");
    /* the existing key form is updated, not duplicated */
    assert_int_equal(json_object_size(auths), 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(auths, "https://reg.example.com"), "auth")),
                        "bmV3OnB3");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(auths, "other.example.com"), "email")),
        "a@b");
    assert_string_equal(json_string_value(json_object_get(root, "psFormat")), "table {{.ID}}");
    assert_non_null(json_object_get(json_object_get(root, "proxies"), "default"));
    json_decref(root);

    assert_int_equal(reg_creds_erase(&f->opts, "reg.example.com", &err), 0);
    expect_none(f, "reg.example.com");
    assert_int_equal(reg_creds_erase(&f->opts, "reg.example.com", &err), 1);
    root = load_config(f);
    assert_string_equal(json_string_value(json_object_get(root, "psFormat")), "table {{.ID}}");
    assert_int_equal(json_object_size(json_object_get(root, "auths")), 1);
    json_decref(root);
    expect_creds(f, "other.example.com", "x", "y");
}

/* Installs docker-credential-ladetest in dir/bin, first on PATH; entries in dir/helper-store. */
static char *
install_helper(struct fixture *f)
{
    char *bin = xasprintf("%s/bin", f->dir), *store = xasprintf("%s/helper-store", f->dir);
    const char *path = getenv("PATH");
    char *newpath = xasprintf("%s:%s", bin, path ? path : "/usr/bin:/bin");

    test_write_file(f->dir, "bin/docker-credential-ladetest", helper_script, 0755);
    setenv("PATH", newpath, 1);
    setenv("HELPER_STORE", store, 1);
    free(bin);
    free(newpath);
    return store;
}

static void
test_helper_store_get_erase(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    char *store = install_helper(f), *data = NULL;

    write_config(f, "{\"credHelpers\": {\"reg.example.com\": \"ladetest\"}}");
    expect_none(f, "reg.example.com");
    assert_ok(reg_creds_store(&f->opts, "reg.example.com", "alice", "s3cret", &err), &err);
    assert_ok(read_file_at(AT_FDCWD, store, 0, &data, NULL, &err), &err);
    assert_non_null(strstr(data, "\"Username\":\"alice\""));
    free(data);
    /* the secret is the helper's; config.json only names the server */
    assert_ok(read_file_at(AT_FDCWD, f->config, 0, &data, NULL, &err), &err);
    assert_null(strstr(data, "s3cret"));
    free(data);
    expect_creds(f, "reg.example.com", "alice", "s3cret");
    expect_none(f, "other.example.com"); /* no helper for it, no auths entry */

    assert_int_equal(reg_creds_erase(&f->opts, "reg.example.com", &err), 0);
    expect_none(f, "reg.example.com");
    free(store);
}

static void
test_helper_creds_store_and_token_user(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    char *store = install_helper(f);
    struct reg_creds cr;

    /* credsStore serves every server; Docker Hub is asked for by its v1 URL */
    write_config(f, "{\"credsStore\": \"ladetest\"}");
    test_write_file(f->dir, "helper-store",
                    "{\"ServerURL\":\"https://index.docker.io/v1/\",\"Username\":\"<token>\","
                    "\"Secret\":\"idtok\"}\n",
                    0600);
    assert_ok(reg_creds_get(&f->opts, "docker.io", &cr, &err), &err);
    assert_string_equal(cr.user, "<token>");
    assert_string_equal(cr.secret, "idtok");
    reg_creds_release(&cr);
    assert_int_equal(reg_creds_erase(&f->opts, "localhost:5000", &err), 1);
    free(store);
}

static void
test_helper_failures(void **state)
{
    struct fixture *f = *state;
    struct lade_error err = {0};
    struct reg_creds cr;
    char *store = install_helper(f);

    write_config(f, "{\"credsStore\": \"nosuchhelper\"}");
    assert_int_equal(reg_creds_get(&f->opts, "reg.example.com", &cr, &err), -1);
    assert_non_null(strstr(err.msg, "docker-credential-nosuchhelper not found"));

    lade_error_clear(&err);
    write_config(f, "{\"credsStore\": \"../../bin/sh\"}");
    assert_int_equal(reg_creds_get(&f->opts, "reg.example.com", &cr, &err), -1);

    /* a helper error other than "not found" is an error, with the helper's words */
    lade_error_clear(&err);
    test_write_file(f->dir, "bin/docker-credential-broken",
                    "#!/bin/sh\ncat >/dev/null\necho 'keychain locked'\nexit 1\n", 0755);
    write_config(f, "{\"credsStore\": \"broken\"}");
    assert_int_equal(reg_creds_get(&f->opts, "reg.example.com", &cr, &err), -1);
    assert_non_null(strstr(err.msg, "keychain locked"));
    lade_error_clear(&err);
    assert_int_equal(reg_creds_store(&f->opts, "reg.example.com", "u", "topsecret", &err), -1);
    assert_null(strstr(err.msg, "topsecret"));
    free(store);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auths_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_and_invalid_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_creates_private_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_keeps_other_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_helper_store_get_erase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_helper_creds_store_and_token_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_helper_failures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
