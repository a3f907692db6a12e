/* SPDX-License-Identifier: Apache-2.0 */
/* Git sources: ADD of a git URL and git build contexts, through the `git` program. A reference
 * is parsed as BuildKit's Dockerfile frontend parses it (remote, #ref:subdir, query options);
 * the ref is resolved to a commit with `git ls-remote` (cheap: a cached step needs nothing
 * more), then that commit is fetched, shallow where the server allows it (dumb HTTP does
 * not), and checked out. */
#include "fetch.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "rootfs.h"
#include "common/xalloc.h"

#define GIT_OUTPUT_MAX (64u << 20)
#define GIT_STDERR_SHOWN 600

/* ---- parsing ---- */

static bool
is_commit_id(const char *s)
{
    size_t n = strlen(s);

    if (n != 40)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char) s[i]) || isupper((unsigned char) s[i]))
            return false;
    return true;
}

/* BuildKit: ref and subdir split at the first ':', subdir cleaned as path.Join("/", dir). */
static void
set_fragment(struct git_ref *r, const char *frag)
{
    const char *colon = strchr(frag, ':');
    cleanup_free char *dir = xasprintf("/%s", colon ? colon + 1 : "");
    cleanup_free char *clean = path_clean_abs(dir);

    free(r->ref);
    free(r->subdir);
    r->ref = colon ? xstrndup(frag, (size_t) (colon - frag)) : xstrdup(frag);
    r->subdir = xstrdup(clean + 1);
}

static int
query_bool(const char *k, const char *v, int *out, struct lade_error *err)
{
    if (*v == '\0' || strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0)
        *out = 1;
    else if (strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0)
        *out = 0;
    else
        return lade_error_set(err, LADE_ERR_PARSE, "invalid %s value: \"%s\"", k, v);
    return 0;
}

/* The query forms: ?ref=, ?tag=, ?branch=, ?subdir=, ?keep-git-dir[=BOOL], ?commit=. */
static int
apply_query(struct git_ref *r, char *query, struct lade_error *err)
{
    for (char *save = NULL, *kv = strtok_r(query, "&", &save); kv;
         kv = strtok_r(NULL, "&", &save)) {
        char *v = strchr(kv, '=');
        if (v != NULL)
            *v++ = '\0';
        else
            v = kv + strlen(kv);
        if (strcmp(kv, "ref") == 0 || strcmp(kv, "tag") == 0 || strcmp(kv, "branch") == 0) {
            const char *prefix = kv[0] == 't' ? "refs/tags/" : kv[0] == 'b' ? "refs/heads/" : "";
            bool has = strncmp(v, prefix, strlen(prefix)) == 0;
            cleanup_free char *ref = xasprintf("%s%s", has ? "" : prefix, v);
            if (r->ref[0] && strcmp(r->ref, ref) != 0)
                return lade_error_set(err, LADE_ERR_PARSE, "ref conflicts: \"%s\" vs \"%s\"",
                                      r->ref, ref);
            free(r->ref);
            r->ref = steal_ptr(&ref);
        } else if (strcmp(kv, "subdir") == 0) {
            cleanup_free char *frag = xasprintf("%s:%s", r->ref, v);
            set_fragment(r, frag);
        } else if (strcmp(kv, "keep-git-dir") == 0) {
            if (query_bool(kv, v, &r->keep_git_dir, err) < 0)
                return -1;
        } else if (strcmp(kv, "commit") == 0 || strcmp(kv, "checksum") == 0) {
            if (!is_commit_id(v))
                return lade_error_set(err, LADE_ERR_PARSE, "%s must be a full commit id: \"%s\"",
                                      kv, v);
            if (r->ref[0] == '\0') {
                free(r->ref);
                r->ref = xstrdup(v);
            }
        } else {
            return lade_error_set(err, LADE_ERR_PARSE,
                                  "git URL query \"%s\" is unknown or not implemented yet", kv);
        }
    }
    return 0;
}

