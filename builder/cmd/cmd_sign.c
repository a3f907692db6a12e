/* SPDX-License-Identifier: Apache-2.0 */
/* lade sign --generate-key PREFIX | lade sign --key KEY IMAGE | lade verify --key PUB IMAGE:
 * cosign-format signatures of images in a registry (layers/registry/sign.h). */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cleanup.h"
#include "../common/xalloc.h"
#include "../../layers/registry/sign.h"

#define PASSWORD_ENV "LADE_SIGN_PASSWORD"

int
cli_sign_key_load(const char *path, struct sign_key **out, struct lade_error *err)
{
    return sign_key_load_private(path, getenv(PASSWORD_ENV), out, err);
}

int
cli_sign_image(struct cli *cli, const char *name, const char *digest, const struct sign_key *key,
               FILE *out, struct lade_error *err)
{
    struct image_ref ref;
    struct sign_result res = {0};
    char fp[SIGN_FINGERPRINT_LEN];

    if (image_ref_parse(name, &ref, err) < 0)
        return lade_error_recode(err, LADE_ERR_USAGE);
    int rc = registry_sign(&ref, digest, key, &cli->reg, &res, err);
    if (rc == 0) {
        cleanup_free char *what = image_ref_string(&ref);
        sign_key_fingerprint(key, fp, sizeof(fp));
        fprintf(out, "signed %s (%s) with key %s\n", what, res.image.digest, fp);
        fprintf(out, "  signature: %s/%s:sha256-%s.sig (manifest %s, %zu signature%s%s)\n",
                ref.domain, ref.path, res.image.digest + 7, res.sig_manifest, res.nsignatures,
                res.nsignatures == 1 ? "" : "s",
                res.duplicate  ? "; this one was there already"
                : res.appended ? "; appended to the existing ones"
                               : "");
        if (res.referrer)
            fprintf(out, "  referrer: %s/%s@%s (OCI 1.1 referrers API, subject %s)\n", ref.domain,
                    ref.path, res.referrer_manifest, res.image.digest);
        else
            fprintf(out,
                    "  referrer: not pushed: the registry has no OCI 1.1 referrers API "
                    "(GET /v2/%s/referrers/%s answered %ld); the .sig tag is the only link\n",
                    ref.path, res.image.digest, res.referrers_status);
    }
    image_ref_release(&ref);
    return rc;
}

/* --generate-key PREFIX: the pair, and what was written. */
static int
generate_key(const char *prefix, struct lade_error *err)
{
    const char *password = getenv(PASSWORD_ENV);
    cleanup_free char *pub_path = xasprintf("%s.pub", prefix);
    struct sign_key *pub = NULL;
    char fp[SIGN_FINGERPRINT_LEN];

    if (sign_key_generate(prefix, password, err) < 0 ||
        sign_key_load_public(pub_path, &pub, err) < 0)
        return -1;
    sign_key_fingerprint(pub, fp, sizeof(fp));
    sign_key_free(pub);
    printf("wrote %s.key (private, mode 0600, %s) and %s (public)\nkey %s\n", prefix,
           password && *password ? "encrypted with " PASSWORD_ENV : "not encrypted", pub_path, fp);
    return 0;
}

enum { OPT_KEY = 256, OPT_GENERATE };

static const struct cli_opt sign_opts[] = {
    {OPT_KEY, "key", 0, "KEY", "The private key (PEM, ECDSA P-256) to sign with"},
    {OPT_GENERATE, "generate-key", 0, "PREFIX",
     "Write a new key pair to PREFIX.key (mode 0600) and PREFIX.pub, and sign nothing"},
    CLI_REGISTRY_OPTIONS,
    {0},
};

static const struct cli_opt verify_opts[] = {
    {OPT_KEY, "key", 0, "PUB", "The public key (PEM) the signatures must verify with"},
    CLI_REGISTRY_OPTIONS,
    {0},
};

/* The options of sign and verify: --key, --generate-key (sign only: its table), the registry
 * flags, and one NAME (none with --generate-key). 1 when -h printed usage. */
