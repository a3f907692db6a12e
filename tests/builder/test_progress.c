/* SPDX-License-Identifier: Apache-2.0 */
/* Build progress (builder/progress.h): the option's strings, and what plain and json print for
 * a step's life; a step ends once. */
#include "../helpers/test.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../builder/progress.h"

static void
test_progress_mode_parse(void **state)
{
    (void) state;
    assert_int_equal(progress_mode_parse("auto"), PROGRESS_AUTO);
    assert_int_equal(progress_mode_parse("plain"), PROGRESS_PLAIN);
    assert_int_equal(progress_mode_parse("tty"), PROGRESS_TTY);
    assert_int_equal(progress_mode_parse("json"), PROGRESS_JSON);
    assert_int_equal(progress_mode_parse("rawjson"), PROGRESS_JSON);
    assert_int_equal(progress_mode_parse("quiet"), PROGRESS_QUIET);
    assert_int_equal(progress_mode_parse("Plain"), PROGRESS_INVALID);
    assert_int_equal(progress_mode_parse(""), PROGRESS_INVALID);
    assert_int_equal(progress_mode_parse(NULL), PROGRESS_INVALID);
}

/* Runs one step's life (start, miss reason, an output line, done twice, the build's end) in
 * mode and returns what it wrote on stderr. Caller frees. */
static char *
one_step(enum progress_mode mode)
{
    struct progress_pos pos = {.stage = "base",
                               .step = "2",
                               .file = "Dockerfile",
                               .line = 3,
                               .instruction = "RUN echo hi"};
    struct progress p;
    char path[] = "/tmp/test_progress.XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    char *text = calloc(1, 4096);

    assert_true(fd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(fd, 2);
    progress_init(&p, mode);
    progress_step(&p, &pos, "[base 2/3] %s", "RUN echo hi");
    progress_reason(&p, "ARG V changed (1 -> 2)");
    progress_output_line(&p, "hi\xff", 3);
    progress_layer(&p, "sha256:0123");
    progress_done(&p);
    progress_done(&p); /* ignored: a step ends once */
    progress_cached(&p);
    progress_build_done(&p, NULL);
    progress_release(&p);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    assert_true(pread(fd, text, 4095, 0) > 0);
    close(fd);
    unlink(path);
    return text;
}

static void
test_progress_plain_step(void **state)
{
    char *text = one_step(PROGRESS_PLAIN);

    (void) state;
    assert_non_null(
        strstr(text, "#1 [base 2/3] RUN echo hi\n#1 cache miss: ARG V changed (1 -> 2)\n"));
    assert_non_null(strstr(text, " hi\xff\n#1 DONE "));
    assert_null(strstr(strstr(text, "#1 DONE") + 1, "#1 DONE"));
    assert_null(strstr(text, "CACHED"));
    free(text);
}

static void
test_progress_json_events(void **state)
{
    char *text = one_step(PROGRESS_JSON);
    const char *want[] = {"step.start", "step.log", "step.done", "build.done"};
    size_t n = 0;

    (void) state;
    for (char *line = text, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1, n++) {
        *nl = '\0';
        json_auto_t *ev = json_loads(line, 0, NULL);
        assert_non_null(ev);
        assert_true(n < 4);
        assert_string_equal(json_string_value(json_object_get(ev, "type")), want[n]);
        if (n < 3)
            assert_string_equal(json_string_value(json_object_get(ev, "id")), "base/2");
        if (n == 1)
            assert_string_equal(json_string_value(json_object_get(ev, "data")), "hi?");
        if (n == 2) {
            assert_string_equal(json_string_value(json_object_get(ev, "reason")),
                                "ARG V changed (1 -> 2)");
            assert_string_equal(json_string_value(json_object_get(ev, "digest")), "sha256:0123");
        }
    }
    assert_int_equal(n, 4);
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progress_mode_parse),
        cmocka_unit_test(test_progress_plain_step),
        cmocka_unit_test(test_progress_json_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
