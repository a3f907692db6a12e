/* SPDX-License-Identifier: Apache-2.0 */
/* COPY/ADD source resolution (copy.h): wildcard patterns expanded inside the source root,
 * .dockerignore applied, missing sources reported, as BuildKit's file backend does it
 * (copy.ResolveWildcards, AllowEmptyWildcard for the Dockerfile frontend). */
#include "copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootfs.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"

bool
copy_has_wildcard(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

bool
copy_dest_names_dir(const char *raw)
{
    size_t n = strlen(raw);

    return n == 0 || strcmp(raw, ".") == 0 || raw[n - 1] == '/';
}

static int
strcmp_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The names in directory dir (relative to root, "" for the root) matching the wildcard
 * component pat, sorted; an unreadable or missing directory matches nothing. */
static char **
match_dir(int root, const char *dir, const char *pat)
{
    cleanup_close int dfd = rootfs_open(root, dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY, 0, NULL);
    DIR *d = dfd >= 0 ? fdopendir(steal_fd(&dfd)) : NULL;
    struct dirent *de;
    char **names = NULL;

    while (d && (de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && fnmatch(pat, de->d_name, 0) == 0)
            names = strv_push(names, de->d_name);
    if (d)
        closedir(d);
    if (names != NULL) /* qsort's array is nonnull: GCC drops NULL checks after it */
        qsort(names, strv_len(names), sizeof(char *), strcmp_ptr);
    return names;
}

/* Expands one source pattern (relative to the source root) into matching relative paths,
 * component by component; only wildcard components read directories. */
static char **
glob_sources(int root, const char *pattern)
{
    cleanup_free char *clean = path_clean_abs(pattern);
    char **cur = strv_push(NULL, "");

    for (char *p = clean + 1; *p;) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        char **next = NULL;
        for (size_t i = 0; cur[i]; i++) {
            char **names = copy_has_wildcard(p) ? match_dir(root, cur[i], p) : strv_push(NULL, p);
            for (size_t k = 0; names && names[k]; k++)
                next = strv_push_take(next, cur[i][0] ? xasprintf("%s/%s", cur[i], names[k])
                                                      : xstrdup(names[k]));
            strv_free(names);
        }
        strv_free(cur);
        cur = next ? next : xcalloc(1, sizeof(char *));
        if (!slash)
            break;
        p = slash + 1;
    }
    return cur;
}

int
copy_resolve_sources(const struct copy_opts *o, char *const *patterns, size_t npatterns,
                     bool in_context, char ***out, size_t *nfound, bool *several,
                     struct lade_error *err)
{
    char **found = NULL;
    size_t total = 0;

    *several = false;
    for (size_t i = 0; i < npatterns; i++) {
        char **m = glob_sources(o->src_root, patterns[i]);
        size_t n = 0;
        for (size_t k = 0; m[k]; k++) {
            bool ignored = false;
            struct stat st;
            cleanup_close int probe =
                rootfs_open(o->src_root, m[k][0] ? m[k] : "/", O_PATH, 0, NULL);
            if (probe < 0 || fstat(probe, &st) < 0)
                continue;
            if (copy_is_ignored(o, m[k], &ignored, err) < 0) {
                strv_free(m);
                strv_free(found);
                return -1;
            }
            if (ignored)
                continue;
            found = strv_push(found, m[k]);
            n++;
        }
        strv_free(m);
        if (n == 0 && !copy_has_wildcard(patterns[i])) {
            strv_free(found);
            return lade_error_set(
                err, LADE_ERR_OTHER, "\"%s\": not found%s", patterns[i],
                in_context ? " in the build context (or excluded by .dockerignore)" : "");
        }
        /* Several sources go into dest as a directory (docker's rule, which BuildKit does not
         * enforce with an error). */
        *several = *several || n > 1;
        total += n;
    }
    *out = found ? found : xcalloc(1, sizeof(char *));
    *nfound = total;
    return 0;
}

/* Walks dirfd (base/rel in the source root) in name order: a matching entry is a source (its
 * contents come with it), a directory that does not match is searched. */
static int
match_below(const struct copy_opts *o, const struct dockerignore *m, int dirfd, const char *base,
            const char *rel, char ***out, struct lade_error *err)
{
    struct dirent **list = NULL;
    int n = dir_entries_sorted(dirfd, &list), rc = 0;

    if (n < 0)
        return lade_error_sys(err, "cannot read directory '%s'", rel[0] ? rel : base);
    for (int i = 0; i < n && rc == 0; i++) {
        const char *name = list[i]->d_name;
        cleanup_free char *crel = rel[0] ? xasprintf("%s/%s", rel, name) : xstrdup(name);
        cleanup_free char *full = base[0] ? xasprintf("%s/%s", base, crel) : xstrdup(crel);
        bool hit = false, ignored = false;
        struct stat st;
        if (dockerignore_matches(m, crel, &hit, err) < 0 ||
            copy_is_ignored(o, full, &ignored, err) < 0) {
            rc = -1;
            break;
        }
        if (ignored)
            continue;
        if (hit) {
            *out = strv_push(*out, full);
            continue;
        }
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
            continue;
        cleanup_close int sub =
            openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
            rc = lade_error_sys(err, "cannot open '%s'", full);
        else
            rc = match_below(o, m, sub, base, crel, out, err);
    }
    dirents_free(list, n);
    return rc;
}

int
copy_match_below(const struct copy_opts *o, const char *base, const char *pattern, char ***out,
                 struct lade_error *err)
{
    char *patterns[] = {(char *) pattern, NULL};
    struct dockerignore *m = NULL;
    char **found = NULL;

    if (dockerignore_new(patterns, &m, err) < 0)
        return lade_error_prefix(err, "pattern \"%s\"", pattern);
    cleanup_close int dir =
        rootfs_open(o->src_root, base[0] ? base : "/", O_RDONLY | O_DIRECTORY, 0, NULL);
    int rc = dir < 0 ? 0 : match_below(o, m, dir, base, "", &found, err);
    dockerignore_free(m);
    if (rc < 0) {
        strv_free(found);
        return -1;
    }
    *out = found ? found : xcalloc(1, sizeof(char *));
    return 0;
}

int
copy_write_docs(int dirfd, const struct copy_doc *docs, size_t n, struct lade_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *name = docs[i].name;
        if (name[0] == '\0' || strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
            strcmp(name, "..") == 0)
            return lade_error_set(err, LADE_ERR_OTHER,
                                  "heredoc \"%s\": its name is not a file name", name);
        cleanup_close int fd =
            openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        /* 0644 whatever the umask: BuildKit's Mkfile(name, 0644, data) */
        if (fd < 0 || fchmod(fd, 0644) < 0)
            return lade_error_sys(err, "cannot create heredoc file '%s'", name);
        if (write_all(fd, docs[i].data, strlen(docs[i].data)) < 0)
            return lade_error_sys(err, "cannot write heredoc file '%s'", name);
    }
    return 0;
}
