/* SPDX-License-Identifier: Apache-2.0 */
/* The options of `docker build` and `docker buildx build` (Docker 28) that lade does not
 * implement, each with its reason: a docker user gets a clear answer, never "unknown option".
 * The options docker itself ignores under BuildKit (buildx's hidden compatibility flags:
 * --rm, --force-rm, --compress, --squash, --security-opt, the cgroup limits) are
 * accepted and ignored here too, with docker's warning where docker warns. The README's table
 * lists the same. docker's --isolation (Windows only) is lade's own option (cmd_build.c),
 * where docker's value "default" means auto. An option lade implements is in build_opts, which
 * cli_next reads first. */
#include "cmd.h"

#define NOT_YET "not implemented yet"
#define IGNORED "ignored, as docker BuildKit ignores it"

const struct cli_foreign build_docker_flags[] = {
    /* accepted and ignored, as docker does */
    {"rm", 0, false, true, NULL, NULL},
    {"force-rm", 0, false, true, NULL, NULL},
    {"compress", 0, false, true, NULL, NULL},
    {"disable-content-trust", 0, false, true, NULL, NULL},
    {"load", 0, false, true, NULL, NULL}, /* the image is always in lade's store */
    {"squash", 0, false, true,
     "experimental flag squash is removed with BuildKit: squash inside the build with a "
     "multi-stage Dockerfile",
     NULL},
    {"security-opt", 0, true, true,
     "security-opt flag is deprecated: use RUN --security=insecure with --allow "
     "security.insecure",
     NULL},
    {"memory-swap", 0, true, true, IGNORED, NULL}, /* --memory, --cpu-quota: build_opts */
    {"cpu-shares", 'c', true, true, IGNORED, NULL},
    {"cpu-period", 0, true, true, IGNORED, NULL},
    {"cpuset-cpus", 0, true, true, IGNORED, NULL},
    {"cpuset-mems", 0, true, true, IGNORED, NULL},
    /* refused */
    {"add-host", 0, true, false, NOT_YET "; RUN steps see lade's own /etc/hosts", NULL},
    {"annotation", 0, true, false, NOT_YET, NULL},
    {"builder", 0, true, false, "lade has no builder instances: the build runs in lade itself",
     NULL},
    {"call", 0, true, false, NOT_YET "; `lade plan` prints the stages a build runs", NULL},
    {"check", 0, false, false, NOT_YET, NULL},
    {"cgroup-parent", 0, true, false, NOT_YET, NULL},
    {"debug", 'D', false, false, "the buildx debugger is " NOT_YET, NULL},
    {"detach", 0, false, false, "lade has no buildx server", NULL},
    {"server-config", 0, true, false, "lade has no buildx server", NULL},
    {"no-cache-filter", 0, true, false, NOT_YET "; --no-cache rebuilds every stage", NULL},
    {"shm-size", 0, true, false, NOT_YET, NULL},
    {"ulimit", 0, true, false, NOT_YET, NULL},
    {"root", 0, true, false,
     "buildx's server root; lade's store is a global option: lade --root DIR build ...", NULL},
    {"stream", 0, false, false,
     "an experimental docker API that lade, without a daemon, has no use for", NULL},
    {0},
};
