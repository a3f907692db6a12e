/* SPDX-License-Identifier: Apache-2.0 */
/* Who the RUN process is: USER resolved against the image's /etc/passwd and /etc/group with
 * runc's rules (moby/sys/user GetExecUser): first matching line wins, a numeric uid or gid
 * needs no entry, a name does; supplementary groups come from /etc/group membership. And its
 * capabilities: docker's default set, through capset(2) directly so lade needs no libcap. */
#include "sandbox-internal.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <linux/capability.h>

#include "../common/cleanup.h"
#include "../common/fsutil.h"
#include "../common/xalloc.h"

#define ID_MAX 2147483647UL /* runc refuses ids past int32 */
#define ID_FILE_MAX (16u << 20)

struct pw_match {
    const char *name;
    uid_t uid;
    gid_t gid;
    const char *home;
};

static bool
parse_id(const char *s, unsigned long *out)
{
    char *end;

    if (s == NULL || !isdigit((unsigned char) s[0]))
        return false;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > ID_MAX)
        return false;
    *out = v;
    return true;
}

static char *
trim(char *s)
{
    size_t n;

    while (isspace((unsigned char) *s))
        s++;
    n = strlen(s);
    while (n > 0 && isspace((unsigned char) s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Splits a line at ':' into at most max fields; missing trailing fields stay NULL. */
static void
split_fields(char *line, char **f, size_t max)
{
    for (size_t i = 0; i < max; i++)
        f[i] = line != NULL ? strsep(&line, ":") : NULL;
}

/* The next non-blank line of a mutable text, or NULL at its end. */
static char *
next_line(char **text)
{
    while (*text != NULL) {
        char *line = trim(strsep(text, "\n"));
        if (line[0] != '\0')
            return line;
    }
    return NULL;
}

/* who "" matches uid 0, as runc's default user is root. */
static bool
passwd_find(char *text, const char *who, struct pw_match *m)
{
    unsigned long want, uid, gid;
    bool numeric = parse_id(who, &want);
    char *line, *f[7];

    while ((line = next_line(&text)) != NULL) {
        split_fields(line, f, 7);
        if (!parse_id(f[2], &uid) || !parse_id(f[3], &gid))
            continue;
        bool hit = who[0] == '\0' ? uid == 0 : strcmp(f[0], who) == 0 || (numeric && uid == want);
        if (!hit)
            continue;
        *m = (struct pw_match){f[0], (uid_t) uid, (gid_t) gid, f[5]};
        return true;
    }
    return false;
}

static bool
group_find(char *text, const char *want_group, gid_t *gid)
{
    unsigned long want, g;
    bool numeric = parse_id(want_group, &want);
    char *line, *f[4];

    while ((line = next_line(&text)) != NULL) {
        split_fields(line, f, 4);
        if (!parse_id(f[2], &g))
            continue;
        if (strcmp(f[0], want_group) == 0 || (numeric && g == want)) {
            *gid = (gid_t) g;
            return true;
        }
    }
    return false;
}

static bool
list_has(char *members, const char *name)
{
    char *m;

    while (members != NULL) {
        m = trim(strsep(&members, ","));
        if (strcmp(m, name) == 0)
            return true;
    }
    return false;
}

static void
group_members(char *text, const char *user, struct sandbox_user *u)
{
    unsigned long g;
    char *line, *f[4];

    while ((line = next_line(&text)) != NULL) {
        split_fields(line, f, 4);
        if (!parse_id(f[2], &g) || !list_has(f[3], user))
            continue;
        u->groups = xrealloc(u->groups, (u->ngroups + 1) * sizeof(*u->groups));
        u->groups[u->ngroups++] = (gid_t) g;
    }
}

/* USER's user part: from passwd, else numeric; a name without entry is an error. */
static int
resolve_user(const char *passwd, const char *who, struct sandbox_user *u, char **name,
             struct lade_error *err)
{
    cleanup_free char *copy = xstrdup(passwd != NULL ? passwd : "");
    struct pw_match m;
    unsigned long id;

    if (passwd_find(copy, who, &m)) {
        u->uid = m.uid;
        u->gid = m.gid;
        if (m.home != NULL && m.home[0] != '\0')
            u->home = xstrdup(m.home);
        *name = xstrdup(m.name);
        return 0;
    }
    if (who[0] == '\0')
        return 0;
    if (!parse_id(who, &id)) {
        if (strspn(who, "0123456789") == strlen(who))
            return lade_error_set(err, LADE_ERR_RUN, "uid %s out of range 0-%lu", who, ID_MAX);
        return lade_error_set(err, LADE_ERR_RUN,
                              "unable to find user %s: no matching entries in passwd file", who);
    }
    u->uid = (uid_t) id;
    return 0;
}

static int
resolve_group(const char *group, const char *want, const char *user_name, struct sandbox_user *u,
              struct lade_error *err)
{
    cleanup_free char *copy = xstrdup(group != NULL ? group : "");
    unsigned long id;

    if (want == NULL) {
        if (user_name != NULL)
            group_members(copy, user_name, u);
        return 0;
    }
    if (group_find(copy, want, &u->gid))
        return 0;
    if (!parse_id(want, &id))
        return lade_error_set(err, LADE_ERR_RUN,
                              "unable to find group %s: no matching entries in group file", want);
    u->gid = (gid_t) id;
    return 0;
}

int
sandbox_user_parse(const char *spec, const char *passwd, const char *group, struct sandbox_user *u,
                   struct lade_error *err)
{
    cleanup_free char *who = xstrdup(spec != NULL ? spec : "");
    cleanup_free char *name = NULL;
    char *colon = strchr(who, ':');
    const char *want_group = NULL;
    struct sandbox_user r = {0};

    if (colon != NULL) {
        *colon = '\0';
        want_group = colon + 1;
    }
    if (resolve_user(passwd, who, &r, &name, err) < 0 ||
        resolve_group(group, want_group, name, &r, err) < 0) {
        sandbox_user_release(&r);
        return -1;
    }
    if (r.home == NULL)
        r.home = xstrdup("/");
    *u = r;
    return 0;
}

/* NULL text when the file is missing; O_NONBLOCK so that a FIFO planted as /etc/passwd
 * cannot hang the step; no /proc magic links (/proc/1/fd/N leads out of the rootfs). */
static int
read_id_file(const char *path, char **out, struct lade_error *err)
{
    cleanup_close int fd = sys_openat2(AT_FDCWD, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                                       RESOLVE_NO_MAGICLINKS);
    struct stat st;

    *out = NULL;
    if (fd < 0)
        return errno == ENOENT ? 0 : lade_error_sys(err, "cannot open '%s'", path);
    if (fstat(fd, &st) < 0)
        return lade_error_sys(err, "cannot stat '%s'", path);
    if (!S_ISREG(st.st_mode))
        return lade_error_set(err, LADE_ERR_RUN, "'%s' is not a regular file", path);
    return read_fd_all(fd, path, ID_FILE_MAX, out, NULL, err);
}

int
sandbox_user_lookup(const char *spec, struct sandbox_user *u, struct lade_error *err)
{
    cleanup_free char *passwd = NULL;
    cleanup_free char *group = NULL;

    if (read_id_file("/etc/passwd", &passwd, err) < 0 ||
        read_id_file("/etc/group", &group, err) < 0)
        return -1;
    return sandbox_user_parse(spec, passwd, group, u, err);
}

void
sandbox_user_release(struct sandbox_user *u)
{
    free(u->groups);
    free(u->home);
    u->groups = NULL;
    u->home = NULL;
    u->ngroups = 0;
}

int
sandbox_user_switch(const struct sandbox_user *u, struct lade_error *err)
{
    /* Groups first: after setuid to a non-root user, CAP_SETGID is gone. */
    if (setgroups(u->ngroups, u->groups) < 0)
        return lade_error_sys(err, "setgroups");
    if (setresgid(u->gid, u->gid, u->gid) < 0)
        return lade_error_sys(err, "setgid %u", (unsigned) u->gid);
    if (setresuid(u->uid, u->uid, u->uid) < 0)
        return lade_error_sys(err, "setuid %u", (unsigned) u->uid);
    return 0;
}

/* ---- capabilities ---- */

int
caps_drop_bounding(uint64_t keep, struct lade_error *err)
{
    /* Walk up to the first capability this kernel does not know (EINVAL): new kernels may
     * add capabilities that docker's list, and so this one, has never granted. */
    for (unsigned cap = 0; cap < 64; cap++) {
        if (keep & (1ULL << cap))
            continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0)
            continue;
        if (errno == EINVAL)
            return 0;
        return lade_error_sys(err, "cannot drop capability %u from the bounding set", cap);
    }
    return 0;
}

int
caps_set(uint64_t caps, struct lade_error *err)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {0};

    /* Inheritable stays empty: docker shipped it full until CVE-2022-24769, which let file
     * capabilities of an image's binaries reach an unprivileged user's process. */
    for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
        data[i].effective = (uint32_t) (caps >> (32 * i));
        data[i].permitted = (uint32_t) (caps >> (32 * i));
    }
    if (syscall(SYS_capset, &hdr, data) < 0)
        return lade_error_sys(err, "capset");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return lade_error_sys(err, "cannot clear ambient capabilities");
    return 0;
}

int
caps_set_ambient(uint64_t caps, struct lade_error *err)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {0};

    for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
        data[i].effective = data[i].permitted = data[i].inheritable = (uint32_t) (caps >> (32 * i));
    if (syscall(SYS_capset, &hdr, data) < 0)
        return lade_error_sys(err, "capset");
    for (unsigned cap = 0; cap < 64; cap++)
        if ((caps & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
            return lade_error_sys(err, "cannot raise ambient capability %u", cap);
    return 0;
}
