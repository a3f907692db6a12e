/* SPDX-License-Identifier: Apache-2.0 */
/* Signing keys, cosign's simple signing payload, and ECDSA P-256 signatures with OpenSSL's EVP
 * API. The private key file is plain PKCS#8 PEM (optionally PKCS#8-encrypted), which the openssl
 * CLI reads; cosign's own encrypted key format (scrypt + secretbox) is not written or read. */
#include "sign.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "../../builder/common/cleanup.h"
#include "../../builder/common/fsutil.h"
#include "../../builder/common/xalloc.h"

#define KEY_FILE_MAX 8000u /* a PEM key is far smaller; read in one buffer, so wiped once */
#define CURVE "prime256v1" /* P-256 by its OpenSSL name */

struct sign_key {
    EVP_PKEY *pkey;
    bool private;
};

static inline void
cleanup_bio_freep(BIO **b)
{
    BIO_free(*b);
}
static inline void
cleanup_evp_md_ctxp(EVP_MD_CTX **c)
{
    EVP_MD_CTX_free(*c);
}
#define cleanup_bio __attribute__((cleanup(cleanup_bio_freep)))
#define cleanup_evp_md_ctx __attribute__((cleanup(cleanup_evp_md_ctxp)))

/* An OpenSSL failure: the message plus OpenSSL's first queued reason; the queue is emptied. */
static int
ssl_error(struct lade_error *err, enum lade_errc code, const char *what)
{
    unsigned long e = ERR_get_error();
    char reason[256] = "";

    if (e != 0)
        ERR_error_string_n(e, reason, sizeof(reason));
    ERR_clear_error();
    return lade_error_set(err, code, "%s%s%s", what, e ? ": " : "", reason);
}

void
sign_key_free(struct sign_key *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

/* Only P-256: the curve cosign's spec requires every implementation to support. */
static int
check_p256(EVP_PKEY *pkey, const char *path, struct lade_error *err)
{
    char group[64] = "";

    if (!EVP_PKEY_is_a(pkey, "EC") ||
        !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                        NULL) ||
        strcmp(group, CURVE) != 0)
        return lade_error_set(err, LADE_ERR_USAGE, "'%s': not an ECDSA P-256 key (%s%s%s)", path,
                              EVP_PKEY_get0_type_name(pkey), group[0] ? " " : "", group);
    return 0;
}

/* Writes data to a new file (O_EXCL: an existing key is never replaced) with mode. */
static int
write_new_file(const char *path, const void *data, size_t len, mode_t mode, struct lade_error *err)
{
    cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

    if (fd < 0)
        return lade_error_sys(err, "cannot create '%s'", path);
    /* the umask may have taken bits away from 0644; 0600 stays 0600 */
    if (fchmod(fd, mode) < 0)
        return lade_error_sys(err, "chmod '%s'", path);
    if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        lade_error_sys(err, "cannot write '%s'", path);
        unlink(path); /* no half key left behind */
        return -1;
    }
    return 0;
}

/* The PEM text of pkey's private (PKCS#8, encrypted when password is set) or public half. */
static char *
pem_text(EVP_PKEY *pkey, bool private, const char *password, size_t *len, struct lade_error *err)
{
    cleanup_bio BIO *b = BIO_new(BIO_s_mem());
    const EVP_CIPHER *cipher = password && *password ? EVP_aes_256_cbc() : NULL;
    char *data;
    int ok;

    if (b == NULL)
        return ssl_error(err, LADE_ERR_OTHER, "cannot write the key"), NULL;
    if (private)
        ok = PEM_write_bio_PKCS8PrivateKey(b, pkey, cipher, NULL, 0, NULL,
                                           cipher ? (void *) password : NULL);
    else
        ok = PEM_write_bio_PUBKEY(b, pkey);
    if (!ok)
        return ssl_error(err, LADE_ERR_OTHER, "cannot write the key"), NULL;
    long n = BIO_get_mem_data(b, &data);
    *len = (size_t) n;
    return xstrndup(data, (size_t) n);
}

