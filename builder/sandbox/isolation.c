/* SPDX-License-Identifier: Apache-2.0 */
/* The isolation tiers: a probe per tier, each run in a throw-away child so that this process
 * keeps its namespaces and root, and the choice --isolation auto makes from them. */
#include "isolation.h"

#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox-internal.h"
#include "rootless.h"
#include "../common/cleanup.h"
#include "../common/userns.h"

/* A field of /proc/self/status ("CapEff", "Seccomp") as text, or "" when absent. */
static void
status_field(const char *name, char *out, size_t size)
{
    cleanup_file FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    size_t n = strlen(name);

    out[0] = '\0';
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, name, n) != 0 || line[n] != ':')
            continue;
        char *v = line + n + 1;
        v += strspn(v, " \t");
        v[strcspn(v, "\n")] = '\0';
        snprintf(out, size, "%s", v);
        return;
    }
}

static bool
has_cap(int cap)
{
    char v[64];

    status_field("CapEff", v, sizeof(v));
    return (strtoull(v, NULL, 16) >> cap) & 1;
}

static bool
has_fs(const char *name)
{
    cleanup_file FILE *f = fopen("/proc/filesystems", "re");
    char line[128];

    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        char *tab = strrchr(line, '\t');
        if (tab != NULL && strncmp(tab + 1, name, strlen(name)) == 0 &&
            tab[1 + strlen(name)] == '\n')
            return true;
    }
    return false;
}

/* Runs fn in a forked child; its exit code, or an errno-like 255 when it died. */
static int
in_child(int (*fn)(void))
{
    int status;
    pid_t pid = fork();

    if (pid < 0)
        return errno;
    if (pid == 0)
        _exit(fn());
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return 255;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

/* The namespaces the sandbox makes, then an overlay superblock: the errno of the first
 * refusal (a container's seccomp profile refuses unshare with EPERM, as does a missing
 * CAP_SYS_ADMIN). */
static int
try_namespaces(void)
{
    if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET) < 0)
        return errno;
    int fd = sys_fsopen("overlay", FSOPEN_CLOEXEC);
    return fd < 0 ? 100 + errno : 0;
}

static int
try_chroot(void)
{
    return chroot("/") < 0 ? errno : 0;
}

int
isolation_probe_namespaces(struct isolation_probe *p)
{
    char seccomp[16];

    memset(p, 0, sizeof(*p));
    if (geteuid() != 0) {
        snprintf(p->why, sizeof(p->why), "needs root (euid is %u)", (unsigned) geteuid());
        return 0;
    }
    if (!userns_is_initial()) {
        snprintf(p->why, sizeof(p->why), "lade runs in a user namespace (the rootless tier)");
        return 0;
    }
    if (!has_fs("overlay")) {
        snprintf(p->why, sizeof(p->why), "the kernel has no overlayfs (/proc/filesystems)");
        return 0;
    }
    int rc = in_child(try_namespaces);
    if (rc == 0) {
        p->ok = true;
        return 0;
    }
    status_field("Seccomp", seccomp, sizeof(seccomp));
    if (rc >= 100 && rc < 255)
        snprintf(p->why, sizeof(p->why), "cannot create an overlay mount: %s", strerror(rc - 100));
    else
        snprintf(p->why, sizeof(p->why),
                 "cannot create mount, PID, IPC, UTS and network namespaces: %s (%s%s): the "
                 "usual cause is running inside a container",
                 rc == 255 ? "probe died" : strerror(rc),
                 has_cap(CAP_SYS_ADMIN) ? "CAP_SYS_ADMIN held" : "no CAP_SYS_ADMIN",
                 strcmp(seccomp, "2") == 0 ? ", under a seccomp filter" : "");
    return 0;
}

/* The rootless tier is the namespaces tier's code run inside lade's own user namespace
 * (rootless.h: main enters it for a non-root caller before the command runs). */
bool
sandbox_available(void)
{
    struct isolation_probe p;

    isolation_probe_namespaces(&p);
    return p.ok;
}

