/* SPDX-License-Identifier: Apache-2.0 */
/* --secret and --ssh (buildx's util/buildflags, BuildKit's secretsprovider and sshprovider). */
#include "secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ssh_agent.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/strv.h"
#include "common/xalloc.h"

struct secret {
    char *id;
    char *data; /* zeroed before it is freed */
    size_t len;
};

struct ssh_source {
    char *id;
    char *socket;           /* the agent's socket */
    struct ssh_agent *mine; /* the agent lade started for key files, or NULL */
};

struct build_secrets {
    struct secret *secrets;
    size_t nsecrets;
    struct ssh_source *ssh;
    size_t nssh;
};

/* Splits CSV as Go's encoding/csv reads one record (buildx uses go-csvvalue): fields split on
 * ',', a field that starts with '"' runs to its closing quote, '""' inside it is one quote. */
static int
csv_fields(const char *text, char ***out, struct lade_error *err)
{
    char **v = NULL;
    const char *p = text;

    for (;;) {
        struct lade_buf f = LADE_BUF_INIT;
        if (*p == '"') {
            for (p++;; p++) {
                if (*p == '\0') {
                    lade_buf_release(&f);
                    strv_free(v);
                    return lade_error_set(err, LADE_ERR_USAGE, "unterminated quote in \"%s\"",
                                          text);
                }
                if (*p == '"' && p[1] == '"')
                    p++;
                else if (*p == '"')
                    break;
                lade_buf_appendc(&f, *p);
            }
            p++;
            if (*p != ',' && *p != '\0') {
                lade_buf_release(&f);
                strv_free(v);
                return lade_error_set(err, LADE_ERR_USAGE,
                                      "extraneous text after a quote in \"%s\"", text);
            }
        } else {
            size_t n = strcspn(p, ",");
            lade_buf_append(&f, p, n);
            p += n;
        }
        char *s = lade_buf_steal(&f);
        v = strv_push_take(v, s ? s : xstrdup(""));
        if (*p == '\0')
            break;
        p++; /* the comma */
    }
    *out = v;
    return 0;
}

int
secret_spec_parse(const char *text, struct secret_spec *out, struct lade_error *err)
{
    char **fields = NULL;
    struct secret_spec s = {0};
    bool type_env = false;
    int rc = -1;

    if (csv_fields(text, &fields, err) < 0)
        return lade_error_prefix(err, "--secret");
    for (size_t i = 0; fields[i]; i++) {
        char *f = fields[i], *eq = strchr(f, '=');
        if (eq == NULL) {
            lade_error_set(err, LADE_ERR_USAGE,
                           "--secret: invalid field '%s' must be a key=value pair", f);
            goto out;
        }
        *eq = '\0';
        const char *v = eq + 1;
        if (strcasecmp(f, "type") == 0) {
            if (strcmp(v, "file") != 0 && strcmp(v, "env") != 0) {
                lade_error_set(err, LADE_ERR_USAGE, "--secret: unsupported secret type \"%s\"", v);
                goto out;
            }
            type_env = strcmp(v, "env") == 0;
        } else if (strcasecmp(f, "id") == 0) {
            free(s.id);
            s.id = xstrdup(v);
        } else if (strcasecmp(f, "src") == 0 || strcasecmp(f, "source") == 0) {
            free(s.src);
            s.src = xstrdup(v);
        } else if (strcasecmp(f, "env") == 0) {
            free(s.env);
            s.env = xstrdup(v);
        } else {
            lade_error_set(err, LADE_ERR_USAGE, "--secret: unexpected key '%s' in '%s=%s'", f, f,
                           v);
            goto out;
        }
    }
    if (type_env && s.env == NULL) { /* buildx: type=env,src=VAR names a variable */
        s.env = s.src;
        s.src = NULL;
    }
    *out = s;
    memset(&s, 0, sizeof(s));
    rc = 0;
out:
    secret_spec_release(&s);
    strv_free(fields);
    return rc;
}

void
secret_spec_release(struct secret_spec *s)
{
    free(s->id);
    free(s->src);
    free(s->env);
    memset(s, 0, sizeof(*s));
}