int
sign_key_generate(const char *prefix, const char *password, struct lade_error *err)
{
    cleanup_free char *key_path = xasprintf("%s.key", prefix);
    cleanup_free char *pub_path = xasprintf("%s.pub", prefix);
    cleanup_free char *priv = NULL, *pub = NULL;
    size_t priv_len = 0, pub_len = 0;
    int rc = -1;

    if (access(key_path, F_OK) == 0 || access(pub_path, F_OK) == 0)
        return lade_error_set(err, LADE_ERR_USAGE, "'%s' or '%s' exists: not replacing a key",
                              key_path, pub_path);
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", CURVE);
    if (pkey == NULL)
        return ssl_error(err, LADE_ERR_OTHER, "cannot generate a P-256 key");
    if ((priv = pem_text(pkey, true, password, &priv_len, err)) == NULL ||
        (pub = pem_text(pkey, false, NULL, &pub_len, err)) == NULL)
        goto out;
    if (write_new_file(key_path, priv, priv_len, 0600, err) < 0)
        goto out;
    if (write_new_file(pub_path, pub, pub_len, 0644, err) < 0) {
        unlink(key_path); /* no private key without its public half */
        goto out;
    }
    rc = 0;
out:
    if (priv != NULL)
        explicit_bzero(priv, priv_len);
    EVP_PKEY_free(pkey);
    return rc;
}

/* The file's bytes (small: a PEM key) in a memory BIO; the plain copy is wiped. */
static BIO *
read_key_file(const char *path, struct lade_error *err)
{
    char *data = NULL;
    size_t len = 0;

    if (read_file_at(AT_FDCWD, path, KEY_FILE_MAX, &data, &len, err) < 0)
        return lade_error_prefix(err, "key"), NULL;
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL || BIO_write(b, data, (int) len) != (int) len) {
        BIO_free(b);
        b = NULL;
        ssl_error(err, LADE_ERR_OTHER, "cannot read the key");
    }
    explicit_bzero(data, len);
    free(data);
    return b;
}

/* OpenSSL's password callback: never a terminal prompt, only the given password. */
static int
password_cb(char *buf, int size, int rwflag, void *u)
{
    const char *pw = u;
    size_t n = pw ? strlen(pw) : 0;

    (void) rwflag;
    if (n == 0 || n > (size_t) size)
        return 0;
    memcpy(buf, pw, n);
    return (int) n;
}

static int
key_wrap(EVP_PKEY *pkey, bool private, const char *path, struct sign_key **out,
         struct lade_error *err)
{
    if (check_p256(pkey, path, err) < 0) {
        EVP_PKEY_free(pkey);
        return -1;
    }
    struct sign_key *k = xcalloc(1, sizeof(*k));
    k->pkey = pkey;
    k->private = private;
    *out = k;
    return 0;
}

int
sign_key_load_private(const char *path, const char *password, struct sign_key **out,
                      struct lade_error *err)
{
    cleanup_bio BIO *b = read_key_file(path, err);
    char *data = NULL;

    if (b == NULL)
        return -1;
    long n = BIO_get_mem_data(b, &data);
    bool encrypted = memmem(data, (size_t) n, "ENCRYPTED", 9) != NULL;
    if (memmem(data, (size_t) n, "SIGSTORE PRIVATE KEY", 20) != NULL ||
        memmem(data, (size_t) n, "COSIGN PRIVATE KEY", 18) != NULL)
        return lade_error_set(err, LADE_ERR_USAGE,
                              "'%s' is in cosign's own encrypted format, which lade does not read: "
                              "make a key with 'lade sign --generate-key PREFIX'",
                              path);
    if (memmem(data, (size_t) n, "PUBLIC KEY", 10) != NULL &&
        memmem(data, (size_t) n, "PRIVATE KEY", 11) == NULL)
        return lade_error_set(err, LADE_ERR_USAGE,
                              "'%s' is a public key: signing needs the private key (PREFIX.key)",
                              path);
    if (encrypted && (password == NULL || *password == '\0'))
        return lade_error_set(err, LADE_ERR_USAGE,
                              "'%s' is encrypted: set its password in LADE_SIGN_PASSWORD", path);
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(b, NULL, password_cb, (void *) password);
    if (pkey == NULL)
        return ssl_error(err, LADE_ERR_USAGE,
                         encrypted ? "cannot decrypt the private key (wrong LADE_SIGN_PASSWORD?)"
                                   : "cannot read the private key (want a PEM ECDSA P-256 key)");
    return key_wrap(pkey, true, path, out, err) < 0 ? lade_error_prefix(err, "private key") : 0;
}