static int
parse_args(struct cli *cli, const struct cli_command *cmd, int argc, char **argv, const char **key,
           const char **generate, const char **name, struct lade_error *err)
{
    struct cli_args a;
    int c;

    cli_args_init(&a, cmd, argc, argv);
    while ((c = cli_next(&a, err)) > 0) {
        if (c == OPT_KEY)
            *key = a.value;
        else if (c == OPT_GENERATE)
            *generate = a.value;
        else if (cli_registry_option(cli, c, a.value, err) < 0)
            return -1;
    }
    if ((c = cli_end(&a, c, *generate ? 0 : 1, *generate ? 0 : 1, err)) != 0)
        return c;
    if (*generate != NULL && *key != NULL)
        return lade_error_set(err, LADE_ERR_USAGE, "--key or --generate-key, not both");
    if (*generate == NULL && *key == NULL)
        return lade_error_set(err, LADE_ERR_USAGE, "--key is required");
    *name = a.noperands ? a.operands[0] : NULL;
    return 0;
}

static int
cmd_sign(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    const char *key_path = NULL, *generate = NULL, *name = NULL;
    struct sign_key *key = NULL;
    int rc;

    if ((rc = parse_args(cli, &sign_command, argc, argv, &key_path, &generate, &name, err)) != 0)
        return rc > 0 ? 0 : -1;
    if (generate != NULL)
        return generate_key(generate, err);
    if (cli_sign_key_load(key_path, &key, err) < 0)
        return -1;
    rc = cli_sign_image(cli, name, NULL, key, stdout, err);
    sign_key_free(key);
    return rc;
}

int
cli_verify_image(struct cli *cli, const struct image_ref *ref, const char *pub_path,
                 digest_t verified_out, struct lade_error *err)
{
    struct sign_key *key = NULL;
    struct verify_result res = {0};
    cleanup_free char *what = image_ref_string(ref);

    if (sign_key_load_public(pub_path, &key, err) < 0)
        return -1;
    int rc = registry_verify(ref, key, &cli->reg, &res, err);
    sign_key_free(key);
    if (rc < 0)
        return -1;
    printf("verified %s\n  digest: %s\n  key: %s\n  signatures: %zu valid of %zu\n", what,
           res.image.digest, res.fingerprint, res.nvalid, res.ntotal);
    if (verified_out != NULL)
        memcpy(verified_out, res.image.digest, sizeof(digest_t));
    return 0;
}

static int
cmd_verify(struct cli *cli, int argc, char **argv, struct lade_error *err)
{
    const char *key_path = NULL, *generate = NULL, *name = NULL;
    struct image_ref ref;
    int rc;

    if ((rc = parse_args(cli, &verify_command, argc, argv, &key_path, &generate, &name, err)) != 0)
        return rc > 0 ? 0 : -1;
    if (image_ref_parse(name, &ref, err) < 0)
        return lade_error_recode(err, LADE_ERR_USAGE);
    rc = cli_verify_image(cli, &ref, key_path, NULL, err);
    image_ref_release(&ref);
    return rc;
}

const struct cli_command sign_command = {
    .name = "sign",
    .synopsis = "--key KEY NAME[:TAG|@DIGEST] | --generate-key PREFIX",
    .summary = "Sign an image in a registry, in cosign's format",
    .description =
        "The tag is resolved to its manifest digest, which is signed (ECDSA P-256) in cosign's\n"
        "simple signing payload and pushed to the tag sha256-<hex>.sig of the image's repository\n"
        "(and as an OCI 1.1 referrer where the registry has the referrers API).\n"
        "\n"
        "Environment: LADE_SIGN_PASSWORD, the private key's password (--generate-key encrypts\n"
        "the new key with it).",
    .opts = sign_opts,
    .run = cmd_sign,
};

const struct cli_command verify_command = {
    .name = "verify",
    .synopsis = "--key PUB NAME[:TAG|@DIGEST]",
    .summary = "Check an image's cosign-format signatures with a public key",
    .description = "Exit status 6 when no signature by the key names the image's current digest.",
    .opts = verify_opts,
    .run = cmd_verify,
};
