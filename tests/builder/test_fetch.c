/* SPDX-License-Identifier: Apache-2.0 */
/* Remote sources (builder/fetch_url.c, builder/fetch_git.c): ADD's file names for URLs, HTTP
 * dates, git references parsed as BuildKit parses them, and a real `git` resolving and checking
 * out a local repository. */
#include "../helpers/test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../builder/fetch.h"
#include "../../builder/common/xalloc.h"

static void
expect_name(const char *url, const char *want)
{
    char *got = fetch_url_file_name(url);

    if (strcmp(got, want) != 0)
        fail_msg("%s: file name \"%s\", expected \"%s\"", url, got, want);
    free(got);
}

static void
test_fetch_url_file_names_follow_buildkit(void **state)
{
    (void) state;
    expect_name("https://example.invalid/a/b/file.tar.gz", "file.tar.gz");
    expect_name("https://example.invalid/a/b/file.txt?x=1#frag", "file.txt");
    expect_name("https://example.invalid/dir/", "dir");
    expect_name("https://example.invalid/", "__unnamed__");
    expect_name("https://example.invalid", "__unnamed__");
    expect_name("https://example.invalid?q=/x", "__unnamed__");
    expect_name("http://example.invalid/a%20b.txt", "a b.txt");
    expect_name("http://example.invalid/a%2Fb", "b");
    expect_name("http://example.invalid/x/..", "download");
    expect_name("http://example.invalid/%0aevil", "evil"); /* Go's TrimSpace */
    expect_name("http://example.invalid/a%0Ab", "download");
    expect_name("http://example.invalid/%20", "download");
    expect_name("http://user:pw@example.invalid:8080/p/q", "q");
}

