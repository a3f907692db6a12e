/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* How RUN steps are isolated (issue 9, "Isolation tiers"): which tiers this host and user
 * allow, and the one a build takes. One probe function per tier; `lade info` prints them all,
 * `lade build --isolation` picks one. */

#include <stdbool.h>
#include <stddef.h>

#include "../common/error.h"

enum isolation {
    ISOLATION_AUTO = 0,   /* the best tier that works here */
    ISOLATION_NAMESPACES, /* tier 1: root, namespaces, kernel overlayfs, pivot_root */
    ISOLATION_ROOTLESS,   /* tier 2: a user namespace through newuidmap (rootless.h) */
    ISOLATION_CHROOT,     /* tier 3: a chroot of an extracted tree, the layer by comparison */
};

/* What one probe found: ok, or why the tier cannot be used here; note says what works only
 * in part (a chroot without CAP_MKNOD has no device nodes in /dev). */
struct isolation_probe {
    bool ok;
    char why[768];
    char note[256];
};

int isolation_probe_namespaces(struct isolation_probe *p);
/* Tier 2: for a non-root caller, whether its subordinate ids and newuidmap allow it; inside
 * lade's user namespace (uid 0 there), whether namespaces and overlay can be made. */
int isolation_probe_rootless(struct isolation_probe *p);
int isolation_probe_chroot(struct isolation_probe *p);
/* The probe of one tier (not AUTO). */
int isolation_probe(enum isolation tier, struct isolation_probe *p);

/* "auto", "namespaces", "rootless", "chroot"; docker's "default" (its Windows-only flag's
 * value) is taken as auto. A usage error otherwise. */
int isolation_parse(const char *s, enum isolation *out, struct lade_error *err);
const char *isolation_name(enum isolation tier);
/* The tier a build with --isolation asked takes: asked itself when its probe passes (else a
 * usage error saying why), or for AUTO the first of namespaces, rootless, chroot that does. */
int isolation_choose(enum isolation asked, enum isolation *out, struct lade_error *err);
