/* SPDX-License-Identifier: Apache-2.0 */
/* The rootless tier's prerequisites: the caller's subordinate id ranges, shadow's map helpers,
 * and whether the kernel lets a user namespace mount overlay. */
#include "rootless.h"
#include "sandbox-internal.h"

#include <errno.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/cleanup.h"
#include "../common/fsutil.h"
#include "../common/xalloc.h"

#define SUBUID_FILE "/etc/subuid"
#define SUBGID_FILE "/etc/subgid"

/* One "NAME:START:COUNT" line, or false. */
static bool
parse_line(const char *line, size_t len, char *owner, size_t owner_size, unsigned long *start,
           unsigned long *count)
{
    const char *c1 = memchr(line, ':', len);
    char num[64], *end;

    if (c1 == NULL || c1 == line || (size_t) (c1 - line) >= owner_size)
        return false;
    memcpy(owner, line, (size_t) (c1 - line));
    owner[c1 - line] = '\0';
    size_t rest = len - (size_t) (c1 + 1 - line);
    if (rest == 0 || rest >= sizeof(num))
        return false;
    memcpy(num, c1 + 1, rest);
    num[rest] = '\0';
    errno = 0;
    *start = strtoul(num, &end, 10);
    if (end == num || *end != ':' || errno != 0)
        return false;
    char *cnt = end + 1;
    *count = strtoul(cnt, &end, 10);
    return end != cnt && (*end == '\0' || *end == ' ' || *end == '\t' || *end == '\r') &&
           errno == 0 && *count > 0;
}

int
subid_find(const char *text, const char *name, unsigned long id, struct subid_range *out)
{
    char ids[32], owner[256];
    unsigned long start, count;

    snprintf(ids, sizeof(ids), "%lu", id);
    for (const char *p = text; p != NULL && *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t) (nl - p) : strlen(p);
        if (p[0] != '#' && parse_line(p, len, owner, sizeof(owner), &start, &count) &&
            ((name != NULL && strcmp(owner, name) == 0) || strcmp(owner, ids) == 0)) {
            *out = (struct subid_range){start, count};
            return 1;
        }
        p = nl != NULL ? nl + 1 : NULL;
    }
    return 0;
}

unsigned long
subid_free_start(const char *text)
{
    char owner[256];
    unsigned long start, count, free_start = 100000;

    for (const char *p = text; p != NULL && *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t) (nl - p) : strlen(p);
        if (p[0] != '#' && parse_line(p, len, owner, sizeof(owner), &start, &count) &&
            start + count > free_start)
            free_start = start + count;
        p = nl != NULL ? nl + 1 : NULL;
    }
    return free_start;
}

/* The contents of a subid file, "" when it is missing. */
static char *
read_subid_file(const char *path)
{
    struct lade_error ignored = {0}; /* a missing or unreadable file has no ranges */
    char *text = NULL;
    size_t len;

    if (read_file_at(AT_FDCWD, path, 1 << 20, &text, &len, &ignored) < 0)
        return xstrdup("");
    return text;
}

/* tool in $PATH, else in the directories shadow installs it to; false when absent. */
static bool
find_tool(const char *tool, char *out, size_t size)
{
    const char *env = getenv("PATH");
    cleanup_free char *path = xasprintf("%s:/usr/bin:/bin:/usr/sbin:/sbin", env ? env : "");

    for (char *dir = path, *next; dir != NULL; dir = next) {
        next = strchr(dir, ':');
        if (next != NULL)
            *next++ = '\0';
        if (dir[0] != '/')
            continue;
        snprintf(out, size, "%s/%s", dir, tool);
        if (access(out, X_OK) == 0)
            return true;
    }
    return false;
}

static int
load_range(const char *file, const struct rootless_ids *ids, unsigned long id,
           struct subid_range *out, struct lade_error *err)
{
    cleanup_free char *text = read_subid_file(file);

    if (!subid_find(text, ids->name, id, out)) {
        /* one range free in both files, so the suggested line fits each */
        cleanup_free char *uids = read_subid_file(SUBUID_FILE),
                          *gids = read_subid_file(SUBGID_FILE);
        unsigned long s = subid_free_start(uids), g = subid_free_start(gids);
        if (g > s)
            s = g;
        return lade_error_set(
            err, LADE_ERR_OTHER,
            "rootless lade needs subordinate ids for user '%s', and %s has none: as root, add the "
            "line '%s:%lu:%lu' to /etc/subuid and to /etc/subgid, or run 'usermod --add-subuids "
            "%lu-%lu --add-subgids %lu-%lu %s'",
            ids->name, file, ids->name, s, ROOTLESS_MIN_IDS, s, s + ROOTLESS_MIN_IDS - 1, s,
            s + ROOTLESS_MIN_IDS - 1, ids->name);
    }
    if (out->count < ROOTLESS_MIN_IDS)
        return lade_error_set(err, LADE_ERR_OTHER,
                              "rootless lade needs %lu subordinate ids for user '%s' (images use "
                              "ids up to 65534), but %s gives %lu: enlarge that range",
                              ROOTLESS_MIN_IDS, ids->name, file, out->count);
    return 0;
}

