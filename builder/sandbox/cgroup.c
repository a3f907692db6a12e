/* SPDX-License-Identifier: Apache-2.0 */
/* Resource limits of a RUN step: each step runs in a child cgroup of lade's own, made for it
 * and removed after it. cgroup v2 where /sys/fs/cgroup is the unified hierarchy; on a v1 or
 * hybrid host (this project's test machines) the v1 memory, pids and cpu hierarchies, as
 * runc does. Where neither can be used (no controller, not delegated, read-only), a step
 * without explicit limits runs without them; explicit ones are an error. */
#include "sandbox-internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <time.h>
#include <linux/magic.h>

#include "../common/cleanup.h"
#include "../common/fsutil.h"
#include "../common/xalloc.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define CPU_PERIOD_US 100000ULL

/* ---- parsing the CLI's values ---- */

int
sandbox_parse_size(const char *s, unsigned long long *out, struct lade_error *err)
{
    char *end;
    unsigned long long mult = 1;

    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || errno != 0)
        return lade_error_set(err, LADE_ERR_USAGE, "invalid size \"%s\"", s);
    switch (*end) { /* docker's units: binary multiples, either case, optional b */
    case 'k':
    case 'K':
        mult = 1ULL << 10;
        end++;
        break;
    case 'm':
    case 'M':
        mult = 1ULL << 20;
        end++;
        break;
    case 'g':
    case 'G':
        mult = 1ULL << 30;
        end++;
        break;
    default:
        break;
    }
    if (*end == 'b' || *end == 'B')
        end++;
    if (*end != '\0' || v == 0 || v > ULLONG_MAX / mult)
        return lade_error_set(err, LADE_ERR_USAGE,
                              "invalid size \"%s\": a positive number of bytes with an optional "
                              "unit k, m or g",
                              s);
    *out = v * mult;
    return 0;
}

int
sandbox_parse_cpus(const char *s, unsigned long long *quota_us, struct lade_error *err)
{
    char *end;

    errno = 0;
    double cpus = strtod(s, &end);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || !(cpus >= 0.01) || cpus > 65536)
        return lade_error_set(err, LADE_ERR_USAGE,
                              "invalid --cpus \"%s\": a number of CPUs from 0.01, such as 1.5", s);
    *quota_us = (unsigned long long) (cpus * (double) CPU_PERIOD_US + 0.5);
    return 0;
}

/* ---- small file helpers ---- */

/* Whether the comma- or space-separated list holds word. */
static bool
list_has(const char *list, const char *word)
{
    size_t len = strlen(word);

    for (const char *p = list; *p != '\0'; p += strcspn(p, ", \n"), p += (*p != '\0'))
        if (strncmp(p, word, len) == 0 && strchr(", \n", p[len]) != NULL)
            return true;
    return false;
}

static int
write_value(const char *dir, const char *file, const char *value)
{
    cleanup_free char *path = xasprintf("%s/%s", dir, file);
    cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    return write(fd, value, strlen(value)) == (ssize_t) strlen(value) ? 0 : -1;
}

/* The number after "key " in a flat keyed file (memory.events, memory.oom_control), or 0. */
static unsigned long long
read_key(const char *dir, const char *file, const char *key)
{
    cleanup_free char *path = xasprintf("%s/%s", dir, file), *text = NULL;
    size_t len = strlen(key);

    if (read_file_at(AT_FDCWD, path, 1 << 16, &text, NULL, NULL) < 0)
        return 0;
    for (char *line = text; line != NULL && *line != '\0';
         line = strchr(line, '\n'), line += !!line)
        if (strncmp(line, key, len) == 0 && line[len] == ' ')
            return strtoull(line + len + 1, NULL, 10);
    return 0;
}

/* v2: ctrl is in dir's cgroup.subtree_control, or can be put there (lade's cgroup must then
 * hold no process itself, as in a container's root cgroup). */
