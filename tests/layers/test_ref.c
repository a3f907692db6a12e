/* SPDX-License-Identifier: Apache-2.0 */
#include "../helpers/test.h"

#include <stdlib.h>
#include <string.h>

#include "../../layers/layers.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct ok_case {
    const char *in, *domain, *path, *tag, *digest, *string, *familiar;
};

/* Expected values follow docker's ParseNormalizedNamed / FamiliarString. */
static const struct ok_case ok_cases[] = {
    {"app", "docker.io", "library/app", "latest", NULL, "docker.io/library/app:latest",
     "app:latest"},
    {"app:1", "docker.io", "library/app", "1", NULL, "docker.io/library/app:1", "app:1"},
    {"user/app:1", "docker.io", "user/app", "1", NULL, "docker.io/user/app:1", "user/app:1"},
    {"docker.io/library/app", "docker.io", "library/app", "latest", NULL,
     "docker.io/library/app:latest", "app:latest"},
    {"docker.io/app", "docker.io", "library/app", "latest", NULL, "docker.io/library/app:latest",
     "app:latest"},
    {"index.docker.io/app", "docker.io", "library/app", "latest", NULL,
     "docker.io/library/app:latest", "app:latest"},
    {"index.docker.io/user/app:2", "docker.io", "user/app", "2", NULL, "docker.io/user/app:2",
     "user/app:2"},
    {"library/app/sub", "docker.io", "library/app/sub", "latest", NULL,
     "docker.io/library/app/sub:latest", "library/app/sub:latest"},
    {"localhost/app", "localhost", "app", "latest", NULL, "localhost/app:latest",
     "localhost/app:latest"},
    {"localhost:5000/x:1", "localhost:5000", "x", "1", NULL, "localhost:5000/x:1",
     "localhost:5000/x:1"},
    {"[::1]:5000/a/b:t", "[::1]:5000", "a/b", "t", NULL, "[::1]:5000/a/b:t", "[::1]:5000/a/b:t"},
    {"[fe80::1]/a", "[fe80::1]", "a", "latest", NULL, "[fe80::1]/a:latest", "[fe80::1]/a:latest"},
    {"quay.io/coreos/etcd:v3.5.0", "quay.io", "coreos/etcd", "v3.5.0", NULL,
     "quay.io/coreos/etcd:v3.5.0", "quay.io/coreos/etcd:v3.5.0"},
    {"my-reg.example.com:443/a/b/c", "my-reg.example.com:443", "a/b/c", "latest", NULL,
     "my-reg.example.com:443/a/b/c:latest", "my-reg.example.com:443/a/b/c:latest"},
    /* upper case in the first component makes it a registry (distribution/reference 0.5) */
    {"Foo/bar", "Foo", "bar", "latest", NULL, "Foo/bar:latest", "Foo/bar:latest"},
    /* no '/': the colon starts a tag */
    {"localhost:5000", "docker.io", "library/localhost", "5000", NULL,
     "docker.io/library/localhost:5000", "localhost:5000"},
    {"a-b__c--d/x_y.z9", "docker.io", "a-b__c--d/x_y.z9", "latest", NULL,
     "docker.io/a-b__c--d/x_y.z9:latest", "a-b__c--d/x_y.z9:latest"},
    /* a dot in the first component makes it a registry, whose name has no '_' */
    {"a.b-c/x", "a.b-c", "x", "latest", NULL, "a.b-c/x:latest", "a.b-c/x:latest"},
    {"app:V1.2.3_rc-1", "docker.io", "library/app", "V1.2.3_rc-1", NULL,
     "docker.io/library/app:V1.2.3_rc-1", "app:V1.2.3_rc-1"},
    {"app:_x", "docker.io", "library/app", "_x", NULL, "docker.io/library/app:_x", "app:_x"},
    {"app@sha256:" HEX64, "docker.io", "library/app", NULL, "sha256:" HEX64,
     "docker.io/library/app@sha256:" HEX64, "app@sha256:" HEX64},
    {"ghcr.io/o/app:1@sha256:" HEX64, "ghcr.io", "o/app", "1", "sha256:" HEX64,
     "ghcr.io/o/app:1@sha256:" HEX64, "ghcr.io/o/app:1@sha256:" HEX64},
};

struct bad_case {
    const char *in, *msg;
};

