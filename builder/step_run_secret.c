/* SPDX-License-Identifier: Apache-2.0 */
/* RUN --mount=type=secret and --mount=type=ssh, as BuildKit's dockerfile2llb (convert_secrets.go,
 * convert_ssh.go) and its executor (solver/llbsolver/mounts) make them: a secret's bytes in a
 * file on a tmpfs, bound read-only on its target, and/or in one variable of the process's
 * environment; an agent socket of lade's own (ssh_forward) bound on its target. The tmpfs lives
 * in lade's private mount namespace and is unmounted after the run: a secret never touches
 * the store's disk, a layer, the cache key (which sees the mount's fields, never the bytes) or
 * any output lade writes. */
#include "step_run_secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secrets.h"
#include "ssh_agent.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"

/* "/run/secrets/ID" for a secret without target= (BuildKit: path.Base(id)). */
#define SECRETS_DIR "/run/secrets/"
/* BuildKit's default agent socket of the Nth ssh mount (client/llb/exec.go) */
#define SSH_TARGET_FMT "/run/buildkit/ssh_agent.%zu"

static const char *
base_name(const char *p)
{
    const char *s = strrchr(p, '/');

    return s && s[1] ? s + 1 : p;
}

/* A target as the executor takes it: relative to the root of the rootfs. */
static char *
abs_target(const char *t)
{
    return t[0] == '/' ? xstrdup(t) : xasprintf("/%s", t);
}

/* dispatchSecret: the id is source=, else id=, else the target's base name. */
static const char *
secret_id(const struct run_mount *m)
{
    if (m->source != NULL && m->source[0] != '\0')
        return m->source;
    if (m->id != NULL && m->id[0] != '\0')
        return m->id;
    return m->target ? base_name(m->target) : "";
}

/* Where the secret's file goes: target=, else /run/secrets/ID unless env= alone asks for the
 * variable only; NULL: no file. */
static char *
secret_target(const struct run_mount *m)
{
    if (m->target != NULL && m->target[0] != '\0')
        return abs_target(m->target);
    if (m->env != NULL)
        return NULL;
    return xasprintf(SECRETS_DIR "%s", base_name(secret_id(m)));
}

char **
run_ssh_env(const struct run_cmd *r, char **envp)
{
    for (size_t i = 0; i < r->nmounts; i++) {
        const struct run_mount *m = &r->mounts[i];
        if (m->type != RUN_MOUNT_SSH)
            continue;
        if (strv_env_get(envp, "SSH_AUTH_SOCK") != NULL)
            return envp; /* the stage's own wins (llb's env.Get check) */
        char *t = m->target && m->target[0] ? abs_target(m->target)
                                            : xasprintf(SSH_TARGET_FMT, (size_t) 0);
        envp = strv_env_set(envp, "SSH_AUTH_SOCK", t);
        free(t);
        return envp;
    }
    return envp;
}

static void
add_mount(struct run_secret_mounts *rm, char *source, char *target)
{
    rm->mounts = xrealloc(rm->mounts, (rm->nmounts + 1) * sizeof(*rm->mounts));
    rm->mounts[rm->nmounts++] = (struct sandbox_mount){
        .type = SANDBOX_MOUNT_BIND,
        .source = source,
        .target = target,
        .readonly = true,
    };
}

/* The tmpfs that holds this RUN's secret files and agent sockets, made on first use. noexec
 * unless a secret's mode has an execute bit (BuildKit's rule, per secret). */
static int
ensure_tmpfs(struct run_secret_mounts *rm, const char *step_dir, bool exec, bool disk,
             struct lade_error *err)
{
    if (rm->dir != NULL)
        return 0;
    char *dir = xasprintf("%s/secrets", step_dir);
    unsigned long flags = MS_NOSUID | MS_NODEV | (exec ? 0 : MS_NOEXEC);
    /* disk: the chroot isolation tier cannot mount; the files stay in the step directory,
     * removed with it (README says so) */
    if (mkdir(dir, 0700) < 0 ||
        (!disk && mount("lade-secrets", dir, "tmpfs", flags, "mode=0711") < 0)) {
        lade_error_sys(err, "cannot mount a tmpfs for secrets on '%s'", dir);
        rmdir(dir);
        free(dir);
        return -1;
    }
    rm->dir = dir;
    return 0;
}

static int
mode_of(const struct run_mount *m, unsigned dflt)
{
    return m->has_mode ? (int) (m->mode & 0777) : (int) dflt;
}

static int
write_secret_file(const char *path, const char *data, size_t len, const struct run_mount *m,
                  struct lade_error *err)
{
    cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

    if (fd < 0 || write_all(fd, data, len) < 0 ||
        fchown(fd, m->has_uid ? m->uid : 0, m->has_gid ? m->gid : 0) < 0 ||
        fchmod(fd, (mode_t) mode_of(m, 0400)) < 0)
        return lade_error_sys(err, "cannot write secret file '%s'", path);
    return 0;
}

static bool
any_exec_secret(const struct run_cmd *r)
{
    for (size_t i = 0; i < r->nmounts; i++)
        if (r->mounts[i].type == RUN_MOUNT_SECRET && (mode_of(&r->mounts[i], 0400) & 0111))
            return true;
    return false;
}