static bool
v2_controller_enabled(const char *dir, const char *ctrl)
{
    cleanup_free char *path = xasprintf("%s/cgroup.subtree_control", dir), *text = NULL;
    cleanup_free char *add = xasprintf("+%s", ctrl);

    if (read_file_at(AT_FDCWD, path, 1 << 12, &text, NULL, NULL) == 0 && list_has(text, ctrl))
        return true;
    return write_value(dir, "cgroup.subtree_control", add) == 0;
}

int
sandbox_limits_set(struct sandbox_limits *l, const char *flag, const char *value,
                   struct lade_error *err)
{
    char *end;

    if (strcmp(flag, "memory") == 0)
        return sandbox_parse_size(value, &l->memory, err);
    if (strcmp(flag, "cpus") == 0)
        return sandbox_parse_cpus(value, &l->cpu_quota, err);
    errno = 0;
    long long n = strtoll(value, &end, 10);
    if (strcmp(flag, "cpu-quota") == 0) { /* docker's: microseconds per 100 ms period */
        if (*value == '\0' || *end != '\0' || errno != 0 || n < 1000)
            return lade_error_set(err, LADE_ERR_USAGE,
                                  "invalid --cpu-quota \"%s\": microseconds per 100000, from 1000",
                                  value);
        l->cpu_quota = (unsigned long long) n;
        return 0;
    }
    /* --pids-limit: docker's -1 (or 0) for no limit */
    if (*value == '\0' || *end != '\0' || errno != 0 || n < -1)
        return lade_error_set(err, LADE_ERR_USAGE,
                              "invalid --pids-limit \"%s\": a number of processes, or -1 for none",
                              value);
    l->pids = n == 0 ? -1 : n;
    return 0;
}

int
sandbox_limits_check(const struct sandbox_limits *l, struct lade_error *err)
{
    char why[512];

    if (sandbox_limits_requested(l) && !cgroup_available(l, why, sizeof(why)))
        return lade_error_set(err, LADE_ERR_USAGE,
                              "--memory, --cpus, --cpu-quota and --pids-limit need cgroups this "
                              "host does not give lade: %s",
                              why);
    return 0;
}

/* ---- finding lade's own cgroup ---- */

static bool
fs_is(const char *path, unsigned long magic)
{
    struct statfs sf;

    return statfs(path, &sf) == 0 && (unsigned long) sf.f_type == magic;
}

/* lade's cgroup in the hierarchy whose /proc/self/cgroup line has controller ctrl ("" for
 * the v2 line "0::PATH"). */
static char *
own_cgroup_path(const char *ctrl)
{
    cleanup_file FILE *f = fopen("/proc/self/cgroup", "re");
    char line[4096];

    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        char *list = strchr(line, ':'), *path = list ? strchr(list + 1, ':') : NULL;
        if (path == NULL)
            continue;
        *path++ = '\0';
        path[strcspn(path, "\n")] = '\0';
        list++;
        if (ctrl[0] == '\0' ? list[0] == '\0' : list_has(list, ctrl))
            return xstrdup(path);
    }
    return NULL;
}

/* Where controller ctrl's step cgroups go (the directory of lade's own cgroup), or NULL with
 * why set. v2: the controller must be enabled for children, or be enabled here. */
