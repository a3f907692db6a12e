/* SPDX-License-Identifier: Apache-2.0 */
/* RUN resource limits: the CLI's values (sizes, CPUs, pids) and a step cgroup made, limited
 * and removed on the real cgroup filesystem (skipped where this host gives lade none). */
#include "../helpers/test.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../builder/common/cleanup.h"
#include "../../builder/common/fsutil.h"
#include "../../builder/common/xalloc.h"
#include "../../builder/sandbox/sandbox-internal.h"

static unsigned long long
size_ok(const char *s)
{
    struct lade_error err = {0};
    unsigned long long v = 0;

    assert_ok(sandbox_parse_size(s, &v, &err), &err);
    return v;
}

static void
size_bad(const char *s)
{
    struct lade_error err = {0};
    unsigned long long v = 7;

    if (sandbox_parse_size(s, &v, &err) != -1)
        fail_msg("size \"%s\" accepted", s);
    assert_int_equal(err.code, LADE_ERR_USAGE);
    assert_int_equal(v, 7); /* untouched on failure */
}

static void
test_cgroup_parse_size(void **state)
{
    (void) state;
    assert_int_equal(size_ok("1048576"), 1048576);
    assert_int_equal(size_ok("64k"), 64 << 10);
    assert_int_equal(size_ok("512m"), 512ULL << 20);
    assert_int_equal(size_ok("512M"), 512ULL << 20);
    assert_int_equal(size_ok("2g"), 2ULL << 30);
    assert_int_equal(size_ok("10mb"), 10ULL << 20);
    assert_int_equal(size_ok("100b"), 100);
    size_bad("");
    size_bad("0");
    size_bad("-1m");
    size_bad("1x");
    size_bad("1.5g");
    size_bad("m");
    size_bad("99999999999999g");
    size_bad("1 g");
}

static void
test_cgroup_parse_cpus(void **state)
{
    struct lade_error err = {0};
    unsigned long long q = 0;

    (void) state;
    assert_ok(sandbox_parse_cpus("1.5", &q, &err), &err);
    assert_int_equal(q, 150000);
    assert_ok(sandbox_parse_cpus("2", &q, &err), &err);
    assert_int_equal(q, 200000);
    assert_ok(sandbox_parse_cpus("0.01", &q, &err), &err);
    assert_int_equal(q, 1000);
    assert_int_equal(sandbox_parse_cpus("0", &q, &err), -1);
    assert_int_equal(err.code, LADE_ERR_USAGE);
    assert_int_equal(sandbox_parse_cpus("one", &q, &err), -1);
    assert_int_equal(sandbox_parse_cpus("-1", &q, &err), -1);
}

static void
test_cgroup_limit_flags(void **state)
{
    struct sandbox_limits l = {0};
    struct lade_error err = {0};

    (void) state;
    assert_false(sandbox_limits_requested(&l)); /* the default pids limit is not asked for */
    assert_false(sandbox_limits_requested(NULL));
    assert_ok(sandbox_limits_set(&l, "pids-limit", "64", &err), &err);
    assert_int_equal(l.pids, 64);
    assert_true(sandbox_limits_requested(&l));
    assert_ok(sandbox_limits_set(&l, "pids-limit", "-1", &err), &err);
    assert_int_equal(l.pids, -1);
    assert_ok(sandbox_limits_set(&l, "pids-limit", "0", &err), &err); /* docker: none */
    assert_int_equal(l.pids, -1);
    assert_false(sandbox_limits_requested(&l));
    assert_ok(sandbox_limits_set(&l, "cpu-quota", "50000", &err), &err);
    assert_int_equal(l.cpu_quota, 50000);
    assert_ok(sandbox_limits_set(&l, "memory", "1g", &err), &err);
    assert_int_equal(l.memory, 1ULL << 30);
    assert_true(sandbox_limits_requested(&l));
    assert_int_equal(sandbox_limits_set(&l, "cpu-quota", "500", &err), -1);
    lade_error_clear(&err);
    assert_int_equal(sandbox_limits_set(&l, "pids-limit", "-5", &err), -1);
    lade_error_clear(&err);
    assert_int_equal(sandbox_limits_set(&l, "pids-limit", "lots", &err), -1);
}

static char *
read_limit(const char *dir, const char *file)
{
    cleanup_free char *path = xasprintf("%s/%s", dir, file);
    char *text = NULL;
    struct lade_error err = {0};

    assert_ok(read_file_at(AT_FDCWD, path, 4096, &text, NULL, &err), &err);
    text[strcspn(text, "\n")] = '\0';
    return text;
}

/* A step cgroup on this host: limits written, the process enters it, gone after remove. */
static void
test_cgroup_step_made_and_removed(void **state)
{
    struct sandbox_limits l = {.memory = 64ULL << 20, .pids = 100};
    struct cgroup_step cg;
    struct lade_error err = {0};
    char why[512];

    (void) state;
    if (geteuid() != 0 || !cgroup_available(&l, why, sizeof(why)))
        test_skip(why);
    assert_ok(cgroup_step_create(&l, &cg, &err), &err);
    assert_true(cg.n >= 1 && cg.memory_dir != NULL);
    cleanup_free char *mem =
        read_limit(cg.memory_dir, cg.v2 ? "memory.max" : "memory.limit_in_bytes");
    assert_string_equal(mem, "67108864");
    bool found_pids = false;
    for (size_t i = 0; i < cg.n; i++) {
        cleanup_free char *path = xasprintf("%s/pids.max", cg.dirs[i]);
        if (access(path, F_OK) == 0) {
            cleanup_free char *pids = read_limit(cg.dirs[i], "pids.max");
            assert_string_equal(pids, "100");
            found_pids = true;
        }
    }
    assert_true(found_pids);
    assert_int_equal(cgroup_step_explain(&cg, &l, 1, &err), 0); /* nothing hit a limit */
    char *dirs[3] = {0};
    size_t n = cg.n;
    for (size_t i = 0; i < n; i++)
        dirs[i] = xstrdup(cg.dirs[i]);
    cgroup_step_remove(&cg);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        assert_int_equal(stat(dirs[i], &st), -1);
        free(dirs[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cgroup_parse_size),
        cmocka_unit_test(test_cgroup_parse_cpus),
        cmocka_unit_test(test_cgroup_limit_flags),
        cmocka_unit_test(test_cgroup_step_made_and_removed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
