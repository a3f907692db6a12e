/* SPDX-License-Identifier: Apache-2.0 */
#include "../helpers/test.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../layers/layers.h"

#define SHA_EMPTY "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void
test_digest_known_vectors(void **state)
{
    digest_t d;

    (void) state;
    digest_of_mem("", 0, d);
    assert_string_equal(d, SHA_EMPTY);
    digest_of_mem("abc", 3, d);
    assert_string_equal(d, SHA_ABC);
    /* FIPS 180-2 two-block vector */
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    digest_of_mem(m, strlen(m), d);
    assert_string_equal(d,
                        "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void
test_digest_streaming_matches_one_shot_and_resets(void **state)
{
    struct sha256 *h = sha256_new();
    digest_t d;

    (void) state;
    sha256_update(h, "a", 1);
    sha256_update(h, "", 0);
    sha256_update(h, "bc", 2);
    sha256_final(h, d);
    assert_string_equal(d, SHA_ABC);
    /* final resets: the next use starts from scratch */
    sha256_final(h, d);
    assert_string_equal(d, SHA_EMPTY);
    sha256_free(h);
    sha256_free(NULL);
}

static void
test_digest_of_fd_reads_from_offset(void **state)
{
    struct lade_error err = {0};
    char path[] = "/tmp/lade-digest-XXXXXX";
    digest_t d;

    (void) state;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(write(fd, "xxabc", 5), 5);
    assert_int_equal(lseek(fd, 2, SEEK_SET), 2);
    assert_ok(digest_of_fd(fd, d, &err), &err);
    assert_string_equal(d, SHA_ABC);
    close(fd);
    assert_int_equal(digest_of_fd(fd, d, &err), -1);
    assert_int_equal(err.code, LADE_ERR_IO);
}

static void
test_digest_valid(void **state)
{
    (void) state;
    assert_true(digest_valid(SHA_ABC));
    assert_string_equal(digest_hex(SHA_ABC), SHA_ABC + 7);
    assert_false(digest_valid(NULL));
    assert_false(digest_valid(""));
    assert_false(digest_valid("sha256:"));
    assert_false(digest_valid(SHA_ABC "0"));   /* too long */
    assert_false(digest_valid(SHA_EMPTY + 1)); /* "ha256:..." */
    assert_false(digest_valid("sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f200"
                              "15ad"));
    assert_false(digest_valid("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F200"
                              "15AD")); /* upper case */
    assert_false(digest_valid("sha256:g a7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f200"
                              "15a"));
    assert_false(digest_valid("SHA256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f200"
                              "15ad"));
}

/* digest.c uses SHA256_* directly; EVP, OpenSSL's preferred API, is the reference: every length
 * around the 64-byte block and the 56-byte padding boundaries, fed whole and in odd pieces. */
static void
evp_digest(const unsigned char *data, size_t n, digest_t out)
{
    unsigned char md[32];
    char hex[65];

    assert_int_equal(EVP_Digest(data, n, md, NULL, EVP_sha256(), NULL), 1);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    snprintf(out, DIGEST_LEN + 1, "sha256:%s", hex);
}

static void
test_digest_matches_evp_at_every_boundary(void **state)
{
    enum { MAX = 3 * 64 + 9 };
    unsigned char data[MAX];
    digest_t want, got;
    struct sha256 *h = sha256_new();

    (void) state;
    for (size_t i = 0; i < MAX; i++)
        data[i] = (unsigned char) (i * 131 + 7);
    for (size_t n = 0; n <= MAX; n++) {
        evp_digest(data, n, want);
        digest_of_mem(data, n, got);
        assert_string_equal(got, want);
        for (size_t off = 0; off < n; off += 1 + off % 61) /* pieces of 1, 2, 3... bytes */
            sha256_update(h, data + off, (1 + off % 61 < n - off) ? 1 + off % 61 : n - off);
        sha256_final(h, got);
        assert_string_equal(got, want);
    }
    sha256_free(h);
}

static void
test_digest_of_fd_matches_evp_on_megabytes(void **state)
{
    const size_t n = (3u << 20) + 17; /* several read() buffers and a partial last block */
    unsigned char *data = malloc(n);
    struct lade_error err = {0};
    char path[] = "/tmp/lade-digest-XXXXXX";
    digest_t want, got;

    (void) state;
    assert_non_null(data);
    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char) ((i >> 3) ^ (i * 2654435761u >> 24));
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(write(fd, data, n), (ssize_t) n);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    assert_ok(digest_of_fd(fd, got, &err), &err);
    evp_digest(data, n, want);
    assert_string_equal(got, want);
    close(fd);
    free(data);
}

static void
test_digest_chain_id(void **state)
{
    digest_t c1, c2, want;
    char buf[2 * DIGEST_LEN + 2];

    (void) state;
    chain_id_next(NULL, SHA_ABC, c1);
    assert_string_equal(c1, SHA_ABC); /* chain(L0) = diff_id(L0) */
    chain_id_next(c1, SHA_EMPTY, c2);
    snprintf(buf, sizeof(buf), "%s %s", SHA_ABC, SHA_EMPTY);
    digest_of_mem(buf, strlen(buf), want);
    assert_string_equal(c2, want);
    assert_true(digest_valid(c2));
    /* order matters */
    chain_id_next(SHA_EMPTY, SHA_ABC, c1);
    assert_string_not_equal(c1, c2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_known_vectors),
        cmocka_unit_test(test_digest_streaming_matches_one_shot_and_resets),
        cmocka_unit_test(test_digest_of_fd_reads_from_offset),
        cmocka_unit_test(test_digest_valid),
        cmocka_unit_test(test_digest_chain_id),
        cmocka_unit_test(test_digest_matches_evp_at_every_boundary),
        cmocka_unit_test(test_digest_of_fd_matches_evp_on_megabytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
