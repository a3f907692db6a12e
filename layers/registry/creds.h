/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Between creds.c (config.json), credhelper.c (docker-credential-NAME), auth.c and login.c. */

#include <jansson.h>
#include <stdbool.h>

#include "registry-internal.h"

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
