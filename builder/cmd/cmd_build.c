/* SPDX-License-Identifier: Apache-2.0 */
#include "cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../build.h"
#include "../secrets.h"
#include "../context.h"
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
};

static const struct option build_options[] = {
    {"file", required_argument, NULL, 'f'},
    {"tag", required_argument, NULL, 't'},
    {"output", required_argument, NULL, 'o'},
    {"build-arg", required_argument, NULL, OPT_BUILD_ARG},
    {"target", required_argument, NULL, OPT_TARGET},
    {"no-cache", no_argument, NULL, OPT_NO_CACHE},
    {"iidfile", required_argument, NULL, OPT_IIDFILE},
    {"progress", required_argument, NULL, OPT_PROGRESS},
    {"label", required_argument, NULL, OPT_LABEL},
    {"network", required_argument, NULL, OPT_NETWORK},
    {"source-date-epoch", required_argument, NULL, OPT_EPOCH},
    {"compression", required_argument, NULL, OPT_COMPRESSION},
    {"pull", no_argument, NULL, OPT_PULL},
    {"push", no_argument, NULL, OPT_PUSH},
    {"platform", required_argument, NULL, OPT_PLATFORM},
    {"jobs", required_argument, NULL, OPT_JOBS},
    {"allow", required_argument, NULL, OPT_ALLOW},
    {"secret", required_argument, NULL, OPT_SECRET},
    {"ssh", required_argument, NULL, OPT_SSH},
    {"build-context", required_argument, NULL, OPT_BUILD_CONTEXT},
    {"verify", no_argument, NULL, OPT_VERIFY},
    {"compression-level", required_argument, NULL, OPT_COMPRESSION_LEVEL},
    {"sign", required_argument, NULL, OPT_SIGN},
    CLI_REGISTRY_OPTIONS,
    {NULL, 0, NULL, 0},
};

/* "type=oci,dest=F", "type=docker,dest=F", "type=registry[,name=NAME]" */
static int
parse_output(const char *spec, struct build_opts *o, char **dest, struct lade_error *err)
{
    char *copy = xstrdup(spec), *save = NULL, *type = NULL, *name = NULL;

    for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        if (strncmp(kv, "type=", 5) == 0)
            type = kv + 5;
        else if (strncmp(kv, "dest=", 5) == 0)
            *dest = xstrdup(kv + 5);
        else if (strncmp(kv, "name=", 5) == 0)
            name = kv + 5;
        else {
            lade_error_set(err, LADE_ERR_USAGE, "--output: unknown key in \"%s\"", kv);
            free(copy);
            return -1;
        }
    }
    if (type != NULL && strcmp(type, "registry") == 0) {
        /* BuildKit's type=registry is type=image,push=true: the -t names (and name=) */
        char *n = name ? cli_normalise_name(name, err) : NULL;
        free(copy);
        if (name != NULL && n == NULL)
            return lade_error_recode(err, LADE_ERR_USAGE);
        if (n != NULL)
            o->tags = strv_push_take(o->tags, n);
        o->push = true;
        return 0;
    }
    if (type == NULL || (strcmp(type, "oci") && strcmp(type, "docker"))) {
        lade_error_set(err, LADE_ERR_USAGE,
                       "--output: type must be oci, docker or registry (local is not "
                       "implemented yet): \"%s\"",
                       spec);
        free(copy);
        return -1;
    }
    o->output = strcmp(type, "oci") == 0 ? OUTPUT_OCI : OUTPUT_DOCKER;
    free(copy);
    if (*dest == NULL)
        return lade_error_set(err, LADE_ERR_USAGE, "--output %s needs dest=FILE", spec);
    o->output_dest = *dest;
    return 0;
}

static int
parse_epoch(const char *s, int64_t *out, struct lade_error *err)
{
    char *end;

    if (strcmp(s, "now") == 0) {
        *out = -1;
        return 0;
    }
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0)
        return lade_error_set(err, LADE_ERR_USAGE, "invalid source date epoch \"%s\"", s);
    *out = v;
    return 0;
}

/* The prepared context (context.h) as the build's options. */
static void
use_context(struct build_opts *o, const struct build_context *bc)
{
    o->context = bc->dir;
    o->dockerfile = bc->dockerfile;
    o->dockerfile_text = bc->text;
    o->dockerfile_len = bc->len;
    o->dockerfile_name = bc->name;
    o->no_dockerignore = bc->no_ignore;
}