int
isolation_probe_rootless(struct isolation_probe *p)
{
    memset(p, 0, sizeof(*p));
    if (geteuid() != 0) {
        p->ok = isolation_rootless_available(p->why, sizeof(p->why));
        return 0;
    }
    if (userns_is_initial()) {
        snprintf(p->why, sizeof(p->why), "lade runs as root (the tier is for other users)");
        return 0;
    }
    int rc = in_child(try_namespaces);
    p->ok = rc == 0;
    if (!p->ok)
        snprintf(p->why, sizeof(p->why),
                 "cannot create namespaces or an overlay mount in the "
                 "user namespace: %s",
                 rc >= 100 && rc < 255 ? strerror(rc - 100)
                 : rc == 255           ? "probe died"
                                       : strerror(rc));
    return 0;
}

int
isolation_probe_chroot(struct isolation_probe *p)
{
    static const struct {
        int cap;
        const char *name;
    } need[] = {{CAP_SYS_CHROOT, "CAP_SYS_CHROOT"}, {CAP_CHOWN, "CAP_CHOWN"},
                {CAP_FOWNER, "CAP_FOWNER"},         {CAP_DAC_OVERRIDE, "CAP_DAC_OVERRIDE"},
                {CAP_SETUID, "CAP_SETUID"},         {CAP_SETGID, "CAP_SETGID"}};

    memset(p, 0, sizeof(*p));
    if (geteuid() != 0) {
        snprintf(p->why, sizeof(p->why), "needs root (euid is %u), as in a container",
                 (unsigned) geteuid());
        return 0;
    }
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        if (!has_cap(need[i].cap)) {
            snprintf(p->why, sizeof(p->why), "needs %s, which this process lacks", need[i].name);
            return 0;
        }
    }
    int rc = in_child(try_chroot);
    if (rc != 0) {
        snprintf(p->why, sizeof(p->why), "chroot refused: %s",
                 rc == 255 ? "probe died" : strerror(rc));
        return 0;
    }
    p->ok = true;
    if (!has_cap(CAP_MKNOD))
        snprintf(p->note, sizeof(p->note),
                 "no CAP_MKNOD: RUN finds no device nodes in /dev (podman drops it by default)");
    return 0;
}

int
isolation_probe(enum isolation tier, struct isolation_probe *p)
{
    switch (tier) {
    case ISOLATION_NAMESPACES:
        return isolation_probe_namespaces(p);
    case ISOLATION_ROOTLESS:
        return isolation_probe_rootless(p);
    case ISOLATION_CHROOT:
        return isolation_probe_chroot(p);
    case ISOLATION_AUTO:
        break;
    }
    memset(p, 0, sizeof(*p));
    snprintf(p->why, sizeof(p->why), "auto is not a tier");
    return 0;
}

static const char *const names[] = {"auto", "namespaces", "rootless", "chroot"};

const char *
isolation_name(enum isolation tier)
{
    return (size_t) tier < sizeof(names) / sizeof(names[0]) ? names[tier] : "?";
}

int
isolation_parse(const char *s, enum isolation *out, struct lade_error *err)
{
    if (strcmp(s, "default") == 0) { /* docker's value for its Windows-only flag */
        *out = ISOLATION_AUTO;
        return 0;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum isolation) i;
            return 0;
        }
    }
    return lade_error_set(err, LADE_ERR_USAGE,
                          "--isolation must be auto, namespaces, rootless or chroot: \"%s\"", s);
}

int
isolation_choose(enum isolation asked, enum isolation *out, struct lade_error *err)
{
    struct isolation_probe p;

    if (asked != ISOLATION_AUTO) {
        isolation_probe(asked, &p);
        if (!p.ok)
            return lade_error_set(err, LADE_ERR_USAGE, "--isolation %s is not available here: %s",
                                  isolation_name(asked), p.why);
        *out = asked;
        return 0;
    }
    for (enum isolation t = ISOLATION_NAMESPACES; t <= ISOLATION_CHROOT; t++) {
        isolation_probe(t, &p);
        if (p.ok) {
            *out = t;
            return 0;
        }
    }
    return lade_error_set(err, LADE_ERR_USAGE,
                          "no isolation tier works here (lade info says why for each)");
}
