/* SPDX-License-Identifier: Apache-2.0 */
/* pgzip: a valid one-member gzip stream, the same bytes for any number of threads and any way
 * the input is cut into writes. Checked with zlib's own inflate. */
#include "../helpers/test.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../layers/tar-internal.h"

#define BLOCK (128 * 1024)

struct collect {
    unsigned char *data;
    size_t len, cap;
    int fail_after; /* calls until a simulated write error; < 0: never */
};

static int
collect_out(void *ctx, const void *data, size_t n)
{
    struct collect *c = ctx;

    if (c->fail_after == 0)
        return -1;
    if (c->fail_after > 0)
        c->fail_after--;
    if (c->len + n > c->cap) {
        c->cap = (c->len + n) * 2;
        c->data = realloc(c->data, c->cap);
        assert_non_null(c->data);
    }
    memcpy(c->data + c->len, data, n);
    c->len += n;
    return 0;
}

/* Deterministic input mixing text-like runs (compressible) and noise (not). */
static unsigned char *
make_input(size_t n)
{
    unsigned char *p = malloc(n ? n : 1);
    uint32_t x = 12345;

    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] =
            (i / 50000) % 2 ? (unsigned char) (x >> 24) : (unsigned char) ("lade layer "[i % 11]);
    }
    return p;
}

static void
compress_with(const unsigned char *in, size_t n, unsigned threads, size_t chunk,
              struct collect *out)
{
    struct pgzip *z = pgzip_new(1, threads, collect_out, out);

    for (size_t off = 0; off < n; off += chunk)
        assert_int_equal(pgzip_write(z, in + off, n - off < chunk ? n - off : chunk), 0);
    assert_int_equal(pgzip_finish(z), 0);
    pgzip_free(z);
}

/* gunzip with zlib; the stream must be exactly one member ending at the last byte. */
static void
assert_gunzips_to(const struct collect *gz, const unsigned char *want, size_t n)
{
    unsigned char *got = malloc(n + 1);
    z_stream zs = {0};

    assert_non_null(got);
    assert_int_equal(inflateInit2(&zs, 16 + 15), Z_OK);
    zs.next_in = gz->data;
    zs.avail_in = (uInt) gz->len;
    zs.next_out = got;
    zs.avail_out = (uInt) n + 1;
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END); /* checks CRC-32 and size too */
    assert_int_equal(zs.avail_in, 0);
    assert_int_equal(zs.total_out, n);
    assert_memory_equal(got, want, n);
    inflateEnd(&zs);
    free(got);
}

static void
test_pgzip_round_trip_and_same_bytes(void **state)
{
    static const size_t sizes[] = {0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK, 1000003};

    (void) state;
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t n = sizes[k];
        unsigned char *in = make_input(n);
        struct collect ref = {.fail_after = -1};

        compress_with(in, n, 0, 4096, &ref);
        assert_gunzips_to(&ref, in, n);
        assert_int_equal(ref.data[0], 0x1f);
        assert_int_equal(ref.data[1], 0x8b);
        assert_memory_equal(ref.data + 4, "\0\0\0\0", 4); /* no mtime */
        /* threads and write sizes change nothing */
        static const unsigned threads[] = {1, 2, 5};
        static const size_t chunks[] = {1 << 20, 777, 3};
        for (size_t t = 0; t < 3; t++) {
            if (chunks[t] < 100 && n > BLOCK + 1)
                continue; /* byte-sized writes of big inputs only make the test slow */
            struct collect c = {.fail_after = -1};
            compress_with(in, n, threads[t], chunks[t], &c);
            assert_int_equal(c.len, ref.len);
            assert_memory_equal(c.data, ref.data, ref.len);
            free(c.data);
        }
        free(ref.data);
        free(in);
    }
}

static void
test_pgzip_compresses(void **state)
{
    size_t n = 4 * BLOCK;
    unsigned char *in = malloc(n);
    struct collect c = {.fail_after = -1};

    (void) state;
    assert_non_null(in);
    for (size_t i = 0; i < n; i++)
        in[i] = (unsigned char) ("0123456789abcdef"[i % 16]);
    compress_with(in, n, 2, 65536, &c);
    /* the dictionary carries over block edges: a repeating input stays tiny */
    assert_true(c.len < n / 100);
    assert_gunzips_to(&c, in, n);
    free(c.data);
    free(in);
}

static void
test_pgzip_output_error_fails_the_stream(void **state)
{
    size_t n = 6 * BLOCK;
    unsigned char *in = make_input(n);

    (void) state;
    for (unsigned threads = 0; threads <= 2; threads++) {
        struct collect c = {.fail_after = 1};
        struct pgzip *z = pgzip_new(1, threads, collect_out, &c);
        int rc = pgzip_write(z, in, n);
        if (rc == 0)
            rc = pgzip_finish(z);
        assert_int_equal(rc, -1);
        pgzip_free(z); /* joins the workers with jobs possibly still queued */
        free(c.data);
    }
    free(in);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pgzip_round_trip_and_same_bytes),
        cmocka_unit_test(test_pgzip_compresses),
        cmocka_unit_test(test_pgzip_output_error_fails_the_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
