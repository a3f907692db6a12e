/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* cmocka prelude plus helpers shared by the unit tests. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../builder/common/error.h"

/* Fails with the error's message, so a failing test says why (libarchive's assertEqualIntA). */
#define assert_ok(rc, errp)                                                                        \
    do {                                                                                           \
        if ((rc) != 0)                                                                             \
            fail_msg("%s:%d: %s (code %d)", __FILE__, __LINE__, (errp)->msg, (errp)->code);        \
    } while (0)

/* Skips the test, printing why first: tests/run-unit prints the reason, and fails a binary whose
 * tests all skipped unless tests/expected-skips lists that reason. For a missing kernel feature
 * or privilege only; a missing reference tool is a failure (test_need_tool). */
#define test_skip(reason)                                                                          \
    do {                                                                                           \
        print_message("skip: %s\n", (reason));                                                     \
        skip();                                                                                    \
    } while (0)

/* Fails the test unless tool is on PATH: a check against a tool must not pass without it. */
void test_need_tool(const char *tool);

/* A fresh empty directory under $TMPDIR (or /tmp); caller frees the path and removes it. */
char *test_tmpdir(void);
/* Writes a file (creating parent directories) relative to dir. */
void test_write_file(const char *dir, const char *rel, const char *content, unsigned mode);
/* rm -rf */
void test_rm_rf(const char *path);
/* An expand_lookup_fn over a NULL-terminated "K=V" vector (ud: const char *const *). */
const char *test_env_lookup(void *ud, const char *name);
