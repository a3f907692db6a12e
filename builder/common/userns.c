/* SPDX-License-Identifier: Apache-2.0 */
#include "userns.h"

#include <fcntl.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

bool
userns_is_initial(void)
{
    char buf[256];
    unsigned long inner, outer, count;
    int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return true; /* no /proc: nothing lade made */
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0)
        return true;
    if (n == 0)
        return false; /* a new namespace not mapped yet */
    buf[n] = '\0';
    /* one line "0 0 4294967295"; a namespace lade made has two shorter lines */
    return sscanf(buf, "%lu %lu %lu", &inner, &outer, &count) == 3 && inner == 0 && outer == 0 &&
           count == 4294967295UL && strchr(buf, '\n') == buf + n - 1;
}

const char *
userns_overlay_opaque_xattr(void)
{
    return userns_is_initial() ? "trusted.overlay.opaque" : "user.overlay.opaque";
}

bool
userns_overlay_xattr(const char *name)
{
    return strncmp(name, "trusted.overlay.", 16) == 0 || strncmp(name, "user.overlay.", 13) == 0;
}

int
overlay_opaque_mark(int dirfd)
{
    if (fsetxattr(dirfd, userns_overlay_opaque_xattr(), "y", 1, 0) == 0)
        return 0;
    if (errno != EPERM)
        return -1;
    return fsetxattr(dirfd, "user.overlay.opaque", "y", 1, 0);
}

bool
overlay_opaque_name(const char *name)
{
    return strcmp(name, "trusted.overlay.opaque") == 0 || strcmp(name, "user.overlay.opaque") == 0;
}

bool
overlay_opaque_marked(int dirfd)
{
    char v[2];

    return (fgetxattr(dirfd, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y') ||
           (fgetxattr(dirfd, "user.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y');
}
