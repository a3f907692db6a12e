/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The RUN sandbox (DESIGN.md "The sandbox for RUN"). The caller runs as root. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../common/error.h"

enum sandbox_net {
    SANDBOX_NET_HOST = 0, /* share the host's network namespace (lade's "default") */
    SANDBOX_NET_NONE,     /* a new, empty network namespace (loopback only) */
};

struct sandbox_spec {
    /* The rootfs: overlay of lowerdirs (index 0 is the top-most layer, as in overlay's
     * lowerdir= order) with upperdir/workdir receiving the changes. nlower may be 0 (scratch):
     * then an empty lower dir is used. upperdir and workdir must be on one filesystem. */
    char *const *lowerdirs;
    size_t nlower;
    const char *upperdir;
    const char *workdir;

    char *const *argv; /* argv[0] is looked up in the image's PATH from envp when it has no '/' */
    char *const *envp; /* the complete environment of the process */
    const char *cwd;   /* absolute path in the rootfs, created (0755) when missing; NULL: "/" */
    const char *user;  /* "", "name", "uid", "name:group", "uid:gid": looked up in the rootfs'
                          /etc/passwd and /etc/group; a missing name is an error */
    const char *hostname; /* NULL: "lade" */
    enum sandbox_net net;

    /* Where the process's stdout and stderr go (stdin is /dev/null). */
    int stdout_fd;
    int stderr_fd;
};

/* Runs argv in the sandbox and waits for it. Returns 0 with *status the exit status (128+N for
 * a signal, as a shell reports it), or -1 when the sandbox could not be set up; errors from the
 * child before exec come back over a pipe ("exec: ...: no such file or directory").
 * SIGINT/SIGTERM received meanwhile are forwarded to the child. Leaves no mount behind. */
int sandbox_run(const struct sandbox_spec *spec, int *status, struct lade_error *err);

/* Whether this process can create the sandbox (root, overlayfs, namespaces); for tests. */
bool sandbox_available(void);
