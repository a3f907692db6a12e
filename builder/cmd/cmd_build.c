/* SPDX-License-Identifier: Apache-2.0 */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../attest.h"
#include "../build.h"
#include "../output.h"
#include "../secrets.h"
#include "../context.h"
#include "../progress.h"
#include "../../parser/parser.h"
#include "../common/strv.h"
#include "../common/xalloc.h"
#include "../../layers/registry/sign.h"

enum {
    OPT_BUILD_ARG = 256,
    OPT_TARGET,
    OPT_NO_CACHE,
    OPT_IIDFILE,
    OPT_PROGRESS,
    OPT_LABEL,
    OPT_NETWORK,
    OPT_EPOCH,
    OPT_COMPRESSION,
    OPT_PULL,
    OPT_PUSH,
    OPT_PLATFORM,
    OPT_JOBS,
    OPT_ALLOW,
    OPT_SECRET,
    OPT_SSH,
    OPT_BUILD_CONTEXT,
    OPT_VERIFY,
    OPT_COMPRESSION_LEVEL,
    OPT_SIGN,
    OPT_MEMORY, /* the four resource limits, in limit_flags' order */
    OPT_CPUS,
    OPT_CPU_QUOTA,
    OPT_PIDS_LIMIT,
    OPT_CACHE_FROM,
    OPT_CACHE_TO,
    OPT_METADATA_FILE,
    OPT_SBOM,
    OPT_PROVENANCE,
    OPT_ATTEST,
    OPT_ISOLATION,
};
static const char *const limit_flags[] = {"memory", "cpus", "cpu-quota", "pids-limit"};

static const struct cli_opt build_opts[] = {
    {'f', "file", 'f', "FILE", "Name of the Dockerfile (default: CONTEXT/Dockerfile)"},
    {'t', "tag", 't', "NAME[:TAG]", "Name the image (repeatable)"},
    {'o', "output", 'o', "SPEC",
     "Also write: type=oci|docker|tar,dest=FILE|-, type=local,dest=DIR, type=registry, "
     "DIR or -"},
    {OPT_METADATA_FILE, "metadata-file", 0, "FILE",
     "Write the build's result (digests, names, steps) as JSON to FILE"},
    {'q', "quiet", 'q', NULL, "Print only the image ID on stdout, no progress"},
    {OPT_BUILD_ARG, "build-arg", 0, "K[=V]",
     "Set a build-time variable (K alone: from the environment)"},
    {OPT_BUILD_CONTEXT, "build-context", 0, "NAME=VALUE",
     "Another named context: a directory, docker-image://REF or oci-layout://DIR"},
    {OPT_TARGET, "target", 0, "STAGE", "Build this stage (default: the last one)"},
    {OPT_NO_CACHE, "no-cache", 0, NULL, "Do not use the cache"},
    {OPT_PULL, "pull", 0, NULL, "Pull every base image again"},
    {OPT_PUSH, "push", 0, NULL, "Push every -t name after the build"},
    {OPT_IIDFILE, "iidfile", 0, "FILE", "Write the image ID to FILE"},
    {OPT_PROGRESS, "progress", 0, "MODE",
     "Progress output: auto, plain, tty, json, rawjson or quiet"},
    {OPT_LABEL, "label", 0, "K=V", "Set an image label (repeatable)"},
    {OPT_NETWORK, "network", 0, "MODE",
     "Network of RUN steps: default (private, through slirp4netns), host or none"},
    {OPT_ISOLATION, "isolation", 0, "TIER",
     "How RUN is isolated: auto (default), namespaces, rootless or chroot (see lade info)"},
    {OPT_PLATFORM, "platform", 0, "OS/ARCH[/VARIANT]",
     "Target platform (base images, TARGET* args)"},
    {OPT_SECRET, "secret", 0, "id=ID[,src=PATH|,env=VAR]", "A secret for RUN --mount=type=secret"},
    {OPT_SSH, "ssh", 0, "default|ID[=SOCKET|KEY]", "An SSH agent for RUN --mount=type=ssh"},
    {OPT_ALLOW, "allow", 0, "ENTITLEMENT",
     "security.insecure (RUN --security=insecure) or network.host"},
    {OPT_EPOCH, "source-date-epoch", 0, "SECONDS|now",
     "Timestamps for a reproducible image (default: env SOURCE_DATE_EPOCH, else 0)"},
    {OPT_COMPRESSION, "compression", 0, "ALGO", "Layer compression: gzip (default), zstd or none"},
    {OPT_COMPRESSION_LEVEL, "compression-level", 0, "N",
     "Compressor level: gzip 1-9 (default 1), zstd 1-19 (default 3)"},
    {OPT_JOBS, "jobs", 0, "N", "Stages built at once (default: one per CPU)"},
    {OPT_VERIFY, "verify", 0, NULL,
     "Build again without the cache and check the image is the same"},
    {OPT_SIGN, "sign", 0, "KEY",
     "Sign every pushed name with this private key (lade sign --generate-key); needs --push"},
    {OPT_MEMORY, "memory", 'm', "BYTES[k|m|g]", "Memory limit of each RUN step (no swap on top)"},
    {OPT_CPUS, "cpus", 0, "N", "CPU limit of each RUN step, in CPUs (1.5)"},
    {OPT_CPU_QUOTA, "cpu-quota", 0, "US", "CPU limit of each RUN step, microseconds per 100 ms"},
    {OPT_PIDS_LIMIT, "pids-limit", 0, "N",
     "Processes and threads per RUN step (default 4096; -1: none)"},
    {OPT_CACHE_FROM, "cache-from", 0, "SPEC",
     "Use a build cache: type=registry,ref=NAME or type=local,src=DIR (repeatable)"},
    {OPT_CACHE_TO, "cache-to", 0, "SPEC",
     "Export the build cache: type=registry,ref=NAME[,mode=min|max] or type=local,dest=DIR"},
    {OPT_SBOM, "sbom", 0, "[=true|false]", "Attach an SPDX SBOM attestation of the image"},
    {OPT_PROVENANCE, "provenance", 0, "[=true|false|mode=min|max]",
     "Attach an SLSA provenance v1 attestation"},
    {OPT_ATTEST, "attest", 0, "type=sbom|provenance[,mode=min|max]",
     "Attach an attestation, as buildx's --attest"},
    CLI_REGISTRY_OPTIONS,
    {0},
};