static int
prepare_secret(const struct build *b, const struct run_mount *m, const char *step_dir, bool exec,
               char ***envp, struct run_secret_mounts *rm, struct lade_error *err)
{
    const char *id = secret_id(m), *data = NULL;
    size_t len = 0;
    bool have = build_secrets_get(b->opts->secrets, id, &data, &len);
    cleanup_free char *target = secret_target(m);

    if (!have && m->required)
        return lade_error_set(err, LADE_ERR_USAGE,
                              "secret %s: not found: it is required (give it with --secret "
                              "id=%s,src=FILE or --secret id=%s,env=VAR)",
                              id, id, id);
    /* BuildKit: a missing optional secret still sets its variable, empty */
    if (m->env != NULL) {
        cleanup_free char *value = xstrndup(have ? data : "", have ? len : 0);
        *envp = strv_env_set(*envp, m->env, value);
        explicit_bzero(value, strlen(value));
    }
    if (!have || target == NULL)
        return 0; /* a missing optional secret mounts nothing */
    if (ensure_tmpfs(rm, step_dir, exec, b->tier == ISOLATION_CHROOT, err) < 0)
        return -1;
    char *path = xasprintf("%s/secret.%zu", rm->dir, rm->nmounts);
    if (write_secret_file(path, data, len, m, err) < 0) {
        free(path);
        return -1;
    }
    add_mount(rm, path, steal_ptr(&target));
    return 0;
}

static int
prepare_ssh(const struct build *b, const struct run_mount *m, size_t nth, const char *step_dir,
            struct run_secret_mounts *rm, struct lade_error *err)
{
    const char *id = m->id && m->id[0] ? m->id : "default";
    const char *agent = build_secrets_ssh_socket(b->opts->secrets, id);
    struct ssh_forward *fwd = NULL;

    if (m->source != NULL && m->source[0] != '\0')
        return lade_error_set(err, LADE_ERR_PARSE, "ssh does not support source");
    if (agent == NULL && m->required)
        return lade_error_set(err, LADE_ERR_USAGE,
                              "no SSH key \"%s\" forwarded from the client (give it with --ssh "
                              "%s[=SOCKET|KEYFILE])",
                              id, id);
    if (agent == NULL)
        return 0;
    if (ensure_tmpfs(rm, step_dir, false, b->tier == ISOLATION_CHROOT, err) < 0)
        return -1;
    char *path = xasprintf("%s/ssh.%zu.sock", rm->dir, nth);
    if (ssh_forward_start(agent, path, (unsigned) mode_of(m, 0600), m->has_uid ? m->uid : 0,
                          m->has_gid ? m->gid : 0, &fwd, err) < 0) {
        free(path);
        return -1;
    }
    rm->fwds = xrealloc(rm->fwds, (rm->nfwds + 1) * sizeof(*rm->fwds));
    rm->fwds[rm->nfwds++] = fwd;
    add_mount(rm, path,
              m->target && m->target[0] ? abs_target(m->target) : xasprintf(SSH_TARGET_FMT, nth));
    return 0;
}

int
run_secrets_prepare(const struct build *b, const struct run_cmd *r, const char *step_dir,
                    char ***envp, struct run_secret_mounts *out, struct lade_error *err)
{
    bool exec = any_exec_secret(r);
    size_t nssh = 0;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < r->nmounts; i++) {
        const struct run_mount *m = &r->mounts[i];
        int rc = 0;
        if (m->type == RUN_MOUNT_SECRET)
            rc = prepare_secret(b, m, step_dir, exec, envp, out, err);
        else if (m->type == RUN_MOUNT_SSH)
            rc = prepare_ssh(b, m, nssh++, step_dir, out, err);
        if (rc < 0) {
            run_secrets_release(out);
            return -1;
        }
    }
    return 0;
}

void
run_secrets_release(struct run_secret_mounts *rm)
{
    for (size_t i = 0; i < rm->nfwds; i++)
        ssh_forward_stop(rm->fwds[i]);
    for (size_t i = 0; i < rm->nmounts; i++) {
        free((char *) rm->mounts[i].source);
        free((char *) rm->mounts[i].target);
    }
    if (rm->dir != NULL) {
        /* the files go with the tmpfs: nothing of them is left on any disk */
        umount2(rm->dir, MNT_DETACH);
        rm_rf_at(AT_FDCWD, rm->dir, NULL); /* the chroot tier's files on disk */
        free(rm->dir);
    }
    free(rm->fwds);
    free(rm->mounts);
    memset(rm, 0, sizeof(*rm));
}

struct sandbox_mount *
run_mounts_join(const struct sandbox_mount *a, size_t na, const struct sandbox_mount *b, size_t nb,
                size_t *n)
{
    struct sandbox_mount *v = xcalloc(na + nb + 1, sizeof(*v));

    if (na > 0)
        memcpy(v, a, na * sizeof(*v));
    if (nb > 0)
        memcpy(v + na, b, nb * sizeof(*v));
    for (size_t i = 1; i < na + nb; i++) { /* insertion sort: stable, a handful of mounts */
        struct sandbox_mount m = v[i];
        size_t j = i;
        for (; j > 0 && strcmp(v[j - 1].target, m.target) > 0; j--)
            v[j] = v[j - 1];
        v[j] = m;
    }
    *n = na + nb;
    return v;
}

void
run_secrets_wipe_env(char **envp)
{
    for (size_t i = 0; envp != NULL && envp[i]; i++)
        explicit_bzero(envp[i], strlen(envp[i]));
}