int
rootless_ids_load(struct rootless_ids *ids, struct lade_error *err)
{
    struct passwd *pw = getpwuid(getuid());

    memset(ids, 0, sizeof(*ids));
    ids->uid = getuid();
    ids->gid = getgid();
    if (pw != NULL)
        snprintf(ids->name, sizeof(ids->name), "%s", pw->pw_name);
    else
        snprintf(ids->name, sizeof(ids->name), "%lu", ids->uid);
    if (load_range(SUBUID_FILE, ids, ids->uid, &ids->uids, err) < 0 ||
        load_range(SUBGID_FILE, ids, ids->uid, &ids->gids, err) < 0)
        return -1;
    if (!find_tool("newuidmap", ids->newuidmap, sizeof(ids->newuidmap)) ||
        !find_tool("newgidmap", ids->newgidmap, sizeof(ids->newgidmap)))
        return lade_error_set(err, LADE_ERR_OTHER,
                              "rootless lade needs newuidmap and newgidmap (Debian's uidmap "
                              "package): not found in $PATH");
    return 0;
}

/* ---- the kernel ---- */

static bool
write_text(const char *path, const char *text)
{
    cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);

    return fd >= 0 && write_all(fd, text, strlen(text)) == 0;
}

/* In the forked child: a user namespace mapping only the caller (no helper needed for one id),
 * then an overlay mount with userxattr on a scratch tree. The exit code says which step failed. */
static int
probe_child(const char *dir, unsigned long uid, unsigned long gid)
{
    char map[64];
    cleanup_free char *l = xasprintf("%s/l", dir), *u = xasprintf("%s/u", dir);
    cleanup_free char *w = xasprintf("%s/w", dir), *m = xasprintf("%s/m", dir);

    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
        return 1;
    snprintf(map, sizeof(map), "0 %lu 1\n", uid);
    if (!write_text("/proc/self/uid_map", map) || !write_text("/proc/self/setgroups", "deny"))
        return 1;
    snprintf(map, sizeof(map), "0 %lu 1\n", gid);
    if (!write_text("/proc/self/gid_map", map))
        return 1;
    if (mkdir(l, 0755) < 0 || mkdir(u, 0755) < 0 || mkdir(w, 0755) < 0 || mkdir(m, 0755) < 0)
        return 3;
    /* the builds' own mount: in a user namespace it takes the userxattr options */
    struct lade_error err = {0};
    char *const lowers[] = {l};
    return overlay_mount(lowers, 1, u, w, m, &err) < 0 ? 2 : 0;
}

/* 0: works; 1: no user namespace; 2: no overlay in one; 3: no scratch dir. */
static int
probe_kernel(void)
{
    char dir[] = "/tmp/lade-probe-XXXXXX";
    int status = 3;

    if (mkdtemp(dir) == NULL)
        return 3;
    pid_t pid = fork();
    if (pid == 0)
        _exit(probe_child(dir, getuid(), getgid()));
    if (pid > 0) {
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        status = WIFEXITED(status) ? WEXITSTATUS(status) : 3;
    }
    struct lade_error ignored = {0}; /* a scratch dir left in /tmp is harmless */
    rm_rf_at(AT_FDCWD, dir, &ignored);
    return status;
}

bool
isolation_rootless_available(char *why, size_t n)
{
    struct rootless_ids ids;
    struct lade_error err = {0};

    if (rootless_ids_load(&ids, &err) < 0) {
        snprintf(why, n, "%s", err.msg);
        return false;
    }
    switch (probe_kernel()) {
    case 0:
        return true;
    case 1:
        snprintf(why, n,
                 "this kernel refuses user namespaces to this user "
                 "(/proc/sys/user/max_user_namespaces, or a seccomp filter around lade)");
        return false;
    case 2:
        snprintf(why, n,
                 "this kernel cannot mount overlay in a user namespace (Linux 5.11+ "
                 "with userxattr is needed; fuse-overlayfs is not implemented yet)");
        return false;
    default:
        snprintf(why, n, "cannot create a scratch directory in /tmp to probe the kernel");
        return false;
    }
}

bool
rootless_command_needs_userns(const char *command)
{
    /* build and run mount overlay and run RUN steps; pull, load and diff extract layers with
     * the image's owners; rmi, prune and system remove such trees, which only the namespace's
     * root may delete */
    static const char *const needs[] = {"build", "run", "pull",  "load",
                                        "diff",  "rmi", "prune", "system"};

    for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++)
        if (strcmp(command, needs[i]) == 0)
            return true;
    return false;
}