static char *
controller_parent(const char *ctrl, bool *v2, char *why, size_t size)
{
    cleanup_free char *path = NULL, *dir = NULL, *mnt = NULL;
    struct statvfs sv;

    *v2 = fs_is(CGROUP_ROOT, CGROUP2_SUPER_MAGIC);
    mnt = *v2 ? xstrdup(CGROUP_ROOT) : xasprintf(CGROUP_ROOT "/%s", ctrl);
    if (!*v2 && !fs_is(mnt, CGROUP_SUPER_MAGIC)) {
        snprintf(why, size, "no cgroup2 at " CGROUP_ROOT " and no cgroup v1 %s hierarchy", ctrl);
        return NULL;
    }
    path = own_cgroup_path(*v2 ? "" : ctrl);
    if (path == NULL) {
        snprintf(why, size, "lade's own %s cgroup is unknown (/proc/self/cgroup)", ctrl);
        return NULL;
    }
    dir = xasprintf("%s%s", mnt, strcmp(path, "/") == 0 ? "" : path);
    if (statvfs(dir, &sv) < 0 || (sv.f_flag & ST_RDONLY) || access(dir, W_OK) < 0) {
        snprintf(why, size, "%s is not writable (cgroups not delegated to lade)", dir);
        return NULL;
    }
    if (*v2 && !v2_controller_enabled(dir, ctrl)) {
        /* lade's cgroup holds processes (a systemd session scope): no controller can be
         * enabled below it. Root may use the hierarchy's root, as runc and podman do. */
        if (strcmp(dir, CGROUP_ROOT) != 0 && v2_controller_enabled(CGROUP_ROOT, ctrl))
            return xstrdup(CGROUP_ROOT);
        snprintf(why, size, "the %s controller cannot be enabled in %s", ctrl, dir);
        return NULL;
    }
    return steal_ptr(&dir);
}

/* ---- a step's cgroup ---- */

/* The controllers a set of limits needs, in the order their files are written. */
static const char *const controllers[] = {"memory", "pids", "cpu"};

static long long
pids_limit(const struct sandbox_limits *l)
{
    if (l == NULL || l->pids == 0)
        return SANDBOX_DEFAULT_PIDS;
    return l->pids;
}

static bool
wants(const struct sandbox_limits *l, size_t ctrl)
{
    switch (ctrl) {
    case 0:
        return l != NULL && l->memory > 0;
    case 1:
        return pids_limit(l) > 0;
    default:
        return l != NULL && l->cpu_quota > 0;
    }
}

/* Explicit limits: failing to apply them is an error; the default pids limit is not. */
static bool
required(const struct sandbox_limits *l, size_t ctrl)
{
    return wants(l, ctrl) && (ctrl != 1 || (l != NULL && l->pids > 0));
}

bool
sandbox_limits_requested(const struct sandbox_limits *l)
{
    for (size_t i = 0; i < 3; i++)
        if (required(l, i))
            return true;
    return false;
}

int
cgroup_available(const struct sandbox_limits *l, char *why, size_t size)
{
    for (size_t i = 0; i < 3; i++) {
        bool v2;
        if (l != NULL && !wants(l, i))
            continue;
        cleanup_free char *dir = controller_parent(controllers[i], &v2, why, size);
        if (dir == NULL)
            return 0;
    }
    return 1;
}

/* mkdir parent/lade-PID-N with the first free N: parallel steps of one lade and several lade
 * processes never share one. */
static char *
make_step_dir(const char *parent, struct lade_error *err)
{
    for (unsigned n = 0; n < 100000; n++) {
        char *dir = xasprintf("%s/lade-%ld-%u", parent, (long) getpid(), n);
        if (mkdir(dir, 0755) == 0)
            return dir;
        int e = errno;
        free(dir);
        if (e != EEXIST)
            return lade_error_errno(err, e, "cannot create a cgroup in '%s'", parent), NULL;
    }
    return lade_error_set(err, LADE_ERR_OTHER, "no free cgroup name in '%s'", parent), NULL;
}

/* The limit files of controller ctrl, v1 or v2. No swap: --memory is what the step gets. */
static int
write_limits(const struct sandbox_limits *l, size_t ctrl, const char *dir, bool v2)
{
    char num[64];

    switch (ctrl) {
    case 0:
        snprintf(num, sizeof(num), "%llu", l->memory);
        if (write_value(dir, v2 ? "memory.max" : "memory.limit_in_bytes", num) < 0)
            return -1;
        /* absent without swap accounting: nothing to limit then */
        (void) write_value(dir, v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes",
                           v2 ? "0" : num);
        return 0;
    case 1:
        snprintf(num, sizeof(num), "%lld", pids_limit(l));
        return write_value(dir, "pids.max", num);
    default:
        if (v2) {
            snprintf(num, sizeof(num), "%llu %llu", l->cpu_quota, CPU_PERIOD_US);
            return write_value(dir, "cpu.max", num);
        }
        snprintf(num, sizeof(num), "%llu", CPU_PERIOD_US);
        if (write_value(dir, "cpu.cfs_period_us", num) < 0)
            return -1;
        snprintf(num, sizeof(num), "%llu", l->cpu_quota);
        return write_value(dir, "cpu.cfs_quota_us", num);
    }
}

