/* SPDX-License-Identifier: Apache-2.0 */
/* The package records an SBOM is made from (builder/sbom_records.c) and its SPDX document. */
#include "../helpers/test.h"

#include <stdlib.h>
#include <string.h>

#include "../../builder/sbom.h"

static const char DPKG[] = "Package: libc6\n"
                           "Status: install ok installed\n"
                           "Architecture: amd64\n"
                           "Version: 2.36-9+deb12u4\n"
                           "Description: GNU C Library\n"
                           " Package: not-a-field (a continuation line)\n"
                           "\n"
                           "Package: removed\n"
                           "Status: deinstall ok config-files\n"
                           "Version: 1\n"
                           "\n"
                           "Package: tzdata\n"
                           "Status: install ok installed\n"
                           "Architecture: all\n"
                           "Version: 1:2024a-0+deb12u1"; /* no final newline */

static void
test_dpkg_lists_installed_packages_only(void **state)
{
    struct sbom s = {0};

    (void) state;
    sbom_parse_dpkg(&s, DPKG, strlen(DPKG));
    assert_int_equal(s.n, 2);
    assert_string_equal(s.pkgs[0].name, "libc6");
    assert_string_equal(s.pkgs[0].version, "2.36-9+deb12u4");
    assert_string_equal(s.pkgs[0].arch, "amd64");
    assert_string_equal(s.pkgs[1].name, "tzdata");
    assert_string_equal(s.pkgs[1].version, "1:2024a-0+deb12u1");
    sbom_release(&s);
}

static void
test_apk_python_npm_and_os_release(void **state)
{
    static const char apk[] = "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\n\nP:busybox\n"
                              "V:1.36.1-r5\nA:x86_64\nL:GPL-2.0-only\n";
    static const char py[] = "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n"
                             "License: Apache 2.0\n\nName: not-a-header\nVersion: 9\n";
    static const char npm[] = "{\"name\": \"@scope/left-pad\", \"version\": \"1.3.0\", "
                              "\"license\": \"WTFPL\"}";
    static const char os[] = "PRETTY_NAME=\"Debian GNU/Linux 12\"\nID=debian\nVERSION_ID=\"12\"\n";
    struct sbom s = {0};

    (void) state;
    sbom_parse_apk(&s, apk, strlen(apk));
    sbom_parse_python_metadata(&s, py, strlen(py));
    sbom_parse_npm_package(&s, npm, strlen(npm));
    sbom_parse_os_release(&s, os, strlen(os));
    assert_int_equal(s.n, 4);
    assert_string_equal(s.pkgs[1].name, "busybox");
    assert_string_equal(s.pkgs[1].license, "GPL-2.0-only");
    assert_string_equal(s.pkgs[2].name, "requests");
    assert_string_equal(s.pkgs[2].version, "2.31.0");
    assert_string_equal(s.pkgs[3].name, "@scope/left-pad");
    assert_string_equal(s.distro_id, "debian");
    assert_string_equal(s.distro_version, "12");
    sbom_release(&s);
}

static void
test_spdx_document_is_sorted_with_purls(void **state)
{
    struct sbom s = {0};
    static const char os[] = "ID=debian\nVERSION_ID=12\n";
    static const char npm[] = "{\"name\": \"@scope/left-pad\", \"version\": \"1.3.0\"}";

    (void) state;
    sbom_parse_dpkg(&s, DPKG, strlen(DPKG));
    sbom_parse_npm_package(&s, npm, strlen(npm));
    sbom_parse_os_release(&s, os, strlen(os));
    json_t *doc = sbom_spdx(&s, "app:1", "sha256:00", "1970-01-01T00:00:00Z", "0.1");
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "spdxVersion")), "SPDX-2.3");
    json_t *pkgs = json_object_get(doc, "packages");
    assert_int_equal(json_array_size(pkgs), 3);
    const char *want[] = {
        "pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64&distro=debian-12",
        "pkg:deb/debian/tzdata@1%3A2024a-0+deb12u1?arch=all&distro=debian-12",
        "pkg:npm/%40scope/left-pad@1.3.0",
    };
    for (size_t i = 0; i < 3; i++) {
        json_t *ref = json_array_get(json_object_get(json_array_get(pkgs, i), "externalRefs"), 0);
        assert_string_equal(json_string_value(json_object_get(ref, "referenceLocator")), want[i]);
    }
    assert_int_equal(json_array_size(json_object_get(doc, "relationships")), 3);
    json_decref(doc);
    sbom_release(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dpkg_lists_installed_packages_only),
        cmocka_unit_test(test_apk_python_npm_and_os_release),
        cmocka_unit_test(test_spdx_document_is_sorted_with_purls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
