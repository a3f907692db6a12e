/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Level 1 of the registry client, credentials: creds.c (config.json, "auths", which helper) and
 * credhelper.c (docker-credential-NAME). No network; calls only libc, jansson, openssl and
 * builder/common, nothing else of layers/registry. Used from above by client.c, auth.c and
 * login.c (the levels: registry-internal.h). */

#include <jansson.h>
#include <stdbool.h>

#include "registry.h"

struct reg_creds {
    char *user;
    char *secret;         /* password, or an identity token when user is "<token>" */
    char *identity_token; /* from config.json "identitytoken", used as a refresh token */
};
void reg_creds_release(struct reg_creds *cr);
/* The config.json path for opts (caller frees). */
char *reg_config_path(const struct registry_opts *opts);
/* Credentials for server from credHelpers[server], credsStore, or auths[server] (also matched
 * as "https://server", "http://server" and, for docker.io, "https://index.docker.io/v1/").
 * 0 and *out filled; 1 when there are none; -1 on error (an unreadable config, a failing
 * helper). */
int reg_creds_get(const struct registry_opts *opts, const char *server, struct reg_creds *out,
                  struct lade_error *err);
int reg_creds_store(const struct registry_opts *opts, const char *server, const char *user,
                    const char *secret, struct lade_error *err);
/* 0, 1 when there was nothing to erase, -1 on error. */
int reg_creds_erase(const struct registry_opts *opts, const char *server, struct lade_error *err);

/* Zeroes a secret string, then frees it (NULL is fine). */
void reg_wipe_free(char *s);
/* base64("user:secret"): config.json's "auth" and the Basic header; caller wipes and frees. */
char *reg_basic_credentials(const char *user, const char *secret);
/* Docker Hub under any of its names ("docker.io", "index.docker.io", its v1 URL). */
bool reg_is_hub(const char *server);
/* The server as docker names it to helpers and in "auths": Hub's v1 URL, else server. */
const char *reg_creds_server_url(const char *server);

/* config.json: a missing file is an empty object; saving makes the directory 0700 and replaces
 * the file atomically with mode 0600. */
int reg_config_load(const char *path, json_t **out, struct lade_error *err);
int reg_config_save(const char *path, json_t *root, struct lade_error *err);
/* The helper NAME for server (credHelpers, else credsStore), or NULL; borrowed from root. */
const char *reg_config_helper(json_t *root, const char *server);

/* docker-credential-NAME get/store/erase. get and erase: 0, 1 when the helper has nothing for
 * server_url, -1 on error. A "<token>" user means secret is an identity token. */
int reg_helper_get(const char *name, const char *server_url, struct reg_creds *out,
                   struct lade_error *err);
int reg_helper_store(const char *name, const char *server_url, const char *user, const char *secret,
                     struct lade_error *err);
int reg_helper_erase(const char *name, const char *server_url, struct lade_error *err);