int
cmd_build(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    struct build_opts o = {.progress = PROGRESS_AUTO, .compression = COMPRESSION_GZIP};
    struct build_secrets *secrets = build_secrets_new();
    char *dest = NULL;
    struct build_context bc = {0};
    const char *epoch = getenv("SOURCE_DATE_EPOCH"), *sign_path = NULL;
    struct sign_key *sign_key = NULL;
    bool verify = false;
    digest_t manifest;
    int c, rc = -1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+f:t:o:q", build_options, NULL)) != -1) {
        switch (c) {
        case 'f':
            o.dockerfile = optarg;
            break;
        case 't': {
            char *n = cli_normalise_name(optarg, err);
            if (n == NULL) {
                lade_error_recode(err, LADE_ERR_USAGE);
                goto out;
            }
            o.tags = strv_push_take(o.tags, n);
            break;
        }
        case 'o':
            if (parse_output(optarg, &o, &dest, err) < 0)
                goto out;
            break;
        case 'q':
            break;
        case OPT_BUILD_ARG:
            if (strchr(optarg, '=') != NULL)
                o.build_args = strv_push(o.build_args, optarg);
            else if (getenv(optarg) != NULL) /* docker: K alone takes K from the environment */
                o.build_args = strv_env_set(o.build_args, optarg, getenv(optarg));
            break;
        case OPT_TARGET:
            o.target = optarg;
            break;
        case OPT_NO_CACHE:
            o.no_cache = true;
            break;
        case OPT_IIDFILE:
            o.iidfile = optarg;
            break;
        case OPT_PROGRESS:
            if (strcmp(optarg, "plain") == 0)
                o.progress = PROGRESS_PLAIN;
            else if (strcmp(optarg, "tty") == 0)
                o.progress = PROGRESS_TTY;
            else if (strcmp(optarg, "auto") != 0) {
                lade_error_set(err, LADE_ERR_USAGE, "--progress must be auto, plain or tty");
                goto out;
            }
            break;
        case OPT_LABEL:
            o.labels = strv_push(o.labels, optarg);
            break;
        case OPT_NETWORK:
            if (strcmp(optarg, "none") == 0)
                o.net = SANDBOX_NET_NONE;
            else if (strcmp(optarg, "host") == 0 || strcmp(optarg, "default") == 0)
                o.net = SANDBOX_NET_HOST;
            else {
                lade_error_set(err, LADE_ERR_USAGE, "--network must be default, none or host");
                goto out;
            }
            break;
        case OPT_EPOCH:
            epoch = optarg;
            break;
        case OPT_COMPRESSION:
            if (strcmp(optarg, "gzip") == 0)
                o.compression = COMPRESSION_GZIP;
            else if (strcmp(optarg, "zstd") == 0)
                o.compression = COMPRESSION_ZSTD;
            else if (strcmp(optarg, "none") == 0)
                o.compression = COMPRESSION_NONE;
            else {
                lade_error_set(err, LADE_ERR_USAGE, "--compression must be gzip, zstd or none");
                goto out;
            }
            break;
        case OPT_COMPRESSION_LEVEL: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || v < 1 || v > 99) {
                lade_error_set(err, LADE_ERR_USAGE,
                               "--compression-level wants a number, not \"%s\"", optarg);
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
            if (strcmp(optarg, "security.insecure") == 0)
                o.allow_insecure = true;
            else if (strcmp(optarg, "network.host") != 0) {
                lade_error_set(err, LADE_ERR_USAGE,
                               "--allow must be security.insecure or network.host: \"%s\"", optarg);
                goto out;
            }
            break;
        case OPT_SIGN:
            sign_path = optarg;
            break;
        case OPT_BUILD_CONTEXT:
            o.named_contexts = strv_push(o.named_contexts, optarg);
            break;
        case OPT_PLATFORM:
            if (strchr(optarg, '/') == NULL) {
                lade_error_set(err, LADE_ERR_USAGE, "--platform must be OS/ARCH[/VARIANT]: \"%s\"",
                               optarg);
                goto out;
            }
            cli->reg.platform = optarg;
            break;
        case OPT_JOBS: {
            char *end;
            unsigned long n = strtoul(optarg, &end, 10);
            if (*optarg < '1' || *optarg > '9' || *end != '\0' || n > 1024) {
                lade_error_set(err, LADE_ERR_USAGE, "--jobs must be a number from 1 to 1024");
                goto out;
            }
            o.jobs = (unsigned) n;
            break;
        }
        case OPT_VERIFY:
            verify = true;
            break;
        case OPT_SECRET:
            if (build_secrets_add(secrets, optarg, err) < 0)
                goto out;
            break;
        case OPT_SSH:
            if (build_secrets_add_ssh(secrets, optarg, err) < 0)
                goto out;
            break;
        case CLI_OPT_INSECURE_REGISTRY:
        case CLI_OPT_RETRIES:
            if (cli_registry_option(cli, c, optarg, err) < 0)
                goto out;
            break;
        default:
            lade_error_set(err, LADE_ERR_USAGE, "build: invalid option (see 'lade help')");
            goto out;
        }
    }
    if (optind != argc - 1) {
        lade_error_set(err, LADE_ERR_USAGE,
                       "build: exactly one CONTEXT expected (a directory, -, a git or http URL)");
        goto out;
    }
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
    if (sign_path != NULL && !o.push) {
        lade_error_set(err, LADE_ERR_USAGE, "--sign signs what --push pushed: add --push");
        goto out;
    }
    /* a wrong key or password fails before the build, not after the push */
    if (sign_path != NULL && cli_sign_key_load(sign_path, &sign_key, err) < 0)
        goto out;
    o.reg = &cli->reg;
    o.secrets = secrets;
    o.epoch = 0;
    if (epoch != NULL && *epoch != '\0' && parse_epoch(epoch, &o.epoch, err) < 0)
        goto out;
    struct store *st = cli_store(cli, err);
    if (st == NULL || context_prepare(st, o.reg, argv[optind], o.dockerfile, &bc, err) < 0)
        goto out;
    use_context(&o, &bc);
    if (build_run(st, &o, manifest, err) < 0 || (verify && build_verify(st, &o, manifest, err) < 0))
        goto out;
    for (char **t = o.tags; sign_key != NULL && *t; t++) {
        if (cli_sign_image(cli, *t, manifest, sign_key, err) < 0)
            goto out;
    }
    rc = 0;