int
sign_key_load_public(const char *path, struct sign_key **out, struct lade_error *err)
{
    cleanup_bio BIO *b = read_key_file(path, err);

    if (b == NULL)
        return -1;
    EVP_PKEY *pkey = PEM_read_bio_PUBKEY(b, NULL, password_cb, NULL);
    if (pkey == NULL)
        return ssl_error(err, LADE_ERR_USAGE,
                         "cannot read the public key (want a PEM "
                         "\"PUBLIC KEY\", such as PREFIX.pub)");
    return key_wrap(pkey, false, path, out, err) < 0 ? lade_error_prefix(err, "public key") : 0;
}

void
sign_key_fingerprint(const struct sign_key *k, char *out, size_t outlen)
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k->pkey, &der);
    digest_t d;

    if (n <= 0) {
        snprintf(out, outlen, "unknown");
        return;
    }
    digest_of_mem(der, (size_t) n, d);
    OPENSSL_free(der);
    snprintf(out, outlen, "%s", d);
}

char *
sign_payload_new(const char *repo, const char *digest, size_t *len)
{
    /* jansson's sorted keys are cosign's field order (critical, optional; identity, image,
     * type), so the bytes are what cosign's Go encoder writes */
    json_auto_t *p =
        json_pack("{s:{s:{s:s},s:{s:s},s:s},s:n}", "critical", "identity", "docker-reference", repo,
                  "image", "docker-manifest-digest", digest, "type", SIGN_PAYLOAD_TYPE, "optional");

    return oci_json_dump(p, len);
}

/* obj's member key, compared without regard to case (Go's encoding/json matches so). */
static json_t *
get_nocase(const json_t *obj, const char *key)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *) obj, k, v)
    {
        if (strcasecmp(k, key) == 0)
            return v;
    }
    return NULL;
}

/* "index.docker.io/x" names the same repository as "docker.io/x" */
static const char *
hub_normal(const char *repo)
{
    return strncmp(repo, "index.docker.io/", 16) == 0 ? repo + 6 : repo;
}

int
sign_payload_check(const char *data, size_t len, const char *repo, const char *digest,
                   struct lade_error *err)
{
    json_auto_t *p = oci_json_parse(data, len, "signature payload", err);
    json_t *crit;

    if (p == NULL)
        return lade_error_recode(err, LADE_ERR_AUTH);
    if ((crit = get_nocase(p, "critical")) == NULL || !json_is_object(crit))
        return lade_error_set(err, LADE_ERR_AUTH, "the payload has no \"critical\" object");
    const char *type = json_string_value(get_nocase(crit, "type"));
    const char *got =
        json_string_value(get_nocase(get_nocase(crit, "image"), "docker-manifest-digest"));
    const char *ident =
        json_string_value(get_nocase(get_nocase(crit, "identity"), "docker-reference"));
    if (type == NULL || strcmp(type, SIGN_PAYLOAD_TYPE) != 0)
        return lade_error_set(err, LADE_ERR_AUTH, "the payload's type is \"%.80s\", not \"%s\"",
                              type ? type : "", SIGN_PAYLOAD_TYPE);
    if (got == NULL || strcmp(got, digest) != 0)
        return lade_error_set(err, LADE_ERR_AUTH,
                              "the payload signs manifest %.80s, not the image's %s",
                              got ? got : "(none)", digest);
    if (ident == NULL || strcmp(hub_normal(ident), hub_normal(repo)) != 0)
        return lade_error_set(err, LADE_ERR_AUTH,
                              "the payload names repository \"%.200s\", not \"%s\"",
                              ident ? ident : "", repo);
    return 0;
}

