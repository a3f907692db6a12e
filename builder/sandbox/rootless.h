/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The rootless tier (issue 9, "Isolation tiers" 2): a non-root lade moves itself into a user
 * namespace whose uid/gid 0 is the caller and whose 1..65536 are the caller's subordinate ids
 * (/etc/subuid, /etc/subgid, mapped by shadow's setuid newuidmap/newgidmap), plus a mount
 * namespace, and runs the command there as "root", as buildah's `unshare` does. The build code
 * is the same as root's: an image gets the same digest. Overlay is mounted with userxattr
 * there (Linux 5.11+); cgroup limits need a delegated cgroup (sandbox_limits_check says so). */

#include <stdbool.h>
#include <stddef.h>

#include "../common/error.h"

/* The size a range must have: image ids go up to 65534 (nobody), as podman asks too. */
#define ROOTLESS_MIN_IDS 65536UL

struct subid_range {
    unsigned long start;
    unsigned long count;
};

/* The first range of a user in text of /etc/subuid's format, "NAME:START:COUNT" per line,
 * matched by name or by the decimal id (shadow's subid files allow both). Comments ('#'),
 * blank and malformed lines are skipped. 1 when found, else 0. */
int subid_find(const char *text, const char *name, unsigned long id, struct subid_range *out);
/* The first start >= 100000 after every range in text: a free range to suggest. */
unsigned long subid_free_start(const char *text);

/* Whether this user can use the rootless tier here: a subuid and a subgid range of at least
 * ROOTLESS_MIN_IDS ids, newuidmap and newgidmap, user namespaces, and kernel overlay inside one.
 * When not, why says what is missing and how to fix it. For `lade info` and --isolation. */
bool isolation_rootless_available(char *why, size_t n);

/* Whether command (its name: "build", "run", ...) writes layer trees or runs RUN steps, so a
 * non-root lade runs it in the user namespace. Commands that only read the store's index and
 * blobs (images, inspect, tag...) run as the caller and need no subuid range. */
bool rootless_command_needs_userns(const char *command);

/* Moves a non-root lade into its user namespace: forks; the child enters the namespaces, waits
 * until the parent mapped its ids, becomes uid/gid 0 there and returns 0 (run the command).
 * The parent forwards SIGINT/SIGTERM/SIGHUP sent to it, waits and returns 1 with *status the
 * child's exit status (128+N for a signal). -1 with err when the namespace cannot be set up:
 * no subuid range (the message says what to add to /etc/subuid), no newuidmap, ... */
int rootless_enter(int *status, struct lade_error *err);

/* What rootless_enter maps; rootless_ids_load fills it or explains what is missing. */
struct rootless_ids {
    char name[64]; /* the caller's user name, or its uid when it has none */
    unsigned long uid, gid;
    struct subid_range uids, gids;
    char newuidmap[256], newgidmap[256];
};
int rootless_ids_load(struct rootless_ids *ids, struct lade_error *err);
