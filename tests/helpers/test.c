/* SPDX-License-Identifier: Apache-2.0 */
#include "test.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../builder/common/fsutil.h"
#include "../../builder/common/xalloc.h"

char *
test_tmpdir(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *p = xasprintf("%s/lade-test-XXXXXX", base);

    if (mkdtemp(p) == NULL)
        fail_msg("mkdtemp %s failed", p);
    return p;
}

void
test_need_tool(const char *tool)
{
    char *cmd = xasprintf("command -v '%s' >/dev/null 2>&1", tool);
    int rc = system(cmd);

    free(cmd);
    if (rc != 0)
        fail_msg("%s not found; the test checks lade against it (make deps installs it)", tool);
}

void
test_write_file(const char *dir, const char *rel, const char *content, unsigned mode)
{
    struct lade_error err = {0};
    char *path = xasprintf("%s/%s", dir, rel);
    char *slash = strrchr(path, '/');

    *slash = '\0';
    assert_ok(mkdir_p_at(AT_FDCWD, path, 0755, &err), &err);
    *slash = '/';
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0)
        fail_msg("cannot create %s", path);
    if (write_all(fd, content, strlen(content)) < 0)
        fail_msg("cannot write %s", path);
    fchmod(fd, mode);
    close(fd);
    free(path);
}

void
test_rm_rf(const char *path)
{
    struct lade_error err = {0};

    rm_rf_at(AT_FDCWD, path, &err);
}

const char *
test_env_lookup(void *ud, const char *name)
{
    const char *const *kv = ud;
    size_t n = strlen(name);

    for (size_t i = 0; kv[i]; i++)
        if (strncmp(kv[i], name, n) == 0 && kv[i][n] == '=')
            return kv[i] + n + 1;
    return NULL;
}
