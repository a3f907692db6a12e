/* SPDX-License-Identifier: Apache-2.0 */
#include "../helpers/test.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../../builder/common/userns.h"

static void
test_userns_initial(void **state)
{
    (void) state;
    assert_true(userns_is_initial());
    assert_string_equal(userns_overlay_opaque_xattr(), "trusted.overlay.opaque");
}

static bool
write_map(const char *file, const char *text)
{
    int fd = open(file, O_WRONLY | O_CLOEXEC);
    bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t) strlen(text);

    if (fd >= 0)
        close(fd);
    return ok;
}

/* In a child: 0 when a new user namespace is seen as one, with user.* for overlay; 1 when
 * it is not; 77 when no user namespace can be made here. */
static int
child_in_new_userns(void)
{
    char map[64];
    unsigned uid = (unsigned) getuid();

    if (unshare(CLONE_NEWUSER) < 0)
        return 77;
    if (userns_is_initial() || strcmp(userns_overlay_opaque_xattr(), "user.overlay.opaque") != 0)
        return 1; /* an unmapped namespace is not the initial one either */
    snprintf(map, sizeof(map), "0 %u 1\n", uid);
    if (!write_map("/proc/self/uid_map", map))
        return 77;
    return userns_is_initial() ? 1 : 0;
}

static void
test_userns_new_namespace(void **state)
{
    int status;

    (void) state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child_in_new_userns());
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        test_skip("no user namespaces here");
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_userns_overlay_xattrs(void **state)
{
    (void) state;
    assert_true(userns_overlay_xattr("trusted.overlay.opaque"));
    assert_true(userns_overlay_xattr("user.overlay.origin"));
    assert_false(userns_overlay_xattr("user.overlay"));
    assert_false(userns_overlay_xattr("user.mime_type"));
    assert_false(userns_overlay_xattr("security.capability"));
}

/* The mark lade writes is one the readers see: as root in the initial namespace, trusted.*. */
static void
test_overlay_opaque_mark(void **state)
{
    char dir[] = "/tmp/lade-test-opaque-XXXXXX";

    (void) state;
    assert_true(overlay_opaque_name("trusted.overlay.opaque"));
    assert_true(overlay_opaque_name("user.overlay.opaque"));
    assert_false(overlay_opaque_name("user.overlay.origin"));
    assert_non_null(mkdtemp(dir));
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_false(overlay_opaque_marked(fd));
    if (overlay_opaque_mark(fd) < 0) { /* /tmp without xattrs: nothing to check */
        close(fd);
        rmdir(dir);
        test_skip("no xattrs on /tmp");
    }
    assert_true(overlay_opaque_marked(fd));
    char v[2];
    assert_int_equal(fgetxattr(fd, userns_overlay_opaque_xattr(), v, sizeof(v)), 1);
    close(fd);
    assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_userns_initial),
        cmocka_unit_test(test_userns_new_namespace),
        cmocka_unit_test(test_userns_overlay_xattrs),
        cmocka_unit_test(test_overlay_opaque_mark),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