/* One controller: its step cgroup (the v2 one is shared by all), limits written. */
static int
step_add_controller(struct cgroup_step *cg, const struct sandbox_limits *l, size_t ctrl,
                    struct lade_error *err)
{
    char why[512];
    bool v2;
    cleanup_free char *parent = controller_parent(controllers[ctrl], &v2, why, sizeof(why));

    if (parent == NULL) {
        if (required(l, ctrl))
            return lade_error_set(err, LADE_ERR_OTHER, "cannot limit the RUN step's %s: %s",
                                  controllers[ctrl], why);
        return 0;
    }
    cg->v2 = v2;
    if (!v2 || cg->n == 0) {
        char *dir = make_step_dir(parent, err);
        if (dir == NULL)
            return -1;
        cg->dirs[cg->n++] = dir;
    }
    const char *dir = cg->dirs[cg->n - 1];
    if (write_limits(l, ctrl, dir, v2) < 0) {
        int e = errno;
        if (required(l, ctrl))
            return lade_error_errno(err, e, "cannot set the %s limit in '%s'", controllers[ctrl],
                                    dir);
        return 0;
    }
    if (ctrl == 0)
        cg->memory_dir = dir;
    if (ctrl == 1)
        cg->pids_dir = dir;
    return 0;
}

int
cgroup_step_create(const struct sandbox_limits *l, struct cgroup_step *cg, struct lade_error *err)
{
    *cg = (struct cgroup_step){0};
    for (size_t i = 0; i < 3; i++)
        if (wants(l, i) && step_add_controller(cg, l, i, err) < 0) {
            cgroup_step_remove(cg);
            return -1;
        }
    return 0;
}

int
cgroup_step_enter(const struct cgroup_step *cg, struct lade_error *err)
{
    for (size_t i = 0; i < cg->n; i++)
        if (write_value(cg->dirs[i], "cgroup.procs", "0") < 0)
            return lade_error_sys(err, "cannot enter the cgroup '%s'", cg->dirs[i]);
    return 0;
}

int
cgroup_step_explain(const struct cgroup_step *cg, const struct sandbox_limits *l, int status,
                    struct lade_error *err)
{
    if (cg->memory_dir != NULL &&
        read_key(cg->memory_dir, cg->v2 ? "memory.events" : "memory.oom_control", "oom_kill") > 0)
        return lade_error_set(err, LADE_ERR_RUN,
                              "killed for exceeding the step's memory limit (--memory %llu "
                              "bytes; exit status %d)",
                              l->memory, status);
    if (cg->pids_dir != NULL && read_key(cg->pids_dir, "pids.events", "max") > 0)
        return lade_error_set(err, LADE_ERR_RUN,
                              "failed after reaching the step's limit of %lld processes and "
                              "threads (--pids-limit; exit status %d)",
                              pids_limit(l), status);
    return 0;
}

/* The step's processes are gone when sandbox_run returns, but the kernel may still be
 * finishing their exit: rmdir is retried for a while on EBUSY. */
void
cgroup_step_remove(struct cgroup_step *cg)
{
    for (size_t i = 0; i < cg->n; i++) {
        for (int tries = 0; rmdir(cg->dirs[i]) < 0 && errno == EBUSY && tries < 200; tries++)
            nanosleep(&(struct timespec){.tv_nsec = 5 * 1000 * 1000}, NULL);
        free(cg->dirs[i]);
    }
    *cg = (struct cgroup_step){0};
}
