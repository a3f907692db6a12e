/* SPDX-License-Identifier: Apache-2.0 */
/* template.c: the Go template subset of --format, printed as Go prints values. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../../builder/cmd/template.h"

static const char *doc_text =
    "{\"Id\":\"sha256:abc\",\"RepoTags\":[\"app:1\",\"app:2\"],\"Size\":42,"
    "\"Config\":{\"Env\":[\"A=1\",\"B=2\"],\"Cmd\":null,\"Labels\":{\"z\":\"last\",\"a\":\"x y\"},"
    "\"User\":\"\"},\"RootFS\":{\"Layers\":[\"sha256:1\",\"sha256:2\"]}}";

static void
expect(const char *tmpl, const char *want)
{
    struct lade_error err = {0};
    json_t *doc = json_loads(doc_text, 0, NULL);
    char *got = template_render(tmpl, doc, &err);

    json_decref(doc);
    if (got == NULL)
        fail_msg("%s: %s", tmpl, err.msg);
    if (strcmp(got, want) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", tmpl, got, want);
    free(got);
}

static void
expect_error(const char *tmpl, const char *part)
{
    struct lade_error err = {0};
    json_t *doc = json_loads(doc_text, 0, NULL);
    char *got = template_render(tmpl, doc, &err);

    json_decref(doc);
    assert_null(got);
    assert_int_equal(err.code, LADE_ERR_USAGE);
    if (strstr(err.msg, part) == NULL)
        fail_msg("%s: \"%s\" lacks \"%s\"", tmpl, err.msg, part);
}

static void
test_template_fields_print_as_go(void **state)
{
    (void) state;
    expect("{{.Id}}", "sha256:abc");
    expect("id={{.Id}} size={{.Size}}", "id=sha256:abc size=42");
    expect("{{.Config.Env}}", "[A=1 B=2]");
    expect("{{.RepoTags}}", "[app:1 app:2]");
    expect("{{.Config.Labels}}", "map[a:x y z:last]");
    expect("{{.Config.Cmd}}", "<nil>");
    expect("{{.Config.Nothing}}", "<no value>");
    expect("{{.Id.Deeper}}", "<no value>");
    expect("no actions", "no actions");
}

static void
test_template_functions(void **state)
{
    (void) state;
    expect("{{json .Config.Env}}", "[\"A=1\",\"B=2\"]");
    expect("{{json .Config.Labels}}", "{\"z\":\"last\",\"a\":\"x y\"}");
    expect("{{index .Config.Labels \"a\"}}", "x y");
    expect("{{index .RepoTags 1}}", "app:2");
    expect("{{join .Config.Env \",\"}}", "A=1,B=2");
    expect("{{upper .Id}} {{len .RepoTags}}", "SHA256:ABC 2");
}

static void
test_template_range_and_trim(void **state)
{
    (void) state;
    expect("{{range .RootFS.Layers}}{{.}} {{end}}", "sha256:1 sha256:2 ");
    expect("{{range .Config.Missing}}x{{end}}done", "done");
    expect("{{range .Config.Missing}}{{range .RepoTags}}x{{end}}{{end}}ok", "ok");
    expect("{{range .RepoTags}}<{{.}}>{{end}}", "<app:1><app:2>");
    expect("a  {{- .Size -}}  b", "a42b");
}

static void
test_template_errors(void **state)
{
    (void) state;
    expect_error("{{if .Id}}x{{end}}", "not supported");
    expect_error("{{.Id", "unclosed");
    expect_error("{{range .RepoTags}}x", "lacks {{end}}");
    expect_error("x{{end}}", "without range");
    expect_error("{{index .RepoTags \"a}}", "unterminated");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_fields_print_as_go),
        cmocka_unit_test(test_template_functions),
        cmocka_unit_test(test_template_range_and_trim),
        cmocka_unit_test(test_template_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
