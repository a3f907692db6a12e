/* SPDX-License-Identifier: Apache-2.0 */
/* The COPY/ADD engine (builder/copy.h): source resolution (wildcards, .dockerignore, missing
 * sources), the destination rules, and the confined tree copy. */
#include "../helpers/test.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../builder/copy.h"
#include "../../builder/common/buf.h"
#include "../../builder/common/strv.h"
#include "../../builder/common/xalloc.h"

struct fixture {
    char *dir;
    int fd;
};

static struct fixture
context_tree(void)
{
    struct fixture f = {test_tmpdir(), -1};

    test_write_file(f.dir, "a.txt", "a", 0644);
    test_write_file(f.dir, "b.txt", "b", 0644);
    test_write_file(f.dir, "c.md", "c", 0644);
    test_write_file(f.dir, "sub/x.txt", "x", 0644);
    test_write_file(f.dir, "sub/y.txt", "y", 0644);
    test_write_file(f.dir, "other/x.txt", "ox", 0644);
    f.fd = open(f.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(f.fd >= 0);
    return f;
}

static void
fixture_free(struct fixture *f)
{
    close(f->fd);
    test_rm_rf(f->dir);
    free(f->dir);
}

/* Resolves patterns (NULL-terminated) and returns them joined with ' ', or NULL on error. */
static char *
resolve(const struct copy_opts *o, const char *const *patterns, bool *several,
        struct lade_error *err)
{
    char **out = NULL;
    size_t n = 0;
    struct lade_buf b = LADE_BUF_INIT;

    if (copy_resolve_sources(o, (char *const *) patterns, strv_len((char **) patterns), true, &out,
                             &n, several, err) < 0)
        return NULL;
    assert_int_equal(n, strv_len(out));
    for (size_t i = 0; out[i]; i++)
        lade_buf_appendf(&b, "%s%s", i ? " " : "", out[i]);
    strv_free(out);
    return b.data ? lade_buf_steal(&b) : xstrdup("");
}

static void
test_copy_resolve_expands_wildcards_sorted(void **state)
{
    struct fixture f = context_tree();
    struct copy_opts o = {.src_root = f.fd, .dst_root = -1};
    struct lade_error err = {0};
    const char *pats[] = {"*.txt", "*/x.txt", "c.md", NULL};
    bool several = false;

    (void) state;
    char *got = resolve(&o, pats, &several, &err);
    assert_non_null(got);
    assert_string_equal(got, "a.txt b.txt other/x.txt sub/x.txt c.md");
    assert_true(several);
    free(got);
    fixture_free(&f);
}

static void
test_copy_resolve_one_match_is_not_several(void **state)
{
    struct fixture f = context_tree();
    struct copy_opts o = {.src_root = f.fd, .dst_root = -1};
    struct lade_error err = {0};
    const char *pats[] = {"/sub/../c.m?", "sub", NULL};
    bool several = true;

    (void) state;
    char *got = resolve(&o, pats, &several, &err);
    assert_non_null(got);
    assert_string_equal(got, "c.md sub");
    assert_false(several);
    free(got);
    fixture_free(&f);
}

/* BuildKit's AllowEmptyWildcard: a wildcard with no match copies nothing, no error. */
static void
test_copy_resolve_empty_wildcard_is_not_an_error(void **state)
{
    struct fixture f = context_tree();
    struct copy_opts o = {.src_root = f.fd, .dst_root = -1};
    struct lade_error err = {0};
    const char *pats[] = {"*.nothing", NULL};
    bool several = false;

    (void) state;
    char *got = resolve(&o, pats, &several, &err);
    assert_non_null(got);
    assert_string_equal(got, "");
    free(got);
    fixture_free(&f);
}

static void
test_copy_resolve_missing_source_fails(void **state)
{
    struct fixture f = context_tree();
    struct copy_opts o = {.src_root = f.fd, .dst_root = -1};
    struct lade_error err = {0};
    const char *pats[] = {"a.txt", "missing.txt", NULL};
    bool several = false;

    (void) state;
    assert_null(resolve(&o, pats, &several, &err));
    assert_non_null(strstr(err.msg, "\"missing.txt\": not found in the build context"));
    fixture_free(&f);
}

/* A source the .dockerignore excludes is missing, as in BuildKit (the context never has it). */
static void
test_copy_resolve_ignored_source_is_missing(void **state)
{
    struct fixture f = context_tree();
    struct dockerignore *di = NULL;
    struct lade_error err = {0};
    const char *text = "b.txt\nsub/y.txt\n";
    const char *pats[] = {"b.txt", NULL}, *globbed[] = {"sub/*", NULL};
    bool several = false;

    (void) state;
    assert_ok(dockerignore_parse(text, strlen(text), &di, &err), &err);
    struct copy_opts o = {.src_root = f.fd, .dst_root = -1, .ignore = di};
    assert_null(resolve(&o, pats, &several, &err));
    assert_non_null(strstr(err.msg, "\"b.txt\": not found"));
    memset(&err, 0, sizeof(err));
    char *got = resolve(&o, globbed, &several, &err);
    assert_non_null(got);
    assert_string_equal(got, "sub/x.txt");
    free(got);
    dockerignore_free(di);
    fixture_free(&f);
}

/* A symlink in a source pattern resolves inside the root: "../" cannot leave it. */
static void
test_copy_resolve_stays_in_root(void **state)
{
    struct fixture f = context_tree();
    struct copy_opts o = {.src_root = f.fd, .dst_root = -1};
    struct lade_error err = {0};
    const char *pats[] = {"../../../../etc/passwd", NULL};
    bool several = false;

    (void) state;
    assert_null(resolve(&o, pats, &several, &err));
    assert_non_null(strstr(err.msg, "not found"));
    fixture_free(&f);
}

/* COPY --parents' include pattern: "**" crosses directories, a matching directory is one
 * source, .dockerignore still applies. */
static void
test_copy_match_below_double_star(void **state)
{
    struct fixture f = context_tree();
    struct dockerignore *di = NULL;
    struct lade_error err = {0};
    const char *text = "other\n";
    char **out = NULL;

    (void) state;
    assert_ok(dockerignore_parse(text, strlen(text), &di, &err), &err);
    struct copy_opts o = {.src_root = f.fd, .dst_root = -1, .ignore = di};
    assert_ok(copy_match_below(&o, "", "**/x.txt", &out, &err), &err);
    assert_string_equal(out[0], "sub/x.txt");
    assert_null(out[1]);
    strv_free(out);
    assert_ok(copy_match_below(&o, "", "**/*.txt", &out, &err), &err);
    assert_int_equal(strv_len(out), 4);
    assert_string_equal(out[0], "a.txt");
    assert_string_equal(out[3], "sub/y.txt");
    strv_free(out);
    assert_ok(copy_match_below(&o, "", "s*", &out, &err), &err);
    assert_string_equal(out[0], "sub");
    assert_null(out[1]);
    strv_free(out);
    assert_ok(copy_match_below(&o, "missing", "*", &out, &err), &err);
    assert_null(out[0]);
    strv_free(out);
    dockerignore_free(di);
    fixture_free(&f);
}

static void
test_copy_dest_names_dir(void **state)
{
    (void) state;
    assert_true(copy_dest_names_dir(""));
    assert_true(copy_dest_names_dir("."));
    assert_true(copy_dest_names_dir("/app/"));
    assert_true(copy_dest_names_dir("rel/"));
    assert_false(copy_dest_names_dir("/app"));
    assert_false(copy_dest_names_dir("./x"));
}

static void
test_copy_has_wildcard(void **state)
{
    (void) state;
    assert_true(copy_has_wildcard("*.txt"));
    assert_true(copy_has_wildcard("a?"));
    assert_true(copy_has_wildcard("[ab]"));
    assert_false(copy_has_wildcard("plain/path.txt"));
}

static char *
read_back(const char *dir, const char *rel, struct stat *st)
{
    char *p = xasprintf("%s/%s", dir, rel);
    char buf[64] = "";
    FILE *fp = fopen(p, "r");

    assert_non_null(fp);
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    assert_int_equal(lstat(p, st), 0);
    free(p);
    return xstrdup(buf);
}

/* A file goes into an existing directory or one named with "/", else becomes dest; a
 * directory's contents go into dest; --chmod applies to what is copied. */
static void
test_copy_tree_dest_rules(void **state)
{
    struct fixture f = context_tree();
    char *out = test_tmpdir();
    int dst = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct copy_opts o = {.src_root = f.fd, .dst_root = dst, .chmod = true, .mode = 0600};
    struct lade_error err = {0};
    struct stat st;

    (void) state;
    assert_ok(copy_tree(&o, "a.txt", "/asfile", false, &err), &err);
    assert_ok(copy_tree(&o, "a.txt", "/d", true, &err), &err);
    assert_ok(copy_tree(&o, "b.txt", "/d", false, &err), &err); /* /d exists: into it */
    assert_ok(copy_tree(&o, "sub", "/tree", false, &err), &err);
    char *c = read_back(out, "asfile", &st);
    assert_string_equal(c, "a");
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    free(c);
    c = read_back(out, "d/a.txt", &st), free(c);
    c = read_back(out, "d/b.txt", &st), free(c);
    c = read_back(out, "tree/y.txt", &st);
    assert_string_equal(c, "y");
    free(c);
    close(dst);
    test_rm_rf(out);
    free(out);
    fixture_free(&f);
}

static void
hash_of(const struct copy_opts *base, const char *rel, digest_t d)
{
    struct copy_opts o = *base;
    struct lade_error err = {0};

    o.hash = sha256_new();
    assert_ok(copy_tree(&o, rel, "/dest", false, &err), &err);
    sha256_final(o.hash, d);
    sha256_free(o.hash);
}

/* Issue 7: COPY --from keeps owners, so the key's content hash must change with them; the
 * context's entries all become 0:0, so there it must not. */
static void
test_copy_hash_has_kept_owners(void **state)
{
    struct fixture f = context_tree();
    struct copy_opts o = {.src_root = f.fd, .dst_root = -1, .keep_owner = true};
    digest_t before, after, ctx_before, ctx_after;
    char *p = xasprintf("%s/sub/x.txt", f.dir);

    (void) state;
    if (geteuid() != 0)
        test_skip("chown needs root");
    assert_int_equal(chown(p, 0, 0), 0);
    hash_of(&o, "sub", before);
    o.keep_owner = false;
    hash_of(&o, "sub", ctx_before);
    assert_int_equal(chown(p, 1, 2), 0);
    hash_of(&o, "sub", ctx_after);
    o.keep_owner = true;
    hash_of(&o, "sub", after);
    assert_string_not_equal(before, after);
    assert_string_equal(ctx_before, ctx_after);
    free(p);
    fixture_free(&f);
}

/* Heredoc files: 0644 whatever the umask; a name with a '/' is refused. */
static void
test_copy_write_docs(void **state)
{
    char *dir = test_tmpdir();
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char n1[] = "one", d1[] = "1\n", n2[] = "two", d2[] = "", n3[] = "a/b", d3[] = "x";
    struct copy_doc docs[] = {{n1, d1}, {n2, d2}}, bad[] = {{n3, d3}};
    struct lade_error err = {0};
    struct stat st;
    mode_t old = umask(077);

    (void) state;
    assert_ok(copy_write_docs(fd, docs, 2, &err), &err);
    umask(old);
    char *c = read_back(dir, "one", &st);
    assert_string_equal(c, "1\n");
    assert_int_equal(st.st_mode & 07777, 0644);
    free(c);
    c = read_back(dir, "two", &st);
    assert_string_equal(c, "");
    free(c);
    assert_int_equal(copy_write_docs(fd, bad, 1, &err), -1);
    assert_non_null(strstr(err.msg, "a/b"));
    close(fd);
    test_rm_rf(dir);
    free(dir);
}

/* --parents: the kept path's directories get their source's mode. */
static void
test_copy_parents_keeps_directory_modes(void **state)
{
    struct fixture f = context_tree();
    char *out = test_tmpdir(), *sub = xasprintf("%s/sub", f.dir);
    int dst = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct copy_opts o = {.src_root = f.fd, .dst_root = dst};
    struct lade_error err = {0};
    struct stat st;

    (void) state;
    assert_int_equal(chmod(sub, 0710), 0);
    assert_ok(copy_parents(&o, "", "sub/x.txt", "/p", &err), &err);
    char *c = read_back(out, "p/sub/x.txt", &st);
    assert_string_equal(c, "x");
    free(c);
    char *d = xasprintf("%s/p/sub", out);
    assert_int_equal(stat(d, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0710);
    free(d), free(sub);
    close(dst);
    test_rm_rf(out);
    free(out);
    fixture_free(&f);
}

/* ADD: a file that is not a tar is left to the caller (0); COPY's engine never unpacks. */
static void
test_copy_unpack_only_archives(void **state)
{
    struct fixture f = context_tree();
    char *out = test_tmpdir();
    int dst = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct copy_opts o = {.src_root = f.fd, .dst_root = dst};
    struct lade_error err = {0};

    (void) state;
    assert_int_equal(copy_unpack(&o, "a.txt", "/x", &err), 0);
    assert_int_equal(copy_unpack(&o, "sub", "/x", &err), 0);
    assert_int_equal(copy_unpack(&o, "missing", "/x", &err), 0);
    close(dst);
    test_rm_rf(out);
    free(out);
    fixture_free(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_resolve_expands_wildcards_sorted),
        cmocka_unit_test(test_copy_resolve_one_match_is_not_several),
        cmocka_unit_test(test_copy_resolve_empty_wildcard_is_not_an_error),
        cmocka_unit_test(test_copy_resolve_missing_source_fails),
        cmocka_unit_test(test_copy_resolve_ignored_source_is_missing),
        cmocka_unit_test(test_copy_resolve_stays_in_root),
        cmocka_unit_test(test_copy_match_below_double_star),
        cmocka_unit_test(test_copy_dest_names_dir),
        cmocka_unit_test(test_copy_has_wildcard),
        cmocka_unit_test(test_copy_tree_dest_rules),
        cmocka_unit_test(test_copy_hash_has_kept_owners),
        cmocka_unit_test(test_copy_write_docs),
        cmocka_unit_test(test_copy_parents_keeps_directory_modes),
        cmocka_unit_test(test_copy_unpack_only_archives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
