/* SPDX-License-Identifier: Apache-2.0 */
#include "userns.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
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
