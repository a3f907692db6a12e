/* SPDX-License-Identifier: Apache-2.0 */
/* docker's credentials (credentials level: no network): $DOCKER_CONFIG/config.json (default
 * ~/.docker/config.json) with "auths" {server: {"auth": base64(user:password), "identitytoken"}},
 * or a credential helper named by "credHelpers" {server: NAME} or "credsStore" (credhelper.c runs
 * it). Docker Hub's key is "https://index.docker.io/v1/"; other keys match by host, with or without
 * a scheme. The file is rewritten whole, atomically, mode 0600, every field we do not know kept.
 * login.c checks credentials against the registry before it stores them here. */
#include "creds.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../builder/common/cleanup.h"
#include "../../builder/common/fsutil.h"
#include "../../builder/common/xalloc.h"

#define CONFIG_MAX (4u << 20)
#define HUB_KEY "https://index.docker.io/v1/"

void
reg_wipe_free(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void
reg_creds_release(struct reg_creds *cr)
{
    free(cr->user);
    reg_wipe_free(cr->secret);
    reg_wipe_free(cr->identity_token);
    memset(cr, 0, sizeof(*cr));
}

char *
reg_basic_credentials(const char *user, const char *secret)
{
    cleanup_free char *plain = xasprintf("%s:%s", user ? user : "", secret ? secret : "");
    size_t n = strlen(plain);
    char *out = xmalloc(4 * ((n + 2) / 3) + 1);

    EVP_EncodeBlock((unsigned char *) out, (const unsigned char *) plain, (int) n);
    explicit_bzero(plain, n);
    return out;
}

/* "auth" back into user and password; -1 when it is not base64 of "user:password". */
static int
decode_auth(const char *b64, struct reg_creds *out)
{
    size_t n = strlen(b64);

    if (n == 0 || n % 4 != 0)
        return -1;
    cleanup_free char *plain = xmalloc(n / 4 * 3 + 1);
    int len = EVP_DecodeBlock((unsigned char *) plain, (const unsigned char *) b64, (int) n);
    if (len < 0)
        return -1;
    len -= (b64[n - 1] == '=') + (n > 1 && b64[n - 2] == '=');
    plain[len] = '\0';
    char *colon = memchr(plain, ':', (size_t) len);
    if (colon == NULL || strlen(plain) != (size_t) len) {
        explicit_bzero(plain, n / 4 * 3);
        return -1;
    }
    out->user = xstrndup(plain, (size_t) (colon - plain));
    out->secret = xstrdup(colon + 1);
    explicit_bzero(plain, (size_t) len);
    return 0;
}

char *
reg_config_path(const struct registry_opts *opts)
{
    const char *dir = opts ? opts->docker_config : NULL;
    const char *home;

    if (dir == NULL || *dir == '\0')
        dir = getenv("DOCKER_CONFIG");
    if (dir != NULL && *dir != '\0')
        return xasprintf("%s/config.json", dir);
    home = getenv("HOME");
    if (home == NULL || *home == '\0') {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : "/";
    }
    return xasprintf("%s/.docker/config.json", home);
}

bool
reg_is_hub(const char *server)
{
    return strcmp(server, "docker.io") == 0 || strcmp(server, "index.docker.io") == 0 ||
           strcmp(server, "registry-1.docker.io") == 0 || strcmp(server, HUB_KEY) == 0;
}

const char *
reg_creds_server_url(const char *server)
{
    return reg_is_hub(server) ? HUB_KEY : server;
}

/* The host[:port] of a config key: "https://host:5000/v1/" -> "host:5000". */
static char *
key_host(const char *key)
{
    const char *p = strstr(key, "://");
    p = p ? p + 3 : key;
    return xstrndup(p, strcspn(p, "/"));
}

/* The key of obj that names server: the exact key, else one with the same host. */
static const char *
find_key(json_t *obj, const char *server)
{
    const char *key, *exact = reg_creds_server_url(server);
    json_t *v;

    if (json_object_get(obj, exact) != NULL)
        return json_object_iter_key(json_object_iter_at(obj, exact));
    json_object_foreach(obj, key, v)
    {
        cleanup_free char *host = key_host(key);
        if (strcmp(host, server) == 0 || (reg_is_hub(server) && reg_is_hub(host)))
            return key;
    }
    return NULL;
}

int
reg_config_load(const char *path, json_t **out, struct lade_error *err)
{
    cleanup_free char *data = NULL;
    size_t len;
    json_error_t jerr;
    json_t *root;

    if (read_file_at(AT_FDCWD, path, CONFIG_MAX, &data, &len, err) < 0) {
        if (err->sys_errno != ENOENT)
            return -1;
        lade_error_clear(err);
        *out = json_object();
        return 0;
    }
    root = json_loadb(data, len, 0, &jerr);
    if (root == NULL)
        return lade_error_set(err, LADE_ERR_IO, "%s:%d: invalid JSON: %s", path, jerr.line,
                              jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return lade_error_set(err, LADE_ERR_IO, "%s: not a JSON object", path);
    }
    *out = root;
    return 0;
}

/* Writes root to path: the directory made 0700 if missing, the file replaced atomically with
 * mode 0600; a config.json that is a symlink has its target replaced, as docker does. */
int
reg_config_save(const char *path, json_t *root, struct lade_error *err)
{
    char real[PATH_MAX];
    cleanup_free char *target = xstrdup(realpath(path, real) ? real : path);
    char *slash = strrchr(target, '/');
    cleanup_free char *dir = slash ? xstrndup(target, (size_t) (slash - target)) : xstrdup(".");
    const char *name = slash ? slash + 1 : target;
    cleanup_close int dirfd = -1;
    cleanup_free char *text = json_dumps(root, JSON_INDENT(2));

    if (*dir != '\0' && mkdir_p_at(AT_FDCWD, dir, 0700, err) < 0)
        return lade_error_prefix(err, "docker config directory");
    dirfd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return lade_error_sys(err, "cannot open '%s'", dir);
    if (text == NULL)
        return lade_error_set(err, LADE_ERR_OTHER, "cannot encode %s", path);
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps' NUL becomes the final newline */
    int rc = write_file_atomic_at(dirfd, name, text, len + 1, 0600, err);
    explicit_bzero(text, len);
    return rc;
}

/* The helper for server: credHelpers[server], else credsStore, else NULL. */
const char *
reg_config_helper(json_t *root, const char *server)
{
    json_t *helpers = json_object_get(root, "credHelpers");
    const char *key = json_is_object(helpers) ? find_key(helpers, server) : NULL;
    const char *name = key ? json_string_value(json_object_get(helpers, key)) : NULL;

    if (name == NULL || *name == '\0')
        name = json_string_value(json_object_get(root, "credsStore"));
    return name != NULL && *name != '\0' ? name : NULL;
}

static int
from_auths(json_t *root, const char *server, struct reg_creds *out)
{
    json_t *auths = json_object_get(root, "auths");
    const char *key = json_is_object(auths) ? find_key(auths, server) : NULL;
    json_t *e = key ? json_object_get(auths, key) : NULL;
    const char *auth = json_string_value(json_object_get(e, "auth"));
    const char *user = json_string_value(json_object_get(e, "username"));
    const char *pass = json_string_value(json_object_get(e, "password"));
    const char *idt = json_string_value(json_object_get(e, "identitytoken"));

    memset(out, 0, sizeof(*out));
    if (auth != NULL && *auth != '\0' && decode_auth(auth, out) < 0)
        return 1;
    if (out->user == NULL && user != NULL && pass != NULL && *user != '\0') {
        out->user = xstrdup(user);
        out->secret = xstrdup(pass);
    }
    if (idt != NULL && *idt != '\0')
        out->identity_token = xstrdup(idt);
    if (out->user == NULL && out->identity_token == NULL)
        return 1;
    return 0;
}

int
reg_creds_get(const struct registry_opts *opts, const char *server, struct reg_creds *out,
              struct lade_error *err)
{
    cleanup_free char *path = reg_config_path(opts);
    json_auto_t *root = NULL;
    const char *helper;

    if (reg_config_load(path, &root, err) < 0)
        return -1;
    helper = reg_config_helper(root, server);
    if (helper != NULL) {
        int rc = reg_helper_get(helper, reg_creds_server_url(server), out, err);
        if (rc <= 0)
            return rc;
    }
    return from_auths(root, server, out);
}

int
reg_creds_store(const struct registry_opts *opts, const char *server, const char *user,
                const char *secret, struct lade_error *err)
{
    cleanup_free char *path = reg_config_path(opts);
    json_auto_t *root = NULL;
    json_t *auths;

    if (reg_config_load(path, &root, err) < 0)
        return -1;
    const char *helper = reg_config_helper(root, server);
    if (helper != NULL &&
        reg_helper_store(helper, reg_creds_server_url(server), user, secret, err) < 0)
        return -1;
    auths = json_object_get(root, "auths");
    if (!json_is_object(auths)) {
        auths = json_object();
        json_object_set_new(root, "auths", auths);
    }
    const char *key = find_key(auths, server);
    cleanup_free char *k = xstrdup(key ? key : reg_creds_server_url(server));
    json_t *entry = json_object(); /* a helper keeps the secret; the entry only names it */
    if (helper == NULL) {
        cleanup_free char *b64 = reg_basic_credentials(user, secret);
        json_object_set_new(entry, "auth", json_string(b64));
        explicit_bzero(b64, strlen(b64));
    }
    json_object_set_new(auths, k, entry);
    return reg_config_save(path, root, err);
}

int
reg_creds_erase(const struct registry_opts *opts, const char *server, struct lade_error *err)
{
    cleanup_free char *path = reg_config_path(opts);
    json_auto_t *root = NULL;
    const char *key;
    int rc = 1;

    if (reg_config_load(path, &root, err) < 0)
        return -1;
    const char *helper = reg_config_helper(root, server);
    if (helper != NULL) {
        rc = reg_helper_erase(helper, reg_creds_server_url(server), err);
        if (rc < 0)
            return -1;
    }
    json_t *auths = json_object_get(root, "auths");
    bool changed = false;
    while (json_is_object(auths) && (key = find_key(auths, server)) != NULL) {
        json_object_del(auths, key);
        changed = true;
    }
    if (!changed)
        return rc;
    return reg_config_save(path, root, err) < 0 ? -1 : 0;
}
