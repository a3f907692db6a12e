/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* SSH agents for RUN --mount=type=ssh: an ssh-agent holding key files given to --ssh, and the
 * socket a RUN sees, which forwards to an agent. */

#include <sys/types.h>

#include "common/error.h"

/* An ssh-agent (OpenSSH's, found on PATH) started by lade on a socket in a fresh private
 * directory under $TMPDIR (else /tmp), with keys added by ssh-add. It gets SIGTERM when lade
 * dies, whatever the cause (PR_SET_PDEATHSIG). */
struct ssh_agent;
/* Errors (LADE_ERR_USAGE): ssh-agent or ssh-add missing, the agent not answering, a key
 * ssh-add refuses (its message is kept; a key with a passphrase is refused, never prompted). */
int ssh_agent_start(char *const *keyfiles, struct ssh_agent **out, struct lade_error *err);
/* The agent's socket path; lives as long as the agent. */
const char *ssh_agent_socket(const struct ssh_agent *a);
/* Kills the agent, waits for it and removes its directory; NULL is fine. */
void ssh_agent_stop(struct ssh_agent *a);

/* A unix socket at path (mode, uid, gid set on it, as BuildKit's sshforward.MountSSHSocket
 * does) served by a thread: each connection gets its own connection to the agent at
 * agent_path, and only the requests of a read-only agent pass (list keys, sign), as BuildKit's
 * readOnlyAgent allows; adding, removing or locking keys gets SSH_AGENT_FAILURE. The thread
 * blocks every signal. */
struct ssh_forward;
int ssh_forward_start(const char *agent_path, const char *path, unsigned mode, uid_t uid, gid_t gid,
                      struct ssh_forward **out, struct lade_error *err);
/* Stops the thread, closes every connection and removes the socket; NULL is fine. */
void ssh_forward_stop(struct ssh_forward *f);