int
ssh_spec_parse(const char *text, struct ssh_spec *out, struct lade_error *err)
{
    const char *eq = strchr(text, '=');
    struct ssh_spec s = {0};

    (void) err; /* buildx accepts every string; lade checks the paths when it resolves them */
    s.id = eq ? xstrndup(text, (size_t) (eq - text)) : xstrdup(text);
    if (eq != NULL) {
        const char *p = eq + 1;
        for (;;) {
            size_t n = strcspn(p, ",");
            s.paths = strv_push_take(s.paths, xstrndup(p, n));
            if (p[n] == '\0')
                break;
            p += n + 1;
        }
    }
    *out = s;
    return 0;
}

void
ssh_spec_release(struct ssh_spec *s)
{
    free(s->id);
    strv_free(s->paths);
    memset(s, 0, sizeof(*s));
}

struct build_secrets *
build_secrets_new(void)
{
    return xcalloc(1, sizeof(struct build_secrets));
}

static void
secret_wipe(struct secret *sec)
{
    if (sec->data != NULL)
        explicit_bzero(sec->data, sec->len);
    free(sec->data);
    sec->data = NULL;
    sec->len = 0;
}

void
build_secrets_free(struct build_secrets *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nsecrets; i++) {
        secret_wipe(&s->secrets[i]);
        free(s->secrets[i].id);
    }
    for (size_t i = 0; i < s->nssh; i++) {
        ssh_agent_stop(s->ssh[i].mine);
        free(s->ssh[i].id);
        free(s->ssh[i].socket);
    }
    free(s->secrets);
    free(s->ssh);
    free(s);
}

/* The bytes of a secret file, at most SECRET_MAX_SIZE (buildx refuses larger ones). */
static int
read_secret_file(const char *id, const char *path, char **data, size_t *len, struct lade_error *err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;

    if (fd < 0 || fstat(fd, &st) < 0)
        return lade_error_set(err, LADE_ERR_USAGE, "--secret id=%s: cannot read '%s': %s", id, path,
                              strerror(errno));
    if (st.st_size > (off_t) SECRET_MAX_SIZE)
        return lade_error_set(err, LADE_ERR_USAGE, "--secret id=%s: '%s' too big: max %u bytes", id,
                              path, SECRET_MAX_SIZE);
    if (read_fd_all(fd, path, SECRET_MAX_SIZE, data, len, err) < 0) {
        lade_error_prefix(err, "--secret id=%s", id);
        return lade_error_recode(err, LADE_ERR_USAGE);
    }
    return 0;
}

int
build_secrets_add(struct build_secrets *s, const char *text, struct lade_error *err)
{
    struct secret_spec spec;
    struct secret sec = {0};

    if (secret_spec_parse(text, &spec, err) < 0)
        return -1;
    if (spec.id == NULL || spec.id[0] == '\0') {
        secret_spec_release(&spec);
        return lade_error_set(err, LADE_ERR_USAGE, "--secret: secret missing ID: \"%s\"", text);
    }
    if (spec.src == NULL && spec.env == NULL) /* secretsprovider.NewStore */
        *(getenv(spec.id) != NULL ? &spec.env : &spec.src) = xstrdup(spec.id);
    if (spec.env != NULL) { /* env wins over src, as GetSecret reads it first */
        const char *v = getenv(spec.env);
        if (v == NULL) {
            lade_error_set(err, LADE_ERR_USAGE,
                           "--secret id=%s: environment variable %s is not set", spec.id, spec.env);
            secret_spec_release(&spec);
            return -1;
        }
        sec.len = strlen(v);
        sec.data = xstrdup(v);
    } else if (read_secret_file(spec.id, spec.src, &sec.data, &sec.len, err) < 0) {
        secret_spec_release(&spec);
        return -1;
    }
    sec.id = steal_ptr(&spec.id);
    secret_spec_release(&spec);
    for (size_t i = 0; i < s->nsecrets; i++) {
        if (strcmp(s->secrets[i].id, sec.id) == 0) { /* buildx: the last one wins */
            secret_wipe(&s->secrets[i]);
            free(sec.id);
            s->secrets[i].data = sec.data;
            s->secrets[i].len = sec.len;
            return 0;
        }
    }
    s->secrets = xrealloc(s->secrets, (s->nsecrets + 1) * sizeof(*s->secrets));
    s->secrets[s->nsecrets++] = sec;
    return 0;
}