static void
test_fetch_http_time_parses_the_three_formats(void **state)
{
    (void) state;
    assert_int_equal(fetch_http_time("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    assert_int_equal(fetch_http_time("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
    assert_int_equal(fetch_http_time("Sun Nov  6 08:49:37 1994"), 784111777);
    assert_int_equal(fetch_http_time("yesterday"), -1);
    assert_int_equal(fetch_http_time(NULL), -1);
    assert_true(fetch_is_http_url("HTTPS://x.invalid/a"));
    assert_false(fetch_is_http_url("ftp://x.invalid/a"));
}

struct ref_case {
    const char *in;
    int kind; /* git_ref_parse's result */
    const char *remote, *ref, *subdir;
    int keep;
};

static void
test_git_ref_parse_cases(void **state)
{
    static const struct ref_case cases[] = {
        {"https://h.invalid/r.git", 1, "https://h.invalid/r.git", "", "", -1},
        {"https://h.invalid/r.git#main", 1, "https://h.invalid/r.git", "main", "", -1},
        {"https://h.invalid/r.git#v1:docs/x/../y/", 1, "https://h.invalid/r.git", "v1", "docs/y",
         -1},
        {"https://h.invalid/r.git#:sub", 1, "https://h.invalid/r.git", "", "sub", -1},
        {"https://h.invalid/r.git#:../../etc", 1, "https://h.invalid/r.git", "", "etc", -1},
        {"git@h.invalid:org/r.git#dev", 1, "git@h.invalid:org/r.git", "dev", "", -1},
        {"git://h.invalid/r#t", 1, "git://h.invalid/r", "t", "", -1},
        {"ssh://git@h.invalid/r.git", 1, "ssh://git@h.invalid/r.git", "", "", -1},
        {"https://h.invalid/r.git?branch=dev&subdir=s&keep-git-dir=1", 1, "https://h.invalid/r.git",
         "refs/heads/dev", "s", 1},
        {"https://h.invalid/r.git?tag=v2", 1, "https://h.invalid/r.git", "refs/tags/v2", "", -1},
        {"https://h.invalid/file.tar.gz", 0, NULL, NULL, NULL, 0},
        {"https://h.invalid/r.git/x", 0, NULL, NULL, NULL, 0},
        {"ftp://h.invalid/r.git", 0, NULL, NULL, NULL, 0},
        {"file:///srv/r.git", 0, NULL, NULL, NULL, 0}, /* not from a Dockerfile */
        {"./r.git", 0, NULL, NULL, NULL, 0},
        {"src/dir", 0, NULL, NULL, NULL, 0},
        {"https://h.invalid/r.git?bogus=1", -1, NULL, NULL, NULL, 0},
        {"https://h.invalid/r.git#a?ref=b", 1, "https://h.invalid/r.git", "a?ref=b", "", -1},
        {"https://h.invalid/r.git?ref=a#b", -1, NULL, NULL, NULL, 0},
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct ref_case *c = &cases[i];
        struct git_ref g;
        struct lade_error err = {0};
        int kind = git_ref_parse(c->in, false, &g, &err);
        if (kind != c->kind)
            fail_msg("%s: git_ref_parse gave %d, expected %d (%s)", c->in, kind, c->kind, err.msg);
        if (kind != 1)
            continue;
        assert_string_equal(g.remote, c->remote);
        assert_string_equal(g.ref, c->ref);
        assert_string_equal(g.subdir, c->subdir);
        assert_int_equal(g.keep_git_dir, c->keep);
        git_ref_release(&g);
    }
}

static void
sh(const char *fmt, const char *arg)
{
    char *cmd = xasprintf(fmt, arg, arg, arg, arg);
    int rc = system(cmd);

    if (rc != 0)
        fail_msg("'%s' failed (%d)", cmd, rc);
    free(cmd);
}

/* A real repository with a tag and two commits, cloned through file:// (allowed from the
 * command line). */
static void
test_git_resolve_and_checkout_a_local_repository(void **state)
{
    char *dir = test_tmpdir();
    struct lade_error err = {0};
    struct git_ref g;
    char commit[41], head[41] = "";
    struct stat st;

    (void) state;
    test_need_tool("git");
    sh("cd %s && git init -q -b main r && cd r && mkdir sub && echo 1 >sub/a && git add . && "
       "git -c user.name=t -c user.email=t@t.invalid commit -qm one && git tag v1 && echo 2 >b "
       "&& git add . && git -c user.name=t -c user.email=t@t.invalid commit -qm two",
       dir);
    char *url = xasprintf("file://%s/r#v1:sub", dir);
    assert_false(git_ref_parse(url, false, &g, &err) == 1);
    assert_int_equal(git_ref_parse(url, true, &g, &err), 1);
    assert_ok(git_resolve(&g, commit, &err), &err);
    assert_int_equal(strlen(commit), 40);
    char *out = xasprintf("%s/out", dir);
    assert_ok(git_checkout(&g, commit, false, out, &err), &err);
    char *a = xasprintf("%s/sub/a", out), *b = xasprintf("%s/b", out),
         *git = xasprintf("%s/.git", out);
    assert_int_equal(stat(a, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(stat(b, &st), -1); /* v1 has no b */
    assert_int_equal(stat(git, &st), -1);

    /* the remote's HEAD, and a missing ref is a network-class error naming it */
    git_ref_release(&g);
    free(url);
    url = xasprintf("file://%s/r", dir);
    assert_int_equal(git_ref_parse(url, true, &g, &err), 1);
    assert_ok(git_resolve(&g, head, &err), &err);
    assert_string_not_equal(head, commit);
    free(g.ref);
    g.ref = xstrdup("nosuchref");
    assert_int_equal(git_resolve(&g, head, &err), -1);
    assert_int_equal(err.code, LADE_ERR_NET);
    assert_non_null(strstr(err.msg, "nosuchref"));
    git_ref_release(&g);
    free(a);
    free(b);
    free(git);
    free(out);
    free(url);
    test_rm_rf(dir);
    free(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_url_file_names_follow_buildkit),
        cmocka_unit_test(test_fetch_http_time_parses_the_three_formats),
        cmocka_unit_test(test_git_ref_parse_cases),
        cmocka_unit_test(test_git_resolve_and_checkout_a_local_repository),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
