/* SPDX-License-Identifier: Apache-2.0 */
/* Build contexts (builder/context.c, builder/context_named.c): the default Dockerfile names,
 * the stdin context (a tar, compressed or not, or a bare Dockerfile) unpacked into the store's
 * tmp/, and how named contexts are matched. */
#include "../helpers/test.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../builder/context.h"
#include "../../builder/common/xalloc.h"

static void
test_context_default_dockerfile_order(void **state)
{
    char *dir = test_tmpdir(), *p;

    (void) state;
    p = context_default_dockerfile(dir);
    assert_true(strstr(p, "/Dockerfile") != NULL); /* none: the error names Dockerfile */
    free(p);
    test_write_file(dir, "dockerfile", "FROM scratch\n", 0644);
    p = context_default_dockerfile(dir);
    assert_true(strstr(p, "/dockerfile") != NULL);
    free(p);
    test_write_file(dir, "Containerfile", "FROM scratch\n", 0644);
    p = context_default_dockerfile(dir);
    assert_true(strstr(p, "/Containerfile") != NULL);
    free(p);
    test_write_file(dir, "Dockerfile", "FROM scratch\n", 0644);
    p = context_default_dockerfile(dir);
    assert_true(strstr(p, "/Dockerfile") != NULL);
    free(p);
    test_rm_rf(dir);
    free(dir);
}

/* Runs context_prepare with stdin read from file. */
static int
prepare_from_stdin(struct store *st, const char *file, const char *dockerfile,
                   struct build_context *c, struct lade_error *err)
{
    int saved = dup(0), fd = open(file, O_RDONLY);

    assert_true(fd >= 0 && saved >= 0);
    dup2(fd, 0);
    close(fd);
    int rc = context_prepare(st, NULL, "-", dockerfile, c, err);
    dup2(saved, 0);
    close(saved);
    return rc;
}

static void
test_context_stdin_tar_or_dockerfile(void **state)
{
    char *dir = test_tmpdir();
    char *root = xasprintf("%s/root", dir), *cmd;
    struct store *st = NULL;
    struct build_context c;
    struct lade_error err = {0};
    struct stat sb;

    (void) state;
    test_need_tool("tar");
    assert_ok(store_open(root, &st, &err), &err);
    test_write_file(dir, "ctx/Dockerfile", "FROM scratch\nCOPY f /\n", 0644);
    test_write_file(dir, "ctx/sub/f", "data\n", 0644);
    cmd = xasprintf("tar -C %s/ctx -czf %s/ctx.tgz . && tar -C %s/ctx -cf %s/ctx.tar .", dir, dir,
                    dir, dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);

    const char *tars[] = {"ctx.tgz", "ctx.tar"};
    for (size_t i = 0; i < 2; i++) {
        char *tar = xasprintf("%s/%s", dir, tars[i]);
        assert_ok(prepare_from_stdin(st, tar, NULL, &c, &err), &err);
        char *f = xasprintf("%s/sub/f", c.dir);
        assert_int_equal(stat(f, &sb), 0);
        assert_non_null(c.text); /* the Dockerfile inside the tar */
        assert_non_null(strstr(c.text, "COPY f"));
        char *tmp = xstrdup(c.tmp);
        context_release(&c);
        assert_int_equal(stat(tmp, &sb), -1); /* removed with the build */
        free(tmp);
        free(f);
        free(tar);
    }

    /* not a tar: the Dockerfile itself, and an empty context */
    char *df = xasprintf("%s/ctx/Dockerfile", dir);
    assert_ok(prepare_from_stdin(st, df, NULL, &c, &err), &err);
    assert_string_equal(c.text, "FROM scratch\nCOPY f /\n");
    assert_int_equal(rmdir(c.dir), 0); /* empty */
    context_release(&c);

    /* stdin cannot be both */
    assert_int_equal(prepare_from_stdin(st, df, "-", &c, &err), -1);
    assert_int_equal(err.code, LADE_ERR_USAGE);
    free(df);
    store_free(st);
    test_rm_rf(dir);
    free(dir);
    free(root);
}

static void
test_named_contexts_match_as_buildkit(void **state)
{
    char *dir = test_tmpdir();
    char *spec1 = xasprintf("alpine=%s", dir), *spec2 = xasprintf("build=%s", dir);
    char img_spec[] = "img=docker-image://busybox:1";
    char *specs[] = {spec1, spec2, img_spec, NULL};
    struct named_contexts nc;
    struct lade_error err = {0};

    (void) state;
    assert_ok(named_contexts_prepare(NULL, NULL, specs, &nc, &err), &err);
    assert_non_null(named_context_find(&nc, "alpine"));
    assert_non_null(named_context_find(&nc, "docker.io/library/alpine:latest"));
    assert_non_null(named_context_find(&nc, "alpine:latest"));
    assert_null(named_context_find(&nc, "alpine:3"));
    assert_non_null(named_context_find(&nc, "build"));
    const struct named_context *img = named_context_find(&nc, "img");
    assert_non_null(img);
    assert_int_equal(img->kind, NAMED_IMAGE);
    assert_string_equal(img->image, "busybox:1");
    named_contexts_release(&nc);

    char novalue[] = "novalue", oci[] = "x=oci-layout:///tmp/l";
    char *bad[] = {novalue, NULL};
    assert_int_equal(named_contexts_prepare(NULL, NULL, bad, &nc, &err), -1);
    assert_int_equal(err.code, LADE_ERR_USAGE);
    char *later[] = {oci, NULL};
    memset(&err, 0, sizeof(err));
    assert_int_equal(named_contexts_prepare(NULL, NULL, later, &nc, &err), -1);
    assert_non_null(strstr(err.msg, "not implemented yet"));
    char *twice[] = {spec1, spec1, NULL};
    memset(&err, 0, sizeof(err));
    assert_int_equal(named_contexts_prepare(NULL, NULL, twice, &nc, &err), -1);
    free(spec1);
    free(spec2);
    test_rm_rf(dir);
    free(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_context_default_dockerfile_order),
        cmocka_unit_test(test_context_stdin_tar_or_dockerfile),
        cmocka_unit_test(test_named_contexts_match_as_buildkit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