json_t *
sign_layer_new(const struct oci_desc *payload, const char *b64sig)
{
    json_t *layer = oci_desc_json(payload);

    json_object_set_new(layer, "annotations", json_pack("{s:s}", SIGN_ANNOT_SIGNATURE, b64sig));
    return layer;
}

json_t *
sign_config_new(const json_t *layers)
{
    json_t *cfg = oci_config_new("", "");
    size_t i;
    json_t *l;

    /* go-containerregistry's zero time, as in cosign's signature images */
    json_object_set_new(cfg, "created", json_string("0001-01-01T00:00:00Z"));
    json_array_foreach(layers, i, l)
    {
        const char *d = json_string_value(json_object_get(l, "digest"));
        if (d != NULL)
            oci_config_add_layer(cfg, d);
    }
    json_object_del(cfg, "history");
    return cfg;
}

json_t *
sign_manifest_new(const struct oci_desc *config, json_t *layers, const struct oci_desc *subject)
{
    json_t *m = json_pack("{s:i,s:s,s:o,s:O}", "schemaVersion", 2, "mediaType", MT_OCI_MANIFEST,
                          "config", oci_desc_json(config), "layers", layers);

    if (subject != NULL) {
        json_object_set_new(m, "artifactType", json_string(SIGN_ARTIFACT_TYPE));
        json_object_set_new(m, "subject", oci_desc_json(subject));
    }
    return m;
}

char *
sign_data(const struct sign_key *k, const void *data, size_t len, struct lade_error *err)
{
    cleanup_evp_md_ctx EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    cleanup_free unsigned char *sig = NULL;
    size_t siglen = 0;

    if (!k->private)
        return lade_error_set(err, LADE_ERR_USAGE, "signing needs a private key"), NULL;
    if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
        EVP_DigestSign(ctx, NULL, &siglen, data, len) != 1)
        return ssl_error(err, LADE_ERR_OTHER, "cannot sign"), NULL;
    sig = xmalloc(siglen);
    if (EVP_DigestSign(ctx, sig, &siglen, data, len) != 1)
        return ssl_error(err, LADE_ERR_OTHER, "cannot sign"), NULL;
    char *b64 = xmalloc(4 * ((siglen + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *) b64, sig, (int) siglen);
    return b64;
}

/* Strict base64 (padded, no whitespace) into *out; -1 when malformed. */
static int
base64_decode(const char *b64, unsigned char **out, size_t *outlen)
{
    size_t n = strlen(b64), pad = 0;

    if (n == 0 || n % 4 != 0 ||
        strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                    "0123456789+/=") != n)
        return -1;
    while (pad < 2 && b64[n - 1 - pad] == '=')
        pad++;
    if (memchr(b64, '=', n - pad) != NULL)
        return -1;
    unsigned char *buf = xmalloc(n / 4 * 3 + 1);
    int got = EVP_DecodeBlock(buf, (const unsigned char *) b64, (int) n);
    if (got < 0 || (size_t) got < pad) {
        free(buf);
        return -1;
    }
    *out = buf;
    *outlen = (size_t) got - pad;
    return 0;
}

int
sign_data_verify(const struct sign_key *k, const void *data, size_t len, const char *b64sig,
                 struct lade_error *err)
{
    cleanup_evp_md_ctx EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    cleanup_free unsigned char *sig = NULL;
    size_t siglen = 0;

    if (base64_decode(b64sig, &sig, &siglen) < 0)
        return lade_error_set(err, LADE_ERR_AUTH, "the signature is not base64");
    if (ctx == NULL || EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) != 1)
        return ssl_error(err, LADE_ERR_OTHER, "cannot verify");
    int rc = EVP_DigestVerify(ctx, sig, siglen, data, len);
    ERR_clear_error(); /* a bad signature queues a reason that says nothing more */
    if (rc != 1)
        return lade_error_set(err, LADE_ERR_AUTH,
                              "the signature does not verify with this key over the payload");
    return 0;
}
