/* SPDX-License-Identifier: Apache-2.0 */
/* The sandbox's UTS and network namespaces, and whether this process can make a sandbox. */
#include "sandbox-internal.h"

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "../common/cleanup.h"

int
sandbox_set_hostname(const char *name, struct lade_error *err)
{
    if (sethostname(name, strlen(name)) < 0)
        return lade_error_sys(err, "cannot set hostname '%s'", name);
    return 0;
}

/* A new network namespace starts with lo down; --network none still has loopback, as in
 * docker, so that services bound to 127.0.0.1 work inside one RUN. */
int
sandbox_loopback_up(struct lade_error *err)
{
    struct ifreq ifr = {0};
    cleanup_close int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return lade_error_sys(err, "cannot open a socket for lo");
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        return lade_error_sys(err, "cannot read flags of lo");
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
        return lade_error_sys(err, "cannot bring lo up");
    return 0;
}

static bool
has_overlayfs(void)
{
    cleanup_file FILE *f = fopen("/proc/filesystems", "re");
    char line[128];

    if (f == NULL)
        return false;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *tab = strrchr(line, '\t');
        if (tab != NULL && strcmp(tab + 1, "overlay\n") == 0)
            return true;
    }
    return false;
}

/* Tried in a throw-away child, so this process's namespaces stay as they are. */
static bool
can_unshare(void)
{
    int status;
    pid_t pid = fork();

    if (pid < 0)
        return false;
    if (pid == 0) {
        int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET;
        _exit(unshare(flags) == 0 ? 0 : 1);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool
sandbox_available(void)
{
    return geteuid() == 0 && has_overlayfs() && can_unshare();
}