/* One -o (output.c parses it): kept in order; type=registry and type=image,push=true push
 * the -t names and their name= ones. */
static int
add_output(const char *spec, struct build_opts *o, struct build_output **outs,
           struct lade_error *err)
{
    struct build_output out;

    if (output_parse(spec, &out, err) < 0)
        return -1;
    if (out.type == OUTPUT_IMAGE && out.push) {
        o->push = true;
        for (char **n = out.names; n && *n; n++)
            o->tags = strv_push(o->tags, *n);
    }
    *outs = xrealloc(*outs, (o->noutputs + 1) * sizeof(**outs));
    (*outs)[o->noutputs++] = out;
    o->outputs = *outs;
    return 0;
}

/* -q: the image ID (the config digest, as docker prints it) alone on stdout. */
static int
print_image_id(struct store *st, const char *manifest, struct lade_error *err)
{
    struct store_image img = {0};

    if (store_image_load(st, manifest, &img, err) < 0)
        return -1;
    printf("%s\n", img.manifest.config.digest);
    store_image_release(&img);
    return fflush(stdout) == 0 ? 0 : lade_error_sys(err, "write the image ID");
}

static int
cmd_build(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct build_opts o = {.progress = PROGRESS_AUTO, .compression = COMPRESSION_GZIP};
    struct build_secrets *secrets = build_secrets_new();
    struct build_output *outs = NULL;
    struct build_context bc = {0};
    const char *epoch = NULL, *sign_path = NULL;
    struct sign_key *sign_key = NULL;
    bool verify = false;
    digest_t manifest;
    struct cli_args a;
    bool quiet = false;
    int c, rc = -1;

    cli_args_init(&a, &build_command, argc, argv);
    while ((c = cli_next(&a, err)) > 0) {
        switch (c) {
        case 'f':
            o.dockerfile = a.value;
            break;
        case 't': {
            char *n = cli_normalise_name(a.value, err);
            if (n == NULL) {
                lade_error_recode(err, LADE_ERR_USAGE);
                goto out;
            }
            o.tags = strv_push_take(o.tags, n);
            o.typed_tags = strv_push(o.typed_tags, a.value);
            break;
        }
        case 'o':
            if (add_output(a.value, &o, &outs, err) < 0)
                goto out;
            break;
        case OPT_SBOM:
        case OPT_PROVENANCE:
        case OPT_ATTEST:
            if (attest_option(&o,
                              c == OPT_SBOM         ? "sbom"
                              : c == OPT_PROVENANCE ? "provenance"
                                                    : "attest",
                              a.value, err) < 0)
                goto out;
            break;
        case OPT_METADATA_FILE:
            o.metadata_file = a.value;
            break;
        case 'q':
            o.progress = PROGRESS_QUIET;
            quiet = true;
            break;
        case OPT_BUILD_ARG:
            o.build_args = build_arg_push(o.build_args, a.value);
            break;
        case OPT_TARGET:
            o.target = a.value;
            break;
        case OPT_NO_CACHE:
            o.no_cache = true;
            break;
        case OPT_IIDFILE:
            o.iidfile = a.value;
            break;
        case OPT_PROGRESS:
            o.progress = progress_mode_parse(a.value);
            if (o.progress == PROGRESS_INVALID) {
                lade_error_set(err, LADE_ERR_USAGE,
                               "--progress must be auto, plain, tty, json, rawjson or quiet");
                goto out;
            }
            break;
        case OPT_LABEL:
            o.labels = strv_push(o.labels, a.value);
            break;
        case OPT_NETWORK:
            if (strcmp(a.value, "none") == 0)
                o.net = SANDBOX_NET_NONE;
            else if (strcmp(a.value, "host") == 0)
                o.net = SANDBOX_NET_HOST;
            else if (strcmp(a.value, "default") == 0)
                o.net = SANDBOX_NET_DEFAULT;
            else {
                lade_error_set(err, LADE_ERR_USAGE, "--network must be default, none or host");
                goto out;
            }
            break;
        case OPT_ISOLATION:
            if (isolation_parse(a.value, &o.isolation, err) < 0)
                goto out;
            break;
        case OPT_EPOCH:
            epoch = a.value;
            break;
        case OPT_COMPRESSION:
            if (strcmp(a.value, "gzip") == 0)
                o.compression = COMPRESSION_GZIP;
            else if (strcmp(a.value, "zstd") == 0)
                o.compression = COMPRESSION_ZSTD;
            else if (strcmp(a.value, "none") == 0)
                o.compression = COMPRESSION_NONE;
            else {
                lade_error_set(err, LADE_ERR_USAGE, "--compression must be gzip, zstd or none");
                goto out;
            }
            break;
        case OPT_COMPRESSION_LEVEL: {
            char *end;
            long v = strtol(a.value, &end, 10);
            if (*a.value == '\0' || *end != '\0' || v < 1 || v > 99) {
                lade_error_set(err, LADE_ERR_USAGE,
                               "--compression-level wants a number, not \"%s\"", a.value);
                goto out;
            }
            o.compression_level = (int) v;
            break;
        }
        case OPT_PULL:
            o.pull = true;
            break;
        case OPT_PUSH:
            o.push = true;
            break;
        case OPT_ALLOW:
            /* BuildKit's entitlements; network.host needs none here (--network host is
             * allowed as it is) */
            if (strcmp(a.value, "security.insecure") == 0)
                o.allow_insecure = true;
            else if (strcmp(a.value, "network.host") != 0) {
                lade_error_set(err, LADE_ERR_USAGE,
                               "--allow must be security.insecure or network.host: \"%s\"",
                               a.value);
                goto out;
            }
            break;
        case OPT_SIGN:
            sign_path = a.value;
            break;
        case OPT_BUILD_CONTEXT:
            o.named_contexts = strv_push(o.named_contexts, a.value);
            break;
        case OPT_PLATFORM:
            if (strchr(a.value, '/') == NULL) {
                lade_error_set(err, LADE_ERR_USAGE, "--platform must be OS/ARCH[/VARIANT]: \"%s\"",
                               a.value);
                goto out;
            }
            cli->reg.platform = a.value;
            break;
        case OPT_JOBS: {
            char *end;
            unsigned long n = strtoul(a.value, &end, 10);
            if (*a.value < '1' || *a.value > '9' || *end != '\0' || n > 1024) {
                lade_error_set(err, LADE_ERR_USAGE, "--jobs must be a number from 1 to 1024");
                goto out;
            }
            o.jobs = (unsigned) n;
            break;
        }
        case OPT_VERIFY:
            verify = true;
            break;
        case OPT_CACHE_FROM:
        case OPT_CACHE_TO: /* builder/cache_spec.c */
            if (cache_specs_add(c == OPT_CACHE_TO ? &o.cache_to : &o.cache_from, a.value,
                                c == OPT_CACHE_TO, err) < 0)
                goto out;
            break;
        case OPT_SECRET:
            if (build_secrets_add(secrets, a.value, err) < 0)
                goto out;
            break;
        case OPT_SSH:
            if (build_secrets_add_ssh(secrets, a.value, err) < 0)
                goto out;
            break;
        case CLI_OPT_INSECURE_REGISTRY:
        case CLI_OPT_RETRIES:
            if (cli_registry_option(cli, c, a.value, err) < 0)
                goto out;
            break;
        case OPT_MEMORY:
        case OPT_CPUS:
        case OPT_CPU_QUOTA:
        case OPT_PIDS_LIMIT:
            if (sandbox_limits_set(&o.limits, limit_flags[c - OPT_MEMORY], a.value, err) < 0)
                goto out;
            break;
        default:
            lade_error_set(err, LADE_ERR_USAGE, "unhandled option");
            goto out;
        }
    }
    if ((c = cli_end(&a, c, 1, 1, err)) != 0) {
        rc = c > 0 ? 0 : -1;
        goto out;
    }
    if (sandbox_limits_check(&o.limits, err) < 0)
        goto out;
    if (o.push && o.tags == NULL) {
        lade_error_set(err, LADE_ERR_USAGE, "--push and -o type=registry need a name: -t NAME");
        goto out;
    }
    if (o.compression_level != 0 && !layer_level_valid(o.compression, o.compression_level)) {
        lade_error_set(err, LADE_ERR_USAGE,
                       "--compression-level %d: gzip takes 1 to 9, zstd 1 to 19, none no level",
                       o.compression_level);
        goto out;
    }
    if (quiet) /* -q wins over any --progress, as docker build -q does */
        o.progress = PROGRESS_QUIET;
    if (sign_path != NULL && !o.push) {
        lade_error_set(err, LADE_ERR_USAGE, "--sign signs what --push pushed: add --push");
        goto out;
    }
    /* a wrong key or password fails before the build, not after the push */
    if (sign_path != NULL && cli_sign_key_load(sign_path, &sign_key, err) < 0)
        goto out;
    if (outputs_check(o.outputs, o.noutputs, isatty(STDOUT_FILENO), err) < 0)
        goto out;
    for (size_t i = 0; quiet && i < o.noutputs; i++)
        if (outs[i].dest != NULL && strcmp(outs[i].dest, "-") == 0) {
            lade_error_set(err, LADE_ERR_USAGE, "-q prints the image ID on stdout: no -o to - too");
            goto out;
        }
    o.reg = &cli->reg;
    o.secrets = secrets;
    if (build_epoch_resolve(&o, epoch, err) < 0)
        goto out;
    struct store *st = cli_store(cli, err);
    if (st == NULL || context_prepare(st, o.reg, a.operands[0], o.dockerfile, &bc, err) < 0)
        goto out;
    build_opts_use_context(&o, &bc);
    if (build_run(st, &o, manifest, err) < 0 || (verify && build_verify(st, &o, manifest, err) < 0))
        goto out;
    for (char **t = o.tags; sign_key != NULL && *t; t++) {
        /* -q keeps stdout for the image ID alone */
        if (cli_sign_image(cli, *t, manifest, sign_key, quiet ? stderr : stdout, err) < 0)
            goto out;
    }
    if (!quiet)
        build_args_warn_unused(&o);
    else if (print_image_id(st, manifest, err) < 0)
        goto out;
    rc = 0;
out:
    context_release(&bc);
    sign_key_free(sign_key);
    strv_free(o.named_contexts);
    strv_free(o.tags);
    strv_free(o.build_args);
    strv_free(o.labels);
    cache_specs_release(&o.cache_from);
    cache_specs_release(&o.cache_to);
    build_secrets_free(secrets); /* zeroes the secrets, stops the agents lade started */
    for (size_t i = 0; i < o.noutputs; i++)
        output_release(&outs[i]);
    free(outs);
    strv_free(o.typed_tags);
    return rc;
}

const struct cli_command build_command = {
    .name = "build",
    .synopsis = "[OPTIONS] CONTEXT",
    .summary = "Build an image from a Dockerfile",
    .description =
        "CONTEXT is a directory, - (a tar archive or a Dockerfile on stdin), a git URL\n"
        "(https://host/repo.git#ref:subdir) or an http(s) URL of a tar archive. The image goes\n"
        "into lade's store (--root), named by each -t, and to each -o output.\n"
        "\n"
        "Options may come before or after CONTEXT, as docker accepts them:\n"
        "\n"
        "  lade build -t app:1 .\n"
        "  lade build . -t app:1 --build-arg VERSION=2\n"
        "  id=$(lade build -q .)\n"
        "\n"
        "--build-arg SOURCE_DATE_EPOCH=N sets the epoch, as BuildKit does. A --build-arg that no\n"
        "ARG of the Dockerfile declares gives a warning, as docker does.",
    .opts = build_opts,
    .foreign = build_docker_flags,
    .run = cmd_build,
};
