/* SPDX-License-Identifier: Apache-2.0 */
/* sha256 through OpenSSL's SHA256_* functions rather than EVP. The first EVP digest starts
 * OpenSSL 3's provider machinery (openssl.cnf, the default provider, the method store): 5.2 M
 * instructions, a fifth of a no-op rebuild (tests/bench/README.md). SHA256_* calls the same
 * block function the default provider uses (SHA-NI or AVX2 chosen by the CPU probe that runs
 * when libcrypto loads), so big layers hash as fast, and nothing needs initialising. The
 * functions are deprecated in OpenSSL 3 (EVP is the preferred API) but present in all 3.x
 * releases; tests/layers/test_digest.c checks them against EVP. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "layers.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../builder/common/xalloc.h"

struct sha256 {
    SHA256_CTX ctx;
};

struct sha256 *
sha256_new(void)
{
    struct sha256 *h = xmalloc(sizeof(*h));

    SHA256_Init(&h->ctx);
    return h;
}

void
sha256_update(struct sha256 *h, const void *data, size_t n)
{
    if (n > 0)
        SHA256_Update(&h->ctx, data, n);
}

static void
hex_digest(const unsigned char *md, digest_t out)
{
    static const char hex[] = "0123456789abcdef";

    memcpy(out, "sha256:", 7);
    for (int i = 0; i < 32; i++) {
        out[7 + 2 * i] = hex[md[i] >> 4];
        out[8 + 2 * i] = hex[md[i] & 15];
    }
    out[DIGEST_LEN] = '\0';
}

void
sha256_final(struct sha256 *h, digest_t out)
{
    unsigned char md[SHA256_DIGEST_LENGTH];

    SHA256_Final(md, &h->ctx);
    hex_digest(md, out);
    SHA256_Init(&h->ctx);
}

void
sha256_free(struct sha256 *h)
{
    if (h == NULL)
        return;
    free(h);
}

void
digest_of_mem(const void *data, size_t n, digest_t out)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256_CTX ctx;

    /* not SHA256(): in OpenSSL 3 it is EVP_Q_digest, which starts the providers */
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, data, n);
    SHA256_Final(md, &ctx);
    hex_digest(md, out);
}

int
digest_of_fd(int fd, digest_t out, struct lade_error *err)
{
    struct sha256 *h = sha256_new();
    char buf[65536];

    for (;;) {
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            sha256_free(h);
            return lade_error_sys(err, "read");
        }
        if (r == 0)
            break;
        sha256_update(h, buf, (size_t) r);
    }
    sha256_final(h, out);
    sha256_free(h);
    return 0;
}

bool
digest_valid(const char *s)
{
    if (s == NULL || strncmp(s, "sha256:", 7) != 0 || strlen(s) != DIGEST_LEN)
        return false;
    for (const char *p = s + 7; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

const char *
digest_hex(const char *s)
{
    return s + 7;
}

void
chain_id_next(const char *parent_chain, const char *diff_id, digest_t out)
{
    char buf[2 * DIGEST_LEN + 2];

    if (parent_chain == NULL) {
        snprintf(out, DIGEST_LEN + 1, "%s", diff_id);
        return;
    }
    int n = snprintf(buf, sizeof(buf), "%s %s", parent_chain, diff_id);
    digest_of_mem(buf, (size_t) n, out);
}