/* sshprovider's toDialer: one socket, or key files (never both). */
static int
ssh_resolve(const char *id, char *const *paths, struct ssh_source *src, struct lade_error *err)
{
    char **keys = NULL;
    const char *sock = NULL;
    int rc = 0;

    for (size_t i = 0; paths[i]; i++) {
        struct stat st;
        if (stat(paths[i], &st) < 0) {
            rc = lade_error_set(err, LADE_ERR_USAGE, "--ssh %s: '%s': %s", id, paths[i],
                                strerror(errno));
            break;
        }
        if (sock != NULL || (S_ISSOCK(st.st_mode) && i > 0)) {
            rc = lade_error_set(err, LADE_ERR_USAGE,
                                "--ssh %s: one agent socket, or key files, not both", id);
            break;
        }
        if (S_ISSOCK(st.st_mode))
            sock = paths[i];
        else
            keys = strv_push(keys, paths[i]);
    }
    if (rc == 0 && sock != NULL)
        src->socket = xstrdup(sock);
    else if (rc == 0 && ssh_agent_start(keys, &src->mine, err) < 0)
        rc = lade_error_prefix(err, "--ssh %s", id);
    else if (rc == 0)
        src->socket = xstrdup(ssh_agent_socket(src->mine));
    strv_free(keys);
    return rc;
}

int
build_secrets_add_ssh(struct build_secrets *s, const char *text, struct lade_error *err)
{
    struct ssh_spec spec;
    struct ssh_source src = {0};

    if (ssh_spec_parse(text, &spec, err) < 0)
        return -1;
    if (spec.id[0] == '\0') {
        free(spec.id);
        spec.id = xstrdup("default");
    }
    for (size_t i = 0; i < s->nssh; i++) {
        if (strcmp(s->ssh[i].id, spec.id) == 0) {
            lade_error_set(err, LADE_ERR_USAGE, "--ssh: duplicate agent ID \"%s\"", spec.id);
            ssh_spec_release(&spec);
            return -1;
        }
    }
    if (spec.paths == NULL || (spec.paths[1] == NULL && spec.paths[0][0] == '\0')) {
        const char *env = getenv("SSH_AUTH_SOCK");
        if (env == NULL || *env == '\0') {
            lade_error_set(err, LADE_ERR_USAGE,
                           "--ssh %s: SSH_AUTH_SOCK is not set: give a socket or key file "
                           "(--ssh %s=PATH)",
                           spec.id, spec.id);
            ssh_spec_release(&spec);
            return -1;
        }
        strv_free(spec.paths);
        spec.paths = strv_push(NULL, env);
    }
    if (ssh_resolve(spec.id, spec.paths, &src, err) < 0) {
        ssh_spec_release(&spec);
        return -1;
    }
    src.id = steal_ptr(&spec.id);
    ssh_spec_release(&spec);
    s->ssh = xrealloc(s->ssh, (s->nssh + 1) * sizeof(*s->ssh));
    s->ssh[s->nssh++] = src;
    return 0;
}

bool
build_secrets_get(const struct build_secrets *s, const char *id, const char **data, size_t *len)
{
    for (size_t i = 0; s != NULL && i < s->nsecrets; i++) {
        if (strcmp(s->secrets[i].id, id) == 0) {
            *data = s->secrets[i].data;
            *len = s->secrets[i].len;
            return true;
        }
    }
    return false;
}

const char *
build_secrets_ssh_socket(const struct build_secrets *s, const char *id)
{
    if (id == NULL || *id == '\0')
        id = "default";
    for (size_t i = 0; s != NULL && i < s->nssh; i++)
        if (strcmp(s->ssh[i].id, id) == 0)
            return s->ssh[i].socket;
    return NULL;
}