out:
    context_release(&bc);
    sign_key_free(sign_key);
    strv_free(o.named_contexts);
    strv_free(o.tags);
    strv_free(o.build_args);
    strv_free(o.labels);
    build_secrets_free(secrets); /* zeroes the secrets, stops the agents lade started */
    free(dest);
    return rc;
}

int
cmd_plan(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    static const struct option opts[] = {
        {"file", required_argument, NULL, 'f'},
        {"build-arg", required_argument, NULL, OPT_BUILD_ARG},
        {"target", required_argument, NULL, OPT_TARGET},
        {NULL, 0, NULL, 0},
    };
    struct build_opts o = {0};
    struct build_context bc = {0};
    struct plan *plan = NULL;
    int c, rc = -1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+f:", opts, NULL)) != -1) {
        if (c == 'f')
            o.dockerfile = optarg;
        else if (c == OPT_BUILD_ARG && strchr(optarg, '='))
            o.build_args = strv_push(o.build_args, optarg);
        else if (c == OPT_BUILD_ARG && getenv(optarg))
            o.build_args = strv_env_set(o.build_args, optarg, getenv(optarg));
        else if (c == OPT_TARGET)
            o.target = optarg;
        else if (c != OPT_BUILD_ARG) {
            lade_error_set(err, LADE_ERR_USAGE,
                           "usage: lade plan [-f FILE] [--build-arg K=V]... [--target STAGE] "
                           "CONTEXT");
            goto out;
        }
    }
    if (optind != argc - 1) {
        lade_error_set(err, LADE_ERR_USAGE, "plan: exactly one CONTEXT expected");
        goto out;
    }
    /* a local directory needs no store: plan works without a writable --root */
    const char *spec = argv[optind];
    struct stat sb;
    struct store *st = NULL;
    if ((strcmp(spec, "-") == 0 || stat(spec, &sb) < 0) && (st = cli_store(cli, err)) == NULL)
        goto out;
    if (context_prepare(st, &cli->reg, spec, o.dockerfile, &bc, err) < 0)
        goto out;
    use_context(&o, &bc);
    if (build_load_plan(&o, &plan, err) < 0)
        goto out;
    char *json = plan_to_json(plan);
    puts(json);
    free(json);
    rc = 0;
out:
    context_release(&bc);
    plan_free(plan);
    strv_free(o.build_args);
    return rc;
}
