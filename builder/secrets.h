/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The build's secrets and SSH agents, given on the command line in buildx's forms:
 *   --secret id=ID[,src=PATH|,env=VAR][,type=file|env]
 *   --ssh default|ID[=SOCKET|KEYFILE[,KEYFILE...]]
 * A secret's bytes are read once, when its option is parsed, held in memory only and zeroed
 * when freed. No message ever carries them: errors name the id and the source, never the
 * value. RUN --mount=type=secret|ssh finds them here by id (step_run_secret.c). */

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/* buildx's secret limit (secretsprovider.MaxSecretSize) */
#define SECRET_MAX_SIZE (500u * 1024)

/* One --secret value as written, parsed (buildflags.Secret): src and env may both be NULL
 * ("id=ID" alone); type=env moves src to env when env is not given. */
struct secret_spec {
    char *id, *src, *env;
};
/* Errors (LADE_ERR_USAGE): a field without '=', an unknown key, a type other than file or
 * env, an unterminated quote. Fields are CSV: "src=a,b" must be quoted as "\"src=a,b\"". */
int secret_spec_parse(const char *text, struct secret_spec *out, struct lade_error *err);
void secret_spec_release(struct secret_spec *s);

/* One --ssh value (buildflags.SSH): "ID" or "ID=PATH[,PATH...]"; paths NULL for none. */
struct ssh_spec {
    char *id;
    char **paths;
};
int ssh_spec_parse(const char *text, struct ssh_spec *out, struct lade_error *err);
void ssh_spec_release(struct ssh_spec *s);

struct build_secrets;
struct build_secrets *build_secrets_new(void);
/* Zeroes every secret's bytes, stops the agents lade started and removes their directories. */
void build_secrets_free(struct build_secrets *s);

/* Parses a --secret value and reads its bytes now (secretsprovider.NewStore): with neither src
 * nor env, env=ID when the environment has ID, else src=ID. A later --secret of the same id
 * replaces an earlier one (buildx). Errors (LADE_ERR_USAGE): no id, a source that cannot be
 * read, a file over SECRET_MAX_SIZE, an env variable that is not set. */
int build_secrets_add(struct build_secrets *s, const char *text, struct lade_error *err);
/* Parses an --ssh value and resolves it (sshprovider): no path, or an empty one, is
 * $SSH_AUTH_SOCK; one path that is a socket is an agent; paths that are private key files go
 * into an ssh-agent that lade starts now (killed by build_secrets_free, or when lade dies).
 * Errors (LADE_ERR_USAGE): a duplicate id, no $SSH_AUTH_SOCK, a missing path, sockets mixed
 * with keys or several sockets, a key ssh-add refuses (a passphrase is never asked for). */
int build_secrets_add_ssh(struct build_secrets *s, const char *text, struct lade_error *err);

/* The bytes of secret id, borrowed until build_secrets_free; false when there is none. */
bool build_secrets_get(const struct build_secrets *s, const char *id, const char **data,
                       size_t *len);
/* The agent socket of ssh id ("" is "default"), or NULL. */
const char *build_secrets_ssh_socket(const struct build_secrets *s, const char *id);
