/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* RUN --mount=type=secret|ssh (step_run_secret.c), for step_run. */

#include "stage.h"
#include "sandbox/sandbox.h"

struct ssh_forward;

/* The secret and ssh mounts of one RUN, ready for sandbox_spec. */
struct run_secret_mounts {
    char *dir; /* the tmpfs holding the secret files and agent sockets, or NULL */
    struct sandbox_mount *mounts; /* owned (source and target too) */
    size_t nmounts;
    struct ssh_forward **fwds;
    size_t nfwds;
};

/* BuildKit sets SSH_AUTH_SOCK to the first ssh mount's target (default
 * /run/buildkit/ssh_agent.0) unless the environment has it. Part of the RUN's environment
 * before its cache key is taken, as in BuildKit's exec meta. */
char **run_ssh_env(const struct run_cmd *r, char **envp);

/* After a cache miss: finds each secret and ssh mount's id in b->opts->secrets and makes its
 * file or socket (owner and mode as the mount asks; defaults 0:0 and 0400 for a secret, 0600
 * for a socket) on a tmpfs mounted on STEP/secrets, and adds env= variables to *envp (after
 * the cache key: the bytes never reach it). A missing id is skipped unless required=true.
 * Errors: a required secret or ssh id not given (LADE_ERR_USAGE), the tmpfs or a file.
 * Call run_secrets_release after the run, before the step directory is removed. */
int run_secrets_prepare(const struct build *b, const struct run_cmd *r, const char *step_dir,
                        char ***envp, struct run_secret_mounts *out, struct lade_error *err);
/* Stops the agent forwarders and unmounts the tmpfs; a zeroed struct is fine. */
void run_secrets_release(struct run_secret_mounts *rm);
/* a's and b's mounts in one new array (free it only), ordered by target so that a mount on
 * /run comes before one on /run/secrets/ID whatever list each is in (stable otherwise). */
struct sandbox_mount *run_mounts_join(const struct sandbox_mount *a, size_t na,
                                      const struct sandbox_mount *b, size_t nb, size_t *n);
/* Zeroes every entry of an environment that held secret values, before it is freed. */
void run_secrets_wipe_env(char **envp);