/* user@host:path[?query][#fragment] (BuildKit's scp-style pattern). */
static bool
is_scp_style(const char *s)
{
    size_t u = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");
    if (u == 0 || s[u] != '@')
        return false;
    size_t h =
        strspn(s + u + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.");
    return h > 0 && s[u + 1 + h] == ':';
}

int
git_ref_parse(const char *s, bool allow_file, struct git_ref *out, struct lade_error *err)
{
    size_t proto = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
    bool scp = false;

    memset(out, 0, sizeof(*out));
    if (proto > 0 && strncmp(s + proto, "://", 3) == 0) {
        cleanup_free char *scheme = xstrndup(s, proto);
        for (char *p = scheme; *p; p++)
            *p = (char) tolower((unsigned char) *p);
        bool web = strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0;
        if (!web && strcmp(scheme, "git") && strcmp(scheme, "ssh") &&
            !(allow_file && strcmp(scheme, "file") == 0))
            return 0;
        if (web) { /* an http(s) URL is a repository only with a path ending in ".git" */
            size_t end = strcspn(s, "?#");
            if (end < 4 || strncmp(s + end - 4, ".git", 4) != 0)
                return 0;
        }
    } else if (is_scp_style(s)) {
        scp = true;
    } else {
        return 0;
    }
    (void) scp;
    size_t rlen = strcspn(s, "?#");
    const char *q = s[rlen] == '?' ? s + rlen + 1 : NULL;
    const char *hash = strchr(s, '#');
    out->remote = xstrndup(s, rlen);
    out->ref = xstrdup("");
    out->subdir = xstrdup("");
    out->keep_git_dir = -1;
    if (hash != NULL && hash[1] != '\0')
        set_fragment(out, hash + 1);
    if (q != NULL) {
        cleanup_free char *query = xstrndup(q, hash ? (size_t) (hash - q) : strlen(q));
        if (apply_query(out, query, err) < 0) {
            git_ref_release(out);
            return lade_error_prefix(err, "git URL \"%s\"", s);
        }
    }
    return 1;
}

void
git_ref_release(struct git_ref *r)
{
    free(r->remote);
    free(r->ref);
    free(r->subdir);
    memset(r, 0, sizeof(*r));
}

/* ---- running git ---- */

/* Runs git with argv (argv[0] is "git") in cwd (NULL: here), stdin from /dev/null and umask
 * 022; *out (may be NULL) gets its stdout. A failure is LADE_ERR_NET (what git does here is
 * reach a remote) with the end of git's stderr. */
static int
run_git(const char *const argv[], const char *cwd, char **out, struct lade_error *err)
{
    int pipefd[2];
    cleanup_close int errfd = memfd_create("git-stderr", MFD_CLOEXEC);
    struct lade_buf ob;
    int status;
    pid_t pid;

    if (errfd < 0 || pipe2(pipefd, O_CLOEXEC) < 0)
        return lade_error_sys(err, "cannot run git");
    char **envp = strv_dup(environ);
    envp = strv_env_set(envp, "GIT_TERMINAL_PROMPT", "0");
    envp = strv_env_set(envp, "LC_ALL", "C");
    /* ssh must not ask on the terminal either (host keys, passphrases): it fails instead */
    if (getenv("GIT_SSH_COMMAND") == NULL && getenv("GIT_SSH") == NULL)
        envp = strv_env_set(envp, "GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
    pid = fork();
    if (pid < 0) {
        strv_free(envp);
        close(pipefd[0]);
        close(pipefd[1]);
        return lade_error_sys(err, "cannot run git");
    }
    if (pid == 0) { /* async-signal-safe calls only: other threads may hold malloc's lock */
        int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        umask(022);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(pipefd[1], 1) < 0 || dup2(errfd, 2) < 0 ||
            (cwd != NULL && chdir(cwd) < 0))
            _exit(127);
        execvpe("git", (char *const *) argv, envp);
        static const char msg[] = "cannot run git (install the git package)\n";
        ssize_t w = write(2, msg, sizeof(msg) - 1);
        (void) w;
        _exit(127);
    }
    strv_free(envp);
    close(pipefd[1]);
    lade_buf_init(&ob, GIT_OUTPUT_MAX);
    char buf[8192];
    ssize_t n;
    while ((n = read(pipefd[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
        if (n > 0)
            lade_buf_append(&ob, buf, (size_t) n);
    close(pipefd[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char msg[GIT_STDERR_SHOWN + 1];
        off_t size = lseek(errfd, 0, SEEK_END);
        off_t from = size > GIT_STDERR_SHOWN ? size - GIT_STDERR_SHOWN : 0;
        ssize_t got = pread(errfd, msg, GIT_STDERR_SHOWN, from);
        msg[got > 0 ? got : 0] = '\0';
        for (ssize_t i = got - 1; i >= 0 && (msg[i] == '\n' || msg[i] == ' '); i--)
            msg[i] = '\0';
        for (char *p = msg; *p; p++)
            if (*p == '\n')
                *p = ' ';
        lade_buf_release(&ob);
        return lade_error_set(err, LADE_ERR_NET, "git %s failed: %s", argv[1],
                              msg[0] ? msg : "no message");
    }
    if (out != NULL)
        *out = lade_buf_steal(&ob);
    lade_buf_release(&ob);
    return 0;
}

/* ---- resolving and checking out ---- */

/* The object id of the line of ls-remote output whose ref is name, or NULL. */
static const char *
ls_remote_find(const char *text, const char *name, char id[41])
{
    size_t nl = strlen(name);

    for (const char *line = text; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *tab = strchr(line, '\t');
        size_t len = strcspn(line, "\n");
        if (tab == NULL || tab - line != 40 || tab > line + len)
            continue;
        if ((size_t) (line + len - tab - 1) == nl && strncmp(tab + 1, name, nl) == 0) {
            snprintf(id, 41, "%.40s", line);
            return id;
        }
    }
    return NULL;
}

int
git_resolve(const struct git_ref *r, char commit[41], struct lade_error *err)
{
    cleanup_free char *text = NULL;
    const char *argv[] = {"git", "ls-remote", "--", r->remote, NULL};

    if (is_commit_id(r->ref)) {
        snprintf(commit, 41, "%s", r->ref);
        return 0;
    }
    if (run_git(argv, NULL, &text, err) < 0)
        return lade_error_prefix(err, "git repository %s", r->remote);
    /* a tag's peeled commit first, then the name as given, a tag, a branch */
    const char *ref = r->ref[0] ? r->ref : "HEAD";
    cleanup_free char *full = xstrdup(ref);
    cleanup_free char *tag = xasprintf("refs/tags/%s", ref);
    cleanup_free char *head = xasprintf("refs/heads/%s", ref);
    const char *order[] = {tag, full, head};
    for (size_t i = 0; i < 3; i++) {
        cleanup_free char *peeled = xasprintf("%s^{}", order[i]);
        if (ls_remote_find(text, peeled, commit) || ls_remote_find(text, order[i], commit))
            return 0;
    }
    return lade_error_set(err, LADE_ERR_NET, "git repository %s has no ref \"%s\"", r->remote, ref);
}

static bool
fetched_is(const char *dir, const char *commit)
{
    const char *argv[] = {"git", "rev-parse", "FETCH_HEAD^{commit}", NULL};
    cleanup_free char *out = NULL;
    struct lade_error ignored = {0};

    return run_git(argv, dir, &out, &ignored) == 0 && strncmp(out, commit, 40) == 0;
}

int
git_checkout(const struct git_ref *r, const char *commit, bool keep_git_dir, const char *dir,
             struct lade_error *err)
{
    const char *init[] = {"git", "init", "-q", "--template=", dir, NULL};
    const char *remote[] = {"git", "remote", "add", "origin", r->remote, NULL};
    const char *want = r->ref[0] ? r->ref : "HEAD";
    const char *shallow[] = {"git", "fetch", "-q", "--depth", "1", "origin", want, NULL};
    const char *full[] = {"git",
                          "fetch",
                          "-q",
                          "origin",
                          "+refs/heads/*:refs/remotes/origin/*",
                          "+refs/tags/*:refs/tags/*",
                          NULL};
    const char *checkout[] = {
        "git", "-c", "advice.detachedHead=false", "checkout", "-q", "--detach", commit, NULL};
    const char *submodules[] = {"git", "submodule", "update", "-q", "--init", "--recursive", NULL};
    struct lade_error ignored = {0};
    struct stat st;

    if (run_git(init, NULL, NULL, err) < 0 || run_git(remote, dir, NULL, err) < 0)
        return lade_error_prefix(err, "git repository %s", r->remote);
    /* shallow by name (or commit id); dumb HTTP and old servers refuse: fetch everything */
    if (run_git(shallow, dir, NULL, &ignored) < 0 || !fetched_is(dir, commit)) {
        if (run_git(full, dir, NULL, err) < 0)
            return lade_error_prefix(err, "git repository %s", r->remote);
    }
    if (run_git(checkout, dir, NULL, err) < 0)
        return lade_error_prefix(err, "git repository %s: commit %s", r->remote, commit);
    cleanup_free char *gm = xasprintf("%s/.gitmodules", dir);
    if (stat(gm, &st) == 0 && run_git(submodules, dir, NULL, err) < 0)
        return lade_error_prefix(err, "git repository %s: submodules", r->remote);
    if (keep_git_dir)
        return 0;
    cleanup_free char *gitdir = xasprintf("%s/.git", dir);
    return rm_rf_at(AT_FDCWD, gitdir, err);
}