static const struct bad_case bad_cases[] = {
    {"", "invalid reference format"},
    {"App", "invalid reference format: repository name must be lowercase"},
    {"user/App:1", "invalid reference format: repository name must be lowercase"},
    {"localhost:5000/App", "invalid reference format: repository name must be lowercase"},
    {"app:", "invalid reference format"},
    {"app:-x", "invalid reference format"},
    {"app:.x", "invalid reference format"},
    {"app:a b", "invalid reference format"},
    {"a..b", "invalid reference format"},
    {"a_-b", "invalid reference format"},
    {"a___b", "invalid reference format"},
    {"-a", "invalid reference format"},
    {"a-", "invalid reference format"},
    {"a/", "invalid reference format"},
    {"/a", "invalid reference format"},
    {"a//b", "invalid reference format"},
    {"a b", "invalid reference format"},
    {"foo_bar.com/x", "invalid reference format"},
    {"a.b__c/x", "invalid reference format"},
    {"host:port/x", "invalid reference format"},
    {"-host.com/x", "invalid reference format"},
    {"[::1/x", "invalid reference format"},
    {"[]:5000/x", "invalid reference format"},
    {"app@sha256:abc", "invalid reference format"},
    {"app@", "invalid reference format"},
    {"app@sha256:" HEX64 "x", "invalid reference format"},
    {"app@sha256:0123456789abcdef0123456789abcdef01234567", "invalid checksum digest length"},
    {"app@md5:0123456789abcdef0123456789abcdef", "unsupported digest algorithm"},
    {"app@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
     "invalid checksum digest format"},
    {HEX64, "cannot specify 64-byte hexadecimal strings"},
};

static void
check_str(const char *what, const char *in, const char *got, const char *want)
{
    if (want == NULL && got == NULL)
        return;
    if (want == NULL || got == NULL || strcmp(got, want) != 0)
        fail_msg("%s of '%s': got '%s', want '%s'", what, in, got ? got : "(null)",
                 want ? want : "(null)");
}

static void
test_ref_normalises_like_docker(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
        const struct ok_case *c = &ok_cases[i];
        struct lade_error err = {0};
        struct image_ref r = {0};

        if (image_ref_parse(c->in, &r, &err) != 0)
            fail_msg("'%s': %s", c->in, err.msg);
        check_str("domain", c->in, r.domain, c->domain);
        check_str("path", c->in, r.path, c->path);
        check_str("tag", c->in, r.tag, c->tag);
        check_str("digest", c->in, r.digest, c->digest);
        char *s = image_ref_string(&r), *f = image_ref_familiar(&r), *repo = image_ref_repo(&r);
        check_str("string", c->in, s, c->string);
        check_str("familiar", c->in, f, c->familiar);
        char *want_repo = NULL;
        if (asprintf(&want_repo, "%s/%s", c->domain, c->path) < 0)
            fail();
        check_str("repo", c->in, repo, want_repo);

        /* the normalised and the familiar forms parse back to the same reference */
        struct image_ref again = {0};
        assert_ok(image_ref_parse(s, &again, &err), &err);
        char *s2 = image_ref_string(&again);
        check_str("reparsed", s, s2, s);
        image_ref_release(&again);
        free(s2);
        assert_ok(image_ref_parse(f, &again, &err), &err);
        s2 = image_ref_string(&again);
        check_str("reparsed familiar", f, s2, s);
        image_ref_release(&again);
        free(s2);

        free(s);
        free(f);
        free(repo);
        free(want_repo);
        image_ref_release(&r);
        assert_null(r.domain);
    }
}

static void
test_ref_rejects_bad_references(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        struct lade_error err = {0};
        struct image_ref r = {0};

        if (image_ref_parse(c->in, &r, &err) == 0)
            fail_msg("'%s' was accepted as %s/%s", c->in, r.domain, r.path);
        assert_int_equal(err.code, LADE_ERR_USAGE);
        if (strstr(err.msg, c->msg) == NULL)
            fail_msg("'%s': message '%s' lacks '%s'", c->in, err.msg, c->msg);
        assert_null(r.domain); /* out is written only on success */
    }
}

static void
test_ref_length_limits(void **state)
{
    struct lade_error err = {0};
    struct image_ref r = {0};
    char name[300], tag[140];

    (void) state;
    /* docker.io/ + 245 = 255: the longest name */
    memset(name, 'a', 245);
    name[245] = '\0';
    memcpy(name, "x/", 2);
    assert_ok(image_ref_parse(name, &r, &err), &err);
    image_ref_release(&r);
    memset(name, 'a', 246);
    name[246] = '\0';
    memcpy(name, "x/", 2);
    assert_int_equal(image_ref_parse(name, &r, &err), -1);
    assert_non_null(strstr(err.msg, "must not be more than 255 characters"));

    memset(tag, 't', 128);
    tag[128] = '\0';
    snprintf(name, sizeof(name), "app:%s", tag);
    lade_error_clear(&err);
    assert_ok(image_ref_parse(name, &r, &err), &err);
    assert_int_equal(strlen(r.tag), 128);
    image_ref_release(&r);
    snprintf(name, sizeof(name), "app:%st", tag);
    assert_int_equal(image_ref_parse(name, &r, &err), -1);
    assert_string_equal(err.msg, "invalid reference format");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ref_normalises_like_docker),
        cmocka_unit_test(test_ref_rejects_bad_references),
        cmocka_unit_test(test_ref_length_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
